"""Theano's extra_ops and NumPy's array functions: cumprod, diff, bincount, to_one_hot,
fill_diagonal, searchsorted, unravel_index, ravel_multi_index, unique, specify_shape, nonzero,
flatnonzero, nonzero_values, argwhere, take, compress, quantile / percentile / median, ptp,
nan_to_num, the nan-reductions and einsum. Values against NumPy on both CPU backends,
gradients against finite differences, bad input refused with the variable named."""
import numpy as np
import pytest

import symgraph as sg
from symgraph.backends import numba_cpu
from symgraph.ops.extra_ops import LinearRecurrence
from tests.conftest import executor_globals

RNG = np.random.default_rng(82)
M = RNG.normal(size=(4, 5))
M_WITH_ZEROS = np.where(RNG.random((4, 5)) < 0.3, 0.0, M)
NANS = np.where(RNG.random((4, 5)) < 0.25, np.nan, M)
NANS[2] = np.nan  # (a row of NaN only)
SPECIAL = np.array([1.0, np.nan, np.inf, -np.inf, -2.0])
V = RNG.integers(0, 6, size=9)
W = RNG.normal(size=9)
SORTED = np.array([-1.0, 0.0, 0.0, 2.5, 7.0])


def _cases():
    """(name, graph of x (4x5 float), y (int vector), w (float vector), NumPy's answer)."""
    return [
        ("cumprod", lambda x, y, w: sg.cumprod(x, 1), lambda: np.cumprod(M_WITH_ZEROS, 1)),
        ("cumprod-flat", lambda x, y, w: x.cumprod(), lambda: np.cumprod(M_WITH_ZEROS)),
        ("cumprod-int", lambda x, y, w: sg.cumprod(y), lambda: np.cumprod(V)),
        ("diff", lambda x, y, w: sg.diff(x), lambda: np.diff(M_WITH_ZEROS)),
        ("diff-2-axis0", lambda x, y, w: sg.diff(x, 2, axis=0), lambda: np.diff(M_WITH_ZEROS, 2, axis=0)),
        ("bincount", lambda x, y, w: sg.bincount(y), lambda: np.bincount(V)),
        ("bincount-weights", lambda x, y, w: sg.bincount(y, w, minlength=8), lambda: np.bincount(V, W, 8)),
        ("to_one_hot", lambda x, y, w: sg.to_one_hot(y, 6, "float64"), lambda: np.eye(6)[V]),
        ("fill_diagonal", lambda x, y, w: sg.fill_diagonal(x, 9.0), lambda: _filled(M_WITH_ZEROS, 9.0, 0)),
        ("fill_diagonal+2", lambda x, y, w: sg.fill_diagonal_offset(x, w[0], 2), lambda: _filled(M_WITH_ZEROS, W[0], 2)),
        ("fill_diagonal-1", lambda x, y, w: sg.fill_diagonal(x, 0.5, -1), lambda: _filled(M_WITH_ZEROS, 0.5, -1)),
        ("searchsorted", lambda x, y, w: sg.searchsorted(sg.constant(SORTED), w), lambda: np.searchsorted(SORTED, W)),
        ("searchsorted-right", lambda x, y, w: sg.searchsorted(sg.constant(SORTED), x, "right"),
         lambda: np.searchsorted(SORTED, M_WITH_ZEROS, "right")),
        ("unravel_index", lambda x, y, w: sg.stack(sg.unravel_index(y * 3, (4, 5))),
         lambda: np.stack(np.unravel_index(V * 3, (4, 5)))),
        ("unravel_index-F", lambda x, y, w: sg.stack(sg.unravel_index(y, (2, 3), order="F")),
         lambda: np.stack(np.unravel_index(V, (2, 3), order="F"))),
        ("ravel_multi_index", lambda x, y, w: sg.ravel_multi_index((y % 4, y), (4, 6)),
         lambda: np.ravel_multi_index((V % 4, V), (4, 6))),
        ("unique", lambda x, y, w: sg.unique(y), lambda: np.unique(V)),
        ("unique-all", lambda x, y, w: sg.concatenate(sg.unique(y, True, True, True)),
         lambda: np.concatenate(np.unique(V, True, True, True))),
        ("unique-rows", lambda x, y, w: sg.unique(sg.stack([y % 2, y % 3], axis=1), axis=0),
         lambda: np.unique(np.stack([V % 2, V % 3], axis=1), axis=0)),
        ("nonzero", lambda x, y, w: sg.stack(sg.nonzero(x)), lambda: np.stack(np.nonzero(M_WITH_ZEROS))),
        ("nonzero-matrix", lambda x, y, w: x.nonzero(return_matrix=True), lambda: np.array(np.nonzero(M_WITH_ZEROS))),
        ("flatnonzero", lambda x, y, w: sg.flatnonzero(x), lambda: np.flatnonzero(M_WITH_ZEROS)),
        ("nonzero_values", lambda x, y, w: sg.nonzero_values(x), lambda: M_WITH_ZEROS[M_WITH_ZEROS != 0]),
        ("argwhere", lambda x, y, w: sg.argwhere(x), lambda: np.argwhere(M_WITH_ZEROS)),
        ("take", lambda x, y, w: sg.take(x, y % 5, axis=1), lambda: np.take(M_WITH_ZEROS, V % 5, axis=1)),
        ("take-flat-negative", lambda x, y, w: x.take(-y), lambda: np.take(M_WITH_ZEROS, -V)),
        ("take-matrix-of-indices", lambda x, y, w: sg.take(x, y.reshape((3, 3)) % 4, axis=0),
         lambda: np.take(M_WITH_ZEROS, V.reshape(3, 3) % 4, axis=0)),
        ("compress", lambda x, y, w: sg.compress(y[:5] > 2, x, axis=1), lambda: np.compress(V[:5] > 2, M_WITH_ZEROS, 1)),
        ("median", lambda x, y, w: sg.median(x), lambda: np.median(M_WITH_ZEROS)),
        ("median-axis", lambda x, y, w: sg.median(x, axis=0, keepdims=True), lambda: np.median(M_WITH_ZEROS, 0, keepdims=True)),
        ("quantile", lambda x, y, w: sg.quantile(x, [0.0, 0.1, 0.75, 1.0], axis=1),
         lambda: np.quantile(M_WITH_ZEROS, [0.0, 0.1, 0.75, 1.0], axis=1)),
        ("percentile-int", lambda x, y, w: sg.percentile(y, 40), lambda: np.percentile(V, 40)),
        ("quantile-keepdims", lambda x, y, w: sg.quantile(x, [0.3, 0.6], keepdims=True),
         lambda: np.quantile(M_WITH_ZEROS, [0.3, 0.6], keepdims=True)),
        ("ptp", lambda x, y, w: x.ptp(axis=1), lambda: np.ptp(M_WITH_ZEROS, axis=1)),
        ("einsum-matmul", lambda x, y, w: sg.einsum("ij,kj->ik", x, x), lambda: M_WITH_ZEROS @ M_WITH_ZEROS.T),
        ("einsum-implicit", lambda x, y, w: sg.einsum("ij,jk", x, x.T), lambda: M_WITH_ZEROS @ M_WITH_ZEROS.T),
        ("einsum-three", lambda x, y, w: sg.einsum("ij,j,kj->ki", x, x[0], x),
         lambda: np.einsum("ij,j,kj->ki", M_WITH_ZEROS, M_WITH_ZEROS[0], M_WITH_ZEROS)),
        ("einsum-trace", lambda x, y, w: sg.einsum("ii", x[:, :4]), lambda: np.trace(M_WITH_ZEROS[:, :4])),
        ("einsum-outer-int", lambda x, y, w: sg.einsum("i,j->ji", y, y), lambda: np.outer(V, V).T),
        ("einsum-ellipsis", lambda x, y, w: sg.einsum("...j,kj->...k", x.reshape((2, -1, x.shape[1])), x),
         lambda: np.einsum("...j,kj->...k", M_WITH_ZEROS.reshape(2, -1, M_WITH_ZEROS.shape[1]), M_WITH_ZEROS)),
    ]


