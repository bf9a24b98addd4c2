"""theano.function's options that Theano programs pass (allow_input_downcast, mode), f.maker's
graph, and Theano's and NumPy's spellings of a few names (as_tensor_variable,
disconnected_grad, equal/greater/...)."""
import numpy as np
import pytest

import symgraph as sg


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_allow_input_downcast_true_casts_every_argument(backend):
    x, n = sg.fvector("x"), sg.ivector("n")
    f = sg.function([x, n], [x * 2, n + 1], allow_input_downcast=True, backend=backend)
    doubled, counted = f(np.array([1.5, 1e-40, 3e38 * 10]), np.array([1.9, -2.5]))
    assert doubled.dtype == np.float32 and counted.dtype == np.int32
    np.testing.assert_array_equal(doubled, np.array([1.5, 1e-40, np.inf], "float32") * 2)
    np.testing.assert_array_equal(counted, [2, -1])  # (truncated, as NumPy's astype and Theano)
    np.testing.assert_array_equal(f([0.1], [3.7])[1], [4])


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_allow_input_downcast_false_takes_exact_values_only(backend):
    x = sg.fvector("x")
    f = sg.function([x], x * 2, allow_input_downcast=False, backend=backend)
    np.testing.assert_array_equal(f([0.5, 2.0]), [1.0, 4.0])
    np.testing.assert_array_equal(f(np.array([0.5], "float16")), [1.0])  # (a safe cast)
    with pytest.raises(TypeError, match=r"\[0.1\] does not fit .*allow_input_downcast=True"):
        f([0.1])  # 0.1 is not a float32
    with pytest.raises(TypeError, match="float64, which does not cast safely.*allow_input_downcast=True"):
        f(np.array([0.5]))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_default_takes_python_numbers_and_safe_casts(backend):
    x, n = sg.fvector("x"), sg.ivector("n")
    f = sg.function([x, n], [x * 2, n], backend=backend)
    np.testing.assert_allclose(f([0.1], [3])[0], [np.float32(0.1) * 2])
    with pytest.raises(TypeError, match="does not cast safely.*allow_input_downcast=True"):
        f(np.array([0.5]), [3])
    with pytest.raises(TypeError, match="expects integers"):
        f([0.5], [3.5])


NUMBERS = [0.1, -2.5, 1e39, -1e39, 3.4e38, float("inf"), float("nan"), 0.0, -0.0, 0, 1, -1, 7, 255, 256, -129,
           2 ** 24, 2 ** 24 + 1, 2 ** 31, 2 ** 53 + 1, 2 ** 63 - 1, 2 ** 63, 2 ** 64, -(2 ** 63) - 1, True, False,
           np.float32(0.5), np.float64(0.1), np.int64(3), np.int32(-3), np.uint8(200), np.bool_(True)]
DTYPES = ["float16", "float32", "float64", "int8", "uint8", "int16", "int32", "int64", "uint32", "uint64", "bool"]


@pytest.mark.parametrize("downcast", [None, True, False])
@pytest.mark.parametrize("dtype", DTYPES)
def test_a_python_number_takes_the_general_paths_value_or_error(dtype, downcast, monkeypatch):
    """Python numbers and NumPy scalars take a short path into 0-d arrays (graph._plain_number;
    the general one cost 1.0-4.9 us of a call): the same value and dtype, or the same error, as
    the general path gives, for every dtype and allow_input_downcast, and refused for a tensor
    of more dimensions with the general path's message."""
    from symgraph import graph
    scalar, vector = sg.tensor("s", dtype, ()), sg.tensor("v", dtype, (None,))

    def outcome(t, value):
        try:
            with np.errstate(all="ignore"):
                got = t.type.filter(value, "the argument", downcast=downcast)
            return "ok", got.dtype, got.shape, got.tobytes()
        except (TypeError, ValueError, OverflowError) as exc:
            return type(exc).__name__, str(exc)
    short = [(outcome(scalar, v), outcome(vector, v)) for v in NUMBERS]
    # (the short path takes its dtype's own kind of Python number: a float, an int, a bool; not a
    # float into float16, nor into float32 where only exact values may pass: the general path checks)
    natural = {"f": 0.5, "i": 7, "u": 7, "b": True}[np.dtype(dtype).kind]
    refused = dtype == "float16" or (dtype == "float32" and downcast is False)
    assert (graph._plain_number(natural, np.dtype(dtype), downcast) is None) == refused
    monkeypatch.setattr(graph, "_plain_number", lambda value, dtype, downcast: None)
    general = [(outcome(scalar, v), outcome(vector, v)) for v in NUMBERS]
    for value, a, b in zip(NUMBERS, short, general):
        assert a == b, (value, a, b)


