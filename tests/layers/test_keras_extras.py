"""More of Keras's layers against NumPy references on both CPU backends: DepthwiseConv2D and
SeparableConv2D, "same" average pooling over the pixels a window covers (1-d and 2-d), the 1-d
padding, cropping and upsampling layers, SpatialDropout1D, AlphaDropout, ThresholdedReLU, Dot and
K.batch_dot, InputLayer, clone_model and utils.normalize."""
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import symgraph as sg
from symgraph import backend as K

L = sg.layers
RNG = np.random.default_rng(21)
BACKENDS = ["numpy", "numba"]


def _correlate(images, kernel, stride=1, pad=((0, 0), (0, 0))):
    """Cross-correlation of (N, C, H, W) images with (O, C, kh, kw) kernels (Keras's convolution)."""
    padded = np.pad(images, ((0, 0), (0, 0)) + pad)
    windows = sliding_window_view(padded, kernel.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwij,ocij->nohw", windows, kernel)


def _run(layer_list, x, backend, input_shape=None):
    model = L.Sequential([L.InputLayer(input_shape=input_shape or x.shape[1:])] + layer_list)
    model.compile("sgd", "mse", backend=backend)
    return model.predict(x)


@pytest.mark.parametrize("backend", BACKENDS)
def test_depthwise_and_separable_convolutions_match_numpy(backend):
    x = RNG.normal(size=(2, 3, 7, 6)).astype("float32")
    L.set_seed(0)
    depthwise = L.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2, bias_initializer="ones")
    got = _run([depthwise], x, backend)
    kernel, bias = depthwise.get_weights()
    assert kernel.shape == (6, 1, 3, 3)
    # output channel c * 2 + m: input channel c by its m-th filter (Keras's order)
    want = np.concatenate([_correlate(x[:, c // 2:c // 2 + 1], kernel[c:c + 1], 2, ((1, 1), (0, 1)))  # (TF's "same")
                           for c in range(6)], axis=1) + bias[:, None, None]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    separable = L.SeparableConv2D(4, 3, depth_multiplier=2, activation="relu")
    got = _run([separable], x, backend)
    dw, pw, bias = separable.get_weights()
    assert dw.shape == (6, 1, 3, 3) and pw.shape == (4, 6, 1, 1) and separable.count_params() == 54 + 24 + 4
    middle = np.concatenate([_correlate(x[:, c // 2:c // 2 + 1], dw[c:c + 1]) for c in range(6)], axis=1)
    want = np.maximum(_correlate(middle, pw) + bias[:, None, None], 0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.slow  # (7-28 s cold; the quick tier ran 12 minutes cold: its parts stay tested there, CI runs both)
def test_separable_convolutions_train_and_are_saved(tmp_path):
    (x, y), _ = sg.datasets.load_digits()
    L.set_seed(1)
    model = L.Sequential([L.SeparableConv2D(8, 3, padding="same", activation="relu", input_shape=(1, 8, 8)),
                          L.DepthwiseConv2D(3, depth_multiplier=2, activation="relu"), L.GlobalAveragePooling2D(),
                          L.Dense(10, activation="softmax")])
    model.compile(sg.optimizers.Adam(0.02), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x[:600], y[:600], epochs=8, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > history.history["accuracy"][0] + 0.2
    model.save(tmp_path / "separable.json")
    loaded = L.load_model(tmp_path / "separable.json")
    np.testing.assert_allclose(loaded.predict(x[:5]), model.predict(x[:5]), rtol=1e-5)


def _same_average(x, k, s):
    """TensorFlow's "same" average pooling along the last axis: each window's mean over the
    positions it covers."""
    n = x.shape[-1]
    out_n = -(-n // s)
    total = max((out_n - 1) * s + k - n, 0)
    start = -(total // 2)
    return np.stack([x[..., max(start + i * s, 0):start + i * s + k].mean(-1) for i in range(out_n)], -1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_average_pooling_averages_what_each_window_covers(backend):
    images = RNG.normal(size=(2, 2, 5, 7)).astype("float32")
    got = _run([L.AveragePooling2D(3, strides=2, padding="same")], images, backend)
    want = _same_average(_same_average(images, 3, 2).swapaxes(2, 3), 3, 2).swapaxes(2, 3)
    # (atol: a float32 mean of values near 1 that cancel to near 0 differs by more than rtol in
    # the order the values are added; RNG's values depend on the tests run before in the worker)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    sequences = RNG.normal(size=(2, 7, 3)).astype("float32")  # (batch, steps, features)
    want = _same_average(sequences.swapaxes(1, 2), 2, 2).swapaxes(1, 2)
    np.testing.assert_allclose(_run([L.AveragePooling1D(2, padding="same")], sequences, backend), want, rtol=1e-5,
                               atol=1e-6)
    # (steps known only when it runs: the covered share is pooled then, not reckoned when built)
    unknown = _run([L.AveragePooling1D(2, padding="same")], sequences, backend, input_shape=(None, 3))
    np.testing.assert_allclose(unknown, want, rtol=1e-5, atol=1e-6)
    got = _run([L.MaxPooling1D(3, strides=2, padding="same")], sequences, backend)
    padded = np.pad(sequences, ((0, 0), (1, 1), (0, 0)), constant_values=-np.inf)
    np.testing.assert_allclose(got, sliding_window_view(padded, 3, axis=1)[:, ::2].max(-1), rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_dimensional_padding_cropping_and_upsampling(backend):
    x = RNG.normal(size=(2, 5, 3)).astype("float32")
    np.testing.assert_array_equal(_run([L.UpSampling1D(3)], x, backend), x.repeat(3, axis=1))
    np.testing.assert_array_equal(_run([L.ZeroPadding1D((1, 2))], x, backend), np.pad(x, ((0, 0), (1, 2), (0, 0))))
    np.testing.assert_array_equal(_run([L.Cropping1D((2, 1))], x, backend), x[:, 2:4])
    np.testing.assert_array_equal(_run([L.ZeroPadding1D(2), L.Cropping1D(2)], x, backend), x)
    with pytest.raises(ValueError, match="leaves no step"):
        _run([L.Cropping1D((3, 2))], x, backend)


def test_spatial_dropout_1d_drops_whole_features_and_alpha_dropout_keeps_the_moments():
    L.set_seed(3)
    x = np.ones((64, 10, 8), "float32")
    model = L.Sequential([L.SpatialDropout1D(0.5, input_shape=(10, 8))])
    model.compile("sgd", "mse")
    dropped = model.layers[0]
    out = sg.function([model.input], dropped.trace(model.input, L.base.TraceContext(True)))(x)
    assert set(np.unique(out)) == {0.0, 2.0}
    assert (out == out[:, :1]).all()  # (a feature dropped at one step is dropped at every step)
    assert 0.4 < (out == 0).mean() < 0.6
    np.testing.assert_array_equal(model.predict(x), x)
    z = RNG.normal(size=(200_000,)).astype("float64")
    alpha = L.AlphaDropout(0.2)
    v = sg.dvector("v")
    noisy = sg.function([v], alpha.trace(v, L.base.TraceContext(True)))(z)
    assert abs(noisy.mean()) < 0.01 and abs(noisy.std() - 1) < 0.01  # (selu's fixed point kept)
    alpha_p = L.AlphaDropout.ALPHA_P
    a = (0.8 * (1 + 0.2 * alpha_p ** 2)) ** -0.5
    dropped_to = a * alpha_p - a * alpha_p * 0.2  # (a * alpha_p + b)
    assert 0.19 < np.isclose(noisy, dropped_to).mean() < 0.21
    np.testing.assert_array_equal(sg.function([v], alpha.trace(v, L.base.TraceContext(False)))(z), z)


@pytest.mark.parametrize("backend", BACKENDS)
def test_thresholded_relu_and_dot(backend):
    x = RNG.normal(size=(4, 6)).astype("float32") * 2
    np.testing.assert_array_equal(_run([L.ThresholdedReLU(0.5)], x, backend), np.where(x > 0.5, x, 0))
    a, b = L.Input((6,)), L.Input((6,))
    model = L.Model([a, b], [L.Dot(axes=1)([a, b]), L.dot([a, b], axes=-1, normalize=True)])
    model.compile("sgd", ["mse", "mse"], backend=backend)
    y = RNG.normal(size=(4, 6)).astype("float32")
    plain, cosine = model.predict([x, y])
    np.testing.assert_allclose(plain, (x * y).sum(1, keepdims=True), rtol=1e-5, atol=1e-5)
    want = (x * y).sum(1) / np.linalg.norm(x, axis=1) / np.linalg.norm(y, axis=1)
    np.testing.assert_allclose(cosine[:, 0], want, rtol=1e-5)
    s, t = L.Input((3, 5)), L.Input((4, 5))
    pairs = L.Model([s, t], L.Dot(axes=(2, 2))([s, t]))
    pairs.compile("sgd", "mse", backend=backend)
    u, w = RNG.normal(size=(2, 3, 5)).astype("float32"), RNG.normal(size=(2, 4, 5)).astype("float32")
    # (float32 sums of five products near 4 can cancel to 0.003: an absolute bound too; which values
    # come here depends on the tests the worker ran before, all drawing from RNG)
    np.testing.assert_allclose(pairs.predict([u, w]), np.einsum("bik,bjk->bij", u, w), rtol=1e-5, atol=1e-5)


# (x's shape, y's shape, axes, the einsum that gives Keras's batch_dot)
BATCH_DOTS = [((2, 3, 4), (2, 4, 5), None, "bik,bkj->bij"), ((2, 3, 4), (2, 5, 4), (2, 2), "bik,bjk->bij"),
              ((2, 4, 3), (2, 4, 5), 1, "bki,bkj->bij"), ((2, 4, 3), (2, 5, 4), (1, 2), "bki,bjk->bij"),
              ((2, 3, 4), (2, 4), None, "bik,bk->bi"), ((2, 4), (2, 4, 5), (1, 1), "bk,bkj->bj"),
              ((2, 4), (2, 4), 1, "bk,bk->b")]


@pytest.mark.parametrize("xs, ys, axes, spec", BATCH_DOTS, ids=[b[3] for b in BATCH_DOTS])
def test_batch_dot_along_each_pair_of_axes(xs, ys, axes, spec):
    xv, yv = RNG.normal(size=xs), RNG.normal(size=ys)
    x, y = sg.tensor("x", "float64", (None,) * len(xs)), sg.tensor("y", "float64", (None,) * len(ys))
    got = sg.function([x, y], K.batch_dot(x, y, axes))(xv, yv)
    want = np.einsum(spec, xv, yv)
    np.testing.assert_allclose(got, want[:, None] if want.ndim == 1 else want, rtol=1e-12)


def test_input_layer_clone_model_and_normalize(tmp_path):
    L.set_seed(4)
    model = L.Sequential([L.InputLayer(input_shape=(5,)), L.Dense(3, activation="relu"), L.Dense(2)])
    assert model.input_shape == (None, 5) and len(model.weights) == 4
    clone = L.clone_model(model)
    assert [type(l).__name__ for l in clone.layers] == [type(l).__name__ for l in model.layers]
    assert clone.compiled is None
    assert not np.allclose(clone.layers[1].get_weights()[0], model.layers[1].get_weights()[0])  # fresh weights
    clone.set_weights(model.get_weights())
    x = RNG.normal(size=(4, 5)).astype("float32")
    np.testing.assert_allclose(clone.predict(x), model.predict(x), rtol=1e-6)
    v = RNG.normal(size=(3, 4))
    v[1] = 0
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    np.testing.assert_allclose(sg.utils.normalize(v), v / np.where(norms == 0, 1, norms))
    np.testing.assert_allclose(sg.utils.normalize(v, axis=0, order=1), v / np.abs(v).sum(0))
    with pytest.raises(ValueError, match="input_shape"):
        L.InputLayer()


def test_set_random_seed_makes_a_script_repeat():
    """keras.utils.set_random_seed: the same seed, the same initial weights and the same
    NumPy draws; another seed, others."""
    def run(seed):
        sg.utils.set_random_seed(seed)
        layer = sg.layers.Dense(3)
        sg.layers.Sequential([layer]).build((4,))
        return layer.get_weights()[0], np.random.rand(2)
    (w1, r1), (w2, r2), (w3, _) = run(7), run(7), run(8)
    np.testing.assert_array_equal(w1, w2)
    np.testing.assert_array_equal(r1, r2)
    assert not np.array_equal(w1, w3)
