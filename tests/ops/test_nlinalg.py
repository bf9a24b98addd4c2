"""Theano's nlinalg / slinalg: matrix_inverse, det and solve against NumPy on both CPU
backends (the numba one runs NumPy's LAPACK calls natively), gradients against finite
differences, and what they refuse."""
import numpy as np
import pytest

import symgraph as sg
from symgraph.backends import numba_cpu

RNG = np.random.default_rng(80)
A = RNG.normal(size=(4, 4)) + 4 * np.eye(4)  # (well away from singular)
B = RNG.normal(size=(4, 2))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_values_match_numpy(backend):
    a, b, v = sg.dmatrix("a"), sg.dmatrix("b"), sg.dvector("v")
    f = sg.function([a, b, v], [sg.nlinalg.matrix_inverse(a), sg.nlinalg.det(a), sg.slinalg.solve(a, b),
                                sg.solve(a, v), sg.det(a.T) * sg.trace(sg.matrix_inverse(a))], backend=backend)
    got = f(A, B, B[:, 0])
    want = [np.linalg.inv(A), np.linalg.det(A), np.linalg.solve(A, B), np.linalg.solve(A, B[:, 0]),
            np.linalg.det(A) * np.trace(np.linalg.inv(A))]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10)
    if backend == "numba":
        assert all(isinstance(node.op, numba_cpu.NATIVE) for node in f.fgraph.apply_nodes)


@pytest.mark.parametrize("fn, inputs", [
    (sg.nlinalg.matrix_inverse, [A]), (sg.nlinalg.det, [A]), (sg.slinalg.solve, [A, B]),
    (sg.slinalg.solve, [A, B[:, 1]]), (lambda a: sg.det(sg.matrix_inverse(a) + a), [A]),
])
def test_gradients_match_finite_differences(fn, inputs):
    sg.verify_grad(fn, inputs, rng=np.random.default_rng(1))


def test_float32_stays_float32_and_bad_input_is_refused():
    a = sg.fmatrix("a")
    out = sg.function([a], sg.matrix_inverse(a))(A.astype("float32"))
    assert out.dtype == np.float32
    with pytest.raises(ValueError, match="square matrix"):
        sg.det(sg.tensor("r", "float64", (2, 3)))
    with pytest.raises(ValueError, match="float matrix"):
        sg.det(sg.ivector("i"))
    with pytest.raises(ValueError, match="vector or matrix b"):
        sg.solve(sg.dmatrix("m"), sg.fvector("f"))
    with pytest.raises(ValueError, match="first 2 axes hold 24 entries, the others 6"):
        sg.nlinalg.tensorinv(sg.tensor("t", "float64", (4, 6, 2, 3)))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_lstsq_tensorinv_and_tensorsolve_match_numpy(backend):
    a, b, v = sg.dmatrix("a"), sg.dmatrix("b"), sg.dvector("v")
    tall, rhs = RNG.normal(size=(6, 3)), RNG.normal(size=(6, 2))
    low_rank = np.outer(RNG.normal(size=6), RNG.normal(size=3))
    f = sg.function([a, b, v], sg.nlinalg.lstsq(a, b) + sg.nlinalg.lstsq(a, v, rcond=1e-10), backend=backend)
    for matrix in (tall, low_rank):  # (full rank: residuals; rank 1: none, and the least-norm x)
        got = f(matrix, rhs, rhs[:, 0])
        want = list(np.linalg.lstsq(matrix, rhs, rcond=None)) + list(np.linalg.lstsq(matrix, rhs[:, 0], rcond=1e-10))
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)
    t = sg.tensor("t", "float64", (4, 6, 8, 3))
    tv = RNG.normal(size=(4, 6, 8, 3))
    moved = sg.tensor("m", "float64", (3, 6, 4, 8))
    mv, bv = RNG.normal(size=(3, 6, 4, 8)), RNG.normal(size=(6, 4))
    g = sg.function([t, moved, b], [sg.nlinalg.tensorinv(t), sg.nlinalg.tensorsolve(moved, b, axes=(0, 3))],
                    backend=backend)
    inverse, solution = g(tv, mv, bv)
    np.testing.assert_allclose(inverse, np.linalg.tensorinv(tv), rtol=1e-9)
    np.testing.assert_allclose(solution, np.linalg.tensorsolve(mv, bv, axes=(0, 3)), rtol=1e-9)


def _lstsq_of_its_own_sine(m):
    return sg.nlinalg.lstsq(m, sg.sin(m))[0]


@pytest.mark.parametrize("fn, inputs", [
    (lambda a, b: sg.nlinalg.lstsq(a, b)[0], [RNG.normal(size=(6, 3)), RNG.normal(size=(6, 2))]),
    (lambda t: sg.nlinalg.tensorinv(t, ind=1), [RNG.normal(size=(6, 2, 3)) + np.eye(6).reshape(6, 2, 3) * 3]),
    (lambda a, b: sg.nlinalg.tensorsolve(a, b), [RNG.normal(size=(2, 3, 6)) + np.eye(6).reshape(2, 3, 6) * 3,
                                               RNG.normal(size=(2, 3))]),
    # (a right side computed from the matrix: lstsq's gradient counted that path twice)
    (lambda a: _lstsq_of_its_own_sine(a + 3 * sg.eye(3)), [RNG.normal(size=(3, 3))]),
], ids=["lstsq", "tensorinv", "tensorsolve", "lstsq of a matrix and its own sine"])
def test_least_squares_and_tensor_solves_differentiate(fn, inputs):
    sg.verify_grad(fn, inputs, rng=np.random.default_rng(2))
