"""Guards that keep NumPy's SVML functions (numba_svml) on their fast path: each function is
called on an argument moved inside the range its vector code handles, and NumPy's answer is
chosen after the call for the arguments that were moved.

An argument outside a function's domain (the log of zero or of a negative number, arccosh
below 1, arctanh beyond +-1, float64 arcsin beyond +-1, a power of a negative base or of zero)
sends SVML's vector down its scalar path for its special lanes. One core, 16384 values in
cache, ns a value (AMD Zen 4): float32 log of positive values 0.24, of standard normal ones
1.97, of half zeros 2.23 (NumPy's own loop: 0.46-0.51); float64 log 0.83 -> 2.63, arcsin of
3 * normal values 1.30 -> 7.40; float32 arctanh 0.51 -> 5.48, arccosh at 1 exactly 2.74 (0.63
above it), x ** y of normal x 0.70 -> 4.89, of normal x and whole y 48.7. So a guarded form
calls the function on clean(x), an argument inside its fast domain, and finish(x, r) gives
NumPy's answer from x and that value r (C99's for pow: signs and edges as numba_special's
_pow_signs_and_edges). clean moves an argument by LLVM's NaN-propagating maximum and minimum:
a select of a constant there, select(c, x, 1), LLVM folded through the call, select(c,
log(x), 0), and called libm's scalar logf a lane at a time; pow's zero base, which the
maximum would move to the smallest number (whose powers are 0 or inf: slow again), is a
select of 1.5, whose power LLVM does not fold. Guarded, those loops run as fast as over
values inside the domain: float32 log 0.30-0.35 ns a value, x ** y 1.0-1.2, float64 log 0.93,
arcsin 1.36; inside the domain the guard costs 5-25% (x ** y of arrays 30%: float32 log 0.23
-> 0.32, x ** y 0.82 -> 1.18). NaN passes through clean as through SVML's fast path; an
infinite argument still takes the scalar path (rare, and exact).
"""
import math

import numpy as np
from numba import njit

from .numba_vecmath import _select, fold_max, fold_min

# op name -> its guard's kind (_guards)
GUARDED = {"log": "positive", "log2": "positive", "log10": "positive", "log1p": "above_minus_one",
           "arccosh": "above_one", "arctanh": "inside_one", "arcsin": "within_one", "arccos": "within_one",
           "pow": "power", "exp": "exp", "exp2": "exp2", "expm1": "expm1", "cosh": "cosh", "sinh": "sinh"}
# The exponentials' scalar path takes results that overflow, or underflow to subnormal numbers
# and zero, and a sliver of normal ones beside them (float64 exp of x in (707, 709.8) or
# (-708.4, -707.5); float32 cosh from 88). Guarded, an argument whose result is infinite is
# called as 0 and the result set after (a bound a little past the first such argument: those
# between stay exact, and slow); one whose result is subnormal or 0 is called where it is
# normal and scaled back: float32 exp2(x) = exp2(x + 64) 2^-64 (float64: 128; exact but for the
# last rounding), float64 exp(x) = exp(x / 2)^2 (within a subnormal ulp); one whose result is 0
# is called as 0 too (a multiply whose result falls below the normal range is itself slow). float32
# exp and tanh are ours everywhere, which have no such path.


