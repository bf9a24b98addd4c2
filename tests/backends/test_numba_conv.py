"""Convolutions image by image on numba's threads (backends/numba_conv.py): the same values as
the numpy backend for strided, dilated and padded windows in both float dtypes, the batched
path while BLAS's threads may be spinning, and products kept off BLAS's threads meanwhile."""
import time

import numba
import numpy as np
import pytest

import symgraph as sg
from symgraph.backends import blas, numba_conv


@pytest.fixture
def spied(monkeypatch):
    """numba_conv.takes' answers, in call order."""
    answers = []
    real = numba_conv.takes
    monkeypatch.setattr(numba_conv, "takes", lambda *args: answers.append(real(*args)) or answers[-1])
    return answers


def _conv_and_gradients(dtype, stride, padding, dilation, n=64, channels=8):
    rng = np.random.default_rng(3)
    images = sg.tensor("images", dtype, (None, channels, None, None))
    filters = sg.shared(rng.standard_normal((16, channels, 3, 3)).astype(dtype) * 0.2, "filters")
    out = sg.nn.conv2d(images, filters, stride=stride, padding=padding, dilation=dilation)
    outputs = [out] + sg.grad((out ** 2).sum(), [images, filters])
    x = rng.standard_normal((n, channels, 12, 12)).astype(dtype)
    return [images], outputs, x


def _agree(inputs, outputs, x, dtype):
    fast = sg.function(inputs, outputs, backend="numba")(x)
    reference = sg.function(inputs, outputs, backend="numpy")(x)
    tol = dict(rtol=2e-4, atol=2e-3) if dtype == "float32" else dict(rtol=1e-10, atol=1e-10)
    for got, want in zip(fast, reference):
        np.testing.assert_allclose(got, want, **tol)


needs_single_thread_blas = pytest.mark.skipif(numba_conv.single_thread_work() == 0,
                                              reason="SciPy's BLAS is not an OpenBLAS found in the process")


@needs_single_thread_blas
@pytest.mark.parametrize("dtype,stride,padding,dilation,channels", [
    ("float32", 1, 1, 1, 16), ("float32", 2, "same", 1, 8), ("float64", 1, 2, 2, 8), ("float32", 2, "valid", 1, 16)])
@pytest.mark.exhaustive
def test_image_by_image_matches_the_numpy_backend(dtype, stride, padding, dilation, channels, spied, monkeypatch):
    """8 channels: the filter gradient's 16 x 72 outputs take OpenBLAS's transposed small kernel
    (numba_conv.FEW_OUTPUTS); 16 channels, 16 x 144: the C-ordered form."""
    monkeypatch.setattr(blas, "_threads_busy_until", 0.0)
    _agree(*_conv_and_gradients(dtype, stride, padding, dilation, channels=channels), dtype)
    assert spied == [True, True, True]  # forward, input gradient, filter gradient


@needs_single_thread_blas
def test_a_transposed_input_and_a_single_image_batch(spied, monkeypatch):
    monkeypatch.setattr(blas, "_threads_busy_until", 0.0)
    inputs, outputs, x = _conv_and_gradients("float64", 1, 1, 1)
    _agree(inputs, outputs, np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2), "float64")
    assert spied == [True, True, True]
    spied.clear()
    _agree(*_conv_and_gradients("float64", 1, 1, 1, n=1), "float64")  # one image: nothing to split
    assert spied == [False, False, False]


def test_the_batched_path_while_blas_threads_may_spin(spied, monkeypatch):
    monkeypatch.setattr(blas, "_threads_busy_until", time.perf_counter() + 3600)
    _agree(*_conv_and_gradients("float32", 1, 1, 1), "float32")
    assert spied == [False, False, False]


