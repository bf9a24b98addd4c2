"""numba_special's vectorizable expm1, sinh, cosh, arctan, arcsinh, arccosh, cbrt, softplus, elu,
exp2, log2, log10, pow, arctan2, logaddexp and erf against NumPy (erf: libm's) one precision up (float32 against float64, float64 against long
double): ulp bounds over the whole range and NumPy's exact answers at 0, -0, +-inf, NaN and
the overflow edges; and the generated loops use them."""
import math

import numpy as np
import pytest
from numba import njit

import symgraph as sg
from tests.conftest import elementwise_loop
from symgraph.backends import numba_codegen, numba_special as special
from symgraph.ops.elemwise import TABLE


def _form_applier(form, binary=False):
    """A compiled loop out[i] = the scalar op's vector form (the text generated kernels use)."""
    namespace = {"np": np, "njit": njit, **{name: getattr(special, name) for name in special.NAMES},
                 "log32": special.log32, "log64": special.log64}
    exec(f"def apply(a, {'b, ' if binary else ''}out):\n    for i in range(a.shape[0]):\n        out[i] = "
         + form.replace("{0}", "a[i]"), namespace)
    return njit(error_model="numpy")(namespace["apply"])


_EDGES = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 1e-8, -1e-8, 1.0, -1.0, 88.0, 88.72,
          88.73, 89.4, 89.5, -87.3, -103.9, -104.5, 1e30, -1e30, 709.0, 709.7, 709.8, 710.4, 710.5,
          -745.0, -746.0, 2.0, 4095.0, 4097.0, 268435456.0, 268435457.0, 1e290, 1e291, 1e-290, 1e-291,
          3.4e38, -3.4e38, 1e-38, 1e-45, 5e-324, 1e-310, 1e308, 1.7976931348623157e308, -1e308]
_REFERENCE = {"expm1": np.expm1, "sinh": np.sinh, "cosh": np.cosh, "arctan": np.arctan,
              "arcsin": np.arcsin, "arccos": np.arccos, "arctanh": np.arctanh,
              "softplus": lambda v: np.logaddexp(np.zeros((), v.dtype), v),
              "elu": TABLE["elu"].impl, "exp2": np.exp2,  # (the op's: elu(-0.0) is 0.0)
              "log2": np.log2, "log10": np.log10, "arcsinh": np.arcsinh, "arccosh": np.arccosh, "cbrt": np.cbrt,
              "erf": np.vectorize(lambda v: math.erf(float(v)), otypes=[np.float64])}  # (libm's, within 1 ulp)
# float32 arctan (arctan32): 1.43 ulp at most over every 7th float32, near |x| = 1.07
# softplus: 1.63 / 1.64 ulp measured (numba_vecmath.log1p_unit32 / 64; 1.88 / 1.96 before)
_BOUND = {"expm1": 2.0, "sinh": 2.5, "cosh": 2.5, "arctan": 1.0, "arctan32": 1.5, "softplus": 1.75, "elu": 2.0,
          "exp2": 1.25, "log2": 2.0, "log10": 2.0, "arcsin": 2.5, "arccos": 2.5, "arctanh": 2.5,
          "exp264": 1.5,  # float64 exp2: 1.01 ulp measured; float32 1.07 over every float32
          # (1.03 before numba_vecmath._P's shorter polynomial)
          # measured: arcsinh 1.76 / 2.43 ulp (float32 / float64), arccosh 2.29 / 2.60 (log1p64's
          # own error near 1), cbrt 0.73 / 1.03 (2M float64 of every magnitude)
          "arcsinh": 2.0, "arcsinh64": 2.5, "arccosh": 2.5, "arccosh64": 3.0, "cbrt": 1.0, "cbrt64": 1.25,
          # erf: float64's rounded once (0.5 ulp); float64 2.0 measured against libm's near |x| = 1
          "erf": 1.0, "erf64": 3.0}
CASES = [(dtype, name) for dtype in ("float32", "float64") for name in special.FORMS[dtype]
         if name not in ("pow", "arctan2", "logaddexp", "gelu")]


