"""The Numba backend against the NumPy reference: every scalar op, dtypes, broadcasting,
non-contiguous and zero-size inputs, fused reductions, scatter-add, and the lowering list.
The tests taking `backend` also run the CUDA backend (in numba's simulator here)."""
import inspect
import math
import os
import platform
import re
import sys
import warnings

import numba
import numpy as np
import pytest

import symgraph as sg
from tests.conftest import compiles_in_a_fresh_process_without_np_empty, executor_globals
from symgraph.backends import numba_cpu, numba_random
from symgraph.ops.elemwise import TABLE

DOMAIN = {"log": (0.1, 3), "log2": (0.1, 3), "log10": (0.1, 3), "log1p": (-0.5, 3), "sqrt": (0.1, 3),
          "arcsin": (-0.9, 0.9), "arccos": (-0.9, 0.9), "arctanh": (-0.9, 0.9), "reciprocal": (0.5, 2),
          "true_div": (0.5, 2), "int_div": (0.5, 3), "mod": (0.5, 3), "pow": (0.5, 2), "arccosh": (1.1, 3)}
DOMAIN["norm_sqrt"] = DOMAIN["sqrt"]
FLOAT_OPS = sorted(n for n in TABLE if n not in ("bitwise_and", "bitwise_or", "bitwise_xor", "invert"))


BACKENDS = ["numba", "cuda"]
pytestmark = pytest.mark.usefixtures("fast_simulator")  # quick CUDA-simulator runs


def both(inputs, outputs, *values, backend="numba", **kw):
    got = sg.function(inputs, outputs, backend=backend, **kw)(*values)
    want = sg.function(inputs, outputs, backend="numpy", **kw)(*values)
    return got, want


def check(got, want, rtol, atol=None):
    got, want = (got, want) if isinstance(got, list) else ([got], [want])
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * 1e-2 if atol is None else atol, equal_nan=True)


@pytest.mark.parametrize("name", FLOAT_OPS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_scalar_op_matches_the_reference(name, dtype, rng):
    lo, hi = DOMAIN.get(name, (-2, 2))
    nin = TABLE[name].nin
    values = [rng.uniform(lo, hi, size=(5, 7)).astype(dtype) for _ in range(nin)]
    if name == "where":
        values[0] = values[0] > 0
    xs = [sg.tensor(f"x{i}", v.dtype, (None, None)) for i, v in enumerate(values)]
    got, want = both(xs, getattr(sg, name)(*xs), *values)
    check(got, want, 2e-6 if dtype == "float32" else 1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "uint8", "bool"])
def test_integer_and_bool_ops(dtype, backend, rng):
    a, b = sg.tensor("a", dtype, (None,)), sg.tensor("b", dtype, (None,))
    av = rng.integers(0, 5, 9).astype(dtype)
    bv = (rng.integers(1, 5, 9)).astype(dtype)
    exprs = [a & b, a | b, a ^ b, ~a, sg.eq(a, b), a < b, sg.maximum(a, b)]
    if dtype != "bool":
        exprs += [a + b, a * b, a // b, a % b, a - b, abs(a), a / b, sg.cast(a, "float32") * 0.5, a.sum(), a.max()]
    got, want = both([a, b], exprs, av, bv, on_unused_input="ignore", backend=backend)
    check(got, want, 1e-12)


def _edge_integers(dtype):
    if dtype == "bool":
        return np.array([True, False])
    info = np.iinfo(dtype)
    return np.array([v for v in (0, 1, 2, 7, -1, -2, -7, info.min, info.max, info.min + 1, info.max - 1)
                     if info.min <= v <= info.max], dtype)


@pytest.mark.parametrize("left,right", [("int64", "int8"), ("int64", "int32"), ("int8", "int64"), ("int16", "int8"),
                                        ("uint8", "int8"), ("bool", "uint64"), ("uint32", "uint64"),
                                        ("bool", "int8"), ("uint16", "int32")])
def test_floor_division_and_mod_of_mixed_integers_at_the_edges(left, right):
    """NumPy divides in the result's type, an argument of a narrower one converted first;
    numba's own // and % of mixed types did not: int64 min // int8 -1 gave 0 (NumPy: the
    minimum), bool 1 // uint64 max gave the maximum (NumPy: 0). Every pair of edge values,
    by a variable and by a 0-d divisor (the invariant's plan) and by a literal."""
    a0, b0 = _edge_integers(left), _edge_integers(right)
    av, bv = np.repeat(a0, b0.size), np.tile(b0, a0.size)
    a, b, s = sg.tensor("a", left, (None,)), sg.tensor("b", right, (None,)), sg.tensor("s", right, ())
    literals = [(-1, 7)] if left[0] == "i" else [(1, 7)]
    exprs = [a // b, a % b, b // a, b % a, a // s, a % s] + [e for k, m in literals for e in (a // k, a % m)]
    with np.errstate(all="ignore"):
        for scalar in (b0[-1], b0[0] if b0[0] else b0[1]):
            got = sg.function([a, b, s], exprs, backend="numba")(av, bv, scalar)
            want = [av // bv, av % bv, bv // av, bv % av, av // scalar, av % scalar]
            want += [e for k, m in literals for e in (av // k, av % m)]
            for g, w in zip(got, want):
                assert g.dtype == w.dtype
                np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("backend", BACKENDS)
def test_nan_and_inf_behave_as_in_numpy(backend):
    x = sg.dvector("x")
    v = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0])
    got, want = both([x], [sg.exp(x), sg.log(x), x / 0, sg.maximum(x, 0), sg.isnan(x), x.max(), x.sum(),
                           sg.clip(x, -1, 1), sg.sigmoid(x), sg.softplus(x), x.argmax(), sg.sign(x)], v,
                     backend=backend)
    check(got, want, 1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_signed_zeros_ties_and_nans_bit_for_bit_as_in_numpy(dtype, backend):
    """maximum/minimum/clip/relu give NumPy's operand on a tie (maximum(0.0, -0.0) is -0.0:
    the second) and NaN from either side; sign(-0.0) is 0.0. Every pair of special values, the
    values and their sign bits (numba's own np.maximum and np.sign differ on both; a fuzz test
    found them); elu(-0.0) is 0.0, as the reference's expm1(minimum(x, 0))."""
    special = np.array([0.0, -0.0, 1.5, -1.5, np.nan, np.inf, -np.inf], dtype)
    a, b, c = [v.ravel() for v in np.meshgrid(special, special, special, indexing="ij")]
    x, y, z = (sg.tensor(n, dtype, (None,)) for n in "xyz")
    outs = [sg.maximum(x, y), sg.minimum(x, y), sg.clip(x, y, z), sg.sign(x), sg.nn.relu(x), 1 / sg.sign(x), sg.nn.elu(x)]
    got, want = both([x, y, z], outs, a, b, c, backend=backend)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
        np.testing.assert_array_equal(np.signbit(g), np.signbit(w))


def test_float32_steps_with_literals_compute_in_float32_as_numpy():
    """The table's float literals (hard_sigmoid's 0.2 and 0.5, reciprocal's 1.0) are typed
    float32 in a float32 step: numba typed them float64 and hard_sigmoid, computed in double,
    differed from NumPy's float32 arithmetic in 15% of values (relatively much near 0)."""
    from symgraph.backends.numba_codegen import step_source
    from symgraph.ops.elemwise import TABLE
    f32, f64 = (step_source(TABLE["hard_sigmoid"], ["x0"], [d], d) for d in ("float32", "float64"))
    assert "x0 * np.float32(0.2) + np.float32(0.5)" in f32
    assert "x0 * 0.2 + 0.5" in f64
    x = sg.fvector("x")
    xv = np.random.default_rng(0).uniform(-4, 4, 20001).astype("float32")
    xv[:7] = [0.0, -0.0, -2.5, 2.5, np.nan, np.inf, -np.inf]
    got, want = both([x], [sg.nn.hard_sigmoid(x), sg.reciprocal(x)], xv, backend="numba")
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("sa,sb", [((4, 5), (4, 5)), ((4, 5), (5,)), ((4, 1), (1, 5)), ((), (3,)),
                                   ((2, 1, 3), (4, 1)), ((0, 3), (3,)), ((6,), ())])
@pytest.mark.parametrize("backend", BACKENDS)
def test_broadcasting(sa, sb, backend, rng):
    a = sg.tensor("a", "float32", (None,) * len(sa))
    b = sg.tensor("b", "float32", (None,) * len(sb))
    av, bv = rng.normal(size=sa).astype("float32"), rng.normal(size=sb).astype("float32")
    got, want = both([a, b], [sg.tanh(a) * b + sg.exp(-b * b), (a * b).sum(), a * 2], av, bv, backend=backend)
    check(got, want, 2e-6)


def test_non_contiguous_negative_stride_and_read_only_inputs(rng):
    x, y = sg.dmatrix("x"), sg.dmatrix("y")
    base = rng.normal(size=(6, 8))
    transposed, reversed_, strided = base.T, base[::-1, ::-1], base[::2, 1::3]
    read_only = base.copy()
    read_only.setflags(write=False)
    for xv in (transposed, reversed_, strided, read_only):
        yv = np.ones_like(xv)
        got, want = both([x, y], [sg.sin(x) * y + 1, (x * y).sum(axis=0), sg.exp(x).max(axis=1)], xv, yv)
        check(got, want, 1e-12)
    np.testing.assert_array_equal(read_only, base)


def test_transposed_inputs_run_the_flat_loop_in_memory_order(rng):
    x, y, s = sg.fmatrix("x"), sg.fmatrix("y"), sg.fscalar("s")
    f = sg.function([x, y, s], sg.exp(x) * y + s, backend="numba")
    xv, yv = rng.normal(size=(300, 200)).astype("float32"), rng.normal(size=(300, 200)).astype("float32")
    sv = np.float32(0.5)
    got = f(xv.T, yv.T, sv)
    np.testing.assert_allclose(got, np.exp(xv.T) * yv.T + sv, rtol=2e-6, atol=1e-6)
    assert got.flags.f_contiguous  # the inputs' layout, as NumPy gives
    thunk = executor_globals(f)["t0"]
    assert any(key[0] == "flat" for key in thunk.kernels) and not any(key[0] == "strided" for key in thunk.kernels)
    mixed = f(xv.T, np.ascontiguousarray(yv.T), sv)  # one C and one F input: the strided loop
    np.testing.assert_allclose(mixed, got, rtol=1e-6)
    # A transposed view with a value broadcast to the whole shape (strides 0: a gradient's
    # seed): memory order too, so the reshape of its transpose is a view, not a slow copy.
    g = sg.function([x, s], (x * sg.broadcast_to(s, x.shape)).T.reshape((-1,)), backend="numba")
    flat = g(xv.T, sv)
    np.testing.assert_allclose(flat, (xv.T * sv).T.reshape(-1), rtol=1e-6)
    (composite,) = [t for t in executor_globals(g).values() if isinstance(t, numba_cpu.ElementwiseThunk)]
    assert not any(key[0] == "broadcast" for key in composite.kernels)


@pytest.mark.parametrize("perm", [(2, 0, 1), (1, 0, 2), (0, 2, 3, 1), (0, 3, 1, 2)])
def test_permuted_inputs_run_the_flat_loop_in_memory_order_where_readers_take_any_layout(perm, rng):
    """x.transpose(2, 0, 1) * 2 read x across its rows into a C-ordered output (100x200x50
    float32 0.66 ms, NumPy 0.24): where every reader of the outputs takes any layout (loops,
    reductions, the function's outputs) the flat loop walks the inputs' memory and writes the
    outputs in that order, NumPy's layout; beside a convolution reading them, C order."""
    ndim = len(perm)
    base = rng.normal(size=(3, 4, 5, 6)[:ndim]).astype("float32")
    value = np.ascontiguousarray(base.transpose(np.argsort(perm))).transpose(perm)  # (C-ordered in memory)
    assert not value.flags.c_contiguous
    x, y, s = sg.tensor("x", "float32", ndim=ndim), sg.tensor("y", "float32", ndim=ndim), sg.fscalar("s")
    scaled = sg.exp(x) * y + s
    f = sg.function([x, y, s], [scaled, (scaled * 2).sum(axis=1)], backend="numba")
    got = f(value, value * 2, np.float32(0.5))
    want = [np.exp(value) * (value * 2) + np.float32(0.5)]
    want.append((want[0] * 2).sum(axis=1))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
    assert got[0].strides == want[0].strides and not got[0].flags.c_contiguous  # NumPy's layout
    assert f(value, np.ascontiguousarray(value), np.float32(0.5))[0].flags.c_contiguous  # (orders differ: C)
    if ndim == 4:  # read by a convolution: C order
        w = sg.tensor("w", "float32", ndim=4)
        conv = sg.function([x, w], [sg.nn.conv2d(x * 2, w), x * 2], backend="numba")
        wv = rng.normal(size=(2, value.shape[1], 2, 2)).astype("float32")
        y2, doubled = conv(value, wv)
        assert doubled.flags.c_contiguous
        np.testing.assert_allclose(y2, sg.function([x, w], sg.nn.conv2d(x * 2, w), backend="numpy")(value, wv),
                                   rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["sum", "prod", "max", "min", "mean"])
@pytest.mark.parametrize("axis", [None, 0, 1, (0, 2), -1])
def test_fused_reductions(kind, axis, rng):
    x = sg.dtensor3("x")
    xv = rng.uniform(0.5, 1.5, (3, 4, 5))
    expr = getattr(sg.exp(x) * 0.5, kind)(axis=axis, keepdims=axis == 1)
    f = sg.function([x], expr, backend="numba")
    if kind != "mean":
        assert any("CompositeReduce" == type(n.op).__name__ for n in f.fgraph.apply_nodes)
    got, want = both([x], expr, xv)
    check(got, want, 1e-12)


def test_reductions_of_a_fused_expression_of_scalars():
    """A reduction over no axes of 0-d values (a Caffe loss's sum of a scalar divided by its
    count) read each input as a[()] (a[0] did not compile for a 0-d array)."""
    a, b = sg.scalar("a", "float32"), sg.scalar("b", "float32")
    outputs = [sg.sum(-a / b), sg.max(a * b), sg.prod(a - b), sg.mean(a + b)]
    got = sg.function([a, b], outputs, backend="numba")(np.float32(3), np.float32(2))
    assert [float(v) for v in got] == [-1.5, 6.0, 1.0, 5.0]


def test_full_reductions_of_contiguous_and_strided_inputs_share_a_function(rng):
    x = sg.dmatrix("x")
    f = sg.function([x], (sg.exp(x) * 2).sum(), backend="numba")
    base = rng.normal(size=(6, 8))
    for value in (base, base.T, base[::2], base):  # flat 1-d loop, then 2-d loops, then flat again
        np.testing.assert_allclose(f(value), (np.exp(value) * 2).sum(), rtol=1e-12)


@pytest.mark.parametrize("kind", ["sum", "max"])
@pytest.mark.parametrize("axis", [1, (0, 2, 3), (2, 3), (1, 3), None])
@pytest.mark.parametrize("layout", ["C", "sliced", "transposed", "broadcast"])
def test_reductions_of_4d_values_merge_neighbouring_axes(kind, axis, layout, rng):
    """NCHW reductions (a channel max, batch-norm statistics): neighbouring kept or reduced axes
    are merged into one loop where every input's strides allow, never where they do not."""
    x, b = sg.ftensor4("x"), sg.ftensor4("b")
    base = rng.normal(size=(4, 6, 5, 8)).astype("float32")
    xv = {"C": base, "sliced": rng.normal(size=(4, 6, 5, 16)).astype("float32")[..., ::2],
          "transposed": np.ascontiguousarray(base.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2),
          "broadcast": base}[layout]
    bv = rng.normal(size=(1, 6, 1, 1) if layout == "broadcast" else (4, 6, 5, 8)).astype("float32")
    expr = getattr(sg.exp(x * 0.5) + b, kind)(axis=axis)
    got, want = both([x, b], expr, xv, bv)
    check(got, want, 1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
@pytest.mark.parametrize("kind", ["sum", "mean", "prod"])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.exhaustive
def test_whole_reductions_of_one_input_take_the_written_call(dtype, kind, keepdims, rng):
    """After a first call, a reduction over all axes of one C-ordered input runs the call
    ReduceThunk._write_whole_call wrote (its loop on the array flat, the total made the result):
    the reference's value, dtype and shape at any number of dimensions, (x * x) fused with
    x read once; strided and large inputs go back to the general call."""
    x = sg.tensor("x", dtype=dtype, ndim=2)
    source = x * x if kind == "sum" else x
    f = sg.function([x], getattr(source, kind)(keepdims=keepdims), backend="numba")
    (thunk,) = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)]
    assert len(f.fgraph.apply_nodes[0].inputs) == 1
    values = (rng.uniform(0.9, 1.1, (60, 50)) if dtype[0] == "f" else rng.integers(-3, 4, (60, 50))).astype(dtype)
    if kind == "prod" and dtype == "int32":
        values = np.where(values == 0, 1, np.sign(values)).astype(dtype)
    reference = sg.function([x], getattr(source, kind)(keepdims=keepdims), backend="numpy")
    general = thunk.call
    for value in (values, values[:7], values.T, values[::2], values):  # written, written, general, general, written
        got, want = f(value), reference(value)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=(1e-4 if kind == "prod" else 1e-6) if dtype == "float32" else 1e-12)
    assert thunk.call != general
    big = np.ones((1000, 1000), dtype)
    np.testing.assert_allclose(f(big), reference(big), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
@pytest.mark.exhaustive
def test_whole_reductions_of_several_inputs_take_the_written_call(dtype, rng, folds_apart):
    """A reduction over all axes of several inputs, each C-ordered of one shape or a single
    value ((x * y).sum(), a squared error's mean, a value subtracted), runs the call
    ReduceThunk._write_whole_call_of_several wrote after a first call of two or more values (a
    kernel compiled for one value reads a single value as a whole array: written then, a
    longer x read s past its end); other layouts and shapes go back to the general call."""
    x, y, s = (sg.tensor(n, dtype=dtype, ndim=k) for n, k in (("x", 2), ("y", 2), ("s", 0)))
    exprs = [(x * y).sum(), ((x - y) ** 2).mean(keepdims=True), ((x - s) * (x - s)).sum()]
    f = sg.function([x, y, s], exprs, backend="numba")
    reference = sg.function([x, y, s], exprs, backend="numpy")
    thunks = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)]
    assert len(thunks) == 3 and all(len(t.node.inputs) == 2 for t in thunks)
    general = [t.call for t in thunks]

    def value(shape):
        v = rng.uniform(-2, 2, shape) if dtype[0] == "f" else rng.integers(-3, 4, shape)
        return v.astype(dtype)
    xv, yv, sv = value((60, 50)), value((60, 50)), value(())
    one = [value((1, 1)), value((1, 1))]
    calls = [one, one,  # one value: not written
             (xv, yv), (xv[:7], yv[:7]),  # written, written
             (xv.T, yv.T), (xv[::2], yv[::2]), (xv, yv[:1]), (xv, yv)]  # general, general, general, written
    for k, (a, b) in enumerate(calls):
        got, want = f(a, b, sv), reference(a, b, sv)
        for g, w in zip(got, want):
            assert g.dtype == w.dtype and g.shape == w.shape, k
            np.testing.assert_allclose(g, w, rtol=1e-5 if dtype == "float32" else 1e-12)
        if k == 1:
            assert [t.call for t in thunks] == general
    assert all(t.call != g for t, g in zip(thunks, general))


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
@pytest.mark.exhaustive
def test_any_and_all_run_compiled_loops(dtype, rng):
    """x.any()/x.all() and those of a fused comparison ((x > t).any(), isnan(x).any()) or loop
    of numbers ((x - 1).all(): ops.composite.cast_output) fold truth values in the compiled
    loops (an or, an and): NumPy's values, dtypes and shapes over
    every axis, kept or not, of nothing (False, True), with NaN (true), on both cores from
    the parallel size."""
    x = sg.tensor("x", dtype=dtype, ndim=2)
    exprs, on_both_cores = [], []
    for i, (axis, keepdims) in enumerate(((None, False), (0, False), (1, True), ((0, 1), True))):
        forms = [x.any(axis=axis, keepdims=keepdims), x.all(axis=axis, keepdims=keepdims)]
        # (each comparison its own: one read by two reductions is stored, not fused)
        if dtype != "bool":  # (and a loop of numbers, read as truth values: (x - 1).all())
            forms += [(x > 1 - i).any(axis=axis, keepdims=keepdims), sg.ge(x, -1 - i).all(axis=axis, keepdims=keepdims),
                      (x - (1 + i)).all(axis=axis, keepdims=keepdims)]
        if dtype == "float32":
            forms += [sg.isnan(x * (i + 1)).any(axis=axis, keepdims=keepdims)]
        exprs += forms
        # On both cores, each axis's fold of an or and of an and, the inputs' forms in turn
        # (a parallel loop is ~1 s to compile; the forms differ only in the loop's body).
        anys, alls = forms[0::2], forms[1::2]
        on_both_cores += [anys[i % len(anys)], alls[i % len(alls)]]
    fused = [n for n in sg.function([x], exprs, backend="numba").fgraph.apply_nodes
             if "CompositeReduce" in type(n.op).__name__]
    assert len(fused) == (0 if dtype == "bool" else 12 if dtype == "int64" else 16)
    rows = numba_cpu.codegen.PARALLEL_THRESHOLD // 100
    for shapes, chosen in ((((0, 5), (3, 0), (1, 1), (7, 13)), exprs), (((rows, 200),), on_both_cores)):
        f = sg.function([x], chosen, backend="numba")
        reference = sg.function([x], chosen, backend="numpy")
        for shape in shapes:
            value = rng.integers(-1, 3, shape).astype(dtype) if dtype != "float32" else \
                rng.uniform(-1.5, 1.5, shape).astype(dtype)
            if dtype == "float32" and value.size:
                value.flat[value.size // 2] = np.nan  # (any is true there, all not false)
            for got, want in zip(f(value), reference(value)):
                assert got.dtype == want.dtype == np.bool_ and got.shape == want.shape
                np.testing.assert_array_equal(got, want)
        loops = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)]
        # (one loop a reduction: x.any(axis=(0, 1), keepdims=True) is x.any()'s, put back in shape)
        folds = [n for n in f.fgraph.apply_nodes if "Reduce" in type(n.op).__name__]
        assert len(loops) == len(folds) >= len(chosen) - 2
    # (each with a parallel loop, but a whole any/all of a stored bool array: NumPy's, which stops early)
    assert all(any(key[1] for key in t.kernels) for t in loops if not (dtype == "bool" and len(t.op.axis) == 2))


