"""sg.function: compile inputs -> outputs (plus updates of shared variables) into a callable.

    >>> x = sg.vector("x"); w = sg.shared(np.zeros(3, "float32"), "w")
    >>> step = sg.function([x], (x * w).sum(), updates=[(w, w + x)])
    >>> step(np.ones(3, "float32"))
"""
import operator
import time
import types
import warnings

import numpy as np

from . import gc_pause
from .config import config
from .function_io import completed, unwrapped_inputs, unwrapped_outputs
from .graph import Variable, Constant, SharedVariable, ancestors, clone_replace, graph_inputs, python_float_limit
from .profiling import ProfileStats
from .ops.base import as_variable
from .rewrite import FunctionGraph, optimize_graph
from .rewrite.memory import fresh_outputs


class UnusedInputError(ValueError):
    pass


def _backend_module(name):
    if name == "numpy":
        from .backends import numpy_backend
        return numpy_backend
    if name == "numba":
        from .backends import numba_cpu
        return numba_cpu
    if name == "cuda":
        from .backends import numba_cuda
        return numba_cuda
    raise ValueError(f"unknown backend {name!r}: use 'numba', 'numpy' or 'cuda'")


def _normalize_updates(updates):
    if updates is None:
        return []
    pairs = list(updates.items()) if isinstance(updates, dict) else list(updates)
    out, seen = [], set()
    for pair in pairs:
        if len(pair) != 2:
            raise TypeError(f"an update must be a (shared_variable, new_value) pair, got {pair!r}")
        shared, new = pair
        if not isinstance(shared, SharedVariable):
            raise TypeError(f"updates can only change shared variables, not {getattr(shared, 'describe', lambda: repr(shared))()}")
        if shared in seen:
            raise ValueError(f"shared variable {shared.describe()} is updated twice")
        seen.add(shared)
        new = as_variable(new)
        if isinstance(new, Constant) and new.weak:
            new = Constant(np.asarray(new.data, dtype=shared.dtype))
        if new.dtype != shared.dtype:
            raise TypeError(f"update of {shared.describe()} has dtype {new.dtype}; cast it with "
                            f".astype('{shared.dtype}') (update value: {new.describe()})")
        if new.ndim != shared.ndim or not shared.type.is_compatible(
                type(shared.type)(new.dtype, new.type.shape)):
            raise ValueError(f"update of {shared.describe()} has type {new.type}: the shape "
                             f"does not match (update value: {new.describe()})")
        out.append((shared, new))
    return out


