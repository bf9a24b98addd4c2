"""tf.nn: TensorFlow 1's neural-network functions, images NHWC and filters HWIO as there
(moved to symgraph's NCHW and OIHW around each convolution and pooling; the rewriter merges the
moves)."""
import numpy as np

from ... import keras_backend as K
from ...layers.conv import average_pool
from ...ops import conv as C, elemwise as E, nn as N, reduce as R
from ...ops.base import as_variable
from ...ops.shape import reshape as S_reshape, shape
from . import rnn as rnn_cell
from .rnn import dynamic_rnn, bidirectional_dynamic_rnn
from .names import name_functions
from .variables import _stream

relu, elu, softplus, sigmoid, tanh = E.relu, N.elu, E.softplus, E.sigmoid, E.tanh


def relu6(features, name=None):
    return E.clip(features, 0, 6)


def leaky_relu(features, alpha=0.2, name=None):
    from ...nnet import relu as leaky
    return leaky(features, alpha)


def softmax(logits, axis=-1, name=None, dim=None):
    return N.softmax(logits, axis if dim is None else dim)


def log_softmax(logits, axis=-1, name=None, dim=None):
    return N.log_softmax(logits, axis if dim is None else dim)


def softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, dim=-1, name=None, axis=None):
    """Each example's cross-entropy of softmax(logits) against labels (a distribution), as
    TensorFlow's, which takes them by name only."""
    _by_name(_sentinel, "softmax_cross_entropy_with_logits")
    return K.categorical_crossentropy(labels, logits, from_logits=True, axis=dim if axis is None else axis)


softmax_cross_entropy_with_logits_v2 = softmax_cross_entropy_with_logits


def sparse_softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, name=None):
    _by_name(_sentinel, "sparse_softmax_cross_entropy_with_logits")
    return K.sparse_categorical_crossentropy(labels, logits, from_logits=True)


def sigmoid_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, name=None):
    """softplus(x) - x z (TensorFlow's max(x, 0) - x z + log(1 + exp(-|x|))), finite for any logit."""
    _by_name(_sentinel, "sigmoid_cross_entropy_with_logits")
    return N.binary_crossentropy(logits, labels, from_logits=True)


def _by_name(sentinel, what):
    if sentinel is not None:
        raise ValueError(f"Only call `{what}` with named arguments (labels=..., logits=...)")


def l2_loss(t, name=None):
    return R.sum(as_variable(t) ** 2) / 2


def bias_add(value, bias, data_format=None, name=None):
    value = as_variable(value)
    if data_format == "NCHW":
        return value + as_variable(bias).dimshuffle(*(["x", 0] + ["x"] * (value.ndim - 2)))
    return value + bias


def dropout(x, keep_prob=None, noise_shape=None, seed=None, name=None, rate=None):
    """Each entry kept with probability keep_prob (or 1 - rate), scaled by 1 / keep_prob; a
    placeholder keep_prob fed 1.0 keeps every one (TensorFlow 1's way to test)."""
    x = as_variable(x)
    if (keep_prob is None) == (rate is None):
        raise ValueError("dropout takes keep_prob or rate (one of them)")
    keep = as_variable(1 - rate if keep_prob is None else keep_prob)
    keep = keep if keep.dtype == x.dtype else E.cast(keep, x.dtype)
    u = _stream(seed).uniform(shape(x) if noise_shape is None else noise_shape, dtype=x.dtype)
    return x / keep * E.floor(keep + u)


def conv2d(input, filter=None, strides=None, padding=None, use_cudnn_on_gpu=True, data_format="NHWC",
           dilations=None, name=None, filters=None):
    """input NHWC, filter (height, width, in, out), strides and dilations [1, s, s, 1],
    padding "SAME" or "VALID" (or explicit [[0, 0], [top, bottom], [left, right], [0, 0]])."""
    w = as_variable(filter if filter is not None else filters).dimshuffle(3, 2, 0, 1)
    out = C.conv2d(_nchw(input, data_format), w, _spatial(strides, data_format, "strides"),
                   _padding(padding, data_format), _spatial(dilations, data_format, "dilations"))
    return _back(out, data_format)


def conv2d_transpose(value=None, filter=None, output_shape=None, strides=None, padding="SAME", data_format="NHWC",
                     name=None, input=None, filters=None, dilations=None):
    """The gradient of conv2d with respect to its images (a "deconvolution"), as TensorFlow
    defines it: filter (height, width, output channels, input channels), output_shape the
    images conv2d would take ([batch, height, width, channels], entries tensors or numbers)."""
    x = _nchw(value if value is not None else input, data_format)
    w = as_variable(filter if filter is not None else filters).dimshuffle(3, 2, 0, 1)
    params = C.ConvParams(_spatial(strides, data_format, "strides"), _padding(padding, data_format),
                          _spatial(dilations, data_format, "dilations"))
    n, h, w_, c = ([output_shape[k] for k in (0, 1, 2, 3)] if data_format != "NCHW"
                   else [output_shape[k] for k in (0, 2, 3, 1)])
    return _back(C.Conv2DGradInput(params)(x, w, [n, c, h, w_]), data_format)


