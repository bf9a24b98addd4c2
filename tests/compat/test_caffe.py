"""sg.compat.caffe: pycaffe's Net, solvers, NetSpec and files. Each layer is checked against a
NumPy reference written from Caffe's own Forward_cpu (pooling's rounded-up windows and their
divisors, LRN's windows, the losses' normalizations), each solver against Caffe's update rules,
and the .caffemodel reader against files Google's protobuf wrote (tests/data/caffe)."""
import os

import numpy as np
import pytest

import symgraph.compat.caffe as caffe
from symgraph.compat.caffe import layers as L, params as P
from symgraph.compat.protobuf.text_format import Enum, Message, parse

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "caffe")
rng = np.random.default_rng(0)


def net_of(text, phase=caffe.TEST, **kw):
    return caffe.Net(parse(text), phase, backend="numpy", **kw)


def input_layer(name, shape):
    dims = " ".join(f"dim: {d}" for d in shape)
    return f'layer {{ name: "{name}" type: "Input" top: "{name}" input_param {{ shape {{ {dims} }} }} }}\n'


def run_layer(layer_text, inputs, tops=("y",), phase=caffe.TEST):
    """One layer on the given input arrays: (its tops' values, the net)."""
    text = "".join(input_layer(n, a.shape) for n, a in inputs.items()) + layer_text
    net = net_of(text, phase)
    net.forward(**inputs)
    return [net.blobs[t].data.copy() for t in tops], net


# -- prototxt and files ------------------------------------------------------------------------

def test_prototxt_text_format_reads_what_caffe_files_write():
    m = parse('''
        # a comment
        name: "A" 'B'   # adjacent strings join
        layer { name: "c" type: "Convolution" convolution_param { kernel_size: 3 pad: [1, 2] } }
        layer: < name: "d" include { phase: TRAIN } >
        input_shape { dim: [1, 3, 224, 224] }
        base_lr: 1e-2  momentum: .9  gamma: -0.5  bias_term: false  engine: CAFFE
        path: "a\\"b\\n"
    ''')
    assert m.get("name") == "AB"
    conv = m.all("layer")[0].message("convolution_param")
    assert conv.get("kernel_size") == 3 and conv.all("pad") == [1, 2]
    assert m.all("layer")[1].message("include").get("phase") == "TRAIN"
    assert isinstance(m.all("layer")[1].message("include").get("phase"), Enum)
    assert m.message("input_shape").all("dim") == [1, 3, 224, 224]
    assert m.get("base_lr") == 0.01 and m.get("momentum") == 0.9 and m.get("gamma") == -0.5
    assert m.get("bias_term") is False and m.get("path") == 'a"b\n'
    assert parse(str(m)) == m  # printed back as text that reads the same
    with pytest.raises(ValueError, match=r"<prototxt>:2: the message opened on line 1 ends without its '}'"):
        parse('layer {\n name: "x"\n')


def test_caffemodels_protobuf_wrote_load_by_layer_name_in_both_forms():
    """Today's `layer` files and the old V1 `layers` files (enum types, 4-d legacy blob shapes)
    load into the same net; a layer the net lacks is skipped; the outputs are Caffe's LeNet's,
    computed here in NumPy from the same weights."""
    ref = np.load(os.path.join(DATA, "lenet_weights.npz"))
    x = ref["x"]
    conv = _conv_reference(x, ref["conv1_0"], ref["conv1_1"], pad=(1, 1))
    pooled = _pool_reference(conv, 3, 2, 0, "MAX")
    hidden = np.maximum(pooled.reshape(len(x), -1) @ ref["ip1_0"].T + ref["ip1_1"], 0)
    scores = hidden @ ref["ip2_0"].T + ref["ip2_1"]
    expected = np.exp(scores - scores.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    deploy = os.path.join(DATA, "lenet_deploy.prototxt")
    for model in ("lenet_protobuf.caffemodel", "lenet_v1.caffemodel"):
        net = caffe.Net(deploy, os.path.join(DATA, model), caffe.TEST, backend="numpy")
        np.testing.assert_array_equal(net.params["ip1"][0].data, ref["ip1_0"])
        np.testing.assert_allclose(net.forward(data=x)["prob"], expected, rtol=2e-5, atol=1e-6)


def test_weights_written_read_back_and_a_wrong_shape_is_named(tmp_path):
    deploy = os.path.join(DATA, "lenet_deploy.prototxt")
    net = caffe.Net(deploy, caffe.TEST, backend="numpy")
    x = rng.normal(size=(64, 1, 8, 8)).astype(np.float32)
    out = net.forward(data=x)["prob"].copy()
    for name in ("w.caffemodel", "w.h5"):
        net.save(str(tmp_path / name))
        again = caffe.Net(deploy, str(tmp_path / name), caffe.TEST, backend="numpy")
        np.testing.assert_array_equal(again.forward(data=x)["prob"], out)
    wider = open(deploy).read().replace("num_output: 32", "num_output: 16")
    with pytest.raises(ValueError, match="blob 0 of layer 'ip1'.*(32, 128).*(16, 128)"):
        caffe.Net(parse(wider), str(tmp_path / "w.caffemodel"), caffe.TEST, backend="numpy")


def test_param_data_written_in_place_is_what_the_next_forward_uses():
    net = caffe.Net(os.path.join(DATA, "lenet_deploy.prototxt"), caffe.TEST, backend="numpy")
    net.blobs["data"].data[...] = 1.0
    net.params["ip2"][0].data[...] = 0.0
    net.params["ip2"][1].data[...] = np.arange(10)
    prob = net.forward()["prob"]
    expected = np.exp(np.arange(10) - 9.0) / np.exp(np.arange(10) - 9.0).sum()
    np.testing.assert_allclose(prob, np.broadcast_to(expected, prob.shape), rtol=1e-5)
    assert net.blobs["pool1"].data.shape == (64, 8, 4, 4)  # 8 rows, windows of 3 every 2: 4 (rounded up)


# -- vision layers against Caffe's loops --------------------------------------------------------

def _caffe_pooled(length, k, s, p):
    out = int(np.ceil((length + 2 * p - k) / s)) + 1
    if p and (out - 1) * s >= length + p:
        out -= 1
    return out


def _pool_reference(x, k, s, p, method):
    """Caffe's PoolingLayer::Forward_cpu, loop by loop."""
    n, c, h, w = x.shape
    oh, ow = _caffe_pooled(h, k, s, p), _caffe_pooled(w, k, s, p)
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            h0, w0 = i * s - p, j * s - p
            if method == "MAX":
                h1, w1 = min(h0 + k, h), min(w0 + k, w)
                h0, w0 = max(h0, 0), max(w0, 0)
                out[:, :, i, j] = x[:, :, h0:h1, w0:w1].max(axis=(2, 3))
            else:
                h1, w1 = min(h0 + k, h + p), min(w0 + k, w + p)
                size = (h1 - h0) * (w1 - w0)
                h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, h), min(w1, w)
                out[:, :, i, j] = x[:, :, h0:h1, w0:w1].sum(axis=(2, 3)) / size
    return out


@pytest.mark.parametrize("method", ["MAX", "AVE"])
@pytest.mark.parametrize("size,k,s,p", [(7, 3, 2, 0), (8, 3, 2, 1), (6, 2, 2, 0), (9, 3, 3, 1), (5, 4, 3, 2)])
def test_pooling_rounds_its_windows_up_as_caffe_does(method, size, k, s, p):
    x = rng.normal(size=(2, 3, size, size + 1)).astype(np.float32)
    layer = (f'layer {{ name: "p" type: "Pooling" bottom: "x" top: "y" pooling_param {{ pool: {method} '
             f'kernel_size: {k} stride: {s} pad: {p} }} }}')
    (y,), _ = run_layer(layer, {"x": x})
    np.testing.assert_allclose(y, _pool_reference(x, k, s, p, method), rtol=1e-5, atol=1e-6)


def test_global_pooling_and_rectangular_windows():
    x = rng.normal(size=(2, 3, 5, 7)).astype(np.float32)
    (y,), _ = run_layer('layer { name: "p" type: "Pooling" bottom: "x" top: "y" '
                        'pooling_param { pool: AVE global_pooling: true } }', {"x": x})
    np.testing.assert_allclose(y[:, :, 0, 0], x.mean(axis=(2, 3)), rtol=1e-5)
    (y,), _ = run_layer('layer { name: "p" type: "Pooling" bottom: "x" top: "y" '
                        'pooling_param { pool: MAX kernel_h: 2 kernel_w: 3 stride_h: 1 stride_w: 2 } }', {"x": x})
    assert y.shape == (2, 3, 4, 3)
    np.testing.assert_allclose(y[:, :, 1, 2], x[:, :, 1:3, 4:7].max(axis=(2, 3)))


def _conv_reference(x, w, b, stride=(1, 1), pad=(0, 0), dilation=(1, 1), group=1):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    oh = (h + 2 * pad[0] - (dilation[0] * (kh - 1) + 1)) // stride[0] + 1
    ow = (wd + 2 * pad[1] - (dilation[1] * (kw - 1) + 1)) // stride[1] + 1
    out = np.zeros((n, o, oh, ow))
    per = o // group
    for g in range(group):
        for i in range(oh):
            for j in range(ow):
                patch = xp[:, g * cg:(g + 1) * cg, i * stride[0]:i * stride[0] + dilation[0] * (kh - 1) + 1:dilation[0],
                           j * stride[1]:j * stride[1] + dilation[1] * (kw - 1) + 1:dilation[1]]
                out[:, g * per:(g + 1) * per, i, j] = np.einsum("nckl,ockl->no", patch, w[g * per:(g + 1) * per])
    return out + b[None, :, None, None]


def test_convolution_with_groups_strides_dilation_and_rectangular_padding():
    x = rng.normal(size=(2, 4, 9, 8)).astype(np.float32)
    layer = ('layer { name: "c" type: "Convolution" bottom: "x" top: "y" convolution_param { num_output: 6 '
             'kernel_h: 3 kernel_w: 2 stride: 2 stride: 1 pad_h: 1 pad_w: 2 dilation: 2 group: 2 '
             'weight_filler { type: "gaussian" std: 0.5 } bias_filler { type: "uniform" } } }')
    (y,), net = run_layer(layer, {"x": x})
    w, b = net.params["c"][0].data, net.params["c"][1].data
    assert w.shape == (6, 2, 3, 2)
    np.testing.assert_allclose(y, _conv_reference(x, w, b, (2, 1), (1, 2), (2, 2), 2), rtol=1e-4, atol=1e-5)


