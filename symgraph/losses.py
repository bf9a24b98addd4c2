"""Losses in Keras's argument order, loss(y_true, y_pred), each per example (mean it for a cost)."""
import math

from .naming import lookup
from .ops import elemwise as E
from .ops import nn as N
from .ops.base import as_variable
from .ops.shape import shape


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    """One-hot (or probability) targets; integer targets are accepted too. label_smoothing
    (Keras's) moves that much of each target row evenly over the classes. Probabilities not
    from a softmax are scaled to sum to 1 and clipped to [epsilon, 1 - epsilon], as Keras's."""
    if label_smoothing:
        y_true = _one_hot_rows(as_variable(y_true), y_pred)
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / E.cast(shape(y_pred)[-1], y_true.dtype)
    return N.categorical_crossentropy(y_pred, y_true, from_logits=from_logits, epsilon=_epsilon())


def _one_hot_rows(y_true, y_pred):
    """Targets as rows of y_pred's dtype: integer classes as one-hot rows."""
    if y_true.dtype[0] in "iu" and y_true.ndim == y_pred.ndim - 1:
        return N.one_hot(y_true, shape(y_pred)[-1], y_pred.dtype)
    return E.cast(y_true, y_pred.dtype) if y_true.dtype != y_pred.dtype else y_true


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    y_true = as_variable(y_true)
    if y_true.dtype[0] not in "iu":
        y_true = E.cast(y_true, "int64")
    if y_true.ndim == y_pred.ndim:  # Keras also accepts (batch, 1) labels
        y_true = y_true.flatten(y_true.ndim - 1) if y_true.ndim > 1 else y_true
    return N.categorical_crossentropy(y_pred, y_true, from_logits=from_logits, epsilon=_epsilon())


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    """Keras's: a sigmoid's output taken by its logit, other probabilities clipped to
    [epsilon, 1 - epsilon] (finite when the model is sure), the mean over the last axis.
    label_smoothing pulls the targets that much towards 1/2."""
    if label_smoothing:
        y_true = _one_hot_rows(as_variable(y_true), y_pred) * (1.0 - label_smoothing) + 0.5 * label_smoothing
    per_unit = N.binary_crossentropy(y_pred, y_true, from_logits=from_logits, epsilon=_epsilon())
    return per_unit.mean(axis=-1) if per_unit.ndim > 1 else per_unit


def _per_example(values):
    """The mean over every axis but the batch's (a vector is one value an example)."""
    return values.mean(axis=tuple(range(1, values.ndim))) if values.ndim > 1 else values


def mean_squared_error(y_true, y_pred):
    d = y_pred - y_true
    return _per_example(d * d)


def mean_absolute_error(y_true, y_pred):
    return _per_example(abs(y_pred - y_true))


def _epsilon():
    from .keras_backend import epsilon  # (settable there, as Keras's K.set_epsilon)
    return epsilon()


def mean_squared_logarithmic_error(y_true, y_pred):
    """mean((log(1 + y_pred) - log(1 + y_true)) ** 2), both clipped below at epsilon."""
    first = E.log1p(E.maximum(y_pred, _epsilon()))
    second = E.log1p(E.maximum(as_variable(y_true), _epsilon()))
    return _per_example(E.square(first - second))


def mean_absolute_percentage_error(y_true, y_pred):
    """100 * mean(|y_true - y_pred| / max(|y_true|, epsilon))."""
    y_true = as_variable(y_true)
    return 100.0 * _per_example(abs((y_true - y_pred) / E.maximum(abs(y_true), _epsilon())))


def _signed(y_true):
    """Hinge targets: -1/1 as given, or 0/1 labels turned into -1/1 (as Keras does)."""
    y_true = as_variable(y_true)
    binary = E.logical_or(E.eq(y_true, 0), E.eq(y_true, 1)).all()
    return E.where(binary, 2 * y_true - 1, y_true)


