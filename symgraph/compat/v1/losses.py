"""tf.losses: TensorFlow 1's losses, each the weighted mean over the examples (its default
reduction, SUM_BY_NONZERO_WEIGHTS, with weights 1 the mean)."""
from ...ops import elemwise as E, reduce as R
from ...ops.base import as_variable
from . import nn
from .names import name_functions


def _mean(values, weights):
    values = as_variable(values)
    if weights == 1.0:
        return R.mean(values)
    weights = E.cast(as_variable(weights), values.dtype) + E.cast(values * 0, values.dtype)
    return R.sum(values * weights) / E.maximum(R.sum(E.cast(E.neq(weights, 0), values.dtype)), 1)


def softmax_cross_entropy(onehot_labels, logits, weights=1.0, label_smoothing=0, scope=None, **unused):
    labels = as_variable(onehot_labels)
    if label_smoothing:
        classes = E.cast(labels.shape[-1], labels.dtype)
        labels = labels * (1 - label_smoothing) + label_smoothing / classes
    return _mean(nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits), weights)


def sparse_softmax_cross_entropy(labels, logits, weights=1.0, scope=None, **unused):
    return _mean(nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits), weights)


def sigmoid_cross_entropy(multi_class_labels, logits, weights=1.0, label_smoothing=0, scope=None, **unused):
    labels = as_variable(multi_class_labels)
    if label_smoothing:
        labels = labels * (1 - label_smoothing) + 0.5 * label_smoothing
    return _mean(nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits), weights)


def mean_squared_error(labels, predictions, weights=1.0, scope=None, **unused):
    return _mean((as_variable(predictions) - labels) ** 2, weights)


def absolute_difference(labels, predictions, weights=1.0, scope=None, **unused):
    return _mean(abs(as_variable(predictions) - labels), weights)


def huber_loss(labels, predictions, weights=1.0, delta=1.0, scope=None, **unused):
    error = abs(as_variable(predictions) - labels)
    quadratic = E.minimum(error, delta)
    return _mean(0.5 * quadratic ** 2 + delta * (error - quadratic), weights)


def get_regularization_loss(scope=None, name="total_regularization_loss"):
    """The sum of the penalties in GraphKeys.REGULARIZATION_LOSSES (get_variable's
    regularizers'), 0 where there are none."""
    from .variables import get_collection
    penalties = get_collection("regularization_losses", scope)
    total = as_variable(0.0) if not penalties else penalties[0]
    for penalty in penalties[1:]:
        total = total + penalty
    return total


def get_regularization_losses(scope=None):
    from .variables import get_collection
    return get_collection("regularization_losses", scope)


name_functions(globals(), {f: f"{f}_loss" for f in ("softmax_cross_entropy", "sparse_softmax_cross_entropy",
                                                  "sigmoid_cross_entropy", "mean_squared_error",
                                                  "absolute_difference", "huber_loss")})
