"""Reductions (sum, mean, prod, max, min, all, any), arg-reductions, cumulative sums,
and the statistics built from them (var, std, logsumexp)."""
import math

import numpy as np

from .base import Op, Apply, TensorType, Variable, as_variable, normalize_axis
from . import elemwise as E
from .shape import DimShuffle, shape, broadcast_to, dimshuffle, stop_gradient, reshape, static_entries

# A float32/float64 reduction's own ufunc (a mean is a sum, divided by the count).
FLOAT_UFUNC = {"sum": np.add, "prod": np.multiply, "max": np.maximum, "min": np.minimum, "mean": np.add}
_NUMPY = {"sum": np.sum, "prod": np.prod, "max": np.max, "min": np.min,
          "all": np.all, "any": np.any, "mean": np.mean}


def _reduced_shape(x, axes, keepdims):
    return tuple((1 if keepdims else None) if i in axes else s for i, s in enumerate(x.type.shape)
                 if keepdims or i not in axes)


def _expand_back(g, x, axes, keepdims):
    """Re-insert reduced axes into g (if dropped), ready to broadcast against x."""
    return g if keepdims else dimshuffle(g, _axes_put_back(x.ndim, axes))


def _axes_put_back(ndim, axes):
    """The dimshuffle pattern that puts the reduced `axes` back into a reduction of an ndim array."""
    it = iter(range(ndim - len(axes)))
    return tuple("x" if i in axes else next(it) for i in range(ndim))


