"""An elementwise node's common call, written out once its serial kernel exists
(backends/numba_fast_calls.py): it must take only the calls it can decide and hand every
other one (other shapes, layouts, sizes, an input it may overwrite) to the thunk's checks."""
import numpy as np
import pytest

import symgraph as sg
from symgraph.backends.numba_cpu import ElementwiseThunk
from tests.conftest import executor_globals


def _written(thunk):
    return thunk.call.__code__.co_filename.startswith("<symgraph fast call")


def test_the_program_calls_the_function_the_thunk_wrote(rng):
    x, y = sg.fvector("x"), sg.fvector("y")
    f = sg.function([x, y], x * y + 1)
    t0 = executor_globals(f)["t0"]
    a, b = rng.normal(size=5).astype("float32"), rng.normal(size=5).astype("float32")
    assert not _written(t0)
    np.testing.assert_allclose(f(a, b), a * b + 1)
    assert _written(t0)
    seen = []
    written = t0.call
    t0.call = lambda inputs: seen.append(len(inputs)) or written(inputs)
    np.testing.assert_allclose(f(b, a), b * a + 1)
    assert seen == [2]


@pytest.mark.parametrize("case", ["same shape", "strided", "other length", "empty", "parallel", "parallel, new memory"])
def test_vectors_after_the_common_call_is_written(case, rng):
    x, y = sg.fvector("x"), sg.fvector("y")
    f = sg.function([x, y], sg.maximum(x, 0) * y - 1)
    want = lambda a, b: np.maximum(a, 0) * b - 1  # noqa: E731
    a, b = rng.normal(size=(2, 7)).astype("float32")
    np.testing.assert_allclose(f(a, b), want(a, b))
    assert _written(executor_globals(f)["t0"])
    # ("parallel": from the recycling size, __call__'s; "parallel, new memory": from the
    # threshold to it, the written call's parallel kernel)
    n = {"same shape": 7, "strided": 14, "other length": 3, "empty": 0, "parallel": 1 << 18,
         "parallel, new memory": (1 << 17) + 9}[case]
    a, b = rng.normal(size=(2, n)).astype("float32")
    if case == "strided":
        a, b = a[::2], b[1::2]
    out = f(a, b)
    np.testing.assert_allclose(out, want(a, b), rtol=1e-6)
    assert out.shape == a.shape and out.dtype == np.float32
    if case.startswith("parallel"):
        t0 = executor_globals(f)["t0"]
        assert (True, None) in t0.flat and n >= t0.threshold
        results = [f(a, b) for _ in range(2)]
        assert not np.shares_memory(results[0], results[1])
        np.testing.assert_allclose(results[1], want(a, b), rtol=1e-6)


@pytest.mark.parametrize("case", ["same shape", "matrices", "strided", "other length", "empty", "parallel",
                                  "parallel, new memory"])
def test_a_node_of_several_outputs_after_the_common_call_is_written(case, rng):
    """A fused node with outputs of two dtypes (a forward value and what its gradient reuses)
    takes the written call too: each output new memory of its dtype, call after call."""
    x, y = (sg.fmatrix if case == "matrices" else sg.fvector)("x"), (sg.fmatrix if case == "matrices" else sg.fvector)("y")
    d = x - y
    f = sg.function([x, y], [d ** 2, d * 2, d > 0])
    want = lambda a, b: [(a - b) ** 2, (a - b) * 2, a - b > 0]  # noqa: E731
    (node,) = f.fgraph.apply_nodes
    assert len(node.outputs) == 3
    shape = (3, 5) if case == "matrices" else (7,)
    a, b = rng.normal(size=(2, *shape)).astype("float32")
    for got, expected in zip(f(a, b), want(a, b)):
        np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert _written(executor_globals(f)["t0"])
    n = {"strided": 14, "other length": 3, "empty": 0, "parallel": 1 << 18, "parallel, new memory": (1 << 17) + 9}
    if case in n:
        a, b = rng.normal(size=(2, n[case])).astype("float32")
    if case == "strided":
        a, b = a[::2], b[1::2]
    results = [f(a, b) for _ in range(2)]
    for outs in results:
        assert [o.dtype for o in outs] == [np.float32, np.float32, np.bool_] and all(o.shape == a.shape for o in outs)
        for got, expected in zip(outs, want(a, b)):
            np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert not any(np.shares_memory(o, p) for o in results[0] for p in results[1] if o.size)
    if case.startswith("parallel"):
        assert (True, None) in executor_globals(f)["t0"].flat


