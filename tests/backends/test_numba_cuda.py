"""The CUDA backend against the NumPy reference: every scalar op, views, reductions
(per-output and tree), products, convolutions, pooling, softmax, crossentropies, indexing,
device-resident shared variables, GPU arrays in and out, a Keras model trained end to end.
Integer ops, NaN/Inf, broadcasting, random streams and a training step are the tests of
test_numba_cpu.py that take `backend`.

Runs in numba's CUDA simulator (tests/conftest.py sets NUMBA_ENABLE_CUDASIM=1) at small
sizes; on a GPU machine run it with NUMBA_ENABLE_CUDASIM=0 for the real kernels."""
import warnings

import numpy as np
import pytest

import symgraph as sg
from symgraph.backends import numba_cuda, cuda_device
from symgraph.ops.elemwise import TABLE

pytestmark = pytest.mark.usefixtures("fast_simulator")

from .test_numba_cpu import DOMAIN, FLOAT_OPS, API_OPS, check


def both(inputs, outputs, *values, **kw):
    got = sg.function(inputs, outputs, backend="cuda", **kw)(*values)
    want = sg.function(inputs, outputs, backend="numpy", **kw)(*values)
    return got, want


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_scalar_op_matches_the_reference(dtype, rng):
    xs = [sg.tensor(f"x{i}", dtype, (None, None)) for i in range(3)]
    values, exprs = [], []
    for name in FLOAT_OPS:
        lo, hi = DOMAIN.get(name, (-2, 2))
        args = [rng.uniform(lo, hi, size=(2, 3)).astype(dtype) for _ in range(TABLE[name].nin)]
        if name == "where":
            args[0] = args[0] > 0
        values += args
    inputs = [sg.tensor(f"v{i}", v.dtype, (None, None)) for i, v in enumerate(values)]
    at = 0
    for name in FLOAT_OPS:
        exprs.append(getattr(sg, name)(*inputs[at:at + TABLE[name].nin]))
        at += TABLE[name].nin
    del xs
    got, want = both(inputs, exprs, *values, optimize=False)
    for name, g, w in zip(FLOAT_OPS, got, want):
        assert g.dtype == w.dtype, name
        np.testing.assert_allclose(g, w, rtol=2e-6 if dtype == "float32" else 1e-12, atol=1e-7, err_msg=name)


def test_non_contiguous_inputs_and_views(rng):
    x = sg.dmatrix("x")
    base = rng.normal(size=(4, 6))
    exprs = [x.T * 2, x[::-1, 1::2] + 1, x[1:3], x[:, 2], x[1], x.dimshuffle(1, "x", 0), x.reshape((3, 8)),
             x.T.reshape((-1,)), sg.broadcast_to(x[0], (3, 6)), sg.concatenate([x, x[:1]], axis=0),
             sg.concatenate([x.T, x.T], axis=1), sg.zeros((2, 3)), sg.full_like(x, 3.0), sg.stack([x, x]),
             sg.expand_dims(x, 0), sg.squeeze(x[None])]
    for value in (base, base.T.copy().T, base[::-1], base.copy()[:, ::1]):
        got, want = both([x], exprs, value)
        check(got, want, 1e-12)


def test_diagonals_of_views_are_strided_copies(rng):
    """Diagonal on the device: a copy of the strided view np.diagonal gives (cuda_thunks.view),
    for offsets above, below and past the matrix, of a transposed and a sliced input."""
    x = sg.dmatrix("x")
    base = rng.normal(size=(4, 6))
    exprs = [sg.diagonal(x, k) for k in (0, 2, -1, -6)] + [sg.diag(x.T[1:]) * 2, sg.trace(x, 1)]
    f = sg.function([x], exprs, backend="cuda")
    assert not [n for n in f.fgraph.apply_nodes if not isinstance(n.op, numba_cuda.NATIVE + numba_cuda.ON_HOST)]
    for value in (base, base[::-1, 1:]):
        got, want = both([x], exprs, value)
        check(got, want, 1e-12)


@pytest.mark.parametrize("kind", ["sum", "prod", "max", "min", "mean", "all", "any"])
@pytest.mark.parametrize("axis", [None, 0, (0, 2), -1])
def test_reductions(kind, axis, rng):
    x = sg.dtensor3("x")
    xv = rng.uniform(0.5, 1.5, (2, 3, 4))
    if kind in ("all", "any"):
        xv = (xv > 1.2).astype("float64")
    expr = getattr(sg.exp(x) * 0.5 if kind not in ("all", "any") else x, kind)(axis=axis, keepdims=axis == 0)
    got, want = both([x], expr, xv)
    check(got, want, 1e-12)


