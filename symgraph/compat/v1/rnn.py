"""tf.nn.rnn_cell and tf.nn.dynamic_rnn: TensorFlow 1's recurrent cells (their variables and
gate layouts as TensorFlow's: one kernel over [inputs, h]) run over the time axis by sg.scan.
sequence_length: past each sequence's length the outputs are zeros and the state is carried
through unchanged, as TensorFlow's."""
import collections

from ...ops import elemwise as E
from ...ops.base import as_variable
from ...ops.linalg import dot
from ...ops.scan import scan
from ...ops.shape import concatenate, shape, zeros
from .scopes import get_variable, variable_scope, zeros_initializer, constant_initializer

LSTMStateTuple = collections.namedtuple("LSTMStateTuple", ["c", "h"])


class RNNCell:
    """A cell: state_size, output_size, and __call__(inputs, state) -> (output, new state)
    once build(input_size) has made its variables."""
    _kind = "rnn_cell"

    def __init__(self, num_units, activation=None, reuse=None, name=None, dtype=None):
        self.num_units = num_units
        self.activation = activation or E.tanh
        self.name = name
        self.built = False

    @property
    def output_size(self):
        return self.num_units

    def zero_state(self, batch_size, dtype):
        return self._zeros(batch_size, dtype)

    def _zeros(self, batch_size, dtype):
        return zeros([batch_size, self.num_units], dtype=str(dtype))

    def __call__(self, inputs, state, scope=None):
        """(output, new state) of one step; the variables made at the first call (under the
        current variable scope, or scope), as TensorFlow's cells when unrolled by hand."""
        x = as_variable(inputs)
        self.build(x.type.shape[-1], x.dtype, scope)
        return self.step(x, state)

    def build(self, input_size, dtype, scope):
        """The variables, once: scope/cell name/kernel (rnn/basic_lstm_cell/kernel)."""
        if self.built:
            return
        with variable_scope(scope), variable_scope(self.name or self._kind):
            self._make_variables(input_size, dtype)
        self.built = True


class BasicRNNCell(RNNCell):
    """h = activation([x, h] W + b)."""
    _kind = "basic_rnn_cell"

    @property
    def state_size(self):
        return self.num_units

    def _make_variables(self, input_size, dtype):
        self.kernel = get_variable("kernel", [input_size + self.num_units, self.num_units], dtype=dtype)
        self.bias = get_variable("bias", [self.num_units], dtype=dtype, initializer=zeros_initializer())

    def step(self, inputs, state):
        h = self.activation(dot(concatenate([inputs, state], 1), self.kernel) + self.bias)
        return h, h


class BasicLSTMCell(RNNCell):
    """[i, j, f, o] = [x, h] W + b; c = c sigmoid(f + forget_bias) + sigmoid(i) tanh(j);
    h = tanh(c) sigmoid(o) (TensorFlow's gate order and its forget bias, 1.0)."""
    _kind = "basic_lstm_cell"

    def __init__(self, num_units, forget_bias=1.0, state_is_tuple=True, activation=None, reuse=None, name=None,
                 dtype=None, **unused):
        if not state_is_tuple:
            raise NotImplementedError("BasicLSTMCell(state_is_tuple=False): the state is an LSTMStateTuple (c, h)")
        super().__init__(num_units, activation, reuse, name, dtype)
        self.forget_bias = forget_bias

    @property
    def state_size(self):
        return LSTMStateTuple(self.num_units, self.num_units)

    def zero_state(self, batch_size, dtype):
        return LSTMStateTuple(self._zeros(batch_size, dtype), self._zeros(batch_size, dtype))

    def _make_variables(self, input_size, dtype):
        self.kernel = get_variable("kernel", [input_size + self.num_units, 4 * self.num_units], dtype=dtype)
        self.bias = get_variable("bias", [4 * self.num_units], dtype=dtype, initializer=zeros_initializer())

    def step(self, inputs, state):
        c, h = state
        gates = dot(concatenate([inputs, h], 1), self.kernel) + self.bias
        n = self.num_units
        i, j, f, o = gates[:, :n], gates[:, n:2 * n], gates[:, 2 * n:3 * n], gates[:, 3 * n:]
        new_c = c * E.sigmoid(f + self.forget_bias) + E.sigmoid(i) * self.activation(j)
        new_h = self.activation(new_c) * E.sigmoid(o)
        return new_h, LSTMStateTuple(new_c, new_h)


class LSTMCell(BasicLSTMCell):
    """BasicLSTMCell's step (no peepholes, no projection: those are refused)."""
    _kind = "lstm_cell"

    def __init__(self, num_units, use_peepholes=False, cell_clip=None, initializer=None, num_proj=None,
                 forget_bias=1.0, state_is_tuple=True, activation=None, reuse=None, name=None, dtype=None, **unused):
        if use_peepholes or num_proj is not None or cell_clip is not None:
            raise NotImplementedError("LSTMCell: peepholes, projections and cell clipping are not supported")
        super().__init__(num_units, forget_bias, state_is_tuple, activation, reuse, name, dtype)


class GRUCell(RNNCell):
    """[r, u] = sigmoid([x, h] Wg + bg) (bg starting at 1); c = activation([x, r h] Wc + bc);
    h = u h + (1 - u) c (TensorFlow's GRUCell)."""
    _kind = "gru_cell"

    @property
    def state_size(self):
        return self.num_units

    def _make_variables(self, input_size, dtype):
        n = self.num_units
        with variable_scope("gates"):
            self.gate_kernel = get_variable("kernel", [input_size + n, 2 * n], dtype=dtype)
            self.gate_bias = get_variable("bias", [2 * n], dtype=dtype, initializer=constant_initializer(1.0))
        with variable_scope("candidate"):
            self.candidate_kernel = get_variable("kernel", [input_size + n, n], dtype=dtype)
            self.candidate_bias = get_variable("bias", [n], dtype=dtype, initializer=zeros_initializer())

    def step(self, inputs, state):
        n = self.num_units
        gates = E.sigmoid(dot(concatenate([inputs, state], 1), self.gate_kernel) + self.gate_bias)
        r, u = gates[:, :n], gates[:, n:]
        candidate = self.activation(dot(concatenate([inputs, r * state], 1), self.candidate_kernel)
                                    + self.candidate_bias)
        new_h = u * state + (1 - u) * candidate
        return new_h, new_h