def test_the_written_call_of_several_outputs_writes_the_first_into_its_input():
    """(No rewrite gives a node of several outputs an input to overwrite yet: the written
    function alone, with kernels written in Python.) The first output goes into the input
    where that one is writeable and C-ordered, the others into new arrays; else all new."""
    from symgraph.backends.numba_fast_calls import fast_call

    def kernel(first, second, a, b):
        first[:] = a + b
        second[:] = a > b

    def general(inputs):
        return ["general"]
    call = fast_call(general, kernel, None, kernel, 2, 1, True, (), 0, np.empty,
                     (np.dtype("float32"), np.dtype("bool")), 100, 100, {}, general)
    a, b = np.array([1, 5, 3], "float32"), np.array([2, 2, 2], "float32")
    first, second = call([a, b])
    assert first is a and second.dtype == np.bool_
    np.testing.assert_array_equal(first, [3, 7, 5])
    np.testing.assert_array_equal(second, [True, True, True])
    a.flags.writeable = False
    first, second = call([a, b])
    assert first is not a and first.dtype == np.float32
    np.testing.assert_array_equal(first, [5, 9, 7])
    assert call([np.ones(100, "float32"), np.ones(100, "float32")]) == ["general"]  # (parallel sizes)


@pytest.mark.parametrize("case", ["same shape", "transposed", "broadcast row", "costly strided"])
def test_matrices_after_the_common_call_is_written(case, rng):
    x, y = sg.matrix("x"), sg.matrix("y")
    f = sg.function([x, y], sg.tanh(x) * y)
    a, b = rng.normal(size=(2, 6, 6)).astype("float32")
    np.testing.assert_allclose(f(a, b), np.tanh(a) * b, rtol=1e-6)
    assert _written(executor_globals(f)["t0"])
    if case == "transposed":  # raveled without a check, a transposed input is read in the wrong order
        a = a.T
    elif case == "broadcast row":
        b = b[:1]
    elif case == "costly strided":
        a, b = rng.normal(size=(2, 6, 12)).astype("float32")[:, :, ::2]
    np.testing.assert_allclose(f(a, b), np.tanh(a) * b, rtol=1e-6)


def test_a_node_writing_into_its_input_keeps_to_that_input(rng):
    """tanh(x @ w) + 1 writes into the product's array (rewrite/memory); the written call does
    too, and stays correct call after call (each call's product is new memory)."""
    x, w = sg.matrix("x"), sg.matrix("w")
    f = sg.function([x, w], sg.tanh(sg.dot(x, w)) + 1)
    thunks = [t for k, t in executor_globals(f).items() if k.startswith("t") and k[1:].isdigit()]
    (elementwise,) = [t for t in thunks if hasattr(t, "inplace")]
    assert elementwise.inplace == 0
    for _ in range(3):
        a, b = rng.normal(size=(2, 8, 8)).astype("float32")
        np.testing.assert_allclose(f(a, b), np.tanh(a @ b) + 1, rtol=1e-5, atol=1e-5)
    assert _written(elementwise)
    results = [f(a, b) for _ in range(2)]
    assert results[0] is not results[1] and not np.shares_memory(results[0], results[1])


def test_a_new_dtype_of_input_is_not_given_to_the_written_kernel():
    """A node's inputs have its dtypes: an argument of another is converted before the call."""
    x = sg.fvector("x")
    f = sg.function([x], x * 2)
    f(np.ones(3, "float32"))
    assert _written(executor_globals(f)["t0"])
    np.testing.assert_array_equal(f(np.arange(3, dtype="int16")), [0, 2, 4])
    assert f(np.arange(3, dtype="int16")).dtype == np.float32


def test_a_function_calls_the_program_it_holds_now(rng):
    """Benchmarks swap in the node-by-node program (f._run = f._run.run): calls must use it."""
    x = sg.fvector("x")
    f = sg.function([x], sg.exp(x) + 1)
    seen = []
    program = f._run
    f._run = lambda values: seen.append(1) or program(values)
    a = rng.normal(size=4).astype("float32")
    np.testing.assert_allclose(f(a), np.exp(a) + 1, rtol=1e-6)
    assert seen == [1]


@pytest.mark.parametrize("case", ["broadcast row", "broadcast column", "transposed", "trig transposed",
                                  "transposed and one value"])
