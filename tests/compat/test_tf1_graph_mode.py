"""TensorFlow 1's graph mode (sg.compat.v1): its tutorials as written, its nn functions against
NumPy references written here from TensorFlow's definitions (NHWC images, "SAME" padding that
puts the odd pixel after), its optimizers against their update rules, and Session's fetches,
feeds and errors."""
import numpy as np
import pytest

import symgraph as sg
import symgraph.compat.v1 as tf


@pytest.fixture(autouse=True)
def fresh_graph(monkeypatch):
    """A new graph each test; sessions on the NumPy backend unless a test names one (what
    these tests check is TensorFlow's meaning, which the backends share; numba's compiles
    took most of their time: the tutorials' test and the parametrized ones run numba)."""
    monkeypatch.setattr(sg.config, "backend", "numpy")
    tf.reset_default_graph()
    tf.set_random_seed(0)
    yield
    tf.reset_default_graph()


@pytest.fixture(scope="module")
def digits():
    (x_train, y_train), (x_test, y_test) = sg.datasets.load_digits()
    return x_train.reshape(len(x_train), 64), y_train, x_test.reshape(len(x_test), 64), y_test


def one_hot(y):
    return np.eye(10, dtype="float32")[y]


def test_the_mnist_softmax_tutorial_runs_as_written(digits):
    x_train, y_train, x_test, y_test = digits
    x = tf.placeholder(tf.float32, [None, 64])
    W = tf.Variable(tf.zeros([64, 10]))
    b = tf.Variable(tf.zeros([10]))
    y = tf.matmul(x, W) + b
    y_ = tf.placeholder(tf.float32, [None, 10])
    cross_entropy = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y_, logits=y))
    train_step = tf.train.GradientDescentOptimizer(0.5).minimize(cross_entropy)
    sess = tf.InteractiveSession(backend="numba")
    try:
        tf.global_variables_initializer().run()
        rng = np.random.default_rng(0)
        for _ in range(200):
            batch = rng.integers(0, len(x_train), 100)
            sess.run(train_step, feed_dict={x: x_train[batch], y_: one_hot(y_train[batch])})
        correct_prediction = tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1))
        accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))
        got = sess.run(accuracy, feed_dict={x: x_test, y_: one_hot(y_test)})
        assert got > 0.9  # (0.95)
        assert accuracy.eval(feed_dict={x: x_test, y_: one_hot(y_test)}) == got  # (by the default session)
        probabilities = (x_test @ W.get_value() + b.get_value()).argmax(1)
        assert got == pytest.approx(np.mean(probabilities == y_test))
        assert "Softmax" in sg.to_dot(cross_entropy).source or "softmax" in sg.debugprint(cross_entropy, file="str")
    finally:
        sess.close()
    with pytest.raises(ValueError, match="needs a default session"):
        train_step.run(feed_dict={x: x_test, y_: one_hot(y_test)})


def tf_same_pads(n, k, s):
    """TensorFlow's SAME padding of one axis: (before, after), the odd one after."""
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def conv_nhwc(x, w, stride, padding):
    kh, kw = w.shape[:2]
    if padding == "SAME":
        (t, b), (l, r) = tf_same_pads(x.shape[1], kh, stride), tf_same_pads(x.shape[2], kw, stride)
        x = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)))
    rows, cols = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], rows, cols, w.shape[3]))
    for i in range(rows):
        for j in range(cols):
            window = x[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            out[:, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [0, 1, 2]))
    return out


def pool_nhwc(x, k, stride, padding, how):
    """Max, or mean over the pixels inside the image (TensorFlow's SAME pooling)."""
    if padding == "SAME":
        (t, b), (l, r) = tf_same_pads(x.shape[1], k, stride), tf_same_pads(x.shape[2], k, stride)
    else:
        t = b = l = r = 0
    padded = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=np.nan)
    rows, cols = (padded.shape[1] - k) // stride + 1, (padded.shape[2] - k) // stride + 1
    out = np.zeros((x.shape[0], rows, cols, x.shape[3]))
    for i in range(rows):
        for j in range(cols):
            window = padded[:, i * stride:i * stride + k, j * stride:j * stride + k, :]
            out[:, i, j] = np.nanmax(window, axis=(1, 2)) if how == "max" else np.nanmean(window, axis=(1, 2))
    return out


@pytest.mark.parametrize("backend", ["numpy", pytest.param("numba", marks=pytest.mark.slow)])  # (numba: 12 compiles)
def test_nn_convolutions_and_poolings_of_nhwc_images_match_tensorflows_definitions(backend, rng):
    xv, wv = rng.normal(size=(2, 7, 6, 3)), rng.normal(size=(3, 2, 3, 4))
    x, w = tf.placeholder(tf.float64, [None, 7, 6, 3]), tf.placeholder(tf.float64, [3, 2, 3, 4])
    outs, want = [], []
    for stride in (1, 2):
        for padding in ("SAME", "VALID"):
            outs.append(tf.nn.conv2d(x, w, strides=[1, stride, stride, 1], padding=padding))
            want.append(conv_nhwc(xv, wv, stride, padding))
            for how, pool in (("max", tf.nn.max_pool), ("mean", tf.nn.avg_pool)):
                outs.append(pool(x, ksize=[1, 3, 3, 1], strides=[1, stride, stride, 1], padding=padding))
                want.append(pool_nhwc(xv, 3, stride, padding, how))
    with tf.Session(backend=backend) as sess:
        got = sess.run(outs, feed_dict={x: xv, w: wv})
    assert isinstance(got, list) and len(got) == len(want)
    for g, r in zip(got, want):
        assert g.shape == r.shape
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="strides along the batch and the channels must be 1"):
        tf.nn.conv2d(x, w, strides=[2, 1, 1, 1], padding="SAME")


