"""Attention layers, Keras's: Attention (Luong's dot-product), AdditiveAttention (Bahdanau's) and
MultiHeadAttention (the Transformer's), over (batch, steps, features) sequences.

    context = L.Attention()([query, value])                  # or [query, value, key]
    h = L.MultiHeadAttention(num_heads=2, key_dim=16)(x, x)  # self-attention

Each step of the query takes a softmax-weighted average of the value's steps, weighted by its
score against the key's (the value's own when no key is given). Padded value steps (their
keras_mask, from Embedding(mask_zero=True) or Masking) and, with causal=True, later steps get
no weight; padded query steps give zeros, and the output keeps the query's mask.
"""
import functools

import numpy as np

from ..graph import name_scope
from ..ops import elemwise as E
from ..ops.linalg import dot, matmul
from ..ops.nn import softmax, dropout
from ..ops.shape import arange, expand_dims, reshape, shape
from .core import _own_stream
from .merge import Merge


def _keras_fans(shape):
    """Keras's fans of an einsum kernel (in, heads, size) / (heads, size, out): the last two axes
    times the rest (symgraph's fans read a convolution's OIHW)."""
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


def _attend(scores, value, keep, rate, stream, training):
    """softmax(scores) over the value's steps (those not kept: minus 1e9 first, as Keras's),
    dropped out while training, times the value."""
    if keep is not None:
        scores = scores - 1e9 * E.cast(E.invert(keep), scores.dtype)
    weights = softmax(scores, axis=-1)
    if training and rate > 0:
        weights = dropout(weights, rate, stream)
    return matmul(weights, value)


def _causal(query, value):
    """(1, query steps, value steps): True where the value's step is not after the query's."""
    rows = expand_dims(arange(shape(query)[1]), 1)
    cols = expand_dims(arange(shape(value)[1]), 0)
    return expand_dims(E.ge(rows, cols), 0)


def _and(*masks):
    """The masks given (None: no mask) ANDed, or None."""
    given = [m for m in masks if m is not None]
    return functools.reduce(E.logical_and, given) if given else None


class _Attention(Merge):
    """The shared part of Attention and AdditiveAttention: called on [query, value] or [query,
    value, key]; subclasses give `scores(query, key)`."""
    minimum_inputs = 2

    def __init__(self, use_scale=False, dropout=0.0, causal=False, use_causal_mask=None, seed=None, **kw):
        super().__init__(**kw)
        self.use_scale, self.dropout = bool(use_scale), float(dropout)
        self.causal = bool(causal if use_causal_mask is None else use_causal_mask)
        self.stream = _own_stream(seed)

    def _check(self, shapes):
        if len(shapes) not in (2, 3) or any(len(s) != 3 for s in shapes):
            raise ValueError(f"{self.name} is called on [query, value] or [query, value, key], each (batch, "
                             f"steps, features), got shapes {shapes}")
        query, value, key = shapes[0], shapes[1], shapes[-1]
        if None not in (value[1], key[1]) and value[1] != key[1]:
            raise ValueError(f"{self.name}: the value has {value[1]} steps, the key {key[1]}")
        if None not in (query[2], key[2]) and query[2] != key[2]:
            raise ValueError(f"{self.name}: the query's features ({query[2]}) and the key's ({key[2]}) differ")

    def trace(self, inputs, context):
        if not self.built:
            with name_scope(self.name):
                self.build([tuple(x.type.shape) for x in inputs])
        return super().trace(inputs, context)

    def call(self, inputs, context):
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        query_mask, value_mask = (getattr(x, "keras_mask", None) for x in (query, value))
        keep = _and(None if value_mask is None else expand_dims(value_mask, 1),
                    _causal(query, value) if self.causal else None)
        out = _attend(self.scores(query, key), value, keep, self.dropout, self.stream, context.training)
        if query_mask is not None:
            out = out * E.cast(expand_dims(query_mask, 2), out.dtype)
        return out

    def compute_mask(self, inputs, masks):
        return masks[0]  # (the query's steps)


