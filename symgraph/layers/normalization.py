"""BatchNormalization: batch statistics while training, running averages at inference."""
import numpy as np

from ..ops.nn import batch_norm
from ..ops.reduce import mean
from .base import Layer


class BatchNormalization(Layer):
    """Normalizes along `axis` (1: the channels of NCHW images or the features of a matrix).
    While training, the running mean/variance are updated through the training function's
    updates: running = momentum * running + (1 - momentum) * batch."""

    def __init__(self, axis=1, momentum=0.99, epsilon=1e-3, **kw):
        super().__init__(**kw)
        self.axis, self.momentum, self.epsilon = axis, float(momentum), float(epsilon)

    def build(self, input_shape):
        n = input_shape[self.axis]
        if n is None:
            raise ValueError(f"{self.name}: axis {self.axis} must have a known length, got {input_shape}")
        self.gamma = self.add_weight("gamma", (n,), "ones")
        self.beta = self.add_weight("beta", (n,), "zeros")
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
