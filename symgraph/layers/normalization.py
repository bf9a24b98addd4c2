"""BatchNormalization: batch statistics while training, running averages at inference;
LayerNormalization and GroupNormalization: each example's own statistics (over groups of
channels for the latter); UnitNormalization: unit vectors."""
import numpy as np

from ..ops.nn import batch_norm
from ..ops.elemwise import sqrt
from ..ops.reduce import mean
from ..ops.shape import reshape, shape
from ..losses import l2_normalize
from .base import Layer
from .image_format import ChannelsOfItsImages, default_channel_axis, resolved


class BatchNormalization(ChannelsOfItsImages, Layer):
    """Normalizes along `axis` (by default the channels: axis 1 of NCHW images, the last of
    NHWC ones (K.set_image_data_format("channels_last"), or images from a layer given
    data_format="channels_last"), of a matrix's or a sequence's features). While training, the running mean/variance are updated through the training
    function's updates: running = momentum * running + (1 - momentum) * batch."""
    supports_masking = True

    def __init__(self, axis=None, momentum=0.99, epsilon=1e-3, beta_constraint=None, gamma_constraint=None, **kw):
        super().__init__(**kw)
        self.axis, self.momentum, self.epsilon = axis, float(momentum), float(epsilon)
        self.data_format = resolved(None)  # (the default axis's images: the backend's when made)
        self.beta_constraint, self.gamma_constraint = beta_constraint, gamma_constraint

    def named_arguments(self):  # (saved: the axis it normalizes, given or found when built)
        return {**super().named_arguments(), **({"axis": self.axis} if self.axis is not None else {})}

    def build(self, input_shape):
        if self.axis is None:
            self.axis = default_channel_axis(len(input_shape), self.data_format)
        n = input_shape[self.axis]
        if n is None:
            raise ValueError(f"{self.name}: axis {self.axis} must have a known length, got {input_shape}")
        self.gamma = self.add_weight("gamma", (n,), "ones", constraint=self.gamma_constraint)
        self.beta = self.add_weight("beta", (n,), "zeros", constraint=self.beta_constraint)
        self.moving_mean = self.add_weight("moving_mean", (n,), "zeros", trainable=False)
        self.moving_variance = self.add_weight("moving_variance", (n,), "ones", trainable=False)

    def call(self, x, context):
        axis = self.axis % x.ndim
        if context.training and self.trainable:
            reduce_axes = tuple(d for d in range(x.ndim) if d != axis)
            batch_mean = mean(x, reduce_axes)
            centered = x - batch_mean.dimshuffle(*["x" if d != axis else 0 for d in range(x.ndim)])
            batch_var = mean(centered * centered, reduce_axes)
            m = np.asarray(self.momentum, dtype=self.dtype)
            context.updates += [
                (self.moving_mean, m * self.moving_mean + (1 - m) * batch_mean),
                (self.moving_variance, m * self.moving_variance + (1 - m) * batch_var)]
            return batch_norm(x, self.gamma, self.beta, batch_mean, batch_var, self.epsilon, axis)
        return batch_norm(x, self.gamma, self.beta, self.moving_mean, self.moving_variance, self.epsilon, axis)


class LayerNormalization(Layer):
    """Normalizes each example over `axis` (an int or a tuple; the last by default) with its
    own mean and variance, then scales by gamma and shifts by beta (learned, one per value along
    axis): the same in training and inference (Ba et al.; Keras's epsilon 1e-3)."""
    supports_masking = True

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_constraint=None, gamma_constraint=None,
                 **kw):
        super().__init__(**kw)
        self.axis = axis
        self.beta_constraint, self.gamma_constraint = beta_constraint, gamma_constraint
        self.epsilon, self.center, self.scale = float(epsilon), bool(center), bool(scale)

    def build(self, input_shape):
        axes = self.axis if isinstance(self.axis, (list, tuple)) else (self.axis,)
        self.axes = tuple(sorted(a % len(input_shape) for a in axes))
        if 0 in self.axes or any(input_shape[a] is None for a in self.axes):
            raise ValueError(f"{self.name}: axis {self.axis} must be known axes other than the batch's, got "
                             f"inputs shaped {input_shape}")
        param_shape = [input_shape[a] for a in self.axes]
        self.gamma = self.add_weight("gamma", param_shape, "ones", constraint=self.gamma_constraint) if self.scale else None
        self.beta = self.add_weight("beta", param_shape, "zeros", constraint=self.beta_constraint) if self.center else None

    def call(self, x, context):
        normalized = _standardized(x, self.axes, self.epsilon)
        pattern = [self.axes.index(a) if a in self.axes else "x" for a in range(x.ndim)]
        if self.gamma is not None:
            normalized = normalized * self.gamma.dimshuffle(*pattern)
        if self.beta is not None:
            normalized = normalized + self.beta.dimshuffle(*pattern)
        return normalized


