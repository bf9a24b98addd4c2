"""The rest of Theano's scan: taps reading a sequence's neighbours and an output's values
several steps back, until (a while loop), and updates of shared variables from the step;
against loops written here in NumPy from Theano's documented meaning, on both backends, with
gradients against finite differences."""
import numpy as np
import pytest

import symgraph as sg

BACKENDS = ["numpy", "numba"]


def tapped_reference(x, taps, fn, backwards=False):
    """Theano's sequence taps: step t reads x[t + k] for each tap k, t running over the
    positions where every tap is inside x (tap 0 counted in), last first when backwards."""
    lo, hi = min(min(taps), 0), max(max(taps), 0)
    positions = range(-lo, len(x) - hi)
    return np.array([fn(*[x[t + k] for k in taps]) for t in (reversed(positions) if backwards else positions)])


@pytest.mark.parametrize("backend", BACKENDS)
def test_sequence_taps_read_a_sequences_neighbours(backend, rng):
    x, w = sg.dvector("x"), sg.dscalar("w")
    xv = rng.normal(size=9)
    for taps in ([-1, 0, 1], [-2], [1, 3], [2, -1]):
        for backwards in (False, True):
            out, _ = sg.scan(lambda *a: sum(v * (j + 1) for j, v in enumerate(a[:-1])) * a[-1],
                             sequences=dict(input=x, taps=taps), non_sequences=w, go_backwards=backwards)
            got = sg.function([x, w], out, backend=backend)(xv, 1.5)
            want = tapped_reference(xv, taps, lambda *a: sum(v * (j + 1) for j, v in enumerate(a)) * 1.5, backwards)
            np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=f"{taps} backwards={backwards}")
    # A tapped sequence beside a plain one: the steps are the shorter's.
    y = sg.dmatrix("y")
    out, _ = sg.scan(lambda before, now, y_t: (now - before) * y_t.sum(), sequences=[dict(input=x, taps=[-1, 0]), y])
    yv = rng.normal(size=(5, 2))
    got = sg.function([x, y], out, backend=backend)(xv, yv)
    np.testing.assert_allclose(got, (xv[1:6] - xv[:5]) * yv.sum(axis=1), rtol=1e-12)
    assert out.owner.op.inner_inputs[0].name == "x[t-1]" and out.owner.op.inner_inputs[1].name == "x[t]"

    def loss(xx, ww):
        smoothed, _ = sg.scan(lambda a, b, c, s: sg.tanh(a * s + b * ww + c), sequences=dict(input=xx, taps=[-1, 0, 1]),
                              outputs_info=sg.constant(np.float64(0)))
        return (smoothed ** 2).sum()
    sg.verify_grad(loss, [xv, np.array(0.7)], rng=rng)


@pytest.mark.parametrize("backend", BACKENDS)
def test_output_taps_feed_back_values_from_several_steps_before(backend, rng):
    """Theano's Fibonacci (outputs_info=dict(initial=x0, taps=[-2, -1])): the initial value holds
    the steps before the first (its first rows, as many as the furthest tap), the outputs are the
    new steps only."""
    x0, n = sg.lvector("x0"), sg.lscalar("n")
    fibonacci, _ = sg.scan(lambda a, b: a + b, outputs_info=[dict(initial=x0, taps=[-2, -1])], n_steps=n)
    f = sg.function([x0, n], fibonacci, backend=backend)
    np.testing.assert_array_equal(f(np.array([0, 1]), 10), [1, 2, 3, 5, 8, 13, 21, 34, 55, 89])
    np.testing.assert_array_equal(f(np.array([2, 1, 99]), 3), [3, 4, 7])  # (rows past the second unread)
    assert f(np.array([0, 1]), 0).shape == (0,)
    with pytest.raises(ValueError, match=r"x0\[t-2:t\] starts with shape \(1,\), where the step reads \(2,\)"):
        f(np.array([1]), 3)

    # A second-order recurrence on vectors with a sequence and a plain state beside it; fn gets
    # the sequence's slice, the taps' values in the order given, the other state, the weights.
    xs, h0, c0, W = sg.dmatrix("xs"), sg.dmatrix("h0"), sg.dvector("c0"), sg.dmatrix("W")

    def step(x_t, h3, h1, c, w):
        h = sg.tanh(sg.dot(h1, w) + 0.5 * h3 + x_t)
        return h, c + h
    (hs, cs), _ = sg.scan(step, sequences=xs, outputs_info=[dict(initial=h0, taps=[-3, -1]), c0], non_sequences=W)
    xv, hv, cv, Wv = rng.normal(size=(6, 2)), rng.normal(size=(3, 2)), rng.normal(size=2), rng.normal(size=(2, 2)) * 0.5
    got = sg.function([xs, h0, c0, W], [hs, cs], backend=backend)(xv, hv, cv, Wv)
    history, c, want_c = list(hv), cv, []
    for x_t in xv:
        h = np.tanh(history[-1] @ Wv + 0.5 * history[-3] + x_t)
        history.append(h)
        c = c + h
        want_c.append(c)
    np.testing.assert_allclose(got[0], history[3:], rtol=1e-12)
    np.testing.assert_allclose(got[1], want_c, rtol=1e-12)
    assert hs.ndim == 2 and cs.ndim == 2

    def loss(xx, hh, cc, ww):
        (h_all, c_all), _ = sg.scan(step, sequences=xx, outputs_info=[dict(initial=hh, taps=[-3, -1]), cc],
                                    non_sequences=ww)
        return (h_all ** 2).sum() + c_all[-1].sum()
    sg.verify_grad(loss, [xv, hv, cv, Wv], rng=rng)


