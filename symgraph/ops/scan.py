"""scan: Theano's loop, a function applied along sequences with state carried between steps.

    h0 = sg.zeros((n_hidden,))
    hs, _ = sg.scan(lambda x_t, h, W, U: sg.tanh(sg.dot(x_t, W) + sg.dot(h, U)),
                    sequences=xs, outputs_info=h0, non_sequences=[W, U])

fn's arguments are one slice of each sequence, the previous value of each output with an
initial value in outputs_info (None there: an output not fed back), then the non-sequences;
variables fn reads from outside (shared weights) are found and passed along too. Each output
comes back stacked over the steps (the states after each step, not the initial one), with an
empty updates dictionary, as Theano's (outputs, updates).

The loop is one Scan node holding the step as an inner graph. Its NumPy reference runs the
inner graph node by node; the numba backend compiles the step as a function of its own
(backends/numba_scan.py). The gradient is another Scan, backwards over the steps: it carries the
gradient of each state, adds up those of the non-sequences, and stacks those of the sequences
(Theano's scan gradient, for taps of one step back). A product of a sequence's slice by a
matrix from outside (an RNN's x_t @ W) is taken out of the loop, one product of the whole
sequence (Theano's push-out), so W's gradient is one product after the backward loop too.
A random draw in the step (a Gibbs sampler's rng.binomial) advances its stream a step at a
time: the stream's state is a state of the loop, and the updates returned advance it by the
number of steps (also its default update: a function draws fresh numbers at each call).
Theano's other forms: a sequence given as dict(input=x, taps=[-1, 0, 1]) gives fn x[t-1], x[t],
x[t+1] (one sliced sequence a tap, over the steps where every tap is inside x); an output given
as dict(initial=x0, taps=[-2, -1]) gives fn its values two steps and one step before (the state
is a window of the last values, x0's first rows the steps before the first; the output is the
new steps only); fn returning (outputs, {shared: new value}) updates a shared variable from step
to step (a state of the loop; scan's updates give its last value); fn returning until(condition)
beside its outputs stops the loop after the step that makes it true (Scan's `condition`).
truncate_gradient=k (Theano's truncated backpropagation through time): the gradient runs back
over the last k steps only; the sequences' entries before them, and the initial states unless
k covers every step, get none, and the non-sequences get the last k steps' share.
"""
from collections import OrderedDict

import numpy as np

from .base import InnerGraphOp, Apply, TensorType, Variable, as_int_scalar, as_variable, constant_value
from .elemwise import minimum
from ..graph import Constant, SharedVariable, clone_replace


class Scan(InnerGraphOp):
    """outputs = states (n_states, each (n,) + its shape) then per-step outputs (maps), from
    inner_outputs = the states' new values then the maps, computed from inner_inputs = a
    slice of each sequence (n_seqs), the states' previous values (n_states), the constants.
    final_states: how many of the states (the first ones; True: all) give their value after the
    last step (the initial value where there are none), not the stack of every step's (the
    gradient's running sums, shared variables the step updates: Theano's scan_save_mem; an RNN's
    U gradient was stacked over the steps only to read the last).
    truncate_gradient: how many of the last steps the gradient runs back over (-1: all).
    condition: the index of the per-step output (a boolean scalar) that stops the loop after the
    step that makes it true (Theano's until), or None; the outputs then have as many rows as
    steps were taken."""

    def __init__(self, inner_inputs, inner_outputs, n_seqs, n_states, go_backwards=False, name=None,
                 final_states=False, truncate_gradient=-1, condition=None):
        self.inner_inputs, self.inner_outputs = list(inner_inputs), list(inner_outputs)
        self.n_seqs, self.n_states, self.go_backwards = n_seqs, n_states, bool(go_backwards)
        self.n_maps = len(inner_outputs) - n_states
        self.name = name
        self.final_states = n_states if final_states is True else int(final_states)
        self.truncate_gradient = int(truncate_gradient)
        self.condition = condition
        self._reference = None

    def __str__(self):
        backwards = ", backwards" if self.go_backwards else ""
        until = ", until" if self.condition is not None else ""
        states = ("final states" if self.final_states == self.n_states else f"states ({self.final_states} final)") \
            if self.final_states else "states"
        return f"Scan{{{self.name or 'step'}, {self.n_states} {states}, {self.n_maps} outputs{backwards}{until}}}"

    def make_node(self, n_steps, *outer):
        outer = [as_variable(v) for v in outer]
        if len(outer) != len(self.inner_inputs):
            raise ValueError(f"{self}: {len(self.inner_inputs)} inputs expected, got {len(outer)}")
        n_steps = as_int_scalar(n_steps, "scan's number of steps")
        known = constant_value(n_steps)  # (a sequence's static length: Keras's (batch, 8, units))
        steps = int(known) if known is not None and int(known) >= 0 and self.condition is None else None
        outs = [Variable(TensorType(o.dtype, o.type.shape if k < self.final_states
                                    else (steps,) + o.type.shape)) for k, o in enumerate(self.inner_outputs)]
        return Apply(self, [n_steps, *outer], outs)

    def perform(self, node, inputs):
        if self._reference is None:
            from ..backends.numpy_backend import compile_graph
            from ..rewrite.fgraph import FunctionGraph
            fgraph = FunctionGraph(self.inner_inputs, self.inner_outputs)
            self._reference = compile_graph(fgraph, self.inner_inputs, fgraph.outputs)
        return run_steps(self, self._reference, inputs)

    def grad(self, inputs, outputs, output_grads):
        return _scan_grad(self, inputs, outputs, output_grads)