class Attention(_Attention):
    """Dot-product attention (Luong's): scores query . key (times a learned scalar with
    use_scale); score_mode "concat" scores sum(tanh(query + key)) instead."""

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, causal=False, use_causal_mask=None,
                 seed=None, **kw):
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"Attention: score_mode is 'dot' or 'concat', got {score_mode!r}")
        super().__init__(use_scale, dropout, causal, use_causal_mask, seed, **kw)
        self.score_mode = score_mode

    def build(self, shapes):
        self.scale = self.add_weight("scale", (), initializer="ones") if self.use_scale else None
        self.concat_score_weight = self.add_weight("concat_score_weight", (), initializer="ones") \
            if self.score_mode == "concat" else None

    def scores(self, query, key):
        if self.score_mode == "dot":
            scores = matmul(query, key.dimshuffle(0, 2, 1))
            return scores * self.scale if self.scale is not None else scores
        q, k = expand_dims(query, 2), expand_dims(key, 1)
        if self.scale is not None:
            return self.concat_score_weight * E.tanh(self.scale * (q + k)).sum(axis=-1)
        return self.concat_score_weight * E.tanh(q + k).sum(axis=-1)


class AdditiveAttention(_Attention):
    """Additive attention (Bahdanau's): scores sum(scale * tanh(query + key)) over the features,
    scale a learned vector (use_scale, the default)."""

    def __init__(self, use_scale=True, dropout=0.0, causal=False, use_causal_mask=None, seed=None, **kw):
        super().__init__(use_scale, dropout, causal, use_causal_mask, seed, **kw)

    def build(self, shapes):
        dim = shapes[0][2]
        if dim is None:
            raise ValueError(f"{self.name} needs the query's number of features, got shape {shapes[0]}")
        self.scale = self.add_weight("scale", (dim,), initializer="glorot_uniform") if self.use_scale else None

    def scores(self, query, key):
        hidden = E.tanh(expand_dims(query, 2) + expand_dims(key, 1))  # (batch, Tq, Tv, features)
        return (hidden * self.scale if self.scale is not None else hidden).sum(axis=-1)


