"""tf.image: TensorFlow 1's image functions on HWC images or NHWC batches (resizing as TensorFlow
1 resizes: corners not aligned and no half-pixel centres, its default), the flips, crops and
colour changes of its input pipelines, and the random ones drawn from the seeded streams (each
image of a batch its own draw)."""
import importlib
import types

import numpy as np

from ...ops import elemwise as E, reduce as R
from ...ops.base import as_variable
from ...ops.padding import pad
from ...ops.selection import take
from ...layers.image_transforms import resize
from .names import name_functions
from .variables import _stream

S = importlib.import_module("symgraph.ops.shape")

ResizeMethod = types.SimpleNamespace(BILINEAR=0, NEAREST_NEIGHBOR=1, BICUBIC=2, AREA=3)


def _batched(image):
    """(the images as a batch NHWC, a function giving the result the input's rank)."""
    image = as_variable(image)
    if image.ndim == 3:
        return image.dimshuffle("x", 0, 1, 2), lambda out: out[0]
    if image.ndim == 4:
        return image, lambda out: out
    raise ValueError(f"tf.image: expected an HWC image or NHWC images, got {image.describe()}")


def _sources(in_length, out_length, align_corners):
    """Each output pixel's position in the input (TensorFlow 1: out * in / out, or with aligned
    corners out * (in - 1) / (out - 1))."""
    if align_corners and out_length > 1:
        scale = E.cast(in_length - 1, "float32") / np.float32(out_length - 1)
    else:
        scale = E.cast(in_length, "float32") / np.float32(out_length)
    return E.cast(S.arange(out_length), "float32") * scale


def _resize_axis(x, axis, out_length, method, align_corners):
    in_length = S.shape(x)[axis]
    position = _sources(in_length, out_length, align_corners)
    last = in_length - 1
    if method == ResizeMethod.NEAREST_NEIGHBOR:
        nearest = E.floor(position + 0.5) if align_corners else E.floor(position)
        return take(x, E.minimum(E.cast(nearest, "int64"), last), axis=axis)
    low = E.floor(position)
    fraction = position - low
    low = E.cast(low, "int64")
    high = E.minimum(low + 1, last)
    pattern = ["x"] * x.ndim
    pattern[axis] = 0
    weight = S.dimshuffle(fraction, *pattern)
    below, above = take(x, E.minimum(low, last), axis=axis), take(x, high, axis=axis)
    return below + (above - below) * weight


def resize_images(images, size, method=ResizeMethod.BILINEAR, align_corners=False, preserve_aspect_ratio=False):
    """The images at size (height, width): bilinear (float32 out, as TensorFlow's) or nearest
    neighbour (the input's dtype). BICUBIC and AREA are not supported. Images of a known size
    go through Keras's resize (layers/image_transforms.py, TensorFlow 1's source positions);
    others read positions computed in the graph from their size."""
    if method not in (ResizeMethod.BILINEAR, ResizeMethod.NEAREST_NEIGHBOR, "bilinear", "nearest"):
        raise NotImplementedError(f"resize_images: method {method!r}: bilinear and nearest neighbour only")
    method = {"bilinear": ResizeMethod.BILINEAR, "nearest": ResizeMethod.NEAREST_NEIGHBOR}.get(method, method)
    height, width = (int(s) for s in size)
    x, back = _batched(images)
    if method == ResizeMethod.BILINEAR:
        x = E.cast(x, "float32")
    if None not in x.type.shape[1:3]:
        nchw = resize(x.dimshuffle(0, 3, 1, 2), height, width,
                      "bilinear" if method == ResizeMethod.BILINEAR else "nearest",
                      "align_corners" if align_corners else "legacy")
        return back(nchw.dimshuffle(0, 2, 3, 1))
    x = _resize_axis(_resize_axis(x, 1, height, method, align_corners), 2, width, method, align_corners)
    return back(x)


def resize_bilinear(images, size, align_corners=False, name=None, half_pixel_centers=False):
    return resize_images(images, size, ResizeMethod.BILINEAR, align_corners)


def resize_nearest_neighbor(images, size, align_corners=False, name=None, half_pixel_centers=False):
    return resize_images(images, size, ResizeMethod.NEAREST_NEIGHBOR, align_corners)


def flip_left_right(image):
    x, back = _batched(image)
    return back(x[:, :, ::-1])


def flip_up_down(image):
    x, back = _batched(image)
    return back(x[:, ::-1])


def _random_flip(image, seed, axis):
    x, back = _batched(image)
    flip = E.lt(_stream(seed).uniform([S.shape(x)[0]], dtype="float32"), 0.5).dimshuffle(0, "x", "x", "x")
    flipped = x[:, ::-1] if axis == 1 else x[:, :, ::-1]
    return back(E.where(flip, flipped, x))


def random_flip_left_right(image, seed=None):
    """Each image mirrored left to right with probability 1/2."""
    return _random_flip(image, seed, 2)


def random_flip_up_down(image, seed=None):
    return _random_flip(image, seed, 1)