def test_nn_losses_and_activations_match_tensorflows_definitions(rng):
    logits = rng.normal(size=(4, 5)) * 3
    logits[0, 0] = 200.0  # (far past exp's range in float32)
    labels = rng.dirichlet(np.ones(5), size=4)
    ids = np.array([0, 3, 1, 4])
    lg, lb, ix = tf.constant(logits.astype("float32")), tf.constant(labels.astype("float32")), tf.constant(ids)
    binary = (rng.uniform(size=(4, 5)) > 0.5).astype("float32")
    with tf.Session() as sess:
        soft, sparse, sigm, l2, relu6, leaky = sess.run([
            tf.nn.softmax_cross_entropy_with_logits_v2(labels=lb, logits=lg),
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=ix, logits=lg),
            tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.constant(binary), logits=lg * 2),
            tf.nn.l2_loss(lg), tf.nn.relu6(lg), tf.nn.leaky_relu(lg, alpha=0.1)])
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(soft, -(labels * log_softmax).sum(axis=1), rtol=1e-5)
    np.testing.assert_allclose(sparse, -log_softmax[np.arange(4), ids], rtol=1e-5, atol=1e-6)
    z = 2 * logits
    np.testing.assert_allclose(sigm, np.maximum(z, 0) - z * binary + np.log1p(np.exp(-np.abs(z))), rtol=1e-5, atol=1e-6)
    assert np.isfinite(sigm).all() and np.isfinite(soft).all()
    np.testing.assert_allclose(l2, (logits ** 2).sum() / 2, rtol=1e-5)
    np.testing.assert_allclose(relu6, np.clip(logits, 0, 6), rtol=1e-6)
    np.testing.assert_allclose(leaky, np.where(logits > 0, logits, 0.1 * logits), rtol=1e-6)
    with pytest.raises(ValueError, match="named arguments"):
        tf.nn.softmax_cross_entropy_with_logits(lb, lg)


def numpy_steps(name, g_of, v, steps, lr):
    """TensorFlow 1's update rules, from its documentation, in NumPy."""
    state = {}
    for t in range(1, steps + 1):
        g = g_of(v)
        if name == "sgd":
            v = v - lr * g
        elif name == "momentum":
            acc = 0.9 * state.get("acc", 0) + g
            state["acc"] = acc
            v = v - lr * acc
        elif name == "nesterov":
            acc = 0.9 * state.get("acc", 0) + g
            state["acc"] = acc
            v = v - lr * (g + 0.9 * acc)
        elif name == "adagrad":
            acc = state.get("acc", 0.1) + g * g
            state["acc"] = acc
            v = v - lr * g / np.sqrt(acc)
        elif name == "rmsprop":
            ms = 0.9 * state.get("ms", 1.0) + 0.1 * g * g
            mom = 0.5 * state.get("mom", 0) + lr * g / np.sqrt(ms + 1e-10)
            state.update(ms=ms, mom=mom)
            v = v - mom
        elif name == "adam":
            m = 0.9 * state.get("m", 0) + 0.1 * g
            s = 0.999 * state.get("s", 0) + 0.001 * g * g
            state.update(m=m, s=s)
            lr_t = lr * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
            v = v - lr_t * m / (np.sqrt(s) + 1e-8)
    return v


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"])
def test_optimizers_follow_tensorflows_update_rules(name):
    start, target = np.array([1.0, -2.0, 0.5]), np.array([0.3, 0.1, -0.4])
    v = tf.Variable(start, name="v")  # (float64: the rules compared to 1e-12)
    unrelated = tf.Variable(np.zeros(2), name="unrelated")
    loss = tf.reduce_sum((v - target) ** 4)
    lr = 0.05
    optimizer = {"sgd": lambda: tf.train.GradientDescentOptimizer(lr),
                 "momentum": lambda: tf.train.MomentumOptimizer(lr, 0.9),
                 "nesterov": lambda: tf.train.MomentumOptimizer(lr, 0.9, use_nesterov=True),
                 "adagrad": lambda: tf.train.AdagradOptimizer(lr),
                 "rmsprop": lambda: tf.train.RMSPropOptimizer(lr, momentum=0.5),
                 "adam": lambda: tf.train.AdamOptimizer(lr)}[name]()
    pairs = optimizer.compute_gradients(loss)
    assert [p[1] for p in pairs][:2] == [v, unrelated] and pairs[1][0] is None
    step = tf.train.get_or_create_global_step()
    train = optimizer.apply_gradients(pairs, global_step=step)
    with tf.Session() as sess:
        for _ in range(4):
            sess.run(train)
        assert sess.run(step) == 4
    want = numpy_steps(name, lambda u: 4 * (u - target) ** 3, start, 4, lr)
    np.testing.assert_allclose(v.get_value(), want, rtol=1e-12)
    np.testing.assert_array_equal(unrelated.get_value(), [0, 0])