@pytest.mark.parametrize("kind", ["any", "all"])
def test_a_whole_any_or_all_of_a_stored_bool_array_is_numpys_which_stops_early(kind, rng):
    """x.any() and x.all() over a whole stored bool array go to NumPy's logical_or and
    logical_and reduce, which stop at the first deciding value (1M values 0.8-3 us, the loop on
    two cores 12): NumPy's values, dtype and shape for mixed, all-False, all-True, empty, 0-d
    and kept-dimension arrays, with no loop compiled."""
    for ndim, keepdims in ((2, False), (2, True), (1, False), (0, False)):
        x = sg.tensor("x", dtype="bool", ndim=ndim)
        f = sg.function([x], getattr(x, kind)(keepdims=keepdims), backend="numba")
        shape = (50, 40)[:ndim]
        values = [rng.integers(0, 2, shape).astype(bool), np.zeros(shape, bool), np.ones(shape, bool)]
        values += [np.zeros((0, 3)[:ndim], bool)] if ndim else []
        for value in values:
            got, want = f(value), getattr(value, kind)(keepdims=keepdims)
            assert got.dtype == want.dtype == np.bool_ and got.shape == want.shape
            np.testing.assert_array_equal(got, want)
        (thunk,) = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.StoredReduceThunk)]
        assert not thunk.kernels


def test_a_reduction_over_a_middle_axis_reads_its_input_as_stored(rng):
    """The kernel indexes a C-ordered input in its own axis order (typed C, so the unit-stride
    loop vectorizes) instead of through a transposed view (typed A: scalar loads, 0.4x NumPy
    for exp(x).sum(axis=1)); axes that merge are merged: (64, 8, 7, 7) -> (64, 8, 49)."""
    x = sg.ftensor4("x")
    f = sg.function([x], (sg.exp(x) * 2).max(axis=1), backend="numba")
    xv = rng.normal(size=(64, 8, 7, 7)).astype("float32")
    np.testing.assert_allclose(f(xv), (np.exp(xv) * 2).max(axis=1), rtol=1e-6)
    (thunk,) = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)]
    ((order, _, outer, _, _), kernel), = thunk.kernels.items()
    assert order == (0, 2, 1) and outer
    assert [str(sig[2]) for sig in kernel.dispatcher.signatures] == ["array(float32, 3d, C)"]  # (out, ext, x)
    every_other_row = rng.normal(size=(64, 8, 14, 7)).astype("float32")[:, :, ::2]  # H, W cannot merge
    np.testing.assert_allclose(f(every_other_row), (np.exp(every_other_row) * 2).max(axis=1), rtol=1e-6)
    assert (0, 2, 3, 1) in [key[0] for key in thunk.kernels]


def _tasks_of(n, chunk, threads):
    """(tasks, step) as a kernel's _even_tasks lines set them for n values."""
    scope = {"n": n}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(numba_cpu.codegen.numba.config, "NUMBA_NUM_THREADS", threads)
        exec("\n".join(line.strip() for line in numba_cpu.codegen._even_tasks(chunk)), scope)
    return scope["tasks"], scope["step"]


@pytest.mark.parametrize("threads", [1, 2, 3, 8])
def test_a_flat_loops_tasks_put_as_many_values_on_every_thread(threads):
    """A 1-d parallel loop's tasks: a multiple of the threads' count, at most `chunk` values
    each, their first values multiples of TASK_ALIGN, covering the loop. numba_outline puts a
    prange's tasks in up to TASKS groups of `per` each, and numba gives each thread an equal
    run of the groups: up to TASKS tasks (per 1) each thread's values are its share to within
    a TASK_ALIGN a task; from more, to within one group (a few per cent). Tasks of `chunk`
    values each had put 150000 float32 values in three, 131072 values on one thread and 18928
    on the other."""
    from symgraph.backends.numba_outline import TASKS
    align = numba_cpu.codegen.TASK_ALIGN
    for chunk in (1 << 16, 1 << 12):
        for n in (1, 63, 64, 1000, chunk, chunk + 1, 150000, 2 * chunk * threads + 17, 1 << 22, 10 ** 7 + 3):
            tasks, step = _tasks_of(n, chunk, threads)
            assert tasks % threads == 0 and 0 < step <= chunk and step % align == 0
            assert n <= tasks * step  # (the last tasks may be empty: min(n, ...) bounds them)
            per = -(-tasks // TASKS)
            run = -(-tasks // per // threads) * per  # (tasks a thread's run of groups holds, at most)
            shares = [max(0, min(n, (t + 1) * run * step) - min(n, t * run * step)) for t in range(threads)]
            even = -(-n // threads)
            assert sum(shares) == n, (n, shares)
            if per == 1:
                assert max(shares) <= even + run * align, (n, shares)
            else:
                assert max(shares) <= even + per * step and max(shares) <= even * 1.05 + run * align, (n, shares)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_flat_loops_split_evenly_give_numpys_values_at_every_length(dtype, rng, monkeypatch):
    """The parallel flat kernel over lengths that split into uneven tasks (not a multiple of
    TASK_ALIGN or of the threads, shorter than one task a thread, exactly one chunk)."""
    monkeypatch.setattr(numba_cpu.codegen, "PARALLEL_THRESHOLD", 1)
    x, y = sg.tensor("x", dtype, (None,)), sg.tensor("y", dtype, (None,))
    f = sg.function([x, y], x * y - 1, backend="numba")
    chunk = numba_cpu.codegen.PARALLEL_CHUNK
    for n in (1, 3, 65, 1000, chunk, chunk + 1, 150001, 3 * chunk - 7):
        xv, yv = rng.normal(size=n).astype(dtype), rng.normal(size=n).astype(dtype)
        np.testing.assert_array_equal(f(xv, yv), xv * yv - 1)
    assert list(executor_globals(f)["t0"].flat) == [(True, None)]


def test_a_cheap_loop_alone_in_its_graph_goes_parallel_from_the_bytes_it_moves(rng):
    """A graph of one arithmetic loop splits it from PARALLEL_BYTES read and written (each
    value's itemsizes: x * y float32 12, float64 24; an input given twice read once; one of
    fewer axes, a bias row, not counted), at most PARALLEL_THRESHOLD values (bool and int8
    loops); a loop beside other nodes keeps PARALLEL_THRESHOLD, a costly one its own, and a
    graph calling BLAS its serial loops."""
    codegen = numba_cpu.codegen
    f32, f64, g32, g64 = sg.fvector("x"), sg.dvector("y"), sg.fvector("u"), sg.dvector("v")
    m, row, i8 = sg.fmatrix("m"), sg.fvector("row"), sg.bvector("i")
    cases = [([f32, g32], f32 * g32, 12), ([f64, g64], f64 * g64 + 1, 24), ([f64], f64 * f64, 16),
             ([f32, f64], sg.cast(f32, "float64") * f64, 20), ([m, row], m + row, 8), ([f32], f32 > 0, 5),
             ([i8], i8 + 1, 2)]
    for inputs, expr, value_bytes in cases:
        f = sg.function(inputs, expr, backend="numba")
        assert len(f.fgraph.apply_nodes) == 1
        want = min(codegen.PARALLEL_THRESHOLD, codegen.PARALLEL_BYTES // value_bytes)
        assert executor_globals(f)["t0"].threshold == want, str(expr)
    assert codegen.PARALLEL_BYTES // 2 > codegen.PARALLEL_THRESHOLD  # (the int8 loop's cap)
    beside = sg.function([f64, g64], [f64 * g64 + 1, (f64 + 2).sum()], backend="numba")
    loops = [t for t in executor_globals(beside).values() if isinstance(t, numba_cpu.ElementwiseThunk)]
    assert len(loops) == 1 and loops[0].threshold == codegen.PARALLEL_THRESHOLD
    costly = sg.function([f32], sg.exp(f32), backend="numba")
    assert executor_globals(costly)["t0"].threshold == codegen.COSTLY_THRESHOLD
    w = sg.dmatrix("w")
    h = sg.function([f64, w], [f64 * 3, sg.dot(w, w)], backend="numba")
    loops = [t for t in executor_globals(h).values() if isinstance(t, numba_cpu.ElementwiseThunk)]
    assert len(loops) == 1 and loops[0].threshold == float("inf")
    f = sg.function([f64], f64 * 3, backend="numba")
    n = codegen.PARALLEL_BYTES // 16
    xv = rng.normal(size=n - 1)
    np.testing.assert_array_equal(f(xv), xv * 3)
    assert list(executor_globals(f)["t0"].flat) == [(False, None)]
    xv = rng.normal(size=n)
    np.testing.assert_array_equal(f(xv), xv * 3)
    assert (True, None) in executor_globals(f)["t0"].flat


def test_float32_sums_are_at_least_as_accurate_as_numpy(rng):
    x = sg.fvector("x")
    xv = rng.uniform(0, 1, 1_000_000).astype("float32")
    got = sg.function([x], (x * 1.0001).sum(), backend="numba")(xv)
    exact = (xv.astype(np.float64) * np.float32(1.0001)).sum()
    assert abs(got - exact) <= abs(np.float32((xv * np.float32(1.0001)).sum()) - exact) + 1e-2


def test_large_inputs_take_the_parallel_kernels(rng):
    x = sg.fvector("x")
    xv = rng.normal(size=numba_cpu.codegen.PARALLEL_THRESHOLD * 2).astype("float32")
    got, want = both([x], [sg.tanh(x) * sg.sigmoid(x) + sg.exp(-x ** 2), (x * x).sum()], xv)
    check(got, want, 2e-6, atol=1e-6)  # float32 cancellation near zero
    f = sg.function([x], sg.tanh(x) * 2, backend="numba")
    f(xv)
    thunk = executor_globals(f)["t0"]
    assert list(thunk.flat) == [(True, None)]  # only the prange kernel ran
    # each chunk is a call of a serial function, whose loop keeps its constants in registers
    # (a call LLVM keeps: test_numba_noinline), from the tasks numba's threads run (numba_tasks)
    kernel = getattr(thunk.flat[True, None], "dispatcher", thunk.flat[True, None]).py_func
    assert "in_tasks(body0, (" in inspect.getsource(kernel)
    assert "not_inlined(part, (" in inspect.getsource(kernel.__globals__["body0"].py_func)
    assert kernel.__globals__["part"].targetoptions["parallel"] is False
    m = sg.fmatrix("m")
    mv = rng.normal(size=(1024, 300)).astype("float32")
    got, want = both([m], [(m * 2).sum(axis=1), sg.tanh(m.T) + 1], mv)
    check(got[1], want[1], 2e-5, atol=1e-5)
    # float32 sums round like NumPy's pairwise ones, not identically: bound the error instead
    exact, scale = (mv.astype(np.float64) * 2).sum(axis=1), (np.abs(mv.astype(np.float64)) * 2).sum(axis=1)
    assert np.all(np.abs(got[0] - exact) <= 4 * np.finfo(np.float32).eps * scale)


def test_scatter_add_with_repeated_and_negative_indices(rng):
    x = sg.dmatrix("x")
    idx = sg.lvector("idx")
    y = sg.dmatrix("y")
    xv, yv = rng.normal(size=(5, 3)), rng.normal(size=(6, 3))
    iv = np.array([0, 4, 4, -1, 2, 0])
    got, want = both([x, idx, y], sg.inc_subtensor(x[idx], y), xv, iv, yv)
    check(got, want, 1e-12)
    f = sg.function([x, idx, y], sg.inc_subtensor(x[idx], y), backend="numba")
    with pytest.raises(IndexError, match="out of bounds"):
        f(xv, np.array([0, 5, 1, 1, 1, 1]), yv)


@pytest.mark.parametrize("index_dtype", ["int64", "int32", "uint8"])
def test_scatter_add_of_each_broadcast_of_the_rows_is_numpys_and_writes_nothing_out_of_range(index_dtype, rng):
    """x[idx] += y in one compiled loop that checks every index first (numba_kernels.scatter_add_rows):
    y a row each index, one row for all, a number, a column spread over the row and rows of
    one; x of 1 to 3 axes, no rows; repeated and negative indices; a bad index raises NumPy's
    IndexError and leaves x as it was."""
    idx = sg.tensor("idx", index_dtype, (None,))
    negative = index_dtype != "uint8"
    iv = np.array([0, 4, 4, -1, 2, 0, -5] if negative else [0, 4, 4, 3, 2, 0, 1]).astype(index_dtype)
    cases = [((5, 3), (7, 3)), ((5, 3), (3,)), ((5, 3), (1, 3)), ((5, 3), ()), ((5, 3), (7, 1)), ((5,), (7,)),
             ((5,), ()), ((5, 2, 3), (7, 2, 3)), ((5, 2, 3), (2, 3)), ((5, 2, 3), (7, 2, 1))]
    for x_shape, y_shape in cases:
        for dtype in ("float64", "float32", "int32"):
            x = sg.tensor("x", dtype, (None,) * len(x_shape))
            y = sg.tensor("y", dtype, (None,) * len(y_shape))
            xv, yv = (rng.normal(size=x_shape) * 9).astype(dtype), (rng.normal(size=y_shape) * 9).astype(dtype)
            got, want = both([x, idx, y], sg.inc_subtensor(x[idx], y), xv, iv, yv)
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-6)
    x, y = sg.dmatrix("x"), sg.dmatrix("y")
    got, want = both([x, idx, y], sg.inc_subtensor(x[idx], y), np.zeros((0, 3)), iv[:0], np.zeros((0, 3)))
    assert got.shape == want.shape == (0, 3)
    state = sg.shared(np.arange(15.0).reshape(5, 3), "state")
    f = sg.function([idx, y], [], updates=[(state, sg.inc_subtensor(state[idx], y))], backend="numba")
    for bad in ([0, 1, 5, 2], [0, -6, 1, 1] if negative else [0, 255, 1, 1]):
        with pytest.raises(IndexError, match=f"index {bad[1 + (bad[2] == 5)]} is out of bounds for axis 0 with size 5"):
            f(np.array(bad).astype(index_dtype), np.ones((4, 3)))
        np.testing.assert_array_equal(state.get_value(), np.arange(15.0).reshape(5, 3))


def test_an_increment_of_a_strided_region_adds_run_by_run(rng, monkeypatch):
    """x[slices] += y where the region is strided with contiguous rows: kernels.add_runs over
    each run (trailing axes that continue a run joined, outer axes in any order, reversed
    too), NumPy's values for four dtypes; a region of short runs, a contiguous one, a
    broadcast y or a y sharing x's memory stay NumPy's +=; an inc_subtensor in place writes
    its input."""
    runs = []
    add_runs = numba_cpu.kernels.add_runs
    monkeypatch.setattr(numba_cpu.kernels, "add_runs", lambda flat, starts, values: (
        runs.append(len(starts)), add_runs(flat, starts, values)))
    cases = [((70, 80), lambda x: x[:, 1:], 70), ((70, 80), lambda x: x[::-1, :-3], 70),
             ((140, 80), lambda x: x[1:-1:2, 10:70], 69), ((6, 30, 40), lambda x: x[:, 1:], 6),
             ((8, 30, 40), lambda x: x[::2, :, 5:], 120), ((6, 120, 40), lambda x: x[2, 3:, :-1], 117),
             ((700, 80), lambda x: x[:, 1:9], None), ((70, 80), lambda x: x[3:], None),
             ((140, 80), lambda x: x[:, ::2], None), ((20, 30), lambda x: x[:, 1:], None)]
    for shape, region, counted in cases:
        for dtype in ("float64", "float32", "int64", "int32"):
            x = sg.tensor("x", dtype, (None,) * len(shape))
            xv = (rng.normal(size=shape) * 9).astype(dtype)
            y_shape = region(xv).shape
            y = sg.tensor("y", dtype, (None,) * len(y_shape))
            yv = (rng.normal(size=y_shape) * 9).astype(dtype)
            runs.clear()
            got, want = both([x, y], sg.inc_subtensor(region(x), y), xv, yv)
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(got, want)
            assert runs == ([] if counted is None else [counted])
    x, y = sg.dmatrix("x"), sg.dmatrix("y")
    xv = rng.normal(size=(70, 80))
    for yv in (rng.normal(size=(1, 79)), rng.normal(size=(70, 1))):  # (broadcast: NumPy's)
        runs.clear()
        got, want = both([x, y], sg.inc_subtensor(x[:, 1:], y), xv, yv)
        np.testing.assert_array_equal(got, want)
        assert runs == []
    # x's own first values added into it by a thunk writing in place: read as they were, as NumPy's.
    node = sg.function([x, y], sg.inc_subtensor(x[:, 1:], y), backend="numpy").fgraph.apply_nodes[-1]
    op = type(node.op)(node.op.spec, False, inplace=True)
    written = xv.copy()
    first = written.reshape(-1)[:70 * 79].reshape(70, 79)  # (C-ordered, of the region's shape)
    (got,) = numba_cpu.IncSubtensorThunk(op, op.make_node(*node.inputs))([written, first, np.int64(1)])
    want = xv.copy()
    want[:, 1:] += xv.reshape(-1)[:70 * 79].reshape(70, 79)
    assert got is written
    np.testing.assert_array_equal(got, want)
    zeros = sg.zeros_like(x)  # (a fresh array: incremented in place, one run each row)
    runs.clear()
    got = sg.function([x, y], sg.inc_subtensor(zeros[:, 1:], y), backend="numba")(xv, xv[:, :-1].copy())
    np.testing.assert_array_equal(got[:, 1:], xv[:, :-1])
    assert runs == [70] and not got[:, 0].any()


@pytest.mark.parametrize("backend", BACKENDS)
def test_training_step_matches_the_reference(backend, rng):
    def build(backend):
        x, y = sg.fmatrix("x"), sg.ivector("y")
        W = sg.shared(np.linspace(-1, 1, 12, dtype="float32").reshape(4, 3), "W")
        b = sg.shared(np.zeros(3, "float32"), "b")
        loss = sg.nn.categorical_crossentropy(sg.nn.softmax(sg.nn.relu(sg.dot(x, W) + b)), y).mean()
        gW, gb = sg.grad(loss, [W, b])
        return sg.function([x, y], loss, updates=[(W, W - 0.5 * gW), (b, b - 0.5 * gb)], backend=backend), W
    xv, yv = rng.normal(size=(16, 4)).astype("float32"), rng.integers(0, 3, 16).astype("int32")
    (fa, Wa), (fb, Wb) = build(backend), build("numpy")
    for _ in range(5):
        np.testing.assert_allclose(fa(xv, yv), fb(xv, yv), rtol=1e-5)
    np.testing.assert_allclose(Wa.get_value(), Wb.get_value(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_random_streams_give_the_same_numbers_on_every_backend(backend):
    draws = []
    for name in (backend, "numpy"):
        rng = sg.random.RandomStream(99)
        f = sg.function([], [rng.uniform((5,)), rng.normal((2, 3)), rng.binomial((4,), p=0.3),
                             rng.uniform((3,), low=-2.0, high=1.0)], backend=name)
        draws.append([f(), f()])
    for (a, b) in zip(draws[0], draws[1]):
        for u, v in zip(a, b):
            # bit for bit, but a GPU's log and cos (normal draws) may differ in the last place
            np.testing.assert_allclose(u, v, rtol=1e-6 if backend == "cuda" else 0, atol=0)


@pytest.mark.parametrize("parallel", [False, True])
def test_large_normal_draws_run_compiled_within_float64_ulps_of_the_reference(parallel, monkeypatch):
    """numba_random's normal loop (vectorized log and cos) against ops/random.py's NumPy
    arithmetic: float32 draws round to the same numbers, float64 ones agree to a few ulps."""
    monkeypatch.setattr(numba_cpu.codegen, "PARALLEL_THRESHOLD", 1 if parallel else 1 << 40)
    calls = []
    for name in ("normal_serial", "normal_parallel"):
        real = getattr(numba_cpu.draws, name)
        monkeypatch.setattr(numba_cpu.draws, name, lambda *args, real=real, name=name: calls.append(name) or real(*args))
    draws = []
    for backend in ("numba", "numpy"):
        rng = sg.random.RandomStream(7)
        f = sg.function([], [rng.normal((300, 200)), rng.normal((70000,), avg=1.0, std=3.0, dtype="float64"),
                             rng.normal((5, 7))], backend=backend)
        draws.append([f() for _ in range(2)])
    assert calls == [f"normal_{'parallel' if parallel else 'serial'}"] * 4  # (the 5x7 draw: the reference's)
    for call_numba, call_numpy in zip(*draws):
        for got, want in zip(call_numba, call_numpy):
            assert got.dtype == want.dtype
            if got.dtype == np.float32:
                np.testing.assert_array_equal(got, want)
            else:
                np.testing.assert_allclose(got, want, rtol=4e-16 * 8, atol=4e-15)
    big = draws[0][0][1]
    assert abs(big.mean() - 1.0) < 0.05 and abs(big.std() - 3.0) < 0.05
    assert not np.array_equal(draws[0][0][0], draws[0][1][0])  # the counter advanced


def test_a_dropout_mask_draws_without_numbas_own_np_empty(tmp_path):
    """The binomial draw's per-trial stream bases are scratch the caller passes (numba_random's
    _binomial): made by np.empty in the loop, every fresh process drawing a dropout mask
    compiled numba's np.empty first."""
    printed = compiles_in_a_fresh_process_without_np_empty(tmp_path, (
        "rng = sg.random.RandomStream(2024)\n"
        "f = sg.function([], rng.binomial((30000,), n=3, p=0.45), backend='numba')\n"
        "print(float(f().mean()))"), expected="numba_random")
    assert abs(float(printed) - 3 * 0.45) < 0.05


@pytest.mark.parametrize("parallel", [False, True])
def test_large_uniform_and_binomial_draws_run_compiled_with_the_references_bits(parallel, monkeypatch):
    """numba_random's loops against ops/random.py's NumPy arithmetic, call after call: float32
    bounds whose difference rounds in float32 (the reference subtracts in their dtype), a
    dropout mask, a three-trial binomial, integer and float dtypes. One trial's draws (the mask,
    the n=1 binomial) go by the Bernoulli loop, more trials by the binomial's."""
    monkeypatch.setattr(numba_cpu.codegen, "PARALLEL_THRESHOLD", 1 if parallel else 1 << 40)
    loops = []
    for name in ("bernoulli_serial", "bernoulli_parallel", "binomial_serial", "binomial_parallel"):
        real = getattr(numba_random, name)
        monkeypatch.setattr(numba_random, name, lambda *args, real=real, name=name: loops.append(name) or real(*args))
    draws = []
    for backend in ("numba", "numpy"):
        rng = sg.random.RandomStream(2024)
        x = sg.ftensor3("x")
        outputs = [rng.uniform((40, 30, 20), low=np.float32(0.1), high=np.float32(0.7)),
                   rng.uniform((50000,), low=-3.0, high=5.0, dtype="float64"),
                   sg.nn.dropout(x, 0.3, rng), rng.binomial((30000,), n=3, p=0.45),
                   rng.binomial((200, 100), n=1, p=0.2, dtype="float32")]
        f = sg.function([x], outputs, backend=backend)
        draws.append([f(np.ones((40, 30, 20), "float32")) for _ in range(2)])
        if backend == "numba":
            thunks = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.RandomDrawThunk)]
            assert len(thunks) == 5
            kind = "parallel" if parallel else "serial"
            assert sorted(loops) == sorted([f"bernoulli_{kind}"] * 4 + [f"binomial_{kind}"] * 2)  # (two calls)
    for call_numba, call_numpy in zip(*draws):
        for got, want in zip(call_numba, call_numpy):
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)
    assert not np.array_equal(draws[0][0][0], draws[0][1][0])  # the counter advanced


API_OPS = ["add", "sub", "mul", "true_div", "int_div", "mod", "pow", "neg", "abs", "sign", "exp", "exp2",
           "expm1", "log", "log2", "log10", "log1p", "sqrt", "square", "reciprocal", "sin", "cos", "tan",
           "arcsin", "arccos", "arctan", "tanh", "sinh", "cosh", "arctanh", "erf", "floor", "ceil",
           "round_half_to_even", "maximum", "minimum", "where", "eq", "neq", "lt", "le", "gt", "ge",
           "logical_and", "logical_or", "logical_not", "isnan", "isinf"]


def test_every_api_op_is_lowered_natively():
    x, y = sg.dmatrix("x"), sg.dmatrix("y")
    i = sg.lvector("i")
    rng = sg.random.RandomStream(1)
    graphs = [getattr(sg, name)(*([x, y, x][:TABLE[name].nin])) for name in API_OPS] + [
        sg.clip(x, 0, 1), sg.cast(x, "int32"), x.sum(), x.mean(axis=0), x.max(), x.min(), x.prod(), x.argmax(),
        x.argmin(axis=1), x.var(), x.std(), x.all(), x.any(), sg.logsumexp(x), sg.cumsum(x), sg.dot(x, y),
        sg.matmul(x, y), sg.tensordot(x, y, 1), sg.outer(x[0], y[0]), sg.batched_dot(x, y),
        x.reshape((-1,)), x.flatten(), x.T, x.dimshuffle(1, "x", 0), sg.expand_dims(x, 0), sg.squeeze(x[None]),
        sg.concatenate([x, y]), sg.stack([x, y]), sg.broadcast_to(x[0], (3, 2)), sg.zeros((2, 2)), sg.ones_like(x),
        sg.full_like(x, 3), sg.arange(5), sg.eye(3), sg.shape_padleft(x), sg.repeat(x, 2), sg.tile(x, (2, 1)),
        x[1:, ::2], x[i], x[x > 0], sg.set_subtensor(x[0], 1.0), sg.inc_subtensor(x[i], 1.0),
        rng.uniform((2,)), rng.normal((2,)), rng.binomial((2,)), sg.nn.softmax(x), sg.nn.log_softmax(x),
        sg.nn.categorical_crossentropy(sg.nn.softmax(x), i), sg.nn.relu(x), sg.grad(x.sum(), x),
        sg.scan(lambda row, total: total + row, sequences=x, outputs_info=y[0])[0]]
    for optimize in (True, False):
        f = sg.function([x, y, i], graphs, backend="numba", optimize=optimize, on_unused_input="ignore")
        missing = {type(n.op).__name__ for n in f.fgraph.apply_nodes if not isinstance(n.op, numba_cpu.NATIVE)}
        assert not missing, missing


def test_an_op_without_a_lowering_warns_once_and_still_runs():
    class Twice(sg.ops.Op):
        def make_node(self, x):
            return sg.Apply(self, [x], [sg.Variable(x.type)])

        def perform(self, node, inputs):
            return [inputs[0] * 2]
    x = sg.dvector("x")
    with pytest.warns(UserWarning, match="no kernel for Twice"):
        f = sg.function([x], Twice()(x), backend="numba")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = sg.function([x], Twice()(x) + 1, backend="numba")
    assert g(np.ones(2)).tolist() == [3, 3] and f(np.ones(2)).tolist() == [2, 2]


def test_arrays_with_single_values_take_the_flat_kernel(rng):
    s, a, b = sg.fscalar("s"), sg.fmatrix("a"), sg.fmatrix("b")
    f = sg.function([s, a, b], b - s * a / (sg.sqrt(a) + 1e-7), backend="numba")  # Adam's shape
    av, bv = rng.uniform(0.1, 1, (4, 5)).astype("float32"), rng.normal(size=(4, 5)).astype("float32")
    sv = np.asarray(0.5, "float32")
    want = sg.function([s, a, b], b - s * a / (sg.sqrt(a) + 1e-7), backend="numpy")(sv, av, bv)
    np.testing.assert_allclose(f(sv, av, bv), want, rtol=1e-6)
    thunk = executor_globals(f)["t0"]
    # (s 0-d by its type: the node's own flat kernels read it as one value, no plan; no streamed stores)
    assert thunk.flat_mask == (True, False, False) and list(thunk.flat) == [(False, None)] and not thunk.plans
    np.testing.assert_allclose(f(sv, av.T.copy().T, bv), want, rtol=1e-6)  # F-ordered: nested loops
    assert ("broadcast", ((True,), (False, False), (False, False)), False, (), None) in thunk.kernels


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.exhaustive
def test_a_large_transposed_matrix_beside_c_ordered_ones_takes_the_tiled_loop(dtype, rng, monkeypatch):
    """x * y.T, a + a.T, exp(x - c) + y.T and the like from the parallel threshold: the loops
    walk tiles, the transposed input's copied to the stack (numba_codegen._tiled_lines,
    test_numba_stack). Shapes not a multiple of the tile, a broadcast column and a single value
    beside them, the range-checked sin and NaN/inf: as the numpy backend. (y's rows a multiple
    of TILED_ROW_BYTES apart: elsewhere a costly loop copies y.T first.)"""
    monkeypatch.setattr(numba_cpu.codegen, "PARALLEL_THRESHOLD", 1000)
    monkeypatch.setattr(numba_cpu.codegen, "COSTLY_THRESHOLD", 1000)
    x, y, c, s = (sg.tensor(n, dtype=dtype, ndim=d) for n, d in (("x", 2), ("y", 2), ("c", 2), ("s", 0)))
    square = [(x + x.T) * s]
    other = [x * y.T, sg.exp(x - c) + y.T * s, sg.sin(x * 1e6) + y.T]  # (1e6: beyond sin's fast range)
    for shape in [(64, 64), (32, 97), (96, 31)]:
        values = [rng.normal(size=shape).astype(dtype), rng.normal(size=shape[::-1]).astype(dtype),
                  rng.normal(size=(shape[0], 1)).astype(dtype), np.asarray(1.5, dtype)]
        values[0][3, 5], values[0][-1, 20], values[1][1, 2] = np.nan, np.inf, -np.inf
        for expr in other + (square if shape[0] == shape[1] else []):
            f = sg.function([x, y, c, s], expr, backend="numba", on_unused_input="ignore")
            want = sg.function([x, y, c, s], expr, backend="numpy", on_unused_input="ignore")(*values)
            np.testing.assert_allclose(f(*values), want, rtol=1e-6 if dtype == "float32" else 1e-13, atol=1e-6,
                                       equal_nan=True)
            thunks = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ElementwiseThunk)]
            assert [key[0] for t in thunks for key in t.kernels] == ["tiled"]