@pytest.mark.parametrize("backend", BACKENDS)
def test_until_stops_the_loop_after_the_step_that_makes_it_true(backend, rng):
    """Theano's scan_module.until: the step returning the true condition is the last, its outputs
    kept; n_steps (or the sequences) bound the loop; the gradient is that of the steps taken."""
    v, limit = sg.dscalar("v"), sg.dscalar("limit")
    doubled, _ = sg.scan(lambda a, m: (a * 2, sg.until(a * 2 > m)), outputs_info=v, non_sequences=limit, n_steps=20)
    assert doubled.type.shape == (None,) and "until" in str(doubled.owner.op)
    f = sg.function([v, limit], [doubled, sg.grad(doubled.sum(), v)], backend=backend)
    got, slope = f(3.0, 100.0)
    np.testing.assert_array_equal(got, [6, 12, 24, 48, 96, 192])
    assert slope == 2 + 4 + 8 + 16 + 32 + 64
    np.testing.assert_array_equal(f(3.0, 1e9)[0], 3.0 * 2.0 ** np.arange(1, 21))  # (never true: n_steps)
    np.testing.assert_array_equal(f(300.0, 100.0)[0], [600])

    # Along a sequence: a running sum that stops at the first entry past a threshold, the
    # condition from sg.scan_module as Theano's user imports it; a gradient through the steps
    # taken, against finite differences.
    x = sg.dvector("x")

    def step(x_t, total):
        return total + x_t ** 2, sg.scan_module.until(x_t > 2)
    sums, _ = sg.scan(step, sequences=x, outputs_info=sg.constant(np.float64(0)))
    xv = np.array([0.5, -1.0, 1.5, 3.0, 0.2, 5.0])
    np.testing.assert_allclose(sg.function([x], sums, backend=backend)(xv), np.cumsum(xv[:4] ** 2), rtol=1e-12)
    zero = sg.constant(np.float64(0))
    sg.verify_grad(lambda xx: (sg.scan(step, sequences=xx, outputs_info=zero)[0] ** 2).sum(), [xv], rng=rng)
    with pytest.raises(ValueError, match="until: the condition must be a scalar"):
        sg.scan(lambda a: (a, sg.until(a > 0)), sequences=sg.dmatrix("m"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_updates_from_the_step_are_the_shared_variables_values_after_the_last_step(backend, rng):
    """fn returning (outputs, {shared: new value}): the step reads the value the step before left,
    scan's updates give the last (the shared variable's own when no step is taken), applied by
    the function given them, as Theano's."""
    counter = sg.shared(np.int64(0), "counter")
    xs = sg.dvector("xs")
    weighted, updates = sg.scan(lambda x_t: (x_t * counter, {counter: counter + 1}), sequences=xs)
    assert list(updates) == [counter]
    f = sg.function([xs], weighted, updates=updates, backend=backend)
    np.testing.assert_array_equal(f(np.ones(4)), [0, 1, 2, 3])
    assert counter.get_value() == 4
    np.testing.assert_array_equal(f(np.full(2, 2.0)), [8, 10])
    assert counter.get_value() == 6
    assert f(np.ones(0)).shape == (0,) and counter.get_value() == 6
    # Updates alone (no outputs: None), the shared variable also passed as a non-sequence, and a
    # matrix accumulated with the steps' products (Theano's Hebbian rule in a loop).
    total = sg.shared(np.zeros((2, 2)), "total")
    m = sg.dmatrix("m")
    outputs, updates = sg.scan(lambda x_t, t: {t: t + sg.outer(x_t, x_t)}, sequences=m, non_sequences=total)
    assert outputs is None
    # (the loop keeps the matrix's last value only, not one a step: Theano's scan_save_mem)
    assert updates[total].ndim == 2 and updates[total].owner.op.final_states == 1
    mv = rng.normal(size=(5, 2))
    sg.function([m], [], updates=updates, backend=backend)(mv)
    np.testing.assert_allclose(total.get_value(), mv.T @ mv, rtol=1e-12)

    # A gradient through a shared variable's values in the steps.
    acc = sg.shared(np.array([0.5, -0.25]), "acc")

    def step(x_t):
        new = acc * 0.9 + x_t
        return sg.tanh(new).sum(), {acc: new}
    x = sg.dmatrix("x")
    outs, updates = sg.scan(step, sequences=x)
    xv = rng.normal(size=(4, 2))
    a, state = np.array([0.5, -0.25]), []
    for x_t in xv:
        a = a * 0.9 + x_t
        state.append(np.tanh(a).sum())
    grad = sg.function([x], [outs, sg.grad(outs.sum(), x)], backend=backend)(xv)
    np.testing.assert_allclose(grad[0], state, rtol=1e-12)

    def loss(xx):
        return sg.scan(step, sequences=xx)[0].sum()
    sg.verify_grad(loss, [xv], rng=rng)

    def last_value(xx):  # (a gradient through the shared variable's last value: the loop's final state)
        _, ups = sg.scan(step, sequences=xx)
        return (ups[acc] ** 2).sum()
    sg.verify_grad(last_value, [xv], rng=rng)
    with pytest.raises(TypeError, match="updates must be of shared variables"):
        sg.scan(lambda x_t: (x_t, {xs: x_t}), sequences=xs)
    with pytest.raises(TypeError, match=r"updates 'counter' <int64\[\]>.*with 'xs\[t\]' <float64\[\]>.*of the "
                                        r"shared variable's type"):
        sg.scan(lambda x_t: (x_t, {counter: x_t}), sequences=xs)


def test_scans_theano_forms_say_what_is_wrong():
    x, h0 = sg.dvector("x"), sg.dvector("h0")
    with pytest.raises(ValueError, match="an output's taps are distinct steps before the current one"):
        sg.scan(lambda a: a, outputs_info=dict(initial=h0, taps=[0]), n_steps=2)
    with pytest.raises(ValueError, match="an output's taps are distinct"):
        sg.scan(lambda a, b: a, outputs_info=dict(initial=h0, taps=[-1, -1]), n_steps=2)
    with pytest.raises(ValueError, match="an output with taps needs its initial values"):
        sg.scan(lambda a, b: a, outputs_info=dict(taps=[-2, -1]), n_steps=2)
    with pytest.raises(ValueError, match="must hold 3 steps' values along its first axis, got .*float64\\[2\\]"):
        sg.scan(lambda a: a, outputs_info=dict(initial=sg.constant(np.zeros(2)), taps=[-3]), n_steps=2)
    with pytest.raises(TypeError, match=r"output 0 is float64\[2\], but its initial values' rows \(taps \[-2, -1\]\) "
                                        r"in outputs_info is float64\[\]"):
        sg.scan(lambda a, b: sg.stack([a, b]), outputs_info=dict(initial=h0, taps=[-2, -1]), n_steps=2)
    with pytest.raises(ValueError, match="a sequence's taps are distinct integers"):
        sg.scan(lambda a: a, sequences=dict(input=x, taps=[0, 0]))