def test_a_run_made_again_gives_what_the_general_path_gives(rng):
    """Session.run's fast path (the same fetches and feed keys, arrays of the placeholders'
    dtypes) against the general one: new values, values to cast, a bad shape, a list of fetches
    changed in place, iterators (never taken fast)."""
    x = tf.placeholder(tf.float32, [None, 2], name="x")
    w = tf.Variable([[1.0], [2.0]], name="w")
    y = tf.matmul(x, w)
    step = w.assign_add(tf.ones([2, 1]))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        fetches = [y, step]
        for k in range(3):
            value = np.full((1, 2), k, np.float32)
            out = sess.run(fetches, {x: value})
            np.testing.assert_allclose(out[0], value @ (np.array([[1.0], [2.0]]) + k))
            assert out[1] is None and isinstance(out, list)
        assert len(sess._fast) == 2  # (the initializer's run and this one)
        np.testing.assert_allclose(sess.run(fetches, {x: [[1, 1]]})[0], [[4 + 5]])  # (a list: cast)
        np.testing.assert_allclose(sess.run((y,), {x: np.ones((1, 2))})[0], [[5 + 6]])  # (float64: cast)
        with pytest.raises(ValueError, match="Cannot feed value of shape"):
            sess.run(fetches, {x: np.ones(2, np.float32)})
        fetches[1] = y * 2  # (the same list, another fetch: its ids differ)
        got = sess.run(fetches, {x: np.ones((1, 2), np.float32)})
        np.testing.assert_allclose(got[1], 2 * got[0])
        assert w.get_value()[0, 0] == 5
    batch = tf.data.Dataset.range(4).make_one_shot_iterator().get_next()
    with tf.Session() as sess:
        assert [int(sess.run(batch)) for _ in range(4)] == [0, 1, 2, 3] and not sess._fast


def test_session_fetches_feeds_and_what_a_failed_run_leaves(rng):
    x = tf.placeholder(tf.float32, [None, 2], name="x")
    w = tf.Variable([[1.0], [2.0]], name="w")
    y = tf.matmul(x, w)
    double = y * 2
    counter = tf.Variable(0, name="counter")
    assert counter.dtype == "int32" and w.dtype == "float32"  # (TensorFlow's defaults for Python numbers)
    bump = counter.assign_add(1)
    with tf.Session() as sess:
        out = sess.run({"y": y, "both": (double, [bump, counter])}, feed_dict={x: [[1, 1], [0, 1]]})
        assert set(out) == {"y", "both"} and isinstance(out["both"], tuple)
        np.testing.assert_allclose(out["y"], [[3], [2]])
        assert out["both"][1][0] is None and out["both"][1][1] == 0  # (fetched before the update)
        assert counter.get_value() == 1 and out["y"].dtype == np.float32  # (fed ints cast to float32)
        # Any tensor can be fed: a variable (for this run only) or a computed value.
        np.testing.assert_allclose(sess.run(y, {x: [[1, 1]], w: [[0.5], [0.5]]}), [[1.0]])
        np.testing.assert_allclose(w.get_value(), [[1.0], [2.0]])
        np.testing.assert_allclose(sess.run(double, {y: [[5.0]]}), [[10.0]])
        with pytest.raises(ValueError, match="You must feed a value for a placeholder tensor.*'x:0'"):
            sess.run(y)
        with pytest.raises(ValueError, match="Cannot feed value of shape \\(2,\\) for tensor 'x:0'"):
            sess.run(y, {x: [1.0, 2.0]})
        # A run that fails leaves the variables as they were.
        index = tf.placeholder(tf.int64, [], name="index")
        picked = tf.gather(tf.constant([1.0, 2.0]), index)
        with pytest.raises(IndexError, match="index 7 is out of bounds"):
            sess.run([picked, bump, w.assign(w * 0)], {index: 7})
        assert counter.get_value() == 1 and w.get_value()[1, 0] == 2.0
        assert sess.run([bump, w.assign(w * 3)]) == [None, None]
        assert counter.get_value() == 2 and w.get_value()[1, 0] == 6.0
        with pytest.raises(ValueError, match="updated by two of the operations"):
            sess.run([w.assign(w), w.assign(w + 1)])
    with pytest.raises(RuntimeError, match="closed Session"):
        sess.run(y, {x: [[1, 1]]})


