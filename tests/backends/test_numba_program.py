"""The whole-program tier of the numba backend (numba_program): a hot signature compiled into
one function must give the executor's results, fall back where it cannot, and leave errors
and shared state as the executor does."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck
from hypothesis.extra import numpy as hnp

import symgraph as sg
from symgraph.backends import numba_program
from tests.reliability.test_fuzz import build as random_graph, values as fuzz_values


@pytest.fixture(autouse=True)
def compile_at_once(monkeypatch):
    """Compile a signature on its second call, in this thread (see numba_program.HOT_SECONDS)."""
    monkeypatch.setattr(numba_program, "HOT_SECONDS", 0.0)
    monkeypatch.setattr(numba_program, "COLD_SECONDS_PER_NODE", 0.0)
    monkeypatch.setattr(numba_program, "BACKGROUND", False)
    monkeypatch.setattr(numba_program, "MIN_NODES", numba_program.MIN_NODES)
    monkeypatch.setattr(numba_program, "TRIAL_CALLS", 0)  # (kept at once: test_a_program_on_trial_...)


def program_of(f, *args):
    """Call f until its signature runs the whole program; returns the program's results."""
    for _ in range(3):  # first call; compile; check against the executor
        f(*args)
    key = numba_program.signature([np.asarray(a) for a in args] + [s.get_value() for s in f.shared])
    assert f._run.programs.get(key) is not None, f._run.why_not
    return f(*args)


def assert_close(got, want, dtype="float32"):
    tol = 2e-5 if dtype == "float32" else 1e-11
    for g, w in zip(got if isinstance(got, list) else [got], want if isinstance(want, list) else [want]):
        assert np.shape(g) == np.shape(w) and np.asarray(g).dtype == np.asarray(w).dtype
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol, equal_nan=True)


def classifier(dtype, idiom, hidden=8):
    rng = np.random.default_rng(0)
    x, y = sg.tensor("x", dtype, (None, None)), sg.ivector("y")
    W1 = sg.shared(rng.normal(size=(5, hidden)).astype(dtype), "W1")
    b1 = sg.shared(np.zeros(hidden, dtype), "b1")
    W2 = sg.shared(rng.normal(size=(hidden, 3)).astype(dtype), "W2")
    logits = sg.dot(sg.nn.relu(sg.dot(x, W1) + b1), W2)
    if idiom == "theano":
        cost = -sg.log(sg.nn.softmax(logits))[sg.arange(y.shape[0]), y].mean()
    else:
        cost = sg.nn.categorical_crossentropy(sg.nn.softmax(logits), y).mean()
    params = [W1, b1, W2]
    grads = sg.grad(cost, params)
    return x, y, cost, params, [(p, p - 0.5 * g) for p, g in zip(params, grads)]