def hinge(y_true, y_pred):
    """mean(max(1 - y_true * y_pred, 0)) for -1/1 (or 0/1) targets."""
    return _per_example(E.maximum(1 - _signed(y_true) * y_pred, 0))


def squared_hinge(y_true, y_pred):
    return _per_example(E.square(E.maximum(1 - _signed(y_true) * y_pred, 0)))


def categorical_hinge(y_true, y_pred):
    """max(0, 1 + the best wrong class's score - the true class's), for one-hot targets."""
    y_true = as_variable(y_true)
    positive = (y_true * y_pred).sum(axis=-1)
    negative = ((1 - y_true) * y_pred).max(axis=-1)
    return E.maximum(negative - positive + 1, 0)


def huber(y_true, y_pred, delta=1.0):
    """Quadratic (0.5 e ** 2) for errors within delta, linear beyond: robust regression."""
    error = abs(y_pred - y_true)
    quadratic = E.minimum(error, delta)
    return _per_example(0.5 * E.square(quadratic) + delta * (error - quadratic))


def log_cosh(y_true, y_pred):
    """mean(log(cosh(y_pred - y_true))), written so it does not overflow for large errors."""
    x = y_pred - y_true
    return _per_example(x + E.softplus(-2.0 * x) - math.log(2.0))


def poisson(y_true, y_pred):
    """mean(y_pred - y_true * log(y_pred + epsilon)): counts predicted as rates."""
    return _per_example(y_pred - y_true * E.log(y_pred + _epsilon()))


def kl_divergence(y_true, y_pred):
    """sum(y_true * log(y_true / y_pred)) over the last axis, both clipped to [epsilon, 1]."""
    y_true = E.clip(as_variable(y_true), _epsilon(), 1)
    y_pred = E.clip(y_pred, _epsilon(), 1)
    return (y_true * E.log(y_true / y_pred)).sum(axis=-1)


def l2_normalize(x, axis=None, epsilon=1e-12):
    """x / sqrt(max(sum(x ** 2), epsilon)) along axis (all of it when None): unit vectors."""
    x = as_variable(x)
    return x / E.sqrt(E.maximum((x * x).sum(axis=axis, keepdims=True), epsilon))


def cosine_similarity(y_true, y_pred, axis=-1):
    """-cos(y_true, y_pred) along axis (tf.keras's loss: minimizing it aligns the vectors)."""
    return -(l2_normalize(y_true, axis) * l2_normalize(y_pred, axis)).sum(axis=axis)


mse, mae, msle, mape = mean_squared_error, mean_absolute_error, mean_squared_logarithmic_error, \
    mean_absolute_percentage_error
kld = KLD = kullback_leibler_divergence = kl_divergence
huber_loss, logcosh = huber, log_cosh
_BY_NAME = {"categorical_crossentropy": categorical_crossentropy,
            "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
            "binary_crossentropy": binary_crossentropy, "mse": mse, "mean_squared_error": mse,
            "mae": mae, "mean_absolute_error": mae, "msle": msle, "mean_squared_logarithmic_error": msle,
            "mape": mape, "mean_absolute_percentage_error": mape, "hinge": hinge, "squared_hinge": squared_hinge,
            "categorical_hinge": categorical_hinge, "huber": huber, "huber_loss": huber, "log_cosh": log_cosh,
            "logcosh": log_cosh, "poisson": poisson, "kld": kld, "KLD": kld, "kl_divergence": kld,
            "kullback_leibler_divergence": kld, "cosine_similarity": cosine_similarity,
            "cosine_proximity": cosine_similarity}


def get(loss):
    """A callable giving per-example losses for a loss name, a loss object (its `call`) or a
    function (itself)."""
    if isinstance(loss, Loss):
        return loss.call
    return lookup(_BY_NAME, loss, "loss")


from .loss_objects import (Loss, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,  # noqa: E402
                           MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
                           MeanSquaredLogarithmicError, Hinge, SquaredHinge, CategoricalHinge, Huber, LogCosh,
                           Poisson, KLDivergence, CosineSimilarity)