def split_inputs(op, inputs):
    """A Scan node's input values as (steps, sequences, initial states, constants), checked."""
    n = int(inputs[0])
    seqs = list(inputs[1:1 + op.n_seqs])
    states = list(inputs[1 + op.n_seqs:1 + op.n_seqs + op.n_states])
    constants = list(inputs[1 + op.n_seqs + op.n_states:])
    if n < 0:
        raise ValueError(f"scan: the number of steps is {n}")
    for k, seq in enumerate(seqs):
        if len(seq) < n:
            raise ValueError(f"scan: sequence {k} has {len(seq)} entries, fewer than the {n} steps")
    for value, slot in zip(states, op.inner_inputs[op.n_seqs:]):
        shape = np.shape(value)
        if len(shape) != slot.ndim or any(s is not None and s != d for s, d in zip(slot.type.shape, shape)):
            raise ValueError(f"scan: the state {slot.name} starts with shape {shape}, where the step reads "
                             f"{slot.type.shape}")
    return n, seqs, states, constants


def run_steps(op, step, inputs):
    """Scan's loop: `step(values)` -> the inner outputs for one step's inner inputs."""
    n, seqs, states, constants = split_inputs(op, inputs)
    if op.go_backwards:  # (the last n entries, last first: Theano's seq[::-1][:n])
        seqs = [seq[::-1] for seq in seqs]
    rows = [[] for _ in op.inner_outputs]
    stacked = op.final_states  # (the outputs after these keep every step)
    for t in range(n):
        outs = step([seq[t] for seq in seqs] + states + constants)
        for row, value in zip(rows[stacked:], outs[stacked:]):
            row.append(value)
        states = [np.asarray(v) for v in outs[:op.n_states]]
        if op.condition is not None and outs[op.condition]:
            n = t + 1  # (Theano's until: the step that makes it true is the last)
            break
    results = []
    for k, (row, var) in enumerate(zip(rows, op.inner_outputs)):
        if k < op.final_states:
            results.append(np.array(states[k], dtype=var.dtype))  # (a copy: the initial value where n is 0)
        elif n:
            results.append(np.stack([np.asarray(v, dtype=var.dtype) for v in row]))
        else:  # no steps: an empty stack, shaped as the state (or as much as is known of the output)
            shape = np.shape(inputs[1 + op.n_seqs + k]) if k < op.n_states else tuple(s or 0 for s in var.type.shape)
            results.append(np.zeros((0,) + tuple(shape), var.dtype))
    return results


