"""Keras's metric objects: `metrics=[sg.metrics.SparseCategoricalAccuracy()]`, and standalone
`m.update_state(y_true, y_pred); m.result()`. Each is the mean of a per-example metric of
metrics.py (or losses.py) with its settings; compile takes those per-example values
(`per_example`), as it does a metric given by name, and logs them under the object's name.
Standalone, update_state evaluates them on arrays (a function compiled once per kind of
input) and keeps a weighted running mean."""
import numpy as np

from . import losses as L, metrics as F


class _Metric:
    """What Keras's metric objects share: a name fit logs them under, and standalone use:
    update_state(y_true, y_pred) on arrays (evaluating `symbolic`, the metric's graph, by a
    function compiled once per kind of input), result(), reset_state()."""

    def __init__(self, name, dtype=None):
        self.name, self.dtype = name, dtype
        self.__name__ = name  # (what logs call it)
        self._compiled = {}
        self.reset_state()

    def _evaluated(self, y_true, y_pred):
        from .function import function
        from .variables import tensor
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        key = (y_true.dtype.str, y_true.ndim, y_pred.dtype.str, y_pred.ndim)
        if key not in self._compiled:
            given = [tensor(name, a.dtype, (None,) * a.ndim) for name, a in (("y_true", y_true), ("y_pred", y_pred))]
            self._compiled[key] = function(given, self.symbolic(*given), backend="numpy")
        return self._compiled[key](y_true, y_pred)

    def reset_states(self):  # (Keras 2's name)
        self.reset_state()

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Keras's: update the state with this batch, return the result so far."""
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


class MeanMetricWrapper(_Metric):
    """The running mean of fn(y_true, y_pred, **settings) over the examples seen."""

    def __init__(self, fn, name=None, dtype=None, **settings):
        self.fn, self.settings = fn, settings
        super().__init__(name or fn.__name__, dtype)

    def per_example(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self.settings)

    symbolic = per_example

    def reset_state(self):
        self.total, self.count = 0.0, 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = np.asarray(self._evaluated(y_true, y_pred), dtype="float64")
        weights = np.ones_like(values) if sample_weight is None \
            else np.broadcast_to(np.asarray(sample_weight, "float64"), values.shape)
        self.total += float((values * weights).sum())
        self.count += float(weights.sum())

    def result(self):
        return np.float32(self.total / self.count) if self.count else np.float32(0.0)

    def get_config(self):
        return {**super().get_config(), **self.settings}


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

class CountsMetric(_Metric):
    """A metric of counts over every example seen, not a mean of per-example values (Keras's
    Precision, Recall, AUC): parts(y_true, y_pred) gives each example's counts, (batch, k)
    arrays named part_names, and finish(means) the metric from their means over the examples
    (fit's running means of the batches' means)."""
    part_names = ()

    def parts(self, y_true, y_pred):
        raise NotImplementedError

    def symbolic(self, y_true, y_pred):
        return self.parts(y_true, y_pred)

    def finish(self, means):
        raise NotImplementedError

    def reset_state(self):
        self.totals, self.count = None, 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        parts = [np.asarray(p, dtype="float64") for p in self._evaluated(y_true, y_pred)]
        weights = np.ones(len(parts[0])) if sample_weight is None \
            else np.asarray(sample_weight, "float64").reshape(-1)
        sums = [(p * weights[:, None]).sum(axis=0) for p in parts]
        self.totals = sums if self.totals is None else [t + s for t, s in zip(self.totals, sums)]
        self.count += float(weights.sum())

    def result(self):
        if not self.count:
            return np.float32(0.0)
        return np.float32(self.finish([t / self.count for t in self.totals]))


def _units(y_true, y_pred, class_id=None):
    """(truth, prediction) as (batch, units) float rows: every output unit a yes/no question
    (the truth: a nonzero target), or only column class_id."""
    from .ops import elemwise as E
    from .ops.base import as_variable
    from .ops.shape import expand_dims
    y_true, y_pred = as_variable(y_true), as_variable(y_pred)
    if y_true.ndim == y_pred.ndim - 1:
        y_true = expand_dims(y_true, -1)
    if class_id is not None:
        y_true, y_pred = y_true[..., class_id:class_id + 1], y_pred[..., class_id:class_id + 1]
    rows = [v if v.ndim == 2 else v.flatten(2) if v.ndim > 2 else expand_dims(v, -1) for v in (y_true, y_pred)]
    return E.cast(E.neq(rows[0], 0), y_pred.dtype), rows[1]


def _safe_ratio(a, b):
    """a / b, 0 where b is 0 (Keras's divide_no_nan)."""
    a, b = np.asarray(a, "float64"), np.asarray(b, "float64")
    return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=b != 0)


class _ThresholdMetric(CountsMetric):
    """Precision and Recall: the true positives over a count of the units (`out_of`: those
    predicted positive, whose score passes `thresholds`, or those truly positive)."""
    out_of = None

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        if top_k is not None or isinstance(thresholds, (list, tuple)):
            raise NotImplementedError(f"{type(self).__name__} takes one threshold (no top_k, no list of thresholds)")
        self.thresholds, self.top_k, self.class_id = 0.5 if thresholds is None else float(thresholds), None, class_id
        super().__init__(name or self.default_name, dtype)

    def parts(self, y_true, y_pred):
        from .ops import elemwise as E
        truth, scores = _units(y_true, y_pred, self.class_id)
        said = E.cast(E.gt(scores, self.thresholds), scores.dtype)
        whole = said if self.out_of == "predicted_positives" else truth
        return [(said * truth).sum(axis=1, keepdims=True), whole.sum(axis=1, keepdims=True)]

    def finish(self, means):
        return float(_safe_ratio(means[0], means[1]).sum())

    def get_config(self):
        return {**super().get_config(), "thresholds": self.thresholds, "class_id": self.class_id}


