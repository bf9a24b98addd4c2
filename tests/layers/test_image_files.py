"""Pictures on disk as Keras's keras.preprocessing.image reads them: save_img / load_img /
img_to_array round trips (channels first), resizing, and flow_from_directory's classes, targets
and batches, fed to fit."""
import numpy as np
import pytest

import symgraph as sg
from symgraph.preprocessing.image import ImageDataGenerator, array_to_img, img_to_array, load_img, save_img

L = sg.layers
RNG = np.random.default_rng(8)


def test_a_picture_saved_and_loaded_keeps_its_values_channels_first(tmp_path):
    rgb = RNG.integers(0, 256, size=(3, 5, 7)).astype("float32")
    save_img(tmp_path / "a.png", rgb, scale=False)
    loaded = img_to_array(load_img(tmp_path / "a.png"))
    assert loaded.shape == (3, 5, 7) and loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, rgb)
    gray = img_to_array(load_img(tmp_path / "a.png", color_mode="grayscale"))
    assert gray.shape == (1, 5, 7)
    # scale=True stretches the values to 0-255 first (Keras's default)
    values = rgb / 255 - 0.5
    stretched = np.rint((values - values.min()) / (values.max() - values.min()) * 255)
    np.testing.assert_array_equal(img_to_array(array_to_img(values)), stretched)


def test_target_size_resizes_by_the_interpolation_asked(tmp_path):
    small = RNG.integers(0, 256, size=(1, 4, 3)).astype("float32")
    save_img(tmp_path / "s.png", small, scale=False)
    bigger = img_to_array(load_img(tmp_path / "s.png", color_mode="grayscale", target_size=(8, 6)))
    np.testing.assert_array_equal(bigger, small.repeat(2, axis=1).repeat(2, axis=2))  # nearest: 2 x 2 blocks
    smooth = img_to_array(load_img(tmp_path / "s.png", color_mode="grayscale", target_size=(8, 6),
                                   interpolation="bilinear"))
    assert smooth.shape == (1, 8, 6) and not np.array_equal(smooth, bigger)
    with pytest.raises(ValueError, match="interpolation"):
        load_img(tmp_path / "s.png", target_size=(2, 2), interpolation="cubic spline")
    last = img_to_array(load_img(tmp_path / "s.png", color_mode="grayscale"), data_format="channels_last")
    np.testing.assert_array_equal(last, small.transpose(1, 2, 0))  # ((H, W, C): Keras's with TensorFlow)
    np.testing.assert_array_equal(img_to_array(array_to_img(last, "channels_last", scale=False)), small)
    with pytest.raises(ValueError, match="'channels_first' or 'channels_last'"):
        img_to_array(load_img(tmp_path / "s.png"), data_format="NHWC")


def _folders(root, counts, size=(6, 5)):
    """Class folders of random RGB pictures; returns {class: [arrays in file order]}."""
    made = {}
    for name, count in counts.items():
        (root / name / "more").mkdir(parents=True)
        made[name] = []
        for k in range(count):
            picture = RNG.integers(0, 256, size=(3,) + size).astype("float32")
            where = root / name / ("more" if k == count - 1 else "") / f"{k}.png"  # (subfolders are walked too)
            save_img(where, picture, scale=False)
            made[name].append(picture)
        (root / name / "notes.txt").write_text("not a picture")
    return made


