"""canonicalize: constant folding, merging duplicates (CSE), algebraic identities, and shapes
computed without computing the expression they describe."""
import math

import numpy as np

from ..graph import Constant
from ..ops.base import as_int_vector, constant_value
from ..ops.elemwise import Elemwise, elemwise_op
from ..ops.shape import Alloc, Shape, DimShuffle, Reshape, MakeVector, BroadcastTo, broadcast_to, reshape
from ..ops.shape_infer import broadcast_dims, dims_of, vector_entries
from ..ops.index import Subtensor, IncSubtensor, WHOLE_AXIS
from ..ops.random import RandomDraw
from ..ops.reduce import Reduce, SumToShape, _expand_back
from ..ops.loop import Map
from ..ops.scan import Scan
from .engine import Stage
from .patterns import scalar_name, args, is_constant, is_scalar_like, can_stand_for, sole_client
from .lengths import length, entry, same, scalar

canonicalize = Stage("canonicalize")
FOLD_LIMIT = 100_000  # elements; bigger results stay as the op that makes them
_UNFOLDABLE = (RandomDraw, Map)


@canonicalize.register(None)
def constant_folding(fgraph, node):
    if isinstance(node.op, _UNFOLDABLE) or not all(isinstance(v, Constant) for v in node.inputs):
        return None
    try:
        with np.errstate(all="ignore"):
            values = node.op.perform(node, [v.data for v in node.inputs])
    except Exception:
        return None  # leave the error to run time, where it names the node
    if any(np.size(v) > FOLD_LIMIT for v in values):
        return None
    return [Constant(np.asarray(v, dtype=o.dtype).reshape(np.shape(v))) for v, o in zip(values, node.outputs)]


def merge(fgraph, log):
    """Give identical computations one node: equal ops on the same inputs, equal constants."""
    while True:
        seen, constants, pairs = {}, {}, []
        for node in fgraph.apply_nodes:
            inputs = []
            for v in node.inputs:
                if isinstance(v, Constant):
                    v = constants.setdefault(v.signature(), v)
                inputs.append(v)
            for i, (old, new) in enumerate(zip(node.inputs, inputs)):
                if old is not new:
                    fgraph.set_input(node, i, new)
            key = (node.op, tuple(id(v) for v in node.inputs))
            other = seen.setdefault(key, node)
            if other is not node:
                pairs += list(zip(node.outputs, other.outputs))
                log.append(("canonicalize", "merge", str(node.op)))
        if not pairs:
            return
        for old, new in pairs:
            if old.owner is not None and fgraph.contains(old.owner):
                fgraph.replace(old, new, "merge")


def _identity(out, x):
    return x if can_stand_for(x, out) else None


@canonicalize.register(Elemwise)
def algebraic_identities(fgraph, node):
    """x*1, 1*x, x+0, 0+x, x-0, x/1, x**1, --x, where(c, x, x), where(True, x, 0): the operand itself."""
    name, out = node.op.scalar_op.name, node.outputs[0]
    ins = node.inputs
    if name in ("mul", "add"):
        unit = 1 if name == "mul" else 0
        for keep, drop in ((0, 1), (1, 0)):
            if is_constant(ins[drop], unit) and is_scalar_like(ins[drop]) and ins[drop].ndim <= ins[keep].ndim:
                return _identity(out, ins[keep])
    if name in ("sub", "true_div", "pow") and is_scalar_like(ins[1]) and ins[1].ndim <= ins[0].ndim:
        if is_constant(ins[1], 0 if name == "sub" else 1):
            return _identity(out, ins[0])
    if name == "neg" and scalar_name(ins[0]) == "neg":
        return _identity(out, args(ins[0])[0])
    if name == "where" and ins[1] is ins[2]:
        return _identity(out, ins[1])
    if name == "where" and is_scalar_like(ins[0]) and ins[0].ndim <= out.ndim:
        taken, other = (ins[1], ins[2]) if bool(ins[0].data.reshape(-1)[0]) else (ins[2], ins[1])
        if is_scalar_like(other) and other.ndim <= out.ndim:  # (so `taken` has the output's shape)
            return _identity(out, taken)
    return None


