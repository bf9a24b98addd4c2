"""TF-Slim (tf.contrib.slim and tf.contrib.layers): Slim's layers, names and defaults under
arg_scope, repeat and stack, batch norm's update ops, slim.learning's loop, and fine-tuning a
trained net with a new head (get_variables_to_restore, assign_from_checkpoint_fn), TensorFlow 1's
transfer learning, on the 8x8 digits."""
import numpy as np
import pytest

import symgraph as sg
import symgraph.compat.v1 as tf

slim = tf.contrib.slim


@pytest.fixture(autouse=True)
def seeded_graph():
    tf.set_random_seed(0)  # (conftest.py's new graph, then this seed)


def net(images, num_classes, is_training):
    """A small VGG-like net as Slim's nets are written."""
    with slim.arg_scope([slim.conv2d, slim.fully_connected], activation_fn=tf.nn.relu,
                        weights_regularizer=slim.l2_regularizer(0.0005)):
        with slim.arg_scope([slim.conv2d], padding="SAME"):
            h = slim.repeat(images, 2, slim.conv2d, 8, [3, 3], scope="conv1")
            h = slim.max_pool2d(h, [2, 2], scope="pool1")
            h = slim.conv2d(h, 16, [3, 3], normalizer_fn=slim.batch_norm,
                            normalizer_params={"is_training": is_training, "decay": 0.9}, scope="conv2")
        h = slim.stack(slim.flatten(h), slim.fully_connected, [32], scope="fc")
        h = slim.dropout(h, 0.9, is_training=is_training, scope="dropout")
        return slim.fully_connected(h, num_classes, activation_fn=None, scope="logits")


def test_slims_names_defaults_and_arg_scopes():
    x = tf.placeholder(tf.float32, [None, 8, 8, 1])
    logits = net(x, 10, True)
    names = [v.op.name for v in tf.global_variables()]
    assert names == ["conv1/conv1_1/weights", "conv1/conv1_1/biases", "conv1/conv1_2/weights", "conv1/conv1_2/biases",
                     "conv2/weights", "conv2/BatchNorm/beta", "conv2/BatchNorm/moving_mean",
                     "conv2/BatchNorm/moving_variance", "fc/fc_1/weights", "fc/fc_1/biases", "logits/weights",
                     "logits/biases"]  # (no biases under batch norm; no gamma: Slim's scale=False)
    assert len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)) == 5  # (the weights of 5 layers)
    assert len(tf.get_collection(tf.GraphKeys.UPDATE_OPS)) == 1 and logits.type.shape[1] == 10
    assert [v.op.name for v in slim.get_variables_to_restore(include=["conv1"], exclude=["conv1/conv1_2"])] == [
        "conv1/conv1_1/weights", "conv1/conv1_1/biases"]
    # Default scopes (Conv, Conv_1), an explicit argument over the arg_scope's, nesting, reopening.
    y = tf.placeholder(tf.float32, [None, 4, 4, 2])
    with slim.arg_scope([slim.conv2d], activation_fn=None, padding="VALID") as outer:
        plain = slim.conv2d(y, 3, 3)
        with slim.arg_scope([slim.conv2d], biases_initializer=None):
            nobias = slim.conv2d(y, 3, 3, padding="SAME")
    with slim.arg_scope(outer):
        again = slim.conv2d(y, 3, 1)
    assert plain.type.shape[1:] == (2, 2, 3) and nobias.type.shape[1:] == (4, 4, 3) and again.type.shape[1:3] == (4, 4)
    tail = [v.op.name for v in tf.global_variables()][12:]
    assert tail == ["Conv/weights", "Conv/biases", "Conv_1/weights", "Conv_2/weights", "Conv_2/biases"]
    yv = np.random.default_rng(0).normal(size=(2, 4, 4, 2)).astype("float32")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        w = sess.run(tf.get_default_graph().get_tensor_by_name("Conv/weights:0"))
        out = sess.run(plain, {y: yv})
    expected = np.einsum("nhwc,hwco->no", yv[:, 0:3, 0:3], w)
    np.testing.assert_allclose(out[:, 0, 0], expected, rtol=1e-5)  # (no ReLU: the arg_scope's activation_fn)
    with tf.Session() as sess:  # (the reopened scope's activation_fn=None too: negative outputs kept)
        sess.run(tf.global_variables_initializer())
        assert (sess.run(again, {y: yv}) < 0).any()
    with pytest.raises(ValueError, match="add_arg_scope"):
        with slim.arg_scope([tf.nn.relu], alpha=1):
            pass