def test_deconvolution_is_the_adjoint_of_convolution_and_bilinear_upsamples():
    x = rng.normal(size=(2, 3, 5, 5)).astype(np.float32)
    layer = ('layer { name: "d" type: "Deconvolution" bottom: "x" top: "y" convolution_param { num_output: 4 '
             'kernel_size: 4 stride: 2 pad: 1 bias_term: false weight_filler { type: "gaussian" } } }')
    (y,), net = run_layer(layer, {"x": x})
    assert y.shape == (2, 4, 10, 10)  # stride * (5 - 1) + 4 - 2 * 1
    w = net.params["d"][0].data  # (in, out, kh, kw)
    g = rng.normal(size=y.shape)
    conv_of_g = _conv_reference(g, w, np.zeros(3), stride=(2, 2), pad=(1, 1))
    np.testing.assert_allclose(np.sum(y * g), np.sum(x * conv_of_g), rtol=1e-4)
    ones = np.ones((1, 1, 4, 4), np.float32)
    (up,), _ = run_layer('layer { name: "u" type: "Deconvolution" bottom: "x" top: "y" convolution_param { '
                         'num_output: 1 kernel_size: 4 stride: 2 pad: 1 bias_term: false '
                         'weight_filler { type: "bilinear" } } }', {"x": ones})
    np.testing.assert_allclose(up[0, 0, 1:-1, 1:-1], 1.0, rtol=1e-6)  # a constant image stays constant inside


@pytest.mark.parametrize("region", ["ACROSS_CHANNELS", "WITHIN_CHANNEL"])
def test_lrn_matches_caffes_windows(region):
    x = rng.normal(size=(2, 7, 5, 6)).astype(np.float32)
    size, alpha, beta, k = 5, 0.3, 0.75, 2.0
    (y,), _ = run_layer(f'layer {{ name: "n" type: "LRN" bottom: "x" top: "y" lrn_param {{ local_size: {size} '
                        f'alpha: {alpha} beta: {beta} k: {k} norm_region: {region} }} }}', {"x": x})
    sq = x.astype(np.float64) ** 2
    if region == "ACROSS_CHANNELS":
        pre = (size - 1) // 2
        window = np.stack([sq[:, max(c - pre, 0):min(c - pre + size, 7)].sum(1) for c in range(7)], axis=1)
        scale = k + alpha / size * window
    else:
        scale = 1 + alpha * _pool_reference(sq, size, 1, (size - 1) // 2, "AVE")
    np.testing.assert_allclose(y, x * scale ** -beta, rtol=1e-5, atol=1e-6)


# -- the other layers --------------------------------------------------------------------------

def test_inner_product_axis_transpose_and_embed():
    x = rng.normal(size=(2, 3, 4)).astype(np.float32)
    (y,), net = run_layer('layer { name: "ip" type: "InnerProduct" bottom: "x" top: "y" inner_product_param { '
                          'num_output: 5 axis: 2 transpose: true weight_filler { type: "xavier" } '
                          'bias_filler { type: "constant" value: 0.5 } } }', {"x": x})
    w = net.params["ip"][0].data
    assert w.shape == (4, 5)
    np.testing.assert_allclose(y, x @ w + 0.5, rtol=1e-5)
    idx = np.array([[0, 3], [2, 2]], np.float32)
    (e,), net = run_layer('layer { name: "e" type: "Embed" bottom: "x" top: "y" embed_param { input_dim: 4 '
                          'num_output: 3 weight_filler { type: "uniform" } } }', {"x": idx})
    np.testing.assert_array_equal(e, net.params["e"][0].data[idx.astype(int)])


def test_elementwise_and_shape_layers():
    a, b = rng.normal(size=(2, 3, 4, 4)).astype(np.float32), rng.normal(size=(2, 3, 4, 4)).astype(np.float32)
    cases = [
        ('type: "Eltwise" bottom: "a" bottom: "b" eltwise_param { operation: SUM coeff: 2 coeff: -1 }', 2 * a - b),
        ('type: "Eltwise" bottom: "a" bottom: "b" eltwise_param { operation: PROD }', a * b),
        ('type: "Eltwise" bottom: "a" bottom: "b" eltwise_param { operation: MAX }', np.maximum(a, b)),
        ('type: "Concat" bottom: "a" bottom: "b"', np.concatenate([a, b], 1)),
        ('type: "Concat" bottom: "a" bottom: "b" concat_param { axis: -1 }', np.concatenate([a, b], 3)),
        ('type: "Flatten" bottom: "a"', a.reshape(2, -1)),
        ('type: "Flatten" bottom: "a" flatten_param { axis: 2 }', a.reshape(2, 3, 16)),
        ('type: "Reshape" bottom: "a" reshape_param { shape { dim: 0 dim: -1 dim: 8 } }', a.reshape(2, 6, 8)),
        ('type: "Reshape" bottom: "a" reshape_param { shape { dim: 2 dim: 2 } axis: 2 num_axes: 1 }',
         a.reshape(2, 3, 2, 2, 4)),
        ('type: "ReLU" bottom: "a" relu_param { negative_slope: 0.1 }', np.where(a > 0, a, 0.1 * a)),
        ('type: "Power" bottom: "a" power_param { power: 2 scale: 3 shift: 1 }', (1 + 3 * a) ** 2),
        ('type: "Exp" bottom: "a" exp_param { base: 2 scale: 0.5 shift: 1 }', 2.0 ** (1 + 0.5 * a)),
        ('type: "Log" bottom: "a" log_param { base: 10 shift: 5 }', np.log10(5 + a)),
        ('type: "AbsVal" bottom: "a"', np.abs(a)),
        ('type: "BNLL" bottom: "a"', np.log1p(np.exp(a))),
        ('type: "Threshold" bottom: "a" threshold_param { threshold: 0.2 }', (a > 0.2).astype(np.float32)),
        ('type: "Sigmoid" bottom: "a"', 1 / (1 + np.exp(-a))),
        ('type: "TanH" bottom: "a"', np.tanh(a)),
        ('type: "ELU" bottom: "a" elu_param { alpha: 0.5 }', np.where(a > 0, a, 0.5 * (np.exp(a) - 1))),
        ('type: "Softmax" bottom: "a"', np.exp(a) / np.exp(a).sum(1, keepdims=True)),
        ('type: "Scale" bottom: "a" bottom: "c"', a * np.arange(3.0)[None, :, None, None]),
        ('type: "Bias" bottom: "a" bottom: "c"', a + np.arange(3.0)[None, :, None, None]),
        ('type: "Reduction" bottom: "a" reduction_param { operation: SUMSQ axis: 1 coeff: 0.5 }',
         0.5 * (a ** 2).sum(axis=(1, 2, 3))),
        ('type: "Reduction" bottom: "a" reduction_param { operation: MEAN axis: 2 }', a.mean(axis=(2, 3))),
        ('type: "Tile" bottom: "a" tile_param { axis: 2 tiles: 2 }', np.tile(a, (1, 1, 2, 1))),
        ('type: "MVN" bottom: "a"', (a - a.mean((2, 3), keepdims=True)) /
         (a.std((2, 3), keepdims=True) + 1e-9)),
        ('type: "ArgMax" bottom: "a" argmax_param { axis: 1 }', a.argmax(1)[:, None].astype(np.float32)),
    ]
    c = np.arange(3, dtype=np.float32)
    for body, expected in cases:
        (y,), _ = run_layer(f'layer {{ name: "l" {body} top: "y" }}', {"a": a, "b": b, "c": c})
        np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5, err_msg=body)
    (p, q), _ = run_layer('layer { name: "s" type: "Slice" bottom: "a" top: "p" top: "q" '
                          'slice_param { axis: 2 slice_point: 1 } }', {"a": a}, tops=("p", "q"))
    np.testing.assert_array_equal(p, a[:, :, :1])
    np.testing.assert_array_equal(q, a[:, :, 1:])
    (y,), _ = run_layer('layer { name: "c" type: "Crop" bottom: "a" bottom: "r" top: "y" crop_param { offset: 1 } }',
                        {"a": a, "r": np.zeros((2, 3, 2, 3), np.float32)})
    np.testing.assert_array_equal(y, a[:, :, 1:3, 1:4])


def test_learned_scale_bias_and_prelu():
    a = rng.normal(size=(2, 3, 4, 4)).astype(np.float32)
    (y,), net = run_layer('layer { name: "s" type: "Scale" bottom: "a" top: "y" scale_param { bias_term: true '
                          'filler { type: "uniform" } bias_filler { type: "constant" value: 2 } } }', {"a": a})
    s = net.params["s"][0].data
    assert s.shape == (3,) and net.params["s"][1].data.tolist() == [2, 2, 2]
    np.testing.assert_allclose(y, a * s[None, :, None, None] + 2, rtol=1e-6)
    (y,), net = run_layer('layer { name: "p" type: "PReLU" bottom: "a" top: "y" }', {"a": a})
    np.testing.assert_allclose(y, np.where(a > 0, a, 0.25 * a), rtol=1e-6)  # Caffe's default slope
    (y,), net = run_layer('layer { name: "p" type: "PReLU" bottom: "a" top: "y" prelu_param { channel_shared: true } }',
                          {"a": a})
    assert net.params["p"][0].data.shape == (1,)


