"""Matrix products numba's code makes: the whole-step programs' (numba_program) where NumPy's
own OpenBLAS is not found (numba_numpy_gemm), and products split over numba's threads.

Typing np.dot inside a function builds numba's BLAS bindings for it: 0.45 s for each
product of a program compiled afresh. Called through this one cached function, a program's
products cost that once per process and machine (0.25 s to load, 0.1 s to link).

Products on numba's threads must each run on the thread that calls them: two threads each
handing a product to OpenBLAS's pool wait for each other (a convolution's filter gradient took
14.8 ms instead of 0.9). The split products call NumPy's OpenBLAS where numba_numpy_gemm
registered its gemm and it can be set to one thread (`numpy_gemm`: its products 10-40% faster
on the AMD EPYC than SciPy's, and SciPy's BLAS is not loaded), else numba's np.dot, SciPy's
OpenBLAS. `one_thread()` sets the one they call to one thread while numba's threads call it, so
a call of any size stays on its thread; where neither can be told (another BLAS), calls must
stay within OpenBLAS's own single-thread limit (numba_conv.single_thread_work).
"""
from . import numba_target  # (sets numba's vector width before any @njit)
import functools

import numpy as np
from numba import njit, prange

from . import blas


@njit(cache=True, nogil=True)
def dot2(a, b):
    """np.dot of two float matrices of one dtype (BLAS gemm), or of a vector and a matrix (gemv)."""
    return np.dot(a, b)


@njit(cache=True, nogil=True, parallel=True)
def row_blocks(a, b, out, rows):
    """out = a @ b in calls of `rows` rows of a, split over numba's threads (each call on its
    thread: within one_thread() or OpenBLAS's single-thread limit)."""
    calls = (a.shape[0] + rows - 1) // rows
    for call in prange(calls):
        start = call * rows
        np.dot(a[start:start + rows], b, out[start:start + rows])


@njit(cache=True, nogil=True, parallel=True)
def inner_blocks(a, b, parts, step):
    """parts[i] = a[:, i*step:(i+1)*step] @ b[i*step:(i+1)*step], split over numba's threads:
    a product of few rows and a long inner dimension in slices of that dimension (parts sum
    to a @ b). Each thread reads its slice of b only, where row blocks all read all of b."""
    for call in prange(parts.shape[0]):
        start = call * step
        np.dot(np.ascontiguousarray(a[:, start:start + step]), b[start:start + step], parts[call])


@njit(cache=True, nogil=True, parallel=True)
def batch_products(a, b, out):
    """out[i] = a[i] @ b[i] for C-ordered stacks of float matrices of one dtype, the batch split
    over numba's threads (each product on its thread: within one_thread() or OpenBLAS's
    single-thread limit)."""
    for i in prange(a.shape[0]):
        np.dot(a[i], b[i], out[i])


def split_product(a, b, threads):
    """a @ b (float matrices of one dtype, a C-ordered, b C- or F-ordered) split over `threads`
    of numba's threads, each part one call of BLAS on its thread (blocks_of: NumPy's OpenBLAS
    where numpy_gemm, else SciPy's): by slices of the
    inner dimension where it is at least as long as a's rows and b is C-ordered (32x9216 @
    9216x128: 512 us, OpenBLAS's own two threads 566, row blocks 645; 128x784 @ 784x512: 382,
    358, 445), else by rows. Call within one_thread()."""
    (m, k), n = a.shape, b.shape[1]
    rows, inner, _ = blocks_of()
    if k >= m and k >= 2 * threads and b.flags.c_contiguous:
        step = -(-k // threads)
        parts = np.empty((-(-k // step), m, n), a.dtype)
        inner(a, b, parts, step)
        return parts.sum(axis=0)
    out = np.empty((m, n), a.dtype)
    rows(a, b, out, max(1, -(-m // threads)))
    return out


def blocks_of():
    """(row_blocks, inner_blocks, batch_products) calling the BLAS one_thread() sets: NumPy's
    OpenBLAS's (numba_numpy_gemm) where numpy_gemm, else these, numba's np.dot. (Two sets of
    kernels, not one calling a function chosen at import: numba's disk cache does not see a
    global's value, and a kernel cached calling NumPy's gemm would not link where it is not
    registered.)"""
    if numpy_gemm():
        from . import numba_numpy_gemm as kernels
        return kernels.row_blocks, kernels.inner_blocks, kernels.batch_products
    return row_blocks, inner_blocks, batch_products


@functools.cache
def numpy_gemm():
    """Whether products on numba's threads call NumPy's OpenBLAS (numba_numpy_gemm's
    gemm_into), set to one thread while they run (blas.numpy_one_thread), rather than
    SciPy's (numba's np.dot): on this AMD EPYC NumPy's (0.3.31) took a 64x288 @ 288x576 float32
    product at one thread in 250 us, SciPy's (0.3.30) in 315-330; split over two threads,
    32x9216 @ 9216x128 690 us against 1013, 3136x64 @ 64x128 326 against 546."""
    from .numba_numpy_gemm import DOT
    return DOT is not None and blas.numpy_one_thread() is not None


def one_thread():
    """A context in which the OpenBLAS the split products call (NumPy's where numpy_gemm, else
    SciPy's) runs each call on its caller's thread, or None where it cannot be set (then
    numba_conv.single_thread_work bounds each call)."""
    return blas.numpy_one_thread() if numpy_gemm() else scipy_one_thread()


@functools.cache
def scipy_one_thread():
    """That context for SciPy's OpenBLAS, numba's np.dot's (dot2 and the kernels here), or None."""
    return _find_one_thread()


@functools.cache
def scipy_openblas():
    """blas.openblas_library's answer for the OpenBLAS SciPy bundles (the BLAS numba's np.dot
    calls), loading it; None without SciPy or where its BLAS is no OpenBLAS found here."""
    return _find_scipy_openblas()


def _find_scipy_openblas():
    try:
        import scipy
        import scipy.linalg.cython_blas  # noqa: F401  (loads SciPy's BLAS: numba's np.dot calls it)
    except ImportError:
        return None
    return blas.openblas_library(scipy.__file__)


def _find_one_thread():
    return blas.OneThread.of(scipy_openblas())


numba_target.load_kernels_without_refresh(globals())