def _inputs(dtype, name):
    rng = np.random.default_rng(0)
    wide = np.linspace(-800, 800, 100_001) if dtype == "float64" else np.linspace(-120, 120, 300_001)
    with np.errstate(over="ignore"):  # the float64 edges beyond float32's range become inf
        x = np.concatenate([wide, np.geomspace(1e-12, 1, 20_001), -np.geomspace(1e-12, 1, 20_001),
                            rng.standard_normal(50_000) * 3, _EDGES]).astype(dtype)
    if name in ("arcsin", "arccos", "arctanh"):  # their domain, densely, and a little beyond
        rng = np.random.default_rng(1)
        inside = np.concatenate([np.linspace(-1, 1, 200_001), 1 - np.geomspace(1e-16, 1, 20_001),
                                 -1 + np.geomspace(1e-16, 1, 20_001), np.geomspace(1e-300, 1, 20_001),
                                 -np.geomspace(1e-300, 1, 20_001), rng.uniform(-1, 1, 50_000)])
        return np.concatenate([inside, [1.0, -1.0, 1.5, -2.0, 0.0, -0.0, np.inf, -np.inf, np.nan]]).astype(dtype)
    if name == "arccosh":  # its domain (from 1, densely near it), and a little below
        near_one = 1 + np.geomspace(1e-16, 1, 50_001)
        return np.concatenate([np.abs(x) + 1, near_one, x[-len(_EDGES):]]).astype(dtype)
    if name in ("arcsinh", "cbrt"):  # every magnitude
        big = np.geomspace(1e-300 if dtype == "float64" else 1e-44, 1e300 if dtype == "float64" else 3e38, 200_001)
        return np.concatenate([x, big, -big]).astype(dtype)
    return np.abs(x) if name in ("log2", "log10") else x


def _ulp(got, want, dtype):
    """Error in units of the last place of the rounded reference, where that is a normal number;
    and the mask of the other (zero, subnormal, infinite, NaN) references."""
    with np.errstate(over="ignore"):
        rounded = want.astype(dtype)
    normal = np.isfinite(rounded) & (np.abs(rounded) >= np.finfo(dtype).tiny)
    error = np.abs(got[normal].astype(np.longdouble) - want[normal])
    with np.errstate(over="ignore"):  # the spacing at float64's largest value: inf (no error then)
        return error / np.spacing(np.abs(rounded[normal])).astype(np.longdouble), ~normal


@pytest.mark.parametrize("dtype,name", CASES)
@pytest.mark.exhaustive
def test_within_their_ulp_bound_and_numpy_at_the_edges(dtype, name):
    x = _inputs(dtype, name)
    out = np.empty_like(x)
    _form_applier(special.FORMS[dtype][name])(x, out)
    with np.errstate(all="ignore"):
        want = _REFERENCE[name](x.astype(np.longdouble if dtype == "float64" else np.float64))
        numpy_answer = _REFERENCE[name](x)
    ulp, other = _ulp(out, want, dtype)
    assert ulp.max() <= _BOUND.get(name + dtype[-2:], _BOUND[name])
    tiny = np.finfo(dtype).tiny * 4   # subnormal results: a few units of the smallest normal
    np.testing.assert_allclose(out[other], numpy_answer[other], rtol=0, atol=tiny)
    zeros = numpy_answer == 0
    assert np.array_equal(np.signbit(out[zeros]), np.signbit(numpy_answer[zeros]))


