"""sg.nn ops against references computed here with plain loops, on both backends, and their
gradients against finite differences."""
import numpy as np
import pytest

import symgraph as sg
from tests.conftest import compiles_in_a_fresh_process_without_np_empty, run


def reference_conv2d(x, w, stride, pad, dilation, groups):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (pt, pb), (pl, pr) = pad
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    sh, sw = stride
    dh, dw = dilation
    oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + pl + pr - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, o, oh, ow))
    per = o // groups
    for b in range(n):
        for f in range(o):
            g = f // per
            for y in range(oh):
                for z in range(ow):
                    acc = 0.0
                    for ci in range(cg):
                        for i in range(kh):
                            for j in range(kw):
                                acc += xp[b, g * cg + ci, y * sh + i * dh, z * sw + j * dw] * w[f, ci, i, j]
                    out[b, f, y, z] = acc
    return out


CONFIGS = [  # (channels, filters, groups, kernel, stride, padding, dilation, size)
    (1, 2, 1, (3, 3), 1, 0, 1, (6, 7)),
    (2, 4, 1, (3, 3), 1, 1, 1, (5, 5)),
    (2, 3, 1, (2, 3), (2, 1), ((1, 0), (2, 1)), 1, (7, 6)),
    (4, 4, 2, (3, 3), 2, 1, 1, (8, 8)),
    (3, 6, 3, (3, 3), 1, 2, 2, (7, 7)),
    (2, 2, 1, (1, 1), 1, 0, 1, (4, 4)),
]


