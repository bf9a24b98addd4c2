"""tf.train.MonitoredTrainingSession: cifar10_train.py's loop (StopAtStepHook, NanTensorHook, a
logging hook of its own) with checkpoints and summaries in checkpoint_dir, training resumed from
them, the data's end closing the `with` block, and a NaN loss stopping it."""
import os
import time

import numpy as np
import pytest

import symgraph.compat.v1 as tf
from symgraph.compat.v1 import summary as summary_module


def _model(epochs=None):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5], "float32") + 0.3).astype("float32")
    global_step = tf.train.get_or_create_global_step()
    features, targets = tf.data.Dataset.from_tensor_slices((x, y)).repeat(epochs).batch(20) \
        .make_one_shot_iterator().get_next()
    w, b = tf.Variable(tf.zeros([3]), name="w"), tf.Variable(0.0, name="b")
    loss = tf.reduce_mean((tf.reduce_sum(features * w, axis=1) + b - targets) ** 2, name="loss")
    tf.summary.scalar("loss", loss)
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=global_step)
    return loss, train_op, w


class LoggerHook(tf.train.SessionRunHook):
    """cifar10_train.py's _LoggerHook: the loss asked for at every run, kept every 10 steps."""

    def __init__(self, loss):
        self.loss, self.logged = loss, []

    def begin(self):
        self._step = -1
        self._start_time = time.time()

    def before_run(self, run_context):
        self._step += 1
        return tf.train.SessionRunArgs(self.loss)

    def after_run(self, run_context, run_values):
        if self._step % 10 == 0:
            self.logged.append((self._step, float(run_values.results)))


def test_cifar10_trains_loop_with_checkpoints_summaries_and_resuming(tmp_path):
    loss, train_op, w = _model()
    logger = LoggerHook(loss)
    with tf.train.MonitoredTrainingSession(
            checkpoint_dir=str(tmp_path), save_checkpoint_steps=25, save_summaries_steps=10,
            hooks=[tf.train.StopAtStepHook(last_step=60), tf.train.NanTensorHook(loss), logger]) as mon_sess:
        runs = 0
        while not mon_sess.should_stop():
            mon_sess.run(train_op)
            runs += 1
    assert runs == 60 and [s for s, _ in logger.logged] == [0, 10, 20, 30, 40, 50]
    assert logger.logged[-1][1] < logger.logged[0][1] / 10
    files = set(os.listdir(tmp_path))
    assert {"model.ckpt-0.npz", "model.ckpt-25.npz", "model.ckpt-50.npz", "model.ckpt-60.npz"} <= files
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("model.ckpt-60")
    events = summary_module.read_events(os.path.join(tmp_path, next(f for f in files if f.startswith("events"))))
    steps = [e.get("step") for e in events if e.has("summary")]
    assert steps == [0, 10, 20, 30, 40, 50]  # (the global step before each of those runs)
    trained = w.get_value()
    # A new program: the same graph, resumed from the checkpoint and run to step 80.
    tf.reset_default_graph()
    loss, train_op, w = _model()
    with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path), save_checkpoint_steps=100,
                                           hooks=[tf.train.StopAtStepHook(last_step=80)]) as mon_sess:
        np.testing.assert_allclose(w.get_value(), trained)  # (restored before the first run)
        count = 0
        while not mon_sess.should_stop():
            mon_sess.run(train_op)
            count += 1
    assert count == 20 and tf.train.latest_checkpoint(str(tmp_path)).endswith("model.ckpt-80")


def test_the_datas_end_closes_the_block_and_nan_losses_stop_it(tmp_path):
    loss, train_op, _ = _model(epochs=2)
    runs = 0
    with tf.train.MonitoredTrainingSession() as sess:
        while not sess.should_stop():
            sess.run(train_op)
            runs += 1
    assert runs == 20  # (200 examples, batches of 20, two passes; then OutOfRangeError ends the block)
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, [])
    bad = tf.log(x)
    with pytest.raises(tf.train.NanLossDuringTrainingError):
        with tf.train.MonitoredTrainingSession(hooks=[tf.train.NanTensorHook(bad)]) as sess:
            sess.run(bad, {x: 1.0})
            sess.run(bad, {x: -1.0})
    with tf.train.MonitoredTrainingSession(hooks=[tf.train.NanTensorHook(bad, fail_on_nan_loss=False)]) as sess:
        sess.run(bad, {x: -1.0})
        assert sess.should_stop()