def test_one_number_computations_run_numpy_and_compile_nothing():
    s, t = sg.fscalar("s"), sg.fscalar("t")
    f = sg.function([s, t], [s / t, sg.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)], backend="numba")
    assert not [g for g in executor_globals(f).values() if isinstance(g, numba_cpu.ElementwiseThunk)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's divide-by-zero warning stays quiet, as in a loop
        quotient, step = f(np.float32(1), np.float32(0))
    assert quotient == np.inf and quotient.dtype == np.float32 and np.isnan(step)
    want = sg.function([s, t], [s / t, sg.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)], backend="numpy")(np.float32(3), np.float32(2))
    np.testing.assert_allclose(f(np.float32(3), np.float32(2)), want, rtol=1e-6)


def test_only_graphs_with_numpy_float_arithmetic_silence_its_warnings(rng):
    """Silencing NumPy's floating-point warnings costs 0.2-1 us a call: a graph whose NumPy-run
    nodes do no float arithmetic (reshapes, transposes, slices, argmax, concatenations) skips it, and so does
    one whose sums run NumPy's reduce on small arrays (StoredReduceThunk silences that call
    itself); their overflow stays quiet as in a loop. NumPy's scalar arithmetic keeps it."""
    x, s = sg.fmatrix("x"), sg.fscalar("s")
    views = sg.function([x], [(x * 2).reshape((-1,)), (x.T * 2)[1:], x.argmax(axis=1),
                              sg.concatenate([x * 2, sg.cast(x < 0, "int64")], axis=1)], backend="numba")
    summed = sg.function([x], (x * 1).sum(axis=1) + x.sum(axis=1) + x.max(), backend="numba")
    scalar = sg.function([s], s * 2, backend="numba")
    assert "quiet_set" not in executor_globals(views)["run"].__code__.co_names
    assert "quiet_set" not in executor_globals(summed)["run"].__code__.co_names
    assert "quiet_set" in executor_globals(scalar)["run"].__code__.co_names
    xv = np.full((3, 4), 3e38, "float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flat, sliced, best, joined = views(xv)
        total = summed(xv)
        doubled = scalar(np.float32(3e38))
    np.testing.assert_array_equal(flat, np.full(12, np.inf, "float32"))
    np.testing.assert_array_equal(best, [0, 0, 0])
    assert joined.dtype == np.float64 and np.isinf(joined[:, :4]).all() and not joined[:, 4:].any()
    assert np.isinf(total).all() and np.isinf(doubled)
    assert np.seterr()["over"] == "warn"  # (the thunk's silencing ended with its call)
    # A float32 product past the NumPy sizes, its float64 result cast back: quiet too.
    products = sg.function([x], [x.prod(axis=0), x.prod(axis=1)], backend="numba")
    assert "quiet_set" not in executor_globals(products)["run"].__code__.co_names
    large = np.full((1000, 1000), 1.5, "float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        columns, rows = products(large)
    assert np.isinf(columns).all() and np.isinf(rows).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.exhaustive
def test_sin_cos_and_tan_redo_the_loop_with_libm_beyond_their_range(dtype, rng, monkeypatch, ours_only):
    x = sg.tensor("x", dtype, (None,))
    expr = sg.sin(x) * 2 + sg.cos(x * 3) + sg.tan(x * 0.5)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-13, atol=1e-13)

    def want(v):
        return np.sin(v) * 2 + np.cos(v * 3) + np.tan(v * v.dtype.type(0.5))
    f = sg.function([x], expr, backend="numba")
    thunk = executor_globals(f)["t0"]
    assert thunk.inplace is None  # the loop may run twice, so it never overwrites its input
    ordinary = rng.normal(size=1000).astype(dtype) * 100
    np.testing.assert_allclose(f(ordinary), want(ordinary), **tol)
    assert thunk.flat[False, None].exact is None  # no argument beyond the limit: libm's loop never compiled
    large = ordinary.copy()
    large[[3, 500]] = [1e30, -3e6]  # reduced wrongly by the fast path: caught and redone
    np.testing.assert_allclose(f(large), want(large), **tol)
    assert thunk.flat[False, None].exact is not None
    monkeypatch.setattr(numba_cpu.codegen, "PARALLEL_THRESHOLD", 1)  # the chunked parallel kernel too
    g = sg.function([x], expr, backend="numba")
    big = rng.normal(size=200_000).astype(dtype)
    big[-1] = 7e8
    np.testing.assert_allclose(g(big), want(big), **tol)


@pytest.mark.parametrize("dtype,parallel", [("float32", True), ("float64", False)])
@pytest.mark.exhaustive
def test_folds_and_broadcasts_of_sin_cos_tan_take_the_vector_forms_and_redo_beyond_their_range(
        dtype, parallel, rng, monkeypatch, ours_only):
    """The reduction and broadcast loops use the vectorized sin/cos/tan too (they called libm's
    scalar ones: sin(x).sum() of float32 ran at 0.24x NumPy); an argument beyond their range
    is counted, and the loop redone with libm's. Whole, row, column and 3-d folds; a row
    broadcast; each dtype's forms once, the parallel loops once and the serial once (all four
    pairs cost 36 s of compiles)."""
    if parallel:
        monkeypatch.setattr(numba_cpu.codegen, "PARALLEL_THRESHOLD", 1)
        monkeypatch.setattr(numba_cpu.codegen, "COSTLY_THRESHOLD", 1)
    x, row = sg.tensor("x", dtype, (None, None)), sg.tensor("row", dtype, (None,))
    cube = sg.tensor("cube", dtype, (None, None, None))
    tol = dict(rtol=2e-4, atol=2e-3) if dtype == "float32" else dict(rtol=1e-11, atol=1e-10)
    half = np.dtype(dtype).type(0.5)
    cases = [(sg.sin(x).sum(), lambda v, r, c: np.sin(v).sum()),
             (sg.cos(x).sum(axis=1), lambda v, r, c: np.cos(v).sum(axis=1)),
             (sg.sin(x * 2).max(axis=0), lambda v, r, c: np.sin(v * 2).max(axis=0)),
             (sg.cos(cube).sum(axis=1), lambda v, r, c: np.cos(c).sum(axis=1)),
             (sg.tan(x * 0.5 + row), lambda v, r, c: np.tan(v * half + r))]
    ordinary = rng.normal(size=(300, 40)).astype(dtype) * 100
    rowv = rng.normal(size=40).astype(dtype)
    cubev = rng.normal(size=(6, 50, 7)).astype(dtype) * 100
    for expr, want in cases:
        f = sg.function([x, row, cube], expr, backend="numba", on_unused_input="ignore")
        np.testing.assert_allclose(f(ordinary, rowv, cubev), want(ordinary, rowv, cubev), **tol)
        (kernel,) = [k for t in executor_globals(f).values() if isinstance(t, (numba_cpu.ReduceThunk, numba_cpu.ElementwiseThunk))
                     for k in t.kernels.values()]
        assert isinstance(kernel, numba_cpu.codegen._RangeChecked) and kernel.exact is None, expr  # libm's never compiled
        large, cube_large = ordinary.copy(), cubev.copy()
        large[3, 5], large[200, 7], cube_large[2, 9, 3] = 1e30, -3e6, 7e8  # wrong in the fast path: redone
        np.testing.assert_allclose(f(large, rowv, cube_large), want(large, rowv, cube_large), **tol)
        assert kernel.exact is not None, expr


def test_in_place_loops_read_the_buffer_they_overwrite_through_the_output(rng):
    # Given the overwritten input as a second array, LLVM's overlap check sent the loop down
    # its scalar path; the in-place kernel reads that input through out0 instead.
    x, w, b = sg.fmatrix("x"), sg.fmatrix("w"), sg.fmatrix("b")
    f = sg.function([x, w, b], sg.tanh(sg.dot(x, w)) * b, backend="numba")
    xv, wv, bv = (rng.standard_normal((64, 64)).astype("float32") for _ in range(3))
    np.testing.assert_allclose(f(xv, wv, bv), np.tanh(xv @ wv) * bv, rtol=2e-6, atol=1e-6)
    thunk = executor_globals(f)["t1"]
    assert list(thunk.flat) == [(False, 0)]
    source = numba_cpu.codegen._flat_source(thunk.composite, thunk.in_dtypes, (False, False), False, alias=0)
    assert "x0 = out0[i]" in source and "a0[i]" not in source
    frozen = (xv @ wv).astype("float32")
    frozen.flags.writeable = False  # not overwritable: a fresh output and the plain kernel
    np.testing.assert_allclose(thunk([frozen, bv])[0], np.tanh(frozen) * bv, rtol=2e-6, atol=1e-6)
    assert (False, None) in thunk.flat


def test_broadcast_loops_index_each_input_by_its_own_shape(rng):
    # A conv bias (1, C, 1, 1), a row, a 0-d value and a transposed array in one loop, and an
    # in-place one (the Dot's buffer, read through out0 as in the flat loops).
    x, b, r, s, t = sg.ftensor4("x"), sg.ftensor4("b"), sg.fvector("r"), sg.fscalar("s"), sg.fmatrix("t")
    f = sg.function([x, b, r, s, t], sg.nn.relu(x + b) * r + s * t.T, backend="numba")
    xv = rng.standard_normal((2, 3, 4, 5)).astype("float32")
    bv, rv = rng.standard_normal((1, 3, 1, 1)).astype("float32"), rng.standard_normal(5).astype("float32")
    sv, tv = np.float32(0.5), rng.standard_normal((5, 4)).astype("float32")
    np.testing.assert_allclose(f(xv, bv, rv, sv, tv), np.maximum(xv + bv, 0) * rv + sv * tv.T, rtol=1e-6)
    (thunk,) = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ElementwiseThunk)
                and len(t.in_dtypes) == 4]
    assert list(thunk.kernels) == [("broadcast", ((False,) * 4, (True, False, True, True), (False,), (False, False)),
                                    False, (), None)]
    a, w, row = sg.fmatrix("a"), sg.fmatrix("w"), sg.fvector("row")
    g = sg.function([a, w, row], sg.tanh(sg.dot(a, w)) + row, backend="numba")
    av, wv, rowv = (rng.standard_normal(shape).astype("float32") for shape in [(6, 7), (7, 8), (8,)])
    np.testing.assert_allclose(g(av, wv, rowv), np.tanh(av @ wv) + rowv, rtol=2e-6, atol=1e-6)
    assert list(executor_globals(g)["t1"].kernels) == [("broadcast", ((False, False), (False,)), False, (), 0)]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
