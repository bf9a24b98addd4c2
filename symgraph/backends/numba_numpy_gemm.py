"""Matrix products in compiled loops through the OpenBLAS NumPy calls, not SciPy's.

numba's np.dot calls SciPy's OpenBLAS: a second library with a pool of threads of its own. In
a scan's compiled loop (numba_scan) between products NumPy ran outside it, NumPy's threads
still spin after their last call while SciPy's start: on two cores an RNN step of batch 128 x
128 hidden took 16.8 ms instead of 4 (so the loop ran SciPy's at one thread: 5.5 ms, NumPy by
hand 4.7 with both threads). Here numba's code calls NumPy's cblas gemm itself: one pool for
the whole step. numba_conv's image-by-image kernels and numba_blas's split products call it
too (gemm_into, NumPy's OpenBLAS set to one thread meanwhile): NumPy's 0.3.31 ran their
products 25-30% faster than SciPy's 0.3.30 on the AMD EPYC.

The gemm is reached by a symbol registered with LLVM (llvmlite's add_symbol) when this module
is imported, as numba reaches its own C helpers: compiled code names it, so numba's disk cache
keeps working. Only an OpenBLAS with 64-bit integers (NumPy's wheels' scipy-openblas64) is
taken, the one width the compiled call is written for; elsewhere (another BLAS, another
platform, 32-bit integers) DOT is None, nothing is registered, and programs keep numba's np.dot.
"""
import ctypes

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from . import blas
from .numba_target import load_kernels_without_refresh

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_SYMBOLS = {"s": "symgraph_numpy_sgemm_i64", "d": "symgraph_numpy_dgemm_i64"}


def _register():
    """Whether NumPy's OpenBLAS (64-bit integers) was found and its gemm symbols registered."""
    found = blas.openblas_library(np.__file__)
    if found is None or found[3] is not ctypes.c_int64:
        return False
    lib, prefix, suffix, _ = found
    for letter, symbol in _SYMBOLS.items():
        llvm.add_symbol(symbol, ctypes.cast(getattr(lib, f"{prefix}cblas_{letter}gemm{suffix}"), ctypes.c_void_p).value)
    return True


def _gemm_call(letter):
    """An intrinsic gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc): c = a @ b in row
    major, alpha 1, beta 0. The arrays themselves are its arguments, not their addresses: an
    array whose address alone was passed could be freed before the call (a copy made for it
    was, reading freed memory), as numba releases a value after its last use."""

    @intrinsic
    def gemm(typingctx, trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc):
        size = types.int64
        sig = types.none(types.int32, types.int32, size, size, size, a, size, b, size, c, size)

        def codegen(context, builder, signature, args):
            flag, integer, pointer = ir.IntType(32), ir.IntType(64), ir.IntType(8).as_pointer()
            real = ir.FloatType() if letter == "s" else ir.DoubleType()
            fnty = ir.FunctionType(ir.VoidType(), [flag, flag, flag, integer, integer, integer, real, pointer,
                                                   integer, pointer, integer, real, pointer, integer])
            fn = cgutils.get_or_insert_function(builder.module, fnty, _SYMBOLS[letter])
            ta, tb, m_, n_, k_, a_, lda_, b_, ldb_, c_, ldc_ = args

            def data(ty, value):
                return builder.bitcast(context.make_array(ty)(context, builder, value).data, pointer)
            array_types = signature.args[5], signature.args[7], signature.args[9]
            builder.call(fn, [flag(_ROW_MAJOR), ta, tb, m_, n_, k_, real(1.0), data(array_types[0], a_), lda_,
                              data(array_types[1], b_), ldb_, real(0.0), data(array_types[2], c_), ldc_])
            return context.get_dummy_value()
        return sig, codegen
    return gemm


_sgemm, _dgemm = _gemm_call("s"), _gemm_call("d")


@njit(cache=True, nogil=True)
def _layout(x):
    """(x's transpose flag, its leading dimension) where its rows or its columns are contiguous
    (as blas._operand), else (-1, 0)."""
    rows, cols = x.shape
    item = x.itemsize
    s0, s1 = x.strides
    if (s1 == item or cols == 1) and s0 % item == 0 and s0 >= max(cols, 1) * item:
        return np.int32(_NO_TRANS), s0 // item
    if (s0 == item or rows == 1) and s1 % item == 0 and s1 >= max(rows, 1) * item:
        return np.int32(_TRANS), s1 // item
    return np.int32(-1), 0


@njit(cache=True, nogil=True)
def _operand(x):
    """(x or a C-ordered copy, its transpose flag, its leading dimension), as blas._operand."""
    flag, ld = _layout(x)
    if flag >= 0:
        return x, flag, ld
    return np.ascontiguousarray(x), np.int32(_NO_TRANS), max(x.shape[1], 1)


@njit(cache=True, nogil=True)
def _product(a, b):
    """a @ b of two float matrices of one dtype, a new C-ordered array."""
    out = np.empty((a.shape[0], b.shape[1]), a.dtype)
    numpy_dot_into(a, b, out)
    return out


