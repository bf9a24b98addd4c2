"""A small graph called in a loop, compiled whole: one @njit function per input signature.

A training step on small arrays spends its time between nodes, not in them: each node is a
Python call costing 2-3 us (a logistic regression step on a batch of 32: 22 nodes, 55 us,
against 6 us for the same arithmetic as one compiled function). So once the executor has spent
HOT_SECONDS on calls with one set of input shapes, the numba backend traces one call (the NumPy
reference, node by node: every shape, and the value of every shape computation) and writes one
function for that signature, compiled while the calls go on (by a child process, numba_elsewhere,
unless numba's disk cache holds it; loaded in a background thread). Shapes are literals in it,
shape arithmetic is constants, and each node is a few lines: loops indexed by each input's own
shape for elementwise ops, reductions and gathers, np.dot for products, numba_rows' loops for
softmax rows.

Calls with that signature then run it; other signatures keep the node-by-node executor. A
graph with an op not spelled here, or with an array larger than MAX_ELEMENTS (where the
per-node kernels, parallel and vectorized, are the faster way), is never compiled whole. The
first result is checked against the executor's, and an error inside the function (a target
out of range) reruns the executor, which raises naming the node; shared values are swapped
only after a call returns, so a failed call changes nothing.
"""
import functools
import os
import re
import threading
import time
import warnings

import numpy as np

from ..graph import Constant
from ..ops import index as I, linalg, nn as N, reduce as R
from ..ops.shape import Alloc, BroadcastTo, Concatenate, DimShuffle, Repeat, Reshape, Tile
from ..ops.composite import Composite, CompositeReduce
from ..ops.elemwise import Elemwise
from ..ops.random import RandomDraw
from .loop_parts import partial_values
from .numba_codegen import (compile_source, is_cached, module_name, program_lines, uses_checked_forms,
                            _init_literal, _fold_lines, _folded, _literal)
from .numba_vecmath import TRIG_FORMS
from .numba_rows import blocked, crossentropy_kind, row_kernel, row_source
from .executor import from_shapes, input_writers, overwritten
from .numba_elsewhere import compile_in_child

# A program saves 5-50 us a call and costs 0.04-0.08 s a node to compile the first time
# (benchmarks/small_steps.py's steps: 14-23 nodes in 0.75-1.2 s; a 32-node Adam step 2.6 s),
# 0.03 s once numba's disk cache holds it. So after HOT_SECONDS of calls with one signature
# the program is written (one traced call); if the disk cache has it, it is loaded at once,
# else compiled once the calls have cost as much as compiling will (COLD_SECONDS_PER_NODE a
# node: never more than twice the best choice, as in renting skis).
# Compiling runs in a background thread; the calls go on. A program not in the disk cache is
# compiled by a child process (numba_elsewhere), then loaded here: in a thread of this process
# numba held the interpreter, and a 120 us step took 0.3-4 ms a call for the 4 s it compiled;
# with the child, 77-148 us (NumPy by hand: 102). Where another core runs the child, the
# calls lose nothing while it compiles, so there is no wait for it to pay.
HOT_SECONDS = 0.25
COLD_SECONDS_PER_NODE = 0.06
BACKGROUND = True  # tests compile in the calling thread, to see the result at once
IN_CHILD = None  # compile in a child: None where compiling in the background, True always, False never
MAX_ELEMENTS = 1 << 16  # per array; larger graphs are kernel-bound, not call-bound
MAX_SIGNATURES = 4  # compiled per function (full batches, the last partial one, ...)
# A program's loops are serial; node kernels split theirs over the cores (a cheap loop from
# PARALLEL_THRESHOLD values, exp or tanh from 8192-32768): a program of costly loops over 65536
# float64 values ran 1.4x as long as the graph node by node. So a checked program is timed for
# TRIAL_CALLS calls, and kept unless its best call took TRIAL_MARGIN times the executor's best
# or longer: a program 10% faster, tried while another core compiled (a scan's loop beside
# its neighbours'), had been dropped, its trial's 16 calls slowed where the executor's best
# came from thousands. A program dropped has one more trial later (TieredRunner._timed).
TRIAL_CALLS = 16
TRIAL_MARGIN = 1.25
SHAPE_ONLY_SIZE = 1 << 12  # a value computed from shapes alone, this small, is a constant
# With fewer nodes to run the program saves less than looking up its signature costs (0.3 us).
MIN_NODES = 4


_COMPILE_LOCK = threading.Lock()


def _in_child():
    return BACKGROUND if IN_CHILD is None else IN_CHILD


class Unsupported(Exception):
    """The graph has something the whole-program writer does not spell."""


def signature(values):
    return tuple([v.shape for v in values])


@functools.lru_cache(maxsize=None)
def written_signature(arity):
    """signature() for `arity` values, written out: 0.19 us for four arrays where the general
    one's list took 0.48, in every call of a function the tier runs (hot or not)."""
    names = [f"v{k}" for k in range(arity)]
    env = {}
    exec(f"def signature(values):\n    {''.join(n + ', ' for n in names)}= values\n"
         f"    return ({''.join(n + '.shape, ' for n in names)})", env)
    return env["signature"]


_UNDECIDED = object()  # (programs.get's default: None there means no program will be)