def test_batch_norm_keeps_caffes_sums_and_their_factor():
    x = rng.normal(2.0, 3.0, size=(4, 3, 2, 2)).astype(np.float32)
    text = input_layer("x", x.shape) + 'layer { name: "bn" type: "BatchNorm" bottom: "x" top: "y" }'
    train = net_of(text, caffe.TRAIN)
    y = train.forward(x=x)["y"]
    mean, var = x.mean((0, 2, 3)), x.var((0, 2, 3))
    np.testing.assert_allclose(y, (x - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-5),
                               rtol=1e-4, atol=1e-5)
    blobs = [b.data.copy() for b in train.params["bn"]]
    m = 16  # values per channel: the variance's sum is unbiased
    np.testing.assert_allclose(blobs[0], mean, rtol=1e-5)
    np.testing.assert_allclose(blobs[1], var * m / (m - 1), rtol=1e-5)
    np.testing.assert_allclose(blobs[2], [1.0])
    train.forward(x=x)
    np.testing.assert_allclose(train.params["bn"][2].data, [1.999])  # factor * 0.999 + 1
    test = net_of(text, caffe.TEST, share_from=train)  # the TEST phase uses the sums / factor
    y = test.forward(x=x)["y"]
    est_mean = train.params["bn"][0].data / 1.999
    est_var = train.params["bn"][1].data / 1.999
    np.testing.assert_allclose(y, (x - est_mean[None, :, None, None]) / np.sqrt(est_var[None, :, None, None] + 1e-5),
                               rtol=1e-4, atol=1e-5)
    assert train.learnable_params() == []  # the statistics are not a solver's to update


# -- losses and accuracy -----------------------------------------------------------------------

def _log_softmax(s, axis=1):
    s = s - s.max(axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis, keepdims=True))


def test_softmax_with_loss_normalizations_ignore_label_and_spatial_labels():
    s = rng.normal(size=(3, 4, 2, 2)).astype(np.float32)
    label = rng.integers(0, 4, size=(3, 1, 2, 2)).astype(np.float32)
    label[0, 0, 0, 0] = label[2, 0, 1, 1] = 255
    logp = _log_softmax(s.astype(np.float64))
    picked = np.take_along_axis(logp, np.where(label == 255, 0, label).astype(int), axis=1)
    total = -(picked * (label != 255)).sum()
    for mode, norm in [("VALID", 10), ("FULL", 12), ("BATCH_SIZE", 3), ("NONE", 1)]:
        (loss,), _ = run_layer(f'layer {{ name: "l" type: "SoftmaxWithLoss" bottom: "s" bottom: "t" top: "y" '
                               f'loss_param {{ ignore_label: 255 normalization: {mode} }} }}', {"s": s, "t": label})
        np.testing.assert_allclose(loss, total / norm, rtol=1e-5, err_msg=mode)
    flat = rng.normal(size=(5, 3)).astype(np.float32)
    t = np.array([0, 2, 1, 1, 0], np.float32)
    (loss, prob), _ = run_layer('layer { name: "l" type: "SoftmaxWithLoss" bottom: "s" bottom: "t" top: "y" top: "p" }',
                                {"s": flat, "t": t}, tops=("y", "p"))
    np.testing.assert_allclose(loss, -_log_softmax(flat)[np.arange(5), t.astype(int)].mean(), rtol=1e-5)
    np.testing.assert_allclose(prob, np.exp(_log_softmax(flat)), rtol=1e-5)


def test_accuracy_counts_as_caffe_top_k_ties_and_ignored_labels():
    s = np.array([[0.1, 0.5, 0.4], [0.3, 0.3, 0.4], [0.9, 0.05, 0.05], [0.2, 0.2, 0.6]], np.float32)
    t = np.array([2, 0, 0, 1], np.float32)
    (top1,), _ = run_layer('layer { name: "a" type: "Accuracy" bottom: "s" bottom: "t" top: "y" }', {"s": s, "t": t})
    assert top1 == pytest.approx(0.25)  # only row 2; row 1's tie with a higher third class is not right
    (top2,), _ = run_layer('layer { name: "a" type: "Accuracy" bottom: "s" bottom: "t" top: "y" '
                           'accuracy_param { top_k: 2 } }', {"s": s, "t": t})
    assert top2 == pytest.approx(1.0)  # one class above the label in each row: fewer than 2
    (ign,), _ = run_layer('layer { name: "a" type: "Accuracy" bottom: "s" bottom: "t" top: "y" '
                          'accuracy_param { ignore_label: 0 } }', {"s": s, "t": t})
    assert ign == pytest.approx(0.0)


def test_argmax_top_k_and_values_and_the_infogain_loss(tmp_path):
    a = rng.normal(size=(2, 3, 2, 2)).astype(np.float32)
    flat = a.reshape(2, -1)
    order = np.argsort(-flat, axis=1)[:, :3]
    (y,), _ = run_layer('layer { name: "l" type: "ArgMax" bottom: "a" top: "y" argmax_param { top_k: 3 } }', {"a": a})
    np.testing.assert_array_equal(y, order.reshape(2, 1, 3, 1))  # (Caffe's top: the bottom's 4 axes)
    (y,), _ = run_layer('layer { name: "l" type: "ArgMax" bottom: "a" top: "y" argmax_param { top_k: 2 '
                        'out_max_val: true } }', {"a": a})
    np.testing.assert_allclose(y[:, 0, :, 0], order[:, :2])
    np.testing.assert_allclose(y[:, 1, :, 0], np.take_along_axis(flat, order[:, :2], 1))
    (y,), _ = run_layer('layer { name: "l" type: "ArgMax" bottom: "a" top: "y" argmax_param { axis: 1 top_k: 2 '
                        'out_max_val: true } }', {"a": a})
    np.testing.assert_allclose(y, -np.sort(-a, axis=1)[:, :2])  # (along an axis: the values)
    scores = rng.normal(size=(5, 4)).astype(np.float32)
    labels = np.array([0, 3, 1, 1, 2], np.float32)
    gains = (np.eye(4) + rng.random((4, 4)) * 0.3).astype(np.float32)
    p = np.exp(scores) / np.exp(scores).sum(1, keepdims=True)
    expected = -(gains[labels.astype(int)] * np.log(p)).sum() / 5
    (loss,), _ = run_layer('layer { name: "l" type: "InfogainLoss" bottom: "s" bottom: "t" bottom: "h" top: "y" }',
                           {"s": scores, "t": labels, "h": gains})
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    source = tmp_path / "H.binaryproto"
    source.write_bytes(caffe.io.array_to_blobproto(gains.reshape(1, 1, 4, 4)).SerializeToString())
    (loss,), _ = run_layer(f'layer {{ name: "l" type: "InfogainLoss" bottom: "s" bottom: "t" top: "y" '
                           f'infogain_loss_param {{ source: "{source}" }} loss_param {{ ignore_label: 3 }} }}',
                           {"s": scores, "t": labels})
    kept = labels != 3
    np.testing.assert_allclose(loss, -(gains[labels[kept].astype(int)] * np.log(p[kept])).sum() / kept.sum(),
                               rtol=1e-5)
    (plain,), _ = run_layer('layer { name: "l" type: "InfogainLoss" bottom: "s" bottom: "t" bottom: "h" top: "y" }',
                            {"s": scores, "t": labels, "h": np.eye(4, dtype=np.float32)})
    (softmax,), _ = run_layer('layer { name: "l" type: "SoftmaxWithLoss" bottom: "s" bottom: "t" top: "y" }',
                              {"s": scores, "t": labels})
    np.testing.assert_allclose(plain, softmax, rtol=1e-5)  # (H the identity: the softmax loss)


def test_lstm_and_rnn_layers_follow_caffes_units_and_cont():
    """Caffe's LSTM (gates i, f, o, g; h and c dropped where cont is 0) and RNN, time-major,
    against NumPy loops written from lstm_layer.cpp / lstm_unit_layer.cpp / rnn_layer.cpp."""
    steps, batch, features, hidden = 5, 3, 4, 6
    x = rng.normal(size=(steps, batch, features)).astype(np.float32)
    cont = np.ones((steps, batch), np.float32)
    cont[0] = 0
    cont[3, 1] = 0  # (a new sequence starts at step 3 in the second column)
    fillers = 'weight_filler { type: "uniform" min: -0.5 max: 0.5 } bias_filler { type: "uniform" min: -0.2 max: 0.2 }'
    (h,), net = run_layer(f'layer {{ name: "l" type: "LSTM" bottom: "x" bottom: "c" top: "y" recurrent_param {{ '
                          f'num_output: {hidden} {fillers} }} }}', {"x": x, "c": cont})
    w_x, b, w_h = (blob.data for blob in net.params["l"])
    assert (w_x.shape, b.shape, w_h.shape) == ((4 * hidden, features), (4 * hidden,), (4 * hidden, hidden))
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    hv, cv, want = np.zeros((batch, hidden)), np.zeros((batch, hidden)), []
    for t in range(steps):
        keep = cont[t][:, None]
        z = x[t] @ w_x.T + b + (keep * hv) @ w_h.T
        i, f, o, g = (sigmoid(z[:, :hidden]), sigmoid(z[:, hidden:2 * hidden]), sigmoid(z[:, 2 * hidden:3 * hidden]),
                      np.tanh(z[:, 3 * hidden:]))
        cv = keep * f * cv + i * g
        hv = o * np.tanh(cv)
        want.append(hv)
    np.testing.assert_allclose(h, np.stack(want), rtol=1e-4, atol=1e-5)
    (o,), net = run_layer(f'layer {{ name: "r" type: "RNN" bottom: "x" bottom: "c" top: "y" recurrent_param {{ '
                          f'num_output: {hidden} {fillers} }} }}', {"x": x, "c": cont})
    w_xh, b_h, w_hh, w_ho, b_o = (blob.data for blob in net.params["r"])
    hv, want = np.zeros((batch, hidden)), []
    for t in range(steps):
        hv = np.tanh(x[t] @ w_xh.T + b_h + (cont[t][:, None] * hv) @ w_hh.T)
        want.append(np.tanh(hv @ w_ho.T + b_o))
    np.testing.assert_allclose(o, np.stack(want), rtol=1e-4, atol=1e-5)


