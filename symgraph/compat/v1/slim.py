"""TF-Slim (tf.contrib.slim, and tf.contrib.layers' layers): conv2d, fully_connected,
max_pool2d, avg_pool2d, batch_norm, dropout, flatten with Slim's defaults and variable names
(scope/weights, scope/biases; Conv, Conv_1... where no scope is given), arg_scope to give
layers common arguments, repeat and stack, the variables to restore for fine-tuning, and
slim.learning's train loop:

    with slim.arg_scope([slim.conv2d, slim.fully_connected], activation_fn=tf.nn.relu,
                        weights_regularizer=slim.l2_regularizer(0.0005)):
        net = slim.repeat(images, 2, slim.conv2d, 64, [3, 3], scope="conv1")
        net = slim.max_pool2d(net, [2, 2], scope="pool1")
        net = slim.fully_connected(slim.flatten(net), 10, activation_fn=None, scope="logits")

Fine-tuning a trained net with a new head: init_fn = slim.assign_from_checkpoint_fn(path,
slim.get_variables_to_restore(exclude=["logits"])), given to slim.learning.train."""
import contextlib
import functools
import os
import types

import numpy as np

from . import contrib, layers, losses, nn  # noqa: F401 (losses: slim.losses is tf.losses)
from .scopes import get_variable, variable_scope, zeros_initializer
from .variables import GraphKeys, get_collection, global_variables, global_variables_initializer

_arg_scopes = [{}]  # the arguments each open arg_scope gives each layer (by function), innermost last


def add_arg_scope(fn):
    """A function whose arguments arg_scope can set (the ones given in a call win)."""
    @functools.wraps(fn)
    def call(*args, **kwargs):
        given = _arg_scopes[-1].get(_key(call), {})
        return fn(*args, **{**given, **kwargs})
    call.slim_key = _key(fn)
    return call


def _key(fn):
    return getattr(fn, "slim_key", (getattr(fn, "__module__", ""), getattr(fn, "__qualname__", repr(fn))))


@contextlib.contextmanager
def arg_scope(list_ops_or_scope, **kwargs):
    """In the block, each of these layers takes these arguments unless a call gives its own;
    arg_scopes nest (the inner's arguments added to the outer's). Yields the scope, which
    arg_scope(scope) reopens."""
    if isinstance(list_ops_or_scope, dict):
        current = list_ops_or_scope
    else:
        current = {key: dict(values) for key, values in _arg_scopes[-1].items()}
        for op in list_ops_or_scope:
            if not hasattr(op, "slim_key"):
                raise ValueError(f"{getattr(op, '__name__', op)} is not decorated with @add_arg_scope")
            current[op.slim_key] = {**current.get(op.slim_key, {}), **kwargs}
    _arg_scopes.append(current)
    try:
        yield current
    finally:
        _arg_scopes.pop()


def _normalized(out, normalizer_fn, normalizer_params, activation_fn):
    if normalizer_fn is not None:
        out = normalizer_fn(out, **(normalizer_params or {}))
    return out if activation_fn is None else activation_fn(out)


@add_arg_scope
def conv2d(inputs, num_outputs, kernel_size, stride=1, padding="SAME", data_format=None, rate=1,
           activation_fn=nn.relu, normalizer_fn=None, normalizer_params=None, weights_initializer=None,
           weights_regularizer=None, biases_initializer=zeros_initializer(), biases_regularizer=None, reuse=None,
           variables_collections=None, outputs_collections=None, trainable=True, scope=None):
    """Slim's conv2d: NHWC images, weights (kh, kw, in, out) Xavier's by default, biases unless a
    normalizer is given, ReLU."""
    x, fmt, channels = layers._images(inputs, "channels_first" if data_format == "NCHW" else "channels_last",
                                      "conv2d")
    kh, kw = layers._pair(kernel_size)
    with variable_scope(layers._scope_name(scope, "Conv"), reuse=reuse):
        weights = get_variable("weights", [kh, kw, channels, num_outputs], dtype=x.dtype,
                               initializer=weights_initializer or contrib.xavier_initializer(),
                               regularizer=weights_regularizer, trainable=trainable)
        strides, rates = layers._pair(stride), layers._pair(rate)
        out = nn.conv2d(x, weights, strides=strides, padding=padding.upper(), data_format=fmt, dilations=rates)
        if normalizer_fn is None and biases_initializer is not None:
            biases = get_variable("biases", [num_outputs], dtype=x.dtype, initializer=biases_initializer,
                                  regularizer=biases_regularizer, trainable=trainable)
            out = nn.bias_add(out, biases, data_format=fmt)
        return _normalized(out, normalizer_fn, normalizer_params, activation_fn)


