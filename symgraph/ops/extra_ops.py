"""Theano's extra_ops and their NumPy namesakes: cumprod, diff, bincount, to_one_hot,
fill_diagonal, searchsorted, unravel_index, ravel_multi_index, unique and specify_shape.

Those whose result is a graph of other ops (diff, to_one_hot, fill_diagonal) differentiate as
their parts do; the others are NumPy's own calls, with a gradient where one exists (cumprod's
counts zeros exactly, to any order, bincount's weights get theirs gathered back).
"""
import numpy as np

from .base import Op, Apply, TensorType, Variable, as_variable, normalize_axis, constant_value
from .index import getitem, set_subtensor
from .shape import reshape


class CumProd(Op):
    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    def make_node(self, x):
        x = as_variable(x)
        dtype = np.cumprod(np.ones(1, x.dtype)).dtype.name
        return Apply(self, [x], [Variable(TensorType(dtype, x.type.shape))])

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def perform(self, node, inputs):
        return [np.cumprod(inputs[0], axis=self.axis)]

    def grad(self, inputs, outputs, output_grads):
        """prod(x[:i]) * r_i with r_i = g_i + x_{i+1} r_{i+1} (a recurrence from the end): no
        division by x, so zeros count; a graph of ops that differentiate again."""
        x = inputs[0]
        if x.dtype[0] != "f":
            return [None]
        axis = self.axis
        before = shifted(outputs[0], axis, 1, fill=1)  # prod(x[:i]), exclusive
        rest = LinearRecurrence(axis, reverse=True)(shifted(x, axis, -1), output_grads[0])
        return [before * rest]


class LinearRecurrence(Op):
    """y_i = b_i + a_i y_{i-1} along axis (y_{-1} = 0, so a_0 is not read), or from the end with
    reverse: y_i = b_i + a_i y_{i+1} (a's last not read). Linear in b; its gradient is the same
    recurrence run the other way, so derivatives of any order stay such graphs (cumprod's)."""
    __props__ = ("axis", "reverse")

    def __init__(self, axis, reverse=False):
        self.axis, self.reverse = axis, bool(reverse)

    def make_node(self, a, b):
        a, b = as_variable(a), as_variable(b)
        dtype = np.result_type(a.dtype, b.dtype).name
        return Apply(self, [a, b], [Variable(TensorType(dtype, b.type.shape))])

    def infer_shape(self, node, shapes):
        return [shapes[1]]

    def perform(self, node, inputs):
        dtype = node.outputs[0].dtype
        a, b = (np.moveaxis(np.broadcast_to(v, inputs[1].shape), self.axis, 0) for v in inputs)
        y = np.array(b, dtype=dtype)
        steps = range(y.shape[0] - 2, -1, -1) if self.reverse else range(1, y.shape[0])
        for i in steps:
            y[i] += a[i] * y[i + 1 if self.reverse else i - 1]
        return [np.moveaxis(y, 0, self.axis)]

    def grad(self, inputs, outputs, output_grads):
        """For y = b + a shift(y): b's gradient c = g + shift'(a) c, the transposed recurrence
        (the other way, a moved by one place); a's gradient c times y one place back."""
        a, b = inputs
        y, g = outputs[0], output_grads[0]
        step = 1 if self.reverse else -1  # where y_i's own term comes from: i + 1 (reverse) or i - 1
        c = LinearRecurrence(self.axis, not self.reverse)(shifted(a, self.axis, step), g)
        ga = c * shifted(y, self.axis, -step) if a.dtype[0] == "f" else None
        return [ga, c if b.dtype[0] == "f" else None]


def shifted(x, axis, by, fill=0):
    """x moved `by` (1 or -1) places along axis, the place left empty filled: x[i - by]. (Not
    padding.pad of a slice, whose constant mode fills a whole array and writes the slice into
    it: cumprod's float64 gradient of 10^5 values 0.60 ms that way, 0.49 this one, gradients.py;
    and its edge, cut from x, keeps an empty axis empty where pad's would have length 1.)"""
    from .shape import concatenate, full_like
    x = as_variable(x)
    before = (slice(None),) * axis
    if by == 1:
        kept, edge = getitem(x, before + (slice(None, -1),)), getitem(x, before + (slice(None, 1),))
        return concatenate([full_like(edge, fill), kept], axis=axis)
    kept, edge = getitem(x, before + (slice(1, None),)), getitem(x, before + (slice(-1, None),))
    return concatenate([kept, full_like(edge, fill)], axis=axis)


def cumprod(x, axis=None):
    """Running products along axis (flattened when None), NumPy's; differentiable, zeros too."""
    x = as_variable(x)
    if axis is None:
        x, axis = reshape(x, [-1]), 0
    return CumProd(normalize_axis(axis, x.ndim)[0])(x)


def diff(x, n=1, axis=-1):
    """The n-th differences along axis, NumPy's diff: x[1:] - x[:-1], n times."""
    x = as_variable(x)
    axis = normalize_axis(axis, x.ndim, "diff's axis")[0]
    before = (slice(None),) * axis
    for _ in range(int(n)):
        x = getitem(x, before + (slice(1, None),)) - getitem(x, before + (slice(None, -1),))
    return x


