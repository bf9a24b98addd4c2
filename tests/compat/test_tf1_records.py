"""TensorFlow's record files of tf.train.Examples: the fixture written by Google's protobuf and
TensorBoard's RecordWriter read back (tests/data/tfrecords/make_tfrecords.py), Examples written
and read, tf.data.TFRecordDataset parsed by parse_single_example and decode_raw in a map
function, a model trained from records; and padded_batch, zip and concatenate."""
import os

import numpy as np
import pytest

import symgraph as sg
import symgraph.compat.v1 as tf
from tests.compat.conftest import drain

HERE = os.path.join(os.path.dirname(__file__), "..", "data", "tfrecords")


def _all(tensors):
    with tf.Session() as sess:
        return drain(sess, tensors)


def test_records_written_by_googles_protobuf_are_read():
    expected = np.load(os.path.join(HERE, "examples.npz"))
    path = os.path.join(HERE, "examples.tfrecords")
    examples = [tf.train.Example.FromString(r) for r in tf.python_io.tf_record_iterator(path)]
    assert len(examples) == 6
    for k, example in enumerate(examples):
        feature = example.features.feature
        assert feature["label"].int64_list.value == [int(expected["labels"][k])]
        np.testing.assert_array_equal(feature["scores"].float_list.value, expected["scores"][k])
        assert feature["image_raw"].bytes_list.value == [expected["images"][k].tobytes()]
        assert feature["name"].bytes_list.value == [f"example {k}".encode()] and feature["name"].WhichOneof() == \
            "bytes_list"

    def parse(record):
        features = tf.parse_single_example(record, {
            "image_raw": tf.FixedLenFeature([], tf.string), "label": tf.FixedLenFeature([], tf.int64),
            "scores": tf.FixedLenFeature([2], tf.float32)})
        image = tf.reshape(tf.decode_raw(features["image_raw"], tf.uint8), [3, 4])
        return {"image": image, "label": features["label"], "scores": features["scores"] * 2}
    batch = tf.data.TFRecordDataset(path).map(parse).batch(4).make_one_shot_iterator().get_next()
    batches = _all(batch)
    assert [len(b["label"]) for b in batches] == [4, 2]
    np.testing.assert_array_equal(np.concatenate([b["image"] for b in batches]), expected["images"])
    np.testing.assert_array_equal(np.concatenate([b["label"] for b in batches]), expected["labels"])
    np.testing.assert_allclose(np.concatenate([b["scores"] for b in batches]), expected["scores"] * 2)
    assert batches[0]["image"].dtype == np.uint8 and batches[0]["label"].dtype == np.int64


def test_examples_written_here_read_back_and_what_is_refused(tmp_path):
    path = str(tmp_path / "data.tfrecords")
    with tf.python_io.TFRecordWriter(path) as writer:
        for k in range(3):
            feature = {"x": tf.train.Feature(float_list=tf.train.FloatList(value=[k, k + 0.5]))}
            if k != 1:
                feature["y"] = tf.train.Feature(int64_list=tf.train.Int64List(value=[k * 10]))
            writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    spec = {"x": tf.FixedLenFeature([2], tf.float32), "y": tf.FixedLenFeature([], tf.int64, default_value=-1)}
    x, y = tf.data.TFRecordDataset([path]).map(
        lambda r: (lambda f: (f["x"], f["y"]))(tf.parse_single_example(r, spec))).make_one_shot_iterator().get_next()
    got = _all([x, y])
    np.testing.assert_allclose([g[0] for g in got], [[0, 0.5], [1, 1.5], [2, 2.5]])
    assert [int(g[1]) for g in got] == [0, -1, 20]  # (the second record has no y: its default)
    with pytest.raises(ValueError, match="no feature 'y' and no default_value"):
        _all(tf.data.TFRecordDataset(path).map(
            lambda r: tf.parse_single_example(r, {"y": tf.FixedLenFeature([], tf.int64)})["y"])
            .make_one_shot_iterator().get_next())
    with pytest.raises(ValueError, match="has 2 values, its FixedLenFeature shape"):
        _all(tf.data.TFRecordDataset(path).map(
            lambda r: tf.parse_single_example(r, {"x": tf.FixedLenFeature([3], tf.float32)})["x"])
            .make_one_shot_iterator().get_next())
    with pytest.raises(TypeError, match="records \\(strings\\)"):
        tf.data.TFRecordDataset(path).make_one_shot_iterator()
    with pytest.raises(TypeError, match="must be numbers"):
        tf.data.TFRecordDataset(path).map(lambda r: r)
    with pytest.raises(TypeError, match="inside its map function"):
        tf.parse_single_example(tf.placeholder(tf.float32), spec)
    first = next(tf.python_io.tf_record_iterator(path))
    assert tf.train.Example.FromString(first).features.feature["y"].int64_list.value == [0]


