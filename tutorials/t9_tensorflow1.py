"""Tutorial 9: TensorFlow 1 code, run as written: TensorFlow's "Deep MNIST for experts" convnet
(NHWC images, HWIO filters, "SAME" padding, dropout by a keep_prob placeholder, Adam) on the
digits, through `import symgraph.compat.v1 as tf`, saved by tf.train.Saver, brought back by
tf.train.import_meta_graph and run by its tensors' names, its graph drawn. See t9_tensorflow1.md."""
import os
import tempfile

import numpy as np

import symgraph as sg
import symgraph.compat.v1 as tf


def weight_variable(shape):
    return tf.Variable(tf.truncated_normal(shape, stddev=0.1))


def bias_variable(shape):
    return tf.Variable(tf.constant(0.1, shape=shape))


def conv2d(x, W):
    return tf.nn.conv2d(x, W, strides=[1, 1, 1, 1], padding="SAME")


def max_pool_2x2(x):
    return tf.nn.max_pool(x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")


def main(fast=False, out=None):
    out = out or tempfile.mkdtemp()
    tf.reset_default_graph()
    tf.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = sg.datasets.load_digits()
    x_train, x_test = x_train.reshape(len(x_train), 64), x_test.reshape(len(x_test), 64)

    # The model, as TensorFlow's tutorial writes it (8x8 digits instead of 28x28: one pooling),
    # its pieces named and in name scopes (the picture's clusters, TensorBoard's boxes).
    x = tf.placeholder(tf.float32, shape=[None, 64], name="x")
    y_ = tf.placeholder(tf.int64, shape=[None], name="y_")
    x_image = tf.reshape(x, [-1, 8, 8, 1])
    with tf.name_scope("conv1"):
        W_conv1, b_conv1 = weight_variable([3, 3, 1, 32]), bias_variable([32])
        h_pool1 = max_pool_2x2(tf.nn.relu(conv2d(x_image, W_conv1) + b_conv1))
    with tf.name_scope("fc1"):
        W_fc1, b_fc1 = weight_variable([4 * 4 * 32, 128]), bias_variable([128])
        h_fc1 = tf.nn.relu(tf.matmul(tf.reshape(h_pool1, [-1, 4 * 4 * 32]), W_fc1) + b_fc1, name="h_fc1")
    keep_prob = tf.placeholder(tf.float32, name="keep_prob")
    h_fc1_drop = tf.nn.dropout(h_fc1, keep_prob)
    with tf.name_scope("fc2"):
        W_fc2, b_fc2 = weight_variable([128, 10]), bias_variable([10])
        y_conv = tf.identity(tf.matmul(h_fc1_drop, W_fc2) + b_fc2, name="logits")
    cross_entropy = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y_, logits=y_conv),
                                   name="cross_entropy")
    train_step = tf.train.AdamOptimizer(1e-3).minimize(cross_entropy)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(y_conv, 1), y_), tf.float32), name="accuracy")
    saver = tf.train.Saver()

    rng = np.random.default_rng(0)
    test = {x: x_test, y_: y_test, keep_prob: 1.0}
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for i in range(150 if fast else 1500):
            batch = rng.integers(0, len(x_train), 50)
            if i % 100 == 0:
                train_accuracy = accuracy.eval(feed_dict={x: x_train[batch], y_: y_train[batch], keep_prob: 1.0})
                print(f"step {i}, training accuracy {train_accuracy:g}")
            train_step.run(feed_dict={x: x_train[batch], y_: y_train[batch], keep_prob: 0.5})
        test_accuracy = accuracy.eval(feed_dict=test)
        path = saver.save(sess, os.path.join(out, "model"))
    print(f"test accuracy {test_accuracy:g}; saved to {path}.npz")

    picture = sg.render(cross_entropy, os.path.join(out, "tf1_graph.png"))

    # Another program's way back: the graph from model.meta, the values from the checkpoint,
    # the tensors by their names (none of the code above is needed).
    tf.reset_default_graph()
    restorer = tf.train.import_meta_graph(path + ".meta")
    with tf.Session() as sess:
        restorer.restore(sess, tf.train.latest_checkpoint(out))
        restored = sess.run("accuracy:0", feed_dict={"x:0": x_test, "y_:0": y_test, "keep_prob:0": 1.0})
        features = sess.run("fc1/h_fc1:0", feed_dict={"x:0": x_test})
    print(f"restored from {path}.meta: test accuracy {restored:g}; fc1's features {features.shape}; "
          f"the graph drawn in {picture}")
    return float(test_accuracy), float(restored), picture


if __name__ == "__main__":
    main()
