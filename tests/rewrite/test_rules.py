"""Each rewrite rule fires on its pattern (checked on f.fgraph) and leaves values unchanged
(compared with the graph as written, on the numpy backend)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck
from hypothesis.extra import numpy as hnp

import symgraph as sg
from symgraph.ops.reduce import SumToShape
from symgraph.graph import Constant, graph_inputs
from symgraph.ops.composite import Composite, CompositeReduce
from symgraph.ops.linalg import Dot, Gemm
from symgraph.ops.nn import CrossentropySoftmax, LogSoftmax, Softmax
from symgraph.ops.reduce import LogSumExp


def compile_both(inputs, output):
    fast = sg.function(inputs, output, backend="numpy")
    slow = sg.function(inputs, output, backend="numpy", optimize=False)
    return fast, slow


def ops_of(f):
    return [type(n.op).__name__ for n in f.fgraph.apply_nodes]


def names_of(f):
    return [str(n.op) for n in f.fgraph.apply_nodes]


def fired(f, rule):
    return any(r == rule for _, r, _ in f.rewrite_log)


floats = st.floats(-3, 3, allow_nan=False, width=64)
matrices = hnp.arrays("float64", hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=4), elements=floats)
SETTINGS = dict(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_same(fast, slow, *values):
    np.testing.assert_allclose(fast(*values), slow(*values), rtol=1e-12, atol=1e-12)


@settings(**SETTINGS)
@given(matrices)
def test_identities_vanish_and_values_hold(xv):
    x = sg.dmatrix("x")
    expr = ((x * 1) + 0 - 0) / 1 + --x ** 1 + sg.where(x > 0, x, x)
    fast, slow = compile_both([x], expr)
    assert fired(fast, "algebraic_identities")
    assert names_of(fast) == ["Composite{add(add(i0, i0), i0)}"] or len(fast.fgraph.apply_nodes) == 1
    assert_same(fast, slow, xv)


def test_a_select_by_a_constant_condition_is_its_branch():
    """where(True, x, 0) -> x: the select pow's gradient puts around x ** 0's derivative folds
    away for a constant exponent (the gradient of (x - t) ** 2 is one multiply, as before)."""
    x, t = sg.dvector("x"), sg.dvector("t")
    fast, slow = compile_both([x, t], sg.grad(((x - t) ** 2).sum(), x) + sg.where(sg.constant(False), 1.0, x))
    assert "Composite{mul(2.0, sub(i0, i1))}" in float_nodes(fast) and "where" not in " ".join(float_nodes(fast))
    assert_same(fast, slow, np.array([0.0, 1.5, -2.0]), np.array([1.0, 0.5, 0.0]))
    kept = sg.function([x], sg.where(sg.constant(True), x, sg.constant(np.zeros(3))), backend="numpy")
    assert "where" in " ".join(float_nodes(kept))  # (the other branch is an array: kept)


def float_nodes(f):
    """The names of f's nodes that compute floats (not its shapes' bookkeeping)."""
    return [str(n.op) for n in f.fgraph.apply_nodes if n.outputs[0].dtype[0] == "f"]


@settings(**SETTINGS)
@given(matrices)
def test_constant_folding_and_constant_sums(xv):
    x = sg.dmatrix("x")
    c = sg.constant(np.arange(4.0)).sum() * 2  # folds to 12
    fast, slow = compile_both([x], (x + 2.0) + 3.0 + c)
    assert fired(fast, "constant_folding") and fired(fast, "fold_constant_sums")
    assert [str(n.op) for n in fast.fgraph.apply_nodes] == ["Composite{add(i0, 17.0)}"]  # (the number in the loop)
    assert_same(fast, slow, xv)


def test_a_lone_node_reading_a_number_takes_the_number_into_its_loop(rng):
    """x * 2 alone becomes a one-node Composite: its kernel gets arrays of one shape only (the
    fast path), not a 0-d constant that sends every call through the broadcast plan."""
    x = sg.fvector("x")
    for expr, name in ((x * 2, "Composite{mul(i0, 2.0)}"), (1 - x, "Composite{sub(1.0, i0)}")):
        f = sg.function([x], expr, backend="numba")
        assert names_of(f) == [name]
        xv = rng.random(1000).astype(np.float32)
        np.testing.assert_array_equal(f(xv), sg.function([x], expr, backend="numpy", optimize=False)(xv))
    kept = sg.function([x], sg.exp(x), backend="numba")  # no number: the node stays as it is
    assert names_of(kept) == ["Elemwise{exp}"]


def test_merge_computes_one_dot():
    x = sg.dmatrix("x")
    fast, slow = compile_both([x], sg.dot(x, x.T) + sg.dot(x, x.T))
    assert sum(op in ("Dot", "Gemm") for op in ops_of(fast)) == 1
    assert fired(fast, "merge")
    xv = np.random.default_rng(0).normal(size=(3, 4))
    assert_same(fast, slow, xv)


def test_transpose_of_transpose_and_reshape_of_reshape():
    x = sg.dtensor3("x")
    fast, slow = compile_both([x], x.T.T.reshape((6, -1)).reshape((3, -1)) * 2)
    assert "DimShuffle" not in ops_of(fast)
    assert ops_of(fast).count("Reshape") == 1
    assert_same(fast, slow, np.arange(24.0).reshape(2, 3, 4))


def test_a_broadcast_another_operand_already_gives_is_left_to_the_loop():
    """broadcast_to(y, x.shape) * x -> y * x: the gradient of a variance or a norm keeps no
    BroadcastTo and fuses into fewer loops. A broadcast that gives the result a length no
    other operand provably has stays: y + z where z is a row of one value, or a length the
    graph cannot prove equal."""
    x, m = sg.dvector("x"), sg.dmatrix("m")
    for inputs, cost, value in (([x], x.var() ** 2, np.arange(6.0) ** 1.5),
                                ([m], sg.sqrt((m * m).sum(axis=1)).sum(), np.arange(12.0).reshape(3, 4) + 1),
                                ([m], m.std(axis=0).sum(), np.arange(12.0).reshape(3, 4) ** 2)):
        fast, slow = compile_both(inputs, sg.grad(cost, inputs[0]))
        assert "BroadcastTo" not in ops_of(fast)
        assert_same(fast, slow, value)
    y, z, w = sg.dvector("y"), sg.tensor("z", "float64", (1,)), sg.dvector("w")
    for inputs, expr in (([x, y, z], sg.broadcast_to(y[:1], x.shape) + z), ([x, y, w], sg.broadcast_to(y[:1], x.shape) * w)):
        fast, slow = compile_both(inputs, expr)
        assert "BroadcastTo" in ops_of(fast)
        assert_same(fast, slow, np.arange(4.0), np.ones(4), np.ones(4)[:1] if inputs[2] is z else np.ones(4) * 2)
    fast, slow = compile_both([x, y], sg.broadcast_to(y[:1], x.shape) * x)
    assert "BroadcastTo" not in ops_of(fast)
    assert_same(fast, slow, np.arange(4.0), np.ones(4) * 3)


def test_a_vector_flattened_is_itself():
    """cumsum, repeat and outer of axis None flatten their input first: a vector's flattening
    is the vector. A matrix's stays, and so does a vector reshaped to a given length."""
    v, m = sg.dvector("v"), sg.dmatrix("m")
    for expr in (sg.cumsum(v), sg.repeat(v, 2), sg.outer(v, v), v.reshape((-1,)) * 2, v.flatten() + 1):
        fast, slow = compile_both([v], expr)
        assert "Reshape" not in ops_of(fast), expr
        assert_same(fast, slow, np.arange(5.0) - 2)
    for inputs, expr, value in (([m], sg.cumsum(m), np.arange(6.0).reshape(2, 3)), ([v], v.reshape((5,)) * 2, np.arange(5.0))):
        fast, slow = compile_both(inputs, expr)
        assert "Reshape" in ops_of(fast)
        assert_same(fast, slow, value)


def test_shape_is_computed_without_computing_the_expression():
    x = sg.dmatrix("x")
    y = sg.exp(sg.dot(x, x.T)) + 1
    fast, slow = compile_both([x], y.shape)
    assert ops_of(fast) == ["Shape", "Subtensor", "MakeVector"]  # [x.shape[0], x.shape[0]]
    assert fast.fgraph.apply_nodes[0].inputs[0] is x
    assert fast(np.ones((3, 5))).tolist() == [3, 3]
    f2, _ = compile_both([x], (sg.exp(x) * 2).shape)
    assert ops_of(f2) == ["Shape"]
    w = sg.tensor("w", "float64", (None, 7))
    f = sg.function([w], (sg.tanh(w) * 2).shape[1], backend="numpy", on_unused_input="ignore")
    assert f.fgraph.apply_nodes == [] and f(np.ones((2, 7))) == 7


EXTREMES = np.array([-200.0, -30.0, -1.0, 0.0, 1.0, 30.0, 200.0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,build,reference", [
    ("softplus", lambda x: sg.log(1 + sg.exp(x)), lambda v: np.logaddexp(0, v)),
    ("softplus1p", lambda x: sg.log1p(sg.exp(x)), lambda v: np.logaddexp(0, v)),
    ("log_sigmoid", lambda x: sg.log(sg.sigmoid(x)), lambda v: -np.logaddexp(0, -v)),
    ("log_one_minus_sigmoid", lambda x: sg.log(1 - sg.sigmoid(x)), lambda v: -np.logaddexp(0, v)),
    ("log_written_out_sigmoid", lambda x: sg.log(1 / (1 + sg.exp(-x))), lambda v: -np.logaddexp(0, -v)),
    ("log_exp_ratio", lambda x: sg.log(sg.exp(x) / (1 + sg.exp(x))), lambda v: -np.logaddexp(0, -v)),
    ("log_one_minus_transposed_sigmoid", lambda x: sg.log(1 - sg.sigmoid(x[None]).T)[:, 0],
     lambda v: -np.logaddexp(0, v)),
])
def test_stabilized_formulas_are_finite_and_right_at_extremes(dtype, name, build, reference):
    x = sg.tensor("x", dtype, (None,))
    fast, slow = compile_both([x], build(x))
    out = fast(EXTREMES.astype(dtype))
    assert np.isfinite(out).all(), out
    np.testing.assert_allclose(out, reference(EXTREMES), rtol=1e-6 if dtype == "float32" else 1e-12, atol=1e-37)
    if dtype == "float32":
        assert not np.isfinite(slow(EXTREMES.astype(dtype))).all()  # the naive graph overflows


def test_log1p_and_expm1_are_exact_for_small_values():
    x = sg.dvector("x")
    v = np.array([1e-12, -1e-10, 1e-5])
    fast, slow = compile_both([x], sg.log(1 + x))
    assert "log1p" in str(names_of(fast))
    np.testing.assert_allclose(fast(v), np.log1p(v), rtol=1e-14)
    fast2, _ = compile_both([x], sg.exp(x) - 1)
    assert "expm1" in str(names_of(fast2))
    np.testing.assert_allclose(fast2(v), np.expm1(v), rtol=1e-14)


def test_naive_softmax_and_log_softmax_and_logsumexp_at_extremes():
    x = sg.dmatrix("x")
    xv = np.array([[-200.0, 0.0, 200.0], [1.0, 2.0, 3.0]])
    naive = sg.exp(x) / sg.exp(x).sum(axis=1, keepdims=True)
    fast, _ = compile_both([x], sg.log(naive))
    assert "LogSoftmax" in ops_of(fast)
    ref = xv - xv.max(1, keepdims=True) - np.log(np.exp(xv - xv.max(1, keepdims=True)).sum(1, keepdims=True))
    np.testing.assert_allclose(fast(xv), ref, rtol=1e-12)
    f_sm, _ = compile_both([x], naive)
    assert "Softmax" in ops_of(f_sm) and np.isfinite(f_sm(xv)).all()
    f_lse, _ = compile_both([x], sg.log(sg.exp(x).sum(axis=1)))
    assert "LogSumExp" in ops_of(f_lse)
    np.testing.assert_allclose(f_lse(xv), xv.max(1) + np.log(np.exp(xv - xv.max(1, keepdims=True)).sum(1)))


def test_crossentropy_of_softmax_becomes_one_op_with_stable_gradient():
    x, y = sg.dmatrix("x"), sg.ivector("y")
    loss = sg.nn.categorical_crossentropy(sg.nn.softmax(x), y).mean()
    g = sg.grad(loss, x)
    fast = sg.function([x, y], [loss, g], backend="numpy")
    assert "CrossentropySoftmax" in ops_of(sg.function([x, y], loss, backend="numpy"))
    assert ops_of(fast).count("CrossentropySoftmaxWithGrad") == 1  # the loss and its gradient: one node
    assert "Softmax" not in ops_of(fast) and "CrossentropySoftmax" not in ops_of(fast)
    xv = np.array([[-200.0, 0.0, 200.0], [1.0, 2.0, 3.0]])
    yv = np.array([0, 2], "int32")
    lv, gv = fast(xv, yv)
    assert np.isfinite(lv) and np.isfinite(gv).all()
    sm = np.exp(xv - xv.max(1, keepdims=True)); sm /= sm.sum(1, keepdims=True)
    onehot = np.eye(3)[yv]
    np.testing.assert_allclose(gv, (sm - onehot) / 2, atol=1e-12)
    np.testing.assert_allclose(lv, np.mean([400.0, -np.log(sm[1, 2])]), rtol=1e-12)


