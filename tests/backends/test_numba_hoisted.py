"""The Numba backend's broadcast loops compute what depends on an input broadcast along the
inner axes (a column, a channel's value) once per outer index, not once per element
(numba_codegen._broadcast_source): the source's structure, and NumPy's values for columns,
channels, rows, single values, in-place loops, range-checked forms and empty inner axes.
What is computed from an input broadcast along an outer axis (a row) alone, with a function
or a division, is computed once into a buffer before the loops (_row_buffer_lines)."""
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
    ("log of a row", [(37, 50), (1, 50)], lambda m, x, r: x - m.log(abs(r) + 1)),
    ("a row's mean and deviation", [(37, 50), (1, 50), (1, 50)],
     lambda m, x, mean, var: (x - mean) / m.sqrt(abs(var) + 1e-3) + m.exp(mean) * 2),
    ("row of 3-d and a channel", [(6, 20, 40), (1, 20, 40), (1, 20, 1)],
     lambda m, x, r, c: x * m.tanh(r * c) - m.exp(c)),
    ("middle axis broadcast", [(6, 20, 40), (6, 1, 40)], lambda m, x, r: x / m.sqrt(r * r + 1)),
    ("sin of a large row (checked forms)", [(37, 50), (1, 50)], lambda m, x, r: m.sin(r * 1e5) * x + m.cos(r)),
    ("mod of a large row (checked forms)", [(37, 50), (1, 50)], lambda m, x, r: x - (r * 1e9) % 0.7),
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


@pytest.mark.parametrize("parallel", [False, True])
def test_a_rows_exponential_is_computed_once_into_a_buffer_before_the_loops(parallel):
    source = codegen._broadcast_source(composite_exp_times_plus(), ("float32",) * 3, 2,
                                       ((False, False), (True, False), (True, False)), parallel)
    lines = lines_of(source)
    outer = lines.index(f"for i0 in {'prange' if parallel else 'range'}(out0.shape[0]):")
    assert "def kernel(out0, a0, a1, a2, a3):" in lines  # (a3: the buffer, which the caller makes)
    assert codegen.row_buffers(composite_exp_times_plus(), 2, ((False, False), (True, False), (True, False))) == [
        (frozenset({1}), np.dtype("float32"))]
    assert lines.index("u0 = np.float32(exp32(y1))") < lines.index("a3[0, q1] = u0") < outer
    assert lines.index("x3 = a3[0, i1]") > lines.index("for i1 in range(out0.shape[1]):")
    assert "x1 = a1[0, i1]" not in lines and not any("exp32" in line for line in lines[outer:])
    # a middle axis broadcast in 3-d: the buffer spans the two others
    patterns = ((False,) * 3, (False, True, False), (True, True, False))
    source = codegen._broadcast_source(composite_exp_times_plus(), ("float32",) * 3, 3, patterns, parallel)
    assert "x3 = a3[i0, 0, i2]" in source and "a3[q0, 0, q2] = u0" in source
    assert codegen.row_buffers(composite_exp_times_plus(), 3, patterns) == [(frozenset({0, 2}), np.dtype("float32"))]


