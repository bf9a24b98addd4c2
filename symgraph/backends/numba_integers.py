"""Integer steps of the generated loops spelled so that they give NumPy's results and vectorize
where they can: the table's own spelling (scalar_ops' `src`) is numba's integer arithmetic,
which differs from NumPy's at the edges.

- Floor division and mod by a variable, for integers of up to 32 bits, as the floor of their
  float quotient (_floor_division_by_float): x86 has no vector integer division, and numba's
  loop made a scalar division a value. int64 by a variable as the floor of a float64 quotient
  corrected in integers (int64_floor_quotient; the float quotient alone is not exact beyond
  2^53), where numba's division was a scalar idiv a value (and gave 0 for min // -1, whose
  NumPy value is the minimum).
- int64 floor division and mod by a literal as a multiply-high by a precomputed reciprocal
  (magic_floor_quotient), written in 32-bit halves that vectorize: LLVM's own multiply-high
  of 64-bit integers has no vector instruction, so x // 7 ran a scalar multiply a value
  (0.59-0.85x NumPy, whose loop splits the product the same way).
- Floor division and mod by a divisor the same for every value (a kernel's 0-d input, read
  before its loop) with what can be worked out once before the loop (_by_invariant): the same
  multiply-high, its numbers computed at the call (magic_plan, unsigned_magic_plan), for 64
  bits; unsigned ones of 8 to 32 bits and int8 by a multiply-high in their own width or 16 bits
  (unsigned8_plan, unsigned_narrow_plan, signed8_plan: LLVM's umul.fix, one vpmulhuw for 16-bit
  lanes); int16 and int32 a float
  product by the reciprocal with a small upward bias (reciprocal_plan), which needs no
  correction. NumPy divides by a scalar with libdivide's precomputed multiplier, in SIMD
  lanes: x // n of 10^5 ran 0.17-0.84x NumPy's here.
- Power: NumPy refuses a negative exponent ("Integers to negative integer powers are not
  allowed"); numba's gave 0 (or raised OverflowError for the minimum, which in a parallel
  task surfaced as a MemoryError). int_power raises NumPy's ValueError.
- Reciprocal: NumPy's integer loop divides 1.0 by the value and converts the quotient back,
  so 1 and -1 are themselves, the others 0, and 0 the CPU's conversion of inf (x86: int32's
  and int64's minimum, 0 for the others); numba's conversion of inf gave the maximum. The
  value at 0 is NumPy's own, asked once (_reciprocal_of_zero).
- int64 +, -, * and negation wrap around as NumPy's do: numba marks signed arithmetic `nsw`
  (overflow is undefined), which let LLVM fold where((a - b) > a, ...) into b < 0 and take the
  other branch where a - b wrapped. In 64-bit unsigned arithmetic the same bits, without the
  flag. (Narrower integers are computed in int64 by numba and cast back: no overflow there.)
- A comparison of a signed integer with a uint64 (mixed_sign_comparison): NumPy compares them
  exactly (its int64-uint64 loops); numba compared both as float64, so int64 2^63 - 1 < uint64
  2^63 was False and -1 == 2^64 - 1 True.
"""
import functools
import re
import warnings

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from .numba_target import load_kernels_without_refresh
from .numba_vecmath import _fma

# (the generated kernels import these: numba_codegen._HEADER)
NAMES = ["int_power", "magic_floor_quotient", "floor_quotient_by_negative", "wrapped_remainder", "int64_floor_quotient",
         "floor_quotient_by_reciprocal", "reciprocal_plan", "floor_by_plan", "remainder_by_plan", "magic_plan",
         "floor_quotient_by_plan", "unsigned_magic_plan", "unsigned_floor_quotient_by_plan", "unsigned8_plan",
         "unsigned8_floor_by_plan", "unsigned_narrow_plan", "unsigned_narrow_floor_by_plan", "signed8_plan",
         "signed8_floor_by_plan"]


