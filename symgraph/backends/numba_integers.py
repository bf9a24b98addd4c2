"""Integer steps of the generated loops spelled so that they give NumPy's results and vectorize
where they can: the table's own spelling (scalar_ops' `src`) is numba's integer arithmetic,
which differs from NumPy's at the edges.

- Floor division and mod by a variable, for integers of up to 32 bits, as the floor of their
  float quotient (_floor_division_by_float): x86 has no vector integer division, and numba's
  loop made a scalar division a value. int64 keeps numba's division, but min // -1 is NumPy's
  minimum, where numba's division gave 0.
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
"""
import functools
import warnings

import numpy as np
from numba import njit

NAMES = ["int_power"]  # (the generated kernels import these: numba_codegen._HEADER)


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


def integer_step(name, args, in_dtypes, out_dtype):
    """The step `name` of integer arguments spelled as this module's docstring says, or None
    where the table's own spelling gives NumPy's results."""
    dtype = np.dtype(out_dtype)
    if dtype.kind not in "iu" or any(np.dtype(d).kind not in "iub" for d in in_dtypes):
        return None
    if name == "pow":
        return f"int_power({args[0]}, {args[1]})"
    if name in ("int_div", "mod") and in_dtypes[0] == in_dtypes[1] == out_dtype:
        return _integer_division(name, args, dtype)
    if name == "reciprocal":
        x, signed = args[0], np.dtype(in_dtypes[0]).kind == "i"
        rest = f"(np.int64({_reciprocal_of_zero(in_dtypes[0])}) if {x} == 0 else np.int64(0))"
        rest = f"(np.int64(-1) if {x} == -1 else {rest})" if signed else rest
        return f"(np.int64(1) if {x} == 1 else {rest})"
    if name in _WRAPPING and out_dtype == "int64":
        return f"np.int64({_WRAPPING[name].format(*(f'np.uint64({a})' for a in args))})"
    return None


def _integer_division(name, args, dtype):
    """Integers of up to 32 bits by a divisor that is not a literal as _floor_division_by_float
    (LLVM divides by a literal with a multiplication already, in vector instructions: int32
    x // 7 ran 1.8x NumPy); int64 // int64 with min // -1 as NumPy's minimum."""
    if dtype.itemsize <= 4 and not args[1].startswith("np."):
        return _floor_division_by_float(name, args, dtype)
    if name == "int_div" and dtype == np.int64:
        return f"(-{args[0]} if {args[1]} == -1 else {args[0]} // {args[1]})"
    return None


def _floor_division_by_float(name, args, dtype):
    """a // b (or a % b, as a - b (a // b)) for integers of up to 32 bits as the floor of their
    float quotient, which vectorizes where integer division does not. Exact: the rounded
    quotient of integers a / b is an integer where the exact one is, and elsewhere lies within
    |a / b| 2^-p of it, which is less than its distance 1 / |b| to any integer while |a| < 2^p;
    p = 53 in float64 for 32-bit integers, 24 in float32 for 16 and 8 bits. NumPy's results
    where b is 0 (0) and for the minimum // -1 (the minimum: the int64 quotient truncated)."""
    a, b = args
    real = "float32" if dtype.itemsize <= 2 else "float64"
    quotient = f"np.int64(np.floor(np.{real}({a}) / np.{real}({b})))"
    value = quotient if name == "int_div" else f"(np.int64({a}) - np.int64({b}) * {quotient})"
    return f"({value} if {b} != 0 else 0)"


@functools.lru_cache(maxsize=None)
def _reciprocal_of_zero(dtype):
    """NumPy's reciprocal of an integer (or bool) 0 in `dtype`: the CPU's conversion of inf."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return int(np.reciprocal(np.zeros(1, dtype))[0])