@njit(cache=True, nogil=True)
def numpy_dot_into(a, b, out):
    """out[...] = a @ b of float matrices of one dtype (np.dot's out=); out's rows contiguous
    and in order (a C-ordered array or a run of its rows, as numba_conv's buffers: BLAS's
    leading dimension) or else written from a new array (reversed or overlapping rows too:
    a leading dimension made of those would write outside out)."""
    m, k = a.shape
    n = b.shape[1]
    if m == 0 or n == 0:
        return
    ldc = _rows_ld(out)
    if k == 0:
        out[:] = 0
    elif ldc > 0:
        _gemm(a, b, out, ldc)
    else:
        rows = np.empty((m, n), out.dtype)
        _gemm(a, b, rows, n)
        for i in range(m):  # (not out[:] = rows: see copy_rows)
            copy_rows(rows[i], out[i])


@njit(cache=True, nogil=True)
def _rows_ld(out):
    """out's leading dimension (BLAS's ldc) where its rows are contiguous and in order, else 0
    (reversed or overlapping rows: a leading dimension made of those would write outside out)."""
    m, n = out.shape
    item = out.itemsize
    ldc = out.strides[0] // item if m > 1 else n
    in_order = (out.strides[1] == item or n == 1) and ldc >= n and (m == 1 or out.strides[0] % item == 0)
    return ldc if in_order else 0


@njit(cache=True, nogil=True)
def copy_rows(source, target):
    """target[:] = source, both 1-d of one length, value by value: numba's slice assignment of
    an array compiles its shape-mismatch message (string formatting: numpy_dot's first
    compile in a process 5.5 s, 1.5 without)."""
    for j in range(source.shape[0]):
        target[j] = source[j]


@njit(cache=True, nogil=True)
def _gemm(a, b, out, ldc):
    a, ta, lda = _operand(a)
    b, tb, ldb = _operand(b)
    _call(ta, tb, a, lda, b, ldb, out, ldc)


@njit(cache=True, nogil=True)
def _call(ta, tb, a, lda, b, ldb, out, ldc):
    """NumPy's sgemm or dgemm by a's dtype: out = a @ b, operands laid out as their flags say."""
    m, k, n = a.shape[0], a.shape[1], b.shape[1]
    if a.itemsize == 4:  # (float32; both calls type for either dtype: the intrinsic takes any array)
        _sgemm(ta, tb, m, n, k, a, lda, b, ldb, out, ldc)
    else:
        _dgemm(ta, tb, m, n, k, a, lda, b, ldb, out, ldc)


@njit(cache=True, nogil=True)
def gemm_into(a, b, out):
    """out[...] = a @ b of float matrices of one dtype, each operand's rows or columns
    contiguous (a C-ordered array, a run of its rows, their transposes) and out's rows: the
    products of numba_conv's kernels and of the split products below, whose operands always
    are. No operand is copied, so none of numpy_dot_into's copying code (np.ascontiguousarray)
    is compiled into them: a parallel convolution kernel (3x3, float32) compiled in 3.2 s, not
    4.9 (one that multiplies nothing: 2.9)."""
    m, k = a.shape
    n = b.shape[1]
    if m == 0 or n == 0:
        return
    if k == 0:
        out[:] = 0
        return
    ta, lda = _layout(a)
    tb, ldb = _layout(b)
    ldc = _rows_ld(out)
    if ta < 0 or tb < 0 or ldc == 0:
        raise ValueError("gemm_into: an operand's rows or columns, or the output's rows, are not contiguous")
    _call(ta, tb, a, lda, b, ldb, out, ldc)


@njit(cache=True, nogil=True)
def numpy_dot(a, b):
    """np.dot of two float matrices of one dtype, or of a vector and a matrix either way round."""
    if a.ndim == 1 and b.ndim == 2:
        return _product(np.ascontiguousarray(a).reshape((1, a.shape[0])), b).reshape(b.shape[1])
    if a.ndim == 2 and b.ndim == 1:
        return _product(a, np.ascontiguousarray(b).reshape((b.shape[0], 1))).reshape(a.shape[0])
    return _product(a, b)


# numba_blas's products split over numba's threads (its docstrings say how), each part through
# NumPy's gemm (gemm_into) on its thread (numba_blas.numpy_gemm: NumPy's OpenBLAS set to one thread).
@njit(cache=True, nogil=True, parallel=True)
def row_blocks(a, b, out, rows):
    calls = (a.shape[0] + rows - 1) // rows
    for call in prange(calls):
        start = call * rows
        gemm_into(a[start:start + rows], b, out[start:start + rows])


@njit(cache=True, nogil=True, parallel=True)
def inner_blocks(a, b, parts, step):
    for call in prange(parts.shape[0]):
        start = call * step
        gemm_into(a[:, start:start + step], b[start:start + step], parts[call])


@njit(cache=True, nogil=True, parallel=True)
def batch_products(a, b, out):
    for i in prange(a.shape[0]):
        gemm_into(a[i], b[i], out[i])


# What generated code calls, where NumPy's OpenBLAS was registered; else None.
DOT = "numpy_dot" if _register() else None


load_kernels_without_refresh(globals())