@pytest.mark.exhaustive
def test_broadcast_loops_merge_neighbouring_axes(dtype, rng):
    """From MERGE_AXES_FROM elements, C-ordered inputs broadcast along the same neighbouring axes
    loop over them as one (_merged_axes): a batch norm's x - m of (N, C, H, W) and (1, C, 1, 1)
    over (N, C, H*W), a per-pixel (N, 1, H, W) over (N, C, H*W) too; the outputs (two here, one
    written into an input) in their shape, NumPy's values; small arrays and strided inputs as
    before."""
    x, m, p = (sg.tensor(n, dtype=dtype, ndim=4) for n in "xmp")
    v = sg.tensor("v", dtype=dtype, ndim=1)
    d = x - m
    f = sg.function([x, m, p, v], [d * d, d, (x * 2 + p) * 3, x + v], backend="numba")

    def value(shape):
        return (rng.normal(size=shape) * 4).astype(dtype)
    for shape in ((16, 8, 10, 12), (2, 3, 4, 5), (1, 24, 24, 24), (16, 8, 1, 80)):
        xv, mv, pv, vv = value(shape), value((1, shape[1], 1, 1)), value(shape[:1] + (1,) + shape[2:]), value(shape[3:])
        for xs in (xv, value((shape[0], shape[1], shape[2], shape[3] * 2))[..., ::2]):
            got = f(xs, mv, pv, vv)
            want = [(xs - mv) ** 2, xs - mv, (xs * 2 + pv) * 3, xs + vv]
            for g, w in zip(got, want):
                assert g.shape == w.shape and g.dtype == w.dtype
                np.testing.assert_allclose(g, w, rtol=1e-6)
    thunks = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ElementwiseThunk)]
    patterns = {len(key[1]) and len(key[1][0]) for t in thunks for key in t.kernels if key[0] == "broadcast"}
    assert 3 in patterns and 4 in patterns  # (merged to 3 axes; the small and strided calls: 4)
    assert numba_cpu._merged_axes([np.ones((2, 3, 4, 5)), np.ones((1, 3, 1, 1))], (2, 3, 4, 5)) == \
        [(2, 3, 20), (1, 3, 1)]
    assert numba_cpu._merged_axes([np.ones((4, 5)), np.ones((4, 1))], (4, 5)) is None  # (the inner loop as it was)


