"""Every row of the scalar-op table against NumPy, with broadcasting and NumPy 2 promotion."""
import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings, strategies as st, HealthCheck
from hypothesis.extra import numpy as hnp

import symgraph as sg
from symgraph.ops.elemwise import TABLE
from tests.conftest import run

# Inputs inside each function's domain.
DOMAIN = {"log": (0.1, 3), "log2": (0.1, 3), "log10": (0.1, 3), "log1p": (-0.5, 3), "sqrt": (0.1, 3),
          "arcsin": (-0.9, 0.9), "arccos": (-0.9, 0.9), "arctanh": (-0.9, 0.9), "reciprocal": (0.5, 2),
          "true_div": (0.5, 2), "int_div": (0.5, 3), "mod": (0.5, 3), "pow": (0.5, 2), "arccosh": (1.1, 3)}
DOMAIN["norm_sqrt"] = DOMAIN["sqrt"]
REFERENCE = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "true_div": np.true_divide,
             "int_div": np.floor_divide, "mod": np.mod, "pow": np.power, "neg": np.negative,
             "abs": np.abs, "sign": np.sign, "exp": np.exp, "exp2": np.exp2, "expm1": np.expm1,
             "log": np.log, "log2": np.log2, "log10": np.log10, "log1p": np.log1p, "sqrt": np.sqrt,
             "norm_sqrt": np.sqrt, "square": np.square, "reciprocal": np.reciprocal, "sin": np.sin, "cos": np.cos,
             "tan": np.tan, "arcsin": np.arcsin, "arccos": np.arccos, "arctan": np.arctan,
             "tanh": np.tanh, "sinh": np.sinh, "cosh": np.cosh, "arctanh": np.arctanh,
             "erf": scipy.special.erf, "floor": np.floor, "ceil": np.ceil,
             "round_half_to_even": np.round, "maximum": np.maximum, "minimum": np.minimum,
             "eq": np.equal, "neq": np.not_equal, "lt": np.less, "le": np.less_equal,
             "gt": np.greater, "ge": np.greater_equal, "logical_and": np.logical_and,
             "logical_or": np.logical_or, "logical_not": np.logical_not, "isnan": np.isnan,
             "isinf": np.isinf, "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
             "softplus": lambda x: np.log1p(np.exp(x)), "relu": lambda x: np.maximum(x, 0),
             "hard_sigmoid": lambda x: np.minimum(np.maximum(0.2 * x + 0.5, 0), 1),
             "elu": lambda x: np.where(x > 0, x, np.exp(x) - 1),
             "gelu": lambda x: x * 0.5 * (1 + scipy.special.erf(x / 2 ** 0.5)),
             "arcsinh": lambda x: np.log(x + np.sqrt(x * x + 1)), "arccosh": lambda x: np.log(x + np.sqrt(x * x - 1)),
             "arctan2": lambda y, x: np.angle(x + 1j * y), "hypot": lambda x, y: np.abs(x + 1j * y),
             "logaddexp": lambda x, y: np.log(np.exp(x) + np.exp(y)), "cbrt": lambda x: np.sign(x) * np.abs(x) ** (1 / 3),
             "trunc": lambda x: np.where(x < 0, np.ceil(x), np.floor(x)), "isfinite": lambda x: ~(np.isnan(x) | np.isinf(x))}
FLOAT_OPS = sorted(n for n in TABLE if n in REFERENCE)


def test_every_table_row_has_an_independent_reference():
    covered = set(REFERENCE) | {"where", "clip", "bitwise_and", "bitwise_or", "bitwise_xor", "invert"}
    assert set(TABLE) <= covered


