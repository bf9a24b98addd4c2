"""Theano's other tensor names that ported code calls: alloc, fill, join, the stacks, diag,
trace, triu/tril, roll, addbroadcast and its kin, largest/smallest, max_and_argmax, isclose/allclose, grad_clip and zero_grad,
map/reduce/foldl/foldr over scan, pp, and nnet's softsign and selu; each against NumPy on both
CPU backends, gradients against finite differences."""
import numpy as np
import pytest

import symgraph as sg

RNG = np.random.default_rng(40)
M = RNG.normal(size=(3, 4))
V = RNG.normal(size=3)

CASES = [  # (name, function of the symbolic matrix m and vector v, NumPy's answer)
    ("diag of a vector", lambda m, v: sg.diag(v), np.diag(V)),
    ("diag above", lambda m, v: sg.diag(v, 2), np.diag(V, 2)),
    ("diag below", lambda m, v: sg.diag(v, -1), np.diag(V, -1)),
    ("diag of a matrix", lambda m, v: sg.diag(m), np.diag(M)),
    ("diagonal offsets", lambda m, v: sg.concatenate([sg.diagonal(m, 1), sg.diagonal(m, -2), sg.diagonal(m, 5)]),
     np.concatenate([np.diagonal(M, 1), np.diagonal(M, -2), np.diagonal(M, 5)])),
    ("trace", lambda m, v: sg.trace(m) + sg.trace(m, 1), np.trace(M) + np.trace(M, 1)),
    ("triu", lambda m, v: sg.triu(m, 1), np.triu(M, 1)),
    ("tril", lambda m, v: sg.tril(m, -1) + sg.tril(m), np.tril(M, -1) + np.tril(M)),
    ("triu of a stack", lambda m, v: sg.triu(sg.stack([m, -m])), np.triu(np.stack([M, -M]))),
    ("alloc", lambda m, v: sg.alloc(np.float64(1.5), m.shape[0], 2), np.full((3, 2), 1.5)),
    ("fill", lambda m, v: sg.fill(m, np.float64(2.0)) + sg.second(m, v.sum()), np.full((3, 4), 2.0 + V.sum())),
    ("shape_padaxis", lambda m, v: sg.shape_padaxis(v, 1) * m[:, :1], V[:, None] * M[:, :1]),
    ("join and the stacks", lambda m, v: sg.join(0, sg.horizontal_stack(m, m), sg.vertical_stack(m, m).reshape((3, 8))),
     np.concatenate([np.hstack([M, M]), np.vstack([M, M]).reshape(3, 8)])),
    ("stacklists", lambda m, v: sg.stacklists([[v[0], v[1]], [v[2], m[0, 0]]]), np.array([[V[0], V[1]], [V[2], M[0, 0]]])),
    ("largest smallest", lambda m, v: sg.largest(m, 0.2, -m) - sg.smallest(m, m * 2),
     np.maximum(np.maximum(M, 0.2), -M) - np.minimum(M, 2 * M)),
    ("max_and_argmax", lambda m, v: sg.max_and_argmax(m, axis=1)[0] + sg.max_and_argmax(m, axis=1)[1],
     M.max(1) + M.argmax(1)),
    ("isclose", lambda m, v: sg.isclose(m, m + 1e-9) & ~sg.isclose(m, m + 1e-3),
     np.isclose(M, M + 1e-9) & ~np.isclose(M, M + 1e-3)),
    ("allclose", lambda m, v: sg.stack([sg.allclose(m, m * (1 + 1e-7)), sg.allclose(m, m + 1)]), np.array([True, False])),
    ("roll", lambda m, v: sg.concatenate([sg.roll(m, 1, 1), sg.roll(m, -5, 0).T.reshape((3, 4)), sg.roll(m, 0, -1)]),
     np.concatenate([np.roll(M, 1, 1), np.roll(M, -5, 0).T.reshape(3, 4), np.roll(M, 0, -1)])),
    ("roll flattened", lambda m, v: sg.roll(m, 7) + sg.roll(m, -13), np.roll(M, 7) + np.roll(M, -13)),
    ("addbroadcast", lambda m, v: sg.addbroadcast(m[:1], 0) * sg.patternbroadcast(v[:, None], (False, True))
     + sg.unbroadcast(m, 1), M[:1] * V[:, None] + M),
    ("softsign selu", lambda m, v: sg.nnet.softsign(m) + sg.nnet.selu(m),
     M / (1 + np.abs(M)) + 1.0507009873554805 * np.where(M > 0, M, 1.6732632423543772 * np.expm1(M))),
]


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("name, build, want", CASES, ids=[c[0] for c in CASES])
def test_theano_names_match_numpy(name, build, want, backend):
    m, v = sg.dmatrix("m"), sg.dvector("v")
    got = sg.function([m, v], build(m, v), backend=backend, on_unused_input="ignore")(M, V)
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fn, inputs", [
    (lambda v: sg.diag(v, 1), [V]), (lambda m: sg.diagonal(m, -1), [M]), (lambda m: sg.trace(m), [M[:, :3]]),
    (lambda m: sg.triu(m, 1), [M]), (lambda m: sg.tril(m), [M]), (lambda m: sg.largest(m, -m, 0.3), [M]),
    (lambda v: sg.stacklists([[v[0], v[1]], [v[2], v[0]]]), [V]), (lambda m: sg.fill(m, m.sum()), [M]),
    (lambda m: sg.roll(m, -1, 0) * np.arange(4.0) + sg.roll(m, 5), [M]),
])
def test_gradients_match_finite_differences(fn, inputs):
    sg.verify_grad(fn, inputs, rng=np.random.default_rng(1))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_grad_clip_and_zero_grad(backend):
    v = sg.dvector("v")
    clipped = sg.grad((sg.grad_clip(v * 3, -1, 1) ** 2).sum(), v)
    zeroed = sg.grad((sg.zero_grad(v) * v).sum(), v)  # d/dv of v0 * v with v0 held: v0
    f = sg.function([v], [sg.grad_clip(v, -1, 1), clipped, zeroed, sg.grad(sg.zero_grad(v).sum(), v)], backend=backend)
    value, got_clipped, got_zeroed, only_through = f(np.array([0.1, 2.0]))
    np.testing.assert_array_equal(value, [0.1, 2.0])  # the identity forward
    np.testing.assert_allclose(got_clipped, 3 * np.clip(2 * 3 * np.array([0.1, 2.0]), -1, 1))
    np.testing.assert_allclose(got_zeroed, [0.1, 2.0])
    np.testing.assert_array_equal(only_through, [0.0, 0.0])  # connected, zero (stop_gradient's would raise)
    with pytest.raises(ValueError, match="lower_bound"):
        sg.grad_clip(v, 1, -1)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_map_reduce_and_folds_over_scan(backend):
    v, m = sg.dvector("v"), sg.dmatrix("m")
    zero = np.float64(0)
    doubled, _ = sg.map(lambda x, k: x * k, sequences=v, non_sequences=np.float64(2))
    total, _ = sg.reduce(lambda x, t: t + x, sequences=v, outputs_info=zero)
    left, _ = sg.foldl(lambda x, t: t * 10 + x, sequences=v, outputs_info=zero)
    right, _ = sg.foldr(lambda x, t: t * 10 + x, sequences=v, outputs_info=zero)
    rows, _ = sg.reduce(lambda row, acc, best: [acc + row, sg.maximum(best, row)], sequences=m,
                        outputs_info=[sg.zeros_like(m[0]), m[0]])
    f = sg.function([v, m], [doubled, total, left, right] + rows, backend=backend)
    got = f(np.array([1.0, 2.0, 3.0]), M)
    want = [[2.0, 4.0, 6.0], 6.0, 123.0, 321.0, M.sum(0), M.max(0)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)
    sg.verify_grad(lambda x: sg.foldl(lambda a, t: t * a + a, sequences=x, outputs_info=np.float64(1))[0],
                   [np.array([0.5, -1.0, 2.0])], rng=np.random.default_rng(2))


