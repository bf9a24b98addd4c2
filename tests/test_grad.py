"""Gradients against finite differences in float64, and the grad API's edges."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

import symgraph as sg
from symgraph.graph import graph_inputs, toposort
from symgraph.ops.composite import Composite, CompositeReduce
from symgraph.ops.elemwise import TABLE
from tests.conftest import run

DOMAIN = {"log": (0.2, 2), "log2": (0.2, 2), "log10": (0.2, 2), "log1p": (-0.5, 2), "sqrt": (0.2, 2),
          "arcsin": (-0.8, 0.8), "arccos": (-0.8, 0.8), "arctanh": (-0.8, 0.8), "reciprocal": (0.5, 2),
          "true_div": (0.5, 2), "pow": (0.5, 2), "mod": (0.3, 3), "abs": (0.2, 2), "arccosh": (1.2, 2)}
DOMAIN["norm_sqrt"] = DOMAIN["sqrt"]
DIFFERENTIABLE = sorted(n for n, op in TABLE.items() if op.grad_fn is not None and n not in ("where", "clip"))


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_elementwise_gradient_matches_finite_differences(name, rng):
    lo, hi = DOMAIN.get(name, (-1.5, 1.5))
    values = [rng.uniform(lo, hi, size=(2, 3)) for _ in range(TABLE[name].nin)]
    if name in ("abs", "relu"):
        values = [v * rng.choice([-1, 1], size=v.shape) for v in values]
    if name in ("maximum", "minimum"):
        values[1] = values[0] + rng.choice([-0.5, 0.5], size=values[0].shape)
    sg.verify_grad(getattr(sg, name), values, rng=rng)


def test_gradients_with_broadcasting(rng):
    sg.verify_grad(lambda a, b: a * b + sg.exp(b), [rng.normal(size=(3, 4)), rng.normal(size=(4,))], rng=rng)
    sg.verify_grad(lambda a, b: a / (2 + b), [rng.normal(size=(3, 1)), rng.normal(size=(1, 4))], rng=rng)
    sg.verify_grad(lambda a: a + 1.0, [rng.normal(size=())], rng=rng)


def test_where_and_clip_gradients(rng):
    x = rng.normal(size=(4, 3))
    sg.verify_grad(lambda a, b: sg.where(a > 0, a * b, b * b), [x, rng.normal(size=(4, 3))], rng=rng)
    x = np.where(np.abs(x) < 0.05, 0.3, x)
    sg.verify_grad(lambda a: sg.clip(a, -0.5, 0.5), [x], rng=rng)
    sg.verify_grad(lambda a, lo: sg.clip(a, lo, 10.0), [x, np.array(0.01)], rng=rng)


@pytest.mark.parametrize("kind", ["sum", "mean", "prod", "max", "min"])
@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, True), ((0, 2), False), (-1, True)])
def test_reduction_gradients(kind, axis, keepdims, rng):
    x = rng.uniform(0.5, 1.5, size=(2, 3, 4))
    sg.verify_grad(lambda a: getattr(a, kind)(axis=axis, keepdims=keepdims), [x], rng=rng)


def test_prod_gradient_is_exact_with_zeros():
    x = sg.dvector("x")
    g = sg.function([x], sg.grad(x.prod(), x), backend="numpy")
    np.testing.assert_allclose(g(np.array([2.0, 0.0, 3.0])), [0.0, 6.0, 0.0])
    np.testing.assert_allclose(g(np.array([0.0, 0.0, 3.0])), [0.0, 0.0, 0.0])
    np.testing.assert_allclose(g(np.array([2.0, 4.0, 3.0])), [12.0, 6.0, 8.0])
    sg.verify_grad(lambda a: a.prod(axis=1), [np.array([[1.0, 0.0, 2.0], [1.5, -2.0, 0.5]])])


def test_max_gradient_shares_ties():
    x = sg.dvector("x")
    g = run([x], sg.grad(x.max(), x), np.array([1.0, 3.0, 3.0]))
    np.testing.assert_array_equal(g, [0, 0.5, 0.5])


def test_statistics_gradients(rng):
    x = rng.normal(size=(3, 4))
    sg.verify_grad(lambda a: a.var(axis=1), [x], rng=rng)
    sg.verify_grad(lambda a: a.std(), [x], rng=rng)
    sg.verify_grad(lambda a: sg.logsumexp(a, axis=0), [x], rng=rng)
    sg.verify_grad(lambda a: sg.cumsum(a, axis=1), [x], rng=rng)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_norms_and_deviations_have_zero_gradient_where_they_are_zero(backend, rng):
    """The gradient of a norm at the zero vector and of a standard deviation over equal values is
    0 (a subgradient; PyTorch's), not 0 * inf = NaN: an L2 penalty on a bias of zeros, a row
    standardized by its std; hypot, a 2-vector's norm, at (0, 0). Second derivatives there are
    finite too; elsewhere they agree with finite differences."""
    x = sg.dmatrix("x")
    zero_rows = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 2.0]])
    constant_rows = np.array([[2.0, 2.0, 2.0], [1.0, -2.0, 2.0]])
    for cost, xv in ((sg.linalg.norm(x), np.zeros((2, 3))), (sg.linalg.norm(x, axis=1).sum(), zero_rows),
                     (sg.linalg.norm(x, "fro"), np.zeros((2, 3))), (x.std(axis=1).sum(), constant_rows),
                     (x.std(axis=1, ddof=1).sum(), constant_rows), (x[:, :1].std(axis=1).sum(), zero_rows),
                     (sg.linalg.norm(x, 3, axis=1).sum(), zero_rows)):
        g = sg.grad(cost, x)
        hv = sg.grad((g * sg.constant(rng.normal(size=(2, 3)))).sum(), x)
        got_g, got_hv = run([x], [g, hv], xv, backend=backend)
        assert np.isfinite(got_g).all() and np.isfinite(got_hv).all(), (cost, got_g, got_hv)
        np.testing.assert_array_equal(got_g[0], 0)  # (the row at zero)
        if np.abs(xv[1]).sum():  # (the other row: the usual gradient)
            want = run([x], g, xv[1:] + 0 * xv[:1], backend="numpy")[0]
            np.testing.assert_allclose(got_g[1], want, rtol=1e-12)
    hv = sg.grad((sg.grad(sg.hypot(x, 2 * x).sum(), x) * x).sum(), x)
    np.testing.assert_array_equal(run([x], sg.grad(sg.hypot(x, 2 * x).sum(), x), zero_rows, backend=backend)[0], 0)
    assert np.isfinite(run([x], hv, zero_rows, backend=backend)).all()
    import symgraph.compat.v1 as tf
    for cost, want in ((tf.norm(x), 0), (tf.global_norm([x]), 0),
                       (tf.image.per_image_standardization(x[None, :, :, None]).sum(), 0),
                       (tf.clip_by_norm(x, 1.0).sum(), 1)):  # (below the clip: x itself)
        np.testing.assert_array_equal(run([x], sg.grad(cost, x), np.zeros((2, 3)), backend=backend), want)
    sg.verify_grad(lambda a: sg.linalg.norm(a, axis=0) + a.std(axis=0) + sg.linalg.norm(a, 3, axis=0),
                   [rng.normal(size=(3, 4))], rng=rng)
    sg.verify_grad(lambda a: sg.norm_sqrt(a), [rng.uniform(0.2, 2, size=(2, 3))], rng=rng)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_branch_where_did_not_take_has_zero_gradient_even_where_its_derivative_is_not_finite(backend):
    """where(x > 0, log(x), 0) at x <= 0: the gradient is 0, not 0 * (1 / 0) = NaN (NumPy-style
    frameworks give NaN there; JAX's FAQ has users write a second where). Elementwise chains
    inside the branch, either branch, safe division, second derivatives; where the branch is
    taken the derivative is the branch's."""
    from symgraph.ops.reduce import SumToShape
    x, d = sg.dvector("x"), sg.dvector("d")
    xv, dv = np.array([0.0, -1.0, 0.5, 2.0]), np.array([0.0, 2.0, 0.0, -4.0])
    cases = [(sg.where(x > 0, sg.log(x), 0), [0, 0, 2, 0.5]),
             (sg.where(x > 0, x * sg.log(x), 0), [0, 0, np.log(0.5) + 1, np.log(2) + 1]),
             (sg.where(x <= 0, 0, sg.sqrt(x) * 2), [0, 0, 0.5 ** -0.5, 2 ** -0.5]),
             (sg.where(sg.neq(d, 0), x / d, 0), [0, 0.5, 0, -0.25])]
    for expr, want in cases:
        g = sg.grad(expr.sum(), x)
        second = sg.grad(g.sum(), x, disconnected_inputs="ignore")  # (x / d is linear in x)
        f = sg.function([x, d], [g, second], backend=backend, on_unused_input="ignore")
        got, got_second = f(xv, dv)
        np.testing.assert_allclose(got, want, rtol=1e-12)
        assert np.isfinite(got_second).all()
        if d not in graph_inputs([expr]):  # (x's shape alone: nothing to sum, as before)
            assert not any(isinstance(n.op, SumToShape) for n in f.fgraph.apply_nodes)
    by_d = run([x, d], sg.grad(sg.where(sg.neq(d, 0), x / d, 0).sum(), d), xv, dv, backend=backend)
    np.testing.assert_allclose(by_d, [0, 0.25, 0, -0.125])
    # A condition broader than the branch at run time (x's (1, 3) under (2, 3)): summed after the select.
    m, c = sg.dmatrix("m"), sg.bmatrix("c")
    mv, cv = np.array([[0.0, 1.0, 4.0]]), np.array([[0, 1, 1], [0, 0, 1]], "int8")
    got = run([m, c], sg.grad(sg.where(c, sg.sqrt(m), 0).sum(), m), mv, cv, backend=backend)
    np.testing.assert_allclose(got, [[0, 0.5, 0.5]])
    sg.verify_grad(lambda a: sg.where(a > 0, sg.log(a) * a, a ** 2), [np.array([[-0.7, 0.4, 1.3], [0.9, -0.2, 2.1]])])


def test_product_gradients(rng):
    sg.verify_grad(sg.dot, [rng.normal(size=(3, 4)), rng.normal(size=(4, 2))], rng=rng)
    sg.verify_grad(sg.dot, [rng.normal(size=(3, 4)), rng.normal(size=(4,))], rng=rng)
    sg.verify_grad(sg.dot, [rng.normal(size=(4,)), rng.normal(size=(4, 2))], rng=rng)
    sg.verify_grad(sg.dot, [rng.normal(size=(4,)), rng.normal(size=(4,))], rng=rng)
    sg.verify_grad(sg.matmul, [rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 2))], rng=rng)
    sg.verify_grad(sg.matmul, [rng.normal(size=(1, 3, 4)), rng.normal(size=(2, 4, 2))], rng=rng)
    sg.verify_grad(lambda a, b: sg.tensordot(a, b, [[1, 2], [0, 1]]),
                   [rng.normal(size=(2, 3, 4)), rng.normal(size=(3, 4, 2))], rng=rng)
    sg.verify_grad(sg.batched_dot, [rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 4, 2))], rng=rng)
    sg.verify_grad(sg.outer, [rng.normal(size=(3,)), rng.normal(size=(2,))], rng=rng)


