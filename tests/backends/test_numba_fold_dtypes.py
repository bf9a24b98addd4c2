"""The dtype a reduction's kernel writes (ReducePlan.written): a fold along rows writes each
float32 result once, from its float64 accumulator, into the result's dtype directly (no cast
after, no copy); folds into their output element by element (columns) keep the accumulator's
dtype there, except the column sums that write through a scratch row and float32 column
products, which multiply in float32 as NumPy's. NumPy's values: a float32 product past
float32's range is inf, a mean is its float32 sum divided in float32."""
import numpy as np
import pytest

import symgraph as sg
from tests.conftest import executor_globals
from symgraph.backends import numba_cpu


def _plans(f):
    (thunk,) = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)]
    return list(thunk.plans.values())


@pytest.mark.parametrize("kind", ["sum", "mean", "prod"])
@pytest.mark.parametrize("shape", [(64, 300), (700, 300)], ids=["serial", "parallel"])
def test_a_float32_fold_along_rows_writes_float32(kind, shape, rng):
    x, v = sg.fmatrix("x"), sg.fvector("v")
    f = sg.function([x, v], getattr(x * v, kind)(axis=1), backend="numba")
    a = rng.normal(size=shape).astype("float32")
    b = (1 + rng.normal(size=shape[1]) * 0.01).astype("float32")
    if kind == "prod":
        a = (1 + a * 0.01).astype("float32")
        a[3, :2] = 1e30  # (its product past float32's range: inf, as NumPy's)
    with np.errstate(over="ignore"):
        got, want = f(a, b), getattr(a * b, kind)(axis=1)
    assert got.dtype == np.float32 and got.flags.c_contiguous
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-5)
    if kind == "prod":
        assert np.isinf(got[3]) and np.isinf(want[3])
    (plan,) = _plans(f)
    assert plan.written == np.float32


def test_a_float32_column_product_multiplies_in_float32(rng):
    """(x * x).prod(axis=0) of float32: folded into the output element by element, in float32
    there, NumPy's own products row by row (bit for bit), written as float32."""
    x = sg.fmatrix("x")
    f = sg.function([x], (x * x).prod(axis=0), backend="numba")
    a = (1 + rng.normal(size=(300, 200)) * 0.01).astype("float32")
    np.testing.assert_array_equal(f(a), (a * a).prod(axis=0))
    (plan,) = _plans(f)
    assert plan.written == np.float32 and not plan.scratch
