"""Picking elements by where they are or what they hold, NumPy's and Theano's names: nonzero,
flatnonzero, nonzero_values, argwhere, take and compress. The values picked are gathers
(getitem), so they differentiate; the positions are integers."""
import numpy as np

from .base import Op, Apply, TensorType, Variable, as_variable, normalize_axis
from .index import getitem
from .shape import reshape


class NonZero(Op):
    """The positions of x's nonzero entries: a row of indices per dimension of x."""

    def make_node(self, x):
        x = as_variable(x)
        if x.ndim == 0:
            raise ValueError(f"nonzero takes an array of one or more dimensions, got {x.describe()}")
        return Apply(self, [x], [Variable(TensorType("int64", (x.ndim, None)))])

    def perform(self, node, inputs):
        return [np.array(np.nonzero(inputs[0]), dtype="int64").reshape(inputs[0].ndim, -1)]

    def grad(self, inputs, outputs, output_grads):
        return [None]


def nonzero(a, return_matrix=False):
    """The indices of a's nonzero entries: a tuple of one int vector per dimension (NumPy's), or
    Theano's return_matrix=True: them as the rows of one matrix."""
    rows = NonZero()(a)
    return rows if return_matrix else tuple(rows[k] for k in range(rows.type.shape[0]))


def flatnonzero(a):
    """The indices of the nonzero entries of a, flattened."""
    return NonZero()(reshape(a, [-1]))[0]


def nonzero_values(a):
    """a's nonzero entries, in order (Theano's), differentiable in them."""
    flat = reshape(a, [-1])
    return getitem(flat, flatnonzero(flat))


def argwhere(a):
    """NumPy's argwhere: a row of coordinates per nonzero entry of a."""
    return NonZero()(a).T


def take(a, indices, axis=None):
    """NumPy's take: a's entries at indices along axis (of the flattened array when None);
    negative indices count from the end, others out of range are refused."""
    a = as_variable(a)
    if axis is None:
        return getitem(reshape(a, [-1]), indices)
    axis = normalize_axis(axis, a.ndim)[0]
    return getitem(a, (slice(None),) * axis + (as_variable(indices),))


def compress(condition, a, axis=None):
    """NumPy's compress: the slices of a along axis where condition holds (a flattened when
    axis is None)."""
    return take(a, flatnonzero(condition), axis)