def test_loops_of_transcendentals_go_parallel_at_smaller_sizes(rng):
    x, s = sg.fvector("x"), sg.fscalar("s")
    costly = sg.function([x, s], sg.tanh(x) * s, backend="numba")
    cheap = sg.function([x, s], x * s + 1, backend="numba")
    # (the cheap loop alone in its graph splits from PARALLEL_BYTES: 65536 float32 values here)
    assert executor_globals(cheap)["t0"].threshold > numba_cpu.codegen.COSTLY_THRESHOLD * 3 // 2
    xv = rng.normal(size=numba_cpu.codegen.COSTLY_THRESHOLD * 3 // 2).astype("float32")
    np.testing.assert_allclose(costly(xv, np.float32(2)), np.tanh(xv) * 2, rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(cheap(xv, np.float32(2)), xv * 2 + 1)
    (costly_kernel,) = executor_globals(costly)["t0"].flat
    (cheap_kernel,) = executor_globals(cheap)["t0"].flat
    assert costly_kernel[0] and not cheap_kernel[0]  # (parallel, alias)
    source = numba_cpu.codegen._flat_source(executor_globals(costly)["t0"].composite, ("float32", "float32"),
                                            (False, True), True)
    assert all(line in source for line in numba_cpu.codegen._even_tasks(numba_cpu.codegen.COSTLY_THRESHOLD // 2))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_costlier_elements_go_parallel_from_fewer_of_them(dtype, rng):
    """An element's cost counts its functions (a float32 exp 1, sin 2, pow 4; float64 twice):
    from 4, a loop splits from COSTLY_THRESHOLD / 4 elements, in chunks of half that."""
    x, y = sg.tensor("x", dtype, (None,)), sg.tensor("y", dtype, (None,))
    codegen = numba_cpu.codegen
    costs = {"exp": (sg.exp(x), 1), "sin": (sg.sin(x), 2), "pow": (x ** y, 4),
             "chain": (sg.tanh(x * y + 1) * sg.nn.sigmoid(x) + sg.exp(-x ** 2), 3), "add": (x + y, 0)}
    wide = 2 if dtype == "float64" else 1
    for name, (expr, cost) in costs.items():
        f = sg.function([x, y], expr, backend="numba", on_unused_input="ignore")
        thunk = executor_globals(f)["t0"]
        assert codegen.element_cost(thunk.composite) == cost * wide, name
        alone = min(codegen.PARALLEL_THRESHOLD, codegen.PARALLEL_BYTES // (3 * np.dtype(dtype).itemsize))
        want = {0: alone, 1: codegen.COSTLY_THRESHOLD, 2: codegen.COSTLY_THRESHOLD // 2,
                3: codegen.COSTLY_THRESHOLD // 2}.get(cost * wide, codegen.COSTLY_THRESHOLD // 4)
        assert thunk.threshold == want, name
    f = sg.function([x, y], x ** y, backend="numba")
    xv, yv = rng.uniform(0.5, 2, codegen.COSTLY_THRESHOLD // 2).astype(dtype), rng.normal(size=codegen.COSTLY_THRESHOLD // 2).astype(dtype)
    np.testing.assert_allclose(f(xv, yv), xv ** yv, rtol=1e-5 if dtype == "float32" else 1e-13)
    thunk = executor_globals(f)["t0"]
    assert list(thunk.flat) == [(True, None)]  # (parallel, alias)
    source = codegen._flat_source(thunk.composite, (dtype, dtype), (False, False), True)
    assert all(line in source for line in codegen._even_tasks(codegen.COSTLY_THRESHOLD // 8))  # chunks: two or more


def test_folds_of_transcendentals_go_parallel_at_smaller_sizes(rng):
    """exp(x).sum() along rows, columns or whole goes parallel from COSTLY_THRESHOLD, as the
    elementwise loop does (a column fold splits its 128 columns in four blocks); a plain sum
    keeps PARALLEL_THRESHOLD."""
    assert numba_cpu.codegen.COSTLY_THRESHOLD * 2 < numba_cpu.codegen.PARALLEL_THRESHOLD
    x = sg.fmatrix("x")
    xv = rng.normal(size=(numba_cpu.codegen.COSTLY_THRESHOLD * 2 // 128, 128)).astype("float32")
    cases = [(sg.exp(x).sum(axis=1), np.exp(xv).sum(axis=1), True), (sg.exp(x).sum(), np.exp(xv).sum(), True),
             (sg.exp(x).sum(axis=0), np.exp(xv).sum(axis=0), True), ((x * 2).sum(axis=1), (xv * 2).sum(axis=1), False),
             ((x * 2).sum(axis=0), (xv * 2).sum(axis=0), False)]
    for expr, want, parallel in cases:
        f = sg.function([x], expr, backend="numba")
        # (atol: rows of 128 normal values cancel to ~1e-2, and float32 sums of terms ~20 in
        # another order, 8 lanes with AVX2 and 16 with AVX-512, differ by their ulp, 2e-6)
        np.testing.assert_allclose(f(xv), want, rtol=1e-5, atol=1e-4)
        (key,) = executor_globals(f)["t0"].kernels  # (order, parallel, outer, broadcast)
        assert key[1] == parallel, expr


def test_the_loop_plan_is_kept_per_layout_and_right_for_each(rng):
    # Broadcast rows, a value broadcast to a whole array (strides 0), a transposed input:
    # each (shapes, strides) gets its own plan, reused on the next call with that layout.
    a, b = sg.fmatrix("a"), sg.fmatrix("b")
    f = sg.function([a, b], a * (b - 1), backend="numba")
    av = rng.standard_normal((6, 5)).astype("float32")
    layouts = [rng.standard_normal((1, 5)).astype("float32"),
               np.broadcast_to(np.float32(3), (6, 5)),
               rng.standard_normal((5, 6)).astype("float32").T]
    for _ in range(2):
        for bv in layouts:
            np.testing.assert_allclose(f(av, bv), av * (bv - 1), rtol=1e-6)
            np.testing.assert_allclose(f(av.T.copy().T, bv), av * (bv - 1), rtol=1e-6)
    thunk = executor_globals(f)["t0"]
    assert len(thunk.plans) == 6


def test_a_large_output_is_reused_only_once_nobody_holds_it(rng):
    """The next call writes into the last call's large output when the caller dropped it
    (fresh pages cost the fused chain 28% of its time), and never into one still held, a
    view of it, or a shared variable's value."""
    n = (numba_cpu.RECYCLE_BYTES // 8) + 5
    x = sg.dvector("x")
    f = sg.function([x], sg.exp(x) * 2.0 + 1.0)
    a, b = rng.standard_normal(n), rng.standard_normal(n)
    first = f(a)
    address = first.ctypes.data
    kept = f(b)                      # `first` is still held: a new buffer
    assert kept.ctypes.data != address
    np.testing.assert_allclose(first, np.exp(a) * 2.0 + 1.0, rtol=1e-14)
    view = kept[:10]
    del kept
    again = f(a)                     # a view of `kept` is held: still a new buffer
    np.testing.assert_allclose(view, (np.exp(b) * 2.0 + 1.0)[:10], rtol=1e-14)
    released = again.ctypes.data
    del again
    reused = f(b)                    # dropped: its buffer is the next output
    assert reused.ctypes.data == released
    np.testing.assert_allclose(reused, np.exp(b) * 2.0 + 1.0, rtol=1e-14)
    # A shared variable updated by a large loop keeps its value until the next update.
    w = sg.shared(np.ones(n), "w")
    step = sg.function([], w.sum(), updates=[(w, w * 0.5 + 0.25)])
    values = [step() for _ in range(4)]
    np.testing.assert_allclose(values, [n * v for v in (1.0, 0.75, 0.625, 0.5625)])
    np.testing.assert_allclose(w.get_value(), np.full(n, 0.53125))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
@pytest.mark.parametrize("shapes,axis", [([(400, 500), (300, 500)], 0), ([(500, 300), (500, 1), (500, 0), (500, 333)], 1),
                                         ([(170000,), (3,), (165536,)], 0), ([(4, 9, 2000), (4, 30, 2000)], 1),
                                         ([(3, 5, 20000), (3, 5, 17)], 2),
                                         ([(70000, 1), (70000, 3), (70000, 2)], 1)])  # (short rows)
def test_large_concatenations_copy_each_input_into_its_columns_on_all_cores(dtype, shapes, axis, rng, monkeypatch):
    """A concatenation into RECYCLE_BYTES or more from C-ordered inputs of its dtype runs
    copy_into_columns once per non-empty input (chunks that end mid-row, empty inputs, rows
    of one value); other inputs (mixed dtypes, transposed) and smaller outputs NumPy's; a
    held result is never written by the next call."""
    calls, short = [], []
    real = numba_cpu.kernels.copy_into_columns
    monkeypatch.setattr(numba_cpu.kernels, "copy_into_columns", lambda *args: calls.append(args[3]) or real(*args))
    real_short = numba_cpu.kernels._copy_short_rows
    monkeypatch.setattr(numba_cpu.kernels, "_copy_short_rows", lambda *args: short.append(args[1]) or real_short(*args))
    xs = [(rng.standard_normal(s) * 50).astype(dtype) for s in shapes]
    symbols = [sg.tensor(f"x{i}", dtype=dtype, ndim=len(s)) for i, s in enumerate(shapes)]
    f = sg.function(symbols, sg.concatenate(symbols, axis=axis), backend="numba")
    first = f(*xs)
    np.testing.assert_array_equal(first, np.concatenate(xs, axis))
    assert first.nbytes >= numba_cpu.RECYCLE_BYTES and len(calls) == sum(x.size > 0 for x in xs)
    rows = int(np.prod(shapes[0][:axis]))  # (rows of under SHORT_ROW values: copied row by row)
    assert len(short) == sum(0 < x.size // rows < numba_cpu.kernels.SHORT_ROW for x in xs)
    again = f(*[x[::-1].copy() for x in xs])
    np.testing.assert_array_equal(first, np.concatenate(xs, axis))  # still held: not written
    np.testing.assert_array_equal(again, np.concatenate([x[::-1] for x in xs], axis))
    calls.clear()
    if dtype != "float64":  # promoted to float64: NumPy's
        d = sg.dvector("d")
        mixed = sg.function([symbols[0], d], sg.concatenate([symbols[0].flatten(), d]), backend="numba")
        dv = rng.standard_normal(5)
        np.testing.assert_array_equal(mixed(xs[0], dv), np.concatenate([xs[0].ravel(), dv]))
    if len(shapes) == 2 and len(shapes[0]) == 2:  # strided inputs: NumPy's
        t = sg.function(symbols, sg.concatenate([v.T for v in symbols], axis=1 - axis), backend="numba")
        np.testing.assert_array_equal(t(*xs), np.concatenate([x.T for x in xs], 1 - axis))
    assert calls == []
    other = 1 if axis == 0 else 0
    with pytest.raises(ValueError):  # lengths differ off the axis: NumPy's error
        f(*[np.delete(x, 0, axis=other) if k == 0 else x for k, x in enumerate(xs)])


@pytest.mark.parametrize("dtype", ["float32", "float64", "int8", "bool"])
@pytest.mark.parametrize("shape,axis,route", [((3001,), 0, "values"), ((7, 3, 50, 41), 3, "values"),
                                              ((7, 3, 50, 41), 2, "rows on both cores"), ((3000, 1), 0, "values"),
                                              ((40000,), 0, "values"), ((10, 40, 60), 1, "rows"),
                                              ((9, 2000, 5), 1, "NumPy's")])
def test_repeat_by_one_count_runs_the_compiled_copy(dtype, shape, axis, route, rng, monkeypatch):
    """np.repeat by one count (0-d or a one-element array) along any axis: rows of one value
    (counts 2, 3 and 4 written out, 5 and 1 through the general loop) and longer rows,
    serial and parallel by the output's size; rows of 16-47 values only on both cores, and
    shorter ones, a count per element, a zero or negative count, strided arrays and small ones
    NumPy's (numba_cpu.REPEAT_SHORT_ROW); a held large result is never written again."""
    calls = []
    for name in ("repeat_values_serial", "repeat_values_parallel", "repeat_rows_serial", "repeat_rows_parallel"):
        real = getattr(numba_cpu.kernels, name)
        monkeypatch.setattr(numba_cpu.kernels, name, lambda *args, real=real, name=name: calls.append(name) or real(*args))
    xv = (rng.standard_normal(shape) * 50).astype(dtype)
    x, count = sg.tensor("x", dtype=dtype, ndim=len(shape)), sg.lscalar("count")
    f = sg.function([x, count], sg.repeat(x, count, axis=axis), backend="numba")
    for times in (2, 3, 4, 5, 1):
        calls.clear()
        first = f(xv, times)
        np.testing.assert_array_equal(first, np.repeat(xv, times, axis))
        parallel = xv.size * times >= numba_cpu.REPEAT_PARALLEL_THRESHOLD
        kernel = f"repeat_{'values' if route == 'values' else 'rows'}_{'parallel' if parallel else 'serial'}"
        taken = route in ("values", "rows") or (route == "rows on both cores" and parallel)
        assert calls == ([kernel] if taken else []), (times, route)
        again = f(xv[::-1].copy(), times)
        np.testing.assert_array_equal(first, np.repeat(xv, times, axis))  # still held
        np.testing.assert_array_equal(again, np.repeat(xv[::-1], times, axis))
    calls.clear()
    np.testing.assert_array_equal(f(xv, 0), np.repeat(xv, 0, axis))
    with pytest.raises(ValueError):
        f(xv, -1)
    strided = np.repeat(xv, 2, axis=axis)[(slice(None),) * axis + (slice(None, None, 2),)]
    np.testing.assert_array_equal(f(strided, 3), np.repeat(strided, 3, axis))
    counts = sg.lvector("counts")
    per_element = sg.function([x, counts], sg.repeat(x, counts, axis=axis), backend="numba")
    cv = rng.integers(0, 3, shape[axis])
    np.testing.assert_array_equal(per_element(xv, cv), np.repeat(xv, cv, axis))
    small = xv.reshape(-1)[:6].reshape((1,) * (len(shape) - 1) + (6,))
    np.testing.assert_array_equal(f(small, 2), np.repeat(small, 2, axis))
    assert calls == []


@pytest.mark.parametrize("dtype", ["float32", "int16"])
def test_tile_along_one_axis_runs_the_repeat_copy(dtype, rng, monkeypatch):
    """np.tile along one axis copies each block of the axes from it on (RepeatThunk's rows:
    one row of a vector tiled into a matrix, rows of one value, rows of 3x32x32 images),
    serial or parallel by size; tiles along several axes and small arrays are NumPy's."""
    calls = []
    for name in ("repeat_values_serial", "repeat_values_parallel", "repeat_rows_serial", "repeat_rows_parallel"):
        real = getattr(numba_cpu.kernels, name)
        monkeypatch.setattr(numba_cpu.kernels, name, lambda *args, real=real, name=name: calls.append(name) or real(*args))
    cases = [((3000,), (300, 1), "repeat_rows_parallel"), ((3000, 1), (1, 7), "repeat_values_serial"),
             ((1200, 1), (1, 70), "repeat_values_parallel"), ((8, 3, 32, 32), (1, 2, 1, 1), "repeat_rows_serial"),
             ((40, 3, 32, 32), (1, 1, 1, 2), "repeat_rows_parallel"), ((100, 100), (2, 2), None), ((7, 5), (3, 1), None),
             ((2000,), (1,), None)]
    for shape, reps, kernel in cases:
        calls.clear()
        xv = (rng.standard_normal(shape) * 50).astype(dtype)
        x = sg.tensor("x", dtype=dtype, ndim=len(shape))
        f = sg.function([x], sg.tile(x, reps), backend="numba")
        got = f(xv)
        np.testing.assert_array_equal(got, np.tile(xv, reps))
        assert not np.shares_memory(got, xv)
        assert calls == ([kernel] if kernel else []), (shape, reps)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "bool"])
@pytest.mark.parametrize("parallel", [False, True])
def test_transposed_arrays_copy_to_c_order_tile_by_tile(dtype, parallel, rng, monkeypatch):
    """c_ordered: 2-d transposes (ragged tiles), batched ones (NCHW <-> NHWC, with axes of length
    1), and arrays that are no transpose (reversed, strided, broadcast) all give NumPy's copy."""
    def value(shape):
        return (rng.normal(size=shape) * 100).astype(dtype)
    nchw = value((3, 5, 37, 41))
    cases = {"2-d": value((300, 170)).T, "nhwc": nchw.transpose(0, 2, 3, 1), "nchw": nchw.transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2),
             "length 1": value((1, 300, 1, 170)).transpose(0, 3, 2, 1), "reversed": value((300, 170)).T[::-1],
             "strided": value((300, 340)).T[::2], "broadcast": np.broadcast_to(value((170, 1)), (170, 300)),
             "1-d strided": value(70000)[::3], "1-d reversed": value(70000)[::-2],
             "axes swapped outside": value((40, 30, 50)).transpose(1, 0, 2),
             "2-d after merging": value((40, 30, 50)).transpose(1, 2, 0)}
    threshold = 0 if parallel else float("inf")
    ran = []  # the transposes' loops (on all cores from the threshold, else on one), and the strided copy's
    for module, name in [(numba_cpu.numba_blocks, "transpose_serial"), (numba_cpu.numba_blocks, "transpose_parallel"),
                         (numba_cpu.kernels, "copy_strided_parallel")]:
        monkeypatch.setattr(module, name, lambda *args, name=name, real=getattr(module, name): ran.append(name) or real(*args))
    for name, x in cases.items():
        del ran[:]
        got = numba_cpu.c_ordered(x, threshold)
        assert got.flags.c_contiguous and got.dtype == x.dtype, name
        np.testing.assert_array_equal(got, x, err_msg=name)
        transposed = name in {"2-d", "nhwc", "nchw", "length 1", "2-d after merging"}
        assert ran == (["transpose_parallel" if parallel else "transpose_serial"] if transposed
                       else ["copy_strided_parallel"] if parallel and x.ndim <= 2 else []), name
    tiled = {"2-d", "nhwc", "nchw", "length 1", "2-d after merging"}
    sources = {name: numba_cpu._batched_transpose_source(x) for name, x in cases.items()}
    assert {name for name, source in sources.items() if source is not None} == tiled
    for name in tiled:  # views of x, writeable (numba compiles read-only arrays into a slower loop)
        assert np.shares_memory(sources[name], cases[name]) and sources[name].flags.writeable, name


def test_a_strided_views_copy_reads_it_without_gathers():
    """Where numba_target set numba's CPU features (AVX-512), LLVM is asked not to vectorize
    with gathers: a copy of a strided view (copy_strided_parallel's loop) used them, slower than
    NumPy's one-core copy. (Compiled here, not loaded from the cache, so that its code can be
    read.)"""
    kernel = numba.njit(parallel=True)(numba_cpu.kernels._copy_strided)
    x = np.arange(3000, dtype=np.float32)
    for src, dst in ((x[::3], np.empty(1000, np.float32)), (x.reshape(30, 100)[:, ::2], np.empty((30, 50), np.float32))):
        kernel(src, dst)
        np.testing.assert_array_equal(dst, src)
    assembly = "".join(kernel.inspect_asm(signature) for signature in kernel.signatures)
    assert "vmov" in assembly
    if "+prefer-no-gather" in (numba.config.CPU_FEATURES or ""):
        assert "gather" not in assembly


def test_a_reshape_that_must_copy_a_transposed_value_gives_numpys_result(rng, monkeypatch):
    x = sg.ftensor4("x")
    flat = x.dimshuffle(0, 2, 3, 1).reshape((x.shape[0], -1))  # NHWC features of NCHW maps
    f = sg.function([x], [flat, (x[:, 0].T * 2).reshape((-1,))], backend="numba")
    xv = rng.normal(size=(16, 8, 30, 30)).astype("float32")
    got = f(xv)
    np.testing.assert_array_equal(got[0], xv.transpose(0, 2, 3, 1).reshape(16, -1))
    np.testing.assert_array_equal(got[1], (xv[:, 0].T * 2).reshape(-1))
    assert sum(isinstance(t, numba_cpu.ReshapeThunk) for t in executor_globals(f).values()) == 2
    copied = []  # the flattening copies through c_ordered's tiled loop, not NumPy's reshape copy
    # (the second value's loop writes it C-ordered: its reshape is a view)
    monkeypatch.setattr(numba_cpu.codegen, "PARALLEL_THRESHOLD", 100_000)  # (the first, 115200 floats, above)
    f = sg.function([x], [flat, (x[:, 0].T * 2).reshape((-1,))], backend="numba")
    monkeypatch.setattr(numba_cpu, "c_ordered", lambda v, threshold, real=numba_cpu.c_ordered:
                        copied.append(numba_cpu._batched_transpose_source(v) is not None) or real(v, threshold))
    f(xv)
    assert copied == [True]
    # Either copy is a new array of the new shape, not a view of a hidden C-ordered one (which
    # the function then copied again as its result)
    thunk = next(t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReshapeThunk))
    del copied[:]
    for nchw in (xv, xv[:2], xv[:2, :2]):  # 115200 values (the loop on all cores), 14400 (on one), 3600 (NumPy's copy)
        got, = thunk([nchw.transpose(0, 2, 3, 1), np.array([len(nchw), -1])])
        assert got.base is None and got.flags.c_contiguous and got.shape == (len(nchw), nchw[0].size)
        np.testing.assert_array_equal(got, nchw.transpose(0, 2, 3, 1).reshape(len(nchw), -1))
        view, = thunk([nchw[:, :4], np.array([len(nchw), -1])])  # (leading channels: strides allow a view)
        assert np.shares_memory(view, nchw)
    assert copied == [True, True]  # (c_ordered from numba_cpu.TRANSPOSED_COPY_MIN values)
    sliced = sg.function([x], [x[:, :, :, 1:].reshape((16, 8, -1)), x[:, :4].reshape((16, -1))], backend="numba")
    cropped, leading = sliced(xv)  # NumPy's copy; a view (then the function's own copy)
    np.testing.assert_array_equal(cropped, xv[:, :, :, 1:].reshape(16, 8, -1))
    np.testing.assert_array_equal(leading, xv[:, :4].reshape(16, -1))
    bad = sg.function([x], x.dimshuffle(0, 2, 3, 1).reshape((7, -1)), backend="numba")
    with pytest.raises(ValueError, match="reshape"):
        bad(xv)  # 115200 values in 7 rows


def test_strides_allow_a_view_exactly_where_numpys_reshape_gives_one():
    """ReshapeThunk's own form of NumPy's test (asking NumPy for a view and catching its error
    cost 3.5 us a call): every split of the size into one to four axes, one of them -1 or
    none, of C-ordered, transposed, sliced and strided arrays, axes of length 1 among them."""
    def splits(n, parts):
        if parts == 1:
            yield (n,)
            return
        for d in range(1, n + 1):
            if n % d == 0:
                yield from ((d,) + rest for rest in splits(n // d, parts - 1))
    base = np.arange(240, dtype=np.float32).reshape(2, 3, 4, 5, 2)
    arrays = [base, base.transpose(1, 0, 2, 3, 4), base[:, :, ::2], base[:, 1:2], base.transpose(0, 1, 3, 2, 4),
              base[..., :1], base.reshape(6, 20, 2)[:, :10], base.reshape(120, 2).T, base.reshape(240)[::2],
              base[:1, :, :1], base.transpose(4, 3, 2, 1, 0)]
    views = 0
    for x in arrays:
        for parts in (1, 2, 3, 4):
            for dims in splits(x.size, parts):
                for unknown in [None, *range(parts)]:
                    dims_ = [-1 if k == unknown else n for k, n in enumerate(dims)]
                    try:
                        np.reshape(x, dims_, copy=False)
                        view = True
                    except ValueError:
                        view = False
                    assert numba_cpu._strides_allow_view(x, dims_) == view, (x.shape, x.strides, dims_)
                    views += view
    assert 1000 < views < 25000  # (both answers, many times)
    assert not numba_cpu._strides_allow_view(base, [7, -1]) and not numba_cpu._strides_allow_view(base, [3, 7])


@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_a_transposed_matrixs_result_that_a_reshape_reads_is_written_c_ordered(dtype, rng, monkeypatch):
    """(x.T * 2).reshape(-1): up to RESHAPED_TILED_MAX values the loop writes its result
    C-ordered (the tiled loop) and the reshape is a view of it, not a second pass; beyond, the
    loop writes x's order and the reshape copies it through c_ordered. x.T * 2 as a function's
    result keeps x's order, as NumPy's."""
    copies = []
    monkeypatch.setattr(numba_cpu, "c_ordered", lambda v, threshold, real=numba_cpu.c_ordered:
                        copies.append(v.shape) or real(v, threshold))
    x = sg.tensor("x", dtype=dtype, ndim=2)
    f = sg.function([x], (x.T * 2).reshape((-1,)), backend="numba")
    thunk = next(t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ElementwiseThunk))
    assert thunk.reshaped
    for shape, copied in [((100, 120), False), ((37, 300), False), ((600, 500), True)]:
        assert (shape[0] * shape[1] > numba_cpu.RESHAPED_TILED_MAX) == copied
        xv = rng.integers(-50, 50, size=shape).astype(dtype)
        np.testing.assert_array_equal(f(xv), (xv.T * 2).reshape(-1))
        assert copies == ([shape[::-1]] if copied else [])
        out, = thunk([xv.T])
        assert out.flags.c_contiguous != copied
        del copies[:]
    g = sg.function([x], x.T * 2, backend="numba")
    got = g(np.ascontiguousarray(xv[:100, :120]))
    assert got.flags.f_contiguous and not got.flags.c_contiguous


@pytest.mark.parametrize("x_shape,idx_shape", [((50000,), (30000,)), ((3000, 40), (2000,)), ((500, 6, 7), (40, 50))])
@pytest.mark.parametrize("idx_dtype", ["int64", "int32", "uint16"])
@pytest.mark.parametrize("serial", [False, True])
def test_rows_picked_by_an_integer_array_match_numpy(x_shape, idx_shape, idx_dtype, serial, rng, monkeypatch):
    """x[idx] as a compiled row copy: any rank of x and idx, negative indices, serial and
    parallel; an index out of range raises NumPy's IndexError; masks and strided x take NumPy's."""
    x = sg.tensor("x", dtype="float32", ndim=len(x_shape))
    i = sg.tensor("i", dtype=idx_dtype, ndim=len(idx_shape))
    f = sg.function([x, i], x[i], backend="numba")
    (thunk,) = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.SubtensorThunk)]
    if serial:
        monkeypatch.setattr(thunk, "threshold", float("inf"))
    xv = rng.normal(size=x_shape).astype("float32")
    iv = rng.integers(0, x_shape[0], idx_shape)
    if idx_dtype != "uint16":
        iv[::3] -= x_shape[0]  # counted from the end
    iv = iv.astype(idx_dtype)
    np.testing.assert_array_equal(f(xv, iv), xv[iv])
    np.testing.assert_array_equal(f(xv[::-1], iv), xv[::-1][iv])  # not C-ordered: NumPy's
    bad = iv.copy()
    bad.flat[-1] = x_shape[0]
    with pytest.raises(IndexError, match=f"index {x_shape[0]} is out of bounds for axis 0 with size {x_shape[0]}"):
        f(xv, bad)
    m = sg.tensor("m", dtype="bool", ndim=1)
    mask = rng.random(x_shape[0]) > 0.5
    np.testing.assert_array_equal(sg.function([x, m], x[m], backend="numba")(xv, mask), xv[mask])


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
@pytest.mark.parametrize("n", [30, 300, 20000])  # (NumPy's; the loop on one core; on two)
def test_values_picked_by_row_and_column_vectors_match_numpy(dtype, n, rng, monkeypatch):
    """x[rows, cols] of a matrix (Theano's log(p)[arange(n), y]) as one compiled loop: negative
    indices, NumPy's IndexError naming the axis out of range, vectors of two lengths NumPy's."""
    x = sg.tensor("x", dtype=dtype, ndim=2)
    r, c = sg.lvector("r"), sg.ivector("c")
    f = sg.function([x, r, c], x[r, c], backend="numba")
    (thunk,) = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.SubtensorThunk)]
    loops = []
    for name in ("gather_pairs_serial", "gather_pairs_parallel"):
        kernel = getattr(numba_cpu.kernels, name)
        monkeypatch.setattr(numba_cpu.kernels, name,
                            lambda *args, kernel=kernel, name=name: loops.append(name) or kernel(*args))
    xv = (rng.normal(size=(n, 7)) * 100).astype(dtype)
    rows, cols = rng.permutation(n), rng.integers(-7, 7, n).astype("int32")
    rows[::5] -= n
    np.testing.assert_array_equal(f(xv, rows, cols), xv[rows, cols])
    assert loops == ([] if n < numba_cpu.PAIRS_BY_NUMPY else
                     ["gather_pairs_parallel" if 4 * n >= thunk.threshold else "gather_pairs_serial"])
    for axis, (bad_rows, bad_cols) in enumerate([(np.where(rows == rows[-1], n, rows), cols),
                                                  (rows, np.where(cols == cols[-1], -8, cols))]):
        wrong = n if axis == 0 else -8
        with pytest.raises(IndexError, match=f"index {wrong} is out of bounds for axis {axis} with size {xv.shape[axis]}"):
            f(xv, bad_rows, bad_cols)
    with pytest.raises(IndexError):  # (shapes that do not broadcast: NumPy's error)
        f(xv, rows, cols[:-1])


def test_a_few_rows_picked_are_numpys_indexing_called_directly(rng):
    """Below the loop's sizes x[idx] is NumPy's x[idx] itself, not the op's perform (0.5 us of
    a 2.3-2.9 us call): negative indices, an index array of two axes, a strided x, NumPy's
    IndexError; a 0-d index (a view) still goes through the reference."""
    x, i = sg.matrix("x", "float32"), sg.tensor("i", "int32", (None, None))
    v, k = sg.vector("v", "float32"), sg.tensor("k", "int64", ())
    f = sg.function([x, i, v, k], [x[i], v[i], x[k]], backend="numba")
    thunks = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.SubtensorThunk)]
    assert len(thunks) == 3
    zero_d = [t for t in thunks if t.node.inputs[1].ndim == 0]
    for thunk in thunks:
        if thunk not in zero_d:
            thunk.reference = None  # (a call of it fails)
    xv, vv = rng.normal(size=(30, 4)).astype("float32"), rng.normal(size=30).astype("float32")
    iv = np.array([[0, -1, 5], [29, -30, 2]], "int32")
    for value in (xv, xv[::-1]):
        got = f(value, iv, vv, 3)
        for g, want in zip(got, (value[iv], vv[iv], value[3])):
            np.testing.assert_array_equal(g, want)
    with pytest.raises(IndexError, match="out of bounds"):
        f(xv, iv + 30, vv, 3)


@pytest.mark.parametrize("idx_shape", [(500,), (20, 30)])
@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
@pytest.mark.parametrize("serial", [False, True])
def test_columns_picked_by_an_integer_array_and_rows_written_with_a_colon_match_numpy(idx_shape, dtype, serial, rng,
                                                                                      monkeypatch):
    """x[:, idx] of a matrix as a compiled copy a row at a time (NumPy's took 0.64 ms for 500 of
    1000 columns of 1000 float32 rows, this 0.18), negative indices, serial and parallel, NumPy's
    IndexError; x[idx, :] takes the rows' loop as x[idx] does."""
    ways = []
    for name in ("gather_columns_serial", "gather_columns_parallel", "gather_rows_serial", "gather_rows_parallel"):
        real = getattr(numba_cpu.kernels, name)
        monkeypatch.setattr(numba_cpu.kernels, name,
                            lambda *args, real=real, name=name: ways.append(name) or real(*args))
    x, i = sg.tensor("x", dtype=dtype, ndim=2), sg.tensor("i", dtype="int32", ndim=len(idx_shape))
    f = sg.function([x, i], [x[:, i], x[i, :]], backend="numba")
    (thunk, rows) = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.SubtensorThunk)]
    if serial:
        monkeypatch.setattr(thunk, "threshold", float("inf"))
        monkeypatch.setattr(rows, "threshold", float("inf"))
    xv = (rng.normal(size=(600, 700)) * 10).astype(dtype)
    iv = rng.integers(-600, 600, idx_shape).astype("int32")
    got = f(xv, iv)
    np.testing.assert_array_equal(got[0], xv[:, iv])
    np.testing.assert_array_equal(got[1], xv[iv, :])
    kind = "serial" if serial else "parallel"
    assert ways == [f"gather_columns_{kind}", f"gather_rows_{kind}"]
    np.testing.assert_array_equal(f(xv.T.copy().T, iv)[0], xv[:, iv])  # not C-ordered: NumPy's
    bad = iv.copy()
    bad.flat[-1] = 700
    with pytest.raises(IndexError, match="index 700 is out of bounds for axis 1 with size 700"):
        sg.function([x, i], x[:, i], backend="numba")(xv, bad)


@pytest.mark.parametrize("x_shape,idx_shape", [((50000,), (3000,)), ((50000,), (40, 600)), ((4000, 1), (30000,))])
def test_values_picked_from_a_vector_run_the_one_value_loop_and_are_returned_uncopied(x_shape, idx_shape, rng,
                                                                                      monkeypatch):
    """x[idx] with rows of one value (a vector, or an (n, 1) column) runs gather_values (the
    row loop's inner loop of one step was slower than NumPy's), serial or on both cores by
    the number of picks; the result is new memory, handed back without a defensive copy."""
    calls = []
    for kind in ("serial", "parallel"):
        real = getattr(numba_cpu.kernels, f"gather_values_{kind}")
        monkeypatch.setattr(numba_cpu.kernels, f"gather_values_{kind}",
                            lambda *args, real=real, kind=kind: calls.append(kind) or real(*args))
    x = sg.tensor("x", dtype="float64", ndim=len(x_shape))
    i = sg.tensor("i", dtype="int32", ndim=len(idx_shape))
    f = sg.function([x, i], x[i], backend="numba")
    assert f._fresh == [True] and not f._may_alias
    xv = rng.normal(size=x_shape)
    iv = rng.integers(-x_shape[0], x_shape[0], idx_shape).astype("int32")
    got = f(xv, iv)
    np.testing.assert_array_equal(got, xv[iv])
    assert not np.shares_memory(got, xv)
    assert calls == ["serial" if math.prod(idx_shape) < 8192 else "parallel"]


def test_large_float32_vector_dots_run_the_fused_multiply_sum(rng, monkeypatch):
    """dot of two float32 vectors from PARALLEL_THRESHOLD values: the fused multiply-sum on all
    cores (float64 totals: closer to the exact value than sdot's), np.dot below and in graphs
    with matrix products (whose loops stay serial); a lone vector dot does not make its graph
    a BLAS graph."""
    monkeypatch.setattr(numba_cpu.codegen, "PARALLEL_THRESHOLD", 1 << 12)
    x, y, m = sg.fvector("x"), sg.fvector("y"), sg.fmatrix("m")
    f = sg.function([x, y], sg.dot(x * 2, y), backend="numba")
    thunks = executor_globals(f).values()
    (dot,) = [t for t in thunks if isinstance(t, numba_cpu.VectorDotThunk)]
    assert dot.threshold == 1 << 12 and all(t.threshold != float("inf") for t in thunks if hasattr(t, "threshold"))
    folded = []
    monkeypatch.setattr(dot.fold, "call", lambda inputs, real=dot.fold.call: folded.append(1) or real(inputs))
    for n in (100, 5000, 300_000):
        xv, yv = rng.standard_normal(n).astype("float32"), rng.standard_normal(n).astype("float32")
        got = f(xv, yv)
        exact = (2 * xv.astype(np.float64)) @ yv.astype(np.float64)
        assert got.dtype == np.float32 and got.shape == ()
        np.testing.assert_allclose(got, exact, rtol=1e-5, atol=1e-4 * np.sqrt(n))
    assert len(folded) == 2
    g = sg.function([x, y, m], [sg.dot(x, y), sg.dot(m, m)], backend="numba")
    (dot,) = [t for t in executor_globals(g).values() if isinstance(t, numba_cpu.VectorDotThunk)]
    assert dot.threshold == float("inf")
    xv, yv = rng.standard_normal(300_000).astype("float32"), rng.standard_normal(300_000).astype("float32")
    np.testing.assert_allclose(g(xv, yv, np.eye(3, dtype="float32"))[0], np.dot(xv, yv), rtol=1e-4)


def test_small_vector_dots_are_np_dots_into_a_number_of_their_dtype(rng, monkeypatch):
    """dot of two vectors of one dtype below the parallel fold is np.dot into a 0-d output of
    that dtype, the op's perform left out; vectors of two dtypes are its; strided vectors,
    no values, and lengths that differ raise NumPy's ValueError."""
    from symgraph.ops import linalg
    real = linalg.Dot.perform
    performed = []
    monkeypatch.setattr(linalg.Dot, "perform", lambda *args: performed.append(1) or real(*args))
    for dtype in ("float32", "float64", "int32", "int8", "bool", "complex128"):
        x, y = sg.tensor("x", dtype, (None,)), sg.tensor("y", dtype, (None,))
        f = sg.function([x, y], sg.dot(x, y), backend="numba")
        for n in (0, 1, 7, 100):
            xv, yv = (rng.normal(size=2 * n) * 4).astype(dtype)[::2], (rng.normal(size=n) * 4).astype(dtype)
            got = f(xv, yv)
            want = np.dot(xv, yv)
            assert got.dtype == want.dtype == np.dtype(dtype) and got.shape == ()
            assert isinstance(got, np.ndarray)  # (a 0-d array, as every value a graph's nodes pass)
            np.testing.assert_allclose(got, want, rtol=1e-5)
        with pytest.raises(ValueError, match="not aligned"):
            f(np.ones(3, dtype), np.ones(4, dtype))
    assert not performed
    x, y = sg.ivector("x"), sg.dvector("y")
    got = sg.function([x, y], sg.dot(x, y), backend="numba")(np.arange(3, dtype="int32"), np.ones(3))
    assert got.dtype == np.float64 and got == 3.0 and performed


@pytest.mark.parametrize("dtype", ["float32", "float64", "int16", "bool"])
def test_boolean_masks_run_the_compress_loops(dtype, rng, monkeypatch):
    """x[mask] over x's leading axes: single values through compress_values (branch-free, one
    spare slot past the last value kept), longer rows through compress_rows; none kept, all
    kept; strided, small and mismatched inputs are NumPy's (its IndexError)."""
    calls = []
    for name in ("compress_values", "compress_rows"):
        real = getattr(numba_cpu.kernels, name)
        monkeypatch.setattr(numba_cpu.kernels, name, lambda *args, real=real, name=name: calls.append(name) or real(*args))
    cases = [((5000,), 1, "compress_values"), ((300, 40), 2, "compress_values"), ((300, 40), 1, "compress_rows"),
             ((50, 30, 7), 2, "compress_rows"), ((3000, 1), 1, "compress_values"), ((20, 5), 1, None)]
    for shape, mask_ndim, kernel in cases:
        xv = (rng.standard_normal(shape) * 3).astype(dtype)
        x = sg.tensor("x", dtype=dtype, ndim=len(shape))
        m = sg.tensor("m", dtype="bool", ndim=mask_ndim)
        f = sg.function([x, m], x[m], backend="numba")
        for p in (0.3, 0.0, 1.0):
            calls.clear()
            mv = rng.random(shape[:mask_ndim]) < p
            got = f(xv, mv)
            assert got.dtype == xv.dtype and got.shape == xv[mv].shape
            np.testing.assert_array_equal(got, xv[mv])
            assert calls == ([kernel] if kernel else []), (shape, mask_ndim)
        calls.clear()
        strided = np.repeat(xv, 2, axis=0)[::2]
        np.testing.assert_array_equal(f(strided, mv), strided[mv])
        assert calls == []
        with pytest.raises(IndexError):
            f(xv, np.ones((shape[0] + 1,) + shape[1:mask_ndim], bool))


@pytest.mark.parametrize("dtype,kind", [("int32", "sum"), ("int64", "prod"), ("uint8", "sum"), ("int8", "max"),
                                        ("bool", "min"), ("bool", "sum"), ("int32", "mean"), ("uint8", "min")])
@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.exhaustive
def test_integer_and_bool_reductions_of_stored_arrays_run_compiled_and_match_numpy(dtype, kind, axis, rng):
    """NumPy's result dtypes (int32 sums in int64, uint8 in uint64, means in float64) and its
    values: exact for integers (wrapping on overflow as NumPy's), parallel and serial. (Pairs
    of dtype and kind, not all 25: each compiles its own loops, 60 s on a cold cache.)"""
    x = sg.tensor("x", dtype=dtype, ndim=2)
    f = sg.function([x], getattr(x, kind)(axis=axis), backend="numba")
    assert any(isinstance(t, numba_cpu.StoredReduceThunk) for t in executor_globals(f).values())
    shapes = ((300, 200), (1200, 500)) if axis == 0 else ((300, 200),)  # and above the parallel threshold
    for shape in shapes:
        value = (rng.integers(0, 2, shape) if dtype == "bool" else rng.integers(-100, 100, shape) if dtype[0] == "i"
                 else rng.integers(0, 255, shape)).astype(dtype)
        got, want = f(value), getattr(value, kind)(axis=axis)
        assert got.dtype == want.dtype
        if kind == "mean":
            np.testing.assert_allclose(got, want, rtol=1e-13)
        else:
            np.testing.assert_array_equal(got, want)


@pytest.mark.filterwarnings("ignore:Mean of empty slice")  # (NumPy's own mean of nothing, the reference)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("ndim", [0, 1, 2])
def test_small_float_reductions_of_stored_arrays_are_numpys_arrays(dtype, ndim, rng):
    """Below StoredReduceThunk's size for its loop, a float sum, product, max or min is the
    ufunc's reduce called by the thunk (a whole one into a new 0-d array), a mean along an
    axis the op's perform, a whole mean the loop (ReduceThunk._write_whole_call): NumPy's values,
    dtypes and shapes as arrays (0-d for a whole reduction, a kept 0-d input included), its
    error for the max of nothing, and NaN where the array holds one."""
    x = sg.tensor("x", dtype=dtype, ndim=ndim)
    for kind in ("sum", "prod", "max", "min", "mean"):
        for axis, keepdims in ((None, False), (None, True), (0, False), (-1, True)):
            if ndim == 0 and axis is not None:
                continue
            f = sg.function([x], getattr(x, kind)(axis=axis, keepdims=keepdims), backend="numba")
            (thunk,) = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.StoredReduceThunk)]
            assert (thunk.reduce is None) == (kind == "mean")  # (a mean divides after: the op's perform)
            performed = []
            thunk.perform = lambda node, inputs, real=thunk.perform: performed.append(1) or real(node, inputs)
            shapes = [()] if ndim == 0 else [(5,) * ndim, (3, 0)[:ndim]]
            for shape in shapes:
                value = rng.normal(size=shape).astype(dtype)
                if value.size:
                    value.flat[-1] = np.nan if kind == "max" else value.flat[-1]
                with np.errstate(all="ignore"):
                    try:
                        want = np.asarray(getattr(np, kind)(value, axis=axis, keepdims=keepdims))
                    except ValueError:
                        with pytest.raises(ValueError, match="zero-size array"):
                            f(value)
                        continue
                    got = f(value)
                assert type(got) is np.ndarray and got.dtype == want.dtype and got.shape == want.shape, \
                    (kind, axis, keepdims, shape)
                np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True)
                if got.ndim == 0 and value.ndim:
                    assert f(value) is not got  # a new array each call
            if kind == "mean":  # a whole mean takes the loop at any size (NumPy's: Python around a sum)
                assert bool(thunk.kernels) == (ndim > 0 and (axis is None or ndim == 1))
            else:
                assert not performed  # (the ufunc's reduce, called by the thunk)


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "bool"])
def test_small_whole_reductions_of_integers_run_the_loop(dtype, rng):
    """An integer or bool array's reduction over all its axes takes the loop's written call at
    any size (np.sum's path cost three times as much): NumPy's values and dtypes (int32 and
    bool summed in int64, uint8 in uint64; products wrapping as NumPy's), and NumPy's own
    answer or error for an empty array."""
    x = sg.tensor("x", dtype=dtype, ndim=2)
    kinds = ["sum", "max", "min", "any", "all"] + (["prod"] if dtype != "bool" else [])
    f = sg.function([x], [getattr(x, k)() for k in kinds[:-1]] + [getattr(x, kinds[-1])(keepdims=True)], backend="numba")
    thunks = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.StoredReduceThunk)]
    assert len(thunks) == len(kinds)
    performed = []
    for t in thunks:
        t.perform = lambda node, inputs, real=t.perform: performed.append(inputs[0].size) or real(node, inputs)
    for shape in ((1, 1), (3, 5), (40, 30), (0, 4)):
        value = rng.integers(0, 2, shape) if dtype == "bool" else rng.integers(-3, 4, shape) if dtype != "uint8" \
            else rng.integers(0, 255, shape)
        value = value.astype(dtype)
        if not value.size:  # (the sum of nothing, then the max of nothing: NumPy's, and its error)
            with pytest.raises(ValueError, match="zero-size array"):
                f(value)
            continue
        for k, got in zip(kinds, f(value)):
            want = np.asarray(getattr(value, k)(keepdims=k == kinds[-1]))
            assert got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want), (k, shape)
    assert performed and not any(performed)  # (only the empty array's)
    # (but a bool array's whole any and all: NumPy's logical reduce, which stops early)
    assert all(bool(t.kernels) != (dtype == "bool" and t.op.kind in ("any", "all")) for t in thunks)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
