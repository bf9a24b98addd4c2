"""Resampling (N, C, H, W) images in the graph, as TensorFlow's image ops do for Keras's
preprocessing layers: resize (half-pixel centers, bilinear or nearest) and projective
transforms (each output pixel reads the input at matrix @ (x, y, 1), Keras's rotation,
translation and zoom matrices), with TensorFlow's fill modes for what falls outside."""
import numpy as np

from ..ops import elemwise as E
from ..ops.base import as_variable
from ..ops.index import getitem
from ..ops.shape import arange, reshape, shape, stack
from ..graph import Constant


def source_positions(n_in, n_out, centers="half_pixel"):
    """Where each of n_out output rows reads the input's n_in, in input rows: TensorFlow's rules,
    "half_pixel" (TensorFlow 2 and Keras), "legacy" (TensorFlow 1: out * n_in / n_out) or
    "align_corners" (the first and last rows kept: out * (n_in - 1) / (n_out - 1))."""
    out = np.arange(n_out, dtype=np.float64)
    if centers == "half_pixel":
        return (out + 0.5) * (n_in / n_out) - 0.5
    if centers == "align_corners" and n_out > 1:
        return out * ((n_in - 1) / (n_out - 1))
    if centers in ("legacy", "align_corners"):
        return out * (n_in / n_out)
    raise ValueError(f"resize: centers is 'half_pixel', 'legacy' or 'align_corners', got {centers!r}")


def _lerp_indices(n_in, n_out, centers="half_pixel"):
    """Source rows (below, above) and the weight of the one above, for each of n_out rows
    resized from n_in (clamped at the edges)."""
    position = source_positions(n_in, n_out, centers)
    below = np.floor(position)
    weight = position - below
    return (np.clip(below, 0, n_in - 1).astype("int64"), np.clip(below + 1, 0, n_in - 1).astype("int64"),
            weight)


def _nearest_indices(n_in, n_out, centers):
    """The source pixel nearest each output's position (TensorFlow's: the pixel whose centre is
    nearest for half-pixel centres, rounded with aligned corners, floored otherwise)."""
    position = source_positions(n_in, n_out, centers)
    nearest = np.floor(position + 0.5) if centers != "legacy" else np.floor(position)
    return np.clip(nearest, 0, n_in - 1).astype("int64")


def resize(images, height, width, interpolation="bilinear", centers="half_pixel"):
    """(N, C, H, W) images resized to (height, width); H and W must be known. centers: where the
    outputs read the input (source_positions)."""
    images = as_variable(images)
    rows, cols = images.type.shape[2:]
    if rows is None or cols is None:
        raise ValueError(f"resize needs the images' height and width when the graph is built, got {images.describe()}")
    if interpolation == "nearest":
        r, c = _nearest_indices(rows, height, centers), _nearest_indices(cols, width, centers)
        return getitem(getitem(images, (slice(None), slice(None), Constant(r))), (slice(None),) * 3 + (Constant(c),))
    if interpolation != "bilinear":
        raise ValueError(f"resize: interpolation is 'bilinear' or 'nearest', got {interpolation!r}")
    out = images
    for axis, (n_in, n_out) in ((2, (rows, height)), (3, (cols, width))):
        below, above, weight = _lerp_indices(n_in, n_out, centers)
        at = (slice(None),) * axis
        w = Constant(weight.astype(images.dtype).reshape((-1,) + (1,) * (3 - axis)))
        low, high = getitem(out, at + (Constant(below),)), getitem(out, at + (Constant(above),))
        out = low + (high - low) * w
    return out


def _map_coordinate(coord, length, fill_mode):
    """TensorFlow's ImageProjectiveTransform's map of a coordinate outside [0, length - 1]."""
    n = float(length)
    if fill_mode == "constant":
        return coord
    if fill_mode == "nearest" or length <= 1:
        return E.clip(coord, 0.0, n - 1)
    if fill_mode == "reflect":  # (d c b a | a b c d | d c b a)
        period = 2 * n
        low = E.where(E.lt(coord, -period), period * E.trunc(-coord / period) + coord, coord)
        low = E.where(E.lt(low, -n), low + period, -low - 1)
        high = coord - period * E.trunc(coord / period)
        high = E.where(E.ge(high, n), period - high - 1, high)
        mapped = E.where(E.lt(coord, 0), low, E.where(E.gt(coord, n - 1), high, coord))
    elif fill_mode == "wrap":  # (a b c d | a b c d | a b c d)
        span = n - 1
        low = coord + n * (E.trunc(-coord / span) + 1)
        high = coord - n * E.trunc(coord / span)
        mapped = E.where(E.lt(coord, 0), low, E.where(E.gt(coord, n - 1), high, coord))
    else:
        raise ValueError(f"fill_mode is 'reflect', 'wrap', 'nearest' or 'constant', got {fill_mode!r}")
    return E.clip(mapped, 0.0, n - 1)


