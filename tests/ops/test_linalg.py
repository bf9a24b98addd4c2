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


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_diagonal_is_one_node_and_numpys_for_every_offset(dtype, backend, rng):
    """sg.diagonal / sg.diag of a matrix / sg.trace: one Diagonal node (it was a gather at
    computed indices, seven nodes), NumPy's values for offsets above, below and past the
    matrix, square and not, of a slice and of a transposed view; its static length where
    the matrix's are known; a writable array the caller owns."""
    m = sg.tensor("m", dtype, (None, None))
    values = [(rng.normal(size=(5, 5)) * 10).astype(dtype), (rng.normal(size=(3, 6)) * 10).astype(dtype),
              (rng.normal(size=(6, 3)) * 10).astype(dtype)]
    values.append(values[1].T)
    for offset in (-7, -2, -1, 0, 1, 3, 6):
        f = sg.function([m], [sg.diagonal(m, offset), sg.diag(m[1:, ::-1], offset), sg.trace(m, offset)],
                        backend=backend)
        assert sum(isinstance(n.op, sg.ops.linalg.Diagonal) for n in f.fgraph.apply_nodes) == 2
        for value in values:
            diagonal, of_view, trace = f(value)
            np.testing.assert_array_equal(diagonal, np.diagonal(value, offset))
            np.testing.assert_array_equal(of_view, np.diag(value[1:, ::-1], offset))
            assert trace.dtype == np.trace(value, offset).dtype  # (sums in another order: float32's last bit)
            np.testing.assert_allclose(trace, np.trace(value, offset), rtol=1e-6 if dtype == "float32" else 1e-14)
            diagonal[...] = 0  # (the caller's to keep and change)
            np.testing.assert_array_equal(np.diagonal(value, offset) * 0, diagonal)
        length = sg.function([m], sg.diagonal(m, offset).shape, backend=backend)  # (infer_shape: no diagonal made)
        assert not any(isinstance(n.op, sg.ops.linalg.Diagonal) for n in length.fgraph.apply_nodes)
        assert [tuple(length(v)) for v in values] == [np.diagonal(v, offset).shape for v in values]
    fixed = sg.tensor("s", dtype, (4, 6))
    assert [sg.diagonal(fixed, k).type.shape for k in (0, 2, -3, 6, -4)] == [(4,), (4,), (1,), (0,), (0,)]
    with pytest.raises(ValueError, match="diagonal takes a matrix"):
        sg.diagonal(sg.tensor("t", dtype, ndim=3))


def test_diagonal_gradient_matches_finite_differences(rng):
    for offset in (0, 2, -1):
        sg.verify_grad(lambda m: (sg.diagonal(m, offset) ** 2).sum() + sg.trace(m, offset) * 3,
                       [rng.normal(size=(4, 5))], rng=np.random.default_rng(1))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("sa,sb", [((2, 3, 0), (0, 4)), ((3, 0), (0, 4)), ((0, 3, 4), (4, 5)), ((2, 0, 4), (4, 5))])
def test_products_of_zero_length_axes_give_numpys_zeros(sa, sb, backend):
    """A stack times a matrix with no columns to sum over (the numba backend's one product of the
    stack's rows had reshaped it with -1, which NumPy cannot settle for an empty array)."""
    a, b = sg.tensor("a", "float32", (None,) * len(sa)), sg.tensor("b", "float32", (None,) * len(sb))
    av, bv = np.ones(sa, "float32"), np.ones(sb, "float32")
    got = run([a, b], sg.matmul(a, b), av, bv, backend=backend)
    np.testing.assert_array_equal(got, np.matmul(av, bv))
    assert got.shape == np.matmul(av, bv).shape
