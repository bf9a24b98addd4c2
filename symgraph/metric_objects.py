"""Keras's metric objects: `metrics=[sg.metrics.SparseCategoricalAccuracy()]`, and standalone
`m.update_state(y_true, y_pred); m.result()`. Each is the mean of a per-example metric of
metrics.py (or losses.py) with its settings; compile takes those per-example values
(`per_example`), as it does a metric given by name, and logs them under the object's name.
Standalone, update_state evaluates them on arrays (a function compiled once per kind of
input) and keeps a weighted running mean."""
import numpy as np

from . import losses as L, metrics as F


class MeanMetricWrapper:
    """The running mean of fn(y_true, y_pred, **settings) over the examples seen."""

    def __init__(self, fn, name=None, dtype=None, **settings):
        self.fn, self.settings, self.dtype = fn, settings, dtype
        self.name = name or fn.__name__
        self.__name__ = self.name  # (what logs call it)
        self._compiled = {}
        self.reset_state()

    def per_example(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self.settings)

    def reset_state(self):
        self.total, self.count = 0.0, 0.0

    reset_states = reset_state  # (Keras 2's name)

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = np.asarray(self._function(np.asarray(y_true), np.asarray(y_pred))(y_true, y_pred), dtype="float64")
        weights = np.ones_like(values) if sample_weight is None \
            else np.broadcast_to(np.asarray(sample_weight, "float64"), values.shape)
        self.total += float((values * weights).sum())
        self.count += float(weights.sum())

    def _function(self, y_true, y_pred):
        from .function import function
        from .variables import tensor
        key = (y_true.dtype.str, y_true.ndim, y_pred.dtype.str, y_pred.ndim)
        if key not in self._compiled:
            given = [tensor(name, a.dtype, (None,) * a.ndim) for name, a in (("y_true", y_true), ("y_pred", y_pred))]
            self._compiled[key] = function(given, self.per_example(*given), backend="numpy")
        return self._compiled[key]

    def result(self):
        return np.float32(self.total / self.count) if self.count else np.float32(0.0)

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Keras's: update the state with this batch, return the result so far."""
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, **self.settings}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


def _metric_class(class_name, fn, default_name, doc, **defaults):
    def __init__(self, *args, name=default_name, dtype=None, **settings):
        unknown = set(settings) - set(defaults)
        if unknown or len(args) > len(defaults):
            raise TypeError(f"{class_name} takes {sorted(defaults)} (and name, dtype), got {sorted(unknown) or args}")
        MeanMetricWrapper.__init__(self, fn, name, dtype, **{**defaults, **dict(zip(defaults, args)), **settings})
    return type(class_name, (MeanMetricWrapper,), {"__init__": __init__, "__doc__": doc})


BinaryAccuracy = _metric_class("BinaryAccuracy", F.binary_accuracy, "binary_accuracy",
                               "The fraction of outputs on the right side of threshold.", threshold=0.5)
CategoricalAccuracy = _metric_class("CategoricalAccuracy", F.accuracy, "categorical_accuracy",
                                    "How often the highest score is the one-hot target's class.")
SparseCategoricalAccuracy = _metric_class("SparseCategoricalAccuracy", F.accuracy, "sparse_categorical_accuracy",
                                          "How often the highest score is the integer target.")
TopKCategoricalAccuracy = _metric_class("TopKCategoricalAccuracy", F.top_k_categorical_accuracy,
                                        "top_k_categorical_accuracy", "The target among the k highest scores.", k=5)
SparseTopKCategoricalAccuracy = _metric_class("SparseTopKCategoricalAccuracy", F.top_k_categorical_accuracy,
                                              "sparse_top_k_categorical_accuracy",
                                              "The integer target among the k highest scores.", k=5)
MeanSquaredError = _metric_class("MeanSquaredError", L.mean_squared_error, "mean_squared_error",
                                 "The mean squared error.")
MeanAbsoluteError = _metric_class("MeanAbsoluteError", L.mean_absolute_error, "mean_absolute_error",
                                  "The mean absolute error.")
MeanAbsolutePercentageError = _metric_class("MeanAbsolutePercentageError", L.mean_absolute_percentage_error,
                                            "mean_absolute_percentage_error", "The mean absolute percentage error.")
MeanSquaredLogarithmicError = _metric_class("MeanSquaredLogarithmicError", L.mean_squared_logarithmic_error,
                                            "mean_squared_logarithmic_error", "The mean squared logarithmic error.")
BinaryCrossentropy = _metric_class("BinaryCrossentropy", L.binary_crossentropy, "binary_crossentropy",
                                   "The binary crossentropy, as a metric.", from_logits=False, label_smoothing=0.0)
CategoricalCrossentropy = _metric_class("CategoricalCrossentropy", L.categorical_crossentropy,
                                        "categorical_crossentropy", "The crossentropy, as a metric.",
                                        from_logits=False, label_smoothing=0.0)
SparseCategoricalCrossentropy = _metric_class("SparseCategoricalCrossentropy", L.sparse_categorical_crossentropy,
                                              "sparse_categorical_crossentropy",
                                              "The crossentropy of integer targets, as a metric.", from_logits=False)

CLASSES = {cls.__name__: cls for cls in (
    BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy, MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy)}
