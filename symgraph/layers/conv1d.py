"""Conv1D and the 1-d poolings over sequences, as Keras's: (batch, steps, channels) by default
(data_format="channels_last", what Embedding and the recurrent layers make), or (batch,
channels, steps) with data_format="channels_first". They run as sg.nn's 2-d convolution and
pooling over images one row high. UpSampling1D, ZeroPadding1D and Cropping1D act on the steps
of (batch, steps, features) sequences, as Keras's."""
from .. import activations
from ..ops import conv as C
from ..ops import elemwise as E
from ..ops.index import set_subtensor
from ..ops.shape import repeat, shape, zeros
from .base import Layer
from .conv import average_pool


def _check_format(data_format):
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return data_format


def _single(value, what):
    value = value[0] if isinstance(value, (list, tuple)) and len(value) == 1 else value
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {value!r}")
    return value


class _Sequences(Layer):
    """Moves between the layer's data format and the one-row NCHW images of sg.nn."""

    def __init__(self, data_format="channels_last", **kw):
        super().__init__(**kw)
        self.data_format = _check_format(data_format)
        self.channel_axis = 2 if data_format == "channels_last" else 1

    def as_images(self, x):
        if x.ndim != 3:
            raise ValueError(f"{self.name} takes (batch, steps, channels) sequences ({self.data_format}), got {x.type}")
        return x.dimshuffle(0, 2, "x", 1) if self.data_format == "channels_last" else x.dimshuffle(0, 1, "x", 2)

    def from_images(self, images):
        return images[:, :, 0, :].dimshuffle(0, 2, 1) if self.data_format == "channels_last" else images[:, :, 0, :]


class Conv1D(_Sequences):
    """Conv1D(filters, kernel_size, strides=1, padding="valid"|"same"|"causal", dilation_rate=1,
    activation=None): "causal" pads only the start, so step t sees steps <= t (WaveNet's). The
    kernel is (filters, channels, kernel_size), sg.nn's OIHW layout without the row axis."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", dilation_rate=1, activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, bias_constraint=None, data_format="channels_last", **kw):
        super().__init__(data_format, **kw)
        self.filters, self.kernel_size = int(filters), _single(kernel_size, "Conv1D kernel_size")
        self.strides, self.dilation_rate = _single(strides, "Conv1D strides"), _single(dilation_rate, "Conv1D dilation_rate")
        if padding not in ("valid", "same", "causal"):
            raise ValueError(f"Conv1D: padding must be 'valid', 'same' or 'causal', got {padding!r}")
        self.padding, self.use_bias = padding, use_bias
        self.activation = activations.get(activation)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint

    def build(self, input_shape):
        channels = input_shape[self.channel_axis]
        if channels is None:
            raise ValueError(f"{self.name}: the channel axis ({self.channel_axis}) must be known, got {input_shape}")
        # (Keras's kernel is (kernel_size, in, out): its axes are 2, 1, 0 here, for a constraint's axis)
        self.kernel = self.add_weight("kernel", (self.filters, channels, self.kernel_size), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      keras_axes=(2, 1, 0))
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer, regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None

    def call(self, x, context):
        if self.padding == "causal":
            padding = ((0, 0), ((self.kernel_size - 1) * self.dilation_rate, 0))
        else:
            padding = self.padding
        out = C.conv2d(self.as_images(x), self.kernel.dimshuffle(0, 1, "x", 2), (1, self.strides), padding,
                       (1, self.dilation_rate))
        if self.bias is not None:
            out = out + self.bias.dimshuffle("x", 0, "x", "x")
        return self.activation(self.from_images(out))


class MaxPooling1D(_Sequences):
    """The maximum over windows of pool_size steps (strides defaults to pool_size); padding
    "valid", or "same" (ceil(steps / strides) windows, the edge ones over the steps they cover)."""
    pool = staticmethod(C.max_pool2d)

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format="channels_last", **kw):
        super().__init__(data_format, **kw)
        if padding not in ("valid", "same"):
            raise ValueError(f"{type(self).__name__}: padding must be 'valid' or 'same', got {padding!r}")
        self.pool_size = _single(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else _single(strides, "strides")
        self.padding = padding

    def call(self, x, context):
        return self.from_images(type(self).pool(self.as_images(x), (1, self.pool_size), (1, self.strides),
                                                self.padding))


class AveragePooling1D(MaxPooling1D):
    """The mean over windows of pool_size steps."""
    pool = staticmethod(average_pool)


class GlobalMaxPooling1D(_Sequences):
    """The maximum over all steps: (batch, steps, channels) -> (batch, channels) (a text CNN's head)."""

    def call(self, x, context):
        if x.ndim != 3:
            raise ValueError(f"{self.name} takes (batch, steps, channels) sequences, got {x.type}")
        return x.max(axis=3 - self.channel_axis)


class GlobalAveragePooling1D(_Sequences):
    """The mean over all steps: (batch, steps, channels) -> (batch, channels); given a mask
    (Embedding(mask_zero=True)), over the real steps only."""

    def call(self, x, context):
        if x.ndim != 3:
            raise ValueError(f"{self.name} takes (batch, steps, channels) sequences, got {x.type}")
        mask = getattr(x, "keras_mask", None)
        if mask is None:
            return x.mean(axis=3 - self.channel_axis)
        weights = E.cast(mask, x.dtype)
        summed = (x * weights.dimshuffle(0, 1, "x") if self.channel_axis == 2 else x * weights.dimshuffle(0, "x", 1))
        return summed.sum(axis=3 - self.channel_axis) / E.maximum(weights.sum(axis=1), 1).dimshuffle(0, "x")


def _steps_of(layer, x):
    if x.ndim != 3:
        raise ValueError(f"{layer.name} takes (batch, steps, features) sequences, got {x.type}")


def _pair_of_ints(value, what):
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and v >= 0 for v in pair):
        raise ValueError(f"{what} takes a non-negative int or a pair of them, got {value!r}")
    return pair


