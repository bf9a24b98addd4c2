"""What the CUDA backend runs per node: launches of the generated and hand-written kernels.

Each thunk takes the node's input values (device arrays, or host NumPy arrays for shape
numbers and constants, which it uploads when a kernel needs them) and returns device
arrays. Every array a thunk makes is C-contiguous; a view is read through its
(flat, offset, strides) layout from cuda_device.layout.
"""
import functools
import math

import numpy as np

from . import cuda_device as D
from . import cuda_codegen as G
from . import cuda_kernels as K
from ..ops.composite import Composite
from ..ops.elemwise import TABLE, cast_scalar_op


def launch(kernel, grid, block, *args):
    """Every kernel the backend runs is launched here (one place to count or replace launches:
    on a GPU each cost ~25-30 us of host time in numba-cuda, more with tuple arguments)."""
    kernel[grid, block](*args)


def launch_1d(kernel, n, *args):
    if n > 0:
        geo = D.geometry()
        launch(kernel, geo.blocks(n), geo.threads, *args)


def identity(dtype):
    """A one-step program returning its input (cast to `dtype`)."""
    return Composite([(cast_scalar_op(dtype), (("in", 0),), np.dtype(dtype).name)], [0], 1)


def program(steps, n_inputs):
    """A Composite from (table name, refs, dtype) steps; the last step is the output."""
    return Composite([(TABLE[name] if isinstance(name, str) else name, refs, dtype)
                      for name, refs, dtype in steps], [len(steps) - 1], n_inputs)


class Elementwise:
    """A Composite over broadcast inputs: the flat kernel when every input is whole or a
    single value, the strided kernel otherwise."""

    def __init__(self, composite, in_dtypes, out_dtypes):
        self.composite, self.in_dtypes = composite, tuple(in_dtypes)
        self.out_dtypes = [np.dtype(d) for d in out_dtypes]
        self.kernels = {}

    def _kernel(self, key, ndim, strided, mask):
        kernel = self.kernels.get(key)
        if kernel is None:
            source = G.elementwise_source(self.composite, self.in_dtypes, ndim, len(self.out_dtypes),
                                          strided, mask, "set")
            kernel = self.kernels[key] = G.compile_kernel(source)
        return kernel

    def __call__(self, inputs):
        arrays = [D.to_device(a) for a in inputs]
        shape = np.broadcast_shapes(*[a.shape for a in arrays])
        outs = [D.empty(shape, d) for d in self.out_dtypes]
        n = math.prod(shape)
        if n == 0:
            return outs
        mask = tuple(a.size == 1 for a in arrays)
        if all(m or a.shape == shape for m, a in zip(mask, arrays)):
            kernel = self._kernel(("flat", mask), len(shape), False, mask)
            launch_1d(kernel, n, n, *[D.flat(o) for o in outs], *[D.flat(a) for a in arrays])
            return outs
        args = []
        for a in arrays:
            base = D.phantom(a.shape, a.dtype)
            args += [D.flat(a), *D.layout(np.broadcast_to(base, shape), base)]
        kernel = self._kernel(("strided", len(shape)), len(shape), True, mask)
        launch_1d(kernel, n, n, tuple(shape), *[D.flat(o) for o in outs], 0, D.contiguous_strides(shape), *args)
        return outs


def strided_write(source, view, view_base, target, mode="set"):
    """target[region] (op)= source broadcast to the region; the region is `view`, a view of
    the phantom `view_base` standing for `target`."""
    shape = view.shape
    n = math.prod(shape)
    if n == 0:
        return
    source = D.to_device(source)
    base = D.phantom(source.shape, source.dtype)
    off, strides = D.layout(np.broadcast_to(base, shape), base)
    o_off, o_str = D.layout(view, view_base)
    launch_1d(copy_kernel(len(shape), source.dtype.name, mode), n, n, tuple(shape), D.flat(target), o_off, o_str,
              D.flat(source), off, strides)


@functools.lru_cache(maxsize=None)
def copy_kernel(ndim, dtype, mode):
    """out[out layout] (mode)= a[a layout] over an ndim-d shape (assignment casts to out's dtype)."""
    return G.compile_kernel(G.elementwise_source(None, (dtype,), ndim, 1, True, (False,), mode))


