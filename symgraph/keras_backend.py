"""Keras's backend functions, for code written against `from keras import backend as K`:
`from symgraph import backend as K` runs its custom losses, metrics and layers, and its
`K.function([model.input], [model.layers[3].output])` feature extractors (a layer's
recorded output is its inference-mode one: dropout off, batch statistics fixed, as
Keras's learning phase 0; with K.learning_phase() among the inputs, each call's 0 or 1 picks
the mode).

Each function is a thin spelling over symgraph's own ops, with Keras's argument order and
defaults where they differ from NumPy's (argmax, concatenate and softmax along the last axis;
crossentropies taking the target first). Images are channels-first (NCHW), symgraph's layout.
"""
import importlib

import numpy as np

from . import activations as _activations, losses as _losses
from .config import config, dtype_or_floatx
from .function import function as _function
from .grad import grad as _grad
from .graph import Variable as _Variable, SharedVariable as _SharedVariable, clone_replace as _clone_replace
from .ops import elemwise as E
from .ops import nn as N
from .ops import reduce as R
from .ops.base import as_variable as _as_variable
from .ops.linalg import dot, batched_dot
from .ops.random import RandomStream as _RandomStream
from .variables import shared as _shared, tensor as _tensor, constant as _constant

S = importlib.import_module(".ops.shape", __package__)  # (the package's name `shape` is the function)

_epsilon = [1e-7]


# ---- configuration ------------------------------------------------------------------------
def backend():
    return "symgraph"


def floatx():
    return config.floatX


def set_floatx(value):
    config.floatX = str(np.dtype(value))


def epsilon():
    """The fuzz factor Keras's code adds to denominators and clips probabilities by (1e-7)."""
    return _epsilon[0]


def set_epsilon(value):
    _epsilon[0] = float(value)


_image_data_format = ["channels_first"]


def image_data_format():
    """The image layout of layers made without data_format: "channels_first" (NCHW,
    symgraph's own) unless set_image_data_format changed it."""
    return _image_data_format[0]


def set_image_data_format(data_format):
    """"channels_last" makes the image layers made from now on take NHWC images, as Keras with
    TensorFlow (layers/image_format.py); "channels_first" (the default) NCHW."""
    from .layers.image_format import resolved  # (its check of the name)
    _image_data_format[0] = resolved(data_format)


def clear_session():
    """Start layer names from 1 again (Keras's clear_session; symgraph keeps no session)."""
    from .layers.base import _name_counts
    _name_counts.clear()


# ---- variables ----------------------------------------------------------------------------
def variable(value, dtype=None, name=None):
    """A shared variable holding `value` (floatX unless dtype says otherwise)."""
    return _shared(np.asarray(value, dtype=dtype_or_floatx(dtype)), name=name)


def placeholder(shape=None, ndim=None, dtype=None, name=None):
    """A symbolic input: shape a tuple with None for unknown lengths, or ndim alone."""
    if shape is None:
        if ndim is None:
            raise ValueError("placeholder needs a shape or an ndim")
        shape = (None,) * ndim
    return _tensor(name, dtype_or_floatx(dtype), tuple(shape))


def constant(value, dtype=None, shape=None, name=None):
    value = np.asarray(value, dtype=dtype_or_floatx(dtype))
    return _constant(np.broadcast_to(value, shape).copy() if shape is not None else value, name=name)


def is_tensor(x):
    return isinstance(x, _Variable)


def is_placeholder(x):
    return isinstance(x, _Variable) and x.owner is None and not isinstance(x, _SharedVariable)


def int_shape(x):
    """The static shape, a tuple with None for lengths known only at run time."""
    if isinstance(x, _SharedVariable):
        return tuple(x.get_value(borrow=True).shape)
    if isinstance(x, np.ndarray):
        return x.shape
    return tuple(x.type.shape)


def ndim(x):
    return np.ndim(x) if isinstance(x, np.ndarray) else x.ndim


def dtype(x):
    return str(x.dtype)


def shape(x):
    """The symbolic shape (an int64 vector: K.shape(x)[0] is the batch size)."""
    return S.shape(x)


def eval(x):
    """A variable's value now: a shared variable's, or a graph's without inputs."""
    return get_value(x) if isinstance(x, _SharedVariable) else _as_variable(x).eval()


def get_value(x):
    """A shared variable's value (a number or array as given: optimizer.learning_rate)."""
    return x.get_value() if hasattr(x, "get_value") else np.asarray(x)