def transform(images, matrices, fill_mode="reflect", interpolation="bilinear", fill_value=0.0):
    """Each image's output pixel (x, y) read at (a0 x + a1 y + a2, b0 x + b1 y + b2), matrices a
    (N, 6) variable of (a0, a1, a2, b0, b1, b2) rows (TensorFlow's ImageProjectiveTransform
    without the projective part); outside the image, fill_mode decides."""
    images = as_variable(images)
    rows, cols = images.type.shape[2:]
    if rows is None or cols is None:
        raise ValueError(f"the image transforms need the height and width when the graph is built, got {images.describe()}")
    dtype = images.dtype
    ys, xs = (Constant(g.reshape(1, -1).astype(dtype)) for g in np.mgrid[0:rows, 0:cols])
    a0, a1, a2, b0, b1, b2 = (matrices[:, k].dimshuffle(0, "x") for k in range(6))
    src_x = _map_coordinate(a0 * xs + a1 * ys + a2, cols, fill_mode)
    src_y = _map_coordinate(b0 * xs + b1 * ys + b2, rows, fill_mode)
    n, channels = shape(images)[0], images.type.shape[1] or shape(images)[1]
    flat = reshape(images.dimshuffle(0, 2, 3, 1), [n * rows * cols, channels])
    first = (arange(n) * (rows * cols)).dimshuffle(0, "x")

    def read(y, x):
        inside = E.logical_and(E.logical_and(E.ge(y, 0), E.le(y, rows - 1)), E.logical_and(E.ge(x, 0), E.le(x, cols - 1)))
        at = first + E.cast(E.clip(y, 0, rows - 1), "int64") * cols + E.cast(E.clip(x, 0, cols - 1), "int64")
        return E.where(inside.dimshuffle(0, 1, "x"), getitem(flat, at), E.cast(fill_value, dtype))

    if interpolation == "nearest":  # (std::round: halves away from zero)
        out = read(E.sign(src_y) * E.floor(abs(src_y) + 0.5), E.sign(src_x) * E.floor(abs(src_x) + 0.5))
    elif interpolation == "bilinear":
        y0, x0 = E.floor(src_y), E.floor(src_x)
        wy, wx = (src_y - y0).dimshuffle(0, 1, "x"), (src_x - x0).dimshuffle(0, 1, "x")
        top = read(y0, x0) * (1 - wx) + read(y0, x0 + 1) * wx
        bottom = read(y0 + 1, x0) * (1 - wx) + read(y0 + 1, x0 + 1) * wx
        out = top * (1 - wy) + bottom * wy
    else:
        raise ValueError(f"interpolation is 'bilinear' or 'nearest', got {interpolation!r}")
    return reshape(out, [n, rows, cols, channels]).dimshuffle(0, 3, 1, 2)


def rotation_matrices(angles, height, width):
    """Keras's: rotate each image by its angle (radians, counterclockwise) about its center."""
    cos, sin = E.cos(angles), E.sin(angles)
    x_offset = ((width - 1) - (cos * (width - 1) - sin * (height - 1))) / 2.0
    y_offset = ((height - 1) - (sin * (width - 1) + cos * (height - 1))) / 2.0
    return stack([cos, -sin, x_offset, sin, cos, y_offset], axis=1)


def translation_matrices(dx, dy):
    """Keras's: shift each image right by dx and down by dy pixels."""
    zeros = dx * 0
    ones = zeros + 1
    return stack([ones, zeros, -dx, zeros, ones, -dy], axis=1)


def zoom_matrices(zoom_x, zoom_y, height, width):
    """Keras's: read each image's (zoom_x, zoom_y)-scaled neighbourhood of its center (a zoom
    above 1 shows more of the image, smaller)."""
    zeros = zoom_x * 0
    x_offset = ((width - 1.0) / 2.0) * (1.0 - zoom_x)
    y_offset = ((height - 1.0) / 2.0) * (1.0 - zoom_y)
    return stack([zoom_x, zeros, x_offset, zeros, zoom_y, y_offset], axis=1)

