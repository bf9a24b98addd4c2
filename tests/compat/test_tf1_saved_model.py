"""tf.saved_model: simple_save and SavedModelBuilder's folder, loaded by loader.load into a new
graph (a new process too) and run by its signature's tensor names."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import symgraph.compat.v1 as tf


def _trained():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(100, 3)).astype("float32")
    labels = (data[:, 0] > 0).astype("int64")
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    y = tf.placeholder(tf.int64, [None], name="y")
    logits = tf.layers.dense(tf.layers.dense(x, 8, activation=tf.nn.relu), 2)
    probabilities = tf.nn.softmax(logits, name="probabilities")
    train = tf.train.AdamOptimizer(0.05).minimize(tf.losses.sparse_softmax_cross_entropy(y, logits))
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    for _ in range(50):
        sess.run(train, {x: data, y: labels})
    return sess, x, probabilities, data


def test_simple_save_and_load_by_the_signature(tmp_path):
    sess, x, probabilities, data = _trained()
    expected = sess.run(probabilities, {x: data[:5]})
    export_dir = str(tmp_path / "model" / "1")
    tf.saved_model.simple_save(sess, export_dir, inputs={"x": x}, outputs={"probabilities": probabilities})
    assert sorted(os.listdir(export_dir)) == ["saved_model.meta", "variables"]
    with pytest.raises(AssertionError, match="already exists"):
        tf.saved_model.simple_save(sess, export_dir, inputs={"x": x}, outputs={"probabilities": probabilities})
    with tf.Session(graph=tf.Graph()) as new:
        meta = tf.saved_model.loader.load(new, [tf.saved_model.tag_constants.SERVING], export_dir)
        signature = meta.signature_def[tf.saved_model.signature_constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY]
        assert signature.inputs["x"].name == "x:0" and signature.outputs["probabilities"].name == "probabilities:0"
        got = new.run(signature.outputs["probabilities"].name, {signature.inputs["x"].name: data[:5]})
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    with tf.Session(graph=tf.Graph()) as new, pytest.raises(RuntimeError, match="could not be found"):
        tf.saved_model.loader.load(new, ["train"], export_dir)
    script = textwrap.dedent(f"""
        import numpy as np
        import symgraph.compat.v1 as tf
        with tf.Session() as sess:
            meta = tf.saved_model.loader.load(sess, ["serve"], {export_dir!r})
            out = sess.run("probabilities:0", {{"x:0": np.load({str(tmp_path / 'x.npy')!r})}})
            np.save({str(tmp_path / 'out.npy')!r}, out)
    """)
    np.save(tmp_path / "x.npy", data[:5])
    subprocess.run([sys.executable, "-c", script], check=True, env=dict(os.environ, SYMGRAPH_BACKEND="numpy"))
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, rtol=1e-6)


def test_the_builder_with_signatures_of_its_own(tmp_path):
    sess, x, probabilities, data = _trained()
    best = tf.argmax(probabilities, 1, name="best")
    builder = tf.saved_model.builder.SavedModelBuilder(str(tmp_path / "export"))
    signature = tf.saved_model.signature_def_utils.predict_signature_def(inputs={"images": x},
                                                                          outputs={"classes": best})
    builder.add_meta_graph_and_variables(sess, [tf.saved_model.tag_constants.SERVING],
                                         signature_def_map={"predict_classes": signature})
    builder.save()
    with tf.Session(graph=tf.Graph()) as new:
        meta = tf.saved_model.loader.load(new, ["serve"], str(tmp_path / "export"), import_scope="served")
        sig = meta.signature_def["predict_classes"]
        assert sig.outputs["classes"].name == "served/best:0"
        classes = new.run(sig.outputs["classes"].name, {sig.inputs["images"].name: data[:8]})
    np.testing.assert_array_equal(classes, sess.run(best, {x: data[:8]}))
    with pytest.raises(ValueError, match="has no name"):
        tf.saved_model.utils.build_tensor_info(x * 2)
