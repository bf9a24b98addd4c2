"""Symbolic output shapes: each op's `infer_shape` gets its inputs' shapes as lists of
dimensions (Python ints where known at build time, else int64 scalar variables) and returns
one such list per output. The rewriter uses them to compute `x.shape` without computing x."""
from .base import constant_value


def dims_of(var):
    """The shape of `var` as a list of ints (static) or symbolic scalars."""
    from .shape import shape
    sh = None
    out = []
    for i, s in enumerate(var.type.shape):
        if s is None:
            sh = sh if sh is not None else shape(var)
            out.append(sh[i])
        else:
            out.append(s)
    return out


def broadcast_dims(shapes, ndim):
    """Broadcast lists of dims (right-aligned): where two disagree one of them is 1."""
    from .elemwise import where, eq
    out = []
    for axis in range(ndim):
        cands = [s[axis - ndim + len(s)] for s in shapes if axis - ndim + len(s) >= 0]
        known = [c for c in cands if isinstance(c, int) and c != 1]
        if known:
            out.append(known[0])
            continue
        symbolic = [c for c in cands if not isinstance(c, int)]
        if not symbolic:
            out.append(1)
            continue
        dim = symbolic[0]
        for other in symbolic[1:]:
            dim = where(eq(dim, 1), other, dim)
        out.append(dim)
    return out


def vector_entries(vec, n):
    """The n entries of an int vector variable, as ints where constant; a vector built of
    scalars (MakeVector: reshape((x.shape[0], -1))) gives those scalars themselves."""
    value = constant_value(vec)
    if value is not None:
        return [int(v) for v in value]
    from .shape import MakeVector
    if vec.owner is not None and isinstance(vec.owner.op, MakeVector) and len(vec.owner.inputs) == n:
        entries = []
        for v in vec.owner.inputs:
            known = constant_value(v)
            entries.append(int(known) if known is not None and getattr(known, "ndim", 0) == 0 else v)
        return entries
    return [vec[i] for i in range(n)]


def is_length(var):
    """Whether var is one of an array's lengths (shape(x)[k]): never negative, so never the
    -1 of a reshape."""
    from .shape import Shape
    from .index import Subtensor
    node = var.owner
    return node is not None and isinstance(node.op, Subtensor) and node.op.spec == ("int",) \
        and node.inputs[0].owner is not None and isinstance(node.inputs[0].owner.op, Shape)


def product(dims):
    out = 1
    for d in dims:
        out = out * d
    return out
