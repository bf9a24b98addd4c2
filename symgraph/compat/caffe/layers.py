"""Caffe's layers as symgraph expressions, each written from Caffe's own definition (its
layer's Forward_cpu): a layer takes its LayerParameter, its bottoms' variables and a Builder
(which makes the layer's parameter blobs, shared by name between layers and nets) and gives its
tops. Blobs keep Caffe's layouts: NCHW images, OIHW convolution weights, (out, in) inner-product
weights, so a .caffemodel's arrays are the parameters as they are."""
import numpy as np

import symgraph as sg

from .python_layer import python_layer
from ...ops.padding import window_sum
from ..protobuf.text_format import Enum, Message

LAYERS = {}
# Types whose first top is a loss (weight 1 unless loss_weight says otherwise): Caffe's
# LossLayer subclasses.
LOSS_TYPES = {"SoftmaxWithLoss", "EuclideanLoss", "SigmoidCrossEntropyLoss", "MultinomialLogisticLoss",
              "HingeLoss", "ContrastiveLoss", "InfogainLoss"}
# Types a Net feeds itself (its inputs), not expressions; and a Python layer without bottoms.
DATA_TYPES = {"Input", "HDF5Data", "MemoryData", "DummyData", "Data", "ImageData", "WindowData"}


def is_data_layer(lp):
    kind = str(lp.get("type"))
    return kind in DATA_TYPES or (kind == "Python" and not lp.all("bottom"))


def layer(*names):
    def register(fn):
        for name in names:
            LAYERS[name] = fn
        return fn
    return register


def enum_name(value, names):
    """An enum field's name whether the file gave the name (MAX) or its number (0)."""
    if isinstance(value, str):
        return str(value)
    return names[int(value)]


def _spatial(param, name, default):
    """Caffe's (h, w) of a convolution or pooling field: `name_h` / `name_w`, else `name` given
    once (both) or twice (kernel_size's are kernel_h / kernel_w)."""
    short = name.replace("_size", "")
    if param.has(f"{short}_h") or param.has(f"{short}_w"):
        return int(param.get(f"{short}_h", default)), int(param.get(f"{short}_w", default))
    values = param.all(name)
    if not values:
        if default is None:
            raise ValueError(f"{name} (or {short}_h and {short}_w) is required")
        return default, default
    if len(values) == 1:
        return int(values[0]), int(values[0])
    if len(values) == 2:
        return int(values[0]), int(values[1])
    raise ValueError(f"{name} takes one value or two (2-d images), got {values}")


def _images(x, what):
    if x.ndim != 4:
        raise ValueError(f"{what} needs 4-d NCHW blobs here, got {x.describe()}")
    return x


def _static(x, axis):
    length = x.type.shape[axis]
    if length is None:
        raise ValueError(f"the length of axis {axis} of {x.describe()} must be known when the net is built")
    return length


# -- vision ------------------------------------------------------------------------------------

class _ConvGeometry:
    """A convolution_param's kernel, padding, stride, dilation, group and outputs, checked
    against the images' channels."""

    def __init__(self, p, x):
        self.kernel = _spatial(p, "kernel_size", None)
        self.stride, self.dilation = _spatial(p, "stride", 1), _spatial(p, "dilation", 1)
        ph, pw = _spatial(p, "pad", 0)
        self.padding = ((ph, ph), (pw, pw))
        self.group, self.n_out, self.channels = int(p.get("group", 1)), int(p.get("num_output")), _static(x, 1)
        if self.channels % self.group or self.n_out % self.group:
            raise ValueError(f"{self.channels} channels and {self.n_out} outputs are not divisible by group "
                             f"{self.group}")


def _with_bias(y, p, builder, n_out):
    if not p.get("bias_term", True):
        return y
    return y + builder.blob(1, (n_out,), p.get("bias_filler"), "constant").dimshuffle("x", 0, "x", "x")