def test_float32_pow_matches_numpy_in_every_special_case_and_within_one_ulp():
    rng = np.random.default_rng(1)
    n = 100_000
    x = np.concatenate([rng.standard_normal(n) * 10, np.abs(rng.standard_normal(n)) * 100,
                        np.geomspace(1e-30, 1e30, n)]).astype(np.float32)
    y = np.concatenate([rng.standard_normal(n) * 3, np.round(rng.standard_normal(n) * 5),
                        rng.standard_normal(n) * 2]).astype(np.float32)
    edge_x = np.float32([0, -0.0, np.inf, -np.inf, np.nan, 1, -1, 2, -2, 0.5, -0.5, 1e-45])
    edge_y = np.float32([0, -0.0, np.inf, -np.inf, np.nan, 1, -1, 2, 3, -3, 0.5, -0.5, 2.5, 1e30])
    grid_x, grid_y = (a.ravel() for a in np.meshgrid(edge_x, edge_y))
    out = np.empty(grid_x.size, np.float32)
    elementwise_loop(special.pow32, 2)(grid_x, grid_y, out)
    with np.errstate(all="ignore"):
        want = np.power(grid_x, grid_y)
    assert np.array_equal(out, want, equal_nan=True)
    assert np.array_equal(np.signbit(out[want == 0]), np.signbit(want[want == 0]))
    out = np.empty_like(x)
    elementwise_loop(special.pow32, 2)(x, y, out)
    with np.errstate(all="ignore"):
        ulp, other = _ulp(out, np.power(x.astype(np.float64), y.astype(np.float64)), np.float32)
        assert ulp.max() <= 1.0
        np.testing.assert_allclose(out[other], np.power(x, y)[other], rtol=0, atol=1e-37)


