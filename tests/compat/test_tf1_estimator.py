"""tf.estimator: TensorFlow's "Building a CNN with tf.layers" tutorial (an Estimator of a
model_fn, numpy_input_fn, a LoggingTensorHook by tensor name) on the 8x8 digits, training
resumed from model_dir's checkpoints, evaluation and prediction; the canned estimators on iris
(TensorFlow's premade-estimator tutorial) and on a regression; FTRL against its formula."""
import logging

import numpy as np
import pytest

import symgraph as sg
import symgraph.compat.v1 as tf


def cnn_model_fn(features, labels, mode):
    """TensorFlow's cnn_mnist.py model_fn, for 8x8 images (one pooling)."""
    input_layer = tf.reshape(features["x"], [-1, 8, 8, 1])
    conv1 = tf.layers.conv2d(inputs=input_layer, filters=16, kernel_size=[3, 3], padding="same", activation=tf.nn.relu)
    pool1 = tf.layers.max_pooling2d(inputs=conv1, pool_size=[2, 2], strides=2)
    pool1_flat = tf.reshape(pool1, [-1, 4 * 4 * 16])
    dense = tf.layers.dense(inputs=pool1_flat, units=64, activation=tf.nn.relu)
    dropout = tf.layers.dropout(inputs=dense, rate=0.4, training=mode == tf.estimator.ModeKeys.TRAIN)
    logits = tf.layers.dense(inputs=dropout, units=10)
    predictions = {"classes": tf.argmax(input=logits, axis=1),
                   "probabilities": tf.nn.softmax(logits, name="softmax_tensor")}
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode=mode, predictions=predictions)
    loss = tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    if mode == tf.estimator.ModeKeys.TRAIN:
        optimizer = tf.train.GradientDescentOptimizer(learning_rate=0.1)
        train_op = optimizer.minimize(loss=loss, global_step=tf.train.get_global_step())
        return tf.estimator.EstimatorSpec(mode=mode, loss=loss, train_op=train_op)
    eval_metric_ops = {"accuracy": tf.metrics.accuracy(labels=labels, predictions=predictions["classes"])}
    return tf.estimator.EstimatorSpec(mode=mode, loss=loss, eval_metric_ops=eval_metric_ops)


def test_tensorflows_layers_tutorial_estimator(tmp_path, caplog):
    (x_train, y_train), (x_test, y_test) = sg.datasets.load_digits()
    train_data, eval_data = x_train.reshape(-1, 64).astype("float32"), x_test.reshape(-1, 64).astype("float32")
    train_labels, eval_labels = y_train.astype("int32"), y_test.astype("int32")
    classifier = tf.estimator.Estimator(model_fn=cnn_model_fn, model_dir=str(tmp_path),
                                        config=tf.estimator.RunConfig(tf_random_seed=0))
    logging_hook = tf.train.LoggingTensorHook(tensors={"probabilities": "softmax_tensor"}, every_n_iter=100)
    train_input_fn = tf.estimator.inputs.numpy_input_fn(x={"x": train_data}, y=train_labels, batch_size=50,
                                                        num_epochs=None, shuffle=True)
    tf.logging.set_verbosity(tf.logging.INFO)
    with caplog.at_level(logging.INFO, logger="tensorflow"):
        classifier.train(input_fn=train_input_fn, steps=300, hooks=[logging_hook])
    logged = [r.getMessage() for r in caplog.records]
    assert sum(m.startswith("probabilities = ") for m in logged) == 3  # (steps 0, 100, 200)
    assert any(m.startswith("loss = ") and m.endswith("step = 1") for m in logged)
    eval_input_fn = tf.estimator.inputs.numpy_input_fn(x={"x": eval_data}, y=eval_labels, num_epochs=1,
                                                       shuffle=False)
    first = classifier.evaluate(input_fn=eval_input_fn)
    assert first["global_step"] == 300 and first["accuracy"] > 0.8 and set(first) == {"accuracy", "loss",
                                                                                         "global_step"}
    classifier.train(input_fn=train_input_fn, steps=300)  # (goes on from the checkpoint)
    second = classifier.evaluate(input_fn=eval_input_fn)
    assert second["global_step"] == 600 and second["accuracy"] >= first["accuracy"] - 0.02
    assert second["accuracy"] > 0.9
    classifier.train(input_fn=train_input_fn, max_steps=600)  # (already there: nothing to do)
    assert classifier.evaluate(input_fn=eval_input_fn)["global_step"] == 600
    outside = tf.get_default_graph()
    stream = classifier.predict(input_fn=tf.estimator.inputs.numpy_input_fn(x={"x": eval_data[:7]}, num_epochs=1,
                                                                              shuffle=False))
    predictions = [next(stream)]
    assert tf.get_default_graph() is outside  # (between predictions, the caller's graph is the default)
    predictions += list(stream)
    assert len(predictions) == 7 and set(predictions[0]) == {"classes", "probabilities"}
    assert np.mean([p["classes"] for p in predictions] == eval_labels[:7]) > 0.7
    np.testing.assert_allclose([p["probabilities"].sum() for p in predictions], 1, rtol=1e-5)
    names = classifier.get_variable_names()
    assert "global_step" in names and "dense/kernel" in names and classifier.get_variable_value("global_step") == 600
    assert any(f.startswith("events.out.tfevents") for f in __import__("os").listdir(tmp_path))


