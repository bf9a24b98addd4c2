"""More scalar functions that vectorize, built on numba_vecmath's reductions, polynomials and
logs: expm1, sinh, cosh, arctan, arcsin, arccos, arctanh, arcsinh, arccosh, arctan2, cbrt,
softplus, logaddexp, elu, exp2, log2, log10, pow, erf and gelu (float32 and float64).

Through libm these were scalar calls: on a CPU with AVX-512, where NumPy's own loops are SIMD
(Intel's SVML), expm1, sinh and arctan ran at 0.04-0.3x NumPy's speed. Each is branch-free
(both sides computed and one selected), within 2.5 ulp, with NumPy's results for 0, -0, +-inf
and NaN; tests/backends/test_numba_special.py checks them against NumPy at the extremes. The
odd ones (sinh, arctan, arcsin, arctanh, arcsinh, cbrt, erf) work on |x| and copy x's sign
onto the result with math.copysign, one bitwise vector instruction that gives -0.0 its sign.

float32 pow is evaluated in float64 (y log x needs the range); float64 pow with a
double-double log (exp(y log x) in plain float64 loses up to y log x ulp); float32 arctan,
arcsin, arccos and arctanh in float32 with polynomials of their own (within 1.5 ulp; in
float64 they ran at 0.5-0.8x NumPy's 16-lane SIMD).
"""
import math

import numpy as np

from . import numba_target  # noqa: F401  (sets numba's vector width before any @njit)
from numba import njit

from numba.core.registry import CPUDispatcher

from .numba_vecmath import (_HI, _ONE, _SHIFT_124, _SHIFT_126, _SHIFT_1020_D, _SHIFT_1022_D, _SHIFT_1023_D,
                            _bits_to_float32, _bits_to_float64, _clamped, _exponent_and_mantissa64, _expm1_reduced32,
                            _expm1_reduced64, _float32_to_bits, _float64_to_bits, _fma, _horner, _muladd, _select,
                            _split_ln2_64, _split_ln2_bits32, _split_ln2_bits64, _times_pow2_of_bits32,
                            _times_pow2_of_bits64, _two_sum, exp32, exp64, log1p64, log1p_by_log32, log1p_unit32,
                            log1p_unit64, log32, log64, times_pow2_64)


# expm1, sinh and cosh build their powers of two as one p = 2^(n-3) in the exponent field
# (_split_ln2_bits32's bits with this bias), a normal float for every n they meet once their
# argument is clamped, where two factors had taken ldexp's place (numba_vecmath.times_pow2_32):
# float32 sinh 0.45 -> 0.32 ns a value on LLVM 20 (0.36 -> 0.33 on LLVM 22, which has vscalef),
# expm1 0.34 -> 0.29, float64 expm1 0.94 -> 0.78, sinh 1.19-1.35 -> 0.94-0.97, cosh 0.83-0.86 ->
# 0.64-0.69; the same results (the biases _SHIFT_124 and _SHIFT_1020_D are numba_vecmath's).


@njit(inline="always", cache=True)
def expm1_32(x):
    """2^k (expm1(r) + 1) - 1 with x = k ln2 + r, where expm1(r) keeps its relative accuracy
    for tiny r."""
    x = np.float32(x)
    c = _clamped(x, np.float32(-32.0), _HI)       # expm1(-32) rounds to -1 already
    n, r, bits = _split_ln2_bits32(c, _SHIFT_124)
    em = _expm1_reduced32(r)
    p = _bits_to_float32(bits << np.int32(23))    # 2^(n-3), normal for -47 <= n <= 128
    t = p * np.float32(8.0)
    near = _muladd(t, em, t - _ONE)               # t - 1 is exact for n <= 24
    far = (em + _ONE) * p * np.float32(8.0)       # 2^n exp(r): the -1 is below rounding
    y = near if n <= np.float32(24) else far
    y = x if x == 0 else y                        # keeps the sign of -0.0
    return y if c == c else x


@njit(inline="always", cache=True)
def expm1_64(x):
    x = np.float64(x)
    c = _clamped(x, -40.0, 710.0)                 # expm1(-40) rounds to -1 already
    n, r, bits = _split_ln2_bits64(c, _SHIFT_1020_D)
    em = _expm1_reduced64(r)
    p = _bits_to_float64(bits << np.int64(52))    # 2^(n-3), normal for -58 <= n <= 1025
    t = p * 8.0
    near = _muladd(t, em, t - 1.0)                # t - 1 is exact for n <= 53
    far = (em + 1.0) * p * 8.0
    y = near if n <= 53.0 else far
    y = x if x == 0 else y
    return y if c == c else x