@njit(inline="always", cache=True)
def int_power(a, b):
    """a ** b for integers as NumPy computes it: ValueError for a negative exponent, else by
    squaring in 64-bit unsigned arithmetic, whose wrap-around the caller's cast to the result's
    dtype keeps (the same bits as NumPy's loop in that dtype)."""
    if b < 0:
        raise ValueError("Integers to negative integer powers are not allowed.")
    base, exponent, result = np.uint64(a), np.uint64(b), np.uint64(1)
    while exponent:
        if exponent & np.uint64(1):
            result *= base
        base *= base
        exponent >>= np.uint64(1)
    return np.int64(result)


_WRAPPING = {"add": "({0} + {1})", "sub": "({0} - {1})", "mul": "({0} * {1})", "neg": "(-{0})", "square": "({0} * {0})"}


def integer_step(name, args, in_dtypes, out_dtype, invariant=None):
    """The step `name` of integer arguments spelled as this module's docstring says, or None
    where the table's own spelling gives NumPy's results. invariant: a dict whose keys are the
    names of the loop's invariant values (a kernel's 0-d inputs, read before its loop); a
    division by one of them sets its value to the line that works out the divisor's plan,
    for the kernel to run before its loop."""
    if (comparison := mixed_sign_comparison(name, args, in_dtypes)) is not None:
        return comparison
    dtype = np.dtype(out_dtype)
    if dtype.kind not in "iu" or any(np.dtype(d).kind not in "iub" for d in in_dtypes):
        return None
    if name == "pow":
        return f"int_power({args[0]}, {args[1]})"
    if name in ("int_div", "mod"):
        # (NumPy divides in the result's type: an int8 or bool argument converted first, as
        # numba's own // of mixed types did not: int64 min // int8 -1 gave 0, bool // uint64 max 1)
        args = [a if d == out_dtype else f"np.{out_dtype}({a})" for a, d in zip(args, in_dtypes)]
        if invariant is not None and args[1] in invariant:
            return _by_invariant(name, args, dtype, invariant)
        division = _integer_division(name, args, dtype)
        return division or f"({args[0]} {'//' if name == 'int_div' else '%'} {args[1]})"
    if name == "reciprocal":
        x, signed = args[0], np.dtype(in_dtypes[0]).kind == "i"
        rest = f"(np.int64({_reciprocal_of_zero(in_dtypes[0])}) if {x} == 0 else np.int64(0))"
        rest = f"(np.int64(-1) if {x} == -1 else {rest})" if signed else rest
        return f"(np.int64(1) if {x} == 1 else {rest})"
    if name in _WRAPPING and out_dtype == "int64":
        return f"np.int64({_WRAPPING[name].format(*(f'np.uint64({a})' for a in args))})"
    return None


# (signed s, uint64 u): s below 0 is below every u; otherwise s converts to a uint64 exactly
_MIXED_COMPARISONS = {"lt": "({s} < 0 or np.uint64({s}) < {u})", "le": "({s} < 0 or np.uint64({s}) <= {u})",
                      "gt": "({s} >= 0 and np.uint64({s}) > {u})", "ge": "({s} >= 0 and np.uint64({s}) >= {u})",
                      "eq": "({s} >= 0 and np.uint64({s}) == {u})", "neq": "({s} < 0 or np.uint64({s}) != {u})"}
_MIRRORED = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "eq": "eq", "neq": "neq"}


def mixed_sign_comparison(name, args, in_dtypes):
    """The comparison `name` of a signed integer and a uint64 (either side) spelled exactly, as
    NumPy compares them, or None for any other step (numba's own comparison goes through
    float64 for this pair alone: narrower unsigned integers fit an int64)."""
    if name not in _MIXED_COMPARISONS or len(in_dtypes) != 2:
        return None
    kinds = [np.dtype(d).kind for d in in_dtypes]
    if kinds == ["i", "u"] and in_dtypes[1] == "uint64":
        return _MIXED_COMPARISONS[name].format(s=args[0], u=args[1])
    if kinds == ["u", "i"] and in_dtypes[0] == "uint64":
        return _MIXED_COMPARISONS[_MIRRORED[name]].format(s=args[1], u=args[0])
    return None