def test_shape_op_gradients(rng):
    x = rng.normal(size=(2, 3, 4))
    sg.verify_grad(lambda a: a.reshape((6, 4)) * 2, [x], rng=rng)
    sg.verify_grad(lambda a: a.dimshuffle(2, "x", 0, 1), [x], rng=rng)
    sg.verify_grad(lambda a: a.T, [x], rng=rng)
    sg.verify_grad(lambda a, b: sg.concatenate([a, b], axis=1), [x, rng.normal(size=(2, 2, 4))], rng=rng)
    sg.verify_grad(lambda a, b: sg.stack([a, b]), [x, rng.normal(size=(2, 3, 4))], rng=rng)
    sg.verify_grad(lambda a: sg.broadcast_to(a, (5, 2, 3, 4)), [x], rng=rng)
    sg.verify_grad(lambda a: sg.repeat(a, 2, axis=1), [x], rng=rng)
    sg.verify_grad(lambda a: sg.repeat(a, np.array([2, 0, 1]), axis=1), [x], rng=rng)
    sg.verify_grad(lambda a: sg.tile(a, (2, 1, 3)), [x], rng=rng)
    sg.verify_grad(lambda a: sg.flatten(a, 2), [x], rng=rng)
    sg.verify_grad(lambda a: sg.full((2, 2), a.sum()), [x], rng=rng)


