"""Images on disk, as Keras's keras.preprocessing.image reads them: load_img / img_to_array for
one picture (a feature extractor's input), array_to_img / save_img back, and the folder of
class subfolders that ImageDataGenerator.flow_from_directory walks (Pillow reads the files).

Arrays are channels-first (C, H, W), symgraph's layout, with Keras's values: 0-255 floats.
"""
import os

import numpy as np

from ..config import config

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff")  # (Keras's)
_MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}


def _pil():
    from PIL import Image  # (here: only these functions need Pillow)
    return Image


def _channels_last(data_format):
    """Whether an image is (H, W, C): data_format, else the backend's (K.image_data_format())."""
    from ..layers.image_format import resolved
    return resolved(data_format) == "channels_last"


def load_img(path, grayscale=False, color_mode="rgb", target_size=None, interpolation="nearest"):
    """The picture at `path` as a Pillow image in color_mode ("grayscale", "rgb", "rgba"),
    resized to target_size (height, width) when given, by `interpolation` ("nearest",
    "bilinear", "bicubic", "lanczos", "box", "hamming")."""
    Image = _pil()
    mode = _MODES.get("grayscale" if grayscale else color_mode)
    if mode is None:
        raise ValueError(f"color_mode must be one of {sorted(_MODES)}, got {color_mode!r}")
    with Image.open(path) as opened:
        image = opened.convert(mode)
    if target_size is not None:
        height, width = target_size
        if image.size != (width, height):
            method = getattr(Image.Resampling, str(interpolation).upper(), None)
            if method is None:
                raise ValueError(f"unknown interpolation {interpolation!r}")
            image = image.resize((width, height), method)
    return image


def img_to_array(img, data_format=None, dtype=None):
    """A Pillow image as a (C, H, W) array of its 0-255 values (floatX unless dtype says), or
    (H, W, C) with data_format="channels_last" (or that backend format)."""
    x = np.asarray(img, dtype=dtype or config.floatX)
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3:
        raise ValueError(f"img_to_array: unsupported image shape {x.shape}")
    return x if _channels_last(data_format) else x.transpose(2, 0, 1)


def array_to_img(x, data_format=None, scale=True):
    """A (C, H, W) array (1, 3 or 4 channels; (H, W, C) with data_format="channels_last") as a
    Pillow image; scale stretches its values to 0-255 first (Keras's default), else they are
    taken as 0-255."""
    x = np.asarray(x, dtype=np.float64)
    if _channels_last(data_format) and x.ndim == 3:
        x = x.transpose(2, 0, 1)
    if x.ndim != 3 or x.shape[0] not in (1, 3, 4):
        raise ValueError(f"array_to_img takes a (C, H, W) array of 1, 3 or 4 channels, got shape {x.shape}")
    if scale:
        x = x - x.min()
        top = x.max()
        x = x / top * 255 if top else x
    pixels = np.clip(np.rint(x), 0, 255).astype(np.uint8).transpose(1, 2, 0)
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[pixels.shape[2]]
    return _pil().fromarray(pixels[:, :, 0] if mode == "L" else pixels, mode)


def save_img(path, x, data_format=None, file_format=None, scale=True):
    """Write a (C, H, W) array as a picture (its format from the file's name unless given)."""
    array_to_img(x, data_format, scale).save(path, format=file_format)


def list_directory(directory, classes=None, extensions=EXTENSIONS):
    """(file paths, integer labels, {class name: label}) of the pictures in `directory`'s
    subfolders, one class each: the subfolders' names sorted, or `classes` in its order; the
    files of a class in sorted order, its subfolders' too."""
    if classes is None:
        classes = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir())
    class_indices = {name: k for k, name in enumerate(classes)}
    paths, labels = [], []
    for name in classes:
        folder = os.path.join(directory, name)
        if not os.path.isdir(folder):
            raise ValueError(f"flow_from_directory: no folder {folder!r} for class {name!r}")
        found = []
        for root, folders, files in os.walk(folder):
            folders.sort()
            found += [os.path.join(root, f) for f in sorted(files) if f.lower().endswith(extensions)]
        paths += found
        labels += [class_indices[name]] * len(found)
    return paths, np.asarray(labels, dtype=np.int32), class_indices
