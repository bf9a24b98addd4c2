"""sort and argsort against NumPy on both CPU backends (the numba one runs NumPy's stable sort
natively), sort's gradient against finite differences, ties, and axis=None."""
import numpy as np
import pytest

import symgraph as sg
from symgraph.backends import numba_cpu

RNG = np.random.default_rng(90)
X = RNG.normal(size=(3, 5))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_sort_and_argsort_match_numpy(backend):
    x, i = sg.dmatrix("x"), sg.ivector("i")
    f = sg.function([x, i], [sg.sort(x), sg.sort(x, axis=0), sg.sort(x, axis=None), sg.argsort(x),
                             sg.argsort(x, axis=0), sg.argsort(i), sg.sort(x * 2 + 1)[:, -1]], backend=backend)
    ties = np.array([3, 1, 3, 1, 2], "int32")
    got = f(X, ties)
    want = [np.sort(X), np.sort(X, axis=0), np.sort(X, axis=None), np.argsort(X), np.argsort(X, axis=0),
            np.argsort(ties, kind="stable"), np.sort(X * 2 + 1)[:, -1]]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    assert got[3].dtype == np.int64
    if backend == "numba":
        assert all(isinstance(node.op, numba_cpu.NATIVE) for node in f.fgraph.apply_nodes)


@pytest.mark.parametrize("axis", [-1, 0, None])
def test_sort_gradient(axis):
    weights = np.arange(X.size, dtype=float).reshape(X.shape if axis is not None else (X.size,))
    sg.verify_grad(lambda v: (sg.sort(v, axis=axis) * weights).sum(), [X], rng=np.random.default_rng(1))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_the_largest_k_values_through_sort(backend):
    """A top-k mean: the gradient reaches exactly the k largest entries of each row."""
    x = sg.dmatrix("x")
    top = sg.sort(x)[:, -2:].mean()
    gradient = sg.function([x], sg.grad(top, x), backend=backend)(X)
    want = np.zeros_like(X)
    np.put_along_axis(want, np.argsort(X)[:, -2:], 1 / 6, axis=1)
    np.testing.assert_allclose(gradient, want)


def test_sort_says_what_it_needs():
    with pytest.raises(ValueError, match="at least one dimension"):
        sg.sort(sg.dscalar("s"))
    with pytest.raises(ValueError, match="out of range"):
        sg.argsort(sg.dvector("v"), axis=1)