def test_regression_and_margin_losses():
    a, b = rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=(4, 3)).astype(np.float32)
    t01 = rng.integers(0, 2, size=(4, 3)).astype(np.float32)
    label = np.array([0, 2, 1, 2], np.float32)
    prob = np.exp(_log_softmax(a.astype(np.float64)))
    sign = np.where(np.eye(3)[label.astype(int)] == 1, 1.0, -1.0)
    cases = [
        ('type: "EuclideanLoss" bottom: "a" bottom: "b"', ((a - b) ** 2).sum() / 4 / 2, {"a": a, "b": b}),
        ('type: "SigmoidCrossEntropyLoss" bottom: "a" bottom: "t"',
         -(t01 * np.log(1 / (1 + np.exp(-a))) + (1 - t01) * np.log(1 - 1 / (1 + np.exp(-a)))).sum() / 4,
         {"a": a, "t": t01}),
        ('type: "MultinomialLogisticLoss" bottom: "p" bottom: "l"',
         -np.log(prob[np.arange(4), label.astype(int)]).mean(), {"p": prob.astype(np.float32), "l": label}),
        ('type: "HingeLoss" bottom: "a" bottom: "l"', np.maximum(0, 1 - sign * a).sum() / 4, {"a": a, "l": label}),
        ('type: "HingeLoss" bottom: "a" bottom: "l" hinge_loss_param { norm: L2 }',
         (np.maximum(0, 1 - sign * a) ** 2).sum() / 4, {"a": a, "l": label}),
    ]
    similar = np.array([1, 0, 0, 1], np.float32)
    d = np.sqrt(((a - b) ** 2).sum(1))
    cases += [
        ('type: "ContrastiveLoss" bottom: "a" bottom: "b" bottom: "s" contrastive_loss_param { margin: 2 }',
         (similar * d ** 2 + (1 - similar) * np.maximum(2 - d, 0) ** 2).sum() / 8, {"a": a, "b": b, "s": similar}),
        ('type: "ContrastiveLoss" bottom: "a" bottom: "b" bottom: "s" contrastive_loss_param { margin: 9 '
         'legacy_version: true }', (similar * d ** 2 + (1 - similar) * np.maximum(9 - d ** 2, 0)).sum() / 8,
         {"a": a, "b": b, "s": similar}),
    ]
    for body, expected, inputs in cases:
        (loss,), _ = run_layer(f'layer {{ name: "l" {body} top: "y" }}', inputs)
        np.testing.assert_allclose(loss, expected, rtol=1e-5, err_msg=body)


def test_fillers_draw_as_caffes(rng):
    """Caffe's fan-in is count / shape[0], fan-out count / shape[1]: xavier is uniform within
    sqrt(3 / n), msra normal with std sqrt(2 / n), n by variance_norm."""
    from symgraph.compat.caffe.fillers import fill
    caffe.set_random_seed(3)  # (the bounds below are 5 standard errors or more: a seed keeps them so)
    shape = (64, 32, 3, 3)  # fan-in 288, fan-out 576
    for norm, n in (("FAN_IN", 288), ("FAN_OUT", 576), ("AVERAGE", 432)):
        w = fill(shape, Message(type="xavier", variance_norm=Enum(norm)), "constant")
        limit = np.sqrt(3.0 / n)
        assert w.dtype == np.float32 and np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit
        assert np.std(fill(shape, Message(type="msra", variance_norm=Enum(norm)), "constant")) == \
            pytest.approx(np.sqrt(2.0 / n), rel=0.03)
    g = fill((200, 50), Message(type="gaussian", mean=1.0, std=0.5), "constant")
    # (10^4 draws: the mean's standard error 0.005, the deviation's 0.0035)
    assert g.mean() == pytest.approx(1.0, abs=0.025) and g.std() == pytest.approx(0.5, rel=0.035)
    sparse = fill((100, 400), Message(type="gaussian", sparse=10), "constant")
    assert (sparse != 0).mean() == pytest.approx(0.1, abs=0.01)  # sparse / outputs kept
    ball = fill((5, 7), Message(type="positive_unitball"), "constant")
    np.testing.assert_allclose(ball.sum(axis=1), 1.0, rtol=1e-6)
    assert ball.min() >= 0
    u = fill((1000,), Message(type="uniform", min=-2.0, max=-1.0), "constant")
    assert -2.0 <= u.min() and u.max() <= -1.0
    np.testing.assert_array_equal(fill((2, 3), None, ("constant", 0.25)), np.full((2, 3), 0.25))
    line = np.array([0.25, 0.75, 0.75, 0.25])  # Caffe's bilinear kernel of 4 (upsampling by 2)
    np.testing.assert_allclose(fill((2, 1, 4, 4), Message(type="bilinear"), "constant")[1, 0], np.outer(line, line))
    with pytest.raises(ValueError, match="unknown filler type 'glorot'"):
        fill((2,), Message(type="glorot"), "constant")


def test_loss_weights_sum_into_the_objective_and_backward_matches_finite_differences():
    """net.backward()'s parameter and input diffs are the total loss's gradient (a layer's
    loss_weight scales its top), checked by central differences on the float32 net."""
    text = (input_layer("x", (3, 2, 4, 4)) + input_layer("t", (3,)) +
            'layer { name: "c" type: "Convolution" bottom: "x" top: "c" convolution_param { num_output: 3 '
            'kernel_size: 3 pad: 1 weight_filler { type: "gaussian" std: 0.5 } bias_filler { type: "gaussian" } } }'
            'layer { name: "p" type: "Pooling" bottom: "c" top: "p" pooling_param { pool: AVE kernel_size: 3 '
            'stride: 2 pad: 1 } }'
            'layer { name: "ip" type: "InnerProduct" bottom: "p" top: "s" inner_product_param { num_output: 3 '
            'weight_filler { type: "gaussian" std: 0.5 } } }'
            'layer { name: "loss" type: "SoftmaxWithLoss" bottom: "s" bottom: "t" top: "loss" }'
            'layer { name: "l2" type: "EuclideanLoss" bottom: "s" bottom: "z" top: "l2" loss_weight: 0.5 }'
            + input_layer("z", (3, 3)))
    net = net_of(text, caffe.TRAIN)
    feed = {"x": rng.normal(size=(3, 2, 4, 4)), "t": np.array([0, 2, 1]), "z": rng.normal(size=(3, 3))}

    def objective():
        out = net.forward(**feed)
        return float(out["loss"]) + 0.5 * float(out["l2"])

    def central_difference(array, index, step=1e-2):
        keep = array[index]
        array[index] = keep + step
        up = objective()
        array[index] = keep - step
        down = objective()
        array[index] = keep
        return (up - down) / (2 * step)

    objective()
    diffs = net.backward()
    for index in [(0, 0, 1, 1), (2, 1, 0, 2)]:
        expected = central_difference(net.params["c"][0].data, index)
        assert net.params["c"][0].diff[index] == pytest.approx(expected, rel=2e-2, abs=1e-4)
    for index in [(0, 1, 2, 3), (2, 0, 0, 0)]:
        assert diffs["x"][index] == pytest.approx(central_difference(feed["x"], index), rel=2e-2, abs=1e-4)
    seeded = net.backward(s=np.ones((3, 3), np.float32))  # the diff of sum(s), seeded at the top
    assert seeded["x"].shape == (3, 2, 4, 4) and np.abs(seeded["x"]).sum() > 0


# -- nets: phases, inputs, data layers, errors ---------------------------------------------------

def test_phases_stages_inputs_outputs_and_in_place_blobs():
    text = ('input: "data" input_shape { dim: 2 dim: 3 }\n'
            'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 4 } }'
            'layer { name: "relu" type: "ReLU" bottom: "ip" top: "ip" }'
            'layer { name: "drop" type: "Dropout" bottom: "ip" top: "ip" include { phase: TRAIN } }'
            'layer { name: "extra" type: "TanH" bottom: "ip" top: "t" include { stage: "deep" } }'
            'layer { name: "not_deep" type: "Sigmoid" bottom: "ip" top: "g" exclude { stage: "deep" } }')
    test_net = net_of(text, caffe.TEST)
    assert [layer.name for layer in test_net.layers] == ["ip", "relu", "not_deep"]
    assert test_net.inputs == ["data"] and test_net.outputs == ["g"]  # the Sigmoid reads ip: not an output
    deep = net_of(text, caffe.TRAIN, stages=["deep"])
    assert [layer.type for layer in deep.layers] == ["InnerProduct", "ReLU", "Dropout", "TanH"]
    assert deep.outputs == ["t"]
    test_net.params["ip"][0].data[...] = np.eye(4, 3)
    out = test_net.forward(data=np.array([[1, -2, 3], [0, 0, 0]]))
    np.testing.assert_allclose(test_net.blobs["ip"].data, [[1, 0, 3, 0], [0, 0, 0, 0]])  # the ReLU wrote ip in place
    np.testing.assert_allclose(out["g"], 1 / (1 + np.exp(-test_net.blobs["ip"].data)))
    assert test_net.blobs["data"].shape == (2, 3) and test_net.blobs["ip"].count == 8
    data = test_net.blobs["data"]  # Caffe's legacy names: axes 0 to 3, 1 past the blob's own
    assert (data.num, data.channels, data.height, data.width) == (2, 3, 1, 1)


def test_dropout_scales_in_training_and_passes_through_in_testing():
    x = np.ones((200, 50), np.float32)
    layer = 'layer { name: "d" type: "Dropout" bottom: "x" top: "y" dropout_param { dropout_ratio: 0.3 } }'
    (y,), _ = run_layer(layer, {"x": x}, phase=caffe.TRAIN)
    assert np.all(np.isclose(y, 0) | np.isclose(y, 1 / 0.7))
    assert abs((y == 0).mean() - 0.3) < 0.02
    (y,), _ = run_layer(layer, {"x": x}, phase=caffe.TEST)
    np.testing.assert_array_equal(y, x)
    masks = []
    for _ in range(2):
        caffe.set_random_seed(7)  # fixes the masks as it fixes the fillers
        masks.append(run_layer(layer, {"x": x}, phase=caffe.TRAIN)[0][0])
    np.testing.assert_array_equal(masks[0], masks[1])


