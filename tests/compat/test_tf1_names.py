"""TensorFlow 1's names (sg.compat.v1.names): "scope/Op:0" names made unique as TensorFlow makes
them, name and variable scopes, the graph's lookups, Session.run by names, and meta graphs
(tf.train.import_meta_graph) carrying a trained graph to code that did not build it."""
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import symgraph as sg
import symgraph.compat.v1 as tf


def test_default_names_scopes_and_tensorflows_unique_names():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    assert (x.name, x.op.name, x.op.type) == ("x:0", "x", "Placeholder")
    assert tf.placeholder(tf.float32).name == "Placeholder:0"
    W = tf.Variable(tf.ones([3, 2]), name="W")
    assert [tf.matmul(x, W).name for _ in range(3)] == ["MatMul:0", "MatMul_1:0", "MatMul_2:0"]
    with tf.name_scope("hidden1") as scope:
        assert scope == "hidden1/"
        h = tf.nn.relu(tf.matmul(x, W), name="h")
        V = tf.Variable(0.0, name="V")
        with tf.name_scope("inner"):
            inner = tf.exp(h)
    assert (h.name, V.name, inner.name) == ("hidden1/h:0", "hidden1/V:0", "hidden1/inner/Exp:0")
    with tf.name_scope("hidden1") as again:  # (a second scope of a name is made unique)
        assert again == "hidden1_1/" and tf.identity(h).name == "hidden1_1/Identity:0"
    with tf.name_scope("hidden1/"):  # (a trailing "/" reopens the scope as it is)
        assert tf.tanh(h).name == "hidden1/Tanh:0"
    with tf.name_scope("a"), tf.name_scope(None):  # (None: back at the top)
        assert tf.sigmoid(x).name == "Sigmoid:0"
    # TensorFlow compares names in lower case, and skips a taken name_1.
    assert tf.identity(x, name="relu").name == "relu:0" and tf.nn.relu(x).name == "Relu_1:0"
    assert tf.identity(x, name="foo_1").name == "foo_1:0"
    assert [tf.identity(x, name="foo").name for _ in range(2)] == ["foo:0", "foo_2:0"]
    assert tf.get_default_graph().unique_name("foo", mark_as_used=False) == "foo_3"


def test_variable_scopes_name_variables_and_operations_their_own_ways():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    with tf.name_scope("outer"), tf.variable_scope("layer"):
        W = tf.get_variable("W", [3, 2])
        y = tf.matmul(x, W)
    assert W.name == "layer/W:0"  # (get_variable: by the variable scope only)
    assert y.name == "outer/layer/MatMul:0"  # (operations: by the name scopes, variable scopes' included)
    for name_scope in ("layer", "layer_1"):  # (outside "outer" now: "layer", then made unique)
        with tf.variable_scope("layer", reuse=True):
            assert tf.get_variable("W") is W and tf.matmul(x, W).name == f"{name_scope}/MatMul:0"
    assert [v.name for v in tf.global_variables()] == ["layer/W:0"]
    with tf.variable_scope("scope") as scope:
        pass
    with tf.variable_scope(scope):  # (a scope object reopens its name scope)
        assert tf.identity(x).name == "scope/Identity:0"
    # An optimizer's slots are named after their variables, whatever scope minimize() is in.
    with tf.name_scope("train"):
        step = tf.train.MomentumOptimizer(0.1, 0.9).minimize(tf.reduce_sum(y), name="step")
    assert step.name == "train/step" and "layer/W/Momentum/Momentum:0" in [v.name for v in tf.global_variables()]