def test_concatenations_run_in_the_whole_program(rng):
    """concatenate along either axis, of parts of two dtypes and of no values, in a program:
    the executor's values; a step joining two halves of its hidden layer trains as the
    executor's (its gradient slices the joined gradient)."""
    x, v = sg.fmatrix("x"), sg.ivector("v")
    outputs = [sg.concatenate([x * 2, x[:1], x[:0]], axis=0), sg.concatenate([x, sg.exp(x), x[:, :1]], axis=1),
               sg.concatenate([v, v * 3]), sg.concatenate([sg.cast(v, "float32"), x[0]])]
    f = sg.function([x, v], outputs, backend="numba")
    xv, vv = rng.normal(size=(4, 3)).astype("float32"), np.array([1, -2, 5], "int32")
    assert_close(program_of(f, xv, vv), sg.function([x, v], outputs, backend="numpy")(xv, vv))
    y = sg.ivector("y")
    W1 = sg.shared(rng.normal(size=(3, 8)).astype("float32"), "W1")
    W2 = sg.shared(rng.normal(size=(8, 3)).astype("float32"), "W2")
    h = sg.nn.relu(sg.dot(x, W1))
    joined = sg.concatenate([h[:, :4], sg.tanh(h[:, 4:])], axis=1)
    cost = sg.nn.categorical_crossentropy(sg.nn.softmax(sg.dot(joined, W2)), y).mean()
    updates = [(p, p - 0.5 * g) for p, g in zip([W1, W2], sg.grad(cost, [W1, W2]))]
    start = [W1.get_value(), W2.get_value()]
    yv = np.array([0, 2, 1, 1], "int32")
    losses = [float(program_of(sg.function([x, y], cost, updates=updates, backend="numba"), xv, yv))]
    for p, value in zip([W1, W2], start):
        p.set_value(value)
    slow = sg.function([x, y], cost, updates=updates, backend="numpy")
    np.testing.assert_allclose(losses, [float(slow(xv, yv)) for _ in range(4)][3:], rtol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_products_of_stacks_and_softmax_along_their_rows_run_in_the_whole_program(dtype, rng):
    """matmul of a stack by one matrix (a dense layer over a sequence) and by a stack (attention's
    scores, batched_dot), softmax and log_softmax along a stack's last axis, and their
    gradients, in a program: the executor's values; a stack that broadcasts against another
    keeps the executor."""
    q, k = sg.tensor("q", dtype, (None, None, None)), sg.tensor("k", dtype, (None, None, None))
    W = sg.shared(rng.normal(size=(4, 3)).astype(dtype), "W")
    scores = sg.nn.softmax(sg.matmul(q, k.dimshuffle(0, 2, 1)), axis=-1)
    attended = sg.matmul(scores, k)
    cost = (sg.matmul(attended, W) ** 2).sum() + sg.nn.log_softmax(q * 2).sum() + (sg.batched_dot(q, k.dimshuffle(0, 2, 1)) ** 2).sum()
    outputs = [cost, attended] + sg.grad(cost, [q, k, W])
    f = sg.function([q, k], outputs, backend="numba")
    qv, kv = rng.normal(size=(3, 5, 4)).astype(dtype), rng.normal(size=(3, 6, 4)).astype(dtype)
    assert_close(program_of(f, qv, kv), sg.function([q, k], outputs, backend="numpy")(qv, kv), dtype)
    one = sg.tensor("one", dtype, (1, None, None))
    spread = sg.function([q, one], [(sg.matmul(q, one) * 2).sum(axis=0), sg.exp(q).sum(), q.max(axis=1)], backend="numba")
    ov = rng.normal(size=(1, 4, 2)).astype(dtype)
    for _ in range(3):
        np.testing.assert_allclose(spread(qv, ov)[0], (np.matmul(qv, ov) * 2).sum(axis=0), rtol=1e-5)
    assert "Matmul" in str(spread._run.why_not), spread._run.why_not


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_tiles_repeats_and_running_sums_run_in_the_whole_program(dtype, rng):
    """tile, repeat by a number along either axis, and cumsum along either axis and from the
    end (a cumsum's gradient) in a program: NumPy's values, the sums bit for bit (one addition
    after another, as NumPy's); an integer cumsum in int64; per-value repeats keep the executor."""
    x, v = sg.tensor("x", dtype, (None, None)), sg.ivector("v")
    outputs = [sg.tile(x, (2, 3)) * 2, sg.tile(x[:, :1], (1, 4)), sg.repeat(x, 2, axis=0) + 1, sg.repeat(x * 3, 3, axis=1),
               sg.cumsum(x, axis=0), sg.cumsum(x * 2, axis=1), sg.cumsum(v), sg.grad((sg.cumsum(x, axis=1) * x).sum(), x)]
    f = sg.function([x, v], outputs, backend="numba")
    xv, vv = rng.normal(size=(4, 3)).astype(dtype), np.array([1, -2, 5, 7], "int32")
    got = program_of(f, xv, vv)
    want = sg.function([x, v], outputs, backend="numpy")(xv, vv)
    assert_close(got, want, dtype)
    for g, w in zip(got[4:7], [np.cumsum(xv, axis=0), np.cumsum(xv * 2, axis=1), np.cumsum(vv)]):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)
    repeated = sg.repeat(sg.exp(x), sg.constant(np.array([1, 2, 0, 1])), axis=0)
    counts = sg.function([x], [repeated * 2, (repeated - 1).sum(axis=1), x.max(axis=0)], backend="numba")
    for _ in range(3):
        np.testing.assert_allclose(counts(xv)[0], np.repeat(np.exp(xv), [1, 2, 0, 1], axis=0) * 2, rtol=1e-6)
    assert "per-value repeats" in str(counts._run.why_not), counts._run.why_not


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("idiom", ["theano", "keras"])
@pytest.mark.exhaustive
def test_a_training_loop_runs_the_whole_program_and_trains_as_the_executor(dtype, idiom, rng):
    x, y, cost, params, updates = classifier(dtype, idiom)
    xv = rng.normal(size=(6, 5)).astype(dtype)
    yv = np.array([0, 2, 1, -1, 2, 0], "int32")  # -1: the last class, as NumPy indexes
    fast = sg.function([x, y], cost, updates=updates, backend="numba")
    start = [p.get_value() for p in params]
    slow = sg.function([x, y], cost, updates=updates, backend="numpy")
    # the loss and its gradient are one node (CrossentropySoftmaxWithGrad), spelled in the program
    assert "CrossentropySoftmaxWithGrad" in [type(n.op).__name__ for n in fast.fgraph.apply_nodes]
    program_of(fast, xv, yv)
    losses = [float(fast(xv, yv)) for _ in range(20)]
    assert losses[-1] < losses[0]
    trained = [p.get_value() for p in params]
    for p, v in zip(params, start):
        p.set_value(v)
    want = [float(slow(xv, yv)) for _ in range(24)][4:]  # program_of made four steps
    np.testing.assert_allclose(losses, want, rtol=1e-4 if dtype == "float32" else 1e-10)
    for p, v in zip(params, trained):
        np.testing.assert_allclose(p.get_value(), v, rtol=1e-3 if dtype == "float32" else 1e-9, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_step_with_one_hot_targets_runs_the_whole_program(dtype, rng):
    """categorical_crossentropy against one-hot rows (Keras's to_categorical): the loss and
    its gradient one node with dense targets, spelled in the program."""
    x, y = sg.tensor("x", dtype, (None, None)), sg.tensor("y", dtype, (None, None))
    w = sg.shared(rng.normal(size=(5, 3)).astype(dtype), "w")
    cost = sg.nn.categorical_crossentropy(sg.nn.softmax(sg.dot(x, w)), y).mean()
    updates = [(w, w - 0.5 * sg.grad(cost, w))]
    fast = sg.function([x, y], cost, updates=updates, backend="numba")
    assert "CrossentropySoftmaxWithGrad" in [type(n.op).__name__ for n in fast.fgraph.apply_nodes]
    xv, yv = rng.normal(size=(6, 5)).astype(dtype), np.eye(3, dtype=dtype)[[0, 2, 1, 1, 2, 0]]
    start = w.get_value()
    program_of(fast, xv, yv)
    losses = [float(fast(xv, yv)) for _ in range(5)]
    trained = w.get_value()
    w.set_value(start)
    slow = sg.function([x, y], cost, updates=updates, backend="numpy")
    want = [float(slow(xv, yv)) for _ in range(9)][4:]  # program_of made four steps
    np.testing.assert_allclose(losses, want, rtol=1e-4 if dtype == "float32" else 1e-10)
    np.testing.assert_allclose(w.get_value(), trained, rtol=1e-3 if dtype == "float32" else 1e-9, atol=1e-5)


def test_an_error_inside_the_program_is_raised_by_the_executor_and_changes_nothing(rng):
    x, y, cost, params, updates = classifier("float32", "keras")
    f = sg.function([x, y], cost, updates=updates, backend="numba")
    xv = rng.normal(size=(4, 5)).astype("float32")
    program_of(f, xv, np.array([0, 1, 2, 0], "int32"))
    before = [p.get_value() for p in params]
    with pytest.raises(IndexError, match="out of bounds") as info:
        f(xv, np.array([0, 1, 3, 0], "int32"))
    assert "CrossentropySoftmax" in str(info.value)  # the executor's message names the node
    for p, v in zip(params, before):
        np.testing.assert_array_equal(p.get_value(), v)


def test_other_shapes_keep_the_executor_until_they_are_hot_too(rng):
    x = sg.fmatrix("x")
    out = sg.nn.softmax(x * 2).sum(axis=0) + x.max(axis=0) * x.min(axis=0)
    f = sg.function([x], out, backend="numba")
    a, b = rng.normal(size=(3, 4)).astype("float32"), rng.normal(size=(5, 4)).astype("float32")
    program_of(f, a)
    assert len([p for p in f._run.programs.values() if p is not None]) == 1
    assert_close(f(b), sg.function([x], out, backend="numpy")(b))
    program_of(f, b)
    assert len([p for p in f._run.programs.values() if p is not None]) == 2


def test_graphs_it_does_not_spell_too_small_or_too_large_stay_with_the_executor(monkeypatch, rng):
    x = sg.ftensor4("x")
    w = sg.shared(rng.normal(size=(2, 1, 3, 3)).astype("float32"))
    f = sg.function([x], sg.nn.conv2d(x, w).sum(), backend="numba")
    xv = rng.normal(size=(1, 1, 5, 5)).astype("float32")
    assert "Conv2D" in numba_program.unsupported(f.fgraph)
    assert not isinstance(f._run, numba_program.TieredRunner)  # the executor, as it was
    tiny = sg.function([x], x * 2 + 1, backend="numba")  # one loop: a program would save nothing
    assert numba_program.unsupported(tiny.fgraph) == "only 1 node(s)"
    monkeypatch.setattr(numba_program, "MAX_ELEMENTS", 8)
    v = sg.fvector("v")
    g = sg.function([v], [sg.exp(v) + 1, v.sum(), v.max(), sg.exp(v).min()], backend="numba")
    for _ in range(4):
        g(np.ones(10, "float32"))
    assert "elements" in str(g._run.why_not)


def test_a_signature_without_a_program_runs_the_executor_untimed(monkeypatch, rng):
    """Once no program will be (too large here), a call runs the executor with no clock read
    and no time added up; the written signature is the general one's."""
    monkeypatch.setattr(numba_program, "MAX_ELEMENTS", 8)
    v, s = sg.fvector("v"), sg.shared(np.float32(2.0), "s")
    g = sg.function([v], [sg.exp(v) * s + 1, v.sum(), v.max(), sg.exp(v).min()], backend="numba")
    values = [np.ones(10, "float32"), s.get_value()]
    assert g._run.signature(values) == numba_program.signature(values) == ((10,), ())
    for _ in range(4):
        g(values[0])
    key = numba_program.signature(values)
    assert g._run.programs[key] is None and "elements" in str(g._run.why_not)
    spent = g._run.spent[key][0]
    clock = []
    monkeypatch.setattr(numba_program.time, "perf_counter", lambda: clock.append(1) or 0.0)
    got = g(values[0])
    assert clock == [] and g._run.spent[key][0] == spent
    np.testing.assert_allclose(got[0], np.exp(np.ones(10, "float32")) * 2 + 1, rtol=1e-6)


def test_written_signatures_are_the_general_ones():
    arrays = [np.zeros((2, 3)), np.zeros(()), np.zeros((0, 4, 1)), np.zeros(5)]
    for arity in range(1, 5):
        assert numba_program.written_signature(arity)(arrays[:arity]) == numba_program.signature(arrays[:arity])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.exhaustive
def test_reductions_indexing_and_shapes_in_the_program(dtype, rng):
    a, b = sg.tensor("a", dtype, (None, None)), sg.tensor("b", dtype, (None,))
    i = sg.ivector("i")
    outs = [a.sum(axis=0), a.max(axis=1, keepdims=True), a.min(), (a * b).mean(axis=1), a.prod(axis=0),
            a[i], a[i, i], sg.inc_subtensor(a[i], b), sg.set_subtensor(a[i, i], 0.0), a[::-1, :1], a[1, 2],
            a.T * 2, sg.exp(b).dimshuffle("x", 0) + a, sg.zeros_like(a) + b, sg.broadcast_to(b, a.shape),
            sg.nn.log_softmax(a), sg.nn.categorical_crossentropy(sg.nn.softmax(a), sg.nn.softmax(a)), a, a.shape[0] * 2,
            sg.argmax(a, axis=1), sg.argmin(a, axis=0), sg.argmax(sg.where(a > 0.5, np.nan, a), axis=1),
            a.reshape((9,)) * 2, (a + 1).flatten(),
            a[:, :1].sum(axis=1), a[:1].max(axis=0, keepdims=True), (a * b).sum(), a.mean(axis=1),
            (a > 0).sum(axis=1), sg.diagonal(a, 1) * 2, sg.trace(a[::-1]) + b, sg.diagonal(a, -5)]
    args = (rng.normal(size=(3, 3)).astype(dtype), rng.normal(size=3).astype(dtype), np.array([2, -1, 0, 2], "int32"))
    got = program_of(sg.function([a, b, i], outs, backend="numba"), *args)
    assert_close(got, sg.function([a, b, i], outs, backend="numpy")(*args), dtype)


@pytest.mark.slow  # (7-28 s cold; the quick tier ran 12 minutes cold: its parts stay tested there, CI runs both)
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_whole_program_agrees_with_numpy_on_random_graphs(data):
    numba_program.MIN_NODES = 1  # (restored by the fixture below) most random graphs fuse to 1-3
    draw = data.draw
    dtype = draw(st.sampled_from(["float32", "float64"]))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    a = sg.tensor("a", dtype, (None,) * len(shape))
    b = sg.tensor("b", dtype, (None,) * len(shape))
    out = random_graph(draw, [a, b])
    av = draw(hnp.arrays(dtype, shape, elements=fuzz_values))
    bv = draw(hnp.arrays(dtype, shape, elements=fuzz_values))
    f = sg.function([a, b], out, backend="numba", on_unused_input="ignore")
    wrapped = isinstance(f._run, numba_program.TieredRunner)
    # (a graph the rewriter reduced to an input, -(-a), has no node to compile)
    assert wrapped or numba_program.unsupported(f.fgraph) == "only 0 node(s)", numba_program.unsupported(f.fgraph)
    for _ in range(3):
        f(av, bv)
    if wrapped:
        programs = [p for p in f._run.programs.values() if p is not None]
        assert programs or "sin/cos" in str(f._run.why_not), f._run.why_not
    got = f(av, bv)
    want = sg.function([a, b], out, backend="numpy", on_unused_input="ignore")(av, bv)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    tol = 2e-4 if dtype == "float32" else 1e-9
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_slices_set_and_incremented_in_the_program(dtype, rng):
    """An LSTM's gate gradients set into their joined product's gradient: set/inc_subtensor
    over slices and integers known when the program is written, broadcasting the value."""
    a, b = sg.tensor("a", dtype, (None, None)), sg.tensor("b", dtype, (None, None))
    outs = [sg.set_subtensor(a[:, 1:3], b[:, :2] * 2), sg.inc_subtensor(a[::-2, -1], b[0, 0]),
            sg.inc_subtensor(a[1, :], sg.exp(b[1])), sg.set_subtensor(a[2:0:-1, ::2], b[:1, :2]) + 1]
    args = (rng.normal(size=(4, 4)).astype(dtype), rng.normal(size=(4, 4)).astype(dtype))
    got = program_of(sg.function([a, b], outs, backend="numba"), *args)
    assert_close(got, sg.function([a, b], outs, backend="numpy")(*args), dtype)


def test_a_sum_to_its_own_shape_is_the_same_array_and_a_scatter_in_place_copies_it(rng):
    """SumToShape(t, b.shape) of a t that has b's shape at run time (not provable when the
    graph is rewritten) names t's array again; an increment of it must not change t, which is
    still read after. (The memory planner writes in place only into fresh memory, which a
    SumToShape's is not; the program copies an alias before a scatter in place anyway.)"""
    from symgraph.ops.reduce import SumToShape
    a, b = sg.dmatrix("a"), sg.dmatrix("b")
    t = sg.exp(a) + 1
    summed = SumToShape()(t, b.shape)
    outs = [(sg.inc_subtensor(summed[0], 100.0) * 3).sum(axis=1), t * 2 + b]
    args = (rng.normal(size=(3, 4)), rng.normal(size=(3, 4)))
    f = sg.function([a, b], outs, backend="numba")
    got = program_of(f, *args)
    assert_close(got, sg.function([a, b], outs, backend="numpy")(*args), "float64")


def test_a_new_memory_layout_runs_the_executor_instead_of_compiling_again(rng):
    a = sg.fmatrix("a")
    out = [sg.exp(a).sum(axis=1), (a * 2).max(axis=0), sg.nn.softmax(a), a.min(axis=1)]
    f = sg.function([a], out, backend="numba")
    c = rng.normal(size=(3, 4)).astype("float32")
    program_of(f, c)
    (program,) = [p for p in f._run.programs.values() if p is not None]
    fortran = np.asfortranarray(c)
    assert_close(f(fortran), sg.function([a], out, backend="numpy")(fortran))
    assert len(program.kernel.signatures) == 1  # nothing compiled for the F-ordered input


def test_a_read_only_input_runs_the_program_compiled_for_writeable_ones(rng):
    """A read-only array (a constant's, a broadcast view) is a type of its own to numba: the
    program is compiled for writeable arrays, first call read-only or not, and takes a copy."""
    a, b = sg.fmatrix("a"), sg.fmatrix("b")
    out = [sg.exp(a).sum(axis=1) + b.sum(axis=1), (a * b).max(axis=0), sg.nn.softmax(a - b), a.min(axis=1)]
    f = sg.function([a, b], out, backend="numba")
    reference = sg.function([a, b], out, backend="numpy")
    av, bv = rng.normal(size=(3, 4)).astype("float32"), rng.normal(size=(3, 4)).astype("float32")
    read_only = bv.copy()
    read_only.setflags(write=False)
    program_of(f, av, read_only)  # (compiled where the hot call had a read-only input)
    (program,) = [p for p in f._run.programs.values() if p is not None]

    def executor(values):
        raise AssertionError("the executor ran: the program refused the arguments")
    f._run.run = executor
    for args in ((av, bv), (av, read_only)):
        assert_close(f(*args), reference(*args))
    assert len(program.kernel.signatures) == 1


def test_config_whole_programs_off_keeps_the_executor(monkeypatch):
    monkeypatch.setattr(sg.config, "whole_programs", False)
    a = sg.fmatrix("a")
    f = sg.function([a], [sg.exp(a).sum(axis=1), a.max(axis=0), sg.nn.softmax(a), a.min(axis=1)], backend="numba")
    assert not isinstance(f._run, numba_program.TieredRunner)


def test_empty_batches_and_scalar_inputs(rng):
    x, lr = sg.fmatrix("x"), sg.fscalar("lr")
    W = sg.shared(rng.normal(size=(3, 2)).astype("float32"), "W")
    out = [sg.dot(x, W).sum(axis=0) * lr, x.mean(axis=0), sg.nn.softmax(sg.dot(x, W)), (x * lr).sum()]
    for xv in (np.zeros((0, 3), "float32"), rng.normal(size=(4, 3)).astype("float32")):
        args = (xv, np.float32(0.5))
        with np.errstate(all="ignore"):
            got = program_of(sg.function([x, lr], out, backend="numba"), *args)
            want = sg.function([x, lr], out, backend="numpy")(*args)
        assert_close(got, want)


def test_random_draws_give_the_executors_numbers_call_after_call(rng):
    """Dropout's mask and uniform/normal noise: the counter-based stream, number for number."""
    x = sg.fmatrix("x")
    stream = sg.random.RandomStream(7)
    out = [sg.nn.dropout(x, 0.3, stream) * 2, x + stream.uniform((3, 4), -1.0, 2.0),
           x * stream.normal((3, 4), 1.0, 0.5), stream.binomial((3, 4), n=3, p=0.4)]
    xv = rng.normal(size=(3, 4)).astype("float32")
    fast = sg.function([x], out, backend="numba")
    got = [program_of(fast, xv)] + [fast(xv) for _ in range(3)]
    stream.seed(7)
    slow = sg.function([x], out, backend="numpy")
    want = [slow(xv) for _ in range(7)][3:]  # program_of made four calls
    for g, w_ in zip(got, want):
        np.testing.assert_array_equal(g[0], w_[0])
        np.testing.assert_array_equal(g[1], w_[1])
        np.testing.assert_allclose(g[2], w_[2], rtol=1e-6)  # log and cos: libm's, not NumPy's
        np.testing.assert_array_equal(g[3], w_[3])


def test_threads_calling_one_function_compile_it_once_and_agree(rng):
    import threading
    a = sg.fmatrix("a")
    out = [sg.exp(a).sum(axis=1), a.max(axis=0), sg.nn.softmax(a), a.min(axis=1)]
    f = sg.function([a], out, backend="numba")
    want_of = sg.function([a], out, backend="numpy")
    inputs = [rng.normal(size=(5, 3)).astype("float32") for _ in range(4)]
    wants = [want_of(v) for v in inputs]
    errors = []

    def work(v, want):
        try:
            for _ in range(50):
                assert_close(f(v), want)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=work, args=pair) for pair in zip(inputs, wants)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert [p for p in f._run.programs.values() if p is not None] and not f._run.why_not, f._run.why_not


