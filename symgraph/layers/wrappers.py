"""TimeDistributed: a layer applied to every step of a sequence, with the same weights."""
from ..ops.shape import reshape, shape
from .base import Layer


class TimeDistributed(Layer):
    """TimeDistributed(layer): (batch, steps, ...) -> (batch, steps, layer's output per step),
    the steps folded into the batch for one call of the layer (a Dense or a Conv2D per frame)."""
    supports_masking = True

    def __init__(self, layer, **kw):
        if not isinstance(layer, Layer):
            raise TypeError(f"TimeDistributed wraps a layer, got {type(layer).__name__}")
        kw.setdefault("dtype", layer.dtype)
        super().__init__(**kw)
        if self.input_shape_hint is None:
            self.input_shape_hint = layer.input_shape_hint
        self.layer = layer

    def build(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(f"{self.name} takes (batch, steps, ...) inputs, got {input_shape}")
        self.layer.ensure_built((None,) + tuple(input_shape[2:]))
        self.weights += self.layer.weights
        self.trainable_flags += self.layer.trainable_flags
        self.weight_regularizers += self.layer.weight_regularizers

    def call(self, x, context):
        n, steps = shape(x)[0], shape(x)[1]
        per_step = [x.type.shape[k] if x.type.shape[k] is not None else shape(x)[k] for k in range(2, x.ndim)]
        out = self.layer.trace(reshape(x, [n * steps] + per_step), context)
        rest = [out.type.shape[k] if out.type.shape[k] is not None else shape(out)[k] for k in range(1, out.ndim)]
        return reshape(out, [n, steps] + rest)
