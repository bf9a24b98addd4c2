"""The Numba backend's broadcast loops compute what depends on an input broadcast along the
inner axes (a column, a channel's value) once per outer index, not once per element
(numba_codegen._broadcast_source): the source's structure, and NumPy's values for columns,
channels, rows, single values, in-place loops, range-checked forms and empty inner axes."""
import numpy as np
import pytest

import symgraph as sg
from symgraph.backends import numba_codegen as codegen
from symgraph.ops.composite import Composite
from symgraph.ops.elemwise import TABLE


def composite_exp_times_plus():
    """exp(in1) * in0 + in2."""
    program = [(TABLE["exp"], (("in", 1),), "float32"), (TABLE["mul"], (("tmp", 0), ("in", 0)), "float32"),
               (TABLE["add"], (("tmp", 1), ("in", 2)), "float32")]
    return Composite(program, [2], 3)


def lines_of(source):
    return [line.strip() for line in source.splitlines()]


@pytest.mark.parametrize("parallel", [False, True])
def test_a_columns_exponential_is_computed_in_the_row_loop_before_the_inner_one(parallel):
    source = codegen._broadcast_source(composite_exp_times_plus(), ("float32",) * 3, 2,
                                       ((False, False), (False, True), (True, False)), parallel)
    lines = lines_of(source)
    inner = lines.index("for i1 in range(out0.shape[1]):")
    assert lines.index("x1 = a1[i0, 0]") < inner and lines.index("t0 = np.float32(exp32(x1))") < inner
    assert lines.index("x0 = a0[i0, i1]") > inner and lines.index("x2 = a2[0, i1]") > inner
    assert lines.index("out0[i0, i1] = t2") > inner
    # a channel's value of NCHW: once per (n, c), before the loops over H and W
    source = codegen._broadcast_source(composite_exp_times_plus(), ("float32",) * 3, 4,
                                       ((False,) * 4, (True, False, True, True), (True,) * 4), parallel)
    lines = lines_of(source)
    assert lines.index("t0 = np.float32(exp32(x1))") < lines.index("for i2 in range(out0.shape[2]):")
    assert lines.index("x1 = a1[0, i1, 0, 0]") > lines.index("for i1 in range(out0.shape[1]):")


def awkward(rng, shape, dtype):
    return (rng.normal(size=shape) * 2).astype(dtype)


# (name, shapes of the inputs, expression over a NumPy-like module)
CASES = [
    ("column", [(37, 50), (37, 1)], lambda m, x, c: m.exp(c) * x + m.log(abs(c) + 1)),
    ("column and row", [(37, 50), (37, 1), (50,)], lambda m, x, c, r: m.tanh(c * 2) * x - m.exp(r) / (abs(c) + 1)),
    ("two columns", [(37, 1), (37, 50), (37, 1)], lambda m, c, x, d: m.sqrt(abs(c * d)) + x * m.exp(d)),
    ("channel of NCHW", [(3, 5, 7, 9), (1, 5, 1, 1), (1, 5, 1, 1)],
     lambda m, x, mean, var: (x - mean) / m.sqrt(abs(var) + 1e-3) * m.exp(var)),
    ("middle of 3-d", [(6, 1, 40), (6, 20, 40)], lambda m, a, x: m.exp(a) * x),
    ("outer of 3-d", [(6, 20, 1), (1, 20, 1), (6, 20, 40)], lambda m, a, b, x: m.sin(a * b) + x),
    ("single value and column", [(), (37, 1), (37, 50)], lambda m, s, c, x: m.exp(s * c) + x),
    ("sin of a large column (checked forms)", [(37, 50), (37, 1)], lambda m, x, c: m.sin(c * 1e5) * x),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.exhaustive
def test_broadcast_loops_with_values_computed_outside_the_inner_loop_give_numpys(case, dtype, rng):
    name, shapes, expr = case
    symbols = [sg.tensor(f"a{i}", dtype, (None,) * len(s)) for i, s in enumerate(shapes)]
    f = sg.function(symbols, expr(sg, *symbols), backend="numba")
    tol = dict(rtol=2e-5, atol=2e-5) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    for scale in (1, 40):  # (40: a parallel loop)
        values = [awkward(rng, tuple(n * scale if k == 0 and len(s) > 1 and n > 1 else n for k, n in enumerate(s)),
                          dtype) for s in shapes]
        with np.errstate(all="ignore"):
            np.testing.assert_allclose(f(*values), expr(np, *values), **tol)


def test_a_column_beside_an_empty_inner_axis_and_an_in_place_loop(rng):
    """With no inner element the row's values are still computed (from a column's valid
    values) and nothing is written; in place (out0 is input 0's buffer) the loop reads the
    input from out0 in the inner loop, the column once a row."""
    x, c = sg.fmatrix("x"), sg.fmatrix("c")
    f = sg.function([x, c], sg.exp(c) * x + sg.log(c), backend="numba")
    empty, column = np.zeros((5, 0), "float32"), -np.ones((5, 1), "float32")
    assert f(empty, column).shape == (5, 0)
    composite, patterns = composite_exp_times_plus(), ((False, False), (False, True), (True, False))
    for parallel in (False, True):
        kernel = codegen.broadcast_kernel(composite, ("float32",) * 3, 2, patterns, parallel, alias=0)
        xv, cv, rv = (awkward(rng, s, "float32") for s in ((300, 200), (300, 1), (1, 200)))
        want = np.exp(cv) * xv + rv
        kernel(xv, xv, cv, rv)
        np.testing.assert_allclose(xv, want, rtol=1e-6, atol=1e-5)  # (exp: an ulp)