def test_layers_metrics_and_functions_name_their_tensors_as_tensorflow():
    images = tf.placeholder(tf.float32, [None, 8, 8, 1], name="images")
    conv = tf.layers.conv2d(images, 4, 3, activation=tf.nn.relu)
    pooled = tf.layers.max_pooling2d(conv, 2, 2)
    flat = tf.layers.flatten(pooled)
    logits = tf.layers.dense(flat, 10, name="logits")
    dropped = tf.layers.dropout(logits, training=False)  # (its input given back: a tensor of its own)
    assert (conv.name, pooled.name, flat.name, logits.name) == (
        "conv2d/Relu:0", "max_pooling2d/MaxPool:0", "flatten:0", "logits/BiasAdd:0")
    assert dropped.name == "dropout:0" and logits.name == "logits/BiasAdd:0"
    labels = tf.placeholder(tf.int64, [None], name="labels")
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    top_values, top_indices = tf.nn.top_k(logits, 3)
    parts = tf.split(logits, 2, axis=1)
    assert loss.name == "sparse_softmax_cross_entropy_loss:0"
    assert (top_values.name, top_indices.name) == ("TopKV2:0", "TopKV2:1")
    assert [p.name for p in parts] == ["split:0", "split:1"] and parts[0].op is parts[1].op
    accuracy, update = tf.metrics.accuracy(labels, tf.argmax(logits, 1))
    assert (accuracy.name, update.name) == ("accuracy/value:0", "accuracy/update_op")
    assert [v.name for v in tf.local_variables()] == ["accuracy/total:0", "accuracy/count:0"]
    assert tf.global_variables_initializer().name == "init" and tf.group(update).name == "group_deps"
    y = logits * 2  # (Python's operators make symgraph's tensors: no name, as the module says)
    assert y.name is None and tf.identity(y, name="doubled").name == "doubled:0"


def test_the_graph_finds_tensors_and_operations_and_the_session_runs_names():
    x = tf.placeholder(tf.float32, [None, 2], name="x")
    with tf.name_scope("model"):
        w = tf.Variable([[1.0], [2.0]], name="w")
        y = tf.matmul(x, w, name="y")
    counter = tf.Variable(0, name="counter")
    bump = tf.assign_add(counter, 1, name="bump")
    graph = tf.get_default_graph()
    assert graph.get_tensor_by_name("model/y:0") is y and graph.get_operation_by_name("model/y") is y.op
    assert graph.get_operation_by_name("bump") is bump and graph.as_graph_element("x:0") is x
    with pytest.raises(ValueError, match="Tensor names must be of the form"):
        graph.get_tensor_by_name("model/y")
    with pytest.raises(ValueError, match="refer to a Tensor, not an Operation"):
        graph.get_operation_by_name("x:0")
    with pytest.raises(KeyError, match="'nothing', does not exist"):
        graph.get_tensor_by_name("nothing:0")
    with pytest.raises(KeyError, match="only has 1 outputs"):
        graph.get_tensor_by_name("x:1")
    names = [op.name for op in graph.get_operations()]
    assert names[:3] == ["x", "model/w", "model/w/Assign"] and names.index("model/y") < names.index("bump")
    node = {n.name: n for n in graph.as_graph_def().node}["model/y"]
    assert (node.op, node.input) == ("MatMul", ["x", "model/w"])
    assert y.op.inputs == [x, w] and y.op.outputs == [y] and y.op.values() == (y,)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        out = sess.run({"y": "model/y:0", "none": "bump"}, feed_dict={"x:0": [[1, 1]]})
        np.testing.assert_allclose(out["y"], [[3.0]])
        assert out["none"] is None and counter.get_value() == 1
        assert sess.run(y.op, {x: [[1, 1]]}) is None and sess.run(w.op) is None  # (operations give None)
        with pytest.raises(KeyError, match="'nope'"):
            sess.run("nope:0")
        y.op.run({x: [[0, 0]]})
        assert sess.graph is graph


def test_summaries_are_tagged_by_their_name_scopes():
    loss = tf.placeholder(tf.float32, name="loss")
    with tf.name_scope("train"):
        first = tf.summary.scalar("loss", loss)
        second = tf.summary.scalar("loss", loss)
    histogram = tf.summary.histogram("weights", tf.placeholder(tf.float32, [None]))
    assert (first.tag, second.tag, histogram.tag) == ("train/loss", "train/loss_1", "weights")


def test_each_graph_has_its_own_names():
    tf.placeholder(tf.float32, name="x")
    other = tf.Graph()
    with other.as_default():
        assert tf.placeholder(tf.float32, name="x").name == "x:0"
        assert tf.get_default_graph().get_tensor_by_name("x:0") is not None
    assert tf.placeholder(tf.float32, name="x").name == "x_1:0"
    assert [op.name for op in other.get_operations()] == ["x"]


