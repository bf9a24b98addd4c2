"""A scan's loop compiled whole on the numba backend (numba_scan.LoopRunner): once hot, it must
give ops.scan's Python loop's results (forwards, backwards, several states and sequences,
per-step outputs, gradients), and fall back where the program writer cannot spell the step."""
import re

import numpy as np
import pytest

import symgraph as sg
from symgraph.backends import numba_blas, numba_program, numba_scan


@pytest.fixture(autouse=True)
def runners(monkeypatch):
    """Compile a signature on its second call, in this thread; collects the loop runners made."""
    monkeypatch.setattr(numba_program, "HOT_SECONDS", 0.0)
    monkeypatch.setattr(numba_program, "COLD_SECONDS_PER_NODE", 0.0)
    monkeypatch.setattr(numba_program, "BACKGROUND", False)
    monkeypatch.setattr(numba_program, "TRIAL_CALLS", 0)  # (kept at once, not timed first)
    made = []
    original = numba_scan.LoopRunner.__init__

    def init(self, *args):
        original(self, *args)
        made.append(self)
    monkeypatch.setattr(numba_scan.LoopRunner, "__init__", init)
    return made


def compiled(runners, f, *args):
    """f's results once every scan in it runs its compiled loop (checked against the Python
    loop on the way: the third call)."""
    for _ in range(3):
        f(*args)
    assert runners
    for runner in runners:
        assert any(p is not None for p in runner.programs.values()), runner.why_not
        assert not runner.why_not
    return f(*args)


def batched_rnn(go_backwards=False):
    rng = np.random.default_rng(0)
    W = sg.shared(rng.normal(size=(3, 5)).astype("float32"), "W")
    U = sg.shared((rng.normal(size=(5, 5)) * 0.5).astype("float32"), "U")
    x = sg.tensor3("x")  # (steps, batch, inputs)
    h0 = sg.zeros((x.shape[1], 5), "float32")  # (a constant of zeros once the batch is known: read-only)
    hs, _ = sg.scan(lambda x_t, h: sg.tanh(sg.dot(x_t, W) + sg.dot(h, U)), sequences=x, outputs_info=h0,
                    go_backwards=go_backwards)
    return x, hs, W, U


def rnn_and_gradient_loops(runners, rng):
    """The two compiled loops (forward, backward) of batched_rnn's states and its gradient."""
    x, hs, W, U = batched_rnn()
    f = sg.function([x], [hs] + sg.grad((hs ** 2).mean(), [W, U]), backend="numba")
    compiled(runners, f, rng.normal(size=(7, 4, 3)).astype("float32"))
    programs = [p for runner in runners for p in runner.programs.values() if p is not None]
    assert len(programs) == 2
    return programs


@pytest.mark.parametrize("go_backwards", [False, True])
def test_an_rnn_and_its_gradient_run_as_compiled_loops_with_the_python_loops_results(runners, rng, go_backwards):
    x, hs, W, U = batched_rnn(go_backwards)
    cost = (hs ** 2).mean() + hs[-1].sum()
    outputs = [hs] + sg.grad(cost, [x, W, U])
    xv = rng.normal(size=(7, 4, 3)).astype("float32")
    want = sg.function([x], outputs, backend="numpy")(xv)
    got = compiled(runners, sg.function([x], outputs, backend="numba"), xv)
    assert len(runners) == 2  # the forward loop and the backward one
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-6)
    h, states = np.zeros((4, 5), "float32"), []
    for x_t in (xv[::-1] if go_backwards else xv):
        h = np.tanh(x_t @ W.get_value() + h @ U.get_value())
        states.append(h)
    np.testing.assert_allclose(got[0], states, rtol=2e-5, atol=2e-6)


