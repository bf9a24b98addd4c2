"""TensorFlow 1's canned estimators: DNNClassifier, DNNRegressor, LinearClassifier and
LinearRegressor, their model functions written as TensorFlow 1.15 writes them: the networks'
variables under dnn/hiddenlayer_k and dnn/logits (linear/linear_model/...), the losses summed
over the batch (TensorFlow 1's loss_reduction), Adagrad at 0.05 for the networks and FTRL for the
linear models by default, the classifiers' predictions (logits, probabilities, class_ids,
classes) and metrics (accuracy, average_loss; auc, precision, recall and the means for two
classes) as theirs."""
import copy

import numpy as np

from ...ops import elemwise as E, reduce as R
from ...ops.base import as_variable
from ...ops.shape import concatenate, expand_dims, reshape
from . import feature_column as fc, layers, metrics, nn, train
from .estimator import Estimator, EstimatorSpec, ModeKeys
from .scopes import variable_scope
from .train import get_global_step

_OPTIMIZERS = {"Adagrad": train.AdagradOptimizer, "Adam": train.AdamOptimizer, "Ftrl": train.FtrlOptimizer,
               "RMSProp": train.RMSPropOptimizer, "SGD": train.GradientDescentOptimizer}


def _optimizer(optimizer, default_rate):
    """A new optimizer for each graph: a name's at the estimator's default rate, a callable's, or a
    copy of the one given (its variables, Adam's powers, belong to the graph it was used in)."""
    if isinstance(optimizer, str):
        if optimizer not in _OPTIMIZERS:
            raise ValueError(f"optimizer {optimizer!r}: one of {sorted(_OPTIMIZERS)} or an optimizer")
        return _OPTIMIZERS[optimizer](default_rate)
    if callable(optimizer) and not hasattr(optimizer, "minimize"):
        return optimizer()
    fresh = copy.copy(optimizer)
    if hasattr(fresh, "_powers"):
        fresh._powers = None
    return fresh


def _dnn_logits(features, feature_columns, hidden_units, units, activation_fn, dropout, mode):
    with variable_scope("dnn"):
        with variable_scope("input_from_feature_columns"):
            net = fc.input_layer(features, feature_columns)
        for k, width in enumerate(hidden_units):
            net = layers.dense(net, width, activation=activation_fn, name=f"hiddenlayer_{k}")
            if dropout is not None and mode == ModeKeys.TRAIN:
                net = layers.dropout(net, rate=dropout, training=True)
        return layers.dense(net, units, name="logits")


def _linear_logits(features, feature_columns, units):
    with variable_scope("linear"):
        return fc.linear_model(features, feature_columns, units)


class _Classifier(Estimator):
    """A classifier's head over logits (n_classes > 2: softmax cross-entropy; 2: one logit,
    sigmoid cross-entropy)."""

    def __init__(self, logits_fn, n_classes, optimizer, model_dir, config, weight_column=None):
        if n_classes < 2:
            raise ValueError(f"n_classes must be 2 or more, got {n_classes}")
        self.n_classes, self._weight_column = n_classes, weight_column
        self._logits_fn, self._optimizer = logits_fn, optimizer
        super().__init__(self._model_fn_of_head, model_dir=model_dir, config=config)

    def _model_fn_of_head(self, features, labels, mode):
        logits = self._logits_fn(features, mode, 1 if self.n_classes == 2 else self.n_classes)
        if self.n_classes == 2:
            logistic = nn.sigmoid(logits)
            probabilities = concatenate([1 - logistic, logistic], axis=1)
            class_ids = E.cast(E.gt(logits, 0), "int64")
            predictions = {"logits": logits, "logistic": logistic, "probabilities": probabilities,
                           "class_ids": class_ids}
        else:
            probabilities = nn.softmax(logits)
            class_ids = expand_dims(E.cast(R.argmax(logits, axis=1), "int64"), 1)
            predictions = {"logits": logits, "probabilities": probabilities, "class_ids": class_ids}
        if mode == ModeKeys.PREDICT:
            return EstimatorSpec(mode, predictions=predictions)
        label_ids = reshape(E.cast(as_variable(labels), "int64"), [-1])
        if self.n_classes == 2:
            unreduced = nn.sigmoid_cross_entropy_with_logits(labels=E.cast(label_ids, logits.dtype),
                                                             logits=reshape(logits, [-1]))
        else:
            unreduced = nn.sparse_softmax_cross_entropy_with_logits(labels=label_ids, logits=logits)
        weights = None if self._weight_column is None else reshape(
            E.cast(as_variable(features[self._weight_column]), unreduced.dtype), [-1])
        loss = R.sum(unreduced if weights is None else unreduced * weights)
        if mode == ModeKeys.TRAIN:
            step = self._optimizer().minimize(loss, global_step=get_global_step())
            return EstimatorSpec(mode, predictions=predictions, loss=loss, train_op=step)
        ids = reshape(class_ids, [-1])
        ops = {"accuracy": metrics.accuracy(label_ids, ids, weights, name="accuracy"),
               "average_loss": metrics.mean(unreduced, weights, name="average_loss")}
        if self.n_classes == 2:
            ops.update({"auc": metrics.auc(label_ids, reshape(predictions["logistic"], [-1]), weights, name="auc"),
                        "auc_precision_recall": metrics.auc(label_ids, reshape(predictions["logistic"], [-1]),
                                                            weights, curve="PR", name="auc_precision_recall"),
                        "precision": metrics.precision(label_ids, ids, weights, name="precision"),
                        "recall": metrics.recall(label_ids, ids, weights, name="recall"),
                        "prediction/mean": metrics.mean(predictions["logistic"], weights, name="prediction/mean"),
                        "label/mean": metrics.mean(label_ids, weights, name="label/mean")})
        return EstimatorSpec(mode, predictions=predictions, loss=loss, eval_metric_ops=ops)

    def _finish_predictions(self, batch):
        if isinstance(batch, dict) and "class_ids" in batch:  # (TensorFlow's classes: the ids as strings)
            batch = dict(batch, classes=np.char.encode(batch["class_ids"].astype(str), "ascii").astype(object))
        return batch


