"""tf.contrib's pieces TensorFlow 1 code used most: contrib.layers' initializers, regularizers
and layers, and contrib.rnn (tf.nn.rnn_cell's cells)."""
import types

from ...ops import reduce as R
from ...ops.base import as_variable
from . import layers as _layers, nn as _nn
from .scopes import variance_scaling_initializer as _scaling


def xavier_initializer(uniform=True, seed=None, dtype="float32"):
    """Glorot's: the variance 2 / (fan_in + fan_out), uniform or a truncated normal."""
    return _scaling(1.0, "fan_avg", "uniform" if uniform else "truncated_normal", seed, dtype)


def variance_scaling_initializer(factor=2.0, mode="FAN_IN", uniform=False, seed=None, dtype="float32"):
    """contrib's form of He's (factor 2, fan_in): the variance factor / fan (a truncated
    normal's deviation divided by 0.88, TensorFlow's core initializer's; contrib's was 1.3 on
    the variance, 0.3% apart)."""
    return _scaling(factor, mode.lower(), "uniform" if uniform else "truncated_normal", seed, dtype)


def l2_regularizer(scale, scope=None):
    """scale * sum(w ** 2) / 2 (tf.nn.l2_loss scaled); no penalty for a scale of 0."""
    if scale < 0:
        raise ValueError(f"l2_regularizer: scale must be 0 or more, got {scale}")
    return lambda weights: None if not scale else scale * _nn.l2_loss(weights)


def l1_regularizer(scale, scope=None):
    if scale < 0:
        raise ValueError(f"l1_regularizer: scale must be 0 or more, got {scale}")
    return lambda weights: None if not scale else scale * R.sum(abs(as_variable(weights)))


def fully_connected(inputs, num_outputs, activation_fn=_nn.relu, weights_initializer=None, biases_initializer=None,
                    weights_regularizer=None, trainable=True, scope=None, reuse=None, **unused):
    """contrib's dense layer: ReLU unless activation_fn says otherwise (None: linear), its
    variables under scope (fully_connected, fully_connected_1, ...)."""
    from .scopes import get_variable, variable_scope, zeros_initializer
    x = as_variable(inputs)
    with variable_scope(_layers._scope_name(scope, "fully_connected"), reuse=reuse):
        weights = get_variable("weights", [x.type.shape[-1], num_outputs], dtype=x.dtype,
                               initializer=weights_initializer or xavier_initializer(),
                               regularizer=weights_regularizer, trainable=trainable)
        out = _dot(x, weights)
        if biases_initializer is not False:
            out = out + get_variable("biases", [num_outputs], dtype=x.dtype,
                                     initializer=biases_initializer or zeros_initializer(), trainable=trainable)
        return _layers._activate(out, activation_fn, "BiasAdd" if biases_initializer is not False else "MatMul")


def _dot(x, w):
    from ...ops.linalg import tensordot
    return tensordot(x, w, [[x.ndim - 1], [0]])


def flatten(inputs, outputs_collections=None, scope=None):
    return _layers.flatten(inputs)


rnn = _nn.rnn_cell


def _namespaces():
    """contrib.layers (Slim's layers: slim.py), contrib.framework (arg_scope and the variables to
    restore) and contrib.slim itself."""
    from . import slim
    layers = types.SimpleNamespace(
        xavier_initializer=xavier_initializer, xavier_initializer_conv2d=xavier_initializer,
        variance_scaling_initializer=variance_scaling_initializer, l2_regularizer=l2_regularizer,
        l1_regularizer=l1_regularizer, fully_connected=slim.fully_connected, flatten=slim.flatten,
        conv2d=slim.conv2d, max_pool2d=slim.max_pool2d, avg_pool2d=slim.avg_pool2d, batch_norm=slim.batch_norm,
        dropout=slim.dropout, repeat=slim.repeat, stack=slim.stack, one_hot_encoding=slim.one_hot_encoding,
        softmax=slim.softmax)
    framework = types.SimpleNamespace(arg_scope=slim.arg_scope, add_arg_scope=slim.add_arg_scope,
                                      get_variables_to_restore=slim.get_variables_to_restore,
                                      get_model_variables=slim.get_model_variables,
                                      assign_from_checkpoint_fn=slim.assign_from_checkpoint_fn)
    return layers, framework, slim
