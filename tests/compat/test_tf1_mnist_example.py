"""TensorFlow 1's own MNIST example (tensorflow/examples/tutorials/mnist: mnist.py and
fully_connected_feed.py) as written, on the 8x8 digits: name scopes, flags read by tf.app.run,
tf.gfile, the loss summary and the graph written for TensorBoard, checkpoints with a global
step, in_top_k evaluation; then the checkpoint's meta graph read back by name."""
import math
import os
import sys

import numpy as np
import pytest

import symgraph as sg
import symgraph.compat.v1 as tf
from symgraph.compat.v1 import summary as summary_module

NUM_CLASSES, IMAGE_PIXELS = 10, 64


# -- mnist.py -----------------------------------------------------------------------------------

def inference(images, hidden1_units, hidden2_units):
    with tf.name_scope("hidden1"):
        weights = tf.Variable(tf.truncated_normal([IMAGE_PIXELS, hidden1_units],
                                                  stddev=1.0 / math.sqrt(float(IMAGE_PIXELS))), name="weights")
        biases = tf.Variable(tf.zeros([hidden1_units]), name="biases")
        hidden1 = tf.nn.relu(tf.matmul(images, weights) + biases)
    with tf.name_scope("hidden2"):
        weights = tf.Variable(tf.truncated_normal([hidden1_units, hidden2_units],
                                                  stddev=1.0 / math.sqrt(float(hidden1_units))), name="weights")
        biases = tf.Variable(tf.zeros([hidden2_units]), name="biases")
        hidden2 = tf.nn.relu(tf.matmul(hidden1, weights) + biases)
    with tf.name_scope("softmax_linear"):
        weights = tf.Variable(tf.truncated_normal([hidden2_units, NUM_CLASSES],
                                                  stddev=1.0 / math.sqrt(float(hidden2_units))), name="weights")
        biases = tf.Variable(tf.zeros([NUM_CLASSES]), name="biases")
        logits = tf.matmul(hidden2, weights) + biases
    return logits


def loss(logits, labels):
    labels = tf.to_int64(labels)
    return tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)


def training(loss, learning_rate):
    tf.summary.scalar("loss", loss)
    optimizer = tf.train.GradientDescentOptimizer(learning_rate)
    global_step = tf.Variable(0, name="global_step", trainable=False)
    train_op = optimizer.minimize(loss, global_step=global_step)
    return train_op


def evaluation(logits, labels):
    correct = tf.nn.in_top_k(logits, labels, 1)
    return tf.reduce_sum(tf.cast(correct, tf.int32))


# -- fully_connected_feed.py -------------------------------------------------------------------

FLAGS = tf.app.flags.FLAGS
tf.app.flags.DEFINE_float("learning_rate", 0.01, "Initial learning rate.")
tf.app.flags.DEFINE_integer("max_steps", 2000, "Number of steps to run trainer.")
tf.app.flags.DEFINE_integer("hidden1", 128, "Number of units in hidden layer 1.")
tf.app.flags.DEFINE_integer("hidden2", 32, "Number of units in hidden layer 2.")
tf.app.flags.DEFINE_integer("batch_size", 100, "Batch size.")
tf.app.flags.DEFINE_string("log_dir", "/tmp/tensorflow/mnist/logs/fully_connected_feed", "Directory for logs.")

RESULTS = {}


class DataSet:
    """input_data's DataSet over arrays: next_batch walks a shuffled order."""

    def __init__(self, images, labels, seed):
        self.images, self.labels, self.num_examples = images, labels, len(images)
        self._rng, self._order, self._at = np.random.default_rng(seed), np.arange(len(images)), len(images)

    def next_batch(self, batch_size):
        if self._at + batch_size > self.num_examples:
            self._order, self._at = self._rng.permutation(self.num_examples), 0
        picked = self._order[self._at:self._at + batch_size]
        self._at += batch_size
        return self.images[picked], self.labels[picked]


def read_data_sets():
    (x_train, y_train), (x_test, y_test) = sg.datasets.load_digits()
    flat = lambda x: x.reshape(len(x), IMAGE_PIXELS).astype("float32")
    return DataSet(flat(x_train), y_train.astype("int32"), 0), DataSet(flat(x_test), y_test.astype("int32"), 1)


def placeholder_inputs(batch_size):
    images_placeholder = tf.placeholder(tf.float32, shape=(batch_size, IMAGE_PIXELS))
    labels_placeholder = tf.placeholder(tf.int32, shape=(batch_size))
    return images_placeholder, labels_placeholder


