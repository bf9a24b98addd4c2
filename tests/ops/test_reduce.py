import warnings

import numpy as np
import pytest

import symgraph as sg
from tests.conftest import run

AXES = [None, 0, 1, -1, (0, 2), (0, 1, 2)]


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "prod", "all", "any", "var", "std"])
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_match_numpy(name, axis, keepdims, rng):
    xv = rng.uniform(0.5, 1.5, (2, 3, 4))
    x = sg.dtensor3("x")
    out = run([x], getattr(x, name)(axis=axis, keepdims=keepdims), xv)
    expected = getattr(np, name)(xv, axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    fn_out = run([x], getattr(sg, name)(x, axis=axis, keepdims=keepdims), xv)
    np.testing.assert_allclose(fn_out, expected, rtol=1e-12)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_arg_reductions(name, axis, rng):
    xv = rng.normal(size=(3, 5)).astype("float32")
    x = sg.fmatrix("x")
    out = run([x], getattr(x, name)(axis=axis), xv)
    np.testing.assert_array_equal(out, getattr(np, name)(xv, axis=axis))
    assert out.dtype == np.int64
    kept = run([x], getattr(x, name)(axis=axis, keepdims=True), xv)
    np.testing.assert_array_equal(kept, getattr(np, name)(xv, axis=axis, keepdims=True))
    v = sg.fvector("v")  # a vector's only axis is its last
    np.testing.assert_array_equal(run([v], getattr(v, name)(axis=0, keepdims=True), xv[0]),
                                  getattr(np, name)(xv[0], axis=0, keepdims=True))


def test_argmax_over_several_axes_searches_them_as_one(rng):
    xv = rng.normal(size=(2, 3, 4))
    x = sg.dtensor3("x")
    out = run([x], sg.argmax(x, axis=(1, 2)), xv)
    np.testing.assert_array_equal(out, xv.reshape(2, -1).argmax(axis=1))


def test_reduction_dtypes_follow_numpy():
    assert sg.ivector().sum().dtype == np.sum(np.ones(2, "int32")).dtype
    assert sg.fvector().mean().dtype == "float32"
    assert sg.ivector().mean().dtype == "float64"
    assert sg.tensor(dtype="bool", shape=(None,)).sum().dtype == "int64"
    assert sg.fvector().sum(dtype="float64").dtype == "float64"


def test_static_shapes_of_reductions():
    x = sg.tensor("x", "float32", (2, None, 4))
    assert x.sum(axis=1).type.shape == (2, 4)
    assert x.max(axis=(0, 2), keepdims=True).type.shape == (1, None, 1)
    with pytest.raises(ValueError, match="out of range"):
        x.sum(axis=3)


def test_logsumexp_is_stable_and_correct(rng):
    xv = rng.normal(size=(3, 4)) * 300
    x = sg.dmatrix("x")
    out = run([x], sg.logsumexp(x, axis=1), xv)
    m = xv.max(axis=1, keepdims=True)
    np.testing.assert_allclose(out, (m + np.log(np.exp(xv - m).sum(axis=1, keepdims=True)))[:, 0])
    assert np.isfinite(out).all()
    assert run([x], sg.logsumexp(x), np.full((2, 2), -np.inf)) == -np.inf


def test_cumsum(rng):
    xv = rng.normal(size=(3, 4))
    x = sg.dmatrix("x")
    np.testing.assert_allclose(run([x], sg.cumsum(x, axis=1), xv), np.cumsum(xv, axis=1))
    np.testing.assert_allclose(run([x], x.cumsum(), xv), np.cumsum(xv))


def test_zero_size_sum_and_empty_max_error():
    x = sg.dmatrix("x")
    assert run([x], x.sum(axis=0), np.zeros((0, 3))).tolist() == [0, 0, 0]
    with pytest.raises(ValueError):
        run([x], x.max(axis=0), np.zeros((0, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the mean of nothing is NaN, without a warning
        assert np.isnan(run([x], x.mean(axis=0), np.zeros((0, 3)))).all()


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int32", "bool"])
@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "prod"])
@pytest.mark.parametrize("shape,axis", [((4, 5), (0,)), ((4, 5), (1,)), ((2, 3, 4), (0, 2)), ((0, 3), (1,)), ((3,), (0,))])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reference_reduction_equals_numpys_function_exactly(dtype, name, shape, axis, keepdims, rng):
    """Reduce.perform calls the ufunc's reduce directly (NumPy's np.sum/np.mean wrappers cost
    microseconds); the values and dtypes must stay those of the NumPy function."""
    from symgraph.ops.reduce import Reduce, _NUMPY
    xv = (rng.normal(size=shape) * 3).astype(dtype)
    x = sg.tensor("x", dtype=dtype, ndim=len(shape))
    op = Reduce(name, axis, keepdims)
    node = op.make_node(x)
    with np.errstate(all="ignore"):
        try:
            want = np.asarray(_NUMPY[name](xv, axis=axis, keepdims=keepdims), dtype=node.outputs[0].dtype)
        except ValueError as exc:  # max/min of an empty axis
            with pytest.raises(ValueError, match="identity"):
                op.perform(node, [xv])
            return
        (got,) = op.perform(node, [xv])
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
