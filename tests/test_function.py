"""sg.function: inputs, outputs, updates (atomic), givens, input checks, unused inputs."""
import threading

import numpy as np
import pytest

import symgraph as sg


def test_outputs_structure():
    x = sg.vector("x")
    xv = np.arange(3, dtype="float32")
    assert isinstance(sg.function([x], x + 1, backend="numpy")(xv), np.ndarray)
    both = sg.function([x], [x + 1, x * 2], backend="numpy")(xv)
    assert isinstance(both, list) and len(both) == 2
    w = sg.shared(np.zeros(3, "float32"), "w")
    assert sg.function([x], None, updates=[(w, w + x)], backend="numpy")(xv) == []
    np.testing.assert_array_equal(w.get_value(), xv)


def test_shared_updates_and_dict_updates():
    w = sg.shared(np.float64(0.0), "w")
    count = sg.shared(np.int64(0), "count")
    x = sg.dscalar("x")
    f = sg.function([x], w, updates={w: w + x, count: count + 1}, backend="numpy")
    assert f(2.0) == 0.0 and f(3.0) == 2.0
    assert w.get_value() == 5.0 and count.get_value() == 2


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_updates_of_some_shared_values_in_another_order_than_they_are_read(backend):
    """A call reads every shared value and writes the updated ones: the two lists differ."""
    a, b, c = (sg.shared(np.full(3, v), n) for v, n in ((1.0, "a"), (2.0, "b"), (3.0, "c")))
    x = sg.dvector("x")
    f = sg.function([x], a * b + c * x, updates=[(c, c + a), (b, b * 2)], backend=backend)
    np.testing.assert_allclose(f(np.ones(3)), [5.0] * 3)
    np.testing.assert_allclose(f(np.ones(3)), [1 * 4 + 4.0] * 3)
    assert [v.get_value()[0] for v in (a, b, c)] == [1.0, 8.0, 5.0]


def test_updates_are_computed_from_the_old_state():
    a, b = sg.shared(np.float64(1.0), "a"), sg.shared(np.float64(2.0), "b")
    f = sg.function([], [a, b], updates=[(a, b), (b, a)], backend="numpy")
    assert f() == [1.0, 2.0]
    assert (a.get_value(), b.get_value()) == (2.0, 1.0)


def test_failed_call_changes_no_shared_variable():
    w = sg.shared(np.zeros(3), "w")
    v = sg.shared(np.zeros(3), "v")
    x = sg.dvector("x")
    f = sg.function([x], [], updates=[(v, v + 1), (w, w + x)], backend="numpy")
    with pytest.raises(ValueError):
        f(np.ones(4))  # w + x fails after v + 1 could have been computed
    np.testing.assert_array_equal(w.get_value(), np.zeros(3))
    np.testing.assert_array_equal(v.get_value(), np.zeros(3))


def test_givens_replace_a_variable_by_a_slice_of_a_shared_dataset():
    data = sg.shared(np.arange(20, dtype="float32").reshape(10, 2), "data")
    x = sg.matrix("x")
    index = sg.lscalar("index")
    batch = 4
    f = sg.function([index], x.sum(), givens={x: data[index * batch:(index + 1) * batch]}, backend="numpy")
    assert f(1) == np.arange(20).reshape(10, 2)[4:8].sum()
    assert x.owner is None  # the user's graph is unchanged


def test_an_input_of_static_lengths_is_checked_inline(monkeypatch):
    """An array of the type's dtype, ndim and static lengths (a layer's features) is taken
    without TensorType.filter's full checks (1 us a call); one a static length does not match,
    on any of the type's static axes, still raises naming the axis."""
    calls = []
    filter_ = sg.TensorType.filter
    monkeypatch.setattr(sg.TensorType, "filter", lambda self, *a, **k: calls.append(1) or filter_(self, *a, **k))
    x = sg.tensor("x", "float32", (None, 3, None, 5))
    f = sg.function([x], x.sum(), backend="numpy")
    assert f(np.ones((2, 3, 4, 5), "float32")) == 120 and not calls
    for shape, axis in [((2, 4, 4, 5), 1), ((2, 3, 4, 6), 3)]:
        with pytest.raises(ValueError, match=f"axis {axis} must have length"):
            f(np.ones(shape, "float32"))
    assert len(calls) == 2
    assert f([[[[1.0] * 5] * 4] * 3] * 2) == 120 and len(calls) == 3  # (a list: the full checks)


