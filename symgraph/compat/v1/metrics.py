"""tf.metrics: streaming metrics over batches, TensorFlow 1's way. Each gives (value, update_op):
update_op adds a batch to local variables (set to zero by tf.local_variables_initializer()) and
gives the metric's new value; value reads it from them.

    acc, acc_op = tf.metrics.accuracy(labels=y, predictions=tf.argmax(logits, 1))
    sess.run(tf.local_variables_initializer())
    for batch in batches:
        sess.run(acc_op, feed_dict=...)
    print(sess.run(acc))
"""
import numpy as np

from ...ops import elemwise as E
from ...ops import reduce as R
from ...ops.base import as_variable
from ...ops.shape import ones_like
from .names import ensure_named, name_scope
from .variables import GraphKeys, TFVariable, add_to_collection, operation


def _local(name, shape=()):
    return TFVariable(np.zeros(shape, np.float32), trainable=False, name=name,
                      collections=[GraphKeys.LOCAL_VARIABLES, GraphKeys.METRIC_VARIABLES])


def _div_no_nan(a, b):
    return E.where(E.gt(b, 0), a / E.maximum(b, np.float32(1e-38)), np.float32(0))


def _finish(value, update, metrics_collections, updates_collections):
    ensure_named(value, "value")
    for key in metrics_collections or []:
        add_to_collection(key, value)
    for key in updates_collections or []:
        add_to_collection(key, update)
    return value, update


def _weights(values, weights):
    return ones_like(values) if weights is None else E.cast(as_variable(weights), "float32") * ones_like(values)


def _ratio(name, numerator, denominator, metrics_collections, updates_collections, final=None):
    """The streamed sums of two batch tensors and their quotient (through `final`)."""
    final = final or (lambda x: x)
    with name_scope(name):  # (name/total:0, name/count:0, name/value:0, name/update_op)
        top, bottom = _local("total"), _local("count")
        new_top, new_bottom = top + R.sum(numerator), bottom + R.sum(denominator)
        value = final(_div_no_nan(top, bottom))
        update = operation({top: new_top, bottom: new_bottom}, "update_op",
                           value=final(_div_no_nan(new_top, new_bottom)))
        return _finish(value, update, metrics_collections, updates_collections)


def mean(values, weights=None, metrics_collections=None, updates_collections=None, name=None):
    values = E.cast(as_variable(values), "float32")
    w = _weights(values, weights)
    return _ratio(name or "mean", values * w, w, metrics_collections, updates_collections)


def accuracy(labels, predictions, weights=None, metrics_collections=None, updates_collections=None, name=None):
    """The fraction of predictions equal to the labels."""
    right = E.cast(E.eq(as_variable(predictions), as_variable(labels)), "float32")
    w = _weights(right, weights)
    return _ratio(name or "accuracy", right * w, w, metrics_collections, updates_collections)


def _error(name, labels, predictions, weights, of_difference, collections, final=None):
    error = of_difference(E.cast(as_variable(predictions), "float32") - E.cast(as_variable(labels), "float32"))
    w = _weights(error, weights)
    return _ratio(name, error * w, w, *collections, final=final)


def mean_squared_error(labels, predictions, weights=None, metrics_collections=None, updates_collections=None,
                       name=None):
    return _error(name or "mean_squared_error", labels, predictions, weights, E.square,
                  (metrics_collections, updates_collections))


def mean_absolute_error(labels, predictions, weights=None, metrics_collections=None, updates_collections=None,
                        name=None):
    return _error(name or "mean_absolute_error", labels, predictions, weights, E.abs,
                  (metrics_collections, updates_collections))


def root_mean_squared_error(labels, predictions, weights=None, metrics_collections=None, updates_collections=None,
                            name=None):
    return _error(name or "root_mean_squared_error", labels, predictions, weights, E.square,
                  (metrics_collections, updates_collections), final=E.sqrt)


def _confusion(labels, predictions, weights):
    """(predicted, actual, weight) as float32 of boolean-valued labels and predictions."""
    predicted = E.cast(E.neq(as_variable(predictions), 0), "float32")
    actual = E.cast(E.neq(as_variable(labels), 0), "float32")
    return predicted, actual, _weights(predicted, weights)


def _count(name, counted, metrics_collections, updates_collections):
    with name_scope(name):
        total = _local("count")
        new = total + R.sum(counted)
        return _finish(total, operation({total: new}, "update_op", value=new), metrics_collections,
                       updates_collections)


def true_positives(labels, predictions, weights=None, metrics_collections=None, updates_collections=None, name=None):
    p, a, w = _confusion(labels, predictions, weights)
    return _count(name or "true_positives", p * a * w, metrics_collections, updates_collections)


def false_positives(labels, predictions, weights=None, metrics_collections=None, updates_collections=None,
                    name=None):
    p, a, w = _confusion(labels, predictions, weights)
    return _count(name or "false_positives", p * (1 - a) * w, metrics_collections, updates_collections)


def false_negatives(labels, predictions, weights=None, metrics_collections=None, updates_collections=None,
                    name=None):
    p, a, w = _confusion(labels, predictions, weights)
    return _count(name or "false_negatives", (1 - p) * a * w, metrics_collections, updates_collections)


def true_negatives(labels, predictions, weights=None, metrics_collections=None, updates_collections=None,
                   name=None):
    p, a, w = _confusion(labels, predictions, weights)
    return _count(name or "true_negatives", (1 - p) * (1 - a) * w, metrics_collections, updates_collections)


def precision(labels, predictions, weights=None, metrics_collections=None, updates_collections=None, name=None):
    """true positives / predicted positives (0 before any)."""
    p, a, w = _confusion(labels, predictions, weights)
    return _ratio(name or "precision", p * a * w, p * w, metrics_collections, updates_collections)


def recall(labels, predictions, weights=None, metrics_collections=None, updates_collections=None, name=None):
    """true positives / actual positives (0 before any)."""
    p, a, w = _confusion(labels, predictions, weights)
    return _ratio(name or "recall", p * a * w, a * w, metrics_collections, updates_collections)