def _standardized(x, axes, epsilon):
    """x less its mean over axes, over its standard deviation there (epsilon added to the variance)."""
    centered = x - mean(x, axes, keepdims=True)
    return centered / sqrt(mean(centered * centered, axes, keepdims=True) + epsilon)


class GroupNormalization(ChannelsOfItsImages, Layer):
    """Normalizes each example over groups of its channels (along `axis`: by default the
    channels, as this module's BatchNormalization: 1 of NCHW images, -1 of NHWC ones and of
    (batch, steps, features)), each
    group's values with their own mean and variance, then scales and shifts per channel (Wu and
    He; Keras's GroupNormalization, epsilon 1e-3). groups=1 normalizes over all of an example,
    groups equal to the channels over each channel alone (instance normalization)."""
    supports_masking = True

    def __init__(self, groups=32, axis=None, epsilon=1e-3, center=True, scale=True, beta_constraint=None,
                 gamma_constraint=None, **kw):
        super().__init__(**kw)
        self.groups, self.axis, self.epsilon = int(groups), None if axis is None else int(axis), float(epsilon)
        self.data_format = resolved(None)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_constraint, self.gamma_constraint = beta_constraint, gamma_constraint

    def named_arguments(self):
        return {**super().named_arguments(), **({"axis": self.axis} if self.axis is not None else {})}

    def build(self, input_shape):
        if self.axis is None:
            self.axis = default_channel_axis(len(input_shape), self.data_format)
        axis = self.axis % len(input_shape)
        channels = input_shape[axis]
        if axis == 0 or channels is None:
            raise ValueError(f"{self.name}: axis {self.axis} must be a known axis other than the batch's, got "
                             f"inputs shaped {input_shape}")
        if channels % self.groups:
            raise ValueError(f"{self.name}: {channels} channels do not split into {self.groups} groups")
        self.channels = channels
        self.gamma = self.add_weight("gamma", (channels,), "ones", constraint=self.gamma_constraint) if self.scale else None
        self.beta = self.add_weight("beta", (channels,), "zeros", constraint=self.beta_constraint) if self.center else None

    def call(self, x, context):
        axis = self.axis % x.ndim
        rest = [a for a in range(1, x.ndim) if a != axis]
        first = x.dimshuffle(0, axis, *rest)  # (batch, channels, the rest)
        grouped = reshape(first, [shape(x)[0], self.groups, self.channels // self.groups] + [shape(first)[a] for a in range(2, x.ndim)])
        normalized = reshape(_standardized(grouped, tuple(range(2, grouped.ndim)), self.epsilon), shape(first))
        per_channel = ["x", 0] + ["x"] * (x.ndim - 2)
        if self.gamma is not None:
            normalized = normalized * self.gamma.dimshuffle(*per_channel)
        if self.beta is not None:
            normalized = normalized + self.beta.dimshuffle(*per_channel)
        back = [0] * x.ndim  # (the channels back at axis)
        for k, a in enumerate([0, axis] + rest):
            back[a] = k
        return normalized.dimshuffle(*back)


class UnitNormalization(Layer):
    """Each example scaled to unit l2 norm along axis (Keras's; the last by default)."""
    supports_masking = True

    def __init__(self, axis=-1, **kw):
        super().__init__(**kw)
        self.axis = axis

    def call(self, x, context):
        return l2_normalize(x, self.axis)


class Identity(Layer):
    """Its input, unchanged (Keras's placeholder layer)."""
    supports_masking = True

    def call(self, x, context):
        return x
