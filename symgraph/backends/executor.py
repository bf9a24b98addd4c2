"""The executor every CPU backend shares: runs one thunk per node, in order.

Everything that can be decided once is decided at compile time: storage slots, the
program (thunk, input slots, output slots), and when each intermediate can be freed.
A call only fills the input slots and walks the program. A backend supplies
`make_thunk(node) -> callable(list of input arrays) -> list of output arrays`.
"""
import time
import warnings

import numpy as np

from ..graph import Constant
from .lazy_branches import branch_guards, guard_text


def compile_program(fgraph, input_vars, output_vars, make_thunk, quiet=True, nan_guard=False,
                    constant_value=None, profile=None):
    """A callable taking one value per `input_vars` and returning the values of `output_vars`.

    The program is generated as straight-line Python (one line per node, intermediates
    deleted after their last use), so a call costs little more than the thunks it runs.
    quiet: silence NumPy's floating-point warnings (NaN and Inf still come out as in NumPy).
    nan_guard: stop at the first node whose float output holds NaN or Inf, naming it.
    constant_value(var): what the program holds for a constant (the CUDA backend keeps
    device copies); the constant's data by default.
    profile: a ProfileStats (profiling.py) whose node_seconds add up each node's run."""
    constant_value = constant_value or (lambda var: var.data)
    names, env = {}, {"raise_in_node": raise_in_node, "np": np, "values_of": _values_of,
                      "check_finite": check_finite, "quiet_set": quiet_set, "QUIET": QUIET, "quiet_off": quiet_off}
    for i, v in enumerate(input_vars):
        names[v] = f"v{i}"
    for var in fgraph.variables():
        if var not in names and isinstance(var, Constant):
            names[var] = f"c{len(names)}"
            env[names[var]] = constant_value(var)
    writers = input_writers(fgraph.apply_nodes, input_vars)
    nodes = writers_last(fgraph.apply_nodes, writers)
    for node in nodes:
        for out in node.outputs:
            names[out] = f"v{len(names)}"
    missing = [v for node in nodes for v in node.inputs if v not in names]
    if missing:
        raise ValueError(f"the graph needs {missing[0].describe()}, which is not an input")
    keep = set(output_vars) | set(input_vars)
    last_use = {}
    for step, node in enumerate(nodes):
        for v in node.inputs:
            last_use[v] = step
    # Shape arithmetic (a batch size, 1/n, arange(n)) is worked out once per input shapes.
    # (profiled: every node runs and is timed at each call, as in Theano)
    by_shape, shapes_read = ([], []) if nan_guard or profile else shape_arithmetic(nodes, input_vars, output_vars)
    if profile is not None:
        env["node_seconds"], env["clock"] = profile.watch(nodes), time.perf_counter
    cached = set(by_shape)
    # Nodes needed by one side of an ifelse only run when it is taken (lazy_branches.py).
    guards = branch_guards(nodes, keep, eager=cached | set(writers))
    body, shape_body = [], []
    for step, node in enumerate(nodes):
        env[f"t{step}"] = make_thunk(node)
    for step, node in enumerate(nodes):
        outs = ", ".join(names[o] for o in node.outputs) + ","
        args = ", ".join(names[v] for v in node.inputs)
        if hasattr(node.op, "branch_slots") and node not in cached:  # (the side not taken: None)
            sides = [", ".join(names[v] if k == 0 or k in slots else "None" for k, v in enumerate(node.inputs))
                     for slots in node.op.branch_slots()]
            args = f"*([{sides[0]}] if {names[node.inputs[0]]} else [{sides[1]}])"
        # A thunk may offer `call`, a function it replaces by a faster one once it knows its
        # common case (numba_fast_calls); the program looks it up every call.
        call = f"t{step}.call" if hasattr(env[f"t{step}"], "call") else f"t{step}"
        if node in cached:
            shape_body += [f"step = {step}", f"{outs} = {call}([{args}])"]
            continue
        if writers and node is writers[0]:
            # Before the first write into an input, every such node checks it will not fail.
            for k, writer in enumerate(nodes[step:], step):
                if hasattr(env[f"t{k}"], "check"):
                    body += [f"step = {k}", f"t{k}.check([{', '.join(names[v] for v in writer.inputs)}])"]
        lines = [f"step = {step}"]
        expression = getattr(env[f"t{step}"], "expression", None)
        if expression is not None and not nan_guard:  # a view (x.T): no call of a thunk
            lines.append(f"{names[node.outputs[0]]} = {expression(*[names[v] for v in node.inputs])}")
        else:
            lines.append(f"{outs} = {call}([{args}])")
        if profile is not None:
            lines[-1:] = ["began = clock()", lines[-1], f"node_seconds[{step}] += clock() - began"]
        if nan_guard and any(o.dtype[0] in "fc" for o in node.outputs):
            lines.append(f"check_finite(nodes[{step}], ({outs}), [{args}])")
        guard = guards.get(node, [])
        dead = {}  # names freed here, by the guard under which they were made
        for v in node.inputs:
            if last_use[v] == step and v not in keep and not isinstance(v, Constant):
                made_under = tuple(g for g in guards.get(v.owner, []) if g not in guard)
                dead.setdefault(made_under, set()).add(names[v])
        for made_under, freed in sorted(dead.items(), key=lambda item: -len(item[0])):  # (conditions freed last)
            if made_under:  # (made only where a branch was taken)
                lines.append(f"if {guard_text(made_under, names)}: del {', '.join(sorted(freed))}")
            else:
                lines.append(f"del {', '.join(sorted(freed))}")
        if guard:
            lines = [f"if {guard_text(guard, names)}:"] + ["    " + line for line in lines]
        body += lines
    if not (by_shape or guards or writers or profile or nan_guard) and _one_node_of_the_inputs(
            nodes, input_vars, output_vars, env):
        return _one_node_program(env, nodes, quiet)
    lines = ["def run(values):"]
    if input_vars:
        lines.append(f"    {', '.join(names[v] for v in input_vars)}, = values")
    if by_shape:
        made = "".join(names[o] + ", " for node in by_shape for o in node.outputs)
        read = "".join(names[v] + ", " for v in shapes_read)
        key = "".join(names[v] + ".shape, " for v in shapes_read)
        lines += [f"    known = by_shape.get(({key}))",
                  "    if known is None:",
                  f"        known = shape_values({read})",
                  "        if len(by_shape) >= 64:  # shapes that change every call",
                  "            by_shape.clear()",
                  f"        by_shape[({key})] = known",
                  f"    {made}= known"]
        helper = [f"def shape_values({read}):", "    step = -1", "    try:"]
        helper += ["        " + b for b in shape_body]
        helper += ["    except Exception as exc:",
                   "        raise_in_node(exc, nodes[step], values_of(locals(), arg_names[step]))",
                   f"    return ({made})"]
        lines = helper + lines
        env["by_shape"] = {}
    if body:
        lines.append("    step = -1")
        if quiet:
            lines.append("    token = quiet_set(QUIET)")
        lines.append("    try:")
        lines += ["        " + b for b in body]
        lines.append("    except Exception as exc:")
        lines.append("        raise_in_node(exc, nodes[step], values_of(locals(), arg_names[step]))")
        if quiet:
            lines.append("    finally:")
            lines.append("        quiet_off(token)")
    lines.append(f"    return [{', '.join(names[v] for v in output_vars)}]")
    env["nodes"] = nodes
    env["arg_names"] = [[names[v] for v in node.inputs] for node in nodes]
    for v in output_vars:  # outputs that are inputs or constants need no node
        if isinstance(v, Constant):
            env[names[v]] = constant_value(v)
    exec(compile("\n".join(lines), "<symgraph program>", "exec"), env)
    return env["run"]


