"""Order statistics and NaN-aware reductions, NumPy's names, written as graphs of sort, gathers
and reductions (so each differentiates as its parts do): quantile, percentile, median, ptp,
nan_to_num, nansum, nanmean, nanmax, nanmin."""
import numpy as np

from .base import as_variable, normalize_axis
from . import elemwise as E
from . import reduce as R
from .index import getitem
from .shape import shape, reshape, stack, expand_dims
from .sorting import sort


def _as_float(x):
    x = as_variable(x)
    return x if x.dtype[0] == "f" else E.cast(x, "float64")  # (NumPy's statistics of integers are float64)


def quantile(x, q, axis=None, keepdims=False):
    """NumPy's quantile (its default, linear interpolation between the two nearest ranks) of the
    flattened x or along one axis; q a number or a list of them in [0, 1], known when the graph
    is built (a list's quantiles stacked along a new first axis). NaN in a slice gives NaN."""
    x = _as_float(x)
    if axis is None:
        flat = reshape(x, [-1])
        out = quantile(flat, q, 0)
        return reshape(out, np.shape(q) + (1,) * x.ndim) if keepdims else out
    axis = normalize_axis(axis, x.ndim, "quantile's axis")
    if len(axis) != 1:
        raise NotImplementedError(f"quantile: one axis (or None), got {axis}")
    axis = axis[0]
    qs = np.asarray(q, dtype="float64")
    if qs.ndim > 1 or np.any((qs < 0) | (qs > 1)) or np.any(np.isnan(qs)):
        raise ValueError(f"quantile: q must be a number or a list of numbers in [0, 1], got {q!r}")
    ordered = sort(x, axis)
    n = shape(x)[axis]
    has_nan = R.any(E.isnan(x), axis)
    results = []
    for level in np.atleast_1d(qs):
        position = E.cast(n - 1, "float64") * float(level)
        below = E.floor(position)
        low = E.cast(below, "int64")
        high = E.minimum(low + 1, n - 1)
        weight = E.cast(position - below, x.dtype)
        at = (slice(None),) * axis
        low_value, high_value = getitem(ordered, at + (low,)), getitem(ordered, at + (high,))
        value = E.where(has_nan, np.nan, low_value + (high_value - low_value) * weight)
        results.append(expand_dims(value, axis) if keepdims else value)
    return results[0] if qs.ndim == 0 else stack(results)


def percentile(x, q, axis=None, keepdims=False):
    """NumPy's percentile: quantile at q / 100."""
    return quantile(x, np.asarray(q, dtype="float64") / 100, axis, keepdims)


def median(x, axis=None, keepdims=False):
    """The median (NaN where a slice holds NaN), NumPy's."""
    return quantile(x, 0.5, axis, keepdims)


def ptp(x, axis=None, keepdims=False):
    """The range, max - min ("peak to peak"), NumPy's."""
    return R.max(x, axis, keepdims) - R.min(x, axis, keepdims)


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """x with NaN replaced by nan and infinities by posinf / neginf (the dtype's largest and
    smallest finite values by default), NumPy's; integers come back as they are."""
    x = as_variable(x)
    if x.dtype[0] != "f":
        return x
    info = np.finfo(x.dtype)
    posinf = float(info.max) if posinf is None else posinf
    neginf = float(info.min) if neginf is None else neginf
    return E.where(E.isnan(x), nan, E.where(E.eq(x, np.inf), posinf, E.where(E.eq(x, -np.inf), neginf, x)))


def nansum(x, axis=None, keepdims=False):
    """The sum with NaN counted as zero."""
    x = as_variable(x)
    return R.sum(E.where(E.isnan(x), 0, x), axis, keepdims) if x.dtype[0] == "f" else R.sum(x, axis, keepdims)


def nanmean(x, axis=None, keepdims=False):
    """The mean of the values that are not NaN (NaN where there are none)."""
    x = _as_float(x)
    count = R.sum(E.cast(E.invert(E.isnan(x)), x.dtype), axis, keepdims)
    return nansum(x, axis, keepdims) / count


def nanmax(x, axis=None, keepdims=False):
    """The largest value that is not NaN (NaN where there are none)."""
    return _nan_extreme(x, axis, keepdims, R.max, -np.inf)


def nanmin(x, axis=None, keepdims=False):
    """The smallest value that is not NaN (NaN where there are none)."""
    return _nan_extreme(x, axis, keepdims, R.min, np.inf)


def _nan_extreme(x, axis, keepdims, reduce, neutral):
    x = as_variable(x)
    if x.dtype[0] != "f":
        return reduce(x, axis, keepdims)
    missing = E.isnan(x)
    return E.where(R.all(missing, axis, keepdims), np.nan, reduce(E.where(missing, neutral, x), axis, keepdims))
