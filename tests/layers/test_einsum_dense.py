"""Keras's EinsumDense: kernel and bias shapes read off the equation as Keras reads them, the
output NumPy's einsum of the input and the kernel (plus the bias), and training through it."""
import numpy as np
import pytest

import symgraph as sg

L = sg.layers


@pytest.mark.parametrize("equation,input_shape,output_shape,bias_axes,kernel,bias,out", [
    ("ab,bc->ac", (5,), 4, "c", (5, 4), (4,), (None, 4)),  # (Dense)
    ("abc,cd->abd", (3, 5), (None, 6), "d", (5, 6), (6,), (None, 3, 6)),  # (Keras's docstring's sequence case)
    ("abc,cde->abde", (3, 5), (3, 2, 4), "de", (5, 2, 4), (2, 4), (None, 3, 2, 4)),  # (heads)
    ("abc,cde->abde", (3, 5), (3, 2, 4), "b", (5, 2, 4), (3, 1, 1), (None, 3, 2, 4)),
    ("...b,bc->...c", (3, 5), 7, None, (5, 7), None, (None, 3, 7)),
])
def test_shapes_and_values_are_kerass(equation, input_shape, output_shape, bias_axes, kernel, bias, out, rng):
    layer = L.EinsumDense(equation, output_shape, bias_axes=bias_axes, bias_initializer="uniform",
                          dtype="float64")
    inputs = L.Input(input_shape, dtype="float64")
    model = L.Model(inputs, layer(inputs))
    assert layer.kernel.get_value().shape == kernel
    assert (layer.bias.get_value().shape if layer.bias is not None else None) == bias
    assert model.output_shape == out
    x = rng.normal(size=(2,) + input_shape)
    expected = np.einsum(equation, x, layer.kernel.get_value())
    if layer.bias is not None:
        expected = expected + layer.bias.get_value()
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-12)


def test_what_does_not_fit_is_named():
    with pytest.raises(ValueError, match="bias_axes 'z' must be letters of the output 'ac'"):
        L.EinsumDense("ab,bc->ac", 4, bias_axes="z")(L.Input((5,)))
    with pytest.raises(ValueError, match="do not fit the equation's letters"):
        L.EinsumDense("abc,cd->abd", 4)(L.Input((5,)))


def test_a_model_trains_through_it(rng):
    x = rng.normal(size=(256, 3, 4)).astype("float32")
    y = x.sum(axis=2) @ np.array([1.0, -2.0, 0.5], np.float32)  # a sum over the features, weighted by step
    inputs = L.Input((3, 4))
    hidden = L.EinsumDense("abc,cd->abd", (3, 8), bias_axes="d", activation="tanh")(inputs)
    model = L.Model(inputs, L.Dense(1)(L.Flatten()(hidden)))
    model.compile(sg.optimizers.Adam(0.02), loss="mse")
    history = model.fit(x, y, epochs=40, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.05 * history.history["loss"][0]