def depthwise_conv2d(input, filter, strides, padding, rate=None, name=None, data_format="NHWC", dilations=None):
    """Each input channel convolved with its own filters: filter (height, width, in,
    multiplier) gives in * multiplier channels, channel k * multiplier + m from input k."""
    w = as_variable(filter)
    kh, kw, channels, multiplier = w.type.shape
    if channels is None or multiplier is None:
        raise ValueError(f"depthwise_conv2d: the channels of {w.describe()} must be known when the graph is built")
    # (groups of one input channel each: OIHW filters (in * multiplier, 1, height, width))
    w = S_reshape(w.dimshuffle(2, 3, 0, 1), [channels * multiplier, 1, kh, kw])
    out = C.conv2d(_nchw(input, data_format), w, _spatial(strides, data_format, "strides"),
                   _padding(padding, data_format), _spatial(rate if rate is not None else dilations, data_format,
                                                            "dilations"), groups=channels)
    return _back(out, data_format)


def separable_conv2d(input, depthwise_filter, pointwise_filter, strides, padding, rate=None, name=None,
                     data_format="NHWC", dilations=None):
    """depthwise_conv2d, then a 1x1 convolution mixing the channels (pointwise_filter
    (1, 1, in * multiplier, out))."""
    depthwise = depthwise_conv2d(input, depthwise_filter, strides, padding, rate, data_format=data_format,
                                 dilations=dilations)
    return conv2d(depthwise, pointwise_filter, [1, 1, 1, 1], "VALID", data_format=data_format)


def atrous_conv2d(value, filters, rate, padding, name=None):
    """conv2d with the filter's taps `rate` pixels apart (dilated)."""
    return conv2d(value, filters, [1, 1, 1, 1], padding, dilations=[1, rate, rate, 1])


def conv1d(value=None, filters=None, stride=1, padding="VALID", use_cudnn_on_gpu=None, data_format="NWC", name=None,
           input=None, dilations=None):
    """value (batch, width, in) ("NWC") or (batch, in, width) ("NCW"), filters (width, in,
    out): conv2d over images one pixel high."""
    x = as_variable(value if value is not None else input)
    channels_last = data_format in ("NWC", "NHWC", None)
    images = x.dimshuffle(0, "x", 1, 2) if channels_last else x.dimshuffle(0, "x", 2, 1)  # (NHWC)
    w = as_variable(filters).dimshuffle("x", 0, 1, 2)
    stride = stride if isinstance(stride, (int, np.integer)) else list(stride)[1 if channels_last else 2]
    dilation = 1 if dilations is None else (dilations if isinstance(dilations, (int, np.integer))
                                            else list(dilations)[1 if channels_last else 2])
    out = conv2d(images, w, [1, 1, int(stride), 1], padding, dilations=[1, 1, int(dilation), 1])[:, 0]
    return out if channels_last else out.dimshuffle(0, 2, 1)


def local_response_normalization(input, depth_radius=5, bias=1, alpha=1, beta=0.5, name=None):
    """input / (bias + alpha * sqr_sum) ** beta, sqr_sum the sum of squares over the channels
    within depth_radius of each (NHWC), as TensorFlow's (alpha not divided by the window)."""
    from ...ops.padding import window_sum
    x = as_variable(input)
    r = int(depth_radius)
    return x / (bias + alpha * window_sum(E.square(x), -1, r, r)) ** beta


lrn = local_response_normalization


def zero_fraction(value, name=None):
    """The fraction of value's entries that are 0 (float32): a ReLU layer's sparsity."""
    return R.mean(E.cast(E.eq(as_variable(value), 0), "float32"))


def weighted_cross_entropy_with_logits(labels=None, logits=None, pos_weight=None, name=None, targets=None):
    """sigmoid_cross_entropy_with_logits with the positive term weighted by pos_weight:
    (1 - z) x + (1 + (q - 1) z) (log(1 + exp(-|x|)) + max(-x, 0)), as TensorFlow writes it."""
    z = as_variable(labels if labels is not None else targets)
    x = as_variable(logits)
    log_weight = 1 + (pos_weight - 1) * z
    return (1 - z) * x + log_weight * (E.log1p(E.exp(-abs(x))) + E.maximum(-x, 0))


def max_pool(value, ksize, strides, padding, data_format="NHWC", name=None, input=None):
    value = value if value is not None else input
    pooled = C.max_pool2d(_nchw(value, data_format), _spatial(ksize, data_format, "ksize"),
                          _spatial(strides, data_format, "strides"), _padding(padding, data_format))
    return _back(pooled, data_format)


max_pool2d = max_pool