def test_max_and_min_of_signed_zeros_are_numpys():
    """Of equal values the later, as NumPy's: max of (-0.0, 0.0) is 0.0, of (0.0, -0.0) -0.0
    (a quotient by it is inf or -inf); NaN wins wherever it is."""
    x = sg.fmatrix("x")
    xv = np.array([[-0.0, 0.0], [0.0, -0.0], [np.nan, -0.0], [-0.0, np.nan]], "float32")
    got, want = both([x], [1 / x.max(axis=1), 1 / x.min(axis=1)], xv)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
        assert np.array_equal(np.signbit(g), np.signbit(w))


def test_long_reductions_take_the_tree_kernel(rng):
    x = sg.fmatrix("x")
    xv = rng.normal(size=(2, 300)).astype("float32")
    got, want = both([x], [(x * 2).sum(axis=1), x.max(axis=1), (x * x).mean(), x.argmax(axis=1)], xv)
    check(got, want, 1e-5, atol=1e-5)
    from symgraph.backends.cuda_thunks import Reducer, identity
    reducer = Reducer(identity("float32"), ["float32"], "sum", "float64", "float32")
    np.testing.assert_allclose(reducer([xv], (1,), False).copy_to_host(), xv.sum(axis=1), rtol=1e-5)
    np.testing.assert_allclose(reducer([xv[:, :5]], (1,), False).copy_to_host(), xv[:, :5].sum(axis=1), rtol=1e-5)
    assert sorted(key[2] for key in reducer.kernels) == [False, True]  # tree for 300, per-output for 5


def test_arg_reductions(rng):
    x = sg.dtensor3("x")
    xv = rng.normal(size=(2, 3, 4))
    xv[1, 2, 0] = np.nan
    got, want = both([x], [x.argmax(), x.argmin(axis=1), x.argmax(axis=(0, 2), keepdims=True)], xv)
    check(got, want, 0)


@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)),
                                   ((0, 4), (4, 2)), ((3, 0), (0, 2))])
def test_dot(sa, sb, rng):
    a = sg.tensor("a", "float64", (None,) * len(sa))
    b = sg.tensor("b", "float64", (None,) * len(sb))
    av, bv = rng.normal(size=sa), rng.normal(size=sb)
    got, want = both([a, b], sg.dot(a, b), av, bv)
    check(got, want, 1e-12, atol=1e-12)


def test_matmul_batched_gemm_and_transposes(rng):
    a, b, c = sg.ftensor3("a"), sg.ftensor3("b"), sg.fmatrix("c")
    av, bv = rng.normal(size=(2, 5, 3)).astype("float32"), rng.normal(size=(1, 3, 4)).astype("float32")
    cv = rng.normal(size=(5, 3)).astype("float32")
    w = sg.fmatrix("w")
    wv = rng.normal(size=(3, 4)).astype("float32")
    exprs = [sg.matmul(a, b), sg.batched_dot(a, a.dimshuffle(0, 2, 1)), sg.dot(c, w) * 2 + 1,
             sg.dot(c.T, c), sg.dot(c, c.T) + sg.dot(c, c.T), sg.dot(c, w) + w[0]]
    got, want = both([a, b, c, w], exprs, av, bv, cv, wv)
    check(got, want, 1e-5, atol=1e-5)
    f = sg.function([c, w], sg.dot(c, w) * 2 + w[0], backend="cuda")
    assert any(type(n.op).__name__ == "Gemm" for n in f.fgraph.apply_nodes)


def test_larger_gemm_crosses_several_tiles(rng):
    a, b = sg.dmatrix("a"), sg.dmatrix("b")
    av, bv = rng.normal(size=(7, 9)), rng.normal(size=(9, 5))
    got, want = both([a, b], sg.dot(a, b), av, bv)
    check(got, want, 1e-12, atol=1e-12)


def counted_launches(monkeypatch):
    """The kernels launched through cuda_thunks.launch (every launch of the backend)."""
    from symgraph.backends import cuda_thunks
    launched, launch = [], cuda_thunks.launch

    def counting(kernel, grid, block, *args):
        launched.append(kernel)
        return launch(kernel, grid, block, *args)
    monkeypatch.setattr(cuda_thunks, "launch", counting)
    return launched


