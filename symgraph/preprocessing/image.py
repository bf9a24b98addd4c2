"""ImageDataGenerator: batches of randomly transformed NCHW images for Model.fit, as Keras's
(data augmentation for a small convnet: datagen.flow(x, y, batch_size=32) into model.fit).

Each image is moved by one affine map (rotation, shift and zoom about its centre, scipy's
affine_transform with linear interpolation) and flipped; pixels from outside the image are
filled as fill_mode says ("nearest", "constant" with cval, "reflect" or "wrap"). rescale
multiplies every value first (1 / 255 for 8-bit images).
"""
import math

import numpy as np

from ..config import config
from ..utils import Sequence


class ImageDataGenerator:
    def __init__(self, rotation_range=0.0, width_shift_range=0.0, height_shift_range=0.0, zoom_range=0.0,
                 horizontal_flip=False, vertical_flip=False, fill_mode="nearest", cval=0.0, rescale=None,
                 data_format="channels_first", dtype=None):
        if data_format != "channels_first":
            raise ValueError("symgraph's images are channels_first (N, C, H, W); transpose channels_last ones with "
                             "x.transpose(0, 3, 1, 2)")
        if fill_mode not in ("nearest", "constant", "reflect", "wrap"):
            raise ValueError(f"fill_mode must be 'nearest', 'constant', 'reflect' or 'wrap', got {fill_mode!r}")
        self.rotation_range = float(rotation_range)
        self.width_shift_range, self.height_shift_range = float(width_shift_range), float(height_shift_range)
        low, high = (1 - zoom_range, 1 + zoom_range) if np.isscalar(zoom_range) else zoom_range
        self.zoom_range = (float(low), float(high))
        self.horizontal_flip, self.vertical_flip = bool(horizontal_flip), bool(vertical_flip)
        self.fill_mode, self.cval, self.rescale = fill_mode, float(cval), rescale
        self.dtype = dtype or config.floatX

    def random_transform(self, image, rng=None):
        """One (C, H, W) image, transformed by a random draw of this generator's settings."""
        rng = rng if rng is not None else np.random.default_rng()
        if image.ndim != 3:
            raise ValueError(f"random_transform takes one (C, H, W) image, got shape {image.shape}")
        h, w = image.shape[1:]
        theta = math.radians(rng.uniform(-self.rotation_range, self.rotation_range)) if self.rotation_range else 0.0
        ty = _shift(rng, self.height_shift_range, h)
        tx = _shift(rng, self.width_shift_range, w)
        zy, zx = (rng.uniform(*self.zoom_range, size=2) if self.zoom_range != (1.0, 1.0) else (1.0, 1.0))
        out = image
        if theta or tx or ty or zx != 1 or zy != 1:
            from scipy import ndimage  # (here: importing it costs a tenth of a second)
            # output pixel p takes input pixel matrix @ (p - centre) + centre - shift (rows, columns)
            cos, sin = math.cos(theta), math.sin(theta)
            matrix = np.array([[cos * zy, -sin * zx], [sin * zy, cos * zx]])
            centre = np.array([(h - 1) / 2, (w - 1) / 2])
            offset = centre - matrix @ centre - np.array([ty, tx])
            out = np.stack([ndimage.affine_transform(channel, matrix, offset, order=1, mode=_MODES[self.fill_mode],
                                                     cval=self.cval) for channel in image])
        if self.horizontal_flip and rng.random() < 0.5:
            out = out[:, :, ::-1]
        if self.vertical_flip and rng.random() < 0.5:
            out = out[:, ::-1, :]
        return out

    def standardize(self, batch):
        return batch * self.rescale if self.rescale else batch

    def flow(self, x, y=None, batch_size=32, shuffle=True, seed=None):
        """Endless batches (x, y), or x alone without y, freshly transformed each time; one pass
        over the data is len() batches (Model.fit's steps_per_epoch)."""
        return ImageBatches(self, x, y, batch_size, shuffle, seed)


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

    def __init__(self, generator, x, y, batch_size, shuffle, seed):
        self.generator, self.x = generator, np.asarray(x)
        self.y = None if y is None else np.asarray(y)
        if self.x.ndim != 4:
            raise ValueError(f"flow takes (N, C, H, W) images, got shape {self.x.shape}")
        if self.y is not None and len(self.y) != len(self.x):
            raise ValueError(f"flow: {len(self.x)} images but {len(self.y)} targets")
        self.batch_size, self.shuffle = int(batch_size), bool(shuffle)
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(self.x)) if shuffle else np.arange(len(self.x))
        self.position = 0

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} of {len(self)}")
        picked = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        images = self.generator.standardize(self.x[picked].astype(self.generator.dtype))
        batch = np.stack([self.generator.random_transform(image, self.rng) for image in images])
        batch = batch.astype(self.generator.dtype, copy=False)
        return batch if self.y is None else (batch, self.y[picked])

    def on_epoch_end(self):
        if self.shuffle:
            self.order = self.rng.permutation(len(self.x))

    def __iter__(self):
        return self

    def __next__(self):
        if self.position >= len(self):
            self.position = 0
            self.on_epoch_end()
        batch = self[self.position]
        self.position += 1
        return batch
