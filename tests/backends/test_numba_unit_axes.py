"""Reductions, softmax and logsumexp of the Numba backend along axes whose length is 1 at run
time (a (batch, 1) regression output's mean over its last axis, a one-channel image's sum
over channels): each value is its own fold, so they run as one elementwise pass instead of a
fold of one value per row. NumPy's values, dtypes and signed zeros, NaN and infinities."""
import math

import numpy as np
import pytest

import symgraph as sg
from tests.conftest import executor_globals
from symgraph.backends import numba_cpu


@pytest.fixture(autouse=True)
def compiled_even_when_small(monkeypatch):
    """Small reductions run NumPy's (numba_cpu.SMALL_BY_NUMPY and its kin); these test the loops."""
    for name in ("SMALL_BY_NUMPY", "PARTIAL_REDUCE_BY_NUMPY", "MINMAX_BY_NUMPY_BYTES", "VECTOR_SUM_BY_NUMPY"):
        monkeypatch.setattr(numba_cpu, name, 0)


def thunks(f, kind):
    return [t for t in executor_globals(f).values() if isinstance(t, kind)]


def awkward(rng, shape, dtype):
    """Values of `shape` with NaN, both infinities and -0.0 among them (floats)."""
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if np.dtype(dtype).kind in "iu":
        return rng.integers(-100 if np.dtype(dtype).kind == "i" else 0, 100, shape).astype(dtype)
    v = (rng.normal(size=shape) * 3).astype(dtype)
    flat = v.reshape(-1)
    special = [np.nan, np.inf, -np.inf, -0.0] if flat.size > 1 else [-0.0]
    flat[:len(special)] = special
    return v


def assert_same(got, want, rtol=0):
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=rtol, atol=0)
    if want.dtype.kind == "f":  # (-0.0 where NumPy's has it; a NaN's sign means nothing)
        numbers = ~np.isnan(want)
        np.testing.assert_array_equal(np.signbit(got[numbers]), np.signbit(want[numbers]))


REDUCTIONS = {
    "sum": (lambda x, **k: x.sum(**k), np.sum), "prod": (lambda x, **k: x.prod(**k), np.prod),
    "mean": (lambda x, **k: x.mean(**k), np.mean), "max": (lambda x, **k: x.max(**k), np.max),
    "min": (lambda x, **k: x.min(**k), np.min), "any": (lambda x, **k: x.any(**k), np.any),
    "all": (lambda x, **k: x.all(**k), np.all),
}

# (shape, axis, keepdims): every reduced axis of length 1
UNIT = [((7, 1), 1, False), ((1, 5), 0, False), ((4, 1, 3, 1), (1, 3), False), ((4, 1, 3, 1), (1, 3), True),
        ((1,), 0, False), ((1, 1), (0, 1), True)]


@pytest.mark.parametrize("kind", list(REDUCTIONS))
@pytest.mark.parametrize("dtype", ["float32", "float64", "int8", "int32", "uint8", "bool"])
@pytest.mark.exhaustive
def test_reductions_along_axes_of_length_1_are_one_elementwise_pass(kind, dtype, rng):
    """NumPy's result (its dtype: an int8 sum is int64, an int mean float64; NaN, infinities and
    -0.0 kept) from the loop of the values converted, not from a fold (the kernels stay unused)."""
    if dtype == "bool" and kind in ("prod", "mean"):
        pytest.skip("symgraph takes no product or mean of truth values")
    ours, numpys = REDUCTIONS[kind]
    for shape, axis, keepdims in UNIT:
        x = sg.tensor("x", dtype, (None,) * len(shape))
        f = sg.function([x], ours(x, axis=axis, keepdims=keepdims), backend="numba")
        value = awkward(rng, shape, dtype)
        assert_same(f(value), numpys(value, axis=axis, keepdims=keepdims))
        (thunk,) = thunks(f, numba_cpu.ReduceThunk)
        if dtype == "bool" and kind in ("any", "all") and np.ndim(value) == len(np.atleast_1d(axis)):
            continue  # (a whole any/all of truth values: NumPy's, which stops at the first that decides)
        assert thunk.maps and not thunk.kernels, (kind, shape, axis)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.exhaustive