class Precision(_ThresholdMetric):
    """Of the units predicted positive (score above thresholds), the fraction truly positive."""
    default_name, out_of = "precision", "predicted_positives"
    part_names = ("true_positives", out_of)


class Recall(_ThresholdMetric):
    """Of the truly positive units, the fraction predicted positive."""
    default_name, out_of = "recall", "positives"
    part_names = ("true_positives", out_of)


class AUC(CountsMetric):
    """Keras's AUC: the area under the ROC (or precision-recall, curve="PR") curve from the
    confusion counts at num_thresholds thresholds spread over [0, 1]; every output unit one
    question, or with multi_label each unit's own curve, their areas averaged; summation_method
    "interpolation" (trapezoids for ROC, Davis and Goadrich's interpolation for PR), "minoring"
    or "majoring". label_weights (one per unit) weigh each unit's counts, or with multi_label
    each unit's area in the average."""
    part_names = ("true_positives", "false_positives", "positives", "negatives")

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None, dtype=None,
                 thresholds=None, multi_label=False, label_weights=None):
        if curve not in ("ROC", "PR") or summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f"AUC's curve is 'ROC' or 'PR' and its summation_method 'interpolation', 'minoring' or "
                             f"'majoring', got {curve!r}, {summation_method!r}")
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
        else:
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self.edges = np.array([-1e-7] + inner + [1 + 1e-7])
        self.num_thresholds, self.curve, self.summation_method = len(self.edges), curve, summation_method
        self.given_thresholds, self.multi_label = thresholds, bool(multi_label)
        self.label_weights = None if label_weights is None else np.asarray(label_weights, "float64").reshape(-1)
        if self.label_weights is not None and (self.label_weights < 0).any():
            raise ValueError(f"AUC's label_weights must not be negative, got {label_weights}")
        super().__init__(name or "auc", dtype)

    def parts(self, y_true, y_pred):
        """Each example's counts at each threshold, one row per unit (multi_label) or summed
        over the units, flattened: (batch, curves * thresholds), and (batch, curves)."""
        from .ops import elemwise as E
        from .ops.base import as_variable
        truth, scores = _units(y_true, y_pred)
        edges = as_variable(self.edges.astype(scores.dtype))
        said = E.cast(E.gt(scores.dimshuffle(0, 1, "x"), edges), scores.dtype)  # (batch, units, thresholds)
        truth3 = truth.dimshuffle(0, 1, "x")
        counts = [said * truth3, said * (1 - truth3)]
        if self.multi_label:
            return [c.flatten(2) for c in counts] + [truth, 1 - truth]
        falsehood = 1 - truth
        if self.label_weights is not None:  # (each unit's counts weighed)
            weights = as_variable(self.label_weights.astype(scores.dtype))
            counts = [c * weights.dimshuffle("x", 0, "x") for c in counts]
            truth, falsehood = truth * weights, falsehood * weights
        return [c.sum(axis=1) for c in counts] + [truth.sum(axis=1, keepdims=True),
                                                  falsehood.sum(axis=1, keepdims=True)]

    def _averaged(self, areas):
        """The curves' areas averaged (weighed by label_weights with multi_label)."""
        if self.multi_label and self.label_weights is not None:
            return float(_safe_ratio((areas * self.label_weights).sum(), self.label_weights.sum()))
        return float(areas.mean())

    def finish(self, means):
        positives, negatives = (np.asarray(m, "float64") for m in means[2:])
        curves = len(positives)
        tp, fp = (np.asarray(m, "float64").reshape(curves, -1) for m in means[:2])
        fn, tn = positives[:, None] - tp, negatives[:, None] - fp
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._averaged(_interpolated_pr_auc(tp, fp, fn))
        recall = _safe_ratio(tp, tp + fn)
        x, y = (_safe_ratio(fp, fp + tn), recall) if self.curve == "ROC" else (recall, _safe_ratio(tp, tp + fp))
        first, then = y[:, :-1], y[:, 1:]
        heights = {"interpolation": (first + then) / 2, "minoring": np.minimum(first, then),
                   "majoring": np.maximum(first, then)}[self.summation_method]
        return self._averaged(((x[:, :-1] - x[:, 1:]) * heights).sum(axis=1))

    def get_config(self):
        return {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                "summation_method": self.summation_method, "thresholds": self.given_thresholds,
                "multi_label": self.multi_label,
                "label_weights": None if self.label_weights is None else self.label_weights.tolist()}


def _interpolated_pr_auc(tp, fp, fn):
    """Keras's interpolate_pr_auc (Davis and Goadrich, 2006), of each row (a curve's counts
    by threshold): precision interpolated between thresholds as the true positives grow
    linearly with the predicted positives."""
    dtp = tp[:, :-1] - tp[:, 1:]
    p = tp + fp
    dp = p[:, :-1] - p[:, 1:]
    slope = _safe_ratio(dtp, np.maximum(dp, 0))
    intercept = tp[:, 1:] - slope * p[:, 1:]
    both = (p[:, :-1] > 0) & (p[:, 1:] > 0)
    ratio = np.where(both, _safe_ratio(p[:, :-1], np.maximum(p[:, 1:], 0)), 1.0)
    return _safe_ratio(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[:, 1:] + fn[:, 1:], 0)).sum(axis=1)


CLASSES = {cls.__name__: cls for cls in (
    BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy, MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
    Precision, Recall, AUC)}
