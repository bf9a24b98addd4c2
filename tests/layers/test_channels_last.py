"""data_format="channels_last" (and K.set_image_data_format("channels_last")): the image layers
take NHWC images, as Keras with TensorFlow, and give what their channels_first selves give on
the transposed images, with the same weights; between layers the transposes vanish."""
import numpy as np
import pytest

import symgraph as sg

L, K = sg.layers, sg.backend
RNG = np.random.default_rng(48)


def _stack(data_format):
    return [L.Conv2D(4, 3, padding="same", activation="relu", data_format=data_format),
            L.BatchNormalization(axis=1 if data_format == "channels_first" else -1),
            L.DepthwiseConv2D(3, depth_multiplier=2, data_format=data_format),
            L.SeparableConv2D(5, 3, padding="same", data_format=data_format),
            L.MaxPooling2D(2, data_format=data_format), L.ZeroPadding2D(((1, 0), (0, 2)), data_format=data_format),
            L.Conv2DTranspose(3, 3, strides=2, padding="same", data_format=data_format),
            L.UpSampling2D(2, data_format=data_format), L.Cropping2D(((1, 2), (0, 1)), data_format=data_format),
            L.AveragePooling2D(2, padding="same", data_format=data_format),
            L.SpatialDropout2D(0.3, data_format=data_format), L.Resizing(6, 5, data_format=data_format),
            L.CenterCrop(4, 4, data_format=data_format), L.RandomFlip(data_format=data_format)]


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_channels_last_layers_equal_channels_first_ones_on_transposed_images(backend):
    images = RNG.normal(size=(3, 9, 10, 2)).astype("float32")
    outputs = {}
    for data_format, shape in (("channels_first", (2, 9, 10)), ("channels_last", (9, 10, 2))):
        L.set_seed(5)
        inputs = L.Input(shape)
        steps = [inputs]
        for layer in _stack(data_format):
            steps.append(layer(steps[-1]))
        pooled = L.GlobalAveragePooling2D(data_format=data_format)(steps[-1])
        model = L.Model(inputs, steps[1:] + [pooled])
        model.compile("sgd", ["mse"] * (len(steps)), backend=backend)
        given = images if data_format == "channels_last" else images.transpose(0, 3, 1, 2)
        outputs[data_format] = model.predict(given)
        if data_format == "channels_last":  # (the same weights: the channels_first model's)
            model.set_weights(weights)
            outputs[data_format] = model.predict(given)
        weights = model.get_weights()
    for first, last in zip(outputs["channels_first"][:-1], outputs["channels_last"][:-1]):
        np.testing.assert_allclose(last, first.transpose(0, 2, 3, 1), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(outputs["channels_last"][-1], outputs["channels_first"][-1], rtol=1e-4, atol=1e-6)


def _keras_convnet():
    """Keras's digits convnet as written for TensorFlow: NHWC input_shape, BatchNormalization()."""
    previous = K.image_data_format()
    K.set_image_data_format("channels_last")
    try:
        L.set_seed(2)
        return L.Sequential([L.Conv2D(8, 3, activation="relu", input_shape=(8, 8, 1)), L.BatchNormalization(),
                             L.Conv2D(8, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
                             L.Dense(10, activation="softmax")])
    finally:
        K.set_image_data_format(previous)


def _digits_nhwc():
    from sklearn.datasets import load_digits
    digits = load_digits()
    return (digits.data / 16).astype("float32").reshape(-1, 8, 8, 1), digits.target


def test_transposes_between_channels_last_layers_vanish_and_the_model_reloads(tmp_path):
    x, _ = _digits_nhwc()
    model = _keras_convnet()
    assert K.image_data_format() == "channels_first"  # (set back)
    assert model.layers[0].data_format == "channels_last" and model.output_shape == (None, 10)
    assert model.layers[1].gamma.get_value().shape == (8,)  # (BatchNormalization's default axis: the channels)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    # (the images' transposes: into the first convolution and out of the last pooling; the
    # batch normalization between the convolutions took the transposes around it inside)
    shuffles = [n for n in model.predict_function().fgraph.apply_nodes if type(n.op).__name__ == "DimShuffle"
                and n.inputs[0].ndim == 4 and n.inputs[0].type.shape[0] != 1]
    assert len(shuffles) == 2, shuffles
    path = str(tmp_path / "nhwc")
    model.save(path)
    np.testing.assert_allclose(L.load_model(path).predict(x[:50]), model.predict(x[:50]), rtol=1e-5)


@pytest.mark.slow  # (a convnet trained: ~40 s cold)
def test_kerass_channels_last_convnet_learns_the_digits():
    x, y = _digits_nhwc()
    model = _keras_convnet()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:1400], y[:1400], epochs=10, batch_size=32, verbose=0)
    assert model.evaluate(x[1400:], y[1400:])[1] > 0.85


def test_normalizations_default_to_the_feature_axis_of_sequences():
    """Keras's default axis -1: after a channels_last Conv1D, each feature normalized, not each step."""
    steps = L.Input((7, 3))
    features = L.Conv1D(5, 3)(steps)
    norm, groups = L.BatchNormalization(), L.GroupNormalization(groups=5)
    L.Model(steps, [norm(features), groups(features)])
    assert norm.gamma.get_value().shape == (5,) and groups.gamma.get_value().shape == (5,)
    with pytest.raises(ValueError, match="'channels_first' or 'channels_last'"):
        L.Conv2D(3, 3, data_format="NHWC")


def test_batch_normalization_after_channels_last_layers_normalizes_their_channels():
    """A Keras model ported with data_format="channels_last" on its convolutions (the backend
    left channels first): BatchNormalization's default axis is the channels' of the images it
    gets, through an activation, as Keras's -1; after an Input alone, the backend's."""
    inputs = sg.layers.Input((6, 6, 2))
    h = sg.layers.Conv2D(5, 3, padding="same", data_format="channels_last")(inputs)
    norm = sg.layers.BatchNormalization()
    norm(sg.layers.Activation("relu")(h))
    assert norm.axis == -1 and norm.gamma.get_value().shape == (5,)
    group = sg.layers.GroupNormalization(groups=5)
    group(h)
    assert group.axis == -1
    plain = sg.layers.BatchNormalization()
    plain(sg.layers.Input((3, 6, 6)))
    assert plain.axis == 1
