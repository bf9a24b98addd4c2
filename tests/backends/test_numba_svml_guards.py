"""The guards around NumPy's SVML functions (backends/numba_svml_guards.py): arguments outside a
function's domain, and exponentials' arguments whose results leave the normal range, reach the
function inside the range its vector code handles (its slow scalar path took them 5-70x
longer), with NumPy's answers; the loops stay vectorized through the guards."""
import re

import numpy as np
import pytest

import symgraph as sg
from symgraph.backends import numba_codegen, numba_svml, numba_svml_guards

from .test_numba_svml import REFERENCE, SPECIAL, _arguments, _calls, _compiled_fresh, _loop, needs_svml


# Where each guarded function's SVML form stays on its fast path (numba_svml_guards.GUARDED): the
# arguments c = clean(x) may give (NaN, and infinities, pass; an infinite one is slow, and rare).
# A power's zero base must not become a subnormal one (whose powers are 0 or inf: slow too).
# The exponentials: no argument whose result is beyond the normal range (0, a subnormal number,
# inf; but a sliver next to those, exact and slow).
FAST_DOMAIN = {"positive": lambda c, x: c > 0, "above_minus_one": lambda c, x: c > -1,
               "above_one": lambda c, x: c > 1, "inside_one": lambda c, x: np.abs(c) < 1,
               "within_one": lambda c, x: np.abs(c) <= 1,
               "power": lambda c, x: (c > 0) & ((x != 0) | (c >= np.finfo(c.dtype).tiny)),
               "exp": lambda c, x: (c >= -708.4) & (c <= 709.79),
               "exp2": lambda c, x: (c >= np.finfo(c.dtype).minexp) & (c < np.finfo(c.dtype).maxexp),
               "expm1": lambda c, x: c <= 88.73, "cosh": lambda c, x: np.abs(c) <= 89.42,
               "sinh": lambda c, x: np.abs(c) <= 89.42}


def _guarded_ops():
    """(dtype, op) of each guarded SVML function."""
    return [(dtype, op) for tables in (numba_svml._FUNCTIONS, numba_svml._PAIRED) for dtype, table in tables.items()
            for op in table if op in numba_svml_guards.GUARDED]


@pytest.mark.parametrize("dtype,op", _guarded_ops())
def test_guards_call_the_functions_inside_their_fast_domain_and_give_numpy_answers(dtype, op, rng):
    """Zero and negative logs, arccosh below 1, arctanh and arcsin beyond +-1, powers of negative
    bases and of zero sent SVML's vectors down their scalar path (float32 log of normal values
    8x, x ** y 7-70x slower): each guard moves the argument inside the domain (clean) and gives
    NumPy's answer from it (finish). Checked here with NumPy's functions for SVML's, over specials,
    every magnitude, and values about the domain's edges."""
    from numba import njit
    kind = numba_svml_guards.GUARDED[op]
    clean, finish = numba_svml_guards.GUARDS[dtype][kind]
    with np.errstate(all="ignore"):
        # (a power's bases: the one-argument sample, every magnitude and sign; its exponents below)
        x = np.concatenate([_arguments(dtype, op if op != "pow" else "log", rng)[0],
                            rng.integers(-3, 4, 1000), rng.normal(size=1000) * 2, [-1, 1]]).astype(dtype)
    reference = REFERENCE.get(op, getattr(np, op))
    if op == "pow":
        with np.errstate(over="ignore"):  # (float64 specials beyond float32's range: infinities)
            y = np.concatenate([SPECIAL, np.round(rng.normal(size=x.size - len(SPECIAL)) * 3)]).astype(dtype)
        y[::3] = rng.normal(size=y[::3].size) * 3  # (whole and fractional exponents)
        x = rng.permutation(x)
        step = njit(lambda x, y: clean(x, y))
        moved = np.array([step(a, b) for a, b in zip(x, y)], dtype)
        with np.errstate(all="ignore"):
            done = njit(lambda x, y, r: finish(x, y, r))
            got = np.array([done(a, b, r) for a, b, r in zip(x, y, reference(moved, y))], dtype)
            want = reference(x, y)
    else:
        moved = njit(lambda v: [clean(e) for e in v])(x)
        moved = np.array(moved, dtype)
        with np.errstate(all="ignore"):
            done = njit(lambda x, r: finish(x, r))
            got = np.array([done(a, r) for a, r in zip(x, reference(moved))], dtype)
            want = reference(x)
    with np.errstate(invalid="ignore"):
        inside = FAST_DOMAIN[kind](moved, x) | np.isnan(moved) | np.isinf(moved)
    assert inside.all(), x[~inside]
    assert np.isnan(moved[np.isnan(x)]).all() or op == "pow"  # (NaN goes through to SVML's NaN)
    # NumPy's bits where the result is not a normal number, -0.0 too (a subnormal exp or exp2, or 0,
    # within one of the smallest: exp(x / 2)^2 rounds twice, and exp2(x + 64) 2^-64 once where SVML's
    # own float32 exp2 gave 0 for some results above half the smallest); elsewhere its bits but for
    # powers of negative bases (SVML's scalar path for them rounds within an ulp of its vector's)
    normal = np.isfinite(want) & (np.abs(want) >= np.finfo(dtype).tiny)
    subnormal = np.abs(want) < np.finfo(dtype).tiny
    np.testing.assert_array_equal(got[~normal & ~subnormal], want[~normal & ~subnormal])
    assert (np.abs(got[subnormal] - want[subnormal]) <= np.finfo(dtype).smallest_subnormal).all()
    assert np.array_equal(np.signbit(got[want == 0]), np.signbit(want[want == 0]))
    if op == "pow":
        np.testing.assert_allclose(got[normal], want[normal], rtol=2 * np.finfo(dtype).eps, atol=0)
    else:
        np.testing.assert_array_equal(got[normal], want[normal])