@pytest.mark.parametrize("downcast", [None, True, False])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_a_python_float_argument_takes_the_general_paths_value_or_error(dtype, downcast, monkeypatch):
    """A Python float for a 0-d float input is taken in the function's own written call
    (function._python_float_taken: a learning rate passed each call) where the general path
    would take it as it is: the same value, or the same kind of error, for every number."""
    from symgraph import graph
    s = sg.tensor("s", dtype, ())
    filtered = []
    real_filter = graph.TensorType.filter
    monkeypatch.setattr(graph.TensorType, "filter", lambda *a, **k: filtered.append(a[1]) or real_filter(*a, **k))
    f = sg.function([s], s * 1, allow_input_downcast=downcast)
    half, large, nan = 0.5, -1e30, float("nan")
    for v in (half, large, nan):
        try:
            f(v)
        except TypeError:  # (downcast False: inexact values refused by filter, checked below)
            pass
    # (float64 any float, float32 one in its range unless downcast is False: without filter)
    taken = {"float64": [half, large, nan], "float32": [half, large]}.get(dtype, []) if downcast is not False \
        or dtype == "float64" else []
    assert [v for v in (half, large, nan) if not any(v is w for w in filtered)] == taken
    monkeypatch.setattr(graph.TensorType, "filter", real_filter)

    def outcome(call, value):
        try:
            with np.errstate(all="ignore"):
                got = np.asarray(call(value))
            return "ok", got.dtype, got.shape, got.tobytes()
        except (TypeError, ValueError, OverflowError) as exc:
            return type(exc).__name__
    written = [outcome(f, v) for v in NUMBERS]
    monkeypatch.setattr(graph, "_plain_number", lambda value, dtype, downcast: None)
    general = [outcome(lambda v: s.type.filter(v, "s", downcast=downcast) * np.asarray(1, dtype), v) for v in NUMBERS]
    for value, a, b in zip(NUMBERS, written, general):
        assert a == b, (value, a, b)


def test_allow_input_downcast_is_checked():
    with pytest.raises(ValueError, match="allow_input_downcast must be None, True or False"):
        sg.function([sg.vector("x")], sg.vector("y") * 0, allow_input_downcast="yes")


def test_a_shared_variables_error_does_not_suggest_allow_input_downcast():
    w = sg.shared(np.zeros(2, "float32"))
    with pytest.raises(TypeError) as error:
        w.set_value(np.zeros(2))
    assert "allow_input_downcast" not in str(error.value)


def test_modes_pick_rewrites_backend_and_nan_guard():
    x = sg.fvector("x")
    fast_compile = sg.function([x], sg.exp(x) * 2, mode="FAST_COMPILE")
    assert fast_compile.backend == "numpy"
    assert [str(node.op) for node in fast_compile.maker.fgraph.toposort()] == ["Elemwise{exp}", "Elemwise{mul}"]
    fast_run = sg.function([x], sg.exp(x) * 2, mode="FAST_RUN", backend="numba")
    assert [str(node.op) for node in fast_run.maker.fgraph.toposort()] == ["Composite{mul(exp(i0), 2.0)}"]
    assert sg.function([x], x + 1, mode="NUMBA").backend == "numba"
    guarded = sg.function([x], sg.log(x), mode="NanGuardMode")
    with pytest.raises(sg.NonFiniteError, match="NaN"):
        guarded([-1.0])
    with pytest.raises(ValueError, match="mode 'DebugMode' is not one of symgraph's"):
        sg.function([x], x, mode="DebugMode")


def test_maker_exposes_the_graph_that_runs():
    x = sg.dvector("x")
    f = sg.function([x], [x.sum(), x * 2])
    assert f.maker.fgraph is f.fgraph and f.maker.inputs == [x] and len(f.maker.outputs) == 2
    assert f.maker.fgraph.toposort() == list(f.fgraph.apply_nodes)


def test_as_tensor_variable():
    v = sg.as_tensor_variable(np.ones((2, 3)), name="c")
    assert isinstance(v, sg.Constant) and v.dtype == "float64" and v.ndim == 2 and v.name == "c"
    x = sg.matrix("x")
    assert sg.as_tensor_variable(x) is x and sg.as_tensor(x, ndim=2) is x
    with pytest.raises(ValueError, match="has 2 dimensions, not 3"):
        sg.as_tensor_variable(x, ndim=3)


def test_disconnected_grad_stops_the_gradient_as_theanos():
    x = sg.dvector("x")
    target = sg.disconnected_grad(x * 3)
    g = sg.grad(((x - target) ** 2).sum(), x)
    np.testing.assert_allclose(g.eval({x: np.array([1.0, 2.0])}), 2 * (np.array([1.0, 2.0]) - [3.0, 6.0]))


