"""tf.layers: TensorFlow 1's functional layers (dense, conv2d, poolings, flatten, dropout), each
call making its variables with get_variable under a scope of its own name (dense, dense_1, ...
or name=; reuse=True to call one again), NHWC images."""
import numpy as np

from ...ops import elemwise as E
from ...ops.base import as_variable
from ...ops.linalg import tensordot
from ...ops.shape import reshape, shape
from . import nn
from .names import ensure_named, name_functions
from .scopes import _prefix, get_variable, ones_initializer, variable_scope, zeros_initializer
from .variables import _collections, operation

_calls = {}


def _scope_name(name, kind):
    if name is not None:
        return name
    count = _calls.get((_prefix(), kind), 0)
    _calls[(_prefix(), kind)] = count + 1
    return kind if count == 0 else f"{kind}_{count}"


def _images(inputs, data_format, what):
    """(the images, "NHWC" or "NCHW", their channels: known when the layer is made)."""
    x = as_variable(inputs)
    fmt = "NHWC" if data_format == "channels_last" else "NCHW"
    channels = x.type.shape[3 if fmt == "NHWC" else 1]
    if channels is None:
        raise ValueError(f"{what}: the channels of {x.describe()} must be known when the layer is made")
    return x, fmt, channels


def _activate(out, activation, kind):
    """The activation's output (or the layer's), named in the layer's scope as TensorFlow's
    ("dense/Relu:0", "dense/BiasAdd:0")."""
    out = ensure_named(out, kind)
    return out if activation is None else ensure_named(activation(out), getattr(activation, "__name__", "Activation"))


def dense(inputs, units, activation=None, use_bias=True, kernel_initializer=None, bias_initializer=None,
          trainable=True, name=None, reuse=None, **unused):
    x = as_variable(inputs)
    n_in = x.type.shape[-1]
    if n_in is None:
        raise ValueError(f"dense: the last axis of {x.describe()} must be known when the layer is made")
    with variable_scope(_scope_name(name, "dense"), reuse=reuse):
        kernel = get_variable("kernel", [n_in, units], dtype=x.dtype, initializer=kernel_initializer,
                              trainable=trainable)
        out = tensordot(x, kernel, [[x.ndim - 1], [0]])
        if use_bias:
            out = out + get_variable("bias", [units], dtype=x.dtype,
                                     initializer=bias_initializer or zeros_initializer(), trainable=trainable)
        return _activate(out, activation, "BiasAdd" if use_bias else "MatMul")


def conv2d(inputs, filters, kernel_size, strides=(1, 1), padding="valid", data_format="channels_last",
           dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer=None, bias_initializer=None,
           trainable=True, name=None, reuse=None, **unused):
    x, fmt, channels = _images(inputs, data_format, "conv2d")
    kh, kw = _pair(kernel_size)
    with variable_scope(_scope_name(name, "conv2d"), reuse=reuse):
        kernel = get_variable("kernel", [kh, kw, channels, filters], dtype=x.dtype, initializer=kernel_initializer,
                              trainable=trainable)
        out = nn.conv2d(x, kernel, strides=_pair(strides), padding=padding.upper(), data_format=fmt,
                        dilations=_pair(dilation_rate))
        if use_bias:
            bias = get_variable("bias", [filters], dtype=x.dtype, initializer=bias_initializer or zeros_initializer(),
                                trainable=trainable)
            out = nn.bias_add(out, bias, data_format=fmt)
        return _activate(out, activation, "Conv2D")


def conv2d_transpose(inputs, filters, kernel_size, strides=(1, 1), padding="valid", data_format="channels_last",
                     activation=None, use_bias=True, kernel_initializer=None, bias_initializer=None, trainable=True,
                     name=None, reuse=None, **unused):
    """Each length times the stride ("same"), plus max(kernel - stride, 0) ("valid"), as
    TensorFlow's (Keras's) layer; its kernel (height, width, filters, input channels)."""
    x, fmt, channels = _images(inputs, data_format, "conv2d_transpose")
    axes = (1, 2, 3) if fmt == "NHWC" else (2, 3, 1)
    (kh, kw), (sh, sw) = _pair(kernel_size), _pair(strides)
    sizes = [shape(x)[a] * s + (max(k - s, 0) if padding.lower() == "valid" else 0)
             for a, k, s in ((axes[0], kh, sh), (axes[1], kw, sw))]
    out_shape = [shape(x)[0], sizes[0], sizes[1], filters] if fmt == "NHWC" else [shape(x)[0], filters] + sizes
    with variable_scope(_scope_name(name, "conv2d_transpose"), reuse=reuse):
        kernel = get_variable("kernel", [kh, kw, filters, channels], dtype=x.dtype, initializer=kernel_initializer,
                              trainable=trainable)
        out = nn.conv2d_transpose(x, kernel, out_shape, strides=(sh, sw), padding=padding.upper(), data_format=fmt)
        if use_bias:
            bias = get_variable("bias", [filters], dtype=x.dtype, initializer=bias_initializer or zeros_initializer(),
                                trainable=trainable)
            out = nn.bias_add(out, bias, data_format=fmt)
        return _activate(out, activation, "conv2d_transpose")