@canonicalize.register(Elemwise)
def product_with_broadcast_ones(fgraph, node):
    """broadcast_to(1, s) * x -> broadcast_to(x, the product's shape): a view, not a pass over
    memory. sg.grad of sum(y) seeds y's gradient with broadcast_to(1, y.shape), so the gradient
    of sum(u * g) with respect to u was a loop multiplying g by 1 (an upsampling's backward:
    a copy of its 25 MB gradient, before summing it)."""
    if node.op.scalar_op.name != "mul" or len(node.inputs) != 2:
        return None
    out = node.outputs[0]
    for ones, x in (node.inputs, node.inputs[::-1]):
        if ones.owner is None or not isinstance(ones.owner.op, BroadcastTo) or ones.ndim != out.ndim:
            continue
        value, target = ones.owner.inputs
        if not (is_constant(value, 1) and is_scalar_like(value)) or x.dtype != out.dtype:
            continue
        if x.ndim == out.ndim and all(same(length(x, k), entry(target, k)) for k in range(x.ndim)):
            return _identity(out, x)  # x has the shape already: no view needed
        dims = broadcast_dims([vector_entries(target, ones.ndim), dims_of(x)], out.ndim)
        return _identity(out, BroadcastTo()(x, as_int_vector(dims, "shape")))
    return None


@canonicalize.register(Elemwise)
def broadcast_left_to_the_loop(fgraph, node):
    """f(broadcast_to(y, s), x) -> f(y, x) where y and the other operands provably give the
    result every length in s: the loop broadcasts y itself. A reduction's gradient is its
    seed broadcast to the input's shape, and the broadcast kept the loops around it apart: the
    gradient of x.var() over 10^4 float32 ran 15 nodes in 26 us, the forward 8."""
    out = node.outputs[0]
    if len(node.inputs) < 2:
        return None
    for k, wide in enumerate(node.inputs):
        if wide.owner is None or not isinstance(wide.owner.op, BroadcastTo) or wide.ndim != out.ndim:
            continue
        y, target = wide.owner.inputs
        if y.ndim > out.ndim or y.dtype != wide.dtype:
            continue
        operands = node.inputs[:k] + [y] + node.inputs[k + 1:]
        if all(any(_gives_length(v, axis, out.ndim, entry(target, axis)) for v in operands) for axis in range(out.ndim)):
            return _identity(out, node.op(*operands))
    return None


def _gives_length(v, axis, ndim, wanted):
    """Whether operand v of an elementwise result of `ndim` axes provably has the length
    `wanted` along the result's `axis` (fewer axes: v's are the trailing ones, as NumPy's)."""
    own = axis - ndim + v.ndim
    return own >= 0 and same(length(v, own), wanted)


@canonicalize.register(Reduce)
def negation_out_of_a_sum(fgraph, node):
    """sum(-x) -> -sum(x), mean likewise (bit for bit: negation is exact and the sum's order
    is unchanged), so that Theano's -(-crossentropy).mean() meets --y = y: one reduction of a
    stored array, not a fused negation loop and a negation of its result."""
    x = node.inputs[0]
    if node.op.kind not in ("sum", "mean") or scalar_name(x) != "neg" or x.dtype[0] != "f":
        return None
    return _identity(node.outputs[0], elemwise_op("neg")(node.op(args(x)[0])))