def test_one_value_nodes_give_numpys_bits_and_dtypes(dtype):
    """Every scalar op on 0-d values (the step sizes and counters of optimizers) through
    OneValueThunk's NumPy-scalar program: the reference's value and dtype exactly, including
    Python-number constants and a chain like Adam's bias correction."""
    x, y, z = (sg.tensor(n, dtype=dtype, ndim=0) for n in "xyz")
    names = [n for n in FLOAT_OPS if dtype[0] == "f" or n in ("add", "sub", "mul", "true_div", "int_div", "mod",
                                                              "maximum", "minimum", "eq", "lt", "abs", "neg",
                                                              "sign", "square", "where", "clip", "pow")]
    exprs = [getattr(sg, n)(*[x, y, z][:TABLE[n].nin]) for n in names]
    t = sg.tensor("t", dtype="int64", ndim=0)
    exprs.append(0.01 * sg.sqrt(1 - 0.999 ** sg.cast(t + 1, "float32")) / (1 - 0.9 ** sg.cast(t + 1, "float32")))
    f = sg.function([x, y, z, t], exprs, backend="numba", on_unused_input="ignore")
    assert sum(isinstance(k, numba_cpu.OneValueThunk) for k in executor_globals(f).values()) >= len(names)
    g = sg.function([x, y, z, t], exprs, backend="numpy", on_unused_input="ignore")
    for values in ([0.75, 1.5, 2.0], [-2.5, 0.5, 0.0], [3.0, -7.0, 1.0]):
        args = [np.asarray(v, dtype=dtype) for v in values] + [np.asarray(9, dtype="int64")]
        if dtype[0] == "i" and args[1] == 0 or dtype[0] == "i" and args[1] < 0:
            args[1] = np.asarray(2, dtype=dtype)  # no integer powers < 0 nor division by 0
        with np.errstate(all="ignore"):
            got, want = f(*args), g(*args)
        for name, a, b in zip(names + ["adam step"], got, want):
            assert a.dtype == b.dtype and a.shape == b.shape == (), name
            assert np.array_equal(a, b, equal_nan=True), (name, values, a, b)
    one = sg.tensor("one", dtype=dtype, shape=(1,))  # (one value, not 0-d: the reference's loop)
    referred = []  # (the node a OneValueThunk's call hands to the reference)
    real_reference = numba_cpu._reference
    numba_cpu._reference = lambda op, node: (lambda inputs: referred.append(node) or real_reference(op, node)(inputs))
    try:
        h = sg.function([one, x], [one * x + 3, sg.maximum(x, 2)], backend="numba")
    finally:
        numba_cpu._reference = real_reference
    assert sum(isinstance(k, numba_cpu.OneValueThunk) for k in executor_globals(h).values()) == 2
    scaled, biggest = h(np.asarray([5], dtype), np.asarray(4, dtype))
    assert scaled.shape == (1,) and scaled.dtype == dtype and scaled[0] == 23 and biggest.shape == () and biggest == 4
    assert [node.inputs[0].type.shape for node in referred] == [(1,)]  # (0-d values: the scalar program)


@pytest.mark.parametrize("kind", ["sum", "max", "mean"])
@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.exhaustive
def test_reductions_read_broadcast_inputs_at_index_0_not_through_broadcast_views(kind, axis, rng):
    """A row (1, n), a column (m, 1), a vector (n,) and a scalar reach the kernel as they are
    (C-ordered, writeable) and are read at index 0 along their broadcast axes; np.broadcast_to's
    read-only stride-0 views made numba compile a slower scalar loop."""
    x, row, col, vec, s = sg.fmatrix("x"), sg.fmatrix("row"), sg.fmatrix("col"), sg.fvector("vec"), sg.fscalar("s")
    expr = getattr(x * row + col - vec * s, kind)(axis=axis)
    f = sg.function([x, row, col, vec, s], expr, backend="numba")
    values = [rng.normal(size=shape).astype("float32") for shape in ((1200, 500), (1, 500), (1200, 1), (500,), ())]
    want = getattr(values[0] * values[1] + values[2] - values[3] * values[4], kind)(axis=axis)
    np.testing.assert_allclose(f(*values), want, rtol=1e-4, atol=1e-2)
    (thunk,) = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)]
    ((_, _, _, broadcast, _), kernel), = thunk.kernels.items()
    assert {(), (0,), (1,)} <= set(broadcast)  # x; the row and vec * s (a separate 1-d node); the column
    (signature,) = kernel.dispatcher.signatures
    (plan,) = thunk.plans.values()
    x_at = 3 if plan.scratch else 2  # (after out, the lengths, and a column sum's scratch)
    assert all("readonly" not in str(t) for t in signature) and str(signature[x_at]) == "array(float32, 2d, C)"


def test_a_costly_loop_copies_strided_inputs_first_so_that_it_vectorizes(rng):
    """exp(x[::2]) ran a scalar loop (numba types a strided view A: no vector loads): the
    view is copied, then the contiguous loop runs. Cheap loops and small inputs read it as is."""
    x, m = sg.fvector("x"), sg.fmatrix("m")
    f = sg.function([x], sg.exp(x) * 2, backend="numba")
    g = sg.function([m], sg.tanh(m) + m, backend="numba")
    cheap = sg.function([x], x * 2 + 1, backend="numba")
    xv = rng.normal(size=40_000).astype("float32")
    mv = rng.normal(size=(300, 400)).astype("float32")
    np.testing.assert_allclose(f(xv[::2]), np.exp(xv[::2]) * 2, rtol=1e-6)
    np.testing.assert_allclose(g(mv[:, ::2]), np.tanh(mv[:, ::2]) + mv[:, ::2], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(cheap(xv[::2]), xv[::2] * 2 + 1)
    for fn in (f, g):
        (thunk,) = [t for t in executor_globals(fn).values() if isinstance(t, numba_cpu.ElementwiseThunk)]
        assert thunk.kernels and all(key[0] == "flat" for key in thunk.kernels)
    (thunk,) = [t for t in executor_globals(cheap).values() if isinstance(t, numba_cpu.ElementwiseThunk)]
    assert not thunk.plans  # the strided 1-d view went straight to the flat loop
    base = rng.normal(size=(60, 50, 40))
    for view in (base.reshape(-1)[::3], base[0, ::-2], base[:, 0, ::2], base[::2, ::3, 1], base[:, ::2]):
        for threshold in (0, float("inf")):  # the parallel copy (1-d and 2-d) and NumPy's
            copy = numba_cpu.c_ordered(view, threshold)
            assert copy.flags.c_contiguous and np.array_equal(copy, view)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("rows", [320, 300, 30])
@pytest.mark.exhaustive
def test_a_costly_loop_tiles_or_copies_a_transposed_input_beside_other_layouts(dtype, rows, rng):
    """exp(y.T) + x walked x's rows and read y across its own, and exp ran scalar (500x500
    float32 1.14 ms, exp(y.T) alone 0.11). Where y's rows are a multiple of TILED_ROW_BYTES
    apart (320x400) the loop reads y.T through stack tiles (the tiled loop); else, parallel
    (300x400) or serial (30x400), it copies y.T to C order first, then the flat loop (or,
    beside a broadcast row, the C-ordered broadcast loop) vectorizes. A transposed input alone
    keeps its memory order (no copy, no tiles), and a cheap loop its tiles."""
    x, y, b = sg.matrix("x", dtype=dtype), sg.matrix("y", dtype=dtype), sg.vector("b", dtype=dtype)
    xv, yv, bv = (rng.normal(size=s).astype(dtype) for s in ((rows, 400), (400, rows), 400))
    tiled = rows * yv.itemsize % numba_cpu.TILED_ROW_BYTES == 0
    assert tiled == (rows == 320) and rows * 400 >= numba_cpu.STRIDED_COPY_MIN
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    cases = [(sg.function([x, y], sg.exp(y.T) + x, backend="numba"), (xv, yv), np.exp(yv.T) + xv,
              "tiled" if tiled else "flat"),
             (sg.function([y, b], sg.tanh(y.T + b), backend="numba"), (yv, bv), np.tanh(yv.T + bv),
              "tiled" if tiled else "broadcast"),
             (sg.function([y], sg.exp(y.T) * 2, backend="numba"), (yv,), np.exp(yv.T) * 2, "flat")]
    copies = []
    real = numba_cpu.c_ordered
    numba_cpu.c_ordered = lambda a, *args: copies.append(a.shape) or real(a, *args)
    try:
        for f, values, want, kind in cases:
            del copies[:]
            np.testing.assert_allclose(f(*values), want, **tol)
            np.testing.assert_allclose(f(*values), want, **tol)  # (the plan kept)
            (thunk,) = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ElementwiseThunk)]
            assert (rows * 400 >= thunk.threshold) == (rows > 30)
            assert thunk.kernels and all(key[0] == kind for key in thunk.kernels)
            assert copies == ([(rows, 400)] * 2 if len(values) == 2 and not tiled else [])
    finally:
        numba_cpu.c_ordered = real
    cheap = sg.function([x, y], y.T * x, backend="numba")
    big = rng.normal(size=(400, 400)).astype(dtype)
    np.testing.assert_allclose(cheap(big, big), big.T * big, **tol)
    (thunk,) = [t for t in executor_globals(cheap).values() if isinstance(t, numba_cpu.ElementwiseThunk)]
    assert all(key[0] == "tiled" for key in thunk.kernels)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_increments_at_index_pairs_run_the_compiled_loop_as_numpy(dtype, rng):
    """x[rows, cols] += v (the gradient of picked entries) matches np.add.at: repeated pairs
    accumulate, negative indices count from the end, v one value or one per pair; an index
    out of range raises NumPy's IndexError."""
    x = sg.tensor("x", dtype, (None, None))
    v = sg.tensor("v", dtype, (None,))
    rows, cols = sg.lvector("rows"), sg.ivector("cols")
    for value in (v, v[0]):
        f = sg.function([x, v, rows, cols], sg.inc_subtensor(x[rows, cols], value), backend="numba",
                        on_unused_input="ignore")
        thunk = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.IncSubtensorThunk)][0]
        calls = []
        real = numba_cpu.kernels.scatter_add_pairs
        numba_cpu.kernels.scatter_add_pairs = lambda *args: (calls.append(1), real(*args))[1]
        try:
            xv = (rng.normal(size=(6, 4)) * 10).astype(dtype)
            vv = (rng.normal(size=5) * 10).astype(dtype)
            rv = np.array([0, 5, -1, 2, 0], np.int64)
            cv = np.array([1, 3, 0, -4, 1], np.int32)
            want = xv.copy()
            np.add.at(want, (rv, cv), vv if value is v else vv[0])
            np.testing.assert_array_equal(f(xv, vv, rv, cv), want)
            assert calls and thunk is not None
            for bad_rows, bad_cols, message in ((np.array([0, 6, 1, 1, 1]), cv, "index 6 is out of bounds for axis 0 with size 6"),
                                                (rv, np.array([0, 0, -5, 0, 0], np.int32), "index -5 is out of bounds for axis 1 with size 4")):
                with pytest.raises(IndexError, match=message):
                    f(xv, vv, bad_rows, bad_cols)
        finally:
            numba_cpu.kernels.scatter_add_pairs = real


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_float_running_sums_and_products_take_the_loop_from_few_values(dtype, rng, monkeypatch):
    """cumsum and cumprod of floats run the compiled loop from RUNNING_FLOATS_BY_NUMPY values
    (NumPy's accumulate is a slow dependent chain too), NumPy's bits along either axis and
    reversed; integers keep NumPy's vectorized loop below SMALL_BY_NUMPY; fewer values NumPy's."""
    calls = []
    real = numba_cpu.kernels.running_serial
    monkeypatch.setattr(numba_cpu.kernels, "running_serial", lambda *args: calls.append(args[0].size) or real(*args))
    v, m = sg.tensor("v", dtype, (None,)), sg.tensor("m", dtype, (None, None))
    f = sg.function([v, m], [sg.cumsum(v), sg.cumprod(v / 8 + 1 if dtype != "int32" else v % 3 + 1),
                             sg.cumsum(m, axis=0), sg.cumsum(m, axis=1), sg.cumsum(m[::-1], axis=0)], backend="numba")
    for n in (16, 64, 1000, 3000):
        vv = (rng.normal(size=n) * 8).astype(dtype)
        mv = (rng.normal(size=(n // 8, 8)) * 8).astype(dtype)
        del calls[:]
        got = f(vv, mv)
        ratio = (vv / 8 + 1).astype(dtype) if dtype != "int32" else vv % 3 + 1
        want = [np.cumsum(vv), np.cumprod(ratio), np.cumsum(mv, axis=0), np.cumsum(mv, axis=1), np.cumsum(mv[::-1], axis=0)]
        for g, w in zip(got, want):
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)
        looped = dtype != "int32" and n >= 64
        assert calls == ([n] * 5 if looped else []), (n, calls)  # (mv holds n values too)


def test_serial_and_parallel_loops_keep_apart_in_numba_disk_cache(tmp_path):
    """numba's disk cache keys a function by name and bytecode, not by njit's flags: a
    parallel loop (the transpose, when it had a serial twin) once loaded the serial one's
    machine code and ran on one core."""
    import subprocess
    import sys
    from symgraph.backends import numba_kernels, numba_random
    pairs = [(numba_kernels.gather_rows_serial, numba_kernels.gather_rows_parallel),
             (numba_kernels.gather_values_serial, numba_kernels.gather_values_parallel),
             (numba_kernels.running_serial, numba_kernels.running_parallel),
             (numba_random.uniform_serial, numba_random.uniform_parallel),
             (numba_random.normal_serial, numba_random.normal_parallel),
             (numba_random.binomial_serial, numba_random.binomial_parallel),
             (numba_random.bernoulli_serial, numba_random.bernoulli_parallel)]
    for serial, parallel in pairs:
        assert serial.py_func.__qualname__ != parallel.py_func.__qualname__
        assert serial.targetoptions.get("parallel") is None and parallel.targetoptions["parallel"] is True
    # Across processes: the serial loop compiled and cached first, the parallel one is compiled, not loaded.
    script = ("import numpy as np\n"
              "from symgraph.backends import numba_kernels as K\n"
              "x, out = np.ones((1, 40, 30), 'float32'), np.empty((1, 40, 30), 'float32')\n"
              "loop = K.running_{}\n"
              "loop(x, out, False)\n"
              "assert (out == x.cumsum(axis=1)).all()\n"
              "print(sum(loop.stats.cache_hits.values()))\n")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    hits = [subprocess.run([sys.executable, "-c", script.format(kind)], env=env, capture_output=True,
                           text=True, check=True).stdout.split()[-1] for kind in ("serial", "parallel", "parallel")]
    assert hits == ["0", "0", "1"]  # the parallel loop's own entry is loaded the second time


@pytest.mark.parametrize("shape", [(300, 37), (300, 1100), (4, 40000), (1000, 140)])
def test_float32_column_sums_add_blocks_of_rows_in_float32_their_totals_in_float64(shape, rng):
    """(numba_codegen.reduce_scratch) A float32 matrix's column sums run over blocks of 128 rows
    (3 here, the last partial) in float32, the blocks' totals in float64: as accurate as
    NumPy's pairwise sum. On one core the kernel writes the float32 result itself, its totals
    in a float64 array the thunk passes (no np.empty in the kernel, no conversion after); on
    all cores (300x1100: 3 tasks of columns, the last partial; 4x40000: one block of rows,
    NumPy's sums bit for bit; 1000x140: chunks of rows) each block of columns, or the chunks'
    totals, rounded into the float32 result (column_sums_rounded: a float64 out made afresh
    and converted after had cost 4x NumPy's time at 4x40000)."""
    x = sg.fmatrix("x")
    f = sg.function([x], [x.sum(axis=0), (x * 2).sum(axis=0), x.mean(axis=0)], backend="numba")
    xv = (rng.normal(size=shape) + 3).astype("float32")
    exact = xv.astype("float64").sum(axis=0)
    for got, want in zip(f(xv), (exact, 2 * exact, exact / shape[0])):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-6)
    if shape[0] <= 128:
        np.testing.assert_array_equal(f(xv)[0], xv.sum(axis=0))
    thunks = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)]
    serial = xv.size < numba_cpu.codegen.PARALLEL_THRESHOLD
    assert len(thunks) == 3 and all(plan.scratch == serial for t in thunks for plan in t.plans.values())
    assert all(plan.written == np.float32 for t in thunks for plan in t.plans.values())
    assert all(key[1] != serial for t in thunks for key in t.kernels)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int16", "bool"])