def test_numpys_comparison_names():
    a, b = sg.dvector("a"), sg.dvector("b")
    av, bv = np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 2.0])
    f = sg.function([a, b], [sg.equal(a, b), sg.not_equal(a, b), sg.greater(a, b), sg.greater_equal(a, b),
                             sg.less(a, b), sg.less_equal(a, b)])
    for got, want in zip(f(av, bv), [av == bv, av != bv, av > bv, av >= bv, av < bv, av <= bv]):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_in_gives_inputs_defaults_and_names_and_out_is_an_output(backend):
    """Theano's theano.In(y, value=1.0, name=...) and theano.Out(z, borrow=True)."""
    x, y, z = sg.dscalar("x"), sg.dscalar("y"), sg.dscalar("z")
    f = sg.function([x, sg.In(y, value=1.0), sg.In(z, value=2.0, name="scale")], sg.Out((x + y) * z, borrow=True),
                    backend=backend)
    assert f(2.0) == 6.0 and f(2.0, 3.0) == 10.0 and f(2.0, scale=10.0) == 30.0 and f(x=1.0) == 4.0
    assert f(2.0, 3.0, 4.0) == 20.0 and f(2.0, y=0.0, scale=1.0) == 2.0
    with pytest.raises(TypeError, match="no value for 'x'"):
        f()
    with pytest.raises(TypeError, match="got two values for input 'x'"):
        f(1.0, x=2.0)
    with pytest.raises(TypeError, match="takes 3 arguments"):
        f(1.0, 2.0, 3.0, 4.0)
    g = sg.function([x, y], [sg.Out(x + y), x * y], backend=backend)
    assert g(2.0, 3.0) == [5.0, 6.0]
    with pytest.raises(TypeError, match="no value for 'y'"):
        g(x=1.0)
    with pytest.raises(NotImplementedError, match="keep the state in a shared variable"):
        sg.In(y, value=0.0, update=y + 1)


def test_clone_puts_variables_in_place_of_others():
    """Theano's theano.clone(output, replace) (PyTensor's clone_replace)."""
    x, y = sg.dvector("x"), sg.dvector("y")
    cost = (x ** 2).sum()
    doubled = sg.clone(cost, replace={x: y * 2})
    assert sg.function([y], doubled)(np.ones(3)) == 12.0
    both = sg.clone_replace([cost, x + 1], replace=[(x, y)])
    assert isinstance(both, list) and sg.function([y], both)(np.full(2, 3.0))[0] == 18.0
    assert sg.function([x], cost)(np.ones(2)) == 2.0  # (the original is as it was)
    with pytest.raises(TypeError, match="cannot be replaced by 'f' <float32"):
        sg.clone(cost, {x: sg.fvector("f")})


def test_functions_and_graphs_pickle_as_theanos():
    """pickle.dump(f): the graph and the options, compiled again when loaded; its shared
    variables' values go with it (its own copies, unless pickled together with them)."""
    import pickle
    W = sg.shared(np.ones((2, 2)), "W")
    x, s = sg.dmatrix("x"), sg.dscalar("s")
    y = (sg.tanh(sg.dot(x, W)).sum() * s).astype("float32")
    f = sg.function([x, sg.In(s, value=2.0)], y, updates=[(W, W * 2)])
    g = pickle.loads(pickle.dumps(f))
    first, second = g(np.ones((1, 2))), g(np.ones((1, 2)))
    assert first == np.float32(2 * 2 * np.tanh(2.0)) and second == np.float32(2 * 2 * np.tanh(4.0))
    assert W.get_value()[0, 0] == 1.0  # (g's W is its own copy)
    f2, W2 = pickle.loads(pickle.dumps((f, W)))
    f2(np.ones((1, 2)))
    assert W2.get_value()[0, 0] == 2.0 and W.get_value()[0, 0] == 1.0
    hs, _ = sg.scan(lambda a, h: sg.tanh(a + h + sg.random.RandomStream(1).normal((2,), dtype="float64")),
                    sequences=x, outputs_info=sg.zeros((2,), "float64"))
    cost = (hs ** 2).sum() + sg.cast(hs.sum(), "int32")
    x2, cost2, grad2 = pickle.loads(pickle.dumps([x, cost, sg.grad(cost, x)]))  # (a scan, draws, a cast)
    xv = np.linspace(0, 1, 6).reshape(3, 2)
    want = sg.function([x], [cost, sg.grad(cost, x)])(xv)
    for got, w in zip(sg.function([x2], [cost2, grad2])(xv), want):
        np.testing.assert_allclose(got, w, rtol=1e-12)
