"""sg.scan against loops written here in NumPy, on both backends, and its gradients (a Scan
running backwards) against finite differences."""
import warnings

import numpy as np
import pytest

import symgraph as sg

BACKENDS = ["numpy", "numba"]


def rnn(xv, hv, W, U):
    h, states = hv, []
    for x_t in xv:
        h = np.tanh(x_t @ W + h @ U)
        states.append(h)
    return np.array(states)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_rnn_matches_its_loop_and_its_gradients_match_finite_differences(backend, rng):
    Wv, Uv = rng.normal(size=(3, 4)), rng.normal(size=(4, 4)) * 0.5
    W, U = sg.shared(Wv, "W"), sg.shared(Uv, "U")
    x, h0 = sg.dmatrix("x"), sg.dvector("h0")

    def step(x_t, h, W):  # U is read from outside: passed along as Theano's scan does
        return sg.tanh(sg.dot(x_t, W) + sg.dot(h, U))
    hs, updates = sg.scan(step, sequences=x, outputs_info=h0, non_sequences=W)
    assert updates == {} and hs.type.shape == (None, 4)
    # x_t @ W is taken out of the loop (one product of x before it), h @ U stays in the step.
    op = hs.owner.op
    steps_products = [node.inputs for node in sg.graph.toposort(op.inner_outputs, blockers=op.inner_inputs)
                      if isinstance(node.op, sg.ops.linalg.Dot)]
    assert len(steps_products) == 1 and steps_products[0][0].name == "h0[t-1]"
    assert op.inner_inputs[0].name == "x[t] @ W" and op.n_seqs == 1
    xv, hv = rng.normal(size=(6, 3)), rng.normal(size=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no op of it falls back to NumPy with a warning)
        f = sg.function([x, h0], hs, backend=backend)
        got = f(xv, hv)
    np.testing.assert_allclose(got, rnn(xv, hv, Wv, Uv), rtol=1e-12)
    cost = (hs ** 2).sum() + hs[-1].sum()
    grads = sg.function([x, h0], sg.grad(cost, [x, h0, W, U]), backend=backend)(xv, hv)
    reference = sg.function([x, h0], sg.grad(cost, [x, h0, W, U]), backend="numpy")(xv, hv)
    for g, r in zip(grads, reference):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-12)

    def loss(xx, hh, ww, uu):
        def inner(x_t, h, w, u):
            return sg.tanh(sg.dot(x_t, w) + sg.dot(h, u))
        states, _ = sg.scan(inner, sequences=xx, outputs_info=hh, non_sequences=[ww, uu])
        return (states ** 2).sum() + states[-1].sum()
    sg.verify_grad(loss, [xv, hv, Wv, Uv], rng=rng)


@pytest.mark.parametrize("backend", BACKENDS)
def test_several_states_per_step_outputs_two_sequences_and_backwards(backend, rng):
    """outputs_info None marks an output not fed back; go_backwards walks the sequences last
    entry first (and returns the outputs in the order computed), as Theano's."""
    a, b, s0, c0 = sg.dmatrix("a"), sg.dmatrix("b"), sg.dvector("s0"), sg.lscalar("c0")

    def step(a_t, b_t, s, c):
        s_new = s * 0.5 + a_t * b_t
        return [s_new, c + 1, (s_new ** 2).sum()]
    for backwards in (False, True):
        (ss, cs, ys), _ = sg.scan(step, sequences=[a, b], outputs_info=[s0, c0, None], go_backwards=backwards)
        assert ss.dtype == "float64" and cs.dtype == "int64" and ys.ndim == 1
        av, bv, sv = rng.normal(size=(5, 2)), rng.normal(size=(7, 2)), rng.normal(size=2)  # (b longer: 5 steps)
        got = sg.function([a, b, s0, c0], [ss, cs, ys], backend=backend)(av, bv, sv, 10)
        order = range(4, -1, -1) if backwards else range(5)
        bw = bv[::-1] if backwards else bv  # (backwards: each sequence's last entries, last first)
        s, want = sv, []
        for k, t in enumerate(order):
            s = s * 0.5 + av[t] * bw[k]
            want.append(s)
        np.testing.assert_allclose(got[0], want, rtol=1e-12)
        np.testing.assert_array_equal(got[1], np.arange(11, 16))
        np.testing.assert_allclose(got[2], (np.array(want) ** 2).sum(axis=1), rtol=1e-12)

        def loss(aa, bb, ss0, backwards=backwards):
            (states, _, outs), _ = sg.scan(step, sequences=[aa, bb], outputs_info=[ss0, sg.constant(0), None],
                                           go_backwards=backwards)
            return states.sum() + (outs * sg.arange(5)).sum()
        sg.verify_grad(loss, [av, bv, sv], rng=rng)