def test_transposes_only_products_read_are_read_in_place(rng, monkeypatch):
    """A dense layer's backward pass: x.T @ g and g @ W.T read the transposes through strides
    (no copy launches), and a float32 column sum is one launch (its fold stores float32; a cast
    launch followed it). A transpose something else reads too is made, once."""
    from symgraph.backends import cuda_thunks, numba_cuda
    x, w, g = sg.fmatrix("x"), sg.fmatrix("w"), sg.fmatrix("g")
    xv, wv, gv = (rng.normal(size=s).astype("float32") for s in [(6, 5), (5, 3), (6, 3)])
    f = sg.function([x, w, g], [sg.dot(x.T, g), sg.dot(g, w.T), sg.dot(x, w) + g.sum(axis=0)], backend="cuda")
    assert len(numba_cuda.lazy_views(f.fgraph, numba_cuda.placements(f.fgraph, f.fgraph.inputs))) == 2
    launched = counted_launches(monkeypatch)
    got = f(xv, wv, gv)
    for a, b in zip(got, [xv.T @ gv, gv @ wv.T, xv @ wv + gv.sum(axis=0)]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert len(launched) == 4, launched  # two Dots, the Sum, the Gemm (before: 7)
    copy = cuda_thunks.copy_kernel(2, "float32", "set")
    assert not any(k is copy for k in launched)
    shared = sg.function([x, g], [sg.dot(x.T, g), x.T * 2], backend="cuda")
    assert not numba_cuda.lazy_views(shared.fgraph, numba_cuda.placements(shared.fgraph, shared.fgraph.inputs))
    launched.clear()
    for a, b in zip(shared(xv, gv), [xv.T @ gv, xv.T * 2]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert sum(k is copy for k in launched) == 1


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(padding="same", dilation=2),
                                dict(groups=2), dict(padding=(1, 0), stride=(1, 2))])