def set_value(x, value):
    if not hasattr(x, "set_value"):
        raise TypeError(f"set_value sets a shared variable, got {type(x).__name__} (an optimizer's rate is "
                        f"model.optimizer.lr, or set model.optimizer.learning_rate = value)")
    x.set_value(np.asarray(value, dtype=x.dtype))


def batch_get_value(xs):
    return [get_value(x) for x in xs]


def batch_set_value(pairs):
    for x, value in pairs:
        set_value(x, value)


def count_params(x):
    return int(np.prod(int_shape(x)))


def zeros(shape, dtype=None, name=None):
    return variable(np.zeros(shape), dtype, name)


def ones(shape, dtype=None, name=None):
    return variable(np.ones(shape), dtype, name)


def eye(size, dtype=None, name=None):
    return variable(np.eye(size), dtype, name)


def zeros_like(x, dtype=None, name=None):
    return S.zeros_like(x, dtype=dtype)


def ones_like(x, dtype=None, name=None):
    return S.ones_like(x, dtype=dtype)


def cast(x, dtype):
    return E.cast(x, dtype)


def update(x, new_x):
    return (x, new_x)


def update_add(x, increment):
    return (x, x + increment)


def update_sub(x, decrement):
    return (x, x - decrement)


# ---- the learning phase -------------------------------------------------------------------
_LEARNING_PHASE = _tensor("keras_learning_phase", "uint8")
_phase_default = [0]  # set_learning_phase's value: the phase of a K.function not given it


def learning_phase():
    """Keras's learning phase: a symbolic scalar, 1 while training and 0 in inference. Given as
    a K.function input (`K.function([model.input, K.learning_phase()], [layer.output])`), the
    value passed with each call picks the mode: 1 runs the layers as in training (dropout on,
    batch normalization on the batch's statistics, its moving averages left as they are), 0 as
    in inference. It never reaches a compiled graph: each mode is compiled with it a constant."""
    return _LEARNING_PHASE


def set_learning_phase(value):
    """The learning phase of the K.functions that do not take it as an input (0 unless set).
    fit, evaluate and predict keep their own modes (training, inference, inference)."""
    if value not in (0, 1):
        raise ValueError(f"the learning phase is 0 (inference) or 1 (training), got {value!r}")
    _phase_default[0] = int(value)


def in_train_phase(x, alt, training=None):
    """x while training, alt in inference (either may be a function of no arguments, called for
    its value). training: a bool or 0/1; None takes the mode of the layer trace under way (a
    layer's call that does not pass `training` on), else the learning phase, symbolically."""
    from .layers.base import tracing_modes
    if training is None and tracing_modes:
        training = tracing_modes[-1]
    if training is None or isinstance(training, _Variable):
        x, alt = (v() if callable(v) else v for v in (x, alt))
        return E.where(learning_phase() if training is None else training, x, alt)
    picked = x if training else alt
    return picked() if callable(picked) else picked


def in_test_phase(x, alt, training=None):
    """x in inference, alt while training (in_train_phase the other way round)."""
    return in_train_phase(alt, x, training)


def _training_mode(inputs, outputs):
    """outputs with every layer call between the inputs and them replayed in training mode."""
    from .layers.base import TraceContext
    from .layers.model import Model
    made, seen, stack = [], {id(v) for v in inputs}, list(outputs)
    # (the outermost layer outputs: replaying them replays every layer below them)
    while stack:
        var = stack.pop()
        if id(var) in seen:
            continue
        seen.add(id(var))
        if getattr(var, "layer_history", None) is not None:
            made.append(var)
        elif var.owner is not None:
            stack.extend(var.owner.inputs)
    if not made:
        return outputs
    replayed = Model(list(inputs), made).replay(list(inputs), TraceContext(True))
    return _clone_replace(outputs, dict(zip(made, replayed)))[0]