def _train_a_classifier(steps=60):
    """A two-layer net on a separable task, named as TensorFlow's MNIST example names its pieces."""
    rng = np.random.default_rng(0)
    data = rng.normal(size=(200, 5)).astype("float32")
    labels = (data[:, 0] + data[:, 1] > 0).astype("int64")
    x = tf.placeholder(tf.float32, [None, 5], name="x")
    y = tf.placeholder(tf.int64, [None], name="y")
    with tf.name_scope("hidden1"):
        weights = tf.Variable(tf.truncated_normal([5, 16], stddev=0.5, seed=1), name="weights")
        biases = tf.Variable(tf.zeros([16]), name="biases")
        hidden = tf.nn.relu(tf.matmul(x, weights) + biases)
    logits = tf.layers.dense(hidden, 2, name="logits")
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits), name="loss")
    train_op = tf.train.AdamOptimizer(0.05).minimize(loss, name="train")
    tf.add_to_collection("train_op", train_op)
    tf.summary.scalar("loss", loss)
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    for _ in range(steps):
        sess.run(train_op, {x: data, y: labels})
    return sess, data, labels, hidden, loss


def test_a_meta_graph_brings_back_the_graph_for_code_that_did_not_build_it(tmp_path):
    sess, data, labels, hidden, loss = _train_a_classifier()
    saver = tf.train.Saver()
    path = saver.save(sess, str(tmp_path / "model"))
    features = sess.run(hidden, {"x:0": data})
    trained_loss = sess.run(loss, {"x:0": data, "y:0": labels})
    assert os.path.exists(path + ".meta") and trained_loss < 0.2

    tf.reset_default_graph()
    restorer = tf.train.import_meta_graph(path + ".meta")
    graph = tf.get_default_graph()
    x, y = graph.get_tensor_by_name("x:0"), graph.get_tensor_by_name("y:0")
    assert x is not hidden and "hidden1/Relu" in [op.name for op in graph.get_operations()]
    assert {v.name for v in tf.trainable_variables()} == {"hidden1/weights:0", "hidden1/biases:0",
                                                           "logits/kernel:0", "logits/bias:0"}
    assert not tf.global_variables()[0].get_value().any()  # (the values are the checkpoint's, not the graph's)
    with tf.Session() as new:
        restorer.restore(new, tf.train.latest_checkpoint(str(tmp_path)))
        np.testing.assert_allclose(new.run("hidden1/Relu:0", {x: data}), features, rtol=1e-6)
        np.testing.assert_allclose(new.run("loss:0", {x: data, y: labels}), trained_loss, rtol=1e-6)
        train_op = tf.get_collection("train_op")[0]
        assert train_op is graph.get_operation_by_name("train")
        for _ in range(20):
            new.run(train_op, {x: data, y: labels})
        assert new.run("loss:0", {x: data, y: labels}) < trained_loss  # (training goes on: Adam's state restored)
        # Transfer learning, TensorFlow 1's way: the hidden layer's features into an SVM.
        from sklearn.svm import LinearSVC
        svm = LinearSVC(dual=False).fit(new.run("hidden1/Relu:0", {x: data[:150]}), labels[:150])
        assert svm.score(new.run("hidden1/Relu:0", {x: data[150:]}), labels[150:]) > 0.9
        summary = new.run(tf.summary.merge_all(), {x: data, y: labels})
        assert b"loss" in summary
    # Into a graph with those names: refused, or under an import scope.
    with pytest.raises(ValueError, match="already has .*import_scope"):
        tf.train.import_meta_graph(path + ".meta")
    scoped = tf.train.import_meta_graph(path + ".meta", import_scope="copy")
    copy_x = graph.get_tensor_by_name("copy/x:0")
    with tf.Session() as new:
        scoped.restore(new, path)  # (the checkpoint's names, without the scope)
        np.testing.assert_allclose(new.run("copy/hidden1/Relu:0", {copy_x: data}), features, rtol=1e-6)
    assert tf.identity(copy_x).name == "Identity:0" and tf.nn.relu(copy_x).name == "Relu:0"


def test_a_meta_graph_is_read_by_a_new_process(tmp_path):
    sess, data, labels, hidden, loss = _train_a_classifier(steps=5)
    path = tf.train.Saver().save(sess, str(tmp_path / "model"), global_step=5)
    np.save(tmp_path / "data.npy", data)
    expected = sess.run(hidden, {"x:0": data})
    script = textwrap.dedent(f"""
        import numpy as np
        import symgraph.compat.v1 as tf
        saver = tf.train.import_meta_graph({path + '.meta'!r})
        with tf.Session() as sess:
            saver.restore(sess, {path!r})
            data = np.load({str(tmp_path / 'data.npy')!r})
            np.save({str(tmp_path / 'out.npy')!r}, sess.run("hidden1/Relu:0", {{"x:0": data}}))
    """)
    subprocess.run([sys.executable, "-c", script], check=True, env=dict(os.environ, SYMGRAPH_BACKEND="numpy"))
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, rtol=1e-6)


