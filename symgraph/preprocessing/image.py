"""ImageDataGenerator: batches of randomly transformed NCHW images (NHWC with
data_format="channels_last", or that backend format) for Model.fit, as Keras's
(data augmentation for a small convnet: datagen.flow(x, y, batch_size=32) into model.fit).

Each image is moved by one affine map (rotation, shear, shift and zoom about its centre,
scipy's affine_transform with linear interpolation) and flipped; pixels from outside the image
are filled as fill_mode says ("nearest", "constant" with cval, "reflect" or "wrap"); its
brightness is scaled and its values shifted by random amounts when asked. Then it is
standardized as Keras's standardize does, in Keras's order: preprocessing_function, rescale
(1 / 255 for 8-bit images), each image's own mean and spread (samplewise_*), the training set's
per-channel mean and spread and ZCA whitening (featurewise_*, zca_whitening: learned by
fit(x_train) first).
"""
import functools
import math

import numpy as np

from ..config import config
from ..utils import Sequence
from .image_files import array_to_img, img_to_array, list_directory, load_img, save_img  # noqa: F401 (Keras's names here)


class ImageDataGenerator:
    def __init__(self, featurewise_center=False, samplewise_center=False, featurewise_std_normalization=False,
                 samplewise_std_normalization=False, zca_whitening=False, zca_epsilon=1e-6, rotation_range=0.0,
                 width_shift_range=0.0, height_shift_range=0.0, brightness_range=None, shear_range=0.0,
                 zoom_range=0.0, channel_shift_range=0.0, fill_mode="nearest", cval=0.0, horizontal_flip=False,
                 vertical_flip=False, rescale=None, preprocessing_function=None, data_format=None,
                 dtype=None):
        from ..layers.image_format import resolved
        # (channels_last, or that backend format: NHWC images in and out, NCHW inside)
        self.data_format = resolved(data_format)
        self.channels_last = self.data_format == "channels_last"
        if fill_mode not in ("nearest", "constant", "reflect", "wrap"):
            raise ValueError(f"fill_mode must be 'nearest', 'constant', 'reflect' or 'wrap', got {fill_mode!r}")
        if brightness_range is not None and np.shape(brightness_range) != (2,):
            raise ValueError(f"brightness_range is (lowest, highest) factors, got {brightness_range!r}")
        self.featurewise_center, self.featurewise_std_normalization = featurewise_center, featurewise_std_normalization
        self.samplewise_center, self.samplewise_std_normalization = samplewise_center, samplewise_std_normalization
        self.zca_whitening, self.zca_epsilon = zca_whitening, float(zca_epsilon)
        self.rotation_range, self.shear_range = float(rotation_range), float(shear_range)
        self.width_shift_range, self.height_shift_range = float(width_shift_range), float(height_shift_range)
        low, high = (1 - zoom_range, 1 + zoom_range) if np.isscalar(zoom_range) else zoom_range
        self.zoom_range = (float(low), float(high))
        self.brightness_range = None if brightness_range is None else tuple(map(float, brightness_range))
        self.channel_shift_range = float(channel_shift_range)
        self.horizontal_flip, self.vertical_flip = bool(horizontal_flip), bool(vertical_flip)
        self.fill_mode, self.cval, self.rescale = fill_mode, float(cval), rescale
        self.preprocessing_function = preprocessing_function
        self.dtype = dtype or config.floatX
        self.mean = self.std = self.principal_components = None  # (learned by fit)

    def _first(self, x):
        """x (an image or a batch) with its channels first: as given, or moved from last."""
        x = np.asarray(x)
        return np.moveaxis(x, -1, -3) if self.channels_last and x.ndim >= 3 else x

    def _back(self, x):
        return np.moveaxis(x, -3, -1) if self.channels_last and x.ndim >= 3 else x

    def random_transform(self, image, rng=None):
        """One image ((C, H, W), or (H, W, C) channels_last), transformed by a random draw of this
        generator's settings."""
        if image.ndim != 3:
            raise ValueError(f"random_transform takes one image of 3 axes, got shape {image.shape}")
        return self._back(self._random_transform(self._first(image), rng))

    def _random_transform(self, image, rng=None):
        rng = rng if rng is not None else np.random.default_rng()
        h, w = image.shape[1:]
        theta = math.radians(rng.uniform(-self.rotation_range, self.rotation_range)) if self.rotation_range else 0.0
        ty = _shift(rng, self.height_shift_range, h)
        tx = _shift(rng, self.width_shift_range, w)
        shear = math.radians(rng.uniform(-self.shear_range, self.shear_range)) if self.shear_range else 0.0
        zy, zx = (rng.uniform(*self.zoom_range, size=2) if self.zoom_range != (1.0, 1.0) else (1.0, 1.0))
        out = image
        if theta or tx or ty or shear or zx != 1 or zy != 1:
            from scipy import ndimage  # (here: importing it costs a tenth of a second)
            # output pixel p takes input pixel matrix @ (p - centre) + centre - shift (rows,
            # columns); matrix = rotation @ shear @ zoom, Keras's order
            rotation = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
            sheared = np.array([[1.0, -math.sin(shear)], [0.0, math.cos(shear)]])
            matrix = rotation @ sheared @ np.diag([zy, zx])
            centre = np.array([(h - 1) / 2, (w - 1) / 2])
            offset = centre - matrix @ centre - np.array([ty, tx])
            out = np.stack([ndimage.affine_transform(channel, matrix, offset, order=1, mode=_MODES[self.fill_mode],
                                                     cval=self.cval) for channel in image])
        if self.channel_shift_range:
            # (one shift for every channel, the result kept within the image's range: Keras's)
            shifted = out + rng.uniform(-self.channel_shift_range, self.channel_shift_range)
            out = np.clip(shifted, out.min(), out.max())
        if self.brightness_range is not None:
            # (the values times a factor: Keras goes through PIL's 8-bit images, which rescales
            # them to 0-255 first and clips at 255)
            out = out * rng.uniform(*self.brightness_range)
        if self.horizontal_flip and rng.random() < 0.5:
            out = out[:, :, ::-1]
        if self.vertical_flip and rng.random() < 0.5:
            out = out[:, ::-1, :]
        return out

    def standardize(self, x):
        """Keras's standardize of an image or a batch of them (in this generator's format), after
        its transform."""
        return self._back(self._standardize(self._first(x)))

    def _standardize(self, x):
        if self.preprocessing_function is not None:
            x = self.preprocessing_function(x)
        if self.rescale:
            x = x * self.rescale
        image_axes = tuple(range(x.ndim - 3, x.ndim))
        if self.samplewise_center:
            x = x - x.mean(axis=image_axes, keepdims=True)
        if self.samplewise_std_normalization:
            x = x / (x.std(axis=image_axes, keepdims=True) + 1e-6)
        if self.featurewise_center or self.featurewise_std_normalization or self.zca_whitening:
            if self.mean is None and self.principal_components is None:
                raise ValueError("this ImageDataGenerator normalizes by the training set's statistics "
                                 "(featurewise_* or zca_whitening): call its fit(x_train) first")
        if self.featurewise_center:
            x = x - self.mean
        if self.featurewise_std_normalization:
            x = x / (self.std + 1e-6)
        if self.zca_whitening:
            x = (x.reshape(-1, self.principal_components.shape[0]) @ self.principal_components).reshape(x.shape)
        return x

    def fit(self, x, augment=False, rounds=1, seed=None):
        """Learn the training set's per-channel mean and standard deviation and its ZCA whitening
        matrix from images x (N, C, H, W), rescaled first; augment: from `rounds` random
        transforms of each image instead."""
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim != 4:
            raise ValueError(f"fit takes (N, C, H, W) images (or (N, H, W, C) channels_last), got shape {x.shape}")
        x = self._first(x)
        if augment:
            rng = np.random.default_rng(seed)
            x = np.stack([self._random_transform(image, rng) for _ in range(rounds) for image in x])
        x = x * self.rescale if self.rescale else x.copy()
        if self.featurewise_center:
            self.mean = x.mean(axis=(0, 2, 3), keepdims=True)[0]
            x -= self.mean
        if self.featurewise_std_normalization:
            self.std = x.std(axis=(0, 2, 3), keepdims=True)[0]
            x /= self.std + 1e-6
        if self.zca_whitening:
            flat = x.reshape(len(x), -1).astype(np.float64)
            u, s, _ = np.linalg.svd(flat.T @ flat / len(flat))
            self.principal_components = ((u / np.sqrt(s + self.zca_epsilon)) @ u.T).astype(self.dtype)
        return self

    def flow(self, x, y=None, batch_size=32, shuffle=True, seed=None):
        """Endless batches (x, y), or x alone without y, freshly transformed each time; one pass
        over the data is len() batches (Model.fit's steps_per_epoch)."""
        return ImageBatches(self, x, y, batch_size, shuffle, seed)

    def flow_from_directory(self, directory, target_size=(256, 256), color_mode="rgb", classes=None,
                            class_mode="categorical", batch_size=32, shuffle=True, seed=None, interpolation="nearest"):
        """Batches of the pictures in `directory`'s subfolders, one class each (Keras's layout:
        train/cats/*.jpg, train/dogs/*.jpg), read as `color_mode` at target_size (height, width)
        when needed, transformed and standardized as flow's. Their targets by class_mode:
        "categorical" one-hot rows, "binary" 0/1, "sparse" class numbers, "input" the images
        themselves, None none (for predict). The batches' class_indices, classes and filenames
        say which is which."""
        return DirectoryBatches(self, directory, target_size, color_mode, classes, class_mode, batch_size, shuffle,
                                seed, interpolation)