@add_arg_scope
def fully_connected(inputs, num_outputs, activation_fn=nn.relu, normalizer_fn=None, normalizer_params=None,
                    weights_initializer=None, weights_regularizer=None, biases_initializer=zeros_initializer(),
                    biases_regularizer=None, reuse=None, variables_collections=None, outputs_collections=None,
                    trainable=True, scope=None):
    """Slim's fully_connected: weights (in, out) Xavier's by default, biases unless a normalizer
    is given, ReLU."""
    without_bias = normalizer_fn is not None or biases_initializer is None
    out = contrib.fully_connected(inputs, num_outputs, activation_fn=None, weights_initializer=weights_initializer,
                                  biases_initializer=False if without_bias else biases_initializer,
                                  weights_regularizer=weights_regularizer, trainable=trainable, scope=scope,
                                  reuse=reuse)
    return _normalized(out, normalizer_fn, normalizer_params, activation_fn)


@add_arg_scope
def max_pool2d(inputs, kernel_size, stride=2, padding="VALID", data_format="NHWC", outputs_collections=None,
               scope=None):
    return nn.max_pool(inputs, [1, *layers._pair(kernel_size), 1], [1, *layers._pair(stride), 1], padding.upper())


@add_arg_scope
def avg_pool2d(inputs, kernel_size, stride=2, padding="VALID", data_format="NHWC", outputs_collections=None,
               scope=None):
    return nn.avg_pool(inputs, [1, *layers._pair(kernel_size), 1], [1, *layers._pair(stride), 1], padding.upper())


@add_arg_scope
def batch_norm(inputs, decay=0.999, center=True, scale=False, epsilon=0.001, activation_fn=None,
               param_initializers=None, updates_collections=GraphKeys.UPDATE_OPS, is_training=True, reuse=None,
               variables_collections=None, outputs_collections=None, trainable=True, scope=None, **unused):
    """Slim's batch_norm: beta (center) and gamma (scale, off by default), moving averages at
    `decay`, their updates in tf.GraphKeys.UPDATE_OPS to run with the training step; with
    updates_collections=None, run by every Session.run that computes the output (in place)."""
    collection = get_collection(GraphKeys.UPDATE_OPS)
    before = len(collection)
    out = layers.batch_normalization(inputs, axis=-1, momentum=decay, epsilon=epsilon, center=center, scale=scale,
                                     training=is_training, trainable=trainable,
                                     name=layers._scope_name(scope, "BatchNorm"), reuse=reuse)
    if updates_collections is None:  # (the updates taken out of the collection, carried by the output)
        from .variables import _collections
        made = _collections[GraphKeys.UPDATE_OPS][before:]
        del _collections[GraphKeys.UPDATE_OPS][before:]
        out.tf_control = list(getattr(out, "tf_control", [])) + made
    return out if activation_fn is None else activation_fn(out)


@add_arg_scope
def dropout(inputs, keep_prob=0.5, noise_shape=None, is_training=True, outputs_collections=None, scope=None):
    return layers.dropout(inputs, rate=1 - keep_prob, noise_shape=noise_shape, training=is_training)


@add_arg_scope
def flatten(inputs, outputs_collections=None, scope=None):
    return layers.flatten(inputs)


def repeat(inputs, repetitions, layer, *args, **kwargs):
    """layer applied `repetitions` times, under scope/scope_1, scope/scope_2, ..."""
    scope = kwargs.pop("scope", None) or getattr(layer, "__name__", "repeat")
    out = inputs
    with variable_scope(scope):
        for k in range(repetitions):
            out = layer(out, *args, scope=f"{scope}_{k + 1}", **kwargs)
    return out


def stack(inputs, layer, stack_args, **kwargs):
    """layer applied once with each of stack_args (a tuple of its arguments, or one), under
    scope/scope_1, scope/scope_2, ..."""
    scope = kwargs.pop("scope", None) or getattr(layer, "__name__", "stack")
    out = inputs
    with variable_scope(scope):
        for k, arguments in enumerate(stack_args):
            arguments = arguments if isinstance(arguments, (tuple, list)) else (arguments,)
            out = layer(out, *arguments, scope=f"{scope}_{k + 1}", **kwargs)
    return out