def scan(fn, sequences=None, outputs_info=None, non_sequences=None, n_steps=None, go_backwards=False,
         truncate_gradient=-1, name=None, **theano_options):
    """Theano's scan (see the module's text): returns (outputs, updates), outputs a variable or
    a list as fn returns one or several (None if it returns updates only)."""
    if int(truncate_gradient) != truncate_gradient or not (truncate_gradient == -1 or truncate_gradient >= 1):
        raise ValueError(f"scan: truncate_gradient is -1 (every step) or a number of steps >= 1, "
                         f"got {truncate_gradient!r}")
    unknown = set(theano_options) - {"mode", "profile", "strict", "allow_gc", "return_list"}
    if unknown:
        raise TypeError(f"scan() got unexpected keyword arguments {sorted(unknown)}")
    seqs, seq_names = _tapped_sequences([_sequence(s) for s in _as_list(sequences)])
    infos = _as_list(outputs_info)
    fed = [(k, *_initial(info)) for k, info in enumerate(infos) if info is not None]
    fed = [(k, init, taps) for k, init, taps in fed if init is not None]
    inits = [init if taps == [-1] else _window_start(init, taps, k) for k, init, taps in fed]
    constants = [as_variable(v) for v in _as_list(non_sequences)]
    if not seqs and n_steps is None:
        raise ValueError("scan needs sequences or n_steps to know how many steps to take")
    # Placeholders standing for fn's arguments in the step's graph; every variable made from
    # here on (numbered after `start`) belongs to the step.
    start = Variable(TensorType("int8", ())).id
    seq_slots = [Variable(TensorType(s.dtype, s.type.shape[1:]), name=n) for s, n in zip(seqs, seq_names)]
    state_slots = [Variable(TensorType(v.dtype, v.type.shape if taps == [-1] else (-min(taps),) + v.type.shape[1:]),
                            name=_state_name(init, taps)) for (_, init, taps), v in zip(fed, inits)]
    const_slots = [Variable(c.type, name=c.name) for c in constants]
    state_args = [arg for (_, init, taps), slot in zip(fed, state_slots) for arg in _tap_arguments(slot, init, taps)]
    outs, single, step_updates, condition = _step_results(fn(*seq_slots, *state_args, *const_slots))
    if infos and len(infos) != len(outs):
        raise ValueError(f"scan: outputs_info has {len(infos)} entries but fn returned {len(outs)} outputs")
    fed_back = {k for k, _, _ in fed}
    new_states = []
    for (k, init, taps), slot in zip(fed, state_slots):
        _check_fed_back(k, outs[k], init, taps)
        # (taps further back than one step: the state is a window of the last values, each
        # step's new one joining at its end)
        new_states.append(outs[k] if taps == [-1] else _joined(slot[1:], outs[k]))
    # A shared variable the step updates (Theano's updates from fn) is a state too: the step
    # reads its value after the step before, and the updates returned give its last.
    # (fn updating a shared variable it was given as a non-sequence: Theano passes it as itself)
    given = {slot: c for slot, c in zip(const_slots, constants) if isinstance(c, SharedVariable)}
    step_updates = OrderedDict((given.get(var, var), value) for var, value in step_updates.items())
    shared, shared_slots, shared_steps = _updates_as_states(step_updates)
    maps = [o for k, o in enumerate(outs) if k not in fed_back]
    values = new_states + shared_steps + maps + ([condition] if condition is not None else [])
    # (a shared variable also passed as a non-sequence: that argument is its value a step before too)
    read_as = {slot: shared_slots[shared.index(c)] for slot, c in zip(const_slots, constants) if c in shared}
    values, _ = clone_replace(values, {**dict(zip(shared, shared_slots)), **read_as})
    seqs, seq_slots, values = _products_before_the_loop(seqs, seq_slots, values, dict(zip(const_slots, constants)),
                                                        start)
    values, streams, stream_slots, stream_steps = _draws_as_states(values, start)
    n_fed, n_shared = len(new_states), len(shared_steps)
    # (the shared variables' states first: the loop keeps their last values only)
    inner_outs = values[n_fed:n_fed + n_shared] + values[:n_fed] + stream_steps + values[n_fed + n_shared:]
    # What the step reads from outside (weights, shared variables, values computed before the
    # scan): passed in as constants too.
    free = _outer_reads(inner_outs, start)
    free_slots = [Variable(v.type, name=v.name) for v in free]
    inner_outs, _ = clone_replace(inner_outs, dict(zip(free, free_slots)))
    inner_inputs = seq_slots + shared_slots + state_slots + stream_slots + const_slots + free_slots
    op = Scan(inner_inputs, inner_outs, len(seqs), len(state_slots) + len(shared_slots) + len(stream_slots),
              go_backwards, name or getattr(fn, "__name__", None), final_states=n_shared,
              truncate_gradient=truncate_gradient, condition=len(inner_outs) - 1 if condition is not None else None)
    if n_steps is None:
        n = seqs[0].shape[0]
        for s in seqs[1:]:
            n = minimum(n, s.shape[0])
    else:
        n = n_steps
    results = op(n, *seqs, *shared, *inits, *streams, *constants, *free)
    results = results if isinstance(results, list) else [results]
    # Back in fn's order: the node gives the shared variables' last values, the states, the
    # streams', the per-step outputs (and the condition's, not returned).
    states = iter(r if taps == [-1] else r[:, -1] for r, (_, _, taps) in zip(results[n_shared:], fed))
    maps = iter(results[op.n_states:])
    ordered = [next(states) if k in fed_back else next(maps) for k in range(len(outs))]
    updates = OrderedDict(zip(shared, results[:n_shared]))
    updates.update(_stream_updates(streams, n))
    if not ordered:
        return None, updates
    single = single and not theano_options.get("return_list")
    return (ordered[0] if single else ordered), updates