@pytest.mark.parametrize("backend", BACKENDS)
def test_n_steps_without_sequences_and_theanos_dict_forms(backend, rng):
    A, v0 = sg.dmatrix("A"), sg.dvector("v0")
    Av, vv = rng.normal(size=(3, 3)) * 0.5, rng.normal(size=3)
    powers, _ = sg.scan(lambda v, A: sg.dot(A, v), outputs_info={"initial": v0, "taps": [-1]},
                        non_sequences=A, n_steps=4)
    got = sg.function([A, v0], powers, backend=backend)(Av, vv)
    np.testing.assert_allclose(got, [np.linalg.matrix_power(Av, k) @ vv for k in range(1, 5)], rtol=1e-12)
    sg.verify_grad(lambda AA, vv0: sg.scan(lambda v, M: sg.dot(M, v), outputs_info=vv0, non_sequences=AA,
                                           n_steps=4)[0][-1].sum(), [Av, vv], rng=rng)
    x = sg.dvector("x")
    doubled, _ = sg.scan(lambda x_t: x_t * 2, sequences={"input": x, "taps": [0]}, n_steps=3)
    np.testing.assert_allclose(sg.function([x], doubled, backend=backend)(np.arange(5.0)), [0, 2, 4])
    none, _ = sg.scan(lambda v: v + 1, outputs_info=v0, n_steps=0)
    assert sg.function([v0], none, backend=backend)(vv).shape == (0, 3)


def test_scan_trains_an_rnn_with_sgd(rng):
    """An RNN learns to output the running mean of its inputs (sg.function with updates)."""
    xs = rng.normal(size=(64, 10, 1))
    targets = np.cumsum(xs, axis=1) / np.arange(1, 11)[None, :, None]
    W = sg.shared(rng.normal(size=(1, 8)) * 0.3, "W")
    U = sg.shared(rng.normal(size=(8, 8)) * 0.1, "U")
    V = sg.shared(rng.normal(size=(8, 1)) * 0.3, "V")
    x, y = sg.dtensor3("x"), sg.dtensor3("y")  # (batch, time, 1)

    def step(x_t, h):
        return sg.tanh(sg.dot(x_t, W) + sg.dot(h, U))
    hs, _ = sg.scan(step, sequences=x.dimshuffle(1, 0, 2), outputs_info=sg.zeros((x.shape[0], 8), dtype="float64"))
    predictions = sg.dot(hs, V).dimshuffle(1, 0, 2)
    cost = ((predictions - y) ** 2).mean()
    params = [W, U, V]
    train = sg.function([x, y], cost, updates=sg.optimizers.Adam(lr=0.02).updates(cost, params))
    first = float(train(xs, targets))
    for _ in range(300):
        last = float(train(xs, targets))
    assert last < 0.15 * first, (first, last)  # (0.043-0.071 of it over three seeds)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("go_backwards", [False, True])