@canonicalize.register(SumToShape)
def negation_out_of_a_sum_to_shape(fgraph, node):
    """SumToShape(-g, s) -> -SumToShape(g, s), as negation_out_of_a_sum, where the sum surely
    sums some axis (its type is 1 where g's is not, or has fewer axes): the gradient of x - b to
    a b of unknown shape beside x's, read as -g by it and as g by x's, had its loop write both
    (a layer norm's gradient wrote two 1000x1000 arrays where one is read). Where the sum may
    be g itself (x[:, 1:] - x[:, :-1] to its slices), -g stays its loop's second output: a
    negation after the sum was a loop of its own (1000x1000 float64 1.3 -> 2.7 ms)."""
    g, target = node.inputs
    out = node.outputs[0]
    if scalar_name(g) != "neg" or g.dtype[0] != "f":
        return None
    lead = g.ndim - out.ndim
    if lead < 0 or (lead == 0 and not any(n == 1 and m != 1 for n, m in zip(out.type.shape, g.type.shape))):
        return None
    return _identity(out, elemwise_op("neg")(SumToShape()(args(g)[0], target)))


@canonicalize.register(Reduce)
def kept_axes_from_the_dropped(fgraph, node):
    """x.mean(axis, keepdims=True) beside x.mean(axis) -> the latter with its axes put back (a
    view), so that x is read once, not twice: x.std(axis) and x.var(axis) take their mean with
    keepdims, and a z-score (x - x.mean(0)) / x.std(0) had read x for each mean."""
    op, x = node.op, node.inputs[0]
    if not op.keepdims:
        return None
    dropped = Reduce(op.kind, op.axis, False)
    for client, _ in fgraph.clients.get(x, []):
        if client != "output" and client.op == dropped and fgraph.contains(client):
            return _identity(node.outputs[0], _expand_back(client.outputs[0], x, op.axis, False))
    return None


@canonicalize.register(Elemwise)
def fold_constant_sums(fgraph, node):
    """(x + c1) + c2 -> x + (c1 + c2), and the same for products."""
    name = node.op.scalar_op.name
    if name not in ("add", "mul"):
        return None
    inner, c2 = node.inputs
    if not isinstance(c2, Constant):
        inner, c2 = c2, inner
    if not isinstance(c2, Constant) or scalar_name(inner) != name:
        return None
    x, c1 = args(inner)
    if not isinstance(c1, Constant):
        x, c1 = c1, x
    if not isinstance(c1, Constant) or isinstance(x, Constant):
        return None
    combined = Constant(np.asarray(node.op.scalar_op.impl(c1.data, c2.data)))
    result = elemwise_op(name)(x, combined)
    return result if can_stand_for(result, node.outputs[0]) else None


@canonicalize.register(DimShuffle)
def compose_dimshuffles(fgraph, node):
    """A dimshuffle of a dimshuffle is one dimshuffle; an identity pattern is nothing."""
    x, op = node.inputs[0], node.op
    if op.pattern == tuple(range(op.input_ndim)):
        return x
    inner = x.owner
    if inner is None or not isinstance(inner.op, DimShuffle):
        return None
    composed = tuple("x" if p == "x" else inner.op.pattern[p] for p in op.pattern)
    dropped_now = [p for i, p in enumerate(inner.op.pattern) if i not in op.pattern and p != "x"]
    if dropped_now:
        return None  # dropping an axis the inner shuffle kept needs its runtime length-1 check
    return DimShuffle(inner.op.input_ndim, composed)(inner.inputs[0])


@canonicalize.register(DimShuffle)
def transpose_into_elementwise(fgraph, node):
    """A permutation of an elementwise result -> the elementwise op of its permuted inputs,
    where down that chain (results read by it alone) it meets the permutation it undoes:
    channels_last layers transpose NHWC images to NCHW and back around each computation, and
    between two of them a batch normalization or an activation stood between the back and the
    forth; moved past it, the two transposes cancel (compose_dimshuffles)."""
    op, x = node.op, node.inputs[0]
    if "x" in op.pattern or sorted(op.pattern) != list(range(op.input_ndim)) \
            or not _undoes_below(fgraph, op.pattern, x, depth=8):
        return None
    permuted = [DimShuffle(v.ndim, op.pattern)(v) if v.ndim else v for v in x.owner.inputs]  # (scalars as they are)
    return _identity(node.outputs[0], x.owner.op(*permuted))


