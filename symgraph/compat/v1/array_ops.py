"""TensorFlow 1's array and math functions beyond the basic ones (tf.pad, tf.split, tf.slice,
tf.boolean_mask, tf.norm, tf.cumsum, ...), over symgraph's ops."""
import builtins
import importlib

import numpy as np

from ...ops import elemwise as E, reduce as R
from ...ops.base import as_variable
from ...ops.einsum import einsum as _einsum
from ...ops.linalg import tensordot as _tensordot
from ...ops.padding import pad as _pad
from ...ops.sorting import argsort as _argsort, sort as _sort

S = importlib.import_module("symgraph.ops.shape")  # (the package's name `shape` is the function)


def pad(tensor, paddings, mode="CONSTANT", constant_values=0, name=None):
    modes = {"CONSTANT": "constant", "REFLECT": "reflect", "SYMMETRIC": "symmetric"}
    if mode.upper() not in modes:
        raise ValueError(f"pad: mode is CONSTANT, REFLECT or SYMMETRIC, got {mode!r}")
    return _pad(tensor, [tuple(p) for p in np.asarray(paddings).tolist()], modes[mode.upper()], constant_values)


def split(value, num_or_size_splits, axis=0, num=None, name=None):
    """A list of pieces along axis: num_or_size_splits equal ones, or of those sizes (-1 once
    for the rest); lengths known when the graph is built, as TensorFlow needs them."""
    x = as_variable(value)
    n = x.type.shape[axis]
    if isinstance(num_or_size_splits, (int, np.integer)):
        if n is None or n % num_or_size_splits:
            raise ValueError(f"split: axis {axis} of {x.describe()} must be known and a multiple of "
                             f"{num_or_size_splits}")
        sizes = [n // num_or_size_splits] * num_or_size_splits
    else:
        sizes = [int(s) for s in num_or_size_splits]
        if -1 in sizes:
            if n is None:
                raise ValueError(f"split: a size of -1 needs axis {axis} of {x.describe()} known")
            sizes[sizes.index(-1)] = n - (builtins.sum(sizes) + 1)
    pieces, start = [], 0
    for size in sizes:
        index = [builtins.slice(None)] * x.ndim
        index[axis] = builtins.slice(start, start + size)
        pieces.append(x[tuple(index)])
        start += size
    return pieces


def slice(input_, begin, size, name=None):
    x = as_variable(input_)
    return x[tuple(builtins.slice(b, None if s == -1 else b + s) for b, s in zip(begin, size))]


def boolean_mask(tensor, mask, name=None, axis=None):
    """The entries (or rows, for a mask over the leading axes) where mask is true."""
    x, m = as_variable(tensor), as_variable(mask)
    if axis:
        return x[(builtins.slice(None),) * axis + (m,)]
    return x[m]


def linspace(start, stop, num, name=None, axis=0):
    start = as_variable(start)
    dtype = start.dtype if start.dtype[0] == "f" else "float32"
    steps = E.cast(S.arange(num), dtype)
    return start + steps * E.cast(stop - start, dtype) / builtins.max(int(num) - 1, 1)


def norm(tensor, ord="euclidean", axis=None, keepdims=None, name=None, keep_dims=None):
    x = as_variable(tensor)
    keep = bool(keepdims if keepdims is not None else keep_dims)
    axis = tuple(axis) if isinstance(axis, list) else axis
    if ord in ("euclidean", "fro", 2):
        return E.norm_sqrt(R.sum(x * x, axis=axis, keepdims=keep))
    if ord == 1:
        return R.sum(abs(x), axis=axis, keepdims=keep)
    if ord == np.inf:
        return R.max(abs(x), axis=axis, keepdims=keep)
    raise ValueError(f"norm: ord is 'euclidean', 1 or np.inf here, got {ord!r}")


def clip_by_norm(t, clip_norm, axes=None, name=None):
    """t scaled down where its L2 norm (over axes) is above clip_norm."""
    x = as_variable(t)
    length = E.norm_sqrt(R.sum(x * x, axis=None if axes is None else tuple(axes), keepdims=True))
    return x * clip_norm / E.maximum(length, clip_norm)


def count_nonzero(input_tensor, axis=None, keepdims=None, dtype="int64", name=None, reduction_indices=None):
    axis = reduction_indices if axis is None else axis
    counted = R.sum(E.neq(as_variable(input_tensor), 0), axis=tuple(axis) if isinstance(axis, list) else axis,
                    keepdims=bool(keepdims))
    return E.cast(counted, np.dtype(dtype).name)


def cumsum(x, axis=0, exclusive=False, reverse=False, name=None):
    return _cumulative(as_variable(x), axis, exclusive, reverse, "sum")


def cumprod(x, axis=0, exclusive=False, reverse=False, name=None):
    return _cumulative(as_variable(x), axis, exclusive, reverse, "prod")


def _cumulative(x, axis, exclusive, reverse, how):
    from ...ops.extra_ops import cumprod as running_product
    from ...ops.reduce import cumsum as running_sum
    flip = [builtins.slice(None)] * x.ndim
    flip[axis] = builtins.slice(None, None, -1)
    flip = tuple(flip)
    seq = x[flip] if reverse else x
    if exclusive:  # (shifted one along: the first entry the operation's identity)
        widths = [(0, 0)] * x.ndim
        widths[axis] = (1, 0)
        cut = [builtins.slice(None)] * x.ndim
        cut[axis] = builtins.slice(None, -1)
        seq = _pad(seq, widths, "constant", 0 if how == "sum" else 1)[tuple(cut)]
    out = running_sum(seq, axis=axis) if how == "sum" else running_product(seq, axis=axis)
    return out[flip] if reverse else out


def sort(values, axis=-1, direction="ASCENDING", name=None):
    out = _sort(values, axis)
    return out if direction == "ASCENDING" else -_sort(-as_variable(values), axis)


def argsort(values, axis=-1, direction="ASCENDING", stable=False, name=None):
    # (TensorFlow's argsort is stable whatever `stable` says: its unstable sort "is not yet implemented")
    ordered = values if direction == "ASCENDING" else -as_variable(values)
    return E.cast(_argsort(ordered, axis, kind="stable"), "int32")


def einsum(equation, *inputs, **unused):
    return _einsum(equation, *inputs)


def tensordot(a, b, axes, name=None):
    return _tensordot(a, b, axes)


def eye(num_rows, num_columns=None, batch_shape=None, dtype="float32", name=None):
    return S.eye(num_rows, num_columns, dtype=np.dtype(dtype).name)