@pytest.mark.parametrize("dense", [False, True])
def test_crossentropy_gradient_through_softmax_needs_no_division(dense):
    x = sg.fmatrix("x")
    t = sg.fmatrix("t") if dense else sg.ivector("t")
    loss = sg.nn.categorical_crossentropy(sg.nn.softmax(x), t).mean()
    g = sg.grad(loss, x)
    fast = sg.function([x, t], g, backend="numpy")
    assert fired(fast, "crossentropy_gradient_through_softmax")
    # one op for the whole gradient (a pass over each row, no softmax node), dense targets too
    assert "CrossentropySoftmaxGrad" in ops_of(fast) and "Softmax" not in ops_of(fast)
    assert not any("true_div(neg" in str(n.op) for n in fast.fgraph.apply_nodes)
    # float32 softmax underflows to exactly 0 at -400 below the maximum: -t / z was -inf there
    xv = np.array([[-200.0, 0.0, 200.0], [1.0, 2.0, 3.0]], "float32")
    tv = np.array([[1.0, 0, 0], [0, 0.5, 0.5]], "float32") if dense else np.array([0, 2], "int32")
    sm = np.exp(xv - xv.max(1, keepdims=True)); sm /= sm.sum(1, keepdims=True)
    target = tv if dense else np.eye(3, dtype="float32")[tv]
    want = (sm * target.sum(1, keepdims=True) - target) / 2
    np.testing.assert_allclose(fast(xv, tv), want, atol=1e-6)
    slow = sg.function([x, t], g, optimize=False, backend="numpy")
    assert not np.isfinite(slow(xv, tv)).all()  # the formula as written divides by 0
    ok = np.array([[0.1, -0.3, 0.2], [1.0, 2.0, 3.0]], "float32")
    np.testing.assert_allclose(fast(ok, tv), slow(ok, tv), rtol=1e-5, atol=1e-7)


# Logits where a float32 and a float64 sigmoid are exactly 1 or 0 (past 17 / 37 it rounds to 1,
# past -88 / -745 exp(-x) is inf) and ordinary ones; the targets the saturated ones get wrong.
SATURATING_LOGITS = np.array([40.0, -40.0, 90.0, -100.0, 800.0, -800.0, 0.5, -3.0])
TARGETS = np.array([0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0])
PROBABILITIES = {
    "sigmoid": lambda z: sg.sigmoid(z),
    "tutorial": lambda z: 1 / (1 + sg.exp(-z)),  # Theano's logistic-regression tutorial
    "exp_ratio": lambda z: sg.exp(z) / (1 + sg.exp(z)),
}


