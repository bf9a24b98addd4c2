"""caffe.io: pycaffe's image loading and its Transformer (an image as H x W x C floats in [0, 1]
to the net's C x H x W input: transpose, channel swap, raw scale, mean, input scale)."""
import numpy as np

from . import wire


def load_image(filename, color=True):
    """An image as H x W x 3 float32 in [0, 1] (H x W x 1 with color=False), as pycaffe's."""
    from ...preprocessing.image_files import load_img
    array = np.asarray(load_img(filename, color_mode="rgb" if color else "grayscale"), dtype=np.float32) / 255.0
    return array if color else array[:, :, np.newaxis]


def resize_image(im, new_dims, interp_order=1):
    """im (H x W x K) resized to new_dims (h, w), spline order interp_order (1: bilinear)."""
    from scipy import ndimage
    im = np.asarray(im, dtype=np.float32)
    if tuple(im.shape[:2]) == tuple(new_dims):
        return im.copy()
    factors = (new_dims[0] / im.shape[0], new_dims[1] / im.shape[1]) + (1,) * (im.ndim - 2)
    return ndimage.zoom(im, factors, order=interp_order).astype(np.float32)


def blobproto_to_array(blob, return_diff=False):
    """A BlobProto Message's values as an array of its shape."""
    if return_diff:
        raise NotImplementedError("blobproto_to_array(return_diff=True): diffs are not read from files here")
    return wire.blob_array(blob)


def array_to_blobproto(arr, diff=None):
    """The BlobProto of an array (write it with wire.encode(blob, "BlobProto") or
    caffe_pb2.BlobProto's SerializeToString)."""
    if diff is not None:
        raise NotImplementedError("array_to_blobproto(diff=...): diffs are not written here")
    from .proto.caffe_pb2 import BlobProto
    blob = BlobProto()
    for name, value in wire.array_blob(arr).items():
        blob.add(name, value)
    return blob


class Transformer:
    """pycaffe's Transformer: Transformer({"data": net.blobs["data"].data.shape});
    set_transpose("data", (2, 0, 1)), set_channel_swap, set_raw_scale, set_mean, set_input_scale;
    preprocess("data", image) gives the net's input, deprocess the way back."""

    def __init__(self, inputs):
        self.inputs = {name: tuple(shape) for name, shape in inputs.items()}
        self.transpose, self.channel_swap, self.raw_scale, self.mean, self.input_scale = {}, {}, {}, {}, {}

    def _check(self, in_):
        if in_ not in self.inputs:
            raise ValueError(f"{in_!r} is not one of the net's inputs here: {list(self.inputs)}")

    def preprocess(self, in_, data):
        self._check(in_)
        x = np.asarray(data, dtype=np.float32)
        size = self.inputs[in_][2:]
        if tuple(x.shape[:2]) != tuple(size):
            x = resize_image(x, size)
        if in_ in self.transpose:
            x = x.transpose(self.transpose[in_])
        if in_ in self.channel_swap:
            x = x[list(self.channel_swap[in_]), :, :]
        if in_ in self.raw_scale:
            x = x * self.raw_scale[in_]
        if in_ in self.mean:
            x = x - self.mean[in_]
        if in_ in self.input_scale:
            x = x * self.input_scale[in_]
        return np.ascontiguousarray(x, dtype=np.float32)

    def deprocess(self, in_, data):
        self._check(in_)
        x = np.array(data, dtype=np.float32).squeeze()
        if in_ in self.input_scale:
            x = x / self.input_scale[in_]
        if in_ in self.mean:
            x = x + self.mean[in_]
        if in_ in self.raw_scale:
            x = x / self.raw_scale[in_]
        if in_ in self.channel_swap:
            x = x[np.argsort(self.channel_swap[in_]), :, :]
        if in_ in self.transpose:
            x = x.transpose(np.argsort(self.transpose[in_]))
        return x

    def set_transpose(self, in_, order):
        self._check(in_)
        if len(order) != len(self.inputs[in_]) - 1:
            raise ValueError("the transpose order needs one entry per dimension of an input image")
        self.transpose[in_] = tuple(order)

    def set_channel_swap(self, in_, order):
        self._check(in_)
        if len(order) != self.inputs[in_][1]:
            raise ValueError("the channel swap needs one entry per channel of the input")
        self.channel_swap[in_] = tuple(order)

    def set_raw_scale(self, in_, scale):
        self._check(in_)
        self.raw_scale[in_] = scale

    def set_input_scale(self, in_, scale):
        self._check(in_)
        self.input_scale[in_] = scale

    def set_mean(self, in_, mean):
        """A mean per channel (C,) or a mean image (C x H x W, resized to the input's)."""
        self._check(in_)
        mean = np.asarray(mean, dtype=np.float32)
        channels_size = self.inputs[in_][1:]
        if mean.ndim == 1:
            if len(mean) != channels_size[0]:
                raise ValueError(f"the mean has {len(mean)} channels, the input {channels_size[0]}")
            mean = mean[:, np.newaxis, np.newaxis]
        else:
            if mean.ndim == 2:
                mean = mean[np.newaxis]
            if mean.shape[0] != channels_size[0]:
                raise ValueError(f"the mean image has shape {mean.shape}, the input {channels_size}")
            if mean.shape[1:] != channels_size[1:]:
                mean = resize_image(mean.transpose(1, 2, 0), channels_size[1:]).transpose(2, 0, 1)
        self.mean[in_] = mean


def oversample(images, crop_dims):
    """Ten crops of each H x W x K image, as pycaffe's: the four corners and the centre, then
    the same five mirrored left to right (10 * len(images) crops, image by image)."""
    images = [np.asarray(im, dtype=np.float32) for im in images]
    ch, cw = (int(d) for d in crop_dims)
    height, width = images[0].shape[:2]
    corners = [(top, left) for top in (0, height - ch) for left in (0, width - cw)]
    corners.append((int(height / 2.0 - ch / 2.0), int(width / 2.0 - cw / 2.0)))
    crops = []
    for im in images:
        five = [im[top:top + ch, left:left + cw] for top, left in corners]
        crops.extend(five + [crop[:, ::-1] for crop in five])
    return np.stack(crops).astype(np.float32)