def test_repeat_by_one_count_differentiates_as_a_sum_over_its_copies(rng):
    """One count (a constant or a symbolic int): the gradient sums each value's copies through
    a reshape, no scatter-add (an upsampling's backward); per-element counts keep the scatter."""
    from symgraph.ops.index import IncSubtensor
    x = rng.normal(size=(2, 3, 4))
    for axis in (0, 1, 2, -1, None):
        sg.verify_grad(lambda a, axis=axis: sg.repeat(a, 3, axis=axis), [x], rng=rng)
    a, k = sg.dtensor3("a"), sg.lscalar("k")
    f = sg.function([a, k], sg.grad((sg.repeat(a, k, axis=2) ** 2).sum(), a))
    np.testing.assert_allclose(f(x, 3), 3 * 2 * x, rtol=1e-12)
    np.testing.assert_allclose(f(x, 1), 2 * x, rtol=1e-12)
    np.testing.assert_array_equal(f(x, 0), np.zeros_like(x))
    np.testing.assert_allclose(sg.function([a, k], sg.grad((sg.repeat(a, k, axis=2) ** 2).sum(), a), backend="numpy")(x, 3),
                               3 * 2 * x, rtol=1e-12)
    assert not any(isinstance(n.op, IncSubtensor) for n in f.fgraph.apply_nodes)
    counts = sg.function([a], sg.grad((sg.repeat(a, np.array([2, 0, 1]), axis=1) ** 2).sum(), a))
    assert any(isinstance(n.op, IncSubtensor) for n in counts.fgraph.apply_nodes)


