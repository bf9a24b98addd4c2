"""Conv2D, MaxPool2D, AvgPool2D, UpSampling2D over NCHW images."""
from .. import activations
from ..ops import conv as C
from ..ops.shape import repeat
from .base import Layer


class Conv2D(Layer):
    """Conv2D(filters, kernel_size, strides=1, padding="valid"|"same", activation=None)."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", dilation_rate=1, groups=1,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform", **kw):
        super().__init__(**kw)
        self.filters, self.kernel_size = int(filters), C._pair(kernel_size, "kernel_size")
        self.strides, self.padding = strides, padding
        self.dilation_rate, self.groups, self.use_bias = dilation_rate, groups, use_bias
        self.activation = activations.get(activation)
        self.kernel_initializer = kernel_initializer

    def build(self, input_shape):
        channels = input_shape[1]
        if channels is None:
            raise ValueError(f"{self.name}: the channel axis (1) must be known, got {input_shape}")
        kh, kw = self.kernel_size
        shape = (self.filters, channels // self.groups, kh, kw)
        receptive = kh * kw
        self.kernel = self.add_weight("kernel", shape, self.kernel_initializer,
                                      fan=(channels // self.groups * receptive, self.filters * receptive))
        self.bias = self.add_weight("bias", (self.filters,)) if self.use_bias else None

    def call(self, x, context):
        out = C.conv2d(x, self.kernel, self.strides, self.padding, self.dilation_rate, self.groups)
        if self.bias is not None:
            out = out + self.bias.dimshuffle("x", 0, "x", "x")
        return self.activation(out)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding,
                "activation": activations.name_of(self.activation)}


class MaxPool2D(Layer):
    def __init__(self, pool_size=2, strides=None, padding=0, **kw):
        super().__init__(**kw)
        self.pool_size, self.strides, self.padding = pool_size, strides, padding

    def call(self, x, context):
        return C.max_pool2d(x, self.pool_size, self.strides, self.padding)


class AvgPool2D(MaxPool2D):
    def call(self, x, context):
        return C.avg_pool2d(x, self.pool_size, self.strides, self.padding)


class UpSampling2D(Layer):
    """UpSampling2D(size=2): each pixel repeated size times along the rows and the columns (Keras's
    nearest-neighbour upsampling; a convolutional autoencoder's decoder). Its gradient sums each
    pixel's copies (Repeat.grad), without repeating anything in the backward pass."""

    def __init__(self, size=2, interpolation="nearest", **kw):
        super().__init__(**kw)
        if interpolation != "nearest":
            raise ValueError(f"UpSampling2D: only interpolation='nearest' is supported, got {interpolation!r}")
        self.size = C._pair(size, "size")

    def call(self, x, context):
        rows, columns = self.size
        return repeat(repeat(x, columns, axis=3), rows, axis=2)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


MaxPooling2D, AveragePooling2D = MaxPool2D, AvgPool2D
