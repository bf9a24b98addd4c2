"""Convolution and pooling over NCHW images: conv2d (OIHW filters; stride, padding, dilation,
groups), its transpose, and max/avg pooling — each with its gradient.

Kernels are im2col + GEMM: the input's sliding windows are gathered (a strided view, then
one copy) and multiplied with the filters through BLAS. float16 storage accumulates in float32.

Three ops carry the work, and each one's gradient is made of the other two:
    Conv2D(x, w)                 forward convolution
    Conv2DGradInput(g, w, shape) its transpose (also conv2d_transpose)
    Conv2DGradFilters(x, g)      the filter gradient
"""
import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .base import Op, Apply, TensorType, Variable, as_variable, as_int_vector
from .shape import static_entries


def _pair(v, what):
    if isinstance(v, numbers.Integral):
        return (int(v), int(v))
    v = tuple(int(e) for e in v)
    if len(v) != 2:
        raise ValueError(f"{what} must be an int or a pair, got {v}")
    return v


def normalize_padding(padding):
    """'valid', 'same', an int, a pair, or ((top, bottom), (left, right))."""
    if isinstance(padding, str):
        if padding.lower() not in ("valid", "same"):
            raise ValueError(f"padding must be 'valid', 'same', an int or pairs, got {padding!r}")
        return padding.lower()
    if isinstance(padding, numbers.Integral):
        return ((int(padding),) * 2,) * 2
    parts = tuple(padding)
    if len(parts) == 2 and all(isinstance(p, numbers.Integral) for p in parts):
        return ((int(parts[0]),) * 2, (int(parts[1]),) * 2)
    return tuple(_pair(p, "padding") for p in parts)


class ConvParams:
    """stride, padding, dilation, groups of one convolution, and the arithmetic on them."""

    def __init__(self, stride=1, padding=0, dilation=1, groups=1):
        self.stride, self.dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
        self.padding, self.groups = normalize_padding(padding), int(groups)
        if min(self.stride) < 1 or min(self.dilation) < 1 or self.groups < 1:
            raise ValueError("stride, dilation and groups must be positive")

    def key(self):
        return (self.stride, self.padding, self.dilation, self.groups)

    def pads(self, size, kernel):
        """((top, bottom), (left, right)) for an input of spatial `size`."""
        if self.padding == "valid":
            return ((0, 0), (0, 0))
        if self.padding == "same":
            out = []
            for n, k, s, d in zip(size, kernel, self.stride, self.dilation):
                total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)
                out.append((total // 2, total - total // 2))
            return tuple(out)
        return self.padding

    def out_size(self, size, kernel):
        pads = self.pads(size, kernel)
        return tuple((n + p[0] + p[1] - d * (k - 1) - 1) // s + 1
                     for n, k, p, s, d in zip(size, kernel, pads, self.stride, self.dilation))

    def window_geometry(self, size, kernel):
        """(kh, kw, sh, sw, dh, dw, pad_top, pad_left, oh, ow): what an im2col loop needs."""
        (pt, _), (pl, _) = self.pads(size, kernel)
        return (*kernel, *self.stride, *self.dilation, pt, pl, *self.nonempty_out_size(size, kernel))

    def static_out(self, size, kernel):
        if None in size or None in kernel or (self.padding == "same" and None in size):
            return (None, None)
        return self.nonempty_out_size(size, kernel)

    def nonempty_out_size(self, size, kernel):
        """out_size, or the error of a window larger than the (padded) input: at build time
        where the sizes are static, else at the call, on every backend."""
        out = self.out_size(size, kernel)
        if min(out) < 1:
            raise ValueError(f"convolution output would be empty: input {tuple(size)}, kernel {tuple(kernel)}, "
                             f"padding {self.padding}, stride {self.stride}, dilation {self.dilation}")
        return out


def _windows(x, kernel, params):
    """Sliding windows of the padded input: (N, C, OH, OW, kh, kw), a strided view."""
    kh, kw = kernel
    params.nonempty_out_size(x.shape[2:], kernel)
    (pt, pb), (pl, pr) = params.pads(x.shape[2:], kernel)
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr))) if pt or pb or pl or pr else x
    dh, dw = params.dilation
    sh, sw = params.stride
    win = sliding_window_view(xp, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(2, 3))
    return win[:, :, ::sh, ::sw, ::dh, ::dw], (pt, pb, pl, pr), xp.shape