def avg_pool(value, ksize, strides, padding, data_format="NHWC", name=None, input=None):
    """Each window's mean over the pixels it covers (TensorFlow's, padding not counted)."""
    value = value if value is not None else input
    pooled = average_pool(_nchw(value, data_format), _spatial(ksize, data_format, "ksize"),
                          _spatial(strides, data_format, "strides"), _padding(padding, data_format))
    return _back(pooled, data_format)


avg_pool2d = avg_pool


def _nchw(x, data_format):
    x = as_variable(x)
    if x.ndim != 4:
        raise ValueError(f"expected 4-d images ({data_format}), got {x.describe()}")
    return x if data_format == "NCHW" else x.dimshuffle(0, 3, 1, 2)


def _back(x, data_format):
    return x if data_format == "NCHW" else x.dimshuffle(0, 2, 3, 1)


def _spatial(values, data_format, what):
    """[1, sh, sw, 1] (or [1, 1, sh, sw] for NCHW, or one number, or a pair) -> (sh, sw)."""
    if values is None:
        return 1
    if isinstance(values, (int, np.integer)):
        return int(values)
    values = list(values)
    if len(values) == 2:
        return tuple(values)
    if len(values) != 4:
        raise ValueError(f"{what} must have 1, 2 or 4 entries, got {values}")
    if data_format == "NCHW":
        spatial, batch_and_channels = values[2:], values[:2]
    else:
        spatial, batch_and_channels = values[1:3], [values[0], values[3]]
    if batch_and_channels != [1, 1]:
        raise ValueError(f"{what} along the batch and the channels must be 1, got {values}")
    return tuple(spatial)


def _padding(padding, data_format):
    if isinstance(padding, str):
        if padding.upper() not in ("SAME", "VALID"):
            raise ValueError(f"padding must be 'SAME' or 'VALID', got {padding!r}")
        return padding.lower()
    pads = [tuple(p) for p in padding]
    return tuple(pads[2:] if data_format == "NCHW" else pads[1:3])


def moments(x, axes, shift=None, name=None, keep_dims=None, keepdims=None):
    """(mean, variance) over the axes, the variance the population's (divided by n)."""
    x = as_variable(x)
    keep = bool(keepdims if keepdims is not None else keep_dims)
    axes = tuple(axes)
    mean = R.mean(x, axis=axes, keepdims=True)
    variance = R.mean((x - mean) ** 2, axis=axes, keepdims=keep)
    return (mean if keep else R.mean(x, axis=axes)), variance


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    """(x - mean) / sqrt(variance + epsilon) * scale + offset (offset or scale None: left out)."""
    out = (as_variable(x) - mean) / E.sqrt(variance + variance_epsilon)
    if scale is not None:
        out = out * scale
    return out if offset is None else out + offset


def embedding_lookup(params, ids, partition_strategy="mod", name=None, **unused):
    """The rows of params at ids (any shape of ids: their shape plus the rows')."""
    from ...ops.selection import take
    return take(params, ids, axis=0)


def l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None):
    """x / sqrt(max(sum(x ** 2), epsilon)) over axis (all axes for None)."""
    from ...losses import l2_normalize as unit
    axis = dim if axis is None else axis
    return unit(x, tuple(axis) if isinstance(axis, list) else axis, epsilon)


def top_k(input, k=1, sorted=True, name=None):
    """(values, indices as int32) of the k largest along the last axis, largest first."""
    from ...ops.sorting import topk, argtopk
    return topk(input, k), E.cast(argtopk(input, k), "int32")


def in_top_k(predictions, targets, k, name=None):
    """Whether each example's target class is among its k largest predictions (ties at the
    boundary counted in, as TensorFlow's): fewer than k predictions above the target's."""
    from ...ops.shape import arange
    p = as_variable(predictions)
    target = p[arange(shape(p)[0]), E.cast(as_variable(targets), "int64")]
    return E.lt(R.sum(E.gt(p, target.dimshuffle(0, "x")), axis=1), k)


name_functions(globals(), {
    "relu": "Relu", "relu6": "Relu6", "elu": "Elu", "softplus": "Softplus", "sigmoid": "Sigmoid", "tanh": "Tanh",
    "leaky_relu": "LeakyRelu", "softmax": "Softmax", "log_softmax": "LogSoftmax", "bias_add": "BiasAdd",
    "conv2d": "Conv2D", "max_pool": "MaxPool", "avg_pool": "AvgPool", "max_pool2d": "MaxPool",
    "avg_pool2d": "AvgPool", "l2_loss": "L2Loss", "batch_normalization": "batchnorm", "top_k": "TopKV2",
    "in_top_k": "InTopK", "sparse_softmax_cross_entropy_with_logits": "SparseSoftmaxCrossEntropyWithLogits",
    "sigmoid_cross_entropy_with_logits": "logistic_loss", "depthwise_conv2d": "depthwise",
    "separable_conv2d": "separable_conv2d", "conv1d": "conv1d", "local_response_normalization": "LRN", "lrn": "LRN"})