class TieredRunner:
    """The executor's `run`, replaced by a compiled whole program for hot signatures."""

    def __init__(self, fgraph, input_vars, output_vars, run):
        self.fgraph, self.input_vars, self.output_vars, self.run = fgraph, input_vars, output_vars, run
        self.spent = {}  # signature -> [executor seconds so far] (a list: one lookup a call)
        self.plans = {}  # signature -> (written program, executor seconds before compiling it)
        self.programs = {}  # signature -> program in use, or None (none will be)
        self.built = {}  # signature -> program compiled, not yet checked against the executor
        self.trials = {}  # signature -> [program, calls, best seconds] while it is timed (TRIAL_CALLS)
        self.retries = {}  # signature -> program dropped by its first trial, tried once more later
        self.retried = set()  # signatures whose program had its second trial
        self.why_not = {}  # signature -> why there is no program (for tests and debugging)
        self.lock = threading.Lock()
        # Inputs the executor writes into (a weight's in-place update): the program, which
        # returns new arrays instead, is checked against copies of them as they were.
        writers = input_writers(fgraph.apply_nodes, input_vars)
        written = {node.inputs[i] for node in writers for i in overwritten(node)}
        self.written = [k for k, v in enumerate(input_vars) if v in written]
        if type(self).signature is signature:  # (a subclass's own signature stays)
            self.signature = written_signature(len(input_vars)) if input_vars else signature

    def __call__(self, values):
        """Each call pays for the signature and a few lookups: ~0.6 us of a 200x13 linear
        regression step's 11 node by node (1.4 before the written signature, one lookup of the
        time spent, and the early return where no program will be). (A program another thread
        decided meanwhile: _plan and compile below check for it.)"""
        key = self.signature(values)
        program = self.programs.get(key, _UNDECIDED)
        if program is None:  # (none will be)
            return self.run(values)
        if program is not _UNDECIDED:
            try:
                return program(values)
            except Exception:  # noqa: BLE001 - the executor raises it again, naming the node
                return self.run(values)
        if self.trials:
            trial = self.trials.get(key)
            if trial is not None:
                return self._timed(key, trial, values)
        if self.built:
            built = self.built.pop(key, None)  # (pop: two threads may both see it)
            if built is not None:
                before = [v.copy() if k in self.written else v for k, v in enumerate(values)]
                results = self.run(values)
                program = self._checked(key, built, before, results)
                if program is not None and TRIAL_CALLS:
                    self.trials[key] = [program, 0, float("inf")]
                else:
                    self.programs[key] = program
                return results
        start = time.perf_counter()
        results = self.run(values)
        spent = self.spent.get(key)
        if spent is None:  # a first call compiles or loads the node kernels: not counted
            self.spent[key] = [0.0, float("inf")]  # (seconds in all, the best call's)
            return results
        took = time.perf_counter() - start
        spent[0] += took
        if took < spent[1]:
            spent[1] = took
        spent = spent[0]
        if spent >= HOT_SECONDS and self.retries:
            retry = self.retries.pop(key, None)
            if retry is not None:  # (a fresh executor's best to compare with: a second trial)
                self.trials[key] = [retry, 0, float("inf")]
                return results
        if spent >= HOT_SECONDS and (key not in self.plans or spent >= self.plans[key][1]):
            with self.lock:  # threads calling this function decide once
                if key not in self.plans and key not in self.programs:
                    self._plan(key, values)
                if key in self.plans and spent >= self.plans[key][1]:
                    self.compile(key, values)
        return results

    signature = staticmethod(signature)  # (a Scan's loop keys by its steps' shapes: numba_scan)

    def build(self, values):
        """The Plan for these values' signature (raises Unsupported)."""
        return build(self.fgraph, self.input_vars, self.output_vars, values)

    def _plan(self, key, values):
        """Write the program for this signature, and decide when compiling it pays."""
        if sum(p is not None for p in self.programs.values()) >= MAX_SIGNATURES:
            self.programs[key], self.why_not[key] = None, "too many signatures"
            return
        try:
            plan = self.build(values)
        except Exception as exc:  # noqa: BLE001 - Unsupported, or a reference that raised
            self.why_not[key] = str(exc) if isinstance(exc, Unsupported) else f"{type(exc).__name__}: {exc}"
            self.programs[key] = None
            return
        free = is_cached(plan.source) or (_in_child() and (os.cpu_count() or 1) > 1)
        self.plans[key] = (plan, HOT_SECONDS if free else COLD_SECONDS_PER_NODE * plan.nodes)

    def compile(self, key, values):
        """Compile the program for these values' signature (in a background thread)."""
        if key not in self.plans:
            self._plan(key, values)
            if key not in self.plans:
                return
        plan, _ = self.plans[key]
        self.plans[key] = (plan, float("inf"))  # started
        if BACKGROUND:
            threading.Thread(target=self._compile, args=(key, plan, values), daemon=True,
                             name="symgraph whole-program compile").start()
        else:
            self._compile(key, plan, values)

    def _compile(self, key, plan, values):
        values = _writeable(values) or values  # (the types Program.compile compiles for)
        try:
            if _in_child() and not is_cached(plan.source):
                compile_in_child(plan.source, plan.rows, plan.arguments(values))  # (else: here)
            self.built[key] = plan.compile(values)
        except Exception as exc:  # noqa: BLE001 - Unsupported, or a graph numba cannot type
            self.why_not[key] = str(exc) if isinstance(exc, Unsupported) else f"{type(exc).__name__}: {exc}"
            self.programs[key] = None

    def _timed(self, key, trial, values):
        """A call of a program on trial: its results; after TRIAL_CALLS of them the program is
        kept if its best call took less than TRIAL_MARGIN times the executor's best. Else the
        executor runs the signature, timed afresh, and after HOT_SECONDS of its calls the
        program has a second trial (the first's 16 calls may all have met another tenant's
        burst, or the other core compiling): dropped then, it is dropped for good."""
        program = trial[0]
        start = time.perf_counter()
        try:
            results = program(values)
        except Exception:  # noqa: BLE001 - the executor raises it again, naming the node
            return self.run(values)
        took = time.perf_counter() - start
        trial[1] += 1
        trial[2] = min(trial[2], took)
        if trial[1] >= TRIAL_CALLS and self.trials.pop(key, None) is not None:
            executor = self.spent[key][1]
            if trial[2] < executor * TRIAL_MARGIN:
                self.programs[key] = program
            elif key not in self.retried:
                self.retried.add(key)
                self.retries[key] = program
                self.spent[key] = [0.0, float("inf")]
            else:
                self.programs[key] = None
                self.why_not[key] = (f"slower than node by node in two trials: its best call {trial[2] * 1e6:.1f}"
                                     f" us, the executor's {executor * 1e6:.1f}")
        return results

    def _checked(self, key, program, values, results):
        """The program, if it gives the executor's results for this call; else None."""
        try:
            got = program(values)
        except Exception as exc:  # noqa: BLE001
            self.why_not[key] = f"{type(exc).__name__}: {exc}"
            return None
        if len(got) == len(results) and all(_agree(a, b) for a, b in zip(got, results)):
            return program
        self.why_not[key] = "its results differ from the executor's"
        warnings.warn("symgraph: the whole-step program disagreed with the node-by-node executor; "
                      "this function keeps the executor (please report it)", stacklevel=4)
        return None


