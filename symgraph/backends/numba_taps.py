"""Convolutions with few filters (a decoder's last layer: 16 channels to one) as loops over each
image's padded planes, a tap at a time, where im2col's window matrix of c*kh*kw rows met a
product of one to three filter rows: a pass over a matrix 144 times the image, for 9 * 16 * 2
flops a pixel.

Each image's channel is copied into a padded plane (h + pads) x (w + pads), flat; with unit
strides the window tap (a, b) of every output pixel is then the plane read from a * w2 + b on,
one contiguous loop over oh rows of w2 values (the w2 - ow values past each row's end are
computed and dropped: ow of every w2). Float32 sums stay float32, as BLAS's do.

(64, 16, 28, 28) float32 to one channel, 3x3 'same': the forward 0.86 -> 0.37 ms; to two 0.87
-> 0.57, three 0.99 -> 0.75; four even (0.94), eight a loss (0.48 -> 0.51): MAX_FILTERS.
"""
from . import numba_target  # noqa: F401  (sets numba's vector width before any @njit)
import numpy as np
from numba import njit, prange

from .numba_kernels import serial_and_parallel
from .numba_vecmath import fold_add

MAX_FILTERS = 3


def takes(x, other, o, geometry, groups):
    """Whether a convolution of x (NCHW) with o filters over `geometry` (window_geometry's:
    kh, kw, strides, dilations, pad_top, pad_left, oh, ow) goes tap by tap; other: the filters
    or the output's gradient, of x's float dtype for that."""
    return (o <= MAX_FILTERS and groups == 1 and tuple(geometry[2:6]) == (1, 1, 1, 1)
            and geometry[6] >= 0 and geometry[7] >= 0 and x.dtype == other.dtype and x.dtype.kind == "f"
            and x.dtype.itemsize in (4, 8) and x.shape[0] > 0)


@njit(cache=True, nogil=True, inline="always")
def _padded(src, pt, pl, w2, plane):
    """plane (flat, zeros where no value lands) gets src (h, w) at rows pt.., columns pl..: the
    padded plane's (plane.shape[0] - 1) // w2 rows of w2 values (then a tail of kw zeros)."""
    h2 = (plane.shape[0] - 1) // w2
    for i in range(src.shape[0]):
        r = i + pt
        if r < h2:
            for j in range(min(src.shape[1], w2 - pl)):
                plane[r * w2 + j + pl] = src[i, j]


@njit(cache=True, nogil=True, inline="always")
def _plane_sizes(oh, ow, kh, kw):
    """(w2, span, size): a padded plane's row length, the values one tap's loop covers (oh rows
    of w2), and the plane's length (its rows, then kw past the end: the last row's tail)."""
    w2 = ow + kw - 1
    return w2, oh * w2, (oh + kh - 1) * w2 + kw


def _forward(x, w, pt, pl, out):
    """out = conv2d(x, w) for unit strides: one image a task."""
    n, c = x.shape[0], x.shape[1]
    o, kh, kw = w.shape[0], w.shape[2], w.shape[3]
    oh, ow = out.shape[2], out.shape[3]
    w2, span, size = _plane_sizes(oh, ow, kh, kw)
    for img in prange(n):
        plane = np.zeros(size, x.dtype)
        acc = np.zeros((o, span), x.dtype)
        for ic in range(c):
            _padded(x[img, ic], pt, pl, w2, plane)
            for oc in range(o):
                row = acc[oc]
                for a in range(kh):
                    for b in range(kw):
                        weight = w[oc, ic, a, b]
                        at = np.uint64(a * w2 + b)
                        for p in range(np.uint64(span)):
                            row[p] += weight * plane[p + at]
        for oc in range(o):
            for i in range(oh):
                for j in range(ow):
                    out[img, oc, i, j] = acc[oc, i * w2 + j]


def _filter_gradient(x, gy, pt, pl, zero, partial):
    """partial[img] = the filters' gradient from image img (partial: (n, o, c, kh, kw) float64;
    their sum is the gradient, in one order whatever the threads; numba's thread id is not
    defined in a serial call before any parallel one); zero: 0 of x's dtype. Each tap's sum
    of gy times the plane read from the tap on, gy laid out with w2 values a row (the w2 - ow
    past each row's end added as 0: 0 times an inf the plane holds there would be NaN)."""
    n, c = x.shape[0], x.shape[1]
    o, oh, ow = gy.shape[1], gy.shape[2], gy.shape[3]
    kh, kw = partial.shape[3], partial.shape[4]
    w2, span, size = _plane_sizes(oh, ow, kh, kw)
    inside = np.empty(span, np.bool_)  # (the values a row holds, not those past its end)
    for p in range(span):
        inside[p] = p % w2 < ow
    for img in prange(n):
        plane = np.zeros(size, x.dtype)
        g = np.zeros((o, span), x.dtype)
        for oc in range(o):
            for i in range(oh):
                for j in range(ow):
                    g[oc, i * w2 + j] = gy[img, oc, i, j]
        for ic in range(c):
            _padded(x[img, ic], pt, pl, w2, plane)
            for oc in range(o):
                row = g[oc]
                for a in range(kh):
                    for b in range(kw):
                        at = np.uint64(a * w2 + b)
                        total = zero
                        for p in range(np.uint64(span)):  # (past each row's end 0, not 0 times inf)
                            term = row[p] * plane[p + at]
                            total = fold_add(total, term if inside[p] else zero)
                        partial[img, oc, ic, a, b] = total


forward_serial, forward_parallel = serial_and_parallel(_forward)
filter_gradient_serial, filter_gradient_parallel = serial_and_parallel(_filter_gradient)