class until:
    """Theano's scan_module.until: fn returns it (beside its outputs) to stop the loop after the
    step where the condition, a scalar, is true; n_steps (or the sequences) bound the steps.

        def step(x):
            return x * 2, sg.until(x * 2 > 100)
    """

    def __init__(self, condition):
        from .elemwise import neq
        condition = as_variable(condition)
        if condition.ndim != 0:
            raise ValueError(f"until: the condition must be a scalar, got {condition.describe()}")
        self.condition = condition if condition.dtype == "bool" else neq(condition, 0)


def map(fn, sequences, non_sequences=None, go_backwards=False, name=None, **theano_options):
    """Theano's map: fn applied to each step of the sequences, no state: (outputs, updates)."""
    return scan(fn, sequences=sequences, non_sequences=non_sequences, go_backwards=go_backwards, name=name,
                **theano_options)


def reduce(fn, sequences, outputs_info, non_sequences=None, go_backwards=False, name=None, **theano_options):
    """Theano's reduce: scan's states after the last step only, (outputs, updates):
    reduce(lambda v, total: total + v, sequences=xs, outputs_info=zero)."""
    outputs, updates = scan(fn, sequences=sequences, outputs_info=outputs_info, non_sequences=non_sequences,
                            go_backwards=go_backwards, name=name, **theano_options)
    last = [o[-1] for o in outputs] if isinstance(outputs, list) else outputs[-1]
    return last, updates


def foldl(fn, sequences, outputs_info, non_sequences=None, name=None, **theano_options):
    """reduce from the first step to the last."""
    return reduce(fn, sequences, outputs_info, non_sequences, False, name, **theano_options)


def foldr(fn, sequences, outputs_info, non_sequences=None, name=None, **theano_options):
    """reduce from the last step to the first."""
    return reduce(fn, sequences, outputs_info, non_sequences, True, name, **theano_options)


def _as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _sequence(value):
    """(the sequence, its taps) from a sequence or Theano's dict(input=..., taps=[-1, 0, 1])."""
    taps = [0]
    if isinstance(value, dict):
        taps = [0] if value.get("taps") is None else _as_list(value["taps"])
        if not taps or any(int(t) != t for t in taps) or len(set(taps)) != len(taps):
            raise ValueError(f"scan: a sequence's taps are distinct integers, got {value['taps']!r}")
        value = value["input"]
    seq = as_variable(value)
    if seq.ndim == 0:
        raise ValueError(f"scan: a sequence must have a first axis to step along, got {seq.describe()}")
    return seq, [int(t) for t in taps]


def _tapped_sequences(sequences):
    """One sequence a tap (with its slot's name): tap k of seq, for taps from lo to hi, is
    seq[k - lo : len - (hi - k)] (lo and hi counting tap 0 in), so that step t reads
    seq[t + k] from the step at t = -lo on, as Theano's."""
    seqs, names = [], []
    for seq, taps in sequences:
        lo, hi = min(min(taps), 0), max(max(taps), 0)
        for k in taps:
            seqs.append(seq if k - lo == 0 and k == hi else seq[k - lo:] if k == hi else seq[k - lo:k - hi])
            names.append(f"{seq.name or 'sequence'}[t{k:+d}]" if k else f"{seq.name or 'sequence'}[t]")
    return seqs, names