def materialize(array, view, base):
    """A device array holding `view` (made from phantom `base` of `array`): the same memory
    when the view is contiguous, else a strided copy."""
    off, strides = D.layout(view, base)
    size = view.size
    if size == 0:
        return D.empty(view.shape, array.dtype)
    if strides == D.contiguous_strides(view.shape) or size == 1:
        if off == 0 and size == array.size:
            return array.reshape(view.shape) if array.shape != view.shape else array
        return D.flat(array)[off:off + size].reshape(view.shape)
    shape = view.shape
    out = D.empty(shape, array.dtype)
    launch_1d(copy_kernel(len(shape), array.dtype.name, "set"), size, size, tuple(shape), D.flat(out), 0,
              D.contiguous_strides(shape), D.flat(array), off, strides)
    return out


def broadcast(array, shape):
    """array broadcast to `shape` as one device array (a copy unless it is already that shape).
    The view and its layout must come from one phantom: two phantoms are two allocations, and
    the offset between them was read as the view's (the crossentropies' broadcast targets read
    outside their array)."""
    base = D.phantom(array.shape, array.dtype)
    return materialize(array, np.broadcast_to(base, tuple(shape)), base)


def view(fn, lazy=False):
    """A thunk for a view op: fn(phantom, host index values) -> NumPy view of the phantom.
    lazy: the result is a D.StridedView (for nodes only products read), else an array."""
    def thunk(inputs):
        array = D.to_device(inputs[0])
        base = D.phantom(array.shape, array.dtype)
        seen = fn(base, [D.to_host(a) for a in inputs[1:]])
        return [D.StridedView(array, seen, base) if lazy else materialize(array, seen, base)]
    return thunk


class Reducer:
    """fold(kind) of composite(inputs) over `axes`: one thread per output when there are many
    outputs or short folds, one block with a shared-memory tree per output otherwise."""

    def __init__(self, composite, in_dtypes, kind, acc_dtype, out_dtype):
        self.composite, self.in_dtypes = composite, tuple(in_dtypes)
        self.kind, self.acc_dtype, self.out_dtype = kind, acc_dtype, np.dtype(out_dtype)
        self.kernels = {}

    def __call__(self, inputs, axes, keepdims):
        arrays = [D.to_device(a) for a in inputs]
        shape = np.broadcast_shapes(*[a.shape for a in arrays])
        kept = [d for d in range(len(shape)) if d not in axes]
        kshape, rshape = tuple(shape[d] for d in kept), tuple(shape[d] for d in axes)
        m, k = math.prod(kshape), math.prod(rshape)
        if self.kind in ("max", "min") and k == 0:
            raise ValueError(f"zero-size array to reduction operation {self.kind} which has no identity")
        out_shape = tuple(1 if d in axes else n for d, n in enumerate(shape)) if keepdims else kshape
        # (the fold accumulates in acc_dtype and its last store casts to the output's dtype:
        # a cast as a launch of its own cost a float32 sum ~160 us of host time on a GPU)
        out = D.empty((m,), self.out_dtype)
        geo = D.geometry()
        tree = k >= 256 and m < 8192 or (m == 1 and k > 1)
        key = (len(kshape), len(rshape), tree)
        kernel = self.kernels.get(key)
        if kernel is None:
            kernel = self.kernels[key] = G.compile_kernel(G.reduce_source(
                self.composite, self.in_dtypes, len(kshape), len(rshape), self.kind, self.acc_dtype,
                geo.reduce_threads if tree else None))
        args = []
        for a in arrays:
            base = D.phantom(a.shape, a.dtype)
            off, strides = D.layout(np.broadcast_to(base, shape), base)
            args += [D.flat(a), off, tuple(strides[d] for d in kept), tuple(strides[d] for d in axes)]
        if m > 0:
            if tree:
                launch(kernel, min(m, geo.max_blocks * 64), geo.reduce_threads, m, k, kshape, rshape, out, *args)
            else:
                launch_1d(kernel, m, m, k, kshape, rshape, out, *args)
        return out.reshape(out_shape)


def cast(array, dtype):
    return _caster(array.dtype.name, np.dtype(dtype).name)([array])[0]


@functools.lru_cache(maxsize=None)
def _caster(source, target):
    return Elementwise(identity(target), [source], [target])


def fill(shape, value, dtype):
    out = D.empty(shape, dtype)
    launch_1d(K.fill(np.dtype(dtype).name), out.size, out.size, value, D.flat(out))
    return out


def check_flag(flag, message):
    bad = int(flag.copy_to_host()[0])
    if bad:
        raise IndexError(message(bad - 1))
