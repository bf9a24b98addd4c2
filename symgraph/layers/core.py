"""Dense, Embedding, InputLayer, Flatten, Reshape, Permute, RepeatVector, Activation, Lambda,
ActivityRegularization, and the noise layers: Dropout, SpatialDropout1D / 2D, AlphaDropout, GaussianNoise,
GaussianDropout."""

from .. import activations, regularizers
from ..ops import elemwise as E
from ..ops import linalg
from ..ops.shape import expand_dims, repeat, reshape, shape
from ..ops.nn import dropout
from ..ops.random import RandomStream
from .base import Layer, next_stream_seed


class Dense(Layer):
    """activation(x @ W + b) on the last axis: Dense(64, activation="relu")."""
    supports_masking = True

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kw):
        super().__init__(**kw)
        self.units, self.use_bias = int(units), use_bias
        self.activation = activations.get(activation)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint

    def build(self, input_shape):
        fan_in = input_shape[-1]
        if fan_in is None:
            raise ValueError(f"{self.name}: the last axis of the input must be known to build "
                             f"the weights, got shape {input_shape}")
        self.kernel = self.add_weight("kernel", (fan_in, self.units), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = self.add_weight("bias", (self.units,), self.bias_initializer, regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None

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
                 mask_zero=False, embeddings_regularizer=None, embeddings_constraint=None, **kw):
        if input_length is not None and kw.get("input_shape") is None:
            kw["input_shape"] = (input_length,)
        super().__init__(**kw)
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer, self.embeddings_regularizer = embeddings_initializer, embeddings_regularizer
        self.embeddings_constraint = embeddings_constraint
        self.mask_zero = bool(mask_zero)

    def build(self, input_shape):
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          self.embeddings_initializer, regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)

    def call(self, x, context):
        if x.dtype[0] not in "iu":
            raise TypeError(f"{self.name} takes integer ids, got {x.describe()}")
        rows = self.embeddings[x.flatten()]  # (one gather of rows, whatever the ids' shape)
        return reshape(rows, [shape(x)[k] for k in range(x.ndim)] + [self.output_dim])

    def compute_mask(self, x, mask):
        """mask_zero=True: id 0 is padding (Keras's), masked in the layers after."""
        return E.neq(x, 0) if self.mask_zero else None


class Masking(Layer):
    """Keras's Masking(mask_value=0.0): the steps of (batch, steps, features) sequences whose
    features all equal mask_value are padding, zeroed and masked in the layers after (the
    recurrent layers carry their state over them, a masked average skips them)."""

    def __init__(self, mask_value=0.0, **kw):
        super().__init__(**kw)
        self.mask_value = float(mask_value)

    def call(self, x, context):
        return x * E.cast(self.compute_mask(x, None), x.dtype).dimshuffle(*range(x.ndim - 1), "x")

    def compute_mask(self, x, mask):
        return E.neq(x, self.mask_value).any(axis=-1)


class InputLayer(Layer):
    """Keras's InputLayer(input_shape=...) at the start of a Sequential model: it gives the model
    its input shape (and dtype) and passes the inputs through."""

    def __init__(self, input_shape=None, batch_size=None, dtype=None, shape=None, **kw):
        if (input_shape if input_shape is not None else shape) is None:
            raise ValueError("InputLayer needs input_shape (the shape of one example)")
        super().__init__(input_shape=input_shape if input_shape is not None else shape, dtype=dtype, **kw)
        self.input_dtype = dtype

    def call(self, x, context):
        return x


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


class Permute(Layer):
    """Reorder the axes of every example: dims counts from 1 (the batch axis stays first),
    Permute((2, 1)) swaps a sequence's steps and features."""

    def __init__(self, dims, **kw):
        super().__init__(**kw)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute: dims must order the axes 1..{len(self.dims)}, got {dims}")

    def call(self, x, context):
        if x.ndim != len(self.dims) + 1:
            raise ValueError(f"{self.name}: dims {self.dims} permute {len(self.dims)} axes, the input has {x.ndim - 1} "
                             f"besides the batch's")
        return x.dimshuffle(0, *self.dims)


class RepeatVector(Layer):
    """(batch, features) -> (batch, n, features): each example repeated n times (a sequence
    decoder's input)."""

    def __init__(self, n, **kw):
        super().__init__(**kw)
        self.n = int(n)

    def call(self, x, context):
        if x.ndim != 2:
            raise ValueError(f"{self.name} takes (batch, features), got {x.type}")
        return repeat(expand_dims(x, 1), self.n, axis=1)


class Activation(Layer):
    supports_masking = True

    def __init__(self, activation, **kw):
        super().__init__(**kw)
        self.activation = activations.get(activation)

    def call(self, x, context):
        return self.activation(x)


class Lambda(Layer):
    """Any function of the input as a layer: Lambda(lambda x: x[:, :, ::2]), with `arguments`
    as keyword arguments of each call. It has no weights; a model holding one saves only its
    weights (model.save refuses the function)."""

    def __init__(self, function, output_shape=None, arguments=None, **kw):
        super().__init__(**kw)
        self.function, self.arguments = function, dict(arguments or {})

    def call(self, x, context):
        return self.function(x, **self.arguments)