def test_truncated_gradient_runs_back_over_the_last_steps_only(backend, go_backwards, rng):
    """Theano's truncate_gradient=k: the gradient of a loss on every step's state is that of the
    last k steps alone, started from the state before them held constant (the earlier steps'
    outputs, entries and the initial state get none); with k past the length, the whole."""
    Wv, Uv = rng.normal(size=(3, 4)), rng.normal(size=(4, 4)) * 0.5
    xv, hv, weights = rng.normal(size=(7, 3)), rng.normal(size=4), rng.normal(size=(7, 4))
    x, h0, W, U = sg.dmatrix("x"), sg.dvector("h0"), sg.dmatrix("W"), sg.dmatrix("U")

    def gradients(k, xs, start, out_weights):
        hs, _ = sg.scan(lambda x_t, h, W, U: sg.tanh(sg.dot(x_t, W) + sg.dot(h, U)), sequences=x,
                        outputs_info=h0, non_sequences=[W, U], truncate_gradient=k, go_backwards=go_backwards)
        cost = (hs * out_weights).sum()
        f = sg.function([x, h0, W, U], sg.grad(cost, [W, U, x, h0]), backend=backend)
        return f(xs, start, Wv, Uv)

    k, n = 3, len(xv)
    truncated = gradients(k, xv, hv, weights)
    # The reference: the last k steps from the state before them, and only their outputs' loss.
    order = xv[::-1] if go_backwards else xv
    before = rnn(order[:n - k], hv, Wv, Uv)[-1]
    tail = order[n - k:][::-1] if go_backwards else order[n - k:]
    want = gradients(-1, tail, before, weights[n - k:])
    np.testing.assert_allclose(truncated[0], want[0], rtol=1e-10)
    np.testing.assert_allclose(truncated[1], want[1], rtol=1e-10)
    dx = np.zeros_like(xv)
    if go_backwards:
        dx[:k] = want[2]
    else:
        dx[n - k:] = want[2]
    np.testing.assert_allclose(truncated[2], dx, rtol=1e-10, atol=1e-300)
    np.testing.assert_array_equal(truncated[3], 0)
    for whole, full in zip(gradients(50, xv, hv, weights), gradients(-1, xv, hv, weights)):
        np.testing.assert_allclose(whole, full, rtol=1e-12)


def test_scan_says_what_it_cannot_do():
    x, h0 = sg.dmatrix("x"), sg.fvector("h0")
    with pytest.raises(TypeError, match="output 0 is float64.*initial value in outputs_info is float32"):
        sg.scan(lambda x_t, h: x_t + h, sequences=x, outputs_info=h0)
    with pytest.raises(TypeError, match="output 0 is float64\\[3\\].*initial value in outputs_info is float64\\[2\\]"):
        sg.scan(lambda h: sg.concatenate([h, h[:1]]), outputs_info=sg.zeros((2,), dtype="float64"), n_steps=2)
    total, _ = sg.scan(lambda x_t, h: (h + x_t, {}), sequences=x, outputs_info=x[0])  # (Theano's (outputs, updates))
    assert total.ndim == 2
    with pytest.raises(ValueError, match="sequences or n_steps"):
        sg.scan(lambda h: h, outputs_info=h0)
    with pytest.raises(ValueError, match="truncate_gradient"):
        sg.scan(lambda x_t: x_t, sequences=x, truncate_gradient=0)
    n = sg.lscalar("n")
    steps, _ = sg.scan(lambda x_t: x_t * 2, sequences=x, n_steps=n)
    for backend in BACKENDS:
        with pytest.raises(ValueError, match="sequence 0 has 2 entries, fewer than the 5 steps"):
            sg.function([x, n], steps, backend=backend)(np.ones((2, 3)), 5)


def test_a_scan_is_drawn_and_printed_as_one_node():
    x = sg.dmatrix("x")
    total, _ = sg.scan(lambda x_t, s: s + x_t, sequences=x, outputs_info=sg.zeros((3,), dtype="float64"))
    text = sg.debugprint(total, file="str")
    assert "Scan{<lambda>, 1 states, 0 outputs}" in text
    assert "Scan{<lambda>" in sg.to_dot(total).source


