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
        self.updated_inputs = []  # the shared variable each update output replaces (Function sets both)
        self._order = None
        self._clients = None
        self._nodes = set()

    # ---- structure -------------------------------------------------------------------
    @property
    def apply_nodes(self):
        """The nodes in execution order (each after the nodes it reads)."""
        if self._order is None:
            self._order = toposort(self.outputs + self.update_outputs, blockers=self.inputs)
        return self._order

    def toposort(self):
        """The nodes in execution order, as a list (Theano's f.maker.fgraph.toposort())."""
        return list(self.apply_nodes)

    @property
    def clients(self):
        """variable -> list of (node, input position) reading it; ("output", k) marks output k."""
        if self._clients is None:
            self._clients, self._nodes = {}, set()
            for node in self.apply_nodes:
                self._add_node(node)
            for k, v in enumerate(self.outputs + self.update_outputs):
                self._clients.setdefault(v, []).append(("output", k))
        return self._clients

    def update_target(self, var, readers=False):
        """The shared variable whose new value `var` is in the function's updates, or None;
        with readers=False also None when a node reads var (the update is its only use)."""
        clients = self.clients.get(var, [])
        outputs = [k for c, k in clients if c == "output"]
        if len(outputs) != 1 or (not readers and len(clients) != 1):
            return None
        k = outputs[0] - len(self.outputs)
        return self.updated_inputs[k] if 0 <= k < len(self.updated_inputs) else None

    def contains(self, node):
        self.clients
        return node in self._nodes

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
        """Make every reader of `old` read `new` instead (types must agree); nodes left
        without readers are dropped."""
        if old is new:
            return
        if old.dtype != new.dtype or old.ndim != new.ndim or not all(
                a is None or b is None or a == b for a, b in zip(old.type.shape, new.type.shape)):
            raise TypeError(f"rewrite {reason or ''} would change the type of {old!r} from "
                            f"{old.type} to {new.type}")
        clients = self.clients
        self._import(new)
        readers = clients.pop(old, [])
        for client, i in readers:
            if client == "output":
                n = len(self.outputs)
                if i < n:
                    self.outputs[i] = new
                else:
                    self.update_outputs[i - n] = new
            else:
                client.inputs[i] = new
        clients.setdefault(new, []).extend(readers)
        if new.name is None and old.name is not None:
            new.name = old.name
        self._order = None
        self._prune(old.owner)

    def replace_all(self, pairs, reason=None):
        for old, new in pairs:
            self.replace(old, new, reason)

    def set_input(self, node, i, new):
        """Point one input of one node at `new` (merging equal constants)."""
        old = node.inputs[i]
        self.clients[old].remove((node, i))
        if not self._clients[old]:
            del self._clients[old]
        self._import(new)
        node.inputs[i] = new
        self._clients.setdefault(new, []).append((node, i))
        self._order = None

    def changed(self):
        """Forget everything derived (after outputs were set by hand)."""
        self._order = None
        self._clients = None

    def _add_node(self, node):
        self._nodes.add(node)
        for i, v in enumerate(node.inputs):
            self._clients.setdefault(v, []).append((node, i))

    def _import(self, var):
        """Register the nodes a replacement brought in (those not in the graph yet)."""
        stack = [var]
        blockers = set(self.inputs)
        while stack:
            v = stack.pop()
            node = v.owner
            if node is None or v in blockers or node in self._nodes:
                continue
            self._add_node(node)
            stack.extend(node.inputs)

    def _prune(self, node):
        stack = [node]
        while stack:
            node = stack.pop()
            if node is None or node not in self._nodes:
                continue
            if any(self._clients.get(o) for o in node.outputs):
                continue
            self._nodes.discard(node)
            for i, v in enumerate(node.inputs):
                readers = self._clients.get(v, [])
                if (node, i) in readers:
                    readers.remove((node, i))
                if not readers:
                    self._clients.pop(v, None)
                    stack.append(v.owner)

    def __repr__(self):
        return (f"FunctionGraph({len(self.inputs)} inputs, {len(self.apply_nodes)} nodes, "
                f"{len(self.outputs)} outputs, {len(self.update_outputs)} updates)")


def _copy_output(v):
    new = Variable(v.type, name=v.name)
    new.trace, new.scope = v.trace, v.scope
    return new