class ActivityRegularization(Layer):
    """Passes its input through and adds l1 * sum(|x|) + l2 * sum(x ** 2) (per example) to the
    training loss."""

    def __init__(self, l1=0.0, l2=0.0, **kw):
        super().__init__(activity_regularizer=regularizers.L1L2(l1, l2), **kw)
        self.l1, self.l2 = float(l1), float(l2)

    def call(self, x, context):
        return x


def _own_stream(seed):
    """A noise layer's random stream: its seed, or the next one since set_seed."""
    return RandomStream(seed if seed is not None else next_stream_seed())


class Dropout(Layer):
    """Zero a fraction `rate` of the inputs while training (scaled so inference is unchanged)."""
    supports_masking = True

    def __init__(self, rate, seed=None, **kw):
        super().__init__(**kw)
        self.rate = float(rate)
        self.stream = _own_stream(seed)

    def call(self, x, context):
        if context.training and self.rate > 0:
            return dropout(x, self.rate, self.stream)
        return x


class SpatialDropout2D(Dropout):
    """Dropout of whole channels of (N, C, H, W) images (or (N, H, W, C) with
    data_format="channels_last") while training (neighbouring pixels are correlated, so
    dropping single ones regularizes little); scaled by 1 / (1 - rate)."""

    image_ndim = 4

    def __init__(self, rate, data_format=None, **kw):
        from .image_format import resolved
        super().__init__(rate, **kw)
        self.data_format = resolved(data_format)

    def named_arguments(self):
        return {**super().named_arguments(), "data_format": self.data_format}

    def call(self, x, context):
        if not (context.training and self.rate > 0):
            return x
        n = self.image_ndim
        if x.ndim != n:
            raise ValueError(f"{self.name} takes {'(N, C, H, W) images' if n == 4 else '(N, C, D, H, W) volumes'}, "
                             f"got {x.type}")
        channel = 1 if self.data_format == "channels_first" else n - 1
        kept = [shape(x)[0]] + [shape(x)[a] if a == channel else 1 for a in range(1, n)]
        keep = self.stream.binomial(kept, n=1, p=1.0 - self.rate, dtype=x.dtype)
        return x * keep * (1.0 / (1.0 - self.rate))


class SpatialDropout3D(SpatialDropout2D):
    """Dropout of whole channels of (N, C, D, H, W) volumes (or (N, D, H, W, C)) while training."""

    image_ndim = 5


class SpatialDropout1D(Dropout):
    """Dropout of whole feature channels of (batch, steps, features) sequences while training
    (the same features dropped at every step); scaled by 1 / (1 - rate)."""

    def call(self, x, context):
        if not (context.training and self.rate > 0):
            return x
        if x.ndim != 3:
            raise ValueError(f"{self.name} takes (batch, steps, features) sequences, got {x.type}")
        keep = self.stream.binomial([shape(x)[0], 1, shape(x)[2]], n=1, p=1.0 - self.rate, dtype=x.dtype)
        return x * keep * (1.0 / (1.0 - self.rate))


class AlphaDropout(Dropout):
    """Dropout for self-normalizing networks (selu units, Klambauer et al.): dropped values are
    set to selu's negative limit and the result scaled and shifted so the inputs' mean and
    variance are kept, as Keras's; inference passes the inputs through."""
    ALPHA_P = -1.7580993408473766  # -selu's scale * alpha

    def call(self, x, context):
        if not (context.training and 0 < self.rate < 1):
            return x
        keep = self.stream.binomial(shape(x), n=1, p=1.0 - self.rate, dtype=x.dtype)
        a = ((1 - self.rate) * (1 + self.rate * self.ALPHA_P ** 2)) ** -0.5
        b = -a * self.ALPHA_P * self.rate
        return a * (x * keep + self.ALPHA_P * (1 - keep)) + b


class GaussianDropout(Layer):
    """Multiply by normal noise of mean 1 and variance rate / (1 - rate) while training
    (Srivastava et al.'s Gaussian dropout); inference passes the inputs through."""
    supports_masking = True

    def __init__(self, rate, seed=None, **kw):
        super().__init__(**kw)
        self.rate = float(rate)
        if not 0 <= self.rate < 1:
            raise ValueError(f"GaussianDropout: rate must be in [0, 1), got {rate}")
        self.stream = _own_stream(seed)

    def call(self, x, context):
        if context.training and self.rate > 0:
            stddev = (self.rate / (1.0 - self.rate)) ** 0.5
            return x * self.stream.normal(shape(x), 1.0, stddev, dtype=x.dtype)
        return x


class GaussianNoise(Layer):
    """Add zero-mean normal noise of standard deviation `stddev` while training (a denoising
    autoencoder's corruption); inference passes the inputs through."""
    supports_masking = True

    def __init__(self, stddev, seed=None, **kw):
        super().__init__(**kw)
        self.stddev = float(stddev)
        self.stream = _own_stream(seed)

    def call(self, x, context):
        if context.training and self.stddev > 0:
            return x + self.stream.normal(shape(x), 0.0, self.stddev, dtype=x.dtype)
        return x

