"""The vectorizable math against NumPy one precision up: float32 exp/log/log1p/tanh/sigmoid/sin/
cos/tan against float64, float64 exp/log/log1p/tanh/sigmoid/sin/cos/tan against long double; ulp bounds over
the whole range, NumPy's answers at 0, -0, +-inf, NaN and the overflow edges; and the reduction
folds, which must give NumPy's NaN/inf results."""
import platform
import re

import numpy as np
import pytest
from numba import njit

from symgraph.backends.numba_vecmath import (exp32, log32, log1p32, tanh32, sigmoid32, sin32, cos32, tan32,
                                             TRIG32_LIMIT, TRIG64_LIMIT, exp64, log64, log1p64, tanh64, sigmoid64,
                                             sin64, cos64, tan64, fold_add, fold_max, fold_min)

import symgraph as sg
from symgraph.backends import numba_vecmath as vm
from tests.conftest import elementwise_loop


_apply_exp, _apply_tanh, _apply_sigmoid, _apply_log, _apply_log1p, _apply_sin, _apply_cos, _apply_tan = (
    elementwise_loop(fn) for fn in (exp32, tanh32, sigmoid32, log32, log1p32, sin32, cos32, tan32))
_APPLY_64 = [elementwise_loop(fn) for fn in (exp64, tanh64, sigmoid64, log64, log1p64)]
# exp is exp32/exp64 as LLVM's version picks (numba_vecmath._SCALEF); both forms are tested here.
_apply_exp_by_factors, _apply_exp_by_vscalef = (elementwise_loop(getattr(vm, f"_exp_by_{form}32"))
                                                for form in ("factors", "vscalef"))
_APPLY_64 += [elementwise_loop(getattr(vm, f"_exp_by_{form}64")) for form in ("factors", "vscalef")]
_TRIG_64 = {"sin": elementwise_loop(sin64), "cos": elementwise_loop(cos64), "tan": elementwise_loop(tan64)}


def _apply_64(kind, a, out):
    _APPLY_64[kind](a, out)


# (with the points where the forms switch: exp's factors at 0, sigmoid's clamp at -87 and its
# power of two's overflow from 88.38, tanh's refined quotient below 0.5 and its clamp at 9; and
# where each is worst over every float32: exp 1.08 ulp at 59.26 and -37.78, tanh 1.96 at +-0.2215
# (2.42 at 0.00777 without the refinement), sigmoid 2.48 at -16.6 (exp's ulp, the add's and the
# division's) and 1.50 at 7.86; before numba_vecmath._P's shorter polynomial, exp 1.02 at 26.7 and
# -59.9, tanh 1.91 at +-0.2242 and 1.50 at +-3.81)
SPECIALS = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 1e-8, 88.72, 88.73, -87.3,
                     -103.9, -104.5, 1e30, -1e30, 87.0, -87.0, 86.99, 88.38, -88.38, -88.5, 9.0, -9.0,
                     9.01, 1e-3, -1e-3, 26.71694564819336, -59.92317581176758, 3.8123860359191895,
                     -3.8123860359191895, -16.635704040527344, 7.859210968017578, 0.5, -0.5, 0.49999997,
                     0.224211648106575, -0.224211648106575, 0.0077671753242611885, 59.264888763427734,
                     -37.77601623535156, 0.22149553894996643, -0.22149553894996643], np.float32)
CASES = [(_apply_exp, np.exp, 1.5), (_apply_exp_by_factors, np.exp, 1.5), (_apply_exp_by_vscalef, np.exp, 1.5),
         (_apply_tanh, np.tanh, 2.0), (_apply_sigmoid, lambda v: 1 / (1 + np.exp(-v)), 2.5)]


