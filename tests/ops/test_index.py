import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import symgraph as sg
from tests.conftest import run


def test_basic_indexing(rng):
    xv = rng.normal(size=(4, 5, 6))
    x = sg.dtensor3("x")
    i = sg.lscalar("i")
    for index in [(1,), (slice(1, None), slice(None, None, 2), 0), (-1, 2), (slice(None, None, -1),),
                  (Ellipsis, 1), (None, 0), (slice(1, 3), None, Ellipsis, slice(-2, None))]:
        np.testing.assert_array_equal(run([x], x[index], xv), xv[index])
    np.testing.assert_array_equal(run([x, i], x[i, i:], xv, 2), xv[2, 2:])
    assert x[1:, ::2, 0].ndim == 2


def test_static_shapes_of_slices():
    x = sg.tensor("x", "float32", (10, None))
    assert x[2:8:2].type.shape == (3, None)
    assert x[:, 0].type.shape == (10,)
    assert x[None].type.shape == (1, 10, None)


def test_integer_array_indexing(rng):
    logp = sg.dmatrix("logp")
    y = sg.ivector("y")
    lv, yv = rng.normal(size=(4, 3)), np.array([0, 2, 1, 2], "int32")
    picked = logp[sg.arange(y.shape[0]), y]
    np.testing.assert_array_equal(run([logp, y], picked, lv, yv), lv[np.arange(4), yv])
    np.testing.assert_array_equal(run([logp, y], logp[y], lv, np.array([3, 0], "int32")), lv[[3, 0]])
    np.testing.assert_array_equal(run([logp], logp[:, [2, 0]], lv), lv[:, [2, 0]])
    x3 = sg.dtensor3("x3")
    xv = rng.normal(size=(2, 3, 4))
    for index in [(0, slice(None), [1, 3]), (slice(None), [0, 2], [1, 3]), ([1, 0], slice(None), 2)]:
        expr = x3[index]
        out = run([x3], expr, xv)
        np.testing.assert_array_equal(out, xv[index])
        assert expr.ndim == out.ndim


def test_boolean_mask_indexing(rng):
    x = sg.dmatrix("x")
    xv = rng.normal(size=(3, 4))
    np.testing.assert_array_equal(run([x], x[x > 0], xv), xv[xv > 0])
    row_mask = sg.tensor("m", "bool", (None,))
    np.testing.assert_array_equal(run([x, row_mask], x[row_mask], xv, np.array([True, False, True])),
                                  xv[[True, False, True]])


def test_out_of_range_index_raises_index_error(rng):
    x = sg.dvector("x")
    i = sg.lscalar("i")
    f = sg.function([x, i], x[i], backend="numpy")
    with pytest.raises(IndexError):
        f(np.zeros(3), 5)


def test_set_and_inc_subtensor(rng):
    x = sg.dmatrix("x")
    xv = rng.normal(size=(3, 4))
    expected = xv.copy(); expected[1:, ::2] = 5
    np.testing.assert_array_equal(run([x], sg.set_subtensor(x[1:, ::2], 5), xv), expected)
    expected = xv.copy(); expected[0] += np.arange(4)
    np.testing.assert_array_equal(run([x], sg.inc_subtensor(x[0], sg.arange(4.0)), xv), expected)
    expected = xv.copy(); expected[xv > 0] = 0
    np.testing.assert_array_equal(run([x], sg.set_subtensor(x[x > 0], 0), xv), expected)
    # the input itself is untouched
    xv_copy = xv.copy()
    run([x], sg.set_subtensor(x[0], 1), xv)
    np.testing.assert_array_equal(xv, xv_copy)


def test_inc_subtensor_accumulates_repeated_indices():
    v = sg.dvector("v")
    idx = sg.lvector("idx")
    out = run([v, idx], sg.inc_subtensor(v[idx], 1.0), np.zeros(4), np.array([0, 2, 2, 2]))
    np.testing.assert_array_equal(out, [1, 0, 3, 0])


def test_set_subtensor_needs_an_indexed_variable():
    with pytest.raises(TypeError, match="indexed variable"):
        sg.set_subtensor(sg.vector("x"), 1)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6), start=st.integers(-7, 7), stop=st.integers(-7, 7),
       step=st.integers(-3, 3).filter(lambda s: s != 0))
def test_random_slices_match_numpy(n, start, stop, step):
    xv = np.arange(n, dtype="float64")
    x = sg.dvector("x")
    s, e, k = sg.lscalar("s"), sg.lscalar("e"), sg.lscalar("k")
    np.testing.assert_array_equal(run([x, s, e, k], x[s:e:k], xv, start, stop, step), xv[start:stop:step])
    assert x[start:stop:step].type.shape == (None,)
    xs = sg.tensor("xs", "float64", (n,))
    assert xs[start:stop:step].type.shape == xv[start:stop:step].shape