def test_indexing_gradients(rng):
    x = rng.normal(size=(4, 5))
    sg.verify_grad(lambda a: a[1:, ::2], [x], rng=rng)
    sg.verify_grad(lambda a: a[2], [x], rng=rng)
    sg.verify_grad(lambda a: a[np.array([0, 2, 2, 3])], [x], rng=rng)  # repeated rows accumulate
    sg.verify_grad(lambda a: a[sg.arange(4), np.array([1, 1, 4, 0])], [x], rng=rng)
    sg.verify_grad(lambda a: a[a > 0.1], [x], rng=rng)
    sg.verify_grad(lambda a, b: sg.set_subtensor(a[1:3], b), [x, rng.normal(size=(5,))], rng=rng)
    sg.verify_grad(lambda a, b: sg.inc_subtensor(a[np.array([0, 0, 1])], b), [x, rng.normal(size=(3, 5))], rng=rng)


def test_cast_gradient_keeps_dtypes(rng):
    x = sg.fvector("x")
    g = sg.grad(sg.cast(x, "float64").sum() * 2, x)
    assert g.dtype == "float32"
    np.testing.assert_array_equal(run([x], g, np.ones(3, "float32")), [2, 2, 2])


def test_float32_gradients_stay_float32():
    x = sg.fmatrix("x")
    w = sg.shared(np.ones((3, 2), "float32"), "w")
    cost = sg.tanh(sg.dot(x, w)).mean() * 0.5
    gw = sg.grad(cost, w)
    assert gw.dtype == "float32"


def _random_tree(draw, leaves, depth):
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return leaves[draw(st.integers(0, len(leaves) - 1))]
    kind = draw(st.sampled_from(["unary", "binary", "reduce", "shape"]))
    a = _random_tree(draw, leaves, depth - 1)
    if kind == "unary":
        fn = draw(st.sampled_from([sg.tanh, sg.sin, sg.sigmoid, sg.softplus, lambda v: sg.exp(-v * v),
                                   lambda v: sg.log1p(v * v), sg.square, sg.arctan]))
        return fn(a)
    if kind == "binary":
        b = _random_tree(draw, leaves, depth - 1)
        fn = draw(st.sampled_from([sg.add, sg.sub, sg.mul, lambda p, q: p / (1.5 + sg.cos(q)),
                                   sg.maximum]))
        return fn(a, b)
    if kind == "reduce":
        return draw(st.sampled_from([lambda v: v.sum(axis=0, keepdims=True), lambda v: v.mean(axis=1, keepdims=True),
                                     lambda v: sg.logsumexp(v, axis=1, keepdims=True)]))(a)
    return draw(st.sampled_from([lambda v: v.T.T, lambda v: v[::-1], lambda v: sg.dot(v, sg.dot(v.T, v)) * 0.3]))(a)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_expression_trees_agree_with_finite_differences(data):
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    a, b = rng.uniform(-1, 1, (3, 4)), rng.uniform(-1, 1, (3, 4))
    b = np.where(np.abs(a - b) < 0.05, b + 0.2, b)  # keep maximum away from ties

    def fn(x, y):
        return _random_tree(data.draw, [x, y, x * 0.5 + 0.1], 4)
    sg.verify_grad(fn, [a, b], rng=rng, n_tests=1)


