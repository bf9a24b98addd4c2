"""Losses in Keras's argument order, loss(y_true, y_pred), each per example (mean it for a cost)."""
from .naming import lookup
from .ops import elemwise as E
from .ops import nn as N
from .ops.base import as_variable


def categorical_crossentropy(y_true, y_pred, from_logits=False):
    """One-hot (or probability) targets; integer targets are accepted too."""
    return N.categorical_crossentropy(y_pred, y_true, from_logits=from_logits)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    y_true = as_variable(y_true)
    if y_true.dtype[0] not in "iu":
        y_true = E.cast(y_true, "int64")
    if y_true.ndim == y_pred.ndim:  # Keras also accepts (batch, 1) labels
        y_true = y_true.flatten(y_true.ndim - 1) if y_true.ndim > 1 else y_true
    return N.categorical_crossentropy(y_pred, y_true, from_logits=from_logits)


def binary_crossentropy(y_true, y_pred, from_logits=False):
    per_unit = N.binary_crossentropy(y_pred, y_true, from_logits=from_logits)
    return per_unit.mean(axis=-1) if per_unit.ndim > 1 else per_unit


def mean_squared_error(y_true, y_pred):
    d = y_pred - y_true
    return (d * d).mean(axis=tuple(range(1, d.ndim))) if d.ndim > 1 else d * d


def mean_absolute_error(y_true, y_pred):
    d = abs(y_pred - y_true)
    return d.mean(axis=tuple(range(1, d.ndim))) if d.ndim > 1 else d


mse, mae = mean_squared_error, mean_absolute_error
_BY_NAME = {"categorical_crossentropy": categorical_crossentropy,
            "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
            "binary_crossentropy": binary_crossentropy, "mse": mse, "mean_squared_error": mse,
            "mae": mae, "mean_absolute_error": mae}


def get(loss):
    """A callable for a loss name (or the callable itself)."""
    return lookup(_BY_NAME, loss, "loss")