def _undoes_below(fgraph, pattern, var, depth, seen=None):
    """var is an elementwise result read only by the permutation `pattern`'s chain, and among
    its inputs (or theirs, depth levels down) is a permutation that `pattern` undoes. (seen:
    each variable looked at once, so a rule tried at every pass stays linear in the chain.)"""
    seen = set() if seen is None else seen
    if var in seen:
        return False
    seen.add(var)
    node = var.owner
    if depth == 0 or node is None or not isinstance(node.op, Elemwise) or len(node.outputs) != 1 \
            or not sole_client(fgraph, var) or any(v.ndim not in (0, var.ndim) for v in node.inputs):
        return False
    for v in node.inputs:
        inner = v.owner
        if inner is not None and isinstance(inner.op, DimShuffle) and inner.op.input_ndim == len(pattern) \
                and tuple(inner.op.pattern[p] for p in pattern) == tuple(range(len(pattern))):
            return True
        if _undoes_below(fgraph, pattern, v, depth - 1, seen):
            return True
    return False


@canonicalize.register(Reshape)
def reshape_of_reshape(fgraph, node):
    x = node.inputs[0]
    if x.owner is not None and isinstance(x.owner.op, Reshape):
        return Reshape(node.op.ndim)(x.owner.inputs[0], node.inputs[1])
    if x.type.shape == node.outputs[0].type.shape and None not in x.type.shape:
        return x
    if x.ndim == 1 and node.op.ndim == 1 and constant_value(node.inputs[1]) is not None \
            and int(constant_value(node.inputs[1])[0]) == -1:
        # A vector flattened (repeat, cumsum and outer of axis None flatten first): itself,
        # where the reshape's call had cost 0.4 us of a 3 us cumsum of 100 values.
        return x
    return None


@canonicalize.register(Reduce)
def split_folds_merged(fgraph, node):
    """sum(reshape(sum(u, A1), s), A2), where s only splits the first sum's axes (known
    lengths, one unknown one at most, carried through) -> one sum of u reshaped finer: an
    upsampling's gradient (a sum over each repeat's copies, two repeats) is one reduction, which
    specialize then writes as one fold of four slices (float32 (64, 32, 28, 28): two folds 1.39
    ms, one 0.92). Also max, min and prod; the first result read only here."""
    op, w = node.op, node.inputs[0]
    if op.kind not in ("sum", "max", "min", "prod") or op.keepdims or w.owner is None \
            or not isinstance(w.owner.op, Reshape) or not sole_client(fgraph, w):
        return None
    v = w.owner.inputs[0]
    if v.owner is None or type(v.owner.op) is not Reduce or v.owner.op.kind != op.kind \
            or v.owner.op.keepdims or not sole_client(fgraph, v):
        return None
    u, first = v.owner.inputs[0], v.owner.op
    groups = _splits(v.type.shape, w.type.shape)
    if groups is None or any(u.type.shape[d] is None for d in first.axis):
        return None
    shape, reduced, at = [], [], {}  # at: axis of w -> its axis in the finer shape
    kept = iter(groups)
    for d in range(u.ndim):
        if d in first.axis:
            reduced.append(len(shape))
            shape.append(u.type.shape[d])
            continue
        for a in next(kept):
            at[a] = len(shape)
            shape.append(w.type.shape[a])
    finer = reshape(u, tuple(-1 if n is None else n for n in shape))
    result = Reduce(op.kind, tuple(sorted(reduced + [at[a] for a in op.axis])))(finer)
    return result if can_stand_for(result, node.outputs[0]) else None


