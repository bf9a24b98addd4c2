"""A weight's update w - lr * dot(a, b) as one gemm accumulating into w's buffer
(specialize.update_as_gemm, memory.plan_inplace, executor.input_writers): the values of
the out-of-place graph, the weights written only when nothing else still reads them, and a
failed call leaving them as they were."""
import numpy as np
import pytest

import symgraph as sg
from symgraph.ops.linalg import Gemm

BACKENDS = ["numba", "numpy"]


def gemms(f):
    return [n.op for n in f.fgraph.apply_nodes if isinstance(n.op, Gemm)]


def accumulating(f):
    return [op for op in gemms(f) if op.inplace and op.alpha < 0]


def mlp_step(lr, backend, dtype="float64", seed=0):
    """One SGD step of a 6-5-3 ReLU classifier; lr a float or a shared learning rate."""
    rng = np.random.default_rng(seed)
    x, y = sg.tensor("x", dtype, (None, None)), sg.ivector("y")
    W1 = sg.shared(rng.normal(size=(6, 5)).astype(dtype), "W1")
    b1 = sg.shared(np.zeros(5, dtype), "b1")
    W2 = sg.shared(rng.normal(size=(5, 3)).astype(dtype), "W2")
    cost = sg.nn.categorical_crossentropy(sg.nn.softmax(sg.dot(sg.nn.relu(sg.dot(x, W1) + b1), W2)), y).mean()
    params = [W1, b1, W2]
    grads = sg.grad(cost, params)
    step = sg.function([x, y], cost, updates=[(p, p - lr * g) for p, g in zip(params, grads)], backend=backend)
    return step, params


def by_hand(weights, x, y, lr):
    """The same step in NumPy (float64)."""
    W1, b1, W2 = [w.copy() for w in weights]
    h = np.maximum(x @ W1 + b1, 0)
    z = h @ W2
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(len(y)), y]).mean()
    g = p.copy()
    g[np.arange(len(y)), y] -= 1
    g /= len(y)
    gW2, gh = h.T @ g, (g @ W2.T) * (h > 0)
    return loss, [W1 - lr * (x.T @ gh), b1 - lr * gh.sum(axis=0), W2 - lr * gW2]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shared_lr", [False, True])
def test_sgd_updates_accumulate_into_the_weights_and_train_as_by_hand(backend, shared_lr, rng):
    lr = sg.shared(np.float64(0.3), "lr") if shared_lr else 0.3
    step, params = mlp_step(lr, backend)
    assert len(accumulating(step)) == 2, gemms(step)  # W1 and W2; b1 has no product
    x, y = rng.normal(size=(7, 6)), rng.integers(0, 3, 7).astype(np.int32)
    weights = [p.get_value() for p in params]
    for _ in range(4):
        loss, weights = by_hand(weights, x, y, 0.3)
        np.testing.assert_allclose(step(x, y), loss, rtol=1e-12)
        for p, w in zip(params, weights):
            np.testing.assert_allclose(p.get_value(), w, rtol=1e-12, atol=1e-14)


def test_large_weights_take_one_gemm_call_into_their_buffer(rng, monkeypatch):
    """From blas.MATMUL_MIN multiply-adds and a weight of blas.ACCUMULATE_MIN elements the update
    is one gemm (NumPy's OpenBLAS, where it has one) writing into the weight's own buffer: no
    new array for it."""
    from symgraph.backends import blas
    big = sg.shared(rng.normal(size=(300, 200)).astype(np.float32), "big")
    a, b = sg.fmatrix("a"), sg.fmatrix("b")
    update = sg.function([a, b], [], updates=[(big, big - 0.01 * sg.dot(a.T, b))], backend="numba")
    assert accumulating(update)
    av, bv = rng.random((64, 300), dtype=np.float32), rng.random((64, 200), dtype=np.float32)
    assert 300 * 64 * 200 >= blas.MATMUL_MIN and 300 * 200 >= blas.ACCUMULATE_MIN
    buffer = big.get_value(borrow=True)
    want = buffer - np.float32(0.01) * (av.T @ bv)
    calls = []
    real = blas._call
    monkeypatch.setattr(blas, "_call", lambda *args: (calls.append(args[-1].shape), real(*args))[1])
    update(av, bv)
    assert big.get_value(borrow=True) is buffer
    np.testing.assert_allclose(buffer, want, rtol=1e-5, atol=1e-5)
    assert calls == ([(300, 200)] if blas._numpy_openblas() or blas.mkl_gemm() else [])


