"""Keras's preprocessing layers, in the model so they run (and are saved) with it: Rescaling,
Normalization (learned by adapt), Resizing and CenterCrop, and the augmentations that act
only while training: RandomFlip, RandomTranslation, RandomRotation, RandomZoom, RandomContrast.
Images are (N, C, H, W), symgraph's layout.

    model = L.Sequential([L.Rescaling(1 / 16, input_shape=(1, 8, 8)), L.RandomRotation(0.05),
                          L.Conv2D(16, 3, activation="relu"), ...])
"""
import math

import numpy as np

from ..ops import elemwise as E
from ..ops.base import normalize_axis
from ..ops.index import getitem
from ..ops.shape import shape
from .base import Layer
from .image_format import ImageLayer
from .core import _own_stream
from . import image_transforms as T


class Rescaling(Layer):
    """x * scale + offset (Rescaling(1 / 255) for 0-255 pixels)."""
    supports_masking = True

    def __init__(self, scale, offset=0.0, **kw):
        super().__init__(**kw)
        self.scale, self.offset = float(scale), float(offset)

    def call(self, x, context):
        x = x if x.dtype[0] == "f" else E.cast(x, self.dtype)
        return x * self.scale + self.offset


class Normalization(Layer):
    """(x - mean) / sqrt(variance) per index along axis (Keras's default -1, the last; 1 for
    the channels of (N, C, H, W) images): given, or learned from data by adapt(data); invert
    undoes it."""
    supports_masking = True

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kw):
        super().__init__(**kw)
        self.axis = axis
        self.given = None if mean is None else (np.asarray(mean, "float64"), np.asarray(variance, "float64"))
        if (mean is None) != (variance is None):
            raise ValueError("Normalization: give both mean and variance, or neither (and adapt)")
        self.invert = bool(invert)

    def _axes(self, ndim):
        return () if self.axis is None else normalize_axis(self.axis, ndim, "Normalization's axis")

    def build(self, input_shape):
        kept = self._axes(len(input_shape))
        sizes = tuple(input_shape[a] for a in kept)
        if None in sizes:
            raise ValueError(f"{self.name} needs the length of axis {self.axis} of its input, got {input_shape}")
        self.mean = self.add_weight("mean", sizes, initializer="zeros", trainable=False)
        self.variance = self.add_weight("variance", sizes, initializer="ones", trainable=False)
        if self.given is not None:
            self.mean.set_value(np.broadcast_to(self.given[0], sizes).astype(self.dtype))
            self.variance.set_value(np.broadcast_to(self.given[1], sizes).astype(self.dtype))

    def adapt(self, data, batch_size=None, steps=None):
        """Learn the mean and variance of data (an array, or batches of arrays) along the axes
        not kept, in float64, batch by batch."""
        batches = [np.asarray(data)] if isinstance(data, np.ndarray) else [np.asarray(b) for b in data]
        if steps is not None:
            batches = batches[:int(steps)]
        first = batches[0]
        self.ensure_built((None,) + first.shape[1:])
        kept = self._axes(first.ndim)
        summed = tuple(a for a in range(first.ndim) if a not in kept)
        count, total, squares = 0, 0.0, 0.0
        for b in batches:
            b = b.astype("float64")
            count += int(np.prod([b.shape[a] for a in summed]))
            total = total + b.sum(axis=summed)
            squares = squares + (b * b).sum(axis=summed)
        mean = total / count
        self.mean.set_value(mean.astype(self.dtype))
        self.variance.set_value(np.maximum(squares / count - mean * mean, 0).astype(self.dtype))

    def call(self, x, context):
        kept = self._axes(x.ndim)
        pattern = [kept.index(a) if a in kept else "x" for a in range(x.ndim)]
        mean, variance = self.mean.dimshuffle(*pattern), self.variance.dimshuffle(*pattern)
        spread = E.maximum(E.sqrt(variance), 1e-7)  # (Keras's: epsilon for a constant feature)
        x = x if x.dtype[0] == "f" else E.cast(x, self.dtype)
        return mean + x * spread if self.invert else (x - mean) / spread


def _image_size(layer, x):
    if x.ndim != 4:
        raise ValueError(f"{layer.name} takes (N, C, H, W) images, got {x.type}")
    return x.type.shape[2], x.type.shape[3]