def test_a_rows_arithmetic_alone_and_a_function_of_the_whole_array_stay_in_the_loop():
    """A row times two is read as cheaply as from a buffer; exp(x) of the whole array is not a
    row's; nor is anything in a tiled loop (its rows read through tiles)."""
    program = [(TABLE["mul"], (("in", 1), ("const", 2.0, "float32")), "float32"),
               (TABLE["add"], (("tmp", 0), ("in", 0)), "float32"), (TABLE["exp"], (("tmp", 1),), "float32")]
    composite = Composite(program, [2], 2)
    source = codegen._broadcast_source(composite, ("float32",) * 2, 2, ((False, False), (True, False)), False)
    assert "def kernel(out0, a0, a1):" in source and "x1 = a1[0, i1]" in source
    tiled = codegen._broadcast_source(composite_exp_times_plus(), ("float32",) * 3, 2,
                                      ((False, False), (True, False), (True, False)), False, tiled=(True, False, False))
    assert "def kernel(out0, a0, a1, a2):" in tiled
    # exp(row) * 2 read by the loop: one buffer, of the product (the exp is computed in its loop)
    program = [(TABLE["exp"], (("in", 1),), "float32"), (TABLE["mul"], (("tmp", 0), ("const", 2.0, "float32")), "float32"),
               (TABLE["add"], (("tmp", 1), ("in", 0)), "float32")]
    source = codegen._broadcast_source(Composite(program, [2], 2), ("float32",) * 2, 2, ((False, False), (True, False)),
                                       False)
    assert "def kernel(out0, a0, a1, a2):" in source and "a2[0, q1] = u1" in source
    assert "u0 = np.float32(exp32(y1))" in source and source.count("exp32(") == 1


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8"])
def test_an_integer_rows_division_computed_once_gives_numpys(dtype, rng):
    """Integer floor division and mod of a row (by a single value: its plan made before the
    loops, numba_integers) and a row's comparison, buffered as bools."""
    x, r, s = sg.tensor("x", dtype, (None, None)), sg.tensor("r", dtype, (1, None)), sg.tensor("s", dtype, ())
    f = sg.function([x, r, s], [x + r // s - r % 3, sg.where(r // 2 > 1, x, r)], backend="numba")
    info = np.iinfo(dtype)
    xv = rng.integers(0, min(info.max, 100), size=(300, 70)).astype(dtype)
    rv = rng.integers(0, min(info.max, 100), size=(1, 70)).astype(dtype)
    sv = np.array(7, dtype)
    got = f(xv, rv, sv)
    np.testing.assert_array_equal(got[0], xv + rv // sv - rv % 3)
    np.testing.assert_array_equal(got[1], np.where(rv // 2 > 1, xv, rv))


def test_a_rows_buffer_in_place_and_beside_empty_axes(rng):
    """In place (out0 is x's buffer) the row's log is computed before the loop writes; with no
    rows, or rows of no elements, nothing is written."""
    program = [(TABLE["log"], (("in", 1),), "float64"), (TABLE["sub"], (("in", 0), ("tmp", 0)), "float64")]
    composite = Composite(program, [1], 2)
    for parallel in (False, True):
        kernel = codegen.broadcast_kernel(composite, ("float64",) * 2, 2, ((False, False), (True, False)), parallel,
                                          alias=0)
        xv, rv = awkward(rng, (300, 200), "float64"), np.abs(awkward(rng, (1, 200), "float64")) + 0.5
        want = xv - np.log(rv)
        kernel(xv, xv, rv)
        np.testing.assert_allclose(xv, want, rtol=1e-14)
    x, r = sg.dmatrix("x"), sg.tensor("r", "float64", (1, None))
    f = sg.function([x, r], x - sg.log(r), backend="numba")
    assert f(np.zeros((0, 5)), np.ones((1, 5))).shape == (0, 5)
    assert f(np.zeros((4, 0)), np.ones((1, 0))).shape == (4, 0)


# Reductions of loops reading a row or a column through a function (numba_codegen._reduce_parts)
REDUCTIONS = [
    ("sum along rows", [(37, 50), (1, 50)], lambda m, x, r: (x * m.exp(r)).sum(axis=1)),
    ("sum down columns", [(37, 50), (1, 50)], lambda m, x, r: (x * m.exp(r)).sum(axis=0)),
    ("max along rows", [(37, 50), (1, 50)], lambda m, x, r: (x / m.sqrt(abs(r) + 1)).max(axis=1)),
    ("min of all", [(37, 50), (1, 50)], lambda m, x, r: (x - m.log(abs(r) + 1)).min()),
    ("mean of 3-d over the middle", [(6, 20, 40), (6, 1, 40)], lambda m, x, r: (x * m.tanh(r)).mean(axis=1)),
    ("a column's log down columns", [(37, 50), (37, 1)], lambda m, x, c: (x * m.log(abs(c) + 1)).sum(axis=0)),
    ("prod of a row and a column", [(37, 50), (1, 50), (37, 1)],
     lambda m, x, r, c: (1 + 0.01 * x * m.exp(r) * c).prod(axis=0)),
    ("mod of a large row (checked forms)", [(37, 50), (1, 50)], lambda m, x, r: (x - (r * 1e9) % 0.7).sum(axis=0)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", REDUCTIONS, ids=[c[0] for c in REDUCTIONS])
@pytest.mark.exhaustive
def test_reductions_of_a_rows_function_give_numpys(case, dtype, rng):
    name, shapes, expr = case
    symbols = [sg.tensor(f"a{i}", dtype, tuple(1 if n == 1 else None for n in s)) for i, s in enumerate(shapes)]
    f = sg.function(symbols, expr(sg, *symbols), backend="numba")
    tol = dict(rtol=2e-5, atol=2e-4) if dtype == "float32" else dict(rtol=1e-11, atol=1e-11)
    for scale in (1, 40):  # (40: a parallel loop)
        values = [awkward(rng, tuple(n * scale if k == 0 and n > 1 else n for k, n in enumerate(s)), dtype)
                  for s in shapes]
        with np.errstate(all="ignore"):
            np.testing.assert_allclose(f(*values), expr(np, *values), **tol)


def test_a_reductions_row_function_is_computed_once_into_a_buffer_before_its_loops():
    """exp(r) of (x * exp(r)).sum(axis=0) (an outer fold: the reduced axis outside, the kept one
    inside) and .sum(axis=1) (an inner one), and a column's: filled into a buffer (the last
    argument, which the caller makes) before the loops, read in them."""
    program = [(TABLE["exp"], (("in", 1),), "float64"), (TABLE["mul"], (("in", 0), ("tmp", 0)), "float64")]
    composite = Composite(program, [1], 2)
    for kept, outer in ((1, True), (0, False)):
        order = (kept, 1 - kept)
        source = codegen._reduce_source(composite, ("float64",) * 2, 1, 1, "sum", "float64", False, outer, order,
                                        ((), (0,)))
        lines = lines_of(source)
        assert "def kernel(out, ext, a0, a1, a2):" in lines
        loops = [k for k, line in enumerate(lines) if line.startswith("for k0") or line.startswith("for r0")]
        assert lines.index("u0 = np.float64(exp64(y1))") < lines.index("a2[0, q1] = u0") < loops[0]
        assert "x2 = a2[0, k0]" in lines if outer else "x2 = a2[0, r0]" in lines
        assert sum("exp64(" in line for line in lines) == 1
    # a column's too (LLVM moved our exp out of the inner loop, but not SVML's log, a call)
    column = lines_of(codegen._reduce_source(composite, ("float64",) * 2, 1, 1, "sum", "float64", False, True,
                                             (1, 0), ((), (1,))))
    assert "def kernel(out, ext, a0, a1, a2):" in column and "a2[q0, 0] = u0" in column and "x2 = a2[r0, 0]" in column
    kernel = codegen.reduce_kernel(composite, ("float64",) * 2, 1, 1, "sum", "float64", False, True, (1, 0), ((), (0,)))
    x, r = np.arange(6.0).reshape(2, 3), np.array([[0.0, 1.0, 2.0]])
    out = np.empty(3)
    kernel(out, (2, 3), x, r)
    np.testing.assert_allclose(out, (x * np.exp(r)).sum(axis=0), rtol=1e-15)