def conv1d(inputs, filters, kernel_size, strides=1, padding="valid", data_format="channels_last", dilation_rate=1,
           activation=None, use_bias=True, kernel_initializer=None, bias_initializer=None, trainable=True, name=None,
           reuse=None, **unused):
    """Sequences (batch, steps, channels) (channels_first: (batch, channels, steps)), kernel
    (width, in, filters)."""
    x = as_variable(inputs)
    channels = x.type.shape[2 if data_format == "channels_last" else 1]
    if channels is None:
        raise ValueError(f"conv1d: the channels of {x.describe()} must be known when the layer is made")
    fmt = "NWC" if data_format == "channels_last" else "NCW"
    with variable_scope(_scope_name(name, "conv1d"), reuse=reuse):
        kernel = get_variable("kernel", [_single(kernel_size), channels, filters], dtype=x.dtype,
                              initializer=kernel_initializer, trainable=trainable)
        out = nn.conv1d(x, kernel, _single(strides), padding.upper(), data_format=fmt,
                        dilations=_single(dilation_rate))
        if use_bias:
            bias = get_variable("bias", [filters], dtype=x.dtype, initializer=bias_initializer or zeros_initializer(),
                                trainable=trainable)
            out = out + (bias if fmt == "NWC" else bias.dimshuffle(0, "x"))
        return _activate(out, activation, "BiasAdd" if use_bias else "conv1d")


def separable_conv2d(inputs, filters, kernel_size, strides=(1, 1), padding="valid", data_format="channels_last",
                     dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                     depthwise_initializer=None, pointwise_initializer=None, bias_initializer=None, trainable=True,
                     name=None, reuse=None, **unused):
    """A depthwise convolution (depth_multiplier filters per channel), then a 1x1 one to
    `filters` channels: tf.nn.separable_conv2d with its two kernels and a bias."""
    x, fmt, channels = _images(inputs, data_format, "separable_conv2d")
    kh, kw = _pair(kernel_size)
    with variable_scope(_scope_name(name, "separable_conv2d"), reuse=reuse):
        depthwise = get_variable("depthwise_kernel", [kh, kw, channels, depth_multiplier], dtype=x.dtype,
                                 initializer=depthwise_initializer, trainable=trainable)
        pointwise = get_variable("pointwise_kernel", [1, 1, channels * depth_multiplier, filters], dtype=x.dtype,
                                 initializer=pointwise_initializer, trainable=trainable)
        strides = _pair(strides)
        out = nn.separable_conv2d(x, depthwise, pointwise, [1, *strides, 1] if fmt == "NHWC" else [1, 1, *strides],
                                  padding.upper(), rate=_pair(dilation_rate), data_format=fmt)
        if use_bias:
            bias = get_variable("bias", [filters], dtype=x.dtype, initializer=bias_initializer or zeros_initializer(),
                                trainable=trainable)
            out = nn.bias_add(out, bias, data_format=fmt)
        return _activate(out, activation, "separable_conv2d")


def max_pooling1d(inputs, pool_size, strides, padding="valid", data_format="channels_last", name=None):
    return _pool1d(nn.max_pool, inputs, pool_size, strides, padding, data_format)


def average_pooling1d(inputs, pool_size, strides, padding="valid", data_format="channels_last", name=None):
    return _pool1d(nn.avg_pool, inputs, pool_size, strides, padding, data_format)


def _pool1d(pool, inputs, pool_size, strides, padding, data_format):
    """A 2-d pooling of sequences made images one pixel high."""
    x = as_variable(inputs)
    images = x.dimshuffle(0, "x", 1, 2) if data_format == "channels_last" else x.dimshuffle(0, "x", 2, 1)
    out = pool(images, [1, 1, _single(pool_size), 1], [1, 1, _single(strides), 1], padding.upper())[:, 0]
    return out if data_format == "channels_last" else out.dimshuffle(0, 2, 1)


def _single(value):
    return int(value) if isinstance(value, (int, np.integer)) else int(list(value)[0])


