"""Bad input at call time, on every backend: a clear exception or a correct result, never a
crash or garbage."""
import numpy as np
import pytest

import symgraph as sg

BACKENDS = ["numba", "numpy"]


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


def test_arity_dtype_ndim_and_static_shape(backend):
    x = sg.tensor("x", "float32", (None, 3))
    i = sg.ivector("i")
    f = sg.function([x, i], x.sum() + i.sum(), backend=backend)
    ok_x, ok_i = np.ones((2, 3), "float32"), np.ones(2, "int32")
    cases = [((ok_x,), TypeError, "takes 2 arguments"),
             ((ok_x, ok_i, ok_i), TypeError, "takes 2 arguments"),
             ((np.ones((2, 3)), ok_i), TypeError, "float64"),                 # unsafe downcast
             ((ok_x, np.ones(2, "float32")), TypeError, "'i'"),                 # float into int
             ((ok_x, np.ones(2, "int64")), TypeError, "int64"),
             ((np.ones(3, "float32"), ok_i), ValueError, "2 dimensions"),
             ((ok_x, np.ones((2, 1), "int32")), ValueError, "1 dimension"),      # right dtype, no static shape
             ((np.ones((2, 4), "float32"), ok_i), ValueError, "length 3"),
             ((ok_x, [1.5, 2.0]), TypeError, "integers"),
             (("hello", ok_i), TypeError, "'x'"),
             ((ok_x, [2 ** 40]), TypeError, "does not fit")]
    for args, exc, text in cases:
        with pytest.raises(exc, match=text):
            f(*args)
    assert f(ok_x, ok_i) == 8.0


def test_mismatched_dynamic_shapes_inside_kernels(backend):
    a, b = sg.matrix("a"), sg.matrix("b")
    f = sg.function([a, b], sg.tanh(a) * b + 1, backend=backend)
    with pytest.raises(ValueError) as err:
        f(np.ones((2, 3), "float32"), np.ones((3, 2), "float32"))
    assert "'a'" in str(err.value) and "(3, 2)" in str(err.value)
    g = sg.function([a, b], sg.dot(a, b), backend=backend)
    with pytest.raises(ValueError, match="Dot|Gemm|shapes"):
        g(np.ones((2, 3), "float32"), np.ones((4, 2), "float32"))


def test_strided_negative_stride_read_only_zero_size_and_scalars(backend):
    x = sg.matrix("x")
    s = sg.scalar("s")
    f = sg.function([x, s], [sg.exp(x) * s, (x * s).sum(axis=0)], backend=backend)
    base = np.arange(24, dtype="float32").reshape(4, 6) / 10
    ro = base.copy()
    ro.setflags(write=False)
    for value in (base[::2, ::3], base[::-1], base.T, ro, np.zeros((0, 6), "float32")):
        got = f(value, 2.0)
        np.testing.assert_allclose(got[0], np.exp(value) * 2, rtol=1e-6)
        np.testing.assert_allclose(got[1], (value * 2).sum(axis=0), rtol=1e-5)
    for scalar in (2, 2.0, np.float32(2), np.array(2.0, "float32")):
        np.testing.assert_allclose(f(base, scalar)[0], np.exp(base) * 2, rtol=1e-6)
    assert f(base, 2.0)[0].flags.writeable


def test_nan_and_inf_values_come_out_as_in_numpy(backend):
    x = sg.dvector("x")
    v = np.array([np.nan, np.inf, -np.inf, 0.0, 1.0])
    got = sg.function([x], [sg.log(x), x / 0, sg.maximum(x, 0), x.max(), sg.exp(x) - 1], backend=backend)(v)
    with np.errstate(all="ignore"):
        want = [np.log(v), v / 0, np.maximum(v, 0), v.max(), np.expm1(v)]
    for g, w in zip(got, want):
        # (NaN, inf and their signs exactly; finite values within an ulp: expm1(1.0) is glibc's
        # 1.718281828459045 where the correctly rounded ...0453 is ours and AVX-512 NumPy's)
        np.testing.assert_array_equal(np.isfinite(g), np.isfinite(w))
        np.testing.assert_allclose(g, w, rtol=4.5e-16, atol=0)


def test_a_convolution_window_larger_than_its_image(backend):
    """Caught when the graph is built where the sizes are static; else at the call, with the
    same message on every backend (the numba backend returned an empty image, NumPy's windows
    raised their own error)."""
    w = sg.shared(np.ones((4, 3, 5, 5), "float32"), "w")
    with pytest.raises(ValueError, match="convolution output would be empty"):
        sg.nn.conv2d(sg.tensor("x", "float32", (None, 3, 4, 4)), w)
    x = sg.ftensor4("x")
    out = sg.nn.conv2d(x, w)
    f = sg.function([x], [out] + sg.grad(out.sum(), [x, w]), backend=backend)
    with pytest.raises(ValueError, match=r"convolution output would be empty: input \(4, 4\), kernel \(5, 5\)"):
        f(np.ones((3, 3, 4, 4), "float32"))
    assert [a.shape for a in f(np.ones((3, 3, 5, 5), "float32"))] == [(3, 4, 1, 1), (3, 3, 5, 5), (4, 3, 5, 5)]
