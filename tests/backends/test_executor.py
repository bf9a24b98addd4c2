"""The shared executor (backends/executor.py): shape arithmetic worked out once per input
shapes, on every CPU backend."""
import numpy as np
import pytest

import symgraph as sg
from symgraph.ops import index as I
from symgraph.ops.shape import DimShuffle
from tests.conftest import executor_globals


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_shape_arithmetic_is_kept_per_input_shapes(backend, monkeypatch, rng):
    monkeypatch.setattr(sg.config, "whole_programs", False)
    x, y = sg.dmatrix("x"), sg.ivector("y")
    cost = -sg.log(sg.nn.softmax(x))[sg.arange(y.shape[0]), y].mean()  # 1/len(y) in its gradient
    f = sg.function([x, y], [cost, sg.grad(cost, x)], backend=backend)
    cache = executor_globals(f)["by_shape"]
    for n in (4, 8, 4):
        xv, yv = rng.normal(size=(n, 3)), rng.integers(0, 3, n).astype("int32")
        sm = np.exp(xv - xv.max(1, keepdims=True)); sm /= sm.sum(1, keepdims=True)
        loss, grad = f(xv, yv)
        np.testing.assert_allclose(loss, -np.log(sm[np.arange(n), yv]).mean(), rtol=1e-12)
        np.testing.assert_allclose(grad, (sm - np.eye(3)[yv]) / n, atol=1e-12)
    assert len(cache) == 2  # one entry per batch size


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_shape_arithmetic_errors_name_the_node_and_outputs_are_the_callers(backend):
    x = sg.dmatrix("x")
    step = x.shape[1] - 3
    f = sg.function([x], sg.arange(0, x.shape[0] * 2, step).sum() + x.sum(), backend=backend)
    with pytest.raises(Exception, match="ARange"):
        f(np.ones((2, 3)))  # a step of 0
    np.testing.assert_allclose(f(np.ones((2, 4))), (0 + 1 + 2 + 3) + 8)
    g = sg.function([x], [x.shape[0] * 2 + 1, x.sum() * (x.shape[1] - 1)], backend=backend)
    first, _ = g(np.ones((2, 3)))
    first[...] = 99  # the caller's to change: the next call is not affected
    np.testing.assert_array_equal(g(np.ones((2, 3)))[0], 5)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("silencer", ["default", "np.errstate"])
def test_floating_point_warnings_are_silenced_for_the_call_only(backend, silencer, monkeypatch):
    """A program silences NumPy's floating-point warnings while it runs (NaN and Inf come out
    as in NumPy) and leaves the caller's settings as they were, after a call that fails too."""
    import warnings
    from symgraph.backends import executor
    if silencer == "np.errstate":  # what NumPy 1.x gets
        monkeypatch.setattr(executor, "quiet_on", executor.errstate_quiet_on)
        monkeypatch.setattr(executor, "quiet_set", lambda quiet: executor.errstate_quiet_on())
        monkeypatch.setattr(executor, "quiet_off", executor.errstate_quiet_off)
    x, i = sg.dvector("x"), sg.lvector("i")
    f = sg.function([x, i], [sg.log(x) / x.sum(), x[i]], backend=backend)
    before = np.geterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        logs, picked = f(np.array([-1.0, 0.0, 2.0]), np.array([2]))
        assert np.isnan(logs[0]) and logs[1] == -np.inf and logs[2] == np.log(2) and picked.tolist() == [2.0]
        with pytest.raises(IndexError):
            f(np.array([1.0, 2.0]), np.array([5]))
    assert np.geterr() == before
    with np.errstate(divide="raise"):  # the caller's own setting is back after the call
        f(np.array([1.0, 2.0]), np.array([0]))
        with pytest.raises(FloatingPointError):
            np.float64(1.0) / np.float64(0.0)