def test_hdf5_memory_and_dummy_data_layers_feed_the_net(tmp_path):
    import h5py
    data = np.arange(5 * 2, dtype=np.float32).reshape(5, 2)
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f["data"], f["label"] = data, np.arange(5, dtype=np.float32)
    (tmp_path / "list.txt").write_text(f"{tmp_path / 'a.h5'}\n")
    net = net_of(f'layer {{ name: "d" type: "HDF5Data" top: "data" top: "label" hdf5_data_param {{ '
                 f'source: "{tmp_path / "list.txt"}" batch_size: 3 }} }}')
    assert net.inputs == [] and net.blobs["data"].shape == (3, 2)
    labels = [net.forward()["label"].tolist() for _ in range(3)]
    assert labels == [[0, 1, 2], [3, 4, 0], [1, 2, 3]]  # on through the file, and around
    shuffled = net_of(f'layer {{ name: "d" type: "HDF5Data" top: "data" top: "label" hdf5_data_param {{ '
                      f'source: "{tmp_path / "list.txt"}" batch_size: 5 shuffle: true }} }}')
    passes = [shuffled.forward()["label"].tolist() for _ in range(3)]
    assert all(sorted(p) == [0, 1, 2, 3, 4] for p in passes)  # each pass every row once
    assert len({tuple(p) for p in passes}) > 1 and passes[0] != [0, 1, 2, 3, 4]  # in new orders
    np.testing.assert_array_equal(shuffled.blobs["data"].data[:, 0], 2 * shuffled.blobs["label"].data)  # rows kept
    mem = net_of('layer { name: "m" type: "MemoryData" top: "data" top: "label" memory_data_param { batch_size: 2 '
                 'channels: 1 height: 2 width: 2 } }')
    images = rng.normal(size=(4, 1, 2, 2)).astype(np.float32)
    mem.set_input_arrays(images, np.array([1, 2, 3, 4], np.float32))
    first = {name: value.copy() for name, value in mem.forward().items()}  # (the blobs' arrays, as pycaffe's)
    second = mem.forward()
    np.testing.assert_array_equal(second["data"], images[2:])
    assert first["label"].tolist() == [1, 2]
    with pytest.raises(ValueError, match="multiple of the batch size 2"):
        mem.set_input_arrays(images[:3], np.zeros(3))
    dummy = net_of('layer { name: "z" type: "DummyData" top: "z" dummy_data_param { shape { dim: 2 dim: 3 } '
                   'data_filler { type: "constant" value: 7 } } }')
    np.testing.assert_array_equal(dummy.forward()["z"], np.full((2, 3), 7))


def test_image_data_reads_bgr_images_through_caffes_transformer(tmp_path):
    from PIL import Image
    images = rng.integers(0, 256, size=(3, 6, 7, 3)).astype(np.uint8)
    for k, image in enumerate(images):
        Image.fromarray(image).save(tmp_path / f"{k}.png")
    (tmp_path / "list.txt").write_text("".join(f"{k}.png {k + 1}\n" for k in range(3)))
    layer = (f'layer {{ name: "img" type: "ImageData" top: "data" top: "label" image_data_param {{ '
             f'source: "{tmp_path / "list.txt"}" root_folder: "{tmp_path}/" batch_size: 2 }} '
             f'transform_param {{ crop_size: 4 mean_value: 10 mean_value: 20 mean_value: 30 scale: 0.5 }} }}')
    net = net_of(layer)
    out = net.forward()
    assert out["data"].shape == (2, 3, 4, 4) and out["label"].tolist() == [1, 2]
    bgr = images[:2, :, :, ::-1].transpose(0, 3, 1, 2).astype(np.float32)
    expected = (bgr - np.array([10, 20, 30])[None, :, None, None])[:, :, 1:5, 1:5] * 0.5  # the centre, testing
    np.testing.assert_allclose(out["data"], expected)
    assert net.forward()["label"].tolist() == [3, 1]
    resized = net_of(layer.replace("batch_size: 2", "batch_size: 1 new_height: 12 new_width: 10 is_color: false")
                     .replace("mean_value: 20 mean_value: 30 ", ""))
    assert resized.forward()["data"].shape == (1, 1, 4, 4)


PYLAYERS = """
import numpy as np
import symgraph.compat.caffe as caffe


class EuclideanLossLayer(caffe.Layer):
    # pycaffe's own example (examples/pycaffe/layers/pyloss.py), as users copy it.
    def setup(self, bottom, top):
        if len(bottom) != 2:
            raise Exception("Need two inputs to compute distance.")

    def reshape(self, bottom, top):
        if bottom[0].count != bottom[1].count:
            raise Exception("Inputs must have the same dimension.")
        self.diff = np.zeros_like(bottom[0].data, dtype=np.float32)
        top[0].reshape(1)

    def forward(self, bottom, top):
        self.diff[...] = bottom[0].data - bottom[1].data
        top[0].data[...] = np.sum(self.diff ** 2) / bottom[0].num / 2.

    def backward(self, top, propagate_down, bottom):
        for i in range(2):
            if not propagate_down[i]:
                continue
            sign = 1 if i == 0 else -1
            bottom[i].diff[...] = sign * self.diff / bottom[i].num


class Rows(caffe.Layer):
    # a data layer: param_str gives the batch size; each forward the next rows
    def setup(self, bottom, top):
        self.batch = int(self.param_str)
        self.x = np.arange(24, dtype=np.float32).reshape(8, 3) / 10
        self.t = np.ones((8, 2), np.float32)
        self.at = 0

    def reshape(self, bottom, top):
        top[0].reshape(self.batch, 3)
        top[1].reshape(self.batch, 2)

    def forward(self, bottom, top):
        rows = np.arange(self.at, self.at + self.batch) % 8
        top[0].data[...], top[1].data[...] = self.x[rows], self.t[rows]
        self.at += self.batch
"""


def test_python_layers_compute_train_and_feed_as_in_pycaffe(tmp_path, monkeypatch):
    (tmp_path / "user_layers.py").write_text(PYLAYERS)
    monkeypatch.syspath_prepend(str(tmp_path))
    net_text = ('layer { name: "rows" type: "Python" top: "x" top: "t" python_param { module: "user_layers" '
                'layer: "Rows" param_str: "4" } }'
                'layer { name: "ip" type: "InnerProduct" bottom: "x" top: "y" inner_product_param { num_output: 2 '
                'weight_filler { type: "gaussian" std: 0.3 } } }'
                'layer { name: "loss" type: "Python" bottom: "y" bottom: "t" top: "loss" python_param { '
                'module: "user_layers" layer: "EuclideanLossLayer" } loss_weight: 1 }'
                'layer { name: "check" type: "EuclideanLoss" bottom: "y" bottom: "t" top: "check" loss_weight: 0 }')
    net = net_of(net_text, caffe.TRAIN)
    assert net.inputs == [] and net.blobs["x"].shape == (4, 3)
    out = net.forward()
    np.testing.assert_allclose(out["loss"], [out["check"]], rtol=1e-6)  # top[0].reshape(1): a 1-element blob
    net.backward()
    builtin = net_of(net_text.replace("loss_weight: 1", "loss_weight: 0").replace("check\" loss_weight: 0",
                                                                                "check\" loss_weight: 1"),
                     caffe.TRAIN, share_from=net)
    builtin.forward()
    builtin.backward()
    np.testing.assert_allclose(net.params["ip"][0].diff, builtin.params["ip"][0].diff, rtol=1e-5)
    np.testing.assert_array_equal(builtin.blobs["x"].data, net.blobs["x"].data)  # (each net its own Rows)
    solver = caffe.Solver(parse(f'net_param {{ {net_text} }} base_lr: 0.5 lr_policy: "fixed" max_iter: 60'),
                          backend="numpy")
    solver.step(60)
    assert float(solver.net.forward()["loss"][0]) < 0.05 * float(out["loss"][0])
    with pytest.raises(ImportError, match="layer 'bad': cannot import its python_param module 'no_such_module'"):
        net_of('layer { name: "bad" type: "Python" top: "x" python_param { module: "no_such_module" layer: "L" } }')


def test_set_mode_gpu_compiles_later_nets_for_the_cuda_backend(monkeypatch):
    """The backend each compile is asked for (recorded; compiled on NumPy here, with no GPU)."""
    import symgraph as sg
    asked, compile_ = [], sg.function

    def recording(*args, backend=None, **kw):
        asked.append(backend)
        return compile_(*args, backend="numpy", **kw)

    monkeypatch.setattr(sg, "function", recording)
    deploy = os.path.join(DATA, "lenet_deploy.prototxt")
    x = np.zeros((1, 1, 8, 8))
    try:
        caffe.set_mode_gpu()
        caffe.Net(deploy, caffe.TEST).forward(data=x)
        caffe.Net(deploy, caffe.TEST, backend="numpy").forward(data=x)
    finally:
        caffe.set_mode_cpu()
    caffe.Net(deploy, caffe.TEST).forward(data=x)
    assert asked == ["cuda", "numpy", None]  # (None: sg.config.backend's)


def test_what_is_not_implemented_or_wrong_is_named():
    with pytest.raises(NotImplementedError, match="layer 'mnist': the Data layer is not implemented.*HDF5Data"):
        net_of('layer { name: "mnist" type: "Data" top: "data" data_param { source: "x_lmdb" backend: LMDB } }')
    with pytest.raises(NotImplementedError, match="layer 'w': type 'Warp' is not implemented"):
        net_of(input_layer("x", (1, 2)) + 'layer { name: "w" type: "Warp" bottom: "x" top: "y" }')
    with pytest.raises(ValueError, match="layer 'ip' .* reads the blob 'nothing'"):
        net_of(input_layer("x", (1, 2)) + 'layer { name: "ip" type: "InnerProduct" bottom: "nothing" top: "y" '
                                          'inner_product_param { num_output: 2 } }')
    with pytest.raises(ValueError, match="layer 'c' \\(Convolution\\): 3 channels and 4 outputs .* group 2"):
        net_of(input_layer("x", (1, 3, 4, 4)) + 'layer { name: "c" type: "Convolution" bottom: "x" top: "y" '
                                                'convolution_param { num_output: 4 kernel_size: 1 group: 2 } }')
    with pytest.raises(TypeError, match="needs the phase"):
        caffe.Net(os.path.join(DATA, "lenet_deploy.prototxt"))
    net = caffe.Net(os.path.join(DATA, "lenet_deploy.prototxt"), caffe.TEST, backend="numpy")
    with pytest.raises(KeyError, match="'images' is not an input of the net .*'data'"):
        net.forward(images=np.zeros((64, 1, 8, 8)))
    with pytest.raises(ValueError, match="needs a loss layer"):
        net.backward()
    other = caffe.Net(os.path.join(DATA, "lenet_deploy.prototxt"), caffe.TEST, backend="numpy")
    x = rng.normal(size=(64, 1, 8, 8))
    assert not np.allclose(other.forward(data=x)["prob"], net.forward(data=x)["prob"])
    other.share_with(net)  # pycaffe's: the other's blobs by layer name
    assert other.params["ip1"][0].variable is net.params["ip1"][0].variable
    np.testing.assert_array_equal(other.forward(data=x)["prob"], net.forward(data=x)["prob"])
    with pytest.raises(ValueError, match=r"the input 'data' of shape \(64, 3, 8, 8\) \(the net was built for "
                                         r"\(64, 1, 8, 8\)\): layer 'conv1' \(Convolution\): its parameter blob 0 "
                                         r"has shape \(8, 1, 3, 3\), the layer needs \(8, 3, 3, 3\)"):
        net.forward(data=np.zeros((64, 3, 8, 8)))
    assert net.forward(data=np.zeros((5, 1, 8, 8)))["prob"].shape == (5, 10)  # the net as it was, any batch
    net.blobs["data"].reshape(2, 1, 8, 8)  # a new batch size: the blobs follow at the next forward
    net.reshape()
    assert net.blobs["data"].shape == (2, 1, 8, 8) and net.blobs["prob"].shape == (2, 10)


