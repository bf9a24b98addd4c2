"""Products split over numba's threads (backends/numba_blas.py): split_product's values for
both splits and both BLAS libraries (NumPy's OpenBLAS where numba_numpy_gemm registered it,
else SciPy's), the one called at one thread while they run and back after, and a convnet's
graph keeping its products and loops on numba's threads."""
import time

import numba
import numpy as np
import pytest

import symgraph as sg
from symgraph.backends import blas, numba_blas
from tests.conftest import executor_globals

needs_split = pytest.mark.skipif(numba_blas.one_thread() is None or numba.get_num_threads() < 2,
                                 reason="no OpenBLAS can be set to one thread here, or numba has one thread")


@pytest.fixture(params=["numpy", "scipy"])
def split_blas(request, monkeypatch):
    """The OpenBLAS the split products call: NumPy's (where numba_numpy_gemm registered it),
    or SciPy's, numba's np.dot (as where NumPy's is not found)."""
    if request.param == "numpy" and not numba_blas.numpy_gemm():
        pytest.skip("NumPy's OpenBLAS is not registered here")
    if request.param == "scipy":
        if numba_blas.scipy_one_thread() is None:
            pytest.skip("SciPy's OpenBLAS cannot be set to one thread here")
        monkeypatch.setattr(numba_blas, "numpy_gemm", lambda: False)
    return request.param


@needs_split
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("m,k,n", [(32, 900, 40), (3, 901, 5), (200, 30, 40), (7, 3, 9), (1, 1, 1), (5, 0, 4)])
@pytest.mark.exhaustive
def test_split_product_agrees_with_numpy(dtype, m, k, n, split_blas):
    """By slices of the inner dimension where it is at least a's rows (the last slice shorter),
    else by rows; an empty inner dimension gives zeros."""
    rng = np.random.default_rng(9)
    a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    with numba_blas.one_thread():
        got = numba_blas.split_product(a, b, numba.get_num_threads())
    assert got.shape == (m, n) and got.dtype == np.dtype(dtype)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got, a @ b, **tol)


def test_one_thread_holds_from_the_first_entry_to_the_last_exit():
    """Overlapping entries (two Python threads' calls) set one thread once and restore the
    setting found only when the last leaves; a library already at one thread is not touched."""
    threads, calls = [4], []

    def set_threads(n):
        calls.append(n)
        threads[0] = n
    context = blas.OneThread(set_threads, lambda: threads[0])
    with context:
        assert threads == [1]
        with context:
            assert threads == [1]
        assert threads == [1]
    assert threads == [4] and calls == [1, 4]
    threads[0], calls[:] = 1, []
    with context:
        pass
    assert calls == []


@needs_split
def test_the_split_products_openblas_runs_one_thread_inside_and_as_before_after(split_blas):
    context = numba_blas.one_thread()
    assert context is (blas.numpy_one_thread() if split_blas == "numpy" else numba_blas.scipy_one_thread())
    before = context.get()
    with context:
        assert context.get() == 1
    assert context.get() == before


def test_the_split_products_call_numpys_openblas_where_it_is_registered():
    """NumPy's OpenBLAS where numba_numpy_gemm registered it and it can be set to one thread
    (its products 10-40% faster than SciPy's here), then no kernel calls numba's np.dot; else
    SciPy's, numba's np.dot."""
    from symgraph.backends import numba_numpy_gemm
    kernels = numba_blas.blocks_of()
    if numba_numpy_gemm.DOT is not None and blas.numpy_one_thread() is not None:
        assert numba_blas.numpy_gemm()
        assert kernels == (numba_numpy_gemm.row_blocks, numba_numpy_gemm.inner_blocks, numba_numpy_gemm.batch_products)
        assert all("dot" not in kernel.py_func.__code__.co_names and "gemm_into" in kernel.py_func.__code__.co_names
                   for kernel in kernels)
    else:
        assert kernels == (numba_blas.row_blocks, numba_blas.inner_blocks, numba_blas.batch_products)