class Function:
    """A compiled graph. Call it with one value per input."""

    def __init__(self, inputs, outputs, updates, givens, backend, optimize, name, on_unused_input,
                 nan_guard=None, device_outputs=False, allow_input_downcast=None, profile=None):
        # (what pickling keeps: the function is compiled again from it when unpickled, as Theano's)
        self._recipe = dict(inputs=list(inputs), outputs=outputs, updates=updates, givens=givens, backend=backend,
                            optimize=optimize, name=name, on_unused_input=on_unused_input, nan_guard=nan_guard,
                            device_outputs=device_outputs, allow_input_downcast=allow_input_downcast,
                            profile=profile)
        self.name = name
        self.backend = backend or config.backend
        # (Theano's In: defaults and names; Out: an output)
        inputs, self._defaults, in_names = unwrapped_inputs(list(inputs))
        outputs = unwrapped_outputs(outputs)
        for v in inputs:
            if not isinstance(v, Variable) or isinstance(v, (Constant, SharedVariable)) or v.owner is not None:
                what = v.describe() if isinstance(v, Variable) else repr(v)
                raise TypeError(f"function inputs must be symbolic input variables (sg.vector(...)); "
                                f"got {what}. Shared variables and constants are implicit inputs.")
        if len(set(inputs)) != len(inputs):
            raise ValueError("the same variable appears twice in the inputs")
        self.unpack_single = outputs is not None and not isinstance(outputs, (list, tuple))
        outputs = [] if outputs is None else ([outputs] if self.unpack_single else list(outputs))
        outputs = [as_variable(o) for o in outputs]
        updates = _normalize_updates(updates)
        exprs = outputs + [new for _, new in updates]
        self.user_outputs = list(outputs)  # the graph as written, for pictures (optimized=False)
        self.user_updates = list(updates)
        if givens:
            givens = dict(givens.items() if isinstance(givens, dict) else givens)
            givens = {k: _check_given(k, as_variable(v)) for k, v in givens.items()}
            exprs, _ = clone_replace(exprs, givens)
        exprs, updates = self._add_default_updates(exprs, updates, len(outputs))
        self.inputs = inputs
        self._check_unused(inputs, exprs, on_unused_input)
        self.shared = [v for v in graph_inputs(exprs) if isinstance(v, SharedVariable)]
        missing = [v for v in graph_inputs(exprs) if not isinstance(v, (Constant, SharedVariable))
                   and v not in set(inputs)]
        if missing:
            raise ValueError(f"the outputs depend on {missing[0].describe()}, which is not among "
                             f"the function's inputs {inputs}")
        fgraph = FunctionGraph(inputs + self.shared, exprs)
        fgraph.inputs = inputs
        fgraph.update_outputs = fgraph.outputs[len(outputs):]
        fgraph.updated_inputs = [shared for shared, _ in updates]
        fgraph.outputs = fgraph.outputs[:len(outputs)]
        fgraph.changed()
        began = time.perf_counter()
        self.rewrite_log = optimize_graph(fgraph, optimize)
        rewritten = time.perf_counter()
        self.fgraph = fgraph
        self.updated = [shared for shared, _ in updates]
        self.n_outputs = len(outputs)
        all_outputs = self.fgraph.outputs + self.fgraph.update_outputs
        options = {"nan_guard": config.nan_guard if nan_guard is None else nan_guard}
        profile = config.profile if profile is None else profile
        # Theano's f.profile: None unless profiled (profile=True, or a ProfileStats to fill)
        self.profile = (profile if isinstance(profile, ProfileStats) else ProfileStats(name)) if profile else None
        if self.profile is not None:
            options["profile"] = self.profile
        if device_outputs:
            if self.backend != "cuda":
                raise ValueError("device_outputs=True needs backend='cuda'")
            options["device_outputs"] = True
        self._run = _backend_module(self.backend).compile_graph(
            self.fgraph, inputs + self.shared, all_outputs, **options)
        self._keep_device = self.backend == "cuda"  # GPU arrays given as inputs stay there
        self._update_slots = list(range(len(outputs), len(all_outputs)))
        # Outputs in new memory nobody else holds need no defensive copy.
        self._fresh = fresh_outputs(self.fgraph, all_outputs)
        self._may_alias = not all(self._fresh) and not getattr(self._run, "fresh_results", False)
        # Where shared values live between calls: the CUDA backend keeps them on the device.
        self._stage_shared = getattr(self._run, "stage_shared", _host_values)
        self._types = [(v.type, f"input {i} ({v.describe()})") for i, v in enumerate(inputs)]
        # (type, what, dtype, ndim, the static lengths (axis, length) a call checks inline)
        self._checks = [(t, what, t.np_dtype, t.ndim, tuple((k, n) for k, n in enumerate(t.shape) if n is not None))
                        for t, what in self._types]
        self._downcast = allow_input_downcast
        self._by_name = {v.name: i for i, v in enumerate(inputs) if v.name}
        self._by_name.update({name: i for i, name in in_names.items()})
        self._call = self._write_call()
        if self.profile is not None:
            self.profile.rewrite_seconds = rewritten - began
            self.profile.compile_seconds = time.perf_counter() - rewritten

    def _write_call(self):
        """call(a0, a1..., /, *extra, **kwargs) -> what the function returns (f(...) runs it: see __call__):
        arguments counted and read, the program run, outputs that may share memory made the
        caller's own, shared values swapped in; written out for this function, the argument
        checks inline (a method's attribute lookups and tests, and the reader's call, took
        ~0.4 us of a 2 us call)."""
        env = {"run": self._run, "own": self._own, "arity_error": self._arity_error,
               "merge_kwargs": self._merge_kwargs, "MISSING": _MISSING}
        read = _argument_lines(self._checks, self.shared, self._stage_shared, self._keep_device, env, self._downcast)
        n = len(self._types)
        if self._defaults:  # (In's defaults: the arguments completed before they are counted)
            counted = [f"if kwargs or len(args) != {n}:", "    args = merge_kwargs(args, kwargs)"]
        else:
            counted = ["if kwargs:", "    args = merge_kwargs(args, kwargs)",
                       f"if len(args) != {n}:", "    raise arity_error(args)"]
        if n:
            # Each argument a positional-only parameter: the common call, all of them by
            # position, binds them with no tuple and dict made (40 ns of a 1.2 us call); any
            # other (keywords, fewer or more) is made the tuple `args` again and read as before.
            names = ", ".join(f"a{i}" for i in range(n))
            lines = [f"def call({', '.join(f'a{i}=MISSING' for i in range(n))}, /, *extra, **kwargs):",
                     f"    if kwargs or extra or a{n - 1} is MISSING:",
                     f"        args = tuple([a for a in ({names},) if a is not MISSING]) + extra"]
            lines += ["        " + line for line in counted + [f"{names}, = args"]]
        else:
            lines = ["def call(*args, **kwargs):"] + ["    " + line for line in counted]
        lines += ["    " + line for line in read]
        lines.append("    results = run(values)")
        if self._may_alias:
            owned = [f"results[{i}]" if fresh else f"own(results[{i}], values)" for i, fresh in enumerate(self._fresh)]
            lines.append(f"    results = [{', '.join(owned)}]")
        for k, (shared, i) in enumerate(zip(self.updated, self._update_slots)):
            # All values were computed from the old state above; now they are swapped in at once.
            env[f"updated{k}"] = shared.container
            lines.append(f"    updated{k}[0] = results[{i}]")
        if self.unpack_single:
            lines.append("    return results[0]")
        else:
            lines.append(f"    return results[:{self.n_outputs}]" if self.updated else "    return results")
        exec(compile("\n".join(lines), "<symgraph function call>", "exec"), env)
        return env["call"] if self.profile is None else self.profile.timed(env["call"])

    def __getstate__(self):
        """The graph and the options (pickle.dump(f): its shared variables' values go with it)."""
        return self._recipe

    def __setstate__(self, recipe):
        with gc_pause.held():
            self.__init__(**recipe)

    def _arity_error(self, args):
        return TypeError(f"{self._label()} takes {len(self._types)} arguments "
                         f"({', '.join(repr(v) for v in self.inputs)}), got {len(args)}")

    @staticmethod
    def _add_default_updates(exprs, updates, n_outputs):
        """Add each shared variable's default update (random streams advance their counter)."""
        updated = {s for s, _ in updates}
        todo = list(exprs)
        while True:
            extra = [v for v in graph_inputs(todo) if isinstance(v, SharedVariable)
                     and v.default_update is not None and v not in updated]
            if not extra:
                break
            for shared in extra:
                updated.add(shared)
                updates.append((shared, shared.default_update))
                exprs = exprs + [shared.default_update]
            todo = [s.default_update for s in extra]
        return exprs, updates

    @staticmethod
    def _check_unused(inputs, exprs, policy):
        used = set(ancestors(exprs))
        unused = [v for v in inputs if v not in used]
        if not unused or policy == "ignore":
            return
        message = ("these inputs are not used to compute the outputs: "
                   + "; ".join(v.describe() for v in unused)
                   + " (pass on_unused_input='warn' or 'ignore' to allow it)")
        if any(not [v for v in graph_inputs([e]) if not isinstance(v, Constant)] for e in exprs):
            # (x == y on symbolic variables is Python's identity test, as in Theano: a constant)
            message += ("; an output is a constant: if it compares variables with == or !=, those test whether"
                        " they are the same variable; sg.eq(x, y) and sg.neq(x, y) compare their values")
        if policy == "warn":
            warnings.warn(message, stacklevel=4)
        else:
            raise UnusedInputError(message)

    @property
    def _run(self):
        """The backend's program: values -> results (see _write_call)."""
        return self._program

    @_run.setter
    def _run(self, run):  # (benchmarks swap in the program without the whole-program tier)
        self._program = run
        if hasattr(self, "_call"):
            self._call = self._write_call()

    # f(...) calls the function _write_call wrote for f directly: Python looks __call__ up on
    # the class and, for a descriptor, calls what it returns (a method in between took 0.15 us
    # of a 2 us call).
    __call__ = property(operator.attrgetter("_call"), doc="f(*args, **kwargs): run the compiled graph.")

    @staticmethod
    def _own(value, inputs):
        """A value the caller may keep and mutate: never a view of an input or shared value.
        A copy keeps the view's memory order, as NumPy's `x.T * 1` does (a transposed 2000x1000
        float64 copied into C order took 6 ms, in its own order 1)."""
        if not isinstance(value, np.ndarray):
            return np.asarray(value)
        if value.base is None and value.flags.writeable and not any(value is v for v in inputs):
            return value
        return value.copy(order="K")

    def _merge_kwargs(self, args, kwargs):
        if len(args) > len(self._types):
            raise self._arity_error(args)
        return completed(args, kwargs, len(self._types), self._by_name, self._defaults, self._label(), self.inputs)

    def _label(self):
        return f"function {self.name!r}" if self.name else "this function"

    @property
    def maker(self):
        """Theano's f.maker: .fgraph (the graph that runs: f.maker.fgraph.toposort()), .inputs, .outputs."""
        return types.SimpleNamespace(fgraph=self.fgraph, inputs=self.inputs, outputs=self.fgraph.outputs)

    def __repr__(self):
        return f"<symgraph.Function {self.name or ''} {self.fgraph}>"


