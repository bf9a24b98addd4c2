"""Reductions over axes on both sides of a kept one (a channel's statistics of NCHW images,
over (0, 2, 3)), large and C-ordered, run as two folds in the Numba backend: the rows along
the trailing axes in memory order, then their partial results along the leading axes
(ReduceThunk._in_two_folds). NumPy's values, shapes and dtypes."""
import numpy as np
import pytest

import symgraph as sg
from tests.conftest import executor_globals
from tests.backends.fold_cases import FOLDS, every_fold, fold_values
from symgraph.backends import numba_cpu

SHAPE = (3, 7, 25000)  # (at least SPLIT_FOLDS_MIN values, rows of SPLIT_ROWS_MIN at least)
SPECIALS = np.ravel_multi_index(([1, 2, 0], [2, 4, 5], [7, SHAPE[2] - 1, 100]), SHAPE)  # (NaN, inf, -inf: 3 channels)


def _thunk(f):
    (thunk,) = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)]
    return thunk


def test_the_sizes_split():
    assert np.prod(SHAPE) >= numba_cpu.SPLIT_FOLDS_MIN and SHAPE[2] >= numba_cpu.SPLIT_ROWS_MIN


@every_fold
def test_a_fold_on_both_sides_of_a_kept_axis_is_numpys(kind, dtype, keepdims, rng):
    x = sg.tensor("x", dtype, (None, None, None))
    f = sg.function([x], getattr(x, kind)(axis=(0, 2), keepdims=keepdims), backend="numba")
    a = fold_values(rng, dtype, kind, SHAPE, SPECIALS, integers=1000)
    want = FOLDS[kind](a, axis=(0, 2), keepdims=keepdims)
    for _ in range(2):  # (the mapping made, then reused)
        got = f(a)
        assert got.shape == want.shape and got.dtype == want.dtype and got.flags.c_contiguous
        tol = 1e-5 if dtype == "float32" else 1e-12
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10)
    (mapping,) = _thunk(f).maps.values()
    assert mapping.__name__ == "in_two_folds"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_channel_variance_of_nchw_images_is_numpys(dtype, rng):
    """((x - mean) ** 2).mean over (0, 2, 3), the mean broadcast (1, C, 1, 1): one fused node
    whose rows (H*W) fold first."""
    x, m = sg.tensor("x", dtype, (None,) * 4), sg.tensor("m", dtype, (1, None, 1, 1))
    f = sg.function([x, m], ((x - m) ** 2).mean(axis=(0, 2, 3)), backend="numba")
    a = rng.normal(size=(16, 8, 64, 64)).astype(dtype)
    mean = a.mean(axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(f(a, mean), ((a - mean) ** 2).mean(axis=(0, 2, 3)), rtol=1e-5)
    (mapping,) = _thunk(f).maps.values()
    first, second = mapping.stages
    assert first.op.axis == (2, 3) and second.op.axis == (0,)


@pytest.mark.parametrize("keepdims", [False, True])
def test_leading_axes_of_length_1_are_folded_too(keepdims, rng):
    """(1, 3, 7, 25000) over (0, 1, 3): the leading axes 0 (of length 1) and 1 fold in the
    second fold, the result (7,) as NumPy's."""
    x = sg.ftensor4("x")
    f = sg.function([x], x.sum(axis=(0, 1, 3), keepdims=keepdims), backend="numba")
    a = rng.normal(size=(1, 3, 7, 25000)).astype("float32")
    got, want = f(a), a.sum(axis=(0, 1, 3), keepdims=keepdims)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)
    (mapping,) = _thunk(f).maps.values()
    assert mapping.stages[1].op.axis == (0, 1)


def test_smaller_or_other_layouts_fold_in_one_loop(rng):
    x = sg.ftensor3("x")
    f = sg.function([x], x.sum(axis=(0, 2)), backend="numba")
    small = rng.normal(size=(3, 7, 1000)).astype("float32")
    transposed = rng.normal(size=(25000, 7, 3)).astype("float32").T
    for a in (small, transposed):
        np.testing.assert_allclose(f(a), a.sum(axis=(0, 2)), rtol=1e-4)
    assert not _thunk(f).maps


def test_the_two_folds_stay_serial_where_the_node_does(rng):
    """In a graph calling BLAS the node's loops are serial (compile_graph): so are its folds."""
    x = sg.ftensor3("x")
    f = sg.function([x], x.sum(axis=(0, 2)), backend="numba")
    thunk = _thunk(f)
    thunk.threshold = 1 << 40
    a = rng.normal(size=SHAPE).astype("float32")
    np.testing.assert_allclose(f(a), a.sum(axis=(0, 2)), rtol=1e-4)
    (mapping,) = thunk.maps.values()
    assert all(stage.threshold >= 1 << 40 for stage in mapping.stages)
