"""Keras's loss and metric objects (sg.losses.SparseCategoricalCrossentropy(from_logits=True),
sg.metrics.SparseCategoricalAccuracy()): called directly they reduce as Keras's do; compile
takes them as it takes names, logs them under their names and saves and reloads them."""
import numpy as np
import pytest

import symgraph as sg

RNG = np.random.default_rng(47)
LOGITS = RNG.normal(size=(6, 4)) * 3
LABELS = np.array([0, 3, 1, 1, 2, 0])
ONE_HOT = np.eye(4)[LABELS]


def _value(expr):
    return sg.function([], expr, backend="numpy")()


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


@pytest.mark.parametrize("loss,y_true,y_pred,per_example", [
    (sg.losses.SparseCategoricalCrossentropy(from_logits=True), LABELS, LOGITS,
     -np.log(_softmax(LOGITS)[np.arange(6), LABELS])),
    (sg.losses.CategoricalCrossentropy(), ONE_HOT, _softmax(LOGITS), -np.log(_softmax(LOGITS)[np.arange(6), LABELS])),
    (sg.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2), ONE_HOT, LOGITS,
     -((ONE_HOT * 0.8 + 0.05) * np.log(_softmax(LOGITS))).sum(-1)),
    (sg.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1), ONE_HOT, LOGITS,
     np.mean(np.logaddexp(0, LOGITS) - (ONE_HOT * 0.9 + 0.05) * LOGITS, axis=-1)),
    (sg.losses.BinaryCrossentropy(), ONE_HOT, _sigmoid(LOGITS),
     -np.mean(ONE_HOT * np.log(_sigmoid(LOGITS)) + (1 - ONE_HOT) * np.log(1 - _sigmoid(LOGITS)), axis=-1)),
    (sg.losses.MeanSquaredError(), ONE_HOT, LOGITS, ((LOGITS - ONE_HOT) ** 2).mean(-1)),
    (sg.losses.Huber(delta=0.5), ONE_HOT, LOGITS,
     np.where(np.abs(LOGITS - ONE_HOT) <= 0.5, 0.5 * (LOGITS - ONE_HOT) ** 2,
              0.5 * (np.abs(LOGITS - ONE_HOT) - 0.25)).mean(-1)),
    (sg.losses.CosineSimilarity(axis=-1), ONE_HOT, LOGITS,
     -(ONE_HOT * LOGITS).sum(-1) / np.linalg.norm(LOGITS, axis=-1)),
], ids=lambda v: type(v).__name__ if isinstance(v, sg.losses.Loss) else "")
def test_a_loss_object_reduces_as_kerass(loss, y_true, y_pred, per_example):
    # (rtol: Keras's binary crossentropy of probabilities adds its epsilon, 1e-7, in the logs)
    np.testing.assert_allclose(_value(loss(y_true, y_pred)), per_example.mean(), rtol=1e-5)
    weights = np.arange(6.0)
    np.testing.assert_allclose(_value(loss(y_true, y_pred, sample_weight=weights)), (per_example * weights).mean(),
                               rtol=1e-5)
    summed = type(loss).from_config({**loss.get_config(), "reduction": "sum"})
    np.testing.assert_allclose(_value(summed(y_true, y_pred)), per_example.sum(), rtol=1e-5)
    each = type(loss).from_config({**loss.get_config(), "reduction": "none"})
    np.testing.assert_allclose(_value(each(y_true, y_pred)), per_example, rtol=1e-5)


def test_metric_objects_keep_a_weighted_running_mean():
    metric = sg.metrics.SparseCategoricalAccuracy()
    assert metric.name == "sparse_categorical_accuracy" and metric.result() == 0
    right = _softmax(LOGITS).argmax(-1) == LABELS
    metric.update_state(LABELS[:4], _softmax(LOGITS[:4]))
    metric.update_state(LABELS[4:], _softmax(LOGITS[4:]), sample_weight=[2.0, 3.0])
    want = (right[:4].sum() + 2 * right[4] + 3 * right[5]) / 9
    np.testing.assert_allclose(metric.result(), want, rtol=1e-6)
    metric.reset_state()
    assert metric(LABELS, LOGITS) == np.float32(right.mean())  # (calling updates, then gives the result)
    top2 = sg.metrics.TopKCategoricalAccuracy(k=2)
    best_two = np.argsort(LOGITS, -1)[:, -2:]
    np.testing.assert_allclose(top2(ONE_HOT, LOGITS), np.mean([LABELS[i] in best_two[i] for i in range(6)]))
    binary = sg.metrics.BinaryAccuracy(threshold=0.7)
    np.testing.assert_allclose(binary(ONE_HOT, _sigmoid(LOGITS)), ((_sigmoid(LOGITS) > 0.7) == ONE_HOT).mean())