_MISSING = object()  # (an argument not given by position: see Function._write_call)


def _argument_lines(checks, shared, stage_shared, keep_device, env, downcast=None):
    """Lines setting `values`, the values a call runs on, from the arguments a0, a1...: each checked,
    then the shared values (the names they use go into env). One line per argument and shared
    variable: the common case (an ndarray of the right dtype and ndim, and of the static lengths
    the type has: a layer's 784 features) is decided inline, anything else goes through
    TensorType.filter's full checks; shared values are read from their containers unless one
    is not a host array (stage_shared then decides, as the CUDA backend keeps them on the
    device). A loop over the arguments took 0.9 us of two-input calls; an input of static
    lengths through filter() 1.0 us (a Keras model's inputs all have them)."""
    env.update({"ndarray": np.ndarray, "stage_shared": stage_shared, "shared": shared, "array": np.array})
    names, lines = [f"a{i}" for i in range(len(checks))], []
    for i, (t, what, dtype, ndim, statics) in enumerate(checks):
        env[f"filter{i}"] = t.filter
        env[f"what{i}"] = what
        env[f"dtype{i}"] = dtype
        lengths = "".join(f" and a{i}.shape[{k}] == {n}" for k, n in statics)
        taken = _python_float_taken(f"a{i}", dtype, ndim, downcast)
        if taken is not None:  # (a learning rate passed as a Python float: through filter 0.49 us, here 0.25)
            lines += [f"if type(a{i}) is float{taken}:", f"    a{i} = array(a{i}, dtype{i})"]
        lines += [f"{'' if taken is None else 'el'}if not (type(a{i}) is ndarray and a{i}.dtype is dtype{i} and a{i}.ndim == {ndim}{lengths}):",
                  f"    a{i} = filter{i}(a{i}, what{i}, keep_device={keep_device}, downcast={downcast})"]
    given = f"[{''.join(n + ', ' for n in names)}]"
    if not shared:
        return lines + [f"values = {given}"]
    if stage_shared is _host_values:
        held = [f"s{k}" for k in range(len(shared))]
        for k, var in enumerate(shared):
            env[f"container{k}"] = var.container
            lines.append(f"s{k} = container{k}[0]")
        return lines + [f"if {' and '.join(f'type({h}) is ndarray' for h in held)}:",
                        f"    values = [{''.join(n + ', ' for n in names + held)}]",
                        "else:",
                        f"    values = {given} + stage_shared(shared)"]
    return lines + [f"values = {given} + stage_shared(shared)"]