def _initial(info):
    """(the initial value or None, its taps) from outputs_info's entry."""
    taps = [-1]
    if isinstance(info, dict):
        if info.get("taps") is not None:
            taps = [int(t) for t in _as_list(info["taps"])]
            if not taps or any(t >= 0 for t in taps) or len(set(taps)) != len(taps):
                raise ValueError(f"scan: an output's taps are distinct steps before the current one "
                                 f"(negative), got {info['taps']!r}")
        info = info.get("initial")
        if info is None:
            if taps != [-1]:
                raise ValueError("scan: an output with taps needs its initial values (outputs_info's 'initial')")
            return None, taps
    return as_variable(info), taps


def _window_start(init, taps, k):
    """The state of an output read `taps` steps back: its initial values' first -min(taps) rows,
    the window of values before the first step (init[j] standing for step j - rows)."""
    rows = -min(taps)
    if init.ndim == 0:
        raise ValueError(f"scan: output {k} reads taps {taps}, so its initial value must hold {rows} steps' "
                         f"values along its first axis, got {init.describe()}")
    if init.type.shape[0] is not None and init.type.shape[0] < rows:
        raise ValueError(f"scan: output {k} reads taps {taps}, so its initial value must hold {rows} steps' "
                         f"values along its first axis, got {init.describe()}")
    window = init[:rows]
    window.name = f"{init.name or 'output'}[:{rows}]"
    return window


def _state_name(init, taps):
    name = init.name or "output"
    return f"{name}[t-1]" if taps == [-1] else f"{name}[t{min(taps)}:t]"


def _tap_arguments(slot, init, taps):
    """fn's arguments for a fed-back output: its last value, or the window's rows its taps read."""
    if taps == [-1]:
        return [slot]
    rows = -min(taps)
    args = [slot[rows + k] for k in taps]
    for arg, k in zip(args, taps):
        arg.name = f"{init.name or 'output'}[t{k}]"
    return args


def _joined(window, value):
    from .shape import concatenate, shape_padleft
    return concatenate([window, shape_padleft(value)])


def _check_fed_back(k, out, init, taps):
    """fn's output k must be of its initial value's type (a row of it where taps read a window)."""
    shape, ndim = (init.type.shape, init.ndim) if taps == [-1] else (init.type.shape[1:], init.ndim - 1)
    lengths = zip(out.type.shape, shape)
    disagree = any(a is not None and b is not None and a != b for a, b in lengths)
    if out.dtype != init.dtype or out.ndim != ndim or disagree:
        what = "initial value" if taps == [-1] else f"initial values' rows (taps {taps})"
        expected = TensorType(init.dtype, shape)
        raise TypeError(f"scan: fn's output {k} is {out.type}, but its {what} in outputs_info is {expected}: "
                        f"the two must agree (cast one of them)")


def _step_results(returned):
    """(fn's outputs as variables, whether it returned one alone, its updates, its stop
    condition or None) from what fn returned: outputs (one, or a list), Theano's (outputs,
    updates), (outputs, until(...)), (outputs, updates, until(...)), or updates alone."""
    parts = list(returned) if isinstance(returned, (tuple, list)) else [returned]
    if not any(isinstance(p, (dict, until)) for p in parts):
        parts = [returned]
    updates = OrderedDict()
    for p in parts:
        if isinstance(p, dict):
            updates.update(p)
    conditions = [p.condition for p in parts if isinstance(p, until)]
    if len(conditions) > 1:
        raise ValueError("scan: fn returned more than one until condition")
    rest = [p for p in parts if not isinstance(p, (dict, until))]
    if len(rest) == 1 and isinstance(rest[0], (list, tuple)):
        single, returned = False, list(rest[0])
    else:
        single, returned = len(rest) == 1, rest
    outs = [as_variable(v) for v in returned]
    if not outs and not updates:
        raise ValueError("scan: fn returned no outputs")
    return outs, single, updates, (conditions[0] if conditions else None)


def _updates_as_states(updates):
    """(the shared variables fn updates, their slots in the step, their new values)."""
    shared, slots, steps = [], [], []
    for var, value in updates.items():
        if not isinstance(var, SharedVariable):
            raise TypeError(f"scan: fn's updates must be of shared variables, got {getattr(var, 'describe', repr)()}")
        value = as_variable(value)
        if value.dtype != var.dtype or value.ndim != var.ndim:
            raise TypeError(f"scan: fn updates {var.describe()} with {value.describe()}: the update must be of "
                            f"the shared variable's type (cast it)")
        shared.append(var)
        slots.append(Variable(var.type, name=f"{var.name or 'shared'}[t-1]"))
        steps.append(value)
    return shared, slots, steps