def fill_feed_dict(data_set, images_pl, labels_pl):
    images_feed, labels_feed = data_set.next_batch(FLAGS.batch_size)
    return {images_pl: images_feed, labels_pl: labels_feed}


def do_eval(sess, eval_correct, images_placeholder, labels_placeholder, data_set):
    true_count = 0
    steps_per_epoch = data_set.num_examples // FLAGS.batch_size
    num_examples = steps_per_epoch * FLAGS.batch_size
    for step in range(steps_per_epoch):
        feed_dict = fill_feed_dict(data_set, images_placeholder, labels_placeholder)
        true_count += sess.run(eval_correct, feed_dict=feed_dict)
    precision = float(true_count) / num_examples
    tf.logging.info("Num examples: %d  Num correct: %d  Precision @ 1: %0.04f", num_examples, true_count, precision)
    return precision


def run_training():
    train, test = read_data_sets()
    with tf.Graph().as_default():
        images_placeholder, labels_placeholder = placeholder_inputs(FLAGS.batch_size)
        logits = inference(images_placeholder, FLAGS.hidden1, FLAGS.hidden2)
        loss_ = loss(logits, labels_placeholder)
        train_op = training(loss_, FLAGS.learning_rate)
        eval_correct = evaluation(logits, labels_placeholder)
        summary = tf.summary.merge_all()
        init = tf.global_variables_initializer()
        saver = tf.train.Saver()
        sess = tf.Session()
        summary_writer = tf.summary.FileWriter(FLAGS.log_dir, sess.graph)
        sess.run(init)
        for step in range(FLAGS.max_steps):
            feed_dict = fill_feed_dict(train, images_placeholder, labels_placeholder)
            _, loss_value = sess.run([train_op, loss_], feed_dict=feed_dict)
            if step % 100 == 0:
                summary_str = sess.run(summary, feed_dict=feed_dict)
                summary_writer.add_summary(summary_str, step)
                summary_writer.flush()
            if (step + 1) % 1000 == 0 or (step + 1) == FLAGS.max_steps:
                checkpoint_file = os.path.join(FLAGS.log_dir, "model.ckpt")
                saver.save(sess, checkpoint_file, global_step=step)
                RESULTS["test"] = do_eval(sess, eval_correct, images_placeholder, labels_placeholder, test)
        RESULTS["loss"] = loss_value
        RESULTS["global_step"] = int(sess.run(tf.train.get_global_step()))


def main(_):
    if tf.gfile.Exists(FLAGS.log_dir):
        tf.gfile.DeleteRecursively(FLAGS.log_dir)
    tf.gfile.MakeDirs(FLAGS.log_dir)
    run_training()


def test_tensorflows_mnist_example_runs_as_written(tmp_path):
    log_dir = str(tmp_path / "logs")
    tf.logging.set_verbosity(tf.logging.INFO)
    with pytest.raises(SystemExit) as exited:
        tf.app.run(main=main, argv=[sys.argv[0], f"--log_dir={log_dir}", "--max_steps=600", "--learning_rate=0.1",
                                    "--batch_size=50"])
    assert exited.value.code is None
    assert RESULTS["test"] > 0.85 and RESULTS["loss"] < 0.5 and RESULTS["global_step"] == 600
    files = sorted(os.listdir(log_dir))
    assert "checkpoint" in files and "model.ckpt-599.meta" in files and "model.ckpt-599.npz" in files
    events = summary_module.read_events(os.path.join(log_dir, next(f for f in files if f.startswith("events"))))
    assert any(e.has("graph_def") for e in events)
    losses = [(e.get("step"), v.get("tag")) for e in events if e.has("summary")
              for v in e.message("summary").all("value")]
    assert losses == [(step, "loss") for step in range(0, 600, 100)]
    # The checkpoint, read back by another program's code: the graph by name, the values restored.
    tf.reset_default_graph()
    saver = tf.train.import_meta_graph(os.path.join(log_dir, "model.ckpt-599.meta"))
    graph = tf.get_default_graph()
    images = graph.get_tensor_by_name("Placeholder:0")
    assert images.type.shape == (50, 64)
    assert {op.name for op in graph.get_operations()} >= {"hidden1/weights", "hidden2/Relu", "softmax_linear/MatMul"}
    with tf.Session() as sess:
        saver.restore(sess, tf.train.latest_checkpoint(log_dir))
        (x_test, y_test) = sg.datasets.load_digits()[1]
        hidden = sess.run("hidden2/Relu:0", {images: x_test[:50].reshape(50, 64)})
        assert hidden.shape == (50, 32) and (hidden >= 0).all()
        assert sess.run("global_step:0") == 600