def _splits(before, after):
    """For each axis of a reshape's input (static lengths `before`) the axes of its output
    (`after`) it becomes, where the reshape only splits axes (an unknown length, at most one
    on each side, carried as it is); None otherwise."""
    if sum(n is None for n in before) > 1 or sum(n is None for n in after) > 1 \
            or math.prod(n for n in before if n is not None) != math.prod(n for n in after if n is not None):
        return None
    groups, j = [], 0
    for n in before:
        group, size = [], 1
        if n is None:
            if j >= len(after) or after[j] is not None:
                return None
            group, j = [j], j + 1
        while n is not None and j < len(after) and after[j] is not None and (size < n or not group):
            group.append(j)
            size *= after[j]
            j += 1
        if not group or (n is not None and size != n):
            return None
        groups.append(group)
    return groups if j == len(after) else None


@canonicalize.register(Shape)
def shape_without_computing(fgraph, node):
    """shape(f(x)) from the shapes of f's inputs, so f(x) itself need not run."""
    x = node.inputs[0]
    if None not in x.type.shape:
        return Constant(np.asarray(x.type.shape, dtype=np.int64).reshape(x.ndim))
    if x.owner is None:
        return None
    shapes = x.owner.op.infer_shape(x.owner, [dims_of(v) for v in x.owner.inputs])
    dims = None if shapes is None else shapes[x.index]
    if dims is None or any(d is None for d in dims):
        return None
    vec = as_int_vector(dims, "shape")
    return vec if vec.ndim == 1 else None


@canonicalize.register(MakeVector)
def whole_shape_vector(fgraph, node):
    """[shape(v)[0], ..., shape(v)[n-1]] -> shape(v)."""
    source = None
    for k, v in enumerate(node.inputs):
        o = v.owner
        if o is None or not isinstance(o.op, Subtensor) or o.op.spec != ("int",):
            return None
        if constant_value(o.inputs[1]) != k or o.inputs[0].owner is None \
                or not isinstance(o.inputs[0].owner.op, Shape):
            return None
        if source is not None and o.inputs[0] is not source:
            return None
        source = o.inputs[0]
    if source is not None and source.type.shape[0] == len(node.inputs) and source.dtype == node.outputs[0].dtype:
        return source
    return None


def _constant_entry(node, maker):
    """(the node that made vec, k) for node = vec[k], k a constant, vec made by a `maker` op."""
    vec = node.inputs[0]
    if node.op.spec != ("int",) or vec.owner is None or not isinstance(vec.owner.op, maker):
        return None
    k = constant_value(node.inputs[1])
    return None if k is None else (vec.owner, int(k))


@canonicalize.register(Subtensor)
def index_into_make_vector(fgraph, node):
    """[a, b, c][1] -> b (shape bookkeeping reads single entries of built vectors)."""
    found = _constant_entry(node, MakeVector)
    if found is None:
        return None
    entry = found[0].inputs[found[1]]
    return entry if can_stand_for(entry, node.outputs[0]) else None


@canonicalize.register(SumToShape)
def sum_to_shape_decided(fgraph, node):
    """SumToShape(g, shape) decided from the graph: g itself where g provably has that shape
    already (a gradient through x + b to x, whose shape the static type does not know), a
    plain sum where the axes to sum are known (b's gradient: a sum over the batch). It sums
    the leading axes g has beyond the target, and those where the target is 1 and g is not."""
    g, target = node.inputs
    out = node.outputs[0]
    lead = g.ndim - out.ndim
    if lead < 0:
        return None
    summed = list(range(lead))
    for k in range(out.ndim):
        want = entry(target, k)
        if (isinstance(want, int) and want != 1) or g.type.shape[lead + k] == 1:
            continue
        if want == 1:
            summed.append(lead + k)
        elif not same(length(g, lead + k), want):
            return None  # the target may be 1 where g is not: decided at run time
    if not summed:
        return _identity(out, g)
    if summed == list(range(lead)):
        return _identity(out, g.sum(axis=tuple(summed)))  # a bias's gradient: a sum over the batch
    kept = g.sum(axis=tuple(summed), keepdims=True)
    return _identity(out, DimShuffle(g.ndim, tuple(range(lead, g.ndim)))(kept))


