"""Dense, Embedding, Flatten, Reshape, Activation, LeakyReLU, Dropout, GaussianNoise."""

from .. import activations
from ..ops import linalg
from ..ops.shape import reshape, shape
from ..ops.nn import dropout
from ..ops.random import RandomStream
from .base import Layer, next_stream_seed


class Dense(Layer):
    """activation(x @ W + b) on the last axis: Dense(64, activation="relu")."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, **kw):
        super().__init__(**kw)
        self.units, self.use_bias = int(units), use_bias
        self.activation = activations.get(activation)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer

    def build(self, input_shape):
        fan_in = input_shape[-1]
        if fan_in is None:
            raise ValueError(f"{self.name}: the last axis of the input must be known to build "
                             f"the weights, got shape {input_shape}")
        self.kernel = self.add_weight("kernel", (fan_in, self.units), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self.bias = self.add_weight("bias", (self.units,), self.bias_initializer,
                                    regularizer=self.bias_regularizer) if self.use_bias else None

    def call(self, x, context):
        out = linalg.dot(x, self.kernel) if x.ndim <= 2 else linalg.tensordot(x, self.kernel, [[x.ndim - 1], [0]])
        if self.bias is not None:
            out = out + self.bias
        return self.activation(out)


class Embedding(Layer):
    """Rows of a trained table for integer ids: (batch, ...) ids -> (batch, ..., output_dim), as
    Keras's (embeddings initialized uniform in +-0.05; input_length gives a first layer its
    input shape). Its gradient adds into the rows picked (repeated ids add up)."""
    input_dtype = "int32"

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", input_length=None,
                 mask_zero=False, embeddings_regularizer=None, **kw):
        if mask_zero:
            raise NotImplementedError("Embedding(mask_zero=True): masking is not supported; pad with an id "
                                      "the model learns to ignore, or take the last real step yourself")
        if input_length is not None and kw.get("input_shape") is None:
            kw["input_shape"] = (input_length,)
        super().__init__(**kw)
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer, self.embeddings_regularizer = embeddings_initializer, embeddings_regularizer

    def build(self, input_shape):
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          self.embeddings_initializer, regularizer=self.embeddings_regularizer)

    def call(self, x, context):
        if x.dtype[0] not in "iu":
            raise TypeError(f"{self.name} takes integer ids, got {x.describe()}")
        rows = self.embeddings[x.flatten()]  # (one gather of rows, whatever the ids' shape)
        return reshape(rows, [shape(x)[k] for k in range(x.ndim)] + [self.output_dim])


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


def _own_stream(seed):
    """A noise layer's random stream: its seed, or the next one since set_seed."""
    return RandomStream(seed if seed is not None else next_stream_seed())


class Dropout(Layer):
    """Zero a fraction `rate` of the inputs while training (scaled so inference is unchanged)."""

    def __init__(self, rate, seed=None, **kw):
        super().__init__(**kw)
        self.rate = float(rate)
        self.stream = _own_stream(seed)

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
        self.stream = _own_stream(seed)

    def call(self, x, context):
        if context.training and self.stddev > 0:
            return x + self.stream.normal(shape(x), 0.0, self.stddev, dtype=x.dtype)
        return x