def test_other_layouts_run_their_plans_kernel_call_after_call(case, rng):
    """A layout's plan looks its kernel up once, after its first call: later calls must
    still give new, right outputs."""
    x, y = sg.matrix("x"), sg.matrix("y")
    a = rng.normal(size=(6, 5)).astype("float32")
    if case.startswith("broadcast"):
        b = rng.normal(size=(1, 5) if case.endswith("row") else (6, 1)).astype("float32")
        f, want = sg.function([x, y], x * y + 1), lambda: a * b + 1
        args = lambda: (a, b)  # noqa: E731
    elif case == "transposed and one value":  # (the kernel takes the 0-d value as one of shape (1,))
        s = sg.scalar("s")
        f, want = sg.function([x, s], sg.exp(x.T) * s), lambda: np.exp(a.T) * np.float32(1.5)
        args = lambda: (a, np.float32(1.5))  # noqa: E731
    else:
        op, ref = (sg.sin, np.sin) if case.startswith("trig") else (sg.exp, np.exp)
        f, want = sg.function([x], op(x.T) * 2), lambda: ref(a.T) * 2
        args = lambda: (a,)  # noqa: E731
    results = []
    for _ in range(4):
        a[...] = rng.normal(size=a.shape)
        a[0, 0] = 3e5 if case.startswith("trig") else a[0, 0]  # (beyond the vector sin's range: rerun by libm's)
        results.append(f(*args()))
        np.testing.assert_allclose(results[-1], want(), rtol=1e-6)
    assert len({id(r) for r in results}) == 4 and not np.shares_memory(results[-1], results[-2])
    elementwise = _elementwise_thunks(f)[0]
    (plan,) = elementwise.plans.values()
    assert plan.__name__ == "resolved"


@pytest.mark.parametrize("case", ["broadcast row", "broadcast column", "transposed"])
def test_other_layouts_of_a_node_of_several_outputs_run_their_plans_kernel(case, rng):
    """(x - m) ** 2 and x - m, one node: a layout's plan calls its kernel directly after its
    first call too, each output new memory of its dtype, call after call."""
    x, m = sg.matrix("x"), sg.matrix("m")
    a = rng.normal(size=(6, 5)).astype("float32")
    if case == "transposed":
        b = rng.normal(size=(6, 5)).astype("float32")
        d = x.T - m.T
        args, want = (lambda: (a, b)), (lambda: a.T - b.T)  # noqa: E731
    else:
        b = rng.normal(size=(1, 5) if case.endswith("row") else (6, 1)).astype("float32")
        d = x - m
        args, want = (lambda: (a, b)), (lambda: a - b)  # noqa: E731
    f = sg.function([x, m], [d ** 2, d, d > 0])
    assert any(len(node.outputs) == 3 for node in f.fgraph.apply_nodes)  # (beside views: x.T)
    results = []
    for _ in range(4):
        a[...] = rng.normal(size=a.shape)
        results.append(f(*args()))
        squared, difference, positive = results[-1]
        np.testing.assert_allclose(squared, want() ** 2, rtol=1e-6)
        np.testing.assert_allclose(difference, want(), rtol=1e-6)
        np.testing.assert_array_equal(positive, want() > 0)
        assert positive.dtype == np.bool_
    assert not any(np.shares_memory(o, p) for o in results[-1] for p in results[-2])
    (plan,) = _elementwise_thunks(f)[0].plans.values()
    assert plan.__name__ == "resolved"


def _elementwise_thunks(f):
    """The elementwise nodes' thunks (a reduction's thunk has plans too, ReducePlans)."""
    return [t for k, t in executor_globals(f).items() if k[:1] == "t" and isinstance(t, ElementwiseThunk)]


def _plan_written_for_single_values(f):
    return [p for t in _elementwise_thunks(f) for p in t.plans.values()
            if p.__code__.co_filename.startswith("<symgraph single-values call")]


def _single_value_cases(case, rng, singles_0d):
    """(f, args, want) of each case, its single values 0-d by their type or one-element arrays."""
    a = rng.normal(size=(6, 5)).astype("float32")
    if case == "x / x.sum()":
        x = sg.fvector("x")
        total = x.sum() if singles_0d else x.sum(keepdims=True)
        return sg.function([x], x / total), lambda: (a[0],), lambda: a[0] / a[0].sum(), a
    if case == "matrix times a shared rate":
        x, rate = sg.fmatrix("x"), sg.shared(np.full((1, 1) * (not singles_0d), 0.5, "float32"), "rate")
        return sg.function([x], sg.exp(x) * rate), lambda: (a,), lambda: np.exp(a) * np.float32(0.5), a
    if case == "one-element row":
        x, y = sg.fmatrix("x"), (sg.fscalar if singles_0d else sg.fmatrix)("y")
        one = a[:1, :1].reshape(()) if singles_0d else a[:1, :1]
        return sg.function([x, y], x - y), lambda: (a, one), lambda: a - a[:1, :1], a
    x, w, s = sg.fmatrix("x"), sg.fmatrix("w"), (sg.fscalar if singles_0d else sg.fmatrix)("s")
    b = rng.normal(size=(5, 5)).astype("float32")
    f = sg.function([x, w, s], sg.tanh(sg.dot(x, w)) * s + 1)
    two = np.float32(2.0) if singles_0d else np.full((1, 1), 2.0, "float32")
    return f, lambda: (a, b, two), lambda: np.tanh(a @ b) * np.float32(2.0) + 1, a