def test_a_fused_reduction_along_axes_of_length_1_reads_views_and_broadcast_inputs(dtype, rng):
    """A fused loop (exp, a product with a broadcast row) reduced along unit axes: transposed,
    sliced and broadcast inputs, a mean's float division by 1, any of a comparison."""
    x, y = sg.tensor("x", dtype, (None, None)), sg.tensor("y", dtype, (None,))
    cases = [
        (sg.exp(x).sum(axis=1), lambda a, b: np.exp(a).sum(axis=1)),
        ((x * y).max(axis=0, keepdims=True), lambda a, b: (a * b).max(axis=0, keepdims=True)),
        (((x - y) ** 2).mean(axis=-1), lambda a, b: ((a - b) ** 2).mean(axis=-1)),
        ((x > y).any(axis=1), lambda a, b: (a > b).any(axis=1)),
    ]
    base = awkward(rng, (9, 4), dtype)
    for expr, ref in cases:
        f = sg.function([x, y], expr, backend="numba", on_unused_input="ignore")
        axis_of_one = 1 if expr is not cases[1][0] else 0
        for a in (base[:, :1], base[:, 1:2], base.T[:1].T, np.ascontiguousarray(base[:, 3:])) if axis_of_one == 1 \
                else (base[:1], base[2:3], base.T[:, :1].T):
            b = awkward(rng, (a.shape[1],), dtype)
            with np.errstate(all="ignore"):
                want = ref(a, b)
            assert_same(f(a, b), want, rtol=1e-6 if dtype == "float32" else 1e-15)  # (exp: an ulp)
        (thunk,) = thunks(f, numba_cpu.ReduceThunk)
        assert thunk.maps and not thunk.kernels


def test_the_loop_along_axes_of_length_1_is_serial_where_the_graph_calls_blas(rng):
    """compile_graph makes a graph's loops serial where it calls BLAS (its threads spin
    after a product); the loop a reduction runs along axes of length 1 follows its node's."""
    a, b = sg.fmatrix("a"), sg.fmatrix("b")
    av, bv = rng.normal(size=(300, 200)).astype("float32"), rng.normal(size=(200, 1)).astype("float32")
    for expr, blas in [(sg.exp(sg.dot(a, b)).sum(axis=1), True), (sg.exp(a * 2).sum(axis=1), False)]:
        f = sg.function([a, b], expr, backend="numba", on_unused_input="ignore")
        value = av if blas else av[:, :1]
        want = np.exp(av @ bv).sum(axis=1) if blas else np.exp(value * 2).sum(axis=1)
        np.testing.assert_allclose(f(value, bv), want, rtol=1e-5)
        (thunk,) = thunks(f, numba_cpu.ReduceThunk)
        assert thunk.elementwise is not None
        assert (thunk.elementwise.threshold == float("inf")) == blas