@canonicalize.register(Elemwise)
def sum_of_sums_to_one_shape(fgraph, node):
    """SumToShape(a, s) + SumToShape(b, s) -> SumToShape(a + b, s) (and -) for a and b of the
    same lengths: the sum of the sums is the sum of the sum. A gradient brings back each use of
    x in an expression with an array of unknown relation to x (x - t, where(..., x - t, ...):
    a Huber loss's) through its own SumToShape, decided at run time; their sum then kept the
    loops apart (that gradient of 1000x1000 float32 was three loops writing five arrays)."""
    name = node.op.scalar_op.name
    if name not in ("add", "sub") or len(node.inputs) != 2:
        return None
    a, b = node.inputs
    if a.owner is None or b.owner is None or not isinstance(a.owner.op, SumToShape) \
            or not isinstance(b.owner.op, SumToShape):
        return None
    (x, s), (y, t) = a.owner.inputs, b.owner.inputs
    out = node.outputs[0]
    if x.ndim != y.ndim or x.dtype != out.dtype or y.dtype != out.dtype or a.ndim != out.ndim or b.ndim != out.ndim \
            or not sole_client(fgraph, a) or not sole_client(fgraph, b):
        return None
    if not (all(same(entry(s, k), entry(t, k)) for k in range(out.ndim))
            and all(same(length(x, k), length(y, k)) for k in range(x.ndim))):
        return None
    return _identity(out, SumToShape()(elemwise_op(name)(x, y), s))


@canonicalize.register(IncSubtensor)
def increment_by_unbroadcast_value(fgraph, node):
    """inc_subtensor(x[idx], broadcast_to(v, s)) -> inc_subtensor(x[idx], v): the increment
    broadcasts v itself (the gradient of a mean picked out of rows)."""
    y = node.inputs[1]
    if y.owner is None or not isinstance(y.owner.op, BroadcastTo):
        return None
    v = y.owner.inputs[0]
    if v.ndim > y.ndim or any(d not in (1, None) and d != e for d, e in zip(v.type.shape[::-1], y.type.shape[::-1])):
        return None
    try:
        return _identity(node.outputs[0], node.op(node.inputs[0], v, *node.inputs[2:]))
    except (ValueError, TypeError):
        return None


@canonicalize.register(Subtensor)
def trailing_whole_axes_dropped(fgraph, node):
    """x[idx, :] -> x[idx], x[1:, :] -> x[1:]: a `:` after the last index picks nothing, and
    each backend's fast paths match the shorter spec (the numba backend's row gather took
    x[idx, :] by NumPy's indexing: 1000x1000 float32, 500 rows 0.10 ms, x[idx] 0.04)."""
    spec = node.op.spec
    kept = len(spec)
    while kept > 1 and spec[kept - 1] == WHOLE_AXIS:
        kept -= 1
    if kept == len(spec):
        return None
    return _identity(node.outputs[0], Subtensor(spec[:kept])(*node.inputs))


def _whole(x, spec, args):
    """Whether x[spec with args] is all of x: slices from 0 to the axis's length or beyond, step 1."""
    if not spec or any(not isinstance(e, tuple) for e in spec):
        return False
    args = list(args)
    for axis, (_, has_start, has_stop, has_step) in enumerate(spec):
        start = args.pop(0) if has_start else None
        stop = args.pop(0) if has_stop else None
        step = args.pop(0) if has_step else None
        if (start is not None and constant_value(start) != 0) or (step is not None and constant_value(step) != 1):
            return False
        if stop is None:
            continue
        want, limit = length(x, axis), constant_value(stop)
        if not (same(scalar(stop), want) or (isinstance(want, int) and limit is not None and limit >= want)):
            return False
    return True