@pytest.mark.slow  # (fresh processes or a second compiler: CI runs it in make test-slow)
def test_a_program_not_in_the_disk_cache_is_compiled_by_a_child_process(monkeypatch, tmp_path, rng):
    """(numba_elsewhere) The child compiles into numba's disk cache; this process loads the
    machine code from it, compiling nothing itself, and the program trains as the executor."""
    monkeypatch.setattr(sg.config, "cache_dir", str(tmp_path))  # nothing compiled there yet
    monkeypatch.setattr(numba_program, "IN_CHILD", True)
    children = []
    real = numba_program.compile_in_child
    monkeypatch.setattr(numba_program, "compile_in_child", lambda *args: children.append(real(*args)))
    results = {}
    xv, yv = rng.normal(size=(6, 5)).astype("float32"), np.array([0, 2, 1, 1, 2, 0], "int32")
    for backend in ("numba", "numpy"):
        x, y, cost, params, updates = classifier("float32", "keras", hidden=7)  # (a program no other test has)
        f = sg.function([x, y], cost, updates=updates, backend=backend)
        results[backend] = [program_of(f, xv, yv) if backend == "numba" else [f(xv, yv) for _ in range(4)][-1]]
        results[backend] += [f(xv, yv) for _ in range(3)] + [p.get_value() for p in params]
        if backend == "numba":
            key = numba_program.signature([xv, yv] + [s.get_value() for s in f.shared])
            stats = f._run.programs[key].kernel.stats
    assert children == [True]
    assert sum(stats.cache_hits.values()) == 1 and not stats.cache_misses  # loaded, not compiled here
    assert_close(results["numba"], results["numpy"])