@njit(inline="always", cache=True)
def _exp_parts64(a):
    """For a >= 0 (or NaN): (em, half) with em = expm1(a) where that is finite (a < 709) and
    half = exp(a) / 2, finite up to float64's largest sinh and cosh (710.47): one reduction
    and one polynomial serve both (two exponentials had made sinh 0.75x NumPy's). Both powers
    of two from one p = 2^(n-3) (see _SHIFT_124); em's 2^n = 8p matters below a = 20 only."""
    c = 711.0 if a > 711.0 else a                 # beyond, half overflows as it should
    _, r, bits = _split_ln2_bits64(c, _SHIFT_1020_D)
    em_r = _expm1_reduced64(r)
    p = _bits_to_float64(bits << np.int64(52))
    t = p * 8.0
    em = _muladd(t, em_r, t - 1.0)                # t - 1 is exact for n <= 53
    return em, (em_r + 1.0) * p * 4.0


@njit(inline="always", cache=True)
def sinh64(x):
    """(em + em / (em + 1)) / 2 with em = expm1(|x|), which does not cancel for small x;
    exp(|x|) / 2 from 20 on, where exp(-|x|) is below rounding."""
    x = np.float64(x)
    a = abs(x)
    em, half = _exp_parts64(a)
    s = 0.5 * (em + em / (em + 1.0)) if a < 20.0 else half
    return math.copysign(s, x)


@njit(inline="always", cache=True)
def cosh64(x):
    a = abs(np.float64(x))
    em, half = _exp_parts64(a)
    return half + 0.25 / half if a < 20.0 else half   # exp(a)/2 + exp(-a)/2


@njit(inline="always", cache=True)
def _exp_parts32(a):
    """For 0 <= a <= 90 (or NaN): (em, half) with em = expm1(a) where that is finite (a < 88)
    and half = exp(a) / 2, finite up to float32's largest sinh and cosh (89.4): one reduction
    and polynomial serve both (two exponentials had made sinh 0.7x NumPy's SVML). Both powers
    of two from one p = 2^(n-3) (see _SHIFT_124); em's 2^n = 8p matters below a = 10 only
    (sinh32 and cosh32 select half beyond it)."""
    _, r, bits = _split_ln2_bits32(np.float32(90.0) if a > np.float32(90.0) else a, _SHIFT_124)
    em_r = _expm1_reduced32(r)
    p = _bits_to_float32(bits << np.int32(23))
    t = p * np.float32(8.0)
    em = _muladd(t, em_r, t - _ONE)
    return em, (em_r + _ONE) * p * np.float32(4.0)


@njit(inline="always", cache=True)
def sinh32(x):
    """(em + em / (em + 1)) / 2 with em = expm1(|x|), which does not cancel for small x;
    exp(|x|) / 2 from 10 on, where exp(-|x|) is below rounding."""
    x = np.float32(x)
    a = abs(x)
    em, half = _exp_parts32(a)
    s = np.float32(0.5) * (em + em / (em + _ONE)) if a < np.float32(10.0) else half
    return math.copysign(s, x)


@njit(inline="always", cache=True)
def cosh32(x):
    a = abs(np.float32(x))
    em, half = _exp_parts32(a)
    e = em + _ONE
    return _muladd(np.float32(0.5), e, np.float32(0.5) / e) if a < np.float32(10.0) else half


# Cephes atan: arctan(t) = t + t^3 P(t^2)/Q(t^2) for |t| <= 0.66, after reducing |x| by
# arctan(x) = pi/2 + arctan(-1/x) (x > tan(3pi/8)) or pi/4 + arctan((x-1)/(x+1)).
_AP = (-8.750608600031904122785e-1, -1.615753718733365076637e1, -7.500855792314704667340e1,
       -1.228866684490136173410e2, -6.485021904942025371773e1)
_AQ = (2.485846490142306297962e1, 1.650270098316988542046e2, 4.328810604912902668951e2,
       4.853903996359136964868e2, 1.945506571482613964425e2)
_T3P8, _MOREBITS = 2.41421356237309504880, 6.123233995736765886130e-17
_PIO2, _PIO4 = 1.57079632679489661923, 7.85398163397448309616e-1
_PI = 3.141592653589793  # (float64 pi: arccos(-1))


@njit(inline="always", cache=True)
def atan64(x):
    x = np.float64(x)
    return math.copysign(_atan_of_ratio64(abs(x), 1.0), x)


@njit(inline="always", cache=True)
def _atan_of_ratio64(a, s):
    """arctan(a / s) for a, s >= 0, Cephes' three ranges chosen on a / s without forming it:
    -s / a, (a - s) / (a + s) or a / s, one division. arcsin's a / sqrt(1 - a^2) divided
    first made three a value (arcsin 2.45 -> 1.87 ns a value on one core)."""
    big = a > _T3P8 * s
    mid = a > 0.66 * s
    num = _select(big, -s, _select(mid, a - s, a))  # (selects, not branches: see _select)
    den = _select(big, a, _select(mid, a + s, s))
    t = num / den                                 # one division for the three ranges
    base = _PIO2 if big else (_PIO4 if mid else 0.0)
    more = _MOREBITS if big else (0.5 * _MOREBITS if mid else 0.0)
    z = t * t
    p = _muladd(_muladd(_muladd(_muladd(_AP[0], z, _AP[1]), z, _AP[2]), z, _AP[3]), z, _AP[4])
    q = _muladd(_muladd(_muladd(_muladd(z + _AQ[0], z, _AQ[1]), z, _AQ[2]), z, _AQ[3]), z, _AQ[4])
    return base + (_muladd(t, z * p / q, t) + more)