class _Regressor(Estimator):
    def __init__(self, logits_fn, label_dimension, optimizer, model_dir, config, weight_column=None):
        self.label_dimension, self._weight_column = label_dimension, weight_column
        self._logits_fn, self._optimizer = logits_fn, optimizer
        super().__init__(self._model_fn_of_head, model_dir=model_dir, config=config)

    def _model_fn_of_head(self, features, labels, mode):
        predictions = self._logits_fn(features, mode, self.label_dimension)
        if mode == ModeKeys.PREDICT:
            return EstimatorSpec(mode, predictions={"predictions": predictions})
        targets = reshape(E.cast(as_variable(labels), predictions.dtype), [-1, self.label_dimension])
        unreduced = R.sum(E.square(predictions - targets), axis=1)
        weights = None if self._weight_column is None else reshape(
            E.cast(as_variable(features[self._weight_column]), unreduced.dtype), [-1])
        loss = R.sum(unreduced if weights is None else unreduced * weights)
        if mode == ModeKeys.TRAIN:
            step = self._optimizer().minimize(loss, global_step=get_global_step())
            return EstimatorSpec(mode, predictions={"predictions": predictions}, loss=loss, train_op=step)
        ops = {"average_loss": metrics.mean(unreduced, weights, name="average_loss"),
               "label/mean": metrics.mean(targets, None, name="label/mean"),
               "prediction/mean": metrics.mean(predictions, None, name="prediction/mean")}
        return EstimatorSpec(mode, predictions={"predictions": predictions}, loss=loss, eval_metric_ops=ops)


def _dnn(feature_columns, hidden_units, activation_fn, dropout):
    return lambda features, mode, units: _dnn_logits(features, feature_columns, hidden_units, units, activation_fn,
                                                     dropout, mode)


def _linear(feature_columns):
    return lambda features, mode, units: _linear_logits(features, feature_columns, units)


def _linear_rate(feature_columns):
    return min(0.2, 1 / np.sqrt(len(feature_columns)))


def DNNClassifier(hidden_units, feature_columns, model_dir=None, n_classes=2, weight_column=None,
                  label_vocabulary=None, optimizer="Adagrad", activation_fn=nn.relu, dropout=None, config=None,
                  **unused):
    if label_vocabulary is not None:
        raise NotImplementedError("DNNClassifier: label_vocabulary (string labels) is not supported; give ids")
    return _Classifier(_dnn(feature_columns, hidden_units, activation_fn, dropout), n_classes,
                       lambda: _optimizer(optimizer, 0.05), model_dir, config, weight_column)


def DNNRegressor(hidden_units, feature_columns, model_dir=None, label_dimension=1, weight_column=None,
                 optimizer="Adagrad", activation_fn=nn.relu, dropout=None, config=None, **unused):
    return _Regressor(_dnn(feature_columns, hidden_units, activation_fn, dropout), label_dimension,
                      lambda: _optimizer(optimizer, 0.05), model_dir, config, weight_column)


def LinearClassifier(feature_columns, model_dir=None, n_classes=2, weight_column=None, label_vocabulary=None,
                     optimizer="Ftrl", config=None, **unused):
    if label_vocabulary is not None:
        raise NotImplementedError("LinearClassifier: label_vocabulary (string labels) is not supported; give ids")
    rate = _linear_rate(feature_columns)
    return _Classifier(_linear(feature_columns), n_classes, lambda: _optimizer(optimizer, rate), model_dir, config,
                       weight_column)


def LinearRegressor(feature_columns, model_dir=None, label_dimension=1, weight_column=None, optimizer="Ftrl",
                    config=None, **unused):
    return _Regressor(_linear(feature_columns), label_dimension,
                      lambda: _optimizer(optimizer, _linear_rate(feature_columns)), model_dir, config, weight_column)