def errstate_quiet_on():
    """Silence NumPy's floating-point warnings until quiet_off(state): np.errstate's way."""
    state = np.errstate(all="ignore")
    state.__enter__()
    return state


def errstate_quiet_off(state):
    state.__exit__(None, None, None)


try:  # NumPy 2: what np.errstate(all="ignore") does, without building its object each call
    from numpy._core._ufunc_config import _extobj_contextvar, _make_extobj
    # (NumPy's error state object is immutable: one made here serves every call. A program
    # sets it by the context variable's own method, no Python function between: a one-node
    # function's call 0.1 us shorter, of ~1.2)
    QUIET = _make_extobj(all="ignore")
    quiet_set, quiet_off = _extobj_contextvar.set, _extobj_contextvar.reset

    def quiet_on():
        """Silence NumPy's floating-point warnings in this thread until quiet_off(token):
        0.35 us where `with np.errstate(...)` took 1.7 (the whole overhead of a call of a
        logistic regression step, its thunks aside, measured 5-10 us)."""
        return quiet_set(QUIET)
except ImportError:  # a NumPy without that private API
    QUIET = None
    quiet_on, quiet_off = errstate_quiet_on, errstate_quiet_off

    def quiet_set(quiet):
        return errstate_quiet_on()


_warned = set()


