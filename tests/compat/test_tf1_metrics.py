"""tf.metrics in sg.compat.v1: streamed over batches into local variables, equal to the metric of
all the batches at once; update_op gives the new value, as TensorFlow's."""
import numpy as np
import pytest

import symgraph.compat.v1 as tf


def test_streamed_metrics_equal_the_metrics_of_all_the_data():
    tf.reset_default_graph()
    rng = np.random.default_rng(0)
    labels_all, predicted_all = rng.integers(0, 2, 40), rng.integers(0, 2, 40)
    scores_all, targets_all = rng.normal(size=40).astype(np.float32), rng.normal(size=40).astype(np.float32)
    weights_all = rng.random(40).astype(np.float32)
    labels, predicted = tf.placeholder(tf.int64, [None]), tf.placeholder(tf.int64, [None])
    scores, targets, weights = (tf.placeholder(tf.float32, [None]) for _ in range(3))
    metrics = {
        "accuracy": tf.metrics.accuracy(labels, predicted),
        "mean": tf.metrics.mean(scores, weights=weights),
        "mse": tf.metrics.mean_squared_error(targets, scores),
        "mae": tf.metrics.mean_absolute_error(targets, scores),
        "rmse": tf.metrics.root_mean_squared_error(targets, scores),
        "precision": tf.metrics.precision(labels, predicted),
        "recall": tf.metrics.recall(labels, predicted),
        "tp": tf.metrics.true_positives(labels, predicted),
        "fp": tf.metrics.false_positives(labels, predicted),
        "fn": tf.metrics.false_negatives(labels, predicted),
        "tn": tf.metrics.true_negatives(labels, predicted),
    }
    values = {k: v for k, (v, _) in metrics.items()}
    updates = {k: u for k, (_, u) in metrics.items()}
    tp = np.sum((predicted_all == 1) & (labels_all == 1))
    expected = {
        "accuracy": np.mean(labels_all == predicted_all), "mean": np.average(scores_all, weights=weights_all),
        "mse": np.mean((scores_all - targets_all) ** 2), "mae": np.mean(np.abs(scores_all - targets_all)),
        "rmse": np.sqrt(np.mean((scores_all - targets_all) ** 2)), "precision": tp / np.sum(predicted_all == 1),
        "recall": tp / np.sum(labels_all == 1), "tp": tp, "fp": np.sum((predicted_all == 1) & (labels_all == 0)),
        "fn": np.sum((predicted_all == 0) & (labels_all == 1)), "tn": np.sum((predicted_all == 0) & (labels_all == 0)),
    }
    assert len(tf.local_variables()) == 18 and not set(tf.local_variables()) & set(tf.global_variables())
    with tf.Session(backend="numpy") as sess:
        sess.run(tf.local_variables_initializer())
        assert sess.run(values) == {k: 0.0 for k in values}  # nothing seen: 0, not NaN
        for start in range(0, 40, 16):
            rows = slice(start, start + 16)
            feed = {labels: labels_all[rows], predicted: predicted_all[rows], scores: scores_all[rows],
                    targets: targets_all[rows], weights: weights_all[rows]}
            new = sess.run(updates, feed_dict=feed)
        streamed = sess.run(values)
        for name in expected:
            assert streamed[name] == pytest.approx(expected[name], rel=1e-5), name
            assert new[name] == pytest.approx(streamed[name], rel=1e-6), name  # update_op gives the new value
        sess.run(tf.local_variables_initializer())
        assert sess.run(values["accuracy"]) == 0.0