def _guards(dtype):
    """{kind: (clean, finish)} for values of `dtype` (see GUARDED): clean(x), or clean(x, y)
    for pow, the argument the function is called on; finish(x, r), or finish(x, y, r), the
    result given the function's value r there."""
    f = np.dtype(dtype).type
    zero, half_one, one, one_and_half, inf, nan = f(0), f(0.5), f(1), f(1.5), f(math.inf), f(math.nan)
    smallest = f(np.finfo(dtype).smallest_subnormal)
    past_minus_one, past_one, short_of_one = np.nextafter(-one, zero), np.nextafter(one, inf), np.nextafter(one, zero)

    @njit(inline="always")
    def positive(x):
        return fold_max(x, smallest)

    @njit(inline="always")
    def log_of(x, r):  # -inf at zero, NaN below
        return _select(x > zero, r, _select(x == zero, -inf, nan))

    @njit(inline="always")
    def above_minus_one(x):
        return fold_max(x, past_minus_one)

    @njit(inline="always")
    def log1p_of(x, r):  # -inf at -1, NaN below
        return _select(x > -one, r, _select(x == -one, -inf, nan))

    @njit(inline="always")
    def above_one(x):  # (1 itself is slow)
        return fold_max(x, past_one)

    @njit(inline="always")
    def arccosh_of(x, r):  # 0 at 1, NaN below
        return _select(x > one, r, _select(x == one, zero, nan))

    @njit(inline="always")
    def inside_one(x):
        return fold_min(fold_max(x, -short_of_one), short_of_one)

    @njit(inline="always")
    def arctanh_of(x, r):  # +-inf at +-1, NaN beyond
        a = abs(x)
        return _select(a < one, r, _select(a == one, math.copysign(inf, x), nan))

    @njit(inline="always")
    def within_one(x):
        return fold_min(fold_max(x, -one), one)

    @njit(inline="always")
    def arcsin_of(x, r):  # NaN beyond +-1
        return _select(abs(x) <= one, r, nan)

    @njit(inline="always")
    def power(x, y):
        a = abs(x)
        return _select(a == zero, one_and_half, a)

    @njit(inline="always")
    def power_of(x, y, r):  # r = |x| ** y, but at 0: 0 ** 0 = 1, 0 ** nan = nan
        a = abs(x)
        r = _select(a == zero, _select(y < zero, inf, _select(y > zero, zero, y + one)), r)
        integer, half = np.floor(y) == y, y * half_one
        r = _select(integer & (np.floor(half) != half) & (math.copysign(one, x) < zero), -r, r)  # (-0.0 too)
        return _select((x < zero) & (np.floor(y) != y) & (a < inf), nan, r)

    # (float64 exp: results subnormal below exp_low, 0 below exp_zero, inf above exp_high; exp2's)
    exp_zero, exp_low, exp_high = f(-745.2), f(-708.4), f(709.79)
    exp2_zero, exp2_low, exp2_high = (f(-150), f(-126), f(128)) if dtype == "float32" else (f(-1075), f(-1022), f(1024))
    exp2_shift = f(64) if dtype == "float32" else f(128)
    exp2_scale = f(2.0 ** -int(exp2_shift))
    expm1_high, cosh_high = f(88.73), f(89.42)

    @njit(inline="always")
    def exp(x):  # (0 and inf results: called at 0, whose result no multiply takes below the normal range)
        beyond = (x > exp_high) | (x < exp_zero)
        return _select(beyond, x * zero, _select(x < exp_low, x * half_one, x))

    @njit(inline="always")
    def exp_of(x, r):  # exp(x / 2)^2 for a subnormal result
        return _select(x > exp_high, inf, _select(x < exp_zero, zero, _select(x < exp_low, r * r, r)))

    @njit(inline="always")
    def exp2(x):
        beyond = (x >= exp2_high) | (x < exp2_zero)
        return _select(beyond, x * zero, _select(x < exp2_low, x + exp2_shift, x))

    @njit(inline="always")
    def exp2_of(x, r):  # exp2(x + shift) 2^-shift for a subnormal result
        return _select(x >= exp2_high, inf, _select(x < exp2_zero, zero, _select(x < exp2_low, r * exp2_scale, r)))

    @njit(inline="always")
    def expm1(x):
        return _select(x > expm1_high, x * zero, x)

    @njit(inline="always")
    def expm1_of(x, r):
        return _select(x > expm1_high, inf, r)

    @njit(inline="always")
    def cosh(x):
        return _select(abs(x) > cosh_high, x * zero, x)

    @njit(inline="always")
    def cosh_of(x, r):
        return _select(abs(x) > cosh_high, inf, r)

    @njit(inline="always")
    def sinh_of(x, r):
        return _select(abs(x) > cosh_high, math.copysign(inf, x), r)

    return {"exp": (exp, exp_of), "exp2": (exp2, exp2_of), "expm1": (expm1, expm1_of), "cosh": (cosh, cosh_of),
            "sinh": (cosh, sinh_of),
            "positive": (positive, log_of), "above_minus_one": (above_minus_one, log1p_of),
            "above_one": (above_one, arccosh_of), "inside_one": (inside_one, arctanh_of),
            "within_one": (within_one, arcsin_of), "power": (power, power_of)}


GUARDS = {dtype: _guards(dtype) for dtype in ("float32", "float64")}


def guarded(raw, clean, finish, arity):
    """finish(x, raw(clean(x))), or for two arguments finish(x, y, raw(clean(x, y), y))."""
    if arity == 1:
        @njit(inline="always")
        def guarded(x):
            return finish(x, raw(clean(x)))
    else:
        @njit(inline="always")
        def guarded(x, y):
            return finish(x, y, raw(clean(x, y), y))
    return guarded