def test_column_max_and_min_on_one_core_start_from_the_first_row(dtype, rng):
    """A max or min over the leading axis on one core starts from the first row (not from out
    filled with -inf or inf: one pass less, a 2x50000 float32 max 14.3 -> 10 us): every pair of
    special values as a column of two (NaN first or second, -0.0 and 0.0 either way: NumPy's
    operand on a tie, bit for bit), one row, no rows, a 3-d array's kept axes; any and all."""
    x = sg.tensor("x", dtype, (None, None))
    y = sg.tensor("y", dtype, (None, None, None))
    fns = {kind: sg.function([x, y], [getattr(x, kind)(axis=0), getattr(y, kind)(axis=0)], backend="numba")
           for kind in ("max", "min", "any", "all")}
    for f in fns.values():
        for thunk in executor_globals(f).values():
            if isinstance(thunk, numba_cpu.ReduceThunk):
                thunk.small = 0  # (the loop at any size: small ones are NumPy's reduce)
    if dtype[0] == "f":
        special = np.array([0.0, -0.0, 1.5, -1.5, np.nan, np.inf, -np.inf], dtype)
        pairs = np.stack([np.repeat(special, special.size), np.tile(special, special.size)])
    else:
        pairs = rng.integers(-3, 4, (2, 40)).astype(dtype)
    cube = rng.integers(-3, 4, (3, 4, 5)).astype(dtype)
    for value in (pairs, pairs[:1], pairs[:0]):
        for kind, f in fns.items():
            if not len(value) and kind in ("max", "min"):
                continue  # (NumPy's error: no identity)
            got, got3 = f(value, cube)
            want = getattr(np, kind)(value, axis=0)
            np.testing.assert_array_equal(got, want)
            if dtype[0] == "f" and kind in ("max", "min"):
                np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
            np.testing.assert_array_equal(got3, getattr(np, kind)(cube, axis=0))
    (thunk,) = [t for t in executor_globals(fns["max"]).values()
                if isinstance(t, numba_cpu.ReduceThunk) and t.node.inputs[0].ndim == 2]
    plan = thunk.plans[((pairs.shape, pairs.strides),)]
    assert "start = 1 if" in inspect.getsource(plan.kernel.py_func)


def test_float32_column_sums_of_one_block_of_rows_are_its_float32_sums(rng):
    """Up to one block of rows (128) a float32 matrix's column sums written as float32 are the
    result, NumPy's own (added row by row) bit for bit, and the float64 totals are not touched:
    their passes took 2.4x the time of a 2x50000 sum's. The kernel, given totals of NaN, leaves
    them so up to 128 rows and uses them from 129."""
    x = sg.fmatrix("x")
    f = sg.function([x], x.sum(axis=0), backend="numba")
    (thunk,) = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)]
    for rows in (2, 3, 128, 129):
        xv = rng.normal(size=(rows, 300)).astype("float32")
        got = f(xv)
        if rows <= 128:
            np.testing.assert_array_equal(got, xv.sum(axis=0))
        plan = thunk.plans[((xv.shape, xv.strides),)]
        assert plan.scratch and plan.arrange is None
        totals, out = np.full(300, np.nan), np.empty(300, np.float32)
        plan.kernel(out, plan.extents, totals, xv)
        np.testing.assert_array_equal(out, got)
        assert np.isnan(totals).all() == (rows <= 128)


@pytest.mark.parametrize("parallel", [False, True])
def test_float32_column_products_multiply_in_float32_as_numpy(parallel, rng, monkeypatch):
    """A float32 product over the leading axis multiplies row by row in float32, as NumPy's:
    its values bit for bit (serial, and on all cores in blocks of columns), an intermediate
    beyond float32 inf as in NumPy's (1e30 * 1e30 * 1e-30: float64 products gave 1e30), NaN,
    inf and 0 * inf as NumPy's; the result written as float32, no float64 out to convert. A
    product over the last axis keeps its float64 accumulator (rounded once)."""
    if parallel:
        monkeypatch.setattr(numba_cpu.codegen, "PARALLEL_THRESHOLD", 1)
    x = sg.fmatrix("x")
    f = sg.function([x], sg.prod(x, axis=0), backend="numba")
    (thunk,) = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)]
    for rows, cols in ((2, 200), (5, 300), (40, 1000)):  # (from PARTIAL_REDUCE_BY_NUMPY values)
        xv = rng.uniform(0.3, 1.9, (rows, cols)).astype("float32")
        xv[:2, 0], xv[1, 1], xv[0, 2], xv[:2, 3] = (1e30, 1e30), np.nan, np.inf, (0.0, np.inf)
        if rows > 2:
            xv[:3, 4] = (1e30, 1e30, 1e-30)
        got = f(xv)
        with np.errstate(all="ignore"):  # (NumPy's own overflow and 0 * inf)
            np.testing.assert_array_equal(got, xv.prod(axis=0))
        assert got.dtype == np.float32 and np.isinf(got[0])
        plan = thunk.plans[((xv.shape, xv.strides),)]
        assert plan.written == np.float32 and [key[1] for key in thunk.kernels] == [parallel]
    along = sg.function([x], sg.prod(x, axis=1), backend="numba")
    xv = np.ones((2, 300), "float32")
    xv[0, :3] = (1e30, 1e30, 1e-30)
    np.testing.assert_allclose(along(xv), [1e30, 1], rtol=1e-6)  # (float64 products, as before)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.exhaustive
def test_parallel_column_folds_give_numpys_values_in_every_block_of_columns(dtype, rng, monkeypatch):
    """On all cores a fold over the leading axis splits the kept one into blocks of a quarter
    of its columns (up to _OUTER_BLOCK, a multiple of 16), each folded into a scratch row of
    its own and copied to the output at the end (numba_codegen). Three full blocks and a
    partial one, a NaN and an inf at the first and last column of each: NumPy's values, max and
    min exactly."""
    monkeypatch.setattr(numba_cpu.codegen, "PARALLEL_THRESHOLD", 1)
    n0 = 2 * numba_cpu.codegen._OUTER_BLOCK + 77
    block = eval(numba_cpu.codegen._OUTER_BLOCK_OF_N0, {"n0": n0})
    assert block % 16 == 0 and (n0 + block - 1) // block == 4
    x = sg.tensor("x", dtype, (None, None))
    xv = rng.uniform(0.5, 1.5, (37, n0)).astype(dtype)
    for first in range(0, n0, block):
        last = min(n0, first + block) - 1
        xv[5, first], xv[9, last], xv[11, last] = np.nan, np.inf, np.nan
    for kind in ("max", "min", "sum", "prod", "mean"):
        f = sg.function([x], getattr(x, kind)(axis=0), backend="numba")
        got, want = f(xv), getattr(xv, kind)(axis=0)
        thunk = next(t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk))
        ((_, parallel, outer, _, _),) = thunk.kernels
        assert parallel and outer and got.dtype == want.dtype
        # each block's row copied value by value: a slice assignment (out[lo:hi] = part) compiled
        # numba's shape-mismatch message into the block's serial function (numba_outline's)
        (kernel,) = thunk.kernels.values()
        with open(sys.modules[kernel.dispatcher.py_func.__module__].__file__) as fh:
            source = fh.read()
        assert "in_tasks(" in source and not re.search(r"\[\w+:\w+\] = ", source)
        if kind in ("max", "min"):
            np.testing.assert_array_equal(got, want)
        else:
            np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == "float32" else 1e-13)


