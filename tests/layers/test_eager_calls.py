"""Layers and models called on arrays, as Keras 3's eager calls: the values predict gives, in
inference mode unless training=True (augmentations augment unless training=False), state
updates in training mode, one compiled function per input types."""
import numpy as np
import pytest

import symgraph as sg

L = sg.layers


def test_models_called_on_arrays_give_predicts_values(rng):
    model = L.Sequential([L.Dense(5, activation="relu", input_shape=(4,)), L.Dropout(0.5), L.Dense(2)])
    x = rng.normal(size=(6, 4))  # (float64: cast to the layers' float32, as Keras's)
    np.testing.assert_allclose(model(x), model.predict(x, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(model(x[:2]), model.predict(x[:2], verbose=0), rtol=1e-6)
    assert len(model._eager_functions) == 1  # (one function for any batch size)
    dropped = model(x, training=True)  # (Monte Carlo dropout)
    assert not np.allclose(dropped, model(x))
    a, b = L.Input((3,)), L.Input((2,), dtype="int32")
    joined = L.Concatenate()([L.Dense(4)(a), L.Embedding(5, 4)(b)[:, 0]])
    two = L.Model([a, b], [L.Dense(1)(joined), joined])
    av, bv = rng.normal(size=(3, 3)).astype("float32"), np.array([[1, 2], [0, 4], [3, 3]], "int32")
    for got, want in zip(two([av, bv]), two.predict([av, bv], verbose=0)):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_layers_called_on_arrays_and_their_modes(rng):
    images = rng.uniform(size=(4, 1, 3, 5)).astype("float32")
    flip = L.RandomFlip("horizontal", seed=2)
    flipped = flip(images)  # (an augmentation called alone augments: Keras 3's default)
    assert any(np.array_equal(f, i[:, :, ::-1]) for f, i in zip(flipped, images))
    np.testing.assert_array_equal(flip(images, training=False), images)
    np.testing.assert_allclose(L.Rescaling(1 / 2)(images), images / 2, rtol=1e-7)
    norm = L.BatchNormalization(axis=1, momentum=0.5)
    before = norm(images)  # (inference: the moving statistics, no update)
    np.testing.assert_allclose(before, images / np.sqrt(1 + 1e-3), rtol=1e-5)
    np.testing.assert_array_equal(norm.moving_mean.get_value(), [0.0])
    norm(images, training=True)  # (training mode: the batch's statistics move the averages)
    np.testing.assert_allclose(norm.moving_mean.get_value(), [0.5 * images.mean()], rtol=1e-5)
    ids = np.array([[1, 0], [2, 3]], "int64")
    embedding = L.Embedding(4, 3)
    np.testing.assert_allclose(embedding(ids), embedding.embeddings.get_value()[ids])
    # An eager call leaves the layer's functional calls as they were: a model built after it.
    dense = L.Dense(2)
    dense(rng.normal(size=(1, 3)))
    x = L.Input((3,))
    model = L.Model(x, dense(x))
    assert model.layers[-1] is dense and dense.input is x
    with pytest.raises(TypeError, match="must be called on a symbolic variable"):
        dense("not an array")


def test_a_subclassed_model_called_on_arrays(rng):
    class Net(L.Model):
        def __init__(self):
            super().__init__()
            self.hidden, self.out = L.Dense(8, activation="tanh"), L.Dense(1)

        def call(self, inputs, training=None):
            return self.out(self.hidden(inputs) * 2)
    net = Net()
    x = rng.normal(size=(5, 3)).astype("float32")
    got = net(x)
    h = np.tanh(x @ net.hidden.kernel.get_value() + net.hidden.bias.get_value()) * 2
    np.testing.assert_allclose(got, h @ net.out.kernel.get_value() + net.out.bias.get_value(), rtol=1e-5)
