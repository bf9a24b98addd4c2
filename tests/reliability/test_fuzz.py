"""A differential fuzzer: hypothesis builds random graphs (ops, shapes, dtypes, broadcasting,
indexing) and the Numba CPU and CUDA backends must agree with the NumPy reference, NaN positions included.

CI runs a bounded number of examples; a long run by hand:
    SYMGRAPH_FUZZ_EXAMPLES=3000 .venv/bin/python -m pytest tests/reliability/test_fuzz.py
"""
import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck
from hypothesis.extra import numpy as hnp

import symgraph as sg

EXAMPLES = int(os.environ.get("SYMGRAPH_FUZZ_EXAMPLES", "60"))
UNARY = ["exp", "log", "sqrt", "tanh", "sin", "abs", "neg", "sigmoid", "softplus", "relu", "floor",
         "log1p", "expm1", "square", "arctan", "sign", "erf"]
BINARY = ["add", "sub", "mul", "true_div", "maximum", "minimum", "pow", "mod", "int_div"]
values = st.one_of(st.floats(-4, 4, width=32), st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0]))
values_of_floats = values
# Integers: the ops whose integer results NumPy defines at every value (a negative power is its
# ValueError, a division by zero 0), values near 0 and at the dtype's ends (wrapping around).
INTEGER_UNARY = ["abs", "neg", "sign", "square"]
INTEGER_BINARY = ["add", "sub", "mul", "maximum", "minimum", "pow", "mod", "int_div", "true_div", "bitwise_and"]
INTEGER_DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint32"]


def integer_values(dtype):
    info = np.iinfo(dtype)
    return st.one_of(st.integers(max(info.min, -9), min(info.max, 9)),
                     st.sampled_from([info.min, info.max, info.min + 1, info.max - 1]))


def literal_divisors(dtype):
    """Divisors a kernel spells as literals: powers of two, others (a multiply-high), negative
    ones and the dtype's ends (numba_integers._int64_by_literal)."""
    info = np.iinfo(dtype)
    return [d for d in (1, 2, 3, 7, 8, 10, 127, 641, -1, -2, -3, -7, -8, info.max, info.min, info.min + 1)
            if info.min <= d <= info.max]