def _integer_division(name, args, dtype):
    """Integers of up to 32 bits by a divisor that is not a literal as _floor_division_by_float
    (LLVM divides by a literal with a multiplication already, in vector instructions: int32
    x // 7 ran 1.8x NumPy); int64 by a nonzero literal as _int64_by_literal, by a variable as
    int64_floor_quotient (a zero divisor: NumPy's 0)."""
    if dtype.itemsize <= 4 and not re.fullmatch(r"np\.\w+\(-?\d+\)", args[1]):  # (not a literal)
        return _floor_division_by_float(name, args, dtype)
    literal = re.fullmatch(r"np\.int64\((-?\d+)\)", args[1])
    if dtype == np.int64 and literal and int(literal.group(1)) != 0:
        return _int64_by_literal(name, args[0], int(literal.group(1)))
    if dtype == np.int64:
        a, b = args
        q = f"int64_floor_quotient({a}, {b})"
        value = q if name == "int_div" else f"wrapped_remainder({a}, {q}, np.uint64({b}))"
        return f"({value} if {b} != 0 else np.int64(0))"
    return None


def _floor_division_by_float(name, args, dtype):
    """a // b (or a % b, as a - b (a // b)) for integers of up to 32 bits in floats, which
    vectorize where integer division does not: 32-bit ones in float64 by floor_quotient_by_
    reciprocal; 16 and 8 bits as the floor of their float32 quotient, exact (a rounded quotient
    of integers is an integer where the exact one is, and elsewhere within |a / b| 2^-24 of it,
    less than its distance 1 / |b| to any integer while |a| < 2^24), where the reciprocal's
    form ran slower (int8 x // y of 10^5 30 -> 50 us, x // n no faster: the conversions between
    widths). NumPy's results where b is 0 (0) and for the minimum // -1 (the minimum: the int64
    quotient truncated)."""
    a, b = args
    if dtype.itemsize <= 2:
        quotient = f"np.int64(np.floor(np.float32({a}) / np.float32({b})))"
    else:
        quotient = f"np.int64(floor_quotient_by_reciprocal(np.float64({a}), np.float64({b}), 1.0))"
    value = quotient if name == "int_div" else f"(np.int64({a}) - np.int64({b}) * {quotient})"
    return f"({value} if {b} != 0 else 0)"


@njit(inline="always", cache=True)
def floor_quotient_by_reciprocal(a, b, one):
    """floor(a / b) for integers a and b != 0 of up to 32 bits held in float64s, one of their
    type: the floor of a times b's reciprocal (by an array 15-20% slower than the floor of the
    quotient, 18-20x NumPy; a 0-d divisor of an elementwise kernel takes reciprocal_plan's
    form, whose reciprocal is worked out before the loop and needs no correction). Rounded
    twice, a (1 / b) lies within |a / b| 2^-52 of a / b, less than 1, so that floor is off by
    at most one; the remainder a - q b, exact in one fma (it is below |a| + |b| < 2^53), must
    have b's sign and be smaller than b, and one step each way mends q."""
    q = np.floor(a * (one / b))
    return _floor_from_remainder(q, _fma(-q, b, a), b, one)


@njit(inline="always", cache=True)
def _floor_from_remainder(q, r, d, one):
    """floor(a / d) from q within one of it and its remainder r = a - q d (exact): r must have
    d's sign and be smaller than d, and q steps by one where it does not."""
    low = r < 0 if d > 0 else r > 0
    high = r >= d if d > 0 else r <= d
    return q - one if low else (q + one if high else q)


def _int64_by_literal(name, a, divisor):
    """a // divisor (or a % divisor) for an int64 a and a nonzero literal divisor: the floor
    quotient t of a by |divisor| is an arithmetic shift for a power of two, else
    magic_floor_quotient; a negative divisor's quotient follows from t and the remainder
    (floor_quotient_by_negative), and the mod is a - q divisor in wrapping arithmetic (the
    minimum // -1 is the minimum, NumPy's)."""
    size = abs(divisor)
    if size & (size - 1) == 0:
        t = f"({a} >> np.int64({size.bit_length() - 1}))"
    else:
        shift = (size - 1).bit_length() - 1           # ceil(log2 size) - 1
        m = (1 << (64 + shift)) // size + 1            # < 2^64 (size > 2^shift)
        t = f"magic_floor_quotient({a}, np.uint64({m & 0xFFFFFFFF}), np.uint64({m >> 32}), np.uint64({shift}))"
    q = t if divisor > 0 else f"floor_quotient_by_negative({a}, {t}, np.uint64({size}))"
    return q if name == "int_div" else f"wrapped_remainder({a}, {q}, np.uint64({divisor % 2 ** 64}))"


