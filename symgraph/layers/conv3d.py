"""Keras's 3-d layers over volumes (video clips, scans): Conv3D, Conv3DTranspose, MaxPooling3D, AveragePooling3D,
the global 3-d poolings, UpSampling3D, ZeroPadding3D, Cropping3D, on NCDHW volumes (NDHWC with
data_format="channels_last", Keras's default with TensorFlow), over ops/conv3d.py."""
import numpy as np

from ..ops import conv3d as C3
from ..ops.index import set_subtensor
from ..ops.shape import repeat, shape, zeros
from .base import Layer
from .conv import Conv2D, Conv2DTranspose, MaxPool2D, _edges
from .image_format import ImageLayer

# Keras's Conv3D kernel (kd, kh, kw, in, out) is (out, in, kd, kh, kw) here.
KERAS_KERNEL_AXES_3D = (2, 3, 4, 1, 0)


class Conv3D(Conv2D):
    """Conv3D(filters, kernel_size, strides=1, padding="valid"|"same", dilation_rate=1, groups=1,
    activation=None): kernel (filters, in_channels / groups, kd, kh, kw)."""

    image_ndim = 5

    def __init__(self, filters, kernel_size, strides=1, padding="valid", dilation_rate=1, **kw):
        super().__init__(filters, 1, strides, padding, dilation_rate, **kw)
        self.kernel_size = C3._triple(kernel_size, "Conv3D: kernel_size")

    def build(self, input_shape):
        channels = self._channels(input_shape)
        shape_ = (self.filters, channels // self.groups) + self.kernel_size
        self.kernel = self.add_weight("kernel", shape_, self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, keras_axes=KERAS_KERNEL_AXES_3D)
        self.bias = self._bias()

    def nchw_call(self, x, context):
        out = C3.conv3d(x, self.kernel, self.strides, self.padding, self.dilation_rate, self.groups)
        if self.bias is not None:
            out = out + self.bias.dimshuffle("x", 0, "x", "x", "x")
        return self.activation(out)


class Conv3DTranspose(Conv3D):
    """Conv3DTranspose(filters, kernel_size, strides=1, padding="valid"|"same", output_padding=None):
    Conv2DTranspose's rules on each axis ("valid": (n - 1) * strides + kernel_size, "same":
    n * strides); the kernel is (in_channels, filters / groups, kd, kh, kw)."""

    _crop_and_extra = Conv2DTranspose._crop_and_extra

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, **kw):
        if isinstance(padding, str) and padding.lower() not in ("valid", "same"):
            raise ValueError(f"Conv3DTranspose: padding must be 'valid' or 'same', got {padding!r}")
        super().__init__(filters, kernel_size, strides, padding, **kw)
        self.strides = C3._triple(strides, "Conv3DTranspose: strides")
        self.output_padding = None if output_padding is None else \
            ((output_padding,) * 3 if isinstance(output_padding, int) else tuple(output_padding))

    def build(self, input_shape):
        channels = self._channels(input_shape)
        per_group, receptive = self.filters // self.groups, int(np.prod(self.kernel_size))
        self.kernel = self.add_weight("kernel", (channels, per_group) + self.kernel_size, self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      fan=(per_group * receptive, channels * receptive),
                                      keras_axes=KERAS_KERNEL_AXES_3D)
        self.bias = self._bias()

    def nchw_call(self, x, context):
        crop, extra = self._crop_and_extra()
        out = C3.conv3d_transpose(x, self.kernel, self.strides, crop, extra, self.dilation_rate, self.groups)
        if self.bias is not None:
            out = out + self.bias.dimshuffle("x", 0, "x", "x", "x")
        return self.activation(out)


class MaxPooling3D(MaxPool2D):
    """MaxPool2D's arguments (pool_size=2, strides=None, padding) over volumes."""

    image_ndim = 5

    def nchw_call(self, x, context):
        return C3.max_pool3d(x, self.pool_size, self.strides, self.padding)


class AveragePooling3D(MaxPooling3D):
    """The mean of each window; with padding="same" over the values it covers (Keras's)."""

    def nchw_call(self, x, context):
        return C3.avg_pool3d(x, self.pool_size, self.strides, self.padding, count_padding=False)


class GlobalAveragePooling3D(ImageLayer, Layer):
    """Each channel's mean over the volume: (N, C, D, H, W) -> (N, C) (or keepdims)."""

    image_ndim = 5

    def __init__(self, keepdims=False, **kw):
        super().__init__(**kw)
        self.keepdims = bool(keepdims)

    def nchw_call(self, x, context):
        return x.mean(axis=(2, 3, 4), keepdims=self.keepdims)


class GlobalMaxPooling3D(GlobalAveragePooling3D):
    def nchw_call(self, x, context):
        return x.max(axis=(2, 3, 4), keepdims=self.keepdims)


class UpSampling3D(ImageLayer, Layer):
    """Each voxel repeated size times along depth, rows and columns."""

    image_ndim = 5

    def __init__(self, size=2, **kw):
        super().__init__(**kw)
        self.size = C3._triple(size, "UpSampling3D: size")

    def nchw_call(self, x, context):
        for axis, times in zip((2, 3, 4), self.size):
            x = repeat(x, times, axis=axis)
        return x


def _edges3(value, what):
    """((front, back), (top, bottom), (left, right)) from an int, three ints or three pairs."""
    if isinstance(value, int):
        value = (value,) * 3
    value = tuple(value)
    if len(value) != 3:
        raise ValueError(f"{what} takes an int, three ints or three pairs, got {value!r}")
    return (_edges((value[0], 0), what)[0],) + _edges(value[1:], what)


class ZeroPadding3D(ImageLayer, Layer):
    image_ndim = 5

    def __init__(self, padding=1, **kw):
        super().__init__(**kw)
        self.padding = _edges3(padding, "ZeroPadding3D: padding")

    def nchw_call(self, x, context):
        (f, b), (t, bo), (le, r) = self.padding
        n, c, d, h, w = (shape(x)[a] for a in range(5))
        padded = zeros([n, c, d + f + b, h + t + bo, w + le + r], dtype=x.dtype)
        return set_subtensor(padded[:, :, f:f + d, t:t + h, le:le + w], x)


class Cropping3D(ImageLayer, Layer):
    image_ndim = 5

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), **kw):
        super().__init__(**kw)
        self.cropping = _edges3(cropping, "Cropping3D: cropping")

    def nchw_call(self, x, context):
        (f, b), (t, bo), (le, r) = self.cropping
        return x[:, :, f:(-b or None), t:(-bo or None), le:(-r or None)]


MaxPool3D, AvgPool3D = MaxPooling3D, AveragePooling3D
GlobalAvgPool3D, GlobalMaxPool3D = GlobalAveragePooling3D, GlobalMaxPooling3D
