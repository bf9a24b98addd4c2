"""Matrix products for the whole-step programs (numba_program), compiled once and cached.

Typing np.dot inside a function builds numba's BLAS bindings for it: 0.45 s for each
product of a program compiled afresh. Called through this one cached function, a program's
products cost that once per process and machine (0.25 s to load, 0.1 s to link).
"""
from . import numba_target  # noqa: F401  (sets numba's vector width before any @njit)
import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True)
def dot2(a, b):
    """np.dot of two float matrices of one dtype (BLAS gemm)."""
    return np.dot(a, b)


@njit(cache=True, nogil=True, parallel=True)
def row_blocks(a, b, out, rows):
    """out = a @ b in calls of `rows` rows of a, split over numba's threads (each call within
    OpenBLAS's single-thread small-matrix kernels: blas._in_single_thread_blocks)."""
    calls = (a.shape[0] + rows - 1) // rows
    for call in prange(calls):
        start = call * rows
        np.dot(a[start:start + rows], b, out[start:start + rows])
