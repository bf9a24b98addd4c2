"""Activation layers, as Keras's: ReLU, LeakyReLU, ELU, ThresholdedReLU, PReLU (its slopes
learned), Softmax."""
from .. import activations, keras_backend
from ..ops import elemwise as E
from ..ops import nn as N
from .base import Layer


class ReLU(Layer):
    """max(x, threshold), negative_slope * (x - threshold) below it, capped at max_value."""
    supports_masking = True

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kw):
        super().__init__(**kw)
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope, self.threshold = float(negative_slope), float(threshold)

    def call(self, x, context):
        return keras_backend.relu(x, self.negative_slope, self.max_value, self.threshold)


class LeakyReLU(Layer):
    """x where x > 0, else alpha * x (Keras's default alpha 0.3; negative_slope is Keras 3's name)."""
    supports_masking = True

    def __init__(self, alpha=0.3, negative_slope=None, **kw):
        super().__init__(**kw)
        self.alpha = float(alpha if negative_slope is None else negative_slope)

    def call(self, x, context):
        return activations.leaky_relu(x, self.alpha)


class ELU(Layer):
    """x where x > 0, else alpha * (exp(x) - 1)."""
    supports_masking = True

    def __init__(self, alpha=1.0, **kw):
        super().__init__(**kw)
        self.alpha = float(alpha)

    def call(self, x, context):
        return N.elu(x, self.alpha)


class ThresholdedReLU(Layer):
    """x where x > theta, else 0."""
    supports_masking = True

    def __init__(self, theta=1.0, **kw):
        super().__init__(**kw)
        self.theta = float(theta)

    def call(self, x, context):
        return x * E.cast(x > self.theta, x.dtype)


class PReLU(Layer):
    """x where x > 0, else alpha * x with alpha learned, one per input value (He et al.);
    shared_axes (counted with the batch axis as 0, as Keras's) share one slope along them:
    PReLU(shared_axes=[2, 3]) after a convolution learns one slope per channel."""
    supports_masking = True

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kw):
        super().__init__(**kw)
        self.alpha_initializer, self.alpha_regularizer = alpha_initializer, alpha_regularizer
        self.alpha_constraint = alpha_constraint
        self.shared_axes = [] if shared_axes is None else [int(a) for a in
                                                          (shared_axes if isinstance(shared_axes, (list, tuple))
                                                           else [shared_axes])]

    def build(self, input_shape):
        if any(not 1 <= a < len(input_shape) for a in self.shared_axes):
            raise ValueError(f"{self.name}: shared_axes {self.shared_axes} must be axes 1..{len(input_shape) - 1} "
                             f"of inputs shaped {input_shape}")
        self.own_axes = [a for a in range(1, len(input_shape)) if a not in self.shared_axes]
        if any(input_shape[a] is None for a in self.own_axes):
            raise ValueError(f"{self.name}: axes {self.own_axes} of {input_shape} need known lengths "
                             f"(or share them with shared_axes)")
        self.alpha = self.add_weight("alpha", [input_shape[a] for a in self.own_axes], self.alpha_initializer,
                                     regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)

    def call(self, x, context):
        pattern = [self.own_axes.index(a) if a in self.own_axes else "x" for a in range(x.ndim)]
        return activations.leaky_relu(x, self.alpha.dimshuffle(*pattern))


class Softmax(Layer):
    supports_masking = True

    def __init__(self, axis=-1, **kw):
        super().__init__(**kw)
        self.axis = axis

    def call(self, x, context):
        return N.softmax(x, self.axis)
