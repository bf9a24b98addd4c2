"""fuse: maximal elementwise subgraphs become one Composite loop; a reduction of a fused
loop becomes one CompositeReduce.

Groups grow from a root (the last elementwise node of a chain) towards its producers. A
producer joins when it is elementwise with the root's number of dimensions and joining
makes no cycle (no path leaves the group and comes back); a lone node that reads a constant
number is a group too (see _reads_a_number). A member read outside the group
becomes an extra output of the Composite, so nothing is computed twice; it may only do so
when it has the root's shape (it reads every input of the group, or the graph shows its
lengths are the root's), so that all outputs share one loop shape.

Before groups grow, a cheap node of one array (1 - y, -y, a cast) read by several elementwise
nodes gets a copy for each reader (_copy_for_each_reader): each loop recomputes it in a
register instead of reading an array one node wrote.
"""
from collections import defaultdict

from ..graph import Constant, ancestors
from ..ops.elemwise import Elemwise
from ..ops.composite import Composite, CompositeReduce, output_alone
from ..ops.reduce import Reduce
from .lengths import same_length

_REDUCIBLE = ("sum", "prod", "max", "min", "mean", "any", "all")


def fuse(fgraph, log):
    _copy_for_each_reader(fgraph, log)
    order = fgraph.apply_nodes
    position = {node: i for i, node in enumerate(order)}
    ancestors = _ancestor_bits(order, position)
    clients = fgraph.clients
    taken, groups, group_of = set(), [], {}
    for root in reversed(order):
        if not _fusable(root) or root in taken:
            continue
        sibling = _attachable(root, groups, group_of, ancestors, position)
        if sibling is not None:
            groups[sibling][1].add(root)
            taken.add(root)
            group_of[root] = sibling
            continue
        group = _grow(root, clients, ancestors, position, taken)
        if len(group) > 1 or _reads_a_number(root):
            taken |= group
            for m in group:
                group_of[m] = len(groups)
            groups.append((root, group))
    groups = _break_cycles(order, groups)
    for root, group in groups:
        _replace_group(fgraph, root, group, position, log)
    _fuse_reductions(fgraph, log)
    _folds_read_through(fgraph, log)


# Scalar ops of one instruction or so: recomputed in each reader's loop for less than reading
# their array back. (Casts are named cast_<dtype>.)
_CHEAP = frozenset(["neg", "add", "sub", "mul", "abs", "square", "relu", "maximum", "minimum"])


def _copy_for_each_reader(fgraph, log):
    """A cheap elementwise node of one array and constant numbers (1 - y, -y: the two sides
    of a binary crossentropy written out, Theano's tutorial's) read only by elementwise nodes
    of its number of dimensions, two or more: each reader but the first gets a copy (one for
    all its inputs reading the node), which its loop then takes in. Fused apart, the node was
    a loop of its own whose array each reader read back (in that tutorial's step over 256x784
    float32, -y and 1 - y were two such nodes of ~1 us each, its forward and gradient loops
    fused apart by SumToShape)."""
    for node in list(fgraph.apply_nodes):
        if not _fusable(node) or not _cheap(node):
            continue
        out = node.outputs[0]
        readers = list(fgraph.clients.get(out, []))
        by_reader = list(dict.fromkeys(c for c, _ in readers))  # ((1 - y) * (1 - y): one reader)
        if len(by_reader) < 2 or not all(c != "output" and _fusable(c) and c.outputs[0].ndim == out.ndim
                                         for c in by_reader):
            continue
        for reader in by_reader[1:]:
            copy = node.op.make_node(*node.inputs).outputs[0]
            copy.name, copy.trace, copy.scope = out.name, out.trace, out.scope
            for client, i in readers:
                if client is reader:
                    fgraph.set_input(reader, i, copy)
        log.append(("fuse", "copy_for_each_reader", str(node.op)))