CAFFENET_STYLE = """name: "CaffeNetStyle"
input: "data"
input_dim: 2
input_dim: 3
input_dim: 35
input_dim: 35
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" param { lr_mult: 1 } param { lr_mult: 2 }
  convolution_param { num_output: 8 kernel_size: 5 stride: 2 } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"
  pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "norm1" type: "LRN" bottom: "pool1" top: "norm1" lrn_param { local_size: 5 alpha: 0.0001 beta: 0.75 } }
layer { name: "conv2" type: "Convolution" bottom: "norm1" top: "conv2"
  convolution_param { num_output: 8 pad: 1 kernel_size: 3 group: 2 } }
layer { name: "bn" type: "BatchNorm" bottom: "conv2" top: "bn" }
layer { name: "scale" type: "Scale" bottom: "bn" top: "bn" scale_param { bias_term: true } }
layer { name: "sum" type: "Eltwise" bottom: "bn" bottom: "conv2" top: "res" }
layer { name: "a" type: "Convolution" bottom: "res" top: "a" convolution_param { num_output: 4 kernel_size: 1 } }
layer { name: "b" type: "Pooling" bottom: "res" top: "b" pooling_param { pool: MAX kernel_size: 3 stride: 1 pad: 1 } }
layer { name: "mix" type: "Concat" bottom: "a" bottom: "b" top: "mix" }
layer { name: "gap" type: "Pooling" bottom: "mix" top: "gap" pooling_param { pool: AVE global_pooling: true } }
layer { name: "drop" type: "Dropout" bottom: "gap" top: "gap" dropout_param { dropout_ratio: 0.5 } }
layer { name: "fc" type: "InnerProduct" bottom: "gap" top: "fc" inner_product_param { num_output: 5 } }
layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }
"""


@pytest.mark.parametrize("backend", ["numpy", pytest.param("numba", marks=pytest.mark.slow)])
def test_a_deploy_net_of_caffenet_resnet_and_googlenet_blocks(backend):
    """Legacy input_dim fields, a grouped convolution, LRN, BatchNorm + Scale + Eltwise
    (ResNet's block), Concat (Inception's), global pooling; the first layers also in the old
    `layers { type: CONVOLUTION blobs_lr: 1 }` form."""
    net = caffe.Net(parse(CAFFENET_STYLE), caffe.TEST, backend=backend)
    assert [net.blobs[n].data.shape for n in ("conv1", "pool1", "conv2", "mix", "gap", "prob")] == \
        [(2, 8, 16, 16), (2, 8, 8, 8), (2, 8, 8, 8), (2, 12, 8, 8), (2, 12, 1, 1), (2, 5)]
    assert net.params["conv2"][0].data.shape == (8, 4, 3, 3) and len(net.params["bn"]) == 3
    assert net.layers[0].type == "Convolution" and net.layer_dict["norm1"].type == "LRN"
    x = rng.normal(size=(2, 3, 35, 35)).astype(np.float32)
    prob = net.forward(data=x)["prob"]
    np.testing.assert_allclose(prob.sum(1), 1.0, rtol=1e-5)
    conv1 = np.maximum(_conv_reference(x, *[p.data for p in net.params["conv1"]], stride=(2, 2)), 0)
    np.testing.assert_allclose(net.blobs["pool1"].data, _pool_reference(conv1, 3, 2, 0, "MAX"), rtol=1e-4, atol=1e-5)
    head = CAFFENET_STYLE.split('layer { name: "bn"')[0]
    old = head.replace("layer {", "layers {").replace("param { lr_mult: 1 } param { lr_mult: 2 }",
                                                      "blobs_lr: 1 blobs_lr: 2")
    for new, kind in (('"Convolution"', "CONVOLUTION"), ('"ReLU"', "RELU"), ('"Pooling"', "POOLING"), ('"LRN"', "LRN")):
        old = old.replace(f"type: {new}", f"type: {kind}")
    v1 = caffe.Net(parse(old), caffe.TEST, backend=backend)
    assert v1.blobs["conv2"].data.shape == (2, 8, 8, 8)
    assert [layer.type for layer in v1.layers][:2] == ["Convolution", "ReLU"]
    assert v1._param_info[1][3] == 2.0  # blobs_lr: the bias's lr_mult
    with pytest.raises(ValueError, match="both 'layer' and 'layers'"):
        caffe.Net(parse(old + 'layer { name: "x" type: "ReLU" bottom: "conv2" top: "conv2" }'), caffe.TEST)


# -- solvers -----------------------------------------------------------------------------------

def _regression_solver(kind, extra="", iter_size=1, data=None):
    net = ((data or input_layer("x", (4, 3)) + input_layer("t", (4, 2))) +
           'layer { name: "ip" type: "InnerProduct" bottom: "x" top: "y" param { lr_mult: 1 } '
           'param { lr_mult: 2 decay_mult: 0 } inner_product_param { num_output: 2 '
           'weight_filler { type: "gaussian" std: 0.5 } bias_filler { type: "gaussian" std: 0.5 } } }'
           'layer { name: "loss" type: "EuclideanLoss" bottom: "y" bottom: "t" top: "loss" }')
    text = (f'net_param {{ {net} }} type: "{kind}" base_lr: 0.1 momentum: 0.9 weight_decay: 0.01 '
            f'lr_policy: "step" gamma: 0.5 stepsize: 2 max_iter: 10 iter_size: {iter_size} {extra}')
    return caffe.Solver(parse(text), backend="numpy")


def _caffe_update(kind, w, g, hist, rate, decay, t, momentum=0.9):
    """One parameter's update by Caffe's sgd_solver.cpp (and its subclasses)."""
    g = g + decay * w
    if kind == "SGD":
        hist[0] = momentum * hist[0] + rate * g
        return w - hist[0]
    if kind == "Nesterov":
        old = hist[0].copy()
        hist[0] = momentum * hist[0] + rate * g
        return w - ((1 + momentum) * hist[0] - momentum * old)
    if kind == "AdaGrad":
        hist[0] = hist[0] + g * g
        return w - rate * g / (np.sqrt(hist[0]) + 1e-8)
    if kind == "RMSProp":
        hist[0] = 0.99 * hist[0] + 0.01 * g * g
        return w - rate * g / (np.sqrt(hist[0]) + 1e-8)
    if kind == "AdaDelta":
        hist[0] = momentum * hist[0] + (1 - momentum) * g * g
        step = g * np.sqrt((hist[1] + 1e-8) / (hist[0] + 1e-8))
        hist[1] = momentum * hist[1] + (1 - momentum) * step * step
        return w - rate * step
    hist[0] = momentum * hist[0] + (1 - momentum) * g
    hist[1] = 0.999 * hist[1] + 0.001 * g * g
    correction = np.sqrt(1 - 0.999 ** t) / (1 - momentum ** t)
    return w - rate * correction * hist[0] / (np.sqrt(hist[1]) + 1e-8)


