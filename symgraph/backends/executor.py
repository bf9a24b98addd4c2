"""The executor every CPU backend shares: runs one thunk per node, in order.

Everything that can be decided once is decided at compile time: storage slots, the
program (thunk, input slots, output slots), and when each intermediate can be freed.
A call only fills the input slots and walks the program. A backend supplies
`make_thunk(node) -> callable(list of input arrays) -> list of output arrays`.
"""
import numpy as np

from ..graph import Constant


class RuntimeGraphError(Exception):
    """Mixed into the original exception type so callers can still catch ValueError etc."""


def compile_program(fgraph, input_vars, output_vars, make_thunk):
    """A callable taking one value per `input_vars` and returning the values of `output_vars`."""
    slot = {v: i for i, v in enumerate(input_vars)}
    template = [None] * len(input_vars)
    for var in fgraph.variables():
        if var not in slot and isinstance(var, Constant):
            slot[var] = len(template)
            template.append(var.data)
    for node in fgraph.apply_nodes:
        for out in node.outputs:
            slot[out] = len(template)
            template.append(None)
    missing = [v for node in fgraph.apply_nodes for v in node.inputs if v not in slot]
    if missing:
        raise ValueError(f"the graph needs {missing[0].describe()}, which is not an input")
    keep = {slot[v] for v in output_vars} | set(range(len(input_vars)))
    last_use = {}
    for step, node in enumerate(fgraph.apply_nodes):
        for v in node.inputs:
            last_use[slot[v]] = step
    program = []
    for step, node in enumerate(fgraph.apply_nodes):
        ins = [slot[v] for v in node.inputs]
        frees = [i for i in set(ins) if last_use[i] == step and i not in keep
                 and not isinstance(template[i], np.ndarray)]
        program.append((make_thunk(node), node, ins, [slot[v] for v in node.outputs], frees))
    out_slots = [slot[v] for v in output_vars]
    n_in = len(input_vars)

    def run(values):
        storage = template.copy()
        storage[:n_in] = values
        with np.errstate(all="ignore"):
            for thunk, node, ins, outs, frees in program:
                try:
                    results = thunk([storage[i] for i in ins])
                except Exception as exc:
                    raise_in_node(exc, node, [storage[i] for i in ins])
                for i, r in zip(outs, results):
                    storage[i] = r
                for i in frees:
                    storage[i] = None
        return [storage[i] for i in out_slots]

    return run


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
    raise new from exc