def _products_before_the_loop(seqs, seq_slots, outs, constant_of, start):
    """(sequences, their slots, outputs) with each product of a sequence's slice by a matrix
    from outside the step (an RNN's x_t @ W) taken out of the loop: one product of the whole
    sequence before it, read a slice a step (Theano's push-out of scan). Its gradient then
    needs no sum over the steps either: W's is one product after the backward loop. A sequence
    the step no longer reads is dropped."""
    from .linalg import Dot, tensordot

    def outside(v):  # v's value for the whole loop, or None if the step makes it
        if v in constant_of:
            return constant_of[v]
        return v if v.owner is None and (v.id < start or isinstance(v, Constant)) and v not in seq_slots else None
    replace, seen, stack = {}, set(), list(outs)
    while stack:
        var = stack.pop()
        if var in seen or var.id < start or var.owner is None:
            continue
        seen.add(var)
        node = var.owner
        if isinstance(node.op, Dot) and node.inputs[0] in seq_slots and node.inputs[0].ndim in (1, 2):
            matrix = outside(node.inputs[1])
            if matrix is not None and matrix.ndim == 2:
                seq = seqs[seq_slots.index(node.inputs[0])]
                seqs = seqs + [tensordot(seq, matrix, [[seq.ndim - 1], [0]])]
                name = f"{node.inputs[0].name} @ {matrix.name or 'W'}"
                slot = Variable(TensorType(var.dtype, var.type.shape), name=name)
                seq_slots = seq_slots + [slot]
                replace[var] = slot
                continue
        stack.extend(node.inputs)
    if not replace:
        return seqs, seq_slots, outs
    outs, _ = clone_replace(outs, replace)
    read = _slots_read(outs, set(seq_slots), start)
    kept = [k for k, slot in enumerate(seq_slots) if slot in read]
    return [seqs[k] for k in kept], [seq_slots[k] for k in kept], outs


def _slots_read(outs, slots, start):
    """The slots among `slots` that the step's outputs read."""
    found, seen, stack = set(), set(), list(outs)
    while stack:
        var = stack.pop()
        if var in seen or (var.id < start and var not in slots):
            continue
        seen.add(var)
        if var in slots:
            found.add(var)
        elif var.owner is not None:
            stack.extend(var.owner.inputs)
    return found


def _outer_reads(outs, start):
    """The variables made before the step (numbered before `start`) that the step's graph
    reads, constants aside."""
    found, seen, stack = [], set(), list(outs)
    while stack:
        var = stack.pop()
        if var in seen:
            continue
        seen.add(var)
        if var.id < start:
            if not isinstance(var, Constant):
                found.append(var)
        elif var.owner is not None:
            stack.extend(reversed(var.owner.inputs))
    return sorted(found, key=lambda v: v.id)


def _draws_as_states(outs, start):
    """A random draw the step makes (Theano's Gibbs sampler: rng.binomial in the step) draws
    from its stream's state, which must advance from step to step: each such state becomes a
    state of the loop (its shared variable the initial value, the draw's next state fed back).
    Returns (the step's outputs reading the slots, the streams' shared states, their slots,
    their next states)."""
    from .random import RandomDraw
    draws, seen, stack = [], set(), list(outs)
    while stack:
        var = stack.pop()
        if var in seen or var.id < start or var.owner is None:
            continue
        seen.add(var)
        if isinstance(var.owner.op, RandomDraw) and var.owner not in draws:
            draws.append(var.owner)
        stack.extend(var.owner.inputs)
    if not draws:
        return outs, [], [], []
    streams = [node.inputs[0] for node in draws]
    slots = [Variable(v.type, name=f"{v.name}[t-1]") for v in streams]
    stepped, _ = clone_replace(outs + [node.outputs[0] for node in draws], dict(zip(streams, slots)))
    return stepped[:len(outs)], streams, slots, stepped[len(outs):]