@pytest.mark.parametrize("kind", ["SGD", "Nesterov", "AdaGrad", "RMSProp", "AdaDelta", "Adam"])
def test_each_solver_takes_caffes_steps(kind):
    solver = _regression_solver(kind)
    x, t = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    solver.net.blobs["x"].data[...] = x
    solver.net.blobs["t"].data[...] = t
    w = solver.net.params["ip"][0].data.astype(np.float64)
    b = solver.net.params["ip"][1].data.astype(np.float64)
    hist = {"w": [np.zeros_like(w), np.zeros_like(w)], "b": [np.zeros_like(b), np.zeros_like(b)]}
    for it in range(5):
        dy = (x @ w.T + b - t) / 4
        rate = 0.1 * 0.5 ** (it // 2)
        w = _caffe_update(kind, w, dy.T @ x, hist["w"], rate, 0.01, it + 1)
        b = _caffe_update(kind, b, dy.sum(0), hist["b"], 2 * rate, 0.0, it + 1)
    solver.step(5)
    assert solver.iter == 5
    np.testing.assert_allclose(solver.net.params["ip"][0].data, w, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(solver.net.params["ip"][1].data, b, rtol=2e-5, atol=2e-6)


def test_parameters_shared_by_name_are_one_blob_updated_by_both_layers_gradients():
    """Caffe's Siamese idiom: two layers naming the same ParamSpecs share one weight blob, which a
    solver updates once, by the sum of both layers' gradients."""
    ip = ('layer {{ name: "{0}" type: "InnerProduct" bottom: "{1}" top: "{0}" param {{ name: "shared_w" }} '
          'param {{ name: "shared_b" }} inner_product_param {{ num_output: 2 weight_filler {{ type: "gaussian" }} '
          'bias_filler {{ type: "gaussian" }} }} }}')
    net = (input_layer("a", (3, 4)) + input_layer("b", (3, 4)) + input_layer("t", (3, 2)) + ip.format("ya", "a") +
           ip.format("yb", "b") + 'layer { name: "la" type: "EuclideanLoss" bottom: "ya" bottom: "t" top: "la" }'
           'layer { name: "lb" type: "EuclideanLoss" bottom: "yb" bottom: "t" top: "lb" }')
    solver = caffe.Solver(parse(f'net_param {{ {net} }} base_lr: 0.1 lr_policy: "fixed"'), backend="numpy")
    assert solver.net.params["ya"][0].variable is solver.net.params["yb"][0].variable
    assert len(solver.net.learnable_params()) == 2
    a, b, t = rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), rng.normal(size=(3, 2))
    for name, value in (("a", a), ("b", b), ("t", t)):
        solver.net.blobs[name].data[...] = value
    w, bias = (p.data.astype(np.float64) for p in solver.net.params["ya"])
    da, db = (a @ w.T + bias - t) / 3, (b @ w.T + bias - t) / 3
    solver.step(1)
    np.testing.assert_allclose(solver.net.params["yb"][0].data, w - 0.1 * (da.T @ a + db.T @ b), rtol=1e-5)
    np.testing.assert_allclose(solver.net.params["yb"][1].data, bias - 0.1 * (da.sum(0) + db.sum(0)), rtol=1e-5)


def test_a_solver_written_field_by_field_with_caffe_pb2_as_pycaffes_notebooks_do(tmp_path):
    from symgraph.compat.caffe.proto import caffe_pb2
    net = (input_layer("x", (4, 3)) + input_layer("t", (4, 2)) +
           'layer { name: "ip" type: "InnerProduct" bottom: "x" top: "y" inner_product_param { num_output: 2 } }'
           'layer { name: "loss" type: "EuclideanLoss" bottom: "y" bottom: "t" top: "loss" }')
    (tmp_path / "net.prototxt").write_text(net)
    s = caffe_pb2.SolverParameter()
    s.train_net = str(tmp_path / "net.prototxt")
    s.test_net.append(str(tmp_path / "net.prototxt"))
    s.test_iter.append(2)
    s.test_interval, s.max_iter, s.type, s.base_lr = 1000, 3, "Adam", 0.01
    s.lr_policy, s.momentum, s.solver_mode = "fixed", 0.9, caffe_pb2.SolverParameter.CPU
    s.snapshot_prefix = str(tmp_path / "snap")
    assert s.base_lr == 0.01 and list(s.test_iter) == [2] and s.weight_decay is None
    text = str(s)
    assert 'type: "Adam"' in text and "solver_mode: CPU" in text and "test_iter: 2" in text
    (tmp_path / "solver.prototxt").write_text(text)
    solver = caffe.get_solver(str(tmp_path / "solver.prototxt"))
    assert solver.type == "Adam" and len(solver.test_nets) == 1
    solver.solve()
    assert solver.iter == 3 and (tmp_path / "snap_iter_3.caffemodel").exists()
    with pytest.raises(AttributeError, match="append to it"):
        s.test_iter = 5


def test_the_deprecated_solver_type_names_the_rule():
    for legacy, kind in (("RMSPROP", "RMSProp"), ("ADADELTA", "AdaDelta"), (2, "AdaGrad")):
        solver = caffe.Solver(parse(f'net_param {{ {input_layer("x", (2, 3))} }} base_lr: 0.1 '
                                    f'solver_type: {legacy}'), backend="numpy")
        assert solver.type == kind


def test_learning_rate_policies():
    from symgraph.compat.caffe.solver import learning_rate
    p = parse('base_lr: 0.1 gamma: 0.5 power: 2 stepsize: 3 max_iter: 10')

    def lr(policy, it, step=0):
        q = parse(str(p) + f'lr_policy: "{policy}"')
        return learning_rate(q, it, step)

    assert lr("fixed", 7) == 0.1
    assert lr("step", 7) == pytest.approx(0.1 * 0.5 ** 2)
    assert lr("exp", 3) == pytest.approx(0.1 * 0.5 ** 3)
    assert lr("inv", 4) == pytest.approx(0.1 * (1 + 0.5 * 4) ** -2)
    assert lr("poly", 4) == pytest.approx(0.1 * (1 - 0.4) ** 2)
    assert lr("sigmoid", 5) == pytest.approx(0.1 / (1 + np.exp(-0.5 * 2)))
    solver = _regression_solver("SGD", 'lr_policy: "multistep" stepvalue: 1 stepvalue: 3')
    rates = []
    for _ in range(4):
        rates.append(solver._rate())
        solver.iter += 1
    assert rates == pytest.approx([0.1, 0.05, 0.05, 0.025])


def test_iter_size_accumulates_and_clipping_scales_by_the_global_norm(tmp_path):
    import h5py
    x, t = rng.normal(size=(8, 3)).astype(np.float32), rng.normal(size=(8, 2)).astype(np.float32)
    with h5py.File(tmp_path / "rows.h5", "w") as f:
        f["x"], f["t"] = x, t
    (tmp_path / "rows.txt").write_text(f"{tmp_path / 'rows.h5'}\n")

    def rows(batch):
        return (f'layer {{ name: "rows" type: "HDF5Data" top: "x" top: "t" hdf5_data_param {{ '
                f'source: "{tmp_path / "rows.txt"}" batch_size: {batch} }} }}')

    whole = _regression_solver("SGD", 'lr_policy: "fixed" weight_decay: 0', data=rows(8))
    halves = _regression_solver("SGD", 'lr_policy: "fixed" weight_decay: 0', iter_size=2, data=rows(4))
    for p, q in zip(halves.net.params["ip"], whole.net.params["ip"]):
        p.data[...] = q.data
    whole.step(1)
    halves.step(1)
    # Two halves of 4 (each loss / 4, summed, / iter_size 2) are the 8-row batch's gradient.
    for p, q in zip(halves.net.params["ip"], whole.net.params["ip"]):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-5, atol=1e-6)
    clipped = _regression_solver("SGD", 'lr_policy: "fixed" weight_decay: 0 momentum: 0 clip_gradients: 0.01')
    clipped.net.blobs["x"].data[...], clipped.net.blobs["t"].data[...] = x[:4], t[:4]
    before = [p.data.astype(np.float64) for p in clipped.net.params["ip"]]
    clipped.step(1)
    moved = [p.data - b for p, b in zip(clipped.net.params["ip"], before)]
    # Moved by base_lr 0.1 times lr_mult 1 and 2 times the clipped gradient, whose norm is 0.01.
    norm = np.sqrt(((moved[0] / 0.1) ** 2).sum() + ((moved[1] / 0.2) ** 2).sum())
    assert norm == pytest.approx(0.01, rel=1e-4)


def test_snapshot_and_restore_go_on_as_if_never_stopped(tmp_path):
    def solver():
        s = _regression_solver("Adam", f'snapshot_prefix: "{tmp_path / "reg"}" random_seed: 3')
        s.net.blobs["x"].data[...] = np.linspace(-1, 1, 12).reshape(4, 3)
        s.net.blobs["t"].data[...] = np.linspace(1, -1, 8).reshape(4, 2)
        return s

    straight = solver()
    straight.step(4)
    first = solver()
    for p, q in zip(first.net.params["ip"], straight.net.params["ip"]):
        p.data[...] = 0.0
    start = [p.data.copy() for p in first.net.params["ip"]]
    again = solver()
    for s in (straight, again):
        for p, w in zip(s.net.params["ip"], start):
            p.data[...] = w
        for slots in s._history:
            for h in slots:
                h.set_value(np.zeros_like(h.get_value()))
        s.iter = 0
    straight.step(4)
    again.step(2)
    model = again.snapshot()
    assert os.path.exists(model) and os.path.exists(str(tmp_path / "reg_iter_2.solverstate"))
    resumed = solver()
    resumed.restore(str(tmp_path / "reg_iter_2.solverstate"))
    assert resumed.iter == 2
    resumed.step(2)
    for p, q in zip(resumed.net.params["ip"], straight.net.params["ip"]):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-6)


# -- NetSpec, io -------------------------------------------------------------------------------

def test_netspec_writes_the_prototxt_pycaffe_writes():
    n = caffe.NetSpec()
    n.data, n.label = L.Input(shape=[dict(dim=[2, 1, 6, 6]), dict(dim=[2])], ntop=2)
    n.conv1 = L.Convolution(n.data, kernel_size=3, num_output=4, weight_filler=dict(type="xavier"),
                            param=[dict(lr_mult=1), dict(lr_mult=2)])
    n.pool1 = L.Pooling(n.conv1, kernel_size=2, stride=2, pool=P.Pooling.AVE)
    n.relu1 = L.ReLU(n.pool1, in_place=True)
    n.up = L.Deconvolution(n.relu1, convolution_param=dict(num_output=2, kernel_size=2, stride=2))
    n.score = L.InnerProduct(n.up, num_output=3)
    n.loss = L.SoftmaxWithLoss(n.score, n.label, include=dict(phase=caffe.TRAIN))
    text = str(n.to_proto())
    assert 'pool: AVE' in text and 'phase: TRAIN' in text and 'lr_mult: 2' in text
    proto = parse(text)
    relu = proto.all("layer")[3]
    assert relu.get("name") == "relu1" and relu.all("bottom") == ["pool1"] and relu.all("top") == ["pool1"]
    assert proto.all("layer")[4].message("convolution_param").get("num_output") == 2
    net = caffe.Net(proto, caffe.TRAIN, backend="numpy")
    assert net.blobs["up"].data.shape == (2, 2, 4, 4) and net.outputs == ["loss"]
    net.blobs["label"].data[...] = [0, 2]
    assert np.isfinite(net.forward()["loss"])
    with pytest.raises(TypeError, match="convolution_param=dict"):
        str(caffe.to_proto(L.Deconvolution(n.relu1, num_output=2)))