class Reduce(Op):
    __props__ = ("kind", "axis", "keepdims")

    def __init__(self, kind, axis, keepdims=False):
        self.kind, self.axis, self.keepdims = kind, tuple(axis), bool(keepdims)

    def __str__(self):
        return f"{self.kind.capitalize()}{{axis={self.axis}{', keepdims' if self.keepdims else ''}}}"

    def make_node(self, x):
        x = as_variable(x)
        probe = _NUMPY[self.kind](np.ones((1,), dtype=x.dtype))
        if x.type.shape and self.kind in ("max", "min") and 0 in [x.type.shape[a] for a in self.axis]:
            raise ValueError(f"{self.kind} of an empty axis (it has no identity): {x.describe()}")
        out = Variable(TensorType(np.asarray(probe).dtype, _reduced_shape(x, self.axis, self.keepdims)))
        return Apply(self, [x], [out])

    def infer_shape(self, node, shapes):
        return [[(1 if self.keepdims else None) if i in self.axis else d
                 for i, d in enumerate(shapes[0]) if self.keepdims or i not in self.axis]]

    def perform(self, node, inputs):
        x = inputs[0]
        # The ufunc's own reduce where it is what np.sum/np.max/np.mean run: their argument
        # handling costs 2-3 us a call, several times the work on a batch of 32 (a small
        # reduction is often a training step's node: each step here is kept short).
        ufunc = FLOAT_UFUNC.get(self.kind) if x.dtype.kind == "f" and x.dtype.itemsize >= 4 else None
        if ufunc is None:
            out = _NUMPY[self.kind](x, axis=self.axis, keepdims=self.keepdims)
        else:
            out = ufunc.reduce(x, axis=self.axis, keepdims=self.keepdims)
            if self.kind == "mean":
                # np.mean divides the float32 sum by an integer in float64; a float32 division
                # rounds the same (both are correctly rounded; counts are below 2**24). The mean
                # of nothing is 0 / 0 = NaN, as NumPy's (which also warns); only that division
                # can warn, so only it pays for np.errstate (1 us, a third of a small mean).
                if x.size:
                    out = out / (x.size // out.size)
                else:
                    with np.errstate(invalid="ignore"):
                        out = out / 0
        return [np.asarray(out, dtype=node.outputs[0].type.np_dtype)]

    def grad(self, inputs, outputs, output_grads):
        x, z, g = inputs[0], outputs[0], output_grads[0]
        if x.dtype[0] not in "fc" or self.kind in ("all", "any"):
            return [None]
        g = _expand_back(g, x, self.axis, self.keepdims)
        if self.kind == "sum":
            gx = broadcast_to(g, shape(x))
        elif self.kind == "mean":
            if len(self.axis) > 1:
                count = shape(x)[list(self.axis)].prod()
            else:  # one axis (a mean over the batch): its length, not the product of a slice
                count = shape(x)[self.axis[0]] if self.axis else 1
            n = E.cast(count, x.dtype)
            gx = broadcast_to(g / n, shape(x))
        elif self.kind == "prod":
            # d prod / d x_i = product of the others, exact with zeros: with no zero it is
            # prod / x_i; with one zero only that position gets the product of the rest.
            zero = E.eq(x, 0)
            nonzero = E.where(zero, 1, x)
            rest = Reduce("prod", self.axis, True)(nonzero)
            zeros = E.cast(zero, "int64").sum(axis=self.axis, keepdims=True)
            gx = g * E.where(E.eq(zeros, 0), rest / nonzero,
                             E.where(E.logical_and(E.eq(zeros, 1), zero), rest, 0))
        else:  # max/min: tied maxima share the gradient equally
            hit = E.cast(E.eq(x, _expand_back(z, x, self.axis, self.keepdims)), x.dtype)
            gx = g * hit / hit.sum(axis=self.axis, keepdims=True)
        return [E.cast(gx, x.dtype)]


def _reduce(kind, x, axis, keepdims):
    x = as_variable(x)
    return Reduce(kind, normalize_axis(axis, x.ndim), keepdims)(x)


def sum(x, axis=None, keepdims=False, dtype=None):
    out = _reduce("sum", x, axis, keepdims)
    return out if dtype is None else E.cast(out, dtype)


def mean(x, axis=None, keepdims=False):
    return _reduce("mean", x, axis, keepdims)


def prod(x, axis=None, keepdims=False):
    return _reduce("prod", x, axis, keepdims)


def max(x, axis=None, keepdims=False):
    return _reduce("max", x, axis, keepdims)


def min(x, axis=None, keepdims=False):
    return _reduce("min", x, axis, keepdims)


def all(x, axis=None, keepdims=False):
    return _reduce("all", x, axis, keepdims)


def any(x, axis=None, keepdims=False):
    return _reduce("any", x, axis, keepdims)


class ArgReduce(Op):
    """argmax/argmin; several axes are searched as one flattened axis (Theano's behaviour)."""

    __props__ = ("kind", "axis", "keepdims")

    def __init__(self, kind, axis, keepdims=False):
        self.kind, self.axis, self.keepdims = kind, tuple(axis), bool(keepdims)

    def make_node(self, x):
        x = as_variable(x)
        return Apply(self, [x], [Variable(TensorType("int64", _reduced_shape(x, self.axis, self.keepdims)))])

    def infer_shape(self, node, shapes):
        return Reduce.infer_shape(self, node, shapes)

    def perform(self, node, inputs):
        x = inputs[0]
        fn = np.argmax if self.kind == "argmax" else np.argmin
        if len(self.axis) == 1:  # (a classifier's predictions) no transpose and reshape (3 ->
            # 1.3 us; along axis 0 of 32x10 3.7 -> 0.8), and the array's method (np.argmax's
            # dispatch took 2.6 us of 32x32 floats, the method 1.3)
            out = (x.argmax if self.kind == "argmax" else x.argmin)(axis=self.axis[0], keepdims=self.keepdims)
            return [np.asarray(out, dtype=np.int64)]
        kept = [i for i in range(x.ndim) if i not in self.axis]
        moved = np.transpose(x, kept + list(self.axis)).reshape([x.shape[i] for i in kept] + [-1])
        out = fn(moved, axis=-1)
        if self.keepdims:
            out = np.expand_dims(out, self.axis)
        return [np.asarray(out, dtype=np.int64)]

    def grad(self, inputs, outputs, output_grads):
        return [None]


def argmax(x, axis=None, keepdims=False):
    x = as_variable(x)
    return ArgReduce("argmax", normalize_axis(axis, x.ndim), keepdims)(x)


def argmin(x, axis=None, keepdims=False):
    x = as_variable(x)
    return ArgReduce("argmin", normalize_axis(axis, x.ndim), keepdims)(x)


class CumSum(Op):
    __props__ = ("axis", "reverse")

    def __init__(self, axis, reverse=False):
        self.axis, self.reverse = axis, reverse

    def make_node(self, x):
        x = as_variable(x)
        dtype = np.cumsum(np.ones(1, x.dtype)).dtype
        return Apply(self, [x], [Variable(TensorType(dtype, x.type.shape))])

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def perform(self, node, inputs):
        x = inputs[0]
        if self.reverse:
            return [np.flip(np.cumsum(np.flip(x, self.axis), axis=self.axis), self.axis)]
        return [np.cumsum(x, axis=self.axis)]

    def grad(self, inputs, outputs, output_grads):
        if inputs[0].dtype[0] not in "fc":
            return [None]
        return [CumSum(self.axis, not self.reverse)(output_grads[0])]


def cumsum(x, axis=None):
    x = as_variable(x)
    if axis is None:
        x, axis = reshape(x, [-1]), 0
    return CumSum(normalize_axis(axis, x.ndim)[0])(x)


class SumToShape(Op):
    """Sum a broadcast gradient back to the shape of the input it came from."""

    def make_node(self, g, target_shape):
        static = static_entries(target_shape, target_shape.type.shape[0])
        return Apply(self, [g, target_shape], [Variable(TensorType(g.dtype, static))])

    def infer_shape(self, node, shapes):
        from .shape_infer import vector_entries
        return [vector_entries(node.inputs[1], node.outputs[0].ndim)]

    def perform(self, node, inputs):
        g, target = inputs
        target = tuple(target.tolist())
        if g.shape == target:  # the usual case: nothing was broadcast
            return [g]
        lead = g.ndim - len(target)
        axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(target)
                                          if n == 1 and g.shape[lead + i] != 1)
        if not axes:
            return [g]
        return [np.add.reduce(g, axis=axes, keepdims=True).reshape(target)]

    def grad(self, inputs, outputs, output_grads):
        return [broadcast_to(output_grads[0], shape(inputs[0])), None]


