"""Matrix products for the whole-step programs (numba_program), compiled once and cached.

Typing np.dot inside a function builds numba's BLAS bindings for it: 0.45 s for each
product of a program compiled afresh. Called through this one cached function, a program's
products cost that once per process and machine (0.25 s to load, 0.1 s to link).
"""
from . import numba_target  # noqa: F401  (sets numba's vector width before any @njit)
import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def dot2(a, b):
    """np.dot of two float matrices of one dtype (BLAS gemm)."""
    return np.dot(a, b)