@pytest.mark.parametrize("channels,groups", [(2, 1), (8, 1), (8, 2)])
def test_the_batched_path_builds_its_window_matrices_a_few_images_at_a_time(channels, groups, spied, monkeypatch):
    """2 channels (18 taps): the products image by image (numba_cpu.FEW_TAPS); 8: one product a
    slice of the batch, for each group. Every window matrix (the forward's and the filter
    gradient's im2col, the input gradient's product before col2im) holds at most three of the
    ten images, and the last slice is a partial one."""
    from symgraph.backends import numba_cpu
    monkeypatch.setattr(blas, "_threads_busy_until", time.perf_counter() + 3600)
    monkeypatch.setattr(numba_cpu, "WINDOW_MATRIX_BYTES", 3 * (channels // groups) * 9 * 10 * 10 * 4)
    widths = []
    columns, product = numba_cpu.ConvThunk._columns, blas.product
    monkeypatch.setattr(numba_cpu.ConvThunk, "_columns",
                        lambda *args: (lambda cols: widths.append(cols.shape[1]) or cols)(columns(*args)))
    monkeypatch.setattr(blas, "product", lambda a, b: (lambda out: widths.append(out.shape[1]) or out)(product(a, b)))
    rng = np.random.default_rng(5)
    images = sg.ftensor4("images")
    # (8 filters, no fewer than the channels: with fewer, the input gradient is a convolution of
    # the output's gradient, its window matrix of other rows: see ConvThunk.grad_input)
    filters = sg.shared(rng.standard_normal((8, channels // groups, 3, 3)).astype("float32"), "filters")
    out = sg.nn.conv2d(images, filters, groups=groups)  # 12x12 -> 10x10
    outputs = [out] + sg.grad((out ** 2).sum(), [images, filters])
    _agree([images], outputs, rng.standard_normal((10, channels, 12, 12)).astype("float32"), "float32")
    assert spied == ([False, False, False] if groups == 1 else [])  # (groups never go image by image)
    assert max(widths) == 3 * 10 * 10 and 10 * 10 in widths  # (three images a slice; the tenth alone)


@pytest.fixture(params=["split", "blocks"])
def products_off_blas_threads(request, monkeypatch):
    """The two ways a product keeps off BLAS's threads: split over numba's threads, the OpenBLAS
    they call told to run each call on its caller's thread (numba_blas.one_thread); where it
    cannot be told, in calls within OpenBLAS's own single-thread limit."""
    from symgraph.backends import numba_blas
    if request.param == "split":
        if not blas.splits_products():
            pytest.skip("SciPy's OpenBLAS cannot be set to one thread here, or numba has one thread")
    else:
        # (blas._keep_single_thread takes blocks only where OpenBLAS's small-matrix kernels run
        # them: its AVX-512 cores; an AVX2 machine's OpenBLAS has none)
        if not blas.openblas_small_kernels():
            pytest.skip("NumPy's OpenBLAS has no small-matrix kernels on this CPU")
        monkeypatch.setattr(numba_blas, "one_thread", lambda: None)
        monkeypatch.setattr(numba_conv, "_single_thread_work", numba_conv._openblas_own_limit())
    return request.param


def test_products_stay_off_blas_threads_while_numba_works_the_images(products_off_blas_threads, monkeypatch):
    """After a convolution went image by image, a product (a dense layer after two poolings:
    64x1568 @ 1568x10, just over OpenBLAS's 10^6 single-thread limit) runs split over numba's
    threads or in single-thread blocks, transposed operands copied or, a transposed weight's,
    turned round, and notes no threaded product; without that, it is threaded and noted."""
    from symgraph.backends import numba_blas
    rng = np.random.default_rng(4)
    h, w, g = rng.standard_normal((64, 1568)), rng.standard_normal((1568, 10)), rng.standard_normal((64, 10))
    left = []
    if products_off_blas_threads == "split":
        real_split = numba_blas.split_product
        monkeypatch.setattr(numba_blas, "split_product", lambda a, b, threads: left.append(a.shape) or real_split(a, b, threads))
    else:
        real_blocks = blas._blocks
        monkeypatch.setattr(blas, "_blocks", lambda a, b, rows: left.append(a.shape) or real_blocks(a, b, rows))
    for a, b in ((h, w), (g, w.T), (h.T, g)):
        monkeypatch.setattr(blas, "_threads_busy_until", 0.0)
        monkeypatch.setattr(blas, "_numba_threads_until", time.perf_counter() + 3600)
        np.testing.assert_allclose(blas.numpy_product(a, b), a @ b, rtol=1e-12, atol=1e-12)
        assert blas.threads_idle()
        monkeypatch.setattr(blas, "_numba_threads_until", 0.0)
        np.testing.assert_allclose(blas.numpy_product(a, b), a @ b, rtol=1e-12, atol=1e-12)
        assert not blas.threads_idle()
    # g @ W.T went the other way round in blocks, W @ g.T: the left operand was W (1568 rows);
    # split, its 64 rows are enough to split as they are (W.T BLAS's transposed operand).
    turned = products_off_blas_threads == "blocks"
    assert left == [(64, 1568), (1568, 10) if turned else (64, 10), (1568, 64)]
    # A dense weight's in-place SGD update (3136x10, x.T @ g at batch 32): one gemm call into it
    # otherwise (blas.accumulate), threaded.
    x, g = rng.standard_normal((32, 3136)), rng.standard_normal((32, 10))
    for numba_works in (True, False):
        c = rng.standard_normal((3136, 10))
        want = c - 0.1 * x.T @ g
        monkeypatch.setattr(blas, "_threads_busy_until", 0.0)
        monkeypatch.setattr(blas, "_numba_threads_until", time.perf_counter() + 3600 if numba_works else 0.0)
        assert blas.accumulate(-0.1, x.T, g, c)
        np.testing.assert_allclose(c, want, rtol=1e-12, atol=1e-12)
        assert blas.threads_idle() == numba_works


@pytest.mark.parametrize("kernel,stride,padding", [(2, None, 0), (3, 2, 1)])
@pytest.mark.exhaustive
def test_max_pooling_split_over_the_planes_matches_the_numpy_backend(kernel, stride, padding, monkeypatch):
    """From MaxPoolThunk.PARALLEL_POOL values, with BLAS's threads not spinning, the pooling
    loops (forward, and the gradient: the tiling windows' kernel and the general one) split the
    planes over numba's threads; ties, NaNs and odd edges as the reference has them."""
    from symgraph.backends import numba_kernels
    built = []
    for name in ("max_pool_kernel", "max_pool_tiled_grad_kernel", "max_pool_tiled_kernel"):
        real = getattr(numba_kernels, name)
        # (the parallel flag: a keyword, the last argument, or none, the tiled forward's one core)
        monkeypatch.setattr(numba_kernels, name, lambda *a, real=real, **k: built.append(
            k.get("parallel", a[-1] if len(a) > 2 else False)) or real(*a, **k))
    monkeypatch.setattr(blas, "_threads_busy_until", 0.0)
    rng = np.random.default_rng(7)
    x = rng.integers(-3, 4, (16, 12, 21, 21)).astype("float32")  # ties in most windows; odd edges
    x[0, 0, 0, :5] = np.nan
    x[3, 2, 7, 7] = np.nan
    images = sg.ftensor4("images")
    out = sg.nn.max_pool2d(images, kernel, stride=stride, padding=padding)
    outputs = [out, sg.grad((out * sg.constant(np.float32(1.5))).sum(), images)]
    fast = sg.function([images], outputs, backend="numba")(x)
    reference = sg.function([images], outputs, backend="numpy")(x)
    for got, want in zip(fast, reference):
        np.testing.assert_array_equal(got, want)
    assert built == [True, True]
    built.clear()
    monkeypatch.setattr(blas, "_threads_busy_until", time.perf_counter() + 3600)
    fast = sg.function([images], outputs, backend="numba")(x)
    for got, want in zip(fast, reference):
        np.testing.assert_array_equal(got, want)
    assert built == [False, False]


@pytest.mark.parametrize("parallel", [False, True])
def test_a_pooling_loop_calls_one_function_a_plane(parallel, monkeypatch):
    """max_pool_kernel's windows of one plane are a function of their own (one_plane) and the
    loop over the planes, split over numba's threads or not, only calls it: numba's parallel
    passes then see a call, not the unrolled windows (the 3x3 stride-2 gradient compiled in
    13.7 s split over the planes, 4.2 so; 3.3-3.7 on one core either way)."""
    from symgraph.backends import numba_codegen, numba_kernels
    sources = []
    real = numba_codegen.compile_source
    monkeypatch.setattr(numba_codegen, "compile_source", lambda source: sources.append(source) or real(source))
    for grad in (False, True):
        numba_kernels.max_pool_kernel(3, 3, 2, 2, 1, 1, 1, 1, grad, parallel)
    for source in sources:
        kernel = source[source.index("def kernel("):]
        assert "def one_plane(" in source and kernel.count("\n") == 4  # (def, for, n, the call)
        assert f"in {'prange' if parallel else 'range'}(x.shape[0] * x.shape[1]):" in kernel
        assert kernel.rstrip().splitlines()[-1].strip().startswith("one_plane(")
        # The windows over the padding, tested entry by entry, are loops over the entries, not
        # unrolled (3x3 stride 2 padding 1: 2.7 -> 1.3 s to compile forward, 3.3 -> 1.5 gradient).
        plane = source[:source.index("def kernel(")]
        assert plane.count("for b in range(3):") == 2
        assert plane.count("if by < 0 or v > best") == 2  # (a row's left windows and its right ones)


@needs_single_thread_blas
@pytest.mark.parametrize("dtype,stride,padding,channels,out_size", [
    ("float32", 1, 1, 8, 12), ("float64", 1, "valid", 16, 10), ("float32", 2, "same", 16, 6)])
def test_an_images_product_in_blocks_of_rows(dtype, stride, padding, channels, out_size, spied, monkeypatch):
    """An image whose product passes single_thread_work goes in calls of a few rows of its left
    operand each (rows_within), from a limit made small here: the forward's 16 filters 5 a call
    (the last call one), the input gradient's taps a third a call, the filter gradient's 16
    filters (8 channels) or 144 taps (16 channels) 5 a call."""
    monkeypatch.setattr(blas, "_threads_busy_until", 0.0)
    pixels = out_size * out_size
    monkeypatch.setattr(numba_conv, "_single_thread_work", 16 * channels * 9 * pixels // 3)
    assert numba_conv.rows_within(channels * 9 * pixels) == 5
    _agree(*_conv_and_gradients(dtype, stride, padding, 1, channels=channels), dtype)
    assert spied == [True, True, True]


@pytest.mark.parametrize("filters,channels", [(16, 8), (256, 1), (8, 64)])
def test_every_call_of_an_images_product_stays_within_one_thread(filters, channels, monkeypatch):
    """The rows each kernel's product calls take (rows_within) times what one row of that
    product's left operand costs is within single_thread_work: forward (filters, taps * pixels
    a row), input gradient (taps, filters * pixels), filter gradient (its filters with few
    outputs, else its taps, filters * pixels a row: 256 filters over 9 taps must not take
    rows sized by the taps)."""
    limit = 50_000
    monkeypatch.setattr(numba_conv, "_single_thread_work", limit)
    calls = []
    x = np.zeros((2, channels, 10, 10), np.float32)
    gy = np.zeros((2, filters, 10, 10), np.float32)
    w = np.zeros((filters, channels, 3, 3), np.float32)
    taps, pixels = channels * 9, 100
    numba_conv.forward(lambda *args: calls.append(("forward", args[4])), x, w, 10, 10)
    numba_conv.grad_input(lambda *args: calls.append(("input", args[2])), gy, w, x.shape)
    numba_conv.grad_filters(lambda *args: calls.append(("filters", args[2], args[-1])), x, gy, w.shape)
    (_, forward_rows), (_, input_rows), (_, filter_rows, few) = calls
    assert forward_rows * taps * pixels <= limit or forward_rows == 1
    assert input_rows * filters * pixels <= limit or input_rows == 1
    assert filter_rows * (taps if few else filters) * pixels <= limit or filter_rows == 1
    assert few == (filters * taps <= numba_conv.FEW_OUTPUTS)


def test_a_product_stays_on_one_thread_only_for_as_much_work_as_numba_has(products_off_blas_threads, monkeypatch):
    """While numba's threads have just run a convolution of W multiply-adds, a product of any
    size is split over them (as fast as OpenBLAS's threads, numba_blas.split_product); where it
    cannot be, products up to max(THIN_MAX_MNK, W) take the single-thread blocks and a larger
    one (a big dense layer after a small convolution) is OpenBLAS's threaded product, noted as
    such."""
    from symgraph.backends import numba_blas
    rng = np.random.default_rng(8)
    a, b = rng.standard_normal((64, 1568)), rng.standard_normal((1568, 64))  # 6.4M multiply-adds
    on_threads = []
    real, real_inner, batch = numba_blas.blocks_of()
    monkeypatch.setattr(numba_blas, "blocks_of", lambda: (
        lambda *args: on_threads.append(args[3]) or real(*args),
        lambda *args: on_threads.append(("inner", args[3])) or real_inner(*args), batch))
    split = products_off_blas_threads == "split"
    for numba_work, off_blas in ((10 ** 6, split), (50 * 10 ** 6, True)):
        monkeypatch.setattr(blas, "_threads_busy_until", 0.0)
        monkeypatch.setattr(blas, "_numba_threads_until", 0.0)
        monkeypatch.setattr(blas, "_numba_work", 0)
        blas.note_numba_threads(numba_work)
        np.testing.assert_allclose(blas.numpy_product(a, b), a @ b, rtol=1e-12, atol=1e-12)
        assert blas.threads_idle() == off_blas
    if split:  # (1568 >= 64: by slices of the inner dimension, one a thread)
        step = -(-1568 // numba.get_num_threads())
        assert on_threads == [("inner", step)] * 2
    else:  # the blocks, 9 rows a call (eight calls), on numba's threads where SciPy's OpenBLAS takes such a call on one thread
        assert on_threads == ([9] if numba_conv.single_thread_work() >= 9 * 1568 * 64 else [])


def test_an_images_product_is_one_call_with_its_openblas_at_one_thread(products_off_blas_threads, monkeypatch):
    """Where the OpenBLAS the kernels call (NumPy's where numba_numpy_gemm registered it, its
    products the faster; else SciPy's, numba's np.dot) can be set to one thread, each kernel
    runs with it so and takes an image's product (64 filters x 576 taps x 100 pixels, past
    OpenBLAS's own 10^6) in one call; after, the setting is what it was. Where SciPy's cannot,
    calls of a few rows within the limit."""
    from symgraph.backends import numba_blas, numba_codegen, numba_numpy_gemm
    context = numba_blas.one_thread()
    sources = []
    real = numba_codegen.compile_source
    monkeypatch.setattr(numba_codegen, "compile_source", lambda source: sources.append(source) or real(source))
    for make in (numba_conv.forward_kernel, numba_conv.grad_input_kernel, numba_conv.grad_filters_kernel):
        make(3, 3, 1, 1, 1, 1, 1, 1)
    call = "gemm_into(" if numba_blas.numpy_gemm() else "np.dot("
    assert [source.count(call) for source in sources] == [1, 1, 2]  # (the filters' gradient: two forms)
    assert numba_blas.numpy_gemm() == (numba_numpy_gemm.DOT is not None)  # (NumPy's wheels: registered)
    if numba_blas.numpy_gemm():
        assert not any("np.dot(" in source for source in sources)
    seen = []

    def kernel_at(position):
        return lambda *args: seen.append((args[position], context.get() if context else None))
    before = context.get() if context else None
    x, gy = np.zeros((2, 64, 10, 10), np.float32), np.zeros((2, 64, 10, 10), np.float32)
    w = np.zeros((64, 64, 3, 3), np.float32)
    numba_conv.forward(kernel_at(4), x, w, 10, 10)
    numba_conv.grad_input(kernel_at(2), gy, w, x.shape)
    numba_conv.grad_filters(kernel_at(2), x, gy, w.shape)
    rows = [r for r, _ in seen]
    if products_off_blas_threads == "split":
        assert rows[0] >= 64 and rows[1] >= 576 and rows[2] >= 576  # (the left operands' rows: whole)
        assert [threads for _, threads in seen] == [1, 1, 1] and context.get() == before
    else:  # (a row of each left operand: taps x pixels, filters x pixels, filters x pixels)
        assert all(r * work <= numba_conv.single_thread_work() for r, work in zip(rows, (576 * 100, 64 * 100, 64 * 100)))


# Every filter count with every padding in both dtypes, serial and parallel taking turns so
# that each padding and dtype meets both (the whole product, 48 cases, took 95 s of the suite).
FEW_FILTERS_CASES = [(filters, kernel, padding, dtype, (i + j + filters) % 2 == 1)
                     for filters in (1, 2, 3)
                     for i, (kernel, padding) in enumerate([((3, 3), 1), ((2, 2), "same"), ((3, 3), 0),
                                                            ((2, 3), ((1, 0), (2, 1)))])
                     for j, dtype in enumerate(["float32", "float64"])]


@pytest.mark.parametrize("filters,kernel,padding,dtype,parallel", FEW_FILTERS_CASES)
@pytest.mark.exhaustive
def test_few_filters_run_tap_by_tap_with_the_numpy_backends_values(filters, kernel, padding, dtype, parallel,
                                                                   monkeypatch):
    """A convolution with at most numba_taps.MAX_FILTERS filters (a decoder's last layer) runs
    its forward and filter gradient over padded planes a tap at a time: the reference's values
    for 'same' (asymmetric for an even kernel), none, explicit and asymmetric padding, serial and
    on numba's threads, with an inf at a row's first column (the values past each padded row's
    end are read there: they must count as 0, not 0 * inf) and a NaN. Four filters, strides and
    groups keep im2col (checked in the cases of one filter)."""
    from symgraph.backends import numba_taps
    ways = []
    for name in ("forward_serial", "forward_parallel", "filter_gradient_serial", "filter_gradient_parallel"):
        real = getattr(numba_taps, name)
        monkeypatch.setattr(numba_taps, name, lambda *args, real=real, name=name: ways.append(name) or real(*args))
    monkeypatch.setattr(blas, "_threads_busy_until", 0.0 if parallel else time.perf_counter() + 3600)
    monkeypatch.setattr(numba_conv, "MIN_WORK", 0)  # (these images are few and small)
    rng = np.random.default_rng(7)
    x = sg.tensor("x", dtype, ndim=4)
    w = sg.shared(rng.standard_normal((filters, 5) + kernel).astype(dtype), "w")
    y = sg.nn.conv2d(x, w, padding=padding)
    outputs = [y, *sg.grad((y * y).sum(), [x, w])]
    xv = rng.standard_normal((40, 5, 11, 12)).astype(dtype)
    xv[3, 2, 4, 0], xv[5, 1, 6, 7] = np.inf, np.nan
    got = sg.function([x], outputs, backend="numba")(xv)
    want = sg.function([x], outputs, backend="numpy")(xv)
    tol = dict(rtol=2e-4, atol=2e-3) if dtype == "float32" else dict(rtol=1e-10, atol=1e-10)
    for g, r in zip(got, want):
        np.testing.assert_allclose(g, r, equal_nan=True, **tol)
    kind = "parallel" if parallel else "serial"
    assert ways == [f"forward_{kind}", f"filter_gradient_{kind}"]
    # a finite output gradient beside x's inf: the taps whose windows never cover it stay finite
    weights = sg.shared(rng.standard_normal(want[0].shape[1:]).astype(dtype), "weights")
    finite = sg.grad((y * weights).sum(), w)
    got, want = (sg.function([x], finite, backend=b)(xv) for b in ("numba", "numpy"))
    np.testing.assert_allclose(got, want, equal_nan=True, **tol)
    assert np.isfinite(want).any() and not np.isfinite(want).all()
    if filters > 1:
        return  # (what keeps im2col, once a padding, kernel and dtype: its compiles are most of a case)
    del ways[:]
    for other in (sg.nn.conv2d(x, sg.shared(np.ones((4, 5) + kernel, dtype)), padding=padding),
                  sg.nn.conv2d(x, w, stride=2), sg.nn.conv2d(x, sg.shared(np.ones((5, 1) + kernel, dtype)), groups=5)):
        out = [other, sg.grad((other * other).sum(), x)]
        for g, r in zip(sg.function([x], out, backend="numba")(xv), sg.function([x], out, backend="numpy")(xv)):
            np.testing.assert_allclose(g, r, equal_nan=True, **tol)
    assert ways == []


@pytest.mark.parametrize("kernel", [(2, 2), (3, 2)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.exhaustive
def test_one_channel_tiling_convolutions_run_window_by_window_with_the_numpy_backends_values(kernel, dtype,
                                                                                          parallel, monkeypatch):
    """avg_pool2d's convolution (each plane one image of one channel, a filter whose windows
    tile it) and any such conv2d of one channel by one filter with stride = filter size take
    numba_tiled_conv's loops, forward and the input's gradient, serial and on numba's
    threads: the reference's values, odd edges (no window covers them: no gradient), an inf
    and a NaN in the windows. The filter's gradient keeps im2col; padding, another stride and
    two channels keep the layer paths."""
    from symgraph.backends import numba_tiled_conv
    ways = []
    for name in ("forward", "grad_input"):
        real = getattr(numba_tiled_conv, name)
        monkeypatch.setattr(numba_tiled_conv, name, lambda *args, real=real, name=name: ways.append(
            (name, args[-1])) or real(*args))
    monkeypatch.setattr(blas, "_threads_busy_until", 0.0 if parallel else time.perf_counter() + 3600)
    monkeypatch.setattr("symgraph.backends.numba_cpu.MaxPoolThunk.PARALLEL_POOL", 1)
    rng = np.random.default_rng(5)
    x = sg.tensor("x", dtype, ndim=4)
    xv = rng.standard_normal((6, 3, 11, 9)).astype(dtype)  # (11, 9): rows and columns left over
    xv[0, 1, 2, 3], xv[4, 2, 5, 0] = np.inf, np.nan
    w = sg.shared(rng.standard_normal((1, 1) + kernel).astype(dtype), "w")
    ones = sg.tensor("ones", dtype, ndim=4)
    pooled = sg.nn.avg_pool2d(x, kernel)
    strided = sg.nn.conv2d(ones, w, stride=kernel)
    outputs = [pooled, sg.grad((pooled * pooled).sum(), x), strided, *sg.grad((strided * strided).sum(), [ones, w])]
    values = [xv, rng.standard_normal((4, 1, 11, 9)).astype(dtype)]
    got = sg.function([x, ones], outputs, backend="numba")(*values)
    want = sg.function([x, ones], outputs, backend="numpy")(*values)
    tol = dict(rtol=2e-5, atol=2e-5) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    for g, r in zip(got, want):
        np.testing.assert_allclose(g, r, equal_nan=True, **tol)
    assert sorted(ways) == [("forward", parallel)] * 2 + [("grad_input", parallel)] * 2
    del ways[:]
    for other in (sg.nn.avg_pool2d(x, kernel, padding=1), sg.nn.avg_pool2d(x, kernel, stride=1),
                  sg.nn.conv2d(x, sg.shared(np.ones((1, 3) + kernel, dtype)), stride=kernel)):
        out = [other, sg.grad((other * other).sum(), x)]
        for g, r in zip(sg.function([x], out, backend="numba")(xv), sg.function([x], out, backend="numpy")(xv)):
            np.testing.assert_allclose(g, r, equal_nan=True, **tol)
    assert ways == []
