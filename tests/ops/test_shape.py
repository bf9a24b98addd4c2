import numpy as np
import pytest

import symgraph as sg
from tests.conftest import run


def test_shape_is_symbolic_and_indexable(rng):
    x = sg.matrix("x")
    xv = np.zeros((3, 5), "float32")
    np.testing.assert_array_equal(run([x], x.shape, xv), [3, 5])
    assert run([x], x.shape[1], xv) == 5
    assert x.shape.dtype == "int64"
    assert run([x], x.size, xv) == 15


def test_reshape_flatten_transpose(rng):
    xv = rng.normal(size=(2, 3, 4)).astype("float32")
    x = sg.tensor3("x")
    cases = [(x.reshape((6, 4)), xv.reshape(6, 4)), (x.reshape((-1,)), xv.reshape(-1)),
             (x.reshape(4, -1), xv.reshape(4, -1)), (sg.reshape(x, (x.shape[0], -1)), xv.reshape(2, -1)),
             (x.flatten(), xv.flatten()), (x.flatten(2), xv.reshape(2, -1)), (x.T, xv.T),
             (x.transpose(1, 0, 2), xv.transpose(1, 0, 2)), (sg.transpose(x, (2, 0, 1)), xv.transpose(2, 0, 1)),
             (x.dimshuffle(2, "x", 0, 1), xv.transpose(2, 0, 1)[:, None]),
             (sg.swapaxes(x, 0, 2), np.swapaxes(xv, 0, 2))]
    for expr, expected in cases:
        out = run([x], expr, xv)
        assert out.shape == expected.shape
        np.testing.assert_array_equal(out, expected)


def test_reshape_static_checks():
    x = sg.tensor("x", "float32", (2, 6))
    assert x.reshape((3, 4)).type.shape == (3, 4)
    assert x.reshape((-1, 4)).type.shape == (3, 4)
    with pytest.raises(ValueError, match="cannot reshape"):
        x.reshape((5, 3))


def test_expand_squeeze_pad(rng):
    xv = rng.normal(size=(3, 1, 2))
    x = sg.tensor("x", "float64", (None, 1, None))
    np.testing.assert_array_equal(run([x], sg.squeeze(x), xv), xv.squeeze(1))
    np.testing.assert_array_equal(run([x], sg.squeeze(x, 1), xv), xv.squeeze(1))
    np.testing.assert_array_equal(run([x], sg.expand_dims(x, 0), xv), xv[None])
    np.testing.assert_array_equal(run([x], sg.expand_dims(x, -1), xv), xv[..., None])
    np.testing.assert_array_equal(run([x], sg.shape_padleft(x, 2), xv), xv[None, None])
    np.testing.assert_array_equal(run([x], sg.shape_padright(x), xv), xv[..., None])


def test_dimshuffle_refuses_dropping_a_long_axis():
    x = sg.tensor("x", "float32", (3, 4))
    with pytest.raises(ValueError, match="cannot drop"):
        x.dimshuffle(1)


def test_concatenate_and_stack(rng):
    a, b = sg.dmatrix("a"), sg.dmatrix("b")
    av, bv = rng.normal(size=(2, 3)), rng.normal(size=(4, 3))
    np.testing.assert_array_equal(run([a, b], sg.concatenate([a, b]), av, bv), np.concatenate([av, bv]))
    np.testing.assert_array_equal(run([a, b], sg.concatenate([a, b.T.T], axis=-2), av, bv),
                                  np.concatenate([av, bv], axis=-2))
    np.testing.assert_array_equal(run([a], sg.stack([a, a * 2], axis=1), av), np.stack([av, av * 2], axis=1))
    s = sg.dscalar("s")
    np.testing.assert_array_equal(run([s], sg.stack([s, s + 1]), 2.0), [2.0, 3.0])
    with pytest.raises(ValueError, match="axis 1 lengths differ"):
        sg.concatenate([sg.tensor("p", "float32", (2, 3)), sg.tensor("q", "float32", (2, 4))])


def test_alloc_family(rng):
    x = sg.matrix("x")
    xv = np.ones((2, 3), "float32")
    z = sg.zeros((2, x.shape[1]))
    assert z.dtype == sg.config.floatX
    np.testing.assert_array_equal(run([x], z, xv, on_unused_input="ignore"), np.zeros((2, 3)))
    np.testing.assert_array_equal(run([x], sg.ones_like(x), xv), np.ones((2, 3)))
    np.testing.assert_array_equal(run([x], sg.zeros_like(x, dtype="int32"), xv), np.zeros((2, 3), "int32"))
    np.testing.assert_array_equal(run([x], sg.full_like(x, 7), xv), np.full((2, 3), 7, "float32"))
    assert sg.zeros((2, 3)).type.shape == (2, 3)
    assert sg.ones((4,), dtype="int8").eval().dtype == np.int8


def test_arange_eye_repeat_tile_broadcast(rng):
    n = sg.lscalar("n")
    np.testing.assert_array_equal(run([n], sg.arange(n), 4), np.arange(4))
    np.testing.assert_array_equal(sg.arange(1, 10, 3).eval(), np.arange(1, 10, 3))
    np.testing.assert_allclose(sg.arange(0.0, 1.0, 0.25).eval(), np.arange(0.0, 1.0, 0.25))
    assert sg.arange(5).type.shape == (5,)
    np.testing.assert_array_equal(run([n], sg.eye(n), 3), np.eye(3))
    np.testing.assert_array_equal(sg.eye(2, 3, 1).eval(), np.eye(2, 3, 1))
    x = sg.dmatrix("x")
    xv = rng.normal(size=(2, 3))
    np.testing.assert_array_equal(run([x], sg.repeat(x, 2, axis=1), xv), np.repeat(xv, 2, axis=1))
    np.testing.assert_array_equal(run([x], x.repeat(3), xv), np.repeat(xv, 3))
    np.testing.assert_array_equal(run([x], sg.repeat(x, np.array([1, 0, 2]), axis=1), xv),
                                  np.repeat(xv, [1, 0, 2], axis=1))
    np.testing.assert_array_equal(run([x], sg.tile(x, (2, 3)), xv), np.tile(xv, (2, 3)))
    np.testing.assert_array_equal(run([x], sg.tile(x, (2, 1, 2)), xv), np.tile(xv, (2, 1, 2)))
    v = sg.dvector("v")
    np.testing.assert_array_equal(run([v], sg.broadcast_to(v, (4, 3)), xv[0]), np.broadcast_to(xv[0], (4, 3)))


@pytest.mark.parametrize("shape,target", [((1,), (5,)), ((3, 1), (2, 3, 4)), ((), (2, 2)), ((0,), (3, 0)),
                                          ((2, 3), (2, 3)), ((1, 1), (4, 1)), ((2,), (3, 2))])
def test_broadcast_view_is_numpys_broadcast_to(shape, target):
    from symgraph.ops.shape import broadcast_view
    x = np.arange(int(np.prod(shape)), dtype="float32").reshape(shape)
    got, want = broadcast_view(x, target), np.broadcast_to(x, target)
    assert got.shape == want.shape and got.strides == want.strides and not got.flags.writeable
    np.testing.assert_array_equal(got, want)
    strided = np.arange(12.0).reshape(3, 4)[:, ::2]  # not C-ordered: NumPy's own path
    np.testing.assert_array_equal(broadcast_view(strided, (2, 3, 2)), np.broadcast_to(strided, (2, 3, 2)))
    with pytest.raises(ValueError):
        broadcast_view(np.ones(2), (3,))
