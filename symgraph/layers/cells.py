"""Keras's RNN layer and its cells: RNN(cell) runs any cell (SimpleRNNCell, LSTMCell, GRUCell,
StackedRNNCells, or a Layer of the user's with state_size and call(inputs, states)) over the
time axis of (batch, time, features) inputs by sg.scan, as Keras's "RNN layers and RNN cells".

The built-in cells are the recurrent layers' steps (the same weights, gate orders and defaults:
an RNN(LSTMCell(32)) computes what LSTM(32) does). A cell's weights are made when the RNN layer
is built, before the loop, and are the RNN layer's weights (trained, saved by save_weights).
"""
import inspect

from ..graph import name_scope
from ..ops.elemwise import where
from ..ops.scan import scan
from ..ops.shape import shape, zeros
from .base import Layer
from .recurrent import GRU, LSTM, SimpleRNN, _TakesInitialStates


class _LayerStep:
    """A recurrent layer's step as a cell: build((batch, features)), call(inputs, states)."""

    @property
    def state_size(self):
        return [self.units] * self.n_states

    @property
    def output_size(self):
        return self.units

    def build(self, input_shape):
        super().build((input_shape[0], None, input_shape[-1]))

    def call(self, inputs, states, training=None):
        new = self._step(inputs, *states)
        new = new if isinstance(new, list) else [new]
        return new[0], new


class SimpleRNNCell(_LayerStep, SimpleRNN):
    """SimpleRNN's step: h = activation(x W + h U + b)."""


class LSTMCell(_LayerStep, LSTM):
    """LSTM's step (states [h, c])."""


class GRUCell(_LayerStep, GRU):
    """GRU's step (reset_after, as Keras's default)."""


def _sizes(cell):
    size = cell.state_size
    return list(size) if isinstance(size, (list, tuple)) else [size]


def _build_cell(cell, input_shape):
    if not cell.built:
        with name_scope(cell.name):
            cell.build(tuple(input_shape))
        cell.built = True


def _cell_call(cell, inputs, states, training):
    """(output, new states as a list): cell.call with training where it takes it."""
    if "training" in inspect.signature(cell.call).parameters:
        output, new = cell.call(inputs, states, training=training)
    else:
        output, new = cell.call(inputs, states)
    return output, list(new) if isinstance(new, (list, tuple)) else [new]


class StackedRNNCells(Layer):
    """Cells one on another: each one's output the next one's input; the states all of theirs."""

    def __init__(self, cells, **kw):
        super().__init__(**kw)
        self.cells = list(cells)

    @property
    def state_size(self):
        return [size for cell in self.cells for size in _sizes(cell)]

    @property
    def output_size(self):
        last = self.cells[-1]
        return getattr(last, "output_size", _sizes(last)[0])

    def build(self, input_shape):
        batch, features = input_shape[0], input_shape[-1]
        for cell in self.cells:
            _build_cell(cell, (batch, features))
            self.weights.extend(cell.weights)
            self.trainable_flags.extend(cell.trainable_flags)
            self.weight_regularizers.extend(cell.weight_regularizers)
            features = getattr(cell, "output_size", _sizes(cell)[0])

    def call(self, inputs, states, training=None):
        new_states, at = [], 0
        for cell in self.cells:
            n = len(_sizes(cell))
            inputs, new = _cell_call(cell, inputs, states[at:at + n], training)
            new_states += new
            at += n
        return inputs, new_states


class RNN(_TakesInitialStates, Layer):
    """Keras's RNN(cell, return_sequences=False, return_state=False, go_backwards=False): the
    cell (or StackedRNNCells of a list of cells) over the time axis; with return_state, the
    output and the final states; initial_state=[...] starts them; a mask (Embedding's
    mask_zero, Masking) keeps the states and the output over padded steps."""

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, **kw):
        if stateful:
            raise NotImplementedError("RNN(stateful=True): carry the states between calls with return_state and "
                                      "initial_state")
        super().__init__(**kw)
        self.cell = StackedRNNCells(cell) if isinstance(cell, (list, tuple)) else cell
        if not hasattr(self.cell, "state_size") or not hasattr(self.cell, "call"):
            raise TypeError(f"RNN takes a cell (a layer with state_size and call(inputs, states)), got {cell!r}")
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards = bool(go_backwards)

    @property
    def n_states(self):
        return len(_sizes(self.cell))

    @property
    def state_names(self):
        return [f"state_{k}" for k in range(self.n_states)]

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(f"{self.name} takes (batch, time, features) with the features known, got {input_shape}")
        _build_cell(self.cell, (input_shape[0], input_shape[-1]))
        self.weights.extend(self.cell.weights)
        self.trainable_flags.extend(self.cell.trainable_flags)
        self.weight_regularizers.extend(self.cell.weight_regularizers)

    def call(self, x, training=None):
        x, given = (x[0], x[1:]) if isinstance(x, list) else (x, [])
        batch = shape(x)[0]
        states = [zeros([batch, size], dtype=x.dtype) for size in _sizes(self.cell)]
        for k, state in enumerate(given):
            states[k] = state if state.dtype == x.dtype else state.astype(x.dtype)
        mask = getattr(x, "keras_mask", None)
        output_size = getattr(self.cell, "output_size", _sizes(self.cell)[0])
        n = len(states)

        def step(x_t, *previous):
            output, new = _cell_call(self.cell, x_t, list(previous[:n]), training)
            if len(new) != n:
                raise ValueError(f"{self.name}: the cell returned {len(new)} states, its state_size says {n}")
            return new + [output]

        def masked_step(x_t, keep_t, *previous):  # (padding: the states and the output as they were)
            output, new = _cell_call(self.cell, x_t, list(previous[:n]), training)
            keep = keep_t.dimshuffle(0, "x")
            return [where(keep, a, b) for a, b in zip(new + [output], previous)]
        if mask is None:
            results, _ = scan(step, sequences=x.dimshuffle(1, 0, 2), outputs_info=states + [None],
                              go_backwards=self.go_backwards, name=self.name, return_list=True)
        else:
            start = zeros([batch, output_size], dtype=x.dtype)
            results, _ = scan(masked_step, sequences=[x.dimshuffle(1, 0, 2), mask.dimshuffle(1, 0)],
                              outputs_info=states + [start], go_backwards=self.go_backwards, name=self.name,
                              return_list=True)
        outputs = results[-1]
        out = outputs.dimshuffle(1, 0, 2) if self.return_sequences else outputs[-1]
        return [out] + [s[-1] for s in results[:n]] if self.return_state else out

    def compute_mask(self, x, mask):
        return mask if self.return_sequences else None
