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
OpenBLAS's x @ w of a narrow matrix (a linear regression's few features) is slow at any size:
row sums take rows of up to NARROW_COLUMNS values from NARROW_MIN_BYTES (float32 3000x10 9.4 ->
7.0, 10000x10 51 -> 16, float64 10000x3 80 -> 8.7; 1000x10 float64, 78 KB, 4.95 -> 4.92). Its
x.T @ g of one is not: column sums take matrices of COLUMN_SUMS_MIN columns or more (1.5 MB
float32 with 3 columns 63 -> 270, 10 columns 73 -> 135, 32 columns 21 -> 27, 128 columns 21.6 ->
18.2). Above MATVEC_MAX OpenBLAS's threaded gemv was as fast as these (1024x784 float32 x.T @ g 28
against 26), and its threads, woken, would spin beside numba's.

The row sums reassociate (fastmath "reassoc" only: NaN and infinities as NumPy's), as BLAS's
own blocked sums do; the column sums add each partial row in order.
"""
from . import numba_target  # (sets numba's vector width before any @njit)

import numba
import numpy as np
from numba import njit, prange

from . import blas

MATVEC_MIN_BYTES = 1 << 19
MATVEC_MAX = 460800  # matrix elements: from here NumPy's OpenBLAS runs gemv on its threads
NARROW_COLUMNS, NARROW_MIN_BYTES = 32, 1 << 16
COLUMN_SUMS_MIN = 128


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


def one_column_or_row(a, b):
    """Whether a @ b is a matrix-vector product this module runs: a float matrix and vector of
    one dtype either way round, or a matrix and a matrix of one column (b) or one row (a) by
    their static shapes (Keras's Dense(1): x @ W with W 784x1, its gradient x.T @ G)."""
    if not (a.dtype == b.dtype in ("float32", "float64")):
        return False
    if a.ndim == b.ndim == 2:
        return b.type.shape[1] == 1 or a.type.shape[0] == 1
    return sorted([a.ndim, b.ndim]) == [1, 2]


class MatVecThunk:
    """A Dot node whose operands `one_column_or_row` takes (the product of a Gemm too: its
    `product`): on numba's threads within the sizes above, else as before (_elsewhere;
    `reference` where the operands' dtypes differ from the result's). The graph decides `on_threads`
    (numba_cpu.compile_graph): only where its other products wake no BLAS threads, whose
    spinning beside numba's slows both, and never while a product may keep them spinning
    (blas.threads_idle: this thunk's own from MATVEC_MAX too)."""

    def __init__(self, a, b, dtype, reference=None):
        self.reference = reference
        # The product is matrix @ vector (matrix_first) or vector @ matrix; two_d: the vector
        # is a matrix's one column (b) or one row (a), the result a matrix of one column or row.
        self.matrix_first = b.ndim == 1 or (a.ndim == 2 and b.type.shape[1] == 1)
        self.two_d = a.ndim == b.ndim == 2
        self.summed_axis = 1 if self.matrix_first else 0  # (the matrix's axis the product sums over)
        self.dtype = np.dtype(dtype)
        self.min_size = MATVEC_MIN_BYTES // self.dtype.itemsize
        self.narrow_min_size = NARROW_MIN_BYTES // self.dtype.itemsize
        self.threads = numba.config.NUMBA_NUM_THREADS  # (numba.get_num_threads() costs 0.8 us)
        self.on_threads = self.threads > 1

    def __call__(self, inputs):
        a, b = inputs
        if a.dtype is not self.dtype or b.dtype is not self.dtype:
            return self.reference(inputs)  # (its result cast to the node's dtype)
        return [self.product(a, b)]

    def product(self, a, b):
        """a @ b, a new array, for operands of the thunk's dtype."""
        matrix, vector = (a, b) if self.matrix_first else (b, a)
        dtype, size = self.dtype, matrix.size
        if size < self.min_size and (size < self.narrow_min_size or matrix.shape[self.summed_axis] > NARROW_COLUMNS):
            return self._elsewhere(a, b)  # (no loop below takes it: decided before their checks, 0.6 us)
        if not self.on_threads:
            return self._elsewhere(a, b)
        if size >= MATVEC_MAX:
            blas.note_threads_busy()  # (OpenBLAS's gemv on its threads)
            return self._elsewhere(a, b)
        rows = matrix if self.matrix_first else matrix.T  # the product is rows @ vector
        n, m = rows.shape
        if self.two_d:
            if vector.shape[1 if self.matrix_first else 0] != 1:
                return self._elsewhere(a, b)
            vector = vector[:, 0] if self.matrix_first else vector[0]
        if m != vector.shape[0] or vector.strides[0] != dtype.itemsize or not blas.threads_idle():
            return self._elsewhere(a, b)  # (a wrong length: np.dot's error)
        flags = rows.flags
        if flags.c_contiguous and (size >= self.min_size or m <= NARROW_COLUMNS):
            out = np.empty(n, dtype)
            row_sums(rows, vector, out)
        elif flags.f_contiguous and not flags.c_contiguous and size >= self.min_size and n >= COLUMN_SUMS_MIN:
            out = np.empty(n, dtype)
            column_sums(rows.T, vector, out, self.threads)
        else:
            return self._elsewhere(a, b)
        if self.two_d:  # (a view of the new array: one column, or one row)
            return out.reshape((n, 1) if self.matrix_first else (1, n))
        return out

    def _elsewhere(self, a, b):
        """The product where the loops do not take it: np.dot's for a vector (the reference's
        cast to a dtype named by its string cost 0.3 us), blas.product's for two matrices (its
        single-thread blocks while numba's threads work a convnet, MKL where asked for)."""
        return blas.product(a, b) if self.two_d else np.dot(a, b)


numba_target.load_kernels_without_refresh(globals())
