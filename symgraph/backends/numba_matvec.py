"""Matrix-vector products (x @ w of a logistic regression, its gradient x.T @ g) on both cores.

NumPy's OpenBLAS runs gemv on one thread below m * n = 460800 (its interface/gemv.c threads
from 115200 * GEMM_MULTITHREAD_THRESHOLD, 4: measured 401408 one thread, 501760 two), where a
logistic regression step's two products are half its time. These loops split them over
numba's threads from a matrix of MATVEC_MIN_BYTES up to that size (AMD EPYC Zen 4, 2 cores; us,
OpenBLAS against these):
  float32 256x784  x @ w 10.2 -> 7.0, x.T @ g 10.2 -> 8.0;  400x784  15.5 -> 9.2, 15.5 -> 9.8
  float64 400x784  x @ w 31.7 -> 18.4, x.T @ g 31.4 -> 19.0;  128x784  9.9 -> 6.7, 10.4 -> 8.1
  float32 128x784  5.0 -> 4.3, 5.2 -> 5.7;  64x784  3.0 -> 3.1, 3.1 -> 4.8 (below MATVEC_MIN_BYTES:
  the threads' start is the cost)
Above it OpenBLAS's threaded gemv is as fast as these (1024x784 float32 x.T @ g 28 against 26).

The row sums reassociate (fastmath "reassoc" only: NaN and infinities as NumPy's), as BLAS's
own blocked sums do; the column sums add each partial row in order.
"""
from . import numba_target  # noqa: F401  (sets numba's vector width before any @njit)

import numba
import numpy as np
from numba import njit, prange

from . import blas

MATVEC_MIN_BYTES = 1 << 19
MATVEC_MAX = 460800  # matrix elements: from here NumPy's OpenBLAS runs gemv on its threads


@njit(cache=True, nogil=True, parallel=True, fastmath={"reassoc"})
def row_sums(a, v, out):
    """out[i] = sum_j a[i, j] v[j] for a C-ordered matrix a: its rows split over the threads."""
    n, m = a.shape
    for i in prange(n):
        total = out.dtype.type(0)
        for j in range(m):
            total += a[i, j] * v[j]
        out[i] = total


@njit(cache=True, nogil=True, parallel=True)
def column_sums(a, v, out, blocks):
    """out[j] = sum_i v[i] a[i, j] for a C-ordered matrix a: its rows split into `blocks`
    blocks, each summed into its own partial row on one thread, four rows of a at a time (a
    quarter of the passes over the partial row), then the partial rows added in order."""
    n, m = a.shape
    parts = np.empty((blocks, m), out.dtype)
    step = (n + blocks - 1) // blocks
    for block in prange(blocks):
        start, stop = block * step, min(n, block * step + step)
        part = parts[block]
        part[:] = 0
        i = start
        while i + 4 <= stop:
            v0, v1, v2, v3 = v[i], v[i + 1], v[i + 2], v[i + 3]
            for j in range(m):
                part[j] += v0 * a[i, j] + v1 * a[i + 1, j] + v2 * a[i + 2, j] + v3 * a[i + 3, j]
            i += 4
        while i < stop:
            vi = v[i]
            for j in range(m):
                part[j] += vi * a[i, j]
            i += 1
    out[:] = parts[0]
    for block in range(1, blocks):  # (on this thread: a second parallel loop's start cost more)
        for j in range(m):
            out[j] += parts[block, j]


class MatVecThunk:
    """Dot of a float matrix and a vector of one dtype, either way round (x @ w, g @ x): on
    numba's threads from MATVEC_MIN_BYTES below MATVEC_MAX matrix elements, else np.dot (`reference`).
    The graph decides `on_threads` (numba_cpu.compile_graph): only where its other products
    wake no BLAS threads, whose spinning beside numba's slows both, and never while a product
    symgraph handed to BLAS's threads may keep them spinning (blas.threads_idle)."""

    def __init__(self, node, reference):
        self.reference = reference
        self.matrix_first = node.inputs[0].ndim == 2
        self.dtype = np.dtype(node.outputs[0].dtype)
        self.min_size = MATVEC_MIN_BYTES // self.dtype.itemsize
        self.threads = numba.config.NUMBA_NUM_THREADS  # (numba.get_num_threads() costs 0.8 us)
        self.on_threads = self.threads > 1

    def __call__(self, inputs):
        a, b = inputs
        matrix, vector = (a, b) if self.matrix_first else (b, a)
        dtype = self.dtype
        if (not self.on_threads or not self.min_size <= matrix.size < MATVEC_MAX or matrix.dtype is not dtype
                or vector.dtype is not dtype or vector.strides[0] != dtype.itemsize or not blas.threads_idle()):
            return self.reference(inputs)
        rows = matrix if self.matrix_first else matrix.T  # the product is rows @ vector
        if rows.shape[1] != vector.shape[0]:
            return self.reference(inputs)  # (np.dot's error)
        if rows.flags.c_contiguous:
            out = np.empty(rows.shape[0], dtype)
            row_sums(rows, vector, out)
            return [out]
        if rows.flags.f_contiguous:
            columns = rows.T
            out = np.empty(columns.shape[1], dtype)
            column_sums(columns, vector, out, self.threads)
            return [out]
        return self.reference(inputs)