# float32 arctan: arctan(d) = d + d z P(z), z = d^2, for d = min(|x|, 1/|x|) in [0, 1]
# (P of degree 8, fitted by weighted least squares to 0.05 ulp), and pi/2 - arctan(1/|x|)
# above 1, pi/2 in two parts: within 1.5 ulp. (Evaluated in float64 with Cephes' two ranges
# and two divisions it was 0.5 ulp and 0.63x NumPy's SIMD arctan; Cephes' own float32 atanf
# is 2.6 ulp off.)
_AT32 = tuple(np.float32(c) for c in (
    -0.0017935929354280233, 0.010914476588368416, -0.03117760643362999, 0.057957351207733154,
    -0.08403436094522476, 0.10952180624008179, -0.14264240860939026, 0.19998548924922943,
    -0.33333298563957214))
_PIO2_HI32 = np.float32(_PIO2)
_PIO2_LO32 = np.float32(_PIO2 - float(_PIO2_HI32))


@njit(inline="always", cache=True)
def atan32(x):
    x = np.float32(x)
    a = abs(x)
    above = a > _ONE
    d = _ONE / a if above else a                  # inf: 0; NaN stays NaN
    z = d * d
    r = _muladd(d * z, _horner(_AT32, z), d)
    r = _PIO2_HI32 - (r - _PIO2_LO32) if above else r
    return math.copysign(r, x)


# float64 arcsin, arccos and arctanh through arctan and log1p: each argument below is within
# ~1.5 ulp, and arctan and log1p do not magnify a relative error of their argument there
# (|t atan'(t) / atan(t)| <= 1; log1p of u >= 0 alike). libm's were scalar: 0.1-0.35x NumPy's
# SIMD ones.
@njit(inline="always", cache=True)
def asin64(x):
    """arcsin(x) = arctan(x / sqrt((1 - x)(1 + x))): (1 - a)(1 + a) does not cancel near 1."""
    x = np.float64(x)
    a = abs(x)
    r = _atan_of_ratio64(a, np.sqrt((1.0 - a) * (1.0 + a)))    # a = 1: pi/2; a > 1: NaN
    return math.copysign(r, x)


@njit(inline="always", cache=True)
def acos64(x):
    """arccos(x) = 2 arctan(sqrt((1 - x) / (1 + x))), the ratio as sqrt((1 - x)(1 + x)) / (1 + x)
    (one division fewer: see _atan_of_ratio64); x = -1, where that is 0 / 0, is pi."""
    x = np.float64(x)
    v = 1.0 + x
    r = 2.0 * _atan_of_ratio64(np.sqrt((1.0 - x) * v), v)
    return _PI if x == -1.0 else r


@njit(inline="always", cache=True)
def atanh64(x):
    """arctanh(|x|) = log1p(2|x| / (1 - |x|)) / 2, the sign put back: for x < 0 the log1p
    argument would approach -1, where log1p magnifies its error."""
    x = np.float64(x)
    a = abs(x)
    r = 0.5 * log1p64((a + a) / (1.0 - a))                        # a = 1: inf; a > 1: NaN
    return math.copysign(r, x)


# float32 arcsin, arccos and arctanh in float32 (float64 evaluation ran at 0.5-0.8x NumPy's
# 16-lane SIMD): Cephes' forms with polynomials fitted again one degree higher (P, Q of degree
# 5 in z = x^2 on [0, 0.25]: 0.005 and 0.02 ulp of fit), pi and pi/2 in two parts.
_AS32 = tuple(np.float32(c) for c in (0.03751646727323532, 0.01443859376013279, 0.03180772066116333,
                                      0.04451695457100868, 0.07500503957271576, 0.16666659712791443))
_AH32 = tuple(np.float32(c) for c in (0.17669110000133514, 0.05135830491781235, 0.11823728680610657,
                                      0.14222761988639832, 0.20002518594264984, 0.33333301544189453))
_PI_HI32 = np.float32(math.pi)
_PI_LO32 = np.float32(math.pi - float(_PI_HI32))


@njit(inline="always", cache=True)
def _asin_parts32(a):
    """(r, big) for a = |x|: r = arcsin(a) up to 0.5; above, r = arcsin(sqrt((1 - a) / 2))
    (1 - a exact), with arcsin(a) = pi/2 - 2r. a > 1 gives NaN (the square root of w < 0)."""
    big = a > np.float32(0.5)
    w = np.float32(0.5) * (_ONE - a) if big else a * a
    s = np.sqrt(w) if big else a
    return _muladd(s * w, _horner(_AS32, w), s), big


