"""The data layers a Net feeds its inputs from before each forward, as Caffe's do: HDF5Data (a
text file listing .h5 files, a dataset per top), ImageData (a text file of "image label" lines,
read as OpenCV reads them: BGR, 0-255, through Caffe's DataTransformer: mean, scale, crops,
mirrors), MemoryData (arrays given by net.set_input_arrays) and DummyData (fillers). Caffe's
LMDB / LevelDB `Data` layer and WindowData are not implemented: the error says what to use
instead. (A Python layer without bottoms feeds the net too: python_layer.py.)"""
import os

import numpy as np

from .fillers import fill
from ..protobuf.text_format import Message

_INSTEAD = ("use an HDF5Data layer (source: a text file listing .h5 files with a dataset per top), an ImageData "
            "layer (source: a text file of 'image-path label' lines), a MemoryData "
            "layer (net.set_input_arrays(data, labels)) or an Input layer filled by net.blobs[name].data[...] = x")


def make_feeder(lp, phase):
    kind, name = str(lp.get("type")), str(lp.get("name"))
    if kind == "HDF5Data":
        return HDF5Feeder(lp)
    if kind == "MemoryData":
        return MemoryFeeder(lp)
    if kind == "DummyData":
        return DummyFeeder(lp)
    if kind == "ImageData":
        return ImageFeeder(lp, phase)
    if kind == "Python":
        from .python_layer import PythonFeeder
        return PythonFeeder(lp, phase)
    raise NotImplementedError(f"layer {name!r}: the {kind} layer is not implemented here; {_INSTEAD}")


class HDF5Feeder:
    """Caffe's HDF5DataLayer: batch_size rows at a time from each file in turn (the files and
    their rows in a new random order each pass with shuffle), wrapping around at the end."""

    kind = "HDF5Data"

    def __init__(self, lp):
        p = lp.message("hdf5_data_param")
        self.name, self.tops = str(lp.get("name")), [str(t) for t in lp.all("top")]
        self.batch_size = int(p.get("batch_size", 0))
        if self.batch_size <= 0:
            raise ValueError(f"layer {self.name!r}: hdf5_data_param needs a batch_size")
        source = str(p.get("source", ""))
        if not os.path.exists(source):
            raise FileNotFoundError(f"layer {self.name!r}: the HDF5Data source {source!r} does not exist (a text file "
                                    f"listing .h5 files, one a line; paths are read from the working directory)")
        with open(source, encoding="utf-8") as f:
            self.files = [line.strip() for line in f if line.strip()]
        if not self.files:
            raise ValueError(f"layer {self.name!r}: {source} lists no .h5 files")
        self.shuffle = bool(p.get("shuffle", False))
        self._rng = np.random.default_rng(0)
        self._order = list(range(len(self.files)))
        self._file, self._row, self._arrays, self._rows = 0, 0, None, None
        self._load(0)

    def _load(self, position):
        import h5py
        path = self.files[self._order[position]]
        with h5py.File(path, "r") as f:
            missing = [t for t in self.tops if t not in f]
            if missing:
                raise KeyError(f"layer {self.name!r}: {path} has no dataset {missing[0]!r} (its datasets: {list(f)})")
            self._arrays = [np.asarray(f[t], dtype=np.float32) for t in self.tops]
        lengths = {len(a) for a in self._arrays}
        if len(lengths) != 1:
            raise ValueError(f"layer {self.name!r}: the datasets of {path} differ in length")
        self._rows = np.arange(len(self._arrays[0]))
        if self.shuffle:
            self._rng.shuffle(self._rows)
        self._file, self._row = position, 0

    def shapes(self):
        return [(self.batch_size,) + a.shape[1:] for a in self._arrays]

    def next_batch(self):
        picks = [[] for _ in self.tops]
        for _ in range(self.batch_size):
            if self._row >= len(self._rows):
                following = self._file + 1
                if following == len(self.files):
                    following = 0
                    if self.shuffle:
                        self._rng.shuffle(self._order)
                if len(self.files) > 1 or self.shuffle:
                    self._load(following)
                else:
                    self._row = 0
            row = self._rows[self._row]
            for k, array in enumerate(self._arrays):
                picks[k].append(array[row])
            self._row += 1
        return [np.stack(p) for p in picks]


class MemoryFeeder:
    """Caffe's MemoryDataLayer: batch_size rows at a time of the arrays set_input_arrays gave."""

    kind = "MemoryData"

    def __init__(self, lp):
        p = lp.message("memory_data_param")
        self.name = str(lp.get("name"))
        self.batch_size = int(p.get("batch_size"))
        dims = [int(d) for d in p.all("dim")] or [int(p.get(k, 1)) for k in ("channels", "height", "width")]
        self.data_shape = (self.batch_size,) + tuple(dims[1:] if p.has("dim") else dims)
        self._data = self._labels = None
        self._row = 0

    def shapes(self):
        return [self.data_shape, (self.batch_size,)]

    def set_arrays(self, data, labels):
        data, labels = np.ascontiguousarray(data, np.float32), np.ascontiguousarray(labels, np.float32).ravel()
        if data.shape[1:] != self.data_shape[1:]:
            raise ValueError(f"layer {self.name!r}: set_input_arrays got data of shape {data.shape}, the layer "
                             f"takes (N,) + {self.data_shape[1:]}")
        if len(data) != len(labels) or len(data) % self.batch_size:
            raise ValueError(f"layer {self.name!r}: {len(data)} rows and {len(labels)} labels; their number must match "
                             f"and be a multiple of the batch size {self.batch_size}")
        self._data, self._labels, self._row = data, labels, 0

    def next_batch(self):
        if self._data is None:
            raise ValueError(f"layer {self.name!r}: MemoryData needs net.set_input_arrays(data, labels) first")
        start = self._row
        self._row = (self._row + self.batch_size) % len(self._data)
        return [self._data[start:start + self.batch_size], self._labels[start:start + self.batch_size]]