def max_pooling2d(inputs, pool_size, strides, padding="valid", data_format="channels_last", name=None):
    fmt = "NHWC" if data_format == "channels_last" else "NCHW"
    return nn.max_pool(inputs, _pair(pool_size), _pair(strides), padding.upper(), data_format=fmt)


def average_pooling2d(inputs, pool_size, strides, padding="valid", data_format="channels_last", name=None):
    fmt = "NHWC" if data_format == "channels_last" else "NCHW"
    return nn.avg_pool(inputs, _pair(pool_size), _pair(strides), padding.upper(), data_format=fmt)


def flatten(inputs, name=None, data_format="channels_last"):
    x = as_variable(inputs)
    rest = x.type.shape[1:]
    return reshape(x, [shape(x)[0], int(np.prod(rest)) if None not in rest else -1])


def dropout(inputs, rate=0.5, noise_shape=None, seed=None, training=False, name=None):
    """Dropped at rate (scaled by 1 / (1 - rate)) where training is true: a Python bool, or a
    boolean tensor (a placeholder fed True while training)."""
    x = as_variable(inputs)
    if training is False:
        return x
    dropped = nn.dropout(x, rate=rate, noise_shape=noise_shape, seed=seed)
    return dropped if training is True else E.where(training, dropped, x)


def batch_normalization(inputs, axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True,
                        beta_initializer=None, gamma_initializer=None, training=False, trainable=True, name=None,
                        reuse=None, **unused):
    """Normalized by the batch's statistics where training is true (a bool, or a boolean
    tensor), by the moving ones otherwise; the moving averages' updates are an operation in
    tf.GraphKeys.UPDATE_OPS, run with the training step as TensorFlow 1 asks:
    `with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)): train = opt.minimize(loss)`."""
    x = as_variable(inputs)
    axis = axis % x.ndim
    channels = x.type.shape[axis]
    if channels is None:
        raise ValueError(f"batch_normalization: axis {axis} of {x.describe()} must be known when the layer is made")
    others = [a for a in range(x.ndim) if a != axis]
    pattern = ["x" if a != axis else 0 for a in range(x.ndim)]
    with variable_scope(_scope_name(name, "batch_normalization"), reuse=reuse):
        gamma = get_variable("gamma", [channels], dtype=x.dtype, initializer=gamma_initializer or ones_initializer(),
                             trainable=trainable) if scale else None
        beta = get_variable("beta", [channels], dtype=x.dtype, initializer=beta_initializer or zeros_initializer(),
                            trainable=trainable) if center else None
        moving_mean = get_variable("moving_mean", [channels], dtype=x.dtype, initializer=zeros_initializer(),
                                   trainable=False)
        moving_variance = get_variable("moving_variance", [channels], dtype=x.dtype, initializer=ones_initializer(),
                                       trainable=False)
        return ensure_named(_normalized_by_batch_or_moving(x, training, momentum, epsilon, others, pattern, gamma, beta,
                                                           moving_mean, moving_variance), "batchnorm")


def _normalized_by_batch_or_moving(x, training, momentum, epsilon, others, pattern, gamma, beta, moving_mean,
                                   moving_variance):
    mean, variance = nn.moments(x, others)

    def normalized(m, v):
        return nn.batch_normalization(x, m.dimshuffle(*pattern), v.dimshuffle(*pattern),
                                      None if beta is None else beta.dimshuffle(*pattern),
                                      None if gamma is None else gamma.dimshuffle(*pattern), epsilon)
    if training is False:
        return normalized(moving_mean, moving_variance)
    new_mean = momentum * moving_mean + (1 - momentum) * mean
    new_variance = momentum * moving_variance + (1 - momentum) * variance
    if training is not True:  # (a tensor: the averages move only where it is true)
        new_mean, new_variance = E.where(training, new_mean, moving_mean), E.where(training, new_variance,
                                                                                   moving_variance)
    _collections["update_ops"].append(operation({moving_mean: new_mean, moving_variance: new_variance},
                                                "AssignMovingAvg"))
    if training is True:
        return normalized(mean, variance)
    return E.where(training, normalized(mean, variance), normalized(moving_mean, moving_variance))


def _pair(value):
    return (int(value), int(value)) if isinstance(value, (int, np.integer)) else tuple(int(v) for v in value)


_collections["layer_calls"] = _calls  # (tf.reset_default_graph starts the names again)


# (the layers without variables name their tensors as functions do: "max_pooling2d/MaxPool:0")
name_functions(globals(), {}, skip={"dense", "conv1d", "conv2d", "conv2d_transpose", "separable_conv2d",
                                    "batch_normalization"})