@njit(inline="always", cache=True)
def asin32(x):
    x = np.float32(x)
    r, big = _asin_parts32(abs(x))
    r = _PIO2_HI32 - ((r + r) - _PIO2_LO32) if big else r
    return math.copysign(r, x)


@njit(inline="always", cache=True)
def acos32(x):
    """2r or pi - 2r beyond |x| = 0.5 (x > 0, x < 0), pi/2 - arcsin(x) within."""
    x = np.float32(x)
    r, big = _asin_parts32(abs(x))
    r2 = r + r
    far = r2 if x > 0 else _PI_HI32 - (r2 - _PI_LO32)
    near = _PIO2_HI32 - ((r if x > 0 else -r) - _PIO2_LO32)
    return far if big else near


@njit(inline="always", cache=True)
def atanh32(x):
    """a + a z Q(z) below |x| = 0.5; above, log((1 + a) / (1 - a)) / 2 (1 - a exact)."""
    x = np.float32(x)
    a = abs(x)
    z = a * a
    small = _muladd(a * z, _horner(_AH32, z), a)
    large = np.float32(0.5) * log32((_ONE + a) / (_ONE - a))     # a = 1: inf; a > 1: NaN
    r = small if a < np.float32(0.5) else large
    return math.copysign(r, x)


@njit(inline="always", cache=True)
def exp2_64(x):
    """2^n 2^f with n = round(x) and f = x - n exact; 2^f = exp(f ln2) (f ln2 within 2^-54).
    (n from the 1.5 * 2^52 shift and 2^n from its bits, as exp2_32: 0.79 -> 0.65 ns a value on
    LLVM 20 against floor and ldexp's two factors.)"""
    x = np.float64(x)
    c = _clamped(x, -1080.0, 1025.0)
    k = c + _SHIFT_1022_D                         # n = c rounded (ties to even), in k's low bits
    n = k - _SHIFT_1022_D
    y = _expm1_reduced64((c - n) * 0.6931471805599453) + 1.0
    return _times_pow2_of_bits64(y, _float64_to_bits(k), c < 0) if c == c else x


@njit(inline="always", cache=True)
def softplus32(x):
    """max(x, 0) + log1p(d), d = exp(-|x|) in (0, 1], by numba_vecmath.log1p_unit32 (a log1p
    for d in [0, 1] only: 1.75x faster than log(1 + d) corrected for the add's rounding, which
    log1p_by_log32 is)."""
    x = np.float32(x)
    m = x if x > 0 else np.float32(0.0)
    m = x if x != x else m                        # NaN stays NaN
    return m + log1p_unit32(exp32(-abs(x)))


@njit(inline="always", cache=True)
def softplus64(x):
    x = np.float64(x)
    m = x if x > 0 else 0.0
    m = x if x != x else m
    return m + log1p_unit64(exp64(-abs(x)))


@njit(inline="always", cache=True)
def elu32(x):
    x = np.float32(x)
    return x if x > 0 else expm1_32(x) + np.float32(0)  # (elu(-0.0) is 0.0, as the reference's)


@njit(inline="always", cache=True)
def elu64(x):
    x = np.float64(x)
    return x if x > 0 else expm1_64(x) + np.float64(0)


_LN2F = np.float32(0.6931471805599453)


@njit(inline="always", cache=True)
def exp2_32(x):
    """2^n 2^f with n = round(x): f = x - n is exact, so no Cody-Waite split is needed. (n
    from the 1.5 * 2^23 shift and 2^n from its bits: 0.275 -> 0.237 ns a value on LLVM 20
    against floor and ldexp's two factors; a tie rounds to even now, the same accuracy.)"""
    x = np.float32(x)
    c = _clamped(x, np.float32(-152.0), np.float32(129.0))
    k = c + _SHIFT_126                            # n = c rounded (ties to even), in k's low bits
    n = k - _SHIFT_126
    y = _expm1_reduced32((c - n) * _LN2F) + _ONE
    return _times_pow2_of_bits32(y, _float32_to_bits(k), c < 0) if c == c else x


@njit(inline="always", cache=True)
def _pow_signs_and_edges(x, y, r):
    """pow(x, y) from r = exp(y log|x|) (float64 x, y, r; float32 values held exactly): C99's
    rules, pow(x, 0) = pow(1, y) = 1 even for NaN, a negative base only to an integer power,
    signed zeros and infinities."""
    integer = np.floor(y) == y                                       # (inf counts as an even integer)
    odd = integer and np.floor(y * 0.5) * 2.0 != y
    negative = _float64_to_bits(x) < np.int64(0)                     # the sign bit: -0.0 counts
    r = -r if (negative and odd) else r
    r = np.nan if (x < 0 and not integer and abs(x) < np.inf) else r
    r = 1.0 if (x == -1.0 and abs(y) == np.inf) else r
    return 1.0 if (y == 0 or x == 1.0) else r