@needs_split
def test_a_convnets_products_and_loops_stay_on_numba_threads(monkeypatch):
    """A graph with a convolution keeps its loops parallel; while BLAS's threads may spin the
    convolution is batched, but its products and the dense layer's after it are split over
    numba's threads: none is handed to OpenBLAS's threads, which would keep them spinning and
    every later convolution batched. A graph of products alone keeps its loops serial."""
    rng = np.random.default_rng(10)
    images = sg.ftensor4("images")
    filters = sg.shared(rng.standard_normal((8, 4, 3, 3)).astype("float32"), "filters")
    dense = sg.shared(rng.standard_normal((8 * 10 * 10, 64)).astype("float32"), "dense")
    hidden = sg.nn.relu(sg.nn.conv2d(images, filters))
    out = sg.dot(hidden.flatten(2), dense)
    step = sg.function([images], [out] + sg.grad((out ** 2).sum(), [filters, dense]))
    split = []
    real = numba_blas.split_product
    monkeypatch.setattr(numba_blas, "split_product", lambda a, b, threads: split.append(a.shape) or real(a, b, threads))
    threaded = []
    real_note = blas._note_product
    monkeypatch.setattr(blas, "_note_product", lambda a, b, work, openblas=True: threaded.append(work)
                        or real_note(a, b, work, openblas))
    x = rng.standard_normal((64, 4, 12, 12)).astype("float32")
    step(x)  # (a first call compiles kernels between the notes and the products: 0.2 s can pass)
    split.clear()
    threaded.clear()
    monkeypatch.setattr(blas, "_threads_busy_until", time.perf_counter() + 3600)  # (a user's product: batched)
    got = step(x)
    want = sg.function([images], [out] + sg.grad((out ** 2).sum(), [filters, dense]), backend="numpy")(x)
    for g, w in zip(got, want):  # (float32 sums in another order: errors relative to the largest value)
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5 * np.abs(w).max())
    # the forward's window product, the dense layer, its gradient g @ W.T (64 rows: as it is), the
    # dense weight's h.T @ g, the filter gradient's window product
    assert sorted(split) == [(8, 36), (36, 6400), (64, 64), (64, 800), (800, 64)]
    assert [w for w in threaded if w > blas.MNK_THRESHOLD] == []
    thunks = [t for name, t in executor_globals(step).items() if name[:1] == "t" and name[1:].isdigit()]
    assert any(getattr(t, "threshold", float("inf")) < float("inf") for t in thunks)

    x, w = sg.fmatrix("x"), sg.shared(np.ones((64, 64), "float32"))
    mlp = sg.function([x], sg.nn.relu(sg.dot(x, w)) * 2)
    thunks = [t for name, t in executor_globals(mlp).items() if name[:1] == "t" and name[1:].isdigit()]
    assert [t for t in thunks if hasattr(t, "threshold")] and all(
        t.threshold == float("inf") for t in thunks if hasattr(t, "threshold"))


@needs_split
@pytest.mark.parametrize("rows,turned", [(16, True), (128, False)])
def test_a_transposed_weights_product_turned_only_with_few_rows(rows, turned, monkeypatch):
    """g @ W.T while numba's threads work: with few rows of g it goes turned, (W @ g.T).T with
    W's rows split; with more, as it is, W.T BLAS's transposed operand (no copy of W)."""
    rng = np.random.default_rng(11)
    g, w = rng.standard_normal((rows, 64)), rng.standard_normal((3000, 64))
    left = []
    real = numba_blas.split_product
    monkeypatch.setattr(numba_blas, "split_product", lambda a, b, threads: left.append((a.shape, b.flags.f_contiguous))
                        or real(a, b, threads))
    blas.note_numba_threads(10 ** 9)
    got = blas.numpy_product(g, w.T)
    assert got.flags.c_contiguous
    np.testing.assert_allclose(got, g @ w.T, rtol=1e-12, atol=1e-12)
    assert left == ([((3000, 64), False)] if turned else [((rows, 64), True)])
    assert blas.threads_idle()