@njit(inline="always", cache=True)
def magic_floor_quotient(a, m_low, m_high, shift):
    """floor(a / d) for an int64 a and a d >= 3 not a power of two, m = m_high 2^32 + m_low
    = floor(2^(64 + shift) / d) + 1 and shift = ceil(log2 d) - 1: for u < 2^63, floor(u m /
    2^(64 + shift)) is floor(u / d), since m d exceeds 2^(64 + shift) by at most d <= 2^(shift
    + 1) and so u m / 2^(64 + shift) exceeds u / d by less than 1 / d (Granlund and Montgomery).
    A negative a is taken as ~a = -a - 1 (floor(a / d) = ~floor(~a / d))."""
    sign = np.uint64(a >> np.int64(63))             # all ones for a negative a
    u = np.uint64(a) ^ sign
    return np.int64((_multiply_high(u, m_low, m_high) >> shift) ^ sign)


@njit(inline="always", cache=True)
def _multiply_high(u, m_low, m_high):
    """The high half of the 128-bit product u m (uint64s; m = m_high 2^32 + m_low, each below
    2^32) as four 32-bit products (vpmuludq)."""
    low, high = u & np.uint64(0xFFFFFFFF), u >> np.uint64(32)
    low_low, low_high = low * m_low, low * m_high
    high_low, high_high = high * m_low, high * m_high
    mid = (low_low >> np.uint64(32)) + (low_high & np.uint64(0xFFFFFFFF)) + (high_low & np.uint64(0xFFFFFFFF))
    return high_high + (low_high >> np.uint64(32)) + (high_low >> np.uint64(32)) + (mid >> np.uint64(32))


@njit(inline="always", cache=True)
def floor_quotient_by_negative(a, t, size):
    """floor(a / -size) from t = floor(a / size): a / -size = -t - r / size with r = a - t size
    in [0, size), so the floor is -t, less 1 where r is not 0. Unsigned and wrapping, for size
    2^63 (the minimum's) and the minimum // -1 (the minimum)."""
    r = np.uint64(a) - np.uint64(t) * size
    return np.int64(np.uint64(0) - np.uint64(t) - (np.uint64(1) if r != np.uint64(0) else np.uint64(0)))


@njit(inline="always", cache=True)
def wrapped_remainder(a, q, divisor_bits):
    """a - q divisor in wrapping arithmetic (the divisor as its two's complement bits): the floor
    mod, whose exact value fits an int64."""
    return np.int64(np.uint64(a) - np.uint64(q) * divisor_bits)


@njit(inline="always", cache=True)
def int64_floor_quotient(a, b):
    """floor(a / b) for int64 a and b != 0 (the minimum // -1: the minimum, wrapped), in vector
    instructions: q = floor(a * (1 / b)) in float64 is within |a / b| 2^-51 + 1 of the quotient
    (a and 1 / b rounded), so the remainder r = a - q b (exact, wrapping) is small; q + floor(r
    * (1 / b)) is then within 1 (r exact below 2^53, and where |b| is larger the first q was
    already within 1), and one step each way on the remainder's sign and size makes it the
    floor. A divisor of -1 (or 0, which the caller sets apart) divides as 2, whose quotients
    convert without overflow, and is selected away."""
    unit = b == np.int64(-1) or b == np.int64(0)
    d = np.int64(2) if unit else b
    inverse = 1.0 / np.float64(d)
    q = np.int64(np.floor(np.float64(a) * inverse))
    r = np.int64(np.uint64(a) - np.uint64(q) * np.uint64(d))
    q += np.int64(np.floor(np.float64(r) * inverse))
    q = _floor_from_remainder(q, np.int64(np.uint64(a) - np.uint64(q) * np.uint64(d)), d, np.int64(1))
    return np.int64(np.uint64(0) - np.uint64(a)) if unit else q


