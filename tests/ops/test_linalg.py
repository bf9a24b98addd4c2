import numpy as np
import pytest

import symgraph as sg
from tests.conftest import run


@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 5)), ((3, 4), (4,)), ((4,), (4, 5)), ((4,), (4,)),
                                   ((2, 3, 4), (4, 5)), ((2, 3, 4), (4,)), ((3, 4), (2, 4, 5))])
def test_dot_matches_numpy(sa, sb, rng):
    av, bv = rng.normal(size=sa), rng.normal(size=sb)
    a, b = sg.tensor("a", "float64", (None,) * len(sa)), sg.tensor("b", "float64", (None,) * len(sb))
    np.testing.assert_allclose(run([a, b], sg.dot(a, b), av, bv), np.dot(av, bv), rtol=1e-12)


@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((2, 3, 4), (4, 5)),
                                   ((4,), (2, 4, 5)), ((2, 3, 4), (4,)), ((1, 3, 4), (2, 4, 2))])
def test_matmul_matches_numpy(sa, sb, rng):
    av, bv = rng.normal(size=sa), rng.normal(size=sb)
    a, b = sg.tensor("a", "float64", (None,) * len(sa)), sg.tensor("b", "float64", (None,) * len(sb))
    np.testing.assert_allclose(run([a, b], a @ b, av, bv), av @ bv, rtol=1e-12)
    np.testing.assert_allclose(run([a, b], sg.matmul(a, b), av, bv), np.matmul(av, bv), rtol=1e-12)


def test_tensordot_outer_batched_dot(rng):
    av, bv = rng.normal(size=(2, 3, 4)), rng.normal(size=(3, 4, 5))
    a, b = sg.dtensor3("a"), sg.dtensor3("b")
    np.testing.assert_allclose(run([a, b], sg.tensordot(a, b, 2), av, bv), np.tensordot(av, bv, 2))
    np.testing.assert_allclose(run([a, b], sg.tensordot(a, b, [[1], [0]]), av, bv),
                               np.tensordot(av, bv, [[1], [0]]))
    u, v = sg.dvector("u"), sg.dvector("v")
    np.testing.assert_allclose(run([u, v], sg.outer(u, v), av[0, 0], bv[0, 0]), np.outer(av[0, 0], bv[0, 0]))
    x, y = sg.dtensor3("x"), sg.dtensor3("y")
    xv, yv = rng.normal(size=(5, 2, 3)), rng.normal(size=(5, 3, 4))
    np.testing.assert_allclose(run([x, y], sg.batched_dot(x, y), xv, yv), np.einsum("bij,bjk->bik", xv, yv))
    p, q = sg.dmatrix("p"), sg.dmatrix("q")
    np.testing.assert_allclose(run([p, q], sg.batched_dot(p, q), xv[:, 0], xv[:, 1]),
                               (xv[:, 0] * xv[:, 1]).sum(1))


def test_dot_static_shape_and_mismatch():
    a = sg.tensor("a", "float32", (3, 4))
    b = sg.tensor("b", "float32", (4, 7))
    assert sg.dot(a, b).type.shape == (3, 7)
    assert a.dot(b).dtype == "float32"
    with pytest.raises(ValueError, match="inner dimensions differ"):
        sg.dot(a, sg.tensor("c", "float32", (5, 2)))


def test_dot_mixed_dtypes():
    assert sg.dot(sg.fmatrix(), sg.dmatrix()).dtype == "float64"
    assert sg.dot(sg.imatrix(), sg.imatrix()).dtype == "int32"