_SINGLE_VALUE_CASES = ["x / x.sum()", "matrix times a shared rate", "one-element row", "into the product's array"]


def _new_and_right_call_after_call(f, args, want, a, rng):
    """Four calls, `a` refilled before each: NumPy's values, each result new memory."""
    results = []
    for _ in range(4):
        a[...] = rng.normal(size=a.shape)
        results.append(f(*args()))
        np.testing.assert_allclose(results[-1], want(), rtol=1e-5, atol=1e-6)
    assert len({id(r) for r in results}) == 4 and not np.shares_memory(results[-1], results[-2])


@pytest.mark.parametrize("case", _SINGLE_VALUE_CASES)
def test_arrays_beside_single_values_call_after_call(case, rng):
    """Arrays of the output's shape beside one-element values run a call written for that
    plan (numba_fast_calls.single_values_call): new and right outputs call after call, the
    node's own input written into where it may be."""
    f, args, want, a = _single_value_cases(case, rng, singles_0d=False)
    _new_and_right_call_after_call(f, args, want, a, rng)
    (plan,) = _plan_written_for_single_values(f)
    kernels = dict(zip(plan.__code__.co_freevars, plan.__closure__))["kernels"].cell_contents
    # (after the first call, the kernel itself: into the product's array there, else a new one)
    assert kernels[1 if case == "into the product's array" else 0] is not None


@pytest.mark.parametrize("case", _SINGLE_VALUE_CASES)
def test_arrays_beside_inputs_0d_by_their_type_take_the_common_call(case, rng):
    """A 0-d input (x / x.sum(), a shared 0-d rate, a scalar argument) is one value of the
    node's own flat kernels: the written common call runs them, no plan is looked up, new
    and right outputs call after call, the product's array written into where it may be."""
    f, args, want, a = _single_value_cases(case, rng, singles_0d=True)
    _new_and_right_call_after_call(f, args, want, a, rng)
    thunks = [t for t in _elementwise_thunks(f) if t.singles]
    assert thunks and all(_written(t) and not t.plans for t in thunks)
    aliased = case == "into the product's array"
    assert [list(t.flat) for t in thunks] == [[(False, thunks[0].inplace if aliased else None)]]


@pytest.mark.parametrize("case", ["first", "matrices", "parallel", "recycled", "strided", "broadcast", "several"])
def test_inputs_0d_by_their_type_at_every_size_and_layout(case, rng):
    """s * x + y with s 0-d: the written call's serial and parallel kernels, the thunk's own
    from the recycling size (streamed stores), plans for other layouts, a node of several
    outputs: as NumPy, the 0-d input never taken for the output's shape."""
    n = {"parallel": (1 << 17) + 9, "recycled": 1 << 20}.get(case, 7)
    shape = (3, 5) if case in ("matrices", "broadcast") else (n,)
    x, y = (sg.tensor(v, "float32", shape=(None,) * len(shape)) for v in "xy")
    s = sg.fscalar("s")
    outputs = [s * x + y, s * x - y > 0] if case == "several" else s * x + y
    f = sg.function([s, x, y], outputs)
    a, b = rng.normal(size=(2, *shape)).astype("float32")
    if case == "strided":
        a = rng.normal(size=2 * n).astype("float32")[::2]
    if case == "broadcast":
        b = b[:1]
    t0 = next(t for t in _elementwise_thunks(f) if t.singles)
    assert t0.singles == (0,) and t0.first_array == 1
    for scale in (np.float32(1.5), 2.5, np.float32(-3)):
        got = f(scale, a, b)
        want = np.float32(scale) * a + b
        if case == "several":
            np.testing.assert_allclose(got[0], want, rtol=1e-6)
            np.testing.assert_array_equal(got[1], np.float32(scale) * a - b > 0)
            got = got[0]
        else:
            np.testing.assert_allclose(got, want, rtol=1e-6)
        assert got.shape == want.shape and got.dtype == np.float32
    if case == "broadcast":
        assert t0.plans  # (other layouts: a plan as before; a cheap 1-d loop takes any stride)
    else:
        parallel = [key == "stream" or key[0] for key in t0.flat]  # (a streamed kernel is a parallel one)
        assert not t0.plans and (case in ("parallel", "recycled")) == any(parallel)