def build(draw, leaves, integers=False):
    unary, binary = (INTEGER_UNARY, INTEGER_BINARY) if integers else (UNARY, BINARY)
    pool = list(leaves)
    for _ in range(draw(st.integers(1, 7))):
        kind = draw(st.sampled_from(["unary", "binary", "binary", "reduce", "index", "where"]
                                    + (["by_literal"] if integers else [])))
        a = draw(st.sampled_from(pool))
        if kind == "by_literal":  # (x // 7, x % -8: divisors known when the kernel is written)
            if np.dtype(a.dtype).kind not in "iu":  # (a true division's float result)
                continue
            divisor = draw(st.sampled_from(literal_divisors(a.dtype)))
            pool.append(a // divisor if draw(st.booleans()) else a % divisor)
        elif kind == "unary":
            pool.append(getattr(sg, draw(st.sampled_from(unary)))(a))
        elif kind == "binary":
            b = draw(st.sampled_from(pool))
            try:
                pool.append(getattr(sg, draw(st.sampled_from(binary)))(a, b))
            except TypeError:  # (bitwise_and of a float: refused when the graph is built)
                continue
        elif kind == "reduce" and a.ndim >= 1:
            fn = draw(st.sampled_from(["sum", "max", "min", "mean", "prod"]))
            pool.append(getattr(a, fn)(axis=draw(st.integers(0, a.ndim - 1)), keepdims=True))
        elif kind == "index" and a.ndim >= 1:
            pool.append(a[::-1] if draw(st.booleans()) else a[..., :1])
        elif kind == "where":
            b = draw(st.sampled_from(pool))
            pool.append(sg.where(a > b, a, b * (2 if integers else 0.5)))
    return pool[-1]


# A mean over an empty axis is NaN on every backend; the numpy reference also warns, as
# NumPy does, and which examples draw one is hypothesis's choice.
EMPTY_MEAN = pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning")


@EMPTY_MEAN
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_numba_agrees_with_numpy_on_random_graphs(data):
    agree_on_a_random_graph(data.draw, "numba")


@EMPTY_MEAN
@pytest.mark.usefixtures("fast_simulator")
@settings(max_examples=max(EXAMPLES // 3, 1), deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_cuda_agrees_with_numpy_on_random_graphs(data):
    agree_on_a_random_graph(data.draw, "cuda")  # in numba's simulator unless run on a GPU


# (derandomized: the same examples in every run, as CI's; a longer run by hand draws more)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(st.data())
def test_numba_agrees_with_numpy_on_random_integer_graphs(data):
    """Integer graphs: the same bits as NumPy's, wrapping around included (int64 arithmetic had
    let LLVM fold comparisons as if it could not overflow), and NumPy's ValueError for a
    negative power (numba's power had given 0)."""
    agree_on_a_random_graph(data.draw, "numba", integers=True)


def agree_on_a_random_graph(draw, backend_under_test, integers=False):
    dtype = draw(st.sampled_from(INTEGER_DTYPES if integers else ["float32", "float64"]))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    other = tuple(1 if draw(st.booleans()) else s for s in shape)[draw(st.integers(0, len(shape))):]
    a = sg.tensor("a", dtype, (None,) * len(shape))
    b = sg.tensor("b", dtype, (None,) * len(other))
    out = build(draw, [a, b], integers)
    elements = integer_values(dtype) if integers else values
    av = draw(hnp.arrays(dtype, shape, elements=elements))
    bv = draw(hnp.arrays(dtype, other, elements=elements))
    tol = 2e-4 if dtype == "float32" else 1e-9
    assert_backends_agree([a, b], out, [av, bv], backend_under_test, tol, tol)


def assert_backends_agree(inputs, out, values, backend_under_test, rtol, atol, written=False):
    """`out` on backend_under_test and on the numpy reference (written: the graph as written,
    not rewritten): the same outcome (a result, or an error of the same type), shape and dtype;
    integers equal, floats close, NaN in the same places."""
    results = []
    for backend, optimize in ((backend_under_test, True), ("numpy", not written)):
        f = sg.function(inputs, out, backend=backend, optimize=optimize, on_unused_input="ignore")
        try:
            with np.errstate(all="ignore"):
                results.append(("ok", np.asarray(f(*values))))
        except (ValueError, FloatingPointError) as exc:
            results.append(("error", type(exc)))
    (ka, va), (kb, vb) = results
    assert ka == kb, results
    if ka == "ok":
        assert va.shape == vb.shape and va.dtype == vb.dtype
        if va.dtype.kind != "f":
            np.testing.assert_array_equal(va, vb)
            return
        np.testing.assert_array_equal(np.isnan(va), np.isnan(vb))
        np.testing.assert_allclose(va, vb, rtol=rtol, atol=atol, equal_nan=True)


# Literal exponents and scales: what the rewriter's rules look for (special_powers, Gemm's alpha).
LITERAL_POWERS = [2, 3, 4, 0.5, -1, -2, 2.0, 1, 0]


def build_with_literals(draw, leaves, integers):
    """build's graphs, with literal powers, scaled sums and sums of products among them."""
    pool = list(leaves)
    for _ in range(draw(st.integers(1, 6))):
        a = draw(st.sampled_from(pool))
        kind = draw(st.sampled_from(["pow", "scaled", "sum", "graph", "graph"]))
        try:
            if kind == "pow":
                pool.append(a ** draw(st.sampled_from(LITERAL_POWERS)))
            elif kind == "scaled":
                pool.append(draw(st.sampled_from([2, 0.5, -1, 3])) * a + draw(st.sampled_from(pool)))
            elif kind == "sum" and a.ndim >= 1:
                pool.append((a * draw(st.sampled_from(pool))).sum(axis=-1))
            else:
                pool.append(build(draw, [a, draw(st.sampled_from(pool))], integers))
        except (TypeError, OverflowError):  # (refused when the graph is built)
            continue
    return pool[-1]


# (twice the examples: a rule wrong for one dtype shows in a few graphs of a hundred)
@settings(max_examples=2 * EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(st.data())
def test_rewritten_graphs_agree_with_the_graphs_as_written(data):
    """The rewriter's graph against the graph as written (optimize=False), on the numpy
    backend: the same outcome, dtype and values. The backends' fuzzers compare two rewritten
    graphs, so a rule wrong for some dtype passed them: x ** -2 of integers became
    reciprocal(square(x)), 1 // x**2, where NumPy raises."""
    draw = data.draw
    integers = draw(st.booleans())
    dtype = draw(st.sampled_from(INTEGER_DTYPES if integers else ["float32", "float64"]))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=4))
    a, b = (sg.tensor(name, dtype, (None,) * len(shape)) for name in "ab")
    out = build_with_literals(draw, [a, b], integers)
    elements = integer_values(dtype) if integers else values
    inputs = [draw(hnp.arrays(dtype, shape, elements=elements)) for _ in range(2)]
    tol = 2e-3 if dtype == "float32" else 1e-7  # (x ** 0.5 as sqrt, x ** 3 as x * x * x: an ulp or two)
    assert_backends_agree([a, b], out, inputs, "numpy", tol, tol, written=True)


MIXED_DTYPES = ["bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"]
MIXED_UNARY = ["abs", "neg", "square", "exp", "log1p", "tanh", "sigmoid", "softplus", "reciprocal", "floor"]
MIXED_BINARY = ["add", "sub", "mul", "true_div", "int_div", "mod", "maximum", "minimum", "arctan2", "lt", "eq", "ge"]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(st.data())
def test_numba_agrees_with_numpy_on_random_mixed_dtype_graphs(data):
    """Inputs of two dtypes (bool, signed, unsigned, float): NumPy's result types and values,
    an integer argument of a float step converted first (int32 % uint64 of 0 had given 0, not
    NaN; sigmoid of an unsigned had negated it in its own type), a half-precision step inside a
    fused loop run as NumPy's (numba had raised)."""
    draw = data.draw
    dtypes = [draw(st.sampled_from(MIXED_DTYPES)) for _ in range(2)]
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=4))
    leaves = [sg.tensor(f"x{k}", d, (None,) * len(shape)) for k, d in enumerate(dtypes)]
    pool = list(leaves)
    for _ in range(draw(st.integers(1, 4))):
        a = draw(st.sampled_from(pool))
        try:
            if draw(st.booleans()):
                pool.append(getattr(sg, draw(st.sampled_from(MIXED_UNARY)))(a))
            else:
                pool.append(getattr(sg, draw(st.sampled_from(MIXED_BINARY)))(a, draw(st.sampled_from(pool))))
        except TypeError:  # (an op NumPy does not define for these dtypes: refused at build time)
            continue
    out = pool[-1]
    values = [draw(hnp.arrays(d, shape, elements=integer_values(d) if d[0] in "iu" else
                              (st.booleans() if d == "bool" else values_of_floats))) for d in dtypes]
    # (a float64 result may come from a float32 step: bool and 8- and 16-bit integers compute in
    # float32, as float32 itself)
    wide = all(d in ("float64", "int32", "uint32", "int64", "uint64") for d in dtypes)
    assert_backends_agree(leaves, out, values, "numba", 1e-9 if wide else 2e-4, 1e-30)