def test_pp_writes_one_expression():
    x = sg.dvector("x")
    assert sg.pp((x * 2 + sg.exp(-x)).sum()) == "Sum{axis=(0,)}(((x * 2.0) + exp((-x))))"
    assert sg.pp(sg.maximum(x, 0) < 1) == "(maximum(x, 0.0) < 1.0)"  # (weak numbers take x's dtype)
    assert sg.pp(sg.dvector()) == "<float64[?]>"
    f = sg.function([x], [x + 1, x.sum()], optimize=False)
    assert sg.pp(f).splitlines() == ["(x + 1.0)", "Sum{axis=(0,)}(x)"]
    assert sg.pp(sg.function([x], x * 2 + 1)) == "Composite{add(mul(i0, 2.0), 1.0)}(x)"  # (the graph that runs)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_roll_by_a_symbolic_shift_and_a_known_length(backend):
    x, k = sg.tensor("x", "float64", (3, 5)), sg.iscalar("k")
    f = sg.function([x, k], [sg.roll(x, k, 1), sg.roll(x, 2 * k)], backend=backend)
    for shift in (-7, -1, 0, 3, 5, 12):
        by_axis, flat = f(M[:, :4].repeat(2, 1)[:, :5], shift)
        np.testing.assert_array_equal(by_axis, np.roll(M[:, :4].repeat(2, 1)[:, :5], shift, 1))
        np.testing.assert_array_equal(flat, np.roll(M[:, :4].repeat(2, 1)[:, :5], 2 * shift))
    assert sg.roll(x, 2, 0).type.shape == (3, 5)
    sg.verify_grad(lambda a: sg.roll(a, 2, 1) * np.arange(4.0), [M], rng=np.random.default_rng(2))


