"""Expressions between a functional model's layers (Keras's TFOpLambda): inputs / 255.0,
concatenations, activations written as symgraph operations, replayed in every trace."""
import numpy as np
import pytest

import symgraph as sg

L = sg.layers


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_functional_model_with_expressions_between_its_layers(backend, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, size=(200, 4)).astype("float32")
    y = (x[:, 0] > x[:, 1]).astype("float32")
    L.set_seed(0)
    inputs = L.Input((4,))
    first = L.Dense(8, activation="relu")
    h = first(inputs / 255.0)
    joined = sg.concatenate([h, h * 2], axis=1) + 1
    last = L.Dense(1, activation="sigmoid")
    model = L.Model(inputs, last(sg.nn.relu(joined - 1)))
    assert [type(l).__name__ for l in model.layers] == ["Expression", "Dense", "Expression", "Dense"]
    w1, b1 = first.get_weights()
    w2, b2 = last.get_weights()
    hidden = np.maximum(x[:3] / 255.0 @ w1 + b1, 0)
    want = 1 / (1 + np.exp(-(np.concatenate([hidden, 2 * hidden], 1) @ w2 + b2)))
    model.compile(sg.optimizers.Adam(0.05), "binary_crossentropy", metrics=["accuracy"], backend=backend)
    np.testing.assert_allclose(model.predict(x[:3]), want, rtol=1e-5)
    history = model.fit(x, y, epochs=30, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    assert "expression" in model.summary(print_fn=None)
    path = str(tmp_path / "weights.npz")
    model.save_weights(path)
    with pytest.raises(NotImplementedError, match="expression between layers"):
        model.save(str(tmp_path / "whole"))
    before = model.predict(x[:5])
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    model.load_weights(path)
    np.testing.assert_allclose(model.predict(x[:5]), before, rtol=1e-6)


def test_an_expression_of_two_layer_outputs_and_an_outside_input_is_refused():
    a, b = L.Input((3,)), L.Input((3,))
    left, right = L.Dense(2)(a), L.Dense(2)(b)
    both = L.Model([a, b], L.Dense(1)(left * right))
    out = both.predict([np.ones((2, 3), "float32"), np.ones((2, 3), "float32")])
    assert out.shape == (2, 1)
    with pytest.raises(ValueError, match="not made by layers called on the given inputs"):
        L.Model(a, L.Dense(1)(left + right))  # (right is made from b, no input of this model)