def _cheap(node):
    """One of _CHEAP's ops (or a cast) of one array of its shape, with constant numbers or
    arrays broadcast along some axis (a row: x - x.mean(axis=0, keepdims=True)), that no
    elementwise node makes: such a node of exp(x) (exp(x) * 2 read twice) joins exp(x)'s loop,
    an extra output of it. Each reader of a copy reads that one array where it read the
    node's: a batch norm's x - mean, squared for its variance and divided by the deviation,
    had been a loop writing it and its square (256x128 float64 47 -> 30 us the normalization)."""
    name = node.op.scalar_op.name
    out = node.outputs[0]
    arrays = [v for v in node.inputs if not (isinstance(v, Constant) and v.data.size == 1 and v.ndim == 0)]
    full = [v for v in arrays if not _broadcast_within(v, out)]
    if len(full) != 1 or not (name in _CHEAP or name.startswith("cast_")):
        return False
    rows = [v for v in arrays if v is not full[0]]
    # (The full array may come from a loop where a row is computed from it: a batch norm's
    # x - mean(x) of x = conv + bias cannot join the loop its mean waits for.)
    return all(v.owner is None or not _fusable(v.owner) for v in rows) and (
        full[0].owner is None or not _fusable(full[0].owner) or full[0] in ancestors(rows))


def _broadcast_within(v, out):
    """Whether v has length 1 along an axis where out may be longer (a row of a matrix)."""
    return v.ndim == out.ndim and any(n == 1 and m != 1 for n, m in zip(v.type.shape, out.type.shape))


def _attachable(node, groups, group_of, ancestors, position):
    """A group this node can join as one more output: it reads only that group's members,
    its inputs and small constants, and everything the group reads (one loop shape)."""
    owners = {group_of.get(v.owner) for v in node.inputs if v.owner in group_of}
    if len(owners) != 1:
        return None
    gi = owners.pop()
    root, group = groups[gi]
    if node.outputs[0].ndim != root.outputs[0].ndim:
        return None
    inputs_of = _input_sets(root, group)
    group_inputs = set().union(*inputs_of.values())
    reads = set()
    for v in node.inputs:
        if v.owner in group:
            reads |= inputs_of[v.owner]
        elif isinstance(v, Constant) and v.data.size == 1:
            continue
        elif v in group_inputs:
            reads.add(v)
        else:
            return None
    return gi if reads == inputs_of[root] else None


def _reads_a_number(node):
    """A lone node reading a constant number (x * 2, 1 - x) becomes a one-node Composite with
    the number in its program: its loop then gets arrays of the output's shape only, the
    kernels' fast path (x * 2 on 1000 floats: 4.2 -> 1.8 us a call, as x * 2 + 1 took)."""
    return any(isinstance(v, Constant) and v.data.size == 1 and v.ndim == 0 for v in node.inputs)


def _fusable(node):
    return isinstance(node.op, Elemwise) and len(node.outputs) == 1


def _ancestor_bits(order, position):
    """node -> int bitmask of every node it depends on."""
    bits = {}
    for node in order:
        mask = 0
        for v in node.inputs:
            if v.owner is not None and v.owner in bits:
                mask |= bits[v.owner] | (1 << position[v.owner])
        bits[node] = mask
    return bits


def _grow(root, clients, ancestors, position, taken):
    group, frontier = {root}, [root]
    ndim = root.outputs[0].ndim
    while frontier:
        member = frontier.pop()
        for v in member.inputs:
            producer = v.owner
            if producer is None or producer in group or producer in taken or not _fusable(producer):
                continue
            if producer.outputs[0].ndim != ndim:
                continue
            outside = [c for c, _ in clients.get(producer.outputs[0], []) if c != "output" and c not in group]
            group_anc = 0
            for m in group:
                group_anc |= ancestors[m]
            if any(group_anc >> position[c] & 1 for c in outside):
                continue  # a path leaves the group through `c` and comes back: a cycle
            group.add(producer)
            frontier.append(producer)
    return _drop_partial_outputs(root, group, clients)


def _drop_partial_outputs(root, group, clients):
    """Members read outside the group must have the root's shape, all outputs being computed
    over one loop: known when they read all the group's inputs, or from the graph (lengths.py:
    Adam's new moments and weight, each an update, all of the weight's shape)."""
    while True:
        inputs_of = _input_sets(root, group)
        full = inputs_of[root]
        bad = {m for m in group if m is not root and _read_outside(m, group, clients) and inputs_of[m] != full
               and not _same_shape(m.outputs[0], root.outputs[0])}
        if not bad:
            return group
        group = _reachable_from(root, group - bad)