def test_a_program_a_child_compiles_starts_after_hot_seconds_where_another_core_runs_it(monkeypatch, rng):
    """Compiling in a child on a second core costs the calls nothing, so there is no ski-rental
    wait; with one core, or compiling in this process, the calls first pay for the compile."""
    monkeypatch.setattr(numba_program, "HOT_SECONDS", 0.25)
    monkeypatch.setattr(numba_program, "COLD_SECONDS_PER_NODE", 0.06)
    monkeypatch.setattr(numba_program, "is_cached", lambda source: False)
    x, y, cost, params, updates = classifier("float32", "keras")
    f = sg.function([x, y], cost, updates=updates, backend="numba")
    values = [rng.normal(size=(6, 5)).astype("float32"), np.array([0, 2, 1, 1, 2, 0], "int32")]
    values += [s.get_value() for s in f.shared]
    key = numba_program.signature(values)
    waits = {}
    for in_child, cores in ((True, 2), (True, 1), (False, 2)):
        monkeypatch.setattr(numba_program, "IN_CHILD", in_child)
        monkeypatch.setattr(numba_program.os, "cpu_count", lambda: cores)
        f._run.plans.pop(key, None)
        f._run._plan(key, values)
        plan, waits[in_child, cores] = f._run.plans[key]
    cold = 0.06 * plan.nodes
    assert waits == {(True, 2): 0.25, (True, 1): cold, (False, 2): cold} and cold > 0.25


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_ties_of_signed_zeros_in_max_and_min_keep_numpys_later_value(dtype):
    """min([-0.0, 0.0]) is 0.0 in NumPy (the later of equal values), -0.0 by LLVM's minimum: a
    division by the min then gave -inf against the executor's inf, and the program was refused
    (a random graph found it: a / where(a > b.min(1), a, b.min(1) * 0.5)[::-1]). A plain
    reduction of a small array is NumPy's in the executor, and now in the program too."""
    a, b = sg.tensor("a", dtype, (None, None)), sg.tensor("b", dtype, (None, None))
    low, high = b.min(axis=1, keepdims=True), b.max(axis=0)
    outs = [a / sg.where(a > low, a, low * 0.5)[::-1], 1 / high, 1 / b.min()]
    av = np.zeros((3, 4), dtype)
    av[2, 1] = 3.0
    bv = np.zeros((3, 4), dtype)
    bv[0, 0] = bv[2, 3] = bv[1, 2] = -0.0
    got = program_of(sg.function([a, b], outs, backend="numba"), av, bv)
    want = sg.function([a, b], outs, backend="numpy")(av, bv)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)  # (infinities of the same sign, NaN where NumPy's)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_plain_max_and_min_fold_vectorized_with_numpys_values(dtype, rng):
    """A program's plain float max or min folds by maxnum or minnum (a compare one value after
    another took 18 us for 16384 float32 values, 1.4 so), NaN noted apart; a zero result, whose
    sign is the later equal value's, is folded again by the compare. Rows and whole arrays:
    ordinary values, a NaN, infinities, zero extremes of either sign (ties of zeros of both
    signs: test_ties_of_signed_zeros_in_max_and_min_keep_numpys_later_value)."""
    x = sg.tensor("x", dtype, (None, None))
    outs = [x.max(axis=1), x.min(axis=1), x.max(), x.min(), 1 / x.max(axis=1), 1 / x.min(axis=1)]
    f = sg.function([x], outs, backend="numba")
    xv = rng.normal(size=(8, 300)).astype(dtype)
    xv[1, 17] = np.nan
    xv[2] = -np.inf
    xv[3] = -np.abs(xv[3])
    xv[3, 250] = -0.0  # max -0.0
    xv[4] = np.abs(xv[4])
    xv[4, 299] = -0.0  # min -0.0
    xv[5] = np.abs(xv[5])
    xv[5, 3] = 0.0  # min 0.0
    xv[6, 40] = np.inf
    got = program_of(f, xv)
    want = sg.function([x], outs, backend="numpy")(xv)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
        assert np.array_equal(np.signbit(g), np.signbit(w))  # (zeros' signs: infinities' above)
    key = numba_program.signature([xv])
    source = f._run.plans[key][0].source
    assert source.count("fold_max_of_numbers(") == 2 and source.count("fold_min_of_numbers(") == 2
    # A tie of zeros where the vector fold's minnum kept -0.0 and NumPy, as the compare, the later
    # 0.0. (The executor's min of 3x100 is a kernel's, which kept -0.0 too: the program, which
    # then disagrees with it, is refused. Its plan is compiled and run here.)
    tie = np.full((3, 100), 2, dtype)
    tie[0, [1, 2]] = [-0.0, 0.0]
    ties = [1 / x.min(axis=1), x.max(axis=1) * 2, x.sum(), x.mean(axis=1)]  # (nodes enough for a program)
    g = sg.function([x], ties, backend="numba")
    g(tie)
    key = numba_program.signature([tie])
    g._run._plan(key, [tie])
    got = g._run.plans[key][0].compile([tie])([tie])
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(got[0], 1 / tie.min(axis=1))
    assert got[0][0] == np.inf