def _by_invariant(name, args, dtype, invariant):
    """a // b (or a % b) for a divisor b the same for every value, whose plan `plan_b` the
    kernel works out before its loop (the line is left in invariant[b]): int64 and uint64 by
    magic_plan's and unsigned_magic_plan's multiply-high; uint8, uint16, uint32 and int8 by a
    multiply-high in 16 or 32 bits (unsigned8_plan, unsigned_narrow_plan, signed8_plan; through
    the float reciprocal, uint8 x // n of 10^5 took 11.2 us, NumPy's 3.4-4.5, now 4.1-4.9;
    uint16 9.2 -> 5.7-6.7, uint32 12.6 -> 9.4 against 10.4); int16 and int32 by
    reciprocal_plan's product in float32 (up to 16 bits: sixteen lanes a vector) or float64
    (32 bits). NumPy's 0 where b is 0, the minimum for the minimum // -1."""
    a, b = args
    plan = f"plan_{b}"
    if (dtype.kind == "u" and dtype.itemsize <= 4) or dtype == np.int8:  # (their steps are in the value's width)
        width = {"uint8": "np.uint16", "int8": "np.int16"}.get(dtype.name, f"np.{dtype.name}")
        if dtype.itemsize == 1:
            kind = "unsigned" if dtype.kind == "u" else "signed"
            invariant[b] = f"{plan} = {kind}8_plan({b})"
            q = f"{kind}8_floor_by_plan({a}, {plan})"
        else:
            invariant[b] = f"{plan} = unsigned_narrow_plan({b}, {dtype.itemsize * 8})"
            q = f"unsigned_narrow_floor_by_plan({width}({a}), {width}({plan}[0]), {width}({plan}[1]), {plan}[2])"
        value = q if name == "int_div" else f"({width}({a}) - {q} * {width}({b}))"
        return f"({value} if {b} != 0 else {width}(0))"
    if dtype.itemsize == 8:
        prefix = "unsigned_" if dtype == np.uint64 else ""
        invariant[b] = f"{plan} = {prefix}magic_plan({b})"
        q = f"{prefix}floor_quotient_by_plan({a}, {plan})"
        value = q if name == "int_div" else f"wrapped_remainder({a}, {q}, np.uint64({b}))"
        # (a zero of the value's own type: numba unifies uint64 and int64 as float64)
        zero = "np.uint64(0)" if dtype == np.uint64 and name == "int_div" else "np.int64(0)"
        return f"({value} if {b} != 0 else {zero})"
    wide = dtype.itemsize > 2
    real, bias = ("np.float64", "2.0 ** -18") if wide else ("np.float32", "np.float32(2.0 ** -6)")
    invariant[b] = f"{plan} = reciprocal_plan({real}({b}), {real}(1.0), {bias})"
    q = f"floor_by_plan({real}({a}), {plan})"
    value = q if name == "int_div" else f"remainder_by_plan({real}({a}), {real}({b}), {plan})"
    return f"(np.{'int64' if wide else 'int32'}({value}) if {b} != 0 else 0)"


@njit(inline="always", cache=True)
def reciprocal_plan(d, one, bias):
    """(r, delta) for floor(a / d) = floor(a r + delta) (floor_by_plan): r = 1 / d and delta =
    |r| bias, for a nonzero integer d held in a float (one: 1 of its type), bias 2^-6 in
    float32 (integers of up to 16 bits) or 2^-18 in float64 (32 bits). a r + delta rounded
    once (an fma) lies above a / d (a r and the sum err by less than |a / d| 2^-23 and 2^-24
    in float32, |a| < 2^17: 2^-7 / |d| at most; in float64 |a| <= 2^32 and 2^-20 / |d|) and
    below a / d + 1 / |d|, the nearest the next integer up can be: its floor is a / d's, with
    no correction and no select on a's sign."""
    r = one / d
    return r, abs(r) * bias


@njit(inline="always", cache=True)
def floor_by_plan(a, plan):
    """floor(a / d) for an integer a held in a float, plan = reciprocal_plan(d, ...)."""
    r, delta = plan
    return np.floor(_fma(a, r, delta))