def test_float64_pow_matches_numpy_in_every_special_case_and_within_its_ulp_bound():
    """pow64's log is a double-double: y log|x| up to 745 must still be right to the last bit
    of the result. Checked against long double pow over ordinary, huge, tiny, subnormal and
    near-1 bases, large exponents and results near overflow and underflow."""
    rng = np.random.default_rng(2)
    n = 50_000
    near_limits = np.abs(rng.standard_normal(n)) * 50 + 1.5
    x = np.concatenate([rng.standard_normal(n) * 10, np.geomspace(1e-300, 1e300, n),
                        1 + rng.standard_normal(n) * 1e-6, np.geomspace(5e-324, 1e-300, 500), near_limits])
    y = np.concatenate([rng.standard_normal(n) * 3, rng.standard_normal(n) * 2, rng.standard_normal(n) * 1e5,
                        rng.standard_normal(500) * 0.5, (rng.random(n) * 1490 - 745) / np.log(near_limits)])
    x[:n // 2] = np.round(x[:n // 2])  # integer powers of negative bases
    y[:n // 4] = np.round(y[:n // 4])
    out = np.empty_like(x)
    elementwise_loop(special.pow64, 2)(x, y, out)
    with np.errstate(all="ignore"):
        ulp, other = _ulp(out, np.power(x.astype(np.longdouble), y.astype(np.longdouble)), np.float64)
        numpy_answer = np.power(x, y)
    assert ulp.max() <= 1.5  # 1.11 measured over 1.2M arguments
    np.testing.assert_allclose(out[other], numpy_answer[other], rtol=0, atol=4 * np.finfo(np.float64).tiny)
    edge_x = np.array([0, -0.0, np.inf, -np.inf, np.nan, 1, -1, 2, -2, 0.5, -0.5, 5e-324, -5e-324, 1e308])
    edge_y = np.array([0, -0.0, np.inf, -np.inf, np.nan, 1, -1, 2, 3, -3, 1e30, -1e30, 1075, -1075, 0.5])
    grid_x, grid_y = (a.ravel() for a in np.meshgrid(edge_x, edge_y))
    special_case = ~(np.isfinite(grid_x) & np.isfinite(grid_y)) | (grid_x == 0) | (grid_y == 0) \
        | (np.abs(grid_x) == 1) | (np.abs(grid_y) >= 1e30) | (np.abs(grid_y) == 1075)
    out = np.empty(grid_x.size)
    elementwise_loop(special.pow64, 2)(grid_x, grid_y, out)
    with np.errstate(all="ignore"):
        want = np.power(grid_x, grid_y)
    assert np.array_equal(out[special_case], want[special_case], equal_nan=True)
    assert np.array_equal(np.signbit(out[want == 0]), np.signbit(want[want == 0]))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.exhaustive
def test_fused_loops_use_the_vector_forms_and_match_numpy(dtype, rng):
    x = sg.tensor("x", dtype=dtype, ndim=1)
    y = sg.expm1(x) + sg.sinh(x) * sg.cosh(x) + sg.arctan(x) + sg.nn.elu(x) + sg.nn.softplus(x) \
        + sg.log2(abs(x) + 1) + sg.log10(abs(x) + 1) + abs(x) ** 0.7 \
        + sg.arcsin(x / 20) + sg.arccos(x / 20) + sg.arctanh(x / 20) + sg.exp2(x / 4) \
        + sg.arcsinh(x) + sg.arccosh(abs(x) + 1) + sg.cbrt(x) + sg.arctan2(x, x - 1) + sg.logaddexp(x, -x * 0.5)
    f = sg.function([x], y)
    (node,) = f.fgraph.apply_nodes
    source = numba_codegen._flat_source(node.op, (dtype,), (False,), False)
    suffix = "_32(" if dtype == "float32" else "_64("
    assert "expm1" + suffix in source and "np.expm1(" not in source and "np.arctan(" not in source
    assert not any(f"np.{name}(" in source for name in ("arcsin", "arccos", "arctanh", "exp2", "power", "arcsinh",
                                                         "arccosh", "cbrt", "arctan2", "logaddexp"))
    assert ("pow32(" if dtype == "float32" else "pow64(") in source
    if dtype == "float32":  # parallel loops name a helper's literal arguments before the loop
        for parallel in (numba_codegen._flat_source(node.op, (dtype,), (False,), True),
                         numba_codegen._broadcast_source(node.op, (dtype,), 1, ((False,),), True)):
            assert "np.float32(0.699999988079071)" in parallel.split("prange")[0]
            assert "pow32(" in parallel and "0.699999988079071" not in parallel.split("prange")[1]
    xv = (rng.standard_normal(10_000) * 4).astype(dtype)
    with np.errstate(all="ignore"):
        want = (np.expm1(xv) + np.sinh(xv) * np.cosh(xv) + np.arctan(xv)
                + np.where(xv > 0, xv, np.expm1(xv)) + np.logaddexp(0, xv)
                + np.log2(abs(xv) + 1) + np.log10(abs(xv) + 1) + abs(xv) ** 0.7
                + np.arcsin(xv / 20) + np.arccos(xv / 20) + np.arctanh(xv / 20) + np.exp2(xv / 4)
                + np.arcsinh(xv) + np.arccosh(abs(xv) + 1) + np.cbrt(xv) + np.arctan2(xv, xv - 1)
                + np.logaddexp(xv, -xv * np.asarray(0.5, dtype)))
    tol = 2e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(f(xv), want, rtol=tol, atol=tol)


_SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 1e-30, -2.5, 3e38, -3e38, 1e300, -1e300, 5e-324])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_arctan2_matches_numpy_in_every_special_case_and_within_two_ulp(dtype):
    """C99's table (signed zeros, infinities, NaN) exactly; elsewhere within 2 ulp of the
    value one precision up (measured 1.69 / 1.56; NumPy's own float32 SIMD arctan2 is 3.2 ulp
    off, so the two differ in the last bits)."""
    with np.errstate(all="ignore"):
        grid_y, grid_x = (a.ravel().astype(dtype) for a in np.meshgrid(_SPECIAL, _SPECIAL))
    rng = np.random.default_rng(0)
    y = np.concatenate([grid_y, rng.standard_normal(200_000) * 10, np.geomspace(1e-20, 1e20, 50_001)]).astype(dtype)
    x = np.concatenate([grid_x, rng.standard_normal(200_000) * 10,
                        -np.geomspace(1e-20, 1e20, 50_001) * rng.choice([-1, 1], 50_001)]).astype(dtype)
    out = np.empty_like(x)
    _form_applier(special.FORMS[dtype]["arctan2"].replace("{1}", "b[i]"), binary=True)(y, x, out)
    want = np.arctan2(y, x)
    exact = ~np.isfinite(want) | (want == 0) | ~np.isfinite(x) | ~np.isfinite(y) | (x == 0) | (y == 0)
    if dtype == "float64":
        np.testing.assert_array_equal(out[exact], want[exact])
    else:  # NumPy's float32 SIMD loop rounds pi/4 and 3pi/4 the other way
        np.testing.assert_allclose(out[exact], want[exact], rtol=np.finfo(dtype).eps)
    assert np.array_equal(np.isnan(out), np.isnan(want)) and np.array_equal(np.signbit(out), np.signbit(want))
    ulp, _ = _ulp(out, np.arctan2(y.astype(np.longdouble), x.astype(np.longdouble)), dtype)
    assert ulp.max() <= 2.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.exhaustive
