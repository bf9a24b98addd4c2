"""Theano's spellings: T.nnet (conv2d flips its filters), T.signal.pool.pool_2d, T.sqr, T.abs_,
against references written here from Theano's definitions (scipy's true convolution, and
Theano's pooling loop), on both backends, and their gradients against finite differences."""
import warnings

import numpy as np
import pytest
from scipy.signal import convolve2d

import symgraph as sg
from tests.conftest import run


def theano_conv2d(x, w, mode, stride=(1, 1)):
    """Theano's conv2d without dilation: each channel's true convolution (scipy's), summed."""
    n, c = x.shape[:2]
    o = w.shape[0]
    rows = [[sum(convolve2d(x[b, ci], w[f, ci], mode=mode) for ci in range(c)) for f in range(o)]
            for b in range(n)]
    return np.asarray(rows)[:, :, ::stride[0], ::stride[1]]


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("border_mode, subsample", [("valid", (1, 1)), ("full", (1, 1)), ("valid", (2, 1)),
                                                    ("full", (2, 2))])
def test_nnet_conv2d_is_theanos_true_convolution(border_mode, subsample, backend, rng):
    xv, wv = rng.normal(size=(2, 3, 7, 6)), rng.normal(size=(4, 3, 3, 2))
    x, w = sg.dtensor4("x"), sg.shared(wv, "w")
    out = run([x], sg.nnet.conv2d(x, w, border_mode=border_mode, subsample=subsample), xv, backend=backend)
    np.testing.assert_allclose(out, theano_conv2d(xv, wv, border_mode, subsample), rtol=1e-10, atol=1e-10)


def test_nnet_conv2d_half_pads_theanos_way_and_keeps_correlation_on_request(rng):
    xv, wv = rng.normal(size=(1, 2, 6, 6)), rng.normal(size=(3, 2, 3, 4))
    x, w = sg.dtensor4("x"), sg.dtensor4("w", shape=(3, 2, 3, 4))
    half = run([x, w], sg.nnet.conv2d(x, w, border_mode="half"), xv, wv)
    # 'half' pads (k - 1 + 1) // 2 a side: 1 row, 2 columns (an even width: one more column out)
    full = theano_conv2d(xv, wv, "full")
    np.testing.assert_allclose(half, full[:, :, 1:-1, 1:-1], rtol=1e-10, atol=1e-10)
    unflipped = run([x, w], sg.nnet.conv2d(x, w, border_mode=(1, 0), filter_flip=False), xv, wv)
    np.testing.assert_allclose(unflipped, run([x, w], sg.nn.conv2d(x, w, padding=(1, 0)), xv, wv))


def test_nnet_conv2d_gradients(rng):
    xv, wv = rng.normal(size=(2, 2, 5, 5)), rng.normal(size=(3, 2, 2, 3))
    sg.verify_grad(lambda x, w: sg.nnet.conv2d(x, w, filter_shape=(3, 2, 2, 3), border_mode="full",
                                               subsample=(2, 1)), [xv, wv], rng=rng)


def test_nnet_conv2d_says_what_it_needs(rng):
    x, w = sg.dtensor4("x", shape=(None, 3, 8, 8)), sg.dtensor4("w")
    with pytest.raises(ValueError, match="border_mode='full' pads by the filters' size.*filter_shape"):
        sg.nnet.conv2d(x, w, border_mode="full")
    with pytest.raises(ValueError, match="input_shape .* says axis 1 has length 1"):
        sg.nnet.conv2d(x, w, input_shape=(None, 1, 8, 8))
    with pytest.raises(ValueError, match="border_mode must be"):
        sg.nnet.conv2d(x, w, border_mode="same")