@canonicalize.register(Subtensor)
def whole_slices_dropped(fgraph, node):
    """x[:x.shape[0]] -> x (Theano's local_useless_slice). A scan slices each sequence to its
    number of steps, most often the sequence's own length."""
    return _identity(node.outputs[0], node.inputs[0]) if _whole(node.inputs[0], node.op.spec, node.inputs[1:]) else None


@canonicalize.register(IncSubtensor)
def whole_region_written(fgraph, node):
    """set_subtensor(x[:x.shape[0]], y) -> y broadcast to x's shape (y itself where its shape
    is x's), inc_subtensor of zeros the same, of another x: x + that. The gradient of a scan's slice of a
    sequence was a zero-filled copy of the sequence with the steps' gradients set into it (an
    RNN's step: 40 us of 1.1 ms)."""
    x, y = node.inputs[:2]
    if y.dtype != x.dtype or not _whole(x, node.op.spec, node.inputs[2:]):
        return None
    shaped = y.ndim == x.ndim and all(same(length(y, k), length(x, k)) for k in range(x.ndim))
    zeros = x.owner is not None and isinstance(x.owner.op, Alloc) and is_constant(x.owner.inputs[0], 0)
    region = y if shaped else broadcast_to(y, Shape()(x))
    return _identity(node.outputs[0], region if node.op.set_instead_of_inc or zeros else x + region)


@canonicalize.register(Elemwise)
def increment_added_into_the_other(fgraph, node):
    """inc_subtensor(zeros[idx], a) + y -> inc_subtensor(y[idx], a), y of the sum's shape: the
    region added where the other term is, not a zero-filled copy made and a full pass adding
    it. sg.grad sums what each use of x gives back, and each slice of x (x[:, 1:] - x[:, :-1],
    an unrolled loop's x[:, t]) gave a zero-filled array of x's shape: one of them grows into
    the next instead."""
    if node.op.scalar_op.name != "add" or len(node.inputs) != 2:
        return None
    out = node.outputs[0]
    for increment, other in (node.inputs, node.inputs[::-1]):
        made = increment.owner
        if made is None or not isinstance(made.op, IncSubtensor) or made.op.set_instead_of_inc:
            continue
        zeros = made.inputs[0].owner
        if zeros is None or not isinstance(zeros.op, Alloc) or not is_constant(zeros.inputs[0], 0):
            continue
        if (other.dtype != out.dtype or increment.dtype != out.dtype or other.ndim != out.ndim
                or increment.ndim != out.ndim or not sole_client(fgraph, increment)):
            continue
        if all(same(length(other, k), length(increment, k)) for k in range(out.ndim)):
            return _identity(out, IncSubtensor(made.op.spec, False)(other, *made.inputs[1:]))
    return None


@canonicalize.register(Subtensor)
def length_from_the_graph(fgraph, node):
    """v.shape[k] -> u.shape[j] where the graph shows the two are equal (the number of values
    picked by x[arange(len(y)), y] is len(y)): one shape lookup serves both after merging."""
    entry = _constant_entry(node, Shape)
    if entry is None:
        return None
    v = entry[0].inputs[0]
    found = length(v, entry[1])
    if isinstance(found, tuple) and found[0] == "shape" and found[1] is not v:
        return _identity(node.outputs[0], Shape()(found[1])[found[2]])
    return None


@canonicalize.register(Scan)
def scan_with_more_outputs_stands_for_it(fgraph, node):
    """A Scan made by a gradient to keep more of each step (ops.scan._scan_grad: `extends` the
    user's Scan, on the same inputs) gives the user's Scan's outputs too: one forward loop."""
    for client, _ in fgraph.clients.get(node.inputs[0], []):
        if client != "output" and getattr(client.op, "extends", None) is node.op and client.inputs == node.inputs:
            return client.outputs[:len(node.outputs)]
    return None