def test_the_tensorflow_quickstart_compiles_fits_and_reloads_with_objects(tmp_path):
    """tf.keras's beginner quickstart: logits out, the loss object with from_logits=True, an
    accuracy object; fit logs the metric under its name; save/load keeps the loss and metrics."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    x, y = (digits.data / 16).astype("float32"), digits.target
    sg.layers.set_seed(0)
    model = sg.layers.Sequential([sg.layers.Dense(64, activation="relu", input_shape=(64,)), sg.layers.Dense(10)])
    loss_fn = sg.losses.SparseCategoricalCrossentropy(from_logits=True)
    untrained = _value(loss_fn(y[:1], model.predict(x[:1])))
    assert np.isfinite(untrained) and untrained > 0.5  # (about log(10) for a fresh model)
    model.compile(optimizer="adam", loss=loss_fn,
                  metrics=[sg.metrics.SparseCategoricalAccuracy(), sg.metrics.SparseCategoricalCrossentropy(from_logits=True)])
    history = model.fit(x[:1400], y[:1400], epochs=8, batch_size=32, verbose=0)
    assert {"loss", "sparse_categorical_accuracy", "sparse_categorical_crossentropy"} <= set(history.history)
    np.testing.assert_allclose(history.history["sparse_categorical_crossentropy"], history.history["loss"], rtol=1e-4)
    loss, accuracy, crossentropy = model.evaluate(x[1400:], y[1400:], verbose=0)
    assert accuracy > 0.85  # (the last 397 digits, other writers' than the first 1400's)
    path = str(tmp_path / "quickstart")
    model.save(path)
    loaded = sg.layers.load_model(path)
    assert isinstance(loaded.compiled.spec["loss"], sg.losses.SparseCategoricalCrossentropy)
    assert loaded.compiled.spec["loss"].get_config()["from_logits"] is True
    np.testing.assert_allclose(loaded.evaluate(x[1400:], y[1400:], verbose=0), [loss, accuracy, crossentropy], rtol=1e-5)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="reduction is one of"):
        sg.losses.MeanSquaredError(reduction="average")
    with pytest.raises(TypeError, match="from_logits"):
        sg.losses.CategoricalCrossentropy(from_logit=True)
    with pytest.raises(TypeError, match="threshold"):
        sg.metrics.BinaryAccuracy(treshold=0.2)


def test_precision_recall_and_auc_count_over_every_example(tmp_path):
    """Keras's metrics of counts against scikit-learn's: standalone over two batches (the
    counts add up, not the batches' values), and from fit and evaluate of a binary classifier,
    where evaluate's equal those of its predictions."""
    from sklearn.metrics import average_precision_score, precision_score, recall_score, roc_auc_score
    y = (RNG.uniform(size=500) < 0.3).astype("float32")
    scores = np.clip(0.3 * y + RNG.uniform(size=500) * 0.7, 0, 1).astype("float32")
    for metric, want, tol in [(sg.metrics.Precision(), precision_score(y, scores > 0.5), 1e-6),
                              (sg.metrics.Recall(thresholds=0.6), recall_score(y, scores > 0.6), 1e-6),
                              (sg.metrics.AUC(), roc_auc_score(y, scores), 1e-3),  # (200 thresholds)
                              (sg.metrics.AUC(curve="PR"), average_precision_score(y, scores), 3e-3)]:
        metric.update_state(y[:100], scores[:100, None])
        metric.update_state(y[100:], scores[100:, None])
        np.testing.assert_allclose(metric.result(), want, atol=tol)
    labels = (RNG.uniform(size=(300, 3)) < [0.2, 0.5, 0.7]).astype("float32")
    label_scores = np.clip(0.4 * labels + RNG.uniform(size=(300, 3)) * 0.6, 0, 1)
    each = sg.metrics.AUC(multi_label=True)
    each.update_state(labels[:120], label_scores[:120])
    each.update_state(labels[120:], label_scores[120:])
    np.testing.assert_allclose(each.result(), roc_auc_score(labels, label_scores, average="macro"), atol=1e-3)
    pooled = sg.metrics.AUC()(labels, label_scores)  # (every unit one question: the micro average)
    np.testing.assert_allclose(pooled, roc_auc_score(labels, label_scores, average="micro"), atol=1e-3)
    weights = np.array([1.0, 0.0, 3.0])
    weighed = sg.metrics.AUC(multi_label=True, label_weights=weights)(labels, label_scores)
    by_label = [roc_auc_score(labels[:, k], label_scores[:, k]) for k in range(3)]
    np.testing.assert_allclose(weighed, np.average(by_label, weights=weights), atol=1e-3)
    weighed_counts = sg.metrics.AUC(label_weights=weights)(labels, label_scores)
    np.testing.assert_allclose(weighed_counts, roc_auc_score(labels.ravel(), label_scores.ravel(),
                                                             sample_weight=np.tile(weights, len(labels))), atol=1e-3)
    per_class = sg.metrics.Recall(class_id=2)
    np.testing.assert_allclose(per_class(ONE_HOT, _softmax(LOGITS)), recall_score(LABELS == 2, _softmax(LOGITS)[:, 2] > 0.5))

    x = RNG.normal(size=(400, 5)).astype("float32")
    labels = (x @ np.array([1.0, -2.0, 0.5, 0.0, 1.0]) + RNG.normal(size=400) > 0.8).astype("float32")
    sg.layers.set_seed(1)
    model = sg.layers.Sequential([sg.layers.Dense(8, activation="relu", input_shape=(5,)),
                                  sg.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", sg.losses.BinaryCrossentropy(),
                  metrics=["accuracy", sg.metrics.Precision(), sg.metrics.Recall(), sg.metrics.AUC()])
    history = model.fit(x, labels, epochs=5, batch_size=32, verbose=0, validation_split=0.25)
    assert {"precision", "recall", "auc", "val_auc"} <= set(history.history)
    assert history.history["auc"][-1] > history.history["auc"][0]
    loss, accuracy, precision, recall, auc = model.evaluate(x, labels, batch_size=64)
    predicted = model.predict(x)[:, 0]
    np.testing.assert_allclose([precision, recall], [precision_score(labels, predicted > 0.5),
                                                     recall_score(labels, predicted > 0.5)], rtol=1e-6)
    np.testing.assert_allclose(auc, roc_auc_score(labels, predicted), atol=2e-3)
    path = str(tmp_path / "classifier")
    model.save(path)
    np.testing.assert_allclose(sg.layers.load_model(path).evaluate(x, labels, batch_size=64),
                               [loss, accuracy, precision, recall, auc], rtol=1e-5)
    assert model.train_on_batch(x[:64], labels[:64])[4] > 0.5  # (a batch's own counts)
