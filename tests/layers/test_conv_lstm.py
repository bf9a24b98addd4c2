"""ConvLSTM2D against a NumPy loop written here from Keras's cell (the frames' and the states'
convolutions, gates i, f, c, o); return_sequences, return_state, go_backwards, initial states,
channels_first as channels_last transposed, gradients by finite differences, numba equal to numpy,
saving, and a small video task learned. (Keras's own outputs: tests/layers/test_keras_files.py.)"""
import numpy as np
import pytest

import symgraph as sg
from tests.layers.clips import learns_the_clips, moving_dot_clips

L = sg.layers


def conv_same_or_valid(x, w, padding):
    """x (N, H, W, C), w (kh, kw, C, O): stride 1 correlation, "same" padded as Keras pads."""
    kh, kw = w.shape[:2]
    if padding == "same":
        x = np.pad(x, ((0, 0), ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2), (0, 0)))
    oh, ow = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    out = np.zeros((x.shape[0], oh, ow, w.shape[3]))
    for i in range(oh):
        for j in range(ow):
            out[:, i, j] = np.einsum("nhwc,hwco->no", x[:, i:i + kh, j:j + kw], w)
    return out


def conv_lstm_reference(x, kernel, recurrent, bias, padding, go_backwards=False, h=None, c=None):
    """Keras's ConvLSTM2D (channels_last, sigmoid gates, tanh): every step's h, and the last c."""
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    f = recurrent.shape[2]
    steps = range(x.shape[1])[::-1] if go_backwards else range(x.shape[1])
    outs = []
    for t in steps:
        z = conv_same_or_valid(x[:, t], kernel, padding) + bias
        if h is None:
            h = np.zeros(z.shape[:3] + (f,))
            c = np.zeros_like(h)
        z = z + conv_same_or_valid(h, recurrent, "same")
        i, forget, o = sigmoid(z[..., :f]), sigmoid(z[..., f:2 * f]), sigmoid(z[..., 3 * f:])
        c = forget * c + i * np.tanh(z[..., 2 * f:3 * f])
        h = o * np.tanh(c)
        outs.append(h)
    return np.stack(outs, axis=1), c


def keras_weights(layer):
    """The layer's weights in Keras's layout (kh, kw, in, 4 filters)."""
    kernel, recurrent, bias = (w.get_value() for w in layer.weights)
    return kernel.transpose(2, 3, 1, 0), recurrent.transpose(2, 3, 1, 0), bias


def model_of(layer, shape):
    inputs = L.Input(shape, dtype="float64")
    return L.Model(inputs, layer(inputs))


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_conv_lstm2d_is_kerass_cell_step_by_step(padding, go_backwards, rng):
    x = rng.normal(size=(2, 4, 6, 5, 3))
    layer = L.ConvLSTM2D(2, 3, padding=padding, return_sequences=True, go_backwards=go_backwards,
                         data_format="channels_last", dtype="float64", bias_initializer="zeros")
    model = model_of(layer, x.shape[1:])
    for w in layer.weights:  # (away from the initial values, the forget gate's bias too)
        w.set_value(w.get_value() + rng.normal(size=w.get_value().shape) * 0.3)
    want, _ = conv_lstm_reference(x, *keras_weights(layer), padding, go_backwards)
    got = model.predict(x, verbose=0)
    assert got.shape == ((2, 4, 6, 5, 2) if padding == "same" else (2, 4, 4, 3, 2))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_states_initial_states_and_channels_first(rng):
    x = rng.normal(size=(2, 3, 5, 5, 2))
    layer = L.ConvLSTM2D(3, 3, padding="same", return_state=True, data_format="channels_last", dtype="float64")
    inputs, h0, c0 = L.Input((3, 5, 5, 2), dtype="float64"), L.Input((5, 5, 3), dtype="float64"), \
        L.Input((5, 5, 3), dtype="float64")
    model = L.Model([inputs, h0, c0], layer(inputs, initial_state=[h0, c0]))
    hv, cv = rng.normal(size=(2, 5, 5, 3)), rng.normal(size=(2, 5, 5, 3))
    out, h, c = model.predict([x, hv, cv], verbose=0)
    want, want_c = conv_lstm_reference(x, *keras_weights(layer), "same", h=hv, c=cv)
    np.testing.assert_allclose(out, want[:, -1], rtol=1e-10)
    np.testing.assert_allclose(h, out)
    np.testing.assert_allclose(c, want_c, rtol=1e-10)
    first = L.ConvLSTM2D(3, 3, padding="same", return_sequences=True, data_format="channels_first", dtype="float64")
    last = L.ConvLSTM2D(3, 3, padding="same", return_sequences=True, data_format="channels_last", dtype="float64")
    model_first, model_last = model_of(first, (3, 2, 5, 5)), model_of(last, (3, 5, 5, 2))
    first.set_weights(last.get_weights())
    np.testing.assert_allclose(model_first.predict(x.transpose(0, 1, 4, 2, 3), verbose=0),
                               model_last.predict(x, verbose=0).transpose(0, 1, 4, 2, 3), rtol=1e-12)
    assert last.bias.get_value()[3:6].tolist() == [1.0, 1.0, 1.0]  # (unit_forget_bias)
    with pytest.raises(NotImplementedError, match="recurrent_dropout"):
        L.ConvLSTM2D(2, 3, recurrent_dropout=0.2)


def test_gradients_and_numba(rng):
    x = rng.normal(size=(1, 3, 4, 4, 2))
    layer = L.ConvLSTM2D(2, 2, padding="same", data_format="channels_last", dtype="float64")
    model_of(layer, x.shape[1:])
    kernel = layer.kernel.get_value()
    inputs = sg.tensor("frames", dtype="float64", shape=(None, 3, 4, 4, 2))
    out = layer(inputs)

    def cost(k):
        layer.kernel.set_value(k)
        return sg.function([inputs], out.sum(), backend="numpy")(x)
    grad = sg.function([inputs], sg.grad(out.sum(), layer.kernel), backend="numpy")(x)
    numeric = np.zeros_like(kernel)
    for index in np.ndindex(kernel.shape):
        up, down = kernel.copy(), kernel.copy()
        up[index] += 1e-6
        down[index] -= 1e-6
        numeric[index] = (cost(up) - cost(down)) / 2e-6
    layer.kernel.set_value(kernel)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)
    numba = sg.function([inputs], [out, sg.grad(out.sum(), layer.kernel)], backend="numba")(x)
    np.testing.assert_allclose(numba[0], sg.function([inputs], out, backend="numpy")(x), rtol=1e-10)
    np.testing.assert_allclose(numba[1], grad, rtol=1e-8)


def test_a_conv_lstm_learns_which_way_a_dot_moves_and_saves(tmp_path):
    clips, labels = moving_dot_clips(160, 6, (1, 5), np.random.default_rng(0))
    L.set_seed(0)
    model = L.Sequential([L.Input((4, 6, 6, 1)), L.ConvLSTM2D(6, 3, padding="same", data_format="channels_last"),
                          L.GlobalMaxPooling2D(data_format="channels_last"), L.Dense(2)])
    learns_the_clips(model, clips, labels, trained=128, epochs=12, lr=0.02)
    model.save(str(tmp_path / "clips.h5"))
    again = L.load_model(str(tmp_path / "clips.h5"))
    np.testing.assert_allclose(again.predict(clips[:4], verbose=0), model.predict(clips[:4], verbose=0), rtol=1e-6)