@pytest.mark.exhaustive
def test_conv2d_and_its_gradients(kw, rng):
    x, w = sg.dtensor4("x"), sg.dtensor4("w")
    xv = rng.normal(size=(2, 2, 5, 5))
    wv = rng.normal(size=(2, 2 // kw.get("groups", 1), 3, 3))
    y = sg.nn.conv2d(x, w, **kw)
    loss = (y * y).sum()
    got, want = both([x, w], [y] + sg.grad(loss, [x, w]), xv, wv)
    check(got, want, 1e-10, atol=1e-10)


def test_conv2d_transpose_and_pooling(rng):
    x, w = sg.dtensor4("x"), sg.dtensor4("w")
    xv, wv = rng.normal(size=(1, 2, 4, 4)), rng.normal(size=(2, 3, 2, 2))
    exprs = [sg.nn.conv2d_transpose(x, w, stride=2), sg.nn.max_pool2d(x, 2), sg.nn.avg_pool2d(x, 2),
             sg.nn.max_pool2d(x, 3, stride=1, padding="same")]
    exprs += sg.grad(sum((e * e).sum() for e in exprs), [x, w])
    got, want = both([x, w], exprs, xv, wv)
    check(got, want, 1e-10, atol=1e-10)


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_and_log_softmax(axis, rng):
    x = sg.fmatrix("x")
    xv = (rng.normal(size=(3, 5)) * 30).astype("float32")  # large values: the max shift matters
    got, want = both([x], [sg.nn.softmax(x, axis), sg.nn.log_softmax(x, axis)], xv)
    check(got, want, 1e-5, atol=1e-6)


def test_crossentropies_with_integer_and_dense_targets(rng):
    x, t, d = sg.fmatrix("x"), sg.ivector("t"), sg.fmatrix("d")
    xv = rng.normal(size=(4, 3)).astype("float32")
    tv = np.array([0, 2, 1, -1], "int32")
    dv = np.eye(3, dtype="float32")[[0, 2, 1, 2]]
    exprs = [sg.nn.categorical_crossentropy(sg.nn.softmax(x), t), sg.nn.categorical_crossentropy(sg.nn.softmax(x), d),
             sg.nn.categorical_crossentropy(sg.nn.sigmoid(x), t)]
    exprs += sg.grad(exprs[0].sum() + exprs[1].sum(), [x])
    for targets in (dv, dv[1:2]):  # dense rows, and one row broadcast to every row
        got, want = both([x, t, d], exprs, xv, tv, targets)
        check(got, want, 1e-5, atol=1e-6)
    f = sg.function([x, t], exprs[0], backend="cuda")
    with pytest.raises(IndexError, match="out of range"):
        f(xv, np.array([0, 3, 1, 1], "int32"))


def test_crossentropy_gradient_and_the_loss_with_it_are_one_kernel(rng):
    x, t, g = sg.ftensor3("x"), sg.imatrix("t"), sg.fmatrix("g")
    op = sg.ops.nn.CrossentropySoftmaxGrad()
    xv = (rng.normal(size=(2, 3, 5)) * 4).astype("float32")
    tv = np.array([[0, 4, -1], [-5, 2, 3]], "int32")
    gv = rng.normal(size=(2, 3)).astype("float32")
    got, want = both([x, t, g], [op(x, t, g), op(x, t, sg.broadcast_to(g[:, :1], t.shape))], xv, tv, gv)
    check(got, want, 1e-5, atol=1e-6)
    f = sg.function([x, t, g], op(x, t, g), backend="cuda")
    with pytest.raises(IndexError, match="out of range"):
        f(xv, np.array([[0, 5, 1], [1, 1, 1]], "int32"), gv)
    # with each row's loss too (CrossentropySoftmaxWithGrad, a training step's): the same kernel
    both_outputs = sg.ops.nn.CrossentropySoftmaxWithGrad()(x, t, g)
    got, want = both([x, t, g], both_outputs, xv, tv, gv)
    check(got, want, 1e-5, atol=1e-6)
    with pytest.raises(IndexError, match="out of range"):
        sg.function([x, t, g], both_outputs, backend="cuda")(xv, np.array([[0, 5, 1], [1, 1, 1]], "int32"), gv)
    # dense target rows (one-hot, probabilities, one row broadcast to all)
    d = sg.ftensor3("d")
    dv = np.abs(rng.normal(size=(2, 3, 5))).astype("float32")
    dense = [op(x, d, g)] + sg.ops.nn.CrossentropySoftmaxWithGrad()(x, d, g)
    for targets in (dv, dv[:1, :1]):
        got, want = both([x, d, g], dense, xv, targets, gv)
        check(got, want, 1e-5, atol=1e-6)
        got, want = both([x, d], sg.nn.categorical_crossentropy(sg.nn.softmax(x), d), xv, targets)  # the loss alone
        check(got, want, 1e-5, atol=1e-6)


def test_gather_and_scatter_add_rows(rng, monkeypatch):
    x, y, idx = sg.dmatrix("x"), sg.dmatrix("y"), sg.lvector("idx")
    xv, yv = rng.normal(size=(5, 3)), rng.normal(size=(6, 3))
    iv = np.array([0, 4, 4, -1, 2, 0])
    exprs = [x[idx], sg.inc_subtensor(x[idx], y), sg.inc_subtensor(x[idx], 1.0), sg.set_subtensor(x[1:3], 0.0),
             sg.inc_subtensor(x[:, ::2], y[:5, :2]), sg.set_subtensor(x[idx[:2]], y[:2]), x[x > 0]]
    from symgraph.backends import executor
    monkeypatch.setattr(executor, "_warned", set())  # the warning is once per process
    # A set at repeated rows would race, and a boolean mask's length is known only on the
    # host: both run on the host, by design and with a warning.
    with pytest.warns(UserWarning, match="no kernel for") as warned:
        got, want = both([x, idx, y], exprs, xv, iv, yv)
    assert {str(w.message).split(";")[0] for w in warned} == {
        "cuda backend: no kernel for Subtensor", "cuda backend: no kernel for IncSubtensor"}
    check(got, want, 1e-12)
    f = sg.function([x, idx, y], [x[idx], sg.inc_subtensor(x[idx], y)], backend="cuda")
    with pytest.raises(IndexError, match="out of bounds"):
        f(xv, np.array([0, 5, 1, 1, 1, 1]), yv)


def test_shared_variables_stay_on_the_device_between_calls(rng):
    x = sg.fvector("x")
    w = sg.shared(np.ones(3, "float32"), "w")
    frozen = sg.shared(np.full(3, 2.0, "float32"), "frozen")
    f = sg.function([x], (x * w * frozen).sum(), updates=[(w, w + x)], backend="cuda")
    f(np.ones(3, "float32"))
    resident = frozen.container[0]
    assert cuda_device.is_device(w.container[0]) and cuda_device.is_device(resident)
    f(np.ones(3, "float32"))
    assert frozen.container[0] is resident  # not uploaded again
    np.testing.assert_array_equal(w.get_value(), [3, 3, 3])
    assert isinstance(w.get_value(), np.ndarray)
    g = sg.function([x], x * w, backend="numba")  # another backend reads the same state
    np.testing.assert_array_equal(g(np.ones(3, "float32")), [3, 3, 3])
    w.set_value(np.zeros(3, "float32"))
    assert f(np.ones(3, "float32")) == 0


def test_gpu_arrays_in_and_out_without_copies(rng):
    from numba import cuda
    x = sg.fmatrix("x")
    f = sg.function([x], [x * 2, x.sum(axis=0)], backend="cuda", device_outputs=True)
    xv = rng.normal(size=(3, 4)).astype("float32")
    doubled, sums = f(cuda.to_device(xv))
    assert cuda_device.is_device(doubled) and cuda_device.is_device(sums)
    np.testing.assert_allclose(doubled.copy_to_host(), xv * 2)
    np.testing.assert_allclose(sums.copy_to_host(), xv.sum(axis=0), rtol=1e-6)
    g = sg.function([x], x * 2, backend="cuda")
    np.testing.assert_allclose(g(cuda.to_device(xv)), xv * 2)       # a GPU input, a NumPy output
    with pytest.raises(TypeError, match="GPU array of dtype float64"):
        g(cuda.to_device(xv.astype("float64")))
    with pytest.raises(ValueError, match="expects 2 dimensions"):
        g(cuda.to_device(xv[0]))
    np.testing.assert_allclose(sg.function([x], x + 1, backend="numba")(cuda.to_device(xv)), xv + 1)
    with pytest.raises(ValueError, match="needs backend='cuda'"):
        sg.function([x], x, backend="numba", device_outputs=True)


def test_a_failed_call_changes_no_shared_variable():
    x = sg.fmatrix("x")
    w = sg.shared(np.ones((3, 2), "float32"), "w")
    f = sg.function([x], sg.dot(x, w).sum(), updates=[(w, w * 2)], backend="cuda")
    f(np.ones((1, 3), "float32"))
    before = w.get_value()
    with pytest.raises(ValueError):
        f(np.ones((2, 4), "float32"))
    np.testing.assert_array_equal(w.get_value(), before)


@pytest.mark.slow  # (7-28 s cold; the quick tier ran 12 minutes cold: its parts stay tested there, CI runs both)
def test_keras_convnet_trains_end_to_end_on_the_device(rng):
    from symgraph import layers as L
    x = rng.normal(size=(8, 1, 6, 6)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 0).astype("int32")
    losses = {}
    for backend in ("cuda", "numpy"):
        L.set_seed(3)
        model = L.Sequential([L.Input((1, 6, 6)), L.Conv2D(2, 3, activation="relu"), L.MaxPool2D(2),
                              L.Flatten(), L.Dropout(0.25), L.Dense(2, activation="softmax")])
        model.compile(optimizer=sg.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", backend=backend)
        history = model.fit(x, y, epochs=2, batch_size=4, verbose=0, shuffle=False)
        losses[backend] = (history.history["loss"], model.predict(x))
        if backend == "cuda":
            assert any(cuda_device.is_device(w.container[0]) for w in model.trainable_weights)
    np.testing.assert_allclose(losses["cuda"][0], losses["numpy"][0], rtol=1e-4)
    np.testing.assert_allclose(losses["cuda"][1], losses["numpy"][1], rtol=1e-4, atol=1e-6)


def test_every_api_op_runs_and_the_host_fallbacks_are_the_listed_ones(monkeypatch):
    x, y = sg.dmatrix("x"), sg.dmatrix("y")
    i = sg.lvector("i")
    rng = sg.random.RandomStream(1)
    graphs = [getattr(sg, name)(*([x, y, x][:TABLE[name].nin])) for name in API_OPS] + [
        sg.clip(x, 0, 1), sg.cast(x, "int32"), x.sum(), x.mean(axis=0), x.max(), x.min(), x.prod(), x.argmax(),
        x.argmin(axis=1), x.var(), x.std(), x.all(), x.any(), sg.logsumexp(x), sg.dot(x, y),
        sg.matmul(x, y), sg.tensordot(x, y, 1), sg.outer(x[0], y[0]), sg.batched_dot(x, y),
        x.reshape((-1,)), x.flatten(), x.T, x.dimshuffle(1, "x", 0), sg.expand_dims(x, 0), sg.squeeze(x[None]),
        sg.concatenate([x, y]), sg.stack([x, y]), sg.broadcast_to(x[0], (3, 2)), sg.zeros((2, 2)), sg.ones_like(x),
        sg.full_like(x, 3), sg.shape_padleft(x), x[1:, ::2], x[i], sg.set_subtensor(x[0], 1.0),
        sg.inc_subtensor(x[i], 1.0), rng.uniform((2,)), rng.normal((2,)), rng.binomial((2,)), sg.nn.softmax(x),
        sg.nn.log_softmax(x), sg.nn.categorical_crossentropy(sg.nn.softmax(x), i), sg.nn.relu(x),
        sg.grad(x.sum(), x)]
    n = x.shape[0]  # symbolic sizes, so arange and eye are not folded into constants
    made_here = [sg.cumsum(x, axis=0), sg.cumsum(x[::-1], axis=1), sg.cumsum(x), sg.arange(n), sg.arange(1, n, 2),
                 sg.eye(n), sg.eye(n, 4, 1), sg.repeat(x, 2, axis=1), sg.repeat(x.T, n, axis=0),
                 sg.tile(x, (2, 1)), sg.tile(x[0], (3,))]
    for optimize in (True, False):
        f = sg.function([x, y, i], graphs, backend="cuda", optimize=optimize, on_unused_input="ignore")
        missing = {type(n.op).__name__ for n in f.fgraph.apply_nodes
                   if not isinstance(n.op, numba_cuda.NATIVE + numba_cuda.ON_HOST)}
        assert not missing, missing
        f = sg.function([x, y, i], made_here, backend="cuda", optimize=optimize, on_unused_input="ignore")
        assert all(isinstance(n.op, numba_cuda.NATIVE + numba_cuda.ON_HOST) for n in f.fgraph.apply_nodes)
    values = [np.arange(6.0).reshape(3, 2) - 2, np.ones((3, 2)), np.array([0, 2])]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no host fallback among these
        got, want = both([x, y, i], made_here, *values, on_unused_input="ignore")
    check(got, want, 1e-12)
    from symgraph.backends import executor
    monkeypatch.setattr(executor, "_warned", set())  # the warning is once per process
    with pytest.warns(UserWarning, match="no kernel for Subtensor"):
        got, want = both([x], x[x > 0], values[0])
    check(got, want, 0)


def test_running_sums_products_and_the_gradients_of_cumprod_and_sort_run_on_the_device(rng, monkeypatch):
    """cumsum, cumprod and the linear recurrence of cumprod's gradient, and sort's gradient's
    scatter and gather (first and second order) are one kernel each, no host fallback (sort's
    argsort stays NumPy's): any axis, either way, a view, integers, zeros and -0.0 as NumPy's."""
    from symgraph.ops.extra_ops import LinearRecurrence
    from symgraph.ops.sorting import SortedLike
    x, a = sg.dtensor3("x"), sg.dvector("a")
    i = sg.itensor3("i")
    xv = rng.normal(size=(2, 3, 4))
    xv[0, 1, 2] = 0.0
    xv[0, 0, 1] = -0.0  # (the first of its line along axis 0: cumsum keeps its sign)
    iv = rng.integers(-3, 4, size=(2, 3, 4)).astype("int32")
    g = sg.grad((sg.cumprod(x, axis=2) * sg.cos(x)).sum(), x)
    outs = [sg.cumsum(x, axis=0), sg.cumsum(x[:, ::-1], axis=1), sg.cumprod(x, axis=1), sg.cumprod(x),
            sg.cumsum(i, axis=2), sg.cumprod(i, axis=0), g, sg.grad((g * x).sum(), x),
            LinearRecurrence(2, reverse=True)(a, x), LinearRecurrence(0)(x, x[::-1] * 2)]
    for axis in (0, 1, 2):
        by_sort = sg.grad((sg.sort(x, axis=axis) * sg.sin(x)).sum(), x)
        outs += [by_sort, sg.grad((by_sort * x).sum(), x)]
    outs.append(SortedLike(1)(sg.argsort(x, axis=1)[:, :2], x))  # (fewer positions than x's line)
    av = rng.normal(size=4)
    from symgraph.backends import executor
    monkeypatch.setattr(executor, "_warned", set())  # (the warning is once per process)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no host fallback but the sorts')
        warnings.filterwarnings("ignore", message="cuda backend: no kernel for (Sort|ArgSort);")
        got = sg.function([x, i, a], outs, backend="cuda")(xv, iv, av)
    want = sg.function([x, i, a], outs, backend="numpy")(xv, iv, av)
    for g_, w_ in zip(got, want):
        assert g_.dtype == w_.dtype
        np.testing.assert_allclose(g_, w_, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(np.signbit(got[0]), np.signbit(want[0]))  # (-0.0 kept)


@pytest.mark.parametrize("kw", [dict(kernel=2), dict(kernel=3, stride=2, padding=1)])
def test_max_poolings_second_derivative_runs_on_the_device(kw, rng, monkeypatch):
    """A gradient penalty through max pooling: MaxPool2DGrad's gradient, MaxPoolPick (each
    window's entry at the maximum), is a kernel too; the values as the reference's."""
    x = sg.dtensor4("x")
    xv = rng.normal(size=(2, 2, 5, 6))
    pooled = sg.nn.max_pool2d(sg.tanh(x), **kw)
    g = sg.grad((pooled * sg.cos(pooled)).sum(), x)
    outs = [g, sg.grad((g ** 2).sum(), x)]
    from symgraph.backends import executor
    monkeypatch.setattr(executor, "_warned", set())  # (the warning is once per process)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no host fallback)
        f = sg.function([x], outs, backend="cuda")
        got = f(xv)
    assert any(type(n.op).__name__ == "MaxPoolPick" for n in f.fgraph.apply_nodes)
    want = sg.function([x], outs, backend="numpy")(xv)
    for g_, w_ in zip(got, want):
        np.testing.assert_allclose(g_, w_, rtol=1e-12, atol=1e-12)


def test_a_clear_error_without_a_gpu_or_the_simulator(monkeypatch):
    from numba import cuda
    monkeypatch.setattr(cuda_device, "_cuda", None)
    monkeypatch.setattr(cuda, "is_available", lambda: False)
    x = sg.fvector("x")
    with pytest.raises(cuda_device.CudaUnavailableError, match="NUMBA_ENABLE_CUDASIM=1"):
        sg.function([x], x + 1, backend="cuda")


def test_numba_cuda_loads_on_a_numpy_without_row_stack(monkeypatch):
    """numba-cuda 0.30 registers np.row_stack when its target first loads; NumPy 2.5 removed
    that alias, and on the GPU machine every kernel's first compile raised AttributeError."""
    monkeypatch.delattr(np, "row_stack", raising=False)
    monkeypatch.setattr(cuda_device, "_cuda", None)
    cuda_device.cuda()
    assert np.row_stack is np.vstack


QUIET_SMALL_GRIDS = """
import os
os.environ["NUMBA_ENABLE_CUDASIM"] = "0"
from numba.cuda import dispatcher
from symgraph.backends import cuda_device
cuda_device._quiet_small_grids()
print(dispatcher.config.CUDA_LOW_OCCUPANCY_WARNINGS)
"""


@pytest.mark.parametrize("setting, expect", [(None, "0"), ("1", "1")])
def test_small_grids_launch_without_numbas_occupancy_warning(setting, expect):
    """numba-cuda warns at every launch of under 128 blocks; the backend's grids fit the data,
    so its small launches are right (on the GPU machine the warning failed two tests and
    reached users training on small batches). A user's own NUMBA_CUDA_LOW_OCCUPANCY_WARNINGS
    stands. (A process of its own: the real CUDA target, which needs no GPU to be imported.)"""
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CUDA_LOW_OCCUPANCY_WARNINGS"}
    if setting is not None:
        env["NUMBA_CUDA_LOW_OCCUPANCY_WARNINGS"] = setting
    done = subprocess.run([sys.executable, "-c", QUIET_SMALL_GRIDS], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == expect


def test_float32_steps_compute_in_float32():
    """A float literal in a float32 step is typed float32, as NumPy's weak Python scalars are:
    numba would type it float64 and compute the step in double (hard_sigmoid's 0.2, sigmoid's
    1.0). float64 steps keep their literals."""
    import re
    from symgraph.backends.cuda_codegen import cuda_step_source
    bare = re.compile(r"(?<!np\.float32\()(?<![\w.])\d+\.\d+")
    for name in ("sigmoid", "hard_sigmoid", "gelu", "reciprocal", "softplus"):
        op = TABLE[name]
        args = [f"x{i}" for i in range(op.nin)]
        f32 = cuda_step_source(op, args, ["float32"] * op.nin, "float32")
        assert "np.float32(1.0)" in f32 or "np.float32(0." in f32, (name, f32)
        assert not bare.search(f32), (name, f32)
        assert bare.search(cuda_step_source(op, args, ["float64"] * op.nin, "float64")), name
    x = sg.fvector("x")
    xv = np.linspace(-4, 4, 101).astype("float32")
    got, want = both([x], [sg.nn.hard_sigmoid(x), sg.nn.sigmoid(x)], xv)
    check(got, want, 1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float_remainder_at_infinities_and_zeros_is_numpys(dtype):
    """np.mod's float rules (fmod moved to the divisor's sign): numba-cuda's `%` gave NaN for
    0 % inf on a GPU (the fuzz test found it there; the simulator computes `%` with NumPy)."""
    from symgraph.backends.cuda_codegen import cuda_step_source
    assert "math.fmod(x0, x1)" in cuda_step_source(TABLE["mod"], ["x0", "x1"], [dtype] * 2, dtype)
    inf, nan = np.inf, np.nan
    a = np.array([0, -0.0, 5, -5, 5, -5, 5, inf, -inf, nan, 3, 7.5, -7.5, 0], dtype)
    b = np.array([inf, inf, inf, inf, -inf, -inf, 0, 3, 3, 2, nan, 2, 2, -3], dtype)
    x, y = sg.tensor("x", dtype, (None,)), sg.tensor("y", dtype, (None,))
    got, want = both([x, y], sg.mod(x, y), a, b)
    np.testing.assert_array_equal(got, want)
    numbers = ~np.isnan(want)  # (a NaN's sign bit is the hardware's: x86's NaN is negative, a GPU's not)
    np.testing.assert_array_equal(np.signbit(got[numbers]), np.signbit(want[numbers]))


def test_nan_guard_and_bad_indices_fail_cleanly():
    x = sg.fvector("x")
    w = sg.shared(np.ones(3, "float32"), "w")
    f = sg.function([x], sg.log(x).sum(), updates=[(w, w * sg.log(x))], backend="cuda", nan_guard=True)
    f(np.ones(3, "float32"))
    before = w.get_value()
    with pytest.raises(sg.NonFiniteError):
        f(np.array([1, 0, 1], "float32"))
    np.testing.assert_array_equal(w.get_value(), before)
    i = sg.lscalar("i")
    g = sg.function([x, i], x[i] * 2, backend="cuda")
    assert g(np.arange(3, dtype="float32"), -1) == 4
    with pytest.raises(IndexError):
        g(np.arange(3, dtype="float32"), 3)


def test_float_constants_are_uploaded_once_and_shapes_stay_on_the_host(rng):
    x = sg.fmatrix("x")
    scale = np.linspace(1, 2, 4, dtype="float32")  # an array constant is a kernel input
    f = sg.function([x], (sg.exp(x) * scale).reshape((2, 6)), backend="cuda")
    program = next(c.cell_contents for c in f._run.__closure__
                   if getattr(c.cell_contents, "__name__", "") == "run")
    constants = [v for k, v in program.__globals__.items() if k[0] == "c" and k[1:].isdigit()]
    assert any(cuda_device.is_device(v) for v in constants)                            # scale
    assert any(isinstance(v, np.ndarray) and v.dtype.kind == "i" for v in constants)   # (2, 6)
    xv = rng.normal(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(f(xv), (np.exp(xv) * scale).reshape(2, 6), rtol=1e-6)


def test_a_shared_dataset_sliced_by_index_stays_on_the_device(rng):
    """Theano's idiom: the whole dataset in GPU memory, each call slices a minibatch by index."""
    data = sg.shared(rng.normal(size=(12, 3)).astype("float32"), "data")
    labels = sg.shared(rng.integers(0, 2, 12).astype("int32"), "labels")
    w = sg.shared(np.zeros((3, 2), "float32"), "w")
    i, x, y = sg.lscalar("i"), sg.fmatrix("x"), sg.ivector("y")
    loss = sg.nn.categorical_crossentropy(sg.nn.softmax(sg.dot(x, w)), y).mean()
    givens = {x: data[i * 4:(i + 1) * 4], y: labels[i * 4:(i + 1) * 4]}
    steps = [sg.function([i], loss, updates=[(w, w - 0.5 * sg.grad(loss, w))], givens=givens, backend=b)
             for b in ("cuda", "numpy")]
    w_start = w.get_value()
    results = {}
    for step, name in zip(steps, ("cuda", "numpy")):
        w.set_value(w_start)
        results[name] = [float(step(k)) for k in (0, 1, 2, 0)] + [w.get_value()]
        if name == "cuda":
            assert cuda_device.is_device(data.container[0]) and cuda_device.is_device(labels.container[0])
    np.testing.assert_allclose(results["cuda"][:4], results["numpy"][:4], rtol=1e-5)
    np.testing.assert_allclose(results["cuda"][4], results["numpy"][4], rtol=1e-5, atol=1e-7)


def test_the_simulators_shared_arrays_are_one_per_line_and_block():
    """conftest replaces the simulator's shared-array allocation by a locked one (its own had a
    check-then-set race: 1 launch in 1000 lost a thread's writes); each line must still get its
    own array, shared by the block's threads."""
    if not cuda_device.simulated():
        pytest.skip("a check of the simulator")
    from numba import float64
    cuda = cuda_device.cuda()
    namespace = {"cuda": cuda, "float64": float64}
    exec("""def kernel(out):
    a = cuda.shared.array(32, float64)
    b = cuda.shared.array(32, float64)
    t = cuda.threadIdx.x
    a[t] = t
    b[t] = -2 * t
    cuda.syncthreads()
    if t == 0:
        sa, sb = 0.0, 0.0
        for i in range(32):
            sa += a[i]
            sb += b[i]
        out[0], out[1] = sa, sb
""", namespace)
    out = np.zeros(2)
    cuda.jit(namespace["kernel"])[1, 32](out)
    assert out.tolist() == [496.0, -992.0]


def test_signed_integers_and_uint64s_compare_exactly():
    """NumPy compares an int64 with a uint64 exactly; numba's own comparison goes through
    float64 (2^63 - 1 < 2^63 False), on a GPU too, so the step is spelled out (the simulator
    compares NumPy scalars, exactly either way: hence the spelling's check)."""
    from symgraph.backends.cuda_codegen import cuda_step_source
    assert "np.uint64(x0) < x1" in cuda_step_source(TABLE["lt"], ["x0", "x1"], ["int64", "uint64"], "bool")
    assert "np.uint64(x1) > x0" in cuda_step_source(TABLE["lt"], ["x0", "x1"], ["uint64", "int64"], "bool")
    s, w = sg.lvector("s"), sg.tensor("w", "uint64", (None,))
    sv, wv = np.array([2 ** 63 - 1, -1, -5, 7]), np.array([2 ** 63, 2 ** 64 - 1, 3, 7], "uint64")
    got, want = both([s, w], [s < w, sg.eq(s, w), w >= s], sv, wv)
    for g, ref in zip(got, want):
        np.testing.assert_array_equal(g, ref)