def test_addbroadcast_states_and_checks_a_length_of_one():
    x = sg.dmatrix("x")
    y = sg.addbroadcast(x, 0)
    assert y.type.shape == (1, None)
    f = sg.function([x], y * 2)
    np.testing.assert_array_equal(f(M[:1]), 2 * M[:1])
    with pytest.raises(Exception, match="reshape|size"):
        f(M)  # (a length other than 1 is refused when it runs, as Theano's)
    with pytest.raises(ValueError, match="axis 1 .* has length 4, not 1"):
        sg.addbroadcast(sg.tensor("z", "float64", (1, 4)), 1)
    with pytest.raises(ValueError, match="out of range"):
        sg.unbroadcast(x, 2)
    with pytest.raises(ValueError, match="2 flags"):
        sg.patternbroadcast(sg.dvector("v"), (True, False))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_ifelse_picks_whole_values_of_any_shape_and_its_gradient_the_chosen_branch(backend):
    from symgraph.ifelse import ifelse
    c, a, b = sg.lscalar("c"), sg.dvector("a"), sg.dmatrix("b")
    out = ifelse(sg.gt(c, 0), a.sum() * a, b.sum(axis=0))  # (lengths 3 and 4: switch could not)
    both = ifelse(sg.lt(c, 0), [a, a * 2], [a * 3, a * 4])
    f = sg.function([c, a, b], [out, sg.grad(out.sum(), a), sg.grad(out.sum(), b)] + both, backend=backend)
    av, bv = np.array([1.0, 2.0, 3.0]), RNG.normal(size=(2, 4))
    value, d_a, d_b, first, second = f(1, av, bv)
    np.testing.assert_allclose(value, 6 * av)
    np.testing.assert_allclose(d_a, np.full(3, 12.0))  # (sum(a) ** 2's gradient, 2 sum(a))
    np.testing.assert_array_equal(d_b, np.zeros((2, 4)))
    np.testing.assert_allclose([first, second], [3 * av, 4 * av])
    value, d_a, d_b, first, _ = f(-1, av, bv)
    np.testing.assert_allclose(value, bv.sum(axis=0))
    np.testing.assert_array_equal(d_a, np.zeros(3))
    np.testing.assert_array_equal(d_b, np.ones((2, 4)))
    np.testing.assert_allclose(first, av)
    with pytest.raises(TypeError, match="condition must be a scalar"):
        ifelse(a, a, a)
    with pytest.raises(ValueError, match="2 then-values but 1 else-values"):
        ifelse(c, [a, a], [a])


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("mode", [None, "NanGuardMode"])
def test_ifelse_is_lazy_the_branch_not_taken_does_not_run(backend, mode):
    """As Theano's: what only the branch not taken needs is not computed. Here that branch
    would fail (an index past the end; a log of a negative number under NanGuardMode), so it
    raises when taken and not otherwise; nested ifelses and a value both branches read too."""
    from symgraph.ifelse import ifelse
    c, d, x = sg.lscalar("c"), sg.lscalar("d"), sg.dvector("x")
    shared_part = x * 2  # (read by both sides: computed either way)
    risky = sg.log(x - 10).sum() + x[5]  # (x has 3 entries)
    inner = ifelse(sg.gt(d, 0), risky, shared_part.sum() + 1)
    out = ifelse(sg.gt(c, 0), inner, shared_part.max())
    f = sg.function([c, d, x], out, backend=backend, mode=mode) if mode else \
        sg.function([c, d, x], out, backend=backend)
    xv = np.array([1.0, 2.0, 3.0])
    assert f(0, 1, xv) == 6.0 and f(0, 0, xv) == 6.0  # (inner not needed at all)
    assert f(1, 0, xv) == 13.0  # (inner's else side)
    with pytest.raises((IndexError, FloatingPointError)):
        f(1, 1, xv)
    safe = ifelse(sg.gt(c, 0), (x ** 2).sum(), shared_part.max())
    grads = sg.function([c, x], sg.grad(safe, x), backend=backend)  # (its ifelses are lazy too)
    np.testing.assert_allclose(grads(1, xv), 2 * xv)
    np.testing.assert_allclose(grads(0, xv), [0.0, 0.0, 2.0])


