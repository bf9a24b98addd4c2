"""Theano's pool_2d over the last two axes of NCHW images, on sg.nn's pooling.

ignore_border=False (Theano 1.0's default, with its warning) keeps the last partial window
of each row and column: the images are padded on the bottom and right by what that window
lacks (-inf for max, zeros for the sums, which the averages of present values count out);
by the pooling's own padding where the height and width are known when the graph is built,
else by a block of that fill joined on, its size computed from the images' shape."""
import warnings

import numpy as np

from ..ops.base import as_variable
from ..ops.conv import _pair, avg_pool2d, max_pool2d
from ..ops.elemwise import maximum
from ..ops.shape import concatenate, full, ones, shape

MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")


def pool_2d(input, ws=None, ignore_border=None, stride=None, pad=(0, 0), mode="max", ds=None, st=None,
            padding=None):
    """Pool windows `ws` (rows, cols) of `input` (4-d, NCHW) moved by `stride` (ws by default),
    padded by `pad` (rows, cols) on each side; mode 'max', 'sum', 'average_inc_pad' (padding
    counts as zeros) or 'average_exc_pad' (the mean of the values present). ds, st, padding:
    Theano's old names of ws, stride, pad."""
    ws = _given(ws, ds, "ws", "ds")
    stride = _given(stride, st, "stride", "st")
    if padding is not None:
        pad = padding
    if ws is None:
        raise TypeError("pool_2d needs the window size ws=(rows, cols)")
    if mode not in MODES:
        raise ValueError(f"pool_2d: mode must be one of {MODES}, got {mode!r}")
    x = images = as_variable(input)
    if x.ndim != 4:
        raise ValueError(f"pool_2d needs NCHW images (4 axes), got {x.describe()}")
    ws, pad = _pair(ws, "pool_2d: ws"), _pair(pad, "pool_2d: pad")
    stride = ws if stride is None else _pair(stride, "pool_2d: stride")
    if ignore_border is None:
        warnings.warn("pool_2d: ignore_border not given; as in Theano 1.0 it is False (partial windows at the "
                      "border kept). Pass ignore_border=True for the usual pooling.", stacklevel=2)
        ignore_border = False
    fill = -np.inf if mode == "max" else 0
    if ignore_border:
        padding = ((pad[0], pad[0]), (pad[1], pad[1]))
    elif pad != (0, 0):
        raise ValueError("pool_2d: padding works only with ignore_border=True (as in Theano)")
    else:
        x, padding = _last_windows_completed(x, ws, stride, fill)
    if mode == "max":
        return max_pool2d(x, ws, stride, padding)
    area = np.asarray(ws[0] * ws[1], dtype=x.dtype)
    total = avg_pool2d(x, ws, stride, padding) * area
    if mode == "sum":
        return total
    if mode == "average_inc_pad" and ignore_border:
        return total / area
    # Divided by the values present in each window (Theano's inc_pad counts padding, and
    # without padding a partial window's own values: both are the entries not added here),
    # counted on one image of one channel: a constant the rewriter folds where the image's
    # size is known, else one small pooling a call, not one per image and channel.
    rows, cols = (n if n is not None else shape(images)[2 + k] for k, n in enumerate(images.type.shape[2:]))
    mask = ones([1, 1, rows, cols], dtype=images.dtype)
    if not ignore_border:
        mask, _ = _last_windows_completed(mask, ws, stride, 0)
    present = avg_pool2d(mask, ws, stride, padding) * area
    return total / present


def _last_windows_completed(x, ws, stride, fill):
    """(x, padding): x and the pooling's static padding, or x joined with `fill` on the bottom
    and right and no padding, so that the last partial windows are whole."""
    lengths = x.type.shape[2:]
    if None not in lengths:
        return x, tuple((0, _missing(length, w, s)) for length, w, s in zip(lengths, ws, stride))
    for axis in (2, 3):
        sizes = [shape(x)[a] for a in range(4)]
        sizes[axis] = _missing(sizes[axis], ws[axis - 2], stride[axis - 2])
        x = concatenate([x, full(sizes, fill, dtype=x.dtype)], axis=axis)
    return x, 0


def _given(new, old, name, old_name):
    if old is not None:
        if new is not None:
            raise TypeError(f"pool_2d: give {name} or its old name {old_name}, not both")
        return old
    return new


def _missing(length, w, s):
    """What the last partial window of a row or column of `length` lacks (Theano's output
    length with ignore_border=False); `length` an int or a symbolic scalar."""
    larger = maximum if hasattr(length, "owner") else max
    out = (length - 1) // s + 1 if s >= w else larger(0, (length - 1 - w + s) // s) + 1
    return larger(0, (out - 1) * s + w - length)