_MODES = {"nearest": "nearest", "constant": "constant", "reflect": "reflect", "wrap": "grid-wrap"}


def _shift(rng, amount, length):
    """A shift in pixels: amount a fraction of the length below 1, else pixels."""
    if not amount:
        return 0.0
    limit = amount * length if amount < 1 else amount
    return rng.uniform(-limit, limit)


class ImageBatches(Sequence):
    """The batches of ImageDataGenerator.flow: indexable (a Sequence: batch i of the current
    pass) and an endless iterator (pass after pass, reshuffled each time)."""

    echo = False  # the images are their own targets

    def __init__(self, generator, x, y, batch_size, shuffle, seed):
        self.x = np.asarray(x)
        if self.x.ndim != 4:
            raise ValueError(f"flow takes (N, C, H, W) images (or (N, H, W, C) channels_last), got shape "
                             f"{self.x.shape}")
        self.x = generator._first(self.x)  # (NCHW inside; batches go out in the generator's format)
        self._start(generator, len(self.x), None if y is None else np.asarray(y), batch_size, shuffle, seed)

    def _start(self, generator, n, y, batch_size, shuffle, seed):
        if y is not None and len(y) != n:
            raise ValueError(f"flow: {n} images but {len(y)} targets")
        self.generator, self.n, self.y = generator, n, y
        self.batch_size, self.shuffle = int(batch_size), bool(shuffle)
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(n) if shuffle else np.arange(n)
        self.position = 0

    def _images(self, picked):
        return self.x[picked]

    def __len__(self):
        return -(-self.n // self.batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} of {len(self)}")
        picked = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        images = self._images(picked).astype(self.generator.dtype)
        batch = self.generator._standardize(np.stack([self.generator._random_transform(image, self.rng)
                                                      for image in images]))
        batch = np.ascontiguousarray(self.generator._back(batch.astype(self.generator.dtype, copy=False)))
        if self.echo:  # (class_mode="input": an autoencoder's targets)
            return batch, batch
        return batch if self.y is None else (batch, self.y[picked])

    def on_epoch_end(self):
        if self.shuffle:
            self.order = self.rng.permutation(self.n)

    def __iter__(self):
        return self

    def __next__(self):
        if self.position >= len(self):
            self.position = 0
            self.on_epoch_end()
        batch = self[self.position]
        self.position += 1
        return batch


class DirectoryBatches(ImageBatches):
    """The batches of ImageDataGenerator.flow_from_directory (Keras's DirectoryIterator): the
    files are read as each batch needs them."""
    MODES = ("categorical", "binary", "sparse", "input", None)

    def __init__(self, generator, directory, target_size, color_mode, classes, class_mode, batch_size, shuffle, seed,
                 interpolation):
        if class_mode not in self.MODES:
            raise ValueError(f"class_mode must be one of {self.MODES}, got {class_mode!r}")
        self.filenames, self.classes, self.class_indices = list_directory(directory, classes)
        if class_mode == "binary" and len(self.class_indices) != 2:
            raise ValueError(f"class_mode='binary' needs two classes, {directory!r} has {sorted(self.class_indices)}")
        self.directory, self.samples = directory, len(self.filenames)
        self.load = functools.partial(load_img, color_mode=color_mode, target_size=tuple(target_size),
                                      interpolation=interpolation)
        targets = {"categorical": lambda: np.eye(len(self.class_indices), dtype=generator.dtype)[self.classes],
                   "binary": lambda: self.classes.astype(generator.dtype), "sparse": lambda: self.classes,
                   "input": lambda: None, None: lambda: None}[class_mode]()
        self.echo = class_mode == "input"
        print(f"Found {self.samples} images belonging to {len(self.class_indices)} classes.")  # (as Keras says)
        self._start(generator, self.samples, targets, batch_size, shuffle, seed)

    def _images(self, picked):
        return np.stack([img_to_array(self.load(self.filenames[k]), "channels_first", dtype=self.generator.dtype)
                         for k in picked])