@layer("Convolution")
def convolution(lp, bottoms, builder):
    p = lp.message("convolution_param")
    g = _ConvGeometry(p, _images(bottoms[0], "Convolution"))
    w = builder.blob(0, (g.n_out, g.channels // g.group) + g.kernel, p.get("weight_filler"), "constant")
    y = sg.nn.conv2d(bottoms[0], w, stride=g.stride, padding=g.padding, dilation=g.dilation, groups=g.group)
    return [_with_bias(y, p, builder, g.n_out)]


@layer("Deconvolution")
def deconvolution(lp, bottoms, builder):
    """The transpose of Convolution: weights (channels in, outputs / group, kh, kw)."""
    p = lp.message("convolution_param")
    g = _ConvGeometry(p, _images(bottoms[0], "Deconvolution"))
    w = builder.blob(0, (g.channels, g.n_out // g.group) + g.kernel, p.get("weight_filler"), "constant")
    y = sg.nn.conv2d_transpose(bottoms[0], w, stride=g.stride, padding=g.padding, dilation=g.dilation,
                               groups=g.group)
    return [_with_bias(y, p, builder, g.n_out)]


def pooled_size(length, kernel, stride, pad):
    """Caffe's pooled length: the last window may hang over the end (rounded up), but starts
    inside the image or its padding."""
    out = int(np.ceil((length + 2 * pad - kernel) / stride)) + 1
    if pad and (out - 1) * stride >= length + pad:
        out -= 1
    return out


@layer("Pooling")
def pooling(lp, bottoms, builder):
    p = lp.message("pooling_param")
    x = _images(bottoms[0], "Pooling")
    height, width = _static(x, 2), _static(x, 3)
    method = enum_name(p.get("pool", "MAX"), ["MAX", "AVE", "STOCHASTIC"])
    if p.get("global_pooling", False):
        (kh, kw), (ph, pw), (sh, sw) = (height, width), (0, 0), (1, 1)
    else:
        kh, kw = _spatial(p, "kernel_size", None)
        ph, pw = _spatial(p, "pad", 0)
        sh, sw = _spatial(p, "stride", 1)
    oh, ow = pooled_size(height, kh, sh, ph), pooled_size(width, kw, sw, pw)
    # The padding after the image is what the last window needs (Caffe rounds up).
    after_h, after_w = (oh - 1) * sh + kh - height - ph, (ow - 1) * sw + kw - width - pw
    padding = ((ph, max(after_h, 0)), (pw, max(after_w, 0)))
    if method == "MAX":
        return [sg.nn.max_pool2d(x, (kh, kw), (sh, sw), padding)]
    if method != "AVE":
        raise NotImplementedError(f"pool {method} is not implemented (MAX and AVE are)")
    total = sg.nn.avg_pool2d(x, (kh, kw), (sh, sw), padding) * np.asarray(kh * kw, dtype=x.dtype)
    counts = average_pool_counts(height, width, (kh, kw), (sh, sw), (ph, pw), (oh, ow))
    return [total / sg.constant(counts.astype(x.dtype))]


def average_pool_counts(height, width, kernel, stride, pad, out):
    """Caffe's divisor of each average window: its size clipped to the padded image (padding
    counted, what hangs past the padding not)."""
    counts = np.zeros(out)
    for i in range(out[0]):
        for j in range(out[1]):
            h0, w0 = i * stride[0] - pad[0], j * stride[1] - pad[1]
            h1, w1 = min(h0 + kernel[0], height + pad[0]), min(w0 + kernel[1], width + pad[1])
            counts[i, j] = (h1 - h0) * (w1 - w0)
    return counts


@layer("LRN")
def lrn(lp, bottoms, builder):
    p = lp.message("lrn_param")
    x = _images(bottoms[0], "LRN")
    size, alpha, beta = int(p.get("local_size", 5)), float(p.get("alpha", 1.0)), float(p.get("beta", 0.75))
    k = float(p.get("k", 1.0))
    if size % 2 == 0:
        raise ValueError("local_size must be odd (as Caffe requires)")
    region = enum_name(p.get("norm_region", "ACROSS_CHANNELS"), ["ACROSS_CHANNELS", "WITHIN_CHANNEL"])
    dt = x.dtype
    if region == "ACROSS_CHANNELS":
        before = (size - 1) // 2
        window = window_sum(sg.square(x), 1, before, size - 1 - before)
        scale = np.asarray(k, dt) + np.asarray(alpha / size, dt) * window
    else:  # the mean of squares over a size x size window, padding counted (Caffe's AVE pooling)
        pad = (size - 1) // 2
        height, width = _static(x, 2), _static(x, 3)
        square = Message(pool=Enum("AVE"), kernel_size=size, pad=pad, stride=1)
        mean = pooling(Message(pooling_param=square), [sg.square(x)], builder)[0]
        if mean.type.shape[2:] != (height, width):
            mean = mean[:, :, :height, :width]
        scale = np.asarray(1.0, dt) + np.asarray(alpha, dt) * mean
    return [x * scale ** np.asarray(-beta, dt)]


@layer("Crop")
def crop(lp, bottoms, builder):
    p = lp.message("crop_param")
    x, reference = bottoms
    axis = int(p.get("axis", 2)) % x.ndim
    offsets = [int(v) for v in p.all("offset")] or [0]
    index = [slice(None)] * x.ndim
    for k, a in enumerate(range(axis, x.ndim)):
        offset = offsets[0] if len(offsets) == 1 else offsets[k]
        index[a] = slice(offset, offset + sg.shape(reference)[a])
    return [x[tuple(index)]]


# -- common ------------------------------------------------------------------------------------

@layer("InnerProduct")
def inner_product(lp, bottoms, builder):
    p = lp.message("inner_product_param")
    x = bottoms[0]
    axis = int(p.get("axis", 1)) % x.ndim
    k = int(np.prod([_static(x, a) for a in range(axis, x.ndim)]))
    n_out = int(p.get("num_output"))
    transpose = p.get("transpose", False)
    w = builder.blob(0, (k, n_out) if transpose else (n_out, k), p.get("weight_filler"), "constant")
    lead = [sg.shape(x)[a] for a in range(axis)]
    y = sg.dot(sg.reshape(x, [-1, k]), w if transpose else w.T)
    if p.get("bias_term", True):
        y = y + builder.blob(1, (n_out,), p.get("bias_filler"), "constant")
    return [y if axis == 1 else sg.reshape(y, lead + [n_out])]


@layer("Dropout")
def dropout(lp, bottoms, builder):
    p = lp.message("dropout_param")
    x, ratio = bottoms[0], float(p.get("dropout_ratio", 0.5))
    scale_train = p.get("scale_train", True)
    if builder.train:
        if scale_train:
            return [sg.nn.dropout(x, ratio, builder.rng)]
        keep = builder.rng.binomial(sg.shape(x), n=1, p=1.0 - ratio, dtype=x.dtype)
        return [x * keep]
    return [x if scale_train else x * np.asarray(1.0 - ratio, x.dtype)]


@layer("Embed")
def embed(lp, bottoms, builder):
    p = lp.message("embed_param")
    n_in, n_out = int(p.get("input_dim")), int(p.get("num_output"))
    w = builder.blob(0, (n_in, n_out), p.get("weight_filler"), "constant")
    y = w[sg.cast(bottoms[0], "int64")]
    if p.get("bias_term", True):
        y = y + builder.blob(1, (n_out,), p.get("bias_filler"), "constant")
    return [y]


@layer("Split")
def split(lp, bottoms, builder):
    return [bottoms[0] for _ in lp.all("top")]


@layer("Silence")
def silence(lp, bottoms, builder):
    return []


@layer("Concat")
def concat(lp, bottoms, builder):
    p = lp.message("concat_param")
    axis = int(p.get("axis", p.get("concat_dim", 1)))
    return [sg.concatenate(bottoms, axis=axis % bottoms[0].ndim)]


@layer("Slice")
def slice_(lp, bottoms, builder):
    p = lp.message("slice_param")
    x, n_tops = bottoms[0], len(lp.all("top"))
    axis = int(p.get("axis", p.get("slice_dim", 1))) % x.ndim
    length = _static(x, axis)
    points = [int(v) for v in p.all("slice_point")]
    if not points:
        if length % n_tops:
            raise ValueError(f"axis {axis} of length {length} does not split into {n_tops} equal parts")
        points = [length // n_tops * k for k in range(1, n_tops)]
    if len(points) != n_tops - 1:
        raise ValueError(f"{len(points)} slice points for {n_tops} tops")
    bounds = [0] + points + [length]
    index = [slice(None)] * x.ndim
    tops = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        index[axis] = slice(start, stop)
        tops.append(x[tuple(index)])
    return tops


@layer("Eltwise")
def eltwise(lp, bottoms, builder):
    p = lp.message("eltwise_param")
    op = enum_name(p.get("operation", "SUM"), ["PROD", "SUM", "MAX"])
    if op == "PROD":
        out = bottoms[0]
        for b in bottoms[1:]:
            out = out * b
        return [out]
    if op == "MAX":
        out = bottoms[0]
        for b in bottoms[1:]:
            out = sg.maximum(out, b)
        return [out]
    coeffs = [float(c) for c in p.all("coeff")] or [1.0] * len(bottoms)
    if len(coeffs) != len(bottoms):
        raise ValueError("SUM takes one coefficient per bottom blob")
    terms = [b if c == 1.0 else b * np.asarray(c, b.dtype) for b, c in zip(bottoms, coeffs)]
    out = terms[0]
    for t in terms[1:]:
        out = out + t
    return [out]


@layer("Flatten")
def flatten(lp, bottoms, builder):
    p = lp.message("flatten_param")
    x = bottoms[0]
    axis, end = int(p.get("axis", 1)) % x.ndim, int(p.get("end_axis", -1)) % x.ndim
    dims = [sg.shape(x)[a] for a in range(x.ndim)]
    middle = 1
    for a in range(axis, end + 1):
        middle = middle * dims[a]
    return [sg.reshape(x, dims[:axis] + [middle] + dims[end + 1:])]


@layer("Reshape")
def reshape(lp, bottoms, builder):
    p = lp.message("reshape_param")
    x = bottoms[0]
    dims = [int(d) for d in p.message("shape").all("dim")]
    axis, num_axes = int(p.get("axis", 0)), int(p.get("num_axes", -1))
    start = axis if axis >= 0 else x.ndim + axis + 1
    stop = x.ndim if num_axes == -1 else start + num_axes
    old = [sg.shape(x)[a] for a in range(x.ndim)]
    new = [old[start + k] if d == 0 else d for k, d in enumerate(dims)]
    return [sg.reshape(x, old[:start] + new + old[stop:])]


@layer("Tile")
def tile(lp, bottoms, builder):
    p = lp.message("tile_param")
    x = bottoms[0]
    reps = [1] * x.ndim
    reps[int(p.get("axis", 1)) % x.ndim] = int(p.get("tiles"))
    return [sg.tile(x, reps)]


@layer("Reduction")
def reduction(lp, bottoms, builder):
    p = lp.message("reduction_param")
    x = bottoms[0]
    op = enum_name(p.get("operation", "SUM"), [None, "SUM", "ASUM", "SUMSQ", "MEAN"])
    axis = int(p.get("axis", 0)) % x.ndim if x.ndim else 0
    axes = tuple(range(axis, x.ndim))
    values = {"SUM": x, "ASUM": sg.abs(x), "SUMSQ": sg.square(x), "MEAN": x}[op]
    out = sg.mean(values, axis=axes) if op == "MEAN" else sg.sum(values, axis=axes)
    coeff = float(p.get("coeff", 1.0))
    return [out if coeff == 1.0 else out * np.asarray(coeff, x.dtype)]


@layer("ArgMax")
def argmax(lp, bottoms, builder):
    """Caffe's ArgMaxLayer: the top_k largest entries' indices, largest first (as Caffe's, in the
    blob's dtype). Along `axis`: that axis becomes top_k long (out_max_val: the values instead).
    Without it: each example's values flattened; top (N, 1, top_k) (at least 3 axes, as many as
    the bottom's), or (N, 2, top_k) of the indices then the values with out_max_val."""
    p = lp.message("argmax_param")
    x = bottoms[0]
    k, with_values = int(p.get("top_k", 1)), bool(p.get("out_max_val", False))
    if p.has("axis"):
        axis = int(p.get("axis")) % x.ndim
        if k == 1 and not with_values:
            return [sg.cast(sg.expand_dims(sg.argmax(x, axis=axis), axis), x.dtype)]
        return [sg.topk(x, k, axis=axis) if with_values else sg.cast(sg.argtopk(x, k, axis=axis), x.dtype)]
    n = sg.shape(x)[0]
    flat = sg.reshape(x, [n, -1])
    ones = [1] * (max(x.ndim, 3) - 3)  # (Caffe's top has the bottom's axes, 3 at least)
    indices = sg.cast(sg.argmax(flat, axis=1).dimshuffle(0, "x") if k == 1 else sg.argtopk(flat, k, axis=1), x.dtype)
    if with_values:
        values = sg.max(flat, axis=1).dimshuffle(0, "x") if k == 1 else sg.topk(flat, k, axis=1)
        return [sg.reshape(sg.stack([indices, values], axis=1), [n, 2, k] + ones)]
    return [sg.reshape(indices, [n, 1, k] + ones)]


# -- normalization -----------------------------------------------------------------------------

def _channel_axes(x):
    return (0,) + tuple(range(2, x.ndim))


@layer("BatchNorm")
def batch_norm(lp, bottoms, builder):
    p = lp.message("batch_norm_param")
    x = bottoms[0]
    channels = _static(x, 1)
    eps, fraction = float(p.get("eps", 1e-5)), float(p.get("moving_average_fraction", 0.999))
    global_stats = p.get("use_global_stats", not builder.train)
    mean_sum = builder.blob(0, (channels,), None, "constant", learnable=False)
    var_sum = builder.blob(1, (channels,), None, "constant", learnable=False)
    factor = builder.blob(2, (1,), None, "constant", learnable=False)
    dt, axes = x.dtype, _channel_axes(x)
    pattern = ["x"] * x.ndim
    pattern[1] = 0
    if global_stats:
        scale = sg.where(sg.eq(factor[0], 0), np.asarray(0, dt), np.asarray(1, dt) / factor[0])
        mean, var = mean_sum * scale, var_sum * scale
    else:
        mean = sg.mean(x, axis=axes)
        var = sg.mean(sg.square(x - mean.dimshuffle(*pattern)), axis=axes)
        count = sg.cast(sg.prod(sg.stack([sg.shape(x)[a] for a in axes])), dt)
        correction = sg.where(sg.gt(count, 1), count / sg.maximum(count - np.asarray(1, dt), np.asarray(1, dt)),
                              np.asarray(1, dt))
        f = np.asarray(fraction, dt)
        builder.update(factor, factor * f + np.asarray(1, dt))
        builder.update(mean_sum, mean_sum * f + mean)
        builder.update(var_sum, var_sum * f + correction * var)
    return [(x - mean.dimshuffle(*pattern)) / sg.sqrt(var.dimshuffle(*pattern) + np.asarray(eps, dt))]


def _operand_axes(x, p, bottoms):
    """(axis, shape): Scale's and Bias's operand spans axes [axis, axis + n) of the first
    bottom, n the second bottom's axes, else num_axes (-1: the rest); shape is those axes'."""
    axis = int(p.get("axis", 1)) % max(x.ndim, 1)
    num_axes = int(p.get("num_axes", 1))
    n_axes = bottoms[1].ndim if len(bottoms) > 1 else (x.ndim - axis if num_axes == -1 else num_axes)
    return axis, tuple(_static(x, a) for a in range(axis, axis + n_axes))


def _broadcast(operand, x, axis):
    pattern = ["x"] * axis + list(range(operand.ndim)) + ["x"] * (x.ndim - axis - operand.ndim)
    return operand.dimshuffle(*pattern) if operand.ndim else operand


@layer("Scale")
def scale(lp, bottoms, builder):
    p = lp.message("scale_param")
    x = bottoms[0]
    axis, shape = _operand_axes(x, p, bottoms)
    factor = bottoms[1] if len(bottoms) > 1 else builder.blob(0, shape, p.get("filler"), ("constant", 1.0))
    y = x * _broadcast(factor, x, axis)
    if p.get("bias_term", False):
        b = builder.blob(0 if len(bottoms) > 1 else 1, shape, p.get("bias_filler"), "constant")
        y = y + _broadcast(b, x, axis)
    return [y]


@layer("Bias")
def bias(lp, bottoms, builder):
    p = lp.message("bias_param")
    x = bottoms[0]
    axis, shape = _operand_axes(x, p, bottoms)
    b = bottoms[1] if len(bottoms) > 1 else builder.blob(0, shape, p.get("filler"), "constant")
    return [x + _broadcast(b, x, axis)]


@layer("MVN")
def mvn(lp, bottoms, builder):
    p = lp.message("mvn_param")
    x = bottoms[0]
    axes = tuple(range(1 if p.get("across_channels", False) else 2, x.ndim))
    centred = x - sg.mean(x, axis=axes, keepdims=True)
    if not p.get("normalize_variance", True):
        return [centred]
    std = sg.sqrt(sg.mean(sg.square(centred), axis=axes, keepdims=True))
    return [centred / (std + np.asarray(float(p.get("eps", 1e-9)), x.dtype))]


# -- activations -------------------------------------------------------------------------------

@layer("ReLU")
def relu(lp, bottoms, builder):
    slope = float(lp.message("relu_param").get("negative_slope", 0.0))
    x = bottoms[0]
    if slope == 0:
        return [sg.nn.relu(x)]
    return [sg.where(sg.gt(x, 0), x, x * np.asarray(slope, x.dtype))]


@layer("PReLU")
def prelu(lp, bottoms, builder):
    p = lp.message("prelu_param")
    x = bottoms[0]
    shared = p.get("channel_shared", False)
    channels = 1 if shared else _static(x, 1)
    slope = builder.blob(0, (channels,), p.get("filler"), ("constant", 0.25))
    pattern = ["x"] * x.ndim
    if not shared:
        pattern[1] = 0
    a = slope.dimshuffle(*pattern) if not shared else slope[0]
    return [sg.maximum(x, 0) + a * sg.minimum(x, 0)]


@layer("ELU")
def elu(lp, bottoms, builder):
    return [sg.nn.elu(bottoms[0], float(lp.message("elu_param").get("alpha", 1.0)))]


@layer("Sigmoid")
def sigmoid(lp, bottoms, builder):
    return [sg.nn.sigmoid(bottoms[0])]


@layer("TanH")
def tanh(lp, bottoms, builder):
    return [sg.tanh(bottoms[0])]


@layer("AbsVal")
def absval(lp, bottoms, builder):
    return [sg.abs(bottoms[0])]


@layer("BNLL")
def bnll(lp, bottoms, builder):
    return [sg.nn.softplus(bottoms[0])]


@layer("Threshold")
def threshold(lp, bottoms, builder):
    x = bottoms[0]
    t = float(lp.message("threshold_param").get("threshold", 0.0))
    return [sg.cast(sg.gt(x, np.asarray(t, x.dtype)), x.dtype)]


def _affine(x, p):
    dt = x.dtype
    scale_, shift = float(p.get("scale", 1.0)), float(p.get("shift", 0.0))
    y = x if scale_ == 1.0 else x * np.asarray(scale_, dt)
    return y if shift == 0.0 else y + np.asarray(shift, dt)


@layer("Power")
def power(lp, bottoms, builder):
    p = lp.message("power_param")
    x = bottoms[0]
    exponent = float(p.get("power", 1.0))
    y = _affine(x, p)
    return [y if exponent == 1.0 else y ** np.asarray(exponent, x.dtype)]


@layer("Exp")
def exp(lp, bottoms, builder):
    p = lp.message("exp_param")
    x = bottoms[0]
    base = float(p.get("base", -1.0))
    log_base = 1.0 if base == -1.0 else float(np.log(base))
    return [sg.exp(_affine(x, p) * np.asarray(log_base, x.dtype))]


@layer("Log")
def log(lp, bottoms, builder):
    p = lp.message("log_param")
    x = bottoms[0]
    base = float(p.get("base", -1.0))
    y = sg.log(_affine(x, p))
    return [y if base == -1.0 else y * np.asarray(1.0 / np.log(base), x.dtype)]


@layer("Softmax")
def softmax(lp, bottoms, builder):
    x = bottoms[0]
    axis = int(lp.message("softmax_param").get("axis", 1)) % x.ndim
    return [sg.nn.softmax(x, axis=axis)]


# -- losses and accuracy -----------------------------------------------------------------------

def _rows_and_labels(scores, labels, axis):
    """scores with the class axis last, as (rows, classes), and the labels as one int vector."""
    classes = _static(scores, axis)
    order = [a for a in range(scores.ndim) if a != axis] + [axis]
    rows = sg.reshape(scores.dimshuffle(*order) if order != list(range(scores.ndim)) else scores, [-1, classes])
    return rows, sg.cast(sg.reshape(labels, [-1]), "int64")


def _normalizer(mode, n_rows, n_valid, batch, dt):
    mode = enum_name(mode, ["FULL", "VALID", "BATCH_SIZE", "NONE"])
    value = {"FULL": n_rows, "VALID": n_valid, "BATCH_SIZE": batch, "NONE": None}[mode]
    if value is None:
        return np.asarray(1, dt)
    return sg.maximum(sg.cast(value, dt), np.asarray(1, dt))


def _normalization(lp, default):
    loss = lp.message("loss_param")
    if loss.has("normalization"):
        return loss.get("normalization")
    if loss.has("normalize"):
        return "VALID" if loss.get("normalize") else "BATCH_SIZE"
    return default


@layer("SoftmaxWithLoss")
def softmax_with_loss(lp, bottoms, builder):
    scores, labels = bottoms[:2]
    axis = int(lp.message("softmax_param").get("axis", 1)) % scores.ndim
    rows, label = _rows_and_labels(scores, labels, axis)
    log_p = sg.nn.log_softmax(rows, axis=1)
    return _softmax_loss_tops(lp, scores, axis, rows, label,
                              lambda safe: log_p[sg.arange(sg.shape(rows)[0]), safe])


def _softmax_loss_tops(lp, scores, axis, rows, label, log_likelihood):
    """A softmax loss's tops, as Caffe's SoftmaxWithLoss and InfogainLoss make them: minus the
    rows' log likelihoods (log_likelihood(labels): one a row; a label equal to ignore_label
    counts nothing) over the normalizer (VALID by default), and the probabilities where the
    layer has a second top."""
    loss_p = lp.message("loss_param")
    dt = scores.dtype
    if loss_p.has("ignore_label"):
        valid = sg.neq(label, int(loss_p.get("ignore_label")))
        picked = log_likelihood(sg.where(valid, label, 0)) * sg.cast(valid, dt)
        n_valid = sg.sum(sg.cast(valid, dt))
    else:
        picked = log_likelihood(label)
        n_valid = sg.shape(rows)[0]
    norm = _normalizer(_normalization(lp, "VALID"), sg.shape(rows)[0], n_valid, sg.shape(scores)[0], dt)
    tops = [-sg.sum(picked) / norm]
    if len(lp.all("top")) > 1:
        tops.append(sg.nn.softmax(scores, axis=axis))
    return tops


@layer("InfogainLoss")
def infogain_loss(lp, bottoms, builder):
    """Caffe's InfogainLossLayer (1.0): the softmax of the scores, each example's loss -sum over
    the classes j of H[label, j] log(max(p_j, 1e-20)), normalized as SoftmaxWithLoss (VALID by
    default, ignore_label honoured); H the third bottom, or the BlobProto in
    infogain_loss_param.source (identity H: SoftmaxWithLoss)."""
    scores, labels = bottoms[:2]
    p = lp.message("infogain_loss_param")
    axis = int(p.get("axis", 1)) % scores.ndim
    dt = scores.dtype
    if len(bottoms) > 2:
        gains = sg.reshape(bottoms[2], [_static(scores, axis), _static(scores, axis)])
    elif p.has("source"):
        from . import wire
        with open(str(p.get("source")), "rb") as f:
            matrix = wire.blob_array(wire.decode(f.read(), "BlobProto", where=str(p.get("source"))))
        gains = sg.constant(matrix.reshape(matrix.shape[-2], matrix.shape[-1]).astype(dt))
    else:
        raise ValueError("InfogainLoss needs its matrix H: a third bottom or infogain_loss_param.source")
    rows, label = _rows_and_labels(scores, labels, axis)
    log_p = sg.log(sg.maximum(sg.nn.softmax(rows, axis=1), np.asarray(1e-20, dt)))  # (Caffe's kLOG_THRESHOLD)
    return _softmax_loss_tops(lp, scores, axis, rows, label,
                              lambda safe: sg.sum(sg.take(gains, safe, axis=0) * log_p, axis=1))


@layer("Accuracy")
def accuracy(lp, bottoms, builder):
    p = lp.message("accuracy_param")
    scores, labels = bottoms[:2]
    axis = int(p.get("axis", 1)) % scores.ndim
    rows, label = _rows_and_labels(scores, labels, axis)
    top_k = int(p.get("top_k", 1))
    dt = scores.dtype
    valid = sg.neq(label, int(p.get("ignore_label"))) if p.has("ignore_label") else None
    safe = label if valid is None else sg.where(valid, label, 0)
    own = rows[sg.arange(sg.shape(rows)[0]), safe]
    # Right where fewer than top_k classes score higher than the label's (Caffe's count).
    better = sg.sum(sg.cast(sg.gt(rows, own.dimshuffle(0, "x")), "int64"), axis=1)
    right = sg.cast(sg.lt(better, top_k), dt)
    if valid is None:
        return [sg.mean(right)]
    weight = sg.cast(valid, dt)
    return [sg.sum(right * weight) / sg.maximum(sg.sum(weight), np.asarray(1, dt))]


@layer("EuclideanLoss")
def euclidean_loss(lp, bottoms, builder):
    a, b = bottoms[:2]
    return [sg.sum(sg.square(a - b)) / sg.cast(sg.shape(a)[0], a.dtype) / np.asarray(2, a.dtype)]


@layer("SigmoidCrossEntropyLoss")
def sigmoid_cross_entropy_loss(lp, bottoms, builder):
    x, t = bottoms[:2]
    dt = x.dtype
    terms = sg.nn.binary_crossentropy(x, sg.cast(t, dt), from_logits=True)  # (softplus(x) - t x: stable)
    count = sg.prod(sg.stack([sg.shape(x)[a] for a in range(x.ndim)]))
    norm = _normalizer(_normalization(lp, "BATCH_SIZE"), count, count, sg.shape(x)[0], dt)
    return [sg.sum(terms) / norm]


@layer("MultinomialLogisticLoss")
def multinomial_logistic_loss(lp, bottoms, builder):
    prob, labels = bottoms[:2]
    rows, label = _rows_and_labels(prob, labels, 1)
    picked = rows[sg.arange(sg.shape(rows)[0]), label]
    dt = prob.dtype
    return [-sg.sum(sg.log(sg.maximum(picked, np.asarray(1e-20, dt)))) / sg.cast(sg.shape(prob)[0], dt)]


@layer("ContrastiveLoss")
def contrastive_loss(lp, bottoms, builder):
    """Caffe's Siamese loss: pairs (a, b) with y = 1 where similar; (y d^2 + (1 - y)
    max(margin - d, 0)^2) / 2N, d the pair's distance (legacy_version: max(margin - d^2, 0))."""
    p = lp.message("contrastive_loss_param")
    a, b, similar = bottoms[:3]
    dt = a.dtype
    margin = np.asarray(float(p.get("margin", 1.0)), dt)
    d2 = sg.sum(sg.square(sg.reshape(a - b, [sg.shape(a)[0], -1])), axis=1)
    y = sg.cast(sg.reshape(similar, [-1]), dt)
    if p.get("legacy_version", False):
        apart = sg.maximum(margin - d2, 0)
    else:
        apart = sg.square(sg.maximum(margin - sg.sqrt(sg.maximum(d2, np.asarray(1e-30, dt))), 0))
    total = sg.sum(y * d2 + (np.asarray(1, dt) - y) * apart)
    return [total / sg.cast(sg.shape(a)[0], dt) / np.asarray(2, dt)]


@layer("HingeLoss")
def hinge_loss(lp, bottoms, builder):
    scores, labels = bottoms[:2]
    rows, label = _rows_and_labels(scores, labels, 1)
    dt = scores.dtype
    sign = np.asarray(1, dt) - np.asarray(2, dt) * sg.nn.one_hot(label, _static(scores, 1), dtype=dt)
    margins = sg.maximum(np.asarray(1, dt) + sign * rows, 0)  # (Caffe: 1 - t * x, t = +1 at the label)
    norm = enum_name(lp.message("hinge_loss_param").get("norm", "L1"), [None, "L1", "L2"])
    total = sg.sum(margins) if norm == "L1" else sg.sum(sg.square(margins))
    return [total / sg.cast(sg.shape(scores)[0], dt)]


LAYERS["Python"] = python_layer


# -- recurrent layers ---------------------------------------------------------------------------

def _recurrent_inputs(lp, bottoms, builder, gates):
    """(x's product by W_x plus its bias, (T, N, gates * H), the continuation flags (T, N) as
    the blob's dtype, H, W_h): Caffe's RecurrentLayer reads x (T, N, ...) time-major and cont,
    0 where a sequence starts (the state before it dropped)."""
    p = lp.message("recurrent_param")
    if p.get("expose_hidden", False) or len(bottoms) > 2:
        raise NotImplementedError(f"{lp.get('type')}: expose_hidden and a static input are not implemented")
    x, cont = bottoms[:2]
    hidden = int(p.get("num_output"))
    width = int(np.prod([_static(x, a) for a in range(2, x.ndim)]))
    w_x = builder.blob(0, (gates * hidden, width), p.get("weight_filler"), "constant")
    b_x = builder.blob(1, (gates * hidden,), p.get("bias_filler"), "constant")
    steps, batch = sg.shape(x)[0], sg.shape(x)[1]
    inputs = sg.reshape(sg.dot(sg.reshape(x, [-1, width]), w_x.T) + b_x, [steps, batch, gates * hidden])
    w_h = builder.blob(2, (gates * hidden, hidden), p.get("weight_filler"), "constant")
    return inputs, sg.cast(cont, x.dtype), hidden, w_h


@layer("LSTM")
def lstm(lp, bottoms, builder):
    """Caffe's LSTMLayer: blobs W_xc (4H, D), b_c (4H), W_hc (4H, H); gates i, f, o, g in that
    order; at each step h and c are multiplied by cont (0 starts a sequence afresh), then
    c_t = f c + i g, h_t = o tanh(c_t) (LSTMUnitLayer). Top: h of every step, (T, N, H)."""
    inputs, cont, hidden, w_h = _recurrent_inputs(lp, bottoms, builder, 4)
    dt = inputs.dtype

    def step(gates_x, keep, h, c):
        keep = keep.dimshuffle(0, "x")
        z = gates_x + sg.dot(h * keep, w_h.T)
        i, f = sg.sigmoid(z[:, :hidden]), sg.sigmoid(z[:, hidden:2 * hidden])
        o, g = sg.sigmoid(z[:, 2 * hidden:3 * hidden]), sg.tanh(z[:, 3 * hidden:])
        c_new = keep * f * c + i * g
        return [o * sg.tanh(c_new), c_new]
    batch = sg.shape(inputs)[1]
    start = [sg.zeros([batch, hidden], dtype=dt), sg.zeros([batch, hidden], dtype=dt)]
    (h, _), _ = sg.scan(step, sequences=[inputs, cont], outputs_info=start, name=str(lp.get("name")))
    return [h]


@layer("RNN")
def rnn(lp, bottoms, builder):
    """Caffe's RNNLayer: blobs W_xh (H, D), b_h (H), W_hh (H, H), W_ho (O, H), b_o (O), with
    O = H = num_output; h_t = tanh(W_xh x_t + b_h + W_hh (cont_t h_{t-1})), o_t = tanh(W_ho h_t + b_o).
    Top: o of every step, (T, N, O)."""
    inputs, cont, hidden, w_h = _recurrent_inputs(lp, bottoms, builder, 1)
    p = lp.message("recurrent_param")
    w_o = builder.blob(3, (hidden, hidden), p.get("weight_filler"), "constant")
    b_o = builder.blob(4, (hidden,), p.get("bias_filler"), "constant")

    def step(x_t, keep, h):
        return sg.tanh(x_t + sg.dot(h * keep.dimshuffle(0, "x"), w_h.T))
    start = sg.zeros([sg.shape(inputs)[1], hidden], dtype=inputs.dtype)
    h, _ = sg.scan(step, sequences=[inputs, cont], outputs_info=start, name=str(lp.get("name")))
    return [sg.tanh(sg.dot(h, w_o.T) + b_o)]