def _acc(dtype):
    return np.float32 if np.dtype(dtype) == np.float16 else dtype


def conv2d_numpy(x, w, params):
    n, c = x.shape[:2]
    o, cg, kh, kw = w.shape
    g = params.groups
    win, _, _ = _windows(x, (kh, kw), params)
    oh, ow = win.shape[2:4]
    acc = _acc(x.dtype)
    cols = win.reshape(n, g, cg, oh, ow, kh, kw).transpose(1, 0, 3, 4, 2, 5, 6).reshape(g, n * oh * ow, cg * kh * kw)
    filt = w.reshape(g, o // g, cg * kh * kw).transpose(0, 2, 1)
    out = np.matmul(cols.astype(acc, copy=False), filt.astype(acc, copy=False))  # (g, n*oh*ow, o/g)
    out = out.reshape(g, n, oh, ow, o // g).transpose(1, 0, 4, 2, 3).reshape(n, o, oh, ow)  # copies
    return out.astype(x.dtype, copy=False)


def conv2d_grad_input_numpy(gy, w, in_shape, params):
    n, o, oh, ow = gy.shape
    _, cg, kh, kw = w.shape
    g = params.groups
    c, h, wd = in_shape[1], in_shape[2], in_shape[3]
    acc = _acc(gy.dtype)
    (pt, pb), (pl, pr) = params.pads((h, wd), (kh, kw))
    sh, sw = params.stride
    dh, dw = params.dilation
    gcols = gy.reshape(n, g, o // g, oh * ow).transpose(1, 0, 3, 2).astype(acc, copy=False)   # (g, n, oh*ow, o/g)
    filt = w.reshape(g, 1, o // g, cg * kh * kw).astype(acc, copy=False)
    cols = np.matmul(gcols, filt).reshape(g, n, oh, ow, cg, kh, kw)                           # (g, n, oh, ow, cg, kh, kw)
    dxp = np.zeros((n, g, cg, h + pt + pb, wd + pl + pr), dtype=acc)
    for i in range(kh):
        for j in range(kw):
            patch = cols[:, :, :, :, :, i, j].transpose(1, 0, 4, 2, 3)                        # (n, g, cg, oh, ow)
            dxp[:, :, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw] += patch
    dx = dxp[:, :, :, pt:pt + h, pl:pl + wd].reshape(n, c, h, wd)
    return dx.astype(gy.dtype)


def conv2d_grad_filters_numpy(x, gy, w_shape, params):
    n = x.shape[0]
    o, cg, kh, kw = w_shape
    g = params.groups
    win, _, _ = _windows(x, (kh, kw), params)
    oh, ow = win.shape[2:4]
    acc = _acc(x.dtype)
    cols = win.reshape(n, g, cg, oh, ow, kh, kw).transpose(1, 2, 5, 6, 0, 3, 4).reshape(g, cg * kh * kw, n * oh * ow)
    gcols = gy.reshape(n, g, o // g, oh, ow).transpose(1, 0, 3, 4, 2).reshape(g, n * oh * ow, o // g)
    dw = np.matmul(cols.astype(acc, copy=False), gcols.astype(acc, copy=False))             # (g, cg*kh*kw, o/g)
    return dw.transpose(0, 2, 1).reshape(o, cg, kh, kw).astype(gy.dtype)


def _check_images(x, w, params, what):
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"{what} needs NCHW images and OIHW filters (4-d each): {x.describe()}; {w.describe()}")
    if x.dtype != w.dtype:
        raise TypeError(f"{what}: images and filters must share a dtype: {x.describe()}; {w.describe()}")
    c, cg, o = x.type.shape[1], w.type.shape[1], w.type.shape[0]
    g = params.groups
    if c is not None and c % g:
        raise ValueError(f"{what}: {c} input channels do not split into {g} groups ({x.describe()})")
    if c is not None and cg is not None and c != cg * g:
        raise ValueError(f"{what}: the images have {c} channels but the filters expect {cg * g} "
                         f"({cg} per group x {g} groups): {x.describe()}; {w.describe()}")
    if o is not None and o % g:
        raise ValueError(f"{what}: {o} filters do not split into {g} groups ({w.describe()})")


def _batch_and_channels(node, batch, channels):
    """A convolution's or pooling's output shape: the images' count and the channels given, the
    output's static height and width (None where they are not static: the shape is then read
    from the output). Without it, a gradient asking for the output's shape (the batch, for a
    broadcast) computed the forward convolution again."""
    return [batch, channels, *node.outputs[0].type.shape[2:]]


class Conv2D(Op):
    __props__ = ("params_key",)

    def __init__(self, params):
        self.params, self.params_key = params, params.key()

    def __str__(self):
        s, p, d, g = self.params_key
        return f"Conv2D{{stride={s}, pad={p}, dil={d}, groups={g}}}"

    def make_node(self, x, w):
        x, w = as_variable(x), as_variable(w)
        _check_images(x, w, self.params, "conv2d")
        oh, ow = self.params.static_out(x.type.shape[2:], w.type.shape[2:])
        return Apply(self, [x, w], [Variable(TensorType(x.dtype, (x.type.shape[0], w.type.shape[0], oh, ow)))])

    def infer_shape(self, node, shapes):
        return [_batch_and_channels(node, shapes[0][0], shapes[1][0])]

    def perform(self, node, inputs):
        return [conv2d_numpy(inputs[0], inputs[1], self.params)]

    def grad(self, inputs, outputs, output_grads):
        from .shape import shape
        x, w = inputs
        g = output_grads[0]
        return [Conv2DGradInput(self.params)(g, w, shape(x)), Conv2DGradFilters(self.params)(x, g, shape(w))]


class Conv2DGradInput(Op):
    """The transpose of Conv2D with respect to its images (scatter the windows back)."""

    __props__ = ("params_key",)

    def __init__(self, params):
        self.params, self.params_key = params, params.key()

    def __str__(self):
        return "Conv2DGradInput" + Conv2D.__str__(self)[6:]

    def make_node(self, g, w, in_shape):
        g, w = as_variable(g), as_variable(w)
        in_shape = as_int_vector(in_shape, "conv input shape")
        dims = static_entries(in_shape, 4)
        return Apply(self, [g, w, in_shape], [Variable(TensorType(g.dtype, dims))])

    def infer_shape(self, node, shapes):
        from .shape_infer import vector_entries
        return [vector_entries(node.inputs[2], 4)]

    def perform(self, node, inputs):
        return [conv2d_grad_input_numpy(inputs[0], inputs[1], tuple(int(v) for v in inputs[2]), self.params)]

    def grad(self, inputs, outputs, output_grads):
        from .shape import shape
        g, w, _ = inputs
        gg = output_grads[0]
        return [Conv2D(self.params)(gg, w), Conv2DGradFilters(self.params)(gg, g, shape(w)), None]


class Conv2DGradFilters(Op):
    __props__ = ("params_key",)

    def __init__(self, params):
        self.params, self.params_key = params, params.key()

    def __str__(self):
        return "Conv2DGradFilters" + Conv2D.__str__(self)[6:]

    def make_node(self, x, g, w_shape):
        x, g = as_variable(x), as_variable(g)
        w_shape = as_int_vector(w_shape, "filter shape")
        return Apply(self, [x, g, w_shape], [Variable(TensorType(x.dtype, static_entries(w_shape, 4)))])

    def infer_shape(self, node, shapes):
        from .shape_infer import vector_entries
        return [vector_entries(node.inputs[2], 4)]

    def perform(self, node, inputs):
        return [conv2d_grad_filters_numpy(inputs[0], inputs[1], tuple(int(v) for v in inputs[2]), self.params)]

    def grad(self, inputs, outputs, output_grads):
        from .shape import shape
        x, g, _ = inputs
        gw = output_grads[0]
        return [Conv2DGradInput(self.params)(g, gw, shape(x)), Conv2D(self.params)(x, gw), None]


def conv2d(input, filters, stride=1, padding=0, dilation=1, groups=1):
    """2-d convolution (cross-correlation, as in every deep-learning library) of NCHW images
    with OIHW filters. padding: 'valid', 'same', an int, a pair or ((top, bottom), (left, right))."""
    return Conv2D(ConvParams(stride, padding, dilation, groups))(input, filters)


def conv2d_transpose(input, filters, stride=1, padding=0, output_padding=0, dilation=1, groups=1,
                     output_shape=None):
    """The transpose of conv2d (a "deconvolution"): filters are (C_in, C_out / groups, kh, kw)
    as in PyTorch; the output is (H - 1) * stride - 2 * padding + dilation * (k - 1) + 1 +
    output_padding per spatial axis, unless output_shape gives it."""
    from .shape import shape
    x, w = as_variable(input), as_variable(filters)
    params = ConvParams(stride, padding, dilation, groups)
    if params.padding == "same":
        raise ValueError("conv2d_transpose takes explicit padding (or output_shape), not 'same'")
    (pt, pb), (pl, pr) = params.padding
    op_h, op_w = _pair(output_padding, "output_padding")
    if output_shape is None:
        sh = shape(x)
        ws = shape(w)
        dims = [(sh[2 + a] - 1) * params.stride[a] - (p0 + p1) + params.dilation[a] * (ws[2 + a] - 1) + 1 + extra
                for a, (p0, p1), extra in ((0, (pt, pb), op_h), (1, (pl, pr), op_w))]
        output_shape = [sh[0], ws[1] * params.groups] + dims
    return Conv2DGradInput(params)(x, w, output_shape)


class MaxPool2D(Op):
    __props__ = ("kernel", "stride", "padding")

    def __init__(self, kernel, stride, padding):
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.params = ConvParams(stride, padding, 1, 1)

    def make_node(self, x):
        x = as_variable(x)
        if x.ndim != 4:
            raise ValueError(f"max_pool2d needs NCHW images, got {x.describe()}")
        oh, ow = self.params.static_out(x.type.shape[2:], self.kernel)
        return Apply(self, [x], [Variable(TensorType(x.dtype, x.type.shape[:2] + (oh, ow)))])

    def infer_shape(self, node, shapes):
        return [_batch_and_channels(node, shapes[0][0], shapes[0][1])]

    def perform(self, node, inputs):
        return [self.windows(inputs[0]).max(axis=(4, 5))]

    def windows(self, x, fill=None):
        """x's pooling windows, (n, c, oh, ow, kh, kw); padding reads as `fill` (by default the
        lowest value, which no window's maximum is)."""
        (pt, pb), (pl, pr) = self.params.pads(x.shape[2:], self.kernel)
        if fill is None:
            fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=fill) if pt or pb or pl or pr else x
        win = sliding_window_view(xp, self.kernel, axis=(2, 3))
        return win[:, :, ::self.stride[0], ::self.stride[1]]

    def window_maxima(self, x):
        """(where each window's maximum is, the first of ties, as an index into its kh * kw
        entries; the windows' shape (n, c, oh, ow, kh, kw)): what MaxPool2DGrad routes by and
        MaxPoolPick picks at."""
        win = self.windows(x)
        n, c, oh, ow, kh, kw = win.shape
        return win.reshape(n, c, oh, ow, kh * kw).argmax(axis=-1), win.shape

    def grad(self, inputs, outputs, output_grads):
        return [MaxPool2DGrad(self)(inputs[0], output_grads[0])]


class MaxPool2DGrad(Op):
    """Routes each pooled gradient to the position of its window's maximum (the first one)."""

    __props__ = ("pool",)

    def __init__(self, pool):
        self.pool = pool

    def make_node(self, x, g):
        return Apply(self, [x, g], [Variable(x.type)])

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def perform(self, node, inputs):
        x, g = inputs
        pool = self.pool
        arg, (n, c, oh, ow, kh, kw) = pool.window_maxima(x)
        (pt, pb), (pl, pr) = pool.params.pads(x.shape[2:], pool.kernel)
        dxp = np.zeros((n, c, x.shape[2] + pt + pb, x.shape[3] + pl + pr), dtype=x.dtype)
        sh, sw = pool.stride
        for i in range(kh):
            for j in range(kw):
                hit = (arg == i * kw + j)
                dxp[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw] += np.where(hit, g, 0)
        return [dxp[:, :, pt:pt + x.shape[2], pl:pl + x.shape[3]].copy()]

    def grad(self, inputs, outputs, output_grads):
        """Linear in g: its gradient picks the incoming one at each window's maximum (MaxPoolPick);
        the positions themselves have none. (It had answered None for g too: second derivatives
        through max_pool2d came out as if the pooling's gradient were constant.)"""
        return [None, MaxPoolPick(self.pool)(inputs[0], output_grads[0])]


class MaxPoolPick(Op):
    """Each pooling window's entry of v at x's maximum there (the first, as MaxPool2DGrad routes
    it): max_pool2d's shape. MaxPool2DGrad's gradient with respect to its g, and that scatter
    is this gather's own gradient, so derivatives of any order through max_pool2d exist."""

    __props__ = ("pool",)

    def __init__(self, pool):
        self.pool = pool

    def make_node(self, x, v):
        pooled = self.pool.make_node(x).outputs[0]
        return Apply(self, [x, v], [Variable(TensorType(v.dtype, pooled.type.shape))])

    def infer_shape(self, node, shapes):
        return self.pool.infer_shape(node, shapes[:1])

    def perform(self, node, inputs):
        x, v = inputs
        arg, (n, c, oh, ow, kh, kw) = self.pool.window_maxima(x)
        values = self.pool.windows(v, fill=0).reshape(n, c, oh, ow, kh * kw)
        return [np.take_along_axis(values, arg[..., None], axis=-1)[..., 0].astype(node.outputs[0].dtype, copy=False)]

    def grad(self, inputs, outputs, output_grads):
        return [None, MaxPool2DGrad(self.pool)(inputs[0], output_grads[0])]


def max_pool2d(x, kernel, stride=None, padding=0):
    """Maximum over kernel-sized windows of NCHW images (stride defaults to the kernel)."""
    kernel = _pair(kernel, "kernel")
    stride = kernel if stride is None else _pair(stride, "stride")
    padding = normalize_padding(padding)
    return MaxPool2D(kernel, stride, padding)(x)


def avg_pool2d(x, kernel, stride=None, padding=0):
    """Mean over kernel-sized windows (padding counts as zeros), as a per-channel convolution."""
    from .shape import shape, reshape, ones
    x = as_variable(x)
    if x.ndim != 4:
        raise ValueError(f"avg_pool2d needs NCHW images, got {x.describe()}")
    kh, kw = _pair(kernel, "kernel")
    stride = (kh, kw) if stride is None else _pair(stride, "stride")
    sh = shape(x)
    flat = reshape(x, [sh[0] * sh[1], 1, sh[2], sh[3]])
    filt = ones((1, 1, kh, kw), dtype=x.dtype) * np.asarray(1.0 / (kh * kw), dtype=x.dtype)
    pooled = conv2d(flat, filt, stride=stride, padding=padding)
    ps = shape(pooled)
    return reshape(pooled, [sh[0], sh[1], ps[2], ps[3]])