# ---- functions and gradients --------------------------------------------------------------
class Function:
    """K.function's result: call it with a list of arrays, one per input; it returns a list of
    arrays (one value when `outputs` was a single variable) and applies `updates`. With
    K.learning_phase() among the inputs, its value in each call (0 or 1) picks the mode; each
    mode is compiled at its first call."""

    def __init__(self, inputs, outputs, updates=None, name=None):
        self.single = not isinstance(outputs, (list, tuple))
        self.outputs = [outputs] if self.single else list(outputs)
        inputs = list(inputs)
        self.phase_at = next((k for k, v in enumerate(inputs) if v is _LEARNING_PHASE), None)
        self.inputs = [v for v in inputs if v is not _LEARNING_PHASE]
        self.updates, self.name = updates, name
        self.compiled = {}  # learning phase -> sg.function
        if self.phase_at is None:  # (compiled now, as before: a graph's errors show at once)
            self._compiled(_phase_default[0])

    def _compiled(self, phase):
        if phase not in self.compiled:
            outputs = _training_mode(self.inputs, self.outputs) if phase else self.outputs
            outputs = _clone_replace(outputs, {_LEARNING_PHASE: _constant(np.uint8(phase))})[0]
            # (as Keras's Theano backend compiles them: float64 data into float32 inputs is cast,
            # an input the outputs do not use is allowed)
            self.compiled[phase] = _function(self.inputs, outputs[0] if self.single else outputs,
                                             updates=self.updates, name=self.name,
                                             allow_input_downcast=True, on_unused_input="ignore")
        return self.compiled[phase]

    def __call__(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        if self.phase_at is None:
            return self._compiled(_phase_default[0])(*inputs)
        inputs = list(inputs)
        if len(inputs) != len(self.inputs) + 1:
            raise TypeError(f"this K.function takes {len(self.inputs) + 1} inputs (the learning phase among "
                            f"them), got {len(inputs)}")
        phase = inputs.pop(self.phase_at)
        if np.ndim(phase) != 0 or phase not in (0, 1):
            raise ValueError(f"the learning phase is 0 (inference) or 1 (training), got {phase!r}")
        return self._compiled(int(phase))(*inputs)


def function(inputs, outputs, updates=None, name=None, **kwargs):
    """Keras's K.function(inputs, outputs, updates): f([x_batch]) -> [values]."""
    return Function(inputs, outputs, updates, name)


def gradients(loss, variables):
    return _grad(loss, list(variables))


def stop_gradient(variables):
    if isinstance(variables, (list, tuple)):
        return [S.stop_gradient(v) for v in variables]
    return S.stop_gradient(variables)


# ---- math -----------------------------------------------------------------------------------
def _reduction(op):
    def reduce(x, axis=None, keepdims=False):
        return op(x, axis=axis, keepdims=keepdims)
    reduce.__name__ = op.__name__
    reduce.__doc__ = f"Keras's K.{op.__name__}(x, axis=None, keepdims=False)."
    return reduce


sum, mean, max, min, prod, std, var, any, all = (_reduction(op) for op in (
    R.sum, R.mean, R.max, R.min, R.prod, R.std, R.var, R.any, R.all))


def argmax(x, axis=-1):
    return R.argmax(x, axis=axis)


def argmin(x, axis=-1):
    return R.argmin(x, axis=axis)


def logsumexp(x, axis=None, keepdims=False):
    return R.logsumexp(x, axis=axis, keepdims=keepdims)


def cumsum(x, axis=0):
    return R.cumsum(x, axis=axis)


def cumprod(x, axis=0):
    from .ops.extra_ops import cumprod as running_product
    return running_product(x, axis=axis)


square, abs, sqrt, exp, log, sign, sin, cos, tanh, sigmoid, hard_sigmoid, softplus = (
    E.square, E.abs, E.sqrt, E.exp, E.log, E.sign, E.sin, E.cos, E.tanh, E.sigmoid, E.hard_sigmoid, E.softplus)
round = E.round_half_to_even
maximum, minimum = E.maximum, E.minimum
equal, not_equal, greater, greater_equal, less, less_equal = E.eq, E.neq, E.gt, E.ge, E.lt, E.le


def pow(x, a):
    return E.pow(x, a)


def clip(x, min_value, max_value):
    """x limited to [min_value, max_value]; None leaves that side open (Keras's)."""
    return E.clip(x, -np.inf if min_value is None else min_value, np.inf if max_value is None else max_value)


softsign = _activations.softsign


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    """max(x, threshold), alpha * (x - threshold) below it, capped at max_value (Keras's)."""
    x = _as_variable(x)
    out = E.relu(x) if threshold == 0 and alpha == 0 else E.where(E.gt(x, threshold), x, alpha * (x - threshold))
    return out if max_value is None else E.minimum(out, max_value)


def elu(x, alpha=1.0):
    return N.elu(x, alpha)


def softmax(x, axis=-1):
    return N.softmax(x, axis)


def switch(condition, then_expression, else_expression):
    return E.where(condition, then_expression, else_expression)


l2_normalize = _losses.l2_normalize


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Per example, over the last axis; `output` probabilities or (from_logits) logits."""
    if axis not in (-1, output.ndim - 1):
        raise ValueError("categorical_crossentropy takes the classes along the last axis")
    return _losses.categorical_crossentropy(target, output, from_logits=from_logits)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    if axis not in (-1, output.ndim - 1):
        raise ValueError("sparse_categorical_crossentropy takes the classes along the last axis")
    return _losses.sparse_categorical_crossentropy(target, output, from_logits=from_logits)


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise, as Keras's backend function (the loss of that name means it over the last
    axis): a sigmoid's output by its logit, other outputs clipped to [epsilon, 1 - epsilon]."""
    return N.binary_crossentropy(output, target, from_logits=from_logits, epsilon=epsilon())


# ---- shapes ---------------------------------------------------------------------------------
def transpose(x):
    return S.transpose(x)


def permute_dimensions(x, pattern):
    return S.dimshuffle(x, *pattern)


def reshape(x, shape):
    return S.reshape(x, shape)


def flatten(x):
    return S.flatten(x, 1)


def batch_flatten(x):
    """(batch, everything else) as one axis: (n, c, h, w) -> (n, c * h * w)."""
    return S.flatten(x, 2)


def expand_dims(x, axis=-1):
    return S.expand_dims(x, axis)


def squeeze(x, axis):
    return S.squeeze(x, axis)


def concatenate(tensors, axis=-1):
    return S.concatenate(list(tensors), axis=axis)


def stack(x, axis=0):
    return S.stack(list(x), axis=axis)


def tile(x, n):
    return S.tile(x, n)


def repeat_elements(x, rep, axis):
    return S.repeat(x, rep, axis=axis)


def gather(reference, indices):
    """Rows of `reference` picked by integer `indices` (the first axis)."""
    return _as_variable(reference)[_as_variable(indices)]


def one_hot(indices, num_classes):
    return N.one_hot(indices, num_classes)


def batch_dot(x, y, axes=None):
    """Products of matching examples, summed over axes (x's, y's; an int for both; by default
    x's last and y's second to last, or the last of a matrix): two (b, n) matrices -> (b, 1),
    each row's dot product; (b, n, k) by (b, k, m) -> (b, n, m); (b, n, k) by (b, k) -> (b, n);
    any pair of axes 1 or 2 of 3-d inputs (the other axis transposed into place)."""
    x, y = _as_variable(x), _as_variable(y)
    if axes is None:
        axes = (x.ndim - 1, y.ndim - 1 if y.ndim == 2 else y.ndim - 2)
    ax, ay = (axes, axes) if isinstance(axes, int) else tuple(axes)
    ax, ay = ax % x.ndim, ay % y.ndim
    if x.ndim == 2 and y.ndim == 2 and ax == ay == 1:
        return (x * y).sum(axis=1, keepdims=True)
    if {x.ndim, y.ndim} <= {2, 3} and 3 in (x.ndim, y.ndim) and 0 not in (ax, ay):
        left = x if x.ndim == 2 or ax == 2 else x.dimshuffle(0, 2, 1)  # (b, ..., k)
        right = y if y.ndim == 2 or ay == 1 else y.dimshuffle(0, 2, 1)  # (b, k, ...)
        product = batched_dot(left.dimshuffle(0, "x", 1) if x.ndim == 2 else left,
                              right.dimshuffle(0, 1, "x") if y.ndim == 2 else right)
        return product[:, :, 0] if y.ndim == 2 else (product[:, 0] if x.ndim == 2 else product)
    raise NotImplementedError(f"batch_dot of {x.ndim}-d and {y.ndim}-d inputs along axes {axes!r}: matrices and "
                              f"3-d tensors along axes other than the batch's are supported")


# ---- random numbers -------------------------------------------------------------------------
def _stream(seed):
    return _RandomStream(np.random.randint(10 ** 7) if seed is None else seed)


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Fresh numbers at every call of the compiled function."""
    return _stream(seed).uniform(shape, minval, maxval, dtype=dtype_or_floatx(dtype))


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return _stream(seed).normal(shape, mean, stddev, dtype=dtype_or_floatx(dtype))


def random_binomial(shape, p=0.0, dtype=None, seed=None):
    return _stream(seed).binomial(shape, n=1, p=p, dtype=dtype_or_floatx(dtype))


def dropout(x, level, seed=None):
    return N.dropout(x, level, _stream(seed))