def test_logaddexp_matches_numpy_in_every_special_case_and_to_its_conditioning(dtype):
    """NumPy's results for equal arguments (infinities too), NaN and inf - inf exactly;
    elsewhere within 2 ulp of the larger argument's size (log(e^a + e^b) cancels where the
    result is near 0: there NumPy's own error is that large too)."""
    with np.errstate(all="ignore"):
        grid_a, grid_b = (a.ravel().astype(dtype) for a in np.meshgrid(_SPECIAL, _SPECIAL))
    rng = np.random.default_rng(1)
    a = np.concatenate([grid_a, rng.standard_normal(200_000) * 30, rng.standard_normal(1000)]).astype(dtype)
    b = np.concatenate([grid_b, rng.standard_normal(200_000) * 30, rng.standard_normal(1000) * 1e-3]).astype(dtype)
    out = np.empty_like(a)
    _form_applier(special.FORMS[dtype]["logaddexp"].replace("{1}", "b[i]"), binary=True)(a, b, out)
    with np.errstate(all="ignore"):
        want = np.logaddexp(a, b)
        exact = ~np.isfinite(a) | ~np.isfinite(b) | (a == b)
        assert np.array_equal(out[exact], want[exact], equal_nan=True)
        hi = np.longdouble if dtype == "float64" else np.float64
        reference = np.logaddexp(a.astype(hi), b.astype(hi))
        scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), np.abs(reference)).astype(dtype)
    finite = ~exact
    error = np.abs(out[finite].astype(hi) - reference[finite]) / np.spacing(scale[finite]).astype(hi)
    assert error.max() <= 2.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.exhaustive
def test_gelu_matches_its_reference_and_erf_is_odd_and_saturates(dtype):
    """gelu's vector form (0.5 x (1 + erf(x / sqrt 2)), in float64) against the op's NumPy
    reference (scipy's erf), whose cancellation for large negative x it shares; erf(-x) is
    -erf(x) bit for bit, erf(-0.0) is -0.0, and |x| from 6 gives exactly +-1."""
    with np.errstate(over="ignore"):  # the float64 edges beyond float32's range become inf
        x = np.concatenate([np.linspace(-12, 12, 200_001), _EDGES]).astype(dtype)
    out = np.empty_like(x)
    _form_applier(special.FORMS[dtype]["gelu"])(x, out)
    with np.errstate(all="ignore"):
        want = TABLE["gelu"].impl(x)
    if dtype == "float32":
        np.testing.assert_allclose(out, want, rtol=2e-7, atol=1e-37)
    else:  # 1 + erf(x) for x < 0 cancels: an ulp of 1 (of erf) times x / 2 either way
        finite = np.isfinite(x)
        error = np.abs(out[finite] - want[finite])
        assert (error <= 1e-15 * np.abs(want[finite]) + 2.3e-16 * np.abs(x[finite])).all()
        np.testing.assert_array_equal(out[~finite], want[~finite])
    erf = _form_applier(special.FORMS[dtype]["erf"])
    pos, neg = np.empty_like(x), np.empty_like(x)
    erf(np.abs(x), pos)
    erf(-np.abs(x), neg)
    assert np.array_equal(pos, -neg, equal_nan=True)
    assert np.signbit(neg[np.abs(x) == 0]).all()
    assert (pos[np.abs(x) >= 6] == 1).all()
