"""FunctionGraph: the private copy of a user's graph that a compiled function optimizes and runs.

The user's Variables are never changed: every Apply node is copied; graph inputs (symbolic
inputs, shared variables, constants) are kept, since they hold no structure of their own.
"""
from ..graph import Apply, Variable, toposort


class FunctionGraph:
    def __init__(self, inputs, outputs):
        self.inputs = list(inputs)
        memo = {}
        for node in toposort(outputs, blockers=self.inputs):
            new_inputs = [memo.get(v, v) for v in node.inputs]
            new_outputs = [_copy_output(v) for v in node.outputs]
            Apply(node.op, new_inputs, new_outputs)
            memo.update(zip(node.outputs, new_outputs))
        self.outputs = [memo.get(v, v) for v in outputs]
        self.apply_nodes = toposort(self.outputs, blockers=self.inputs)

    def variables(self):
        """Every variable the graph reads or makes, inputs first."""
        seen = dict.fromkeys(self.inputs)
        for node in self.apply_nodes:
            seen.update(dict.fromkeys(node.inputs))
            seen.update(dict.fromkeys(node.outputs))
        seen.update(dict.fromkeys(self.outputs))
        return list(seen)

    def __repr__(self):
        return f"FunctionGraph({len(self.inputs)} inputs, {len(self.apply_nodes)} nodes, {len(self.outputs)} outputs)"


def _copy_output(v):
    new = Variable(v.type, name=v.name)
    new.trace, new.scope = v.trace, v.scope
    return new