@pytest.mark.parametrize("kernel,reference,bound", CASES)
def test_within_their_bounds_everywhere(kernel, reference, bound):
    x = np.concatenate([np.linspace(-110, 95, 400_001, dtype=np.float32),
                        np.geomspace(1e-6, 1, 20_001).astype(np.float32), SPECIALS])
    out = np.empty_like(x)
    kernel(x, out)
    with np.errstate(all="ignore"):
        exact = reference(x.astype(np.float64))
        want = exact.astype(np.float32)
    normal = np.isfinite(want) & (np.abs(want) >= np.finfo(np.float32).tiny)
    # (against the float64 value: against its float32 rounding every error is a whole ulp)
    ulp = np.abs(out[normal] - exact[normal]) / np.spacing(np.abs(want[normal])).astype(np.float64)
    assert ulp.max() <= bound
    special = ~normal
    np.testing.assert_allclose(out[special], want[special], atol=np.finfo(np.float32).tiny * 4)
    assert np.array_equal(np.signbit(out[x == 0]), np.signbit(want[x == 0])) or kernel is _apply_sigmoid


def test_fused_float32_loops_use_them_and_match_numpy(rng):
    from symgraph.backends import numba_codegen
    x = sg.fvector("x")
    f = sg.function([x], sg.tanh(x) * sg.nn.sigmoid(x) + sg.exp(-x * x))
    node = f.fgraph.apply_nodes[0]
    source = numba_codegen._flat_source(node.op, ("float32",), (False,), False)
    assert "tanh32(" in source and "sigmoid32(" in source and "exp32(" in source
    assert "np.exp(" not in source and "np.tanh(" not in source
    xv = rng.standard_normal(1000).astype("float32") * 10
    np.testing.assert_allclose(f(xv), np.tanh(xv) * (1 / (1 + np.exp(-xv))) + np.exp(-xv * xv), rtol=2e-6, atol=1e-7)


def test_log_within_one_ulp_over_every_positive_float_and_numpy_at_the_edges():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 0x7F800000, 2_000_000, dtype=np.uint32)  # subnormals to the largest float
    x = np.concatenate([bits.view(np.float32), np.geomspace(0.5, 2, 100_001, dtype=np.float32),
                        np.float32([1.0, 1.4e-45, 1.17549435e-38, 3.4028235e38, 0.70710677, 0.7071068])])
    out = np.empty_like(x)
    _apply_log(x, out)
    want = np.log(x.astype(np.float64))
    nonzero = want != 0
    ulp = np.abs(out[nonzero] - want[nonzero]) / np.spacing(np.abs(want[nonzero]).astype(np.float32))
    assert ulp.max() <= 1.0 and not out[x == 1].any()
    specials = np.float32([0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, -1e-45])
    got = np.empty_like(specials)
    _apply_log(specials, got)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(got, np.log(specials))


def test_log1p_within_two_ulp_from_minus_one_to_the_largest_float():
    rng = np.random.default_rng(1)
    positive = rng.integers(0, 0x7F800000, 1_000_000, dtype=np.uint32).view(np.float32)
    x = np.concatenate([positive, -positive[positive < 1], -rng.random(500_000).astype(np.float32),
                        np.linspace(-0.999, 3, 200_001, dtype=np.float32)])
    out = np.empty_like(x)
    _apply_log1p(x, out)
    want = np.log1p(x.astype(np.float64))
    normal = np.abs(want) >= np.finfo(np.float32).tiny
    ulp = np.abs(out[normal] - want[normal]) / np.spacing(np.abs(want[normal]).astype(np.float32))
    assert ulp.max() <= 2.0
    np.testing.assert_array_equal(out[~normal], want[~normal].astype(np.float32))  # log1p(x) = x there
    specials = np.float32([0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, -2.0])
    got = np.empty_like(specials)
    _apply_log1p(specials, got)
    with np.errstate(all="ignore"):
        want = np.log1p(specials)
    np.testing.assert_array_equal(got, want)
    assert np.signbit(got[1])


@pytest.mark.parametrize("kernel,reference,bound", [(_apply_sin, np.sin, 1.6), (_apply_cos, np.cos, 1.6),
                                                    (_apply_tan, np.tan, 2.5)])
