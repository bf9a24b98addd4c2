"""Which nodes the executor runs only when a branch of an ifelse is taken (Theano's lazy ifelse).

An op with `branch_slots()` (IfElse: the input slots of its then-values and of its else-values;
input 0 is the condition) needs only one side's values. A node whose every output goes only to
one side of such an op (directly, or through other nodes that do), and to nothing else (no
other node, no output of the function), is needed only when that side is taken: its guard is
(condition, side). The executor runs it under `if` (nested ifelses: a conjunction of guards),
where it stands after the condition in the program's order; one standing before is computed
anyway (the order is never changed, so nothing in place is read after its write).
"""
from collections import defaultdict


def branch_guards(nodes, keep, eager=()):
    """{node: [(condition variable, side)]} for the nodes to run under guards; `keep` (the
    function's inputs and outputs) and `eager` (nodes that run anyway: shape arithmetic,
    writers into inputs) are never guarded, nor what they read."""
    choosers = [node for node in nodes if hasattr(node.op, "branch_slots")]
    if not choosers:
        return {}
    position = {node: k for k, node in enumerate(nodes)}
    made_at = {out: k for k, node in enumerate(nodes) for out in node.outputs}
    clients = defaultdict(list)
    for node in nodes:
        for slot, v in enumerate(node.inputs):
            clients[v].append((node, slot))
    eager = set(eager)
    guards = defaultdict(list)
    for chooser in choosers:
        condition = chooser.inputs[0]
        decided_at = made_at.get(condition, -1)
        for side, slots in zip((True, False), chooser.op.branch_slots()):
            slots = set(slots)
            only_this_side = set()
            for node in reversed(nodes[:position[chooser]]):
                if node not in eager and _feeds_only(node, chooser, slots, only_this_side, clients, keep):
                    only_this_side.add(node)
            for node in only_this_side:
                if position[node] > decided_at:
                    guards[node].append((condition, side))
    # A condition made under a guard comes after that guard's: tested after it, it exists.
    return {node: sorted(guard, key=lambda g: made_at.get(g[0], -1)) for node, guard in guards.items()}


def _feeds_only(node, chooser, slots, only_this_side, clients, keep):
    """Whether node's outputs go to that side of chooser, directly or through only_this_side."""
    used = False
    for out in node.outputs:
        if out in keep:
            return False
        for client, slot in clients[out]:
            if not ((client is chooser and slot in slots) or client in only_this_side):
                return False
            used = True
    return used


def guard_text(guard, names):
    """The Python condition of a guard: each (condition, side) in turn."""
    return " and ".join(f"{names[c]}" if side else f"not {names[c]}" for c, side in guard)
