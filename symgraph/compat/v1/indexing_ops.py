"""TensorFlow 1's gathers, scatters and segment sums (tf.gather_nd, tf.scatter_nd,
tf.segment_sum, tf.unsorted_segment_sum, ...), tf.sequence_mask and the matrix functions
(tf.matrix_band_part, tf.diag, tf.trace, ...), over symgraph's take and inc_subtensor: rows of
a flattened tensor picked, or summed into (repeated indices add up, as TensorFlow's)."""
import importlib

import numpy as np

from ...ops import elemwise as E, reduce as R
from ...ops.base import as_variable
from ...ops.index import inc_subtensor
from ...ops.linalg import diag as _diag, diagonal as _diagonal
from ...ops.selection import take

S = importlib.import_module("symgraph.ops.shape")


def _row_index(indices, shape, k):
    """The flat row of each index tuple (the last axis of indices) in the first k axes."""
    flat = None
    for axis in range(k):
        term = E.cast(indices[..., axis], "int64")
        flat = term if flat is None else flat * shape[axis] + term
    return flat


def _rows(tensor, k):
    """tensor with its first k axes made one (the rows gather_nd and scatter_nd address)."""
    rest = [S.shape(tensor)[a] for a in range(k, tensor.ndim)]
    return S.reshape(tensor, [-1] + rest)


def _index_depth(indices, what):
    depth = indices.type.shape[-1] if indices.ndim else None
    if depth is None:
        raise ValueError(f"{what}: the last axis of {indices.describe()} (the index depth) must be known when the "
                         f"graph is built")
    return int(depth)


def gather_nd(params, indices, name=None, batch_dims=0):
    """params[tuple(index)] for each index along indices' last axis: indices (..., k) gives
    (...) + params.shape[k:]."""
    params, indices = as_variable(params), as_variable(indices)
    k = _index_depth(indices, "gather_nd")
    if batch_dims:
        raise NotImplementedError("gather_nd: batch_dims is not supported; put the batch index in indices")
    shape = [S.shape(params)[a] for a in range(k)]
    flat = _row_index(indices, shape, k)
    picked = take(_rows(params, k), S.reshape(flat, [-1]), axis=0)
    out_shape = [S.shape(indices)[a] for a in range(indices.ndim - 1)] + \
                [S.shape(params)[a] for a in range(k, params.ndim)]
    return S.reshape(picked, out_shape) if out_shape else S.reshape(picked, picked.shape[1:])


def scatter_nd(indices, updates, shape, name=None):
    """Zeros of `shape` with updates added at the indices (indices (..., k), updates
    (...) + shape[k:]; repeated indices add up)."""
    indices, updates = as_variable(indices), as_variable(updates)
    k = _index_depth(indices, "scatter_nd")
    shape = [shape[a] for a in range(len(shape))] if isinstance(shape, (list, tuple)) else \
        [as_variable(shape)[a] for a in range(as_variable(shape).type.shape[0])]
    flat = S.reshape(_row_index(indices, shape, k), [-1])
    rows = S.zeros([_product(shape[:k])] + list(shape[k:]), dtype=updates.dtype)
    values = S.reshape(updates, [-1] + [S.shape(updates)[a] for a in range(indices.ndim - 1, updates.ndim)])
    return S.reshape(inc_subtensor(rows[flat], values), shape)


def _product(values):
    out = 1
    for v in values:
        out = out * v
    return out


def unsorted_segment_sum(data, segment_ids, num_segments, name=None):
    """The sum of data's rows (segment_ids' shape leading data's) in each of num_segments
    segments; empty segments 0, ids outside the range dropped as TensorFlow drops negative ones."""
    data, ids = as_variable(data), E.cast(as_variable(segment_ids), "int64")
    lead = ids.ndim
    rows = S.reshape(data, [-1] + [S.shape(data)[a] for a in range(lead, data.ndim)])
    flat_ids = S.reshape(ids, [-1])
    kept = E.logical_and(E.ge(flat_ids, 0), E.lt(flat_ids, num_segments))
    # (a dropped row adds zeros to segment 0)
    weights = S.dimshuffle(E.cast(kept, data.dtype), 0, *["x"] * (data.ndim - lead))
    sums = S.zeros([num_segments] + [S.shape(data)[a] for a in range(lead, data.ndim)], dtype=data.dtype)
    return inc_subtensor(sums[E.where(kept, flat_ids, 0)], rows * weights)


def segment_sum(data, segment_ids, name=None):
    """unsorted_segment_sum over max(segment_ids) + 1 segments (ids sorted, as TensorFlow asks)."""
    ids = as_variable(segment_ids)
    return unsorted_segment_sum(data, ids, E.cast(R.max(ids), "int64") + 1)


def _counts(data, segment_ids, num_segments):
    ones = S.ones_like(as_variable(segment_ids), dtype=as_variable(data).dtype)
    return unsorted_segment_sum(ones, segment_ids, num_segments)


def unsorted_segment_mean(data, segment_ids, num_segments, name=None):
    """Each segment's mean row (0 for an empty segment)."""
    data = as_variable(data)
    sums = unsorted_segment_sum(data, segment_ids, num_segments)
    counts = _counts(data, segment_ids, num_segments)
    pattern = [0] + ["x"] * (data.ndim - as_variable(segment_ids).ndim)
    return sums / S.dimshuffle(E.maximum(counts, 1), *pattern)


def segment_mean(data, segment_ids, name=None):
    ids = as_variable(segment_ids)
    return unsorted_segment_mean(data, ids, E.cast(R.max(ids), "int64") + 1)


def sequence_mask(lengths, maxlen=None, dtype="bool", name=None):
    """mask[..., j] = j < lengths[...]: lengths' shape and one more axis of maxlen (the
    largest length without it)."""
    lengths = as_variable(lengths)
    maxlen = E.cast(R.max(lengths), "int64") if maxlen is None else maxlen
    mask = E.lt(S.arange(maxlen), S.expand_dims(lengths, -1))
    return mask if np.dtype(dtype).name == "bool" else E.cast(mask, np.dtype(dtype).name)


def matrix_band_part(input, num_lower, num_upper, name=None):
    """The band of each matrix (the last two axes): entries at most num_lower below the
    diagonal and num_upper above it kept (negative: all), the others 0."""
    x = as_variable(input)
    rows, cols = S.arange(S.shape(x)[-2]), S.arange(S.shape(x)[-1])
    below = S.expand_dims(rows, 1) - S.expand_dims(cols, 0)  # (i - j)
    keep = E.logical_and(E.logical_or(E.lt(num_lower, 0), E.le(below, num_lower)),
                         E.logical_or(E.lt(num_upper, 0), E.le(-below, num_upper)))
    return E.where(keep, x, S.zeros_like(x))


def matrix_transpose(a, name=None, conjugate=False):
    return S.swapaxes(as_variable(a), -1, -2)


def diag(diagonal, name=None):
    """A matrix with the vector on its diagonal (TensorFlow's tf.diag of a vector: sg.diag)."""
    v = as_variable(diagonal)
    if v.ndim != 1:
        raise NotImplementedError(f"diag: a vector's diagonal matrix only, got {v.describe()}")
    return _diag(v)


def diag_part(input, name=None):
    """The diagonal of a square matrix (sg.diagonal)."""
    return _diagonal(input)


def trace(x, name=None):
    """The sum of each matrix's diagonal (the last two axes; sg.trace takes one matrix)."""
    x = as_variable(x)
    return R.sum(x * S.eye(S.shape(x)[-2], S.shape(x)[-1], dtype=x.dtype), axis=(-2, -1))
