"""Convolutions image by image on all cores (ConvThunk's path where it pays, see `takes`).

The batched path builds one window matrix for the whole batch (im2col: 7.2 MB for 64 images of
16 channels at 14x14 under a 3x3 kernel), written by one thread, then one threaded BLAS product
and a transposed copy into NCHW. Here numba's threads split the images: each builds its image's
window matrix in a buffer of its own, which stays in its core's cache, and multiplies it there
with one small product (numba's np.dot, SciPy's OpenBLAS), written straight into the image's
place in the output (where numba_numpy_gemm registered NumPy's OpenBLAS, its products instead,
set to one thread as below: numba_blas.numpy_gemm). Measured on 2 cores (Sapphire Rapids),
float32, 3x3 kernels, pad 1, us:

| images x channels x size -> filters | forward | input gradient | filter gradient |
|---|---|---|---|
| 64 x 16 x 14x14 -> 32 | 1504 -> 796 | 1329 -> 692 | 1580 -> 818 |
| 64 x 1 x 28x28 -> 16 | 311 -> 136 | 606 -> 107 | 358 -> 150 |
| 64 x 32 x 7x7 -> 32 | 950 -> 633 | 862 -> 561 | 1002 -> 575 |

Each image's product must run on the thread that calls it: OpenBLAS threads a product above
2^18 multiply-adds, or above 10^6 where its AVX-512 small-matrix kernels take the product, and
two threads each handing a product to its pool wait for each other (a filter gradient whose
products were threaded took 14.8 ms instead of 0.9). So while the kernels run, the OpenBLAS they
call (NumPy's or SciPy's, numba's np.dot) is set to one thread and an image's product is one
call; where it cannot be set, a larger image's product goes in calls of a few rows of its left
operand within that limit (single_thread_work, rows_within). 64 images of 32 channels at 28x28
-> 64 filters, forward and both gradients: 51.9 ms batched, 27.4 in calls of rows, 26.1 in
one call an image (32 x 32x26x26 -> 64: 14.0 -> 11.4). And numba's threads must not meet
BLAS's: after a threaded product OpenBLAS's threads spin for ~0.1 s, and a convolution split
over both cores then ran 4x slower (blas.threads_idle). So while numba's threads work the
images, products split over them too (blas.note_numba_threads, numba_blas.split_product).
benchmarks/conv.py, before -> after: one layer's forward and gradients 1.66 -> 0.92-0.98 ms,
the conv-pool-conv-pool-dense step 7.3 -> 5.5 ms, 4.3-4.4 with its pooling split over the
planes too (MaxPoolThunk) and its dense layer's blocks on numba's threads (blas; PyTorch
5.5-5.8).
"""
from . import numba_target  # (sets numba's vector width before numba is configured)
import contextlib
import functools

import numpy as np
from numba import config as numba_config

from . import blas, numba_blas
from .numba_kernels import window_loops

# Below this many multiply-adds a batch stays on the batched path. A layer's forward and both
# gradients, batched -> by images (us): 8 images 1x8x8 -> 8 filters (37K) 45 -> 52, 16 x 1x8x8
# -> 16 (147K) 64 -> 63, 16 x 4x8x8 -> 8 (295K) 116 -> 88, 32 x 1x8x8 -> 16 (295K) 95 -> 82,
# 64 x 16x4x4 -> 32 (4.7M) 584 -> 371, 32 x 16x14x14 -> 32 (29M) 2285 -> 1242.
MIN_WORK = 1 << 18
# OpenBLAS's small-matrix kernels take a product with its left operand transposed (in its
# column-major terms) only while the output has at most this many values (its SkylakeX permit).
FEW_OUTPUTS = 1200

ANY_WORK = 1 << 62
_single_thread_work = None


def single_thread_work():
    """The largest m * n * k that numba_blas's kernels' BLAS runs on the calling thread, with its
    operands C-ordered: any, where numba_blas.one_thread() can say so; else (SciPy's) 10^6 where
    OpenBLAS has its small-matrix kernels, 2^18 for another OpenBLAS (its threading threshold);
    0 where SciPy's BLAS is not an OpenBLAS found in the process (another library's threading
    is not known)."""
    global _single_thread_work
    if _single_thread_work is None:
        _single_thread_work = ANY_WORK if numba_blas.one_thread() else _openblas_own_limit()
    return _single_thread_work


@functools.cache
def _openblas_own_limit():
    """The largest call SciPy's OpenBLAS runs on its caller's thread by itself (see
    single_thread_work)."""
    found = numba_blas.scipy_openblas()
    if found is None:
        return 0
    return blas.SMALL_KERNEL_MNK if blas.has_small_kernels(found) else blas.MNK_THRESHOLD


