"""Theano's special functions (gammaln, psi, tri_gamma, gamma, erfc, erfcx, erfinv, erfcinv,
i0, i1) and polygamma: SciPy's values on both CPU backends and in float32, float64 and from
integers; derivatives against finite differences, to the second for gammaln; poles and
domains give SciPy's inf and NaN; bad input refused."""
import numpy as np
import pytest
import scipy.special

import symgraph as sg
from symgraph.backends import numba_cpu

# Each function, SciPy's, and points inside its domain (away from poles, for the derivatives).
FUNCTIONS = [
    ("gammaln", sg.gammaln, scipy.special.gammaln, [-2.5, -0.3, 0.2, 1.0, 3.7, 30.0]),
    ("gamma", sg.gamma, scipy.special.gamma, [-1.5, 0.3, 1.0, 2.5, 5.2]),
    ("psi", sg.psi, scipy.special.digamma, [-2.5, 0.1, 1.0, 4.2, 50.0]),
    ("tri_gamma", sg.tri_gamma, lambda x: scipy.special.polygamma(1, x), [-0.5, 0.4, 2.0, 9.0]),
    ("polygamma3", lambda x: sg.polygamma(3, x), lambda x: scipy.special.polygamma(3, x), [0.7, 2.0, 6.0]),
    ("erfc", sg.erfc, scipy.special.erfc, [-3.0, -0.5, 0.0, 1.2, 8.0]),
    ("erfcx", sg.erfcx, scipy.special.erfcx, [-1.0, 0.0, 2.0, 30.0]),
    ("erfinv", sg.erfinv, scipy.special.erfinv, [-0.9, -0.2, 0.0, 0.5, 0.99]),
    ("erfcinv", sg.erfcinv, scipy.special.erfcinv, [0.05, 0.7, 1.0, 1.6]),
    ("i0", sg.i0, scipy.special.i0, [-3.0, -0.4, 0.0, 1.5, 10.0]),
    ("i1", sg.i1, scipy.special.i1, [-3.0, -0.4, 0.0, 1.5, 10.0]),
]
IDS = [name for name, *_ in FUNCTIONS]


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_values_match_scipy(dtype, backend):
    x = sg.tensor("x", dtype, (None, None))
    f = sg.function([x], [fn(x) for _, fn, _, _ in FUNCTIONS], backend=backend)
    points = np.array([p for *_, ps in FUNCTIONS for p in ps], dtype)
    grid = np.stack([points, points[::-1]])[:, ::2]  # (a strided 2-d view)
    for (name, _, ref, _), got in zip(FUNCTIONS, f(grid)):
        assert got.dtype == dtype and got.shape == grid.shape, name
        want = np.asarray(ref(grid), dtype)  # (SciPy's loop for the dtype: float32's denormals as its)
        np.testing.assert_allclose(got, want, rtol=1e-13 if dtype == "float64" else 1e-6, err_msg=name)
    if backend == "numba":
        assert all(isinstance(node.op, numba_cpu.NATIVE) for node in f.fgraph.apply_nodes)


def test_integers_give_float64_and_poles_and_domains_give_scipys_inf_and_nan():
    i = sg.ivector("i")
    got = sg.function([i], sg.gammaln(i))(np.array([1, 5, 10], "int32"))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, scipy.special.gammaln([1, 5, 10]), rtol=1e-15)
    x = sg.dvector("x")
    edge = np.array([0.0, -1.0, -2.0, 1.0, -1.0, 2.0, np.nan, np.inf])
    outs = sg.function([x], [sg.gammaln(x), sg.gamma(x), sg.psi(x), sg.erfinv(x), sg.erfcinv(x)],
                       backend="numba")(edge)
    for got, ref in zip(outs, [scipy.special.gammaln, scipy.special.gamma, scipy.special.digamma,
                               scipy.special.erfinv, scipy.special.erfcinv]):
        np.testing.assert_array_equal(got, ref(edge))


@pytest.mark.parametrize("name, fn, ref, points", FUNCTIONS, ids=IDS)
def test_derivatives_match_finite_differences(name, fn, ref, points):
    sg.verify_grad(fn, [np.array(points)], rng=np.random.default_rng(4))


def test_second_derivatives_and_a_poisson_likelihood():
    sg.verify_grad(lambda x: sg.grad(sg.gammaln(x).sum(), x), [np.array([0.4, 2.0, 7.5])])
    sg.verify_grad(lambda x: sg.grad(sg.i1(x).sum() + sg.erfinv(x / 4).sum(), x), [np.array([-1.0, 0.5, 2.0])])
    # Poisson regression's negative log-likelihood, log k! as gammaln(k + 1), fit by gradient descent
    rng = np.random.default_rng(5)
    xs = rng.normal(size=(200, 3))
    counts = rng.poisson(np.exp(xs @ np.array([0.5, -0.3, 0.2]) + 1.0)).astype("float64")
    w, b = sg.shared(np.zeros(3), "w"), sg.shared(0.0, "b")
    x, k = sg.dmatrix("x"), sg.dvector("k")
    rate = sg.dot(x, w) + b
    nll = (sg.exp(rate) - k * rate + sg.gammaln(k + 1)).mean()
    step = sg.function([x, k], nll, updates=[(p, p - 0.1 * g) for p, g in zip([w, b], sg.grad(nll, [w, b]))])
    first = step(xs, counts)
    want = np.mean(1 - 0 + scipy.special.gammaln(counts + 1))  # (the rate is 0 at the start: exp(0) = 1)
    np.testing.assert_allclose(first, want, rtol=1e-12)
    for _ in range(300):
        step(xs, counts)
    np.testing.assert_allclose(w.get_value(), [0.5, -0.3, 0.2], atol=0.15)


def test_bad_input_is_refused():
    with pytest.raises(TypeError, match="gammaln: takes numbers"):
        sg.gammaln(sg.tensor("b", "bool", (None,)))
    with pytest.raises(ValueError, match="non-negative integer"):
        sg.polygamma(-1, sg.dvector("x"))
    with pytest.raises(ValueError, match="non-negative integer"):
        sg.polygamma(1.5, sg.dvector("x"))
    assert sg.polygamma(0, sg.dvector("x")).owner.op == sg.psi(sg.dvector("y")).owner.op