@njit(inline="always", cache=True)
def remainder_by_plan(a, d, plan):
    """a - d floor(a / d) (exact in the float: below 2^17 in magnitude for 16 bits, 2^33 for 32)."""
    return _fma(-floor_by_plan(a, plan), d, a)


@njit(cache=True)
def magic_plan(d):
    """(m_low, m_high, shift, negate, one, at_minimum) for floor_quotient_by_plan and an int64
    d != 0: magic_floor_quotient's numbers for size = |d| (2^63 for the minimum; a power of
    two takes m = 2^63 + 1, shift log2 size - 1; m by _long_division); negate all ones for a
    negative d, else 0; one for d = +-1, which the multiply-high does not cover; at_minimum
    the quotient of the int64 minimum. (d = 0 gives numbers no one uses, and no error.)"""
    size = np.uint64(d) if d > 0 else np.uint64(0) - np.uint64(d)
    bits = np.uint64(0)                               # ceil(log2 size)
    while bits < np.uint64(63) and (np.uint64(1) << bits) < size:
        bits += np.uint64(1)
    shift = bits - np.uint64(1) if bits > np.uint64(0) else np.uint64(0)
    m = _long_division(np.uint64(1) << shift, size)[0] + np.uint64(1)
    minimum = np.int64(-(2 ** 63))
    # (the minimum // -1 wraps to the minimum, NumPy's; d = 0: the caller's select gives 0)
    at_minimum = minimum if d == -1 or d == 0 else minimum // d
    return (m & np.uint64(0xFFFFFFFF), m >> np.uint64(32), shift, np.int64(-1) if d < 0 else np.int64(0),
            size == np.uint64(1), at_minimum)


