"""FunctionGraph: the private copy of a user's graph that a compiled function rewrites and runs.

The user's Variables are never changed: every Apply node is copied; graph inputs (symbolic
inputs, shared variables, constants) are kept, since they hold no structure of their own.
Rewrites call `replace(old, new)`, which checks the types and keeps the client lists.
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
        self.update_outputs = []
        self._order = None
        self._clients = None

    # ---- structure -------------------------------------------------------------------
    @property
    def apply_nodes(self):
        """The nodes in execution order (each after the nodes it reads)."""
        if self._order is None:
            self._order = toposort(self.outputs + self.update_outputs, blockers=self.inputs)
        return self._order

    @property
    def clients(self):
        """variable -> list of (node, input position) reading it; 'output' marks a graph output."""
        if self._clients is None:
            clients = {}
            for node in self.apply_nodes:
                for i, v in enumerate(node.inputs):
                    clients.setdefault(v, []).append((node, i))
            for i, v in enumerate(self.outputs + self.update_outputs):
                clients.setdefault(v, []).append(("output", i))
            self._clients = clients
        return self._clients

    def variables(self):
        """Every variable the graph reads or makes, inputs first."""
        seen = dict.fromkeys(self.inputs)
        for node in self.apply_nodes:
            seen.update(dict.fromkeys(node.inputs))
            seen.update(dict.fromkeys(node.outputs))
        seen.update(dict.fromkeys(self.outputs + self.update_outputs))
        return list(seen)

    # ---- change ----------------------------------------------------------------------
    def replace(self, old, new, reason=None):
        """Make every reader of `old` read `new` instead (types must agree)."""
        if old is new:
            return
        if old.dtype != new.dtype or old.ndim != new.ndim or not all(
                a is None or b is None or a == b for a, b in zip(old.type.shape, new.type.shape)):
            raise TypeError(f"rewrite {reason or ''} would change the type of {old!r} from "
                            f"{old.type} to {new.type}")
        for client, i in self.clients.get(old, []):
            if client == "output":
                n = len(self.outputs)
                if i < n:
                    self.outputs[i] = new
                else:
                    self.update_outputs[i - n] = new
            else:
                client.inputs[i] = new
        if new.name is None and old.name is not None:
            new.name = old.name
        self.changed()

    def replace_all(self, pairs, reason=None):
        for old, new in pairs:
            self.replace(old, new, reason)

    def changed(self):
        self._order = None
        self._clients = None

    def __repr__(self):
        return (f"FunctionGraph({len(self.inputs)} inputs, {len(self.apply_nodes)} nodes, "
                f"{len(self.outputs)} outputs, {len(self.update_outputs)} updates)")


def _copy_output(v):
    new = Variable(v.type, name=v.name)
    new.trace, new.scope = v.trace, v.scope
    return new
