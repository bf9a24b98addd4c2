"""Keras code that customizes: a Layer subclass written the Keras way (build with add_weight,
call(inputs) or call(inputs, training=None)), Keras's initializer names and fan reckoning,
weight and activity regularizers (in the loss fit minimizes and reports, and in a saved model),
and custom losses and metrics written with the Keras backend's functions."""
import numpy as np
import pytest

import symgraph as sg
from symgraph import backend as K

L = sg.layers


class Linear(L.Layer):
    """Keras's guide's custom layer, as written there (only the imports changed)."""

    def __init__(self, units, **kwargs):
        self.units = units
        super().__init__(**kwargs)

    def build(self, input_shape):
        self.w = self.add_weight(name="w", shape=(input_shape[-1], self.units), initializer="random_normal",
                                 trainable=True)
        self.b = self.add_weight(name="b", shape=(self.units,), initializer="zeros", trainable=True)
        super().build(input_shape)

    def call(self, inputs):
        return K.dot(inputs, self.w) + self.b


class NoisyScale(L.Layer):
    """A layer acting differently while training: call(inputs, training=None)."""

    def call(self, inputs, training=None):
        return inputs * 2.0 if training else inputs


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_keras_style_custom_layer_builds_trains_and_predicts(backend):
    L.set_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5)).astype("float32")
    y = x @ rng.normal(size=(5, 2)).astype("float32") + 0.5
    layer = Linear(2, input_shape=(5,))
    model = L.Sequential([layer])
    model.compile(optimizer=sg.optimizers.SGD(lr=0.1), loss="mse", backend=backend)
    assert [w.name for w in model.trainable_weights] == [f"{layer.name}/w", f"{layer.name}/b"]
    assert abs(layer.w.get_value().std() - 0.05) < 0.03  # random_normal: Keras's stddev 0.05
    np.testing.assert_allclose(model.predict(x), x @ layer.w.get_value() + layer.b.get_value(), rtol=1e-5)
    first = model.evaluate(x, y)
    model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert model.evaluate(x, y) < 0.01 * first


def test_call_with_training_sees_the_mode():
    x = L.Input((3,))
    model = L.Model(x, NoisyScale()(x))
    model.compile(optimizer="sgd", loss="mse")
    xv = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_array_equal(model.predict(xv), xv)
    assert model.test_on_batch(xv, xv) == 0.0
    symbolic = sg.matrix("x")
    training_output, _ = model.trace(symbolic, training_mode=True)
    np.testing.assert_array_equal(sg.function([symbolic], training_output)(xv), 2 * xv)


TRUNCATION = 0.87962566103423978  # a normal cut at two standard deviations keeps this much of its std


@pytest.mark.parametrize("name, std, bound, uniform", [  # a 200 x 300 kernel: fan in 200, out 300
    ("glorot_normal", np.sqrt(2 / 500), 2 * np.sqrt(2 / 500) / TRUNCATION, False),
    ("he_uniform", np.sqrt(2 / 200), np.sqrt(6 / 200), True),
    ("lecun_normal", np.sqrt(1 / 200), 2 * np.sqrt(1 / 200) / TRUNCATION, False),
    ("lecun_uniform", np.sqrt(1 / 200), np.sqrt(3 / 200), True),
    ("truncated_normal", 0.05 * TRUNCATION, 0.1, False),
])
def test_initializers_follow_kerass_variance_scaling(name, std, bound, uniform):
    L.set_seed(1)
    layer = L.Dense(300, kernel_initializer=name)
    layer(L.Input((200,)))
    value = layer.kernel.get_value().astype("float64")
    assert value.shape == (200, 300) and abs(value.mean()) < 0.02 * std
    assert value.std() == pytest.approx(std, rel=0.03)
    assert np.abs(value).max() <= bound * (1 + 1e-6)
    if uniform:
        assert np.abs(value).max() == pytest.approx(bound, rel=0.01)


def test_fans_of_a_convolution_kernel_are_channels_times_window():
    L.set_seed(2)
    conv = L.Conv2D(64, 5, kernel_initializer="he_uniform")
    conv(L.Input((32, 12, 12)))
    assert np.abs(conv.kernel.get_value()).max() == pytest.approx(np.sqrt(6 / (32 * 25)), rel=0.02)
    assert L.base.fans((64, 32, 5, 5)) == (32 * 25, 64 * 25) and L.base.fans((7, 3)) == (7, 3)


def test_add_weight_says_what_it_does_not_take():
    layer = L.Dense(2)
    with pytest.raises(ValueError, match="unknown initializer 'glorot'"):
        layer.add_weight("k", (2, 2), "glorot")
    with pytest.raises(ValueError, match="unknown constraint 'maxnorm'"):
        layer.add_weight("k", (2, 2), constraint="maxnorm")
    with pytest.raises(ValueError, match="unknown regularizer"):
        layer.add_weight("k", (2, 2), regularizer="l3")


def dense_with_penalties(backend="numpy"):
    L.set_seed(3)
    model = L.Sequential([L.Dense(4, activation="tanh", input_shape=(3,), kernel_regularizer=sg.regularizers.l2(0.1),
                                  bias_regularizer="l1", bias_initializer="ones"),
                          L.Dense(2, use_bias=False, kernel_regularizer=sg.regularizers.l1_l2(l1=0.02, l2=0.03),
                                  activity_regularizer=sg.regularizers.l1(0.5))])
    model.compile(optimizer=sg.optimizers.SGD(lr=0.05), loss="mse", backend=backend)
    return model