@pytest.mark.parametrize("backend", BACKENDS)
def test_products_taken_out_of_the_loop_keep_backwards_order_and_gradients(backend, rng):
    """x_t @ W hoisted before the loop must be read in the order go_backwards walks, with its
    gradient (W's one product after the backward loop); a matrix made by the step stays in it."""
    Wv, Uv, xv, hv = rng.normal(size=(3, 4)), rng.normal(size=(4, 4)) * 0.5, rng.normal(size=(6, 3)), rng.normal(size=4)
    x, h0, W = sg.dmatrix("x"), sg.dvector("h0"), sg.dmatrix("W")
    U = sg.constant(Uv)
    hs, _ = sg.scan(lambda x_t, h, w: sg.tanh(sg.dot(x_t, w) + sg.dot(h, U)), sequences=x, outputs_info=h0,
                    non_sequences=W, go_backwards=True)
    assert hs.owner.op.inner_inputs[0].name == "x[t] @ W"
    got = sg.function([x, h0, W], hs, backend=backend)(xv, hv, Wv)
    np.testing.assert_allclose(got, rnn(xv[::-1], hv, Wv, Uv), rtol=1e-12)
    doubled, _ = sg.scan(lambda x_t, w: sg.dot(x_t, w * 2), sequences=x, non_sequences=W)
    assert any(isinstance(node.op, sg.ops.linalg.Dot) for node in
               sg.graph.toposort(doubled.owner.op.inner_outputs, blockers=doubled.owner.op.inner_inputs))
    np.testing.assert_allclose(sg.function([x, W], doubled, backend=backend)(xv, Wv), xv @ (2 * Wv), rtol=1e-12)

    def loss(xx, hh, ww):
        states, _ = sg.scan(lambda x_t, h, w: sg.tanh(sg.dot(x_t, w) + sg.dot(h, U)), sequences=xx,
                            outputs_info=hh, non_sequences=ww, go_backwards=True)
        return (states ** 2).sum()
    sg.verify_grad(loss, [xv, hv, Wv], rng=rng)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_gradients_running_sums_keep_their_last_value_only(backend, rng):
    """The backward Scan's states (the carried gradients, the non-sequences' running sums) are
    output as their values after the last step (Theano's scan_save_mem), not stacked over the
    steps to read the last: no (steps, 4, 4) stack of U's sums, and with no steps, the start."""
    Uv, xv, hv = rng.normal(size=(4, 4)) * 0.5, rng.normal(size=(6, 4)), rng.normal(size=4)
    x, h0, U = sg.dmatrix("x"), sg.dvector("h0"), sg.dmatrix("U")
    n = sg.lscalar("n")
    hs, _ = sg.scan(lambda x_t, h, u: sg.tanh(x_t + sg.dot(h, u)), sequences=x, outputs_info=h0,
                    non_sequences=U, n_steps=n)
    grads = sg.grad((hs ** 2).sum(), [h0, U])
    back = [v for v in sg.graph.ancestors(grads) if v.owner is not None and isinstance(v.owner.op, sg.ops.scan.Scan)
            and v.owner.op.final_states]
    assert back and all(v.ndim == 2 or v.ndim == 1 for v in back[0].owner.outputs[:2])
    f = sg.function([x, h0, U, n], grads, backend=backend)
    reference = sg.function([x, h0, U, n], grads, backend="numpy", optimize=False)
    for steps in (6, 1, 0):
        for got, want in zip(f(xv, hv, Uv, steps), reference(xv, hv, Uv, steps)):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(f(xv, hv, Uv, 0)[1], np.zeros((4, 4)))
    # A second derivative goes through the loop with every step's states kept.
    def squared_gradient(uu):
        states, _ = sg.scan(lambda x_t, h, u: sg.tanh(x_t + sg.dot(h, u)), sequences=xv, outputs_info=hv,
                            non_sequences=uu)
        return (sg.grad((states ** 2).sum(), uu) ** 2).sum()
    sg.verify_grad(squared_gradient, [Uv], rng=rng)


def test_a_known_number_of_steps_gives_the_outputs_a_static_length():
    """(Keras's summary shows (None, 8, units) for a layer returning sequences.)"""
    x = sg.tensor("x", "float64", (8, None))
    hs, _ = sg.scan(lambda x_t, h: h + x_t, sequences=x, outputs_info=sg.zeros((3,), "float64"))
    assert hs.type.shape == (8, 3)
    n = sg.lscalar("n")
    free, _ = sg.scan(lambda h: h * 2, outputs_info=sg.dvector("v"), n_steps=n)
    assert free.type.shape == (None, None)
    np.testing.assert_allclose(sg.function([x], hs)(np.ones((8, 3))), np.cumsum(np.ones((8, 3)), axis=0))


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_forward_loop_keeps_the_products_its_gradient_would_compute_again(backend, rng):
    """h_t = tanh(h U) * sigmoid(h U): the gradient needs tanh and sigmoid of the product, not
    the step's output, so the forward loop keeps each step's product (one Scan with one more
    per-step output, which the rewriter makes stand for the given Scan) for the backward loop."""
    Uv, hv = rng.normal(size=(3, 3)), rng.normal(size=(2, 3))
    h0, U = sg.dmatrix("h0"), sg.dmatrix("U")

    def step(h, u):
        z = sg.dot(h, u)
        return sg.tanh(z) * sg.nn.sigmoid(z)
    hs, _ = sg.scan(step, outputs_info=h0, non_sequences=U, n_steps=5)
    cost = (hs ** 2).sum()
    f = sg.function([h0, U], [hs] + sg.grad(cost, [h0, U]), backend=backend)
    scans = [n.op for n in f.fgraph.apply_nodes if isinstance(n.op, sg.ops.scan.Scan)]
    forward = [op for op in scans if not op.go_backwards]
    assert len(scans) == 2 and len(forward) == 1 and forward[0].n_maps == 1  # (one forward loop, keeping the product)
    want = sg.function([h0, U], [hs] + sg.grad(cost, [h0, U]), backend="numpy", optimize=False)(hv, Uv)
    for got, w in zip(f(hv, Uv), want):
        np.testing.assert_allclose(got, w, rtol=1e-12)
    sg.verify_grad(lambda hh, uu: (sg.scan(step, outputs_info=hh, non_sequences=uu, n_steps=5)[0] ** 2).sum(),
                   [hv, Uv], rng=rng)


