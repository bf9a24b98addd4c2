"""Device memory for the CUDA backend's arrays: freed blocks are kept and handed out again.

numba-cuda allocates every array with cuMemAlloc and frees in batches with cuMemFree, which
waits for the device to finish. On a GPU a call's host time is what is slow (its kernels are
short): a numba allocation cost ~30-45 us of the host on an H200's machine, a 10^8-element
output's allocation and release ~120 us, and each batch of frees stalled the host until the
queued kernels were done. So, as PyTorch's caching allocator does, a block whose last array
or view is gone comes back here and the next array of its size class takes it.

Reuse is safe because the backend queues all its kernels and copies on the default stream:
a kernel writing a reused block runs after every queued kernel that read its last array.
(An array the user holds is never reused. Work the user queues on a non-blocking stream of
their own is not ordered with the default stream: drop such arrays after synchronizing.)
The lifetime rule is numba's own: an AutoFreePointer (documented for memory-manager plugins)
calls its finalizer when its count of arrays and views reaches zero, as numba's manager does.

Off with SYMGRAPH_CUDA_CACHING=0, under numba's per-thread default streams (threads'
streams are not ordered with each other) and in the simulator. `empty_cache()` gives the
cached blocks back to numba (for another library's allocations); an allocation that finds
the device full does so itself, then tries once more.
"""
import functools
import math
import os
import threading

enabled = os.environ.get("SYMGRAPH_CUDA_CACHING", "1") != "0"


def size_class(nbytes):
    """The block size an array of `nbytes` takes: a multiple of 512 bytes, and above 16 KiB
    of 1/16 to 1/32 of its power of two, so a block is at most 511 bytes or 1/16 larger than
    asked (nearby sizes share blocks: a batch's last, smaller slice of data takes the others')."""
    step = max(512, 1 << max(0, nbytes.bit_length() - 5))
    return -(-nbytes // step) * step


class BlockCache:
    """Free blocks by size: `take` reuses one or allocates; `give_back` keeps one. CPython's
    list append and pop are atomic, so finalizers, which run in whichever thread collects,
    need no lock (a lock taken in take() could deadlock with a finalizer in the same thread)."""

    def __init__(self, allocate, is_out_of_memory):
        self.allocate, self.is_out_of_memory = allocate, is_out_of_memory
        self.free = {}
        self.cached_bytes = 0

    def take(self, size):
        blocks = self.free.get(size)
        if blocks:
            try:
                block = blocks.pop()
            except IndexError:  # (another thread took the last one)
                pass
            else:
                self.cached_bytes -= size
                return block
        try:
            return self.allocate(size)
        except Exception as error:
            if not (self.cached_bytes and self.is_out_of_memory(error)):
                raise
        self.clear()  # the device is full: give numba the cached blocks, then try once more
        return self.allocate(size)

    def give_back(self, size, block):
        self.free.setdefault(size, []).append(block)
        self.cached_bytes += size

    def clear(self):
        self.free, self.cached_bytes = {}, 0


class DevicePool:
    """The blocks of one CUDA context, and the arrays made over them."""

    def __init__(self, context):
        from numba.cuda.cudadrv import driver
        self.context, self.driver = context, driver  # (held: the pools are keyed by its id)
        self.cache = BlockCache(context.memalloc, _out_of_memory)
        self.owners = {}  # block address -> the AutoFreePointer of the array using it

    def array(self, shape, strides, dtype, nbytes):
        from numba.cuda.cudadrv.devicearray import DeviceNDArray
        size = size_class(nbytes)
        block = self.cache.take(size)
        address = block.device_pointer_value
        # Sized nbytes, not the block's size: numba copies an array's whole allocation size
        # to the host (copy_to_host into a user's array of nbytes).
        owner = self.driver.AutoFreePointer(block.context, block.device_pointer, nbytes,
                                            finalizer=functools.partial(self._returned, address, size, block))
        self.owners[address] = owner  # (the arrays' pointers hold the owner weakly, as numba's do)
        return _typed(DeviceNDArray(shape, strides, dtype, gpu_data=owner.own()))

    def _returned(self, address, size, block):
        self.owners.pop(address, None)
        self.cache.give_back(size, block)


_types = {}


def _typed(array):
    """numba-cuda types each array at its first launch and keeps the type on it (a cached
    _numba_type_): ~10 us of a new array's launch on the H200's host. This module's arrays
    are C-contiguous with no zero stride, so one type a dtype and ndim serves them all; it
    is numba's own, from the first such array. (Where _numba_type_ is a plain property,
    numba computes it as before and the entry here is never read.)"""
    key = (array.dtype, array.ndim)
    numba_type = _types.get(key)
    if numba_type is None:
        numba_type = _types[key] = array._numba_type_
    array.__dict__["_numba_type_"] = numba_type
    return array


def _out_of_memory(error):
    from numba.cuda.cudadrv.driver import CudaAPIError
    return isinstance(error, CudaAPIError) and "OUT_OF_MEMORY" in str(error).upper()


_pools = {}
_calls = threading.local()  # the pool of the compiled-function call running in this thread


def _pool(cuda):
    return getattr(_calls, "pool", None) or _context_pool(cuda)


def _context_pool(cuda):
    """The pool of the current context (a user may select another device between calls)."""
    context = cuda.current_context()
    pool = _pools.get(id(context))
    if pool is None or pool.context is not context:
        pool = _pools[id(context)] = DevicePool(context)
    return pool


def begin_call(cuda):
    """For the length of one call of a compiled function: its arrays come from the pool of the
    context current now (numba's context lookup cost ~4-10 us; a training step made ~30 arrays).
    Returns what end_call restores (calls may nest)."""
    previous = getattr(_calls, "pool", None)
    if usable():
        _calls.pool = _context_pool(cuda)
    return previous


def end_call(previous):
    _calls.pool = previous


def usable():
    return enabled and _numba_allows()


@functools.lru_cache(maxsize=None)
def _numba_allows():
    from numba import config  # (both settings are read once, when numba is imported)
    return not config.ENABLE_CUDASIM and not getattr(config, "CUDA_PER_THREAD_DEFAULT_STREAM", 0)


def device_array(cuda, shape, strides, dtype):
    """An uninitialized device array of `shape` with C-order `strides` (bytes), from the cache
    when it is on."""
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes == 0 or not usable():
        return cuda.device_array(shape, dtype)
    return _pool(cuda).array(shape, strides, dtype, nbytes)


def empty_cache():
    """Give every cached block back to numba (which frees it): for memory another library
    in the process needs. Arrays in use are not touched."""
    for pool in _pools.values():
        pool.cache.clear()


def cached_bytes():
    return sum(pool.cache.cached_bytes for pool in _pools.values())