def test_wrong_arity_dtype_ndim_and_shape_are_named():
    x = sg.tensor("x", "float32", (None, 3))
    y = sg.ivector("y")
    f = sg.function([x, y], x.sum() + y.sum(), backend="numpy")
    good_x, good_y = np.ones((2, 3), "float32"), np.ones(2, "int32")
    with pytest.raises(TypeError, match="takes 2 arguments"):
        f(good_x)
    with pytest.raises(TypeError, match=r"'x'.*float32.*float64"):
        f(np.ones((2, 3)), good_y)
    with pytest.raises(TypeError, match="'y'"):
        f(good_x, np.ones(2, "int64"))
    with pytest.raises(ValueError, match=r"'x'.*2 dimensions"):
        f(np.ones(3, "float32"), good_y)
    with pytest.raises(ValueError, match=r"axis 1 must have length 3"):
        f(np.ones((2, 4), "float32"), good_y)
    with pytest.raises(TypeError, match="created at test_function.py"):
        f(np.ones((2, 3)), good_y)
    # safe casts and Python lists are accepted
    assert f(np.ones((1, 3), "float16"), [1, 2]) == 6.0
    assert f([[0.5, 0.5, 1.0]], np.ones(1, "int8")) == 3.0


def test_inputs_by_keyword():
    x, y = sg.dscalar("x"), sg.dscalar("y")
    f = sg.function([x, y], x - y, backend="numpy")
    assert f(y=1.0, x=3.0) == 2.0


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_arguments_by_position_keyword_or_both_bind_as_written(backend):
    """The written call takes each argument as a positional-only parameter (the common call);
    keywords, fewer or more arguments go the general way: every mix binds as Python's would,
    an input named as those parameters (a0) is a keyword like any other."""
    a, b, c = sg.dvector("a0"), sg.dvector("b"), sg.dvector("a2")
    f = sg.function([a, b, c], a * 100 + b * 10 + c, backend=backend)
    one, two, three = np.ones(2), np.full(2, 2.0), np.full(2, 3.0)
    for call in (lambda: f(one, two, three), lambda: f(one, two, a2=three), lambda: f(one, b=two, a2=three),
                 lambda: f(a2=three, b=two, a0=one), lambda: f(one, a2=three, b=two)):
        np.testing.assert_array_equal(call(), [123.0, 123.0])
    with pytest.raises(TypeError, match="takes 3 arguments"):
        f(one, two)
    with pytest.raises(TypeError, match="takes 3 arguments"):
        f(one, two, three, one)
    with pytest.raises(TypeError):
        f(one, two, three, a0=one)  # (given twice)
    with pytest.raises(TypeError):
        f(one, two, None)
    g = sg.function([a], a * 2, backend=backend)
    np.testing.assert_array_equal(g(one), [2.0, 2.0])
    np.testing.assert_array_equal(g(a0=one), [2.0, 2.0])
    with pytest.raises(TypeError, match="takes 1 arguments|takes 1 argument"):
        g()


def test_unused_inputs():
    x, y = sg.vector("x"), sg.vector("y")
    with pytest.raises(sg.UnusedInputError, match="'y'"):
        sg.function([x, y], x * 2, backend="numpy")
    with pytest.warns(UserWarning):
        sg.function([x, y], x * 2, on_unused_input="warn", backend="numpy")
    sg.function([x, y], x * 2, on_unused_input="ignore", backend="numpy")


def test_an_output_made_constant_by_comparing_variables_with_equals_says_so():
    """x == y on symbolic variables is Python's identity test (as in Theano; Variables are dict
    keys): an accuracy written with it is a constant, and the error names sg.eq."""
    x, y = sg.matrix("x"), sg.lvector("y")
    with pytest.raises(sg.UnusedInputError, match=r"compares variables with == .* sg\.eq\(x, y\)"):
        sg.function([x, y], sg.cast(x.argmax(axis=1) == y, "float32").mean(), backend="numpy")
    with pytest.raises(sg.UnusedInputError) as plain:
        sg.function([x, y], x * 2, backend="numpy")
    assert "==" not in str(plain.value)
    f = sg.function([x, y], sg.cast(sg.eq(x.argmax(axis=1), y), "float32").mean(), backend="numpy")
    assert f(np.eye(3, dtype=x.dtype), np.array([0, 1, 0])) == np.float32(2 / 3)


def test_missing_input_and_bad_inputs():
    x, y = sg.vector("x"), sg.vector("y")
    with pytest.raises(ValueError, match="'y'"):
        sg.function([x], x + y, backend="numpy")
    w = sg.shared(np.zeros(2), "w")
    with pytest.raises(TypeError, match="implicit"):
        sg.function([w], w * 2, backend="numpy")