def test_sin_cos_tan_within_their_bounds_up_to_their_limit(kernel, reference, bound):
    """Against the float64 value; sin's and cos's worst float32 (1.58 and 1.56 ulp, over every
    float32 up to the limit) are among the arguments."""
    rng = np.random.default_rng(2)
    limit_bits = np.float32(TRIG32_LIMIT).view(np.uint32)
    magnitudes = rng.integers(0, limit_bits + 1, 1_500_000, dtype=np.uint32).view(np.float32)
    near_zeros = (np.arange(1, 200_000) * (np.pi / 2)).astype(np.float32)  # (the floats nearest k pi/2)
    x = np.concatenate([magnitudes, -magnitudes[:500_000], np.linspace(-10, 10, 100_001, dtype=np.float32),
                        near_zeros, -near_zeros[::7],
                        np.float32([np.pi, np.pi / 2, 1.5707964, 3.1415927, 2 ** 19 - 0.03125, TRIG32_LIMIT,
                                    26872.396484375, 53368.59375])])
    out = np.empty_like(x)
    kernel(x, out)
    want = reference(x.astype(np.float64))
    normal = np.abs(want) >= np.finfo(np.float32).tiny
    ulp = np.abs(out[normal] - want[normal]) / np.spacing(np.abs(want[normal]).astype(np.float32))
    assert ulp.max() <= bound
    specials = np.float32([0.0, -0.0, np.inf, -np.inf, np.nan])
    got = np.empty_like(specials)
    kernel(specials, got)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(got, reference(specials))
    assert np.array_equal(np.signbit(got[:2]), np.signbit(reference(specials[:2])))


@pytest.mark.parametrize("name,bound", [("sin", 1.0), ("cos", 1.0), ("tan", 2.5)])
@pytest.mark.exhaustive
def test_float64_sin_cos_tan_up_to_their_limit(name, bound):
    """Against long double: uniform arguments, the multiples of pi/2 and their neighbours (where
    the reduction cancels most), tiny and subnormal ones; NumPy's answers at the specials."""
    rng = np.random.default_rng(3)
    k = np.arange(-300_000, 300_000)
    x = np.concatenate([rng.uniform(-10, 10, 600_000), rng.uniform(-TRIG64_LIMIT, TRIG64_LIMIT, 600_000),
                        k * (np.pi / 2), k * (np.pi / 2) + rng.uniform(-1e-6, 1e-6, k.size),
                        np.geomspace(1e-300, 1e-3, 10_000), [5e-324, -1e-310, TRIG64_LIMIT, -TRIG64_LIMIT]])
    out = np.empty_like(x)
    _TRIG_64[name](x, out)
    want = getattr(np, name)(x.astype(np.longdouble))
    ulp = np.abs((out.astype(np.longdouble) - want) / np.spacing(np.abs(want.astype(np.float64))))
    assert ulp.max() <= bound
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan])
    got = np.empty_like(specials)
    _TRIG_64[name](specials, got)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(got, getattr(np, name)(specials))
    assert np.array_equal(np.signbit(got[:2]), np.signbit(getattr(np, name)(specials[:2])))


@pytest.mark.parametrize("kind,reference,bound", [(0, np.exp, 2.0), (5, np.exp, 2.0), (6, np.exp, 2.0),
                                                  (1, np.tanh, 2.0), (2, lambda v: 1 / (1 + np.exp(-v)), 2.5)])
def test_float64_exp_tanh_sigmoid_within_two_ulp(kind, reference, bound):
    # (sigmoid adds the rounding of its add and divide to exp's: 2.3 ulp at x = -1.1)
    rng = np.random.default_rng(3)
    x = np.concatenate([np.linspace(-760, 720, 400_001), rng.normal(size=200_000) * 3,
                        np.geomspace(1e-300, 1, 20_001), -np.geomspace(1e-300, 1, 20_001),
                        [0.0, -0.0, np.inf, -np.inf, np.nan, 709.78, 709.79, -745.1, -745.2, 0.625, -0.625,
                         700.0, -700.0, 699.9, -708.5, -709.9, 20.0, -20.0, 20.01, 1e-3, -1e-3]])
    out = np.empty_like(x)
    _apply_64(kind, x, out)
    with np.errstate(all="ignore"):
        exact = reference(x.astype(np.longdouble))  # 80-bit on x86-64 Linux
        want = exact.astype(np.float64)
    normal = np.isfinite(want) & (np.abs(want) >= np.finfo(np.float64).tiny)
    ulp = np.abs(out[normal].astype(np.longdouble) - exact[normal]) / np.spacing(np.abs(want[normal]))
    assert ulp.max() <= bound
    np.testing.assert_allclose(out[~normal], want[~normal], atol=np.finfo(np.float64).tiny * 4)
    assert np.array_equal(np.signbit(out[x == 0]), np.signbit(want[x == 0])) or kind == 2