def test_train_then_fine_tune_a_new_head_from_the_checkpoint(tmp_path):
    (x_train, y_train), (x_test, y_test) = sg.datasets.load_digits()
    x_train, x_test = x_train.reshape(-1, 8, 8, 1), x_test.reshape(-1, 8, 8, 1)
    batches = tf.data.Dataset.from_tensor_slices((x_train, y_train.astype("int64"))).shuffle(1000, seed=0) \
        .repeat().batch(64)
    images, labels = batches.make_one_shot_iterator().get_next()
    logits = net(images, 10, True)
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits) + tf.losses.get_regularization_loss()
    train_op = slim.learning.create_train_op(loss, tf.train.AdamOptimizer(0.01))
    final = slim.learning.train(train_op, str(tmp_path / "digits"), number_of_steps=300)
    assert final < 0.5
    # A new program: the same net with a new head (even or odd), the base from the checkpoint.
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, [None, 8, 8, 1])
    parity = tf.placeholder(tf.int64, [None])
    head = net(x, 2, False)
    restore = slim.assign_from_checkpoint_fn(tf.train.latest_checkpoint(str(tmp_path / "digits")),
                                             slim.get_variables_to_restore(exclude=["logits"]))
    head_loss = tf.losses.sparse_softmax_cross_entropy(parity, head)
    head_vars = slim.get_model_variables("logits")
    step = slim.learning.create_train_op(head_loss, tf.train.AdamOptimizer(0.05), variables_to_train=head_vars)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(head, 1), parity), tf.float32))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        restore(sess)
        base = tf.get_default_graph().get_tensor_by_name("conv1/conv1_1/weights:0").get_value().copy()
        for k in range(150):
            batch = np.random.default_rng(k).integers(0, len(x_train), 64)
            sess.run(step, {x: x_train[batch], parity: y_train[batch] % 2})
        score = sess.run(accuracy, {x: x_test, parity: y_test % 2})
        assert np.array_equal(tf.get_default_graph().get_tensor_by_name("conv1/conv1_1/weights:0").get_value(), base)
    assert score > 0.85  # (only the new head trained, on the restored features)


def test_control_dependencies_reach_tensors_and_batch_norm_updates_in_place():
    """`with tf.control_dependencies(ops): t = tf.identity(...)`: computing t runs ops; Slim's
    batch_norm(updates_collections=None) moves its averages with every training run."""
    x = tf.placeholder(tf.float32, [None, 3])
    count = tf.Variable(0, name="count")
    with tf.control_dependencies([tf.assign_add(count, 1)]):
        doubled = tf.identity(x * 2)
    after = doubled + 1
    normalized = slim.batch_norm(x, decay=0.5, updates_collections=None, is_training=True)
    assert not tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    moving_mean = [v for v in tf.global_variables() if v.op.name.endswith("moving_mean")][0]
    values = np.array([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]], np.float32)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(after, {x: values})
        sess.run(x * 3, {x: values})  # (not computed from `doubled`: no bump)
        sess.run(after, {x: values})
        assert count.get_value() == 2
        sess.run(normalized, {x: values})
        np.testing.assert_allclose(moving_mean.get_value(), 0.5 * values.mean(axis=0), rtol=1e-6)
