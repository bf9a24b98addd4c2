"""Dense, Flatten, Reshape, Activation, LeakyReLU, Dropout, GaussianNoise."""

from .. import activations
from ..ops import linalg
from ..ops.shape import reshape, shape
from ..ops.nn import dropout
from ..ops.random import RandomStream
from .base import Layer, next_stream_seed


class Dense(Layer):
    """activation(x @ W + b) on the last axis: Dense(64, activation="relu")."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform", **kw):
        super().__init__(**kw)
        self.units, self.use_bias = int(units), use_bias
        self.activation = activations.get(activation)
        self.kernel_initializer = kernel_initializer

    def build(self, input_shape):
        fan_in = input_shape[-1]
        if fan_in is None:
            raise ValueError(f"{self.name}: the last axis of the input must be known to build "
                             f"the weights, got shape {input_shape}")
        self.kernel = self.add_weight("kernel", (fan_in, self.units), self.kernel_initializer,
                                      fan=(fan_in, self.units))
        self.bias = self.add_weight("bias", (self.units,)) if self.use_bias else None

    def call(self, x, context):
        out = linalg.dot(x, self.kernel) if x.ndim <= 2 else linalg.tensordot(x, self.kernel, [[x.ndim - 1], [0]])
        if self.bias is not None:
            out = out + self.bias
        return self.activation(out)


class Flatten(Layer):
    """(batch, ...) -> (batch, product of the rest)."""

    def call(self, x, context):
        return reshape(x, [shape(x)[0], -1])


class Reshape(Layer):
    """Reshape every example to target_shape (without the batch axis; one entry may be -1)."""

    def __init__(self, target_shape, **kw):
        super().__init__(**kw)
        self.target_shape = tuple(target_shape)

    def call(self, x, context):
        return reshape(x, [shape(x)[0], *self.target_shape])


class Activation(Layer):
    def __init__(self, activation, **kw):
        super().__init__(**kw)
        self.activation = activations.get(activation)

    def call(self, x, context):
        return self.activation(x)


class LeakyReLU(Layer):
    """x where x > 0, else alpha * x (Keras's default alpha 0.3; negative_slope is Keras 3's name)."""

    def __init__(self, alpha=0.3, negative_slope=None, **kw):
        super().__init__(**kw)
        self.alpha = float(alpha if negative_slope is None else negative_slope)

    def call(self, x, context):
        return activations.leaky_relu(x, self.alpha)


class Dropout(Layer):
    """Zero a fraction `rate` of the inputs while training (scaled so inference is unchanged)."""

    def __init__(self, rate, seed=None, **kw):
        super().__init__(**kw)
        self.rate = float(rate)
        self.stream = RandomStream(seed if seed is not None else next_stream_seed())

    def call(self, x, context):
        if context.training and self.rate > 0:
            return dropout(x, self.rate, self.stream)
        return x


class GaussianNoise(Layer):
    """Add zero-mean normal noise of standard deviation `stddev` while training (a denoising
    autoencoder's corruption); inference passes the inputs through."""

    def __init__(self, stddev, seed=None, **kw):
        super().__init__(**kw)
        self.stddev = float(stddev)
        self.stream = RandomStream(seed if seed is not None else next_stream_seed())

    def call(self, x, context):
        if context.training and self.stddev > 0:
            return x + self.stream.normal(shape(x), 0.0, self.stddev, dtype=x.dtype)
        return x

