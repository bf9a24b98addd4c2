"""Matrix products through MKL (backends/blas.py, asked for with config.blas = "auto" or
"mkl") against np.dot, in every layout a graph hands them, and the numba backend's Dot, Gemm
and convolutions with and without MKL; NumPy's BLAS by default."""
import numpy as np
import pytest

import symgraph as sg
from symgraph.backends import blas

HAVE_MKL = bool(blas._load_mkl())
needs_mkl = pytest.mark.skipif(not HAVE_MKL, reason="the mkl package is not installed")


@pytest.fixture
def blas_mode():
    """Set config.blas for one test, and put it back."""
    before = sg.config.blas
    yield lambda mode: setattr(sg.config, "blas", mode)
    sg.config.blas = before


@pytest.fixture
def mkl_on(blas_mode):
    blas_mode("auto")


def test_products_use_numpys_blas_unless_mkl_is_asked_for(monkeypatch, blas_mode):
    """MKL's threads and NumPy's OpenBLAS threads slow each other down when both run in one
    process (blas.py), so MKL is opt-in: the default configuration never calls it."""
    monkeypatch.delenv("SYMGRAPH_BLAS", raising=False)
    default = sg.config.__class__().blas
    assert default == "numpy"
    blas_mode(default)
    monkeypatch.setattr(blas, "_call", lambda *args: pytest.fail("MKL was called"))
    a = np.random.default_rng(7).random((300, 400), dtype=np.float32)
    assert a.shape[0] * a.shape[1] * a.shape[0] > blas.MNK_THRESHOLD
    np.testing.assert_array_equal(blas.product(a, a.T), np.matmul(a, a.T))
    bias = np.ones(300, np.float32)
    np.testing.assert_array_equal(blas.gemm(1.0, a, a.T, 1.0, bias, np.dtype("float32")), np.matmul(a, a.T) + bias)
    monkeypatch.setenv("SYMGRAPH_BLAS", "auto")
    assert sg.config.__class__().blas == "auto"


def test_large_products_go_through_matmul_small_ones_through_dot(monkeypatch, blas_mode):
    """np.dot makes one more pass over a large output than np.matmul's same BLAS call (blas.py,
    MATMUL_MIN): products from that size go through np.matmul, smaller ones, those of a small
    output (DOT_OUTPUT_MAX: a classifier's last layer) and outer products through np.dot, whose
    call costs less. Both in every layout and dtype give np.dot's values."""
    blas_mode("numpy")
    calls = []
    real_dot, real_matmul = np.dot, np.matmul
    monkeypatch.setattr(np, "dot", lambda a, b: (calls.append("dot"), real_dot(a, b))[1])
    monkeypatch.setattr(np, "matmul", lambda a, b, **kw: (calls.append("matmul"), real_matmul(a, b, **kw))[1])
    rng = np.random.default_rng(3)
    # (an outer product goes through np.dot at any size: np.matmul's own loop runs it, 5x slower)
    for (m, k, n), way in (((784, 32, 512), "matmul"), ((32, 64, 10), "dot"), ((1024, 1, 512), "dot"),
                           ((128, 784, 10), "dot"), ((64, 64, 64), "dot"), ((129, 64, 128), "matmul")):
        large = m * k * n >= blas.MATMUL_MIN and m * n > blas.DOT_OUTPUT_MAX
        assert large == (way == "matmul") or k == 1
        for dtype in ("float32", "float64"):
            tol = dict(rtol=2e-5, atol=1e-4) if dtype == "float32" else dict(rtol=1e-12, atol=1e-11)
            for name_a, a in _layouts(rng, m, k, dtype).items():
                for name_b, b in _layouts(rng, k, n, dtype).items():
                    calls.clear()
                    got = blas.product(a, b)
                    assert calls == [way], (m, name_a, name_b)
                    np.testing.assert_allclose(got, real_dot(a, b), **tol, err_msg=f"{name_a} x {name_b}")
            bias = rng.random(n).astype(dtype)
            calls.clear()
            got = blas.gemm(-0.5, a, b, 2.0, bias, np.dtype(dtype))
            assert calls == [way]
            np.testing.assert_allclose(got, -0.5 * real_dot(a, b) + 2 * bias, **tol)