def unbroadcast(g, like):
    """g summed over the axes along which `like` was broadcast to g's shape."""
    if g.ndim == like.ndim and None not in like.type.shape and 1 not in like.type.shape:
        return g
    return SumToShape()(g, shape(like))


def var(x, axis=None, keepdims=False, ddof=0):
    x = as_variable(x)
    axes = normalize_axis(axis, x.ndim)
    centered = x - mean(x, axes, keepdims=True)
    out = mean(centered * centered, axes, keepdims)
    if ddof:
        n = E.cast(shape(x)[list(axes)].prod(), out.dtype)
        out = out * n / (n - ddof)
    return out


def std(x, axis=None, keepdims=False, ddof=0):
    return E.norm_sqrt(var(x, axis, keepdims, ddof))  # (its gradient 0 where the deviation is 0)


class LogSumExp(Op):
    """log(sum(exp(x))) over axes, shifted by the maximum so it never overflows."""

    __props__ = ("axis", "keepdims")

    def __init__(self, axis, keepdims=False):
        self.axis, self.keepdims = tuple(axis), bool(keepdims)

    def make_node(self, x):
        x = as_variable(x)
        if x.dtype[0] != "f":
            x = E.cast(x, "float64")
        return Apply(self, [x], [Variable(TensorType(x.dtype, _reduced_shape(x, self.axis, self.keepdims)))])

    def infer_shape(self, node, shapes):
        return Reduce.infer_shape(self, node, shapes)

    def perform(self, node, inputs):
        x = inputs[0]
        m = np.max(x, axis=self.axis, keepdims=True) if x.size else np.zeros((1,) * x.ndim, x.dtype)
        m = np.where(np.isfinite(m), m, 0)
        out = np.log(np.sum(np.exp(x - m), axis=self.axis, keepdims=True)) + m
        if not self.keepdims:
            out = np.squeeze(out, axis=self.axis)
        return [np.asarray(out, dtype=x.dtype)]

    def grad(self, inputs, outputs, output_grads):
        x = inputs[0]
        z = _expand_back(outputs[0], x, self.axis, self.keepdims)
        g = _expand_back(output_grads[0], x, self.axis, self.keepdims)
        return [g * E.exp(x - z)]


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) computed stably (shifted by the maximum)."""
    x = as_variable(x)
    return LogSumExp(normalize_axis(axis, x.ndim), keepdims)(x)


def written_logsumexp(node):
    """(x, the LogSumExp op) where node is NumPy's stable logsumexp written out,
    log(sum(exp(x - m))) + m (or logsumexp(x - m) + m) with m = max(x) along those axes: what
    the op computes, shifting by the same maximum; else None. The rewriter makes it the op,
    and sg.grad takes the op's gradient for it (as written, its terms through m cancel)."""
    if not (isinstance(node.op, E.Elemwise) and node.op.scalar_op.name == "add" and len(node.inputs) == 2):
        return None
    for total, peak in (node.inputs, node.inputs[::-1]):
        found = _logsumexp_of(total)
        if found is None:
            continue
        shifted, axis, keepdims = found
        x = max_shift_undone(shifted, axis)
        if x is not None and is_max_of(peak, x, axis, keepdims):
            return x, LogSumExp(axis, keepdims)
    return None