def test_a_softmax_regression_trains_from_records(tmp_path):
    (x_train, y_train), (x_test, y_test) = sg.datasets.load_digits()
    path = str(tmp_path / "digits.tfrecords")
    with tf.python_io.TFRecordWriter(path) as writer:  # (TensorFlow's convert_to_records.py)
        for image, label in zip((x_train.reshape(len(x_train), 64) * 16).astype(np.uint8), y_train):
            writer.write(tf.train.Example(features=tf.train.Features(feature={
                "image_raw": tf.train.Feature(bytes_list=tf.train.BytesList(value=[image.tobytes()])),
                "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)]))})).SerializeToString())

    def decode(serialized):  # (fully_connected_reader.py's)
        features = tf.parse_single_example(serialized, features={"image_raw": tf.FixedLenFeature([], tf.string),
                                                                  "label": tf.FixedLenFeature([], tf.int64)})
        image = tf.decode_raw(features["image_raw"], tf.uint8)
        return tf.cast(tf.reshape(image, [64]), tf.float32) * (1.0 / 16), tf.cast(features["label"], tf.int32)
    dataset = tf.data.TFRecordDataset(path).map(decode).shuffle(500, seed=0).batch(64).repeat(6)
    images, labels = dataset.make_one_shot_iterator().get_next()
    W, b = tf.Variable(tf.zeros([64, 10])), tf.Variable(tf.zeros([10]))
    logits = tf.matmul(images, W) + b
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    train = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
    x = tf.placeholder(tf.float32, [None, 64])
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(tf.matmul(x, W) + b, 1), y_test), tf.float32))
    steps = 0
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        while True:
            try:
                sess.run(train)
                steps += 1
            except tf.errors.OutOfRangeError:
                break
        score = sess.run(accuracy, {x: x_test.reshape(len(x_test), 64)})
    assert steps == 6 * -(-len(x_train) // 64) and score > 0.85


def test_padded_batch_zip_and_concatenate():
    lengths = [2, 4, 1, 3]
    sequences = tf.data.Dataset.from_generator(lambda: (np.arange(n) + 1 for n in lengths), tf.int64, [None])
    padded = _all(sequences.padded_batch(3, padded_shapes=[None]).make_one_shot_iterator().get_next())
    np.testing.assert_array_equal(padded[0], [[1, 2, 0, 0], [1, 2, 3, 4], [1, 0, 0, 0]])
    np.testing.assert_array_equal(padded[1], [[1, 2, 3]])
    fixed = _all(sequences.padded_batch(2, padded_shapes=[5], padding_values=np.int64(-1), drop_remainder=True)
                 .make_one_shot_iterator().get_next())
    np.testing.assert_array_equal(fixed[1], [[1, -1, -1, -1, -1], [1, 2, 3, -1, -1]])
    with pytest.raises(ValueError, match="longer than the padded shape"):
        _all(sequences.padded_batch(2, padded_shapes=[3]).make_one_shot_iterator().get_next())
    numbers = tf.data.Dataset.range(5)
    pairs = _all(tf.data.Dataset.zip((numbers, numbers.map(lambda v: v * 10))).make_one_shot_iterator().get_next())
    assert [tuple(map(int, p)) for p in pairs] == [(k, 10 * k) for k in range(5)]
    joined = _all(numbers.take(2).concatenate(tf.data.Dataset.range(7, 9)).make_one_shot_iterator().get_next())
    assert [int(v) for v in joined] == [0, 1, 7, 8]
    with pytest.raises(TypeError, match="types differ"):
        numbers.concatenate(tf.data.Dataset.from_tensor_slices(np.zeros(3, "float32")))


def test_a_shuffle_without_a_seed_follows_the_graph_seed():
    def order():
        tf.set_random_seed(5)
        values = tf.data.Dataset.range(20).shuffle(20).make_one_shot_iterator().get_next()
        return [int(v) for v in _all(values)]
    first, second = order(), order()
    assert first == second and sorted(first) == list(range(20)) and first != list(range(20))