def test_variables_initializers_scopes_gradients_and_saver(tmp_path):
    with tf.variable_scope("layer1"):
        W = tf.get_variable("W", [200, 300], initializer=tf.truncated_normal_initializer(stddev=0.5))
        b = tf.get_variable("b", [300], initializer=tf.constant_initializer(0.25))
        G = tf.get_variable("G", [50, 40])  # (Glorot's uniform by default)
    assert W.name == "layer1/W:0" and W.op.name == "layer1/W" and W.get_value().dtype == np.float32
    first = W.get_value()
    assert np.abs(first).max() <= 1.0 + 1e-6 and abs(first.std() - 0.5 * 0.8796) < 0.02
    np.testing.assert_array_equal(b.get_value(), np.full(300, 0.25, "float32"))
    assert np.abs(G.get_value()).max() <= np.sqrt(6 / 90) and G.get_value().std() > 0.1
    with pytest.raises(ValueError, match="layer1/W already exists"):
        with tf.variable_scope("layer1"):
            tf.get_variable("W", [200, 300])
    with tf.variable_scope("layer1", reuse=True):
        assert tf.get_variable("W") is W
        with pytest.raises(ValueError, match="layer1/V does not exist"):
            tf.get_variable("V", [2])
    with tf.variable_scope("layer1", reuse=tf.AUTO_REUSE):
        assert tf.get_variable("W") is W and tf.get_variable("V", [2]).name == "layer1/V:0"
    assert tf.Variable(1.0, name="v").name == "v:0" and tf.Variable(2.0, name="v").name == "v_1:0"
    with tf.Session() as sess:
        W.assign(tf.zeros([200, 300])).run()
        assert not W.get_value().any()
        sess.run(tf.global_variables_initializer())  # (draws afresh)
        again = W.get_value()
        assert again.any() and not np.array_equal(again, first)
        path = tf.train.Saver().save(sess, str(tmp_path / "model"))
        sess.run(tf.variables_initializer([W]))
        tf.train.Saver().restore(sess, path)
        np.testing.assert_array_equal(W.get_value(), again)
        with pytest.raises(ValueError, match="no checkpoint"):
            tf.train.Saver().restore(sess, str(tmp_path / "elsewhere"))
    x = tf.placeholder(tf.float32, [3])
    dx, db = tf.gradients(tf.reduce_sum(x * b[:3]) + tf.reduce_sum(x ** 2), [x, W])
    assert db is None
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(dx, {x: [1.0, 2.0, 3.0]}), [2.25, 4.25, 6.25])


