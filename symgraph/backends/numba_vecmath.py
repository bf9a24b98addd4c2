"""Scalar functions written so LLVM can vectorize the loops that call them: exp, log, log1p,
tanh, sigmoid, sin, cos and tan of float32 and float64, and the folds of reductions.

Numba calls scalar libm for np.exp/np.tanh, which does not vectorize: a fused loop of
transcendentals ran slower than NumPy (whose float32 math is SIMD). These are branch-free
(Cody-Waite reduction, Cephes polynomials, the exponent built or read by an integer bitcast), accurate
to about 2 ulp over the whole float32 range, with NumPy's results for 0, +-inf and NaN.
They are not "fast math": no IEEE rule is relaxed.

A float sum in a loop does not vectorize either: IEEE addition is not associative, so LLVM
must add one element after another. `fold_add`/`fold_mul` mark only the accumulating
operation as reassociable (LLVM's per-instruction `reassoc` flag), which lets the vectorizer
keep several partial sums, the way NumPy's pairwise sum does; the values being summed are
computed exactly as written. `fold_max`/`fold_min` are LLVM's NaN-propagating
maximum/minimum, which vectorize where a compare-and-branch does not; a fold along a loop takes
`fold_max_of_numbers`/`fold_min_of_numbers` (one instruction a vector) and notes NaN apart.
"""
import math

import numpy as np
from llvmlite import ir

from .numba_target import scales_by_vscalef  # (importing it sets numba's vector width before any @njit)
from numba import njit
from numba.core import types
from numba.extending import intrinsic


def _reinterpret(name, source, target):
    """An intrinsic that reinterprets the bits of a `source` value as a `target` (an LLVM
    bitcast, which vectorizes). An integer source wider than the target is truncated first:
    numba widens int32 arithmetic to int64."""
    width = target.bitwidth

    def impl(typingctx, value):
        integer = source is types.Integer
        if not (isinstance(value, types.Integer) and value.bitwidth >= width if integer else value == source):
            return None

        def codegen(context, builder, signature, args):
            v = args[0]
            if source is types.Integer and value.bitwidth > width:
                v = builder.trunc(v, ir.IntType(width))
            return builder.bitcast(v, context.get_value_type(target))
        return target(value), codegen
    impl.__name__ = impl.__qualname__ = name  # numba names (and caches) an intrinsic by it
    return intrinsic(impl)


_bits_to_float32 = _reinterpret("_bits_to_float32", types.Integer, types.float32)
_bits_to_float64 = _reinterpret("_bits_to_float64", types.Integer, types.float64)
_float32_to_bits = _reinterpret("_float32_to_bits", types.float32, types.int32)
_float64_to_bits = _reinterpret("_float64_to_bits", types.float64, types.int64)


def _three_float_intrinsic(name, llvm_name):
    """An intrinsic calling the LLVM intrinsic `llvm_name` on three floats of one type."""
    def impl(typingctx, a, b, c):
        if not (isinstance(a, types.Float) and a == b == c):
            return None

        def codegen(context, builder, signature, args):
            t = args[0].type
            fn = builder.module.declare_intrinsic(llvm_name, [t], ir.FunctionType(t, [t, t, t]))
            return builder.call(fn, args)
        return a(a, b, c), codegen
    impl.__name__ = impl.__qualname__ = name  # numba names (and caches) an intrinsic by it
    return intrinsic(impl)


# a * b + c as LLVM's fmuladd: one fused instruction where the CPU has FMA (faster and
# rounded once), a multiply and an add where it has not.
_muladd = _three_float_intrinsic("_muladd", "llvm.fmuladd")
# a * b + c rounded once, always (LLVM's fma): the exact-error products of double-double
# arithmetic need it (a CPU without FMA gets libm's fma: correct, slow).
_fma = _three_float_intrinsic("_fma", "llvm.fma")


def _select_impl(typingctx, condition, a, b):
    """a if condition else b as LLVM's select, not numba's branches: LLVM 22 moved a division
    of values chosen by branches into the branches, one division each (arctan64: 3 a value)."""
    if not (isinstance(condition, types.Boolean) and a == b):
        return None

    def codegen(context, builder, signature, args):
        return builder.select(*args)
    return a(condition, a, b), codegen


_select_impl.__name__ = _select_impl.__qualname__ = "_select"  # numba names (and caches) an intrinsic by it
_select = intrinsic(_select_impl)


@njit(inline="always", cache=True)
def _horner(coefficients, x):
    """coefficients[0] x^n + ... + coefficients[n] (highest power first), one _muladd a step."""
    p = coefficients[0]
    for c in coefficients[1:]:
        p = _muladd(p, x, c)
    return p