def _filled(a, val, offset):
    a = a.copy()
    k = np.arange(min(a.shape[0] - max(-offset, 0), a.shape[1] - max(offset, 0)))
    a[k + max(-offset, 0), k + max(offset, 0)] = val
    return a


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_values_match_numpy(backend):
    x, y, w = sg.dmatrix("x"), sg.lvector("y"), sg.dvector("w")
    cases = _cases()
    f = sg.function([x, y, w], [fn(x, y, w) for _, fn, _ in cases], backend=backend, on_unused_input="ignore")
    for (name, _, want), got in zip(cases, f(M_WITH_ZEROS, V, W)):
        want = want()
        assert got.shape == want.shape and got.dtype.kind == want.dtype.kind, name
        np.testing.assert_allclose(got, want, rtol=1e-13, err_msg=name)
    if backend == "numba":
        assert all(isinstance(node.op, numba_cpu.NATIVE) for node in f.fgraph.apply_nodes)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_nan_aware_functions_match_numpy(backend):
    x, s = sg.dmatrix("x"), sg.dvector("s")
    outs = [sg.nansum(x, 1), sg.nanmean(x, 0), sg.nanmax(x, 1), sg.nanmin(x), sg.median(x, axis=1),
            sg.quantile(x, 0.3), sg.nan_to_num(s), sg.nan_to_num(s, nan=-1.0, posinf=9.0, neginf=-9.0),
            sg.nan_to_num(sg.cast(s, "float32"))]
    got = sg.function([x, s], outs, backend=backend)(NANS, SPECIAL)
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        want = [np.nansum(NANS, 1), np.nanmean(NANS, 0), np.nanmax(NANS, 1), np.nanmin(NANS),
                np.median(NANS, axis=1), np.quantile(NANS, 0.3), np.nan_to_num(SPECIAL),
                np.nan_to_num(SPECIAL, nan=-1.0, posinf=9.0, neginf=-9.0), np.nan_to_num(SPECIAL.astype("float32"))]
    for k, (g, w) in enumerate(zip(got, want)):
        assert g.dtype == w.dtype, k
        np.testing.assert_allclose(g, w, rtol=1e-13, err_msg=f"output {k}")