def test_tf_layers_and_losses_build_a_trainable_convnet(digits, rng):
    """tf.layers (variables under their own scopes, reuse to call one again) and tf.losses
    (means of the per-example losses): a convnet with a dropout switched by a boolean
    placeholder learns the digits."""
    x_train, y_train, x_test, y_test = digits
    x, labels = tf.placeholder(tf.float32, [None, 64]), tf.placeholder(tf.int32, [None])
    training = tf.placeholder(tf.bool)
    images = tf.reshape(x, [-1, 8, 8, 1])
    h = tf.layers.conv2d(images, 8, 3, padding="same", activation=tf.nn.relu)
    h = tf.layers.max_pooling2d(h, 2, 2)
    h = tf.layers.dropout(tf.layers.flatten(h), rate=0.3, training=training)
    logits = tf.layers.dense(h, 10)
    assert [v.op.name for v in tf.trainable_variables()] == ["conv2d/kernel", "conv2d/bias", "dense/kernel",
                                                             "dense/bias"]
    again = tf.layers.dense(h, 10, name="dense", reuse=True)  # (the same variables)
    assert len(tf.trainable_variables()) == 4 and tf.layers.dense(h, 3).owner is not None
    assert tf.trainable_variables()[-1].name == "dense_1/bias:0"
    loss = tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    train = tf.train.AdamOptimizer(0.01).minimize(loss, var_list=tf.trainable_variables()[:4])
    accuracy = tf.reduce_mean(tf.to_float(tf.equal(tf.argmax(logits, 1, output_type=tf.int32), labels)))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(150):
            batch = rng.integers(0, len(x_train), 64)
            sess.run(train, {x: x_train[batch], labels: y_train[batch], training: True})
        test = {x: x_test, labels: y_test, training: False}
        assert sess.run(accuracy, test) > 0.85  # (0.93)
        np.testing.assert_array_equal(sess.run(logits, test), sess.run(again, test))
        # tf.losses against their definitions, weights counting the nonzero ones.
        p, t = tf.constant([[0.5, 2.0], [1.0, -1.0]]), tf.constant([[0.0, 1.0], [1.0, 1.0]])
        got = sess.run([tf.losses.mean_squared_error(t, p), tf.losses.absolute_difference(t, p),
                        tf.losses.huber_loss(t, p), tf.losses.mean_squared_error(t, p, weights=[[1.0], [0.0]]),
                        tf.losses.sigmoid_cross_entropy(t, p)])
        e = np.array([[0.5, 1.0], [0.0, 2.0]])
        want = [(e ** 2).mean(), e.mean(), np.where(e < 1, 0.5 * e ** 2, e - 0.5).mean(), (e[0] ** 2).mean(),
                (np.maximum([[0.5, 2], [1, -1]], 0) - np.array([[0.5, 2], [1, -1]]) * [[0, 1], [1, 1]]
                 + np.log1p(np.exp(-np.abs([[0.5, 2], [1, -1]])))).mean()]
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_batch_normalization_moves_its_averages_through_update_ops_under_control_dependencies(rng):
    """TensorFlow 1's batch normalization idiom: the moving averages' updates are in
    UPDATE_OPS, and the training step made under control_dependencies on them runs them; with
    the training placeholder False they stay and the moving statistics normalize."""
    x, training = tf.placeholder(tf.float64, [None, 3]), tf.placeholder(tf.bool)
    w = tf.Variable(np.ones(3), name="w")
    normalized = tf.layers.batch_normalization(x * w, momentum=0.9, training=training)
    loss = tf.reduce_mean(normalized ** 2 * tf.constant([1.0, 2.0, 3.0], dtype=tf.float64))
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    assert len(update_ops) == 1
    with tf.control_dependencies(update_ops):
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    plain = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    mm, mv = [v for v in tf.global_variables() if v.name.startswith("batch_normalization/moving")]
    batches = [rng.normal(size=(8, 3)) * [1, 2, 3] + [0, 1, -1] for _ in range(3)]
    want_mean, want_var = np.zeros(3), np.ones(3)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for batch in batches:
            scaled = batch * w.get_value()
            sess.run(train, {x: batch, training: True})
            want_mean = 0.9 * want_mean + 0.1 * scaled.mean(0)
            want_var = 0.9 * want_var + 0.1 * scaled.var(0)
        np.testing.assert_allclose(mm.get_value(), want_mean, rtol=1e-12)
        np.testing.assert_allclose(mv.get_value(), want_var, rtol=1e-12)
        sess.run(plain, {x: batches[0], training: True})  # (made outside the block: no update)
        sess.run(train, {x: batches[0], training: False})  # (not training: the averages stay)
        np.testing.assert_allclose(mm.get_value(), want_mean, rtol=1e-12)
        out = sess.run(normalized, {x: batches[0], training: False})
        scaled = batches[0] * w.get_value()
        gamma, beta = (v.get_value() for v in tf.trainable_variables() if v.name.startswith("batch_normalization/"))
        assert not np.allclose(gamma, 1)  # (trained)
        np.testing.assert_allclose(out, (scaled - want_mean) / np.sqrt(want_var + 1e-3) * gamma + beta, rtol=1e-10)
        batch_out = sess.run(normalized, {x: batches[0], training: True})
        np.testing.assert_allclose(batch_out, (scaled - scaled.mean(0)) / np.sqrt(scaled.var(0) + 1e-3) * gamma + beta,
                                   rtol=1e-10)


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def numpy_cells(kind, weights, n):
    """TensorFlow 1's cell steps, from its source's formulas, in NumPy."""
    def rnn(x, h):
        W, b = weights
        h = np.tanh(np.concatenate([x, h], 1) @ W + b)
        return h, h

    def lstm(x, state):
        (c, h), (W, b) = state, weights
        i, j, f, o = np.split(np.concatenate([x, h], 1) @ W + b, 4, axis=1)
        c = c * sigmoid(f + 1.0) + sigmoid(i) * np.tanh(j)
        h = np.tanh(c) * sigmoid(o)
        return h, (c, h)

    def gru(x, h):
        Wg, bg, Wc, bc = weights
        r, u = np.split(sigmoid(np.concatenate([x, h], 1) @ Wg + bg), 2, axis=1)
        candidate = np.tanh(np.concatenate([x, r * h], 1) @ Wc + bc)
        h = u * h + (1 - u) * candidate
        return h, h
    return {"rnn": rnn, "lstm": lstm, "gru": gru}[kind]


def numpy_dynamic_rnn(step, xs, state, lengths):
    outputs = []
    for t in range(xs.shape[1]):
        out, new = step(xs[:, t], state)
        alive = (t < lengths)[:, None]
        outputs.append(np.where(alive, out, 0))
        state = tuple(np.where(alive, a, b) for a, b in zip(new, state)) if isinstance(new, tuple) \
            else np.where(alive, new, state)
    return np.stack(outputs, 1), state


@pytest.mark.parametrize("kind, backend", [("rnn", "numpy"), ("lstm", "numpy"), ("gru", "numpy"), ("lstm", "numba"),
                                           pytest.param("rnn", "numba", marks=pytest.mark.slow),
                                           pytest.param("gru", "numba", marks=pytest.mark.slow)])