def test_estimators_refuse_what_they_cannot_do(tmp_path):
    estimator = tf.estimator.Estimator(model_fn=cnn_model_fn, model_dir=str(tmp_path / "empty"))
    input_fn = tf.estimator.inputs.numpy_input_fn(x={"x": np.zeros((4, 64), "float32")}, y=np.zeros(4, "int32"),
                                                  shuffle=False)
    with pytest.raises(ValueError, match="Could not find trained model"):
        estimator.evaluate(input_fn)
    with pytest.raises(ValueError, match="shuffle must be given"):
        tf.estimator.inputs.numpy_input_fn(x={"x": np.zeros(3)})
    with pytest.raises(ValueError, match="training needs loss and train_op"):
        tf.estimator.EstimatorSpec(tf.estimator.ModeKeys.TRAIN, loss=tf.constant(1.0))
    outside = tf.get_default_graph()
    with pytest.raises(TypeError, match="must return an EstimatorSpec"):
        tf.estimator.Estimator(model_fn=lambda features, labels, mode: None, model_dir=str(tmp_path / "x")).train(
            input_fn, steps=1)
    assert tf.get_default_graph() is outside  # (the failed call's graph left)


def _iris():
    from sklearn.datasets import load_iris
    data = load_iris()
    order = np.random.default_rng(0).permutation(150)
    x, y = data.data[order].astype("float32"), data.target[order].astype("int32")
    names = ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth"]
    return {n: x[:, k] for k, n in enumerate(names)}, y, names


def test_premade_dnn_and_linear_classifiers_learn_iris(tmp_path):
    features, labels, names = _iris()
    train = ({n: v[:120] for n, v in features.items()}, labels[:120])
    test = ({n: v[120:] for n, v in features.items()}, labels[120:])
    columns = [tf.feature_column.numeric_column(key=n) for n in names]
    for kind, make in (("dnn", lambda d: tf.estimator.DNNClassifier(hidden_units=[10, 10], feature_columns=columns,
                                                                     n_classes=3, model_dir=d,
                                                                     config=tf.estimator.RunConfig(tf_random_seed=1))),
                       ("linear", lambda d: tf.estimator.LinearClassifier(feature_columns=columns, n_classes=3,
                                                                          model_dir=d))):
        classifier = make(str(tmp_path / kind))
        classifier.train(input_fn=lambda: tf.data.Dataset.from_tensor_slices(train).shuffle(1000, seed=0).repeat()
                         .batch(20), steps=1000)
        result = classifier.evaluate(input_fn=lambda: tf.data.Dataset.from_tensor_slices(test).batch(30))
        assert result["accuracy"] > 0.85, (kind, result)
        assert result["average_loss"] == pytest.approx(result["loss"] / 30, rel=1e-4)  # (a batch's loss is its sum)
        predictions = list(classifier.predict(input_fn=lambda: tf.data.Dataset.from_tensor_slices(test[0]).batch(8)))
        assert len(predictions) == 30 and predictions[0]["classes"] == str(predictions[0]["class_ids"][0]).encode()
        assert np.mean([p["class_ids"][0] for p in predictions] == test[1]) == pytest.approx(result["accuracy"])
    dnn_names = tf.estimator.DNNClassifier(hidden_units=[10, 10], feature_columns=columns, n_classes=3,
                                           model_dir=str(tmp_path / "dnn")).get_variable_names()
    assert {"dnn/hiddenlayer_0/kernel", "dnn/hiddenlayer_1/bias", "dnn/logits/kernel", "dnn/logits/bias",
            "global_step"} <= set(dnn_names)  # (TensorFlow's names for the network's variables)


