"""pad: NumPy's np.pad in the graph (TensorFlow's tf.pad, PyTorch's F.pad by their callers):
"constant" writes x into a filled array of the padded shape; "edge", "reflect" and "symmetric"
read x at the indices each mode maps the padded positions to (one take an axis), so their
gradients are the indexing's."""
import numpy as np

from .base import as_variable
from .elemwise import abs as abs_, clip, mod, where, lt
from .index import getitem, set_subtensor
from .selection import take
from .shape import arange, full, shape

MODES = ("constant", "edge", "reflect", "symmetric")


def pad(x, pad_width, mode="constant", constant_values=0):
    """x with pad_width[axis] = (before, after) entries added along each axis (an int, or one
    pair, for every axis: NumPy's forms)."""
    x = as_variable(x)
    if mode not in MODES:
        raise ValueError(f"pad: mode is one of {MODES}, got {mode!r}")
    widths = _widths(pad_width, x.ndim)
    if mode == "constant":
        lengths = [shape(x)[a] + before + after for a, (before, after) in enumerate(widths)]
        out = full(lengths, constant_values, dtype=x.dtype)
        return set_subtensor(getitem(out, tuple(slice(before, before + shape(x)[a])
                                                for a, (before, _) in enumerate(widths))), x)
    for axis, (before, after) in enumerate(widths):
        if before or after:
            x = take(x, _source_index(shape(x)[axis], before, after, mode, x.type.shape[axis]), axis=axis)
    return x


def _widths(pad_width, ndim):
    widths = np.asarray(pad_width, dtype=object)
    if widths.ndim == 0:
        widths = np.full((ndim, 2), pad_width, dtype=object)
    elif widths.shape == (2,):
        widths = np.tile(widths, (ndim, 1))
    elif widths.shape == (1, 2):
        widths = np.tile(widths[0], (ndim, 1))
    if widths.shape != (ndim, 2):
        raise ValueError(f"pad: pad_width must be an int, a pair or {ndim} pairs, got {pad_width!r}")
    pairs = [(int(b), int(a)) for b, a in widths]
    if any(b < 0 or a < 0 for b, a in pairs):
        raise ValueError(f"pad: widths must not be negative, got {pad_width!r}")
    return pairs


def _source_index(n, before, after, mode, known):
    """The index into a length-n axis that each of the n + before + after padded positions reads."""
    if mode in ("reflect", "symmetric") and known is not None:
        least = 2 if mode == "reflect" else 1
        if known < least:
            raise ValueError(f"pad: mode {mode!r} needs an axis of length {least} or more, got {known}")
    p = arange(-before, n + after)
    if mode == "edge":
        return clip(p, 0, n - 1)
    if mode == "reflect":  # (..., 2, 1 | 0, 1, 2, ..., n-1 | n-2, ...: period 2(n - 1))
        period = 2 * (n - 1)
        m = mod(abs_(p), period)
        return where(lt(m, n), m, period - m)
    m = mod(where(lt(p, 0), -p - 1, p), 2 * n)  # symmetric: (..., 1, 0 | 0, 1, ..., n-1 | n-1, ...)
    return where(lt(m, n), m, 2 * n - 1 - m)


def window_sum(x, axis, before, after):
    """Each entry's sum with its `before` neighbours before it and `after` after it along axis,
    zeros past the ends (LRN's sum of squares across channels: Caffe's, TensorFlow's)."""
    x = as_variable(x)
    axis %= x.ndim
    widths = [(0, 0)] * x.ndim
    widths[axis] = (before, after)
    padded = pad(x, widths)
    length = shape(x)[axis]
    lead = (slice(None),) * axis
    total = None
    for start in range(before + after + 1):
        window = getitem(padded, lead + (slice(start, start + length),))
        total = window if total is None else total + window
    return total