def test_views_are_written_into_the_program_without_a_call(rng):
    """The numba backend writes a DimShuffle (x.T, x[:, None], a dropped axis) into the
    program as NumPy's expression for it: same values as the reference, no thunk call, and a
    bad drop still names the node."""
    x, y = sg.ftensor3("x"), sg.tensor("y", "float32", (None, None, None))
    views = [x.dimshuffle(2, "x", 0, 1), x.T, x.dimshuffle(0, 2, 1), x.dimshuffle("x", 0, 1, 2),
             y.dimshuffle(0, 2)]
    outs = [v * 2 for v in views]
    f = sg.function([x, y], outs, backend="numba")
    want = sg.function([x, y], outs, backend="numpy")
    xv, yv = rng.random((2, 3, 4), dtype=np.float32), rng.random((5, 1, 6), dtype=np.float32)
    for got, expected in zip(f(xv, yv), want(xv, yv)):
        np.testing.assert_array_equal(got, expected)
    program = executor_globals(f)
    calls = {name for name in program["run"].__code__.co_names if name.startswith("t")}
    shuffles = {f"t{k}" for k, node in enumerate(program["nodes"]) if isinstance(node.op, DimShuffle)}
    assert len(shuffles) == 5 and not calls & shuffles and calls
    with pytest.raises(ValueError, match="DimShuffle"):
        f(xv, rng.random((5, 2, 6), dtype=np.float32))  # axis 1 is not of length 1


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_one_node_function_runs_that_nodes_call_as_its_program(backend, rng):
    """A function of one node reading its inputs in order: the program hands the values to
    the thunk as they are and returns its list (nothing unpacked or packed again); with
    nan_guard, or a second node, the program keeps its steps."""
    x, y = sg.vector("x"), sg.vector("y")
    xv, yv = rng.random(5, dtype=np.float32), rng.random(5, dtype=np.float32)
    for nan_guard, outputs, one_node in [(False, x * y + 1, True), (True, x * y + 1, False),
                                         (False, [x * y + 1, sg.exp(x).sum()], False)]:
        f = sg.function([x, y], outputs, backend=backend, nan_guard=nan_guard)
        got = f(xv, yv)
        np.testing.assert_allclose(got if one_node or nan_guard else got[0], xv * yv + 1, rtol=1e-6)
        program = executor_globals(f)
        assert (len(program["nodes"]) == 1) == (one_node or nan_guard)
        names = program["run"].__code__.co_names
        assert ("values_of" not in names and "step" not in program["run"].__code__.co_varnames) == one_node


def test_constant_basic_indexing_is_a_view_written_into_the_program(rng):
    """x[::-1], x[1:, None, ::2], x[-1, :-1], x[2]: the numba backend writes a Subtensor with
    constant slices and integers as NumPy's expression, a view, with no thunk call; an index
    of arrays, a symbolic bound or a 0-d result keeps its thunk. Values as the reference's, and
    an integer out of range still raises naming the node."""
    x, k = sg.fmatrix("x"), sg.iscalar("k")
    views = [x[::-1], x[1:, None, ::2], x[-1, :-1], x[2], x[:, 1]]
    kept = [x[k:], x[[0, 2]], x[1, 2]]
    outs = [v * 2 for v in views] + kept
    f = sg.function([x, k], outs, backend="numba")
    want = sg.function([x, k], outs, backend="numpy")
    xv = rng.random((4, 5), dtype=np.float32)
    for got, expected in zip(f(xv, 1), want(xv, 1)):
        np.testing.assert_array_equal(got, expected)
    program = executor_globals(f)
    calls = {name for name in program["run"].__code__.co_names if name.startswith("t")}
    indexing = {f"t{k}" for k, node in enumerate(program["nodes"]) if isinstance(node.op, I.Subtensor)}
    assert len(indexing) == len(views) + len(kept)
    assert len(indexing - calls) == len(views)
    g = sg.function([x], x[3] * 2, backend="numba")
    with pytest.raises(IndexError, match="Subtensor"):
        g(xv[:2])