# float32 pow: exp(y log|x|) in float64, where about 2^-30 relative is enough for a float32
# result (|y log|x|| < 104 unless the result overflows or underflows): log as e ln2 +
# 2 atanh(s), s = (m - 1) / (m + 1), by 6 terms of its series (to ~2^-36: z^7 / 15 with
# z = s^2 <= 0.04); exp by Cody-Waite and 8 Taylor terms (~2^-32). Worst error 0.507 ulp over
# 4M arguments (0.5001 with 8 and 9 terms, which cost 8% more: 2.17-2.29 against 2.00-2.11 ns
# a value). (log64 and exp64, accurate to the last float64 bit, had made it 0.93x NumPy.)
_ATANH32 = tuple(2.0 / (2 * k + 1) for k in range(6, 0, -1))      # 2/13 ... 2/3
_EXP32 = tuple(1.0 / math.factorial(k) for k in range(8, 1, -1))  # 1/8! ... 1/2!


@njit(inline="always", cache=True)
def _log_for32(d):
    """log(d) to about 2^-36 relative, for d > 0 a float32 value held in a float64 (no
    float64 subnormals); 0, inf and NaN are the caller's."""
    e, m = _exponent_and_mantissa64(d)
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    return _muladd(np.float64(e), 0.6931471805599453, _muladd(s * z, _horner(_ATANH32, z), s + s))


@njit(inline="always", cache=True)
def _exp_for32(t):
    """exp(t) to about 2^-32 relative where a float32 result is finite and not zero (and
    beyond: inf, 0; NaN stays NaN)."""
    c = -200.0 if t < -200.0 else t
    c = 200.0 if c > 200.0 else c
    _, r, bits = _split_ln2_bits64(c, _SHIFT_1023_D)   # 2^n normal for |n| <= 289: one factor
    p = _horner(_EXP32, r)
    return _muladd(p * r, r, r + 1.0) * _bits_to_float64(bits << np.int64(52)) if c == c else t


@njit(inline="always", cache=True)
def pow32(x, y):
    """x ** y as exp(y log|x|) in float64 (the log and exp above), C99's special cases by
    _pow_signs_and_edges."""
    x, y = np.float32(x), np.float32(y)
    dx, dy = np.float64(x), np.float64(y)
    a = abs(dx)
    log_a = _log_for32(a)
    log_a = log_a if a < np.inf else a
    log_a = -np.inf if a == 0 else log_a
    return np.float32(_pow_signs_and_edges(dx, dy, _exp_for32(dy * log_a)))


# float64 pow: exp(y log|x|) needs log|x| to about 2^-64 relative (an error d in y log|x|
# is a relative error d in the result, and |y log|x|| reaches 745), so the log is a
# double-double (hi + lo): log|x| = e ln2 + 2 atanh(s), s = (m - 1) / (m + 1), m in [0.75, 1.5)
# (FDLIBM's and SLEEF's form), with 2s and 2s^3/3 carried in two parts and the rest
# (2s^5/5 + ...: under 3e-4 of the total) in one; exp then takes y log|x| with its low part.
_TWO_THIRDS_HI, _TWO_THIRDS_LO = 2.0 / 3.0, 3.700743415417188e-17   # 2/3 = hi + lo
_LN2_HI_D, _LN2_LO_D = 0.6931471805598903, 5.497923018708371e-14   # hi: 42 bits, so e * hi is exact
_ATANH = tuple(2.0 / (2 * k + 1) for k in range(13, 1, -1))        # 2/27 ... 2/5


@njit(inline="always", cache=True)
def _log_dd(a):
    """log(a) as (hi, lo) for a finite a > 0, to about 2^-64 relative."""
    sub = a < 2.2250738585072014e-308
    a = a * 18014398509481984.0 if sub else a                      # subnormals times 2^54
    e, m = _exponent_and_mantissa64(a)
    f = np.float64(e - np.int64(54) if sub else e)
    num = m - 1.0                                                    # exact
    dh, dl = _two_sum(m, 1.0)
    inv = 1.0 / dh
    sh = num * inv
    sl = (_fma(-sh, dh, num) - sh * dl) * inv                        # s = sh + sl to ~2^-104
    s2h = sh * sh
    s2l = _fma(sh, sh, -s2h) + 2.0 * sh * sl
    s3h = s2h * sh
    s3l = _fma(s2h, sh, -s3h) + (s2l * sh + s2h * sl)
    c3h = _TWO_THIRDS_HI * s3h                                       # 2s^3/3, in two parts
    c3l = _fma(_TWO_THIRDS_HI, s3h, -c3h) + (_TWO_THIRDS_HI * s3l + _TWO_THIRDS_LO * s3h)
    h, l = _two_sum(sh + sh, c3h)
    l = l + (sl + sl) + c3l + s3h * s2h * _horner(_ATANH, s2h)
    big, l2 = _two_sum(f * _LN2_HI_D, h)                             # f * hi is exact
    return big, l2 + l + f * _LN2_LO_D