@pytest.mark.parametrize("executor_best,margin,kept", [(float("inf"), 1.25, True), (0.0, 1.25, False),
                                                      (1e-12, 1e12, True), (1e-12, 1.25, False)])
def test_a_program_on_trial_is_kept_only_where_its_best_call_beats_the_executors(
        executor_best, margin, kept, monkeypatch, rng):
    """A checked program runs TRIAL_CALLS calls timed; it is kept if its best call took less
    than TRIAL_MARGIN times the executor's best, else the signature runs node by node (a
    program's loops are serial: costly loops over 65536 float64 values ran 1.4x as long), timed
    afresh, and after HOT_SECONDS of those calls the program is tried once more: dropped again,
    for good. Every call, on trial or after, gives the executor's results; a training step's
    updates go on as before."""
    monkeypatch.setattr(numba_program, "TRIAL_CALLS", 3)
    monkeypatch.setattr(numba_program, "TRIAL_MARGIN", margin)
    x, y, cost, params, updates = classifier("float64", "keras")
    step = sg.function([x, y], cost, updates=updates, backend="numba")
    start = [p.get_value() for p in params]
    xv, yv = rng.normal(size=(6, 5)), np.array([0, 2, 1, 1, 2, 0], "int32")
    key = numba_program.signature([xv, yv] + [s.get_value() for s in step.shared])
    losses = [float(step(xv, yv)) for _ in range(3)]  # first call; compile; check against the executor
    runner = step._run
    assert key in runner.trials and key not in runner.programs
    monkeypatch.setattr(numba_program, "HOT_SECONDS", 1.0)  # (a second trial waits for 1 s of the executor's calls)
    runner.spent[key][1] = executor_best
    losses += [float(step(xv, yv)) for _ in range(3)]
    assert key not in runner.trials
    assert (runner.programs.get(key) is not None) == kept, runner.why_not
    if not kept:  # (node by node, timed afresh, until its second trial)
        assert key not in runner.programs and key in runner.retries and runner.spent[key][1] == float("inf")
        losses += [float(step(xv, yv)) for _ in range(2)]
        assert key in runner.retries and key not in runner.trials
        runner.spent[key][0] = numba_program.HOT_SECONDS
        losses.append(float(step(xv, yv)))  # (the executor's; the program goes on trial again)
        assert key in runner.trials and key not in runner.retries
        runner.spent[key][1] = executor_best
        losses += [float(step(xv, yv)) for _ in range(3)]
        assert runner.programs[key] is None and "slower than node by node in two trials" in runner.why_not[key]
        assert not runner.retries and not runner.trials
    losses += [float(step(xv, yv)) for _ in range(2)]
    for p, value in zip(params, start):
        p.set_value(value)
    slow = sg.function([x, y], cost, updates=updates, backend="numpy")
    np.testing.assert_allclose(losses, [float(slow(xv, yv)) for _ in range(len(losses))], rtol=1e-10)