def _layouts(rng, rows, cols, dtype):
    """The same matrix as C order, a transposed view, a block of a larger array, a strided
    slice, a reversed view and a broadcast row."""
    x = rng.standard_normal((rows, cols)).astype(dtype)
    big = rng.standard_normal((rows + 3, 2 * cols + 5)).astype(dtype)
    big[1:rows + 1, 2:cols + 2] = x
    wide = np.zeros((rows, 2 * cols), dtype)
    wide[:, ::2] = x
    return {"C": x, "transposed": np.ascontiguousarray(x.T).T, "block": big[1:rows + 1, 2:cols + 2],
            "strided": wide[:, ::2], "reversed": x[::-1].copy()[::-1],
            "Fortran": np.asfortranarray(x)}


@pytest.mark.parametrize("small_kernels", [True, False])
def test_float32_products_shaped_for_openblas_small_kernels(small_kernels, monkeypatch, blas_mode):
    """Where NumPy's OpenBLAS has its small-matrix kernels (blas.py, openblas_small_kernels): a
    small transposed right operand (g @ W.T, W 512x10) goes to np.matmul in C order, and a thin
    product past the kernels' limit goes as row blocks within it; larger, float64 or wider
    products, and every product without those kernels, are one np.matmul of the operands."""
    blas_mode("numpy")
    monkeypatch.setattr(blas, "_small_kernels", small_kernels)
    calls = []
    real_matmul = np.matmul
    monkeypatch.setattr(np, "matmul", lambda a, b, **kw: (calls.append((a.shape[0], b.flags.c_contiguous)),
                                                         real_matmul(a, b, **kw))[1])
    rng = np.random.default_rng(4)
    rows = blas.SMALL_KERNEL_MNK // (10 * 512)
    for (m, k, n), dtype, expected in (((128, 10, 512), "float32", [(128, True)]),
                                       ((256, 10, 512), "float32", [(rows, True), (256 - rows, True)]),
                                       ((128, 10, 512), "float64", [(128, False)]),
                                       ((128, 64, 512), "float32", [(128, False)]),
                                       ((1024, 10, 128), "float32", [(1024, False)])):
        g = rng.standard_normal((m, k)).astype(dtype)
        w = rng.standard_normal((n, k)).astype(dtype)
        calls.clear()
        got = blas.product(g, w.T)
        assert calls == (expected if small_kernels else [(m, False)]), (m, k, n, dtype)
        assert got.dtype == dtype and got.flags.c_contiguous
        np.testing.assert_allclose(got, np.dot(g, w.T), rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-4)


@needs_mkl
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_mkl_product_matches_np_dot_in_every_layout(dtype, mkl_on):
    rng = np.random.default_rng(0)
    m, k, n = 96, 70, 80  # above MNK_THRESHOLD
    assert m * k * n > blas.MNK_THRESHOLD
    tol = dict(rtol=2e-5, atol=1e-4) if dtype == "float32" else dict(rtol=1e-12, atol=1e-11)
    for name_a, a in _layouts(rng, m, k, dtype).items():
        for name_b, b in _layouts(rng, k, n, dtype).items():
            got = blas.product(a, b)
            assert got.dtype == np.dtype(dtype) and got.flags.c_contiguous, (name_a, name_b)
            np.testing.assert_allclose(got, np.dot(a, b), **tol, err_msg=f"{name_a} x {name_b}")


@needs_mkl
def test_mkl_takes_only_products_above_the_threshold(monkeypatch, mkl_on):
    calls = []
    real = blas._call
    monkeypatch.setattr(blas, "_call", lambda *args: (calls.append(args[2].shape), real(*args))[1])
    rng = np.random.default_rng(1)
    small = rng.random((32, 64), dtype=np.float32), rng.random((64, 10), dtype=np.float32)
    large = rng.random((128, 256), dtype=np.float32), rng.random((256, 64), dtype=np.float32)
    np.testing.assert_allclose(blas.product(*small), np.dot(*small), rtol=1e-5)
    assert calls == []
    np.testing.assert_allclose(blas.product(*large), np.dot(*large), rtol=1e-5)
    assert calls == [(128, 256)]
    mixed = blas.product(large[0].astype(np.float64), large[1])  # mixed dtypes: np.dot's promotion
    assert mixed.dtype == np.float64 and len(calls) == 1