class MultiHeadAttention(_Attention):
    """The Transformer's multi-head attention, Keras's: num_heads heads, each projecting the
    query and key to key_dim features and the value to value_dim (key_dim by default), scoring
    by scaled dot products, then one projection of the heads joined back to the query's
    features (or output_shape). Called as layer(query, value) or layer(query, value, key),
    attention_mask (batch, Tq, Tv) True where a query step may attend, use_causal_mask for
    a decoder's self-attention (each call's own, replayed and saved with the call)."""

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, bias_constraint=None, seed=None,
                 use_causal_mask=False, **kw):
        super().__init__(False, dropout, use_causal_mask, None, seed, **kw)
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.value_dim = int(value_dim) if value_dim else self.key_dim
        self.use_bias, self.output_shape_given = bool(use_bias), output_shape
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint

    def __call__(self, query, value=None, key=None, attention_mask=None, use_causal_mask=None, training=None):
        if isinstance(query, (list, tuple)):  # (Keras 2's [query, value] call as well: the layer's setting)
            inputs = list(query)
        elif value is None:
            raise TypeError(f"{self.name} is called as layer(query, value[, key]), got no value")
        else:
            use_causal_mask = bool(use_causal_mask)  # (not given: False, as Keras's)
            key = value if key is None else key
            inputs = [query, value, key] + ([attention_mask] if attention_mask is not None else [])
        if use_causal_mask is not None:
            self.causal = bool(use_causal_mask)
        out = super().__call__(inputs, training=training)
        out.call_causal = self.causal  # (this call's: a model replays each call with its own)
        return out

    def call_options(self, out):
        return {**super().call_options(out), "use_causal_mask": getattr(out, "call_causal", self.causal)}

    def restore_call(self, out):
        self.causal = getattr(out, "call_causal", self.causal)

    def named_arguments(self):
        return {**super().named_arguments(), "use_causal_mask": self.causal}  # (the last call's, saved)

    def _check(self, shapes):
        super()._check(shapes[:3])  # (a fourth input is the attention mask)

    def _projection(self, name, shape_, fan=None):
        return self.add_weight(name, shape_, initializer=self.kernel_initializer, fan=fan or _keras_fans(shape_),
                               regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)

    def _bias(self, name, shape_):
        if not self.use_bias:
            return None
        return self.add_weight(name, shape_, initializer=self.bias_initializer, regularizer=self.bias_regularizer,
                               constraint=self.bias_constraint)

    def build(self, shapes):
        query, value = shapes[0], shapes[1]
        key = shapes[2] if len(shapes) > 2 else value
        dims = [query[2], key[2], value[2]]
        if None in dims:
            raise ValueError(f"{self.name} needs the features of the query, key and value, got shapes {shapes}")
        h, k, v = self.num_heads, self.key_dim, self.value_dim
        out = self.output_shape_given or query[2]
        out = int(out[-1] if isinstance(out, (tuple, list)) else out)
        self.query_kernel, self.query_bias = self._projection("query/kernel", (dims[0], h, k)), self._bias("query/bias", (h, k))
        self.key_kernel, self.key_bias = self._projection("key/kernel", (dims[1], h, k)), self._bias("key/bias", (h, k))
        self.value_kernel, self.value_bias = self._projection("value/kernel", (dims[2], h, v)), self._bias("value/bias", (h, v))
        self.output_kernel = self._projection("attention_output/kernel", (h, v, out))
        self.output_bias = self._bias("attention_output/bias", (out,))

    def _heads(self, x, kernel, bias, size):
        """(batch, steps, features) -> (batch, heads, steps, size): one product for all heads."""
        batch, steps = shape(x)[0], shape(x)[1]
        flat = dot(reshape(x, [batch * steps, shape(x)[2]]), reshape(kernel, [kernel.type.shape[0], -1]))
        if bias is not None:
            flat = flat + reshape(bias, [-1])
        return reshape(flat, [batch, steps, self.num_heads, size]).dimshuffle(0, 2, 1, 3)

    def call(self, inputs, context):
        query, value, key = inputs[:3]
        attention_mask = inputs[3] if len(inputs) > 3 else None
        q = self._heads(query, self.query_kernel, self.query_bias, self.key_dim) * (1.0 / np.sqrt(self.key_dim))
        k = self._heads(key, self.key_kernel, self.key_bias, self.key_dim)
        v = self._heads(value, self.value_kernel, self.value_bias, self.value_dim)
        query_mask, value_mask, key_mask = (getattr(x, "keras_mask", None) for x in (query, value, key))
        keep = _and(None if query_mask is None else expand_dims(query_mask, 2),
                    None if value_mask is None else expand_dims(value_mask, 1),
                    None if key_mask is None else expand_dims(key_mask, 1),
                    None if attention_mask is None else E.cast(attention_mask, "bool"),
                    _causal(query, value) if self.causal else None)
        keep = None if keep is None else expand_dims(keep, 1)  # (one mask for every head)
        heads = _attend(matmul(q, k.dimshuffle(0, 1, 3, 2)), v, keep, self.dropout, self.stream, context.training)
        batch, steps = shape(query)[0], shape(query)[1]
        joined = reshape(heads.dimshuffle(0, 2, 1, 3), [batch * steps, self.num_heads * self.value_dim])
        out = dot(joined, reshape(self.output_kernel, [self.num_heads * self.value_dim, -1]))
        if self.output_bias is not None:
            out = out + self.output_bias
        return reshape(out, [batch, steps, self.output_kernel.type.shape[2]])