def _sigmoid(z):
    return np.exp(-np.logaddexp(0, -z))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("form", sorted(PROBABILITIES))
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_hand_written_binary_crossentropy_and_its_gradient_stay_finite(form, dtype, backend):
    """-(t log p + (1 - t) log(1 - p)).mean() with p a sigmoid, written out or not: the loss is
    softplus(z) - t z and its gradient (sigmoid(z) - t) / n even where p is exactly 0 or 1, where
    the formula as written takes log(0) and its gradient divides by 0 (a NaN weight update)."""
    z, t = sg.tensor("z", dtype, (None,)), sg.tensor("t", dtype, (None,))
    p = PROBABILITIES[form](z)
    loss = -(t * sg.log(p) + (1 - t) * sg.log(1 - p)).mean()
    f = sg.function([z, t], [loss, sg.grad(loss, z)], backend=backend)
    zv, tv = SATURATING_LOGITS.astype(dtype), TARGETS.astype(dtype)
    lv, gv = f(zv, tv)
    want_loss = np.mean(np.logaddexp(0, SATURATING_LOGITS) - TARGETS * SATURATING_LOGITS)
    want_grad = (_sigmoid(SATURATING_LOGITS) - TARGETS) / len(TARGETS)
    tol = dict(rtol=1e-5, atol=1e-7) if dtype == "float32" else dict(rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(lv, want_loss, **tol)
    np.testing.assert_allclose(gv, want_grad, **tol)
    assert fired(f, "sigmoid_gradient_of_quotients")
    slow = sg.function([z, t], [loss, sg.grad(loss, z)], backend="numpy", optimize=False)
    assert not np.isfinite(slow(zv, tv)[1]).all()  # as written: 0 * inf
    ordinary = (np.linspace(-3, 3, 8)).astype(dtype)
    for fast_value, slow_value in zip(f(ordinary, tv), slow(ordinary, tv)):
        np.testing.assert_allclose(fast_value, slow_value, **tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("form", sorted(PROBABILITIES))
def test_gradient_of_a_written_out_sigmoid_is_the_sigmoids(form, dtype):
    """d/dz of 1 / (1 + exp(-z)) and of exp(z) / (1 + exp(z)) as grad builds it divides by
    1 + exp(+-z): inf / inf (NaN) where exp overflows. Rewritten: s (1 - s) everywhere."""
    z = sg.tensor("z", dtype, (None,))
    p = PROBABILITIES[form](z)
    weights = sg.tensor("w", dtype, (None,))
    f = sg.function([z, weights], sg.grad((weights * p).sum(), z), backend="numpy")
    zv, wv = SATURATING_LOGITS.astype(dtype), np.linspace(0.5, 2, len(SATURATING_LOGITS)).astype(dtype)
    s = _sigmoid(SATURATING_LOGITS)
    tol = dict(rtol=1e-5, atol=1e-30) if dtype == "float32" else dict(rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(f(zv, wv), wv * s * (1 - s), **tol)
    if form != "sigmoid":
        assert fired(f, "gradient_of_written_out_sigmoid")
        slow = sg.function([z, weights], sg.grad((weights * p).sum(), z), backend="numpy", optimize=False)
        assert not np.isfinite(slow(zv, wv)).all()


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_binary_crossentropy_of_a_transposed_sigmoid_and_a_mixed_gradient(backend, rng):
    """p = sigmoid(Z).T: the logs and the gradient's quotients are read through the transpose;
    and a gradient through the sigmoid that is not only quotients (p ** 2 beside the logs)
    keeps its other terms."""
    Z, T = sg.dmatrix("Z"), sg.dmatrix("T")
    P = sg.sigmoid(Z).T
    loss = -(T * sg.log(P) + (1 - T) * sg.log(1 - P)).mean() + (P ** 2).sum()
    f = sg.function([Z, T], [loss, sg.grad(loss, Z)], backend=backend)
    assert fired(f, "sigmoid_gradient_of_quotients")
    zv = np.stack([SATURATING_LOGITS, -SATURATING_LOGITS[::-1]], axis=1)
    tv = np.stack([TARGETS, TARGETS[::-1]])
    s = _sigmoid(zv)
    want_loss = np.mean(np.logaddexp(0, zv.T) - tv * zv.T) + (s ** 2).sum()
    want_grad = (s - tv.T) / tv.size + 2 * s * s * (1 - s)
    lv, gv = f(zv, tv)
    np.testing.assert_allclose(lv, want_loss, rtol=1e-12)
    np.testing.assert_allclose(gv, want_grad, rtol=1e-12, atol=1e-300)
    slow = sg.function([Z, T], [loss, sg.grad(loss, Z)], backend="numpy", optimize=False)
    ordinary, targets = rng.normal(size=(8, 2)), rng.uniform(size=(2, 8))
    for fast_value, slow_value in zip(f(ordinary, targets), slow(ordinary, targets)):
        np.testing.assert_allclose(fast_value, slow_value, rtol=1e-12)


def test_theano_logistic_regression_tutorial_trains_through_saturation():
    """The tutorial's model (p_1 = 1 / (1 + exp(-x.w - b)), its crossentropy and weight decay)
    on widely spread separable data: logits pass 40, where p_1 is exactly 1 in float64. As
    written, one such step makes every weight NaN; rewritten, training goes on."""
    rng = np.random.default_rng(0)
    features = 20 * rng.normal(size=(200, 5))
    labels = (features @ np.arange(1.0, 6.0) > 0).astype("float64")

    def train(optimize):
        x, y = sg.dmatrix("x"), sg.dvector("y")
        w, b = sg.shared(np.zeros(5), "w"), sg.shared(0.0, "b")
        p_1 = 1 / (1 + sg.exp(-sg.dot(x, w) - b))
        xent = -y * sg.log(p_1) - (1 - y) * sg.log(1 - p_1)
        cost = xent.mean() + 0.001 * (w ** 2).sum()
        gw, gb = sg.grad(cost, [w, b])
        step = sg.function([x, y], sg.dot(x, w) + b, updates=[(w, w - gw), (b, b - gb)],
                           optimize=optimize)
        for _ in range(30):
            logits = step(features, labels)
        return logits, w.get_value()

    logits, weights = train(True)
    assert np.abs(logits).max() > 40 and np.isfinite(weights).all()
    assert ((logits > 0) == labels).mean() > 0.97
    _, naive_weights = train(False)
    assert np.isnan(naive_weights).all()


def test_theano_crossentropy_idiom_becomes_the_crossentropy_ops():
    """-log(softmax(x))[arange(n), y].mean(), Theano's way: the gradient grad builds divides by
    the softmax (NaN where it underflows) and runs softmax beside log_softmax. As in Theano, the
    pick becomes the softmax crossentropy and its gradient one row loop: both together, as
    CrossentropySoftmaxWithGrad."""
    x, y = sg.fmatrix("x"), sg.ivector("y")
    cost = -sg.log(sg.nn.softmax(x))[sg.arange(y.shape[0]), y].mean()
    g = sg.grad(cost, x)
    fast = sg.function([x, y], [cost, g], backend="numpy")
    assert fired(fast, "crossentropy_of_picked_log_softmax") and fired(fast, "softmax_gradient_of_quotient")
    assert "CrossentropySoftmaxWithGrad" in ops_of(fast) and fired(fast, "crossentropy_beside_its_gradient")
    assert not {"Softmax", "LogSoftmax", "IncSubtensor", "Alloc", "CrossentropySoftmax"} & set(ops_of(fast))
    # the mean's count is len(y), which the arange already read: one shape lookup, of y
    assert fired(fast, "length_from_the_graph") and ops_of(fast).count("Shape") == 1
    assert not any("true_div" in str(n.op) and n.outputs[0].ndim == 2 for n in fast.fgraph.apply_nodes)
    xv = np.array([[-200.0, 0.0, 200.0], [1.0, 2.0, 3.0]], "float32")  # softmax underflows to 0
    yv = np.array([2, 0], "int32")
    sm = np.exp(xv - xv.max(1, keepdims=True)); sm /= sm.sum(1, keepdims=True)
    lv, gv = fast(xv, yv)
    np.testing.assert_allclose(gv, (sm - np.eye(3, dtype="float32")[yv]) / 2, atol=1e-6)
    np.testing.assert_allclose(lv, -np.log(sm[[0, 1], yv]).mean(), rtol=1e-6)
    slow = sg.function([x, y], g, optimize=False, backend="numpy")
    assert not np.isfinite(slow(xv, yv)).all()  # 0 / 0 where the softmax underflowed
    ok = np.array([[0.1, -0.3, 0.2], [1.0, 2.0, 3.0]], "float32")
    np.testing.assert_allclose(fast(ok, yv)[1], slow(ok, yv), rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="one class index per row"):  # Theano's rule too
        fast(ok, yv[:1])


def test_a_training_steps_loss_and_its_gradient_become_one_node(rng):
    """A classifier step outputs its loss and updates with its gradient: both from the same
    logits and targets, so one CrossentropySoftmaxWithGrad computes them. Not where the
    gradient reads the loss (log of the mean loss: g holds 1 / loss), nor for other targets."""
    x, y, y2 = sg.dmatrix("x"), sg.ivector("y"), sg.ivector("y2")
    w0 = rng.normal(size=(4, 3))
    w = sg.shared(w0.copy(), "w")
    loss = sg.nn.categorical_crossentropy(sg.nn.softmax(sg.dot(x, w)), y).mean()
    step = sg.function([x, y], loss, updates=[(w, w - 0.5 * sg.grad(loss, w))], backend="numpy")
    assert fired(step, "crossentropy_beside_its_gradient")
    assert ops_of(step).count("CrossentropySoftmaxWithGrad") == 1
    assert not {"CrossentropySoftmax", "CrossentropySoftmaxGrad", "SumToShape"} & set(ops_of(step))
    xv, yv = rng.normal(size=(5, 4)), np.array([0, 2, 1, -1, 0], "int32")
    got = [(step(xv, yv), w.get_value().copy()) for _ in range(3)]
    w.set_value(w0.copy())
    slow = sg.function([x, y], loss, updates=[(w, w - 0.5 * sg.grad(loss, w))], backend="numpy", optimize=False)
    for (cost, weights), _ in zip(got, range(3)):
        np.testing.assert_allclose(cost, slow(xv, yv), rtol=1e-12)
        np.testing.assert_allclose(weights, w.get_value(), rtol=1e-12, atol=1e-15)

    # log(loss): its gradient reads the loss; other targets' loss beside y's gradient: not
    # theirs; two losses: each beside its own gradient
    other = sg.nn.categorical_crossentropy(sg.nn.softmax(sg.dot(x, w)), y2).mean()
    for inputs, outputs, fused in (([x, y], [sg.log(loss), sg.grad(sg.log(loss), w)], 0),
                                   ([x, y, y2], [other, sg.grad(loss, w)], 0),
                                   ([x, y, y2], [loss + other, sg.grad(loss + other, w)], 2)):
        fast, slow = compile_both(inputs, outputs)
        assert ops_of(fast).count("CrossentropySoftmaxWithGrad") == fused
        if not fused:
            assert {"CrossentropySoftmax", "CrossentropySoftmaxGrad"} <= set(ops_of(fast))
        values = (xv, yv, yv[::-1].copy())[:len(inputs)]
        for value, want in zip(fast(*values), slow(*values)):
            np.testing.assert_allclose(value, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.exhaustive
def test_tensorflow_ones_summed_crossentropy_becomes_the_fused_op(dtype, rng):
    """-(y * log(softmax(h))).sum(axis=1).mean(), TensorFlow 1's tutorial cost with one-hot or
    probability rows y: the loss and its gradient become one CrossentropySoftmaxWithGrad (26 ->
    fewer nodes, no LogSoftmax, no SumToShape), with the values of the graph as written for
    targets of the logits' shape, a zero row, and one row of targets broadcast to every row.
    Targets that would broadcast the logits instead (one row of logits, several of targets)
    raise a ValueError, as the fused op reads one target row per logits row."""
    x, y = sg.tensor("x", dtype, (None, None)), sg.tensor("y", dtype, (None, None))
    w0 = rng.normal(size=(4, 3)).astype(dtype)
    w = sg.shared(w0.copy(), "w")
    cost = -(y * sg.log(sg.nn.softmax(sg.dot(x, w)))).sum(axis=1).mean()
    fast = sg.function([x, y], [cost, sg.grad(cost, w)], backend="numpy")
    slow = sg.function([x, y], [cost, sg.grad(cost, w)], backend="numpy", optimize=False)
    assert fired(fast, "crossentropy_of_summed_log_softmax") and fired(fast, "crossentropy_beside_its_gradient")
    assert ops_of(fast).count("CrossentropySoftmaxWithGrad") == 1
    assert not {"LogSoftmax", "Softmax", "SumToShape", "CrossentropySoftmax"} & set(ops_of(fast))
    xv = rng.normal(size=(5, 4)).astype(dtype)
    probabilities = np.abs(rng.normal(size=(5, 3))).astype(dtype)
    probabilities[3] = 0
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-14)
    for yv in (np.eye(3, dtype=dtype)[[0, 2, 1, 1, 0]], probabilities, probabilities[:1]):
        for got, want in zip(fast(xv, yv), slow(xv, yv)):
            np.testing.assert_allclose(got, want, **tol)
    for backend in ("numpy", "numba"):
        step = sg.function([x, y], cost, updates=[(w, w - 0.5 * sg.grad(cost, w))], backend=backend)
        w.set_value(w0.copy())
        losses = [float(step(xv, probabilities)) for _ in range(3)]
        w.set_value(w0.copy())
        plain = sg.function([x, y], cost, updates=[(w, w - 0.5 * sg.grad(cost, w))], backend="numpy", optimize=False)
        np.testing.assert_allclose(losses, [float(plain(xv, probabilities)) for _ in range(3)], **tol)
    with pytest.raises(ValueError):
        fast(xv[:1], probabilities)
    # lengths the graph shows equal (static shapes): the fused node reads the targets as they are
    xs, ys = sg.tensor("xs", dtype, (5, 4)), sg.tensor("ys", dtype, (5, 3))
    cost = -(ys * sg.log(sg.nn.softmax(sg.dot(xs, w)))).sum(axis=1).mean()
    fast, slow = compile_both([xs, ys], [cost, sg.grad(cost, w)])
    [fused] = [n for n in fast.fgraph.apply_nodes if type(n.op).__name__ == "CrossentropySoftmaxWithGrad"]
    assert fused.inputs[1] is ys
    for got, want in zip(fast(xv, probabilities), slow(xv, probabilities)):
        np.testing.assert_allclose(got, want, **tol)
    # logits known to be one row (broadcast against the targets' rows): the graph as written
    row = sg.tensor("row", dtype, (1, None))
    cost = -(y * sg.log(sg.nn.softmax(sg.dot(row, w)))).sum(axis=1).mean()
    fast, slow = compile_both([row, y], [cost, sg.grad(cost, w)])
    assert not fired(fast, "crossentropy_of_summed_log_softmax") and "CrossentropySoftmaxGrad" not in ops_of(fast)
    for got, want in zip(fast(xv[:1], probabilities), slow(xv[:1], probabilities)):
        np.testing.assert_allclose(got, want, **tol)


def test_picks_that_are_not_one_per_row_keep_the_log_softmax():
    """x[rows, y] with rows other than arange(len(y)) (repeated rows, a row of another length)
    is not a crossentropy: the log_softmax form stays, with the reference's values."""
    x, y, rows = sg.dmatrix("x"), sg.ivector("y"), sg.ivector("rows")
    cost = -sg.log(sg.nn.softmax(x))[rows, y].sum() - sg.log(sg.nn.softmax(x))[sg.arange(1, y.shape[0]), y[1:]].sum()
    g = sg.grad(cost, x)
    fast, slow = compile_both([x, y, rows], [cost, g])
    assert not fired(fast, "crossentropy_of_picked_log_softmax") and "CrossentropySoftmaxGrad" not in ops_of(fast)
    xv, yv, rv = np.array([[0.1, -0.3, 0.2], [1.0, 2.0, 3.0], [0.5, 0.0, -1.0]]), np.array([0, 2, 1], "int32"), \
        np.array([1, 1, 0], "int32")
    for got, want in zip(fast(xv, yv, rv), slow(xv, yv, rv)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_softmax_gradient_of_a_quotient_needs_the_softmax_axis_unbroadcast():
    x, a = sg.fmatrix("x"), sg.tensor("a", dtype="float32", shape=(None, 1))
    z = sg.nn.softmax(x)
    g = sg.grad((sg.log(z) * a).sum(), x)  # a is broadcast along the softmax axis
    fast, slow = compile_both([x, a], g)
    # (It may fire on the numerator broadcast to x's shape, SumToShape(broadcast_to(a, ...),
    # x.shape), whose length lengths.py proves; summed over a's own column it would be wrong.)
    numerators = [n.inputs[0] for n in fast.fgraph.apply_nodes if str(n.op) == "Sum{axis=(1,), keepdims}"]
    assert all(v.owner is not None and v.owner.op.__class__.__name__ == "SumToShape" for v in numerators)
    xv = np.array([[0.1, -0.3, 0.2], [1.0, 2.0, 3.0]], "float32")
    av = np.array([[2.0], [-1.0]], "float32")
    np.testing.assert_allclose(fast(xv, av), slow(xv, av), rtol=1e-5, atol=1e-6)


def test_gradient_of_a_unary_op_is_not_summed_to_shape():
    x, y = sg.fmatrix("x"), sg.fmatrix("y")
    unary = sg.function([x], sg.grad((sg.log(x) * 2).sum(), x), backend="numpy", optimize=False)
    assert "SumToShape" not in ops_of(unary)
    binary = sg.function([x, y], sg.grad((x * y).sum(), y), backend="numpy")
    assert "SumToShape" in ops_of(binary)  # y may be broadcast: its gradient is summed back
    np.testing.assert_allclose(binary(np.ones((3, 2), "float32"), np.ones((1, 2), "float32")), [[3, 3]])


def test_sum_to_shape_decided_from_the_graph():
    x = sg.dmatrix("x")
    W = sg.shared(np.arange(6.0).reshape(3, 2), "W")
    b = sg.shared(np.array([0.5, -1.0]), "b")
    gx, gb = sg.grad(((sg.dot(x, W) + b) ** 2).sum(), [x, b])
    fast, slow = compile_both([x], [gx, gb])
    assert fired(fast, "sum_to_shape_decided")
    assert "SumToShape" not in ops_of(fast)  # b's gradient is a plain sum over the rows
    xv = np.array([[0.1, 0.2, -0.3], [1.0, 2.0, 3.0]])
    for got, want in zip(fast(xv), slow(xv)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    y = sg.dmatrix("y")  # x may be one row broadcast against y: its gradient must be summed
    kept = sg.function([x, y], sg.grad((x * y).sum(), x), backend="numpy")
    assert not fired(kept, "sum_to_shape_decided")
    np.testing.assert_allclose(kept(np.ones((1, 2)), np.ones((3, 2))), [[3.0, 3.0]])


def test_the_shape_of_a_repeat_or_tile_comes_from_its_input():
    """Repeat and Tile infer their shapes (the gradient of an upsampling asks for its output's
    shape: without it the forward repeats ran again in the backward pass)."""
    x, r = sg.tensor("x", "float64", ndim=4), sg.iscalar("r")
    up = sg.repeat(sg.repeat(x, 2, axis=-1), 2, axis=-2)
    for expr, want in ((up.shape, [2, 3, 8, 10]), (sg.repeat(x, r, axis=1).shape, [2, 9, 4, 5]),
                       (sg.tile(x, (1, 2, 1, 3)).shape, [2, 6, 4, 15])):
        fast = sg.function([x, r], expr, backend="numpy", on_unused_input="ignore")
        assert not {"Repeat", "Tile"} & set(ops_of(fast))
        assert fast(np.ones((2, 3, 4, 5)), np.int32(3)).tolist() == want
    counts = sg.ivector("counts")  # a count per value: the shape needs the repeat
    f = sg.function([x, counts], sg.repeat(x, counts, axis=1).shape, backend="numpy")
    assert "Repeat" in ops_of(f) and f(np.ones((2, 3, 4, 5)), np.array([1, 0, 2], "int32")).tolist() == [2, 3, 4, 5]


def test_the_shape_of_a_convolution_or_pooling_comes_from_its_inputs():
    """Conv2D, MaxPool2D and their gradients infer their shapes: the gradient of sum(conv(x, w) *
    g) with respect to x needs no forward convolution (it asked for its output's batch length,
    and ran it for that), nor does a pooling's."""
    x, w = sg.tensor("x", "float32", shape=(None, 4, 6, 6)), sg.tensor("w", "float32", shape=(2, 4, 3, 3))
    g, h = sg.tensor("g", "float32", shape=(None, 2, 6, 6)), sg.tensor("h", "float32", shape=(None, 4, 3, 3))
    conv = sg.function([x, w, g], sg.grad((sg.nn.conv2d(x, w, padding="same") * g).sum(), [x, w]), backend="numpy")
    pool = sg.function([x, h], sg.grad((sg.nn.max_pool2d(x, 2) * h).sum(), x), backend="numpy")
    assert "Conv2D" not in ops_of(conv) and "MaxPool2D" not in ops_of(pool)
    rng = np.random.default_rng(0)
    xv, wv = rng.normal(size=(3, 4, 6, 6)).astype("float32"), rng.normal(size=(2, 4, 3, 3)).astype("float32")
    gv, hv = rng.normal(size=(3, 2, 6, 6)).astype("float32"), rng.normal(size=(3, 4, 3, 3)).astype("float32")
    written = sg.function([x, w, g], sg.grad((sg.nn.conv2d(x, w, padding="same") * g).sum(), [x, w]),
                          backend="numpy", optimize=False)
    for got, want in zip(conv(xv, wv, gv), written(xv, wv, gv)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert pool(xv, hv).shape == xv.shape
    shapes = sg.function([x, w], [sg.nn.conv2d(x, w[:, :, :2], padding=1).shape, sg.nn.max_pool2d(x, 2).shape],
                         backend="numpy", on_unused_input="ignore")
    assert not {"Conv2D", "MaxPool2D"} & set(ops_of(shapes))
    assert [list(s) for s in shapes(xv, wv)] == [[3, 2, 7, 6], [3, 4, 3, 3]]


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_product_with_broadcast_ones_is_a_broadcast_view(backend):
    """broadcast_to(1, s) * g -> broadcast_to(g, ...): sg.grad of sum(u * g) with respect to u
    multiplied g by ones (an upsampling's backward copied its whole gradient); g smaller than
    u is still broadcast, and ones of another dtype are left alone."""
    x, g = sg.tensor("x", "float32", ndim=4), sg.tensor("g", "float32", ndim=4)
    up = sg.repeat(sg.repeat(x, 2, axis=-1), 2, axis=-2)
    f = sg.function([x, g], sg.grad((up * g).sum(), x), backend=backend)
    assert fired(f, "product_with_broadcast_ones")
    loops = [n for n in f.fgraph.apply_nodes if type(n.op).__name__ in ("Elemwise", "Composite", "Repeat")
             and n.outputs[0].ndim]  # (no product, no repeat: the copies' sums only, as adds of slices)
    assert loops and all(str(n.op) == "Elemwise{add}" for n in loops)
    rng = np.random.default_rng(0)
    xv, gv = rng.normal(size=(2, 3, 4, 5)).astype("float32"), rng.normal(size=(2, 3, 8, 10)).astype("float32")
    np.testing.assert_allclose(f(xv, gv), gv.reshape(2, 3, 4, 2, 5, 2).sum(axis=(3, 5)), rtol=1e-6, atol=1e-6)
    u, row = sg.dmatrix("u"), sg.dvector("row")
    fast, slow = compile_both([u, row], sg.grad((u * row).sum(), u))  # g a row: broadcast to u's shape
    assert fired(fast, "product_with_broadcast_ones")
    assert_same(fast, slow, np.ones((3, 2)), np.array([2.0, -1.0]))
    np.testing.assert_allclose(fast(np.ones((3, 2)), np.array([2.0, -1.0])), [[2.0, -1.0]] * 3)
    v = sg.fmatrix("v")
    mixed = sg.function([v], sg.broadcast_to(np.float64(1), v.shape) * v, backend="numpy")
    assert not fired(mixed, "product_with_broadcast_ones") and mixed(np.ones((2, 2), "float32")).dtype == np.float64


def test_increment_by_a_broadcast_value_broadcasts_it_itself():
    x, y = sg.dmatrix("x"), sg.ivector("y")
    g = sg.grad(x[sg.arange(y.shape[0]), y].mean(), x)  # inc_subtensor of broadcast_to(1/n)
    fast, slow = compile_both([x, y], g)
    assert fired(fast, "increment_by_unbroadcast_value") and "BroadcastTo" not in ops_of(fast)
    args = np.arange(6.0).reshape(3, 2), np.array([1, 0, 1], "int32")
    assert_same(fast, slow, *args)
    np.testing.assert_allclose(fast(*args), [[0, 1 / 3], [1 / 3, 0], [0, 1 / 3]])


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("from_logits", [False, True])
def test_crossentropy_gradient_of_integer_targets(from_logits, backend):
    """No sum over the one-hot rows (it is 1), and a negative target counts from the end in
    the gradient as in the loss (the gradient was 0 for it)."""
    x, t = sg.dmatrix("x"), sg.ivector("t")
    loss = (sg.nn.categorical_crossentropy(x, t, from_logits=True) if from_logits
            else sg.nn.categorical_crossentropy(sg.nn.softmax(x), t)).mean()
    f = sg.function([x, t], [loss, sg.grad(loss, x)], backend=backend)
    if not from_logits:
        assert fired(f, "crossentropy_gradient_through_softmax")
    assert not any(str(n.op).startswith("Sum{axis=(1,), keepdims") for n in f.fgraph.apply_nodes)
    xv = np.array([[0.5, -1.0, 2.0], [1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    sm = np.exp(xv - xv.max(1, keepdims=True)); sm /= sm.sum(1, keepdims=True)
    for given, meant in (([2, 0, 1], [2, 0, 1]), ([-1, -3, 1], [2, 0, 1])):
        lv, gv = f(xv, np.array(given, "int32"))
        np.testing.assert_allclose(lv, -np.log(sm[[0, 1, 2], meant]).mean(), rtol=1e-12)
        np.testing.assert_allclose(gv, (sm - np.eye(3)[meant]) / 3, atol=1e-12)


def test_special_powers():
    x = sg.dvector("x")
    fast, slow = compile_both([x], x ** 2 + x ** 0.5 + x ** -1)
    text = str(names_of(fast))
    assert "square" in text and "sqrt" in text and "reciprocal" in text and "pow" not in text
    assert_same(fast, slow, np.array([0.5, 1.0, 4.0]))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
@pytest.mark.parametrize("power", [3, 4, -2])
def test_small_integer_powers_multiply(power, dtype):
    x = sg.tensor("x", dtype=dtype, ndim=1)
    if dtype == "int32" and power < 0:
        # NumPy refuses negative integer powers of integers: the power stays, and its kernel
        # refuses them too (as reciprocal(square(x)) it gave 1 // x**2: 0s and 1s)
        fast, slow = compile_both([x], x ** power)
        assert "pow" in str(names_of(fast))
        for f in (fast, slow, sg.function([x], x ** power, backend="numpy")):
            with pytest.raises(ValueError, match="negative integer powers"):
                f(np.array([1, 2, 3], "int32"))
        return
    fast, slow = compile_both([x], x ** power)
    assert "pow" not in str(names_of(fast))
    if dtype == "int32":
        values = np.array([-7, -1, 0, 1, 2, 1290], "int32")  # 1290**3 wraps around, as in NumPy
        np.testing.assert_array_equal(fast(values), slow(values))
        return
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 1e30, -3.0], dtype)
    values = np.concatenate([special, np.random.default_rng(0).uniform(-50, 50, 10_000).astype(dtype)])
    with np.errstate(all="ignore"):
        got, want = fast(values), slow(values)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(got[np.isinf(want)], want[np.isinf(want)])  # signs of infinities too
    finite = np.isfinite(want) & (want != 0)
    ulp = np.abs(got[finite] - want[finite]) / np.spacing(np.abs(want[finite]))
    assert ulp.max() <= 2


def test_gemm_from_scaled_dot_plus_bias():
    x, W, b = sg.dmatrix("x"), sg.dmatrix("W"), sg.dvector("b")
    fast, slow = compile_both([x, W, b], 0.5 * sg.dot(x, W) + b)
    assert ops_of(fast) == ["Gemm"] and fast.fgraph.apply_nodes[0].op.alpha == 0.5
    rng = np.random.default_rng(1)
    assert_same(fast, slow, rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=2))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("operands", ["int64", "int32", "float32"])
def test_a_product_promoted_by_its_bias_stays_a_dot_and_an_add(operands, backend):
    """2 * dot(a, b) + c with integer (or float32) a and b and a float64 c: NumPy rounds the
    product in the operands' dtype, then adds c in float64. As a Gemm of the float64 result
    the integer product was scaled and c added in place into it (a casting error), a float32
    one rounded the sum to float32."""
    a, b = sg.tensor("a", operands, (None, None)), sg.tensor("b", operands, (None, None))
    c = sg.dvector("c")
    f = sg.function([a, b, c], 2 * sg.dot(a, b) + c, backend=backend)
    assert "Gemm" not in ops_of(f)
    rng = np.random.default_rng(2)
    av, bv = (rng.normal(size=(5, 4)) * 3).astype(operands), (rng.normal(size=(4, 3)) * 3).astype(operands)
    cv = rng.normal(size=3) + 0.1
    want = 2 * np.dot(av, bv) + cv
    got = f(av, bv, cv)
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)


def test_sum_of_a_product_is_a_dot():
    v = sg.tensor("v", "float64", (5,))
    fast, slow = compile_both([v], (v * v).sum())
    assert ops_of(fast) == ["Dot"]
    assert_same(fast, slow, np.arange(5.0))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_an_outer_product_is_a_broadcast_multiply_fused_with_its_neighbours(backend, rng):
    """A dense layer of one unit: the gradient of its input, g @ W.T with W (n, 1), is the
    outer product of two vectors; both inner lengths known to be 1, it is g * W.T broadcast,
    an elementwise loop that fuses with g's (NumPy's matmul ran it 5x slower than np.dot)."""
    x, y = sg.fmatrix("x"), sg.fmatrix("y")
    w = sg.shared(rng.normal(size=(20, 1)).astype("float32"), "w")
    p = sg.nn.sigmoid(sg.dot(x, w))
    cost = ((p - y) ** 2).mean()
    f = sg.function([x, y], sg.grad(cost, x), backend=backend)
    products = [n for n in f.fgraph.apply_nodes if isinstance(n.op, Dot)]
    assert [n.inputs[1].type.shape for n in products] == [(20, 1)]  # (x @ w; g @ w.T is a loop now)
    xv, yv = rng.normal(size=(64, 20)).astype("float32"), rng.normal(size=(64, 1)).astype("float32")
    pv = 1 / (1 + np.exp(-(xv @ w.get_value())))
    want = ((2 / yv.size) * (pv - yv) * pv * (1 - pv)) @ w.get_value().T
    np.testing.assert_allclose(f(xv, yv), want, rtol=1e-5, atol=1e-7)
    a, b = sg.tensor("a", "float32", (None, None)), sg.tensor("b", "float32", (1, 8))
    g = sg.function([a, b], sg.dot(a, b), backend=backend)  # (a's inner length unknown: stays a product)
    assert "Dot" in ops_of(g)
    with pytest.raises(Exception):
        g(np.ones((4, 3), "float32"), np.ones((1, 8), "float32"))


def test_the_issue_chain_is_one_composite():
    x, w, b = sg.dvector("x"), sg.dvector("w"), sg.dvector("b")
    expr = sg.softplus(x * w - b) * sg.cos(x) + sg.exp(-x ** 2) / (1 + abs(b))
    fast, slow = compile_both([x, w, b], expr)
    assert ops_of(fast) == ["Composite"]
    text = str(fast.fgraph.apply_nodes[0].op)
    for scalar in ("softplus", "mul", "sub", "cos", "exp", "neg", "square", "true_div", "abs", "add"):
        assert scalar in text, scalar
    rng = np.random.default_rng(2)
    assert_same(fast, slow, *[rng.normal(size=6) for _ in range(3)])


def test_a_node_with_several_clients_is_fused_once():
    x = sg.dmatrix("x")
    shared_part = sg.exp(x) * 2
    f = sg.function([x], [shared_part + 1, shared_part * shared_part], backend="numpy")
    assert ops_of(f) == ["Composite"]
    op = f.fgraph.apply_nodes[0].op
    assert len(op.outputs) == 2 and str(op).count("exp") == 1 and len(op.program) == 4
    xv = np.ones((2, 2))
    a, b = f(xv)
    np.testing.assert_allclose(a, 2 * np.e + 1)
    np.testing.assert_allclose(b, (2 * np.e) ** 2)


def test_a_cheap_node_read_by_loops_fused_apart_is_copied_into_each():
    """1 - y read by two loops that cannot be one (their other inputs' lengths may differ): each
    loop computes 1 - y itself, no loop of its own writes it (fusion._copy_for_each_reader)."""
    y, z, w = sg.dvector("y"), sg.dvector("z"), sg.dvector("w")
    one_minus = 1 - y
    fast, slow = compile_both([y, z, w], [one_minus * sg.exp(z), one_minus * sg.log(w)])
    assert fired(fast, "copy_for_each_reader")
    programs = [str(n.op) for n in fast.fgraph.apply_nodes]
    assert len(programs) == 2 and all("sub(1.0, i" in p for p in programs)
    rng = np.random.default_rng(5)
    values = rng.random(4), rng.random(4), rng.random(4) + 0.5
    assert_same(fast, slow, *values)
    np.testing.assert_allclose(sg.function([y, z, w], [one_minus * sg.exp(z), one_minus * sg.log(w)])(*values),
                               slow(*values), rtol=1e-12)  # (numba's loops too)
    np.testing.assert_allclose(fast(values[0], values[1][:1], values[2]), slow(values[0], values[1][:1], values[2]))
    twice = (1 - y) * sg.exp(z) * (1 - y)  # (one reader of 1 - y, twice: one loop computing it once)
    fast, slow = compile_both([y, z, w], [twice, (1 - y) * sg.log(w)])
    (once,) = [str(n.op) for n in fast.fgraph.apply_nodes if "exp" in str(n.op)]
    assert once.count("sub(1.0, i") == 1
    assert_same(fast, slow, *values)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_deviation_from_a_broadcast_mean_is_copied_into_each_reader(backend, rng):
    """x - mean(x, axis, keepdims=True), squared for the variance and divided by the deviation
    (a batch or layer norm): each loop reads x and the mean row, none writes the deviation or
    its square; x - y of two full arrays read twice is still one loop's output."""
    x, y = sg.dmatrix("x"), sg.dmatrix("y")
    for axis in (0, 1):
        d = x - x.mean(axis=axis, keepdims=True)
        norm = d / sg.sqrt((d * d).mean(axis=axis, keepdims=True) + 1e-5)
        fast = sg.function([x], norm, backend=backend)
        slow = sg.function([x], norm, backend="numpy", optimize=False)
        assert fired(fast, "copy_for_each_reader")
        nodes = fast.fgraph.apply_nodes
        assert len(nodes) == 3 and all(len(n.outputs) == 1 for n in nodes)
        assert isinstance(nodes[1].op, CompositeReduce) and "sub(i0, i1)" in str(nodes[1].op)
        assert x in nodes[2].inputs  # (the last loop reads x, not a stored deviation)
        xv = rng.normal(size=(7, 5))
        np.testing.assert_allclose(fast(xv), slow(xv), rtol=1e-12)
    # Of an array a loop makes (a convolution's output plus its bias): the deviation cannot
    # join that loop, whose mean it waits for; it is copied all the same.
    z = sg.exp(x) + y
    d = z - z.mean(axis=0, keepdims=True)
    norm = sg.nn.relu(d / sg.sqrt((d * d).mean(axis=0, keepdims=True) + 1e-5))
    fast = sg.function([x, y], norm, backend=backend)
    slow = sg.function([x, y], norm, backend="numpy", optimize=False)
    assert fired(fast, "copy_for_each_reader") and all(len(n.outputs) == 1 for n in fast.fgraph.apply_nodes)
    xv, yv = rng.normal(size=(7, 5)), rng.normal(size=(7, 5))
    np.testing.assert_allclose(fast(xv, yv), slow(xv, yv), rtol=1e-12)
    both = x - y
    fast = sg.function([x, y], [both * sg.exp(x), both.sum(axis=0)], backend=backend)
    assert not fired(fast, "copy_for_each_reader")


def test_costly_nodes_and_nodes_read_elsewhere_are_not_copied():
    """exp(y) read by two loops is computed once; 1 - y that a product or the caller also
    reads has its array anyway; exp(x) * 2 read twice joins one loop with exp(x) (see
    test_a_node_with_several_clients_is_fused_once)."""
    y, z, w, m = sg.dvector("y"), sg.dvector("z"), sg.dvector("w"), sg.dmatrix("m")
    costly = sg.exp(y)
    fast, _ = compile_both([y, z, w], [costly * sg.exp(z), costly * sg.log(w)])
    assert not fired(fast, "copy_for_each_reader") and len(fast.fgraph.apply_nodes) == 3
    one_minus = 1 - y
    for inputs, outputs in [([y, z, w, m], [one_minus * z, one_minus * w, sg.dot(m, one_minus)]),
                            ([y, z, w], [one_minus * z, one_minus * w, one_minus])]:
        fast, slow = compile_both(inputs, outputs)
        assert not fired(fast, "copy_for_each_reader")
        values = [np.random.default_rng(6).random(s) for s in (3, 3, 3, (2, 3))][:len(inputs)]
        for got, want in zip(fast(*values), slow(*values)):
            np.testing.assert_allclose(got, want, rtol=1e-12)


def test_intermediate_read_by_a_non_elementwise_op_is_fused_as_an_extra_output():
    x, W = sg.dmatrix("x"), sg.dmatrix("W")
    h = sg.tanh(x) * 2
    out = sg.dot(h, W) + h.sum()
    fast, slow = compile_both([x, W], out)
    rng = np.random.default_rng(3)
    assert_same(fast, slow, rng.normal(size=(3, 3)), rng.normal(size=(3, 3)))


def test_reduction_consumes_the_fused_loop():
    x, y = sg.dmatrix("x"), sg.dmatrix("y")
    fast, slow = compile_both([x, y], ((x - y) ** 2).sum(axis=1))
    assert ops_of(fast) == ["CompositeReduce"]
    rng = np.random.default_rng(4)
    assert_same(fast, slow, rng.normal(size=(3, 4)), rng.normal(size=(3, 4)))


def test_a_loop_whose_outputs_are_each_folded_alone_becomes_a_fold_each():
    # a mean squared error and a mean absolute one of p - y: nothing is written, each fold
    # computes p - y itself (and the numba backend folds them in one loop)
    p, y, m = sg.dmatrix("p"), sg.dmatrix("y"), sg.dscalar("m")
    d = p - y
    outputs = [(d ** 2).mean(), abs(d).max(axis=1), (d * m).sum(axis=0)]
    fast, slow = compile_both([p, y, m], outputs)
    assert ops_of(fast) == ["CompositeReduce"] * 3
    assert sorted(len(node.inputs) for node in fast.fgraph.apply_nodes) == [2, 2, 3]
    assert all(len(node.op.composite.program) == 2 for node in fast.fgraph.apply_nodes)
    rng = np.random.default_rng(5)
    values = rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), 0.5
    for got, want in zip(fast(*values), slow(*values)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    # an output read by anything but a fold keeps the loop of several outputs
    fast, slow = compile_both([p, y], [(d ** 2).mean(), abs(d).max(), sg.exp(d)])
    assert sorted(ops_of(fast)) == ["Composite", "Reduce", "Reduce"]
    for got, want in zip(fast(*values[:2]), slow(*values[:2])):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_one_output_of_a_loop_alone_keeps_the_steps_and_inputs_it_reads():
    from symgraph.ops.composite import output_alone
    from symgraph.ops.elemwise import TABLE
    # t0 = i1 * 2; t1 = exp(i0); t2 = t0 + i2; outputs t1, t2
    program = [(TABLE["mul"], (("in", 1), ("const", 2.0, "float64")), "float64"),
               (TABLE["exp"], (("in", 0),), "float64"),
               (TABLE["add"], (("tmp", 0), ("in", 2)), "float64")]
    loop = Composite(program, [1, 2], 3)
    alone, inputs = output_alone(loop, 1)
    assert inputs == [1, 2] and alone.n_inputs == 2 and alone.outputs == (1,)
    assert alone.program == ((TABLE["mul"], (("in", 0), ("const", 2.0, "float64")), "float64"),
                             (TABLE["add"], (("tmp", 0), ("in", 1)), "float64"))
    alone, inputs = output_alone(loop, 0)
    assert inputs == [0] and alone.program == ((TABLE["exp"], (("in", 0),), "float64"),)
    values = [np.array([0.5]), np.array([1.5]), np.array([-1.0])]
    np.testing.assert_allclose(alone.evaluate([values[0]])[0], loop.evaluate(values)[0])
    # a fold of a loop of its own, reading that loop's second output and another input, read
    # through: sum(exp(t2) * m) from the first loop's inputs
    from symgraph.rewrite.fusion import _read_through
    a, b, c, m = (sg.dvector(n) for n in "abcm")
    node = loop.make_node(a, b, c)
    fold = Composite([(TABLE["exp"], (("in", 0),), "float64"), (TABLE["mul"], (("tmp", 0), ("in", 1)), "float64")],
                     [1], 2)
    reader = CompositeReduce(fold, "sum", (0,), False).make_node(node.outputs[1], m)
    composite, inputs = _read_through(node, reader)
    assert inputs == [b, c, m] and len(composite.program) == 4
    value = composite.evaluate([values[1], values[2], np.array([3.0])])[0]
    np.testing.assert_allclose(value, np.exp(1.5 * 2 - 1.0) * 3.0)


def test_a_function_of_the_values_picked_is_computed_after_the_pick():
    p, rows, cols, m = sg.dmatrix("p"), sg.lvector("r"), sg.lvector("c"), sg.dscalar("m")
    rng = np.random.default_rng(6)
    pv, rv, cv = rng.random((5, 4)) + 0.1, np.array([0, 4, 2, 2]), np.array([3, -1, 0, 1])

    def picked_first(output, *values):
        fast, slow = compile_both([p, rows, cols, m], output)
        assert fired(fast, "picked_before_their_function")
        order = [type(n.op).__name__ for n in fast.fgraph.apply_nodes]
        np.testing.assert_allclose(fast(*values), slow(*values), rtol=1e-12)
        return order
    # Theano's negative log-likelihood: the log of the values picked, not of the matrix
    order = picked_first(-sg.mean(sg.log(p)[rows, cols]) + 0 * m, pv, rv, cv, 0.5)
    assert "Subtensor" in order and order.index("Subtensor") < order.index("CompositeReduce")
    picked_first((p * m + 1)[rows, cols], pv, rv, cv, 0.5)  # (single values beside the array)
    picked_first(sg.exp(p * p)[1:, 2] + 0 * m + 0 * sum(v.sum() for v in (rows, cols)), pv, rv, cv, 0.5)
    # left: the function read elsewhere too, two arrays, or one broadcast against the result
    e = sg.log(p)
    for output in ([e[rows, cols], e.sum()], (p * p.T[0])[rows, cols], (p + p[0])[rows, cols]):
        fast = sg.function([p, rows, cols], output, backend="numpy")
        assert not fired(fast, "picked_before_their_function")


def test_inplace_only_where_the_buffer_dies():
    x = sg.dvector("x")
    y = sg.tanh(sg.cumsum(x)) + 1  # cumsum makes a fresh buffer that dies in the fused loop
    f = sg.function([x], y, backend="numpy")
    assert any("inplace" in name for name in names_of(f))
    assert not any("inplace" in name for name in names_of(sg.function([x], sg.tanh(x) + 1, backend="numpy")))
    xv = np.array([0.1, 0.2, 0.3])
    before = xv.copy()
    yv = f(xv)
    np.testing.assert_array_equal(xv, before)  # inputs are never overwritten
    np.testing.assert_allclose(yv, np.tanh(np.cumsum(before)) + 1)
    w = sg.shared(np.ones(3), "w")
    g = sg.function([], sg.exp(w) + 1, backend="numpy")
    g()
    np.testing.assert_array_equal(w.get_value(), np.ones(3))  # shared values neither


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_increment_into_a_dying_buffer_writes_it_in_place(backend):
    x, i = sg.dmatrix("x"), sg.ivector("i")
    g = sg.grad((x[i] ** 2).sum(), x)  # zeros like x, then a scatter-add into them
    f = sg.function([x, i], g, backend=backend)
    (inc,) = [n for n in f.fgraph.apply_nodes if "IncSubtensor" in str(n.op)]
    assert inc.op.inplace and str(inc.op).endswith(",inplace}")
    from symgraph.backends import numba_cpu
    run = inc.op.perform if backend == "numpy" else (lambda node, ins: numba_cpu.make_thunk(node)(ins))
    zeros = np.zeros((3, 2))
    (written,) = run(inc, [zeros, np.ones((3, 2)), np.array([2, 0, 2], "int32")])
    assert written is zeros  # no copy of the buffer it was given
    np.testing.assert_array_equal(written, [[1, 1], [0, 0], [2, 2]])
    xv = np.arange(6.0).reshape(3, 2)
    np.testing.assert_allclose(f(xv, np.array([2, 0, 2], "int32")), [[0, 2], [0, 0], [16, 20]])
    kept = sg.function([x, i], [sg.inc_subtensor(x[i], 1.0), x * 2], backend=backend)  # x lives on
    assert not any(getattr(n.op, "inplace", None) is True for n in kept.fgraph.apply_nodes
                   if "IncSubtensor" in str(n.op))
    out, twice = kept(xv, np.array([1], "int32"))
    np.testing.assert_allclose(twice, xv * 2)
    np.testing.assert_allclose(out, xv + [[0, 0], [1, 1], [0, 0]])


def test_user_graph_is_not_mutated():
    x = sg.dmatrix("x")
    y = sg.log(1 + sg.exp(x * 1)) + sg.dot(x, x.T)
    before = sg.debugprint(y, file="str")
    owners = [v.owner for v in sg.graph.ancestors([y])]
    sg.function([x], y, backend="numpy")
    assert sg.debugprint(y, file="str") == before
    assert [v.owner for v in sg.graph.ancestors([y])] == owners


def test_optimize_levels_and_log():
    x = sg.dvector("x")
    expr = sg.log(1 + sg.exp(x * 1))
    none = sg.function([x], expr, optimize=False, backend="numpy")
    fast_compile = sg.function([x], expr, optimize="fast_compile", backend="numpy")
    full = sg.function([x], expr, backend="numpy")
    assert len(none.rewrite_log) == 0 and len(none.fgraph.apply_nodes) == 4
    assert fired(fast_compile, "algebraic_identities") and not fired(fast_compile, "stable_logs")
    assert fired(full, "stable_logs") and "stable_logs" in full.rewrite_log.summary()
    assert [str(n.op) for n in full.fgraph.apply_nodes] == ["Elemwise{softplus}"]
    with pytest.raises(ValueError):
        sg.function([x], expr, optimize="turbo")


shapes2 = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


@settings(**SETTINGS)
@given(st.data())
def test_optimized_equals_unoptimized_on_random_elementwise_graphs(data):
    shape = data.draw(shapes2)
    other = tuple(1 if data.draw(st.booleans()) else s for s in shape)
    av = data.draw(hnp.arrays("float64", shape, elements=floats))
    bv = data.draw(hnp.arrays("float64", other, elements=floats))
    a, b = sg.tensor("a", "float64", (None,) * len(shape)), sg.tensor("b", "float64", (None,) * len(other))
    pool = [a, b]
    for _ in range(data.draw(st.integers(1, 6))):
        fn = data.draw(st.sampled_from([sg.add, sg.mul, sg.sub, sg.maximum,
                                        lambda p, q: sg.tanh(p) * q, lambda p, q: sg.log(1 + sg.exp(p)) - q,
                                        lambda p, q: p ** 2 + 0 * q, lambda p, q: (p * 1 + q).sum(axis=-1, keepdims=True)]))
        pool.append(fn(data.draw(st.sampled_from(pool)), data.draw(st.sampled_from(pool))))
    outputs = pool[-2:]
    fast = sg.function([a, b], outputs, backend="numpy", on_unused_input="ignore")
    slow = sg.function([a, b], outputs, backend="numpy", optimize=False, on_unused_input="ignore")
    for u, v in zip(fast(av, bv), slow(av, bv)):
        np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-10)


def test_groups_that_depend_on_each_other_both_ways_are_split():
    from symgraph.rewrite.fgraph import FunctionGraph
    from symgraph.rewrite.fusion import _break_cycles
    x = sg.dvector("x")
    a, b = sg.exp(x), sg.sin(x)
    c, d = a * b, a + b
    fg = FunctionGraph([x], [c, d])
    node = {str(n.op): n for n in fg.apply_nodes}
    ea, sb, mc, ad = node["Elemwise{exp}"], node["Elemwise{sin}"], node["Elemwise{mul}"], node["Elemwise{add}"]
    groups = [(ad, {ea, ad}), (mc, {sb, mc})]  # exp->mul and sin->add: a cycle between the groups
    assert len(_break_cycles(fg.apply_nodes, groups)) == 1
    assert len(_break_cycles(fg.apply_nodes, [(ad, {ea, ad})])) == 1


def test_nodes_a_rule_makes_stay_in_the_scope_of_what_they_replace():
    x, t = sg.fmatrix("x"), sg.fmatrix("t")
    with sg.name_scope("head"):
        loss = sg.nn.categorical_crossentropy(sg.nn.softmax(x), t).mean()
    f = sg.function([x, t], sg.grad(loss, x), backend="numpy")
    assert fired(f, "crossentropy_gradient_through_softmax")
    made = [n for n in f.fgraph.apply_nodes if type(n.op).__name__ == "CrossentropySoftmaxGrad"]  # by the rule
    assert made and all(n.outputs[0].scope.startswith("head") for n in made)


def test_the_shape_of_a_flattening_reshape_comes_from_its_input():
    """reshape((x.shape[0], -1)) (Keras's Flatten): its shape is (x.shape[0], size / x.shape[0])
    without reshaping, so a training step's shape arithmetic runs once per input shape. An
    entry that is not a length might be the -1 itself at run time: then only the reshape knows."""
    from symgraph.ops.shape import Reshape
    x = sg.ftensor4("x")
    flat = x.reshape((x.shape[0], -1))
    f = sg.function([x], flat.shape, backend="numpy")
    assert not any(isinstance(n.op, Reshape) for n in f.fgraph.apply_nodes)
    np.testing.assert_array_equal(f(np.zeros((5, 3, 4, 2), "float32")), [5, 24])
    n = sg.lscalar("n")
    g = sg.function([x, n], x.reshape((n, -1)).shape, backend="numpy")
    assert any(isinstance(node.op, Reshape) for node in g.fgraph.apply_nodes)
    np.testing.assert_array_equal(g(np.zeros((5, 3, 4, 2), "float32"), 10), [10, 12])


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_softmax_of_max_shifted_values_drops_the_shift(backend):
    """softmax(x - max(x, axis, keepdims=True)) -> softmax(x): the op shifts by the maximum
    itself, so the result is the same bits (rows with inf, -inf and NaN too) without the extra
    max and subtraction. A maximum over another axis, or of another value, stays."""
    x, y = sg.fmatrix("x"), sg.fmatrix("y")
    value = (np.random.default_rng(1).standard_normal((300, 100)) * 20).astype("float32")
    value[1, 2], value[3], value[4, 0] = np.inf, -np.inf, np.nan
    for op in (sg.nn.softmax, sg.nn.log_softmax):
        shifted = op(x - x.max(axis=1, keepdims=True))
        f = sg.function([x], shifted, backend=backend)
        assert [type(n.op) for n in f.fgraph.apply_nodes] == [type(op(x).owner.op)]
        reference = sg.function([x], shifted, backend=backend, optimize=False)
        np.testing.assert_array_equal(f(value), reference(value))
        for kept in (op(x - x.max(axis=0, keepdims=True)), op(x - y.max(axis=1, keepdims=True))):
            g = sg.function([x, y], kept, backend=backend, on_unused_input="ignore")
            assert any(isinstance(n.op, sg.ops.reduce.Reduce) for n in g.fgraph.apply_nodes)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_hand_written_log_softmax_is_one_op(backend):
    """The stable log-softmax written out (y = x - max(x); y - log(sum(exp(y)))) and TF1's
    x - reduce_logsumexp(x, keepdims=True) become one LogSoftmax node with its values (rows
    with inf, -inf and NaN too) and, on finite ones, those as written, along either axis; a logsumexp of another value or
    without keepdims stays."""
    x, y = sg.fmatrix("x"), sg.fmatrix("y")
    value = (np.random.default_rng(2).standard_normal((300, 100)) * 20).astype("float32")
    value[1, 2], value[3], value[4, 0] = np.inf, -np.inf, np.nan
    shifted = x - x.max(axis=1, keepdims=True)
    lse = sg.log(sg.exp(x).sum(axis=1, keepdims=True))
    by_columns = x - sg.log(sg.exp(x).sum(axis=0, keepdims=True))
    for written, axis in ((shifted - sg.log(sg.exp(shifted).sum(axis=1, keepdims=True)), 1), (x - lse, 1),
                          (by_columns, 0)):
        f = sg.function([x], written, backend=backend)
        if axis == 1:
            assert [(type(n.op), n.op.axis) for n in f.fgraph.apply_nodes] == [(LogSoftmax, axis)]
        else:  # the LogSoftmax a column's became is written out again, shifted by the maximum
            assert fired(f, "log_softmax_of_logsumexp") and fired(f, "softmax_along_a_leading_axis")
        as_written = sg.function([x], written, backend="numpy", optimize=False)
        op = sg.function([x], sg.nn.log_softmax(x, axis), backend="numpy")
        np.testing.assert_allclose(f(value), op(value), rtol=1e-5, atol=1e-5)
        finite = value[5:]  # (the unshifted form as written overflows to inf - inf where x is inf)
        np.testing.assert_allclose(f(finite), as_written(finite), rtol=1e-5, atol=1e-5)
    for kept in (x - sg.log(sg.exp(y).sum(axis=1, keepdims=True)), x.sum(axis=1) - sg.log(sg.exp(x).sum(axis=1))):
        g = sg.function([x, y], kept, backend=backend, on_unused_input="ignore")
        assert LogSoftmax not in [type(n.op) for n in g.fgraph.apply_nodes]


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_adams_three_updates_are_one_loop_with_three_outputs(backend, rng):
    """m, v and the weight's new values are each an update (read outside the group) and read
    different inputs; the graph shows they all have the weight's shape (lengths.py), so they
    are one Composite with three outputs (one pass where three were), with the same values."""
    m, v, p = (sg.shared(np.abs(rng.normal(size=(6, 5))), name) for name in "mvp")
    g = sg.dmatrix("g")
    m_new = 0.9 * m + 0.1 * g
    v_new = 0.999 * v + 0.001 * g * g
    updates = [(m, m_new), (v, v_new), (p, p - 0.01 * m_new / (sg.sqrt(v_new) + 1e-7))]
    f = sg.function([g], [], updates=updates, backend=backend)
    composites = [n for n in f.fgraph.apply_nodes if isinstance(n.op, Composite)]
    assert len(f.fgraph.apply_nodes) == 1 and len(composites[0].outputs) == 3, names_of(f)
    gv = np.abs(rng.normal(size=(6, 5)))
    want_m, want_v = 0.9 * m.get_value() + 0.1 * gv, 0.999 * v.get_value() + 0.001 * gv * gv
    want_p = p.get_value() - 0.01 * want_m / (np.sqrt(want_v) + 1e-7)
    f(gv)
    for var, want in ((m, want_m), (v, want_v), (p, want_p)):
        np.testing.assert_allclose(var.get_value(), want, rtol=1e-13)
    a = sg.dmatrix("a")  # a member that may be smaller (a row broadcast) stays out: its own loop
    h = sg.function([a, g], [sg.exp(a), sg.exp(a) + g], backend=backend)
    assert len(h.fgraph.apply_nodes) == 2
    av = rng.normal(size=(1, 5))
    got = h(av, gv)
    assert got[0].shape == (1, 5)
    np.testing.assert_allclose(got[1], np.exp(av) + gv)


def test_negation_comes_out_of_sums_and_means(rng):
    """sum(-x) -> -sum(x) and mean likewise, bit for bit; Theano's -(-crossentropy).mean() is
    then one mean of the crossentropy, with no negation left."""
    x = sg.fmatrix("x")
    outs = [(-x).sum(), (-x).mean(axis=0), -((-x).mean(axis=1))]
    fast, slow = compile_both([x], outs)
    assert fired(fast, "negation_out_of_a_sum")
    xv = rng.normal(size=(5, 7)).astype("float32")
    for got, want in zip(fast(xv), slow(xv)):
        np.testing.assert_array_equal(got, want)
    assert not any(str(n.op) == "Elemwise{neg}" for n in fast.fgraph.apply_nodes if n.outputs[0].ndim == 1)
    y = sg.ivector("y")
    cost = -sg.log(sg.nn.softmax(x))[sg.arange(y.shape[0]), y].mean()
    f = sg.function([x, y], cost, backend="numpy")
    assert [str(n.op) for n in f.fgraph.apply_nodes] == ["CrossentropySoftmax", "Mean{axis=(0,)}"]


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_negation_comes_out_of_a_sum_to_a_shape(backend, rng):
    """SumToShape(-g, s) -> -SumToShape(g, s), bit for bit: the gradient of x - b to a b whose
    shape beside x's the graph does not know (a layer norm's mean) no longer makes its loop
    write -g beside g: one full-size output, the negation on the summed column."""
    x, t = sg.dmatrix("x"), sg.dmatrix("t")
    d = x - x.mean(axis=1, keepdims=True)
    y = d / sg.sqrt((d * d).mean(axis=1, keepdims=True) + 1e-5)
    fast, slow = (sg.function([x, t], sg.grad((y * t).sum(), x), backend=backend, optimize=o) for o in (True, False))
    assert fired(fast, "negation_out_of_a_sum_to_shape")
    loops = [n for n in fast.fgraph.apply_nodes if type(n.op).__name__ == "Composite" and n.outputs[0].ndim == 2
             and not any(s == 1 for s in n.outputs[0].type.shape)]
    assert all(len(n.outputs) == 1 for n in loops) and not any(
        "neg" in str(n.op) for n in loops if n.inputs and all(v.type.shape[-1] != 1 for v in n.inputs if v.ndim == 2))
    for xv, tv in ((rng.normal(size=(6, 5)), rng.normal(size=(6, 5))), (rng.normal(size=(6, 5)), rng.normal(size=(1, 5)))):
        np.testing.assert_allclose(fast(xv, tv), slow(xv, tv), rtol=1e-10, atol=1e-12)
    # A target of a known 1 and a length decided at run time (the sum is the SumToShape's own):
    # moved and exact; an integer's negation is left where it is
    g, n = sg.dmatrix("g"), sg.lscalar("n")
    target = sg.stack([1, n])
    h = sg.function([g, n], SumToShape()(-g, target), backend=backend)
    assert fired(h, "negation_out_of_a_sum_to_shape") and str(h.fgraph.toposort()[-1].op) == "Elemwise{neg}"
    gv = rng.normal(size=(4, 3))
    np.testing.assert_array_equal(h(gv, 3), -gv.sum(axis=0, keepdims=True))
    i = sg.lmatrix("i")
    ints = sg.function([i, n], SumToShape()(-i, target), backend=backend)
    assert not fired(ints, "negation_out_of_a_sum_to_shape")
    np.testing.assert_array_equal(ints(np.arange(12).reshape(4, 3), 3), -np.arange(12).reshape(4, 3).sum(0, keepdims=True))
    s = sg.tensor("s", "int64", (2,))  # (of no known 1: the sum may be g itself, left)
    assert not fired(sg.function([g, s], SumToShape()(-g, s), backend=backend), "negation_out_of_a_sum_to_shape")
    # A sum that may be g itself (a slice's gradient): -g stays in g's loop, no loop of its own
    k = sg.function([x], sg.grad(((x[:, 1:] - x[:, :-1]) ** 2).sum(), x), backend=backend)
    assert not fired(k, "negation_out_of_a_sum_to_shape") and "Elemwise{neg}" not in names_of(k)


def test_a_keras_classifier_step_sums_no_gradient_back_to_its_own_shape(rng):
    """The softmax crossentropy's one-pass gradient has its logits' shape (lengths.py knows
    it), so the gradient of x @ w + b reaches the product without a SumToShape."""
    x, y = sg.fmatrix("x"), sg.ivector("y")
    w, b = sg.shared(rng.normal(size=(4, 3)).astype("float32")), sg.shared(np.zeros(3, "float32"))
    cost = sg.nn.categorical_crossentropy(sg.nn.softmax(sg.dot(x, w) + b), y).mean()
    fast = sg.function([x, y], sg.grad(cost, [w, b]), backend="numpy")
    slow = sg.function([x, y], sg.grad(cost, [w, b]), backend="numpy", optimize=False)
    assert "CrossentropySoftmaxGrad" in ops_of(fast) and "SumToShape" not in ops_of(fast)
    xv, yv = rng.normal(size=(5, 4)).astype("float32"), np.array([0, 2, 1, 1, 0], "int32")
    for got, want in zip(fast(xv, yv), slow(xv, yv)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_softmax_along_a_leading_axis_is_written_out_as_folds_and_one_loop(backend, rng):
    """softmax and log_softmax along an axis other than the last (a batch column, NCHW
    channels) become max and sum folds along it and elementwise steps, with the op's values,
    rows of inf, -inf and NaN included, and its gradient; along the last axis the op stays
    (its row loop)."""
    x, t = sg.fmatrix("x"), sg.ftensor4("t")
    value = (rng.standard_normal((300, 40)) * 20).astype("float32")
    value[1, 2], value[:, 3], value[4, 0] = np.inf, -np.inf, np.nan
    images = rng.standard_normal((4, 5, 6, 7)).astype("float32")
    for op in (sg.nn.softmax, sg.nn.log_softmax):
        for var, v, axis in ((x, value, 0), (t, images, 1), (t, images, -3)):
            f = sg.function([var], op(var, axis), backend=backend)
            ops = [type(n.op) for n in f.fgraph.apply_nodes]
            assert Softmax not in ops and LogSoftmax not in ops
            want = sg.function([var], op(var, axis), backend="numpy", optimize=False)(v)
            np.testing.assert_allclose(f(v), want, rtol=2e-6, atol=1e-6)
            assert np.array_equal(np.isnan(f(v)), np.isnan(want))
        kept = sg.function([x], op(x, 1), backend=backend)
        assert type(op(x, 1).owner.op) in [type(n.op) for n in kept.fgraph.apply_nodes]
    w = sg.fmatrix("w")
    cost = (sg.nn.softmax(x, axis=0) * w).sum()
    grads = [sg.function([x, w], sg.grad(cost, x), backend=backend, optimize=level) for level in (True, False)]
    weights = rng.standard_normal(value[5:].shape).astype("float32")
    np.testing.assert_allclose(grads[0](value[5:], weights), grads[1](value[5:], weights), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("pool", [dict(), dict(stride=1), dict(padding="same", pool_size=3, stride=2)])
@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.exhaustive
def test_a_conv_relu_pool_block_pools_before_relu_with_the_same_values_and_gradients(pool, backend, rng):
    """max_pool2d(relu(x)) -> relu(max_pool2d(x)) and relu's gradient moved after the
    pooling's: relu and its mask run on the pooled values only, and the block's loss and
    gradients stay those of the graph as written, through ties (the first maximum takes the
    gradient), windows of values <= 0, a NaN, overlapping and padded windows."""
    x, W = sg.dtensor4("x"), sg.dtensor4("W")
    size = pool.pop("pool_size", 2)
    h = sg.nn.max_pool2d(sg.nn.relu(sg.nn.conv2d(x, W, padding=1)), size, **pool)
    cost = ((h + h * h) * sg.arange(1.0, h.shape[-1] + 1)).sum()  # (a gradient where h is 0 too)
    outputs = [h, *sg.grad(cost, [x, W])]
    fast = sg.function([x, W], outputs, backend=backend)
    slow = sg.function([x, W], outputs, backend="numpy", optimize=False)
    assert fired(fast, "pool_before_relu") and fired(fast, "pool_gradient_before_relu")
    relus = [n for n in fast.fgraph.apply_nodes if "relu" in str(n.op)]
    assert relus and all(n.inputs[0].owner is not None and type(n.inputs[0].owner.op).__name__ == "MaxPool2D"
                         for n in relus)  # (fused or not, relu reads the pooled values only)
    xv = np.round(rng.normal(size=(2, 1, 7, 8)), 1)  # ties
    xv[0, 0, :3, :3] = -1.0                           # windows of values <= 0 after the conv
    xv[1, 0, 4, 5] = np.nan
    wv = np.round(rng.normal(size=(3, 1, 3, 3)), 1)
    wv[:, :, 1, 1] = 1.0
    for got, want in zip(fast(xv, wv), slow(xv, wv)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("pool", [dict(), dict(stride=1), dict(padding="same", pool_size=3, stride=2)])
@pytest.mark.parametrize("bias", ["vector", "4-d"])
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_conv_layers_bias_is_added_after_its_pooling_with_the_same_values_and_gradients(pool, bias, backend, rng):
    """max_pool2d(relu(conv(x) + b)) -> relu(max_pool2d(conv(x)) + b), the pooling's gradient
    taken of conv(x), and the bias's gradient summed over the pooled gradient: the add and the
    sum read the pooled values only; the loss and gradients are the graph's as written (ties,
    a NaN, overlapping and padded windows)."""
    x, W = sg.dtensor4("x"), sg.tensor("W", "float64", shape=(3, 1, 3, 3))  # (a layer's: its channels known)
    b = sg.tensor("b", "float64", shape=(3,) if bias == "vector" else (1, 3, 1, 1))
    b4 = b.dimshuffle("x", 0, "x", "x") if bias == "vector" else b
    size = pool.pop("pool_size", 2)
    h = sg.nn.max_pool2d(sg.nn.relu(sg.nn.conv2d(x, W, padding=1) + b4), size, **pool)
    cost = ((h + h * h) * sg.arange(1.0, h.shape[-1] + 1)).sum()
    outputs = [h, *sg.grad(cost, [x, W, b])]
    fast = sg.function([x, W, b], outputs, backend=backend)
    slow = sg.function([x, W, b], outputs, backend="numpy", optimize=False)
    for rule in ("bias_after_pool", "pool_gradient_without_bias", "sum_of_a_pool_gradient"):
        assert fired(fast, rule), rule
    pooled = [n for n in fast.fgraph.apply_nodes if type(n.op).__name__ in ("MaxPool2D", "MaxPool2DGrad")]
    assert pooled and all(n.inputs[0].owner is not None and type(n.inputs[0].owner.op).__name__ == "Conv2D"
                          for n in pooled)  # (no y + b over the whole image)
    xv = np.round(rng.normal(size=(2, 1, 7, 8)), 1)
    xv[1, 0, 4, 5] = np.nan
    wv = np.round(rng.normal(size=(3, 1, 3, 3)), 1)
    bv = rng.normal(size=(3,) if bias == "vector" else (1, 3, 1, 1))
    for got, want in zip(fast(xv, wv, bv), slow(xv, wv, bv)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, equal_nan=True)


def test_a_bias_that_varies_within_the_windows_stays_before_the_pooling():
    x, b = sg.dtensor4("x"), sg.tensor("b", "float64", shape=(1, 1, 4, 1))
    unknown = sg.tensor("c", "float64", shape=(1, None, 1, 1))  # (its channels might be x's, or x's 1)
    for bias in (b, unknown):
        h = sg.nn.max_pool2d(x + bias, 2)
        f = sg.function([x, bias], [h, sg.grad(h.sum(), x)], backend="numpy")
        assert not fired(f, "bias_after_pool") and not fired(f, "pool_gradient_without_bias")


def test_pooling_a_relu_read_elsewhere_keeps_its_gradient_as_written():
    """relu's output also read by another node: the forward still pools first (relu(x) stays
    for that reader), and relu's gradient, which multiplies both paths' gradients summed, not
    the pooling's alone, stays as written."""
    x = sg.dtensor4("x")
    r = sg.nn.relu(x)
    h = sg.nn.max_pool2d(r, 2)
    cost = (h * h).sum() + (r * r).sum()
    fast, slow = compile_both([x], [cost, sg.grad(cost, x)])
    xv = np.random.default_rng(3).normal(size=(1, 2, 4, 4))
    for got, want in zip(fast(xv), slow(xv)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_pooling_before_relu_in_a_prediction_only_where_relu_would_be_a_pass_of_its_own():
    """Without a gradient, relu(conv(x) + b) fuses into the bias's loop for nothing: the
    pooling stays after it. relu(conv(x)) alone is a pass over every value: pooled first."""
    x, w, b = sg.dtensor4("x"), sg.dtensor4("w"), sg.dtensor4("b")
    with_bias = sg.function([x, w, b], sg.nn.max_pool2d(sg.nn.relu(sg.nn.conv2d(x, w) + b), 2), backend="numpy")
    without = sg.function([x, w], sg.nn.max_pool2d(sg.nn.relu(sg.nn.conv2d(x, w)), 2), backend="numpy")
    assert not fired(with_bias, "pool_before_relu") and fired(without, "pool_before_relu")
    rng = np.random.default_rng(4)
    xv, wv, bv = rng.normal(size=(2, 1, 6, 6)), rng.normal(size=(3, 1, 3, 3)), rng.normal(size=(1, 3, 1, 1))
    slow = sg.function([x, w], sg.nn.max_pool2d(sg.nn.relu(sg.nn.conv2d(x, w)), 2), backend="numpy", optimize=False)
    np.testing.assert_allclose(without(xv, wv), slow(xv, wv), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.exhaustive
def test_reductions_over_short_known_axes_are_folds_of_slices(backend, dtype):
    """x.reshape(n, c, h, 2, w, 2).mean(axis=(3, 5)) (a 2x2 pooling written by hand) -> the
    mean of four strided slices, one elementwise loop; every kind, keepdims, NaN as NumPy's.
    Longer or unknown axes, integers and whole reductions keep the reduction, and so does a
    float64 sum along rows (the CPU's row loop is faster there)."""
    rng = np.random.default_rng(0)
    value = rng.normal(size=(3, 4, 6, 8)).astype(dtype)
    value[1, 2, 3, 4] = np.nan
    y = sg.tensor("y", dtype, shape=(None, 4, 6, 8))
    split = y.reshape((-1, 4, 3, 2, 4, 2))
    cases = [split.sum(axis=(3, 5)), split.mean(axis=(3, 5)), split.max(axis=(3, 5), keepdims=True),
             split.min(axis=3), split.prod(axis=5, keepdims=True), y.reshape((-1, 4, 6, 4, 2)).max(axis=-1)]
    f = sg.function([y], cases, backend=backend)
    assert fired(f, "short_axes_folded_as_slices") and "Reduce" not in ops_of(f)
    split_value = value.reshape(-1, 4, 3, 2, 4, 2)
    wants = [split_value.sum(axis=(3, 5)), split_value.mean(axis=(3, 5)), split_value.max(axis=(3, 5), keepdims=True),
             split_value.min(axis=3), split_value.prod(axis=5, keepdims=True),
             value.reshape(-1, 4, 6, 4, 2).max(axis=-1)]
    for got, want in zip(f(value), wants):
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == "float32" else 1e-14)
    rows = sg.tensor("r", dtype, shape=(None, 2))
    kept = [y.sum(axis=2), y.sum(axis=(2, 3)), sg.tensor("a", dtype, shape=(2, 2)).sum(),
            sg.tensor("i", "int32", shape=(None, 2)).sum(axis=1), rows.sum(axis=1)]
    for expr in kept:
        g = sg.function([v for v in graph_inputs([expr]) if not isinstance(v, Constant)], expr, backend=backend)
        assert fired(g, "short_axes_folded_as_slices") == (dtype == "float32" and expr is kept[-1])


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_an_upsamplings_two_sums_are_one_fold_of_four_slices(backend):
    """sg.grad of a 2x upsampling (two repeats) sums each repeat's copies: two sums of reshapes,
    merged into one sum of a finer reshape where the lengths are known (a layer's), which
    specialize writes as one elementwise loop over four strided slices."""
    x, g = sg.tensor("x", "float32", shape=(None, 3, 4, 5)), sg.tensor("g", "float32", shape=(None, 3, 8, 10))
    up = sg.repeat(sg.repeat(x, 2, axis=-1), 2, axis=-2)
    f = sg.function([x, g], sg.grad((up * g).sum(), x), backend=backend)
    assert fired(f, "split_folds_merged") and "Reduce" not in ops_of(f)
    assert [str(n.op) for n in f.fgraph.apply_nodes if type(n.op).__name__ in ("Elemwise", "Composite")
            and n.outputs[0].ndim] == ["Composite{add(add(add(i0, i1), i2), i3)}"]  # (and shape arithmetic)
    gv = np.random.default_rng(0).normal(size=(2, 3, 8, 10)).astype("float32")
    np.testing.assert_allclose(f(np.zeros((2, 3, 4, 5), "float32"), gv), gv.reshape(2, 3, 4, 2, 5, 2).sum(axis=(3, 5)),
                               rtol=1e-6, atol=1e-6)
    # max of max merges too; a sum read twice, or a reshape that does not only split, stays
    y = sg.tensor("y", "float64", shape=(None, 6, 8))
    inner = y.reshape((-1, 3, 2, 8)).max(axis=2)
    both = sg.function([y], inner.reshape((-1, 3, 4, 2)).max(axis=3), backend=backend)
    assert fired(both, "split_folds_merged")
    yv = np.random.default_rng(1).normal(size=(5, 6, 8))
    np.testing.assert_array_equal(both(yv), yv.reshape(5, 3, 2, 4, 2).max(axis=(2, 4)))
    read_twice = sg.function([y], [inner.reshape((-1, 3, 4, 2)).max(axis=3), inner], backend=backend)
    regrouped = sg.function([y], inner.reshape((-1, 4, 6)).max(axis=2), backend=backend)
    assert not fired(read_twice, "split_folds_merged") and not fired(regrouped, "split_folds_merged")
    np.testing.assert_array_equal(regrouped(yv), yv.reshape(5, 3, 2, 8).max(axis=2).reshape(5, 4, 6).max(axis=2))


def test_the_axes_a_reshape_splits_into():
    from symgraph.rewrite.canonicalize import _splits
    assert _splits((None, 8, 14, 28), (None, 8, 14, 14, 2)) == [[0], [1], [2], [3, 4]]
    assert _splits((6, 1, 4), (2, 3, 1, 2, 2)) == [[0, 1], [2], [3, 4]]
    assert _splits((None, 8), (None, 2, 4)) == [[0], [1, 2]]
    for before, after in [((6, 4), (4, 6)), ((None, 8), (2, None, 4)), ((None, None), (None, None)), ((4,), (4, 1)),
                          ((8,), (3, 3))]:
        assert _splits(before, after) is None, (before, after)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_trailing_whole_axes_of_an_index_are_dropped(backend):
    """x[idx, :] -> x[idx] and x[1:, :, :] -> x[1:] (the same values and views); x[:, :] is x
    (whole_slices_dropped, below)."""
    x, i = sg.dtensor3("x"), sg.lvector("i")
    f = sg.function([x, i], [x[i, :], x[1:, :, :], x[:, :], x[:, i, :]], backend=backend)
    assert fired(f, "trailing_whole_axes_dropped")
    specs = sorted(str(n.op) for n in f.fgraph.apply_nodes if type(n.op).__name__ == "Subtensor")
    assert specs == ["Subtensor{::, array}", "Subtensor{?::}", "Subtensor{array}"]  # (?: 1, an input)
    xv, iv = np.arange(60.0).reshape(3, 4, 5), np.array([2, 0, -1])
    for got, want in zip(f(xv, iv), [xv[iv, :], xv[1:, :, :], xv[:, :], xv[:, iv, :]]):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_slices_that_pick_a_whole_axis_are_dropped(backend):
    """x[:len(x)], x[0:len(x):1], m[:, :9] of a static 4 columns: x itself (Theano's
    local_useless_slice); a stop of another array's length, or one less, is kept."""
    x, y = sg.dmatrix("x"), sg.dmatrix("y")
    m = sg.tensor("m", "float64", (None, 4))
    dropped = [x[:x.shape[0]], x[0:x.shape[0]:1, :x.shape[1]], m[:, :9]]
    kept = [x[:y.shape[0]], x[:x.shape[0] - 1], x[1:x.shape[0]], x[:x.shape[0]:2]]
    f = sg.function([x, y, m], dropped + kept, backend=backend)
    assert fired(f, "whole_slices_dropped")
    slices = [n for n in f.fgraph.apply_nodes if type(n.op).__name__ == "Subtensor" and n.op.spec != ("int",)]
    assert len(slices) == len(kept)  # (the others: shape entries, x.shape[0])
    xv, yv, mv = np.arange(12.0).reshape(4, 3), np.zeros((2, 3)), np.ones((5, 4))
    for got, want in zip(f(xv, yv, mv), [xv, xv, mv, xv[:2], xv[:3], xv[1:], xv[::2]]):
        np.testing.assert_array_equal(got, want)


def test_a_scan_over_a_whole_sequence_has_no_zero_filled_gradient_copy():
    """The gradient of the scan's slice of each sequence to its number of steps (its own
    length here) was a zero-filled sequence with the steps' gradients set into it."""
    x, h0, W = sg.dtensor3("x"), sg.dmatrix("h0"), sg.dmatrix("W")
    hs, _ = sg.scan(lambda x_t, h: sg.tanh(x_t + sg.dot(h, W)), sequences=x, outputs_info=h0)
    grads = sg.grad((hs ** 2).sum(), [x, W])
    f = sg.function([x, h0, W], grads)
    assert fired(f, "whole_region_written") and "IncSubtensor" not in ops_of(f)
    rng = np.random.default_rng(0)
    values = rng.normal(size=(5, 2, 3)), rng.normal(size=(2, 3)), rng.normal(size=(3, 3)) * 0.5
    for got, want in zip(f(*values), sg.function([x, h0, W], grads, optimize=False, backend="numpy")(*values)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    y = sg.dtensor3("y")  # (an increment of another array: x + y; set: y broadcast)
    f = sg.function([x, y], [sg.inc_subtensor(x[:x.shape[0]], y), sg.set_subtensor(x[:, :], y[:1])])
    assert "IncSubtensor" not in ops_of(f)
    xv, yv = rng.normal(size=(3, 2, 2)), rng.normal(size=(3, 2, 2))
    np.testing.assert_allclose(f(xv, yv)[0], xv + yv)
    np.testing.assert_allclose(f(xv, yv)[1], np.broadcast_to(yv[:1], xv.shape))
    with pytest.raises(ValueError):
        f(xv, yv[:, :1, :1].repeat(3, axis=1))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_transpose_meets_the_one_it_undoes_through_elementwise_ops(backend, rng):
    """NHWC -> NCHW -> elementwise -> NHWC (what channels_last layers make around a batch
    normalization) is the elementwise op on NHWC: the transposes cancel; a permutation that
    undoes nothing below stays."""
    x = sg.tensor("x", "float64", (None,) * 4)
    scale = sg.dvector("scale")
    nchw = x.dimshuffle(0, 3, 1, 2)
    back = sg.relu(nchw * scale.dimshuffle("x", 0, "x", "x") + 1.0).dimshuffle(0, 2, 3, 1)
    f = sg.function([x, scale], back, backend=backend)
    assert fired(f, "transpose_into_elementwise")
    moved = [n for n in f.fgraph.apply_nodes if type(n.op).__name__ == "DimShuffle" and n.inputs[0] is x]
    assert not moved  # (x is read as it is)
    xv, sv = rng.normal(size=(2, 3, 4, 5)), rng.normal(size=5)
    np.testing.assert_allclose(f(xv, sv), np.maximum(xv * sv + 1.0, 0))
    other = sg.function([x], sg.exp(x.dimshuffle(0, 3, 1, 2)).dimshuffle(0, 3, 2, 1), backend=backend)
    assert not fired(other, "transpose_into_elementwise")
    np.testing.assert_allclose(other(xv), np.exp(xv.transpose(0, 3, 1, 2)).transpose(0, 3, 2, 1))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_reduction_kept_and_dropped_is_one_pass(backend, rng):
    """x.mean(axis) beside x.mean(axis, keepdims=True) (x.std's own mean): the kept one is the
    dropped one with its axes put back, so each z-score or [mean, std] pair reads x once for
    its mean; values as written, and reductions of another kind, axis or input stay apart."""
    x, y = sg.dmatrix("x"), sg.dmatrix("y")
    zscore = (x - x.mean(axis=0)) / x.std(axis=0)
    outs = [zscore, x.mean(), x.std(), x.max(axis=1), x.max(axis=1, keepdims=True) - x,
            x.sum(axis=1, keepdims=True) + y.sum(axis=1), x.min(axis=0, keepdims=True) + x.sum(axis=0)]
    fast = sg.function([x, y], outs, backend=backend)
    slow = sg.function([x, y], outs, backend="numpy", optimize=False)
    assert fired(fast, "kept_axes_from_the_dropped")
    folds = [n for n in fast.fgraph.apply_nodes if isinstance(n.op, (sg.ops.reduce.Reduce, CompositeReduce))]
    plain = [str(n.op) for n in folds if isinstance(n.op, sg.ops.reduce.Reduce) and n.inputs[0] in (x, y)]
    assert sorted(plain) == sorted(["Mean{axis=(0,)}", "Mean{axis=(0, 1)}", "Max{axis=(1,)}",
                                    "Sum{axis=(1,), keepdims}", "Sum{axis=(1,)}", "Min{axis=(0,), keepdims}",
                                    "Sum{axis=(0,)}"])
    xv, yv = rng.normal(size=(6, 5)), rng.normal(size=(6, 5))
    for got, want in zip(fast(xv, yv), slow(xv, yv)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_an_increment_of_zeros_added_to_a_full_array_goes_into_it(backend, rng):
    """inc_subtensor(zeros[idx], a) + y -> inc_subtensor(y[idx], a) where y has the sum's shape:
    the gradient of x[:, 1:] - x[:, :-1] is two increments of one array, with no zero-filled
    copy added to another, as is an unrolled loop's over x[:, t]; a set_subtensor, an increment
    of a non-zero array or a y that broadcasts stay a sum."""
    x = sg.dmatrix("x")
    steps = [x[:, t] * (t + 1) for t in range(4)]
    for cost in (((x[:, 1:] - x[:, :-1]) ** 2).sum(), sg.tanh(sg.stack(steps)).sum()):
        fast = sg.function([x], sg.grad(cost, x), backend=backend)
        slow = sg.function([x], sg.grad(cost, x), backend="numpy", optimize=False)
        assert fired(fast, "increment_added_into_the_other")
        names = names_of(fast)
        assert not any("add" in n for n in names if "Subtensor" not in n) and names.count("Alloc") == 1
        xv = rng.normal(size=(5, 6))
        np.testing.assert_allclose(fast(xv), slow(xv), rtol=1e-12)
    a, y, r = sg.dmatrix("a"), sg.dmatrix("y"), sg.tensor("r", "float64", (1, None))
    zeros = sg.zeros_like(x)
    repeated = np.array([0, 0, 2, 4, 4])  # (set keeps one value of each row, inc adds them)
    outs = [sg.set_subtensor(zeros[repeated], a[:, :1]) + sg.exp(x), sg.inc_subtensor(x[:, 1:], a) + sg.exp(x),
            sg.inc_subtensor(zeros[:, 1:], a) + r, sg.inc_subtensor(zeros[:, :-1], a) + y]
    kept = sg.inc_subtensor(zeros[1:], a[:4, :1])  # (an output too: computed anyway)
    outs += [kept + sg.exp(x), kept]
    fast = sg.function([x, a, y, r], outs, backend=backend)
    slow = sg.function([x, a, y, r], outs, backend="numpy", optimize=False)
    assert not fired(fast, "increment_added_into_the_other")
    values = rng.normal(size=(5, 6)), rng.normal(size=(5, 5)), rng.normal(size=(5, 6)), rng.normal(size=(1, 6))
    for got, want in zip(fast(*values), slow(*values)):
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_written_out_logsumexp_is_the_op(backend, rng):
    """log(sum(exp(x - m))) + m with m = max(x) along the same axes (kept, or dropped and the
    sum's axes dropped too) is one logsumexp of x; x minus it along one axis is log_softmax,
    whose exp is softmax (NumPy's stable forms); a shift by another axis's max or by another
    array's stays as written."""
    x, y = sg.dmatrix("x"), sg.dmatrix("y")

    def lse(v, axis, keepdims=True, by=None):
        m = (v if by is None else by).max(axis=axis, keepdims=True)
        total = sg.log(sg.exp(v - m).sum(axis=axis, keepdims=keepdims))
        return total + (m if keepdims else (v if by is None else by).max(axis=axis))

    cases = [(lse(x, 0), [LogSumExp]), (lse(x, 1, keepdims=False), [LogSumExp]), (x - lse(x, 1), [LogSoftmax]),
             (sg.exp(x - lse(x, 1)), [Softmax]), (lse(x, (0, 1)), [LogSumExp])]
    for out, ops in cases:
        fast = sg.function([x], out, backend=backend)
        slow = sg.function([x], out, backend="numpy", optimize=False)
        assert fired(fast, "logsumexp_of_max_shifted")
        assert [type(n.op) for n in fast.fgraph.apply_nodes] == ops
        xv = rng.normal(size=(5, 7)) * 30
        np.testing.assert_allclose(fast(xv), slow(xv), rtol=1e-12, atol=1e-12)
    assert fired(sg.function([x], sg.exp(x - lse(x, 1))), "softmax_of_exp_log_softmax")
    xv = rng.normal(size=(3, 4))
    xv[1, 2] = np.inf  # (the op's value where the one written out gives NaN)
    np.testing.assert_allclose(sg.function([x], lse(x, 1), backend=backend)(xv)[:, 0],
                               [np.log(np.exp(xv[0]).sum()), np.inf, np.log(np.exp(xv[2]).sum())], rtol=1e-12)
    shifted_by_x = sg.log(sg.exp(x - x.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True))
    for out in (sg.log(sg.exp(x - x.max(axis=1, keepdims=True)).sum(axis=0, keepdims=True)) + x.max(axis=0, keepdims=True),
                lse(x, 1, by=y), shifted_by_x + y.max(axis=1, keepdims=True), shifted_by_x + x.min(axis=1, keepdims=True)):
        fast = sg.function([x, y], out, backend=backend, on_unused_input="ignore")
        slow = sg.function([x, y], out, backend="numpy", optimize=False, on_unused_input="ignore")
        assert not fired(fast, "logsumexp_of_max_shifted")
        values = rng.normal(size=(5, 7)), rng.normal(size=(5, 7))
        np.testing.assert_allclose(fast(*values), slow(*values), rtol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_sums_to_one_shape_are_summed_once(backend, rng):
    """SumToShape(a, s) +/- SumToShape(b, s), a and b of one length: one SumToShape of a +/- b,
    so that a Huber loss's gradient with respect to x, given targets t of shapes unknown, is
    one loop (and a SumToShape that does nothing at run time), the sums of a t that broadcasts
    as written; sums to other shapes stay apart."""
    x, t, r = sg.dmatrix("x"), sg.dmatrix("t"), sg.dvector("r")
    d = x - t
    # (x - t written in each place, as often: three gradients back to x, each summed to its shape)
    huber = sg.where(abs(x - t) < 1, 0.5 * (x - t) ** 2, abs(x - t) - 0.5).mean()
    fast = sg.function([x, t], sg.grad(huber, x), backend=backend)
    slow = sg.function([x, t], sg.grad(huber, x), backend="numpy", optimize=False)
    assert fired(fast, "sum_of_sums_to_one_shape")
    loops = [n for n in fast.fgraph.apply_nodes if n.outputs[0].ndim == 2 and type(n.op).__name__ in ("Composite", "Elemwise")]
    assert len(loops) == 1 and ops_of(fast).count("SumToShape") == 1
    for tv in (rng.normal(size=(5, 6)) * 2, rng.normal(size=(1, 6)) * 2, rng.normal(size=(5, 1)) * 2):
        xv = rng.normal(size=(5, 6)) * 2
        np.testing.assert_allclose(fast(xv, tv), slow(xv, tv), rtol=1e-12)
    xv, tv = rng.normal(size=(1, 6)), rng.normal(size=(5, 6))  # (x a row: its gradient summed over t's rows)
    np.testing.assert_allclose(fast(xv, tv), slow(xv, tv), rtol=1e-12)
    from symgraph.ops.reduce import SumToShape
    y = sg.dmatrix("y")
    apart = [SumToShape()(d * 2, x.shape) + SumToShape()(d * 3, y.shape),  # (two targets)
             SumToShape()(d * 4, x.shape) - SumToShape()(x * r, x.shape)]  # (two lengths)
    fast = sg.function([x, t, y, r], apart, backend=backend)
    slow = sg.function([x, t, y, r], apart, backend="numpy", optimize=False)
    assert not fired(fast, "sum_of_sums_to_one_shape")
    values = rng.normal(size=(5, 6)), rng.normal(size=(5, 6)), rng.normal(size=(5, 6)), rng.normal(size=6)
    for got, want in zip(fast(*values), slow(*values)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
