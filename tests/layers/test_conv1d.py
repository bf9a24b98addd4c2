"""Conv1D, the 1-d poolings and TimeDistributed, as Keras's: against NumPy loops on both CPU
backends, in both data formats, Conv1D's gradients against finite differences, saving, and a
text convnet that learns."""
import numpy as np
import pytest

import symgraph as sg
from symgraph.layers.base import TraceContext

L = sg.layers
X = np.random.default_rng(50).normal(size=(2, 9, 3))  # (batch, steps, channels)


def conv1d_reference(x, kernel, bias, stride, padding, dilation):
    """Keras's Conv1D over (batch, steps, channels), written as a loop; kernel (filters, channels, k)."""
    filters, _, k = kernel.shape
    span = (k - 1) * dilation + 1
    if padding == "same":
        total = max((-(-x.shape[1] // stride) - 1) * stride + span - x.shape[1], 0)
        pads = (total // 2, total - total // 2)
    else:
        pads = ((span - 1, 0) if padding == "causal" else (0, 0))
    xp = np.pad(x, ((0, 0), pads, (0, 0)))
    steps = (xp.shape[1] - span) // stride + 1
    out = np.zeros((x.shape[0], steps, filters))
    for t in range(steps):
        window = xp[:, t * stride:t * stride + span:dilation, :]  # (batch, k, channels)
        out[:, t] = np.einsum("bkc,fck->bf", window, kernel) + bias
    return out


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("padding, stride, dilation", [("valid", 1, 1), ("same", 1, 1), ("causal", 1, 2),
                                                       ("valid", 2, 1), ("same", 2, 1), ("causal", 1, 1)])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv1d_matches_a_loop(padding, stride, dilation, data_format, backend):
    L.set_seed(0)
    layer = L.Conv1D(4, 3, strides=stride, padding=padding, dilation_rate=dilation, data_format=data_format,
                     dtype="float64", bias_initializer="random_normal")
    x = X if data_format == "channels_last" else X.transpose(0, 2, 1)
    inputs = L.Input(x.shape[1:], dtype="float64")
    model = L.Model(inputs, layer(inputs))
    model.compile(optimizer="sgd", loss="mse", backend=backend)
    want = conv1d_reference(X, layer.kernel.get_value(), layer.bias.get_value(), stride, padding, dilation)
    got = model.predict(x)
    if data_format == "channels_first":
        got = got.transpose(0, 2, 1)
    assert model.output_shape[1:] == (want.shape[1:] if data_format == "channels_last" else want.shape[:0:-1])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_conv1d_gradients():
    layer = L.Conv1D(2, 3, padding="causal", dtype="float64")
    layer(L.Input((9, 3), dtype="float64"))
    rng = np.random.default_rng(1)

    def through_layer(x, kernel):
        layer.kernel = kernel
        return (layer.call(x, TraceContext(False)) * np.arange(18).reshape(1, 9, 2)).sum()
    sg.verify_grad(through_layer, [X, rng.normal(size=(2, 3, 3))], rng=rng)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_poolings_1d(backend):
    x = sg.dtensor3("x")
    layers = [L.MaxPooling1D(2), L.AveragePooling1D(3, strides=2), L.GlobalMaxPooling1D(), L.GlobalAveragePooling1D(),
              L.MaxPooling1D(2, data_format="channels_first"), L.GlobalAveragePooling1D(data_format="channels_first")]
    f = sg.function([x], [layer.trace(x, TraceContext(False)) for layer in layers], backend=backend)
    got = f(X)
    windows = lambda v, size, stride: np.stack([v[:, t:t + size] for t in range(0, v.shape[1] - size + 1, stride)], 1)  # noqa: E731
    want = [windows(X, 2, 2).max(2), windows(X, 3, 2).mean(2), X.max(1), X.mean(1),
            windows(X.transpose(0, 2, 1), 2, 2).max(2).transpose(0, 2, 1), X.mean(2)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_time_distributed_applies_one_layer_to_every_step(backend):
    L.set_seed(2)
    dense = L.Dense(4, activation="tanh", dtype="float64")
    model = L.Sequential([L.TimeDistributed(dense, input_shape=(9, 3))])
    model.compile(optimizer="sgd", loss="mse", backend=backend)
    kernel, bias = dense.get_weights()
    np.testing.assert_allclose(model.predict(X), np.tanh(X.astype("float32") @ kernel + bias), rtol=1e-5, atol=1e-7)
    assert model.output_shape == (None, 9, 4) and model.count_params() == 16
    frames = L.Sequential([L.TimeDistributed(L.Conv2D(2, 3), input_shape=(4, 1, 5, 5)), L.TimeDistributed(L.Flatten())])
    images = np.random.default_rng(3).random((2, 4, 1, 5, 5)).astype("float32")
    conv = frames.layers[0].layer
    per_frame = sg.function([frame := sg.tensor4("f")], conv.trace(frame, TraceContext(False)))
    want = np.stack([per_frame(images[:, t]).reshape(2, -1) for t in range(4)], 1)
    np.testing.assert_allclose(frames.predict(images), want, rtol=1e-5)
    assert frames.output_shape == (None, 4, 18)


@pytest.mark.slow  # (a model trained end to end, 15-50 s cold: the quick tier was over 10 minutes; its layers stay tested there)
def test_text_convnet_learns_and_saves(tmp_path):
    """Sequences of 12 ids; the label says whether id 7 is followed by id 3 somewhere."""
    L.set_seed(4)
    rng = np.random.default_rng(5)
    ids = rng.integers(0, 10, (600, 12))
    where = rng.integers(0, 11, 600)
    positive = rng.random(600) < 0.5
    ids[positive, where[positive]], ids[positive, where[positive] + 1] = 7, 3
    labels = np.array([any(a == 7 and b == 3 for a, b in zip(row, row[1:])) for row in ids]).astype("float32")
    model = L.Sequential([L.Embedding(10, 8, input_length=12), L.Conv1D(16, 2, activation="relu"),
                          L.GlobalMaxPooling1D(), L.Dense(1, activation="sigmoid")])
    model.compile(optimizer=sg.optimizers.Adam(lr=0.01), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(ids[:500], labels[:500], epochs=15, batch_size=32, verbose=0)
    assert model.evaluate(ids[500:], labels[500:])[1] > 0.9
    again = L.load_model(model.save(tmp_path / "text.sgm"))
    np.testing.assert_allclose(again.predict(ids[500:]), model.predict(ids[500:]), rtol=1e-6)
    assert model.layers[1].name.startswith("conv1d_") and model.layers[2].name.startswith("global_max_pooling1d_")


def test_1d_layers_say_what_they_take():
    with pytest.raises(ValueError, match="padding must be"):
        L.Conv1D(2, 3, padding="full")
    with pytest.raises(ValueError, match="data_format"):
        L.Conv1D(2, 3, data_format="nwc")
    with pytest.raises(ValueError, match="kernel_size must be a positive int"):
        L.Conv1D(2, 0)
    with pytest.raises(ValueError, match="takes \\(batch, steps, channels\\)"):
        L.Conv1D(2, 3)(L.Input((1, 8, 8)))
    with pytest.raises(ValueError, match="padding must be 'valid' or 'same'"):
        L.MaxPooling1D(2, padding="causal")
    with pytest.raises(TypeError, match="wraps a layer"):
        L.TimeDistributed("dense")