@pytest.mark.parametrize("fn,second", [(sg.tanh, lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
                                       (sg.exp, np.exp), (sg.log, lambda x: -1 / x ** 2),
                                       (lambda x: x ** 3.0, lambda x: 6 * x)])
def test_second_derivatives_match_closed_forms(fn, second):
    x = sg.dvector("x")
    g = sg.grad(fn(x).sum(), x)
    gg = sg.grad(g.sum(), x)
    xv = np.array([0.3, 0.7, 1.4])
    np.testing.assert_allclose(run([x], gg, xv), second(xv), rtol=1e-10)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_derivatives_of_powers_past_their_degree_are_zero_at_zero(backend):
    """x ** 0's derivative is 0 (PyTorch's rule), not 0 * x ** -1, NaN at x = 0, where the third
    derivative of x ** 2 and the fourth of x ** 3 reached it; a variable exponent's zeros too."""
    x, p = sg.dvector("x"), sg.dvector("p")
    xv = np.array([0.0, 1.5, -2.0])
    for degree, derivatives in ((2, [2 * xv, np.full(3, 2.0), np.zeros(3)]),
                                (3, [3 * xv ** 2, 6 * xv, np.full(3, 6.0), np.zeros(3)])):
        g, found = (x ** degree).sum(), []
        for _ in derivatives:
            g = sg.grad(g, x)
            found.append(g)
            g = g.sum()
        for got, want in zip(run([x], found, xv, backend=backend), derivatives):
            np.testing.assert_array_equal(got, want)
    by_p = run([x, p], sg.grad((x ** p).sum(), x), xv, np.array([0.0, 0.0, 2.0]), backend=backend)
    np.testing.assert_array_equal(by_p, [0.0, 0.0, -4.0])


def test_second_derivative_of_dot_and_pow_exponent(rng):
    x, A = sg.dvector("x"), rng.normal(size=(3, 3))
    H = sg.hessian(sg.dot(x, sg.dot(A, x)), x)
    np.testing.assert_allclose(run([x], H, rng.normal(size=3)), A + A.T, rtol=1e-10)
    p = sg.dscalar("p")
    d2 = sg.grad(sg.grad(2.0 ** p, p), p)
    np.testing.assert_allclose(run([p], d2, 1.5), np.log(2) ** 2 * 2 ** 1.5)


def test_jacobian_and_hessian(rng):
    x = sg.dvector("x")
    xv = rng.normal(size=4)
    J = sg.jacobian(sg.exp(x) * x.sum(), x)
    expected = np.diag(np.exp(xv)) * xv.sum() + np.exp(xv)[:, None]
    np.testing.assert_allclose(run([x], J, xv), expected, rtol=1e-10)
    H = sg.hessian((x ** 4.0).sum(), x)
    np.testing.assert_allclose(run([x], H, xv), np.diag(12 * xv ** 2), rtol=1e-10)
    static = sg.tensor("s", "float64", (3,))
    Js = sg.jacobian(static ** 2.0, static)
    np.testing.assert_allclose(run([static], Js, xv[:3]), np.diag(2 * xv[:3]), rtol=1e-12)
    M = sg.dmatrix("M")
    Jm = sg.jacobian(sg.dot(M, x), [M, x])
    Mv = rng.normal(size=(2, 4))
    dM, dx = run([M, x], Jm, Mv, xv)
    assert dM.shape == (2, 2, 4) and dx.shape == (2, 4)
    np.testing.assert_allclose(dx, Mv)


def test_gradient_through_a_jacobian(rng):
    x = sg.dvector("x")
    J = sg.jacobian(x ** 3.0, x)  # diag(3x^2); its trace's gradient is 6x
    g = sg.grad(J.sum(), x)
    xv = rng.normal(size=3)
    np.testing.assert_allclose(run([x], g, xv), 6 * xv, rtol=1e-10)


def test_consider_constant_and_stop_gradient():
    x = sg.dscalar("x")
    y = x * x
    g = sg.grad(y * x, x, consider_constant=[y])
    assert run([x], g, 3.0) == 9.0  # d/dx (c * x) with c = x*x held fixed
    g2 = sg.grad(sg.stop_gradient(y) * x + y, x)
    assert run([x], g2, 3.0) == 9.0 + 6.0


def test_disconnected_inputs():
    x, y = sg.dvector("x"), sg.dvector("y")
    cost = (x ** 2).sum()
    with pytest.raises(sg.DisconnectedInputError, match="'y'"):
        sg.grad(cost, [x, y])
    with pytest.warns(UserWarning):
        gx, gy = sg.grad(cost, [x, y], disconnected_inputs="warn")
    gx, gy = sg.grad(cost, [x, y], disconnected_inputs="ignore")
    np.testing.assert_array_equal(run([x, y], gy, np.ones(2), np.ones(2), on_unused_input="ignore"), [0, 0])
    assert sg.grad(cost, [x, y], disconnected_inputs="ignore", return_disconnected="None")[1] is None
    with pytest.raises(sg.DisconnectedInputError):
        sg.grad(sg.floor(x).sum(), x)   # floor is not differentiable: disconnected, not zero
    with pytest.raises(sg.DisconnectedInputError):
        sg.grad(sg.cast(sg.argmax(x), "float64"), x)


def test_integer_inputs_get_zero_gradients():
    x, i = sg.dvector("x"), sg.ivector("i")
    gi = sg.grad((x * i).sum(), i)
    assert gi.dtype[0] == "f"
    np.testing.assert_array_equal(run([x, i], gi, np.ones(2), np.ones(2, "int32"), on_unused_input="ignore"), [0, 0])


def test_grad_api_checks():
    x = sg.dvector("x")
    with pytest.raises(TypeError, match="scalar"):
        sg.grad(x * 2, x)
    single = sg.grad(x.sum(), x)
    assert isinstance(single, sg.Variable)
    assert isinstance(sg.grad(x.sum(), [x]), list)


def test_known_grads_lop_and_rop(rng):
    x = sg.dvector("x")
    A = rng.normal(size=(3, 3))
    y = sg.dot(A, x) + x ** 2.0
    v = sg.dvector("v")
    xv, vv = rng.normal(size=3), rng.normal(size=3)
    Jv = A + np.diag(2 * xv)
    np.testing.assert_allclose(run([x, v], sg.Lop(y, x, v), xv, vv), vv @ Jv, rtol=1e-10)
    np.testing.assert_allclose(run([x, v], sg.Rop(y, x, v), xv, vv), Jv @ vv, rtol=1e-10)
    g = sg.grad(None, x, known_grads={y: v})
    np.testing.assert_allclose(run([x, v], g, xv, vv), vv @ Jv, rtol=1e-10)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_fused_nodes_differentiate_each_input_on_its_own(backend, rng):
    """An op whose gradient is grad of a graph that computes it (Composite, CompositeReduce,
    lstsq: partial_grads) takes each input's derivative on its own: for Composite(x, exp(x)) =
    x * exp(x) it had also gone back through exp(x) to x, a path the outer gradient counts too
    (exp(x) (1 + 2x) for exp(x) (1 + x))."""
    x = sg.dvector("x")
    mul = Composite([(TABLE["mul"], (("in", 0), ("in", 1)), "float64")], [0], 2)
    total = CompositeReduce(mul, "sum", (0,), False)(x, sg.exp(x))
    xv = rng.uniform(-1, 1, 4)
    want = np.exp(xv) * (1 + xv)
    for cost in (mul(x, sg.exp(x)).sum(), total):
        np.testing.assert_allclose(run([x], sg.grad(cost, x), xv, backend=backend), want, rtol=1e-12)
    sg.verify_grad(lambda v: mul(v, sg.exp(v)), [xv], backend=backend)


def test_verify_grad_reports_the_worst_element():
    bad = sg.ops.elemwise.ScalarOp("bad_exp", 1, np.exp, "", lambda i, z, g: [g * 2])
    op = sg.ops.elemwise.Elemwise(bad)
    with pytest.raises(sg.GradientError) as err:
        sg.verify_grad(lambda a: op(a), [np.array([0.0, 2.0, 1.0])])
    assert err.value.element == (1,)
    assert "finite differences" in str(err.value)


def _mlp_grad_nodes(depth):
    x, y = sg.matrix("x"), sg.ivector("y")
    h, params = x, []
    for k in range(depth):
        W = sg.shared(np.zeros((8, 8), "float32"), f"W{k}")
        b = sg.shared(np.zeros(8, "float32"), f"b{k}")
        params += [W, b]
        h = sg.relu(sg.dot(h, W) + b)
    logits = h - sg.logsumexp(h, axis=1, keepdims=True)
    cost = -logits[sg.arange(y.shape[0]), y].mean()
    grads = sg.grad(cost, params)
    return len(toposort(grads))


def test_gradient_graph_grows_linearly_with_depth():
    counts = [_mlp_grad_nodes(d) for d in (1, 2, 3, 4, 5)]
    steps = np.diff(counts)
    assert len(set(steps[1:])) == 1, counts  # a constant number of nodes per layer


def test_a_written_out_logsumexp_differentiates_as_the_op(rng):
    """log(sum(exp(x - m))) + m with m = max(x): its gradient is logsumexp's (softmax), straight
    to x, without the terms through m that cancel; finite differences agree, a softmax and a
    log_softmax written out differentiate to a few nodes as their ops do, and m's other uses
    (or m held constant) keep theirs."""
    def lse(v, axis, keepdims=True):
        m = v.max(axis=axis, keepdims=True)
        total = sg.log(sg.exp(v - m).sum(axis=axis, keepdims=keepdims))
        return total + (m if keepdims else v.max(axis=axis))

    x, g = sg.dmatrix("x"), sg.dmatrix("g")
    xv, gv = rng.normal(size=(4, 5)) * 3, rng.normal(size=(4, 5))
    for fn in (lambda v: lse(v, 1), lambda v: lse(v, 0, keepdims=False), lambda v: lse(v, (0, 1)),
               lambda v: v - lse(v, 1), lambda v: sg.exp(v - lse(v, 1)),
               lambda v: lse(v, 1) + v.max(axis=1, keepdims=True) * 3):  # (m read elsewhere too)
        sg.verify_grad(fn, [xv], rng=rng)
    for written, op in ((x - lse(x, 1), sg.nn.log_softmax(x, axis=1)), (sg.exp(x - lse(x, 1)), sg.nn.softmax(x, axis=1))):
        fast = sg.function([x, g], sg.grad((written * g).sum(), x))
        want = sg.function([x, g], sg.grad((op * g).sum(), x))
        np.testing.assert_allclose(fast(xv, gv), want(xv, gv), rtol=1e-12, atol=1e-14)
        assert len(fast.fgraph.apply_nodes) <= len(want.fgraph.apply_nodes) + 1
        assert not [n for n in fast.fgraph.apply_nodes if n.outputs[0].ndim == 2 and "eq(" in str(n.op)]  # (no mask of the max)
    m = x.max(axis=1, keepdims=True)
    held = sg.grad((sg.log(sg.exp(x - m).sum(axis=1, keepdims=True)) + m).sum(), x, consider_constant=[m])
    free = sg.grad((sg.log(sg.exp(x - m).sum(axis=1, keepdims=True)) + m).sum(), x)
    np.testing.assert_allclose(*[sg.function([x], v)(xv) for v in (held, free)], rtol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_written_out_softmax_differentiates_as_the_op(backend, rng):
    """e / e.sum(axis, keepdims=True) with e = exp(x - max(x)): softmax's gradient, straight to
    x; finite differences agree, along either axis and with the max read elsewhere, and a
    crossentropy of it (NumPy's tutorial classifier) differentiates to the one node a
    crossentropy of sg.nn.softmax does, not through the max shift."""
    def softmax(v, axis):
        e = sg.exp(v - v.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)

    xv = rng.normal(size=(4, 5)) * 3
    for fn in (lambda v: softmax(v, 1), lambda v: softmax(v, 0), lambda v: softmax(v, 1) * v.max(axis=1, keepdims=True)):
        sg.verify_grad(fn, [xv], rng=rng)
    x, y = sg.dmatrix("x"), sg.ivector("y")
    yv = np.array([0, 4, 2, 2], "int32")
    written = sg.grad(-sg.log(softmax(x, 1))[sg.arange(y.shape[0]), y].mean(), x)
    op = sg.grad(-sg.log(sg.nn.softmax(x, axis=1))[sg.arange(y.shape[0]), y].mean(), x)
    fast, want = (sg.function([x, y], g, backend=backend) for g in (written, op))
    np.testing.assert_allclose(fast(xv, yv), want(xv, yv), rtol=1e-12, atol=1e-15)
    assert [type(n.op).__name__ for n in fast.fgraph.apply_nodes if n.outputs[0].ndim == 2] == ["CrossentropySoftmaxGrad"]