@njit(cache=True)
def _long_division(high, d):
    """(q, r): the quotient and remainder of high 2^64 by d, for uint64s high < d (so that q fits
    64 bits), by the hardware's 64-bit division in chunks of as many bits as the remainder's
    headroom leaves (64 - the bit length of d: two divisions for a d below 2^32), or one bit at
    a time for a d from 2^63 on (once a kernel call: 20-35 ns, where 64 steps of one bit took
    310). d = 0 (a zero divisor, whose quotients the caller's select makes 0) gives (0, 0)."""
    if d == np.uint64(0):
        return np.uint64(0), np.uint64(0)
    length = np.uint64(0)
    while length < np.uint64(64) and (d >> length) != np.uint64(0):
        length += np.uint64(1)
    room = np.uint64(64) - length                     # rest < d: rest << room fits
    rest, q, left = high, np.uint64(0), np.uint64(64)
    if room == np.uint64(0):
        for _ in range(64):
            carry = rest >> np.uint64(63)
            rest, q = rest << np.uint64(1), q << np.uint64(1)
            if carry or rest >= d:
                rest, q = rest - d, q | np.uint64(1)
        return q, rest
    while left > np.uint64(0):
        step = room if room < left else left
        shifted = rest << step
        q = (q << step) | (shifted // d)
        rest = shifted % d
        left -= step
    return q, rest


@njit(inline="always", cache=True)
def floor_quotient_by_plan(a, plan):
    """floor(a / d) for an int64 a, plan = magic_plan(d): floor(x / |d|) with x = a, or -a for a
    negative d (floor(a / d) = floor(-a / |d|)), the negation wrapping only for the minimum,
    whose quotient the plan holds. No multiply or select on d's sign (which LLVM left in the
    loop). The masks tell LLVM the multipliers' high halves are 0 (vpmuludq, not vpmullq)."""
    m_low, m_high, shift, negate, one, at_minimum = plan
    x = np.int64((np.uint64(a) ^ np.uint64(negate)) - np.uint64(negate))
    half = np.uint64(0xFFFFFFFF)
    t = x if one else magic_floor_quotient(x, m_low & half, m_high & half, shift)
    return at_minimum if a == np.int64(-(2 ** 63)) else t


@njit(cache=True)
def unsigned_magic_plan(d):
    """(m_low, m_high, shift, one) for unsigned_floor_quotient_by_plan and a nonzero uint64 d,
    libdivide's branch-free unsigned numbers: with L = floor(log2 d), m = 2^(65 + L) / d rounded
    up, less 2^64 (a 65-bit multiplier), shift L; a power of two m = 0 and shift L - 1; d = 1
    set apart (one)."""
    bits = np.uint64(0)                               # floor(log2 d)
    while bits < np.uint64(63) and (np.uint64(1) << (bits + np.uint64(1))) <= d:
        bits += np.uint64(1)
    if d & (d - np.uint64(1)) == np.uint64(0):
        m, shift = np.uint64(0), bits - np.uint64(1) if bits > np.uint64(0) else np.uint64(0)
    else:
        q, rest = _long_division(np.uint64(1) << bits, d)
        twice = rest + rest
        m = q + q + np.uint64(1) + (np.uint64(1) if twice >= d or twice < rest else np.uint64(0))
        shift = bits
    return m & np.uint64(0xFFFFFFFF), m >> np.uint64(32), shift, d == np.uint64(1)


@njit(inline="always", cache=True)
def unsigned_floor_quotient_by_plan(a, plan):
    """a // d for a uint64 a, plan = unsigned_magic_plan(d): q the high half of a m, then
    ((a - q) / 2 + q) / 2^shift, which adds the 65th bit of the multiplier without overflow."""
    m_low, m_high, shift, one = plan
    half = np.uint64(0xFFFFFFFF)
    a = np.uint64(a)
    q = _multiply_high(a, m_low & half, m_high & half)
    t = (((a - q) >> np.uint64(1)) + q) >> shift
    return a if one else t


def _unsigned_product_high(builder, a, m, width):
    """The high half of a m for two unsigned `width`-bit integers: LLVM's umul.fix with the
    width as its scale, which x86 makes one vpmulhuw for 16-bit lanes."""
    scale = ir.IntType(32)
    fn = builder.module.declare_intrinsic("llvm.umul.fix", [a.type], ir.FunctionType(a.type, [a.type] * 2 + [scale]))
    return builder.call(fn, [a, m, ir.Constant(scale, width)])


def _is_unsigned(t, widths):
    return isinstance(t, types.Integer) and not t.signed and t.bitwidth in widths


@intrinsic
def unsigned16_product_high(typingctx, a, m):
    """(a m) >> 16 for uint16 a and m, computed in 16 bits: numba's arithmetic widens small
    integers to 64 bits, whose lanes LLVM keeps (8 a vector against 32)."""
    if not (_is_unsigned(a, (16,)) and a == m):
        return None
    return a(a, m), lambda context, builder, signature, args: _unsigned_product_high(builder, *args, 16)


@intrinsic
def unsigned_quotient_by_magic(typingctx, a, m, shift):
    """(t + (a - t) / 2) / 2^shift with t = (a m) >> width, in the width of the unsigned a, m
    and shift (16 or 32 bits): the quotient of unsigned_narrow_plan's numbers, each step one
    vector instruction of that width (written in numba, its shifts ran in 64-bit lanes)."""
    if not (_is_unsigned(a, (16, 32)) and a == m == shift):
        return None

    def codegen(context, builder, signature, args):
        value, multiplier, count = args
        t = _unsigned_product_high(builder, value, multiplier, a.bitwidth)
        half = builder.lshr(builder.sub(value, t), ir.Constant(value.type, 1))
        return builder.lshr(builder.add(t, half), count)
    return a(a, m, shift), codegen


@njit(inline="always", cache=True)
def unsigned8_plan(d):
    """(m, one) for unsigned8_floor_by_plan and a uint8 d: m = 2^16 / d rounded up (below 2^16
    for d >= 2), one where d is 1. For a < 2^8, (a m) >> 16 = floor(a / d): a m / 2^16 exceeds
    a / d by less than a / 2^16 < 1 / 256, less than a / d's distance 1 / d (d < 256) to the
    next integer up (every pair is tested)."""
    d = np.int64(d)
    return (np.uint16(0) if d < 2 else np.uint16(((np.int64(1) << np.int64(16)) + d - np.int64(1)) // d)), d == 1


@njit(inline="always", cache=True)
def unsigned8_floor_by_plan(a, plan):
    """a // d for a uint8 a, plan = unsigned8_plan(d) (d != 0), as uint16: one multiply-high."""
    m, one = plan
    a16 = np.uint16(a)
    return a16 if one else unsigned16_product_high(a16, m)


@njit(cache=True)
def unsigned_narrow_plan(d, bits):
    """(m, shift, one) for unsigned_narrow_floor_by_plan and an unsigned `bits`-bit d (16 or 32),
    Granlund and Montgomery's round-up numbers (libdivide's branch-free ones): with l =
    ceil(log2 d), m = 2^bits (2^l - d) / d + 1 (below 2^bits: 2^l - d < d), shift l - 1; d = 1
    set apart (one). As int64s: the loop casts them to its width."""
    d = np.int64(d)
    if d < 2:
        return np.int64(0), np.int64(0), d == 1
    log = np.int64(0)
    while (np.int64(1) << log) < d:
        log += np.int64(1)
    # ((2^l - d) < 2^(l - 1) <= 2^31: the product is below 2^63)
    m = ((np.int64(1) << np.int64(bits)) * ((np.int64(1) << log) - d)) // d + np.int64(1)
    return m, log - np.int64(1), False


@njit(inline="always", cache=True)
def unsigned_narrow_floor_by_plan(a, m, shift, one):
    """a // d for a uint16 or uint32 a (d != 0); m, shift and one: unsigned_narrow_plan(d, its
    bits), the first two cast to a's type."""
    return a if one else unsigned_quotient_by_magic(a, m, shift)


@intrinsic
def signed8_quotient_by_magic(typingctx, a, offset, m, k):
    """((a + offset) m >> 16) - k in 16 bits, the product's high half unsigned (int16 arguments:
    signed8_plan's numbers)."""
    if not (a == offset == m == k == types.int16):
        return None

    def codegen(context, builder, signature, args):
        value, add, multiplier, less = args
        return builder.sub(_unsigned_product_high(builder, builder.add(value, add), multiplier, 16), less)
    return a(a, offset, m, k), codegen


@njit(inline="always", cache=True)
def signed8_plan(d):
    """(mask, offset, m, k, one) for signed8_floor_by_plan and an int8 d: with e = |d| and k =
    128 / e rounded up, a / d = s / e for s = a or -a (mask -1 where d < 0), and s + k e lies in
    [0, 384), so floor(s / e) = (s + k e) // e - k, that unsigned quotient by 2^16 / e rounded up
    (m, as unsigned8_plan's: n m / 2^16 exceeds n / e by less than 384 / 2^16 < 1 / e for e <=
    128); one where e is 1 (the quotient is s: -128 // -1 is 128, -128 in int8, NumPy's). Every
    pair is tested."""
    d = np.int64(d)
    e = -d if d < 0 else d
    if e == 0:
        return np.int16(0), np.int16(0), np.int16(0), np.int16(0), False
    k = (np.int64(128) + e - np.int64(1)) // e
    m, one = unsigned8_plan(e)
    return np.int16(-1 if d < 0 else 0), np.int16(k * e), np.int16(m), np.int16(k), one


@njit(inline="always", cache=True)
def signed8_floor_by_plan(a, plan):
    """a // d for an int8 a, plan = signed8_plan(d) (d != 0), as int16: NumPy's floor division
    in 16-bit lanes (the float32 reciprocal's took 16 a vector and two conversions each way:
    int8 x // n of 10^5 9-10 us, NumPy's 7-8, this loop 3.7)."""
    mask, offset, m, k, one = plan
    s = np.int16((a ^ mask) - mask)  # (a or -a: LLVM keeps these in 16 bits)
    return s if one else signed8_quotient_by_magic(s, offset, m, k)


@functools.lru_cache(maxsize=None)
def _reciprocal_of_zero(dtype):
    """NumPy's reciprocal of an integer (or bool) 0 in `dtype`: the CPU's conversion of inf."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return int(np.reciprocal(np.zeros(1, dtype))[0])


load_kernels_without_refresh(globals())  # (the plans not inlined into a kernel)