@njit(inline="always", cache=True)
def pow64(x, y):
    """x ** y as exp(y log|x|) with log|x| in two parts (above), within 2 ulp, C99's special
    cases by _pow_signs_and_edges (libm's pow is scalar: it ran at 0.58x NumPy's SIMD one)."""
    x, y = np.float64(x), np.float64(y)
    a = abs(x)
    lh, ll = _log_dd(a)
    lh = lh if a < np.inf else a                                     # inf: inf
    lh = -np.inf if a == 0 else lh
    ll = ll if (a < np.inf and a > 0) else 0.0
    th = y * lh
    tl = _fma(y, lh, -th) + y * ll
    tl = tl if abs(th) <= 746.0 else 0.0                             # beyond, th alone decides (0 or inf)
    c = -746.0 if th < -746.0 else th
    c = 710.0 if c > 710.0 else c                                    # NaN stays NaN
    n, r = _split_ln2_64(c)
    r = r + tl
    v = times_pow2_64(_expm1_reduced64(r) + 1.0, n)
    return _pow_signs_and_edges(x, y, v if c == c else th)


# arcsinh, arccosh, cbrt, arctan2 and logaddexp (libm's were scalar: 0.05-0.3x NumPy's SIMD
# loops, 12-14x slower than those for float32 cbrt and arctan2).
_LN2 = 0.6931471805599453
_PIO2_HI64, _PIO2_LO64 = 1.5707963267948966, 6.123233995736766e-17


@njit(inline="always", cache=True)
def _asinh_abs64(a):
    """arcsinh(a) for a = |x| (or NaN): log1p of an argument that no step cancels in."""
    s = np.sqrt(_muladd(a, a, 1.0))
    # a <= 2: log1p(a + a^2 / (1 + sqrt(1 + a^2))); above, log(2a + 1 / (sqrt(a^2 + 1) + a)),
    # as log1p(2a - 1 + ...): one division of the parts selected first, as asinh32's (a vector
    # loop would otherwise divide twice: 3.0 -> 2.6 ns a value, the same results).
    big = a > 2.0
    part = (1.0 if big else a * a) / ((s + a) if big else (1.0 + s))
    huge = a > 268435456.0                        # a > 2^28: log(a) + log 2, as log1p(a - 1)
    u = (a - 1.0) if huge else ((a + a - 1.0) + part if big else a + part)
    return log1p64(u) + (_LN2 if huge else 0.0)


@njit(inline="always", cache=True)
def asinh64(x):
    x = np.float64(x)
    r = _asinh_abs64(abs(x))
    return math.copysign(r, x)


@njit(inline="always", cache=True)
def acosh64(x):
    """log1p(t + sqrt(t^2 + 2t)) with t = x - 1 up to 2 (t^2 + 2t is x^2 - 1 without the
    cancellation near 1), log(2x - 1 / (x + sqrt(x^2 - 1))) above, log(x) + log 2 beyond 2^28."""
    x = np.float64(x)
    t = x - 1.0
    q = np.sqrt(_muladd(t, t, t + t))
    u = t if x > 268435456.0 else ((x + t) - 1.0 / (x + q) if x > 2.0 else t + q)
    r = log1p64(u) + (_LN2 if x > 268435456.0 else 0.0)
    return r if x >= 1.0 else np.nan


@njit(inline="always", cache=True)
def asinh32(x):
    """As asinh64's, in float32 (huge from 2^12, where 1 / (2 a^2) is below float32's ulp)."""
    x = np.float32(x)
    a = abs(x)
    s = np.sqrt(_muladd(a, a, _ONE))
    huge = a > np.float32(4096.0)
    big = a > np.float32(2.0)                     # (one division: the two forms' parts selected first)
    u = (a + a - _ONE if big else a) + (_ONE if big else a * a) / (s + a if big else _ONE + s)
    u = (a - _ONE) if huge else u
    r = log1p_by_log32(u) + (_LN2F if huge else np.float32(0.0))
    return math.copysign(a if a == np.float32(np.inf) else r, x)   # (r(inf) is NaN: inf - inf)


@njit(inline="always", cache=True)
def acosh32(x):
    x = np.float32(x)
    t = x - _ONE
    q = np.sqrt(_muladd(t, t, t + t))
    huge = x > np.float32(4096.0)
    u = t if huge else ((x + t) - _ONE / (x + q) if x > np.float32(2.0) else t + q)
    r = log1p_by_log32(u) + (_LN2F if huge else np.float32(0.0))
    r = x if x == np.float32(np.inf) else r
    return r if x >= _ONE else np.float32(np.nan)


# y = s^(-1/3) from the exponent: the high word's bits, K - h / 3 (|1 - s y^3| <= 0.103).
_INVERSE_CBRT_BITS = 1430186339