def test_dynamic_rnn_runs_tensorflows_cells_with_sequence_lengths(kind, backend, rng):
    n, batch, steps, features = 4, 3, 5, 2
    x, lengths = tf.placeholder(tf.float64, [None, steps, features]), tf.placeholder(tf.int32, [None])
    cell = {"rnn": tf.nn.rnn_cell.BasicRNNCell, "lstm": tf.nn.rnn_cell.BasicLSTMCell,
            "gru": tf.nn.rnn_cell.GRUCell}[kind](n)
    outputs, state = tf.nn.dynamic_rnn(cell, x, sequence_length=lengths, dtype=tf.float64)
    names = [v.op.name for v in tf.trainable_variables()]
    assert names == {"rnn": ["rnn/basic_rnn_cell/kernel", "rnn/basic_rnn_cell/bias"],
                     "lstm": ["rnn/basic_lstm_cell/kernel", "rnn/basic_lstm_cell/bias"],
                     "gru": ["rnn/gru_cell/gates/kernel", "rnn/gru_cell/gates/bias", "rnn/gru_cell/candidate/kernel",
                             "rnn/gru_cell/candidate/bias"]}[kind]
    for v in tf.trainable_variables():  # (biases away from their starts, to test their use)
        v.set_value(v.get_value() + rng.normal(size=v.get_value().shape) * 0.3)
    xv, lv = rng.normal(size=(batch, steps, features)), np.array([5, 2, 0], "int32")
    loss = tf.reduce_sum(outputs ** 2) + tf.reduce_sum(tf.nn.rnn_cell.LSTMStateTuple(*state).h if kind == "lstm"
                                                       else state)
    (dx,) = tf.gradients(loss, [x])
    with tf.Session(backend=backend) as sess:
        got_out, got_state, got_dx = sess.run([outputs, state, dx], {x: xv, lengths: lv})
    step = numpy_cells(kind, [v.get_value() for v in tf.trainable_variables()], n)
    zero = np.zeros((batch, n))
    want_out, want_state = numpy_dynamic_rnn(step, xv, (zero, zero) if kind == "lstm" else zero, lv)
    np.testing.assert_allclose(got_out, want_out, rtol=1e-12, atol=1e-14)
    assert not got_out[1, 2:].any() and not got_out[2].any()  # (zeros past each sequence's end)
    if kind == "lstm":
        assert isinstance(got_state, tf.nn.rnn_cell.LSTMStateTuple)
        np.testing.assert_allclose(got_state.c, want_state[0], rtol=1e-12)
        np.testing.assert_allclose(got_state.h, want_state[1], rtol=1e-12)
    else:
        np.testing.assert_allclose(got_state, want_state, rtol=1e-12)

    def numpy_loss(v):
        out, st = numpy_dynamic_rnn(step, v, (zero, zero) if kind == "lstm" else zero, lv)
        return (out ** 2).sum() + (st[1] if kind == "lstm" else st).sum()
    eps, numeric = 1e-6, np.zeros_like(xv)
    for index in np.ndindex(*xv.shape):
        moved = [xv.copy(), xv.copy()]
        moved[0][index] += eps
        moved[1][index] -= eps
        numeric[index] = (numpy_loss(moved[0]) - numpy_loss(moved[1])) / (2 * eps)
    np.testing.assert_allclose(got_dx, numeric, rtol=1e-6, atol=1e-8)


def test_stacked_cells_an_initial_state_and_embeddings_learn_a_sequence_task(rng):
    """MultiRNNCell of two LSTMs over embedded ids, an initial state fed as a tuple of
    placeholders: whether id 1 comes before id 2 in a sequence, learnt by Adam."""
    ids, labels = tf.placeholder(tf.int32, [None, 6]), tf.placeholder(tf.int32, [None])
    embeddings = tf.Variable(tf.random_uniform([5, 8], -1.0, 1.0))
    cell = tf.nn.rnn_cell.MultiRNNCell([tf.nn.rnn_cell.BasicLSTMCell(12), tf.nn.rnn_cell.BasicLSTMCell(12)])
    batch = tf.shape(ids)[0]
    start = cell.zero_state(batch, tf.float32)
    outputs, state = tf.nn.dynamic_rnn(cell, tf.nn.embedding_lookup(embeddings, ids), initial_state=start)
    assert [v.op.name for v in tf.trainable_variables()][1:3] == ["rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel",
                                                               "rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias"]
    logits = tf.layers.dense(state[1].h, 2)
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    train = tf.train.AdamOptimizer(0.02).minimize(loss)
    accuracy = tf.reduce_mean(tf.to_float(tf.equal(tf.argmax(logits, 1, output_type=tf.int32), labels)))

    def data(count):
        seqs = rng.integers(0, 5, (count, 6))
        for s in seqs:
            a, b = rng.choice(6, 2, replace=False)
            s[a], s[b] = 1, 2
        first_one = (seqs == 1).argmax(1)
        first_two = (seqs == 2).argmax(1)
        return seqs, (first_one < first_two).astype("int32")
    test_ids, test_labels = data(200)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(150):
            batch_ids, batch_labels = data(64)
            sess.run(train, {ids: batch_ids, labels: batch_labels})
        assert sess.run(accuracy, {ids: test_ids, labels: test_labels}) > 0.85


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_conv2d_transpose_is_the_adjoint_of_conv2d_and_the_layer_gives_tensorflows_sizes(padding, rng):
    """TensorFlow defines conv2d_transpose as conv2d's gradient with respect to its images:
    <conv2d(x, w), y> = <x, conv2d_transpose(y, w)> for every x and y, checked with the NumPy
    conv2d above; tf.layers.conv2d_transpose's output sizes as TensorFlow's (Keras's)."""
    wv = rng.normal(size=(3, 3, 2, 4))  # (height, width, conv2d's inputs = the transpose's outputs, its inputs)
    for size in (7, 8):
        xv = rng.normal(size=(2, size, size, 2))
        conv = conv_nhwc(xv, wv, 2, padding)
        yv = rng.normal(size=conv.shape)
        y, w = tf.placeholder(tf.float64, [None, None, None, 4]), tf.placeholder(tf.float64, [3, 3, 2, 4])
        batch = tf.shape(y)[0]
        back = tf.nn.conv2d_transpose(y, w, [batch, size, size, 2], strides=[1, 2, 2, 1], padding=padding)
        with tf.Session() as sess:
            got = sess.run(back, {y: yv, w: wv})
        assert got.shape == xv.shape
        np.testing.assert_allclose((conv * yv).sum(), (xv * got).sum(), rtol=1e-10)
    images = tf.placeholder(tf.float32, [None, 5, 6, 3])
    up = tf.layers.conv2d_transpose(images, 7, 3, strides=2, padding=padding.lower(), activation=tf.nn.relu)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        out = sess.run(up, {images: rng.normal(size=(2, 5, 6, 3))})
    want = (10, 12) if padding == "SAME" else (11, 13)  # (n * stride, + max(kernel - stride, 0) when VALID)
    assert out.shape == (2, *want, 7) and (out >= 0).all()
    assert [v.op.name for v in tf.trainable_variables()] == ["conv2d_transpose/kernel", "conv2d_transpose/bias"]
    assert tf.trainable_variables()[0].get_value().shape == (3, 3, 7, 3)


