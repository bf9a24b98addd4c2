"""Keras's 3-d layers (Conv3D, the 3-d poolings, UpSampling3D, ZeroPadding3D, Cropping3D,
SpatialDropout3D) and sg.ops.conv3d under them, against NumPy loops written here from the
definitions (a 3-d correlation, windows' maxima and means), with gradients by finite
differences in float64 and a small video task learned."""
import numpy as np
import pytest

import symgraph as sg
from symgraph.ops.conv3d import avg_pool3d, conv3d, conv3d_transpose, max_pool3d
from tests.layers.clips import learns_the_clips, moving_dot_clips

L = sg.layers


def correlate3d(x, w, stride, pads, dilation, groups):
    """x (N, C, D, H, W), w (O, C / groups, kd, kh, kw): the 3-d correlation, loop by loop."""
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(pads))
    o, cg, kd, kh, kw = w.shape
    outs = [(xp.shape[2 + a] - dilation[a] * (k - 1) - 1) // stride[a] + 1 for a, k in enumerate((kd, kh, kw))]
    out = np.zeros((x.shape[0], o) + tuple(outs))
    per = o // groups
    for g in range(groups):
        for i, j, k in np.ndindex(*outs):
            patch = xp[:, g * cg:(g + 1) * cg,
                       i * stride[0]:i * stride[0] + dilation[0] * (kd - 1) + 1:dilation[0],
                       j * stride[1]:j * stride[1] + dilation[1] * (kh - 1) + 1:dilation[1],
                       k * stride[2]:k * stride[2] + dilation[2] * (kw - 1) + 1:dilation[2]]
            out[:, g * per:(g + 1) * per, i, j, k] = np.einsum("ncdhw,ocdhw->no", patch, w[g * per:(g + 1) * per])
    return out


def pool3d(x, size, stride, method, same=False):
    """Each window's max or mean over the values it covers (Keras's "same" pads past the end)."""
    outs = [-(-n // s) if same else (n - k) // s + 1 for n, k, s in zip(x.shape[2:], size, stride)]
    fronts = [max((o - 1) * s + k - n, 0) // 2 if same else 0 for o, k, s, n in zip(outs, size, stride, x.shape[2:])]
    out = np.zeros(x.shape[:2] + tuple(outs))
    for idx in np.ndindex(*outs):
        lo = [i * s - f for i, s, f in zip(idx, stride, fronts)]
        window = x[(slice(None), slice(None)) + tuple(slice(max(a, 0), max(a + k, 0)) for a, k in zip(lo, size))]
        out[(slice(None), slice(None)) + idx] = window.max(axis=(2, 3, 4)) if method == "max" else \
            window.mean(axis=(2, 3, 4))
    return out


def run(expr_fn, *values, backend="numpy"):
    variables = [sg.tensor(f"v{k}", "float64", shape=(None,) + v.shape[1:]) for k, v in enumerate(values)]
    return sg.function(variables, expr_fn(*variables), backend=backend)(*values)


@pytest.mark.parametrize("stride,padding,dilation,groups", [
    ((1, 1, 1), "valid", (1, 1, 1), 1), ((2, 1, 2), ((1, 2), (0, 1), (1, 1)), (1, 2, 1), 2),
    ((2, 2, 2), "same", (1, 1, 1), 1), ((1, 2, 1), 1, (2, 1, 1), 1)])
def test_conv3d_is_the_3d_correlation(stride, padding, dilation, groups, rng):
    x, w = rng.normal(size=(2, 4, 7, 6, 5)), rng.normal(size=(6, 4 // groups, 3, 2, 3))
    if padding == "same":
        pads = []
        for n, k, s in zip(x.shape[2:], w.shape[2:], stride):
            total = max((-(-n // s) - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))
    elif isinstance(padding, int):
        pads = [(padding, padding)] * 3
    else:
        pads = [(0, 0)] * 3 if padding == "valid" else padding
    got = run(lambda a: conv3d(a, sg.constant(w), stride, padding, dilation, groups), x)
    np.testing.assert_allclose(got, correlate3d(x, w, stride, pads, dilation, groups), rtol=1e-10, atol=1e-12)


def test_conv3d_runs_on_numba_as_on_numpy(rng):
    x, w = rng.normal(size=(2, 3, 5, 6, 6)).astype("float32"), rng.normal(size=(4, 3, 3, 3, 3)).astype("float32")
    expr = lambda a: conv3d(a, sg.constant(w), 1, "same")  # noqa: E731
    variables = sg.tensor("x", "float32", shape=(None, 3, 5, 6, 6))
    np.testing.assert_allclose(sg.function([variables], expr(variables), backend="numba")(x),
                               sg.function([variables], expr(variables), backend="numpy")(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("stride,padding", [((1, 1, 1), 0), ((2, 1, 2), ((1, 1), (0, 0), (1, 0))), ((2, 2, 2), 1)])
def test_conv3d_transpose_is_conv3ds_adjoint(stride, padding, rng):
    w, x = rng.normal(size=(3, 4, 3, 2, 3)), rng.normal(size=(2, 4, 7, 6, 5))
    y = run(lambda a: conv3d(a, sg.constant(w), stride, padding), x)
    g = rng.normal(size=y.shape)
    pads = [(padding, padding)] * 3 if np.isscalar(padding) else padding
    extra = [(n + sum(p) - k) % s for n, k, s, p in zip(x.shape[2:], w.shape[2:], stride, pads)]  # (back to 7, 6, 5)
    t = run(lambda b: conv3d_transpose(b, sg.constant(w), stride, padding, extra), g)
    assert t.shape == x.shape
    np.testing.assert_allclose(np.sum(y * g), np.sum(x * t), rtol=1e-12)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_conv3d_transpose_layers_lengths_are_kerass(padding):
    inputs = L.Input((4, 5, 6, 3))
    layer = L.Conv3DTranspose(2, (3, 2, 3), strides=(2, 1, 3), padding=padding, data_format="channels_last")
    out = L.Model(inputs, layer(inputs)).predict(np.zeros((1, 4, 5, 6, 3), "float32"), verbose=0)
    # "valid": (n - 1) * strides + kernel_size; "same": n * strides
    assert out.shape == ((1, 9, 6, 18, 2) if padding == "valid" else (1, 8, 5, 18, 2))
    assert layer.kernel.get_value().shape == (3, 2, 3, 2, 3)  # (in channels, filters, kd, kh, kw)


@pytest.mark.parametrize("method", ["max", "avg"])
@pytest.mark.parametrize("size,stride,same", [((2, 2, 2), (2, 2, 2), False), ((3, 2, 2), (2, 1, 2), False),
                                              ((2, 3, 2), (2, 2, 3), True)])
def test_3d_poolings_take_each_windows_max_or_mean(method, size, stride, same, rng):
    x = rng.normal(size=(2, 3, 7, 6, 5))
    fn = max_pool3d if method == "max" else (lambda v, *a: avg_pool3d(v, *a, count_padding=False))
    got = run(lambda a: fn(a, size, stride, "same" if same else "valid"), x)
    np.testing.assert_allclose(got, pool3d(x, size, stride, method, same), rtol=1e-12)


def test_gradients_match_finite_differences(rng):
    x, w, v = rng.normal(size=(1, 3, 4, 3, 3)), rng.normal(size=(2, 3, 2, 2, 2)), rng.normal(size=(1, 2, 3, 3, 4))
    # (verify_grad's variables have no static shapes: reshaped to theirs, the depths known)
    sg.verify_grad(lambda a, b: conv3d(sg.reshape(a, x.shape), sg.reshape(b, w.shape), (2, 1, 1), "same").sum(),
                   [x, w], rng=rng)
    sg.verify_grad(lambda a: (max_pool3d(sg.reshape(a, v.shape), 2, 1, "valid") *
                              avg_pool3d(sg.reshape(a, v.shape), 2, 1, "same", count_padding=False)[:, :, :2, :2, :3]
                              ).sum(), [v], rng=rng)


def test_channels_last_layers_are_the_channels_first_ones_transposed(rng):
    x = rng.normal(size=(2, 6, 5, 4, 3))  # (N, D, H, W, C)
    last = L.Conv3D(4, (3, 2, 2), strides=(2, 1, 1), padding="same", data_format="channels_last", dtype="float64")
    first = L.Conv3D(4, (3, 2, 2), strides=(2, 1, 1), padding="same", data_format="channels_first", dtype="float64")
    inputs_last, inputs_first = L.Input((6, 5, 4, 3), dtype="float64"), L.Input((3, 6, 5, 4), dtype="float64")
    model_last, model_first = L.Model(inputs_last, last(inputs_last)), L.Model(inputs_first, first(inputs_first))
    first.set_weights(last.get_weights())
    out = model_last.predict(x, verbose=0)
    assert out.shape == (2, 3, 5, 4, 4)
    np.testing.assert_allclose(out, model_first.predict(x.transpose(0, 4, 1, 2, 3), verbose=0).transpose(0, 2, 3, 4, 1),
                               rtol=1e-12)
    assert last.kernel.get_value().shape == (4, 3, 3, 2, 2)  # (filters, channels, kd, kh, kw)


def test_shape_layers_and_spatial_dropout(rng):
    x = rng.normal(size=(2, 3, 2, 3, 4))  # (N, C, D, H, W)

    def apply(layer):
        inputs = L.Input(x.shape[1:], dtype="float64")
        return L.Model(inputs, layer(inputs)).predict(x, verbose=0)

    kw = dict(data_format="channels_first", dtype="float64")
    np.testing.assert_array_equal(apply(L.UpSampling3D((2, 1, 3), **kw)), x.repeat(2, 2).repeat(3, 4))
    padded = apply(L.ZeroPadding3D(((1, 0), 1, (0, 2)), **kw))
    np.testing.assert_array_equal(padded, np.pad(x, ((0, 0), (0, 0), (1, 0), (1, 1), (0, 2))))
    np.testing.assert_array_equal(apply(L.Cropping3D(((0, 1), (1, 1), (1, 0)), **kw)), x[:, :, :1, 1:2, 1:])
    np.testing.assert_allclose(apply(L.GlobalAveragePooling3D(**kw)), x.mean(axis=(2, 3, 4)))
    np.testing.assert_allclose(apply(L.GlobalMaxPooling3D(**kw)), x.max(axis=(2, 3, 4)))
    np.testing.assert_allclose(apply(L.AveragePooling3D(2, padding="same", **kw)), pool3d(x, (2, 2, 2), (2, 2, 2),
                                                                                           "avg", True))
    drop = L.SpatialDropout3D(0.5, **kw)
    inputs = L.Input((8, 2, 3, 4), dtype="float64")
    train = sg.function([inputs], drop(inputs, training=True), backend="numpy")
    y = train(np.ones((4, 8, 2, 3, 4)))
    per_channel = y.reshape(4, 8, -1)
    assert np.all((per_channel == 0).all(axis=2) | (per_channel == 2).all(axis=2))  # whole channels, scaled
    assert 0 < (per_channel[:, :, 0] == 0).mean() < 1


def test_a_small_video_convnet_learns_which_way_a_dot_moves():
    clips, labels = moving_dot_clips(200, 8, (2, 6), np.random.default_rng(0))
    model = L.Sequential([L.Input((4, 8, 8, 1)),
                          L.Conv3D(8, (2, 3, 3), padding="same", activation="relu", data_format="channels_last"),
                          L.MaxPooling3D((1, 2, 2), data_format="channels_last"),
                          L.Conv3D(8, (3, 3, 3), activation="relu", data_format="channels_last"),
                          L.GlobalMaxPooling3D(data_format="channels_last"), L.Dense(2)])
    learns_the_clips(model, clips, labels, trained=160, epochs=15, lr=0.01)


def test_3d_layers_and_einsum_dense_save_and_load(tmp_path):
    inputs = L.Input((4, 6, 6, 2))
    h = L.Conv3D(3, 2, padding="same", data_format="channels_last")(inputs)
    h = L.Conv3DTranspose(2, 2, strides=2, data_format="channels_last")(h)
    h = L.AveragePooling3D(2, data_format="channels_last")(L.SpatialDropout3D(0.2, data_format="channels_last")(h))
    outputs = L.EinsumDense("ab,bc->ac", 3, bias_axes="c")(L.Reshape((4 * 6 * 6 * 2,))(h))
    model = L.Model(inputs, outputs)
    x = np.random.default_rng(0).random((2, 4, 6, 6, 2)).astype("float32")
    model.save(str(tmp_path / "m.keras"))
    np.testing.assert_array_equal(L.load_model(str(tmp_path / "m.keras")).predict(x, verbose=0),
                                  model.predict(x, verbose=0))
