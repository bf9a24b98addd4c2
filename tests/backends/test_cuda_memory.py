"""The CUDA backend's cache of freed device blocks (backends/cuda_memory.py): its size classes
and bookkeeping here; on a GPU (NUMBA_ENABLE_CUDASIM=0; the simulator has no device memory,
and the cache is off there) the arrays made over the blocks: reuse only of blocks no array
holds, values intact, numba's copies sized as the arrays are."""
import gc

import numpy as np
import pytest

import symgraph as sg
from symgraph.backends import cuda_device, cuda_memory
from symgraph.backends.cuda_memory import BlockCache, size_class

on_gpu = pytest.mark.skipif(cuda_device.simulated(), reason="device memory needs a GPU (the simulator has none)")


def test_size_classes_fit_the_request_closely():
    for nbytes in [1, 4, 511, 512, 513, 4096, 10 ** 5, (1 << 20) + 1, 10 ** 6 * 3, 4 * 10 ** 8]:
        size = size_class(nbytes)
        assert nbytes <= size <= nbytes + max(511, nbytes / 16), nbytes
        assert size % 512 == 0 and size_class(size) == size
    sizes = [size_class(n) for n in range(1, 200_000, 97)]
    assert sizes == sorted(sizes)


class OutOfMemory(Exception):
    pass


def cache_with(allocations, fail=()):
    """A BlockCache over fake blocks (counted in `allocations`); sizes in `fail` run out of
    memory while anything is cached."""
    def allocate(size):
        if size in fail and cache.cached_bytes:
            raise OutOfMemory(size)
        allocations.append(size)
        return object()
    cache = BlockCache(allocate, lambda error: isinstance(error, OutOfMemory))
    return cache


def test_a_block_given_back_is_taken_again_by_its_size_only():
    allocations = []
    cache = cache_with(allocations)
    a = cache.take(512)
    cache.give_back(512, a)
    assert cache.cached_bytes == 512
    assert cache.take(1024) is not a and cache.take(512) is a
    assert allocations == [512, 1024] and cache.cached_bytes == 0


def test_running_out_of_memory_empties_the_cache_then_tries_again():
    allocations = []
    cache = cache_with(allocations, fail={4096})
    cache.give_back(512, cache.take(512))
    block = cache.take(4096)  # full while a block is cached: the cache is emptied, then it fits
    assert block is not None and cache.cached_bytes == 0 and cache.free == {}
    assert allocations == [512, 4096]


def test_other_allocation_errors_pass_through_and_keep_the_cache():
    def allocate(size):
        raise ValueError("not memory")
    cache = BlockCache(allocate, lambda error: False)
    cache.give_back(512, object())
    with pytest.raises(ValueError, match="not memory"):
        cache.take(1024)
    assert cache.cached_bytes == 512


def test_the_cache_is_off_in_the_simulator_and_flat_views_are_made_once():
    cuda = cuda_device.cuda()
    if cuda_device.simulated():
        assert not cuda_memory.usable()
    a = cuda_device.empty((3, 4), "float32")
    assert cuda_device.flat(a) is cuda_device.flat(a) and cuda_device.flat(a).shape == (12,)
    v = cuda_device.empty((5,), "float32")
    assert cuda_device.flat(v) is v


def pointer(array):
    return array.gpu_data.device_pointer_value


@on_gpu
def test_a_dropped_arrays_block_goes_to_the_next_array_of_its_size():
    assert cuda_memory.usable()
    a = cuda_device.empty((1000,), "float32")
    address = pointer(a)
    held = cuda_device.empty((1000,), "float32")
    assert pointer(held) != address
    view = cuda_device.flat(a.reshape((10, 100)))[10:20]   # a view keeps the block in use
    del a
    gc.collect()
    assert pointer(cuda_device.empty((1000,), "float32")) != address
    del view
    gc.collect()
    assert pointer(cuda_device.empty((999,), "float32")) == address   # (the same size class)


@on_gpu
def test_the_arrays_carry_the_type_numba_gives_its_own():
    from numba import cuda
    for shape, dtype in [((3, 4), "float32"), ((1, 5), "float64"), ((7,), "int64"), ((2, 1, 3), "uint8"), ((), "float32")]:
        ours = cuda_device.empty(shape, dtype)
        assert "_numba_type_" in ours.__dict__
        assert ours._numba_type_ == cuda.device_array(shape, dtype)._numba_type_, (shape, dtype)


@on_gpu
def test_results_held_across_calls_keep_their_values(rng):
    x = sg.fmatrix("x")
    f = sg.function([x], [sg.exp(x) * 2, x.sum(axis=1)], backend="cuda", device_outputs=True)
    values = [rng.normal(size=(64, 33)).astype("float32") for _ in range(4)]
    results = [f(v) for v in values]
    for _ in range(3):
        f(values[0])   # new arrays for these, never the held ones
    for v, (doubled, sums) in zip(values, results):
        np.testing.assert_allclose(doubled.copy_to_host(), np.exp(v) * 2, rtol=1e-6)
        host = np.empty(sums.shape, sums.dtype)  # numba copies an array's allocation size: nbytes
        sums.copy_to_host(host)
        np.testing.assert_allclose(host, v.sum(axis=1), rtol=1e-5)


@on_gpu
def test_empty_cache_gives_the_blocks_back(monkeypatch):
    arrays = [cuda_device.empty((n,), "float64") for n in (100, 2000, 30000)]
    del arrays
    gc.collect()
    assert cuda_memory.cached_bytes() > 0
    cuda_memory.empty_cache()
    assert cuda_memory.cached_bytes() == 0
    monkeypatch.setattr(cuda_memory, "enabled", False)  # (SYMGRAPH_CUDA_CACHING=0): numba's own arrays
    a = cuda_device.empty((100,), "float64")
    del a
    gc.collect()
    assert cuda_memory.cached_bytes() == 0