def test_the_single_values_call_writes_into_its_input_only_where_it_may():
    """The call goes into input `alias` while that one is writeable, else into a new array; a
    way first taken runs the plan (which compiles its kernel), then its kernel directly."""
    from symgraph.backends.numba_fast_calls import single_values_call
    ran, kernels = [], {}

    def run(inputs):
        ran.append(inputs[0].flags.writeable)
        return [inputs[0] if inputs[0].flags.writeable else inputs[0] + inputs[1]]

    def kernel_of(into):
        def kernel(out, x, s):
            kernels.setdefault(into, []).append(out is x)
            out[:] = x + s[0]
        return kernel
    call = single_values_call(run, kernel_of, 2, 1, (False, True), 0, np.empty, (3,), [np.dtype("float32")])
    x, s = np.zeros(3, "float32"), np.float32(1.0).reshape(())
    frozen = np.zeros(3, "float32")
    frozen.flags.writeable = False
    assert call([x, s])[0] is x and ran == [True]
    assert call([x, s])[0] is x and kernels == {True: [True]}
    out = call([frozen, s])[0]
    assert out is not frozen and ran == [True, False] and (out == 1).all()
    out = call([frozen, s])[0]
    assert out is not frozen and kernels[False] == [False] and (out == 1).all() and (frozen == 0).all()


def test_the_single_values_call_of_several_outputs_makes_each_of_its_dtype():
    """Outputs after the first are new arrays of their dtypes, whether the first is written into
    the input or into a new array; the kernel takes the outputs, then the inputs."""
    from symgraph.backends.numba_fast_calls import single_values_call

    def run(inputs):
        x, s = inputs
        first = x if x.flags.writeable else np.empty(3, "float32")
        first[:] = x + s
        return [first, (x > s).astype(np.float64)]

    def kernel_of(into):
        def kernel(out0, out1, x, s):
            out0[:] = x + s[0]
            out1[:] = x > s[0]
        return kernel
    call = single_values_call(run, kernel_of, 2, 1, (False, True), 0, np.empty, (3,),
                              [np.dtype("float32"), np.dtype("float64")])
    s = np.float32(0.5).reshape(())
    for _ in range(2):  # (the first call runs the plan, the second the kernel)
        x = np.array([0.0, 1.0, 2.0], "float32")
        first, second = call([x, s])
        assert first is x and second.dtype == np.float64
        np.testing.assert_array_equal(first, [0.5, 1.5, 2.5])
        np.testing.assert_array_equal(second, [0, 1, 1])
    frozen = np.array([0.0, 1.0, 2.0], "float32")
    frozen.flags.writeable = False
    results = [call([frozen, s]) for _ in range(3)]
    for first, second in results:
        assert first is not frozen and first.dtype == np.float32 and second.dtype == np.float64
        np.testing.assert_array_equal(first, [0.5, 1.5, 2.5])
        np.testing.assert_array_equal(second, [0, 1, 1])
    assert not np.shares_memory(results[-1][1], results[-2][1]) and (frozen == [0, 1, 2]).all()


@pytest.mark.parametrize("shape", [(256,), (6, 5)])
def test_a_node_of_several_outputs_beside_a_shared_number_call_after_call(shape, rng):
    """-z - b and z + b, one node beside a shared 0-d b (a logistic regression's forward value
    and what its gradient reuses): a call written for that plan, new right outputs each call."""
    z = sg.tensor("z", "float32", shape=(None,) * len(shape))
    b = sg.shared(np.float32(0.25), "b")
    t = -z - b
    f = sg.function([z], [t * 3, -t, t > 0])
    assert any(len(node.outputs) == 3 for node in f.fgraph.apply_nodes)
    a = rng.normal(size=shape).astype("float32")
    results = []
    for _ in range(4):
        a[...] = rng.normal(size=shape)
        results.append(f(a))
        tripled, negated, positive = results[-1]
        np.testing.assert_allclose(tripled, (-a - np.float32(0.25)) * 3, rtol=1e-6)
        np.testing.assert_allclose(negated, a + np.float32(0.25), rtol=1e-6)
        np.testing.assert_array_equal(positive, -a - np.float32(0.25) > 0)
        assert tripled.dtype == np.float32 and positive.dtype == np.bool_
    assert not any(np.shares_memory(o, p) for o in results[-1] for p in results[-2])
    # (b 0-d by its type: the written common call, no plan)
    (t0,) = [t for t in _elementwise_thunks(f) if len(t.out_dtypes) == 3]
    assert t0.singles and _written(t0) and not t0.plans and list(t0.flat) == [(False, None)]