def test_flow_from_directory_reads_the_classes_and_their_targets(tmp_path):
    made = _folders(tmp_path, {"dogs": 2, "cats": 3})
    generator = ImageDataGenerator(rescale=1 / 255)
    batches = generator.flow_from_directory(tmp_path, target_size=(6, 5), batch_size=4, shuffle=False)
    assert batches.class_indices == {"cats": 0, "dogs": 1} and batches.samples == 5 and len(batches) == 2
    assert list(batches.classes) == [0, 0, 0, 1, 1]
    assert [p.split("/")[-1] for p in batches.filenames] == ["0.png", "1.png", "2.png", "0.png", "1.png"]
    x, y = batches[0]
    assert x.shape == (4, 3, 6, 5) and x.dtype == np.float32
    np.testing.assert_allclose(x, np.stack(made["cats"] + made["dogs"][:1]) / 255, rtol=1e-6)
    np.testing.assert_array_equal(y, np.eye(2)[[0, 0, 0, 1]])
    assert batches[1][0].shape == (1, 3, 6, 5)
    sparse = generator.flow_from_directory(tmp_path, (6, 5), class_mode="sparse", shuffle=False)[0][1]
    binary = generator.flow_from_directory(tmp_path, (6, 5), class_mode="binary", shuffle=False)[0][1]
    np.testing.assert_array_equal(sparse, [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(binary, [0, 0, 0, 1, 1])
    alone = generator.flow_from_directory(tmp_path, (3, 3), color_mode="grayscale", class_mode=None, shuffle=False)[0]
    assert alone.shape == (5, 1, 3, 3)
    x, target = generator.flow_from_directory(tmp_path, (6, 5), class_mode="input", batch_size=2)[0]
    np.testing.assert_array_equal(x, target)
    only_dogs = generator.flow_from_directory(tmp_path, (6, 5), classes=["dogs"], shuffle=False)
    assert only_dogs.samples == 2 and only_dogs.class_indices == {"dogs": 0}
    with pytest.raises(ValueError, match="class_mode"):
        generator.flow_from_directory(tmp_path, class_mode="onehot")
    with pytest.raises(ValueError, match="no folder"):
        generator.flow_from_directory(tmp_path, classes=["birds"])


@pytest.mark.slow  # (7-28 s cold; the quick tier ran 12 minutes cold: its parts stay tested there, CI runs both)
def test_a_model_learns_the_digits_from_picture_folders(tmp_path):
    (x_train, y_train), (x_test, y_test) = sg.datasets.load_digits()
    for split, images, labels in (("train", x_train[:300], y_train[:300]), ("test", x_test[:100], y_test[:100])):
        for k, (image, label) in enumerate(zip(images, labels)):
            (tmp_path / split / str(label)).mkdir(parents=True, exist_ok=True)
            save_img(tmp_path / split / str(label) / f"{k}.png", image * 255, scale=False)
    generator = ImageDataGenerator(rescale=1 / 255)
    train = generator.flow_from_directory(tmp_path / "train", (8, 8), color_mode="grayscale", batch_size=32, seed=0)
    test = generator.flow_from_directory(tmp_path / "test", (8, 8), color_mode="grayscale", batch_size=50,
                                         shuffle=False)
    L.set_seed(0)
    model = L.Sequential([L.Flatten(input_shape=(1, 8, 8)), L.Dense(10, activation="softmax")])
    model.compile(sg.optimizers.Adam(0.05), "categorical_crossentropy", metrics=["accuracy"])
    model.fit(train, epochs=15, verbose=0)
    assert model.evaluate(test, verbose=0)[1] > 0.85


def digit_folders(tmp_path, per_class=12):
    """Pictures of 0s and 1s (the digits, 8x8, scaled up) in class subfolders."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    for label in (0, 1):
        folder = tmp_path / f"class_{label}"
        folder.mkdir()
        for k, image in enumerate(digits.images[digits.target == label][:per_class]):
            save_img(folder / f"{k:02d}.png", np.kron(image, np.ones((2, 2)))[None] * 16, scale=False)
    return tmp_path


def test_image_dataset_from_directory_batches_labels_splits_and_trains(tmp_path):
    """keras.utils.image_dataset_from_directory: Keras's label modes, a seeded validation split
    ("both"), batches in the backend's image format, map / take, and fit on it."""
    root = digit_folders(tmp_path)
    train, val = sg.utils.image_dataset_from_directory(root, validation_split=0.25, subset="both", seed=3,
                                                       image_size=(16, 16), batch_size=5, color_mode="grayscale")
    assert train.class_names == ["class_0", "class_1"] and len(train.file_paths) == 18 and len(val.file_paths) == 6
    assert not set(train.file_paths) & set(val.file_paths) and len(train) == 4
    images, labels = train[0]
    assert images.shape == (5, 1, 16, 16) and images.dtype == np.float32 and labels.dtype == np.int32
    for path, label in zip(train.file_paths, train.labels):  # (each label its folder's)
        assert path.split("/")[-2] == f"class_{label}"
    one_hot = sg.utils.image_dataset_from_directory(root, label_mode="categorical", image_size=(8, 8), shuffle=False,
                                                    color_mode="grayscale", verbose=False)
    first_images, first_targets = one_hot.take(1)[0]
    np.testing.assert_array_equal(first_targets[0], [1.0, 0.0])
    np.testing.assert_array_equal(first_images[0], img_to_array(load_img(one_hot.file_paths[0], color_mode="grayscale",
                                                                         target_size=(8, 8), interpolation="bilinear")))
    scaled = train.map(lambda x, y: (x / 255.0, y)).prefetch(2)
    assert scaled[0][0].max() <= 1.0 and train[0][0].max() > 1.0
    L.set_seed(0)
    model = L.Sequential([L.Conv2D(4, 3, activation="relu", input_shape=(1, 16, 16)), L.MaxPool2D(2), L.Flatten(),
                          L.Dense(2, activation="softmax")])
    model.compile(sg.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(scaled, epochs=10, validation_data=val.map(lambda x, y: (x / 255.0, y)), verbose=0)
    assert history.history["val_accuracy"][-1] >= 5 / 6
    with pytest.raises(ValueError, match="validation_split needs subset"):
        sg.utils.image_dataset_from_directory(root, validation_split=0.2, seed=1)