def _logsumexp_of(v):
    """(y, axis, keepdims) where v is logsumexp(y) or log(sum(exp(y))), else None."""
    node = v.owner
    if node is None:
        return None
    if isinstance(node.op, LogSumExp):
        return node.inputs[0], node.op.axis, node.op.keepdims
    if isinstance(node.op, E.Elemwise) and node.op.scalar_op.name == "log":
        total = node.inputs[0].owner
        if total is not None and isinstance(total.op, Reduce) and total.op.kind == "sum":
            exp = total.inputs[0].owner
            if exp is not None and isinstance(exp.op, E.Elemwise) and exp.op.scalar_op.name == "exp":
                return exp.inputs[0], total.op.axis, total.op.keepdims
    return None


def max_shift_undone(shifted, axis):
    """x where `shifted` is x - max(x, axis, keepdims=True) (the stable softmax's and
    logsumexp's shift, written out), else None."""
    sub = shifted.owner
    if sub is None or not isinstance(sub.op, E.Elemwise) or sub.op.scalar_op.name != "sub":
        return None
    x, shift = sub.inputs
    return x if x.ndim == shifted.ndim and is_max_of(shift, x, axis, True) else None


def is_max_of(v, x, axis, keepdims):
    """Whether v is max(x, axis) with its axes kept (keepdims) or dropped, or the dropped
    max with those axes put back."""
    node = v.owner
    if node is None:
        return False
    if keepdims and isinstance(node.op, DimShuffle):
        return node.op.pattern == _axes_put_back(x.ndim, axis) and is_max_of(node.inputs[0], x, axis, False)
    op = node.op
    return (isinstance(op, Reduce) and op.kind == "max" and op.axis == tuple(axis) and op.keepdims == keepdims
            and node.inputs[0] is x)


def max_and_argmax(x, axis=None, keepdims=False):
    """Theano's [max(x, axis), argmax(x, axis)]."""
    return [max(x, axis=axis, keepdims=keepdims), argmax(x, axis=axis, keepdims=keepdims)]


def _pairwise(combine, args, name):
    if not args:
        raise ValueError(f"{name} needs at least one array")
    out = as_variable(args[0])
    for a in args[1:]:
        out = combine(out, a)
    return out


def largest(*args):
    """The elementwise maximum of any number of arrays (Theano's largest)."""
    return _pairwise(E.maximum, args, "largest")


def smallest(*args):
    """The elementwise minimum of any number of arrays (Theano's smallest)."""
    return _pairwise(E.minimum, args, "smallest")


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|a - b| <= atol + rtol * |b| elementwise, as NumPy's (equal infinities are close)."""
    a, b = as_variable(a), as_variable(b)
    close = E.logical_or(E.le(abs(a - b), atol + rtol * abs(b)), E.eq(a, b))
    if equal_nan:
        close = E.logical_or(close, E.logical_and(E.isnan(a), E.isnan(b)))
    return close


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether every element of a is close to b's (a boolean scalar)."""
    return all(isclose(a, b, rtol, atol, equal_nan))