class DummyFeeder:
    """Caffe's DummyDataLayer: each top drawn by its filler (zeros by default) every forward."""

    kind = "DummyData"

    def __init__(self, lp):
        p = lp.message("dummy_data_param")
        n_tops = len(lp.all("top"))
        shapes = [tuple(int(d) for d in s.all("dim")) for s in p.all("shape")]
        if not shapes:
            legacy = [p.all(k) for k in ("num", "channels", "height", "width")]
            shapes = [tuple(int(values[k if len(values) > 1 else 0]) for values in legacy) for k in range(n_tops)]
        self._shapes = shapes * n_tops if len(shapes) == 1 else shapes
        fillers = p.all("data_filler") or [Message(type="constant", value=0.0)]
        self._fillers = fillers * n_tops if len(fillers) == 1 else fillers

    def shapes(self):
        return list(self._shapes)

    def next_batch(self):
        return [fill(shape, filler, "constant") for shape, filler in zip(self._shapes, self._fillers)]


class Transformer:
    """Caffe's DataTransformer on one C x H x W image: the mean (mean_file's image or
    mean_value's per channel) subtracted, times scale, cropped to crop_size (at random in
    training, the centre in testing) and mirrored at random in training."""

    def __init__(self, lp, phase):
        p = lp.message("transform_param")
        self.train, self.scale = phase == 0, float(p.get("scale", 1.0))
        self.crop, self.mirror = int(p.get("crop_size", 0)), bool(p.get("mirror", False))
        self.mean_values = np.asarray([float(v) for v in p.all("mean_value")], np.float32)
        self.mean_image = None
        if p.has("mean_file"):
            from . import wire
            with open(str(p.get("mean_file")), "rb") as f:
                self.mean_image = wire.blob_array(wire.decode(f.read(), "BlobProto", where=str(p.get("mean_file"))))
            self.mean_image = self.mean_image.reshape(self.mean_image.shape[-3:])
        self._rng = np.random.default_rng(0)

    def out_shape(self, shape):
        return shape[:1] + ((self.crop, self.crop) if self.crop else tuple(shape[1:]))

    def __call__(self, image):
        image = image.astype(np.float32)
        if self.mean_image is not None:
            image = image - self.mean_image
        elif self.mean_values.size:
            image = image - (self.mean_values[:, None, None] if self.mean_values.size > 1 else self.mean_values[0])
        if self.crop:
            height, width = image.shape[1:]
            if self.train:
                top, left = self._rng.integers(0, height - self.crop + 1), self._rng.integers(0, width - self.crop + 1)
            else:
                top, left = (height - self.crop) // 2, (width - self.crop) // 2
            image = image[:, top:top + self.crop, left:left + self.crop]
        if self.mirror and self.train and self._rng.random() < 0.5:
            image = image[:, :, ::-1]
        return image * np.float32(self.scale)


class ImageFeeder:
    """Caffe's ImageDataLayer: batch_size images of the source's "path label" lines (under
    root_folder), resized to new_height x new_width when given, in BGR order as OpenCV reads
    them (grey with is_color: false), shuffled each pass with shuffle."""

    kind = "ImageData"

    def __init__(self, lp, phase):
        p = lp.message("image_data_param")
        self.name = str(lp.get("name"))
        self.batch_size, self.shuffle = int(p.get("batch_size", 1)), bool(p.get("shuffle", False))
        self.size = (int(p.get("new_height", 0)), int(p.get("new_width", 0)))
        self.color, root = bool(p.get("is_color", True)), str(p.get("root_folder", ""))
        source = str(p.get("source", ""))
        if not os.path.exists(source):
            raise FileNotFoundError(f"layer {self.name!r}: the ImageData source {source!r} does not exist")
        with open(source, encoding="utf-8") as f:
            lines = [line.strip().rsplit(None, 1) for line in f if line.strip()]
        self.items = [(root + path, float(label)) for path, label in lines]
        if not self.items:
            raise ValueError(f"layer {self.name!r}: {source} lists no images")
        self.transform = Transformer(lp, phase)
        self._rng = np.random.default_rng(0)
        self._order, self._at = self._new_order(), 0
        self._image_shape = self._read(self.items[0][0]).shape

    def _new_order(self):
        order = np.arange(len(self.items))
        if self.shuffle:
            self._rng.shuffle(order)
        return order

    def _read(self, path):
        from ...preprocessing.image_files import load_img
        image = load_img(path, color_mode="rgb" if self.color else "grayscale",
                         target_size=self.size if all(self.size) else None, interpolation="bilinear")
        array = np.asarray(image, dtype=np.float32)
        return array[:, :, ::-1].transpose(2, 0, 1) if self.color else array[None]

    def shapes(self):
        return [(self.batch_size,) + self.transform.out_shape(self._image_shape), (self.batch_size,)]

    def next_batch(self):
        images, labels = [], []
        for _ in range(self.batch_size):
            if self._at == len(self._order):
                self._order, self._at = self._new_order(), 0
            path, label = self.items[self._order[self._at]]
            image = self._read(path)
            if image.shape != self._image_shape:
                raise ValueError(f"layer {self.name!r}: {path} is {image.shape[1:]} pixels, the first image "
                                 f"{self._image_shape[1:]}; give new_height and new_width to resize them")
            images.append(self.transform(image))
            labels.append(label)
            self._at += 1
        return [np.stack(images), np.asarray(labels, np.float32)]