def _padding_pairs(padding, kernel, size, stride, dilation):
    params = sg.ops.conv.ConvParams(stride, padding, dilation, 1)
    return params.pads(size, kernel)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_conv2d_matches_a_direct_loop(config, backend, rng):
    c, o, g, k, stride, padding, dilation, size = config
    xv = rng.normal(size=(2, c) + size)
    wv = rng.normal(size=(o, c // g) + k)
    x, w = sg.dtensor4("x"), sg.dtensor4("w")
    out = run([x, w], sg.nn.conv2d(x, w, stride, padding, dilation, g), xv, wv, backend=backend)
    pads = _padding_pairs(padding, k, size, stride, dilation)
    ref = reference_conv2d(xv, wv, sg.ops.conv._pair(stride, ""), pads, sg.ops.conv._pair(dilation, ""), g)
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-10)


def test_same_padding_keeps_the_size_and_static_shapes():
    x = sg.tensor("x", "float32", (None, 3, 9, 9))
    w = sg.tensor("w", "float32", (8, 3, 3, 3))
    assert sg.nn.conv2d(x, w, padding="same").type.shape == (None, 8, 9, 9)
    assert sg.nn.conv2d(x, w, stride=2, padding="same").type.shape == (None, 8, 5, 5)
    assert sg.nn.conv2d(x, w).type.shape == (None, 8, 7, 7)
    with pytest.raises(ValueError, match="channels"):
        sg.nn.conv2d(x, sg.tensor("v", "float32", (8, 4, 3, 3)))
    with pytest.raises(ValueError, match="groups"):
        sg.nn.conv2d(x, sg.tensor("u", "float32", (8, 1, 3, 3)), groups=2)


@pytest.mark.parametrize("config", CONFIGS[:5])
def test_conv2d_gradients(config, rng):
    c, o, g, k, stride, padding, dilation, size = config
    xv = rng.normal(size=(1, c) + size)
    wv = rng.normal(size=(o, c // g) + k)
    sg.verify_grad(lambda x, w: sg.nn.conv2d(x, w, stride, padding, dilation, g), [xv, wv], rng=rng, n_tests=1)


def test_conv2d_second_derivative(rng):
    xv, wv = rng.normal(size=(1, 1, 4, 4)), rng.normal(size=(1, 1, 2, 2))
    sg.verify_grad(lambda x, w: sg.grad((sg.nn.conv2d(x, w) ** 2).sum(), w), [xv, wv], rng=rng, n_tests=1)


def test_conv2d_transpose_is_the_adjoint_of_conv2d(rng):
    xv, wv = rng.normal(size=(2, 3, 7, 7)), rng.normal(size=(4, 3, 3, 3))
    gv = rng.normal(size=(2, 4, 4, 4))
    x, w, g = sg.dtensor4("x"), sg.dtensor4("w"), sg.dtensor4("g")
    y = run([x, w], sg.nn.conv2d(x, w, stride=2, padding=1), xv, wv)
    t = run([g, w], sg.nn.conv2d_transpose(g, w, stride=2, padding=1), gv, wv)
    assert t.shape == (2, 3, 7, 7)
    np.testing.assert_allclose((y * gv).sum(), (xv * t).sum(), rtol=1e-10)  # <conv x, g> = <x, conv^T g>
    sg.verify_grad(lambda a, b: sg.nn.conv2d_transpose(a, b, stride=2, padding=1, output_padding=1),
                   [gv[:1], wv], rng=rng, n_tests=1)


def reference_pool(x, k, s, pad, how):
    n, c, h, w = x.shape
    fill = -np.inf if how == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=fill)
    oh, ow = (h + 2 * pad - k) // s + 1, (w + 2 * pad - k) // s + 1
    out = np.zeros((n, c, oh, ow))
    for y in range(oh):
        for z in range(ow):
            win = xp[:, :, y * s:y * s + k, z * s:z * s + k]
            out[:, :, y, z] = win.max(axis=(2, 3)) if how == "max" else win.mean(axis=(2, 3))
    return out


@pytest.mark.parametrize("k,s,pad", [(2, None, 0), (3, 2, 1), (3, 1, 0), (2, 1, 1)])
@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.exhaustive
def test_pooling_matches_loops(k, s, pad, backend, rng):
    xv = rng.normal(size=(2, 3, 7, 8))
    x = sg.dtensor4("x")
    mx, av = run([x], [sg.nn.max_pool2d(x, k, s, pad), sg.nn.avg_pool2d(x, k, s, pad)], xv, backend=backend)
    np.testing.assert_allclose(mx, reference_pool(xv, k, s or k, pad, "max"))
    np.testing.assert_allclose(av, reference_pool(xv, k, s or k, pad, "avg"), rtol=1e-12)


@pytest.mark.parametrize("size", [(7, 7), (8, 5)])
@pytest.mark.parametrize("k, s", [(3, 2), (2, 2), (2, 1)])
@pytest.mark.exhaustive  # (each window geometry compiles pooling loops of its own: seconds each)
def test_same_padded_pooling_on_odd_sizes(k, s, size, rng):
    xv = rng.normal(size=(2, 2) + size)
    x = sg.dtensor4("x")
    expr = [sg.nn.max_pool2d(x, k, s, "same"), sg.grad(sg.nn.max_pool2d(x, k, s, "same").sum(), x)]
    got = run([x], expr, xv, backend="numba")
    want = run([x], expr, xv, backend="numpy")
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_pooling_gradients_route_to_the_maximum(rng):
    xv = rng.permutation(np.arange(2 * 2 * 6 * 6, dtype=float)).reshape(2, 2, 6, 6) / 10  # no ties
    sg.verify_grad(lambda a: sg.nn.max_pool2d(a, 2), [xv], rng=rng, n_tests=1)
    sg.verify_grad(lambda a: sg.nn.max_pool2d(a, 3, 2, 1), [xv], rng=rng, n_tests=1)
    sg.verify_grad(lambda a: sg.nn.avg_pool2d(a, 3, 2, 1), [xv], rng=rng, n_tests=1)
    x = sg.dtensor4("x")
    g = run([x], sg.grad(sg.nn.max_pool2d(x, 2).sum(), x), xv)
    assert g.sum() == 2 * 2 * 3 * 3 and set(np.unique(g)) == {0.0, 1.0}


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_second_derivatives_through_max_pooling(backend, rng):
    """max_pool2d's gradient (MaxPool2DGrad) is linear in the incoming gradient, and its own
    gradient picks at each window's maximum (MaxPoolPick): a gradient penalty's derivative
    through pooling had come out as if the pooling's gradient were constant (zero through it)."""
    xv = rng.permutation(np.arange(1 * 2 * 5 * 5, dtype=float)).reshape(1, 2, 5, 5) / 10  # no ties
    wv = rng.normal(size=(2, 2, 2, 2))

    def penalty(a, w):  # the squared gradient of a pooled convnet's output, WGAN-GP's term
        out = (sg.nn.max_pool2d(sg.tanh(sg.nn.conv2d(a, w, padding=1)), 3, 2, 1) ** 2).sum()
        return (sg.grad(out, a) ** 2).sum()
    sg.verify_grad(penalty, [xv, wv], rng=rng, n_tests=1, backend=backend)
    x = sg.dtensor4("x")
    g = sg.grad(sg.nn.max_pool2d(x, 2).sum(), x)
    picked = run([x], sg.grad((g * x).sum(), x), xv, backend=backend)  # d/dx sum(mask * x): the mask
    np.testing.assert_array_equal(picked, run([x], g, xv))


def test_softmax_family(rng):
    xv = rng.normal(size=(3, 5)) * 10
    x = sg.dmatrix("x")
    sm, lsm = run([x], [sg.nn.softmax(x), sg.nn.log_softmax(x, axis=0)], xv)
    e = np.exp(xv - xv.max(1, keepdims=True))
    np.testing.assert_allclose(sm, e / e.sum(1, keepdims=True), rtol=1e-12)
    l0 = xv - xv.max(0) - np.log(np.exp(xv - xv.max(0)).sum(0))
    np.testing.assert_allclose(lsm, l0, rtol=1e-12)
    sg.verify_grad(lambda a: sg.nn.softmax(a), [xv / 10], rng=rng)
    sg.verify_grad(lambda a: sg.nn.log_softmax(a, axis=0), [xv / 10], rng=rng)


def test_crossentropies(rng):
    logits = rng.normal(size=(4, 3))
    labels = np.array([0, 2, 1, 2], "int32")
    onehot = np.eye(3)[labels]
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    p, y, t = sg.dmatrix("p"), sg.ivector("y"), sg.dmatrix("t")
    a, b, c = run([p, y, t], [sg.nn.categorical_crossentropy(p, y), sg.nn.categorical_crossentropy(p, t),
                              sg.nn.categorical_crossentropy(p, y, from_logits=True)], probs, labels, onehot)
    np.testing.assert_allclose(a, -np.log(probs[np.arange(4), labels]), rtol=1e-12)
    np.testing.assert_allclose(b, a, rtol=1e-12)
    np.testing.assert_allclose(run([p, y], sg.nn.categorical_crossentropy(p, y, from_logits=True), logits, labels),
                               -np.log(probs[np.arange(4), labels]), rtol=1e-12)
    sg.verify_grad(lambda q, r: sg.nn.categorical_crossentropy(sg.nn.softmax(q), r), [logits, onehot], rng=rng)
    sg.verify_grad(lambda q: sg.nn.categorical_crossentropy(q, labels), [probs], rng=rng)
    o, tt = rng.uniform(0.1, 0.9, (3, 2)), rng.uniform(0, 1, (3, 2))
    bce = run([p, t], sg.nn.binary_crossentropy(p, t), o, tt)
    np.testing.assert_allclose(bce, -(tt * np.log(o) + (1 - tt) * np.log(1 - o)), rtol=1e-12)
    bl = run([p, t], sg.nn.binary_crossentropy(p, t, from_logits=True), logits[:3, :2], tt)
    s = 1 / (1 + np.exp(-logits[:3, :2]))
    np.testing.assert_allclose(bl, -(tt * np.log(s) + (1 - tt) * np.log(1 - s)), rtol=1e-10)
    np.testing.assert_array_equal(run([y], sg.nn.one_hot(y, 3), labels), np.eye(3)[labels])


@pytest.mark.parametrize("name,ref", [("relu", lambda v: np.maximum(v, 0)), ("elu", lambda v: np.where(v > 0, v, np.expm1(v))),
                                      ("hard_sigmoid", lambda v: np.clip(0.2 * v + 0.5, 0, 1)),
                                      ("gelu", lambda v: 0.5 * v * (1 + __import__("scipy").special.erf(v / 2 ** 0.5))),
                                      ("softplus", lambda v: np.logaddexp(0, v)), ("sigmoid", lambda v: 1 / (1 + np.exp(-v)))])
def test_activations(name, ref, rng):
    xv = rng.normal(size=(4, 5)) * 3
    xv = np.where(np.abs(xv) < 1e-3, 0.5, xv)
    x = sg.dmatrix("x")
    np.testing.assert_allclose(run([x], getattr(sg.nn, name)(x), xv, backend="numba"), ref(xv), rtol=1e-12, atol=1e-15)
    sg.verify_grad(getattr(sg.nn, name), [np.where(np.abs(np.abs(xv) - 2.5) < 0.05, 1.0, xv)], rng=rng)
    np.testing.assert_allclose(run([x], sg.nn.elu(x, alpha=0.5), xv), np.where(xv > 0, xv, 0.5 * np.expm1(xv)))


def test_batch_norm(rng):
    xv = rng.normal(size=(2, 3, 4, 4))
    gamma, beta, mean, var = (rng.uniform(0.5, 1.5, 3) for _ in range(4))
    x = sg.dtensor4("x")
    out = run([x], sg.nn.batch_norm(x, gamma, beta, mean, var, 1e-3), xv)
    shape = (1, 3, 1, 1)
    ref = (xv - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + 1e-3) * gamma.reshape(shape) + beta.reshape(shape)
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    sg.verify_grad(lambda a, g, b, m, v: sg.nn.batch_norm(a, g, b, m, v), [xv[:1], gamma, beta, mean, var], rng=rng)
    m = sg.dmatrix("m")
    out2 = run([m], sg.nn.batch_norm(m, gamma, beta, mean, var), xv[:, :, 0, 0])
    np.testing.assert_allclose(out2, (xv[:, :, 0, 0] - mean) / np.sqrt(var + 1e-5) * gamma + beta, rtol=1e-12)


def test_dropout_is_inverted_and_fresh_each_call():
    rng = sg.random.RandomStream(0)
    x = sg.matrix("x")
    f = sg.function([x], sg.nn.dropout(x, 0.25, rng))
    ones = np.ones((200, 100), "float32")
    a, b = f(ones), f(ones)
    assert set(np.unique(a)) == {0.0, np.float32(1 / 0.75)}
    assert abs(a.mean() - 1.0) < 0.02 and abs((a == 0).mean() - 0.25) < 0.02
    assert not np.array_equal(a, b)
    assert sg.nn.dropout(x, 0.0, rng) is x


def test_float16_storage_with_float32_accumulation(rng):
    xv = rng.normal(size=(2, 3, 6, 6)).astype("float16")
    wv = rng.normal(size=(4, 3, 3, 3)).astype("float16")
    x, w = sg.htensor4("x"), sg.htensor4("w")
    out = run([x, w], sg.nn.max_pool2d(sg.nn.relu(sg.nn.conv2d(x, w, padding=1)), 2), xv, wv, backend="numba")
    assert out.dtype == np.float16
    ref = reference_pool(np.maximum(reference_conv2d(xv.astype(float), wv.astype(float), (1, 1), ((1, 1), (1, 1)), (1, 1), 1), 0), 2, 2, 0, "max")
    np.testing.assert_allclose(out, ref, rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("per_image", [True, False])
@pytest.mark.exhaustive
def test_numba_convolution_gradients_match_the_reference(config, per_image, rng, monkeypatch):
    # (these windows are small: the numba backend takes their products image by image unless
    # FEW_TAPS says otherwise; both ways must give the reference's values)
    from symgraph.backends import numba_cpu
    monkeypatch.setattr(numba_cpu, "FEW_TAPS", 32 if per_image else 0)
    ways = []
    decide = numba_cpu.ConvThunk._per_image
    monkeypatch.setattr(numba_cpu.ConvThunk, "_per_image", staticmethod(lambda *a: ways.append(decide(*a)) or ways[-1]))
    c, o, g, k, stride, padding, dilation, size = config
    xv = rng.normal(size=(2, c) + size).astype("float32")
    wv = rng.normal(size=(o, c // g) + k).astype("float32")
    x, w = sg.ftensor4("x"), sg.ftensor4("w")
    y = sg.nn.conv2d(x, w, stride, padding, dilation, g)
    expr = [y] + sg.grad((y * y).sum(), [x, w])
    got = run([x, w], expr, xv, wv, backend="numba")
    want = run([x, w], expr, xv, wv, backend="numpy")
    for a, b in zip(got, want):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-4)
    from symgraph.backends import numba_taps
    if o <= numba_taps.MAX_FILTERS and g == 1 and stride == 1 and dilation == 1:
        assert ways == []  # (two filters: tap by tap, see numba_taps)
    else:
        assert ways and set(ways) == {per_image}  # (the forward and the filters' gradient went that way)
    t = sg.nn.conv2d_transpose(y, w, stride, 0 if padding == "same" else padding, dilation=dilation, groups=g) \
        if padding != "same" and not isinstance(padding, tuple) else y
    np.testing.assert_allclose(run([x, w], t, xv, wv, backend="numba"), run([x, w], t, xv, wv, backend="numpy"),
                               rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize("kernel,padding", [((3, 3), 1), ((3, 3), "same"), ((2, 2), "same"), ((3, 3), 0),
                                            ((2, 3), ((1, 0), (2, 1))), ((1, 1), 0)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.exhaustive
def test_an_input_gradient_with_fewer_filters_than_channels_is_a_convolution_of_the_gradient(kernel, padding, dtype,
                                                                                             rng, monkeypatch):
    """With unit strides, conv2d's input gradient is gy convolved with the filters flipped and
    their channels swapped, over full windows: where o < c the numba backend takes that way
    (a window matrix of o*kh*kw rows, not c*kh*kw scattered back). Against the reference, for
    'same' (asymmetric for an even kernel), explicit, asymmetric and no padding, and through
    conv2d_transpose; o >= c and strides keep col2im."""
    from symgraph.backends import numba_cpu
    geometries = []
    real = numba_cpu.ConvThunk._forward
    monkeypatch.setattr(numba_cpu.ConvThunk, "_forward", lambda self, x, w, geometry: geometries.append(geometry)
                        or real(self, x, w, geometry))
    c, o = 5, 2
    x, w = sg.tensor("x", dtype, shape=(None, c, 7, 8)), sg.tensor("w", dtype, shape=(o, c) + kernel)
    g = sg.tensor("g", dtype, ndim=4)
    y = sg.nn.conv2d(x, w, padding=padding)
    xv, wv = rng.normal(size=(3, c, 7, 8)).astype(dtype), rng.normal(size=(o, c) + kernel).astype(dtype)
    gv = rng.normal(size=sg.function([x, w], y, backend="numpy")(xv, wv).shape).astype(dtype)
    expr = sg.grad((y * g).sum(), x)
    got = run([x, w, g], expr, xv, wv, gv, backend="numba")
    want = run([x, w, g], expr, xv, wv, gv, backend="numpy")
    tol = 2e-4 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    assert len(geometries) == 1 and geometries[0][-2:] == (7, 8)  # (the gradient's: no forward in this graph)
    if not isinstance(padding, str):  # conv2d_transpose of 2 channels into 5 is the same op
        t = sg.nn.conv2d_transpose(g, w, padding=padding)
        np.testing.assert_allclose(run([w, g], t, wv, gv, backend="numba"), want, rtol=tol, atol=tol)
    del geometries[:]
    wide = sg.tensor("v", dtype, shape=(c, o) + kernel)  # o >= c, and strides: col2im
    wide_value = rng.normal(size=(c, o) + kernel).astype(dtype)
    for inputs, expr, values in (
            ([x, wide], sg.grad((sg.nn.conv2d(x[:, :o], wide, padding=padding) ** 2).sum(), x), [xv, wide_value]),
            ([x, w], sg.grad((sg.nn.conv2d(x, w, stride=2) ** 2).sum(), x), [xv, wv])):
        np.testing.assert_allclose(run(inputs, expr, *values, backend="numba"),
                                   run(inputs, expr, *values, backend="numpy"), rtol=tol, atol=tol)
    assert len(geometries) == 2  # (each graph's forward convolution; its gradient by col2im)


@pytest.mark.parametrize("size", [(6, 8), (7, 9)])
@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.exhaustive
def test_tiling_max_pool_gradient_matches_the_reference_with_ties_nans_and_edges(size, k, parallel, dtype, rng,
                                                                                  monkeypatch):
    # Windows that tile the image take the numba backend's write-once gradient kernel (serial, and
    # split over the planes); rows and columns left over by an odd size get no gradient.
    from symgraph.backends import blas, numba_cpu, numba_kernels
    built = []
    tiled = numba_kernels.max_pool_tiled_grad_kernel
    monkeypatch.setattr(numba_kernels, "max_pool_tiled_grad_kernel", lambda *a: built.append(a) or tiled(*a))
    if parallel:
        monkeypatch.setattr(numba_cpu.MaxPoolThunk, "PARALLEL_POOL", 1)
        monkeypatch.setattr(blas, "threads_idle", lambda: True)
    xv = np.round(rng.normal(size=(2, 3) + size), 1).astype(dtype)  # ties: the first maximum gets it
    xv[0, 0, 0, 1] = xv[1, 2, 3, 3] = np.nan
    xv[0, 1, :k, :k] = -np.inf  # a window of -inf; inf beside -inf; zeros of both signs
    xv[1, 0, 0, 0], xv[1, 0, 0, 1] = np.inf, -np.inf
    xv[1, 1, 0, 0], xv[1, 1, 0, 1], xv[1, 1, 1, :] = -0.0, 0.0, -1
    x = sg.tensor("x", dtype, ndim=4)
    expr = [sg.nn.max_pool2d(x, k), sg.grad((sg.nn.max_pool2d(x, k) * sg.arange(1.0, 3.0 + 1)[:, None, None]).sum(), x)]
    want = run([x], expr, xv, backend="numpy")
    for value in (xv, np.asfortranarray(xv)):  # any memory order
        for got, expected in zip(run([x], expr, value, backend="numba"), want):
            np.testing.assert_array_equal(got, expected)
    assert built and {args[:2] for args in built} == {(k, k)} and {args[2] for args in built} == {parallel}


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
@pytest.mark.exhaustive
def test_tiling_max_pool_forward_matches_the_reference_with_ties_nans_and_edges(k, dtype, rng, monkeypatch):
    # On one core, windows that tile rows of 4 or more take max_pool_tiled_kernel (plain
    # comparisons, a row with a NaN or inf - inf compared again by NaN's rule); narrower rows the
    # general kernel. NumPy's values, with ties, NaNs, infinities and zeros of both signs.
    from symgraph.backends import blas, numba_kernels
    built = []
    tiled = numba_kernels.max_pool_tiled_kernel
    monkeypatch.setattr(numba_kernels, "max_pool_tiled_kernel", lambda *a: built.append(a) or tiled(*a))
    monkeypatch.setattr(blas, "threads_idle", lambda: False)  # (one core)
    size = (4 * k + 1, 5 * k + 2)  # an odd edge no window covers
    xv = np.round(rng.normal(size=(3, 2) + size) * 3)
    if dtype != "int32":
        xv[0, 0, 0, 1] = xv[1, 1, k, 2 * k] = xv[2, 0, 1, :] = np.nan
        xv[1, 0, :k, :k] = -np.inf  # a window of -inf; inf beside -inf; zeros of both signs
        xv[1, 0, 0, k], xv[1, 0, 0, k + 1] = np.inf, -np.inf
        xv[2, 1, 0, 0], xv[2, 1, 0, 1], xv[2, 1, 1, :2] = -0.0, 0.0, -1
    xv = xv.astype(dtype)
    x = sg.tensor("x", dtype, ndim=4)
    want = run([x], sg.nn.max_pool2d(x, k), xv, backend="numpy")
    narrow = xv[..., :3 * k]  # rows of 3 windows: the general kernel
    for value in (xv, np.asfortranarray(xv), narrow):
        got = run([x], sg.nn.max_pool2d(x, k), value, backend="numba")
        expected = want if value is not narrow else run([x], sg.nn.max_pool2d(x, k), narrow, backend="numpy")
        np.testing.assert_array_equal(got, expected)  # (zeros' signs aside: NumPy's max gives either)
    assert built and {args for args in built} == {(k, k)}


def test_the_tiling_max_pool_gradient_compiles_without_numbas_own_np_empty(tmp_path):
    """numba_kernels' max_pool_tiled_grad_kernel allocates nothing: an earlier form made a row
    of window winners by np.empty in the kernel, and every fresh process training a convnet
    compiled numba's np.empty for it first (0.15 s of the demo's first step)."""
    printed = compiles_in_a_fresh_process_without_np_empty(tmp_path, (
        "x = sg.ftensor4('x')\n"
        "f = sg.function([x], sg.grad(sg.nn.max_pool2d(x, 2).sum(), x), backend='numba')\n"
        "print(f(np.arange(32, dtype='float32').reshape(1, 2, 4, 4)).ravel().tolist())"), expected="symgraph_kernel_")
    want = np.zeros((1, 2, 4, 4))
    want[:, :, 1::2, 1::2] = 1  # each window's maximum: its last entry
    assert eval(printed) == want.ravel().tolist()


def test_crossentropy_softmax_gradient_op(rng):
    """CrossentropySoftmaxGrad: (softmax(x) - one_hot(t)) * g[..., None] for integer targets,
    which the gradient of a softmax crossentropy becomes; its own gradient (second order)
    against finite differences."""
    xv, tv, gv = rng.normal(size=(4, 3)) * 3, np.array([0, 2, -1, 1], "int32"), rng.normal(size=4)
    x, t, g = sg.dmatrix("x"), sg.ivector("t"), sg.dvector("g")
    op = sg.ops.nn.CrossentropySoftmaxGrad()
    e = np.exp(xv - xv.max(1, keepdims=True))
    want = (e / e.sum(1, keepdims=True) - np.eye(3)[tv]) * gv[:, None]
    np.testing.assert_allclose(run([x, t, g], op(x, t, g), xv, tv, gv), want, rtol=1e-12, atol=1e-15)
    sg.verify_grad(lambda a, b: op(a, sg.constant(tv), b), [xv, gv], rng=rng)
    loss = sg.nn.categorical_crossentropy(sg.nn.softmax(x), t).mean()
    sg.verify_grad(lambda a: sg.grad(sg.nn.categorical_crossentropy(sg.nn.softmax(a), tv).sum(), a), [xv], rng=rng)
    assert "CrossentropySoftmaxGrad" in [type(n.op).__name__ for n in
                                         sg.function([x, t], sg.grad(loss, x), backend="numpy").fgraph.apply_nodes]
    with pytest.raises(TypeError, match="integer targets or float64 target rows"):
        op(x, sg.fmatrix("dense32"), g)
    with pytest.raises(TypeError, match="g must be"):
        op(x, t, sg.dmatrix("g2"))
    # dense target rows (probabilities, and a zero row): (softmax(x) * sum(t) - t) * g
    dv = np.abs(rng.normal(size=(4, 3)))
    dv[2] = 0
    dense = sg.dmatrix("dense")
    want = (e / e.sum(1, keepdims=True) * dv.sum(1, keepdims=True) - dv) * gv[:, None]
    np.testing.assert_allclose(run([x, dense, g], op(x, dense, g), xv, dv, gv), want, rtol=1e-12, atol=1e-15)
    sg.verify_grad(lambda a, b, c: op(a, b, c), [xv, dv, gv], rng=rng)


def test_crossentropy_softmax_with_grad_op(rng):
    """CrossentropySoftmaxWithGrad: the crossentropy of each row and the gradient op's value,
    as two outputs; checked as the gradient op is (integer targets, g like the targets); its
    own gradient, through either output, against finite differences."""
    xv, tv, gv = rng.normal(size=(4, 3)) * 3, np.array([0, 2, -1, 1], "int32"), rng.normal(size=4)
    x, t, g = sg.dmatrix("x"), sg.ivector("t"), sg.dvector("g")
    op = sg.ops.nn.CrossentropySoftmaxWithGrad()
    loss, grad = op(x, t, g)
    assert loss.type.shape == (None,) and grad.type == x.type
    e = np.exp(xv - xv.max(1, keepdims=True))
    sm = e / e.sum(1, keepdims=True)
    got = run([x, t, g], [loss, grad], xv, tv, gv)
    np.testing.assert_allclose(got[0], -np.log(sm[np.arange(4), tv]), rtol=1e-12)
    np.testing.assert_allclose(got[1], (sm - np.eye(3)[tv]) * gv[:, None], rtol=1e-12, atol=1e-15)
    wv = rng.normal(size=(4, 3))
    sg.verify_grad(lambda a, b: op(a, sg.constant(tv), b)[0] * 2 + (op(a, sg.constant(tv), b)[1] * wv).sum(-1),
                   [xv, gv], rng=rng)
    with pytest.raises(TypeError, match="integer targets"):
        op(x, sg.fmatrix("dense32"), g)
    with pytest.raises(TypeError, match="g must be"):
        op(x, t, sg.fvector("g32"))
    dv, dense = np.abs(rng.normal(size=(4, 3))), sg.dmatrix("dense")  # dense target rows
    np.testing.assert_allclose(run([x, dense, g], op(x, dense, g)[0], xv, dv, gv),
                               -(dv * np.log(sm)).sum(1), rtol=1e-12)
    sg.verify_grad(lambda a, b, c: op(a, b, c)[0] * 2 + (op(a, b, c)[1] * wv).sum(-1), [xv, dv, gv], rng=rng)
    with pytest.raises(IndexError, match="out of bounds"):
        run([x, t, g], [loss, grad], xv, np.array([0, 3, 1, 1], "int32"), gv)


def test_a_users_one_hot_targets_keep_their_zero_rows(rng):
    """categorical_crossentropy with one_hot(y) as dense targets: a target out of range is a
    zero row there (no loss, no gradient), not an error: that gradient keeps its own form."""
    x, y = sg.dmatrix("x"), sg.ivector("y")
    loss = sg.nn.categorical_crossentropy(sg.nn.softmax(x), sg.nn.one_hot(y, 3)).sum()
    f = sg.function([x, y], sg.grad(loss, x), backend="numpy")
    assert "CrossentropySoftmaxGrad" not in [type(n.op).__name__ for n in f.fgraph.apply_nodes]
    xv = rng.normal(size=(2, 3))
    e = np.exp(xv - xv.max(1, keepdims=True))
    sm = e / e.sum(1, keepdims=True)
    np.testing.assert_allclose(f(xv, np.array([1, 7], "int32")), np.vstack([sm[0] - np.eye(3)[1], 0 * sm[1]]),
                               atol=1e-12)


@pytest.mark.parametrize("per_image", [True, False])
def test_numba_convolution_of_an_empty_batch(per_image, monkeypatch):
    from symgraph.backends import numba_cpu
    monkeypatch.setattr(numba_cpu, "FEW_TAPS", 32 if per_image else 0)
    x, w = sg.ftensor4("x"), sg.ftensor4("w")
    y = sg.nn.conv2d(x, w, padding=1)
    xv, wv = np.zeros((0, 1, 5, 5), "float32"), np.ones((2, 1, 3, 3), "float32")
    out, dw = run([x, w], [y, sg.grad(y.sum(), w)], xv, wv, backend="numba")
    assert out.shape == (0, 2, 5, 5) and dw.shape == (2, 1, 3, 3) and not dw.any()


@pytest.mark.parametrize("backend", ["numpy", "numba", "cuda"])
def test_crossentropies_of_probabilities_with_zeros(backend):
    """Theano's crossentropies of probabilities, with 0 log 0 = 0: a class whose target is 0 adds
    nothing where its probability is 0 too (it was 0 * -inf = NaN), and its gradient is 0 there
    (not 0 / 0), integer or dense targets; a target class at probability 0 still costs inf."""
    q, y, t = sg.dmatrix("q"), sg.lvector("y"), sg.dmatrix("t")
    qv = np.array([[1.0, 0.0], [0.25, 0.75], [0.0, 1.0]])
    yv = np.array([0, 1, 0])
    for target, value in ((y, yv), (t, np.eye(2)[yv])):
        loss = sg.nn.categorical_crossentropy(q, target)
        got, grad = sg.function([q, target], [loss, sg.grad(loss.sum(), q)], backend=backend)(qv, value)
        np.testing.assert_allclose(got, [0.0, -np.log(0.75), np.inf])
        np.testing.assert_allclose(grad, [[-1, 0], [0, -1 / 0.75], [-np.inf, 0]])
    # Binary: an output of exactly 0 or 1 where the target is the same (a hard sigmoid's) costs 0.
    p, y01 = sg.dvector("p"), sg.dvector("y01")
    loss = sg.nn.binary_crossentropy(p, y01)
    got, grad = sg.function([p, y01], [loss, sg.grad(loss.sum(), p)], backend=backend)(
        np.array([0.0, 1.0, 0.25, 0.0]), np.array([0.0, 1.0, 1.0, 1.0]))
    np.testing.assert_allclose(got, [0.0, 0.0, np.log(4), np.inf])
    np.testing.assert_allclose(grad, [1, -1, -4, -np.inf])