@pytest.mark.parametrize("name", FLOAT_OPS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float_op_matches_numpy(name, dtype, rng):
    lo, hi = DOMAIN.get(name, (-2, 2))
    nin = TABLE[name].nin
    values = [rng.uniform(lo, hi, size=(3, 4)).astype(dtype) for _ in range(nin)]
    xs = [sg.tensor(f"x{i}", dtype, (None, None)) for i in range(nin)]
    out = run(xs, getattr(sg, name)(*xs), *values)
    expected = np.asarray(REFERENCE[name](*values))
    assert out.dtype == expected.dtype, (name, out.dtype, expected.dtype)
    np.testing.assert_allclose(out, expected, rtol=2e-6 if dtype == "float32" else 1e-12, atol=1e-7)


def test_where_clip_and_bitwise(rng):
    c, a, b = sg.vector("c", shape=None), sg.vector("a"), sg.vector("b")
    cond = sg.bvector("cond")
    av, bv = rng.normal(size=5).astype("float32"), rng.normal(size=5).astype("float32")
    cv = np.array([1, 0, 1, 0, 0], "int8")
    np.testing.assert_array_equal(run([cond, a, b], sg.where(cond, a, b), cv, av, bv), np.where(cv, av, bv))
    np.testing.assert_array_equal(run([a], sg.clip(a, -0.5, 0.5), av), np.clip(av, -0.5, 0.5))
    np.testing.assert_array_equal(run([a], a.clip(-0.5, 0.5), av), np.clip(av, -0.5, 0.5))
    i, j = sg.ivector("i"), sg.ivector("j")
    iv, jv = np.array([1, 6, 12], "int32"), np.array([3, 5, 9], "int32")
    for expr, ref in [(i & j, iv & jv), (i | j, iv | jv), (i ^ j, iv ^ jv), (~i, ~iv)]:
        np.testing.assert_array_equal(run([i, j], expr, iv, jv, on_unused_input="ignore"), ref)
    bx = sg.tensor("bx", "bool", (None,))
    assert run([bx], ~bx, np.array([True, False])).tolist() == [False, True]


def test_operators_build_the_named_ops(rng):
    x, y = sg.matrix("x"), sg.matrix("y")
    xv, yv = rng.uniform(1, 2, (2, 3)).astype("float32"), rng.uniform(1, 2, (2, 3)).astype("float32")
    cases = [(x + y, xv + yv), (x - y, xv - yv), (x * y, xv * yv), (x / y, xv / yv),
             (x // y, xv // yv), (x % y, xv % yv), (x ** y, xv ** yv), (-x, -xv), (abs(x - y), abs(xv - yv)),
             (x < y, xv < yv), (x <= y, xv <= yv), (x > y, xv > yv), (x >= y, xv >= yv),
             (sg.eq(x, y), xv == yv), (sg.neq(x, y), xv != yv), (2 * x, 2 * xv), (1 - x, 1 - xv),
             (2 / x, 2 / xv), (2 ** x, 2 ** xv), (xv @ y.T, xv @ yv.T)]
    for expr, expected in cases:
        out = run([x, y], expr, xv, yv, on_unused_input="ignore")
        assert out.dtype == expected.dtype
        np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_variables_stay_hashable_and_refuse_truth():
    x = sg.vector("x")
    assert {x: 1}[x] == 1
    with pytest.raises(TypeError, match="truth value"):
        bool(x > 0)


@pytest.mark.parametrize("left,right,expected", [
    ("float32", 2.0, "float32"), ("float32", 2, "float32"), ("int32", 2, "int32"),
    ("int32", 2.5, "float64"), ("int8", 3, "int8"), ("float16", 1.0, "float16"),
    ("float32", "float64", "float64"), ("int32", "float32", "float64"), ("int8", "int16", "int16"),
    ("uint8", "int8", "int16"), ("bool", "bool", "bool"), ("int64", "float32", "float64")])
def test_promotion_follows_numpy_2(left, right, expected):
    x = sg.tensor("x", left, (None,))
    other = sg.tensor("y", right, (None,)) if isinstance(right, str) else right
    out = x * other if left != "bool" else x & other
    assert out.dtype == expected
    ref = np.ones(2, left) * (np.ones(2, right) if isinstance(right, str) else right) if left != "bool" else None
    if ref is not None:
        assert ref.dtype == expected


def test_true_division_of_ints_is_float64_like_numpy():
    i = sg.ivector("i")
    assert (i / 2).dtype == "float64"
    assert (i // 2).dtype == "int32"
    np.testing.assert_array_equal(run([i], i / 2, np.array([1, 3], "int32")), [0.5, 1.5])


def test_python_int_out_of_range_is_refused():
    b = sg.bvector("b")
    with pytest.raises(TypeError, match="out of bounds"):
        b + 1000


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_python_ints_of_a_uint64s_upper_half_are_weak_uint64s(backend):
    """x // (2**64 - 1) of a uint64 x, x * 2**63 of floats: NumPy's results (the literal had
    been made an int64 when the graph was built: OverflowError); one that fits an int64 only
    where NumPy takes it; none beyond a uint64."""
    u, f = sg.tensor("u", "uint64", (None,)), sg.fvector("f")
    uv, fv = np.array([5, 2 ** 64 - 1, 2 ** 63], "uint64"), np.array([1.5, -2.0], "float32")
    for x, out, value, want in ((u, u // (2 ** 64 - 1), uv, uv // (2 ** 64 - 1)), (u, u % 2 ** 63, uv, uv % 2 ** 63),
                                (f, f * 2 ** 63, fv, fv * 2 ** 63)):
        got = sg.function([x], out, backend=backend)(value)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    with pytest.raises(TypeError, match="out of bounds"):
        sg.lvector("l") + 2 ** 63  # (NumPy's OverflowError: int64 does not hold it)
    with pytest.raises(OverflowError, match="every NumPy integer"):
        u + 2 ** 64


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_python_ints_beyond_an_integer_dtype_are_taken_as_numpy_takes_them(backend):
    """uint8 > -1, int8 == 300, arctan2(int8, 300), uint8 / -2: NumPy compares such an int
    exactly and converts it to the float an integer op computes in, and clip(uint8, -1, 300)
    is the array (they had been refused: "out of bounds"); int8 + 300 it refuses, and so
    does this."""
    b, u, l = sg.bvector("b"), sg.tensor("u", "uint8", (None,)), sg.tensor("w", "uint64", (None,))
    bv, uv, lv = np.array([-128, 0, 127], "int8"), np.array([0, 7, 255], "uint8"), \
        np.array([0, 2 ** 63, 2 ** 64 - 1], "uint64")
    cases = [(u, uv, lambda m, x: x > -1), (u, uv, lambda m, x: -1 < x), (u, uv, lambda m, x: m.equal(x, -1)),
             (b, bv, lambda m, x: x < 300), (b, bv, lambda m, x: x >= -300), (b, bv, lambda m, x: m.not_equal(x, 300)),
             (l, lv, lambda m, x: x > -2), (l, lv, lambda m, x: x <= -2),
             (b, bv, lambda m, x: m.logical_and(x, 300)), (u, uv, lambda m, x: m.logical_or(x, -1)),
             (u, uv, lambda m, x: x / -2), (b, bv, lambda m, x: 300 / x), (b, bv, lambda m, x: m.arctan2(x, 300)),
             (u, uv, lambda m, x: m.hypot(-2, x)), (b, bv, lambda m, x: m.logaddexp(x, 2 ** 40)),
             (u, uv, lambda m, x: m.clip(x, -1, 300)), (b, bv, lambda m, x: m.clip(x, -1000, 3))]
    for x, value, fn in cases:
        with np.errstate(all="ignore"):
            want = np.asarray(fn(np, value))
            got = sg.function([x], fn(sg, x), backend=backend)(value)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    with pytest.raises(TypeError, match="out of bounds"):
        b + 300
    with pytest.raises(TypeError, match="out of bounds"):
        sg.clip(b, 200, 300)  # (NumPy drops only a lower bound below the dtype, an upper one above it)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_signed_integers_and_uint64s_compare_exactly(backend):
    """NumPy compares an int64 with a uint64 exactly; numba's comparison went through float64
    (2^63 - 1 < 2^63 False, -1 == 2^64 - 1 True)."""
    s, w = sg.lvector("s"), sg.tensor("w", "uint64", (None,))
    sv, wv = np.array([2 ** 63 - 1, -1, -5, 7, 0]), np.array([2 ** 63, 2 ** 64 - 1, 3, 7, 0], "uint64")
    ops = [np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal]
    outs = [getattr(sg, op.__name__)(p, q) for op in ops for p, q in ((s, w), (w, s))]
    outs += [sg.where(s < w, s, 0), sg.cast(s, "int8") < w]  # (fused; a narrower signed integer)
    got = sg.function([s, w], outs, backend=backend)(sv, wv)
    want = [op(p, q) for op in ops for p, q in ((sv, wv), (wv, sv))]
    want += [np.where(sv < wv, sv, 0), sv.astype("int8") < wv]
    for g, ref in zip(got, want):
        np.testing.assert_array_equal(g, ref)


def test_cast_and_astype():
    x = sg.fvector("x")
    assert sg.cast(x, "int32").dtype == "int32"
    assert x.astype("float64").dtype == "float64"
    assert sg.cast(x, "floatX").dtype == sg.config.floatX
    np.testing.assert_array_equal(run([x], x.astype("int32"), np.array([1.7, -2.2], "float32")), [1, -2])


def test_static_broadcast_mismatch_is_caught_at_build_time():
    a = sg.tensor("a", "float32", (3, 4))
    b = sg.tensor("b", "float32", (5, 4))
    with pytest.raises(ValueError) as err:
        a + b
    message = str(err.value)
    assert "'a'" in message and "'b'" in message and "test_elemwise.py" in message


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_runtime_broadcast_mismatch_names_the_node_and_inputs(backend):
    """(a function of one node: the numba executor's program is that node's call)"""
    a, b = sg.vector("a"), sg.vector("b")
    f = sg.function([a, b], a + b, backend=backend)
    with pytest.raises(ValueError) as err:
        f(np.ones(3, "float32"), np.ones(4, "float32"))
    message = str(err.value)
    assert "'a'" in message and "'b'" in message and "(4,)" in message and "test_elemwise.py" in message


def test_static_shape_inference():
    a = sg.tensor("a", "float32", (3, 1))
    b = sg.tensor("b", "float32", (None, 1, 5))
    assert (a + b).type.shape == (None, 3, 5)
    assert (sg.tensor("c", "float32", (1,)) * sg.vector("d")).type.shape == (None,)


shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), shape=shapes)
def test_broadcasting_matches_numpy_on_random_shapes(data, shape):
    # Make a second shape broadcast-compatible with the first by setting random axes to 1.
    other = tuple(1 if data.draw(st.booleans()) else s for s in shape)
    other = other[data.draw(st.integers(0, len(other))):]
    av = data.draw(hnp.arrays("float64", shape, elements=st.floats(-10, 10)))
    bv = data.draw(hnp.arrays("float64", other, elements=st.floats(-10, 10)))
    a, b = sg.tensor("a", "float64", (None,) * len(shape)), sg.tensor("b", "float64", (None,) * len(other))
    out = run([a, b], sg.tanh(a) * b + sg.maximum(a, b) - a / (1 + b * b), av, bv)
    np.testing.assert_allclose(out, np.tanh(av) * bv + np.maximum(av, bv) - av / (1 + bv * bv), rtol=1e-12)


def test_numpy_arrays_on_the_left_build_graph():
    x = sg.vector("x")
    expr = np.float32(2) * x
    assert isinstance(expr, sg.Variable)
    expr2 = np.ones(3, "float32") + x
    assert isinstance(expr2, sg.Variable) and expr2.dtype == "float32"


def test_numpy_spellings_of_the_table_rows(rng):
    """NumPy's other names for the same functions, so NumPy code reads the same in symgraph."""
    x, y = sg.dvector("x"), sg.dvector("y")
    xv = np.array([-2.5, -1.5, -0.5, 0.0, 0.5, 1.5, 2.5, 3.7])
    yv = rng.uniform(0.5, 2, xv.shape)
    pairs = {"round": (sg.round(x), np.round(xv)), "rint": (sg.rint(x), np.rint(xv)),
             "divide": (sg.divide(x, y), np.divide(xv, yv)), "multiply": (sg.multiply(x, y), xv * yv),
             "subtract": (sg.subtract(x, y), xv - yv), "remainder": (sg.remainder(x, y), np.remainder(xv, yv)),
             "logical_xor": (sg.logical_xor(x, y - 1), np.logical_xor(xv, yv - 1)),
             "deg2rad": (sg.deg2rad(x), np.deg2rad(xv)), "rad2deg": (sg.rad2deg(x), np.rad2deg(xv))}
    f = sg.function([x, y], [e for e, _ in pairs.values()], backend="numpy")
    for name, got, (_, want) in zip(pairs, f(xv, yv), pairs.values()):
        assert got.dtype == want.dtype, name
        np.testing.assert_allclose(got, want, rtol=1e-15, err_msg=name)