def takes(x, other, w_shape, pixels):
    """Whether a convolution (of groups of one) of x (NCHW) by filters of w_shape, with `pixels`
    output pixels an image, goes image by image: two or more images, x and other (the filters,
    or the output's gradient) of one float dtype, enough work, one row of each kernel's left
    operand (a filter's or a tap's, rows_within) within one thread's product, more than one
    numba thread, and BLAS's threads not spinning."""
    o, taps = w_shape[0], w_shape[1] * w_shape[2] * w_shape[3]
    return (x.shape[0] > 1 and x.dtype == other.dtype and x.dtype.kind == "f" and x.dtype.itemsize in (4, 8)
            and o * taps * pixels * x.shape[0] >= MIN_WORK and thread_slots() > 1
            and max(o, taps) * pixels <= single_thread_work() and blas.threads_idle())


def batch_takes(a, b):
    """Whether a stack of products a[i] @ b[i] (float, one dtype) goes over numba's threads: enough
    work, each product within one thread's, more than one numba thread, BLAS's threads not
    spinning."""
    one = a.shape[1] * a.shape[2] * b.shape[2]
    return (a.dtype == b.dtype and a.dtype.itemsize in (4, 8) and one * a.shape[0] >= MIN_WORK
            and one <= single_thread_work() and thread_slots() > 1 and blas.threads_idle())


def forward(kernel, x, w, oh, ow):
    """The convolution of x by w (OIHW) into a new (n, o, oh, ow) array; kernel: forward_kernel's."""
    o, taps = w.shape[0], w[0].size
    out = np.empty((x.shape[0], o, oh, ow), x.dtype)
    with products_on_their_threads(o * taps * oh * ow):
        kernel(np.ascontiguousarray(x), np.ascontiguousarray(w.reshape(o, -1)), oh, ow,
               rows_within(taps * oh * ow), out, _buffers(taps, oh * ow, x.dtype))
    return out


def grad_input(kernel, gy, w, in_shape):
    """The gradient of the convolution's input (of in_shape) from its output's, gy; kernel:
    grad_input_kernel's."""
    o, taps = w.shape[0], w[0].size
    pixels = gy.shape[2] * gy.shape[3]
    dx = np.empty(in_shape, gy.dtype)
    with products_on_their_threads(o * taps * pixels):
        kernel(np.ascontiguousarray(gy), np.ascontiguousarray(w.reshape(o, -1).T), rows_within(o * pixels), dx,
               _buffers(taps, pixels, gy.dtype))
    return dx


def grad_filters(kernel, x, gy, w_shape):
    """The gradient of the filters (of w_shape) from x and the output's gradient gy; kernel:
    grad_filters_kernel's."""
    o, taps, slots = w_shape[0], int(np.prod(w_shape[1:])), thread_slots()
    pixels = gy.shape[2] * gy.shape[3]
    few = o * taps <= FEW_OUTPUTS
    shape = (slots, o, taps) if few else (slots, taps, o)
    acc = np.zeros(shape, x.dtype)
    rows = rows_within((taps if few else o) * pixels)  # (the left operand: gy's filters, or the taps)
    with products_on_their_threads(o * taps * pixels):
        kernel(np.ascontiguousarray(x), np.ascontiguousarray(gy), rows, _buffers(taps, pixels, x.dtype),
               np.empty((1, 1, 1) if few else (slots, pixels, o), x.dtype), np.empty(shape, x.dtype), acc, few)
    total = acc.sum(axis=0)
    return np.ascontiguousarray(total if few else total.T).reshape(w_shape)


def _dot():
    return "gemm_into" if numba_blas.numpy_gemm() else "np.dot"


def _dot_import():
    return "from symgraph.backends.numba_numpy_gemm import gemm_into\n" if numba_blas.numpy_gemm() else ""


def products_on_their_threads(image_work):
    """The context the kernels here run in: NumPy's OpenBLAS at one thread where they call it
    (numba_blas.numpy_gemm: NumPy's took a 64x576 @ 576x144 product at one thread in 127 us,
    SciPy's in 166), else each_call_on_its_thread's for SciPy's."""
    return blas.numpy_one_thread() if numba_blas.numpy_gemm() else each_call_on_its_thread(image_work)


def each_call_on_its_thread(image_work):
    """The context a kernel calling numba's np.dot on numba's threads runs in: SciPy's OpenBLAS
    at one thread (numba_blas.scipy_one_thread) where an image's product, `image_work` multiply-adds,
    passes the size OpenBLAS keeps on one thread by itself (setting it costs ~1 us)."""
    if image_work <= _openblas_own_limit():
        return contextlib.nullcontext()
    return numba_blas.scipy_one_thread() or contextlib.nullcontext()


