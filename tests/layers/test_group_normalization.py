"""GroupNormalization (NCHW channels or the last axis), UnitNormalization and Identity against
NumPy; group norm's extremes (one group: layer norm over the example; a group a channel:
instance norm), gradients by finite differences, a convnet trained with it and saved."""
import numpy as np
import pytest

import symgraph as sg
from symgraph.layers.base import TraceContext

L = sg.layers
RNG = np.random.default_rng(86)


def _run(layer, x):
    var = sg.tensor("x", "float64", (None,) + x.shape[1:])
    return sg.function([var], layer.trace(var, TraceContext(False)))(x)


def _group_norm(x, groups, gamma, beta, eps=1e-3):
    n, c = x.shape[:2]
    g = x.reshape(n, groups, -1)
    normalized = ((g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + eps)).reshape(x.shape)
    shape = (1, c) + (1,) * (x.ndim - 2)
    return normalized * gamma.reshape(shape) + beta.reshape(shape)


@pytest.mark.parametrize("groups", [1, 2, 6])
def test_group_normalization_matches_numpy(groups):
    x = RNG.normal(2, 3, size=(3, 6, 4, 5))
    layer = L.GroupNormalization(groups, dtype="float64")
    layer.ensure_built((None, 6, 4, 5))
    gamma, beta = RNG.normal(size=6), RNG.normal(size=6)
    layer.set_weights([gamma, beta])
    np.testing.assert_allclose(_run(layer, x), _group_norm(x, groups, gamma, beta), rtol=1e-12)
    sequences = RNG.normal(size=(2, 7, 6))  # (batch, steps, features): the channels last
    last = L.GroupNormalization(groups, axis=-1, center=False, scale=False, dtype="float64")
    want = _group_norm(sequences.transpose(0, 2, 1), groups, np.ones(6), np.zeros(6)).transpose(0, 2, 1)
    np.testing.assert_allclose(_run(last, sequences), want, rtol=1e-12)


def test_group_norms_extremes_gradients_and_refusals():
    x = RNG.normal(size=(2, 4, 3, 3))
    one = _run(L.GroupNormalization(1, dtype="float64"), x)
    flat = x.reshape(2, -1)
    np.testing.assert_allclose(one.reshape(2, -1), (flat - flat.mean(1, keepdims=True)) / np.sqrt(flat.var(1, keepdims=True) + 1e-3),
                               rtol=1e-12)
    instance = _run(L.GroupNormalization(4, dtype="float64"), x)
    np.testing.assert_allclose(instance.mean(axis=(2, 3)), 0, atol=1e-12)
    layer = L.GroupNormalization(2, dtype="float64")
    layer.ensure_built((None, 4, 3, 3))
    sg.verify_grad(lambda v: layer.trace(v, TraceContext(False)), [x], rng=np.random.default_rng(9))
    with pytest.raises(ValueError, match="6 channels do not split into 4 groups"):
        L.GroupNormalization(4)(L.Input((6, 3, 3)))


def test_unit_normalization_and_identity():
    x = RNG.normal(size=(4, 5))
    np.testing.assert_allclose(_run(L.UnitNormalization(dtype="float64"), x), x / np.linalg.norm(x, axis=1, keepdims=True),
                               rtol=1e-12)
    np.testing.assert_allclose(_run(L.UnitNormalization(axis=0, dtype="float64"), x),
                               x / np.linalg.norm(x, axis=0, keepdims=True), rtol=1e-12)
    np.testing.assert_array_equal(_run(L.Identity(), x), x)


@pytest.mark.slow  # (a convnet trained end to end, ~20 s; the layer's values and gradients are tested above)
def test_a_convnet_with_group_normalization_learns_and_is_saved(tmp_path):
    (x_train, y_train), (x_test, y_test) = sg.datasets.load_digits()
    model = L.Sequential([L.Conv2D(8, 3, padding="same", input_shape=(1, 8, 8)), L.GroupNormalization(4),
                          L.Activation("relu"), L.MaxPool2D(2), L.Flatten(), L.UnitNormalization(), L.Identity(),
                          L.Dense(10, activation="softmax")])
    model.compile(optimizer=sg.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=6, batch_size=64, verbose=0)
    assert model.evaluate(x_test, y_test, verbose=0)[1] > 0.9
    path = str(tmp_path / "group_norm")
    model.save(path)
    np.testing.assert_allclose(L.load_model(path).predict(x_test, verbose=0), model.predict(x_test, verbose=0), rtol=1e-5,
                               atol=1e-7)