class UpSampling1D(Layer):
    """Each step repeated `size` times: (batch, steps, features) -> (batch, steps * size, features)."""

    def __init__(self, size=2, **kw):
        super().__init__(**kw)
        self.size = _single(size, "UpSampling1D size")

    def call(self, x, context):
        _steps_of(self, x)
        return repeat(x, self.size, axis=1)


class ZeroPadding1D(Layer):
    """Zero steps added at the start and the end: padding an int or (start, end)."""

    def __init__(self, padding=1, **kw):
        super().__init__(**kw)
        self.padding = _pair_of_ints(padding, "ZeroPadding1D: padding")

    def call(self, x, context):
        _steps_of(self, x)
        start, end = self.padding
        n, steps, features = (shape(x)[a] for a in range(3))
        return set_subtensor(zeros([n, steps + start + end, features], dtype=x.dtype)[:, start:start + steps], x)


class Cropping1D(Layer):
    """Steps cut from the start and the end: cropping an int or (start, end) (ZeroPadding1D's inverse)."""

    def __init__(self, cropping=(1, 1), **kw):
        super().__init__(**kw)
        self.cropping = _pair_of_ints(cropping, "Cropping1D: cropping")

    def call(self, x, context):
        _steps_of(self, x)
        start, end = self.cropping
        if x.type.shape[1] is not None and start + end >= x.type.shape[1]:
            raise ValueError(f"{self.name}: cropping {self.cropping} leaves no step of {x.type.shape[1]}")
        return x[:, start:(-end or None)]


MaxPool1D, AvgPool1D = MaxPooling1D, AveragePooling1D
GlobalMaxPool1D, GlobalAvgPool1D = GlobalMaxPooling1D, GlobalAveragePooling1D


class _OneRowImages(_Sequences):
    """A 2-d image layer (self.inner, channels first, its kernel one row high) run on sequences
    as images one row high; its weights are this layer's."""

    def build(self, input_shape):
        channels = input_shape[self.channel_axis]
        if channels is None:
            raise ValueError(f"{self.name}: the channel axis ({self.channel_axis}) must be known, got {input_shape}")
        self.inner.build((input_shape[0], channels, 1, input_shape[3 - self.channel_axis]))
        self.inner.built = True
        self.weights.extend(self.inner.weights)
        self.trainable_flags.extend(self.inner.trainable_flags)
        self.weight_regularizers.extend(self.inner.weight_regularizers)

    def call(self, x, context):
        return self.from_images(self.inner.nchw_call(self.as_images(x), context))


def _row(value, what):
    return (1, _single(value, what))


class Conv1DTranspose(_OneRowImages):
    """Conv1DTranspose(filters, kernel_size, strides=1, padding="valid"|"same", output_padding=None):
    the transpose of Conv1D (a decoder's upsampling of sequences): "valid" gives (steps - 1) *
    strides + kernel_size steps, "same" steps * strides, as Keras's."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, dilation_rate=1,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 data_format="channels_last", **kw):
        super().__init__(data_format, **kw)
        from .conv import Conv2DTranspose
        self.inner = Conv2DTranspose(filters, _row(kernel_size, "kernel_size"), _row(strides, "strides"), padding,
                                     output_padding=None if output_padding is None else (0, int(output_padding)),
                                     dilation_rate=_row(dilation_rate, "dilation_rate"), activation=activation,
                                     use_bias=use_bias, kernel_initializer=kernel_initializer,
                                     bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                                     bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                                     bias_constraint=bias_constraint, data_format="channels_first", name=self.name,
                                     dtype=self.dtype)


class DepthwiseConv1D(_OneRowImages):
    """DepthwiseConv1D(kernel_size, strides=1, padding="valid"|"same", depth_multiplier=1): each
    channel convolved with depth_multiplier filters of its own (output channel c *
    depth_multiplier + m, Keras's order)."""

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, dilation_rate=1, activation=None,
                 use_bias=True, depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, depthwise_constraint=None, bias_constraint=None,
                 data_format="channels_last", **kw):
        super().__init__(data_format, **kw)
        from .conv import DepthwiseConv2D
        self.inner = DepthwiseConv2D(_row(kernel_size, "kernel_size"), _row(strides, "strides"), padding,
                                     depth_multiplier, _row(dilation_rate, "dilation_rate"), activation, use_bias,
                                     depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer,
                                     depthwise_constraint, bias_constraint, data_format="channels_first",
                                     name=self.name, dtype=self.dtype)


class SeparableConv1D(_OneRowImages):
    """SeparableConv1D(filters, kernel_size, depth_multiplier=1, ...): a depthwise convolution of
    the sequence, then a pointwise one mixing its channels into `filters`."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", depth_multiplier=1, dilation_rate=1,
                 activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, data_format="channels_last", **kw):
        super().__init__(data_format, **kw)
        from .conv import SeparableConv2D
        self.inner = SeparableConv2D(filters, _row(kernel_size, "kernel_size"), _row(strides, "strides"), padding,
                                     depth_multiplier, _row(dilation_rate, "dilation_rate"), activation, use_bias,
                                     depthwise_initializer, pointwise_initializer, bias_initializer,
                                     depthwise_regularizer, pointwise_regularizer, bias_regularizer,
                                     depthwise_constraint, pointwise_constraint, bias_constraint,
                                     data_format="channels_first", name=self.name, dtype=self.dtype)
