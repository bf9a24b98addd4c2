"""SimpleRNN, LSTM and GRU over (batch, time, features) inputs, as Keras's, on sg.scan, and
Bidirectional around any of them.

Each layer's step is a scan over the time axis; the input's product by the kernel is taken
out of the loop by scan (one product of the whole sequence), so the step computes only the
recurrent product and the gates. return_sequences gives every step's output (batch, time,
units), else the last one (batch, units); go_backwards reads the sequence last step first.
Given a mask (Embedding(mask_zero=True), Masking), a padded step keeps the states it had, so
padding changes nothing of the outputs of the real steps, as in Keras.
"""
import numpy as np

from .. import activations
from ..ops.elemwise import where
from ..ops.linalg import dot
from ..ops.scan import scan
from ..ops.shape import concatenate, shape, zeros
from ..graph import Variable
from .base import Layer


class _TakesInitialStates:
    """A recurrent layer's functional call, which takes its initial states too (n_states)."""

    def __call__(self, x, initial_state=None, training=None):
        """Keras's call: layer(x), or layer(x, initial_state=[h] / [h, c]) (an encoder's final
        states starting a decoder), or layer([x, h, c])."""
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            x = [x] + states
        return super().__call__(x, training=training)

    def called_on(self, x):
        if isinstance(x, (list, tuple)):
            if len(x) != 1 + self.n_states or not all(isinstance(v, Variable) for v in x):
                raise ValueError(f"{self.name} takes a sequence and {self.n_states} initial state(s) "
                                 f"({', '.join(self.state_names)}), got {len(x)} values")
            return list(x)
        return super().called_on(x)


class _Recurrent(_TakesInitialStates, Layer):
    gates = 1  # blocks of `units` columns in the kernels

    def __init__(self, units, activation="tanh", return_sequences=False, go_backwards=False, use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, return_state=False, **kw):
        super().__init__(**kw)
        self.return_state = bool(return_state)
        self.kernel_regularizer, self.recurrent_regularizer = kernel_regularizer, recurrent_regularizer
        self.bias_regularizer = bias_regularizer
        self.kernel_constraint, self.recurrent_constraint = kernel_constraint, recurrent_constraint
        self.bias_constraint = bias_constraint
        self.units, self.return_sequences, self.go_backwards = int(units), bool(return_sequences), bool(go_backwards)
        self.activation, self.use_bias = activations.get(activation), use_bias
        self.kernel_initializer, self.recurrent_initializer = kernel_initializer, recurrent_initializer

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(f"{self.name} takes (batch, time, features) with the features known, got {input_shape}")
        features, width = input_shape[-1], self.gates * self.units
        self.kernel = self.add_weight("kernel", (features, width), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, width), self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = self.add_weight("bias", self._bias_shape(width), self._bias_initializer(),
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None

    def _bias_shape(self, width):
        return (width,)

    def _bias_initializer(self):
        return "zeros"

    def _affine(self, x_t, h):
        z = dot(x_t, self.kernel) + dot(h, self.recurrent_kernel)
        return z if self.bias is None else z + self.bias

    @property
    def state_names(self):
        return ["h", "c"][:self.n_states]

    def call(self, x, context):
        x, given = (x[0], x[1:]) if isinstance(x, list) else (x, [])
        batch = shape(x)[0]
        states = [zeros([batch, self.units], dtype=x.dtype) for _ in range(self.n_states)]
        for k, state in enumerate(given):
            if state.ndim != 2 or state.type.shape[1] not in (None, self.units):
                raise ValueError(f"{self.name}: initial state {k} must be (batch, {self.units}), got {state.type}")
            states[k] = state if state.dtype == x.dtype else state.astype(x.dtype)
        mask = getattr(x, "keras_mask", None)
        if mask is None:
            outs, _ = scan(self._step, sequences=x.dimshuffle(1, 0, 2), outputs_info=states,
                           go_backwards=self.go_backwards, name=self.name)
        else:
            outs, _ = scan(self._masked_step, sequences=[x.dimshuffle(1, 0, 2), mask.dimshuffle(1, 0)],
                           outputs_info=states, go_backwards=self.go_backwards, name=self.name)
        outs = outs if isinstance(outs, list) else [outs]
        h = outs[0]
        out = h.dimshuffle(1, 0, 2) if self.return_sequences else h[-1]
        return [out] + [state[-1] for state in outs] if self.return_state else out  # (Keras's [output, h(, c)])

    def _masked_step(self, x_t, keep_t, *states):
        """A step where the mask is False (padding) keeps the states (and so the output) it
        had, as Keras's: the last output is the one after the last real step."""
        new = self._step(x_t, *states)
        new = new if isinstance(new, list) else [new]
        keep = keep_t.dimshuffle(0, "x")
        return [where(keep, n, s) for n, s in zip(new, states)]

    def compute_mask(self, x, mask):
        return mask if self.return_sequences else None  # (the states' outputs carry none)


class SimpleRNN(_Recurrent):
    """h_t = activation(x_t W + h_{t-1} U + b)."""
    n_states = 1

    def _step(self, x_t, h):
        return self.activation(self._affine(x_t, h))


class LSTM(_Recurrent):
    """Keras's LSTM: gates i, f, c, o in that order along the kernels' columns, sigmoid gates
    (recurrent_activation), the forget gate's bias starting at 1 (unit_forget_bias);
    c_t = f c_{t-1} + i activation(.), h_t = o activation(c_t)."""
    gates, n_states = 4, 2

    def __init__(self, units, recurrent_activation="sigmoid", unit_forget_bias=True, **kw):
        super().__init__(units, **kw)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias_initializer(self):
        return forget_gate_ones(self.units) if self.unit_forget_bias else "zeros"

    def _step(self, x_t, h, c):
        z, u = self._affine(x_t, h), self.units
        i, f = self.recurrent_activation(z[:, :u]), self.recurrent_activation(z[:, u:2 * u])
        o = self.recurrent_activation(z[:, 3 * u:])
        c_new = f * c + i * self.activation(z[:, 2 * u:3 * u])
        return [o * self.activation(c_new), c_new]


def forget_gate_ones(units):
    """Keras's unit_forget_bias: an LSTM's bias (gates i, f, c, o) zero but the forget gate's, 1."""
    def forget_ones(shape, fan_in, fan_out):
        bias = np.zeros(shape)
        bias[units:2 * units] = 1.0
        return bias
    return forget_ones


class GRU(_Recurrent):
    """Keras's GRU: gates z (update), r (reset), h (candidate) in that order along the kernels'
    columns, sigmoid gates (recurrent_activation); h_t = z h_{t-1} + (1 - z) activation(.).
    reset_after (Keras 2's default): the reset gate scales the recurrent product, which has a
    bias of its own (bias (2, 3 units): the input's row, then the recurrent product's); without
    it (Keras 1's form), the reset gate scales h_{t-1} before its product by the candidate's
    block of the recurrent kernel, and there is one bias (3 units)."""
    gates, n_states = 3, 1

    def __init__(self, units, recurrent_activation="sigmoid", reset_after=True, **kw):
        super().__init__(units, **kw)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)

    def _bias_shape(self, width):
        return (2, width) if self.reset_after else (width,)

    def _step(self, x_t, h):
        u, gate = self.units, self.recurrent_activation
        x_part = dot(x_t, self.kernel)
        if self.bias is not None:
            x_part = x_part + (self.bias[0] if self.reset_after else self.bias)
        if self.reset_after:
            h_part = dot(h, self.recurrent_kernel)
            if self.bias is not None:
                h_part = h_part + self.bias[1]
            z, r = gate(x_part[:, :u] + h_part[:, :u]), gate(x_part[:, u:2 * u] + h_part[:, u:2 * u])
            candidate = self.activation(x_part[:, 2 * u:] + r * h_part[:, 2 * u:])
        else:
            h_part = dot(h, self.recurrent_kernel[:, :2 * u])
            z, r = gate(x_part[:, :u] + h_part[:, :u]), gate(x_part[:, u:2 * u] + h_part[:, u:])
            candidate = self.activation(x_part[:, 2 * u:] + dot(r * h, self.recurrent_kernel[:, 2 * u:]))
        return z * h + (1 - z) * candidate