def _same_shape(a, b):
    return a.ndim == b.ndim and all(same_length(a, k, b, k) for k in range(a.ndim))


def _read_outside(member, group, clients):
    return any(c == "output" or c not in group for c, _ in clients.get(member.outputs[0], []))


def _input_sets(root, group):
    sets = {}

    def visit(node):
        if node in sets:
            return sets[node]
        acc = set()
        for v in node.inputs:
            if v.owner in group:
                acc |= visit(v.owner)
            elif not (isinstance(v, Constant) and v.data.size == 1):
                acc.add(v)
        sets[node] = acc
        return acc
    for m in group:
        visit(m)
    return sets


def _reachable_from(root, members):
    keep, stack = {root}, [root]
    while stack:
        for v in stack.pop().inputs:
            if v.owner in members and v.owner not in keep:
                keep.add(v.owner)
                stack.append(v.owner)
    return keep


def _break_cycles(order, groups):
    """Two groups can still depend on each other both ways; drop the largest group caught in
    a cycle until the contracted graph is acyclic (Kahn's algorithm: plain Python, because
    importing networkx for this cost 0.15 s at the first compile)."""
    while True:
        owner = {node: gi for gi, (_, group) in enumerate(groups) for node in group}
        successors, indegree = defaultdict(set), defaultdict(int)
        for node in order:
            a = owner.get(node, node)
            indegree.setdefault(a, 0)
            for v in node.inputs:
                if v.owner is not None:
                    b = owner.get(v.owner, v.owner)
                    if a != b and a not in successors[b]:
                        successors[b].add(a)
                        indegree[a] += 1
        ready = [n for n, d in indegree.items() if d == 0]
        while ready:
            for m in successors[ready.pop()]:
                indegree[m] -= 1
                if indegree[m] == 0:
                    ready.append(m)
        stuck = [n for n, d in indegree.items() if d > 0 and isinstance(n, int)]
        if not stuck:
            return groups
        drop = max(stuck, key=lambda gi: len(groups[gi][1]))
        groups = groups[:drop] + groups[drop + 1:]


def _replace_group(fgraph, root, group, position, log):
    members = sorted(group, key=position.get)
    inputs, index, program, step_of, steps = [], {}, [], {}, {}
    for node in members:
        refs = []
        for v in node.inputs:
            if v.owner in group:
                refs.append(("tmp", step_of[v.owner]))
            elif isinstance(v, Constant) and v.data.size == 1 and v.ndim == 0:
                refs.append(("const", v.data.item(), v.dtype))
            else:
                if v not in index:
                    index[v] = len(inputs)
                    inputs.append(v)
                refs.append(("in", index[v]))
        step = (node.op.scalar_op, tuple(refs), node.outputs[0].dtype)
        if step in steps:  # (copies one loop took in twice: _copy_for_each_reader)
            step_of[node] = steps[step]
            continue
        step_of[node] = steps[step] = len(program)
        program.append(step)
    clients = fgraph.clients
    extra = [m for m in members if m is not root and _read_outside(m, group, clients)]
    out_nodes = [root] + extra
    op = Composite(program, [step_of[n] for n in out_nodes], len(inputs))
    new = op.make_node(*inputs).outputs
    for old_node, new_var in zip(out_nodes, new):
        old = old_node.outputs[0]
        new_var.name, new_var.trace, new_var.scope = old.name, old.trace, old.scope
        if new_var.type.shape != old.type.shape:
            new_var.type = old.type  # the members' own inference is at least as specific
        fgraph.replace(old, new_var, "fuse")
    log.append(("fuse", "fuse_elemwise", str(op)))