def warn_no_kernel(backend, op, consequence="running its NumPy reference"):
    """The one-time warning of a backend that runs an op's NumPy `perform` for want of a kernel."""
    name = type(op).__name__
    if (backend, name) not in _warned:
        _warned.add((backend, name))
        warnings.warn(f"{backend} backend: no kernel for {name}; {consequence}", stacklevel=3)


class NonFiniteError(FloatingPointError):
    """Raised by nan_guard mode at the first node that makes a NaN or an Inf."""


def check_finite(node, outputs, inputs):
    for k, value in enumerate(outputs):
        if isinstance(value, np.ndarray) and value.dtype.kind in "fc" and not np.isfinite(value).all():
            kind = "NaN" if np.isnan(value).any() else "Inf"
            where = np.argwhere(~np.isfinite(value))
            first = tuple(int(i) for i in where[0]) if len(where) else ()
            lines = [f"nan_guard: {node.op} produced {kind} (first at index {first}, "
                     f"{int((~np.isfinite(value)).sum())} of {value.size} elements)",
                     f"the output was created at {node.outputs[k].trace}", "its inputs:"]
            for var, val in zip(node.inputs, inputs):
                finite = "finite" if not isinstance(val, np.ndarray) or val.dtype.kind not in "fc" \
                    or np.isfinite(val).all() else "already non-finite"
                lines.append(f"  {var.describe()} ({finite})")
            raise NonFiniteError("\n".join(lines))


def from_shapes(nodes, sources=None, allowed=lambda node: True):
    """The nodes whose values follow from shapes (of `sources`, or of any variable) and
    constants alone: the batch size, 1/n, arange(n). Alloc and random draws make buffers,
    not values; `allowed(node)` leaves out more (and what depends on it)."""
    from ..ops.shape import Shape, Alloc
    from ..ops.random import RandomDraw
    found, picked = set(), []
    for node in nodes:
        if isinstance(node.op, (Alloc, RandomDraw)) or not allowed(node):
            continue
        if isinstance(node.op, Shape):
            if sources is not None and node.inputs[0] not in sources:
                continue
        elif not all(isinstance(v, Constant) or v in found for v in node.inputs):
            continue
        found.update(node.outputs)
        picked.append(node)
    return picked