class BinCount(Op):
    """How often each value of a non-negative int vector occurs (or its weights' sums)."""
    __props__ = ("minlength",)

    def __init__(self, minlength=0):
        self.minlength = int(minlength)

    def make_node(self, x, *weights):
        x = as_variable(x)
        if x.ndim != 1 or x.dtype[0] not in "iu":
            raise TypeError(f"bincount takes a vector of integers, got {x.describe()}")
        weights = [as_variable(w) for w in weights]
        if weights and (weights[0].ndim != 1 or weights[0].dtype[0] not in "fiu"):
            raise TypeError(f"bincount's weights are a vector of numbers, got {weights[0].describe()}")
        dtype = "float64" if not weights or weights[0].dtype[0] != "f" else weights[0].dtype
        return Apply(self, [x] + weights, [Variable(TensorType(dtype if weights else "int64", (None,)))])

    def perform(self, node, inputs):
        x = inputs[0]
        if x.size and x.min() < 0:
            raise ValueError(f"bincount: {node.inputs[0].describe()} holds a negative value ({x.min()})")
        if len(inputs) > 1 and inputs[1].shape != x.shape:
            raise ValueError(f"bincount: the weights' length {inputs[1].shape[0]} is not the values' {x.shape[0]}")
        out = np.bincount(x, *inputs[1:], minlength=self.minlength)
        return [out.astype(node.outputs[0].dtype, copy=False)]

    def grad(self, inputs, outputs, output_grads):
        return [None] + [getitem(output_grads[0], inputs[0])] * (len(inputs) - 1)


def bincount(x, weights=None, minlength=0):
    """NumPy's bincount: counts of 0, 1, ... max(x) in x (weights' sums when given); a negative
    value is refused when the call runs."""
    return BinCount(minlength)(x) if weights is None else BinCount(minlength)(x, weights)


def to_one_hot(y, nb_class, dtype=None):
    """Theano's to_one_hot: a row per label with a one in its column."""
    from .nn import one_hot
    return one_hot(y, nb_class, dtype)


def fill_diagonal(a, val, offset=0):
    """A copy of matrix a with its diagonal (above it for offset > 0, below for < 0) set to val
    (Theano's fill_diagonal and fill_diagonal_offset); differentiable in both."""
    from .linalg import diagonal_index
    a = as_variable(a)
    return set_subtensor(getitem(a, diagonal_index(a, offset, "fill_diagonal")), val)


def fill_diagonal_offset(a, val, offset):
    return fill_diagonal(a, val, offset)


class SearchSorted(Op):
    __props__ = ("side",)

    def __init__(self, side="left"):
        if side not in ("left", "right"):
            raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
        self.side = side

    def make_node(self, a, v):
        a, v = as_variable(a), as_variable(v)
        if a.ndim != 1:
            raise ValueError(f"searchsorted takes a sorted vector, got {a.describe()}")
        return Apply(self, [a, v], [Variable(TensorType("int64", v.type.shape))])

    def infer_shape(self, node, shapes):
        return [shapes[1]]

    def perform(self, node, inputs):
        return [np.asarray(np.searchsorted(*inputs, side=self.side), dtype="int64")]

    def grad(self, inputs, outputs, output_grads):
        return [None, None]


def searchsorted(a, v, side="left"):
    """Where v's values would go in the sorted vector a to keep it sorted (NumPy's)."""
    return SearchSorted(side)(a, v)


class UnravelIndex(Op):
    """NumPy's unravel_index, an output per dimension; dims are known when the graph is built."""
    __props__ = ("dims", "order")

    def __init__(self, dims, order="C"):
        self.dims, self.order = tuple(int(d) for d in dims), order

    def make_node(self, indices):
        indices = as_variable(indices)
        if indices.dtype[0] not in "iu":
            raise TypeError(f"unravel_index takes integer indices, got {indices.describe()}")
        return Apply(self, [indices], [Variable(TensorType("int64", indices.type.shape)) for _ in self.dims])

    def perform(self, node, inputs):
        try:
            out = np.unravel_index(inputs[0], self.dims, order=self.order)
        except ValueError as err:
            raise ValueError(f"unravel_index: {node.inputs[0].describe()}: {err}") from None
        return [np.asarray(o, dtype="int64") for o in out]

    def grad(self, inputs, outputs, output_grads):
        return [None]


class RavelMultiIndex(Op):
    """NumPy's ravel_multi_index (mode "raise": an index out of its dimension is refused)."""
    __props__ = ("dims", "order")

    def __init__(self, dims, order="C"):
        self.dims, self.order = tuple(int(d) for d in dims), order

    def make_node(self, *index):
        index = [as_variable(i) for i in index]
        if len(index) != len(self.dims) or any(i.dtype[0] not in "iu" for i in index):
            raise TypeError(f"ravel_multi_index takes {len(self.dims)} integer index arrays (one per "
                            f"dimension of {self.dims}), got " + "; ".join(i.describe() for i in index))
        from .elemwise import broadcast_static
        return Apply(self, index, [Variable(TensorType("int64", broadcast_static(index, "ravel_multi_index")))])

    def perform(self, node, inputs):
        try:
            out = np.ravel_multi_index(tuple(inputs), self.dims, order=self.order)
        except ValueError as err:
            raise ValueError(f"ravel_multi_index: {err} (dims {self.dims})") from None
        return [np.asarray(out, dtype="int64")]

    def grad(self, inputs, outputs, output_grads):
        return [None] * len(inputs)