def numpy_loss_and_gradient(W1, b1, W2, x, y):
    """The penalized mse and its gradients, written out."""
    h = np.tanh(x @ W1 + b1)
    out = h @ W2
    n = len(x)
    loss = ((out - y) ** 2).mean() + 0.1 * (W1 ** 2).sum() + 0.01 * np.abs(b1).sum() \
        + 0.02 * np.abs(W2).sum() + 0.03 * (W2 ** 2).sum() + 0.5 * np.abs(out).sum() / n
    d_out = 2 * (out - y) / out.size + 0.5 * np.sign(out) / n
    gW2 = h.T @ d_out + 0.02 * np.sign(W2) + 0.06 * W2
    d_pre = (d_out @ W2.T) * (1 - h ** 2)
    return loss, x.T @ d_pre + 0.2 * W1, d_pre.sum(0) + 0.01 * np.sign(b1), gW2


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_regularizers_add_their_penalties_to_the_loss_and_its_gradient(backend):
    model = dense_with_penalties(backend)
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(8, 3)).astype("float32"), rng.normal(size=(8, 2)).astype("float32")
    W1, b1, W2 = (w.astype("float64") for w in model.get_weights())
    want, gW1, gb1, gW2 = numpy_loss_and_gradient(W1, b1, W2, x.astype("float64"), y.astype("float64"))
    assert len(model.losses) == 3  # the weights' penalties (the activity one depends on the batch)
    assert model.evaluate(x, y) == pytest.approx(want, rel=1e-5)
    assert model.train_on_batch(x, y) == pytest.approx(want, rel=1e-5)  # (the loss before the step)
    for got, before, g in zip(model.get_weights(), (W1, b1, W2), (gW1, gb1, gW2)):
        np.testing.assert_allclose(got, before - 0.05 * g, rtol=1e-4, atol=1e-6)


def test_regularizer_penalties_are_kerass():
    w = sg.dmatrix("w")
    value = np.array([[1.0, -2.0], [0.5, 0.0]])
    penalties = [sg.regularizers.l1(0.1), sg.regularizers.l2(), sg.regularizers.L1L2(l1=1, l2=2),
                 sg.regularizers.get("l1_l2"), sg.regularizers.L1L2()]
    got = [float(sg.function([w], p(w), on_unused_input="ignore")(value)) for p in penalties]  # (the last: 0)
    l1, l2 = np.abs(value).sum(), (value ** 2).sum()
    np.testing.assert_allclose(got, [0.1 * l1, 0.01 * l2, l1 + 2 * l2, 0.01 * (l1 + l2), 0.0])


def test_a_model_with_regularizers_saves_and_loads(tmp_path):
    model = dense_with_penalties()
    x = np.random.default_rng(5).normal(size=(4, 3)).astype("float32")
    y = np.zeros((4, 2), "float32")
    path = model.save(tmp_path / "penalized.sgm")
    again = L.load_model(path)
    assert again.layers[0].kernel_regularizer.l2 == pytest.approx(0.1)
    assert again.layers[1].activity_regularizer.l1 == pytest.approx(0.5)
    assert again.evaluate(x, y) == pytest.approx(model.evaluate(x, y), rel=1e-6)


def test_bidirectional_and_frozen_bases_keep_their_penalties():
    rnn = L.Bidirectional(L.SimpleRNN(3, kernel_regularizer="l2"), input_shape=(5, 2))
    model = L.Sequential([rnn, L.Dense(1)])
    assert len(model.losses) == 2  # the forward layer's kernel's and the backward copy's
    base = L.Sequential([L.Dense(4, input_shape=(3,), kernel_regularizer="l2")])
    base.trainable = False
    inputs = L.Input((3,))
    head = L.Model(inputs, L.Dense(1)(base(inputs)))
    assert len(head.losses) == 1


def test_custom_loss_and_metric_with_the_backends_functions():
    def mean_squared_log_error(y_true, y_pred):
        first = K.log(K.clip(y_pred, K.epsilon(), None) + 1.0)
        second = K.log(K.clip(y_true, K.epsilon(), None) + 1.0)
        return K.mean(K.square(first - second), axis=-1)

    def exact_match(y_true, y_pred):
        return K.cast(K.equal(K.argmax(y_true), K.argmax(y_pred)), K.floatx())

    L.set_seed(6)
    model = L.Sequential([L.Dense(3, activation="softplus", input_shape=(4,))])
    model.compile(optimizer="adam", loss=mean_squared_log_error, metrics=[exact_match])
    rng = np.random.default_rng(7)
    x, y = rng.random((10, 4)).astype("float32"), rng.random((10, 3)).astype("float32")
    pred = model.predict(x).astype("float64")
    want_loss = ((np.log1p(np.clip(pred, 1e-7, None)) - np.log1p(y)) ** 2).mean()
    want_match = (pred.argmax(1) == y.argmax(1)).mean()
    loss, match = model.evaluate(x, y)
    assert loss == pytest.approx(want_loss, rel=1e-5) and match == pytest.approx(want_match)
    assert model.fit(x, y, epochs=2, verbose=0).history.keys() >= {"loss", "exact_match"}