def shape_arithmetic(nodes, input_vars, output_vars):
    """The nodes computed from the inputs' shapes and constants alone, and the inputs whose
    shapes they read: the executor runs them once per input shapes. Left out: values a later
    node overwrites in place or the caller receives (a kept value must stay as it was), and
    all of them when there are fewer than two (nothing to gain)."""
    from ..ops.shape import Shape
    outputs = set(output_vars)
    written = {node.inputs[k] for node in nodes for k in overwritten(node)}
    picked = from_shapes(nodes, set(input_vars),
                         lambda node: not any(o in written or o in outputs for o in node.outputs))
    read = []
    for node in picked:
        if isinstance(node.op, Shape) and all(v is not node.inputs[0] for v in read):
            read.append(node.inputs[0])
    return (picked, read) if len(picked) >= 2 else ([], [])


def input_writers(nodes, input_vars):
    """The nodes that write into an input (a shared weight's in-place update, see
    rewrite/memory.py). The program runs them after all the others (writers_last): every other
    reader then sees the input as it was, and a call that fails has written nothing. Their
    thunks may have a `check(inputs)` that raises what the node would: the program calls every
    one before the first of them runs."""
    inputs = set(input_vars)
    return [node for node in nodes if any(node.inputs[k] in inputs for k in overwritten(node))]


def writers_last(nodes, writers):
    """`nodes` (in execution order) with the writers and what reads their results (the
    memory planner allows only loops that cannot fail there: momentum's w + v) moved to the
    end, each group in its own order."""
    if not writers:
        return nodes
    after = set(writers)
    for node in nodes:
        if any(v.owner in after for v in node.inputs):
            after.add(node)
    if any(v.owner in after for w in writers for v in w.inputs):
        return nodes  # (a writer reading another's result: the planner never makes one)
    return ([node for node in nodes if node not in after] + writers
            + [node for node in nodes if node in after and node not in writers])


def overwritten(node):
    """Indices of the inputs a node writes into (its in-place target)."""
    inplace = getattr(node.op, "inplace", None)
    if inplace is True:  # IncSubtensor and Gemm: input 0
        return [0]
    return [inplace] if isinstance(inplace, int) and not isinstance(inplace, bool) else []


def _one_node_of_the_inputs(nodes, input_vars, output_vars, env):
    """Whether the program is one node's call: its inputs the program's, in order, its outputs
    the results, a thunk that is called (not a view's expression)."""
    if len(nodes) != 1 or hasattr(nodes[0].op, "branch_slots"):
        return False
    node = nodes[0]
    return (list(node.inputs) == list(input_vars) and list(node.outputs) == list(output_vars)
            and getattr(env["t0"], "expression", None) is None)


def _one_node_program(env, nodes, quiet):
    """run(values) of a program that is one node's call (_one_node_of_the_inputs): the values go
    to the thunk as they are, and the list it returns (a new one each call) is the results
    (unpacked and packed again, they cost 0.13 us of a 1 us call)."""
    call = "t0.call" if hasattr(env["t0"], "call") else "t0"
    lines = ["def run(values):"] + (["    token = quiet_set(QUIET)"] if quiet else [])
    lines += ["    try:", f"        return {call}(values)", "    except Exception as exc:",
              "        raise_in_node(exc, nodes[0], values)"]
    lines += ["    finally:", "        quiet_off(token)"] if quiet else []
    env["nodes"] = nodes
    exec(compile("\n".join(lines), "<symgraph program>", "exec"), env)
    return env["run"]


def _values_of(frame, names):
    return [frame.get(n) for n in names]


def raise_in_node(exc, node, values):
    """Re-raise `exc` with the node, its inputs' runtime shapes and their source lines."""
    lines = [f"{type(exc).__name__} in {node.op}: {exc}", "inputs:"]
    for var, val in zip(node.inputs, values):
        shape = getattr(val, "shape", None)
        lines.append(f"  {var.describe()}, runtime shape {shape}")
    lines.append(f"output created at {node.outputs[0].trace}")
    message = "\n".join(lines)
    try:
        new = type(exc)(message)
    except Exception:
        new = ValueError(message)
    if isinstance(exc, NonFiniteError):
        raise exc
    raise new from exc