def _fuse_reductions(fgraph, log):
    """sum/prod/max/min/mean of a fused loop read by nothing else -> one CompositeReduce."""
    for node in list(fgraph.apply_nodes):
        if not isinstance(node.op, Reduce) or node.op.kind not in _REDUCIBLE:
            continue
        x = node.inputs[0]
        producer = x.owner
        clients = fgraph.clients.get(x, [])
        if producer is None or len(clients) != 1 or clients[0][0] == "output":
            continue
        if isinstance(producer.op, Composite) and len(producer.outputs) == 1:
            composite, inputs = producer.op, producer.inputs
        elif _fusable(producer):
            # One loop input per distinct variable: (x * x).mean() reads x once, a one-input
            # reduction (the numba backend's common call: ReduceThunk._write_whole_call).
            inputs = list(dict.fromkeys(producer.inputs))
            composite = Composite([(producer.op.scalar_op, tuple(("in", inputs.index(v)) for v in producer.inputs),
                                    x.dtype)], [0], len(inputs))
        else:
            continue
        op = CompositeReduce(composite, node.op.kind, node.op.axis, node.op.keepdims)
        new = op.make_node(*inputs).outputs[0]
        old = node.outputs[0]
        if new.dtype != old.dtype:
            continue
        new.name, new.trace, new.scope = old.name, old.trace, old.scope
        fgraph.replace(old, new, "fuse_reduction")
        log.append(("fuse", "fuse_reduction", str(op)))


def _folds_read_through(fgraph, log):
    """A loop of several outputs each read by folds alone (a mean squared error and a mean
    absolute one of p - y; a mean of (x - m) ** 2 beside a max of |x - m|): each fold computes
    what it reads itself, and the loop, which wrote an array per output, goes. The folds then
    read the loop's inputs (the numba backend runs folds of the same arrays over the same axes,
    all of them or each row's, as one loop: numba_siblings)."""
    for node in list(fgraph.apply_nodes):
        if not isinstance(node.op, Composite) or len(node.outputs) < 2:  # (only folds are replaced below)
            continue
        readers = [reader for out in node.outputs for reader, _ in fgraph.clients.get(out, [])]
        if not readers or not all(_folds(reader) for reader in readers):
            continue
        for reader in dict.fromkeys(readers):
            composite, inputs = _read_through(node, reader)
            op = CompositeReduce(composite, reader.op.kind, reader.op.axis, reader.op.keepdims)
            new, old = op.make_node(*inputs).outputs[0], reader.outputs[0]
            if new.dtype != old.dtype:  # (as _fuse_reductions: the loop stays for this one)
                continue
            new.name, new.trace, new.scope = old.name, old.trace, old.scope
            if new.type.shape != old.type.shape:
                new.type = old.type
            fgraph.replace(old, new, "fold_read_through")
            log.append(("fuse", "fold_read_through", str(op)))


def _folds(reader):
    """Whether a reader of a loop's output is a fold of it (alone, or of a loop of its own)."""
    return reader != "output" and (isinstance(reader.op, CompositeReduce) or (
        isinstance(reader.op, Reduce) and reader.op.kind in _REDUCIBLE))


def _read_through(loop, reader):
    """(the composite, its inputs) computing what `reader` folds from `loop`'s inputs: the
    loop's steps, then the reader's own (a Reduce's: its input), those reading one of the
    loop's outputs reading that step; pruned to the steps and inputs it needs."""
    inputs, program = list(loop.inputs), list(loop.op.program)
    own = reader.op.composite if isinstance(reader.op, CompositeReduce) else None

    def reads(v):  # the reference to v, a loop's output (its step) or an input
        if v.owner is loop:
            return ("tmp", loop.op.outputs[loop.outputs.index(v)])
        if v not in inputs:
            inputs.append(v)
        return ("in", inputs.index(v))
    if own is None:  # (a Reduce folds the output itself)
        last = reads(reader.inputs[0])[1]
    else:
        refs = [reads(v) for v in reader.inputs]
        offset = len(program)
        for sop, step_refs, dtype in own.program:
            program.append((sop, tuple(refs[r[1]] if r[0] == "in" else ("tmp", r[1] + offset) if r[0] == "tmp" else r
                                       for r in step_refs), dtype))
        last = own.outputs[0] + offset
    composite, used = output_alone(Composite(program, [last], len(inputs)), 0)
    return composite, [inputs[i] for i in used]