@pytest.mark.parametrize("fn, points", [
    (lambda x: sg.cumprod(x, 1), [M_WITH_ZEROS]),  # (zeros too: no division by x)
    (lambda x: sg.cumprod(x), [np.array([2.0, 0.0, 3.0, 0.0, -1.5])]),
    (lambda x: sg.diff(x, 2, axis=0), [M]),
    (lambda w: sg.bincount(sg.constant(V), w), [W]),
    (lambda x, v: sg.fill_diagonal(x, v.sum(), 1), [M, np.array([0.5, 2.0])]),
    (lambda x: sg.take(x, sg.constant(V % 5), axis=1) + sg.compress(sg.constant(V[:4] > 2), x, axis=0).sum(), [M]),
    (lambda x: sg.nonzero_values(x * sg.constant(M_WITH_ZEROS != 0)), [M]),  # (zeros that stay zeros)
    (lambda x: sg.stack([sg.median(x), sg.quantile(x, 0.3), sg.percentile(x, 90)]), [M]),
    (lambda x: sg.quantile(x, [0.2, 0.5], axis=0), [M]),
    (lambda x: sg.ptp(x, 0) + sg.nanmean(x, 0) + sg.nanmax(x, 0), [M]),
    (lambda a, b: sg.einsum("ij,kj->ik", a, b), [M, M[:3]]),
    (lambda a, b, c: sg.einsum("ij,j,kj->ki", a, b, c), [M, M[0], M[:2]]),
    (lambda a, b: sg.einsum("ij,jk", a, b), [M, M.T]),
    (lambda a: sg.einsum("ijk->j", a), [RNG.normal(size=(2, 3, 4))]),  # (letters summed in a alone)
    (lambda a, b: sg.einsum("ij,ij->i", a, b), [M, M * 2]),
    (lambda a, b: sg.einsum("...ij,...jk->...ik", a, b), [RNG.normal(size=(4, 1, 2, 3)), RNG.normal(size=(5, 3, 2))]),
    (lambda a, b: sg.einsum("bi...,bi", a, b), [RNG.normal(size=(2, 3, 4)), RNG.normal(size=(2, 3))]),
    (lambda a, b: sg.einsum("ij,jk->ik", a, b), [RNG.normal(size=(2, 1)), RNG.normal(size=(3, 4))]),
    (lambda a, b: (sg.einsum("iij,j->i", a, b) + sg.einsum("ii", a[:, :, 0])
                   + sg.einsum("jii->i", a.dimshuffle(2, 0, 1))),
     [RNG.normal(size=(3, 3, 4)), RNG.normal(size=4)]),  # (repeated letters: diagonals and a trace)
    (lambda x: sg.specify_shape(x, (4, None)) * 2, [M]),
], ids=["cumprod-zeros", "cumprod-flat", "diff", "bincount", "fill_diagonal", "take-compress", "nonzero_values",
        "order-statistics", "quantiles", "ptp-nan", "einsum-matmul", "einsum-three", "einsum-implicit",
        "einsum-summed-alone", "einsum-rowwise", "einsum-batched-ellipses", "einsum-implicit-ellipsis",
        "einsum-broadcast-letter", "einsum-diagonals", "specify_shape"])