@needs_mkl
@pytest.mark.parametrize("bias_shape", [(), (1,), (48,), (1, 48), (64, 1), (64, 48)])
@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (-0.01, 1.0), (2.0, -0.5)])
def test_mkl_gemm_matches_the_reference(bias_shape, alpha, beta, mkl_on):
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((64, 100)), rng.standard_normal((100, 48))
    c = rng.standard_normal(bias_shape)
    got = blas.gemm(alpha, a, b.T.copy().T, beta, c, "float64")
    np.testing.assert_allclose(got, alpha * np.dot(a, b) + beta * c, rtol=1e-12, atol=1e-12)


def test_gemm_leaves_to_the_reference_what_blas_would_do_differently(mkl_on):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((64, 100)), rng.standard_normal((100, 48))
    assert blas.gemm(1.0, a, b, 0.0, np.full(48, np.nan), "float64") is None  # 0 * NaN is NaN
    assert blas.gemm(1.0, a, b, 1.0, np.ones((3, 48)), "float64") is None     # does not broadcast
    assert blas.gemm(1.0, a.astype(np.float32), b, 1.0, np.ones(48), "float64") is None


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gemm_adds_every_bias_that_fits_the_product_without_the_reference(dtype, blas_mode, monkeypatch):
    """x @ w + 1, Theano's x @ w + b.dimshuffle('x', 0), a column's bias, 0.5 * x @ w + b: each a
    Gemm whose bias broadcasts into the product, added in the product's buffer (they went to
    the NumPy reference, 3.5 us of np.broadcast_shapes and copies more at 16x16: 0.28x NumPy).
    Where the bias needs more rows or columns than the product has, the reference's answer
    stays (NumPy's broadcasting)."""
    blas_mode("numpy")
    from symgraph.ops import linalg
    reference = linalg.Gemm.perform
    ran = []
    monkeypatch.setattr(linalg.Gemm, "perform", lambda *args: (ran.append(1), reference(*args))[1])
    rng = np.random.default_rng(11)
    tol = dict(rtol=2e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    a, w = rng.standard_normal((16, 24)).astype(dtype), rng.standard_normal((24, 12)).astype(dtype)
    x, W = sg.matrix("x", dtype=dtype), sg.matrix("W", dtype=dtype)
    for shape, bias in (((), lambda c: c), ((12,), lambda c: c), ((1,), lambda c: c),
                        ((12,), lambda c: c.dimshuffle("x", 0)), ((16,), lambda c: c.dimshuffle(0, "x")),
                        ((16, 12), lambda c: c), ((1, 1), lambda c: c)):
        c = rng.standard_normal(shape).astype(dtype)
        C = sg.tensor("c", dtype=dtype, shape=(None,) * len(shape))
        for alpha, beta in ((1.0, 1.0), (0.5, 1.0), (1.0, -2.0)):
            f = sg.function([x, W, C], alpha * sg.dot(x, W) + beta * bias(C))
            assert [type(n.op).__name__ for n in f.fgraph.toposort()][-1] == "Gemm"
            want = alpha * (a @ w) + beta * np.asarray(bias(sg.constant(c)).eval())
            np.testing.assert_allclose(f(a, w, c), want, **tol, err_msg=f"{shape} {alpha} {beta}")
            assert ran == [], (shape, alpha, beta)
    # A bias of more rows than the product: NumPy broadcasts the product to it (the reference's).
    v, c = rng.standard_normal((24, 1)).astype(dtype), rng.standard_normal(12).astype(dtype)
    V, Cv = sg.matrix("v", dtype=dtype), sg.vector("c", dtype=dtype)
    wide = sg.function([x, V, Cv], sg.dot(x, V) + Cv)
    assert [type(n.op).__name__ for n in wide.fgraph.toposort()] == ["Gemm"]
    np.testing.assert_allclose(wide(a, v, c), a @ v + c, **tol)
    assert wide(a, v, c).shape == (16, 12) and ran


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_layers_bias_is_added_by_one_loop_over_the_product(dtype, blas_mode, monkeypatch):
    """x @ w + b, 0.3 * (x @ w) + b and Theano's x @ w + b.dimshuffle('x', 0) add b to each row of
    the product in numba_kernels.add_row (NumPy's broadcast add went row by row through its
    ufunc machinery: 3x slower on small layers); a bias that is a strided view, the same
    through NumPy. All NumPy's values, NaN and infinities too."""
    blas_mode("numpy")
    from symgraph.backends import numba_kernels
    rows = []
    real = numba_kernels.add_row
    monkeypatch.setattr(numba_kernels, "add_row",
                        lambda out, scale, row: (rows.append(row.shape), real(out, scale, row))[1])
    rng = np.random.default_rng(12)
    a, w = rng.standard_normal((32, 20)).astype(dtype), rng.standard_normal((20, 7)).astype(dtype)
    wide = rng.standard_normal(14).astype(dtype)
    wide[0], wide[2], wide[4] = np.nan, np.inf, -np.inf
    x, W, b = sg.matrix("x", dtype=dtype), sg.matrix("W", dtype=dtype), sg.vector("b", dtype=dtype)
    for scale, row in ((1.0, lambda b: b), (0.3, lambda b: b), (1.0, lambda b: b.dimshuffle("x", 0))):
        f = sg.function([x, W, b], scale * sg.dot(x, W) + row(b))
        assert [type(n.op).__name__ for n in f.fgraph.toposort()][-1] == "Gemm"
        for bias, calls in ((wide[:7].copy(), [(7,)]), (wide[::2], [])):
            rows.clear()
            product = np.dot(a, w)
            product *= product.dtype.type(scale)
            np.testing.assert_array_equal(f(a, w, bias), product + bias)
            assert rows == calls


def test_config_blas_numpy_keeps_products_on_numpys_blas(blas_mode, monkeypatch):
    blas_mode("numpy")
    monkeypatch.setattr(blas, "_call", lambda *args: pytest.fail("MKL was called"))
    a = np.random.default_rng(4).random((200, 300))
    np.testing.assert_array_equal(blas.product(a, a.T), np.matmul(a, a.T))
    np.testing.assert_array_equal(blas.gemm(1.0, a, a.T, 1.0, np.ones(200), "float64"), np.matmul(a, a.T) + 1)


def test_config_blas_mkl_without_mkl_says_how_to_install_it(blas_mode, monkeypatch):
    monkeypatch.setattr(blas, "_gemm", {})  # as on a machine without the mkl package
    blas_mode("mkl")
    a = np.ones((200, 300))
    with pytest.raises(RuntimeError, match=r"symgraph\[mkl\]"):
        blas.product(a, a.T)
    with pytest.raises(ValueError, match="config.blas"):
        sg.config.blas = "openblas"


@pytest.mark.parametrize("mode", ["auto", "numpy"])
def test_numba_products_and_convolutions_match_the_numpy_backend(blas_mode, mode, monkeypatch):
    """A layer's forward and gradient with products above MKL's threshold, through the numba
    backend (MKL where installed, or forced onto np.dot) and the numpy backend."""
    blas_mode(mode)
    shapes = []
    real = blas._call
    monkeypatch.setattr(blas, "_call", lambda *args: (shapes.append(args[2].shape), real(*args))[1])
    # The convolution on its batched path, whose products are blas.py's (image by image, as it
    # goes where BLAS's threads are idle, it multiplies through numba: test_numba_conv.py).
    monkeypatch.setattr(blas, "_threads_busy_until", float("inf"))
    rng = np.random.default_rng(5)
    x, y = sg.dmatrix("x"), sg.ivector("y")
    w = sg.shared(rng.standard_normal((300, 120)) * 0.1, "w")
    b = sg.shared(np.zeros(120), "b")
    images = sg.dtensor4("images")
    filters = sg.shared(rng.standard_normal((16, 3, 3, 3)) * 0.1, "filters")
    features = sg.nn.relu(sg.nn.conv2d(images, filters, padding="same"))
    cost = (sg.nn.categorical_crossentropy(sg.nn.softmax(sg.dot(x, w) + b), y).mean()
            + (features ** 2).mean())
    grads = sg.grad(cost, [w, b, filters])
    args = (rng.standard_normal((200, 300)), rng.integers(0, 120, 200).astype(np.int32),
            rng.standard_normal((8, 3, 16, 16)))
    inputs = [x, y, images]
    fast = sg.function(inputs, [cost] + grads, backend="numba")(*args)
    reference = sg.function(inputs, [cost] + grads, backend="numpy")(*args)
    for got, want in zip(fast, reference):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    # MKL took the dense layer's three products and the convolution's (forward, and the
    # gradient's im2col product) exactly when it is there and asked for.
    if mode == "auto" and HAVE_MKL:
        assert {(200, 300), (16, 27)} <= set(shapes) and len(shapes) >= 4, shapes
    else:
        assert shapes == []


@pytest.mark.parametrize("stride,padding,dilation,groups", [(1, "same", 1, 2), (2, 1, 1, 1), (1, 2, 2, 1),
                                                            (2, "valid", 1, 4)])
@pytest.mark.exhaustive
def test_convolutions_with_products_above_the_threshold_match_the_numpy_backend(
        stride, padding, dilation, groups, monkeypatch, mkl_on):
    """Strided, dilated, padded and grouped convolutions, forward and both gradients, large
    enough that their im2col products go to MKL where it is installed."""
    shapes = []
    real = blas._call
    monkeypatch.setattr(blas, "_call", lambda *args: (shapes.append(args[2].shape), real(*args))[1])
    monkeypatch.setattr(blas, "_threads_busy_until", float("inf"))  # the batched path (see above)
    rng = np.random.default_rng(6)
    images = sg.dtensor4("images")
    filters = sg.shared(rng.standard_normal((32, 16 // groups, 3, 3)) * 0.1, "filters")
    out = sg.nn.conv2d(images, filters, stride=stride, padding=padding, dilation=dilation, groups=groups)
    cost = (out ** 2).sum()
    outputs = [out] + sg.grad(cost, [images, filters])
    x = rng.standard_normal((16, 16, 20, 20))
    fast = sg.function([images], outputs, backend="numba")(x)
    reference = sg.function([images], outputs, backend="numpy")(x)
    for got, want in zip(fast, reference):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    assert bool(shapes) == HAVE_MKL


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mode", ["numpy", "auto"])
def test_accumulate_adds_the_scaled_product_into_c_in_every_layout(dtype, mode, blas_mode, monkeypatch):
    """c += alpha * a @ b in c's buffer: one gemm call from MATMUL_MIN on for a c of
    ACCUMULATE_MIN elements (MKL's in "auto" where it is installed, else NumPy's OpenBLAS),
    NumPy's product and add otherwise."""
    blas_mode(mode)
    calls = []
    real = blas._call
    monkeypatch.setattr(blas, "_call", lambda *args: (calls.append(args[-1].shape), real(*args))[1])
    one_call = bool(blas._numpy_openblas() or blas.mkl_gemm())
    rng = np.random.default_rng(5)
    tol = dict(rtol=2e-5, atol=1e-4) if dtype == "float32" else dict(rtol=1e-12, atol=1e-11)
    for m, k, n in ((160, 40, 120), (96, 40, 80), (5, 3, 4)):
        if blas.mkl_gemm():  # MKL takes every product above its threshold (see blas.py)
            large = m * k * n > blas.MNK_THRESHOLD
        else:
            large = m * k * n >= blas.MATMUL_MIN and m * n >= blas.ACCUMULATE_MIN
        for name_a, a in _layouts(rng, m, k, dtype).items():
            for name_b, b in _layouts(rng, k, n, dtype).items():
                c = rng.standard_normal((m, n)).astype(dtype)
                beta = 0.9 if name_b == "C" else 1.0  # (momentum's velocity)
                want = np.asarray(beta, dtype) * c + np.asarray(-0.3, dtype) * np.dot(a, b)
                buffer = c
                calls.clear()
                assert blas.accumulate(-0.3, a, b, c, beta) is True
                assert c is buffer
                assert calls == ([(m, n)] if large and one_call else []), (m, name_a, name_b)
                np.testing.assert_allclose(c, want, **tol, err_msg=f"{name_a} x {name_b}")
                if not calls and beta == 1.0:  # NumPy's product, scaled and added: bit for bit
                    c = rng.standard_normal((m, n)).astype(dtype)
                    # (the product as accumulate takes it: NumPy 2.1's np.matmul and np.dot differ
                    # in the last bits for some of these layouts)
                    product = blas.numpy_product(a, b)
                    product *= np.asarray(-0.3, dtype)
                    want = c + product
                    assert blas.accumulate(-0.3, a, b, c) is True
                    np.testing.assert_array_equal(c, want)


def test_accumulate_refuses_what_it_cannot_write_and_changes_nothing():
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal((70, 60)), rng.standard_normal((60, 50))
    c = rng.standard_normal((70, 50))
    read_only = c.copy()
    read_only.flags.writeable = False
    strided = np.zeros((70, 100))[:, ::2]
    for target in (read_only, strided, c.astype(np.float32), c[:, :49], np.asfortranarray(c)):
        before = target.copy()
        assert blas.accumulate(1.0, a, b, target) is False
        np.testing.assert_array_equal(target, before)
    # c read by the product: refused where one gemm call would write c while reading it...
    square = rng.standard_normal((130, 130))
    before = square.copy()
    assert blas.accumulate(1.0, square.T, rng.standard_normal((130, 130)), square) is False
    np.testing.assert_array_equal(square, before)
    # ...and right where NumPy's product is made first (c below ACCUMULATE_MIN elements)
    small = rng.standard_normal((70, 70))
    want = small + small.T @ small
    assert blas.accumulate(1.0, small.T, small, small) is True
    np.testing.assert_allclose(small, want, rtol=1e-12)
    assert blas.accumulate(1.0, a, b.astype(np.float32), c) is False
    nan = np.full((70, 50), np.nan)
    assert blas.accumulate(1.0, a, b, nan, 0.0) is False  # beta = 0: BLAS would drop the NaN


@needs_mkl
def test_accumulate_goes_through_mkl_when_asked_for(monkeypatch, mkl_on):
    calls = []
    real = blas._call
    monkeypatch.setattr(blas, "_call", lambda *args: (calls.append(args[0]), real(*args))[1])
    rng = np.random.default_rng(8)
    a, b, c = (rng.random((128, 256), dtype=np.float32), rng.random((256, 64), dtype=np.float32),
               rng.random((128, 64), dtype=np.float32))
    want = c + a @ b
    assert blas.accumulate(1.0, a, b, c)
    np.testing.assert_allclose(c, want, rtol=1e-5)
    assert calls == [blas.mkl_gemm()[np.dtype(np.float32)]]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.exhaustive
def test_stacked_products_one_blas_call_or_split_over_numbas_threads(dtype, monkeypatch):
    """sg.matmul of a stack by a matrix is one product of the stack's rows; of two stacks of one
    batch, products of BATCH_PRODUCT_WORK or more split over numba's threads while they are free
    (numba_blas.blocks_of's batch_products); anything else np.matmul. All against NumPy, gradients too."""
    from symgraph.backends import numba_blas, numba_cpu
    monkeypatch.setattr(blas, "threads_idle", lambda: True)
    batched = []
    rows, inner, real = numba_blas.blocks_of()
    monkeypatch.setattr(numba_blas, "blocks_of", lambda: (
        rows, inner, lambda a, b, out: batched.append(a.shape) or real(a, b, out)))
    rng = np.random.default_rng(3)
    tol = 1e-4 if dtype == "float32" else 1e-12
    cases = [((6, 40, 50), (6, 50, 30), True), ((6, 40, 50), (50, 30), False), ((1, 40, 50), (6, 50, 30), False),
             ((6, 8, 8), (6, 8, 8), False), ((2, 3, 40, 50), (2, 3, 50, 30), False)]
    for sa, sb, split in cases:
        a, b = rng.normal(size=sa).astype(dtype), rng.normal(size=sb).astype(dtype)
        x, y = sg.tensor("x", dtype, ndim=len(sa)), sg.tensor("y", dtype, ndim=len(sb))
        out = sg.matmul(x, y)
        f = sg.function([x, y], [out] + sg.grad((out * out).sum(), [x, y]), backend="numba")
        want = sg.function([x, y], [out] + sg.grad((out * out).sum(), [x, y]), backend="numpy")(a, b)
        for g, w in zip(f(a, b), want):
            assert g.shape == w.shape and g.dtype == w.dtype
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol * 100)
        del batched[:]
        sg.function([x, y], out, backend="numba")(a, b)
        assert bool(batched) == split, (sa, sb)  # (the forward product's way)
        transposed = np.swapaxes(np.swapaxes(a, -1, -2).copy(), -1, -2)  # (the same values, another layout)
        np.testing.assert_allclose(f(transposed, b)[0], want[0], rtol=tol, atol=tol)
    assert 40 * 50 * 30 >= numba_cpu.BATCH_PRODUCT_WORK > 8 * 8 * 8
    mixed = sg.function([x, y], sg.matmul(x, sg.cast(y, "int32")), backend="numba")  # (an int stack: np.matmul)
    np.testing.assert_allclose(mixed(a, b), np.matmul(a, b.astype("int32")), rtol=tol)
