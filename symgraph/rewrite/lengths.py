"""Whether two arrays provably have the same length along an axis, from the graph alone.

A rule that drops a SumToShape, or sums a gradient instead of the quotient it came from,
needs to know a length it cannot see in the static shape (the batch size, an unknown number
of classes). `length(var, axis)` follows the ops that keep a shape (elementwise ops, softmax
rows, increments into an array, Alloc, BroadcastTo and SumToShape to a shape vector, products)
back to where the length comes from: a static int, or ("shape", v, k) for v.shape[k] of some v,
("value", s) for a scalar s computed in the graph, or ("broadcast", {descriptions}) for what
lengths of unknown relation broadcast to (x - y's). Equal descriptions mean equal lengths.
"""
from ..graph import Constant
from ..ops.elemwise import Elemwise
from ..ops.index import IncSubtensor, Subtensor
from ..ops.linalg import Dot, Gemm
from ..ops.nn import Softmax, LogSoftmax, CrossentropySoftmax, CrossentropySoftmaxGrad, CrossentropySoftmaxWithGrad
from ..ops.reduce import Reduce, SumToShape
from ..ops.shape import Alloc, ARange, BroadcastTo, DimShuffle, MakeVector, Shape

# Outputs shaped like input 0, or like its leading axes (a loss per row): axis k is input 0's k.
_LEADING_AXES = (IncSubtensor, Softmax, LogSoftmax, CrossentropySoftmax, CrossentropySoftmaxGrad,
                 CrossentropySoftmaxWithGrad)


def length(var, axis, depth=12):
    """A description of var.shape[axis] (axis counted from 0; negative from the end)."""
    axis %= var.ndim
    static = var.type.shape[axis]
    if static is not None:
        return static
    node = var.owner
    if node is None or depth == 0:
        return ("shape", var, axis)
    op = node.op
    if isinstance(op, _LEADING_AXES):
        return length(node.inputs[0], axis, depth - 1)
    if isinstance(op, (Alloc, BroadcastTo, SumToShape)):
        return entry(node.inputs[1], axis, depth - 1)
    if isinstance(op, Reduce):
        kept = [k for k in range(node.inputs[0].ndim) if op.keepdims or k not in op.axis]
        if kept[axis] not in op.axis:
            return length(node.inputs[0], kept[axis], depth - 1)
    if isinstance(op, DimShuffle) and op.pattern[axis] != "x":
        return length(node.inputs[0], op.pattern[axis], depth - 1)
    if isinstance(op, (Dot, Gemm)) and var.ndim == 2:
        a, b = node.inputs[-2:]
        if a.ndim == 2 and b.ndim == 2:
            return length(a, 0, depth - 1) if axis == 0 else length(b, 1, depth - 1)
    if isinstance(op, Subtensor) and all(e == "array" for e in op.spec) and var.ndim == 1:
        return _gathered(node, var, depth)
    if isinstance(op, ARange) and _is(node.inputs[0], 0) and _is(node.inputs[2], 1):
        stop = scalar(node.inputs[1], depth - 1)  # arange(0, n): n long, n a length or int >= 0
        if (isinstance(stop, int) and stop >= 0) or (isinstance(stop, tuple) and stop[0] == "shape"):
            return stop
    if isinstance(op, Elemwise):
        # The inputs that are not statically 1 along the axis decide it: the length they
        # broadcast to (one of them where they all agree).
        found = [length(v, axis - var.ndim + v.ndim, depth - 1) for v in node.inputs
                 if axis - var.ndim + v.ndim >= 0 and v.type.shape[axis - var.ndim + v.ndim] != 1]
        if found:
            return broadcast(found)
    return ("shape", var, axis)


def broadcast(found):
    """The description of the length that lengths of these descriptions broadcast to: one of
    them where all are provably the same, else ("broadcast", the set of them) (x - y of two
    arrays of unknown lengths, and each gradient of it, have the same), a static length
    where one is (the others are 1 or that length)."""
    parts = set()
    for d in found:
        if isinstance(d, int):
            if d != 1:
                return d
        elif d[0] == "broadcast":
            parts |= d[1]
        else:
            parts.add(_Key(d))
    if not parts:
        return 1
    if len(parts) == 1:
        return next(iter(parts)).description
    return ("broadcast", frozenset(parts))


class _Key:
    """A description as a set member: equal where same() says so (variables by identity)."""
    __slots__ = ("description",)

    def __init__(self, description):
        self.description = description

    def __eq__(self, other):
        return isinstance(other, _Key) and same(self.description, other.description)

    def __hash__(self):
        return hash(tuple(x if isinstance(x, (int, str)) else id(x) for x in self.description))


def _gathered(node, var, depth):
    """x[i, j] with 1-d integer arrays i, j of one provable length: that length."""
    found = None
    for index in node.inputs[1:]:
        if index.ndim != 1 or index.dtype == "bool":
            return ("shape", var, 0)
        this = length(index, 0, depth - 1)
        if found is not None and not same(found, this):
            return ("shape", var, 0)
        found = this
    return found if found is not None and node.inputs[0].ndim == len(node.op.spec) else ("shape", var, 0)


def _is(var, value):
    return isinstance(var, Constant) and var.data.size == 1 and var.data.item() == value


def entry(vec, k, depth=12):
    """A description of the k-th entry of an int shape vector."""
    if isinstance(vec, Constant):
        return int(vec.data[k])
    node = vec.owner
    if node is not None and isinstance(node.op, Shape):
        return length(node.inputs[0], k, depth - 1)
    if node is not None and isinstance(node.op, MakeVector):
        return scalar(node.inputs[k], depth - 1)
    return ("value", vec, k)


def scalar(var, depth=12):
    """A description of an int scalar: shape(v)[k] is v's length along k."""
    if isinstance(var, Constant):
        return int(var.data)
    node = var.owner
    if node is not None and isinstance(node.op, Subtensor) and node.op.spec == ("int",) \
            and isinstance(node.inputs[1], Constant):
        return entry(node.inputs[0], int(node.inputs[1].data), depth - 1)
    if node is not None and isinstance(node.op, Elemwise) and node.op.scalar_op.name == "where":
        # where(a == 1, b, a): the length two broadcast operands of lengths a and b give
        # (a gradient's shape through x / y); a itself where a and b are the same length.
        cond, b, a = node.inputs
        test = cond.owner
        if test is not None and isinstance(test.op, Elemwise) and test.op.scalar_op.name == "eq" \
                and test.inputs[0] is a and _is(test.inputs[1], 1):
            return broadcast([scalar(a, depth - 1), scalar(b, depth - 1)])
    return ("value", var)


def same(a, b):
    """Whether two descriptions are provably the same length."""
    if isinstance(a, int) or isinstance(b, int):
        return a == b
    return len(a) == len(b) and all(x == y if isinstance(x, (int, str, frozenset)) else x is y for x, y in zip(a, b))


def same_length(a, axis_a, b, axis_b):
    return same(length(a, axis_a), length(b, axis_b))