def test_gradients_match_finite_differences(fn, points):
    sg.verify_grad(fn, points, rng=np.random.default_rng(6))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("axis", [0, 1])
def test_cumprod_differentiates_to_any_order_zeros_too(axis, backend):
    """cumprod's gradient is a graph (an exclusive cumprod times a linear recurrence from the end,
    LinearRecurrence, whose gradient is the same recurrence the other way): second and third
    derivatives against finite differences, at zeros too (no division by x). Its gradient had
    been an op without a gradient ('CumProdGrad has no gradient')."""
    second = lambda x: sg.grad((sg.cumprod(x, axis) ** 2).sum(), x)  # noqa: E731
    third = lambda x: sg.grad((second(x) ** 2).sum(), x)  # noqa: E731
    for point in (M_WITH_ZEROS[:, :4], M[:, :3]):
        sg.verify_grad(second, [point], rng=np.random.default_rng(7), backend=backend)
        sg.verify_grad(third, [point], rng=np.random.default_rng(8), backend=backend)


@pytest.mark.parametrize("reverse", [False, True])
def test_linear_recurrence_matches_its_loop(reverse):
    a, b = RNG.normal(size=(3, 5)), RNG.normal(size=(3, 5))
    want = b.copy()
    for i in (range(3, -1, -1) if reverse else range(1, 5)):
        want[:, i] += a[:, i] * want[:, i + 1 if reverse else i - 1]
    x, y = sg.dmatrix("a"), sg.dmatrix("b")
    for backend in ("numpy", "numba"):
        got = sg.function([x, y], LinearRecurrence(1, reverse)(x, y), backend=backend)(a, b)
        np.testing.assert_allclose(got, want, rtol=1e-12)
    sg.verify_grad(lambda p, q: LinearRecurrence(0, reverse)(p, q), [a.T, b.T], rng=np.random.default_rng(9))


def test_a_small_linear_recurrence_runs_the_compiled_loop_not_python_steps(monkeypatch):
    """From two values the numba backend's recurrence is its loop (the reference steps along
    the axis in Python, ~1 us a step: a cumprod's gradient of 1000 values took 330 us): a
    cumprod's gradient of a vector, the reference's values."""
    calls = []
    real = numba_cpu.kernels.recurrence_serial
    monkeypatch.setattr(numba_cpu.kernels, "recurrence_serial", lambda *args: calls.append(args[0].shape) or real(*args))
    v = sg.dvector("v")
    grad = sg.grad((sg.cumprod(v) * sg.arange(v.shape[0])).sum(), v)
    f, reference = (sg.function([v], grad, backend=backend) for backend in ("numba", "numpy"))
    for n in (1, 2, 5, 1000):
        value = RNG.uniform(0.5, 1.5, n)
        del calls[:]
        np.testing.assert_allclose(f(value), reference(value), rtol=1e-12)
        assert len(calls) == (n >= 2), (n, calls)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linear_recurrence_of_large_arrays_runs_the_compiled_loop(dtype):
    """From numba_cpu.SMALL_BY_NUMPY values the numba backend runs its loop (AxisLoopThunk),
    along either axis, either way, with a broadcast coefficient: the reference's values."""
    rng = np.random.default_rng(10)
    a = rng.uniform(-1.1, 1.1, (40, 500)).astype(dtype)
    b = rng.normal(size=(40, 500)).astype(dtype)
    x, y = sg.tensor("a", dtype, (None, None)), sg.tensor("b", dtype, (None, None))
    for axis, reverse in ((0, False), (1, False), (0, True), (1, True)):
        outs = [LinearRecurrence(axis, reverse)(x, y), LinearRecurrence(axis, reverse)(x[:1], y)]
        f = sg.function([x, y], outs, backend="numba")
        assert sum(isinstance(t, numba_cpu.AxisLoopThunk) for t in executor_globals(f).values()) == 2
        want = sg.function([x, y], outs, backend="numpy")(a, b)
        for got, w in zip(f(a, b), want):
            assert got.dtype == w.dtype
            np.testing.assert_allclose(got, w, rtol=1e-5 if dtype == "float32" else 1e-12)