def _python_float_taken(name, dtype, ndim, downcast):
    """For a 0-d input, the condition (after `type(name) is float`) under which a Python float
    is taken as it is, by graph.python_float_limit (TensorType.filter's own rule): "" for any
    float, a range test for float32's; None where the general path decides."""
    limit = python_float_limit(dtype, downcast) if ndim == 0 else None
    if limit is None:
        return None
    return "" if limit == np.inf else f" and {-limit!r} <= {name} <= {limit!r}"


def _host_values(shared):
    """Shared values as NumPy arrays (a CUDA function may have left one on the device)."""
    values = [s.container[0] for s in shared]
    if all(type(v) is np.ndarray for v in values):
        return values
    return [s.get_value(borrow=True) if type(v) is not np.ndarray else v for s, v in zip(shared, values)]


def _check_given(old, new):
    if old.dtype != new.dtype or old.ndim != new.ndim:
        raise TypeError(f"givens: {old.describe()} cannot be replaced by {new.describe()} "
                        f"(dtype and number of dimensions must match)")
    return new


def function(inputs, outputs=None, updates=None, givens=None, backend=None, optimize=True,
             name=None, on_unused_input="raise", nan_guard=None, device_outputs=False,
             allow_input_downcast=None, mode=None, profile=None):
    """Compile a graph: `f = sg.function([x, y], x * y + 1); f(a, b)`.

    nan_guard=True (or SYMGRAPH_NAN_GUARD=1) stops at the first node that makes a NaN or Inf
    and names it with the source line that created it; the call then changes no state.
    device_outputs=True (backend='cuda'): return GPU arrays (numba.cuda device arrays)
    instead of copying outputs back; GPU arrays passed as inputs are never copied.

    As Theano's: allow_input_downcast=True casts every argument to its input's dtype, losing
    precision if need be (a float64 array into a float32 input); False refuses any value that
    does not convert exactly (Python's 0.1 into float32 too); None (the default) takes arrays
    that cast safely and Python numbers and lists into float inputs. mode="FAST_RUN" is the
    default, "FAST_COMPILE" merges and canonicalizes only and runs on the NumPy backend,
    "NUMBA" picks the numba backend, "NanGuardMode" turns nan_guard on. profile=True (or
    sg.config.profile) times each node: f.profile.summary() prints where the time went
    (profiling.py)."""
    if on_unused_input not in ("raise", "warn", "ignore"):
        raise ValueError("on_unused_input must be 'raise', 'warn' or 'ignore'")
    if allow_input_downcast not in (None, True, False):
        raise ValueError(f"allow_input_downcast must be None, True or False, not {allow_input_downcast!r}")
    backend, optimize, nan_guard = _apply_mode(mode, backend, optimize, nan_guard)
    with gc_pause.held():  # building allocates much that lives: see gc_pause
        return Function(inputs, outputs, updates, givens, backend, optimize, name, on_unused_input, nan_guard,
                        device_outputs, allow_input_downcast, profile)


def _apply_mode(mode, backend, optimize, nan_guard):
    """(backend, optimize, nan_guard) for Theano's (and PyTensor's) mode names."""
    if mode is None or mode == "FAST_RUN":
        return backend, optimize, nan_guard
    if mode == "FAST_COMPILE":
        return backend or "numpy", "fast_compile" if optimize is True else optimize, nan_guard
    if mode == "NUMBA":
        return backend or "numba", optimize, nan_guard
    if mode == "NanGuardMode":
        return backend, optimize, True
    raise ValueError(f"mode {mode!r} is not one of symgraph's: 'FAST_RUN', 'FAST_COMPILE' (few rewrites, the NumPy "
                     f"backend), 'NUMBA', 'NanGuardMode' (nan_guard=True); pick the backend with backend=...")
