"""Keras's activation, reshaping, noise and normalization layers beyond the core ones: each
against NumPy on both CPU backends, the trained ones' gradients against finite differences,
the noise layers' statistics while training, saving and loading, and a model of them that trains."""
import numpy as np
import pytest

import symgraph as sg
from symgraph.layers.base import TraceContext

L = sg.layers
X = np.random.default_rng(30).normal(size=(2, 3, 4, 5))


def softmax(v, axis):
    e = np.exp(v - v.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def layer_norm(v, axes, eps):
    mean = v.mean(axes, keepdims=True)
    return (v - mean) / np.sqrt(((v - mean) ** 2).mean(axes, keepdims=True) + eps)


CASES = [  # (layer, NumPy's output for X)
    (lambda: L.ReLU(), np.maximum(X, 0)),
    (lambda: L.ReLU(max_value=0.5, negative_slope=0.1, threshold=0.2),
     np.minimum(np.where(X > 0.2, X, 0.1 * (X - 0.2)), 0.5)),
    (lambda: L.LeakyReLU(0.2), np.where(X > 0, X, 0.2 * X)),
    (lambda: L.ELU(0.5), np.where(X > 0, X, 0.5 * np.expm1(X))),
    (lambda: L.PReLU(alpha_initializer="ones"), X),  # slopes of one: the identity
    (lambda: L.Softmax(), softmax(X, -1)),
    (lambda: L.Softmax(axis=1), softmax(X, 1)),
    (lambda: L.Permute((3, 1, 2)), X.transpose(0, 3, 1, 2)),
    (lambda: L.Lambda(lambda t, k: t[:, :, ::k] * 2, arguments={"k": 2}), X[:, :, ::2] * 2),
    (lambda: L.ActivityRegularization(l1=0.1), X),
    (lambda: L.SpatialDropout2D(0.5), X),  # inference: the identity
    (lambda: L.GaussianDropout(0.3), X),
    (lambda: L.Cropping2D(((1, 0), (1, 2))), X[:, :, 1:, 1:-2]),
    (lambda: L.Cropping2D(1), X[:, :, 1:-1, 1:-1]),
    (lambda: L.LayerNormalization(), layer_norm(X, -1, 1e-3)),
    (lambda: L.LayerNormalization(axis=(1, 2, 3), epsilon=1e-5), layer_norm(X, (1, 2, 3), 1e-5)),
]


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("make, want", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_layers_match_numpy_in_inference(make, want, backend):
    layer = make()
    inputs = L.Input((3, 4, 5), dtype="float64")
    model = L.Model(inputs, layer(inputs))
    model.compile(optimizer="sgd", loss="mse", backend=backend)
    got = model.predict(X)
    assert got.shape == want.shape and model.output_shape == (None,) + want.shape[1:]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_repeat_vector():
    model = L.Sequential([L.RepeatVector(3, input_shape=(4,))])
    x = np.arange(8, dtype="float32").reshape(2, 4)
    np.testing.assert_array_equal(model.predict(x), np.repeat(x[:, None], 3, axis=1))


def test_prelu_learns_a_slope_per_channel_and_its_gradient_is_right():
    layer = L.PReLU(shared_axes=[2, 3], dtype="float64")
    inputs = L.Input((3, 4, 5), dtype="float64")
    layer(inputs)
    assert layer.alpha.get_value().shape == (3,)
    layer.alpha.set_value(np.array([0.1, -0.2, 0.3]))
    x = sg.dtensor4("x")
    got = sg.function([x], layer.trace(x, TraceContext(False)))(X)
    np.testing.assert_allclose(got, np.where(X > 0, X, np.array([0.1, -0.2, 0.3])[:, None, None] * X), rtol=1e-12)

    def through_layer(v, alpha):
        layer.alpha = alpha
        return layer.call(v, TraceContext(False)).sum()
    sg.verify_grad(through_layer, [X + 0.05 * np.sign(X), np.array([0.1, -0.2, 0.3])], rng=np.random.default_rng(0))


def test_layer_normalization_gradient():
    layer = L.LayerNormalization(axis=(2, 3), dtype="float64")
    layer(L.Input((3, 4, 5), dtype="float64"))
    assert layer.gamma.get_value().shape == (4, 5)
    rng = np.random.default_rng(1)

    def through_layer(v, gamma, beta):
        layer.gamma, layer.beta = gamma, beta
        return (layer.call(v, TraceContext(False)) * np.arange(X.size).reshape(X.shape)).sum()
    sg.verify_grad(through_layer, [X, rng.normal(size=(4, 5)), rng.normal(size=(4, 5))], rng=rng)


def training_output(layer, x):
    symbolic = sg.dtensor4("x")
    return sg.function([symbolic], layer.trace(symbolic, TraceContext(True)))(x)


def test_spatial_dropout_drops_whole_channels_while_training():
    layer = L.SpatialDropout2D(0.4, seed=3, dtype="float64")
    x = np.ones((400, 8, 3, 3))
    out = training_output(layer, x)
    channels = out.reshape(400, 8, 9)
    assert np.all((channels == 0).all(-1) | (channels == 1 / 0.6).all(-1))  # each channel all dropped or all kept
    assert abs((channels[..., 0] == 0).mean() - 0.4) < 0.03


def test_gaussian_dropout_multiplies_by_noise_of_mean_one():
    out = training_output(L.GaussianDropout(0.2, seed=4, dtype="float64"), np.full((100, 4, 10, 10), 3.0))
    assert abs(out.mean() / 3 - 1) < 0.01 and abs(out.std() / 3 - np.sqrt(0.2 / 0.8)) < 0.01


def test_activity_regularization_adds_to_the_loss():
    inputs = L.Input((2,))
    model = L.Model(inputs, L.ActivityRegularization(l1=0.5, l2=0.25)(L.Dense(2, use_bias=False)(inputs)))
    model.compile(optimizer="sgd", loss="mse")
    x = np.array([[1.0, -2.0], [0.5, 1.0]], "float32")
    out = model.predict(x).astype("float64")
    penalty = (0.5 * np.abs(out).sum() + 0.25 * (out ** 2).sum()) / len(x)
    assert model.evaluate(x, out) == pytest.approx(penalty, rel=1e-5)


def test_the_layers_say_what_they_need():
    with pytest.raises(ValueError, match="dims must order the axes"):
        L.Permute((1, 3))
    with pytest.raises(ValueError, match="takes \\(batch, features\\)"):
        L.RepeatVector(2)(L.Input((3, 4)))
    with pytest.raises(ValueError, match="leaves nothing"):
        L.Cropping2D(((2, 2), (0, 0)))(L.Input((1, 4, 4)))
    with pytest.raises(ValueError, match="shared_axes"):
        L.PReLU(shared_axes=[4])(L.Input((3, 4)))
    with pytest.raises(ValueError, match="rate must be in"):
        L.GaussianDropout(1.0)


def test_models_of_the_new_layers_save_load_and_refuse_lambdas(tmp_path):
    L.set_seed(5)
    model = L.Sequential([L.Conv2D(4, 3, input_shape=(1, 8, 8)), L.PReLU(shared_axes=[2, 3]), L.SpatialDropout2D(0.1),
                          L.Cropping2D(1), L.LayerNormalization(axis=1), L.Permute((2, 3, 1)), L.Flatten(),
                          L.GaussianDropout(0.1), L.Dense(3), L.ReLU(max_value=6.0), L.ELU(), L.Softmax()])
    model.layers[1].alpha.set_value(np.full(4, 0.2, "float32"))
    x = np.random.default_rng(6).random((3, 1, 8, 8)).astype("float32")
    again = L.load_model(model.save(tmp_path / "m.sgm"))
    np.testing.assert_allclose(again.predict(x), model.predict(x), rtol=1e-6)
    with pytest.raises(ValueError, match="cannot save layer lambda"):
        L.Sequential([L.Lambda(lambda t: t * 2, input_shape=(3,))]).save(tmp_path / "l.sgm")


@pytest.mark.slow  # (a convnet trained end to end, ~20 s; the layer's values and gradients are tested above)
def test_a_convnet_of_the_new_layers_learns_the_digits():
    L.set_seed(7)
    (x_train, y_train), (x_test, y_test) = sg.datasets.load_digits()
    model = L.Sequential([L.Conv2D(8, 3, padding="same", input_shape=(1, 8, 8)), L.PReLU(shared_axes=[2, 3]),
                          L.SpatialDropout2D(0.1), L.MaxPool2D(2), L.LayerNormalization(axis=(1, 2, 3)),
                          L.Flatten(), L.GaussianDropout(0.1), L.Dense(10), L.Softmax()])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=8, batch_size=32, verbose=0)
    assert model.evaluate(x_test, y_test)[1] > 0.9