def test_bidirectional_rnn_reads_each_sequence_back_from_its_last_real_step(rng):
    x, lengths = tf.placeholder(tf.float64, [None, 4, 2]), tf.placeholder(tf.int32, [None])
    (forward, backward), (state_fw, state_bw) = tf.nn.bidirectional_dynamic_rnn(
        tf.nn.rnn_cell.GRUCell(3), tf.nn.rnn_cell.BasicRNNCell(3), x, sequence_length=lengths, dtype=tf.float64)
    names = [v.name for v in tf.trainable_variables()]
    assert names[0] == "bidirectional_rnn/fw/gru_cell/gates/kernel:0"
    assert names[-1] == "bidirectional_rnn/bw/basic_rnn_cell/bias:0"
    xv, lv = rng.normal(size=(3, 4, 2)), np.array([4, 3, 1], "int32")
    with tf.Session() as sess:
        got = sess.run([forward, backward, state_fw, state_bw], {x: xv, lengths: lv})
    weights = [v.get_value() for v in tf.trainable_variables()]
    zero = np.zeros((3, 3))
    want_fw, want_state_fw = numpy_dynamic_rnn(numpy_cells("gru", weights[:4], 3), xv, zero, lv)
    flipped = np.stack([np.concatenate([s[:n][::-1], s[n:]]) for s, n in zip(xv, lv)])
    back, want_state_bw = numpy_dynamic_rnn(numpy_cells("rnn", weights[4:], 3), flipped, zero, lv)
    want_bw = np.stack([np.concatenate([b[:n][::-1], b[n:]]) for b, n in zip(back, lv)])
    for g, w in zip(got, [want_fw, want_bw, want_state_fw, want_state_bw]):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


def test_graphs_of_their_own_and_the_latest_checkpoint(tmp_path):
    outer = tf.Variable(1.0, name="outer")
    graph = tf.Graph()
    with graph.as_default():
        assert tf.get_default_graph() is graph and tf.global_variables() == []
        inner = tf.Variable(2.0, name="inner")
        with tf.Session() as sess:
            assert sess.graph is graph
            sess.run(tf.global_variables_initializer())
    assert tf.global_variables() == [outer] and graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES) == [inner]
    with graph.as_default():
        assert tf.global_variables() == [inner]
    step = tf.train.get_or_create_global_step()
    saver = tf.train.Saver()
    with tf.Session() as sess:
        assert tf.train.latest_checkpoint(str(tmp_path)) is None
        for k in range(3):
            sess.run(step.assign_add(1))
            saver.save(sess, str(tmp_path / "model"), global_step=step)
        latest = tf.train.latest_checkpoint(str(tmp_path))
        assert latest == str(tmp_path / "model-3")
        sess.run(outer.assign(5.0))
        saver.restore(sess, latest)
        assert outer.get_value() == 1.0 and step.get_value() == 3