def test_io_transformer_and_binaryproto_round_trips(tmp_path):
    from symgraph.compat.caffe.proto import caffe_pb2
    t = caffe.io.Transformer({"data": (1, 3, 4, 5)})
    t.set_transpose("data", (2, 0, 1))
    t.set_channel_swap("data", (2, 1, 0))
    t.set_raw_scale("data", 255)
    t.set_mean("data", np.array([104.0, 117.0, 123.0]))
    image = rng.random((4, 5, 3)).astype(np.float32)
    x = t.preprocess("data", image)
    np.testing.assert_allclose(x[0], image[:, :, 2] * 255 - 104, rtol=1e-5)
    np.testing.assert_allclose(t.deprocess("data", x), image, rtol=1e-5, atol=1e-5)
    mean = rng.random((3, 4, 5)).astype(np.float32)
    (tmp_path / "mean.binaryproto").write_bytes(caffe.io.array_to_blobproto(mean).SerializeToString())
    blob = caffe_pb2.BlobProto()
    blob.ParseFromString((tmp_path / "mean.binaryproto").read_bytes())
    np.testing.assert_array_equal(caffe.io.blobproto_to_array(blob), mean)
    # Images of another size are resized to the input's (spline order 1: bilinear), means too.
    resized = caffe.io.resize_image(np.full((8, 10, 3), 0.5, np.float32), (4, 5))
    assert resized.shape == (4, 5, 3) and np.allclose(resized, 0.5)
    ramp = caffe.io.resize_image(np.arange(4, dtype=np.float32).reshape(1, 4, 1).repeat(2, 0), (2, 7))
    assert ramp.shape == (2, 7, 1) and np.all(np.diff(ramp[0, :, 0]) > 0) and ramp[0, 0, 0] == 0 and ramp[0, -1, 0] == 3
    big = rng.random((8, 10, 3)).astype(np.float32)
    np.testing.assert_allclose(t.preprocess("data", big)[0], caffe.io.resize_image(big, (4, 5))[:, :, 2] * 255 - 104,
                               rtol=1e-5, atol=1e-4)
    t.set_mean("data", np.full((3, 8, 10), 7.0))
    assert t.mean["data"].shape == (3, 4, 5) and np.allclose(t.mean["data"], 7.0)
    from PIL import Image
    Image.fromarray((image * 255).astype(np.uint8)).save(tmp_path / "i.png")
    loaded = caffe.io.load_image(str(tmp_path / "i.png"))
    assert loaded.shape == (4, 5, 3) and loaded.dtype == np.float32 and loaded.max() <= 1.0


def test_draw_shows_layers_and_blobs_as_pycaffe_does(tmp_path):
    proto = parse(open(os.path.join(DATA, "lenet_deploy.prototxt")).read())
    source = caffe.draw.to_dot(proto, rankdir="LR").source
    assert "conv1\\n(Convolution)\\nkernel size: 3" in source and "(Pooling MAX)" in source
    assert source.count("octagon") == 6  # data, conv1, pool1, ip1 (the ReLU's too), ip2, prob
    path = caffe.draw.draw_net_to_file(proto, str(tmp_path / "lenet.png"))
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    net = caffe.Net(proto, caffe.TEST, backend="numpy")
    assert open(net.render(str(tmp_path / "graph.svg"))).read().lstrip().startswith("<?xml")


def test_classifier_averages_ten_crops_of_resized_images(tmp_path):
    text = (input_layer("data", (1, 3, 4, 4)) +
            'layer { name: "gap" type: "Pooling" bottom: "data" top: "gap" pooling_param { pool: AVE '
            'global_pooling: true } } layer { name: "flat" type: "Flatten" bottom: "gap" top: "flat" }')
    (tmp_path / "deploy.prototxt").write_text(text)
    net = caffe.Net(str(tmp_path / "deploy.prototxt"), caffe.TEST, backend="numpy")
    net.save(str(tmp_path / "none.caffemodel"))
    classifier = caffe.Classifier(str(tmp_path / "deploy.prototxt"), str(tmp_path / "none.caffemodel"),
                                  image_dims=(6, 6), raw_scale=255, channel_swap=(2, 1, 0), backend="numpy")
    images = [rng.random((6, 6, 3)).astype(np.float32) for _ in range(2)]
    crops = caffe.io.oversample(images, (4, 4))
    assert crops.shape == (20, 4, 4, 3)
    np.testing.assert_array_equal(crops[1], images[0][0:4, 2:6])  # top right
    np.testing.assert_array_equal(crops[4], images[0][1:5, 1:5])  # the centre
    np.testing.assert_array_equal(crops[6], images[0][0:4, 2:6][:, ::-1])  # mirrored
    expected = np.stack([crops[10 * k:10 * k + 10].mean(axis=(0, 1, 2))[::-1] * 255 for k in range(2)])
    np.testing.assert_allclose(classifier.predict(images), expected, rtol=1e-4)
    np.testing.assert_allclose(classifier.predict(images, oversample=False),
                               np.stack([im[1:5, 1:5].mean(axis=(0, 1))[::-1] * 255 for im in images]), rtol=1e-4)


# -- training ----------------------------------------------------------------------------------

def _digits_files(folder):
    import h5py
    from sklearn.datasets import load_digits
    d = load_digits()
    x, y = (d.images / 16.0).astype(np.float32)[:, None], d.target.astype(np.float32)
    for name, rows in (("train", slice(0, 1500)), ("test", slice(1500, None))):
        with h5py.File(folder / f"{name}.h5", "w") as f:
            f["data"], f["label"] = x[rows], y[rows]
        (folder / f"{name}.txt").write_text(f"{folder / (name + '.h5')}\n")


def _lenet_solver_file(folder, backend_iters=300):
    net = f'''name: "LeNet"
layer {{ name: "digits" type: "HDF5Data" top: "data" top: "label" include {{ phase: TRAIN }}
  hdf5_data_param {{ source: "{folder / 'train.txt'}" batch_size: 64 shuffle: true }} }}
layer {{ name: "digits" type: "HDF5Data" top: "data" top: "label" include {{ phase: TEST }}
  hdf5_data_param {{ source: "{folder / 'test.txt'}" batch_size: 99 }} }}
layer {{ name: "conv1" type: "Convolution" bottom: "data" top: "conv1" param {{ lr_mult: 1 }} param {{ lr_mult: 2 }}
  convolution_param {{ num_output: 16 kernel_size: 3 pad: 1 weight_filler {{ type: "xavier" }} }} }}
layer {{ name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"
  pooling_param {{ pool: MAX kernel_size: 2 stride: 2 }} }}
layer {{ name: "ip1" type: "InnerProduct" bottom: "pool1" top: "ip1" param {{ lr_mult: 1 }} param {{ lr_mult: 2 }}
  inner_product_param {{ num_output: 64 weight_filler {{ type: "xavier" }} }} }}
layer {{ name: "relu1" type: "ReLU" bottom: "ip1" top: "ip1" }}
layer {{ name: "ip2" type: "InnerProduct" bottom: "ip1" top: "ip2" param {{ lr_mult: 1 }} param {{ lr_mult: 2 }}
  inner_product_param {{ num_output: 10 weight_filler {{ type: "xavier" }} }} }}
layer {{ name: "accuracy" type: "Accuracy" bottom: "ip2" bottom: "label" top: "accuracy"
  include {{ phase: TEST }} }}
layer {{ name: "loss" type: "SoftmaxWithLoss" bottom: "ip2" bottom: "label" top: "loss" }}
'''
    (folder / "train_test.prototxt").write_text(net)
    (folder / "solver.prototxt").write_text(
        f'net: "{folder / "train_test.prototxt"}"\ntest_iter: 3\ntest_interval: 150\nbase_lr: 0.01\n'
        f'momentum: 0.9\nweight_decay: 0.0005\nlr_policy: "inv"\ngamma: 0.0001\npower: 0.75\ndisplay: 150\n'
        f'max_iter: {backend_iters}\nsnapshot_prefix: "{folder / "lenet"}"\nrandom_seed: 1\nsolver_mode: CPU\n')
    return folder / "solver.prototxt"


def _train_lenet(tmp_path, backend, capsys):
    _digits_files(tmp_path)
    solver = caffe.SGDSolver(str(_lenet_solver_file(tmp_path)), backend=backend)
    solver.solve()
    log = capsys.readouterr().out
    assert "Iteration 150, loss = " in log and "Test net output #0: accuracy = " in log
    accuracy = np.mean([solver.test_nets[0].forward()["accuracy"] for _ in range(3)])
    assert accuracy > 0.85
    model = tmp_path / "lenet_iter_300.caffemodel"
    assert model.exists()
    deploy = caffe.Net(str(tmp_path / "train_test.prototxt"), str(model), caffe.TEST, backend=backend)
    scores = deploy.forward()["accuracy"]
    assert scores > 0.8
    # Transfer learning's idiom: the features up to a layer (forward(end=...)), an SVM on them.
    from sklearn.svm import LinearSVC
    features, labels = [], []
    for _ in range(3):
        out = deploy.forward(end="relu1")
        assert list(out) == ["ip1"] and out["ip1"].shape == (99, 64)
        features.append(out["ip1"].copy())
        labels.append(deploy.blobs["label"].data.copy())
    svm = LinearSVC(C=1.0, max_iter=5000).fit(np.concatenate(features[:2]), np.concatenate(labels[:2]))
    assert svm.score(features[2], labels[2]) > 0.8
    return solver


def test_lenet_trains_on_the_digits_from_hdf5_files_through_a_solver_file(tmp_path, capsys):
    _train_lenet(tmp_path, "numpy", capsys)


@pytest.mark.slow
def test_lenet_trains_on_the_numba_backend(tmp_path, capsys):
    _train_lenet(tmp_path, "numba", capsys)


def test_the_command_line_trains_tests_times_and_fine_tunes(tmp_path, capsys, monkeypatch):
    from symgraph.compat.caffe.__main__ import main
    monkeypatch.setitem(caffe.net.MODE, "backend", "numpy")
    _digits_files(tmp_path)
    solver_file = _lenet_solver_file(tmp_path, backend_iters=150)
    solver = main(["train", f"--solver={solver_file}"])
    log = capsys.readouterr().out
    assert log.startswith("Starting Optimization") and log.rstrip().endswith("Optimization Done.")
    assert solver.iter == 150 and (tmp_path / "lenet_iter_150.solverstate").exists()
    model, weights = str(tmp_path / "train_test.prototxt"), str(tmp_path / "lenet_iter_150.caffemodel")
    means = main(["test", f"--model={model}", f"--weights={weights}", "--iterations=3"])
    log = capsys.readouterr().out
    assert "Batch 2, accuracy = " in log and f"accuracy = {means['accuracy']:g}" in log and means["accuracy"] > 0.7
    forward, backward = main(["time", f"--model={model}", "--iterations=2"])
    assert "Average Forward-Backward:" in capsys.readouterr().out and forward > 0 and backward > 0
    tuned = main(["train", f"--solver={solver_file}", f"--weights={weights}"])  # starts from the weights
    assert tuned.test_nets[0].forward()["accuracy"] > 0.8
    resumed = main(["train", f"--solver={solver_file}", f"--snapshot={tmp_path / 'lenet_iter_150.solverstate'}"])
    assert resumed.iter == 150  # already at max_iter: nothing more to do
