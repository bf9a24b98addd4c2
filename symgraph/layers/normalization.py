"""BatchNormalization: batch statistics while training, running averages at inference;
LayerNormalization: each example's own statistics."""
import numpy as np

from ..ops.nn import batch_norm
from ..ops.elemwise import sqrt
from ..ops.reduce import mean
from .base import Layer


class BatchNormalization(Layer):
    """Normalizes along `axis` (1: the channels of NCHW images or the features of a matrix).
    While training, the running mean/variance are updated through the training function's
    updates: running = momentum * running + (1 - momentum) * batch."""
    supports_masking = True

    def __init__(self, axis=1, momentum=0.99, epsilon=1e-3, beta_constraint=None, gamma_constraint=None, **kw):
        super().__init__(**kw)
        self.axis, self.momentum, self.epsilon = axis, float(momentum), float(epsilon)
        self.beta_constraint, self.gamma_constraint = beta_constraint, gamma_constraint

    def build(self, input_shape):
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
        centered = x - mean(x, self.axes, keepdims=True)
        normalized = centered / sqrt(mean(centered * centered, self.axes, keepdims=True) + self.epsilon)
        pattern = [self.axes.index(a) if a in self.axes else "x" for a in range(x.ndim)]
        if self.gamma is not None:
            normalized = normalized * self.gamma.dimshuffle(*pattern)
        if self.beta is not None:
            normalized = normalized + self.beta.dimshuffle(*pattern)
        return normalized