def test_array_and_math_functions_match_numpy(rng):
    xv = rng.normal(size=(3, 4))
    x = tf.placeholder(tf.float64, [3, 4])
    fetches = {
        "pad": tf.pad(x, [[1, 0], [2, 2]], mode="REFLECT"),
        "split": tf.split(x, [1, -1], axis=1),
        "split_even": tf.split(x, 2, axis=1),
        "slice": tf.slice(x, [1, 0], [-1, 2]),
        "mask": tf.boolean_mask(x, tf.greater(x, 0)),
        "norm": tf.norm(x, axis=1),
        "clip": tf.clip_by_norm(x, 1.0, axes=[1]),
        "count": tf.count_nonzero(tf.greater(x, 0), axis=0),
        "cumsum": tf.cumsum(x, axis=1, exclusive=True, reverse=True),
        "cumprod": tf.cumprod(x, axis=0, exclusive=True),
        "sort": tf.sort(x, direction="DESCENDING"),
        "einsum": tf.einsum("ij,kj->ik", x, x),
        "l2": tf.nn.l2_normalize(x, axis=1),
        "top": tf.nn.top_k(x, 2),
        "in_top": tf.nn.in_top_k(x, tf.constant([0, 1, 3]), 2),
        "linspace": tf.linspace(0.0, 1.0, 5),
        "math": tf.math.reduce_logsumexp(x, axis=1),
    }
    with tf.Session() as sess:
        got = sess.run(fetches, {x: xv})
    rows = np.linalg.norm(xv, axis=1, keepdims=True)
    want = {
        "pad": np.pad(xv, ((1, 0), (2, 2)), mode="reflect"), "split": [xv[:, :1], xv[:, 1:]],
        "split_even": [xv[:, :2], xv[:, 2:]], "slice": xv[1:, :2], "mask": xv[xv > 0], "norm": rows[:, 0],
        "clip": xv / np.maximum(rows, 1.0), "count": (xv > 0).sum(0),
        "cumsum": np.cumsum(xv[:, ::-1], axis=1)[:, ::-1] - xv,
        "cumprod": np.concatenate([np.ones((1, 4)), np.cumprod(xv, axis=0)[:-1]]),
        "sort": -np.sort(-xv, axis=-1), "einsum": xv @ xv.T, "l2": xv / rows,
        "top": (-np.sort(-xv, axis=1)[:, :2], np.argsort(-xv, axis=1)[:, :2]),
        "in_top": np.array([(xv[i] > xv[i, t]).sum() < 2 for i, t in enumerate([0, 1, 3])]),
        "linspace": np.linspace(0, 1, 5), "math": np.log(np.exp(xv).sum(1)),
    }
    for key, value in want.items():
        for g, w in zip(*(([got[key]], [value]) if not isinstance(value, (list, tuple)) else (got[key], value))):
            np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-12, err_msg=key)
    assert got["count"].dtype == np.int64 and got["top"][1].dtype == np.int32


def test_a_cell_unrolled_by_hand_makes_its_variables_once_and_matches_dynamic_rnn(rng):
    x = tf.placeholder(tf.float64, [None, 4, 3])
    cell = tf.nn.rnn_cell.BasicLSTMCell(5)
    state = cell.zero_state(tf.shape(x)[0], tf.float64)
    outputs = []
    with tf.variable_scope("unrolled"):
        for t in range(4):
            if t > 0:
                tf.get_variable_scope().reuse_variables()
            output, state = cell(x[:, t, :], state)
            outputs.append(output)
    assert [v.name for v in tf.trainable_variables()] == ["unrolled/basic_lstm_cell/kernel:0",
                                                          "unrolled/basic_lstm_cell/bias:0"]
    with tf.variable_scope("unrolled", reuse=True):
        assert tf.get_variable("basic_lstm_cell/kernel") is tf.trainable_variables()[0]
    whole, _ = tf.nn.dynamic_rnn(cell, x, dtype=tf.float64)  # (the same cell: its variables)
    assert len(tf.trainable_variables()) == 2
    xv = rng.normal(size=(2, 4, 3))
    with tf.Session() as sess:
        by_hand, together = sess.run([tf.stack(outputs, axis=1), whole], {x: xv})
    np.testing.assert_allclose(by_hand, together, rtol=1e-12)
    with pytest.raises(NotImplementedError, match="state_is_tuple=False"):
        tf.nn.rnn_cell.BasicLSTMCell(3, state_is_tuple=False)


def test_contrib_layers_initializers_and_regularization_losses(rng):
    """tf.contrib.layers' xavier_initializer, l2_regularizer and fully_connected: the penalty in
    REGULARIZATION_LOSSES, summed by tf.losses.get_regularization_loss; contrib.rnn's cells."""
    x = tf.placeholder(tf.float64, [None, 30])
    hidden = tf.contrib.layers.fully_connected(x, 40, weights_regularizer=tf.contrib.layers.l2_regularizer(0.1))
    out = tf.contrib.layers.fully_connected(hidden, 2, activation_fn=None)
    weights = [v for v in tf.trainable_variables() if v.op.name.endswith("weights")]
    assert [v.name for v in weights] == ["fully_connected/weights:0", "fully_connected_1/weights:0"]
    w = weights[0].get_value()
    assert np.abs(w).max() <= np.sqrt(6 / 70) and w.std() > 0.5 * np.sqrt(2 / 70)  # (Glorot's uniform)
    penalty = tf.losses.get_regularization_loss()
    assert len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)) == 1
    xv = rng.normal(size=(4, 30))
    with tf.Session() as sess:
        got_penalty, got_out = sess.run([penalty, out], {x: xv})
    np.testing.assert_allclose(got_penalty, 0.1 * (w ** 2).sum() / 2, rtol=1e-12)
    h = np.maximum(xv @ w, 0)  # (ReLU, contrib's default; the biases start at zero)
    np.testing.assert_allclose(got_out, h @ weights[1].get_value(), rtol=1e-10)
    assert tf.contrib.rnn.BasicLSTMCell is tf.nn.rnn_cell.BasicLSTMCell
