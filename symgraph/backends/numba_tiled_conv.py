"""Convolutions of one channel by one filter whose windows tile the image (stride = filter
size, no padding, no dilation): avg_pool2d's form (sg.nn.avg_pool2d convolves each plane,
as an image of one channel, by a kh x kw filter of 1 / (kh * kw)). im2col made a window
matrix of kh * kw rows for a product of one filter row; here each output value is its
window's taps summed in one pass, and the input's gradient writes each entry once.

The images split over numba's threads as max pooling's planes do (ConvThunk._tiled_parallel).
On the AMD EPYC, avg_pool2d 2x2 of (64, 16, 28, 28) float32 (1024 planes) on two cores: the
forward 0.65 -> 0.43 ms, the input's gradient 1.12 (a product and col2im) -> 0.39; a function
of the pooling's forward and gradient 1.92 -> 0.95 ms, of (128, 6, 8, 8) 0.20 -> 0.11.
"""
from . import numba_target  # noqa: F401  (sets numba's vector width before any @njit)
import numpy as np

_kernels = {}  # (kh, kw, gradient, parallel) -> kernel


def takes(in_shape, w_shape, geometry, groups, dtype, other_dtype):
    """Whether conv2d of images in_shape (NCHW) by filters w_shape over `geometry`
    (window_geometry's: kh, kw, strides, dilations, pad_top, pad_left, oh, ow), or its input's
    gradient, goes this way; dtype and other_dtype: the two operands' (one float dtype)."""
    kh, kw, sh, sw, dh, dw, pt, pl, oh, ow = geometry
    return (tuple(w_shape[:2]) == (1, 1) and groups == 1 and (sh, sw) == (kh, kw) and (dh, dw, pt, pl) == (1, 1, 0, 0)
            and (oh, ow) == (in_shape[2] // kh, in_shape[3] // kw) and dtype == other_dtype and dtype.kind == "f"
            and dtype.itemsize in (4, 8) and in_shape[0] > 0)


def forward(x, w, parallel):
    """conv2d(x, w) for takes' case: (n, 1, h // kh, w // kw)."""
    n, _, h, width = x.shape
    kh, kw = w.shape[2:]
    out = np.empty((n, 1, h // kh, width // kw), x.dtype)
    _kernel(kh, kw, False, parallel)(np.ascontiguousarray(x).reshape(-1), np.ascontiguousarray(w).reshape(-1),
                                     out.reshape(-1), n, h, width)
    return out


def grad_input(gy, w, in_shape, parallel):
    """The gradient of forward's x from the output's gradient gy: each window's entries the
    filter times gy; rows and columns no window covers 0."""
    n, _, h, width = in_shape
    kh, kw = w.shape[2:]
    dx = np.empty((n, 1, h, width), gy.dtype)
    dx[:, :, gy.shape[2] * kh:] = 0
    dx[:, :, :gy.shape[2] * kh, gy.shape[3] * kw:] = 0
    _kernel(kh, kw, True, parallel)(np.ascontiguousarray(gy).reshape(-1), np.ascontiguousarray(w).reshape(-1),
                                    dx.reshape(-1), n, h, width)
    return dx


def _kernel(kh, kw, gradient, parallel):
    key = (kh, kw, gradient, parallel)
    kernel = _kernels.get(key)
    if kernel is None:
        kernel = _kernels[key] = _compile(kh, kw, gradient, parallel)
    return kernel


def _compile(kh, kw, gradient, parallel):
    """forward: kernel(x, taps, out, planes, h, w); gradient: kernel(gy, taps, dx, planes, h, w);
    all flat, C order: x and dx (planes, h, w), out and gy (planes, h // kh, w // kw)."""
    from .numba_codegen import compile_source
    at = [f"p + {a} * w + {b}" for a, b in (divmod(k, kw) for k in range(kh * kw))]
    lines = ["@njit(cache=True, nogil=True, parallel=True)" if parallel else "@njit(cache=True, nogil=True)",
             f"def kernel({'gy' if gradient else 'x'}, taps, {'dx' if gradient else 'out'}, planes, h, w):",
             f"    oh, ow = h // {kh}, w // {kw}"]
    lines += [f"    t{k} = taps[{k}]" for k in range(len(at))]
    lines += ["    for plane in prange(planes):" if parallel else "    for plane in range(planes):",
              "        for i in range(oh):",
              f"            top = (plane * h + i * {kh}) * w",
              "            row = (plane * oh + i) * ow",
              "            for j in range(ow):",
              f"                p = top + j * {kw}"]
    if gradient:
        lines += ["                v = gy[row + j]"] + [f"                dx[{where}] = t{k} * v" for k, where in enumerate(at)]
    else:
        lines += [f"                out[row + j] = {' + '.join(f't{k} * x[{where}]' for k, where in enumerate(at))}"]
    return compile_source("\n".join(lines) + "\n")