@pytest.mark.parametrize("backend", BACKENDS)
def test_readers_of_the_old_weight_run_before_it_is_written(backend, rng):
    """Another update reading w (in the graph's order after w's gemm) still sees the old w."""
    w = sg.shared(rng.normal(size=(4, 3)), "w")
    total = sg.shared(np.float64(0.0), "total")
    a, b = sg.dmatrix("a"), sg.dmatrix("b")
    f = sg.function([a, b], [], updates=[(w, w - 0.5 * sg.dot(a.T, b)), (total, total + w.sum())], backend=backend)
    assert accumulating(f)
    av, bv = rng.normal(size=(2, 4)), rng.normal(size=(2, 3))
    old = w.get_value()
    f(av, bv)
    assert total.get_value() == pytest.approx(old.sum(), rel=1e-12)
    np.testing.assert_allclose(w.get_value(), old - 0.5 * av.T @ bv, rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", ["output", "view_output", "view_update", "operand_of_another"])
def test_no_accumulation_where_the_old_weight_is_still_seen(backend, case, rng):
    """w may not be written while a view of it is handed out (an output, another update) or is
    an operand of another weight's accumulating gemm: those keep the out-of-place gemm."""
    w = sg.shared(rng.normal(size=(4, 3)), "w")
    u = sg.shared(rng.normal(size=(3, 5)), "u")
    a, b, c = sg.dmatrix("a"), sg.dmatrix("b"), sg.dmatrix("c")
    new_w = w - 0.5 * sg.dot(a.T, b)
    outputs, updates = [], [(w, new_w)]
    if case == "output":
        outputs = [w]
    elif case == "view_output":
        outputs = [w.T]
    elif case == "view_update":
        v = sg.shared(np.zeros((3, 4)), "v")
        updates.append((v, w.T))
    else:
        updates.append((u, u - 0.5 * sg.dot(w.T, c)))
    f = sg.function([a, b, c], outputs, updates=updates, backend=backend, on_unused_input="ignore")
    inplace_on_w = [n for n in f.fgraph.apply_nodes if isinstance(n.op, Gemm) and n.op.inplace and n.inputs[0] is w]
    assert not inplace_on_w
    av, bv, cv = rng.normal(size=(2, 4)), rng.normal(size=(2, 3)), rng.normal(size=(4, 5))
    old_w, old_u = w.get_value(), u.get_value()
    got = f(av, bv, cv)
    np.testing.assert_allclose(w.get_value(), old_w - 0.5 * av.T @ bv, rtol=1e-12)
    if case == "output":
        np.testing.assert_array_equal(got[0], old_w)
    elif case == "view_output":
        np.testing.assert_array_equal(got[0], old_w.T)
    elif case == "view_update":
        np.testing.assert_array_equal(updates[1][0].get_value(), old_w.T)
    else:
        assert accumulating(f)  # u's own update still accumulates
        np.testing.assert_allclose(u.get_value(), old_u - 0.5 * old_w.T @ cv, rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_failing_update_writes_no_weight(backend, rng):
    """Two accumulating updates; the second's operands disagree at run time. The call raises
    naming that node, and neither weight has changed (the first is checked before it writes)."""
    w1 = sg.shared(rng.normal(size=(4, 3)), "w1")
    w2 = sg.shared(rng.normal(size=(5, 2)), "w2")
    a, b, c, d = sg.dmatrix("a"), sg.dmatrix("b"), sg.dmatrix("c"), sg.dmatrix("d")
    f = sg.function([a, b, c, d], [], backend=backend,
                    updates=[(w1, w1 - 0.5 * sg.dot(a.T, b)), (w2, w2 - 0.5 * sg.dot(c.T, d))])
    assert len(accumulating(f)) == 2
    before = [w1.get_value(), w2.get_value()]
    with pytest.raises(ValueError, match="Gemm"):
        f(rng.normal(size=(2, 4)), rng.normal(size=(2, 3)), rng.normal(size=(3, 5)), rng.normal(size=(4, 2)))
    np.testing.assert_array_equal(w1.get_value(), before[0])
    np.testing.assert_array_equal(w2.get_value(), before[1])


def test_an_input_aliasing_the_weight_is_not_written_while_read(rng):
    """The caller passes the weight's own buffer as an operand: the gemm sees the overlap and
    computes a new array instead (large enough for the one-call gemm, which would read what it
    has written)."""
    w = sg.shared(rng.normal(size=(70, 70)), "w")
    a, b = sg.dmatrix("a"), sg.dmatrix("b")
    f = sg.function([a, b], [], updates=[(w, w - 0.5 * sg.dot(a.T, b))], backend="numba")
    assert accumulating(f)
    buffer = w.get_value(borrow=True)
    old = buffer.copy()
    bv = rng.normal(size=(70, 70))
    f(buffer, bv)
    np.testing.assert_allclose(w.get_value(), old - 0.5 * old.T @ bv, rtol=1e-12)


def test_arrays_given_without_borrow_are_never_written(rng):
    """The weight's own buffer is written; an array handed to shared() or set_value() was
    copied into it (borrow=False, the default), and get_value() returns a copy. With
    borrow=True the caller shares the buffer and sees the update, as in Theano."""
    given = np.ones((70, 70))
    w = sg.shared(given, "w")
    a, b = sg.dmatrix("a"), sg.dmatrix("b")
    f = sg.function([a, b], [], updates=[(w, w - 0.5 * sg.dot(a.T, b))], backend="numba")
    assert accumulating(f)
    ones = np.ones((70, 70))
    taken = w.get_value()
    f(ones, ones)
    np.testing.assert_array_equal(given, 1.0)
    np.testing.assert_array_equal(taken, 1.0)
    again = np.ones((70, 70))
    w.set_value(again)
    f(ones, ones)
    np.testing.assert_array_equal(again, 1.0)
    shared_buffer = np.ones((70, 70))
    w.set_value(shared_buffer, borrow=True)
    f(ones, ones)
    np.testing.assert_array_equal(shared_buffer, 1.0 - 0.5 * 70)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shared_lr", [False, True])
def test_momentums_velocity_accumulates_and_the_weight_reads_it_after(backend, shared_lr, rng):
    """v = 0.9 * v - lr * dot(a, b); w = w + v (Keras's and Caffe's momentum): the velocity's
    gemm accumulates into v with beta = 0.9, and w's update, which reads the new v, runs after
    it; as by hand over four steps."""
    lr = sg.shared(np.float64(0.3), "lr") if shared_lr else 0.3
    w = sg.shared(rng.normal(size=(4, 3)), "w")
    v = sg.shared(np.zeros((4, 3)), "v")
    a, b = sg.dmatrix("a"), sg.dmatrix("b")
    v_new = 0.9 * v - lr * sg.dot(a.T, b)
    f = sg.function([a, b], [], updates=[(v, v_new), (w, w + v_new)], backend=backend)
    assert [(op.beta, op.inplace) for op in gemms(f)] == [(0.9, True)]
    wv, vv = w.get_value(), v.get_value()
    for _ in range(4):
        av, bv = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
        vv = 0.9 * vv - 0.3 * av.T @ bv
        wv = wv + vv
        f(av, bv)
        np.testing.assert_allclose(v.get_value(), vv, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(w.get_value(), wv, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_reader_of_the_old_velocity_after_the_gemm_keeps_it_out_of_place(backend, rng):
    """w's update reads both the new and the old v: after an in-place write the old one would be
    gone, so v's gemm computes a new array."""
    w = sg.shared(rng.normal(size=(4, 3)), "w")
    v = sg.shared(rng.normal(size=(4, 3)), "v")
    a, b = sg.dmatrix("a"), sg.dmatrix("b")
    v_new = 0.9 * v - 0.3 * sg.dot(a.T, b)
    f = sg.function([a, b], [], updates=[(v, v_new), (w, w + v_new - v)], backend=backend)
    assert not [op for op in gemms(f) if op.inplace]
    av, bv = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    old_w, old_v = w.get_value(), v.get_value()
    want_v = 0.9 * old_v - 0.3 * av.T @ bv
    f(av, bv)
    np.testing.assert_allclose(v.get_value(), want_v, rtol=1e-12)
    np.testing.assert_allclose(w.get_value(), old_w + want_v - old_v, rtol=1e-12, atol=1e-14)