@pytest.mark.parametrize("kind,reference,bound", [(3, np.log, 1.0), (4, np.log1p, 2.5)])
def test_float64_log_and_log1p(kind, reference, bound):
    # (log1p is log(1 + x) * x / ((1 + x) - 1), Goldberg's form: 2.25 ulp at worst seen)
    rng = np.random.default_rng(4)
    positive = rng.integers(0, 0x7FF0000000000000, 1_000_000, dtype=np.uint64).view(np.float64)
    x = np.concatenate([positive, np.geomspace(0.5, 2, 100_001), np.linspace(-0.999, 3, 100_001),
                        -positive[positive < 1][:100_000]])
    if kind == 3:
        x = x[x > 0]
    out = np.empty_like(x)
    _apply_64(kind, x, out)
    exact = reference(x.astype(np.longdouble))
    want = exact.astype(np.float64)
    normal = np.abs(want) >= np.finfo(np.float64).tiny
    ulp = np.abs(out[normal].astype(np.longdouble) - exact[normal]) / np.spacing(np.abs(want[normal]))
    assert ulp.max() <= bound
    np.testing.assert_array_equal(out[~normal], want[~normal])
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, -2.0, 5e-324, 1.0])
    got = np.empty_like(specials)
    _apply_64(kind, specials, got)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(got, reference(specials))


@njit
def _folds(a):
    s, hi, lo = np.float64(0), np.float32(-np.inf), np.float32(np.inf)
    for i in range(a.shape[0]):
        s = fold_add(s, np.float64(a[i]))
        hi = fold_max(hi, a[i])
        lo = fold_min(lo, a[i])
    return s, hi, lo


@pytest.mark.parametrize("special", [np.nan, np.inf, -np.inf, None])
def test_reduction_folds_match_numpy(special, rng):
    a = rng.normal(size=1001).astype(np.float32)
    if special is not None:
        a[500] = special
    s, hi, lo = _folds(a)
    np.testing.assert_allclose(s, a.astype(np.float64).sum(), rtol=1e-12)
    np.testing.assert_array_equal([hi, lo], [a.max(), a.min()])