def test_an_rnn_joining_its_input_and_state_runs_as_compiled_loops(runners, rng):
    """tanh(concatenate([x_t, h]) @ W), an RNN written with one weight for [x, h] (an LSTM's
    gates often are): its loop and its gradient's compiled whole (their Python loops had run a
    20-step batch of 16 and its gradient in 446 us, the compiled loops 66), the Python loop's
    results."""
    x = sg.tensor("x", "float32", (None, None, None))
    W = sg.shared(rng.normal(size=(8, 5)).astype("float32") * 0.5, "W")
    h0 = sg.fmatrix("h0")
    hs, _ = sg.scan(lambda x_t, h: sg.tanh(sg.dot(sg.concatenate([x_t, h], axis=1), W)), sequences=x, outputs_info=h0)
    outputs = [hs] + sg.grad((hs ** 2).mean() + hs[-1].sum(), [x, W, h0])
    xv, hv = rng.normal(size=(6, 4, 3)).astype("float32"), rng.normal(size=(4, 5)).astype("float32")
    want = sg.function([x, h0], outputs, backend="numpy")(xv, hv)
    got = compiled(runners, sg.function([x, h0], outputs, backend="numba"), xv, hv)
    assert len(runners) == 2
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-6)


def test_the_loops_products_call_numpys_openblas(runners, rng):
    """Where NumPy's OpenBLAS is found (numba_numpy_gemm), the compiled loops' products call it,
    with its threads as NumPy's own products outside the loop; SciPy's (numba's np.dot) is left
    at its threads, never called. Without it, SciPy's runs at one thread during the loop."""
    from symgraph.backends import numba_numpy_gemm
    for program in rnn_and_gradient_loops(runners, rng):
        if numba_numpy_gemm.DOT is None:
            assert "dot2(" in program.plan.source and program.one_thread is numba_blas.scipy_one_thread()
        else:
            assert "numpy_dot(" in program.plan.source and "dot2" not in program.plan.source
            assert program.one_thread is None


def test_two_sequences_states_outputs_constants_and_a_sequence_longer_than_the_steps(runners, rng):
    a, b, s0, m0, C = sg.tensor3("a", "float64"), sg.dmatrix("b"), sg.dmatrix("s0"), sg.dmatrix("m0"), sg.dmatrix("C")

    def step(a_t, b_t, s, m, C):
        s_new = s * 0.5 + a_t * b_t
        return [s_new, sg.maximum(m, s_new), sg.dot(s_new, C) + 1]
    (ss, ms, ys), _ = sg.scan(step, sequences=[a, b], outputs_info=[s0, m0, None], non_sequences=C, n_steps=5)
    av, bv = rng.normal(size=(6, 2, 3)), rng.normal(size=(8, 3))
    sv, mv, Cv = rng.normal(size=(2, 3)), np.full((2, 3), -np.inf), rng.normal(size=(3, 4))
    got = compiled(runners, sg.function([a, b, s0, m0, C], [ss, ms, ys]), av, bv, sv, mv, Cv)
    s, m, want = sv, mv, []
    for t in range(5):
        s = s * 0.5 + av[t] * bv[t]
        m = np.maximum(m, s)
        want.append((s, m, s @ Cv + 1))
    for k in range(3):
        np.testing.assert_allclose(got[k], [w[k] for w in want], rtol=1e-12)


def test_a_sequence_in_another_layout_and_other_shapes_later(runners, rng):
    """Batch-major data turned time-major (a strided view) is read as the Python loop reads it;
    another batch size is another signature, compiled as well."""
    x, hs, W, U = batched_rnn()
    batch_major = sg.tensor3("batch_major")
    f = sg.function([batch_major], hs, givens={x: batch_major.dimshuffle(1, 0, 2)})
    reference = sg.function([batch_major], hs, givens={x: batch_major.dimshuffle(1, 0, 2)}, backend="numpy")
    for batch in (4, 2):
        xv = rng.normal(size=(batch, 6, 3)).astype("float32")
        np.testing.assert_allclose(compiled(runners, f, xv), reference(xv), rtol=2e-5, atol=2e-6)
    assert len(runners[0].programs) == 2


