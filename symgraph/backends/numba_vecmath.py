"""float32 exp, tanh and sigmoid written so LLVM can vectorize them.

Numba calls scalar libm for np.exp/np.tanh, which does not vectorize: a fused loop of
transcendentals ran slower than NumPy (whose float32 math is SIMD). These are branch-free
(Cody-Waite reduction, Cephes polynomials, the exponent built by an integer bitcast), accurate
to about 2 ulp over the whole float32 range, with NumPy's results for 0, +-inf and NaN.
They are not "fast math": no IEEE rule is relaxed.
"""
import numpy as np
from llvmlite import ir
from numba import njit
from numba.core import types
from numba.extending import intrinsic


@intrinsic
def _bits_to_float32(typingctx, bits):
    """Reinterpret the low 32 bits of an integer as a float32 (LLVM trunc + bitcast, which
    vectorize; numba widens int32 arithmetic to int64, hence the trunc)."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        value = args[0]
        if bits.bitwidth > 32:
            value = builder.trunc(value, ir.IntType(32))
        return builder.bitcast(value, ir.FloatType())
    return types.float32(bits), codegen


_LOG2E = np.float32(1.44269504088896341)
_LN2_HI, _LN2_LO = np.float32(0.693359375), np.float32(-2.12194440e-4)
# Cephes expf and tanhf coefficients (tuples: numba folds them as constants).
_P = tuple(np.float32(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,
                                   4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1))
_T = tuple(np.float32(c) for c in (-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2,
                                   1.33314422036e-1, -3.33332819422e-1))
_LO, _HI = np.float32(-104.0), np.float32(89.0)
_ONE, _TWO, _HALF = np.float32(1.0), np.float32(2.0), np.float32(0.5)


@njit(inline="always", cache=True)
def exp32(x):
    x = np.float32(x)
    c = _LO if x < _LO else x
    c = _HI if c > _HI else c                    # NaN stays NaN (comparisons are false)
    n = np.floor(c * _LOG2E + _HALF)
    r = c - n * _LN2_HI - n * _LN2_LO            # c - n ln2, in two parts for accuracy
    p = _P[0]
    p = p * r + _P[1]
    p = p * r + _P[2]
    p = p * r + _P[3]
    p = p * r + _P[4]
    p = p * r + _P[5]
    y = p * r * r + r + _ONE
    k = np.int32(n) if c == c else np.int32(0)
    half = k >> 1                                 # 2^k as two factors reaches subnormals and inf
    e1 = _bits_to_float32((half + np.int32(127)) << np.int32(23))
    e2 = _bits_to_float32((k - half + np.int32(127)) << np.int32(23))
    return y * e1 * e2 if c == c else x


@njit(inline="always", cache=True)
def tanh32(x):
    x = np.float32(x)
    a = abs(x)
    z = x * x
    p = _T[0]
    p = p * z + _T[1]
    p = p * z + _T[2]
    p = p * z + _T[3]
    p = p * z + _T[4]
    small = x + x * z * p                         # |x| < 0.625: odd polynomial, no cancellation
    small = x if a == 0 else small                # keep the sign of -0.0
    t = _ONE - _TWO / (exp32(a + a) + _ONE)
    large = t if x > 0 else -t
    return small if a < np.float32(0.625) else large


@njit(inline="always", cache=True)
def sigmoid32(x):
    x = np.float32(x)
    return _ONE / (_ONE + exp32(-x))


VECTOR_FORMS = {"exp": "exp32({0})", "tanh": "tanh32({0})", "sigmoid": "sigmoid32({0})"}