@pytest.mark.parametrize("backend", BACKENDS)
def test_random_draws_in_the_step_advance_their_stream_a_step_at_a_time(backend):
    """A draw in the step gives at step t what the same stream gives at its t-th draw outside a
    loop; scan's updates advance the stream by the number of steps (and so does its default
    update, for a function not given them): the next call draws the next numbers."""
    x = sg.dmatrix("x")
    noisy, updates = sg.scan(lambda x_t: x_t + sg.random.RandomStream(7).normal((3,), dtype="float64"),
                             sequences=x)
    assert len(updates) == 1
    with_updates = sg.function([x], noisy, updates=updates, backend=backend)
    plain = sg.random.RandomStream(7).normal((3,), dtype="float64")
    one_draw = sg.function([], plain, backend=backend)
    draws = [one_draw() for _ in range(8)]
    zeros = np.zeros((4, 3))
    np.testing.assert_array_equal(with_updates(zeros), draws[:4])
    np.testing.assert_array_equal(with_updates(zeros), draws[4:])  # (the stream went on)

    stream = sg.random.RandomStream(7)
    noisy, _ = sg.scan(lambda x_t: x_t + stream.normal((3,), dtype="float64"), sequences=x)
    ignoring_updates = sg.function([x], noisy, backend=backend)
    np.testing.assert_array_equal(ignoring_updates(zeros), draws[:4])
    np.testing.assert_array_equal(ignoring_updates(zeros[:2]), draws[4:6])
    stream.seed(7)  # (reseeding restarts it)
    np.testing.assert_array_equal(ignoring_updates(zeros[:1]), draws[:1])


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_gibbs_chain_and_dropout_in_a_step_with_their_gradients(backend, rng):
    """Theano's Gibbs sampling (rng.binomial on a sigmoid, fed back) runs the same on both
    backends, and a gradient through a step with a dropout mask drawn in it matches finite
    differences (the stream restarted before each evaluation: the same masks)."""
    W = sg.shared(rng.normal(size=(6, 4)), "W")
    stream = sg.random.RandomStream(3)

    def gibbs(v):
        h = stream.binomial(size=(5, 4), p=sg.sigmoid(sg.dot(v, W)), dtype="float64")
        return stream.binomial(size=(5, 6), p=sg.sigmoid(sg.dot(h, W.T)), dtype="float64")
    v0 = sg.dmatrix("v0")
    chain, updates = sg.scan(gibbs, outputs_info=v0, n_steps=6)
    start = (rng.uniform(size=(5, 6)) > 0.5).astype("float64")
    sample = sg.function([v0], chain[-1], updates=updates, backend=backend)
    stream.seed(3)
    reference = sg.function([v0], chain[-1], updates=updates, backend="numpy")
    got = sample(start)
    stream.seed(3)
    np.testing.assert_array_equal(got, reference(start))
    assert set(np.unique(got)) <= {0.0, 1.0} and not np.array_equal(sample(start), got)

    x, h0 = sg.dmatrix("x"), sg.dvector("h0")
    U = sg.shared(rng.normal(size=(4, 4)) * 0.5, "U")
    dropout = sg.random.RandomStream(5)

    def step(x_t, h):
        z = sg.dot(x_t, W)  # (taken out of the loop; the mask's size read from it)
        keep = dropout.binomial(size=z.shape, p=0.7, dtype="float64") / 0.7
        return sg.tanh(z * keep + sg.dot(h * keep, U))
    hs, _ = sg.scan(step, sequences=x, outputs_info=h0)
    cost = (hs ** 2).sum()
    grads = sg.function([x, h0], sg.grad(cost, [W, U, h0]), backend=backend, on_unused_input="ignore")
    value = sg.function([x, h0], cost, backend=backend)
    xv, hv = rng.normal(size=(5, 6)), rng.normal(size=4)
    dropout.seed(5)
    got = grads(xv, hv)
    eps = 1e-6
    for k, (weight, g) in enumerate(zip([W, U], got)):
        base = weight.get_value()
        for index in [(0, 0), (1, 2), (3, 3)]:
            moved = []
            for sign in (1, -1):
                shifted = base.copy()
                shifted[index] += sign * eps
                weight.set_value(shifted)
                dropout.seed(5)
                moved.append(value(xv, hv))
            weight.set_value(base)
            np.testing.assert_allclose(g[index], (moved[0] - moved[1]) / (2 * eps), rtol=1e-5, atol=1e-8)