def rows_within(row_work):
    """How many rows of a product's left operand one call takes, each row costing row_work
    multiply-adds, so that every call stays within single_thread_work (at least one)."""
    return max(1, single_thread_work() // max(row_work, 1))


def _buffers(taps, pixels, dtype):
    """One window matrix (taps, pixels) per numba thread."""
    return np.empty((thread_slots(), taps, pixels), dtype)


def forward_kernel(kh, kw, sh, sw, dh, dw, pt, pl):
    """kernel(x, w2d, oh, ow, rows, out, scratch): out[n] (o, oh*ow) = w2d (o, taps) @ the
    windows of x[n], `rows` filters a call."""
    from .numba_codegen import compile_source
    return compile_source(f"""{_dot_import()}from numba import get_thread_id


@njit(cache=True, nogil=True, parallel=True)
def kernel(x, w2d, oh, ow, rows, out, scratch):
    n_, c_, h, w = x.shape
    o = w2d.shape[0]
    planes = out.reshape(n_, o, oh * ow)
    for n in prange(n_):
        cols = scratch[get_thread_id()]
        for c in range(c_):
{window_loops(kh, kw, sh, sw, dh, dw, pt, pl, "y * ow + z", False, " " * 12)}
        plane = planes[n]
        for r in range(0, o, rows):
            {_dot()}(w2d[r:r + rows], cols, plane[r:r + rows])
""")


def grad_input_kernel(kh, kw, sh, sw, dh, dw, pt, pl):
    """kernel(gy, w2dT, rows, dx, scratch): the windows of dx[n] = w2dT (taps, o) @ gy[n]
    (o, oh*ow), `rows` taps a call, each added back where it came from (col2im); dx is
    written whole."""
    from .numba_codegen import compile_source
    return compile_source(f"""{_dot_import()}from numba import get_thread_id


@njit(cache=True, nogil=True, parallel=True)
def kernel(gy, w2dT, rows, dx, scratch):
    n_, o, oh, ow = gy.shape
    c_, h, w = dx.shape[1], dx.shape[2], dx.shape[3]
    taps = w2dT.shape[0]
    planes = gy.reshape(n_, o, oh * ow)
    for n in prange(n_):
        cols = scratch[get_thread_id()]
        for r in range(0, taps, rows):
            {_dot()}(w2dT[r:r + rows], planes[n], cols[r:r + rows])
        for c in range(c_):
            for y in range(h):
                for z in range(w):
                    dx[n, c, y, z] = 0
        for c in range(c_):
{window_loops(kh, kw, sh, sw, dh, dw, pt, pl, "y * ow + z", True, " " * 12)}
""")


def grad_filters_kernel(kh, kw, sh, sw, dh, dw, pt, pl):
    """kernel(x, gy, rows, scratch, gT, part, acc, few): acc[t] += the filter gradient of the
    images n thread t takes (acc starts at zero; the caller sums over t). few: gy[n] (o, oh*ow)
    @ the windows of x[n] transposed, into acc (threads, o, taps): OpenBLAS's small kernels take
    that transposed form while o * taps <= FEW_OUTPUTS. Else the windows @ gy[n].T into acc
    (threads, taps, o), gy[n] copied transposed into gT[t] first so that both operands are
    C-ordered (the transposed form threads there). `rows` of the left operand a call."""
    from .numba_codegen import compile_source
    return compile_source(f"""{_dot_import()}from numba import get_thread_id


@njit(cache=True, nogil=True, parallel=True)
def kernel(x, gy, rows, scratch, gT, part, acc, few):
    n_, c_, h, w = x.shape
    o, oh, ow = gy.shape[1], gy.shape[2], gy.shape[3]
    planes = gy.reshape(n_, o, oh * ow)
    for n in prange(n_):
        t = get_thread_id()
        cols = scratch[t]
        for c in range(c_):
{window_loops(kh, kw, sh, sw, dh, dw, pt, pl, "y * ow + z", False, " " * 12)}
        into = part[t]
        if few:
            for r in range(0, o, rows):
                {_dot()}(planes[n][r:r + rows], cols.T, into[r:r + rows])
        else:
            g = gT[t]
            for k in range(o):
                for p in range(oh * ow):
                    g[p, k] = planes[n, k, p]
            for r in range(0, cols.shape[0], rows):
                {_dot()}(cols[r:r + rows], g, into[r:r + rows])
        for r in range(acc.shape[1]):
            for k in range(acc.shape[2]):
                acc[t, r, k] += into[r, k]
""")


def thread_slots():
    """Rows for per-thread buffers: numba's get_thread_id is below NUMBA_NUM_THREADS."""
    return max(1, int(numba_config.NUMBA_NUM_THREADS))


numba_target.load_kernels_without_refresh(globals())