@pytest.mark.parametrize("dtype", ["int32", "int8", "int16", "int64", "uint8", "uint16", "uint32"])
@pytest.mark.exhaustive
def test_integer_floor_division_and_mod_give_numpys_results(dtype, rng):
    """Integers of up to 32 bits divide as the floor of their float quotient, which vectorizes
    (int32 x // y of 10^6: 16x NumPy, 1.9x before). Every pair of edge values and random pairs,
    small divisors among them, give NumPy's results: 0 for a zero divisor, the minimum for the
    minimum // -1 (int64's too, where numba's division gave 0)."""
    info = np.iinfo(dtype)
    edges = [info.min, info.max, 0, 1, 2, 3, 7, info.max - 1] + ([-1, -2, -3, -7, info.min + 1] if info.min else [])
    # (and exact multiples, where a float quotient by the reciprocal falls just below: 49 * (1 / 49) < 1)
    divisors = rng.integers(1, min(info.max, 3000), 5000) * (rng.choice([-1, 1], 5000) if info.min else 1)
    multiples = rng.integers(0, 1 + min(info.max, 2 ** 40) // 3000, 5000) * (rng.choice([-1, 1], 5000) if info.min else 1)
    x = np.array([a for a in edges for _ in edges] + list(rng.integers(info.min, info.max, 20000, endpoint=True))
                 + list(divisors * multiples))
    y = np.array([b for _ in edges for b in edges] + list(rng.integers(info.min, info.max, 10000, endpoint=True))
                 + list(rng.integers(-40 if info.min else 0, 40, 10000)) + list(divisors))
    x, y = x.astype(dtype), y.astype(dtype)
    xs, ys = sg.tensor("x", dtype=dtype, shape=(None,)), sg.tensor("y", dtype=dtype, shape=(None,))
    f = sg.function([xs, ys], [xs // ys, xs % ys, xs // 7, xs % 7], backend="numba")
    with np.errstate(all="ignore"):
        want = [x // y, x % y, x // np.array(7, dtype), x % np.array(7, dtype)]
    for got, expected in zip(f(x, y), want):
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


def test_integer_division_by_a_variable_is_a_float_division_and_by_a_literal_a_multiplication():
    """A literal divisor LLVM divides by multiplying, in vector instructions (int32 x // 7: 1.8x
    NumPy), except for int64, whose multiply-high has no vector instruction: there the kernel
    multiplies by the reciprocal in 32-bit halves (magic_floor_quotient). A variable divisor of
    32 bits multiplies by its float64 reciprocal, corrected (floor_quotient_by_reciprocal; a 0-d
    one, whose plan a kernel makes before its loop, is the next test's), of 16 and 8 bits
    divides in float32; int64 is beyond float64's exact range: a float
    quotient corrected in integers (int64_floor_quotient), where numba's division was a scalar
    idiv a value."""
    from symgraph.backends.numba_codegen import step_source
    spelled = {(name, dtype, divisor): step_source(TABLE[name], ["x0", divisor], [dtype, dtype], dtype)
               for name in ("int_div", "mod") for dtype in ("int16", "int32", "int64")
               for divisor in ("x1", f"np.{dtype}(7)")}
    for (name, dtype, divisor), source in spelled.items():
        by_float = "floor_quotient_by_reciprocal(" in source or "np.floor(np.float32(" in source
        assert by_float == (dtype != "int64" and divisor == "x1"), (name, dtype, divisor, source)
        assert ("np.float32(" in source) == (by_float and dtype == "int16")
        assert ("magic_floor_quotient(" in source) == (dtype == "int64" and divisor != "x1")
        assert ("int64_floor_quotient(" in source) == (dtype == "int64" and divisor == "x1")


def _float_division_operands(dtype, rng):
    """Dividends and divisors where a float floor division or mod is easy to get wrong: exact
    multiples and their neighbours (a quotient rounded up to an integer), signed zeros, NaN,
    infinities, subnormals, huge and tiny quotients (beyond the checked range), random values."""
    kind = np.dtype(dtype).type
    info = np.finfo(dtype)
    n = 3000
    k = rng.integers(-1000, 1000, n).astype(dtype)
    b = (rng.uniform(0.1, 3, n) * rng.choice([-1, 1], n)).astype(dtype)
    multiples = k * b
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 7.5, info.tiny, info.smallest_subnormal,
                        info.max, -info.max, 1e30, 3.0], dtype)
    a = np.concatenate([multiples, np.nextafter(multiples, kind(np.inf)), np.nextafter(multiples, kind(-np.inf)),
                        rng.standard_normal(n).astype(dtype) * 100, np.repeat(special, special.size)])
    d = np.concatenate([b, b, b, (rng.uniform(0.5, 2, n) * rng.choice([-1, 1], n)).astype(dtype),
                        np.tile(special, special.size)])
    return a, d


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float_floor_division_and_mod_are_numpys_bits_in_vector_forms(dtype, rng):
    """Float x // y and x % y compute fmod in vector instructions (numba_vecmath's
    _numpy_divmod_near: float32 x // y of 10^4 0.6x -> 20x NumPy, where numba's and NumPy's
    call libm's fmod a value), and give NumPy's bits: signed zeros, exact multiples and their
    neighbours. NaN, infinities, zero divisors and quotients beyond the checked range make the
    kernel redo the loop with numba's division, which also gives NumPy's bits; a call without
    them never compiles that one. Flat, broadcast (a literal divisor, a row) and folded."""
    a, b = _float_division_operands(dtype, rng)
    with np.errstate(all="ignore"):
        near = np.isfinite(a) & np.isfinite(b) & (b != 0) & (np.abs(a) < 1e6 * np.abs(b))
    near, near_b = a[near], b[near]
    x, y = sg.tensor("x", dtype, (None,)), sg.tensor("y", dtype, (None,))
    m, row = sg.tensor("m", dtype, (None, None)), sg.tensor("row", dtype, (None,))
    f = sg.function([x, y], [x // y, x % y], backend="numba")
    by_literal = sg.function([m, row], [m % 2.5, m // row], backend="numba")
    folded = sg.function([x, y], (x % y).sum(), backend="numba")

    def bits(v):
        return np.asarray(v).view(f"u{np.dtype(dtype).itemsize}")
    for operands, exact_compiled in (((near, near_b), False), ((a, b), True)):
        with np.errstate(all="ignore"):
            want = [operands[0] // operands[1], operands[0] % operands[1]]
        for got, expected in zip(f(*operands), want):
            np.testing.assert_array_equal(bits(got), bits(expected))
        kernels = [k for t in executor_globals(f).values() if isinstance(t, numba_cpu.ElementwiseThunk)
                   for k in [*t.kernels.values(), *t.flat.values()]]
        assert kernels and all(isinstance(k, numba_cpu.codegen._RangeChecked) for k in kernels)
        assert any(k.exact is not None for k in kernels) == exact_compiled
    grid, rowv = near[:2400].reshape(60, 40), near_b[:40]
    with np.errstate(all="ignore"):
        want = [grid % np.dtype(dtype).type(2.5), grid // rowv]
        for got, expected in zip(by_literal(grid, rowv), want):
            np.testing.assert_array_equal(bits(got), bits(expected))
        for u, v in ((near, near_b), (a, b)):   # (without the finite extremes: their sum overflows float32)
            modest = ~((np.abs(u) >= 1e30) & np.isfinite(u)) & ~((np.abs(v) >= 1e30) & np.isfinite(v))
            operands = u[modest], v[modest]
            total = folded(*operands)
            expected = (operands[0] % operands[1]).sum(dtype=np.float64)
            np.testing.assert_allclose(total, expected, rtol=1e-4 if dtype == "float32" else 1e-12, equal_nan=True)


INT64 = np.iinfo(np.int64)
INT64 = np.iinfo(np.int64)


@pytest.mark.parametrize("divisor", [1, -1, 2, -2, 3, -3, 7, -7, 8, -8, 10, -1000, 641, 2 ** 31 - 1, 2 ** 32 + 1,
                                     3 ** 39, -(3 ** 39), 2 ** 62, 2 ** 62 - 1, 2 ** 62 + 1, INT64.max, INT64.max - 1,
                                     INT64.min, INT64.min + 1])
def test_int64_floor_division_and_mod_by_a_literal_give_numpys_results(divisor, rng):
    """int64 x // d and x % d for a literal d, by shifts (powers of two) or a multiply-high in
    32-bit halves (int64 x // 7 of 10^4 0.75x -> 1.15-1.31x NumPy, x // -10 0.50x -> 1.04-1.17x):
    NumPy's values over edge values and random ones of every size, the minimum // -1 (the
    minimum) and // the minimum among them, in a kernel on one core and one on two."""
    edges = [INT64.min, INT64.min + 1, INT64.max, INT64.max - 1, 0, 1, -1, 2, -2, 3, -3, 6, 7, -7, -8,
             2 ** 53 + 1, -(2 ** 53) - 3, 2 ** 62, -(2 ** 62), divisor, divisor - 1, divisor + 1, -divisor]
    edges = [e for e in edges if INT64.min <= e <= INT64.max]
    x = np.array(edges + list(rng.integers(INT64.min, INT64.max, 3000, endpoint=True))
                 + list(rng.integers(-10 ** 6, 10 ** 6, 3000)) + [divisor * k for k in range(-40, 40) if
                                                                  INT64.min <= divisor * k <= INT64.max], np.int64)
    xs = sg.tensor("x", dtype="int64", shape=(None,))
    f = sg.function([xs], [xs // divisor, xs % divisor], backend="numba")
    for data in (x, np.tile(x, 1 + 2 * 10 ** 5 // x.size)):     # (the second above the parallel threshold)
        with np.errstate(all="ignore"):
            want = [data // np.int64(divisor), data % np.int64(divisor)]
        for got, expected in zip(f(data), want):
            assert got.dtype == np.int64
            np.testing.assert_array_equal(got, expected)


def _of_every_size(count, info, rng):
    """`count` random integers within info's range, each of a random bit length, of random sign."""
    values = []
    for bits in rng.integers(1, info.bits + 1, count):
        v = int.from_bytes(rng.bytes(8), "little") >> (64 - int(bits))
        v = -v if info.min and rng.random() < 0.5 else v
        values.append(min(max(v, info.min), info.max))
    return values


def _divisors_and_dividends(dtype, rng):
    """Divisors: every value of 8 bits, else the edges, the small ones, powers of two and their
    neighbours, and random ones of every size; dividends: every value up to 16 bits, else the
    edges and random ones of every size (the exact multiples of each divisor come in the test)."""
    info = np.iinfo(dtype)
    if info.bits == 8:
        every = np.arange(info.min, info.max + 1).astype(dtype)
        return every, every
    signs = [1, -1] if info.min else [1]
    near = {s * v for s in signs for k in range(info.bits) for v in ((1 << k) - 1, 1 << k, (1 << k) + 1)}
    edges = sorted(d for d in {info.min, info.min + 1, info.max, info.max - 1} | set(range(-20 if info.min else 0, 21))
                   | near if info.min <= d <= info.max)
    divisors = np.array(sorted(set(edges) | set(_of_every_size(120, info, rng))), dtype)
    if info.bits == 16:
        return divisors, np.arange(info.min, info.max + 1).astype(dtype)
    dividends = np.array(edges + list(rng.integers(info.min, info.max, 3000, dtype=dtype, endpoint=True))
                         + _of_every_size(3000, info, rng), dtype)
    return divisors, dividends


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint64", "int8", "uint8", "int16", "uint16", "uint32"])
@pytest.mark.exhaustive
def test_integer_division_by_a_0d_divisor_gives_numpys_results(dtype, rng):
    """x // n and x % n for a 0-d n, which a kernel divides by with a plan worked out before its
    loop (numba_integers._by_invariant: int64 and uint64 by a multiply-high whose multiplier is
    found at the call, unsigned narrower ones by one in their width, signed ones by a reciprocal
    biased upward, no correction; x // n of
    10^5 int32 0.84x -> 1.4x NumPy's libdivide, int64 0.55x -> 1.2x): NumPy's values for every
    divisor of 8 bits, edge and random ones of more, over every dividend up to 16 bits, edge and
    random ones of more and the divisor's exact multiples and their neighbours; in flat kernels
    on one core and on two, and in a broadcast one ((x + row) // n); 0 for a zero divisor."""
    divisors, dividends = _divisors_and_dividends(dtype, rng)
    info = np.iinfo(dtype)
    x, n, row = sg.tensor("x", dtype, (None,)), sg.tensor("n", dtype, ()), sg.tensor("row", dtype, (None,))
    flat = sg.function([x, n], [x // n, x % n], backend="numba")
    grid = sg.tensor("g", dtype, (None, None))
    broadcast = sg.function([grid, row, n], [(grid + row) // n, (grid + row) % n], backend="numba")
    wide = np.tile(dividends, 1 + (1 << 18) // dividends.size)   # (above the parallel threshold)
    zero_row = np.zeros(4, dtype)
    for d in divisors:
        d = np.array(d, dtype)
        lo, hi = sorted((info.min // int(d), info.max // int(d))) if d else (0, 0)
        quotients = [lo + int.from_bytes(rng.bytes(8), "little") % (hi - lo + 1) for _ in range(8)] + list(range(-3, 4))
        multiples = [int(d) * q + e for q in quotients for e in (-1, 0, 1)]
        values = np.concatenate([dividends, np.array([m for m in multiples if info.min <= m <= info.max], dtype)])
        for data in (values, wide) if d in divisors[:3] else (values,):
            with np.errstate(all="ignore"):
                want = [data // d, data % d]
            for got, expected in zip(flat(data, d), want):
                assert got.dtype == expected.dtype
                np.testing.assert_array_equal(got, expected, err_msg=f"{dtype} divisor {d}")
        cut = values[: values.size // 4 * 4].reshape(-1, 4)
        with np.errstate(all="ignore"):
            want = [(cut + zero_row) // d, (cut + zero_row) % d]
        for got, expected in zip(broadcast(cut, zero_row, d), want):
            np.testing.assert_array_equal(got, expected, err_msg=f"{dtype} divisor {d} (broadcast)")


def test_the_plans_long_division_is_pythons(rng):
    """numba_integers._long_division (high 2^64 // d and its remainder, high < d), in chunks of the
    hardware's division or, for d from 2^63, a bit at a time: Python's integers' answers for d of
    every bit length, high at 0, d - 1, random and the powers of two the plans ask for."""
    from symgraph.backends import numba_integers as ni
    for bits in range(1, 65):
        for d in {(1 << (bits - 1)) | int(v) for v in rng.integers(0, 1 << min(bits - 1, 62), 6, dtype=np.uint64,
                                                                  endpoint=True)} | {(1 << bits) - 1}:
            d &= (1 << bits) - 1
            if d < 2:
                continue
            for high in {0, d - 1, (1 << (d.bit_length() - 1)) % d, int(rng.integers(0, min(d, 2 ** 63)))}:
                q, r = ni._long_division(np.uint64(high), np.uint64(d))
                assert (int(q), int(r)) == divmod(high << 64, d), (high, d)


@pytest.mark.parametrize("dtype", ["int8", "uint16", "int32", "uint32", "int64", "uint64"])
def test_a_kernel_divides_by_a_0d_divisor_with_a_plan_made_before_its_loop(dtype):
    """The step of x // n and x % n for a loop-invariant n reads a plan the kernel makes once
    (the line it leaves in `invariant`); without one it divides as before. A function's flat
    and broadcast kernels of a 0-d n make it before their loops (the functional test above
    passes either way: the old division was exact too, only slower)."""
    from symgraph.backends import numba_codegen
    for name in ("int_div", "mod"):
        invariant = {"x1": None}
        source = numba_codegen.step_source(TABLE[name], ["x0", "x1"], [dtype, dtype], dtype, invariant=invariant)
        assert "plan_x1" in source and invariant["x1"].startswith("plan_x1 = "), source
        assert "plan" not in numba_codegen.step_source(TABLE[name], ["x0", "x1"], [dtype, dtype], dtype)
    x, n = sg.tensor("x", dtype, (None,)), sg.tensor("n", dtype, ())
    m, row = sg.tensor("m", dtype, (None, None)), sg.tensor("row", dtype, (None,))
    (flat,) = sg.function([x, n], x // n + x % n, backend="numba").fgraph.apply_nodes
    (broadcast,) = sg.function([m, row, n], (m + row) // n, backend="numba").fgraph.apply_nodes
    sources = [numba_codegen._flat_source(flat.op, (dtype, dtype), (False, True), False),
               numba_codegen._broadcast_source(broadcast.op, (dtype,) * 3, 2, [(False, False), (False,), (True,)],
                                               False)]
    for source in sources:
        prelude = source[:source.index("    for ")]
        assert re.search(r"plan_x\d = ", prelude) and "plan_x" in source[len(prelude):], source


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "uint32", "int64"])
def test_a_reduction_of_a_division_by_a_0d_divisor_makes_its_plan_before_its_loops(dtype, monkeypatch):
    """(x // n).sum(axis=1) and (x % n).max() fuse into reductions whose kernels read the 0-d n
    before their loops; the division's plan is made there too, as in elementwise kernels
    (before, each value was divided through a float: int64 (x // n).sum(axis=1) of 300x400
    148 -> 66 us, NumPy's 104-115). NumPy's values for divisors of both signs, 1 and 0."""
    from symgraph.backends import numba_codegen
    sources = []
    real = numba_codegen._compile
    monkeypatch.setattr(numba_codegen, "_compile", lambda source: sources.append(source) or real(source))
    info = np.iinfo(dtype)
    x, n = sg.tensor("x", dtype, (None, None)), sg.tensor("n", dtype, ())
    f = sg.function([x, n], [(x // n).sum(axis=1), (x % n).max()], backend="numba")
    assert all(type(node.op).__name__ == "CompositeReduce" for node in f.fgraph.apply_nodes)
    value = np.random.default_rng(0).integers(info.min, info.max, (30, 40), endpoint=True).astype(dtype)
    for d in (7, 1, 0, 3 if info.min == 0 else -3, info.max):
        with np.errstate(all="ignore"):
            want = [(value // np.array(d, dtype)).sum(axis=1), (value % np.array(d, dtype)).max()]
        for got, expected in zip(f(value, np.array(d, dtype)), want):
            np.testing.assert_array_equal(got, expected)
    assert len(sources) == 2
    for source in sources:
        prelude = source[:source.index("    for ")]
        assert re.search(r"plan_x1 = ", prelude) and "plan_x1" in source[len(prelude):], source


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="reads x86 assembly")
def test_the_int64_multiply_high_by_a_literal_vectorizes():
    """magic_floor_quotient's loop multiplies 32-bit halves in vector instructions (pmuludq),
    where LLVM's 64-bit multiply-high of x // 7 is one scalar multiply a value."""
    from symgraph.backends import numba_integers as ni
    shift = 2
    m = (1 << (64 + shift)) // 7 + 1
    low, high, by = np.uint64(m & 0xFFFFFFFF), np.uint64(m >> 32), np.uint64(shift)

    @numba.njit(error_model="numpy")
    def divide(a, out):
        for i in range(a.shape[0]):
            out[i] = ni.magic_floor_quotient(a[i], low, high, by)
    a = np.arange(-50, 50, dtype=np.int64) * 12345678901
    out = np.empty_like(a)
    divide(a, out)
    np.testing.assert_array_equal(out, a // 7)
    assert re.search(r"\bv?pmuludq\b", "".join(divide.inspect_asm().values()))


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="reads x86 assembly")
@pytest.mark.parametrize("dtype", ["uint8", "int8", "uint16"])
def test_narrow_division_by_a_plan_runs_in_16_bit_lanes(dtype):
    """uint8, int8 and uint16 x // n by a 0-d n multiply high in 16-bit lanes (vpmulhuw), the
    plan's steps in them too: written in numba's arithmetic, which widens to 64 bits, the loop
    kept eight values a vector (uint8 x // n of 10^5 11.2 -> 4.1 us with the function's call,
    NumPy's 3.4-3.9; int8 9-10 -> 6.2, NumPy's 7-8; uint16 9.2 -> 5.7, NumPy's 4.8-5.2)."""
    from symgraph.backends import numba_integers as ni

    @numba.njit(error_model="numpy")
    def divide_unsigned8(a, d, out):
        plan = ni.unsigned8_plan(d)
        for i in range(a.shape[0]):
            out[i] = ni.unsigned8_floor_by_plan(a[i], plan)

    @numba.njit(error_model="numpy")
    def divide_signed8(a, d, out):
        plan = ni.signed8_plan(d)
        for i in range(a.shape[0]):
            out[i] = ni.signed8_floor_by_plan(a[i], plan)

    @numba.njit(error_model="numpy")
    def divide16(a, d, out):
        m, shift, one = ni.unsigned_narrow_plan(d, 16)
        for i in range(a.shape[0]):
            out[i] = ni.unsigned_narrow_floor_by_plan(np.uint16(a[i]), np.uint16(m), np.uint16(shift), one)
    divide = {"uint8": divide_unsigned8, "int8": divide_signed8, "uint16": divide16}[dtype]
    a = np.arange(np.iinfo(dtype).min, np.iinfo(dtype).max + 1).astype(dtype)
    out = np.empty_like(a)
    for d in (1, 2, 7, 100) + ((-1, -7, -128) if dtype == "int8" else ()):
        divide(a, np.array(d, dtype)[()], out)
        with np.errstate(over="ignore"):  # (-128 // -1: -128, NumPy's wrapped quotient)
            np.testing.assert_array_equal(out, a // np.array(d, dtype))
    asm = "".join(divide.inspect_asm().values())
    assert re.search(r"\bvpmulhuw\s+%[yz]mm", asm)
    assert not re.search(r"\bvp(srlv?q|subq|movqw)\b", asm)  # (no 64-bit lanes)


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("dtype", ["int16", "int32", "int64", "uint8"])
@pytest.mark.exhaustive
def test_integer_powers_give_numpys_values_and_refuse_negative_exponents(dtype, parallel):
    """Integer powers wrap as NumPy's loop in the dtype does (every pair of small edge values,
    exponents up to 70); a negative exponent raises NumPy's ValueError, where numba's power gave
    0, or for the minimum OverflowError, which a parallel task turned into a MemoryError. The
    parallel kernel's tasks hand on the first one's exception (numba_tasks)."""
    info = np.iinfo(dtype)
    bases = sorted({info.min, info.min + 1, info.max, 0, 1, 2, 3, 7, 255} | ({-1, -2, -3} if info.min else set()))
    bases = [b for b in bases if info.min <= b <= info.max]
    exponents = [0, 1, 2, 3, 7, 8, 15, 16, 31, 32, 63, 64, 70]
    # (parallel: at least COSTLY_THRESHOLD values, past any costly loop's parallel threshold)
    repeats = -(-numba_cpu.codegen.COSTLY_THRESHOLD // (len(bases) * len(exponents))) if parallel else 2
    x = np.array([b for b in bases for _ in exponents] * repeats, dtype)
    y = np.array([e for _ in bases for e in exponents] * repeats, dtype)
    xs, ys = sg.tensor("x", dtype, (None,)), sg.tensor("y", dtype, (None,))
    f = sg.function([xs, ys], xs ** ys, backend="numba")
    with np.errstate(all="ignore"):
        want = x ** y
    got = f(x, y)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    (thunk,) = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ElementwiseThunk)]
    assert set(thunk.flat) == {(parallel, None)}  # (the loop this case is about ran)
    if info.min:
        for negative in (-1, info.min):
            y[len(y) // 2] = negative  # (one value: the task that meets it fails, the others run)
            with pytest.raises(ValueError, match="Integers to negative integer powers are not allowed"):
                f(x, y)


def test_int64_arithmetic_wraps_around_as_numpys_does():
    """numba's signed arithmetic carries LLVM's nsw flag (overflow undefined), which let LLVM
    fold (a - b) > a into b < 0; NumPy's int64 wraps, so where a - b overflowed the other branch
    was taken. Each of +, -, * and negation next to a comparison it could be folded into."""
    a, b = sg.tensor("a", "int64", (None,)), sg.tensor("b", "int64", (None,))
    low, high = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    av = np.array([low, low + 3, high, high - 1, 5, -7, low, high], np.int64)
    bv = np.array([5, 9, -5, -9, 3, 4, -1, 2], np.int64)
    outputs = [sg.where((a - b) > a, a - b, 0), sg.where((a + b) < a, a + b, 0), sg.where(-a < 0, -a, 1),
               sg.where((a * 2) < a, a * 2, 0), sg.where(a * a >= 0, 1, a * a)]
    got, want = both([a, b], outputs, av, bv)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_float_steps_convert_integer_arguments_first_as_numpys_loops_do():
    """A float step's integer and bool arguments are converted to its dtype before it computes,
    in the loops and in the reference (ScalarOp.__call__): int32 % uint64 (float64) of 0 is NaN
    (numba's integer % gave 0); sigmoid of uint64 5 and of int64's minimum are 0.993 and 0 (both
    had negated the value in its own type); exp of int16 is float32's vectorized exp."""
    i32, u64, i64, i16 = (sg.tensor(n, n, (None,)) for n in ("int32", "uint64", "int64", "int16"))
    low = np.iinfo(np.int64).min
    values = [np.array([-7, 7, 0, 5], np.int32), np.array([0, 2, 0, 3], np.uint64),
              np.array([low, 5, 0, -5], np.int64), np.array([-3, 0, 2, 9], np.int16)]
    outputs = [i32 % u64, i32 // u64, sg.nn.sigmoid(u64), sg.nn.sigmoid(i64), sg.exp(i16), sg.nn.softplus(i64)]
    got, want = both([i32, u64, i64, i16], outputs, *values)
    with np.errstate(all="ignore"):
        assert np.isnan(want[0][[0, 2]]).all() and want[1][0] == -np.inf
        np.testing.assert_allclose(want[2], 1 / (1 + np.exp(-values[1].astype(float))))
        np.testing.assert_allclose(want[3], 1 / (1 + np.exp(-values[2].astype(float))))
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=1e-6, equal_nan=True)
    # exp of an int16 is float32's vectorized exp of the converted value, not libm's float64 exp
    from symgraph.backends.numba_codegen import VECTOR_FORMS, step_source
    vectorized = VECTOR_FORMS["float32"]["exp"].format("np.float32(x0)")
    assert step_source(TABLE["exp"], ["x0"], ["int16"], "float32") == f"np.float32({vectorized})"


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "bool"])
def test_integer_reciprocals_are_numpys(dtype):
    """NumPy's integer reciprocal converts 1.0 / x back: 1 and -1 are themselves, the others 0,
    and 0 the CPU's conversion of inf (int32's minimum on x86), where numba's gave the maximum."""
    x = sg.tensor("x", dtype, (None,))
    info = np.iinfo(dtype) if dtype != "bool" else None
    values = np.array([False, True, False] if dtype == "bool" else
                      [0, 1, 2, 3, info.max, info.min] + ([-1, -2, info.min + 1] if info.min else []), dtype)
    got, want = both([x], sg.reciprocal(x), values)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_a_fused_loop_with_a_half_precision_step_runs_numpys():
    """sqrt of uint8 is float16, which numba cannot compute: a loop with such a step inside
    runs the reference, as float16 nodes do (numba raised NotImplementedError)."""
    x, y = sg.tensor("x", "uint8", (None,)), sg.tensor("y", "int32", (None,))
    xv, yv = np.array([0, 4, 255, 9], np.uint8), np.array([1, -1, 20, 2], np.int32)
    got, want = both([x, y], sg.minimum(y, sg.sqrt(x)), xv, yv)
    assert got.dtype == want.dtype == np.float64
    np.testing.assert_array_equal(got, want)


def test_single_values_of_float_functions_convert_integer_arguments_first():
    """0-d values run a Python program of NumPy scalars (_scalar_program): sigmoid of a uint64 5
    and of int64's minimum are 0.993 and 0 there too (the table's 1 / (1 + exp(-x)) had negated
    them in their own type)."""
    x, y = sg.tensor("x", "uint64", ()), sg.tensor("y", "int64", ())
    outputs = [sg.nn.sigmoid(x), sg.nn.sigmoid(y), sg.nn.sigmoid(x) * sg.nn.sigmoid(-y)]
    got, want = both([x, y], outputs, np.uint64(5), np.int64(np.iinfo(np.int64).min))
    np.testing.assert_allclose(want[:2], [1 / (1 + np.exp(-5.0)), 0.0])
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=1e-12)
    # and a constant's value folded while the graph is built (Elemwise.fold_static)
    from symgraph.ops.base import constant_value
    np.testing.assert_allclose(constant_value(sg.nn.sigmoid(sg.constant(np.uint64(5)))), want[0])


@pytest.mark.parametrize("name", ["sin", "cos", "tan"])
@pytest.mark.usefixtures("ours_only")
def test_trig_of_integers_beside_checked_trig_is_exact_beyond_the_checked_range(name):
    """A loop with our range-checked sin/cos/tan of floats checks their arguments only: a step
    of an integer argument (converted to float64 first) takes the exact form, not the
    range-limited one, however large the integer. Our forms only (no SVML's: what a CPU without
    AVX-512 runs): sin(x) + sin(i) of i = 2e9 had been wrong."""
    x, i = sg.tensor("x", "float64", (None,)), sg.tensor("i", "int32", (None,))
    xv, iv = np.array([0.5, 1.0, 2.0, -3.0]), np.array([2_000_000_000, 7, 1_600_000, -2_000_000_000], np.int32)
    fn = getattr(sg, name)
    got = sg.function([x, i], fn(x) + fn(i), backend="numba")(xv, iv)
    np.testing.assert_allclose(got, getattr(np, name)(xv) + getattr(np, name)(iv), rtol=1e-12)


@pytest.mark.slow  # (four fresh processes)
@pytest.mark.parametrize("numba_cache_dir", [False, True])
def test_a_kernel_compiled_by_an_earlier_process_is_found_cached(numba_cache_dir, tmp_path):
    """numba_codegen.is_cached (which decides whether a whole-program function compiles in a
    child process) looks where numba's disk cache put the kernel: the kernel folder's
    __pycache__, or NUMBA_CACHE_DIR's folder for it where that is set (it had looked in
    __pycache__ only, and answered no for every kernel)."""
    import subprocess
    code = ("import numpy as np, symgraph as sg\n"
            "from symgraph.backends import numba_codegen\n"
            "x = sg.fvector('x')\n"
            "f = sg.function([x], x * 3 + 1)\n"
            "source = numba_codegen._flat_source(f.fgraph.apply_nodes[-1].op, ('float32',), (False,), False)\n"
            "cached = numba_codegen.is_cached(source)\n"
            "f(np.ones(5, np.float32))\n"
            "print(cached)\n")
    env = dict(os.environ, SYMGRAPH_CACHE_DIR=str(tmp_path / "symgraph"))
    env.pop("NUMBA_CACHE_DIR", None)
    if numba_cache_dir:
        env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba")
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True) for _ in range(2)]
    assert [r.stdout.split() for r in runs] == [["False"], ["True"]], [r.stderr[-2000:] for r in runs]


def test_hard_sigmoid_of_integers_is_a_float():
    """hard_sigmoid of an integer is float64, as sigmoid's: the reference had cast its slope
    0.2 to the integer dtype (0, so every value 0) and the loop truncated its result."""
    x = sg.tensor("x", "int32", (None,))
    got, want = both([x], sg.nn.hard_sigmoid(x), np.array([-5, 0, 1, 2, 3], np.int32))
    assert got.dtype == want.dtype == np.float64
    np.testing.assert_allclose(want, [0.0, 0.5, 0.7, 0.9, 1.0])
    np.testing.assert_allclose(got, want)
