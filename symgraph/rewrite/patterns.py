"""Small helpers that make rules read like the patterns they match."""
import numpy as np

from ..graph import Constant
from ..ops.elemwise import Elemwise


def scalar_name(var):
    """'exp' for exp(x); None when var is not made by an Elemwise (or is None: no match)."""
    node = var.owner if var is not None else None
    if node is not None and isinstance(node.op, Elemwise):
        return node.op.scalar_op.name
    return None


def args(var):
    return var.owner.inputs


def constant_scalar(var):
    """The single value of a constant whose elements are all equal (None otherwise)."""
    if isinstance(var, Constant) and var.data.size >= 1:
        flat = var.data.reshape(-1)
        first = flat[0]
        if flat.size == 1 or np.all(flat == first):
            return first.item()
    return None


def is_constant(var, value):
    c = constant_scalar(var)
    return c is not None and c == value


def is_scalar_like(var):
    """A constant that broadcasts without changing any shape (size one)."""
    return isinstance(var, Constant) and var.data.size == 1


def can_stand_for(replacement, out):
    """replacement may replace `out`: same dtype and same number of dimensions."""
    return replacement.dtype == out.dtype and replacement.ndim == out.ndim


def sole_client(fgraph, var):
    """True when var feeds exactly one node and is not a graph output."""
    clients = fgraph.clients.get(var, [])
    return len(clients) == 1 and clients[0][0] != "output"