def _stream_updates(streams, n_steps):
    """Theano's scan updates: each stream drawn from in the step advances by one draw a step
    (its counter by the number of steps); also the stream's default update, so that a function
    not given these updates draws fresh numbers at each call as well."""
    from .elemwise import cast
    from .shape import stack
    updates = OrderedDict()
    for state in streams:
        updates[state] = state + cast(stack([0, n_steps]), state.dtype)
        state.default_update = updates[state]
    return updates


def _scan_grad(op, inputs, outputs, output_grads):
    """The gradient of a Scan: one more Scan, backwards over the same steps (see the module).
    Its sequences, in the forward steps' order, are the forward sequences' slices, the states
    before each step, the outputs' gradients and the outputs themselves; its states are the gradient carried to the
    step before (one per forward state) and the running sums of the constants' gradients; its
    per-step outputs are the sequences' gradients."""
    if op.final_states:
        return _final_states_grad(op, inputs, outputs, output_grads)
    from ..grad import grad
    from .elemwise import eq, switch
    from .index import set_subtensor
    from .shape import concatenate, shape_padleft, zeros_like
    # (a loop stopped by its condition: the steps it took, the length of its outputs)
    n = inputs[0] if op.condition is None else outputs[op.condition].shape[0]
    seqs = inputs[1:1 + op.n_seqs]
    inits = inputs[1 + op.n_seqs:1 + op.n_seqs + op.n_states]
    constants = inputs[1 + op.n_seqs + op.n_states:]
    seq_slots = op.inner_inputs[:op.n_seqs]
    state_slots = op.inner_inputs[op.n_seqs:op.n_seqs + op.n_states]
    const_slots = op.inner_inputs[op.n_seqs + op.n_states:]
    grads = [g if g is not None else zeros_like(o) for g, o in zip(output_grads, outputs)]
    given = [Variable(TensorType(o.dtype, o.type.shape[1:]), name="d output[t]") for o in outputs]
    carried = [Variable(s.type, name=f"d {s.name}") for s in state_slots]
    seeds = {}  # each float output's gradient in one step: given, plus what the step after carries
    for k, out in enumerate(op.inner_outputs):
        if out.dtype[0] == "f":
            seed = given[k] + carried[k] if k < op.n_states else given[k]
            seeds[out] = seeds[out] + seed if out in seeds else seed
    wrt = [v for v in op.inner_inputs if v.dtype[0] == "f"]
    if not seeds or not wrt:
        return [None] * len(inputs)
    # The step's outputs, which these gradients read (tanh's is its own output's), are the
    # forward pass's: read back from it rather than computed again (an RNN's backward step
    # loses its two products and its tanh).
    recomputed = [o for o in op.inner_outputs if o.owner is not None]
    stored = [Variable(o.type, name=f"{o.name or 'output'} (stored)") for o in recomputed]
    raw = grad(None, wrt, disconnected_inputs="ignore", known_grads=seeds)
    # So are the step's products the gradients would compute again (an LSTM's gates' product):
    # the forward loop keeps them too, a Scan with more per-step outputs that stands for the one
    # given (canonicalize merges the two).
    residuals = _residuals(op, raw, recomputed, list(given) + carried)
    kept = [Variable(v.type, name=f"{v.name or 'value'} (stored)") for v in residuals]
    found_grads, _ = clone_replace(raw, dict(zip(recomputed + residuals, stored + kept)))
    found = dict(zip(wrt, found_grads))
    if residuals:
        fuller = Scan(op.inner_inputs, op.inner_outputs + residuals, op.n_seqs, op.n_states, op.go_backwards, op.name,
                      truncate_gradient=op.truncate_gradient, condition=op.condition)
        fuller.extends = op
        every = fuller(*inputs)
        outputs, residual_rows = every[:len(outputs)], every[len(outputs):]
    else:
        residual_rows = []

    def of(v):
        return found[v] if v in found else zeros_like(v)
    float_slots = [c for c in const_slots if c.dtype[0] == "f"]
    totals = [Variable(c.type, name=f"sum d {c.name}") for c in float_slots]
    back = Scan(list(seq_slots) + list(state_slots) + given + stored + kept + carried + totals + list(const_slots),
                [of(s) for s in state_slots] + [t + of(c) for t, c in zip(totals, float_slots)]
                + [of(s) for s in seq_slots if s.dtype[0] == "f"],
                op.n_seqs + op.n_states + len(given) + len(stored) + len(kept), len(carried) + len(totals),
                go_backwards=True, name=f"gradient of {op.name or 'step'}", final_states=True)
    per_step = [s[::-1][:n] if op.go_backwards else s[:n] for s in seqs]
    before = [concatenate([shape_padleft(i), states[:-1]]) for i, states in zip(inits, outputs[:op.n_states])]
    starts = [zeros_like(i) for i in inits] + [zeros_like(c) for c in constants if c.dtype[0] == "f"]
    forward = [out for out, inner in zip(outputs, op.inner_outputs) if inner.owner is not None]
    rows = [*per_step, *before, *grads, *forward, *residual_rows]  # (one a forward step)
    m = n if op.truncate_gradient == -1 else minimum(n, op.truncate_gradient)
    if op.truncate_gradient != -1:  # the last m steps only
        rows = [r[n - m:n] for r in rows]
    results = back(m, *rows, *starts, *constants)
    results = results if isinstance(results, list) else [results]
    # The carried values after the last backward step (the start's where there were no steps).
    finals = results[:len(starts)]
    d_inits, d_consts = finals[:op.n_states], iter(finals[op.n_states:])
    if op.truncate_gradient != -1:  # (the initial states' only where the backward steps reach them)
        d_inits = [switch(eq(m, n), d, zeros_like(d)) for d in d_inits]
    d_steps = iter(results[len(starts):])  # each stacked last step first
    out = [None]
    for s in seqs:
        if s.dtype[0] != "f":
            out.append(None)
            continue
        d, whole, length = next(d_steps), zeros_like(s), s.shape[0]
        if op.truncate_gradient == -1:  # (whole_region_written reads these: a scan over all of s)
            out.append(set_subtensor(whole[length - n:], d) if op.go_backwards else set_subtensor(whole[:n], d[::-1]))
        else:  # (the last m steps' entries)
            out.append(set_subtensor(whole[length - n:length - n + m], d) if op.go_backwards
                       else set_subtensor(whole[n - m:n], d[::-1]))
    out += [d if i.dtype[0] == "f" else None for d, i in zip(d_inits, inits)]
    out += [next(d_consts) if c.dtype[0] == "f" else None for c in constants]
    return out