def test_fused_float64_loops_use_the_float64_forms(rng, ours_only):
    from symgraph.backends import numba_codegen
    x = sg.dvector("x")
    f = sg.function([x], sg.tanh(x) * sg.nn.sigmoid(x) + sg.exp(-x * x))
    node = f.fgraph.apply_nodes[0]
    source = numba_codegen._flat_source(node.op, ("float64",), (False,), False)
    assert "tanh64(" in source and "sigmoid64(" in source and "exp64(" in source and "np.exp(" not in source
    trig = sg.function([x], sg.sin(x) + sg.cos(x) * sg.tan(x)).fgraph.apply_nodes[0].op
    source = numba_codegen._flat_source(trig, ("float64",), (False,), False, checked=True)
    assert "sin64(" in source and "cos64(" in source and "tan64(" in source and "np.sin(" not in source
    xv = rng.standard_normal(1000) * 10
    # (atol: where the sum cancels, -1.5e-4 from terms of 0.05, a term's last bit, ours or
    # this machine's libm's, is 1e-13 of it)
    np.testing.assert_allclose(f(xv), np.tanh(xv) * (1 / (1 + np.exp(-xv))) + np.exp(-xv * xv), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_both_ways_to_scale_by_a_power_of_two_match_ldexp(dtype):
    """y * 2^n: one ldexp (vscalef, on AVX-512) or two factors (elsewhere) give np.ldexp's
    values into the subnormals, to zero and to infinity; the CPU numba compiles for and LLVM's
    version pick (LLVM 20 did not vectorize ldexp)."""
    from symgraph.backends import numba_vecmath as vm
    from symgraph.backends.numba_target import scales_by_vscalef
    bits = 32 if dtype == "float32" else 64
    forms = [getattr(vm, f"_scaled_by_factors{bits}"), vm._scaled_by_ldexp]
    emax = 130 if dtype == "float32" else 1030
    n = np.arange(-emax - 30, emax, dtype=dtype)
    y = np.random.default_rng(0).uniform(0.7, 1.45, n.size).astype(dtype)
    y[::7] = 1
    with np.errstate(over="ignore"):
        want = np.ldexp(y, n.astype(np.int32))
    for form in forms:
        got = np.empty_like(y)
        elementwise_loop(form, arity=2)(y, n, got)
        np.testing.assert_array_equal(got, want)
    chosen = getattr(vm, f"times_pow2_{bits}")
    assert chosen is forms[1 if scales_by_vscalef() else 0]


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="reads x86 assembly")
def test_a_clamp_is_one_max_and_one_min():
    """_clamped (exp's and sigmoid's range) is LLVM's NaN-propagating maximum and minimum, which
    with a constant bound are one vmaxps and one vminps: written as two selects, LLVM compared x
    twice, ORed the masks and blended twice (the fused chain's loop 94 -> 86 instructions). Its
    values: the bounds, x between them, NaN kept, -0.0 kept."""
    lo, hi = np.float32(-104.0), np.float32(89.0)

    @njit(error_model="numpy")
    def clamp(a, out):
        for i in range(a.shape[0]):
            out[i] = vm._clamped(a[i], lo, hi)
    a = np.array([np.nan, -np.inf, -200.0, -104.0, -1.5, -0.0, 0.0, 88.9, 89.5, np.inf], np.float32)
    out = np.empty_like(a)
    clamp(a, out)
    np.testing.assert_array_equal(out, np.clip(a, lo, hi))
    assert np.signbit(out[5]) and not np.signbit(out[6])
    asm = "".join(clamp.inspect_asm().values())
    assert re.search(r"\bvmaxps\b", asm) and re.search(r"\bvminps\b", asm)
    assert not re.search(r"\bv?blendv?m?ps\b", asm)


@njit(error_model="numpy")
def _folds_of_numbers(a):
    hi, lo, seen = a.dtype.type(-np.inf), a.dtype.type(np.inf), False
    for i in range(a.shape[0]):
        v = a[i]
        hi = vm.fold_max_of_numbers(hi, v)
        lo = vm.fold_min_of_numbers(lo, v)
        seen |= v != v
    return (np.nan, np.nan) if seen else (hi, lo)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_folds_of_numbers_are_a_vector_max_and_min_and_a_nan_flag(dtype, rng):
    """fold_max_of_numbers/fold_min_of_numbers with the NaN flag kept apart (as numba_codegen's
    reductions fold): NumPy's max and min, NaN and infinities included; on x86 the loop is
    vector vmaxp/vminp alone, no blend (LLVM's NaN-propagating maximum blends twice a vector:
    the fold kept a chain of six instructions), on the numba LLVM of each CI stage."""
    for special in (None, np.nan, np.inf, -np.inf):
        for at in (0, 500, 1000):
            a = rng.normal(size=1001).astype(dtype)
            if special is not None:
                a[at] = special
            np.testing.assert_array_equal(_folds_of_numbers(a), [a.max(), a.min()])
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return
    asm = "".join(_folds_of_numbers.inspect_asm().values())
    suffix = "ps" if dtype == "float32" else "pd"
    assert re.search(rf"\bvmax{suffix}\s+%[yz]mm", asm) and re.search(rf"\bvmin{suffix}\s+%[yz]mm", asm)
    assert not re.search(r"\bv?blendv?m?p[sd]\b", asm)