def per_image_standardization(image):
    """Each image less its mean, divided by max(its standard deviation, 1 / sqrt(its number of
    values)) (float32)."""
    x, back = _batched(image)
    x = E.cast(x, "float32")
    mean = R.mean(x, axis=(1, 2, 3), keepdims=True)
    std = E.norm_sqrt(R.mean(E.square(x - mean), axis=(1, 2, 3), keepdims=True))
    count = E.cast(S.shape(x)[1] * S.shape(x)[2] * S.shape(x)[3], "float32")
    return back((x - mean) / E.maximum(std, 1 / E.sqrt(count)))


def _static_hw(x, what):
    height, width = x.type.shape[1], x.type.shape[2]
    if height is None or width is None:
        raise ValueError(f"{what}: the images' height and width must be known when the graph is built, got "
                         f"{x.describe()}")
    return height, width


def crop_to_bounding_box(image, offset_height, offset_width, target_height, target_width):
    x, back = _batched(image)
    return back(x[:, offset_height:offset_height + target_height, offset_width:offset_width + target_width])


def pad_to_bounding_box(image, offset_height, offset_width, target_height, target_width):
    """The image at (offset_height, offset_width) in zeros of the target size."""
    x, back = _batched(image)
    height, width = _static_hw(x, "pad_to_bounding_box")
    after_h, after_w = target_height - offset_height - height, target_width - offset_width - width
    if min(offset_height, offset_width, after_h, after_w) < 0:
        raise ValueError(f"pad_to_bounding_box: a {height}x{width} image does not fit {target_height}x{target_width} "
                         f"at ({offset_height}, {offset_width})")
    return back(pad(x, [(0, 0), (offset_height, after_h), (offset_width, after_w), (0, 0)], "constant", 0))


def resize_image_with_crop_or_pad(image, target_height, target_width):
    """Centred: cropped where the image is larger, padded with zeros where it is smaller."""
    x, back = _batched(image)
    height, width = _static_hw(x, "resize_image_with_crop_or_pad")
    top, left = max((height - target_height) // 2, 0), max((width - target_width) // 2, 0)
    x = x[:, top:top + min(height, target_height), left:left + min(width, target_width)]
    height, width = min(height, target_height), min(width, target_width)
    pad_top, pad_left = (target_height - height) // 2, (target_width - width) // 2
    pads = [(0, 0), (pad_top, target_height - height - pad_top), (pad_left, target_width - width - pad_left), (0, 0)]
    return back(pad(x, pads, "constant", 0))


resize_with_crop_or_pad = resize_image_with_crop_or_pad


def central_crop(image, central_fraction):
    """The central fraction of each side (TensorFlow's rounding of the border)."""
    x, back = _batched(image)
    height, width = _static_hw(x, "central_crop")
    top = int((height - height * central_fraction) / 2)
    left = int((width - width * central_fraction) / 2)
    return back(x[:, top:height - top, left:width - left])


def rgb_to_grayscale(images, name=None):
    """0.2989 R + 0.5870 G + 0.1140 B, one channel kept."""
    x = as_variable(images)
    weights = np.array([0.2989, 0.5870, 0.1140], "float32")
    gray = R.sum(E.cast(x, "float32") * weights, axis=-1, keepdims=True)
    return gray if x.dtype == "float32" else E.cast(gray, x.dtype)


def convert_image_dtype(image, dtype, saturate=False, name=None):
    """Integers to floats in [0, 1] (divided by the integer type's largest value), floats to
    integers scaled up to it; floats to floats cast."""
    x = as_variable(image)
    dtype = np.dtype(dtype)
    source = np.dtype(x.dtype)
    if source == dtype:
        return x
    if source.kind in "ui" and dtype.kind == "f":
        return E.cast(x, dtype.name) * np.asarray(1.0 / np.iinfo(source).max, dtype)
    if source.kind == "f" and dtype.kind in "ui":
        return E.cast(x * (np.iinfo(dtype).max + 0.5), dtype.name)
    return E.cast(x, dtype.name)


def adjust_brightness(image, delta):
    return as_variable(image) + delta


def random_brightness(image, max_delta, seed=None):
    """delta drawn in [-max_delta, max_delta) once per call, added."""
    x = as_variable(image)
    return x + E.cast(_stream(seed).uniform([], low=-max_delta, high=max_delta, dtype="float32"), x.dtype)


def adjust_contrast(images, contrast_factor):
    """(x - mean) * factor + mean, the mean of each channel of each image."""
    x, back = _batched(images)
    mean = R.mean(x, axis=(1, 2), keepdims=True)
    return back((x - mean) * contrast_factor + mean)


def random_contrast(image, lower, upper, seed=None):
    factor = _stream(seed).uniform([], low=lower, high=upper, dtype="float32")
    return adjust_contrast(image, E.cast(factor, as_variable(image).dtype))


name_functions(globals(), {"resize_bilinear": "ResizeBilinear", "resize_nearest_neighbor": "ResizeNearestNeighbor",
                           "rgb_to_grayscale": "rgb_to_grayscale", "convert_image_dtype": "convert_image"})