def test_theano_gradient_module_and_sigmoid_binary_crossentropy():
    x = sg.dvector("x")
    assert sg.gradient.disconnected_grad is sg.gradient.consider_constant
    cost = (x * sg.gradient.consider_constant(x)).sum()  # (the second factor a constant)
    np.testing.assert_allclose(sg.function([x], sg.gradient.grad(cost, x))(V), V)
    logits, targets = np.array([40.0, -40.0, 0.3]), np.array([0.0, 1.0, 1.0])
    loss = sg.nnet.sigmoid_binary_crossentropy(x, sg.constant(targets))
    np.testing.assert_allclose(sg.function([x], loss)(logits), np.logaddexp(0, logits) - targets * logits)


@pytest.mark.parametrize("border_mode,subsample", [("valid", (1, 1)), ("half", (2, 2)), ("full", (1, 1)),
                                                   ((1, 2), (2, 1))])
def test_abstract_conv_gradients_are_conv2ds_transposes(border_mode, subsample):
    """conv2d_grad_wrt_inputs is the adjoint of Theano's conv2d (<conv(x), g> = <x, conv^T(g)>),
    conv2d_grad_wrt_weights the gradient sg.grad finds for the filters."""
    x, g = sg.tensor("x", "float64", (None,) * 4), sg.tensor("g", "float64", (None,) * 4)
    w = sg.shared(RNG.normal(size=(3, 2, 3, 3)), "w")
    y = sg.nnet.conv2d(x, w, border_mode=border_mode, subsample=subsample)
    xv = RNG.normal(size=(2, 2, 7, 8))
    yv = sg.function([x], y)(xv)
    gv = RNG.normal(size=yv.shape)
    back = sg.nnet.abstract_conv.conv2d_grad_wrt_inputs(g, w, xv.shape, border_mode=border_mode, subsample=subsample)
    xt = sg.function([g], back)(gv)
    np.testing.assert_allclose((yv * gv).sum(), (xv * xt).sum(), rtol=1e-10)
    if subsample == (1, 1):  # (the input's rows and columns found from g's: one answer at stride 1)
        unknown = sg.nnet.conv2d_grad_wrt_inputs(g, w, (None, None, None, None), border_mode=border_mode)
        np.testing.assert_allclose(sg.function([g], unknown)(gv), xt)
    weights = sg.nnet.conv2d_grad_wrt_weights(x, g, (3, 2, 3, 3), border_mode=border_mode, subsample=subsample)
    np.testing.assert_allclose(sg.function([x, g], weights)(xv, gv),
                               sg.function([x, g], sg.grad((y * g).sum(), w))(xv, gv), rtol=1e-10)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_topk_and_argtopk(backend):
    x, k = sg.dmatrix("x"), sg.lscalar("k")
    values, indices = sg.topk_and_argtopk(x, 2)
    f = sg.function([x, k], [values, indices, sg.topk(x, -2, axis=0), sg.argtopk(x, -1, axis=0, idx_dtype="int32"),
                             sg.topk(x, k)], backend=backend)
    largest, where, smallest, lowest, by_k = f(M, 3)
    np.testing.assert_array_equal(largest, -np.sort(-M, axis=1)[:, :2])
    np.testing.assert_array_equal(where, np.argsort(-M, axis=1)[:, :2])
    np.testing.assert_array_equal(smallest, np.sort(M, axis=0)[:2])
    assert lowest.dtype == np.int32 and (lowest == np.argsort(M, axis=0)[:1]).all()
    np.testing.assert_array_equal(by_k, -np.sort(-M, axis=1)[:, :3])
    sg.verify_grad(lambda a: sg.topk(a, 2) * sg.topk(a, -1, axis=0).sum(), [M], rng=np.random.default_rng(3))
    with pytest.raises(ValueError, match="kth must not be 0"):
        sg.topk(x, 0)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_theano_batch_normalization_train_and_test(backend, rng):
    """nnet.bn as Theano's: 'spatial' statistics of NCHW images (broadcast gamma and beta),
    the running averages with the unbiased variance, the test form from them, against NumPy;
    the gradients against finite differences."""
    xv = rng.normal(2.0, 3.0, size=(4, 3, 5, 5))
    gv, bv = rng.uniform(0.5, 2, size=(1, 3, 1, 1)), rng.normal(size=(1, 3, 1, 1))
    x, gamma, beta = sg.tensor4("x", dtype="float64"), sg.tensor4("gamma", dtype="float64"), sg.tensor4("beta", dtype="float64")
    running_mean, running_var = sg.shared(np.zeros((1, 3, 1, 1))), sg.shared(np.ones((1, 3, 1, 1)))
    out, mean, invstd, new_mean, new_var = sg.nnet.bn.batch_normalization_train(
        x, gamma, beta, axes="spatial", running_average_factor=0.25, running_mean=running_mean, running_var=running_var)
    f = sg.function([x, gamma, beta], [out, mean, invstd], backend=backend,
                    updates=[(running_mean, new_mean), (running_var, new_var)])
    got, got_mean, got_invstd = f(xv, gv, bv)
    want_mean, want_var = xv.mean(axis=(0, 2, 3), keepdims=True), xv.var(axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(got, (xv - want_mean) / np.sqrt(want_var + 1e-4) * gv + bv, rtol=1e-12)
    np.testing.assert_allclose(got_mean, want_mean, rtol=1e-12)
    np.testing.assert_allclose(got_invstd, 1 / np.sqrt(want_var + 1e-4), rtol=1e-12)
    np.testing.assert_allclose(running_mean.get_value(), 0.25 * want_mean, rtol=1e-12)
    unbiased = xv.var(axis=(0, 2, 3), keepdims=True, ddof=1)
    np.testing.assert_allclose(running_var.get_value(), 0.75 + 0.25 * unbiased, rtol=1e-12)
    test_out = sg.nnet.bn.batch_normalization_test(x, gamma, beta, running_mean, running_var, axes="spatial")
    np.testing.assert_allclose(sg.function([x, gamma, beta], test_out, backend=backend)(xv, gv, bv),
                               (xv - running_mean.get_value()) / np.sqrt(running_var.get_value() + 1e-4) * gv + bv,
                               rtol=1e-12)
    v = sg.dvector("v")
    np.testing.assert_allclose(sg.function([v], sg.nnet.batch_normalization(v, 2.0, 1.0, v.mean(), v.std()),
                                           backend=backend)(np.arange(4.0)),
                               (np.arange(4.0) - 1.5) / np.arange(4.0).std() * 2 + 1, rtol=1e-12)
    small = rng.normal(size=(3, 2, 2, 2))
    sg.verify_grad(lambda a, g, b: (sg.nnet.bn.batch_normalization_train(a, g, b, axes="spatial")[0] ** 3).sum(),
                   [small, gv[:, :2], bv[:, :2]], rng=np.random.default_rng(1))
    with pytest.raises(ValueError, match="axes"):
        sg.nnet.bn.batch_normalization_train(x, gamma, beta, axes="channels")