@njit(inline="always", cache=True)
def cbrt64(x):
    """s^(1/3) as s y^2 with y = s^(-1/3), whose iterations divide by nothing (three
    vdivpd a vector, FreeBSD's way, cost 1.94 ns a value on one core; this 1.46): y from the
    exponent, then y (1 - e)^(-1/3) with e = 1 - s y^3 by its series, to degree 4 (~20 bits)
    and degree 2 (beyond 53); s y^2 corrected once by (s - c^3) / (3 c^2), with c^3 - s
    from FMAs and 1 / (3 c^2) as y^2 / 3. Within 1.03 ulp (1.17 before). Tiny and huge |x|
    are scaled by 2^-+162 first, so that y^3 stays normal."""
    x = np.float64(x)
    a = abs(x)
    tiny, huge = a < 1e-290, a > 1e290
    s = a * 5.846006549323611e+48 if tiny else (a * 1.7105694144590052e-49 if huge else a)
    high = _float64_to_bits(s) >> np.int64(32)
    y = _bits_to_float64((np.int64(_INVERSE_CBRT_BITS) - np.int64(np.float64(high) * (1.0 / 3.0))) << np.int64(32))
    e = _fma(-s, (y * y) * y, 1.0)
    y = y + y * (e * (1.0 / 3.0 + e * (2.0 / 9.0 + e * (14.0 / 81.0 + e * (35.0 / 243.0)))))
    e = _fma(-s, (y * y) * y, 1.0)
    y = y + y * (e * (1.0 / 3.0 + e * (2.0 / 9.0)))
    c = (s * y) * y
    c2 = c * c
    c = _fma(-(_fma(c2, c, -s) + _fma(c, c, -c2) * c), (y * y) * (1.0 / 3.0), c)
    c = c * 5.551115123125783e-17 if tiny else (c * 18014398509481984.0 if huge else c)
    return math.copysign(a if (a == 0 or a == np.inf or x != x) else c, x)


@njit(inline="always", cache=True)
def cbrt32(x):
    """5 bits from the exponent divided by 3, one Halley step (15 bits), one Newton step with
    y^3 - a from an FMA (within 0.75 ulp); tiny and huge |x| scaled by 2^-+72 first."""
    x = np.float32(x)
    a = abs(x)
    tiny, huge = a < np.float32(1e-30), a > np.float32(1e30)
    s = a * np.float32(4.722366482869645e21) if tiny else (a * np.float32(2.117582368135751e-22) if huge else a)
    y = _bits_to_float32(np.int32(np.float32(_float32_to_bits(s)) * np.float32(1.0 / 3.0)) + np.int32(709921077))
    y3 = y * y * y
    y = y * ((y3 + s + s) / (y3 + y3 + s))
    y2 = y * y
    y = y - _fma(y2, y, -s) / (np.float32(3.0) * y2)
    y = y * np.float32(5.960464477539063e-08) if tiny else (y * np.float32(16777216.0) if huge else y)
    return math.copysign(a if (a == 0 or a == np.float32(np.inf) or x != x) else y, x)


@njit(inline="always", cache=True)
def atan2_64(y, x):
    """C99's atan2: arctan(|y / x|), reflected for x < 0 (or -0.0) and signed as y; 0 / 0 is
    taken as 0, inf / inf as 1, and |y / x| > 2^60 (x = 0 too) gives pi/2."""
    y, x = np.float64(y), np.float64(x)
    ay, ax = abs(y), abs(x)
    t = 0.0 if ay == 0 else (1.0 if (ay == np.inf and ax == np.inf) else ay / ax)
    z = atan64(t)
    r = (_PIO2_HI64 + ((_PIO2_HI64 - z) + (_PIO2_LO64 + _PIO2_LO64))) if _float64_to_bits(x) < 0 else z
    r = _PIO2_HI64 if t > 1.152921504606847e18 else r
    r = r if _float64_to_bits(y) >= 0 else -r
    return x + y if (x != x or y != y) else r


@njit(inline="always", cache=True)
def atan2_32(y, x):
    """As atan2_64, with atan32; the reflection pi - z rounded once (in float64)."""
    y, x = np.float32(y), np.float32(x)
    ay, ax = abs(y), abs(x)
    t = np.float32(0.0) if ay == 0 else (_ONE if (ay == np.float32(np.inf) and ax == np.float32(np.inf)) else ay / ax)
    z = atan32(t)
    r = np.float32(3.141592653589793 - np.float64(z)) if _float32_to_bits(x) < 0 else z
    r = _PIO2_HI32 if t > np.float32(1073741824.0) else r
    r = r if _float32_to_bits(y) >= 0 else -r
    return x + y if (x != x or y != y) else r


@njit(inline="always", cache=True)
def logaddexp64(a, b):
    """NumPy's: a + log 2 when a == b (infinities too), NaN when a - b is, else the larger
    plus softplus(-|a - b|)."""
    a, b = np.float64(a), np.float64(b)
    d = a - b
    r = (a if d > 0 else b) + softplus64(-abs(d))
    r = d if d != d else r
    return a + _LN2 if a == b else r