def test_what_meta_graphs_leave_out_and_refuse(tmp_path):
    dataset = tf.data.Dataset.from_tensor_slices(np.arange(6, dtype="float32")).batch(2)
    batch = dataset.make_one_shot_iterator().get_next()
    doubled = tf.identity(batch * 2, name="doubled")
    meta = tf.train.export_meta_graph(str(tmp_path / "graph.meta"))
    assert len(meta.SerializeToString()) < 20000  # (the dataset's iterator is left out)
    tf.reset_default_graph()
    tf.train.import_meta_graph(str(tmp_path / "graph.meta"))
    got = tf.get_default_graph().get_tensor_by_name("doubled:0")
    placeholder = tf.get_default_graph().get_tensor_by_name("IteratorGetNext:0")
    assert placeholder.tf_iterator is None  # (the dataset's iterator left out)
    with tf.Session() as sess:  # (the iterator's tensor is a placeholder to feed now)
        np.testing.assert_allclose(sess.run(got, {"IteratorGetNext:0": [5.0]}), [10.0])
    (tmp_path / "not.meta").write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(ValueError, match="not a meta graph written by symgraph"):
        tf.train.import_meta_graph(str(tmp_path / "not.meta"))
    # A graph that cannot be pickled: export says why; Saver.save warns once and saves the values.
    tf.reset_default_graph()
    v = tf.Variable(1.0, name="v")
    tf.add_to_collection("callbacks", lambda: None)
    with pytest.raises(ValueError, match="cannot be saved"):
        tf.train.export_meta_graph()
    saver = tf.train.Saver()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with tf.Session() as sess:
            saver.save(sess, str(tmp_path / "m"))
            saver.save(sess, str(tmp_path / "m"))
    assert len([w for w in caught if "no .meta written" in str(w.message)]) == 1
    assert os.path.exists(tmp_path / "m.npz") and not os.path.exists(tmp_path / "m.meta")
    assert v.name == "v:0"


def test_name_scopes_draw_as_clusters():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    with tf.name_scope("hidden1"):
        h = tf.nn.relu(tf.matmul(x, tf.Variable(tf.ones([3, 2]), name="weights")))
    with tf.name_scope("softmax_linear"):
        out = tf.nn.softmax(h)
    dot = sg.to_dot(out).source
    assert "cluster_hidden1" in dot and "cluster_softmax_linear" in dot


def test_the_graph_def_lists_and_serializes_the_named_operations(tmp_path):
    from symgraph.compat.protobuf import wire
    from symgraph.compat.v1 import graph_def, summary
    x = tf.placeholder(tf.float32, [None, 4], name="x")
    with tf.name_scope("layer"):
        w = tf.Variable(tf.zeros([4, 2]), name="w")
        y = tf.nn.relu(tf.matmul(x, w))
    train = tf.train.GradientDescentOptimizer(0.1).minimize(tf.reduce_sum(y), name="train")
    with tf.Session() as sess:
        listed = sess.graph_def
        with tf.summary.FileWriter(str(tmp_path), sess.graph):
            pass
    assert [n.name for n in listed.node] == [op.name for op in tf.get_default_graph().get_operations()]
    assert 'name: "layer/MatMul"\n  op: "MatMul"\n  input: "x"\n  input: "layer/w"' in repr(listed)
    assert "layer/w" in {n.name: n for n in listed.node}["train"].input and train.type == "NoOp"
    event = [e for e in summary.read_events(next(tmp_path.iterdir())) if e.has("graph_def")][0]
    nodes = {n.get("name"): n for n in wire.decode(event.get("graph_def"), "GraphDef", graph_def.SCHEMA).all("node")}
    assert list(nodes) == [n.name for n in listed.node]
    assert nodes["layer/Relu"].get("op") == "Relu" and list(nodes["layer/Relu"].all("input")) == ["layer/MatMul"]
    attrs = {a.get("key"): a.message("value") for a in nodes["x"].all("attr")}
    assert attrs["dtype"].get("type") == 1  # (DT_FLOAT)
    shape = attrs["_output_shapes"].message("list").all("shape")[0]
    assert [d.get("size") for d in shape.all("dim")] == [-1, 4]
    text = tf.train.write_graph(sess.graph, str(tmp_path), "graph.pbtxt")
    assert 'name: "layer/Relu"' in open(text).read()