def test_specify_shape_states_lengths_and_refuses_others():
    x = sg.dmatrix("x")
    y = sg.specify_shape(x, (None, 3))
    assert y.type.shape == (None, 3)
    assert sg.specify_shape(y, (2, None)).type.shape == (2, 3)
    with pytest.raises(ValueError, match=r"known to have shape \(None, 3\), not \(None, 4\)"):
        sg.specify_shape(y, (None, 4))
    with pytest.raises(ValueError, match="has 2 dimensions"):
        sg.specify_shape(x, (3,))
    with pytest.raises(ValueError):  # (the stated 3 meets a 4 when the graph is built)
        sg.dot(y, sg.tensor("m", "float64", (4, 2)))
    for backend in ("numpy", "numba"):
        f = sg.function([x], y.sum(), backend=backend)
        assert f(np.ones((5, 3))) == 15.0
        with pytest.raises(ValueError, match=r"specify_shape: 'x' .* has shape \(5, 4\) in this call, stated \(None, 3\)"):
            f(np.ones((5, 4)))


def test_bad_input_is_refused_clearly():
    y = sg.lvector("y")
    f = sg.function([y], sg.bincount(y), backend="numba")
    with pytest.raises(ValueError, match="bincount: 'y' .* holds a negative value"):
        f(np.array([1, -2]))
    with pytest.raises(TypeError, match="vector of integers"):
        sg.bincount(sg.dvector("d"))
    g = sg.function([y], sg.unravel_index(y, (2, 3))[0])
    with pytest.raises(ValueError, match="unravel_index: 'y'"):
        g(np.array([6]))
    h = sg.function([y], sg.ravel_multi_index((y, y), (2, 3)))
    with pytest.raises(ValueError, match="ravel_multi_index"):
        h(np.array([2]))
    with pytest.raises(NotImplementedError, match="known when the graph is built"):
        sg.unravel_index(y, (y.shape[0], 3))
    with pytest.raises(ValueError, match="names 2 operands, 1 given"):
        sg.einsum("ij,jk->ik", sg.dmatrix("a"))
    with pytest.raises(ValueError, match="names 2 axes"):
        sg.einsum("ij->i", sg.dvector("v"))
    with pytest.raises(ValueError, match="lengths 3 and 4"):
        sg.einsum("ij,jk->ik", sg.tensor("a", "float64", (2, 3)), sg.tensor("b", "float64", (4, 2)))
    with pytest.raises(ValueError, match="more axes than the operands have"):
        sg.einsum("...ijk->i", sg.dmatrix("a"))
    with pytest.raises(ValueError, match="'...' at most once"):
        sg.einsum("...i...->i", sg.dmatrix("a"))
    with pytest.raises(ValueError, match=r"repeated 'i' in 'ii' differ in length \(2 != 3\)"):
        sg.einsum("ii->i", sg.tensor("a", "float64", (2, 3)))
    with pytest.raises(ValueError, match=r"q must be .* in \[0, 1\]"):
        sg.quantile(sg.dvector("v"), 1.5)
    with pytest.raises(ValueError, match="side"):
        sg.searchsorted(sg.dvector("a"), sg.dvector("v"), "middle")


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_pad_matches_numpys_for_each_mode_and_width_with_its_gradient(mode, backend):
    x = sg.dtensor3("x")
    xv = RNG.normal(size=(2, 3, 4))
    for width in (1, (2, 3), ((0, 1), (4, 5), (6, 0))):  # (wider than the axis: reflected again)
        kw = {"constant_values": 1.5} if mode == "constant" else {}
        got = sg.function([x], sg.pad(x, width, mode=mode, **kw), backend=backend)(xv)
        np.testing.assert_array_equal(got, np.pad(xv, width, mode=mode, **kw))
    sg.verify_grad(lambda v: (sg.pad(v, ((1, 2), (3, 0), (2, 5)), mode=mode) ** 2).sum(), [xv],
                   rng=np.random.default_rng(3))
    with pytest.raises(ValueError, match="pad_width must be an int, a pair or 3 pairs"):
        sg.pad(x, [1, 2, 3])
    with pytest.raises(ValueError, match="mode is one of"):
        sg.pad(x, 1, mode="wrap")