def test_binary_classifier_metrics_and_a_regressor(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2)).astype("float32")
    y = (x[:, 0] - x[:, 1] > 0).astype("int32")
    columns = [tf.feature_column.numeric_column("x", shape=[2])]
    binary = tf.estimator.DNNClassifier([8], columns, model_dir=str(tmp_path / "binary"),
                                        config=tf.estimator.RunConfig(tf_random_seed=2))
    fit = tf.estimator.inputs.numpy_input_fn({"x": x[:300]}, y[:300], batch_size=30, num_epochs=20, shuffle=True)
    binary.train(fit)
    result = binary.evaluate(tf.estimator.inputs.numpy_input_fn({"x": x[300:]}, y[300:], num_epochs=1, shuffle=False))
    assert {"auc", "precision", "recall", "prediction/mean", "label/mean", "auc_precision_recall"} <= set(result)
    assert result["accuracy"] > 0.9 and result["auc"] > 0.95 and result["global_step"] == 200
    assert result["label/mean"] == pytest.approx(y[300:].mean())
    target = (3 * x[:, 0] - 2 * x[:, 1] + 1).astype("float32")
    regressor = tf.estimator.LinearRegressor([tf.feature_column.numeric_column("x", shape=[2])],
                                             model_dir=str(tmp_path / "regressor"),
                                             optimizer=tf.train.AdamOptimizer(0.05))
    for _ in range(2):  # (the optimizer given is used in each call's graph)
        regressor.train(tf.estimator.inputs.numpy_input_fn({"x": x}, target, batch_size=40, num_epochs=20,
                                                           shuffle=True))
    weights = regressor.get_variable_value("linear/linear_model/x/weights")
    np.testing.assert_allclose(weights.ravel(), [3, -2], atol=0.05)
    np.testing.assert_allclose(regressor.get_variable_value("linear/linear_model/bias_weights"), [1], atol=0.05)
    out = list(regressor.predict(tf.estimator.inputs.numpy_input_fn({"x": x[:3]}, shuffle=False)))
    np.testing.assert_allclose([p["predictions"][0] for p in out], target[:3], atol=0.1)


def test_feature_columns_and_ftrl_follow_tensorflow():
    features = {"age": np.array([[15.0], [40.0], [70.0]], "float32"), "kind": np.array([2, 0, 1]),
                "size": np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], "float32")}
    age = tf.feature_column.numeric_column("age")
    buckets = tf.feature_column.bucketized_column(age, [18, 65])
    kind = tf.feature_column.categorical_column_with_identity("kind", 3)
    dense = tf.feature_column.input_layer(features, [tf.feature_column.numeric_column("size", shape=[2]), buckets,
                                                     tf.feature_column.indicator_column(kind)])
    embedded = tf.feature_column.input_layer(features, [tf.feature_column.embedding_column(kind, 4)])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        values, vectors = sess.run([dense, embedded])
    # (sorted by the columns' names: age_bucketized, kind_indicator, size)
    np.testing.assert_array_equal(values, [[1, 0, 0, 0, 0, 1, 1, 2], [0, 1, 0, 1, 0, 0, 3, 4],
                                           [0, 0, 1, 0, 1, 0, 5, 6]])
    table = [v for v in tf.global_variables() if "embedding_weights" in v.name][0].get_value()
    np.testing.assert_allclose(vectors, table[[2, 0, 1]])
    # FTRL, two steps of one weight against its update rule written out.
    w = tf.Variable(np.array([0.5, -0.2]), dtype=tf.float64)
    loss = tf.reduce_sum((w - np.array([1.0, 1.0])) ** 2)
    step = tf.train.FtrlOptimizer(0.3, l1_regularization_strength=0.01, l2_regularization_strength=0.1).minimize(loss)
    var, accum, linear = np.array([0.5, -0.2]), np.full(2, 0.1), np.zeros(2)
    with tf.Session() as sess:
        for _ in range(2):
            sess.run(step)
            g = 2 * (var - 1)
            new_accum = accum + g * g
            linear = linear + g - (np.sqrt(new_accum) - np.sqrt(accum)) / 0.3 * var
            quadratic = np.sqrt(new_accum) / 0.3 + 0.2
            var = np.where(np.abs(linear) > 0.01, (np.sign(linear) * 0.01 - linear) / quadratic, 0.0)
            accum = new_accum
            np.testing.assert_allclose(w.get_value(), var, rtol=1e-12)
