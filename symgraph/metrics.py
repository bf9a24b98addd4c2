"""Metrics, per example, in Keras's argument order metric(y_true, y_pred)."""
from .naming import lookup
from .ops import elemwise as E
from .ops.reduce import argmax
from .ops.shape import arange, shape, expand_dims
from .ops.base import as_variable
from . import losses


def _labels(y_true, y_pred):
    """Class indices from integer labels or one-hot rows."""
    y_true = as_variable(y_true)
    if y_true.dtype[0] in "iu" and y_true.ndim == y_pred.ndim - 1:
        return y_true
    return argmax(y_true, axis=-1)


def accuracy(y_true, y_pred):
    """Fraction right: argmax for class scores, a 0.5 threshold for a single sigmoid unit."""
    y_true = as_variable(y_true)
    if y_pred.ndim == 1 or y_pred.type.shape[-1] == 1:
        if y_true.ndim == y_pred.ndim - 1:
            y_true = expand_dims(y_true, -1)
        hit = E.cast(E.eq(E.gt(y_pred, 0.5), E.gt(y_true, 0.5)), y_pred.dtype)
        return hit.mean(axis=-1) if hit.ndim > 1 else hit
    return E.cast(E.eq(argmax(y_pred, axis=-1), _labels(y_true, y_pred)), y_pred.dtype)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1 where the true class is among the k highest scores."""
    labels = _labels(y_true, y_pred)
    true_score = y_pred[arange(shape(y_pred)[0]), labels]
    higher = E.cast(E.gt(y_pred, true_score.dimshuffle(0, "x")), "int64").sum(axis=-1)
    return E.cast(E.lt(higher, k), y_pred.dtype)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """The fraction of outputs on the right side of threshold (each unit a yes/no answer)."""
    y_true = as_variable(y_true)
    hit = E.cast(E.eq(E.gt(y_pred, threshold), E.gt(y_true, 0.5)), y_pred.dtype)
    return hit.mean(axis=-1) if hit.ndim > 1 else hit


sparse_top_k_categorical_accuracy = top_k_categorical_accuracy
categorical_accuracy = sparse_categorical_accuracy = accuracy
_BY_NAME = {"accuracy": accuracy, "acc": accuracy, "categorical_accuracy": accuracy,
            "sparse_categorical_accuracy": accuracy, "top_k_categorical_accuracy": top_k_categorical_accuracy,
            "binary_accuracy": binary_accuracy,
            # (Keras takes the regression losses as metrics by their short names)
            **{name: losses.get(name) for name in ("mse", "mae", "msle", "mape", "kld", "poisson", "hinge",
                                                   "squared_hinge", "logcosh", "cosine_similarity", "cosine_proximity")}}


def get(metric):
    """A callable giving per-example values for a metric name, a metric object (its
    per_example) or a function (itself)."""
    if isinstance(metric, MeanMetricWrapper):
        return metric.per_example
    if isinstance(metric, CountsMetric):
        return metric.parts
    return lookup(_BY_NAME, metric, "metric")


def resolved(metric):
    """Keras's metrics=["AUC"] (or "precision", "recall"): a metric of counts named by a string
    is its object, with its own counts and its name as Keras logs it ("auc")."""
    if isinstance(metric, str) and metric.lower() in ("auc", "precision", "recall"):
        return {"auc": AUC, "precision": Precision, "recall": Recall}[metric.lower()]()
    return metric


def name_of(metric):
    return metric if isinstance(metric, str) else getattr(metric, "__name__", "metric")


from .metric_objects import (MeanMetricWrapper, BinaryAccuracy, CategoricalAccuracy,  # noqa: E402
                             SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy,
                             MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
                             MeanSquaredLogarithmicError, BinaryCrossentropy, CategoricalCrossentropy,
                             SparseCategoricalCrossentropy, CountsMetric, Precision, Recall, AUC)