def test_a_reduction_along_axes_of_length_1_of_a_transposed_array_is_c_ordered(rng):
    """The elementwise loop writes a transposed input's values in its memory order; the
    reduction's result is C-ordered as every reduction's (a copy where needed)."""
    x = sg.tensor("x", "float32", (None, None, None))
    for keepdims in (False, True):
        f = sg.function([x], sg.exp(x).sum(axis=0, keepdims=keepdims), backend="numba")
        for value in (np.asfortranarray(rng.normal(size=(1, 30, 20)).astype("float32")),
                      rng.normal(size=(20, 30, 1)).astype("float32").transpose(2, 1, 0)):
            got = f(value)
            assert got.flags.c_contiguous
            np.testing.assert_allclose(got, np.exp(value).sum(axis=0, keepdims=keepdims), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.exhaustive
def test_reduced_axes_of_length_1_beside_longer_ones_are_left_out_of_the_loops(dtype, rng):
    """Where a longer reduced axis is left, the axes of length 1 are left out of the kernel's
    loops (its extents): (A, B, 1) over (0, 2) folds A rows of B, not rows of one value."""
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-12)
    for shape, axis, extents in [((50, 40, 1), (0, 2), (50, 40)), ((1, 30, 1, 20), (1, 2), (30, 20)),
                                 ((8, 1, 5, 6), (0, 1), (8, 30)), ((30, 1, 20), (0, 1, 2), (600,))]:
        x = sg.tensor("x", dtype, (None,) * len(shape))
        for kind in ("sum", "mean", "max"):
            ours, numpys = REDUCTIONS[kind]
            for keepdims in (False, True):
                f = sg.function([x], ours(sg.exp(x), axis=axis, keepdims=keepdims), backend="numba")
                value = rng.normal(size=shape).astype(dtype)
                for v in (value, np.asfortranarray(value)):
                    got, want = f(v), numpys(np.exp(v), axis=axis, keepdims=keepdims)
                    assert got.shape == want.shape and got.dtype == want.dtype
                    np.testing.assert_allclose(got, want, **tol)
                (thunk,) = thunks(f, numba_cpu.ReduceThunk)
                assert not thunk.maps
                assert {math.prod(p.extents) for p in thunk.plans.values()} == {math.prod(shape)}
                assert all(1 not in p.extents for p in thunk.plans.values()), [p.extents for p in thunk.plans.values()]
                c_plan = thunk.plans[((value.shape, value.strides),)]
                assert c_plan.extents == extents


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.exhaustive
def test_kept_axes_of_length_1_are_left_out_of_the_loops(dtype, rng):
    """A (N, 1) column's sum or mean over axis 0 (a binary classifier's loss) is a full fold
    of N values, not N folds into out[0]: the kernel's extents hold no 1; a transposed view
    with unit axes, a column beside a broadcast single value, keepdims; NumPy's values."""
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-12)
    for shape, axis, extents in [((5000, 1), 0, (5000,)), ((1000, 1, 1), 0, (1000,)), ((1, 300, 1), (0, 1), (300,)),
                                 ((40, 1, 30), 0, (40, 30)), ((1, 30000), 1, (30000,))]:
        x, s = sg.tensor("x", dtype, (None,) * len(shape)), sg.tensor("s", dtype, ())
        for kind in ("sum", "mean", "max"):
            ours, numpys = REDUCTIONS[kind]
            for keepdims in (False, True):
                f = sg.function([x, s], ours(sg.exp(x) * s, axis=axis, keepdims=keepdims), backend="numba")
                value, single = rng.normal(size=shape).astype(dtype), np.asarray(1.5, dtype)
                got, want = f(value, single), numpys(np.exp(value) * single, axis=axis, keepdims=keepdims)
                assert got.shape == want.shape and got.dtype == want.dtype
                np.testing.assert_allclose(got, want, **tol)
                (thunk,) = thunks(f, numba_cpu.ReduceThunk)
                (plan,) = thunk.plans.values()
                assert plan.extents == extents, (shape, axis, plan.extents)
    t = sg.tensor("t", dtype, (None,) * 4)
    f = sg.function([t], (-t.T).sum(axis=0), backend="numba")
    value = rng.normal(size=(1, 1, 50, 40)).astype(dtype)
    np.testing.assert_allclose(f(value), (-value.T).sum(axis=0), **tol)
    (thunk,) = thunks(f, numba_cpu.ReduceThunk)
    assert [p.extents for p in thunk.plans.values()] == [(50, 40)]  # (x's rows, walked in memory order)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.exhaustive
def test_softmax_log_softmax_and_logsumexp_along_axes_of_length_1(dtype, rng):
    """Along an axis of length 1 softmax is 1, log_softmax 0 and logsumexp the value (NaN where
    the reference gives it, -0.0 made 0.0 as there), without the row loops; as the numpy
    backend's reference. Along longer axes the row loops still run."""
    x = sg.tensor("x", dtype, (None, None))
    t = sg.tensor("t", dtype, (None, None, None, None))
    cases = [([x], sg.nn.softmax(x), (9, 1)), ([x], sg.nn.log_softmax(x), (9, 1)),
             ([x], sg.logsumexp(x, axis=1), (9, 1)), ([x], sg.logsumexp(x, axis=1, keepdims=True), (9, 1)),
             ([x], sg.logsumexp(x), (1, 1)), ([t], sg.logsumexp(t, axis=(1, 3)), (4, 1, 3, 1)),
             ([t], sg.logsumexp(t, axis=(1, 3), keepdims=True), (4, 1, 3, 1))]
    for inputs, expr, shape in cases:
        value = awkward(rng, shape, dtype)
        with np.errstate(all="ignore"):
            want = sg.function(inputs, expr, backend="numpy")(value)
            f = sg.function(inputs, expr, backend="numba")
            got = f(value)
            assert_same(got, want)
            assert_same(f(np.asfortranarray(value)), want)  # (another layout, the same values)
        (row,) = thunks(f, numba_cpu.RowThunk)
        assert not row.kernels
        longer = awkward(rng, shape[:-1] + (5,), dtype) if len(shape) == 2 else None
        if longer is not None:
            with np.errstate(all="ignore"):
                np.testing.assert_allclose(f(longer), sg.function(inputs, expr, backend="numpy")(longer),
                                           rtol=1e-5 if dtype == "float32" else 1e-12)
            assert row.kernels or row.columns