def test_bad_input_and_no_steps_after_the_loop_is_compiled(runners, rng):
    x, h0 = sg.dmatrix("x"), sg.dmatrix("h0")
    n = sg.lscalar("n")
    hs, _ = sg.scan(lambda x_t, h: sg.tanh(h + x_t.sum()), sequences=x, outputs_info=h0, n_steps=n)
    f = sg.function([x, h0, n], hs)
    xv, hv = rng.normal(size=(5, 2)), rng.normal(size=(3, 2))
    compiled(runners, f, xv, hv, 5)
    with pytest.raises(ValueError, match="sequence 0 has 5 entries, fewer than the 6 steps"):
        f(xv, hv, 6)
    assert f(xv, hv, 0).shape == (0, 3, 2)
    np.testing.assert_allclose(f(xv, hv, 2)[-1], np.tanh(np.tanh(hv + xv[0].sum()) + xv[1].sum()), rtol=1e-12)


def test_a_step_the_program_cannot_spell_keeps_the_python_loop(runners, rng):
    """A step with an op the program writer has no form for (a sort): no loop runner is made,
    ScanThunk.why_not says why, and the results are the Python loop's."""
    v0 = sg.dvector("v0")
    vs, _ = sg.scan(lambda v: sg.sort(-v) * 0.5, outputs_info=v0, n_steps=3)
    f = sg.function([v0], vs)
    for _ in range(3):
        got = f(np.array([1.0, 2.0]))
    assert not runners
    run = getattr(f._run, "run", f._run)
    (thunk,) = [t for t in run.__globals__.values() if isinstance(t, numba_scan.ScanThunk)]
    assert "no whole-program form for Sort" in thunk.why_not  # (said, where a user looks why the loop stays Python)
    np.testing.assert_allclose(got, [[-1.0, -0.5], [0.25, 0.5], [-0.25, -0.125]])


def test_steps_of_numbers_run_as_compiled_loops(runners, rng):
    """States and sequences without dimensions (a counter, a running sum over a vector: the
    scans of Theano's tutorials) run compiled too: a vector's element is a number inside numba,
    so the loop reads a 0-d view of it, and a 0-d state is copied (np.ascontiguousarray would
    give it a dimension). Forwards and backwards, and the gradient's loop, whose carried
    gradient is a number too. (They ran the Python loop: 100 steps of a running sum 590 us a
    call, compiled 25.)"""
    v0 = sg.dvector("v0")
    (vs, cs), _ = sg.scan(lambda v, c: [v * 2, c + 1], outputs_info=[v0, sg.constant(0)], n_steps=4)
    got = compiled(runners, sg.function([v0], [vs, cs]), np.ones(2))
    np.testing.assert_allclose(got[0], [[2, 2], [4, 4], [8, 8], [16, 16]])
    np.testing.assert_array_equal(got[1], [1, 2, 3, 4])
    for go_backwards in (False, True):
        runners.clear()
        x = sg.dvector("x")
        sums, _ = sg.scan(lambda x_t, a: a * 0.9 + x_t, sequences=x, outputs_info=sg.constant(np.float64(0)),
                          go_backwards=go_backwards)
        f = sg.function([x], [sums, sg.grad(sums.sum(), x)])
        xv = rng.normal(size=7)
        got_sums, got_grad = compiled(runners, f, xv)
        assert len(runners) == 2  # (the loop and its gradient's)
        order = xv[::-1] if go_backwards else xv
        want, total = [], 0.0
        for value in order:
            total = total * 0.9 + value
            want.append(total)
        np.testing.assert_allclose(got_sums, want, rtol=1e-12)
        step_grads = (1 - 0.9 ** np.arange(7, 0, -1)) / 0.1  # the step s value reaches every later sum
        np.testing.assert_allclose(got_grad, step_grads[::-1] if go_backwards else step_grads, rtol=1e-12)


def test_an_unbatched_rnn_of_vectors_runs_as_compiled_loops(runners, rng):
    """One sequence, no batch (Theano's tutorials): the step multiplies a vector by a matrix,
    and its gradient a matrix by a vector."""
    W, U = sg.shared(rng.normal(size=(3, 6)) * 0.5, "W"), sg.shared(rng.normal(size=(6, 6)) * 0.3, "U")
    x, h0 = sg.dmatrix("x"), sg.dvector("h0")
    hs, _ = sg.scan(lambda x_t, h: sg.tanh(sg.dot(x_t, W) + sg.dot(h, U)), sequences=x, outputs_info=h0)
    outputs = [hs] + sg.grad((hs ** 2).sum(), [x, h0, W, U])
    xv, hv = rng.normal(size=(9, 3)), rng.normal(size=6)
    got = compiled(runners, sg.function([x, h0], outputs), xv, hv)
    for g, w in zip(got, sg.function([x, h0], outputs, backend="numpy")(xv, hv)):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