def _static_dims(dims, what):
    values = [d if isinstance(d, (int, np.integer)) else constant_value(as_variable(d)) for d in dims]
    if any(v is None for v in values):
        raise NotImplementedError(f"{what}: dims must be known when the graph is built (ints), got {dims!r}")
    return tuple(int(v) for v in values)


def unravel_index(indices, dims, order="C"):
    """The coordinates, one array per dimension, of flat indices into an array of shape dims."""
    return tuple(UnravelIndex(_static_dims(dims, "unravel_index"), order)(indices)) if len(dims) > 1 \
        else (UnravelIndex(_static_dims(dims, "unravel_index"), order)(indices),)


def ravel_multi_index(multi_index, dims, order="C"):
    """The flat indices of coordinates (a tuple of int arrays) into an array of shape dims."""
    return RavelMultiIndex(_static_dims(dims, "ravel_multi_index"), order)(*multi_index)


class Unique(Op):
    """NumPy's unique of the flattened array (or along an axis): the sorted distinct values,
    then what was asked for of index, inverse and counts."""
    __props__ = ("return_index", "return_inverse", "return_counts", "axis")

    def __init__(self, return_index=False, return_inverse=False, return_counts=False, axis=None):
        self.return_index, self.return_inverse, self.return_counts = return_index, return_inverse, return_counts
        self.axis = axis

    def make_node(self, x):
        x = as_variable(x)
        if self.axis is None:
            values = TensorType(x.dtype, (None,))
        else:
            values = TensorType(x.dtype, tuple(None if a == self.axis else n for a, n in enumerate(x.type.shape)))
        extra = [self.return_index, self.return_inverse, self.return_counts]
        inverse = (None,) if self.axis is not None or x.ndim == 1 else x.type.shape
        outs = [Variable(values)]
        outs += [Variable(TensorType("int64", (None,) if k != 1 else inverse)) for k, asked in enumerate(extra) if asked]
        return Apply(self, [x], outs)

    def perform(self, node, inputs):
        out = np.unique(inputs[0], self.return_index, self.return_inverse, self.return_counts, self.axis)
        out = list(out) if isinstance(out, tuple) else [out]
        return [np.asarray(o, dtype=v.dtype) for o, v in zip(out, node.outputs)]

    def grad(self, inputs, outputs, output_grads):
        raise NotImplementedError("unique has no gradient (its output's length depends on the values)")


def unique(x, return_index=False, return_inverse=False, return_counts=False, axis=None):
    """NumPy's unique (NumPy 2's: the inverse has x's shape when axis is None)."""
    x = as_variable(x)
    if axis is not None:
        axis = normalize_axis(axis, x.ndim)[0]
    out = Unique(bool(return_index), bool(return_inverse), bool(return_counts), axis)(x)
    return tuple(out) if isinstance(out, list) else out


class SpecifyShape(Op):
    """x itself, its shape stated: the graph knows the lengths from here on, and a call with
    other lengths is refused naming x."""
    __props__ = ("shape",)

    def __init__(self, shape):
        self.shape = tuple(None if n is None else int(n) for n in shape)

    def make_node(self, x):
        x = as_variable(x)
        if len(self.shape) != x.ndim:
            raise ValueError(f"specify_shape: {x.describe()} has {x.ndim} dimensions, the shape given "
                             f"{self.shape} has {len(self.shape)}")
        for known, stated in zip(x.type.shape, self.shape):
            if known is not None and stated is not None and known != stated:
                raise ValueError(f"specify_shape: {x.describe()} is known to have shape {x.type.shape}, "
                                 f"not {self.shape}")
        merged = tuple(s if s is not None else k for k, s in zip(x.type.shape, self.shape))
        return Apply(self, [x], [Variable(TensorType(x.dtype, merged))])

    def perform(self, node, inputs):
        x = inputs[0]
        if len(x.shape) != len(self.shape) or any(s is not None and s != n for s, n in zip(self.shape, x.shape)):
            raise ValueError(f"specify_shape: {node.inputs[0].describe()} has shape {x.shape} in this call, "
                             f"stated {self.shape}")
        return [x]

    def infer_shape(self, node, shapes):
        from .base import Constant
        return [tuple(Constant(np.int64(s)) if s is not None else d for s, d in zip(self.shape, shapes[0]))]

    def grad(self, inputs, outputs, output_grads):
        return [output_grads[0]]


def specify_shape(x, shape):
    """x with its shape stated (None for a length left open), as Theano's and PyTensor's."""
    return SpecifyShape(tuple(shape))(x)


from .reduce import cumsum  # noqa: E402,F401  (Theano's extra_ops names, gathered: sg.extra_ops.cumsum)
from .shape import repeat, squeeze  # noqa: E402,F401
