"""3-d convolution and pooling of NCDHW volumes, composed from the 2-d ops: each depth tap of a
3-d kernel is a conv2d of the depth planes it meets (the planes moved into the batch), the
taps summed; a 3-d pooling pools each plane, then across depth. Their gradients are those of
the ops they are made of (conv2d's, the poolings', slicing's), so no kernel of their own is
needed on any backend. The depth must be known when the graph is built (Keras's volumes'
shapes are); the batch, height and width need not."""
import numpy as np

from .base import as_variable
from .conv import _pair, avg_pool2d, conv2d, conv2d_transpose, max_pool2d, normalize_padding
from .elemwise import maximum
from .index import inc_subtensor
from .padding import pad
from .shape import ones, reshape, shape, zeros


def _triple(value, what):
    values = (value,) * 3 if np.isscalar(value) else tuple(value)
    if len(values) != 3 or min(values) < 1:
        raise ValueError(f"{what} takes a positive int or three, got {value!r}")
    return tuple(int(v) for v in values)


def _depth_and_planes(padding, what):
    """(the depth's (front, back) padding or "same" / "valid", the planes' padding for conv2d)."""
    if isinstance(padding, str):
        padding = normalize_padding(padding)
        return padding, padding
    if padding is None:
        return (0, 0), 0
    if np.isscalar(padding):
        return (int(padding),) * 2, int(padding)
    parts = tuple(padding)
    if len(parts) != 3:
        raise ValueError(f"{what}: padding takes 'valid', 'same', an int, three ints or three pairs, got {padding!r}")
    return _pair(parts[0], "padding"), tuple(_pair(p, "padding") for p in parts[1:])


def _depth(x, what):
    depth = x.type.shape[2]
    if depth is None:
        raise ValueError(f"{what} needs the depth (axis 2) of {x.describe()} known when the graph is built")
    return depth