@pytest.mark.slow  # (numba compiles the training step and its two loops cold: ~25 s)
def test_theanos_restricted_boltzmann_machine_tutorial_trains():
    """The RBM of Theano's deep learning tutorials, as written there: a persistent Gibbs chain
    in scan (rng.binomial in the step), the cost's gradient with consider_constant=[chain_end],
    scan's updates plus the parameters' and the chain's, and the pseudo-likelihood
    (log(sigmoid(...)) of flipped bits). Its pseudo-likelihood rises on the digits."""
    from sklearn.datasets import load_digits
    data = (load_digits().data[:400] / 16.0 > 0.5).astype("float32")
    rng = np.random.RandomState(123)
    theano_rng = sg.random.RandomStream(rng.randint(2 ** 30))
    n_visible, n_hidden, batch = 64, 32, 20
    bound = 4 * np.sqrt(6.0 / (n_hidden + n_visible))
    W = sg.shared(rng.uniform(-bound, bound, (n_visible, n_hidden)).astype("float32"), "W")
    hbias, vbias = sg.shared(np.zeros(n_hidden, "float32"), "hbias"), sg.shared(np.zeros(n_visible, "float32"), "vbias")
    x = sg.fmatrix("x")

    def free_energy(v):
        return -sg.sum(sg.log(1 + sg.exp(sg.dot(v, W) + hbias)), axis=1) - sg.dot(v, vbias)

    def sample_h_given_v(v):
        mean = sg.nnet.sigmoid(sg.dot(v, W) + hbias)
        return theano_rng.binomial(size=mean.shape, n=1, p=mean, dtype="float32")

    def gibbs_hvh(h):
        v_mean = sg.nnet.sigmoid(sg.dot(h, W.T) + vbias)
        v = theano_rng.binomial(size=v_mean.shape, n=1, p=v_mean, dtype="float32")
        return [v, sample_h_given_v(v)]
    persistent = sg.shared(np.zeros((batch, n_hidden), "float32"))
    (v_samples, h_samples), updates = sg.scan(gibbs_hvh, outputs_info=[None, persistent], n_steps=3)
    chain_end = v_samples[-1]
    cost = sg.mean(free_energy(x)) - sg.mean(free_energy(chain_end))
    params = [W, hbias, vbias]
    for param, g in zip(params, sg.grad(cost, params, consider_constant=[chain_end])):
        updates[param] = param - g * np.float32(0.1)
    updates[persistent] = h_samples[-1]
    bit = sg.shared(0, "bit_i_idx")
    xi = sg.round(x)
    flipped = sg.set_subtensor(xi[:, bit], 1 - xi[:, bit])
    pseudo_likelihood = sg.mean(n_visible * sg.log(sg.nnet.sigmoid(free_energy(flipped) - free_energy(xi))))
    updates[bit] = (bit + 1) % n_visible
    train = sg.function([x], pseudo_likelihood, updates=updates)
    epochs = [np.mean([train(data[i:i + batch]) for i in range(0, len(data), batch)]) for _ in range(4)]
    assert np.isfinite(epochs).all() and epochs[-1] > epochs[0] + 2, epochs
    assert np.abs(persistent.get_value()).sum() > 0  # (the chain moved on)