def test_a_rows_and_a_columns_functions_are_computed_once_before_the_loop(rng):
    """What varies along fewer axes than a loop's output (a keepdims row's sqrt, a column's
    log1p), through a function or a division, is computed into a small array first
    (numba_program._partial_values); a row's arithmetic alone stays in the loop."""
    x, m, v, c = (sg.tensor(n, "float64", s) for n, s in (("x", (None, None)), ("m", (1, None)), ("v", (1, None)),
                                                          ("c", (None, 1))))
    s = sg.dscalar("s")
    outputs = [(x - m) / sg.sqrt(v + 1e-3) + sg.log(c * c + 1) * sg.exp(s), x * (m + v), sg.dot(x, x.T), x.max(axis=0)]
    f = sg.function([x, m, v, c, s], outputs, backend="numba")
    values = [rng.normal(size=(12, 7)), rng.normal(size=(1, 7)), rng.random((1, 7)), rng.normal(size=(12, 1)),
              np.float64(0.3)]
    assert_close(program_of(f, *values), sg.function([x, m, v, c, s], outputs, backend="numpy")(*values), "float64")
    key = numba_program.signature(values)
    source = f._run.plans[key][0].source
    lines = [line.strip() for line in source.splitlines()]
    assert sum("np.sqrt(" in line for line in lines) == 1 and sum("log1p64(" in line for line in lines) == 1
    loop = lines.index("t0_1 = np.float64((a0[i0, i1] - a1[0, i1]))")  # (the loop over the whole array)
    assert lines.index("for i1 in range(7):", loop - 2) == loop - 1
    assert [k for k, line in enumerate(lines) if "np.sqrt(" in line or "log1p64(" in line][-1] < loop - 2
    assert any(line.endswith("= np.empty((1, 7), np.float64)") for line in lines[:loop])
    assert any(line.endswith("= np.empty((12, 1), np.float64)") for line in lines[:loop])


