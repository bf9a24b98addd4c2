"""Shape-making ops on the device: tile and repeat as broadcast views copied once, cumsum,
cumprod, the linear recurrence and sort's gathers and scatters as a loop per line, arange and
eye as fills."""
import math

import numpy as np

from . import cuda_device as D
from . import cuda_kernels as K
from .cuda_thunks import materialize, broadcast, launch_1d


def tile_thunk(op):
    """np.tile as a broadcast view (a new length-r axis before each axis) copied once."""
    def thunk(inputs):
        x = D.to_device(inputs[0])
        base = D.phantom(x.shape, x.dtype)
        spread = base.reshape([n for d in x.shape for n in (1, d)])
        wide = np.broadcast_to(spread, [n for r, d in zip(op.reps, x.shape) for n in (r, d)])
        return [materialize(x, wide, base).reshape(tuple(r * d for r, d in zip(op.reps, x.shape)))]
    return thunk


def repeat_thunk(op):
    """np.repeat with one count: a broadcast view (a length-r axis after `axis`) copied once."""
    def thunk(inputs):
        x, r, axis = D.to_device(inputs[0]), int(D.to_host(inputs[1])), op.axis
        base = D.phantom(x.shape, x.dtype)
        shape = tuple(x.shape)
        spread = np.broadcast_to(base.reshape(shape[:axis + 1] + (1,) + shape[axis + 1:]),
                                 shape[:axis + 1] + (r,) + shape[axis + 1:])
        return [materialize(x, spread, base).reshape(shape[:axis] + (shape[axis] * r,) + shape[axis + 1:])]
    return thunk


def along_axis_thunk(axis, reverse, kind, dtype):
    """One thread per line along `axis` (cuda_kernels.along_axis): running sums or products of
    one input; the linear recurrence b + a * y_previous of (a, b), a broadcast to b; b gathered
    at or scattered to the positions a lists (sort's order and its gradient), out a's shape."""
    dtype = np.dtype(dtype)
    running = kind not in ("gather", "scatter")

    def thunk(inputs):
        arrays = [D.to_device(v) for v in inputs]
        shape = tuple(arrays[-1 if running else 0].shape)
        if running and tuple(arrays[0].shape) != shape:
            arrays[0] = broadcast(arrays[0], shape)
        a, b = arrays[0], arrays[-1]
        out = D.empty(shape, dtype)
        kept = [d for d in range(len(shape)) if d != axis]
        kshape, k = tuple(shape[d] for d in kept), shape[axis]
        m = math.prod(kshape)
        if out.size:
            strides, b_strides = D.contiguous_strides(shape), D.contiguous_strides(b.shape)
            line_starts, b_line_starts = tuple(strides[d] for d in kept), tuple(b_strides[d] for d in kept)
            launch_1d(K.along_axis(len(kept), kind, dtype.name), m, m, k, kshape, D.flat(a), 0, line_starts,
                      strides[axis], D.flat(b), 0, b_line_starts, b_strides[axis], b.shape[axis], D.flat(out),
                      line_starts, strides[axis], reverse)
        return [out]
    return thunk


def arange_thunk(op):
    def thunk(inputs):
        start, stop, step = (D.to_host(v)[()] for v in inputs)
        n = max(0, math.ceil((stop - start) / step))  # NumPy's length rule
        out = D.empty((n,), op.dtype)
        launch_1d(K.arange(np.dtype(op.dtype).name), n, n, start, step, out)
        return [out]
    return thunk


def eye_thunk(op):
    def thunk(inputs):
        rows, cols, k = (int(D.to_host(v)) for v in inputs)
        out = D.empty((rows, cols), op.dtype)
        launch_1d(K.eye(np.dtype(op.dtype).name), out.size, rows, cols, k, D.flat(out))
        return [out]
    return thunk