class CenterCrop(ImageLayer, Layer):
    """The central height x width of each image."""

    def __init__(self, height, width, **kw):
        super().__init__(**kw)
        self.height, self.width = int(height), int(width)

    def nchw_call(self, x, context):
        rows, cols = _image_size(self, x)
        if rows is not None and cols is not None and (rows < self.height or cols < self.width):
            raise ValueError(f"{self.name}: images of {rows}x{cols} are smaller than the crop "
                             f"{self.height}x{self.width}")
        top = (shape(x)[2] - self.height) // 2
        left = (shape(x)[3] - self.width) // 2
        return getitem(x, (slice(None), slice(None), slice(top, top + self.height), slice(left, left + self.width)))


class Resizing(ImageLayer, Layer):
    """Each image resized to height x width (TensorFlow's half-pixel centers, bilinear or
    nearest); crop_to_aspect_ratio first crops the largest central part of the target's shape."""

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False, **kw):
        super().__init__(**kw)
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"Resizing: interpolation is 'bilinear' or 'nearest', got {interpolation!r}")
        self.height, self.width = int(height), int(width)
        self.interpolation, self.crop_to_aspect_ratio = interpolation, bool(crop_to_aspect_ratio)

    def nchw_call(self, x, context):
        rows, cols = _image_size(self, x)
        x = x if x.dtype[0] == "f" else E.cast(x, self.dtype)
        if self.crop_to_aspect_ratio and rows and cols:
            crop_rows = min(rows, int(round(cols * self.height / self.width)))
            crop_cols = min(cols, int(round(rows * self.width / self.height)))
            top, left = (rows - crop_rows) // 2, (cols - crop_cols) // 2
            x = getitem(x, (slice(None), slice(None), slice(top, top + crop_rows), slice(left, left + crop_cols)))
        return T.resize(x, self.height, self.width, self.interpolation)


class _RandomImageLayer(ImageLayer, Layer):
    """An augmentation: identity at inference, a random change per image while training (and
    when called alone on arrays, as Keras 3's, unless training=False)."""
    augments_when_called = True

    def __init__(self, seed=None, **kw):
        super().__init__(**kw)
        self.stream = _own_stream(seed)

    def nchw_call(self, x, context):
        _image_size(self, x)
        if not context.training:
            return x
        return self.augment(x if x.dtype[0] == "f" else E.cast(x, self.dtype))

    def draw(self, x, low, high):
        """One value per image in [low, high)."""
        return self.stream.uniform([shape(x)[0]], low, high, dtype=x.dtype)


def _range(factor, what):
    """Keras's factor: a number f for [-f, f] (or [1 - f, 1 + f] for contrast), or (low, high)."""
    if isinstance(factor, (tuple, list)):
        low, high = (float(f) for f in factor)
    else:
        low, high = -abs(float(factor)), abs(float(factor))
    if low > high:
        raise ValueError(f"{what}: factor's lower bound {low} is above its upper {high}")
    return low, high


class RandomFlip(_RandomImageLayer):
    """Flip each image left-right ("horizontal"), upside down ("vertical") or either, each with
    probability one half, while training."""

    def __init__(self, mode="horizontal_and_vertical", seed=None, **kw):
        if mode not in ("horizontal", "vertical", "horizontal_and_vertical"):
            raise ValueError(f"RandomFlip: mode is 'horizontal', 'vertical' or 'horizontal_and_vertical', got {mode!r}")
        super().__init__(seed, **kw)
        self.mode = mode

    def augment(self, x):
        for axis, name in ((3, "horizontal"), (2, "vertical")):
            if name in self.mode:
                flip = E.lt(self.draw(x, 0.0, 1.0), 0.5).dimshuffle(0, "x", "x", "x")
                x = E.where(flip, getitem(x, (slice(None),) * axis + (slice(None, None, -1),)), x)
        return x


class _RandomAffine(_RandomImageLayer):
    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, **kw):
        if fill_mode not in ("reflect", "wrap", "nearest", "constant"):
            raise ValueError(f"{type(self).__name__}: fill_mode is 'reflect', 'wrap', 'nearest' or 'constant', "
                             f"got {fill_mode!r}")
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"{type(self).__name__}: interpolation is 'bilinear' or 'nearest', got {interpolation!r}")
        super().__init__(seed, **kw)
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, float(fill_value)

    def augment(self, x):
        rows, cols = _image_size(self, x)
        return T.transform(x, self.matrices(x, rows, cols), self.fill_mode, self.interpolation, self.fill_value)