def _depth_padding(depth, kernel, stride, dilation, padding):
    """(front, back) along the depth: "same" as conv2d's (the smaller half first)."""
    if padding == "valid":
        return 0, 0
    if padding == "same":
        total = max((-(-depth // stride) - 1) * stride + dilation * (kernel - 1) + 1 - depth, 0)
        return total // 2, total - total // 2
    return padding


def _padded_depth(x, front, back, fill):
    return pad(x, ((0, 0), (0, 0), (front, back), (0, 0), (0, 0)), constant_values=fill) if front or back else x


def _as_planes(x):
    """(N, C, D, H, W) -> (N * D, C, H, W)."""
    n, c, d, h, w = (shape(x)[a] for a in range(5))
    return reshape(x.dimshuffle(0, 2, 1, 3, 4), [n * d, c, h, w])


def _as_volumes(planes, n, depth):
    """(N * D, C, H, W) -> (N, C, D, H, W)."""
    c, h, w = (shape(planes)[a] for a in (1, 2, 3))
    return reshape(planes, [n, depth, c, h, w]).dimshuffle(0, 2, 1, 3, 4)


def _taps(x, start, stride, count):
    """x's depth planes start, start + stride, ... (count of them)."""
    return x[:, :, start:start + stride * (count - 1) + 1:stride]


def conv3d(input, filters, stride=1, padding=0, dilation=1, groups=1):
    """3-d convolution (cross-correlation) of NCDHW volumes with OIDHW filters. padding: 'valid',
    'same', an int, three ints or three (front, back) pairs."""
    x, w = as_variable(input), as_variable(filters)
    if x.ndim != 5 or w.ndim != 5:
        raise ValueError(f"conv3d needs NCDHW volumes and OIDHW filters, got {x.describe()} and {w.describe()}")
    kd = w.type.shape[2]
    if kd is None:
        raise ValueError(f"conv3d needs the filters' depth known when the graph is built, got {w.describe()}")
    (sd, sh, sw), (dd, dh, dw) = _triple(stride, "conv3d: stride"), _triple(dilation, "conv3d: dilation")
    depth_padding, plane_padding = _depth_and_planes(padding, "conv3d")
    depth = _depth(x, "conv3d")
    front, back = _depth_padding(depth, kd, sd, dd, depth_padding)
    x = _padded_depth(x, front, back, 0)
    out_depth = (depth + front + back - dd * (kd - 1) - 1) // sd + 1
    if out_depth < 1:
        raise ValueError(f"conv3d: a depth of {depth + front + back} (padded) is shorter than the kernel's {kd} taps")
    total = None
    for k in range(kd):  # one conv2d a depth tap, the volumes' planes as a batch
        planes = _as_planes(_taps(x, k * dd, sd, out_depth))
        y = conv2d(planes, w[:, :, k], stride=(sh, sw), padding=plane_padding, dilation=(dh, dw), groups=groups)
        total = y if total is None else total + y
    return _as_volumes(total, shape(x)[0], out_depth)


def conv3d_transpose(input, filters, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """The transpose of conv3d: filters (C_in, C_out / groups, kd, kh, kw); each axis comes out
    (n - 1) * stride - (front + back) + dilation * (k - 1) + 1 + output_padding long, padding
    an int, three ints or three (front, back) pairs cropped from the full transposed output."""
    x, w = as_variable(input), as_variable(filters)
    if x.ndim != 5 or w.ndim != 5 or w.type.shape[2] is None:
        raise ValueError(f"conv3d_transpose needs NCDHW volumes and (C_in, C_out, kd, kh, kw) filters of a known "
                         f"depth, got {x.describe()} and {w.describe()}")
    kd, depth = w.type.shape[2], _depth(x, "conv3d_transpose")
    (sd, sh, sw), (dd, dh, dw) = _triple(stride, "conv3d_transpose: stride"), _triple(dilation, "dilation")
    extra = (output_padding,) * 3 if np.isscalar(output_padding) else tuple(output_padding)
    (front, back), plane_crop = _depth_and_planes(padding, "conv3d_transpose")
    planes = _as_planes(x)
    n = shape(x)[0]
    full_depth = (depth - 1) * sd + dd * (kd - 1) + 1 + extra[0]
    out = None
    for k in range(kd):  # each depth tap's planes, added at the depths that tap reaches
        y = _as_volumes(conv2d_transpose(planes, w[:, :, k], (sh, sw), plane_crop, extra[1:], (dh, dw), groups),
                        n, depth)
        if out is None:
            out = zeros([n, shape(y)[1], full_depth, shape(y)[3], shape(y)[4]], dtype=y.dtype)
        out = inc_subtensor(out[:, :, k * dd:k * dd + sd * (depth - 1) + 1:sd], y)
    return out[:, :, front:full_depth - back]


def _pool3d(x, pool_size, strides, padding, what, plane_pool, fill, combine):
    x = as_variable(x)
    if x.ndim != 5:
        raise ValueError(f"{what} needs NCDHW volumes, got {x.describe()}")
    (pd, ph, pw) = _triple(pool_size, f"{what}: pool_size")
    (sd, sh, sw) = _triple(strides, f"{what}: strides") if strides is not None else (pd, ph, pw)
    depth_padding, plane_padding = _depth_and_planes(padding, what)
    depth = _depth(x, what)
    planes = plane_pool(_as_planes(x), (ph, pw), (sh, sw), plane_padding)
    pooled = _as_volumes(planes, shape(x)[0], depth)
    front, back = _depth_padding(depth, pd, sd, 1, depth_padding)
    pooled = _padded_depth(pooled, front, back, fill)
    out_depth = (depth + front + back - pd) // sd + 1
    return combine([_taps(pooled, k, sd, out_depth) for k in range(pd)], depth, pd, sd, front, out_depth)


def max_pool3d(x, pool_size, strides=None, padding="valid"):
    """The maximum over pool_size windows of NCDHW volumes (strides default to pool_size)."""
    def combine(taps, *_):
        out = taps[0]
        for t in taps[1:]:
            out = maximum(out, t)
        return out
    return _pool3d(x, pool_size, strides, padding, "max_pool3d", max_pool2d, -np.inf, combine)


def avg_pool3d(x, pool_size, strides=None, padding="valid", count_padding=True):
    """The mean over pool_size windows of NCDHW volumes; with count_padding=False (Keras's
    "same") over the values each window covers only."""
    def plane_pool(planes, kernel, stride, pad):
        pooled = avg_pool2d(planes, kernel, stride, pad)
        if count_padding:
            return pooled
        covered = avg_pool2d(ones([1, 1, shape(planes)[2], shape(planes)[3]], dtype=planes.dtype), kernel, stride, pad)
        return pooled / covered  # (each window's share of positions inside the plane)

    def combine(taps, depth, pd, sd, front, out_depth):
        total = taps[0]
        for t in taps[1:]:
            total = total + t
        if count_padding:
            return total / np.asarray(pd, dtype=total.dtype)
        starts = np.arange(out_depth) * sd - front
        covered = (np.minimum(starts + pd, depth) - np.maximum(starts, 0)).astype(total.dtype)
        return total / covered.reshape(1, 1, -1, 1, 1)
    return _pool3d(x, pool_size, strides, padding, "avg_pool3d", plane_pool, 0, combine)