class MultiRNNCell(RNNCell):
    """Cells stacked: each one's output the next one's input; the state a tuple of theirs."""
    _kind = "multi_rnn_cell"

    def __init__(self, cells, state_is_tuple=True):
        self.cells = list(cells)
        self.name, self.built = None, False

    @property
    def state_size(self):
        return tuple(cell.state_size for cell in self.cells)

    @property
    def output_size(self):
        return self.cells[-1].output_size

    def zero_state(self, batch_size, dtype):
        return tuple(cell.zero_state(batch_size, dtype) for cell in self.cells)

    def build(self, input_size, dtype, scope):
        if self.built:
            return
        with variable_scope(scope), variable_scope(self._kind):
            for k, cell in enumerate(self.cells):
                cell.build(input_size, dtype, f"cell_{k}")
                input_size = cell.output_size
        self.built = True

    def step(self, inputs, state):
        new_states = []
        for cell, s in zip(self.cells, state):
            inputs, s = cell.step(inputs, s)
            new_states.append(s)
        return inputs, tuple(new_states)


def _flat(state):
    return [state] if not isinstance(state, tuple) else [leaf for part in state for leaf in _flat(part)]


def _packed(like, leaves):
    """The state's structure (a tuple, an LSTMStateTuple, nested) filled from flat leaves."""
    leaves = iter(leaves)

    def fill(node):
        if not isinstance(node, tuple):
            return next(leaves)
        parts = [fill(part) for part in node]
        return type(node)(*parts) if hasattr(node, "_fields") else tuple(parts)
    return fill(like)


def dynamic_rnn(cell, inputs, sequence_length=None, initial_state=None, dtype=None, parallel_iterations=None,
                swap_memory=False, time_major=False, scope=None):
    """(outputs (batch, time, units), or time-major, and the state after each sequence's last step)."""
    x = as_variable(inputs)
    if x.ndim != 3 or x.type.shape[2] is None:
        raise ValueError(f"dynamic_rnn: inputs must be 3-d with their last length known, got {x.describe()}")
    steps = x if time_major else x.dimshuffle(1, 0, 2)
    dtype = str(dtype or x.dtype)
    batch = shape(steps)[1]
    cell.build(x.type.shape[2], dtype, scope or "rnn")
    start = cell.zero_state(batch, dtype) if initial_state is None else initial_state
    structure, first = start, _flat(start)
    lengths = None if sequence_length is None else as_variable(sequence_length)

    def step(*args):
        if lengths is not None:
            x_t, t, rest = args[0], args[1], args[2:]
        else:
            x_t, t, rest = args[0], None, args[1:]
        state = _packed(structure, rest[:len(first)])
        output, new_state = cell.step(x_t, state)
        new_leaves = _flat(new_state)
        if lengths is not None:  # (past a sequence's end: zeros out, the state carried)
            alive = E.lt(t, lengths).dimshuffle(0, "x")
            output = E.where(alive, output, E.cast(0, output.dtype))
            new_leaves = [E.where(alive, new, old) for new, old in zip(new_leaves, rest[:len(first)])]
        return new_leaves + [output]
    sequences = [steps] if lengths is None else [steps, _time_index(steps)]
    results, _ = scan(step, sequences=sequences, outputs_info=first + [None], return_list=True,
                      name=f"{cell._kind} step")
    outputs = results[-1]
    final = _packed(structure, [r[-1] for r in results[:-1]])
    return (outputs if time_major else outputs.dimshuffle(1, 0, 2)), final


def bidirectional_dynamic_rnn(cell_fw, cell_bw, inputs, sequence_length=None, initial_state_fw=None,
                              initial_state_bw=None, dtype=None, parallel_iterations=None, swap_memory=False,
                              time_major=False, scope=None):
    """((forward outputs, backward outputs), (forward state, backward state)): the backward cell
    reads each sequence from its last real step back (tf.reverse_sequence), its outputs put back
    in the inputs' order, under scope/fw and scope/bw as TensorFlow's."""
    scope = scope or "bidirectional_rnn"
    with variable_scope(scope):
        forward, state_fw = dynamic_rnn(cell_fw, inputs, sequence_length, initial_state_fw, dtype,
                                        time_major=time_major, scope="fw")
        seq_axis, batch_axis = (0, 1) if time_major else (1, 0)
        flipped = _reversed(inputs, sequence_length, seq_axis, batch_axis)
        backward, state_bw = dynamic_rnn(cell_bw, flipped, sequence_length, initial_state_bw, dtype,
                                         time_major=time_major, scope="bw")
    return (forward, _reversed(backward, sequence_length, seq_axis, batch_axis)), (state_fw, state_bw)


def _reversed(x, lengths, seq_axis, batch_axis):
    from . import reverse_sequence
    x = as_variable(x)
    if lengths is None:
        index = [slice(None)] * x.ndim
        index[seq_axis] = slice(None, None, -1)
        return x[tuple(index)]
    return reverse_sequence(x, lengths, seq_axis=seq_axis, batch_axis=batch_axis)


def _time_index(steps):
    from ...ops.shape import arange
    return arange(shape(steps)[0])

