"""Conv2D, Conv2DTranspose, MaxPool2D, AvgPool2D, global poolings, UpSampling2D, ZeroPadding2D,
Cropping2D over NCHW images (or NHWC with data_format="channels_last": image_format.py)."""
import numpy as np

from .. import activations
from ..ops import conv as C
from ..ops.index import set_subtensor
from ..ops.shape import ones, repeat, shape, zeros
from ..variables import constant
from .base import Layer
from .image_format import ImageLayer


# Where each axis of Keras's kernel layout is in symgraph's (a constraint's `axis` counts Keras's):
# Conv2D's (kh, kw, in, out) is (out, in, kh, kw) here, Conv2DTranspose's (kh, kw, out, in) is
# (in, out, kh, kw): both (2, 3, 1, 0).
KERAS_KERNEL_AXES = (2, 3, 1, 0)


class Conv2D(ImageLayer, Layer):
    """Conv2D(filters, kernel_size, strides=1, padding="valid"|"same", activation=None)."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", dilation_rate=1, groups=1,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None, bias_constraint=None, **kw):
        super().__init__(**kw)
        self.filters, self.kernel_size = int(filters), C._pair(kernel_size, "kernel_size")
        self.strides, self.padding = strides, padding
        self.dilation_rate, self.groups, self.use_bias = dilation_rate, groups, use_bias
        self.activation = activations.get(activation)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint

    def build(self, input_shape):
        channels = self._channels(input_shape)
        kh, kw = self.kernel_size
        shape = (self.filters, channels // self.groups, kh, kw)  # (fans: in channels, filters, times kh * kw)
        self.kernel = self.add_weight("kernel", shape, self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, keras_axes=KERAS_KERNEL_AXES)
        self.bias = self._bias()

    def _bias(self):
        return self.add_weight("bias", (self.filters,), self.bias_initializer, regularizer=self.bias_regularizer,
                               constraint=self.bias_constraint) if self.use_bias else None

    def nchw_call(self, x, context):
        out = C.conv2d(x, self.kernel, self.strides, self.padding, self.dilation_rate, self.groups)
        if self.bias is not None:
            out = out + self.bias.dimshuffle("x", 0, "x", "x")
        return self.activation(out)


class Conv2DTranspose(Conv2D):
    """Conv2DTranspose(filters, kernel_size, strides=1, padding="valid"|"same", output_padding=None,
    activation=None): the transpose of a convolution (a decoder's upsampling step). "valid"
    gives (H - 1) * strides + kernel_size rows, "same" H * strides (as Keras); the kernel is
    (in_channels, filters, kh, kw), sg.nn.conv2d_transpose's (PyTorch's) layout."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, **kw):
        if isinstance(padding, str) and padding.lower() not in ("valid", "same"):
            raise ValueError(f"Conv2DTranspose: padding must be 'valid' or 'same', got {padding!r}")
        super().__init__(filters, kernel_size, strides, padding, **kw)
        self.strides = C._pair(strides, "strides")
        self.output_padding = None if output_padding is None else C._pair(output_padding, "output_padding")

    def build(self, input_shape):
        channels = self._channels(input_shape)
        kh, kw = self.kernel_size
        receptive = kh * kw
        self.kernel = self.add_weight("kernel", (channels, self.filters // self.groups, kh, kw),
                                      self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      fan=(self.filters // self.groups * receptive, channels * receptive),
                                      constraint=self.kernel_constraint, keras_axes=KERAS_KERNEL_AXES)
        self.bias = self._bias()

    def _crop_and_extra(self):
        """(padding, output_padding) for conv2d_transpose: what is cropped from the full
        transposed output on each side, and what is added at the end."""
        extra = self.output_padding or (0,) * len(self.kernel_size)
        if not isinstance(self.padding, str) or self.padding.lower() == "valid":
            return (0 if isinstance(self.padding, str) else self.padding), extra
        # "same": H * s rows out of (H - 1) * s + k, cropped as a forward "same" convolution pads
        # (the smaller half first); a kernel shorter than its stride is made up at the end.
        crops = []
        for axis, (k, s) in enumerate(zip(self.kernel_size, self.strides)):
            total = max(k - s, 0)
            crops.append((total // 2, total - total // 2))
            if self.output_padding is None:
                extra = extra[:axis] + (max(s - k, 0),) + extra[axis + 1:]
        return tuple(crops), extra

    def nchw_call(self, x, context):
        crop, extra = self._crop_and_extra()
        out = C.conv2d_transpose(x, self.kernel, self.strides, crop, extra, self.dilation_rate, self.groups)
        if self.bias is not None:
            out = out + self.bias.dimshuffle("x", 0, "x", "x")
        return self.activation(out)


class MaxPool2D(ImageLayer, Layer):
    def __init__(self, pool_size=2, strides=None, padding=0, **kw):
        super().__init__(**kw)
        self.pool_size, self.strides, self.padding = pool_size, strides, padding

    def nchw_call(self, x, context):
        return C.max_pool2d(x, self.pool_size, self.strides, self.padding)


class AvgPool2D(MaxPool2D):
    def nchw_call(self, x, context):
        return average_pool(x, self.pool_size, self.strides, self.padding)


def average_pool(x, pool_size, strides, padding):
    """Keras's average pooling of NCHW images: with padding="same", each window's mean over the
    pixels it covers (sg.nn.avg_pool2d counts the padding as zeros: edge windows came out low)."""
    pooled = C.avg_pool2d(x, pool_size, strides, padding)
    if not (isinstance(padding, str) and padding.lower() == "same"):
        return pooled
    kernel = C._pair(pool_size, "pool_size")
    size = x.type.shape[2:]
    if None in size:  # (lengths known only when it runs: the covered share pooled from ones then)
        covered = C.avg_pool2d(ones([1, 1, shape(x)[2], shape(x)[3]], dtype=x.dtype), kernel, strides, padding)
        return pooled / covered
    # (known lengths: each window's covered share is a constant, reckoned here, not at each call)
    params = C.ConvParams(kernel if strides is None else strides, "same")
    shares = [_covered_counts(n, k, s, pad[0], out) / k for n, k, s, pad, out in
              zip(size, kernel, params.stride, params.pads(size, kernel), params.out_size(size, kernel))]
    return pooled / constant(np.outer(*shares).astype(x.dtype))


def _covered_counts(n, k, s, front, out):
    """How many of each window's k positions lie inside a length-n axis padded by `front`."""
    starts = np.arange(out) * s - front
    return np.minimum(starts + k, n) - np.maximum(starts, 0)


class UpSampling2D(ImageLayer, Layer):
    """UpSampling2D(size=2): each pixel repeated size times along the rows and the columns (Keras's
    nearest-neighbour upsampling; a convolutional autoencoder's decoder). Its gradient sums each
    pixel's copies (Repeat.grad), without repeating anything in the backward pass."""

    def __init__(self, size=2, interpolation="nearest", **kw):
        super().__init__(**kw)
        if interpolation != "nearest":
            raise ValueError(f"UpSampling2D: only interpolation='nearest' is supported, got {interpolation!r}")
        self.size = C._pair(size, "size")

    def nchw_call(self, x, context):
        rows, columns = self.size
        return repeat(repeat(x, columns, axis=3), rows, axis=2)


class GlobalAveragePooling2D(ImageLayer, Layer):
    """The mean of each channel over the rows and columns: (N, C, H, W) -> (N, C), or
    (N, C, 1, 1) with keepdims (a classifier's head on convolutional features)."""

    def __init__(self, keepdims=False, **kw):
        super().__init__(**kw)
        self.keepdims = bool(keepdims)

    def nchw_call(self, x, context):
        return x.mean(axis=(2, 3), keepdims=self.keepdims)


class GlobalMaxPooling2D(GlobalAveragePooling2D):
    """The maximum of each channel over the rows and columns: (N, C, H, W) -> (N, C)."""

    def nchw_call(self, x, context):
        return x.max(axis=(2, 3), keepdims=self.keepdims)


def _edges(value, what):
    """((top, bottom), (left, right)) from an int, (rows, cols) or the pairs themselves."""
    edges = C.normalize_padding(value)
    if isinstance(edges, str) or min(min(e) for e in edges) < 0:
        raise ValueError(f"{what} takes non-negative ints or pairs, got {value!r}")
    return edges


class ZeroPadding2D(ImageLayer, Layer):
    """Zeros around the images: padding an int, (rows, cols), or ((top, bottom), (left, right))."""

    def __init__(self, padding=1, **kw):
        super().__init__(**kw)
        self.padding = _edges(padding, "ZeroPadding2D: padding")

    def nchw_call(self, x, context):
        (top, bottom), (left, right) = self.padding
        n, c, h, w = (shape(x)[a] for a in range(4))
        padded = zeros([n, c, h + top + bottom, w + left + right], dtype=x.dtype)
        return set_subtensor(padded[:, :, top:top + h, left:left + w], x)


class Cropping2D(ImageLayer, Layer):
    """Rows and columns cut from the images' edges: cropping an int, (rows, cols), or
    ((top, bottom), (left, right)), as Keras's (ZeroPadding2D's inverse)."""

    def __init__(self, cropping=((0, 0), (0, 0)), **kw):
        super().__init__(**kw)
        self.cropping = _edges(cropping, "Cropping2D: cropping")

    def nchw_call(self, x, context):
        (top, bottom), (left, right) = self.cropping
        for axis, cut in ((2, top + bottom), (3, left + right)):
            if x.type.shape[axis] is not None and cut >= x.type.shape[axis]:
                raise ValueError(f"{self.name}: cropping {self.cropping} leaves nothing of axis {axis} "
                                 f"(length {x.type.shape[axis]})")
        return x[:, :, top:(-bottom or None), left:(-right or None)]


class DepthwiseConv2D(Conv2D):
    """DepthwiseConv2D(kernel_size, depth_multiplier=1, ...): each input channel convolved with
    depth_multiplier filters of its own (output channel c * depth_multiplier + m, Keras's
    order); a grouped convolution with one group per channel. The kernel is (channels *
    depth_multiplier, 1, kh, kw); a depthwise_constraint's axes count that layout."""

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, dilation_rate=1, activation=None,
                 use_bias=True, depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, depthwise_constraint=None, bias_constraint=None,
                 **kw):
        super().__init__(1, kernel_size, strides, padding, dilation_rate, 1, activation, use_bias, depthwise_initializer,
                         bias_initializer, depthwise_regularizer, bias_regularizer, depthwise_constraint,
                         bias_constraint, **kw)
        self.depth_multiplier = int(depth_multiplier)

    def build(self, input_shape):
        channels = self._channels(input_shape)
        self.filters, self.groups = channels * self.depth_multiplier, channels
        self.kernel = self._depthwise_kernel(channels, "depthwise_kernel")
        self.bias = self._bias()

    def _depthwise_kernel(self, channels, name):
        kh, kw = self.kernel_size
        # (fans as Keras reckons them from its (kh, kw, channels, depth_multiplier) kernel)
        return self.add_weight(name, (channels * self.depth_multiplier, 1, kh, kw), self.kernel_initializer,
                               regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                               fan=(channels * kh * kw, self.depth_multiplier * kh * kw))


class SeparableConv2D(DepthwiseConv2D):
    """SeparableConv2D(filters, kernel_size, depth_multiplier=1, ...): a depthwise convolution
    then a 1 x 1 convolution mixing its channels into `filters` (Xception's, MobileNet's), with
    far fewer weights than a full convolution. Keras's pointwise kernel (1, 1, in, filters) is
    (filters, in, 1, 1) here."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", depth_multiplier=1, dilation_rate=1,
                 activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kw):
        super().__init__(kernel_size, strides, padding, depth_multiplier, dilation_rate, activation, use_bias,
                         depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer,
                         depthwise_constraint, bias_constraint, **kw)
        self.pointwise_filters = int(filters)
        self.pointwise_initializer, self.pointwise_regularizer = pointwise_initializer, pointwise_regularizer
        self.pointwise_constraint = pointwise_constraint

    def build(self, input_shape):
        channels = self._channels(input_shape)
        self.groups = channels
        self.depthwise_kernel = self._depthwise_kernel(channels, "depthwise_kernel")
        self.pointwise_kernel = self.add_weight("pointwise_kernel",
                                                (self.pointwise_filters, channels * self.depth_multiplier, 1, 1),
                                                self.pointwise_initializer, regularizer=self.pointwise_regularizer,
                                                constraint=self.pointwise_constraint, keras_axes=KERAS_KERNEL_AXES)
        self.filters = self.pointwise_filters
        self.bias = self._bias()

    def nchw_call(self, x, context):
        depthwise = C.conv2d(x, self.depthwise_kernel, self.strides, self.padding, self.dilation_rate, self.groups)
        out = C.conv2d(depthwise, self.pointwise_kernel)
        if self.bias is not None:
            out = out + self.bias.dimshuffle("x", 0, "x", "x")
        return self.activation(out)


MaxPooling2D, AveragePooling2D = MaxPool2D, AvgPool2D
GlobalAvgPool2D, GlobalMaxPool2D = GlobalAveragePooling2D, GlobalMaxPooling2D
