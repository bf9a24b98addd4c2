"""Checks that TensorBoard reads the event files sg.compat.v1's tf.summary writes: scalars,
histograms, images, tf.Summary values and the graph (FileWriter(logdir, sess.graph)), and those
sg.callbacks.TensorBoard writes for a Keras model's fit, through TensorBoard's own EventAccumulator. Run by
hand where tensorboard is installed (checked with tensorboard 2.21.0 and its protobuf):
`PYTHONPATH=. python tests/data/tensorboard/check_with_tensorboard.py`. The tests
(tests/compat/test_tf1_summary.py) read the files back with symgraph's reader."""
import tempfile

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import symgraph.compat.v1 as tf


def main():
    logdir = tempfile.mkdtemp()
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, [None, 4], name="x")
    with tf.name_scope("layer"):
        w = tf.Variable(tf.random_normal([4, 2], seed=1), name="w")
        y = tf.matmul(x, w)
    loss = tf.reduce_mean(y ** 2, name="mse")  # (a tensor named "loss" would make the tag "loss_1", as in TensorFlow)
    tf.train.GradientDescentOptimizer(0.1).minimize(loss, name="train")
    tf.summary.scalar("loss", loss)
    tf.summary.histogram("weights", w)
    tf.summary.image("inputs", tf.reshape(x, [-1, 2, 2, 1]), max_outputs=2)
    merged = tf.summary.merge_all()
    losses, rng = [], np.random.default_rng(0)
    with tf.Session(backend="numpy") as sess, tf.summary.FileWriter(logdir, sess.graph) as writer:
        sess.run(tf.global_variables_initializer())
        for step in range(3):
            summary, value = sess.run([merged, loss], feed_dict={x: rng.random((5, 4))})
            writer.add_summary(summary, step)
            losses.append(float(value))
        writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag="accuracy", simple_value=0.75)]), 3)
        weights = sess.run(w)
    events = EventAccumulator(logdir, size_guidance={"images": 0, "histograms": 0, "scalars": 0})
    events.Reload()
    tags = events.Tags()
    assert sorted(tags["scalars"]) == ["accuracy", "loss"], tags
    assert [e.step for e in events.Scalars("loss")] == [0, 1, 2]
    np.testing.assert_allclose([e.value for e in events.Scalars("loss")], losses, rtol=1e-6)
    assert events.Scalars("accuracy")[0].value == 0.75 and events.Scalars("accuracy")[0].step == 3
    histogram = events.Histograms("weights")[-1].histogram_value
    assert histogram.num == 8 and np.isclose(histogram.sum, weights.sum(), rtol=1e-6)
    assert np.isclose(histogram.min, weights.min()) and sum(histogram.bucket) == 8
    assert sorted(tags["images"]) == ["inputs/image/0", "inputs/image/1"]
    image = events.Images("inputs/image/0")[0]
    assert (image.width, image.height) == (2, 2) and image.encoded_image_string[:4] == b"\x89PNG"
    graph = events.Graph()  # (TensorBoard's own GraphDef message, parsed from the event)
    nodes = {node.name: node for node in graph.node}
    assert list(nodes)[:3] == ["x", "layer/random_normal", "layer/w"], list(nodes)
    assert nodes["layer/MatMul"].op == "MatMul" and list(nodes["layer/MatMul"].input) == ["x", "layer/w"]
    assert nodes["x"].attr["dtype"].type == 1  # DT_FLOAT
    assert [d.size for d in nodes["x"].attr["_output_shapes"].list.shape[0].dim] == [-1, 4]
    assert nodes["train"].op == "NoOp" and "layer/w" in nodes["train"].input
    print(f"TensorBoard read {logdir}: scalars, a histogram, images and the graph ({len(nodes)} nodes)")


def check_keras_callback():
    """sg.callbacks.TensorBoard's runs (train, validation), weight histograms and graph."""
    import os

    import symgraph as sg
    logdir = tempfile.mkdtemp()
    sg.layers.set_seed(0)
    model = sg.layers.Sequential([sg.layers.Dense(8, activation="relu", input_shape=(4,)),
                                  sg.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], backend="numpy")
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 4)).astype("float32"), rng.integers(0, 3, 40)
    history = model.fit(x, y, epochs=3, batch_size=10, verbose=0, validation_data=(x, y),
                        callbacks=[sg.callbacks.TensorBoard(logdir, histogram_freq=1)])
    train = EventAccumulator(os.path.join(logdir, "train"), size_guidance={"histograms": 0, "scalars": 0})
    validation = EventAccumulator(os.path.join(logdir, "validation"), size_guidance={"scalars": 0})
    train.Reload()
    validation.Reload()
    assert sorted(train.Tags()["scalars"]) == ["epoch_accuracy", "epoch_loss"], train.Tags()
    np.testing.assert_allclose([e.value for e in train.Scalars("epoch_loss")], history.history["loss"], rtol=1e-6)
    np.testing.assert_allclose([e.value for e in validation.Scalars("epoch_loss")], history.history["val_loss"],
                               rtol=1e-6)
    assert len(train.Tags()["histograms"]) == len(model.weights)
    nodes = [node.name for node in train.Graph().node]
    assert any(name.startswith(model.layers[0].name + "/") for name in nodes), nodes[:10]
    print(f"TensorBoard read {logdir}: Keras's train and validation runs, {len(model.weights)} weights' "
          f"histograms and the training step's graph ({len(nodes)} nodes)")


if __name__ == "__main__":
    main()
    check_keras_callback()