def test_a_fused_reductions_row_function_is_computed_once_before_its_loops(rng):
    """(x * exp(r)).sum(axis=0) and (x / sqrt(|r| + 1)).max(axis=1) in a program: exp(r) and the
    square root computed into small arrays first (numba_program._parts_first), then folded."""
    x, r = sg.dmatrix("x"), sg.tensor("r", "float64", (1, None))
    outputs = [(x * sg.exp(r)).sum(axis=0), (x / sg.sqrt(abs(r) + 1)).max(axis=1), sg.dot(x, x.T), x.min(axis=0)]
    f = sg.function([x, r], outputs, backend="numba")
    values = [rng.normal(size=(12, 7)), rng.normal(size=(1, 7))]
    assert_close(program_of(f, *values), sg.function([x, r], outputs, backend="numpy")(*values), "float64")
    lines = [line.strip() for line in f._run.plans[numba_program.signature(values)][0].source.splitlines()]
    costly = [k for k, line in enumerate(lines) if "exp64(" in line or "np.sqrt(" in line]
    assert len(costly) == 2 and all("_p0_0[0, i1] = t" in lines[k + 1] for k in costly)  # (stored, not folded)
    assert any(line.endswith("_p0_0 = np.empty((1, 7), np.float64)") for line in lines[:costly[0]])
