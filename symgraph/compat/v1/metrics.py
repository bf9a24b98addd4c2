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
from ...ops.shape import ones_like, reshape
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


def auc(labels, predictions, weights=None, num_thresholds=200, metrics_collections=None, updates_collections=None,
        curve="ROC", name=None, summation_method="trapezoidal", thresholds=None):
    """The area under the ROC curve (curve="PR": precision against recall) of probabilities,
    from weighted confusion counts streamed at num_thresholds thresholds in [0, 1] (a prediction
    above one is positive), the trapezoids summed, as TensorFlow 1 computes it."""
    if curve not in ("ROC", "PR") or summation_method != "trapezoidal":
        raise NotImplementedError(f"auc: curve 'ROC' or 'PR' summed by trapezoids, got {curve!r}, "
                                  f"{summation_method!r}")
    epsilon = 1e-7
    cuts = np.array([-epsilon] + [(k + 1.0) / (num_thresholds - 1) for k in range(num_thresholds - 2)]
                    + [1.0 + epsilon], np.float32)
    p = reshape(E.cast(as_variable(predictions), "float32"), [-1])
    actual = reshape(E.cast(E.neq(as_variable(labels), 0), "float32"), [-1])
    w = reshape(_weights(actual, weights), [-1])
    above = E.cast(E.gt(p.dimshuffle(0, "x"), cuts), "float32")  # (examples, thresholds)
    positive, negative = (actual * w).dimshuffle(0, "x"), ((1 - actual) * w).dimshuffle(0, "x")
    counted = {"tp": above * positive, "fp": above * negative, "fn": (1 - above) * positive,
               "tn": (1 - above) * negative}
    with name_scope(name or "auc"):
        totals = {key: _local(full, (num_thresholds,)) for key, full in
                  (("tp", "true_positives"), ("fp", "false_positives"), ("fn", "false_negatives"),
                   ("tn", "true_negatives"))}
        new = {key: totals[key] + R.sum(counted[key], axis=0) for key in counted}
        value = _area(totals, curve, num_thresholds, epsilon)
        update = operation({totals[k]: new[k] for k in counted}, "update_op", value=_area(new, curve, num_thresholds,
                                                                                           epsilon))
        return _finish(value, update, metrics_collections, updates_collections)


def _area(counts, curve, n, epsilon):
    tp, fp, fn, tn = counts["tp"], counts["fp"], counts["fn"], counts["tn"]
    recall = (tp + epsilon) / (tp + fn + epsilon)
    if curve == "ROC":
        x, y = fp / (fp + tn + epsilon), recall
    else:
        x, y = recall, (tp + epsilon) / (tp + fp + epsilon)
    return R.sum((x[:n - 1] - x[1:]) * (y[:n - 1] + y[1:]) / 2)