def test_nnet_names_and_leaky_relu(rng):
    xv = rng.normal(size=(4, 5))
    x = sg.dmatrix("x")
    got = run([x], [sg.nnet.relu(x), sg.nnet.relu(x, 0.1), sg.nnet.softmax(x), sg.nnet.sigmoid(x),
                    sg.sqr(x), sg.abs_(x)], xv)
    e = np.exp(xv - xv.max(axis=1, keepdims=True))
    want = [np.maximum(xv, 0), np.where(xv > 0, xv, 0.1 * xv), e / e.sum(axis=1, keepdims=True),
            1 / (1 + np.exp(-xv)), xv ** 2, np.abs(xv)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)
    sg.verify_grad(lambda v: sg.nnet.relu(v, 0.25), [xv + np.sign(xv)], rng=rng)  # (away from the kink)
    a, b = sg.ivector("a"), sg.ivector("b")
    av, bv = np.array([1, 2, -3, 0], "int32"), np.array([3, 3, 3, -2], "int32")
    got = run([a, b], [sg.and_(a, b), sg.or_(a, b), sg.xor(a, b), sg.sgn(a)], av, bv, backend="numba")
    for g, w in zip(got, [av & bv, av | bv, av ^ bv, np.sign(av)]):
        np.testing.assert_array_equal(g, w)
    # Theano's T.add and T.mul take any number of terms (a sum of three tapped slices, a product of gates).
    c = sg.ivector("c")
    got = run([a, b, c], [sg.add(a, b, c), sg.mul(a, b, c, 2), sg.add(a, b)], av, bv, bv)
    for g, w in zip(got, [av + 2 * bv, av * bv * bv * 2, av + bv]):
        np.testing.assert_array_equal(g, w)


def theano_pool(x, ws, ignore_border, stride, pad, mode):
    """Theano's Pool.perform, loop for loop (theano/tensor/signal/pool.py)."""
    (h, w), (sh, sw), (ph, pw) = x.shape[2:], stride, pad
    rows, cols = h + 2 * ph, w + 2 * pw

    def out_len(length, k, s):
        if ignore_border:
            return (length - k) // s + 1
        return (length - 1) // s + 1 if s >= k else max(0, (length - 1 - k + s) // s) + 1
    oh, ow = out_len(rows, ws[0], sh), out_len(cols, ws[1], sw)
    padded = np.zeros(x.shape[:2] + (rows, cols))
    padded[:, :, ph:ph + h, pw:pw + w] = x
    out = np.zeros(x.shape[:2] + (oh, ow))
    for r in range(oh):
        r0, r1 = r * sh, min(r * sh + ws[0], rows)
        if mode in ("max", "average_exc_pad"):
            r0, r1 = max(r0, ph), min(r1, h + ph)
        for c in range(ow):
            c0, c1 = c * sw, min(c * sw + ws[1], cols)
            if mode in ("max", "average_exc_pad"):
                c0, c1 = max(c0, pw), min(c1, w + pw)
            window = padded[:, :, r0:r1, c0:c1]
            reduce = {"max": np.max, "sum": np.sum}.get(mode, np.mean)
            out[:, :, r, c] = reduce(window, axis=(2, 3))
    return out


POOLS = [  # ws, ignore_border, stride, pad
    ((2, 2), True, None, (0, 0)), ((2, 2), False, None, (0, 0)), ((3, 2), False, (2, 1), (0, 0)),
    ((3, 3), True, (2, 2), (1, 1)), ((2, 3), False, (1, 3), (0, 0)), ((3, 3), True, (1, 1), (1, 0)),
]


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("mode", ["max", "sum", "average_inc_pad", "average_exc_pad"])
@pytest.mark.parametrize("ws, ignore_border, stride, pad", POOLS)
@pytest.mark.parametrize("known", [True, False], ids=["static-shape", "unknown-shape"])
def test_pool_2d_matches_theanos_loop(ws, ignore_border, stride, pad, mode, backend, known, rng):
    """(Partial windows of unknown lengths are completed by a block joined on; of known ones,
    by the pooling's own padding.)"""
    xv = rng.normal(size=(2, 3, 7, 5))
    x = sg.dtensor4("x", shape=(None, 3, 7, 5) if known else None)
    out = run([x], sg.signal.pool.pool_2d(x, ws, ignore_border, stride, pad, mode), xv, backend=backend)
    np.testing.assert_allclose(out, theano_pool(xv, ws, ignore_border, stride or ws, pad, mode), rtol=1e-10)


@pytest.mark.parametrize("mode", ["max", "sum", "average_exc_pad"])
def test_pool_2d_gradients(mode, rng):
    xv = rng.permutation(2 * 2 * 5 * 5).reshape(2, 2, 5, 5) / 10.0  # (distinct values: one maximum a window)
    sg.verify_grad(lambda x: sg.signal.pool.pool_2d(x, (2, 2), ignore_border=False, mode=mode, stride=(2, 1)),
                   [xv], rng=rng)