class Bidirectional(_TakesInitialStates, Layer):
    """Keras's Bidirectional: the recurrent layer over the sequence and a copy of it reading the
    sequence backwards (go_backwards flipped; its own weights, made from the layer's constructor
    arguments), their outputs merged: merge_mode "concat" (Keras's default, along the last axis),
    "sum", "mul" or "ave". With return_sequences, the backward copy's outputs are put back in the
    sequence's order first. With return_state (Keras's), the call returns [output, the forward
    layer's states, the backward layer's states] (an LSTM's: output, forward_h, forward_c,
    backward_h, backward_c); initial_state takes them in that order: the first half starts the
    forward layer, the second half the backward one."""
    MERGES = {"concat": lambda f, b: concatenate([f, b], axis=-1), "sum": lambda f, b: f + b,
              "mul": lambda f, b: f * b, "ave": lambda f, b: (f + b) / 2}

    def __init__(self, layer, merge_mode="concat", **kw):
        if not isinstance(layer, _Recurrent):
            raise TypeError(f"Bidirectional wraps a recurrent layer (SimpleRNN, LSTM, GRU), got {type(layer).__name__}")
        if merge_mode not in self.MERGES:
            raise ValueError(f"Bidirectional's merge_mode is one of {tuple(self.MERGES)}, not {merge_mode!r}")
        kw.setdefault("dtype", layer.dtype)
        super().__init__(**kw)
        if self.input_shape_hint is None:  # (Keras takes input_shape on either)
            self.input_shape_hint = layer.input_shape_hint
        self.merge_mode, self.forward_layer = merge_mode, layer
        arguments = {k: v for k, v in layer.named_arguments().items() if k not in ("name", "input_shape")}
        self.backward_layer = type(layer)(**{**arguments, "go_backwards": not layer.go_backwards},
                                          name=f"backward_{layer.name}")

    @property
    def n_states(self):
        return 2 * self.forward_layer.n_states

    @property
    def state_names(self):
        return [f"{way}_{name}" for way in ("forward", "backward") for name in self.forward_layer.state_names]

    def build(self, input_shape):
        for layer in (self.forward_layer, self.backward_layer):
            layer.ensure_built(input_shape)
            self.weights += layer.weights
            self.trainable_flags += layer.trainable_flags
            self.weight_regularizers += layer.weight_regularizers

    def compute_mask(self, x, mask):
        return mask if self.forward_layer.return_sequences else None

    def call(self, x, context):
        data, given = (x[0], x[1:]) if isinstance(x, list) else (x, [])
        half = len(given) // 2
        forward, backward = (layer.trace([data] + states if states else data, context)
                             for layer, states in ((self.forward_layer, given[:half]),
                                                   (self.backward_layer, given[half:])))
        forward_states, backward_states = [], []
        if self.forward_layer.return_state:
            (forward, *forward_states), (backward, *backward_states) = forward, backward
        if self.forward_layer.return_sequences:
            backward = backward[:, ::-1]
        merged = self.MERGES[self.merge_mode](forward, backward)
        return [merged] + forward_states + backward_states if self.forward_layer.return_state else merged