def one_hot_encoding(labels, num_classes, on_value=1.0, off_value=0.0, outputs_collections=None, scope=None):
    from . import one_hot
    return one_hot(labels, num_classes, on_value=on_value, off_value=off_value)


def get_model_variables(scope=None, suffix=None):
    return [v for v in get_collection(GraphKeys.GLOBAL_VARIABLES, scope)
            if suffix is None or v.op.name.endswith(suffix)]


def get_variables_to_restore(include=None, exclude=None):
    """The global variables under the `include` scopes (all without it) and none under `exclude`'s:
    what a checkpoint of a net restores when its head is new."""
    def under(v, scopes):
        return any(v.op.name == s or v.op.name.startswith(s.rstrip("/") + "/") for s in scopes)
    chosen = [v for v in global_variables() if include is None or under(v, include)]
    return [v for v in chosen if not (exclude and under(v, exclude))]


def assign_from_checkpoint_fn(model_path, var_list, ignore_missing_vars=False, reshape_variables=False):
    """A function of a session restoring var_list from the checkpoint (tf.train.Saver's files;
    ignore_missing_vars: the ones it lacks left as they are)."""
    from .train import Saver
    variables = list(var_list.values()) if isinstance(var_list, dict) else list(var_list)
    if ignore_missing_vars:
        with np.load(model_path if model_path.endswith(".npz") else model_path + ".npz") as stored:
            variables = [v for v in variables if v.op.name in stored.files]
    saver = Saver(variables)
    return lambda session: saver.restore(session, model_path)


def create_train_op(total_loss, optimizer, global_step=None, update_ops=None, variables_to_train=None,
                    clip_gradient_norm=0, **unused):
    """The step of the optimizer on total_loss (the trainable variables, or variables_to_train),
    with the UPDATE_OPS (batch norm's moving averages); running it gives the loss."""
    from .train import get_or_create_global_step
    from .session import Operation, control_dependencies
    from . import clip_by_global_norm
    step = get_or_create_global_step() if global_step is None else global_step
    updates = get_collection(GraphKeys.UPDATE_OPS) if update_ops is None else update_ops
    with control_dependencies(updates):
        pairs = optimizer.compute_gradients(total_loss, var_list=variables_to_train)
        if clip_gradient_norm:
            clipped, _ = clip_by_global_norm([g for g, _ in pairs], clip_gradient_norm)
            pairs = list(zip(clipped, [v for _, v in pairs]))
        train = optimizer.apply_gradients(pairs, global_step=step)
    return Operation(train.updates, name="train_op", value=total_loss)


def train(train_op, logdir, number_of_steps=None, init_fn=None, save_summaries_secs=600, save_interval_secs=600,
          log_every_n_steps=1, saver=None, **unused):
    """slim.learning.train: runs train_op (create_train_op's) number_of_steps times in a session
    that starts from logdir's latest checkpoint (or the initializers and init_fn), logs the loss
    every log_every_n_steps steps, and saves logdir/model.ckpt at the end; returns the last loss."""
    from .app import logging
    from .session import Session
    from .train import Saver, get_or_create_global_step, latest_checkpoint
    step = get_or_create_global_step()
    saver = saver or Saver()
    os.makedirs(logdir, exist_ok=True)
    with Session() as session:
        session.run(global_variables_initializer())
        checkpoint = latest_checkpoint(logdir)
        if checkpoint is not None:
            saver.restore(session, checkpoint)
        elif init_fn is not None:
            init_fn(session)
        loss = None
        while number_of_steps is None or int(step.get_value()) < number_of_steps:
            loss = session.run(train_op)
            if int(step.get_value()) % log_every_n_steps == 0:
                logging.info("global step %d: loss = %.4f", int(step.get_value()), float(loss))
        saver.save(session, os.path.join(logdir, "model.ckpt"), global_step=int(step.get_value()))
    return loss


def variable(name, shape=None, dtype="float32", initializer=None, regularizer=None, trainable=True, **unused):
    return get_variable(name, shape, dtype=dtype, initializer=initializer, regularizer=regularizer,
                        trainable=trainable)


@add_arg_scope
def softmax(logits, scope=None):
    return nn.softmax(logits)


model_variable = variable
learning = types.SimpleNamespace(create_train_op=create_train_op, train=train)
l2_regularizer, l1_regularizer, xavier_initializer = contrib.l2_regularizer, contrib.l1_regularizer, \
    contrib.xavier_initializer