@needs_svml
def test_guarded_loops_still_call_the_vector_functions(rng):
    """The guards keep each loop vectorized through SVML (no scalar libm call a value), a power
    by a constant too (x ** 2.5, whose guard LLVM partly folds); over values outside the domain
    they give NumPy's answers (normal values' logs, powers of negative bases and zero)."""
    for dtype, expr, numpy_form, symbol in [
            ("float32", lambda x: sg.log(x), np.log, "__svml_logf16"),
            ("float32", lambda x: x ** 2.5, lambda v: v ** np.float32(2.5), "__svml_powf16"),
            ("float32", lambda x: sg.arctanh(x / 2), lambda v: np.arctanh(v / np.float32(2)), "__svml_atanhf16"),
            ("float64", lambda x: sg.arcsin(x), np.arcsin, "__svml_asin8_ha"),
            ("float64", lambda x: sg.log1p(x), np.log1p, "__svml_log1p8_ha"),
            # (exponentials beyond the normal range, beside another SVML function: alone they are ours)
            ("float64", lambda x: sg.exp(x * 400) + sg.log2(x * x + 1),
             lambda v: np.exp(v * 400) + np.log2(v * v + 1), "__svml_exp8_ha"),
            ("float32", lambda x: sg.cosh(x * 60) - sg.sinh(x * 60),
             lambda v: np.cosh(v * np.float32(60)) - np.sinh(v * np.float32(60)), "__svml_coshf16")]:
        v = sg.tensor("v", dtype, (None,))
        single = _loop(sg.function([v], expr(v)))
        values = np.concatenate([rng.normal(size=3000) * 2, np.zeros(100), [-1, 1, -2, 2]]).astype(dtype)
        result = np.empty_like(values)
        kernel = _compiled_fresh(numba_codegen._flat_source(single, (dtype,), (False,), False), result, values)
        with np.errstate(all="ignore"):
            np.testing.assert_allclose(result, numpy_form(values), rtol=1e-6 if dtype == "float32" else 1e-15)
        assert _calls(kernel, symbol), (dtype, symbol)
        if dtype == "float32" and symbol == "__svml_logf16":  # (the guard's maximum, in the vector loop)
            assert re.search(r"@llvm\.maximum\.v\d+f32\(", "".join(kernel.inspect_llvm(s) for s in kernel.signatures))
    x, y = sg.fvector("x"), sg.fvector("y")
    f = sg.function([x, y], x ** y)
    xv = np.concatenate([rng.normal(size=2000), np.zeros(100), [-0.0] * 4]).astype("float32")
    yv = np.round(rng.normal(size=xv.size) * 3).astype("float32")
    yv[::2] += np.float32(0.5)  # (NaN for the negative bases)
    yv[-4:] = [-1, 1, 0, -2]
    with np.errstate(all="ignore"):
        got, want = f(xv, yv), xv ** yv
    np.testing.assert_allclose(got, want, rtol=2e-6)
    assert np.array_equal(np.signbit(got[want == want]), np.signbit(want[want == want]))  # (-0.0, -inf)


def test_the_kernels_call_each_function_through_its_guard():
    """The name kernels call each guarded function by (numba_svml.form_name) is its guard around
    the intrinsic, with that function's clean and finish steps. With the intrinsic itself there
    every value test passes (SVML's slow path is exact, only slow), so this one holds the wiring."""
    for dtype, op in _guarded_ops():
        name = numba_svml.form_name(op, dtype)
        inside = {id(cell.cell_contents) for cell in getattr(numba_svml, name).py_func.__closure__}
        parts = [getattr(numba_svml, f"{name}_unguarded"),
                 *numba_svml_guards.GUARDS[dtype][numba_svml_guards.GUARDED[op]]]
        assert {id(part) for part in parts} <= inside, (dtype, op)