def _ldexp_impl(typingctx, x, k):
    """x * 2^k, rounded once, for a float x and an integer k (LLVM's ldexp)."""
    if not (isinstance(x, types.Float) and isinstance(k, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        value, power = args
        i32 = ir.IntType(32)
        if power.type.width > 32:  # (k is a float's exponent: it fits)
            power = builder.trunc(power, i32)
        elif power.type.width < 32:
            power = builder.sext(power, i32)
        fn = builder.module.declare_intrinsic("llvm.ldexp", [value.type, i32],
                                              ir.FunctionType(value.type, [value.type, i32]))
        return builder.call(fn, [value, power])
    return x(x, k), codegen


_ldexp_impl.__name__ = _ldexp_impl.__qualname__ = "_ldexp"  # numba names (and caches) an intrinsic by it
_ldexp = intrinsic(_ldexp_impl)


_LOG2E = np.float32(1.44269504088896341)
_LN2_HI, _LN2_LO = np.float32(0.693359375), np.float32(-2.12194440e-4)
# expm1(r) = r + r^2 P(r) for |r| <= ln2 / 2, P the Chebyshev fit of degree 4 to (expm1(r) - r)
# / r^2 there (mpmath.chebyfit): within 1.0e-8 of exp(r) (0.085 ulp), where Cephes expf's degree
# 5 was beyond float32's need. One multiply-add less a value: the fused chain's loop 0.88-0.98
# -> 0.84-0.86 ns a value (one core, in cache), for exp 1.02 -> 1.08 ulp at most, tanh 1.91 ->
# 1.96, sigmoid 2.48 as before, expm1 1.49 -> 1.66, exp2 1.03 -> 1.07 (every float32).
# (Tuples: numba folds them as constants.)
_P = tuple(np.float32(c) for c in (0.001392617611993558, 0.008363173074513711, 0.041666554662050534,
                                   0.1666657702559799, 0.5))
# Cephes logf: log(1 + m) for m in [sqrt(1/2) - 1, sqrt(2) - 1].
_L = tuple(np.float32(c) for c in (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1,
                                   -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1,
                                   2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1))
_SQRT_HALF = np.float32(0.707106781186547524)
_TINY, _TWO23, _TWO_M24 = np.float32(1.17549435e-38), np.float32(8388608.0), np.float32(5.9604645e-08)
_LO, _HI = np.float32(-104.0), np.float32(89.0)
_TWO_M64 = np.float32(2.0 ** -64)
_ONE, _TWO, _HALF = np.float32(1.0), np.float32(2.0), np.float32(0.5)


@njit(inline="always", cache=True)
def _clamped(x, lo, hi):
    """x within [lo, hi] (constants, neither NaN nor zero); NaN stays NaN. LLVM's NaN-propagating
    maximum and minimum (fold_max, fold_min), which with such a bound are one vmaxps and one
    vminps: the two selects it was written as became two compares of x, their masks' OR and two
    blends (the fused chain's loop 94 -> 86 instructions)."""
    return fold_min(fold_max(x, lo), hi)


# 1.5 * 2^23 (plus an exponent bias b): a float that size rounds what is added to it to an
# integer n (|n| < 2^22), which then sits in its low mantissa bits as n + b (+ 0x4B400000).
# Cheaper than floor(c / ln2 + 0.5) (exp over 16384 float32 0.34 -> 0.33 ns a value), and
# shifted left by 23 those bits are the float 2^(n + b - 127) where n + b is in [0, 254].
_SHIFT, _SHIFT_127, _SHIFT_126, _SHIFT_124 = (np.float32(12582912.0 + b) for b in (0.0, 127.0, 126.0, 124.0))
_SIGMOID_LO = np.float32(-87.0)


@njit(inline="always", cache=True)
def _split_ln2_bits32(c, shift):
    """(n, r, bits) with c = n ln2 + r, |r| <= ln2 / 2 (Cody-Waite: ln2 in two parts, so n * the
    first part is exact) and bits those of the float n + shift (see _SHIFT). Powers of two
    built from them need no float-to-integer conversion, whose result LLVM leaves undefined
    for NaN (a NaN c gives a NaN r here), and no select to set NaN apart (a loop of tanh32
    39 -> 37 vector instructions, 0.47 -> 0.42 ns a value; sigmoid32 37 -> 29, 0.39 -> 0.30)."""
    k = _muladd(c, _LOG2E, shift)
    n = k - shift
    return n, _muladd(n, -_LN2_LO, _muladd(n, -_LN2_HI, c)), _float32_to_bits(k)


@njit(inline="always", cache=True)
def _split_ln2_32(c):
    """(n, r) with c = n ln2 + r and |r| <= ln2 / 2 (_split_ln2_bits32's)."""
    n, r, _ = _split_ln2_bits32(c, _SHIFT)
    return n, r


@njit(inline="always", cache=True)
def _reduce_ln2_32(x):
    """(x clamped to where exp is finite and not zero, n, r): _split_ln2_32 of the clamped x."""
    c = _clamped(x, _LO, _HI)
    n, r = _split_ln2_32(c)
    return c, n, r


@njit(inline="always", cache=True)
def _expm1_reduced32(r):
    """exp(r) - 1 for |r| <= ln2 / 2 (see _P)."""
    return _muladd(_horner(_P, r) * r, r, r)


@njit(inline="always", cache=True)
def _scaled_by_factors32(y, n):
    """y * e1 * e2 with e1 * e2 = 2^n, each built in a float's exponent field from half of n:
    two factors reach subnormals and infinity, which one exponent field cannot. (For NaN n the
    factors are poison values the callers never select.)"""
    k = np.int32(n)
    half = k >> 1
    e1 = _bits_to_float32((half + np.int32(127)) << np.int32(23))
    e2 = _bits_to_float32((k - half + np.int32(127)) << np.int32(23))
    return y * e1 * e2


@njit(inline="always", cache=True)
def _scaled_by_ldexp(y, n):
    return _ldexp(y, np.int32(n))


# y * 2^n for an integer-valued float n, where the result may be subnormal or infinite: one
# vscalef on a CPU with AVX-512 (LLVM lowers ldexp's vector form to it); elsewhere, where
# LLVM would call libm's ldexp for each value, two factors. The same values; a float32 exp
# loop 0.65 -> 0.55 ns a value, float64 1.95 -> 1.77. Only where LLVM vectorizes ldexp
# (scales_by_vscalef: LLVM 22 does, LLVM 20 does not).
_SCALEF = scales_by_vscalef()
times_pow2_32 = _scaled_by_ldexp if _SCALEF else _scaled_by_factors32


@njit(inline="always", cache=True)
def _exp_by_factors32(x):
    """2^n exp(r) with 2^n as two factors, for subnormal and infinite results: 2^(n-1) * 2 from
    0 up, 2^(n+64) * 2^-64 below, the first built from _split_ln2_bits32's bits (over 16384
    float32 0.33 -> 0.28-0.30 ns a value: no conversion, shifts or select for NaN, which passes
    through exp(r))."""
    c = _clamped(np.float32(x), _LO, _HI)
    _, r, bits = _split_ln2_bits32(c, _SHIFT_126)
    return _times_pow2_of_bits32(_expm1_reduced32(r) + _ONE, bits, c < 0)


@njit(inline="always", cache=True)
def _times_pow2_of_bits32(y, bits, below):
    """y 2^n, bits those of n + _SHIFT_126 (n in [-150, 128]): 2^(n-1) * 2 from 0 up, 2^(n+64) *
    2^-64 below, the first factor a normal float built in the exponent field, the second a
    constant (subnormal and infinite results come out of the last multiply)."""
    first = _bits_to_float32((bits + (np.int32(65) if below else np.int32(0))) << np.int32(23))
    return y * first * (_TWO_M64 if below else _TWO)


@njit(inline="always", cache=True)
def _exp_by_vscalef32(x):
    x = np.float32(x)
    c, n, r = _reduce_ln2_32(x)
    y = _expm1_reduced32(r) + _ONE
    return _scaled_by_ldexp(y, n) if c == c else x


# Where LLVM has vscalef (see times_pow2_32), it scales 2^n in one instruction; elsewhere two
# factors in the exponent field as _exp_by_factors32 builds them.
exp32 = _exp_by_vscalef32 if _SCALEF else _exp_by_factors32


@njit(inline="always", cache=True)
def _log_of_parts32(m, f):
    """log(2^f (1 + m)) for an integer-valued f and m in [sqrt(1/2) - 1, sqrt(2) - 1] (Cephes
    logf's polynomial; ln 2 in two parts)."""
    z = m * m
    y = _muladd(_horner(_L, m) * m, z, f * _LN2_LO) - _HALF * z
    return _muladd(f, _LN2_HI, m + y)


_SQRT2_M1 = np.float32(0.41421356237309504880)


@njit(inline="always", cache=True)
def log1p_unit32(d):
    """log1p(d) for d in [0, 1] (NaN: NaN), as log(2^f (1 + m)) with no exponent to take
    apart: m = d up to sqrt(2) - 1, above it (1 + d) / 2 - 1 (within half an ulp) and f = 1.
    softplus's log1p(exp(-|x|)): its loop 1.80 -> 1.03 ns a value, within 1.63 ulp (1.88 by
    log1p_by_log32)."""
    big = d > _SQRT2_M1
    return _log_of_parts32(_muladd(d, _HALF, -_HALF) if big else d, _ONE if big else np.float32(0.0))


@njit(inline="always", cache=True)
def log32(x):
    x = np.float32(x)
    sub = x < _TINY
    scaled = x * _TWO23 if sub else x             # subnormals scaled into the normal range
    bits = _float32_to_bits(scaled)
    e = ((bits >> np.int32(23)) & np.int32(255)) - np.int32(126)
    e = e - np.int32(23) if sub else e
    m = _bits_to_float32((bits & np.int32(0x007FFFFF)) | np.int32(0x3F000000))  # in [0.5, 1)
    low = m < _SQRT_HALF
    e = e - np.int32(1) if low else e
    m = (m + m - _ONE) if low else (m - _ONE)
    r = _log_of_parts32(m, np.float32(e))
    r = r if x < np.float32(np.inf) else x        # inf and NaN are their own logs
    r = np.float32(-np.inf) if x == 0 else r
    return np.float32(np.nan) if x < 0 else r


@njit(inline="always", cache=True)
def log1p_by_log32(x):
    """log1p(x) for float32 x > -1, not tiny, finite: log(u) + (x - (u - 1)) / u with u = 1 + x
    rounded: x - (u - 1) is what the rounding lost (exactly, where u - 1 is exact: u in
    [0.5, 2]), log(u + lost) - log(u) to first order. In float32 throughout: a correction in
    float64 (two float64 divisions each 16 values) made log1p 0.54x NumPy's SVML on one core."""
    u = _ONE + x
    return log32(u) + (x - (u - _ONE)) / u


@njit(inline="always", cache=True)
def log1p32(x):
    x = np.float32(x)
    r = log1p_by_log32(x)
    r = x if (abs(x) < _TWO_M24 or x == np.float32(np.inf)) else r   # tiny x (and -0.0): x; inf: inf
    return np.float32(-np.inf) if x == -_ONE else r


@njit(inline="always", cache=True)
def tanh32(x):
    """em / (em + 2) with em = expm1(2|x|), which for |x| <= 9 (tanh(9) rounds to 1) needs one
    power of two, not exp32's two factors; x's sign copied onto the result last (-0.0 and NaN
    included: one bitwise instruction where three selects had given the sign). Below |x| <
    0.5 the quotient q, whose add and division round to 2.42 ulp there, is refined as h - h q
    (h = em / 2; h / (1 + h) = h - h q), which scales q's error by h: within 1.96 ulp of the
    exact tanh over every float32 (at 0.2215; 1.91 with Cephes' longer polynomial for em). Cephes' odd polynomial below
    0.625 (0.5 ulp there) cost a third of the function, as a vector loop computes both: its
    loop 82 -> 58 instructions on AVX2, sg.tanh of float32 1.06-1.14x faster (AMD EPYC)."""
    x = np.float32(x)
    a = abs(x)
    c = np.float32(9.0) if a > np.float32(9.0) else a     # NaN stays NaN
    _, r, bits = _split_ln2_bits32(c + c, _SHIFT_127)
    t = _bits_to_float32(bits << np.int32(23))   # 2^n
    em = _muladd(t, _expm1_reduced32(r), t - _ONE)
    q = em / (em + _TWO)
    h = _HALF * em
    return math.copysign(_muladd(-h, q, h) if a < _HALF else q, x)


@njit(inline="always", cache=True)
def sigmoid32(x):
    """1 / (1 + e) with e = exp(-x) as y 2^(n-1) 2 (y = exp(r)): for -x in [-87, 89] 2^(n-1) is one
    normal float, or 0 at n = -126, where 1 + e rounds to 1 anyway, and the doubling overflows
    to inf where exp(-x) does. exp32's two factors and its select for NaN (which here passes
    through y) are not needed: a loop of it 37 -> 29 vector instructions."""
    _, r, bits = _split_ln2_bits32(_clamped(-np.float32(x), _SIGMOID_LO, _HI), _SHIFT_126)
    return _ONE / (_ONE + (_expm1_reduced32(r) + _ONE) * _bits_to_float32(bits << np.int32(23)) * _TWO)


# float64 exp, tanh and sigmoid (exp by a Taylor polynomial after Cody-Waite reduction, which
# has no division and is as accurate as Cephes' Pade form; Cephes tanh: a rational function
# below |x| < 0.625), within 2 ulp; libm's do not vectorize either.
_LOG2E_D, _C1_D, _C2_D = 1.4426950408889634073599, 6.93145751953125e-1, 1.42860682030941723212e-6
# expm1(r) = r + r^2 P(r) for |r| <= ln2 / 2, P the Chebyshev fit of degree 10 to
# (expm1(r) - r) / r^2 there (mpmath.chebyfit at 50 digits): within 1.4e-18 of it, so r^2 P is
# within 2^-60 of r and serves exp and expm1 alike (Taylor's 1/2! ... 1/14! needed degree 12:
# two multiply-adds a value more; exp 0.99 ulp, expm1 1.86, either way).
_EM = (2.0914681091021423e-09, 2.5105208345434557e-08, 2.7557273657137994e-07, 2.755725542101042e-06,
       2.4801587325536802e-05, 0.00019841269874804225, 0.001388888888888375, 0.00833333333332614,
       0.04166666666666667, 0.1666666666666667, 0.5)
_TP = (-9.64399179425052238628e-1, -9.92877231001918586564e1, -1.61468768441708447952e3)
_TQ = (1.12811678491632931402e2, 2.23548839060100448583e3, 4.84406305325125486048e3)

# Cephes log: log(1 + m) = m - m^2/2 + m^3 P(m)/Q(m) for m in [sqrt(1/2) - 1, sqrt(2) - 1].
_LP = (1.01875663804580931796e-4, 4.97494994976747001425e-1, 4.70579119878881725854e0,
       1.44989225341610930846e1, 1.79368678507819816313e1, 7.70838733755885391666e0)
_LQ = (1.12873587189167450590e1, 4.52279145837532221105e1, 8.29875266912776603211e1,
       7.11544750618563894466e1, 2.31251620126765340583e1)


@njit(inline="always", cache=True)
def _log_of_parts64(m, f):
    """log(2^f (1 + m)) for an integer-valued f and m in [sqrt(1/2) - 1, sqrt(2) - 1] (Cephes
    log's rational function; ln 2 in two parts)."""
    z = m * m
    p = _muladd(_muladd(_muladd(_muladd(_muladd(_LP[0], m, _LP[1]), m, _LP[2]), m, _LP[3]), m, _LP[4]), m, _LP[5])
    q = _muladd(_muladd(_muladd(_muladd(m + _LQ[0], m, _LQ[1]), m, _LQ[2]), m, _LQ[3]), m, _LQ[4])
    y = _muladd(m * z, p / q, f * -2.121944400546905827679e-4) - 0.5 * z
    return _muladd(f, 0.693359375, m + y)


@njit(inline="always", cache=True)
def log1p_unit64(d):
    """log1p(d) for d in [0, 1], as log1p_unit32 (softplus's loop 4.0 -> 2.95 ns a value, within
    1.64 ulp where log64 and a correction were 1.96)."""
    big = d > 0.41421356237309504880
    return _log_of_parts64(_muladd(d, 0.5, -0.5) if big else d, 1.0 if big else 0.0)


@njit(inline="always", cache=True)
def log64(x):
    x = np.float64(x)
    sub = x < 2.2250738585072014e-308
    scaled = x * 18014398509481984.0 if sub else x   # subnormals times 2^54
    bits = _float64_to_bits(scaled)
    e = np.int32((bits >> np.int64(52)) & np.int64(0x7FF)) - np.int32(1022)
    e = e - np.int32(54) if sub else e
    m = _bits_to_float64((bits & np.int64(0x000FFFFFFFFFFFFF)) | np.int64(0x3FE0000000000000))  # [0.5, 1)
    low = m < 0.70710678118654752440
    e = e - np.int32(1) if low else e
    m = (m + m - 1.0) if low else (m - 1.0)
    r = _log_of_parts64(m, np.float64(e))
    r = r if x < np.inf else x                    # inf and NaN are their own logs
    r = -np.inf if x == 0 else r
    return np.nan if x < 0 else r


@njit(inline="always", cache=True)
def log1p64(x):
    x = np.float64(x)
    u = 1.0 + x
    r = log64(u) * (x / (u - 1.0))                # the rounding of 1 + x cancels out (Goldberg)
    r = x if u == 1.0 else r                      # tiny x (and -0.0): log1p(x) = x
    return x if x == np.inf else r


# As _SHIFT, _SHIFT_127 (here 1023), _SHIFT_126 and _SIGMOID_LO, for float64: 1.5 * 2^52 (+ b) and -700.
_SHIFT_D, _SHIFT_1023_D, _SHIFT_1022_D, _SHIFT_1020_D = (6755399441055744.0 + b for b in (0.0, 1023.0, 1022.0, 1020.0))
_SIGMOID_LO_D = -700.0


@njit(inline="always", cache=True)
def _split_ln2_bits64(c, shift):
    """As _split_ln2_bits32, for float64 (the bits shifted left by 52 are 2^(n + b - 1023))."""
    k = _muladd(c, _LOG2E_D, shift)
    n = k - shift
    return n, _muladd(n, -_C2_D, _muladd(n, -_C1_D, c)), _float64_to_bits(k)


@njit(inline="always", cache=True)
def _split_ln2_64(c):
    """As _split_ln2_32, for float64."""
    n, r, _ = _split_ln2_bits64(c, _SHIFT_D)
    return n, r


@njit(inline="always", cache=True)
def _reduce_ln2_64(x):
    """As _reduce_ln2_32, for float64."""
    c = _clamped(x, -746.0, 710.0)
    n, r = _split_ln2_64(c)
    return c, n, r


@njit(inline="always", cache=True)
def _exponent_and_mantissa64(a):
    """(e, m) with a = 2^e m, m in [0.75, 1.5), for a normal float64 a > 0 (as int64 and
    float64; a * 4/3 overflowing to inf still gives the right e)."""
    e = ((_float64_to_bits(a * (4.0 / 3.0)) >> np.int64(52)) & np.int64(0x7FF)) - np.int64(1023)
    return e, _bits_to_float64(_float64_to_bits(a) - (e << np.int64(52)))


@njit(inline="always", cache=True)
def _expm1_reduced64(r):
    return _muladd(_horner(_EM, r) * r, r, r)


@njit(inline="always", cache=True)
def _scaled_by_factors64(y, n):  # (as _scaled_by_factors32)
    k = np.int32(n)
    half = k >> np.int32(1)
    e1 = _bits_to_float64((np.int64(half) + np.int64(1023)) << np.int64(52))
    e2 = _bits_to_float64((np.int64(k - half) + np.int64(1023)) << np.int64(52))
    return y * e1 * e2


times_pow2_64 = _scaled_by_ldexp if _SCALEF else _scaled_by_factors64  # (as times_pow2_32)


@njit(inline="always", cache=True)
def _exp_by_factors64(x):
    """As _exp_by_factors32: 2^(n-1) * 2 from 0 up, 2^(n+512) * 2^-512 below (0.81 -> 0.67 ns a value)."""
    c = _clamped(np.float64(x), -746.0, 710.0)
    _, r, bits = _split_ln2_bits64(c, _SHIFT_1022_D)
    return _times_pow2_of_bits64(_expm1_reduced64(r) + 1.0, bits, c < 0)


@njit(inline="always", cache=True)
def _times_pow2_of_bits64(y, bits, below):
    """As _times_pow2_of_bits32, for float64: bits of n + _SHIFT_1022_D (n in [-1080, 1025]),
    2^(n-1) * 2 from 0 up, 2^(n+512) * 2^-512 below."""
    first = _bits_to_float64((bits + (np.int64(513) if below else np.int64(0))) << np.int64(52))
    return y * first * (2.0 ** -512 if below else 2.0)


@njit(inline="always", cache=True)
def _exp_by_vscalef64(x):
    x = np.float64(x)
    c, n, r = _reduce_ln2_64(x)
    y = _expm1_reduced64(r) + 1.0
    return _scaled_by_ldexp(y, n) if c == c else x


exp64 = _exp_by_vscalef64 if _SCALEF else _exp_by_factors64  # (as exp32)


@njit(inline="always", cache=True)
def tanh64(x):
    x = np.float64(x)
    a = abs(x)                                    # (on |x|, x's sign copied on last: see tanh32)
    z = a * a
    p = _muladd(_muladd(_TP[0], z, _TP[1]), z, _TP[2])
    q = _muladd(_muladd(z + _TQ[0], z, _TQ[1]), z, _TQ[2])
    c = 20.0 if a > 20.0 else a                   # tanh(20) rounds to 1; NaN stays NaN
    _, r, bits = _split_ln2_bits64(c + c, _SHIFT_1023_D)
    e = (_expm1_reduced64(r) + 1.0) * _bits_to_float64(bits << np.int64(52))   # exp(2c): one power of two
    # Below 0.625 a + a z p / q, above 1 - 2 / (e + 1): one division of the operands selected
    # first, as a vector loop would otherwise divide twice (vdivpd: 1.07-1.15 -> 0.93 ns a
    # value, the same results).
    small = a < 0.625
    ratio = (p if small else 2.0) / (q if small else e + 1.0)
    return math.copysign(_muladd(a * z, ratio, a) if small else 1.0 - ratio, x)


@njit(inline="always", cache=True)
def sigmoid64(x):
    """As sigmoid32: exp(-x) as exp(r) 2^(n-1) 2 for -x in [-700, 710]."""
    _, r, bits = _split_ln2_bits64(_clamped(-np.float64(x), _SIGMOID_LO_D, 710.0), _SHIFT_1022_D)
    return 1.0 / (1.0 + (_expm1_reduced64(r) + 1.0) * _bits_to_float64(bits << np.int64(52)) * 2.0)


# tan of float32 reduced in float64 (libm's tanf is scalar; sin32 and cos32 below reduce in
# float32): x less a multiple n of pi/2 by Cody-Waite with pi/2 in three parts (fdlibm's: 33 +
# 33 + 53 bits, so n * part is exact while n < 2^20). That holds for |x| <= TRIG32_LIMIT; a
# loop using sin32/cos32/tan32 must check its arguments against it and redo the work with
# libm's when one is larger (numba_codegen does; full-range reduction needs a table lookup,
# which keeps LLVM from vectorizing).
TRIG32_LIMIT = 524288.0
_PIO2_1, _PIO2_2, _PIO2_2T = 1.57079632673412561417e+00, 6.07710050630396597660e-11, 2.02226624879595063154e-21
_INV_PIO2 = 6.36619772367581382433e-01


@njit(inline="always", cache=True)
def _minus_multiple_of_pio2(d, m):
    """d - m pi/2 for an integer m < 2^20 (each part of pi/2 has 33 bits: m times it is exact);
    inf and NaN give NaN."""
    return ((d - m * _PIO2_1) - m * _PIO2_2) - m * _PIO2_2T


@njit(inline="always", cache=True)
def _multiple_as_int(m, d):
    """The multiple m of a reduction of d as an int32; 0 beyond TRIG32_LIMIT, where the
    caller redoes the work with libm's (no int conversion of inf or NaN)."""
    return np.int32(m if abs(d) <= TRIG32_LIMIT else 0.0)


@njit(inline="always", cache=True)
def _reduce_pio2(x):
    """(quadrant n mod 4, r in float64) with x = n pi/2 + r, for |x| <= TRIG32_LIMIT."""
    d = np.float64(x)
    n = np.floor(_muladd(d, _INV_PIO2, 0.5))
    return _multiple_as_int(n, d) & np.int32(3), _minus_multiple_of_pio2(d, n)


# sin and cos of float32 in float32 (8 lanes on AVX2, 16 on AVX-512), NumPy's own SIMD form:
# x - n pi/2 by Cody-Waite with pi/2 in three float32 parts, each step an FMA; the first is
# exact (n times the first part has no bits below 2^-23, x none below 2^-23 from |x| = 1, and
# the difference is under 1 while |x| <= TRIG32_LIMIT), then Cephes' sinf or cosf polynomial on
# |r| <= pi/4 as the quadrant asks, its sign from the quadrant's bits. Within 1.58 ulp over
# every float32 up to the limit (sin 1.58 at 26872.396, cos 1.56 at 53368.594; NumPy's AVX2
# loops 1.49). The earlier form reduced in float64 (0.51 ulp) at half the lanes: sg.sin of
# float32 2.0-2.6x and cos 2.4-3.0x slower at 10^4-10^6 (AMD EPYC), 0.92x NumPy at 10^4.
_TWO_OVER_PI32 = np.float32(0.6366197723675814)
_PIO2_32 = tuple(np.float32(c) for c in (1.5707963705062866, -4.371138828673793e-08, -1.7151245100058819e-15))
_SINF = tuple(np.float32(c) for c in (-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1))  # r^7 ... r^3
_COSF = tuple(np.float32(c) for c in (2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2))
_MINUS_HALF = np.float32(-0.5)


@njit(inline="always", cache=True)
def _reduce_pio2_32(x):
    """(bits whose low two are the quadrant n mod 4, r = x - n pi/2), n = round(x 2/pi) as the
    low bits of the float n + _SHIFT (no float-to-integer conversion, undefined for NaN)."""
    k = _muladd(x, _TWO_OVER_PI32, _SHIFT)
    n = k - _SHIFT
    r = _muladd(-n, _PIO2_32[0], x)
    r = _muladd(-n, _PIO2_32[1], r)
    return _float32_to_bits(k), _muladd(-n, _PIO2_32[2], r)


@njit(inline="always", cache=True)
def _sin_or_cos32(r, cosine):
    """sin(r), or cos(r) where `cosine` is 1, for |r| <= pi/4 (a vector loop computes both)."""
    z = r * r
    s = _muladd(_horner(_SINF, z) * z, r, r)
    c = _muladd(_horner(_COSF, z) * z, z, _muladd(_MINUS_HALF, z, _ONE))
    return c if cosine else s


@njit(inline="always", cache=True)
def _negated_if(v, bit2):
    """v with its sign flipped where bit2 (0 or 2) is 2: one xor."""
    return _bits_to_float32(_float32_to_bits(v) ^ (bit2 << np.int32(30)))


@njit(inline="always", cache=True)
def sin32(x):
    """Quadrants 0-3: sin r, cos r, -sin r, -cos r."""
    x = np.float32(x)
    q, r = _reduce_pio2_32(x)
    v = _negated_if(_sin_or_cos32(r, q & np.int32(1)), q & np.int32(2))
    return x if x == 0 else v                                       # keeps the sign of -0.0


@njit(inline="always", cache=True)
def cos32(x):
    """Quadrants 0-3: cos r, -sin r, -cos r, sin r."""
    x = np.float32(x)
    q, r = _reduce_pio2_32(x)
    return _negated_if(_sin_or_cos32(r, (q & np.int32(1)) ^ np.int32(1)), (q + np.int32(1)) & np.int32(2))


# tan(z) = z + z^3 P(z^2) on |z| <= pi/4: fitted for float32 (weighted least squares toward
# the largest relative error; 5e-9 in exact arithmetic, Cephes' tanf polynomial has 7e-8).
_TAN32 = tuple(np.float32(c) for c in (4.1287122294306755e-3, 5.846655694767833e-4, 1.0453129187226295e-2,
                                       2.1425046026706696e-2, 5.403381958603859e-2, 1.3332867622375488e-1,
                                       3.3333346247673035e-1))


@njit(inline="always", cache=True)
def tan32(x):
    """The float64 reduction, then tan(r), or -1/tan(r) for odd q, in float32 (16 lanes; both
    sin and cos of r in float64 and a float64 division ran at 0.69x NumPy's SIMD tan). Within
    2.31 ulp."""
    x = np.float32(x)
    q, r = _reduce_pio2(x)
    z = np.float32(r)
    t = _muladd(_horner(_TAN32, z * z) * (z * z), z, z)
    t = -_ONE / t if q & np.int32(1) else t
    return x if x == 0 else t                                       # keeps the sign of -0.0


# sin, cos and tan of float64 (libm's are scalar: NumPy's SIMD tan ran 5x faster). fdlibm's
# medium-range reduction with all three parts of pi/2 every time (33 bits each, so n * part
# is exact while n < 2^20, |x| <= TRIG64_LIMIT), the remainder kept as y0 + y1 by exact
# two-sums, then fdlibm's __kernel_sin/__kernel_cos on it; tan = sin/cos of the remainder.
# Within 0.83 ulp (sin, cos) and 2.2 ulp (tan) over 3.8M arguments against long double. Like
# the float32 forms, a loop using them checks its arguments against the limit and redoes its
# work with libm's when one is beyond (numba_codegen).
TRIG64_LIMIT = 1.5e6
_PIO2_64 = ((1.57079632673412561417e+00, 6.07710050630396597660e-11, 2.02226624871116645580e-21),
            8.47842766036889956997e-32)   # three 33-bit parts of pi/2, and the tail of the third
_S64 = (1.58969099521155010221e-10, -2.50507602534068634195e-08, 2.75573137070700676789e-06,
        -1.98412698298579493134e-04, 8.33333333332248946124e-03)     # fdlibm S6..S2; S1 = -1/6
_S1_64 = -1.66666666666666324348e-01
_C64 = (-1.13596475577881948265e-11, 2.08757232129817482790e-09, -2.75573143513906633035e-07,
        2.48015872894767294178e-05, -1.38888888888741095749e-03, 4.16666666666666019037e-02)


@njit(inline="always", cache=True)
def _two_sum(a, b):
    """(s, e) with s = fl(a + b) and a + b = s + e exactly."""
    s = a + b
    v = s - a
    return s, (a - (s - v)) + (b - v)


@njit(inline="always", cache=True)
def _reduce_pio2_64(x):
    """(quadrant n mod 4, y0, y1) with x = n pi/2 + y0 + y1 and |y0| <= pi/4 + a little, for
    |x| <= TRIG64_LIMIT (inf and NaN: NaN remainders)."""
    (p1, p2, p3), tail3 = _PIO2_64
    n = np.floor(_muladd(x, _INV_PIO2, 0.5))
    r0 = x - n * p1                                   # exact
    r1, e1 = _two_sum(r0, -(n * p2))
    r2, e2 = _two_sum(r1, -(n * p3))
    tail = (e1 + e2) - n * tail3
    y0 = r2 + tail
    n = n if abs(x) <= TRIG64_LIMIT else 0.0          # (no int conversion of inf or NaN)
    return np.int64(n) & np.int64(3), y0, (r2 - y0) + tail


@njit(inline="always", cache=True)
def _sin_cos_of_remainder64(y0, y1):
    """fdlibm's __kernel_sin(y0, y1, 1) and __kernel_cos(y0, y1), branch-free."""
    z = y0 * y0
    v = z * y0
    s = y0 - ((z * (0.5 * y1 - v * _horner(_S64, z)) - y1) - v * _S1_64)
    r = z * _horner(_C64, z)
    a = abs(y0)
    # cos = 1 - (z/2 - ...) loses a bit for |y0| >= 0.3; fdlibm moves qx (about z/4, exactly
    # representable) from the 1 to the z/2 side there.
    qx = _bits_to_float64((_float64_to_bits(a) - np.int64(0x0020000000000000)) & np.int64(-4294967296))
    qx = 0.28125 if a > 0.78125 else qx
    qx = 0.0 if a < 0.3 else qx
    c = (1.0 - qx) - ((0.5 * z - qx) - (z * r - y0 * y1))
    return s, c


@njit(inline="always", cache=True)
def _sin_of_quadrant64(q, y0, y1):
    """sin(q pi/2 + y0 + y1)."""
    s, c = _sin_cos_of_remainder64(y0, y1)
    v = c if q & np.int64(1) else s
    return -v if q & np.int64(2) else v


@njit(inline="always", cache=True)
def sin64(x):
    x = np.float64(x)
    q, y0, y1 = _reduce_pio2_64(x)
    return x if x == 0 else _sin_of_quadrant64(q, y0, y1)           # keeps the sign of -0.0


@njit(inline="always", cache=True)
def cos64(x):
    x = np.float64(x)
    q, y0, y1 = _reduce_pio2_64(x)
    return _sin_of_quadrant64(q + np.int64(1), y0, y1)


@njit(inline="always", cache=True)
def tan64(x):
    x = np.float64(x)
    q, y0, y1 = _reduce_pio2_64(x)
    s, c = _sin_cos_of_remainder64(y0, y1)
    odd = q & np.int64(1)
    t = (-c if odd else s) / (s if odd else c)    # -c / s or s / c, one division (see tanh64)
    return x if x == 0 else t


def _float_fold(name, build):
    """An intrinsic (acc, value) -> acc for two floats of one type, emitted by build."""
    def fold(typingctx, acc, value):
        if not (isinstance(acc, types.Float) and acc == value):
            return None

        def codegen(context, builder, signature, args):
            return build(builder, *args)
        return acc(acc, value), codegen
    fold.__name__ = fold.__qualname__ = name  # numba names (and caches) an intrinsic by it
    return intrinsic(fold)


def _llvm_binary(name):
    def build(builder, a, b):
        fn = builder.module.declare_intrinsic(name, [a.type], ir.FunctionType(a.type, [a.type, a.type]))
        return builder.call(fn, [a, b])
    return build


fold_add = _float_fold("fold_add", lambda builder, a, b: builder.fadd(a, b, flags=("reassoc",)))
fold_mul = _float_fold("fold_mul", lambda builder, a, b: builder.fmul(a, b, flags=("reassoc",)))
fold_max = _float_fold("fold_max", _llvm_binary("llvm.maximum"))  # NaN wins, as in NumPy
fold_min = _float_fold("fold_min", _llvm_binary("llvm.minimum"))


def _llvm_binary_of_numbers(name):
    """As _llvm_binary, the call flagged nnan and nsz: its result is undefined where an operand
    is NaN, and either zero where both are zeros. The flags let LLVM's vectorizer take a fold
    by maxnum or minnum as a reduction (it keeps four vectors of partial results) and x86 make
    it one vmaxpd or vminpd."""
    def build(builder, a, b):
        fn = builder.module.declare_intrinsic(name, [a.type], ir.FunctionType(a.type, [a.type, a.type]))
        return builder.call(fn, [a, b], fastmath=("nnan", "nsz"))
    return build


# The max or min of two floats neither of which is NaN: a fold by them must note NaN apart
# (seen |= v != v) and give NaN at its end where it saw one (numba_codegen._fold_lines).
fold_max_of_numbers = _float_fold("fold_max_of_numbers", _llvm_binary_of_numbers("llvm.maxnum"))
fold_min_of_numbers = _float_fold("fold_min_of_numbers", _llvm_binary_of_numbers("llvm.minnum"))

# Float floor division and remainder as NumPy's npy_divmod computes them (fmod, the quotient of
# what is left, snapped to an integer), with fmod in vector instructions: numba's and NumPy's
# call libm's fmod a value (float32 x // y of 10^4: 24 ns a value ours, 15 NumPy's). Exact
# where the quotient is small: |a| < DIVISION_NEAR |b|, b finite and not 0 (numba_codegen
# checks; elsewhere the kernel redoes the loop with numba's division).
DIVISION_NEAR = {"float32": 1 << 22, "float64": 1 << 50}


@njit(inline="always", cache=True)
def _numpy_divmod_near(a, b, one, half):
    """(a // b, a % b) for finite a and finite b != 0 with |a / b| < DIVISION_NEAR, one and half
    of a's type, as NumPy's npy_divmod computes them from fmod(a, b). Here the remainder a - q b
    is rounded once (fma) with q = trunc(a / b): the rounded quotient is the exact one or, just
    below an integer, that integer (rounding is monotonic), so q is fmod's quotient or one more
    in magnitude, and the remainder is exact either way (a multiple of the smaller ulp of a and
    b, below |b|). Where q is one more, the remainder is fmod -+ b, which has b's sign already:
    the sign npy_divmod's next step gives fmod by adding b and taking 1 from the quotient. Both
    reach the same remainder, and quotients within rounding of the same integer, which its last
    step's snap makes equal: NumPy's bits (the tests compare them over exact multiples, their
    neighbours, signed zeros and random pairs)."""
    q = np.trunc(a / b)
    mod = _fma(-q, b, a)
    div = (a - mod) / b
    zero = one - one
    if mod != 0:
        if (b < 0) != (mod < 0):
            mod += b
            div -= one
    else:
        mod = math.copysign(zero, b)
    if div != 0:
        floordiv = np.floor(div)
        if div - floordiv > half:
            floordiv += one
    else:
        floordiv = math.copysign(zero, a)              # copysign(0, a / b), without its division
        floordiv = -floordiv if b < 0 else floordiv
    return floordiv, mod


@njit(inline="always", cache=True)
def floor_divide32(a, b):
    return _numpy_divmod_near(np.float32(a), np.float32(b), np.float32(1.0), np.float32(0.5))[0]


@njit(inline="always", cache=True)
def remainder32(a, b):
    return _numpy_divmod_near(np.float32(a), np.float32(b), np.float32(1.0), np.float32(0.5))[1]


@njit(inline="always", cache=True)
def floor_divide64(a, b):
    return _numpy_divmod_near(np.float64(a), np.float64(b), 1.0, 0.5)[0]


@njit(inline="always", cache=True)
def remainder64(a, b):
    return _numpy_divmod_near(np.float64(a), np.float64(b), 1.0, 0.5)[1]


DIVISION_FORMS = {"float32": {"int_div": "floor_divide32({0}, {1})", "mod": "remainder32({0}, {1})"},
                  "float64": {"int_div": "floor_divide64({0}, {1})", "mod": "remainder64({0}, {1})"}}


# Exact only for |x| up to their dtype's limit: numba_codegen checks the arguments of these.
TRIG_FORMS = {"float32": {"sin": "sin32({0})", "cos": "cos32({0})", "tan": "tan32({0})"},
              "float64": {"sin": "sin64({0})", "cos": "cos64({0})", "tan": "tan64({0})"}}
TRIG_LIMITS = {"float32": TRIG32_LIMIT, "float64": TRIG64_LIMIT}
VECTOR_FORMS = {"float32": {"exp": "exp32({0})", "log": "log32({0})", "log1p": "log1p32({0})",
                             "tanh": "tanh32({0})", "sigmoid": "sigmoid32({0})"},
                "float64": {"exp": "exp64({0})", "log": "log64({0})", "log1p": "log1p64({0})",
                            "tanh": "tanh64({0})", "sigmoid": "sigmoid64({0})"}}