def test_update_type_checks():
    w = sg.shared(np.zeros(3, "float32"), "w")
    x = sg.dvector("x")
    with pytest.raises(TypeError, match=r"astype"):
        sg.function([x], [], updates=[(w, w + x)], backend="numpy")
    with pytest.raises(ValueError, match="shape"):
        sg.function([], [], updates=[(w, w.sum())], backend="numpy")
    with pytest.raises(TypeError, match="shared"):
        sg.function([x], [], updates=[(x, x + 1)], backend="numpy")
    lr = 0.1  # weak Python scalars keep float32
    sg.function([], [], updates=[(w, w - lr * w)], backend="numpy")


def test_outputs_do_not_alias_shared_state_or_inputs():
    w = sg.shared(np.arange(3.0), "w")
    x = sg.dvector("x")
    f = sg.function([x], [w, x, w.reshape((3, 1))], backend="numpy")
    xv = np.zeros(3)
    out_w, out_x, out_view = f(xv)
    out_w[0] = 100; out_x[0] = 100; out_view[1, 0] = 100
    np.testing.assert_array_equal(w.get_value(), [0, 1, 2])
    assert xv[0] == 0
    got = w.get_value(); got[0] = 50
    assert w.get_value()[0] == 0


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_an_output_view_is_copied_in_its_own_memory_order_and_fresh_outputs_are_not(backend):
    """x.T comes back as a copy laid out as NumPy's x.T * 1 is (Fortran order: copying it into C
    order transposed 2000x1000 float64 at a sixth of the speed); tile and repeat make new
    memory, handed over without another copy."""
    x = sg.dmatrix("x")
    xv = np.arange(12.0).reshape(3, 4)
    f = sg.function([x], [x.T, sg.tile(x, (2, 1)), sg.repeat(x, 2, axis=0)], backend=backend)
    transposed, tiled, repeated = f(xv)
    np.testing.assert_array_equal(transposed, xv.T)
    assert transposed.flags.f_contiguous and not np.shares_memory(transposed, xv)
    transposed[0, 0] = 100
    assert xv[0, 0] == 0
    np.testing.assert_array_equal(tiled, np.tile(xv, (2, 1)))
    np.testing.assert_array_equal(repeated, np.repeat(xv, 2, axis=0))
    assert f._fresh[1:] == [True, True]


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_indices_sorts_and_running_products_are_new_memory_handed_over(backend):
    """argmax (of a vector, along rows, kept axes), sort, argsort and cumprod make new memory:
    returned without a check or a copy, each the caller's own."""
    x, v = sg.dmatrix("x"), sg.dvector("v")
    outputs = [x.argmax(axis=1), x.argmax(axis=0, keepdims=True), v.argmax(), sg.sort(v), sg.argsort(v),
               sg.cumprod(v), sg.sort(x, axis=0)]
    f = sg.function([x, v], outputs, backend=backend)
    assert f._fresh == [True] * len(outputs)
    xv, vv = np.array([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]]), np.array([2.0, -1.0, 3.0])
    for _ in range(2):
        results = f(xv, vv)
        want = [[0, 1], [[0, 1, 1]], 2, [-1.0, 2.0, 3.0], [1, 0, 2], [2.0, -2.0, -6.0], np.sort(xv, axis=0)]
        for got, expected in zip(results, want):
            np.testing.assert_array_equal(got, expected)
            assert isinstance(got, np.ndarray) and not np.shares_memory(got, xv) and not np.shares_memory(got, vv)
            got[...] = 7  # (the next call's are as above)
    np.testing.assert_array_equal(vv, [2.0, -1.0, 3.0])


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_view_of_a_private_result_is_handed_over_and_shared_memory_is_not(backend):
    """A reshape or slice of a result nothing else holds comes back as it is (no second copy);
    a view of an input, a constant, another output or a value made from shapes alone (which
    the executor keeps between calls) is copied: changing what a call returned changes nothing
    else."""
    x = sg.dmatrix("x")
    xv = np.arange(12.0).reshape(3, 4)
    y = x * 2
    const = sg.constant(np.arange(4.0))
    f = sg.function([x], [(x * 3).reshape((-1,)), (x + 1)[1:, ::2], x.reshape((-1,)), y, y.T,
                          const.reshape((2, 2)), sg.cast(x.shape, "float64").reshape((1, -1))], backend=backend)
    assert f._fresh == [True, True, False, True, False, False, False]
    for _ in range(2):
        flat, sliced, own_view, doubled, doubled_t, const_view, counted = results = f(xv)
        np.testing.assert_array_equal(flat, (xv * 3).reshape(-1))
        np.testing.assert_array_equal(sliced, (xv + 1)[1:, ::2])
        np.testing.assert_array_equal(counted, [[3.0, 4.0]])
        np.testing.assert_array_equal(const_view, np.arange(4.0).reshape(2, 2))
        doubled[...] = -7
        np.testing.assert_array_equal(doubled_t, (xv * 2).T)
        for r in results:
            r[...] = -7  # (each the caller's own: the next call's values are as above)
        np.testing.assert_array_equal(xv, np.arange(12.0).reshape(3, 4))


