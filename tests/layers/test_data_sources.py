"""Batches that come from elsewhere, as Keras's: sg.utils.Sequence, Python generators and
ImageDataGenerator.flow into fit / fit_generator / evaluate / predict, and the generator's
transforms against scipy's (shifts), invariants (rotations, zooms) and its flips."""
import numpy as np
import pytest
from scipy import ndimage

import symgraph as sg
from symgraph.preprocessing.image import ImageDataGenerator

L = sg.layers
RNG = np.random.default_rng(70)
X = RNG.random((40, 1, 6, 6)).astype("float32")
Y = (X.mean(axis=(1, 2, 3)) > 0.5).astype("int32")


class Halves(sg.utils.Sequence):
    """Two batches a pass, counting the passes."""

    def __init__(self):
        self.passes = 0

    def __len__(self):
        return 2

    def __getitem__(self, index):
        part = slice(index * 20, (index + 1) * 20)
        return X[part], Y[part]

    def on_epoch_end(self):
        self.passes += 1


def small_model():
    L.set_seed(1)
    model = L.Sequential([L.Flatten(input_shape=(1, 6, 6)), L.Dense(2, activation="softmax")])
    model.compile(optimizer=sg.optimizers.SGD(lr=0.5), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_a_sequence_trains_as_its_arrays_do_and_is_told_of_each_pass():
    by_sequence, by_arrays = small_model(), small_model()
    source = Halves()
    history = by_sequence.fit(source, epochs=3, verbose=0, validation_data=Halves())
    by_arrays.fit(X, Y, epochs=3, batch_size=20, shuffle=False, verbose=0)
    for a, b in zip(by_sequence.get_weights(), by_arrays.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert source.passes == 3 and len(history.history["val_loss"]) == 3
    np.testing.assert_allclose(by_sequence.evaluate(Halves()), by_arrays.evaluate(X, Y), rtol=1e-6)
    assert by_sequence.predict(Halves()).shape == (40, 2)


def test_generators_need_their_steps():
    model = small_model()

    def endless():
        while True:
            yield X[:8], Y[:8], np.ones(8)
    history = model.fit(endless(), steps_per_epoch=4, epochs=2, verbose=0, class_weight={0: 2.0})
    assert len(history.history["loss"]) == 2
    assert len(model.evaluate(endless(), steps=2)) == 2
    assert model.fit_generator(endless(), steps_per_epoch=2, epochs=1, verbose=0).history["loss"]
    assert model.predict_generator((x for x, _, _ in endless()), steps=3).shape == (24, 2)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        model.fit(endless(), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="give no y"):
        model.fit(endless(), Y, steps_per_epoch=1, verbose=0)
    with pytest.raises(ValueError, match="each batch must be"):
        model.fit(iter([X]), steps_per_epoch=1, verbose=0)


def test_flow_batches_cycle_reshuffle_and_keep_targets_with_their_images():
    flow = ImageDataGenerator().flow(X, np.arange(40), batch_size=16, seed=3)
    assert len(flow) == 3
    seen = [next(flow) for _ in range(6)]  # two passes
    assert [len(y) for _, y in seen] == [16, 16, 8, 16, 16, 8]
    for images, ids in seen:
        np.testing.assert_array_equal(images, X[ids])  # (no transforms: the images themselves)
    first, second = np.concatenate([y for _, y in seen[:3]]), np.concatenate([y for _, y in seen[3:]])
    assert sorted(first) == sorted(second) == list(range(40)) and not np.array_equal(first, second)
    with pytest.raises(IndexError):
        flow[3]
    plain = ImageDataGenerator(rescale=0.5).flow(X, batch_size=40, shuffle=False)[0]
    np.testing.assert_allclose(plain, X * 0.5)


def test_shifts_match_scipys_shift():
    image = RNG.random((2, 9, 9))
    generator = ImageDataGenerator(width_shift_range=0.3, height_shift_range=2, fill_mode="nearest")
    got = generator.random_transform(image, np.random.default_rng(5))
    draws = np.random.default_rng(5)
    dy, dx = draws.uniform(-2, 2), draws.uniform(-0.3 * 9, 0.3 * 9)
    want = np.stack([ndimage.shift(channel, (dy, dx), order=1, mode="nearest") for channel in image])
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_rotations_keep_a_centred_disk_and_zooms_scale_about_the_centre():
    rows, cols = np.mgrid[:41, :41]
    disk = ((rows - 20) ** 2 + (cols - 20) ** 2 <= 100).astype(float)[None]
    bar = np.zeros((1, 41, 41))
    bar[0, 18:23, :] = 1.0  # a horizontal bar: a turn moves it
    for seed in (0, 2, 3):  # (turns of 49, -86 and -149 degrees)
        turned = ImageDataGenerator(rotation_range=180, fill_mode="constant").random_transform(disk,
                                                                                           np.random.default_rng(seed))
        assert np.abs(turned - disk).mean() < 0.025 and turned[0, 20, 20] == pytest.approx(1.0)  # (its edge resampled)
        moved = ImageDataGenerator(rotation_range=180).random_transform(bar, np.random.default_rng(seed))
        assert np.abs(moved - bar).mean() > 0.15
    image = RNG.random((1, 9, 9))
    zoomed = ImageDataGenerator(zoom_range=(2.0, 2.0)).random_transform(image, np.random.default_rng(0))
    for k in range(-2, 3):  # output pixel 4 + k reads input pixel 4 + 2k: zoomed out twice
        np.testing.assert_allclose(zoomed[0, 4 + k, 4 + k], image[0, 4 + 2 * k, 4 + 2 * k], atol=1e-12)


def test_flips_happen_about_half_the_time():
    image = RNG.random((1, 4, 5))
    generator = ImageDataGenerator(horizontal_flip=True, vertical_flip=True)
    rng = np.random.default_rng(2)
    kinds = set()
    for _ in range(40):
        out = generator.random_transform(image, rng)
        kinds.add(next(k for k, view in enumerate([image, image[:, :, ::-1], image[:, ::-1], image[:, ::-1, ::-1]])
                       if np.array_equal(out, view)))
    assert kinds == {0, 1, 2, 3}


def test_augmented_training_learns_the_digits():
    (x_train, y_train), (x_test, y_test) = sg.datasets.load_digits()
    L.set_seed(0)
    model = L.Sequential([L.Conv2D(8, 3, padding="same", activation="relu", input_shape=(1, 8, 8)), L.MaxPool2D(2),
                          L.Flatten(), L.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    augment = ImageDataGenerator(rotation_range=10, width_shift_range=0.1, height_shift_range=0.1)
    model.fit(augment.flow(x_train, y_train, batch_size=32, seed=1), epochs=12, verbose=0)
    assert model.evaluate(x_test, y_test)[1] > 0.85  # (8 x 8 digits shifted by a pixel: harder to fit)


def test_the_generator_says_what_it_takes():
    with pytest.raises(ValueError, match="'channels_first' or 'channels_last'"):
        ImageDataGenerator(data_format="NHWC")
    with pytest.raises(ValueError, match="fill_mode"):
        ImageDataGenerator(fill_mode="mirror")
    with pytest.raises(ValueError, match="\\(N, C, H, W\\)"):
        ImageDataGenerator().flow(np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="one image of 3 axes"):
        ImageDataGenerator().random_transform(np.zeros((4, 4)))


def test_featurewise_statistics_learned_by_fit_standardize_every_batch():
    images = RNG.normal(3.0, 2.0, size=(60, 3, 5, 5)) * np.array([1.0, 4.0, 0.5])[:, None, None]
    generator = ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True, rescale=0.5,
                                   dtype="float64")
    with pytest.raises(ValueError, match="fit\\(x_train\\) first"):
        generator.flow(images, batch_size=60)[0]
    generator.fit(images)
    mean = (images * 0.5).mean(axis=(0, 2, 3))
    std = (images * 0.5).std(axis=(0, 2, 3))
    np.testing.assert_allclose(generator.mean.ravel(), mean, rtol=1e-12)
    np.testing.assert_allclose(generator.std.ravel(), std, rtol=1e-12)
    batch = generator.flow(images, batch_size=60, shuffle=False)[0]
    np.testing.assert_allclose(batch, (images * 0.5 - mean[:, None, None]) / (std[:, None, None] + 1e-6), rtol=1e-10)
    np.testing.assert_allclose(batch.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(batch.std(axis=(0, 2, 3)), 1, rtol=1e-5)


def test_samplewise_normalization_and_the_preprocessing_function():
    images = RNG.normal(2.0, 3.0, size=(5, 2, 4, 4))
    generator = ImageDataGenerator(samplewise_center=True, samplewise_std_normalization=True,
                                   preprocessing_function=lambda x: x ** 2, dtype="float64")
    batch = generator.flow(images, batch_size=5, shuffle=False)[0]
    squared = images ** 2
    want = (squared - squared.mean(axis=(1, 2, 3), keepdims=True)) / (squared.std(axis=(1, 2, 3), keepdims=True) + 1e-6)
    np.testing.assert_allclose(batch, want, rtol=1e-10)


def test_zca_whitening_decorrelates_the_pixels():
    mixing = RNG.normal(size=(12, 12))
    images = (RNG.normal(size=(500, 12)) @ mixing).reshape(500, 3, 2, 2)  # correlated pixels
    generator = ImageDataGenerator(featurewise_center=True, zca_whitening=True, zca_epsilon=1e-9, dtype="float64")
    generator.fit(images)
    white = generator.flow(images, batch_size=500, shuffle=False)[0].reshape(500, -1)
    np.testing.assert_allclose(white.T @ white / 500, np.eye(12), atol=1e-6)
    # ZCA's matrix is symmetric: the whitened images stay closest to the centred ones
    np.testing.assert_allclose(generator.principal_components, generator.principal_components.T, atol=1e-8)


def test_shear_keeps_the_centre_column_and_moves_the_rest():
    image = RNG.random((1, 9, 9))
    sheared = ImageDataGenerator(shear_range=40).random_transform(image, np.random.default_rng(3))  # (-33 degrees)
    np.testing.assert_allclose(sheared[0, :, 4], image[0, :, 4], atol=1e-12)  # (output column c reads column c)
    assert np.abs(sheared - image).mean() > 0.05


def test_channel_shift_and_brightness_move_the_values():
    image = RNG.random((3, 6, 6)) + 1.0
    shifted = ImageDataGenerator(channel_shift_range=0.3).random_transform(image, np.random.default_rng(4))
    amount = np.random.default_rng(4).uniform(-0.3, 0.3)
    np.testing.assert_allclose(shifted, np.clip(image + amount, image.min(), image.max()))
    brighter = ImageDataGenerator(brightness_range=(0.5, 1.5)).random_transform(image, np.random.default_rng(6))
    factor = np.random.default_rng(6).uniform(0.5, 1.5)
    np.testing.assert_allclose(brighter, image * factor)
    with pytest.raises(ValueError, match="brightness_range"):
        ImageDataGenerator(brightness_range=0.2)


def test_a_channels_last_generator_gives_what_a_channels_first_one_gives_transposed():
    """NHWC in, NHWC out (data_format="channels_last", Keras's with TensorFlow); the same
    transforms, statistics and ZCA whitening as on the NCHW images."""
    images = np.random.default_rng(3).uniform(size=(10, 2, 6, 5)).astype("float32")
    settings = dict(rotation_range=20, width_shift_range=0.2, horizontal_flip=True, featurewise_center=True,
                    featurewise_std_normalization=True, zca_whitening=True)
    first = ImageDataGenerator(**settings).fit(images)
    last = ImageDataGenerator(data_format="channels_last", **settings).fit(images.transpose(0, 2, 3, 1))
    batch_first = first.flow(images, batch_size=4, seed=7)[1]
    batch_last = last.flow(images.transpose(0, 2, 3, 1), batch_size=4, seed=7)[1]
    np.testing.assert_allclose(batch_last, batch_first.transpose(0, 2, 3, 1), rtol=1e-5, atol=1e-5)
    image = images[0].transpose(1, 2, 0)
    assert last.random_transform(image, np.random.default_rng(0)).shape == image.shape
    np.testing.assert_allclose(last.standardize(images[:2].transpose(0, 2, 3, 1)),
                               first.standardize(images[:2]).transpose(0, 2, 3, 1), rtol=1e-5, atol=1e-5)
