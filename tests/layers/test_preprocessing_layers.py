"""Keras's preprocessing layers on (N, C, H, W) images: Rescaling, Normalization (adapt,
invert), CenterCrop, Resizing (against TensorFlow's half-pixel formulas written in NumPy), the
projective transforms against a NumPy transcription of TensorFlow's ImageProjectiveTransform
(every fill mode, both interpolations), the random augmentations (identity at inference, their
exact transforms at fixed factors while training), and a convnet trained through them."""
import numpy as np
import pytest

import symgraph as sg
from symgraph.layers import image_transforms as T
from symgraph.layers.base import TraceContext

L = sg.layers
RNG = np.random.default_rng(84)
IMAGES = RNG.uniform(0, 16, size=(3, 2, 7, 9))


def _run(layer, x, training=False, dtype="float64"):
    var = sg.tensor("x", dtype, (None,) + x.shape[1:])
    return sg.function([var], layer.trace(var, TraceContext(training=training)))(x.astype(dtype))


def test_rescaling_and_normalization_with_adapt():
    np.testing.assert_allclose(_run(L.Rescaling(1 / 16, offset=-0.5, dtype="float64"), IMAGES), IMAGES / 16 - 0.5)
    channels = L.Normalization(axis=1, dtype="float64")
    channels.adapt(IMAGES)
    mean, var = IMAGES.mean(axis=(0, 2, 3)), IMAGES.var(axis=(0, 2, 3))
    np.testing.assert_allclose(channels.mean.get_value(), mean)
    np.testing.assert_allclose(channels.variance.get_value(), var)
    want = (IMAGES - mean[:, None, None]) / np.sqrt(var)[:, None, None]
    np.testing.assert_allclose(_run(channels, IMAGES), want, rtol=1e-12)
    features = RNG.normal(3, 2, size=(50, 4))
    last = L.Normalization(dtype="float64")
    last.adapt([features[:20], features[20:]])  # (batches)
    np.testing.assert_allclose(_run(last, features).mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(_run(last, features).std(axis=0), 1, rtol=1e-12)
    back = L.Normalization(mean=features.mean(0), variance=features.var(0), invert=True, dtype="float64")
    np.testing.assert_allclose(_run(back, _run(last, features)), features, rtol=1e-12)
    whole = L.Normalization(axis=None, dtype="float64")
    whole.adapt(features)
    np.testing.assert_allclose(_run(whole, features), (features - features.mean()) / features.std(), rtol=1e-12)
    with pytest.raises(ValueError, match="both mean and variance"):
        L.Normalization(mean=1.0)


def _tf_resize_reference(x, height, width, interpolation):
    rows, cols = x.shape[2:]
    if interpolation == "nearest":
        r = np.minimum(np.floor((np.arange(height) + 0.5) * rows / height), rows - 1).astype(int)
        c = np.minimum(np.floor((np.arange(width) + 0.5) * cols / width), cols - 1).astype(int)
        return x[:, :, r][:, :, :, c]
    out = np.zeros(x.shape[:2] + (height, width))
    for i in range(height):
        for j in range(width):
            y = (i + 0.5) * rows / height - 0.5
            xx = (j + 0.5) * cols / width - 0.5
            y0, x0 = np.floor(y), np.floor(xx)
            wy, wx = y - y0, xx - x0
            y0, y1 = int(np.clip(y0, 0, rows - 1)), int(np.clip(y0 + 1, 0, rows - 1))
            x0, x1 = int(np.clip(x0, 0, cols - 1)), int(np.clip(x0 + 1, 0, cols - 1))
            top = x[:, :, y0, x0] * (1 - wx) + x[:, :, y0, x1] * wx
            bottom = x[:, :, y1, x0] * (1 - wx) + x[:, :, y1, x1] * wx
            out[:, :, i, j] = top * (1 - wy) + bottom * wy
    return out


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_resizing_and_center_crop(backend):
    x = sg.tensor("x", "float64", (None, 2, 7, 9))
    layers = [L.Resizing(4, 5, dtype="float64"), L.Resizing(12, 16, dtype="float64"),
              L.Resizing(4, 5, "nearest", dtype="float64"), L.Resizing(14, 5, "nearest", dtype="float64"),
              L.Resizing(4, 4, crop_to_aspect_ratio=True, dtype="float64"), L.CenterCrop(3, 4, dtype="float64")]
    got = sg.function([x], [layer.trace(x, TraceContext(False)) for layer in layers], backend=backend)(IMAGES)
    want = [_tf_resize_reference(IMAGES, 4, 5, "bilinear"), _tf_resize_reference(IMAGES, 12, 16, "bilinear"),
            _tf_resize_reference(IMAGES, 4, 5, "nearest"), _tf_resize_reference(IMAGES, 14, 5, "nearest"),
            _tf_resize_reference(IMAGES[:, :, :, 1:8], 4, 4, "bilinear"), IMAGES[:, :, 2:5, 2:6]]
    for k, (g, w) in enumerate(zip(got, want)):
        np.testing.assert_allclose(g, w, rtol=1e-12, err_msg=f"layer {k}")
    constant = np.full((1, 1, 5, 5), 3.0)
    np.testing.assert_allclose(_run(L.Resizing(8, 3, dtype="float64"), constant), 3.0)
    with pytest.raises(ValueError, match="smaller than the crop"):
        L.CenterCrop(8, 4)(L.Input((2, 7, 9)))


def _tf_map(coord, n, mode):
    """TensorFlow's MapCoordinate, one float at a time."""
    if mode == "constant":
        return coord
    if mode == "nearest" or n <= 1:
        return min(max(coord, 0), n - 1)
    if mode == "reflect":
        if coord < 0:
            sz2 = 2 * n
            if coord < -sz2:
                coord = sz2 * int(-coord / sz2) + coord
            coord = coord + sz2 if coord < -n else -coord - 1
        elif coord > n - 1:
            sz2 = 2 * n
            coord -= sz2 * int(coord / sz2)
            if coord >= n:
                coord = sz2 - coord - 1
    else:  # wrap
        if coord < 0:
            coord += n * (int(-coord / (n - 1)) + 1)
        elif coord > n - 1:
            coord -= n * int(coord / (n - 1))
    return min(max(coord, 0), n - 1)


def _tf_transform_reference(images, matrices, mode, interpolation, fill=0.0):
    n, c, rows, cols = images.shape
    out = np.zeros_like(images)

    def read(b, y, x):
        if 0 <= y <= rows - 1 and 0 <= x <= cols - 1:
            return images[b, :, int(y), int(x)]
        return np.full(c, fill)
    for b in range(n):
        a0, a1, a2, b0, b1, b2 = matrices[b]
        for y in range(rows):
            for x in range(cols):
                sx, sy = _tf_map(a0 * x + a1 * y + a2, cols, mode), _tf_map(b0 * x + b1 * y + b2, rows, mode)
                if interpolation == "nearest":  # (std::round: halves away from zero)
                    out[b, :, y, x] = read(b, np.sign(sy) * np.floor(abs(sy) + 0.5), np.sign(sx) * np.floor(abs(sx) + 0.5))
                    continue
                y0, x0 = np.floor(sy), np.floor(sx)
                wy, wx = sy - y0, sx - x0
                top = read(b, y0, x0) * (1 - wx) + read(b, y0, x0 + 1) * wx
                bottom = read(b, y0 + 1, x0) * (1 - wx) + read(b, y0 + 1, x0 + 1) * wx
                out[b, :, y, x] = top * (1 - wy) + bottom * wy
    return out


@pytest.mark.parametrize("mode", ["reflect", "wrap", "nearest", "constant"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_transforms_match_tensorflows_projective_transform(mode, interpolation):
    matrices = np.array([[0.8, -0.6, 3.1, 0.6, 0.8, -2.4], [1.3, 0.0, -5.2, 0.0, 0.7, 1.6],
                         [1.0, 0.0, 11.5, 0.0, 1.0, -20.25]])  # (rotation, zoom, a shift past a whole period)
    x, m = sg.tensor("x", "float64", (None, 2, 7, 9)), sg.dmatrix("m")
    got = sg.function([x, m], T.transform(x, m, mode, interpolation, fill_value=-1.0))(IMAGES, matrices)
    np.testing.assert_allclose(got, _tf_transform_reference(IMAGES, matrices, mode, interpolation, -1.0),
                               rtol=1e-12, atol=1e-12)


def _fixed(cls, *args, **kw):
    layer = cls(*args, dtype="float64", seed=1, **kw)
    layer.ensure_built((None,) + IMAGES.shape[1:])
    return layer


def test_augmentations_are_identities_at_inference_and_exact_at_fixed_factors():
    square = IMAGES[:, :, :7, :7]
    for layer in [_fixed(L.RandomFlip), _fixed(L.RandomRotation, 0.2), _fixed(L.RandomZoom, 0.3),
                  _fixed(L.RandomTranslation, 0.2, 0.1), _fixed(L.RandomContrast, 0.5)]:
        np.testing.assert_array_equal(_run(layer, IMAGES), IMAGES)
    quarter = _fixed(L.RandomRotation, (0.25, 0.25), interpolation="nearest")
    np.testing.assert_allclose(_run(quarter, square, training=True), np.rot90(square, 1, axes=(2, 3)), atol=1e-9)
    shift = _fixed(L.RandomTranslation, (2 / 7, 2 / 7), (-1 / 9, -1 / 9), fill_mode="constant")
    want = np.zeros_like(IMAGES)
    want[:, :, 2:, :8] = IMAGES[:, :, :5, 1:]
    np.testing.assert_allclose(_run(shift, IMAGES, training=True), want, atol=1e-9)
    zoom = _fixed(L.RandomZoom, (-0.5, -0.5), fill_mode="nearest")
    matrices = np.tile([0.5, 0.0, 2.0, 0.0, 0.5, 1.5], (3, 1))
    np.testing.assert_allclose(_run(zoom, IMAGES, training=True),
                               _tf_transform_reference(IMAGES, matrices, "nearest", "bilinear"), atol=1e-9)
    contrast = _run(_fixed(L.RandomContrast, (0.5, 0.5)), IMAGES, training=True)
    np.testing.assert_allclose(contrast.mean(axis=(2, 3)), IMAGES.mean(axis=(2, 3)), rtol=1e-12)
    ratio = (contrast - contrast.mean(axis=(2, 3), keepdims=True)) / (IMAGES - IMAGES.mean(axis=(2, 3), keepdims=True))
    assert np.all((ratio > 0.5 - 1e-9) & (ratio < 1.5 + 1e-9))
    np.testing.assert_allclose(ratio.std(axis=(1, 2, 3)), 0, atol=1e-9)  # (one factor an image)
    many = _run(_fixed(L.RandomFlip, "horizontal"), np.repeat(IMAGES[:1], 40, axis=0), training=True)
    flipped = np.all(many == IMAGES[:1, :, :, ::-1], axis=(1, 2, 3))
    kept = np.all(many == IMAGES[:1], axis=(1, 2, 3))
    assert np.all(flipped | kept) and 5 < flipped.sum() < 35


@pytest.mark.slow  # (a convnet trained end to end, ~20 s; the layer's values and gradients are tested above)
def test_a_convnet_learns_through_the_preprocessing_layers_and_is_saved(tmp_path):
    (x_train, y_train), (x_test, y_test) = sg.datasets.load_digits()
    x_train, x_test = x_train * 16, x_test * 16  # (0-16 pixel values, as the raw digits')
    norm = L.Normalization(axis=1)
    model = L.Sequential([L.Rescaling(1 / 16, input_shape=(1, 8, 8)), norm,
                          L.RandomRotation(0.03, fill_mode="constant", seed=0), L.RandomZoom(0.05, seed=1),
                          L.Resizing(10, 10), L.CenterCrop(9, 9),
                          L.Conv2D(16, 3, activation="relu"), L.MaxPool2D(2), L.Flatten(),
                          L.Dense(10, activation="softmax")])
    norm.adapt(x_train / 16)
    model.compile(optimizer=sg.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=8, batch_size=64, verbose=0)
    accuracy = model.evaluate(x_test, y_test, verbose=0)[1]
    assert accuracy > 0.9
    path = str(tmp_path / "augmented")
    model.save(path)
    loaded = L.load_model(path)
    np.testing.assert_allclose(loaded.predict(x_test, verbose=0), model.predict(x_test, verbose=0), rtol=1e-5, atol=1e-7)


def test_random_crop_takes_one_window_a_batch_while_training_and_resizes_at_inference():
    crop = L.RandomCrop(4, 5, seed=3, dtype="float64")
    var = sg.tensor("x", "float64", (None, 2, 7, 9))
    training = sg.function([var], crop.trace(var, TraceContext(training=True)))
    places = set()
    for _ in range(12):
        out = training(IMAGES)
        assert out.shape == (3, 2, 4, 5)
        found = [(t, l) for t in range(4) for l in range(5) if np.array_equal(out, IMAGES[:, :, t:t + 4, l:l + 5])]
        assert len(found) == 1  # (one window of every image, at the same place)
        places.add(found[0])
    assert len(places) > 4  # (a new place each call)
    resized = _run(L.Resizing(4, 5, crop_to_aspect_ratio=True, dtype="float64"), IMAGES)
    np.testing.assert_allclose(_run(crop, IMAGES), resized, rtol=1e-12)
    with pytest.raises(ValueError, match="smaller than the crop 8x5"):
        _run(L.RandomCrop(8, 5, dtype="float64"), IMAGES, training=True)


def test_random_brightness_shifts_each_image_within_its_range_and_clips():
    brightness = L.RandomBrightness((0.1, 0.3), value_range=(0, 16), seed=5, dtype="float64")
    np.testing.assert_array_equal(_run(brightness, IMAGES), IMAGES)  # (inference: as it was)
    out = _run(brightness, IMAGES, training=True)
    for image, shifted in zip(IMAGES, out):
        inside = shifted < 16
        shift = (shifted - image)[inside]
        assert np.ptp(shift) < 1e-12 and 0.1 * 16 <= shift[0] <= 0.3 * 16
        np.testing.assert_array_equal(shifted[~inside], 16.0)
    with pytest.raises(ValueError, match="factor must lie in"):
        L.RandomBrightness(1.5)