def test_shared_set_value_checks():
    w = sg.shared(np.zeros((2, 3), "float32"), "w")
    w.set_value(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="shape"):
        w.set_value(np.ones((3, 2), "float32"))
    with pytest.raises(TypeError, match="dtype"):
        w.set_value(np.ones((2, 3), "float64"))
    resizable = sg.shared(np.zeros((2, 3), "float32"), "r", shape=(None, 3))
    resizable.set_value(np.ones((5, 3), "float32"))
    assert resizable.get_value().shape == (5, 3)
    assert sg.shared(1.5).dtype == sg.config.floatX


def test_eval():
    x = sg.dvector("x")
    np.testing.assert_array_equal((x * 2).eval({x: np.array([1.0, 2.0])}), [2.0, 4.0])
    assert (sg.constant(3.0) + 1).eval() == 4.0


def test_threads_get_their_own_results():
    x = sg.dvector("x")
    f = sg.function([x], (x * 2).sum(), backend="numpy")
    results = {}

    def work(k):
        results[k] = [float(f(np.full(100, float(k)))) for _ in range(50)]
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(4):
        assert results[k] == [200.0 * k] * 50


def test_fgraph_is_a_copy_in_execution_order():
    x = sg.vector("x")
    y = sg.exp(x) * 2
    f = sg.function([x], y, backend="numpy", optimize=False)
    nodes = f.fgraph.apply_nodes
    assert [str(n.op) for n in nodes] == ["Elemwise{exp}", "Elemwise{mul}"]
    fused = sg.function([x], y, backend="numpy")
    assert [str(n.op) for n in fused.fgraph.apply_nodes] == ["Composite{mul(exp(i0), 2.0)}"]
    assert f.fgraph.outputs[0] is not y and f.fgraph.inputs == [x]
    assert all(hasattr(n, "inputs") and hasattr(n, "outputs") for n in nodes)


def test_config_defaults():
    assert sg.config.floatX in ("float32", "float64", "float16")
    assert sg.vector().dtype == sg.config.floatX
    with pytest.raises(ValueError):
        sg.config.floatX = "int8"


def test_variable_constructors_and_attributes():
    assert sg.tensor("t", "int16", (None, 3)).type.shape == (None, 3)
    assert sg.tensor("s").ndim == 0 and sg.tensor(dtype="float64", ndim=2).type.shape == (None, None)
    for prefix, dtype in [("b", "int8"), ("w", "int16"), ("i", "int32"), ("l", "int64"),
                          ("f", "float32"), ("d", "float64"), ("h", "float16")]:
        for kind, ndim in [("scalar", 0), ("vector", 1), ("matrix", 2), ("tensor3", 3), ("tensor4", 4)]:
            v = getattr(sg, prefix + kind)("v")
            assert (v.dtype, v.ndim, v.name) == (dtype, ndim, "v")
    # Theano's untyped constructors take a dtype second: T.scalar('index', 'int64')
    assert sg.scalar("index", "int64").type == sg.lscalar().type
    assert sg.matrix("x", dtype="float64").type.shape == (None, None) and sg.matrix("x", "float64").dtype == "float64"
    assert sg.tensor3(shape=(None, 3, 4)).type.shape == (None, 3, 4) and sg.fvector(shape=(5,)).type.shape == (5,)
    with pytest.raises(TypeError, match="sg.fmatrix takes \\(name, shape\\), not a dtype 'float64'"):
        sg.fmatrix("x", "float64")
    with pytest.raises(ValueError, match="sg.vector: shape \\(3, 4\\) does not have 1 entries"):
        sg.vector("v", shape=(3, 4))
    m = sg.matrix("m")
    assert m.owner is None and (m * 2).owner.op is not None and m.type.shape == (None, None)
    c = sg.constant(np.arange(3), name="c")
    assert c.name == "c" and c.dtype == "int64" and sg.constant(1.5).dtype == sg.config.floatX
    assert "test_function.py" in (m + 1).trace
