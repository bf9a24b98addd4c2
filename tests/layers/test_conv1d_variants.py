"""Keras's Conv1DTranspose, DepthwiseConv1D and SeparableConv1D on (batch, steps, channels)
sequences, against NumPy written here from Keras's definitions (each channel's correlation;
the transpose as Conv1D's adjoint), with Keras's output lengths, gradients and training."""
import numpy as np
import pytest

import symgraph as sg

L = sg.layers


def correlate(x, w, stride):
    """x (steps, channels), w (k, channels, out): Conv1D's valid correlation."""
    k = w.shape[0]
    n = (x.shape[0] - k) // stride + 1
    return np.stack([np.tensordot(x[t * stride:t * stride + k], w, axes=([0, 1], [0, 1])) for t in range(n)])


def predict(layer, xv):
    shape = xv.shape[1:]
    x = L.Input(shape, dtype="float64")
    model = L.Model(x, layer(x))
    return model.predict(xv, verbose=0)


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_conv1d_transpose_is_conv1ds_adjoint_with_kerass_lengths(stride, rng):
    layer = L.Conv1DTranspose(4, 3, strides=stride, use_bias=False, dtype="float64")
    yv = rng.normal(size=(2, 5, 2))
    out = predict(layer, yv)
    assert out.shape == (2, (5 - 1) * stride + 3, 4)  # ("valid": (steps - 1) * strides + kernel_size)
    kernel = layer.get_weights()[0][:, :, 0, :]  # (in = the transpose's inputs, out, k)
    w = kernel.transpose(2, 1, 0)  # (k, channels of the forward conv's input, its outputs)
    xv = rng.normal(size=out.shape)
    forward = np.stack([correlate(x, w, stride) for x in xv])
    assert forward.shape == yv.shape
    np.testing.assert_allclose((forward * yv).sum(), (xv * out).sum(), rtol=1e-12)
    same = L.Conv1DTranspose(4, 3, strides=stride, padding="same", dtype="float64")
    assert predict(same, yv).shape == (2, 5 * stride, 4)


def test_depthwise_and_separable_conv1d_match_their_definitions(rng):
    xv = rng.normal(size=(2, 9, 3))
    depthwise = L.DepthwiseConv1D(3, depth_multiplier=2, strides=2, dtype="float64")
    got = predict(depthwise, xv)
    kernel, bias = depthwise.get_weights()  # ((channels * multiplier, 1, 1, k), bias)
    want = np.zeros_like(got)
    for c in range(3):
        for m in range(2):
            w = kernel[c * 2 + m, 0, 0][:, None, None]
            want[:, :, c * 2 + m] = np.stack([correlate(x[:, c:c + 1], w, 2)[:, 0] for x in xv]) + bias[c * 2 + m]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    separable = L.SeparableConv1D(5, 3, padding="same", activation="relu", dtype="float64")
    got = predict(separable, xv)
    depth_kernel, point_kernel, bias = separable.get_weights()
    padded = np.pad(xv, ((0, 0), (1, 1), (0, 0)))
    mixed = np.stack([np.stack([correlate(x[:, c:c + 1], depth_kernel[c, 0, 0][:, None, None], 1)[:, 0]
                                for c in range(3)], axis=1) for x in padded])
    np.testing.assert_allclose(got, np.maximum(mixed @ point_kernel[:, :, 0, 0].T + bias, 0), rtol=1e-12)


@pytest.mark.slow  # (a model trained end to end, ~11 s cold: its layers stay tested in the quick tier)
def test_a_sequence_autoencoder_of_the_variants_trains_and_differentiates(rng):
    sg.layers.set_seed(0)
    signal = np.sin(np.linspace(0, 6, 16))[None, :, None] * rng.uniform(0.5, 1.5, size=(64, 1, 1))
    model = L.Sequential([L.SeparableConv1D(8, 3, strides=2, padding="same", activation="relu", input_shape=(16, 1)),
                          L.DepthwiseConv1D(3, padding="same", activation="relu"),
                          L.Conv1DTranspose(1, 3, strides=2, padding="same")])
    model.compile(sg.optimizers.Adam(0.01), "mse")
    assert model.output_shape == (None, 16, 1)
    before = model.evaluate(signal.astype("float32"), signal.astype("float32"), verbose=0)
    model.fit(signal.astype("float32"), signal.astype("float32"), epochs=40, batch_size=16, verbose=0)
    assert model.evaluate(signal.astype("float32"), signal.astype("float32"), verbose=0) < 0.2 * before  # (0.01-0.05)
    layer = L.Conv1DTranspose(2, 3, strides=2, dtype="float64")
    layer(L.Input((4, 3), dtype="float64"))
    sg.verify_grad(lambda v: (layer(v) ** 2).sum(), [rng.normal(size=(2, 4, 3))], rng=rng)
