"""Device memory and launch geometry for the CUDA backend.

Every device value the backend makes is C-contiguous, so any view (transpose, slice,
broadcast) is described by (flat array, offset, strides in elements) and read by a kernel;
`layout` finds those numbers by applying NumPy's own view function to a *phantom* array
(a strided view over one element that is never read).

Under NUMBA_ENABLE_CUDASIM=1 numba runs kernels in Python threads: launches use a few
threads, and tiles are small, so the simulator stays quick; the kernels are the same.
"""
import numpy as np

from . import cuda_memory


class CudaUnavailableError(RuntimeError):
    """backend='cuda' was asked for and neither a GPU nor numba's simulator is available."""


_cuda = None


def cuda():
    """numba.cuda, imported on first use (and checked once)."""
    global _cuda
    if _cuda is None:
        numpy_names_for_numba_cuda()
        from numba import cuda as numba_cuda
        if not numba_cuda.is_available():
            raise CudaUnavailableError(
                "backend='cuda' needs an NVIDIA GPU with a working driver, and numba found none. "
                "Use backend='numba' (CPU), or set NUMBA_ENABLE_CUDASIM=1 before importing "
                "symgraph to run the CUDA kernels in numba's simulator (slow; for tests).")
        _quiet_small_grids()
        _cuda = numba_cuda
    return _cuda


def numpy_names_for_numba_cuda():
    """numba-cuda 0.30 registers np.row_stack (an alias of vstack that NumPy 2.5 removed) when
    its target first loads: without the alias every kernel's first compile raised
    AttributeError (seen on a GPU machine with numba-cuda 0.30.4 and NumPy 2.5.2)."""
    if not hasattr(np, "row_stack"):
        np.row_stack = np.vstack


def _quiet_small_grids():
    """numba-cuda warns at every launch of under 128 blocks (NumbaPerformanceWarning, "Grid size 1
    will likely result in GPU under-utilization"): advice for a hand-sized kernel, but the backend
    sizes each grid from the data, so a small tensor's one block is right, and a user training on
    small batches got the warning from inside their graph. Off, unless the user set numba's own
    NUMBA_CUDA_LOW_OCCUPANCY_WARNINGS (first seen on a real GPU: the simulator never warns)."""
    import os
    if "NUMBA_CUDA_LOW_OCCUPANCY_WARNINGS" in os.environ or simulated():
        return
    from numba.cuda import dispatcher
    config = getattr(dispatcher, "config", None)
    if config is not None and hasattr(config, "CUDA_LOW_OCCUPANCY_WARNINGS"):
        config.CUDA_LOW_OCCUPANCY_WARNINGS = 0


def simulated():
    from numba import config as numba_config
    return bool(numba_config.ENABLE_CUDASIM)


class Geometry:
    """Launch sizes: full-size on a GPU, tiny in the simulator (each thread is a Python thread)."""

    def __init__(self, simulator):
        self.threads = 4 if simulator else 256          # elementwise block size
        self.max_blocks = 1 if simulator else 1 << 16   # grid-stride loops cover the rest
        self.reduce_threads = 4 if simulator else 256    # block tree reductions (power of 2)
        self.tile = 4 if simulator else 16               # GEMM tiles are tile x tile threads

    def blocks(self, n):
        return max(1, min(self.max_blocks, -(-n // self.threads)))


_geometry = None


def geometry():
    global _geometry
    if _geometry is None:
        _geometry = Geometry(simulated())
    return _geometry


class StridedView:
    """A view op's result left unmade: `array` read through `view`, a NumPy view of the phantom
    `base` of it. The product kernels read their operands through strides, so a transpose that
    only they read needs no copy (numba_cuda.lazy_views picks those nodes); anything else that
    gets one makes the copy (to_device, to_host)."""
    __slots__ = ("array", "view", "base")

    def __init__(self, array, view, base):
        self.array, self.view, self.base = array, view, base

    shape = property(lambda self: self.view.shape)
    ndim = property(lambda self: self.view.ndim)
    dtype = property(lambda self: self.array.dtype)

    def contiguous(self):
        from .cuda_thunks import materialize
        return materialize(self.array, self.view, self.base)


def is_device(value):
    return hasattr(value, "copy_to_host")


def operand(value):
    """A product's operand: a StridedView as it is, else as to_device."""
    return value if isinstance(value, StridedView) else to_device(value)


def to_device(value):
    """A C-contiguous device array holding `value` (device arrays pass through)."""
    if isinstance(value, StridedView):
        return value.contiguous()
    if is_device(value):
        if value.is_c_contiguous():
            return value
        value = value.copy_to_host()  # a strided GPU array from the user: made contiguous once
    value = np.asarray(value)
    if not value.flags.c_contiguous:
        value = value.copy()  # (not ascontiguousarray: it turns 0-d arrays into 1-d ones)
    if value.size == 0:
        return cuda().to_device(value)
    out = empty(value.shape, value.dtype)
    out.copy_to_device(value)
    return out


def to_host(value):
    if isinstance(value, StridedView):
        value = value.contiguous()
    if is_device(value):
        return value.copy_to_host()
    return np.asarray(value)


def empty(shape, dtype):
    """An uninitialized C-contiguous device array (from cuda_memory's cache of freed blocks)."""
    shape, dtype = tuple(int(s) for s in shape), np.dtype(dtype)
    return cuda_memory.device_array(cuda(), shape, contiguous_strides(shape, dtype.itemsize), dtype)


def flat(array):
    """The 1-d view of a C-contiguous device array (0-d arrays become length 1), made once an
    array: a new view costs numba-cuda a construction and, at its first launch, its typing."""
    if array.ndim == 1:
        return array
    view = getattr(array, "_symgraph_flat", None)
    if view is None:
        view = array.reshape(max(1, array.size) if array.ndim == 0 else array.size)
        array._symgraph_flat = view
    return view


def phantom(shape, dtype):
    """A NumPy array of `shape` with C strides over a single element: NumPy's view functions
    (transpose, slicing, broadcast_to) work on it without reading memory."""
    dtype = np.dtype(dtype)
    return np.lib.stride_tricks.as_strided(np.zeros(1, dtype), tuple(shape), contiguous_strides(shape, dtype.itemsize),
                                           writeable=False)


def layout(view, base):
    """(offset, strides) in elements of a view made from the phantom `base`."""
    item = base.itemsize
    offset = (view.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // item
    return offset, tuple(s // item for s in view.strides)


def contiguous_strides(shape, itemsize=1):
    """C-order strides of `shape`, in elements (in bytes with the itemsize)."""
    strides, step = [], itemsize
    for n in reversed(shape):
        strides.append(step)
        step *= max(int(n), 1)
    return tuple(reversed(strides))