def _agree(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind not in "fc":
        return np.array_equal(a, b)
    tol = 1e-3 if a.dtype.itemsize <= 4 else 1e-9
    finite = np.abs(b[np.isfinite(b)])
    scale = max(1.0, float(finite.max())) if finite.size else 1.0
    return np.array_equal(np.isnan(a), np.isnan(b)) and np.allclose(a, b, rtol=tol, atol=tol * scale, equal_nan=True)


def trace(fgraph, input_vars, values):
    """Every variable's value for these inputs, from the ops' NumPy references."""
    known = dict(zip(input_vars, values))
    with np.errstate(all="ignore"):
        for node in fgraph.apply_nodes:
            for v in node.inputs:
                if isinstance(v, Constant):
                    known[v] = v.data
            ins = [known[v] for v in node.inputs]
            for out, value in zip(node.outputs, node.op.perform(node, ins)):
                known[out] = np.asarray(value)
    return known


def shape_only(fgraph):
    """Variables computed from shapes (of any variable: the trace knows them all) and
    constants alone: constants of the program."""
    return {o for node in from_shapes(fgraph.apply_nodes) for o in node.outputs}


def unsupported(fgraph, min_nodes=None):
    """Why the graph is not worth a program: the first op it cannot spell (a convolution,
    pooling), or too few nodes to gain anything; None when it is."""
    constant = shape_only(fgraph)
    computed = [node for node in fgraph.apply_nodes if not all(o in constant for o in node.outputs)]
    for node in computed:
        if type(node.op) not in _EMITTERS:
            return f"no whole-program form for {node.op}"
    fewest = MIN_NODES if min_nodes is None else min_nodes
    return f"only {len(computed)} node(s)" if len(computed) < fewest else None


def build(fgraph, input_vars, output_vars, values):
    """The program for these input values' shapes, written (not compiled): a Plan."""
    _small_enough(dict(zip(input_vars, values)))  # a large weight shows without tracing a step
    known = trace(fgraph, input_vars, values)
    _small_enough(known)
    return _Writer(fgraph, input_vars, output_vars, known).program()


def _small_enough(known):
    big = [v for v, value in known.items() if value.size > MAX_ELEMENTS]
    if big:
        raise Unsupported(f"{big[0].describe()} has {known[big[0]].size} elements")


class Plan:
    """A written program: its source, and how to call it."""

    def __init__(self, source, n_inputs, extra, where, nodes, rows):
        self.source, self.n_inputs, self.extra, self.where, self.nodes = source, n_inputs, extra, where, nodes
        self.rows = rows  # (kind, dtype, short) of the row kernels it imports

    def arguments(self, values):
        """What the compiled function is called with (Program.__call__)."""
        return list(values[:self.n_inputs]) + list(self.extra)

    def compile(self, values):
        """The Program, compiled for these values' types."""
        for kind, dtype, short in self.rows:  # loaded first: the program's module imports them
            row_kernel(kind, dtype, False, short)
        program = Program(compile_source(self.source).dispatcher, self.n_inputs, self.extra, self.where)
        program.compile(values)
        return program


class Program:
    """program(values) -> the outputs, from one call of the compiled function."""

    def __init__(self, kernel, n_inputs, extra, where):
        self.kernel, self.n_inputs, self.extra, self.where = kernel, n_inputs, extra, where
        self.plain = all(kind == "result" and k == i for i, (kind, k) in enumerate(where))

    def __call__(self, values):
        try:
            got = self.kernel(*values[:self.n_inputs], *self.extra)
        except TypeError:  # (numba's "no matching definition")
            # It is compiled for writeable arrays; a read-only one (a constant, a scan's
            # initial state folded from zeros) is typed apart, so it goes in as a copy.
            copies = _writeable(values[:self.n_inputs])
            if copies is None:
                raise
            got = self.kernel(*copies, *self.extra)
        if self.plain:
            return list(got)
        return [got[k] if kind == "result" else values[k] if kind == "input" else k.copy()
                for kind, k in self.where]

    def compile(self, values):
        """Compile for these values' types, then no other (a call with another layout raises
        and the executor runs it, rather than numba compiling for seconds in the loop). Two
        functions with the same program share the dispatcher: each adds its own types, one
        at a time (threads calling one function may compile it at once)."""
        with _COMPILE_LOCK:
            self.kernel.disable_compile(False)
            try:
                self(_writeable(values) or values)
            finally:
                self.kernel.disable_compile(True)


def _writeable(values):
    """values with each read-only array copied, or None if none is read-only."""
    def read_only(v):
        return isinstance(v, np.ndarray) and not v.flags.writeable
    if not any(read_only(v) for v in values):
        return None
    return [v.copy() if read_only(v) else v for v in values]


class _Writer:
    def __init__(self, fgraph, input_vars, output_vars, known):
        self.fgraph, self.input_vars, self.output_vars, self.known = fgraph, input_vars, output_vars, known
        self.constant = {v for v in shape_only(fgraph) if known[v].size <= SHAPE_ONLY_SIZE} \
            | {v for v in known if isinstance(v, Constant)}
        self.names, self.params, self.extra = {}, [], []  # extra: values passed as arguments
        self.helpers, self.lines = {}, []
        self.rows = []  # row kernels imported (see helper)
        self.aliases = set()  # names bound to another value's array (see _reduction)
        self.hidden_trips = False  # trip counts LLVM cannot see (numba_scan's loops: see trip)
        for k, v in enumerate(input_vars):
            self.names[v] = f"a{k}"
            self.params.append(f"a{k}")

    # --- values --------------------------------------------------------------------------
    def shape(self, var):
        return self.known[var].shape

    def name(self, var):
        """An array expression for var (a constant is passed in as an argument)."""
        if var not in self.names:
            if var not in self.constant:
                raise Unsupported(f"{var.describe()} is read before it is computed")
            self.names[var] = f"k{len(self.extra)}"
            self.params.append(self.names[var])
            self.extra.append(np.ascontiguousarray(self.known[var]))
        return self.names[var]

    def load(self, var, index):
        """An element of var at `index` (a literal for a one-value constant)."""
        if var in self.constant and self.known[var].size == 1:
            return _literal(self.known[var].reshape(-1)[0], var.dtype)
        return f"{self.name(var)}{index}"

    def new(self, var):
        self.names[var] = f"v{len(self.names)}"
        return self.names[var]

    def full(self, name, shape, dtype, value):
        """name = np.full(shape, value), spelled as np.empty and a loop: numba compiles each
        NumPy constructor afresh in every process for every (ndim, dtype) it is called with
        (np.full 65 ms, np.zeros as much, np.empty 25-65), and np.empty is needed anyway."""
        self.lines.append(f"{name} = np.empty({shape}, {_np(dtype)})")
        pad = _loops(self, shape)
        self.lines.append(f"{pad}{name}{_index(shape, shape)} = {value}")

    # --- the program -----------------------------------------------------------------------
    def body(self):
        """Each node's lines, in order (constants' nodes left out: their values are known)."""
        for step, node in enumerate(self.fgraph.apply_nodes):
            if all(o in self.constant for o in node.outputs):
                continue
            emit = _EMITTERS.get(type(node.op))
            if emit is None:
                raise Unsupported(f"no whole-program form for {node.op}")
            first = len(self.lines)
            emit(self, node)
            # A node's scratch names are its own: numba types each name once per function.
            self.lines[first:] = [_SCRATCH.sub(rf"\1_{step}", line) for line in self.lines[first:]]

    def nodes(self):
        """How many nodes the program computes (not counting constants')."""
        return sum(1 for node in self.fgraph.apply_nodes if not all(o in self.constant for o in node.outputs))

    def trip(self, n):
        """A loop's trip count n as written: the literal, or (hidden_trips) n plus a zero LLVM
        cannot know, `opaque`, which the function defines first."""
        return f"opaque + {n}" if self.hidden_trips else str(n)

    def program(self):
        self.body()
        returned = [v for v in self.output_vars if v not in self.input_vars and v not in self.constant]
        outs = "".join(self.name(v) + ", " for v in returned)
        source = "".join(self.helpers.values()) + (
            "@njit(cache=True, error_model='numpy', nogil=True)\n"
            f"def kernel({', '.join(self.params)}):\n" + "".join(f"    {line}\n" for line in self.lines)
            + f"    return ({outs})\n")
        where = []  # for each output: ("result", k), ("input", k) or ("constant", value)
        for v in self.output_vars:
            if v in self.input_vars:
                where.append(("input", self.input_vars.index(v)))
            elif v in self.constant:
                where.append(("constant", self.known[v]))
            else:
                where.append(("result", returned.index(v)))
        return Plan(source, len(self.input_vars), tuple(self.extra), where, self.nodes(), tuple(self.rows))

    def row_call(self, kind, x, arguments):
        """A call of numba_rows' compiled loop for `kind` rows of x, imported from its module
        (compiled once for every program, not again in each)."""
        short = blocked(self.shape(x)[-1])
        name = f"row_{kind}_{x.dtype}_{'short' if short else 'long'}"
        if name not in self.helpers:
            module = module_name(row_source(kind, x.dtype, False, short))
            self.helpers[name] = f"from {module} import kernel as {name}\n"
            self.rows.append((kind, x.dtype, short))
        return f"{name}({', '.join(arguments)})"


# --- one emitter per op: lines computing the node's outputs ---------------------------------

_SCRATCH = re.compile(r"\b(t\d*|v|flat|e|u1|u2|count|p|bases|j\d+|r\d+)\b")


def _np(dtype):
    return "np.bool_" if dtype == "bool" else f"np.{dtype}"


def _index(shape, out_shape):
    """The index of an array of `shape` broadcast against loops i0.. over out_shape."""
    if not shape:
        return "[()]"
    lead = len(out_shape) - len(shape)
    return "[" + ", ".join("0" if n == 1 else f"i{lead + k}" for k, n in enumerate(shape)) + "]"


def _loops(w, shape, depth=0, pad=""):
    """Open loops over shape (inside `pad`); returns the indent of their body."""
    for k, n in enumerate(shape):
        w.lines.append(f"{pad}for i{depth + k} in range({w.trip(n)}):")
        pad += "    "
    return pad


def _elementwise(w, node):
    op = node.op
    composite = op if isinstance(op, Composite) else Composite(
        [(op.scalar_op, tuple(("in", k) for k in range(len(node.inputs))), node.outputs[0].dtype)], [0],
        len(node.inputs))
    in_dtypes = tuple(v.dtype for v in node.inputs)
    if uses_checked_forms(composite, in_dtypes, ("float32",), TRIG_FORMS):  # (float64's: libm's here)
        raise Unsupported("float32 sin/cos/tan (their kernels check the argument range)")
    out_shape = w.shape(node.outputs[0])
    outs = [w.new(o) for o in node.outputs]
    for name, o in zip(outs, node.outputs):
        w.lines.append(f"{name} = np.empty({out_shape}, {_np(o.dtype)})")
    composite, loads = _parts_first(w, composite, node.inputs, out_shape, outs[0])
    pad = _loops(w, out_shape)
    w.lines += program_lines(composite, loads, pad)
    at = _index(out_shape, out_shape)
    w.lines += [f"{pad}{name}{at} = t{step}" for name, step in zip(outs, composite.outputs)]


def _parts_first(w, composite, inputs, shape, prefix):
    """(rest, loads): the lines computing the parts of a loop over `shape` into small arrays
    named after prefix (_partial_values), and what is left for the loop, with the loads of its
    inputs (those arrays last) at the loop's index."""
    parts, rest = _partial_values(composite, [w.shape(v) for v in inputs], shape)
    buffers = []
    for k, (part, part_shape) in enumerate(parts):
        names = [f"{prefix}_p{k}_{m}" for m in range(len(part.outputs))]
        for name, step in zip(names, part.outputs):
            w.lines.append(f"{name} = np.empty({part_shape}, {_np(part.program[step][2])})")
        pad = _loops(w, part_shape)
        w.lines += program_lines(part, [(w.load(v, _index(w.shape(v), part_shape)), v.dtype) for v in inputs], pad)
        w.lines += [f"{pad}{name}{_index(part_shape, part_shape)} = t{step}" for name, step in zip(names, part.outputs)]
        buffers += [(name + _index(part_shape, shape), part.program[step][2])
                    for name, step in zip(names, part.outputs)]
    return rest, [(w.load(v, _index(w.shape(v), shape)), v.dtype) for v in inputs] + buffers


def _partial_values(composite, in_shapes, out_shape):
    """loop_parts.partial_values of a loop over out_shape, each part with the shape it is
    computed over (1 along the axes it does not vary along): what varies along fewer axes than
    the output (a row's, a column's), computed into small arrays before the loop, which the
    loop otherwise computed at every element (a batch norm's gamma / sqrt(var + eps) of
    128x256: 32768 square roots and divisions for 256)."""
    ndim = len(out_shape)
    axes = [frozenset(ndim - len(shape) + k for k, n in enumerate(shape) if n != 1) for shape in in_shapes]
    parts, rest = partial_values(composite, axes, (d for d, n in enumerate(out_shape) if n != 1))
    return [(part, tuple(n if d in a else 1 for d, n in enumerate(out_shape))) for part, a in parts], rest


def _product(w, node):
    c, (a, b) = (node.inputs[0] if isinstance(node.op, linalg.Gemm) else None), node.inputs[-2:]
    out = node.outputs[0]
    # (a vector's product by a matrix either way round too: an RNN over one sequence, unbatched)
    shapes_ok = (a.ndim, b.ndim) == (2, 2) or (c is None and {a.ndim, b.ndim} == {1, 2})
    if not shapes_ok or not (a.dtype == b.dtype == out.dtype) or out.dtype not in ("float32", "float64"):
        raise Unsupported(f"{node.op} of {a.describe()} and {b.describe()}")
    name = w.new(out)
    w.lines.append(f"{name} = {_dot_name(w)}({w.name(a)}, {w.name(b)})")
    if c is None:
        return
    alpha, beta = node.op.alpha, node.op.beta
    shape = w.shape(out)
    pad = _loops(w, shape)
    scaled = name + _index(shape, shape) if alpha == 1 else f"{_np(out.dtype)}({alpha!r}) * {name}{_index(shape, shape)}"
    bias = w.load(c, _index(w.shape(c), shape))
    bias = bias if beta == 1 else f"{_np(out.dtype)}({beta!r}) * {bias}"
    w.lines.append(f"{pad}{name}{_index(shape, shape)} = {_np(out.dtype)}({scaled} + {bias})")


def _dot_name(w):
    """The product's function the program imports: NumPy's OpenBLAS where found (one pool of
    threads), else numba's np.dot."""
    from .numba_numpy_gemm import DOT
    if DOT is None:
        w.helpers["dot2"] = "from symgraph.backends.numba_blas import dot2\n"
        return "dot2"
    w.helpers[DOT] = f"from symgraph.backends.numba_numpy_gemm import {DOT}\n"
    return DOT


def _stack_product(w, node):
    """matmul of a stack of matrices: by one (k, n) matrix as one product of all its rows (a
    dense layer over a sequence), or by a stack of as many, one product each (batched_dot,
    attention's scores); other broadcasts of the stack keep the executor."""
    (a, b), out = node.inputs, node.outputs[0]
    a_shape, b_shape, shape = w.shape(a), w.shape(b), w.shape(out)
    if not (a.dtype == b.dtype == out.dtype) or out.dtype not in ("float32", "float64") or a.ndim != 3 \
            or b.ndim not in (2, 3) or (b.ndim == 3 and a_shape[0] != b_shape[0]):
        raise Unsupported(f"{node.op} of {a.describe()} and {b.describe()}")
    dot, name = _dot_name(w), w.new(out)
    if b.ndim == 2:
        rows = f"np.ascontiguousarray({w.name(a)}).reshape(({a_shape[0] * a_shape[1]}, {a_shape[2]}))"
        w.lines.append(f"{name} = {dot}({rows}, {w.name(b)}).reshape({shape})")
        return
    w.lines.append(f"{name} = np.empty({shape}, {_np(out.dtype)})")
    w.lines.append(f"for r0 in range({w.trip(shape[0])}):")
    w.lines.append(f"    t = {dot}(np.ascontiguousarray({w.name(a)}[r0]), np.ascontiguousarray({w.name(b)}[r0]))")
    w.lines.append(f"    for r1 in range({w.trip(shape[1])}):")
    w.lines.append(f"        for r2 in range({w.trip(shape[2])}):")
    w.lines.append(f"            {name}[r0, r1, r2] = t[r1, r2]")


def _dimshuffle(w, node):
    op, x, out = node.op, node.inputs[0], node.outputs[0]
    name = w.new(out)
    if tuple(op.pattern) == (1, 0):
        w.lines.append(f"{name} = {w.name(x)}.T")  # a view numba knows is F-ordered (BLAS reads it)
        return
    if not op.new_axes and not op.dropped:
        w.lines.append(f"{name} = np.ascontiguousarray(np.transpose({w.name(x)}, {tuple(op.pattern)}))")
        return
    shape = w.shape(out)
    position = {p: k for k, p in enumerate(op.pattern) if p != "x"}
    at = "[()]" if not x.ndim else "[" + ", ".join("0" if d in op.dropped else f"i{position[d]}"
                                                   for d in range(x.ndim)) + "]"
    w.lines.append(f"{name} = np.empty({shape}, {_np(out.dtype)})")
    pad = _loops(w, shape)
    w.lines.append(f"{pad}{name}{_index(shape, shape)} = {w.load(x, at)}")


def _reduction(w, node):
    """Reduce, CompositeReduce and SumToShape: fold into an accumulator shaped like the output."""
    op, out = node.op, node.outputs[0]
    if isinstance(op, R.SumToShape):
        g = node.inputs[0]
        shape, target = w.shape(g), w.shape(out)
        lead = len(shape) - len(target)
        axes = tuple(range(lead)) + tuple(lead + k for k, n in enumerate(target) if n == 1 and shape[lead + k] != 1)
        kind, keep = "sum", [lead + k for k in range(len(target))]
    else:
        kind, axes = op.kind, tuple(op.axis)
        shape = np.broadcast_shapes(*[w.shape(v) for v in node.inputs])
        keep = [k for k in range(len(shape)) if op.keepdims or k not in axes]
    if kind not in ("sum", "mean", "prod", "max", "min"):
        raise Unsupported(f"a {kind} reduction")
    if kind in ("max", "min") and any(shape[a] == 0 for a in axes):
        raise Unsupported("max/min of an empty axis (it raises)")
    dtype = out.dtype
    acc_dtype = "float64" if kind in ("sum", "prod", "mean") and dtype in ("float16", "float32") else dtype
    out_shape = w.shape(out)
    count = int(np.prod([shape[a] for a in axes]))
    x = node.inputs[0]
    internal = not {x, out} & (set(w.input_vars) | set(w.output_vars) | w.constant)
    if count == 1 and internal and not isinstance(op, CompositeReduce) and tuple(shape) == tuple(out_shape) \
            and x.dtype == dtype:
        # Nothing to fold (a SumToShape to the gradient's own shape, which the rewriter could
        # not prove): the same array under another name (an LSTM's backward step had eight such
        # copies a step). A scatter in place copies it first (see w.aliases); neither is an
        # input or a result, which would then share memory with another.
        source = w.name(x)
        w.lines.append(f"{w.new(out)} = {source}")
        w.aliases.add(w.names[out])
        return
    acc = f"acc{len(w.names)}"
    name = w.new(out)
    w.lines.append(f"{name} = np.empty({out_shape}, {_np(dtype)})")
    at = "[" + ", ".join("0" if k in axes else f"i{k}" for k in keep) + "]" if keep else "[()]"
    fold = "sum" if kind == "mean" else kind
    if isinstance(op, CompositeReduce):  # (a row's or a column's values computed first: _parts_first)
        composite, loads = _parts_first(w, op.composite, node.inputs, tuple(shape), name)

    def value(pad):
        if isinstance(op, CompositeReduce):
            w.lines.extend(program_lines(composite, loads, pad))
            return f"t{composite.outputs[0]}"
        return w.load(node.inputs[0], _index(shape, shape))

    if count == 1:  # nothing to fold, and a cast or a fused expression: a copy
        pad = _loops(w, shape)
        w.lines.append(f"{pad}{name}{at} = {_np(dtype)}({value(pad)})")
        return
    # Reduced axes innermost (a row sum, or all of them): one scalar accumulator per output
    # element, no accumulator array to allocate, fill and copy out (less for numba to compile).
    inner = all(a >= len(shape) - len(axes) for a in axes)
    if inner and np.dtype(acc_dtype).kind == "f" and acc_dtype != "float16":
        outer = _loops(w, [n for k, n in enumerate(shape) if k not in axes])
        w.lines.append(f"{outer}{acc} = {_init_literal(fold, acc_dtype)}")
        reduced = ([shape[a] for a in axes], len(shape) - len(axes))
        if _plain_extreme(op, fold, acc_dtype):
            _extreme_fold(w, fold, acc, acc_dtype, reduced, outer, value)
        else:
            pad = _loops(w, *reduced, outer)
            w.lines += [pad + line for line in _fold_lines(fold, acc, value(pad), acc_dtype)]
        result = f"{acc} / {count}" if kind == "mean" else acc
        w.lines.append(f"{outer}{name}{at} = {_np(dtype)}({result})")
        return
    w.full(acc, out_shape, acc_dtype, _init_literal(fold, acc_dtype))
    pad = _loops(w, shape)
    w.lines += [pad + line for line in _executors_fold_lines(op, fold, f"{acc}{at}", value(pad), acc_dtype)]
    pad = _loops(w, out_shape)
    at = _index(out_shape, out_shape)
    result = f"{acc}{at} / {count}" if kind == "mean" else f"{acc}{at}"
    w.lines.append(f"{pad}{name}{at} = {_np(dtype)}({result})")


def _plain_extreme(op, kind, acc_dtype):
    """Whether the fold is a plain (not fused) float max or min: the executor's small plain
    reductions are NumPy's, which keeps the later of equal values (min([-0.0, 0.0]) is 0.0 in
    NumPy, -0.0 by LLVM's minimum, which its fused reductions' loops use), so such a fold here
    does as NumPy's: x / min(...) then has the executor's infinity."""
    return kind in ("max", "min") and np.dtype(acc_dtype).kind == "f" and not isinstance(op, CompositeReduce)


def _executors_fold_lines(op, kind, acc, value, acc_dtype):
    """_fold_lines as the executor folds (see _plain_extreme)."""
    if not _plain_extreme(op, kind, acc_dtype):
        return _fold_lines(kind, acc, value, acc_dtype)
    return _later_of_equal_lines(kind, acc, value, acc_dtype)


def _later_of_equal_lines(kind, acc, value, acc_dtype):
    """acc <- the max or min of acc and value by a compare keeping the later of equal values
    (NaN once seen), one value after another."""
    new = acc.split("[")[0] + "_v"
    keeps = ">" if kind == "max" else "<"
    return [f"{new} = np.{acc_dtype}({value})", f"{acc} = {acc} if ({acc} {keeps} {new} or {acc} != {acc}) else {new}"]


def _extreme_fold(w, kind, acc, acc_dtype, reduced, outer, value):
    """A plain float max or min into the scalar `acc` over the loops `reduced` (inside `outer`):
    by maxnum or minnum, which vectorize, NaN noted apart (numba_codegen._fold_lines); where
    that gives a zero, whose sign is the later equal value's (see _plain_extreme), the fold is
    done again by the compare (_later_of_equal_lines). The compare alone took 18 us for 16384
    float32 values (1.4 vectorized): a program with one max ran 1.4-2.6x slower than the node
    kernels from 16384 values."""
    seen = f"{acc}_nan"
    w.lines.append(f"{outer}{seen} = False")
    pad = _loops(w, *reduced, outer)
    w.lines += [pad + line for line in _fold_lines(kind, acc, value(pad), acc_dtype, seen=seen)]
    w.lines += [f"{outer}{acc} = {_folded(acc, seen, acc_dtype)}", f"{outer}if {acc} == 0:",
                f"{outer}    {acc} = {_init_literal(kind, acc_dtype)}"]
    pad = _loops(w, *reduced, outer + "    ")
    w.lines += [pad + line for line in _later_of_equal_lines(kind, acc, value(pad), acc_dtype)]


def _arg_reduction(w, node):
    """argmax/argmin along one axis: the first extreme, or the first NaN, as NumPy's."""
    op, x, out = node.op, node.inputs[0], node.outputs[0]
    shape = w.shape(x)
    if len(op.axis) != 1 or shape[op.axis[0]] == 0:
        raise Unsupported(f"{op} (several axes, or an empty one)")
    axis = op.axis[0]
    kind = "max" if op.kind == "argmax" else "min"
    better = ">" if kind == "max" else "<"
    keep = [k for k in range(len(shape)) if op.keepdims or k != axis]
    at = "[" + ", ".join("0" if k == axis else f"i{k}" for k in keep) + "]" if keep else "[()]"
    out_shape = w.shape(out)
    best, name = f"best{len(w.names)}", w.new(out)
    w.full(best, out_shape, x.dtype, _init_literal(kind, x.dtype))
    w.full(name, out_shape, "int64", "0")
    pad = _loops(w, shape)
    v = w.load(x, _index(shape, shape))
    w.lines += [f"{pad}v = {v}",
                f"{pad}if v {better} {best}{at} or (v != v and {best}{at} == {best}{at}):",
                f"{pad}    {best}{at} = v", f"{pad}    {name}{at} = i{axis}"]


def _random_draw(w, node):
    """ops/random.py's counter-based draws, number for number (SplitMix64 is integer
    arithmetic; a normal draw's log and cos may differ from NumPy's in the last bit)."""
    op = node.op
    state, params = node.inputs[0], node.inputs[2:]
    if any(w.known[p].size != 1 for p in params) or (op.dist == "binomial" and params[0] not in w.constant):
        raise Unsupported(f"{op} with array parameters")
    new_state, sample = node.outputs
    shape = w.shape(sample)
    if not shape:
        raise Unsupported("a 0-d random draw")
    w.helpers["random"] = "from symgraph.backends.numba_random import stream_base, uniform_at\n"
    s, out = w.new(new_state), w.new(sample)
    key, counter = f"{w.name(state)}[0]", f"{w.name(state)}[1]"
    p = [w.load(v, "[()]" if not v.ndim else "[" + ", ".join("0" * v.ndim) + "]") for v in params]
    w.lines += [f"{s} = np.empty(2, np.uint64)", f"{s}[0] = {key}", f"{s}[1] = {counter} + np.uint64(1)",
                f"{out} = np.empty({shape}, {_np(op.dtype)})", f"flat = {out}.reshape(-1)"]
    salts = {"uniform": [0], "normal": [1, 2]}.get(op.dist)
    if op.dist == "binomial":
        salts = [3 + t for t in range(int(w.known[params[0]].reshape(-1)[0]))]
    if salts is None:
        raise Unsupported(f"a {op.dist} draw")
    # Each stream's base hashed once, before the loop (numba_random's kernels do the same).
    w.lines.append(f"bases = np.empty({len(salts)}, np.uint64)")
    w.lines += [f"bases[{k}] = stream_base({key}, {counter}, {salt})" for k, salt in enumerate(salts)]
    w.lines.append(f"for e in range({int(np.prod(shape))}):")
    if op.dist == "uniform":  # high - low in the parameters' dtype, as the reference
        value = f"np.float64({p[0]}) + np.float64({p[1]} - {p[0]}) * uniform_at(bases[0], e)"
    elif op.dist == "normal":
        w.lines += ["    u1 = 1.0 - uniform_at(bases[0], e)", "    u2 = uniform_at(bases[1], e)"]
        value = f"np.float64({p[0]}) + np.float64({p[1]}) * (np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2))"
    else:
        w.lines += ["    count = 0", f"    for t in range({len(salts)}):",
                    f"        if uniform_at(bases[t], e) < {p[1]}:", "            count += 1"]
        value = "count"
    w.lines.append(f"    flat[e] = {_np(op.dtype)}({value})")


def _reshape(w, node):
    x, out = node.inputs[0], node.outputs[0]
    if not x.ndim or not out.ndim:
        raise Unsupported("a reshape to or from 0 dimensions")
    w.lines.append(f"{w.new(out)} = np.ascontiguousarray({w.name(x)}).reshape({w.shape(out)})")


def _rows(w, node):
    op, x = node.op, node.inputs[0]
    softmax = isinstance(op, (N.Softmax, N.LogSoftmax))
    kind = "softmax" if isinstance(op, N.Softmax) else "log_softmax"
    if softmax and x.ndim > 2 and op.axis % x.ndim == x.ndim - 1 and x.dtype in ("float32", "float64"):
        # (a sequence's or attention's scores, C-ordered: the rows of their last axis)
        shape, out = w.shape(x), node.outputs[0]
        rows = (int(np.prod(shape[:-1])), shape[-1])
        w.lines.append(f"e = np.empty({rows}, {_np(out.dtype)})")
        w.lines.append(w.row_call(kind, x, [f"np.ascontiguousarray({w.name(x)}).reshape({rows})", "e"]))
        w.lines.append(f"{w.new(out)} = e.reshape({shape})")
        return
    if x.ndim != 2 or x.dtype not in ("float32", "float64") or (softmax and op.axis != 1):
        raise Unsupported(f"{op} of {x.describe()}")
    names = [w.new(out) for out in node.outputs]  # (the loss before the gradient: the kernel's order)
    w.lines += [f"{name} = np.empty({w.shape(out)}, {_np(out.dtype)})" for name, out in zip(names, node.outputs)]
    if isinstance(op, (N.CrossentropySoftmax, N.CrossentropySoftmaxGrad, N.CrossentropySoftmaxWithGrad)):
        t, per_row = node.inputs[1], node.inputs[2:]  # (g, one value a row, for the gradients)
        dense = t.dtype[0] not in "iu"
        if w.shape(t) != (w.shape(x) if dense else w.shape(x)[:1]) or any(w.shape(g) != w.shape(x)[:1] for g in per_row):
            raise Unsupported("crossentropy targets or g not one per row")  # the kernels read them by row
        call = w.row_call(crossentropy_kind(node), x, [w.name(v) for v in node.inputs] + names)
        w.lines.append(f"if {call}:")
        w.lines.append("    raise IndexError('crossentropy target out of range')")
        return
    w.lines.append(w.row_call(kind, x, [w.name(x), names[0]]))


def _picks(w, node, x_shape):
    """Loop lines over the picked positions of x[i, j, ...] (1-d integer index arrays) with
    each index wrapped and checked as NumPy does; returns (pad, index into x, picked count)."""
    spec, indices = node.op.spec, node.inputs[2:] if isinstance(node.op, I.IncSubtensor) else node.inputs[1:]
    if any(e != "array" for e in spec) or any(v.ndim != 1 or v.dtype[0] not in "iu" for v in indices):
        raise Unsupported(f"{node.op}: only 1-d integer-array indices")
    lengths = {w.shape(v)[0] for v in indices}
    if len(lengths) != 1:
        raise Unsupported(f"{node.op}: index arrays of different lengths")
    count = lengths.pop()
    w.lines.append(f"for p in range({count}):")
    at = []
    for k, v in enumerate(indices):
        n = x_shape[k]
        w.lines += [f"    j{k} = {w.load(v, '[p]')}", f"    if j{k} < 0:", f"        j{k} += {n}",
                    f"    if j{k} < 0 or j{k} >= {n}:", "        raise IndexError('index out of range')"]
        at.append(f"j{k}")
    rest = x_shape[len(spec):]
    pad = "    "
    for k, n in enumerate(rest):
        w.lines.append(f"{pad}for r{k} in range({w.trip(n)}):")
        pad += "    "
    return pad, at + [f"r{k}" for k in range(len(rest))], count


def _basic_index(w, node):
    """x[2, ::-1, :1]: ints and slices known when the program is written, as a view."""
    if any(v not in w.constant for v in node.inputs[1:]) or "newaxis" in node.op.spec:
        raise Unsupported(f"{node.op} with computed bounds")
    parts = []
    for e in I.build_index(node.op.spec, [w.known[v] for v in node.inputs[1:]]):
        parts.append(str(e) if isinstance(e, int) else ":".join("" if b is None else str(b)
                                                               for b in (e.start, e.stop, e.step)))
    x, out = node.inputs[0], node.outputs[0]
    name = w.new(out)
    view = f"{w.name(x)}[{', '.join(parts)}]"
    if out.ndim:
        # Copied to C order: numba types a view as of any strides, and the loops reading it did
        # not vectorize (an LSTM's gates, four column slices of one product: its step's loop
        # 20 -> 7 us, the copies included).
        w.lines.append(f"{name} = np.ascontiguousarray({view})")
    else:  # a single element: a 0-d array like every other value
        w.lines += [f"{name} = np.empty((), {_np(out.dtype)})", f"{name}[()] = {view}"]


def _gather(w, node):
    if "array" not in node.op.spec:
        return _basic_index(w, node)
    x, out = node.inputs[0], node.outputs[0]
    name = w.new(out)
    w.lines.append(f"{name} = np.empty({w.shape(out)}, {_np(out.dtype)})")
    pad, at, _ = _picks(w, node, w.shape(x))
    rest = at[len(node.op.spec):]
    w.lines.append(f"{pad}{name}[{', '.join(['p'] + rest)}] = {w.load(x, '[' + ', '.join(at) + ']')}")


def _scatter(w, node):
    op, x, y, out = node.op, node.inputs[0], node.inputs[1], node.outputs[0]
    if "array" not in op.spec:
        return _basic_scatter(w, node)
    name = _scatter_target(w, op, x, out)
    pad, at, count = _picks(w, node, w.shape(x))
    region = (count,) + w.shape(x)[len(op.spec):]
    y_shape = w.shape(y)
    lead = len(region) - len(y_shape)
    loop_vars = ["p"] + at[len(op.spec):]
    y_at = "[()]" if not y_shape else "[" + ", ".join(
        "0" if n == 1 else loop_vars[lead + k] for k, n in enumerate(y_shape)) + "]"
    sign = "=" if op.set_instead_of_inc else "+="
    w.lines.append(f"{pad}{name}[{', '.join(at)}] {sign} {w.load(y, y_at)}")


def _scatter_target(w, op, x, out):
    """The name of the array a scatter writes: x's own where the memory planner said so, else a
    copy (constants are shared by calls; an alias's array is another value's too)."""
    name = w.new(out)
    copy = "" if op.inplace and x not in w.constant and w.name(x) not in w.aliases else ".copy()"
    w.lines.append(f"{name} = {w.name(x)}{copy}")
    return name


def _basic_scatter(w, node):
    """x[2, 1:5] = y or += y, the bounds known when the program is written (an LSTM's gates'
    gradients set into the gradient of their joined product): a loop over the region."""
    op, x, y, out = node.op, node.inputs[0], node.inputs[1], node.outputs[0]
    if any(v not in w.constant for v in node.inputs[2:]) or "newaxis" in op.spec:
        raise Unsupported(f"{op} with computed bounds")
    x_shape = w.shape(x)
    at, region = [], []  # x's index, from the loops over the region's axes
    for k, e in enumerate(I.build_index(op.spec, [w.known[v] for v in node.inputs[2:]])
                          + (slice(None),) * (len(x_shape) - len(op.spec))):
        if isinstance(e, int):
            at.append(str(e % x_shape[k]))
            continue
        start, _, step = e.indices(x_shape[k])
        at.append(f"{start} + {step} * r{len(region)}")
        region.append(len(range(*e.indices(x_shape[k]))))
    name = _scatter_target(w, op, x, out)
    pad = ""
    for k, n in enumerate(region):
        w.lines.append(f"{pad}for r{k} in range({w.trip(n)}):")
        pad += "    "
    y_shape = w.shape(y)
    lead = len(region) - len(y_shape)
    y_at = "[()]" if not y_shape else "[" + ", ".join(
        "0" if n == 1 else f"r{lead + k}" for k, n in enumerate(y_shape)) + "]"
    sign = "=" if op.set_instead_of_inc else "+="
    w.lines.append(f"{pad}{name}[{', '.join(at)}] {sign} {w.load(y, y_at)}")


def _alloc(w, node):
    out = node.outputs[0]
    name = w.new(out)
    fill = w.load(node.inputs[0], "[()]")
    w.full(name, w.shape(out), out.dtype, f"{_np(out.dtype)}({fill})")


def _broadcast_to(w, node):
    x, out = node.inputs[0], node.outputs[0]
    _read_into(w, out, x, _index(w.shape(x), w.shape(out)))


def _concatenate(w, node):
    """concatenate(xs, axis): each input copied into its place in a new array (features joined
    before a product, an LSTM's [x, h]; node by node a small step with one ran 57 us where
    its neighbours' programs ran 8-13)."""
    out = node.outputs[0]
    name, shape, axis = w.new(out), w.shape(out), node.op.axis % out.ndim
    w.lines.append(f"{name} = np.empty({shape}, {_np(out.dtype)})")
    start = 0
    for x in node.inputs:
        x_shape = w.shape(x)
        pad = _loops(w, x_shape)
        at = [f"{start} + i{k}" if k == axis else f"i{k}" for k in range(len(x_shape))]
        w.lines.append(f"{pad}{name}[{', '.join(at)}] = {w.load(x, _index(x_shape, x_shape))}")
        start += x_shape[axis]


def _read_into(w, out, x, at):
    """out's lines: a new array, each value read from x at the index `at` (over the loops i0..
    of out's shape)."""
    name, shape = w.new(out), w.shape(out)
    w.lines.append(f"{name} = np.empty({shape}, {_np(out.dtype)})")
    pad = _loops(w, shape)
    w.lines.append(f"{pad}{name}{_index(shape, shape)} = {w.load(x, at)}")


def _tile(w, node):
    """np.tile(x, reps): each output value read from x at its index modulo x's lengths."""
    x = node.inputs[0]
    at = ["0" if n == 1 else f"i{k}" if r == 1 else f"i{k} % {n}" for k, (n, r) in enumerate(zip(w.shape(x), node.op.reps))]
    _read_into(w, node.outputs[0], x, "[" + ", ".join(at) + "]")


def _repeat(w, node):
    """np.repeat(x, r, axis) for a number r known when the program is written: each output
    value read from x at its index along the axis divided by r."""
    x, repeats, out = node.inputs[0], node.inputs[1], node.outputs[0]
    if repeats not in w.constant or w.known[repeats].ndim:
        raise Unsupported(f"{node.op} with computed or per-value repeats")
    r, axis = int(w.known[repeats]), node.op.axis % out.ndim
    at = ["0" if n == 1 else f"i{k} // {r}" if k == axis else f"i{k}" for k, n in enumerate(w.shape(x))]
    _read_into(w, out, x, "[" + ", ".join(at) + "]")


def _running_sum(w, node):
    """cumsum along an axis, from its end for a reversed one (a cumsum's gradient): one
    addition after another in the output's dtype, NumPy's order and so its bits."""
    x, out = node.inputs[0], node.outputs[0]
    if out.dtype not in ("float32", "float64", "int64"):
        raise Unsupported(f"{node.op} of {x.describe()}")
    name, shape, axis = w.new(out), w.shape(out), node.op.axis % out.ndim
    n = shape[axis]
    w.lines.append(f"{name} = np.empty({shape}, {_np(out.dtype)})")
    pad = _loops(w, shape)
    step = f"{n - 1} - i{axis}" if node.op.reverse else f"i{axis}"
    at = ", ".join(step if k == axis else f"i{k}" for k in range(len(shape)))
    before = ", ".join(f"{step} {'+' if node.op.reverse else '-'} 1" if k == axis else f"i{k}" for k in range(len(shape)))
    w.lines += [f"{pad}{name}[{at}] = {w.load(x, '[' + at + ']')}",
                f"{pad}if i{axis} > 0:",
                f"{pad}    {name}[{at}] += {name}[{before}]"]


def _diagonal(w, node):
    x, out = node.inputs[0], node.outputs[0]
    k = node.op.offset
    name, (n,) = w.new(out), w.shape(out)
    w.lines.append(f"{name} = np.empty(({n},), {_np(out.dtype)})")
    pad = _loops(w, (n,))
    w.lines.append(f"{pad}{name}[i0] = {w.load(x, f'[i0 + {max(-k, 0)}, i0 + {max(k, 0)}]')}")


_EMITTERS = {Elemwise: _elementwise, Composite: _elementwise, linalg.Dot: _product, linalg.Gemm: _product,
             DimShuffle: _dimshuffle, R.Reduce: _reduction, CompositeReduce: _reduction,
             R.SumToShape: _reduction, N.Softmax: _rows, N.LogSoftmax: _rows, N.CrossentropySoftmax: _rows,
             N.CrossentropySoftmaxGrad: _rows, N.CrossentropySoftmaxWithGrad: _rows,
             I.Subtensor: _gather, I.IncSubtensor: _scatter, Alloc: _alloc, BroadcastTo: _broadcast_to,
             R.ArgReduce: _arg_reduction, Reshape: _reshape, RandomDraw: _random_draw, linalg.Diagonal: _diagonal,
             Concatenate: _concatenate, Tile: _tile, Repeat: _repeat, R.CumSum: _running_sum,
             linalg.Matmul: _stack_product}