class RandomRotation(_RandomAffine):
    """Rotate each image about its center by an angle drawn from factor's range, in fractions
    of a full turn (0.1: up to 36 degrees either way), while training."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, **kw):
        super().__init__(fill_mode, interpolation, seed, fill_value, **kw)
        self.factor = factor
        self.low, self.high = _range(factor, "RandomRotation")

    def matrices(self, x, rows, cols):
        angles = self.draw(x, self.low * 2 * math.pi, self.high * 2 * math.pi)
        return T.rotation_matrices(angles, rows, cols)


class RandomTranslation(_RandomAffine):
    """Shift each image by fractions of its height and width drawn from the factors' ranges."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, **kw):
        super().__init__(fill_mode, interpolation, seed, fill_value, **kw)
        self.height_factor, self.width_factor = height_factor, width_factor
        self.rows_range, self.cols_range = _range(height_factor, "RandomTranslation"), _range(width_factor, "RandomTranslation")

    def matrices(self, x, rows, cols):
        dy = self.draw(x, *self.rows_range) * rows
        dx = self.draw(x, *self.cols_range) * cols
        return T.translation_matrices(dx, dy)


class RandomZoom(_RandomAffine):
    """Zoom each image by 1 + a value drawn from height_factor's range (width_factor's for the
    width; the same zoom when it is None): positive shows more of the image (zooms out)."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, **kw):
        super().__init__(fill_mode, interpolation, seed, fill_value, **kw)
        self.height_factor, self.width_factor = height_factor, width_factor
        self.rows_range = _range(height_factor, "RandomZoom")
        self.cols_range = None if width_factor is None else _range(width_factor, "RandomZoom")

    def matrices(self, x, rows, cols):
        zoom_y = 1 + self.draw(x, *self.rows_range)
        zoom_x = zoom_y if self.cols_range is None else 1 + self.draw(x, *self.cols_range)
        return T.zoom_matrices(zoom_x, zoom_y, rows, cols)


class RandomCrop(_RandomImageLayer):
    """A height x width window of the batch at a random place while training (one place for the
    batch, as Keras's); at inference the images resized to it, their largest central part of its
    aspect first (Keras's), as Resizing(crop_to_aspect_ratio=True)."""

    def __init__(self, height, width, seed=None, **kw):
        super().__init__(seed, **kw)
        self.height, self.width = int(height), int(width)

    def nchw_call(self, x, context):
        rows, cols = _image_size(self, x)
        if not context.training:
            return Resizing(self.height, self.width, crop_to_aspect_ratio=True, data_format="channels_first",
                            dtype=self.dtype).nchw_call(x, context)
        if rows is not None and cols is not None and (rows < self.height or cols < self.width):
            raise ValueError(f"{self.name}: images of {rows}x{cols} are smaller than the crop "
                             f"{self.height}x{self.width}")
        at = self.stream.uniform([2], 0, 1, dtype="float64")
        top = E.cast(E.floor(at[0] * E.cast(shape(x)[2] - self.height + 1, "float64")), "int64")
        left = E.cast(E.floor(at[1] * E.cast(shape(x)[3] - self.width + 1, "float64")), "int64")
        return getitem(x, (slice(None), slice(None), slice(top, top + self.height), slice(left, left + self.width)))


class RandomBrightness(_RandomImageLayer):
    """Each image shifted by a value drawn from factor's range times value_range's span (factor:
    f for [-f, f], or (low, high), within [-1, 1]), clipped to value_range, while training."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kw):
        super().__init__(seed, **kw)
        self.factor, self.value_range = factor, tuple(float(v) for v in value_range)
        self.low, self.high = _range(factor, "RandomBrightness")
        if self.low < -1 or self.high > 1:
            raise ValueError(f"RandomBrightness: factor must lie in [-1, 1], got {factor!r}")

    def augment(self, x):
        low, high = self.value_range
        span = high - low
        shift = self.draw(x, self.low * span, self.high * span).dimshuffle(0, "x", "x", "x")
        return E.clip(x + shift, low, high)


class RandomContrast(_RandomImageLayer):
    """Scale each image's deviations from its channels' means by a factor drawn from
    [1 - lower, 1 + upper] (factor: a number for both, or (lower, upper)), while training."""

    def __init__(self, factor, seed=None, **kw):
        super().__init__(seed, **kw)
        self.factor = factor
        lower, upper = (float(f) for f in factor) if isinstance(factor, (tuple, list)) else (float(factor),) * 2
        if lower < 0 or upper < 0 or lower > 1:
            raise ValueError(f"RandomContrast: factor must be in [0, 1] below and non-negative above, got {factor!r}")
        self.low, self.high = 1 - lower, 1 + upper

    def augment(self, x):
        mean = x.mean(axis=(2, 3), keepdims=True)
        return (x - mean) * self.draw(x, self.low, self.high).dimshuffle(0, "x", "x", "x") + mean
