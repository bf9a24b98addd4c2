"""Theano's nnet.neighbours: images2neibs cuts each channel of NCHW images into patches, one
row each (N * C * rows * cols, a * b: image by image, channel by channel, patch by patch, each
patch flattened row by row); neibs2images puts rows back (adding where patches overlap: the
gradient of images2neibs, as Theano's). Both are indexings, so they differentiate.

Modes, as Theano's: "valid" (the patches must tile the image exactly: (H - a) divisible by the
step; checked where the lengths are known when the graph is built, else as "ignore_borders"),
"ignore_borders" (what does not fill a patch is left out), "half" (zero padding of a // 2
each side) and "full" (a - 1 each side)."""
from .base import as_variable
from .elemwise import int_div
from .index import getitem, inc_subtensor
from .padding import pad
from .shape import arange, reshape, shape, zeros

MODES = ("valid", "ignore_borders", "half", "full")


def images2neibs(ten4, neib_shape, neib_step=None, mode="valid"):
    x = as_variable(ten4)
    if x.ndim != 4:
        raise ValueError(f"images2neibs takes NCHW images, got {x.describe()}")
    (a, b), (sa, sb) = _pair(neib_shape, "neib_shape"), _pair(neib_step or neib_shape, "neib_step")
    x = _padded(x, a, b, mode)
    rows_index, cols_index, rows, cols = _windows(x, a, b, sa, sb, mode)
    patches = getitem(x, (slice(None), slice(None), rows_index, cols_index))  # (N, C, rows, cols, a, b)
    n, c = shape(x)[0], shape(x)[1]
    return reshape(patches, [n * c * rows * cols, a * b])


def neibs2images(neibs, neib_shape, original_shape, mode="valid", neib_step=None):
    """The images of original_shape (N, C, H, W) whose patches are neibs' rows (summed where
    they overlap; zero where no patch reaches)."""
    rows_of = as_variable(neibs)
    (a, b), (sa, sb) = _pair(neib_shape, "neib_shape"), _pair(neib_step or neib_shape, "neib_step")
    n, c, h, w = (original_shape[k] for k in range(4))
    before = {"half": (a // 2, b // 2), "full": (a - 1, b - 1)}.get(mode, (0, 0))
    canvas = zeros([n, c, h + 2 * before[0], w + 2 * before[1]], dtype=rows_of.dtype)
    rows_index, cols_index, rows, cols = _windows(canvas, a, b, sa, sb, mode)
    placed = inc_subtensor(getitem(canvas, (slice(None), slice(None), rows_index, cols_index)),
                           reshape(rows_of, [n, c, rows, cols, a, b]))
    return getitem(placed, (slice(None), slice(None), slice(before[0], before[0] + h),
                            slice(before[1], before[1] + w)))


def _pair(value, what):
    pair = tuple(int(v) for v in (value if isinstance(value, (tuple, list)) else (value, value)))
    if len(pair) != 2 or min(pair) < 1:
        raise ValueError(f"images2neibs: {what} must be two positive ints, got {value!r}")
    return pair


def _padded(x, a, b, mode):
    if mode not in MODES:
        raise ValueError(f"images2neibs: mode is one of {MODES} (wrap_centered is not supported), got {mode!r}")
    widths = {"half": (a // 2, b // 2), "full": (a - 1, b - 1)}.get(mode)
    return x if widths is None else pad(x, ((0, 0), (0, 0), (widths[0],) * 2, (widths[1],) * 2))


def _windows(x, a, b, sa, sb, mode):
    """(row index (rows, 1, a, 1), column index (1, cols, 1, b), rows, cols) of the patches."""
    h, w = shape(x)[2], shape(x)[3]
    for length, k, step, axis in ((x.type.shape[2], a, sa, "rows"), (x.type.shape[3], b, sb, "columns")):
        if mode == "valid" and length is not None and (length < k or (length - k) % step):
            raise ValueError(f"images2neibs: mode 'valid' needs the patches to tile the image's {axis} exactly: "
                             f"{length} {axis}, patches of {k} every {step} ('ignore_borders' leaves the rest)")
    rows, cols = int_div(h - a, sa) + 1, int_div(w - b, sb) + 1
    rows_index = (arange(rows) * sa).dimshuffle(0, "x", "x", "x") + arange(a).dimshuffle("x", "x", 0, "x")
    cols_index = (arange(cols) * sb).dimshuffle("x", 0, "x", "x") + arange(b).dimshuffle("x", "x", "x", 0)
    return rows_index, cols_index, rows, cols