def _residuals(op, gradients, recomputed, seeds):
    """The products of the step that the gradients would compute again (those the step's
    outputs, read back, do not spare): kept by the forward loop instead. Other values (a gate's
    sigmoid) are computed again from them: cheaper than a copy a step of each (storing all ten
    of an LSTM's made its forward loop slower by more than the backward one gained)."""
    from ..graph import toposort
    from .linalg import Dot, Gemm, Matmul
    step = {o for node in toposort(op.inner_outputs, blockers=op.inner_inputs) for o in node.outputs}
    again = toposort(gradients, blockers=list(op.inner_inputs) + list(seeds) + list(recomputed))
    return [node.outputs[0] for node in again if node.outputs[0] in step and isinstance(node.op, (Dot, Gemm, Matmul))]


def _final_states_grad(op, inputs, outputs, output_grads):
    """The gradient of a Scan keeping some states' last values (a gradient's: this is a second
    derivative; shared variables the step updates): that of the same loop keeping every step's,
    seeded at the last row of each of those (at the initial value where there are no steps)."""
    from .elemwise import eq, switch
    from .index import set_subtensor
    from .shape import zeros_like
    stacked_op = Scan(op.inner_inputs, op.inner_outputs, op.n_seqs, op.n_states, op.go_backwards, op.name,
                      truncate_gradient=op.truncate_gradient, condition=op.condition)
    stacked = stacked_op(*inputs)
    stacked = stacked if isinstance(stacked, list) else [stacked]
    finals = op.final_states
    seeds = [None if g is None else set_subtensor(zeros_like(s)[-1:], g[None])
             for g, s in zip(output_grads[:finals], stacked)]
    grads = _scan_grad(stacked_op, inputs, stacked, seeds + list(output_grads[finals:]))
    no_steps = eq(inputs[0], 0)
    for k, g in enumerate(output_grads[:finals]):  # (with no steps, the output is the initial value)
        slot = 1 + op.n_seqs + k
        if g is not None and grads[slot] is not None:
            grads[slot] = grads[slot] + switch(no_steps, g, zeros_like(g))
    return grads
