"""tf.summary and FileWriter in sg.compat.v1: the event files TensorBoard reads (checked against
TensorBoard itself by tests/data/tensorboard/check_with_tensorboard.py, by hand), read back here
with symgraph's reader: TFRecord framing with CRC-32C, scalars, histograms, images."""
import glob
import io

import numpy as np
import pytest

import symgraph.compat.v1 as tf
from symgraph.compat.v1.summary import crc32c, histogram_proto, read_events


def test_crc32c_gives_the_published_check_values():
    assert crc32c(b"123456789") == 0xE3069283  # (the CRC catalogue's check value for CRC-32C)
    assert crc32c(bytes(32)) == 0x8A9136AA and crc32c(b"\xff" * 32) == 0x62A8AB43  # (RFC 3720's)


def _events(logdir):
    (path,) = glob.glob(f"{logdir}/events.out.tfevents.*")
    return read_events(path)


def test_scalars_histograms_and_images_fetched_in_a_training_run(tmp_path):
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, [None, 4])
    w = tf.Variable(tf.ones([4, 1]))
    loss = tf.reduce_mean(tf.matmul(x, w) ** 2)
    train_op = tf.train.GradientDescentOptimizer(0.01).minimize(loss)
    tf.summary.scalar("loss", loss)
    tf.summary.histogram("weights", w)
    tf.summary.image("inputs", tf.reshape(x, [-1, 2, 2, 1]), max_outputs=1)
    merged = tf.summary.merge_all()
    feed = {x: np.arange(8, dtype=np.float32).reshape(2, 4) / 8}
    losses = []
    with tf.Session(backend="numpy") as sess, tf.summary.FileWriter(str(tmp_path)) as writer:
        sess.run(tf.global_variables_initializer())
        for step in range(2):
            summary, value, _ = sess.run([merged, loss, train_op], feed_dict=feed)
            assert isinstance(summary, bytes)
            writer.add_summary(summary, global_step=step)
            losses.append(float(value))
    events = _events(tmp_path)
    assert events[0].get("file_version") == "brain.Event:2"
    assert [e.get("step") for e in events[1:]] == [0, 1]
    values = {v.get("tag"): v for v in events[1].message("summary").all("value")}
    assert set(values) == {"loss", "weights", "inputs/image"}
    assert values["loss"].get("simple_value") == pytest.approx(losses[0], rel=1e-6)
    histo = values["weights"].message("histo")
    assert (histo.get("num"), histo.get("sum"), histo.get("min"), histo.get("max")) == (4.0, 4.0, 1.0, 1.0)
    later = {v.get("tag"): v for v in events[2].message("summary").all("value")}
    assert later["loss"].get("simple_value") == pytest.approx(losses[1], rel=1e-6) and losses[1] < losses[0]
    from PIL import Image
    picture = values["inputs/image"].message("image")
    decoded = np.asarray(Image.open(io.BytesIO(picture.get("encoded_image_string"))))
    expected = np.rint(feed[x][0].reshape(2, 2) * 255 / feed[x][0].max())  # non-negative: the largest is 255
    np.testing.assert_array_equal(decoded, expected)
    assert (picture.get("height"), picture.get("width"), picture.get("colorspace")) == (2, 2, 1)


def test_histograms_use_tensorflows_buckets_and_runs_of_empty_ones_collapse():
    histo = histogram_proto([0.0, 1.0, 1.0, -3.0, 1e-13])
    limits, counts = histo.get("bucket_limit"), histo.get("bucket")
    assert counts.sum() == 5 and (histo.get("min"), histo.get("max")) == (-3.0, 1.0)
    for value, n in ((1.0, 2), (-3.0, 1)):
        k = int(np.searchsorted(limits, value, side="right"))  # the first limit above the value
        assert counts[k] == n and limits[k - 1] <= value < limits[k]
    assert counts[np.searchsorted(limits, 1e-13, side="right")] == 2  # 0 and 1e-13 share [0, 1e-12)
    assert all(a > 0 or b > 0 for a, b in zip(counts[:-1], counts[1:]))  # no two empty buckets in a row
    assert np.all(np.diff(limits) > 0)


def test_python_values_merge_and_what_is_refused(tmp_path):
    tf.reset_default_graph()
    assert tf.summary.merge_all() is None
    a, b = tf.placeholder(tf.float32), tf.placeholder(tf.float32)
    both = tf.summary.merge([tf.summary.scalar("a", a), tf.summary.scalar("b", b, family="x")])
    with tf.Session(backend="numpy") as sess:
        summary = sess.run(both, feed_dict={a: 1.5, b: -2.0})
    writer = tf.summary.FileWriter(str(tmp_path))
    writer.add_summary(summary, 7)
    writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag="accuracy", simple_value=0.25)]), 8)
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.add_summary(summary, 9)
    events = _events(tmp_path)
    first = [(v.get("tag"), v.get("simple_value")) for v in events[1].message("summary").all("value")]
    # (a family's tag: TensorFlow 1's summary_scope puts the family before the scope "x/b")
    assert first == [("a", 1.5), ("x/x/b", -2.0)]
    assert events[2].get("step") == 8 and events[2].message("summary").message("value").get("simple_value") == 0.25
    (path,) = glob.glob(f"{tmp_path}/events.out.tfevents.*")
    data = bytearray(open(path, "rb").read())
    data[-6] ^= 1  # a bit of the last record's data
    open(path, "wb").write(bytes(data))
    with pytest.raises(ValueError, match="fails its CRC"):
        read_events(path)


def test_images_are_scaled_as_tensorflow_1s_image_summary():
    from PIL import Image
    from symgraph.compat.v1.summary import _image_bytes

    def decoded(image):
        return np.asarray(Image.open(io.BytesIO(_image_bytes(np.asarray(image)))))

    signed = np.array([[[-2.0], [0.0], [1.0]]])  # any negative: 0 at 127, the largest magnitude to the edge
    np.testing.assert_array_equal(decoded(signed), [[0, 127, 190]])
    np.testing.assert_array_equal(decoded(np.array([[[0.5], [2.0]]])), [[64, 255]])  # else the largest is 255
    pixels = np.array([[[3], [250]]], np.uint8)
    np.testing.assert_array_equal(decoded(pixels), [[3, 250]])  # uint8 as it is