@njit(inline="always", cache=True)
def logaddexp32(a, b):
    a, b = np.float32(a), np.float32(b)
    d = a - b
    r = (a if d > 0 else b) + softplus32(-abs(d))
    r = d if d != d else r
    return a + _LN2F if a == b else r


# Cephes erf and erfc (Moshier's rational approximations, highest power first; U and Q with
# their leading 1): erf(x) = x T(x^2) / U(x^2) for |x| <= 1; beyond, 1 - exp(-x^2) P(|x|) / Q(|x|),
# whose second term is below half an ulp of 1 from |x| = 6 on.
_ERF_T = (9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3,
          7.00332514112805075473e3, 5.55923013010394962768e4)
_ERF_U = (1.0, 3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3,
          2.26290000613890934246e4, 4.92673942608635921086e4)
_ERFC_P = (2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0,
           4.86371970985681366614e1, 1.96520832956077098242e2, 5.26445194995477358631e2,
           9.34528527171957607540e2, 1.02755188689515710272e3, 5.57535335369399327526e2)
_ERFC_Q = (1.0, 1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2,
           9.75708501743205489753e2, 1.82390916687909736289e3, 2.24633760818710981792e3,
           1.65666309194161350182e3, 5.57535340817727675546e2)


@njit(inline="always", cache=True)
def erf64(x):
    """Both of Cephes' ranges computed and one selected (libm's erf was a scalar call: gelu
    over 10^6 floats took 9-10 ms)."""
    x = np.float64(x)
    a = abs(x)
    z = a * a
    b = a if a < 6.0 else 6.0
    # near: a T(z) / U(z); far: 1 - exp(-b^2) P(b) / Q(b); one division of the selected
    # operands (1.73-1.77 -> 1.61 ns a value, the same results).
    near = a <= 1.0
    ratio = ((a * _horner(_ERF_T, z) if near else exp64(-(b * b)) * _horner(_ERFC_P, b))
             / (_horner(_ERF_U, z) if near else _horner(_ERFC_Q, b)))
    r = ratio if near else 1.0 - ratio
    return math.copysign(a if a != a else r, x)   # (NaN's far is 1)


@njit(inline="always", cache=True)
def erf32(x):
    """erf64 rounded once (NumPy's reference, scipy's erf, is float64's too for float32)."""
    return np.float32(erf64(np.float64(x)))


@njit(inline="always", cache=True)
def gelu64(x):
    x = np.float64(x)
    return 0.5 * x * (1.0 + erf64(x * 0.7071067811865476))


@njit(inline="always", cache=True)
def gelu32(x):
    """In float64 and rounded once, as the op's NumPy reference computes it."""
    return np.float32(gelu64(np.float64(x)))


# log2 and log10 are log times a constant, spelled in the forms (float32: log32's 1 ulp and
# one rounding of the product, within 2 ulp).
_LOG2E, _LOG10E = 1.4426950408889634, 0.4342944819032518
FORMS = {"float32": {"expm1": "expm1_32({0})", "sinh": "sinh32({0})", "cosh": "cosh32({0})",
                     "arctan": "atan32({0})", "softplus": "softplus32({0})", "elu": "elu32({0})",
                     "exp2": "exp2_32({0})", "log2": f"(log32({{0}}) * np.float32({_LOG2E!r}))",
                     "arcsin": "asin32({0})", "arccos": "acos32({0})", "arctanh": "atanh32({0})",
                     "log10": f"(log32({{0}}) * np.float32({_LOG10E!r}))", "pow": "pow32({0}, {1})",
                     "arcsinh": "asinh32({0})", "arccosh": "acosh32({0})", "cbrt": "cbrt32({0})",
                     "arctan2": "atan2_32({0}, {1})", "logaddexp": "logaddexp32({0}, {1})",
                     "erf": "erf32({0})", "gelu": "gelu32({0})"},
         "float64": {"expm1": "expm1_64({0})", "sinh": "sinh64({0})", "cosh": "cosh64({0})",
                     "arctan": "atan64({0})", "softplus": "softplus64({0})", "elu": "elu64({0})",
                     "log2": f"(log64({{0}}) * {_LOG2E!r})", "log10": f"(log64({{0}}) * {_LOG10E!r})",
                     "pow": "pow64({0}, {1})", "exp2": "exp2_64({0})", "arcsin": "asin64({0})",
                     "arccos": "acos64({0})", "arctanh": "atanh64({0})", "arcsinh": "asinh64({0})",
                     "arccosh": "acosh64({0})", "cbrt": "cbrt64({0})", "arctan2": "atan2_64({0}, {1})",
                     "logaddexp": "logaddexp64({0}, {1})", "erf": "erf64({0})", "gelu": "gelu64({0})"}}
# What generated kernels import from here: the functions defined in this module.
NAMES = sorted(name for name, value in list(globals().items()) if not name.startswith("_")
               and isinstance(value, CPUDispatcher) and value.py_func.__module__ == __name__)