def test_the_loops_write_their_arrays_without_numbas_slice_assignment(runners, rng):
    """Each step's outputs and the final states are written by copy_into, not `out[step] = value`:
    numba's slice assignment of an array compiles its shape-mismatch message (string formatting),
    3.5 s of an RNN loop's first compile in a process. copy_into copies any layout, casts, and
    refuses another shape."""
    from symgraph.backends.numba_kernels import copy_into
    for program in rnn_and_gradient_loops(runners, rng):
        source = program.plan.source
        assert "copy_into(o" in source and not re.search(r"o\d+\[(step|:)\] = ", source)
    source = rng.normal(size=(3, 4))
    for given in (source, np.asfortranarray(source), source[::-1]):
        target = np.zeros((3, 4), "float32")
        copy_into(target, given)
        np.testing.assert_array_equal(target, given.astype("float32"))
    target = np.zeros((4, 3))
    with pytest.raises(ValueError, match="shape"):
        copy_into(target, source)
    assert not target.any()


def test_theanos_until_taps_and_step_updates_run_as_compiled_loops(runners, rng):
    """A loop stopped by until (the compiled loop returns the steps taken; the outputs are their
    rows), an output read two steps back (a window state) and a shared variable the step updates
    run compiled, with the Python loop's results, the gradient's loop too."""
    v, limit = sg.dscalar("v"), sg.dscalar("limit")
    doubled, _ = sg.scan(lambda a, m: (a * 2, sg.until(a * 2 > m)), outputs_info=v, non_sequences=limit, n_steps=20)
    f = sg.function([v, limit], [doubled, sg.grad(doubled.sum(), v)])
    got = compiled(runners, f, 3.0, 100.0)
    np.testing.assert_array_equal(got[0], [6, 12, 24, 48, 96, 192])
    assert got[1] == 126
    np.testing.assert_array_equal(f(300.0, 100.0)[0], [600])  # (the same compiled loop, one step)
    np.testing.assert_array_equal(f(3.0, 1e9)[0], 3.0 * 2.0 ** np.arange(1, 21))

    runners.clear()
    h0, x = sg.dmatrix("h0"), sg.dmatrix("x")
    total = sg.shared(np.zeros(2), "total")

    def step(x_t, h2, h1):
        h = sg.tanh(h1 * 0.5 + h2 * 0.25 + x_t)
        return h, {total: total + h}
    hs, updates = sg.scan(step, sequences=x, outputs_info=dict(initial=h0, taps=[-2, -1]))
    g = sg.function([x, h0], [hs, sg.grad((hs ** 2).sum(), h0)])
    xv, hv = rng.normal(size=(6, 2)), rng.normal(size=(2, 2))
    want = sg.function([x, h0], [hs, sg.grad((hs ** 2).sum(), h0)], backend="numpy")(xv, hv)
    for a, b in zip(compiled(runners, g, xv, hv), want):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    accumulate = sg.function([x, h0], [], updates=updates)
    compiled(runners, accumulate, xv, hv)
    np.testing.assert_allclose(total.get_value(), 4 * want[0].sum(axis=0), rtol=1e-12)  # (four calls)

    # A shared variable's last value where until stops the compiled loop.
    runners.clear()
    count = sg.shared(np.zeros(2), "count")
    ys = sg.dvector("ys")
    _, ups = sg.scan(lambda y: ({count: count + y}, sg.until(y > 2)), sequences=ys)
    counting = sg.function([ys], [], updates=ups)
    compiled(runners, counting, np.array([1.0, 3.0, 5.0]))
    np.testing.assert_array_equal(count.get_value(), [16.0, 16.0])  # (four calls of 1 + 3)
