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
