"""Reductions of views that walk backwards (x[::-1], x[:, ::-1]): the Numba backend turns
round the axes every input spanning them walks backwards, reduced ones in the plan
(numba_cpu._turned: a fold does not depend on the order it meets the values) and
kept ones by turning the result back (ReduceThunk._turned_round), so the loops read C-ordered
layouts instead of arrays of any layout a value at a time. NumPy's values either way."""
import numpy as np
import pytest

import symgraph as sg
from tests.conftest import executor_globals
from tests.backends.fold_cases import FOLDS, every_fold, fold_values
from symgraph.backends import numba_cpu

# (the view, the axes reduced, the array's shape): reversed along reduced axes, kept axes, both,
# two of three
VIEWS = [(lambda x: x[::-1], 0, (300, 200)), (lambda x: x[:, ::-1], 1, (300, 200)), (lambda x: x[::-1], 1, (300, 200)),
         (lambda x: x[:, ::-1], 0, (300, 200)), (lambda x: x[::-1, ::-1], 1, (300, 200)),
         (lambda x: x[::-1, ::-1], None, (300, 200)), (lambda x: x[::-1, 2:, ::-1], (0, 2), (30, 40, 50)),
         (lambda x: x[:, ::-2], 1, (300, 200)), (lambda x: x[1:, ::-1], 0, (300, 200))]


def _thunk(f):
    (thunk,) = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)]
    return thunk


@every_fold
def test_a_fold_of_views_walking_backwards_is_numpys(kind, dtype, keepdims, rng):
    for view, axis, shape in VIEWS:
        x = sg.tensor("x", dtype, (None,) * len(shape))
        f = sg.function([x], getattr(view(x), kind)(axis=axis, keepdims=keepdims), backend="numba")
        a = fold_values(rng, dtype, kind, shape, specials=(5, 77))
        want = FOLDS[kind](view(a), axis=axis, keepdims=keepdims)
        for _ in range(2):  # (the plan or the turned-round call made, then reused)
            got = f(a)
            assert got.shape == want.shape and got.flags.c_contiguous
            tol = 1e-5 if dtype == "float32" else 1e-12
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_reduced_axis_walked_backwards_runs_the_kernel_of_its_turned_layout(dtype, rng):
    """x[:, ::-1].sum(axis=1) and x.sum(axis=1) run one kernel (the C-ordered layout's)."""
    x = sg.tensor("x", dtype, (None, None))
    # (a loop of its own: numba's dispatchers are shared by the functions compiling one loop)
    f = sg.function([x], sg.exp(x * 0.987).sum(axis=1), backend="numba")
    a = rng.normal(size=(200, 300)).astype(dtype)
    for arg in (a, a[:, ::-1]):
        np.testing.assert_allclose(f(arg), np.exp(arg * 0.987).sum(axis=1), rtol=1e-5, atol=1e-4)
    thunk = _thunk(f)
    assert len(thunk.kernels) == 1 and len(thunk.plans) == 2 and not thunk.maps
    assert _layouts(thunk) == {"C"}  # (read as it is, the view was typed "A")


def _layouts(thunk):
    """The layouts of the arrays the thunk's kernels were compiled for."""
    return {t.layout for plan in thunk.plans.values() for sig in plan.kernel.signatures for t in sig
            if hasattr(t, "layout")}


def test_a_kept_axis_walked_backwards_turns_the_result_back(rng):
    """x[::-1].sum(axis=1): the rows summed in memory order, the result turned back (C-ordered)."""
    x = sg.fmatrix("x")
    f = sg.function([x], (x * 1.0123).sum(axis=1), backend="numba")  # (a loop of its own, as above)
    a = rng.normal(size=(200, 300)).astype("float32")
    np.testing.assert_allclose(f(a), (a * np.float32(1.0123)).sum(axis=1), rtol=1e-5, atol=1e-4)
    for _ in range(2):
        got = f(a[::-1])
        assert got.flags.c_contiguous
        np.testing.assert_allclose(got, (a[::-1] * np.float32(1.0123)).sum(axis=1), rtol=1e-5, atol=1e-4)
    thunk = _thunk(f)
    assert len(thunk.kernels) == 1 and len(thunk.maps) == 1 and _layouts(thunk) == {"C"}


@pytest.mark.parametrize("axis", [0, 1])
def test_inputs_walking_different_ways_are_read_as_they_are(axis, rng):
    """(x[::-1] * y).sum(axis): turned round, y would walk backwards instead: not turned."""
    x, y = sg.fmatrix("x"), sg.fmatrix("y")
    f = sg.function([x, y], (x[::-1] * y).sum(axis=axis), backend="numba")
    a, b = rng.normal(size=(2, 120, 90)).astype("float32")
    np.testing.assert_allclose(f(a, b), (a[::-1] * b).sum(axis=axis), rtol=1e-5, atol=1e-5)
    assert numba_cpu._turned([a[::-1], b], a.shape, (0,)) == (None, ())
    assert not _thunk(f).maps
