"""tf.data in sg.compat.v1's graph mode: datasets, iterators the Session feeds, OutOfRangeError at
the end, as TensorFlow 1's documented examples use them."""
import numpy as np
import pytest

import symgraph as sg
import symgraph.compat.v1 as tf
from tests.compat.conftest import drain


def session():
    return tf.Session(backend="numpy")


def test_slices_batches_and_the_end_of_a_one_shot_iterator():
    x, y = np.arange(14, dtype=np.float32).reshape(7, 2), np.arange(7)
    images, labels = tf.data.Dataset.from_tensor_slices((x, y)).batch(3).make_one_shot_iterator().get_next()
    assert images.type.shape == (None, 2) and labels.dtype == "int64"
    total = tf.reduce_sum(images)
    with session() as sess:
        got = drain(sess, [total, labels])
    assert [g[1].tolist() for g in got] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [float(g[0]) for g in got] == [x[:3].sum(), x[3:6].sum(), x[6:].sum()]
    exact = tf.data.Dataset.from_tensor_slices(y).batch(3, drop_remainder=True)
    assert exact.output_shapes == (3,)
    with session() as sess:
        assert [v.tolist() for v in drain(sess, exact.make_one_shot_iterator().get_next())] == [[0, 1, 2], [3, 4, 5]]


def test_one_run_takes_one_element_for_all_the_tensors_fetched():
    values = tf.data.Dataset.range(5).make_one_shot_iterator().get_next()
    doubled = values * 2
    with session() as sess:
        assert sess.run([values, doubled]) == [0, 0]
        assert sess.run({"v": values, "d": doubled}) == {"v": 1, "d": 2}
        assert sess.run(doubled) == 4


def test_shuffle_repeat_take_skip_filter_and_map():
    ds = tf.data.Dataset.range(10).shuffle(10, seed=3).repeat(2)
    with session() as sess:
        order = [int(v) for v in drain(sess, ds.make_one_shot_iterator().get_next())]
    assert sorted(order[:10]) == list(range(10)) and sorted(order[10:]) == list(range(10))
    assert order[:10] != list(range(10)) and order[:10] != order[10:]  # shuffled again each pass
    with session() as sess:
        kept = tf.data.Dataset.range(10).shuffle(1).make_one_shot_iterator().get_next()
        assert [int(v) for v in drain(sess, kept)] == list(range(10))  # a buffer of one: the same order
    ds = (tf.data.Dataset.range(20).skip(2).take(10).filter(lambda v: tf.equal(v % 3, 0))
          .map(lambda v: (tf.cast(v, tf.float32) / 2, v)))
    halves, whole = ds.make_one_shot_iterator().get_next()
    assert halves.dtype == "float32"
    with session() as sess:
        assert drain(sess, [halves, whole]) == [[1.5, 3], [3.0, 6], [4.5, 9]]


def test_a_dict_of_features_and_from_generator():
    features = {"a": np.arange(4.0, dtype=np.float32), "b": np.ones((4, 2), np.float32)}
    element = tf.data.Dataset.from_tensor_slices(features).batch(2).make_one_shot_iterator().get_next()
    assert set(element) == {"a", "b"}
    with session() as sess:
        first = sess.run(element)
    np.testing.assert_array_equal(first["b"], np.ones((2, 2)))

    def rows():
        for k in range(3):
            yield np.full(2, k), k

    ds = tf.data.Dataset.from_generator(rows, (tf.float32, tf.int64), ([2], []))
    vec, k = ds.make_one_shot_iterator().get_next()
    with session() as sess:
        assert [int(v) for _, v in drain(sess, [vec, k])] == [0, 1, 2]
    with pytest.raises(ValueError, match="give the elements' shapes"):
        tf.data.Dataset.from_generator(rows, (tf.float32, tf.int64)).make_one_shot_iterator()


def test_initializable_and_reinitializable_iterators():
    features = tf.placeholder(tf.float32, [None, 2])
    ds = tf.data.Dataset.from_tensor_slices(features).batch(2)
    iterator = ds.make_initializable_iterator()
    batch = iterator.get_next()
    with session() as sess:
        with pytest.raises(ValueError, match="run its initializer first"):
            sess.run(batch)
        sess.run(iterator.initializer, feed_dict={features: np.ones((3, 2))})
        assert [b.shape for b in drain(sess, batch)] == [(2, 2), (1, 2)]
        sess.run(iterator.initializer, feed_dict={features: np.zeros((2, 2))})  # starts over, new data
        assert [b.sum() for b in drain(sess, batch)] == [0.0]
        with pytest.raises(ValueError, match="feed it when running the iterator's initializer"):
            sess.run(iterator.initializer)
    train = tf.data.Dataset.from_tensor_slices(np.arange(6)).batch(3)
    test = tf.data.Dataset.from_tensor_slices(np.arange(100, 102)).batch(3)
    switch = tf.data.Iterator.from_structure(train.output_types, train.output_shapes)
    values = switch.get_next()
    with session() as sess:
        sess.run(switch.make_initializer(train))
        assert [v.tolist() for v in drain(sess, values)] == [[0, 1, 2], [3, 4, 5]]
        sess.run(switch.make_initializer(test))
        assert [v.tolist() for v in drain(sess, values)] == [[100, 101]]
    with pytest.raises(TypeError, match="types"):
        switch.make_initializer(tf.data.Dataset.from_tensor_slices(np.ones(3, np.float32)))


def test_the_mnist_softmax_trains_on_a_dataset_for_some_epochs():
    (x_train, y_train), (x_test, y_test) = sg.datasets.load_digits()
    x_train, x_test = x_train.reshape(len(x_train), 64), x_test.reshape(len(x_test), 64)
    ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(500, seed=0).batch(50).repeat(15)
    images, labels = ds.make_one_shot_iterator().get_next()
    W, b = tf.Variable(tf.zeros([64, 10])), tf.Variable(tf.zeros([10]))
    logits = tf.matmul(images, W) + b
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    train_op = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
    x = tf.placeholder(tf.float32, [None, 64])
    predicted = tf.argmax(tf.matmul(x, W) + b, 1)
    with session() as sess:
        sess.run(tf.global_variables_initializer())
        steps = len(drain(sess, train_op))
        accuracy = np.mean(sess.run(predicted, feed_dict={x: x_test}) == y_test)
    assert steps == 15 * -(-len(x_train) // 50) and accuracy > 0.9
