"""Shape-making ops on the device: tile and repeat as broadcast views copied once, cumsum
as a scan per line, arange and eye as fills."""
import math

import numpy as np

from . import cuda_device as D
from . import cuda_kernels as K
from .cuda_thunks import materialize, launch_1d


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


def cumsum_thunk(op, dtype):
    """Running sums: one thread per line along the axis."""
    dtype = np.dtype(dtype)

    def thunk(inputs):
        x = D.to_device(inputs[0])
        out = D.empty(x.shape, dtype)
        kept = [d for d in range(x.ndim) if d != op.axis]
        kshape, k = tuple(x.shape[d] for d in kept), x.shape[op.axis]
        m = math.prod(kshape)
        if out.size:
            strides = D.contiguous_strides(x.shape)  # input and output share the layout
            line_starts = tuple(strides[d] for d in kept)
            launch_1d(K.scan(len(kept)), m, m, k, kshape, D.flat(x), 0, line_starts, strides[op.axis],
                      D.flat(out), line_starts, strides[op.axis], dtype.type(0), op.reverse)
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