def test_pool_2d_old_names_default_border_and_errors():
    x = sg.dtensor4("x", shape=(1, 1, 5, 5))
    with pytest.warns(UserWarning, match="ignore_border not given"):
        assert sg.signal.pool.pool_2d(x, ds=(2, 2), st=(2, 2)).type.shape == (1, 1, 3, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sg.signal.pool.pool_2d(x, (2, 2), ignore_border=True, padding=(1, 1)).type.shape == (1, 1, 3, 3)
    with pytest.raises(ValueError, match="padding works only with ignore_border=True"):
        sg.signal.pool.pool_2d(x, (2, 2), ignore_border=False, pad=(1, 1))
    with pytest.raises(ValueError, match="mode must be one of"):
        sg.signal.pool.pool_2d(x, (2, 2), ignore_border=True, mode="average")


def numpy_neibs(x, a, b, sa, sb, mode):
    """Theano's images2neibs, from its documentation: patches row by row, image by image,
    channel by channel."""
    pads = {"half": (a // 2, b // 2), "full": (a - 1, b - 1)}.get(mode, (0, 0))
    x = np.pad(x, ((0, 0), (0, 0), (pads[0],) * 2, (pads[1],) * 2))
    rows = []
    for image in x:
        for channel in image:
            for i in range(0, channel.shape[0] - a + 1, sa):
                for j in range(0, channel.shape[1] - b + 1, sb):
                    rows.append(channel[i:i + a, j:j + b].ravel())
    return np.array(rows)


@pytest.mark.parametrize("mode, shape, step", [("valid", (2, 3), None), ("valid", (2, 2), (1, 2)),
                                               ("ignore_borders", (3, 2), (2, 3)), ("half", (3, 3), (1, 1)),
                                               ("full", (2, 3), (2, 2))])
def test_images2neibs_and_neibs2images_are_theanos_and_adjoint(mode, shape, step, rng):
    """images2neibs against Theano's documented patches; neibs2images (its gradient, as
    Theano's) is its adjoint, and undoes it where the patches tile the images."""
    xv = rng.normal(size=(2, 3, 4, 6))
    x, y = sg.dtensor4("x"), sg.dmatrix("y")
    neibs = sg.nnet.neighbours.images2neibs(x, shape, step, mode=mode)
    got = run([x], neibs, xv)
    want = numpy_neibs(xv, *shape, *(step or shape), mode)
    np.testing.assert_array_equal(got, want)
    yv = rng.normal(size=want.shape)
    back = run([y, x], sg.nnet.neighbours.neibs2images(y, shape, x.shape, mode=mode, neib_step=step), yv, xv)
    assert back.shape == xv.shape
    np.testing.assert_allclose((want * yv).sum(), (xv * back).sum(), rtol=1e-12)
    if mode == "valid" and step is None:
        np.testing.assert_array_equal(run([y, x], sg.nnet.neighbours.neibs2images(y, shape, x.shape), want, xv), xv)
    sg.verify_grad(lambda v: (sg.nnet.images2neibs(v, shape, step, mode=mode) ** 2).sum(), [xv], rng=rng)


def test_images2neibs_refuses_patches_that_do_not_tile_in_valid_mode():
    with pytest.raises(ValueError, match="'valid' needs the patches to tile the image's columns exactly"):
        sg.nnet.images2neibs(sg.tensor("x", "float64", (1, 1, 4, 5)), (2, 2))
    with pytest.raises(ValueError, match="wrap_centered is not supported"):
        sg.nnet.images2neibs(sg.dtensor4("x"), (3, 3), mode="wrap_centered")


def test_theanos_broadcastable_patterns_give_static_shapes():
    """Theano's TensorType(dtype, broadcastable) and shared(..., broadcastable=...): True an
    axis of length 1 (it broadcasts), False any length. A pattern of bools read as lengths
    made an array of length 0."""
    five = sg.TensorType("float32", (False,) * 5)("x")
    assert five.ndim == 5 and five.type.shape == (None,) * 5
    assert sg.TensorType(dtype="float64", broadcastable=(True, False)).shape == (1, None)
    assert sg.TensorType("int64", (2, None, 0)).shape == (2, None, 0)  # (lengths as they are)
    bias = sg.shared(np.zeros((1, 3)), "b", broadcastable=(True, False))
    assert bias.broadcastable == (True, False) and bias.type.shape == (1, None)
    m = sg.dmatrix("m")
    np.testing.assert_array_equal(sg.function([m], m + bias)(np.ones((4, 3))), np.ones((4, 3)))
    bias.set_value(np.ones((1, 5)))  # (False: any length)
    with pytest.raises(ValueError, match=r"broadcastable \(True, False\) does not fit a value of shape \(2, 3\)"):
        sg.shared(np.zeros((2, 3)), broadcastable=(True, False))
