"""Keras-style models end to end: building, training to accuracy targets, inference modes,
freezing, saving/loading, callbacks, and Theano-style programs with the optimizers."""
import pathlib

import numpy as np
import pytest

import symgraph as sg

L = sg.layers


@pytest.fixture(scope="module")
def digits():
    return sg.datasets.load_digits()


def small_convnet():
    L.set_seed(0)
    return L.Sequential([L.Conv2D(8, 3, padding="same", activation="relu", input_shape=(1, 8, 8)),
                         L.MaxPool2D(2), L.Flatten(), L.Dense(32, activation="relu"),
                         L.Dense(10, activation="softmax")])


def test_dense_layer_computes_the_affine_map():
    layer = L.Dense(3, activation="relu", name="d")
    x = L.Input((4,))
    out = layer(x)
    assert out.type.shape == (None, 3) and layer.kernel.get_value().shape == (4, 3)
    xv = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    got = sg.function([x], out)(xv)
    np.testing.assert_allclose(got, np.maximum(xv @ layer.kernel.get_value() + layer.bias.get_value(), 0), rtol=1e-6)


def test_sequential_summary_shapes_and_counts():
    model = small_convnet()
    text = model.summary(print_fn=None)
    assert "(None, 8, 8, 8)" in text and "(None, 8, 4, 4)" in text and "(None, 128)" in text
    assert model.count_params() == (8 * 9 + 8) + (128 * 32 + 32) + (32 * 10 + 10)
    assert f"Total params: {model.count_params():,}" in text


@pytest.mark.slow  # (7-28 s cold; the quick tier ran 12 minutes cold: its parts stay tested there, CI runs both)
def test_keras_style_convnet_reaches_97_percent(digits):
    (xtr, ytr), (xte, yte) = digits
    from symgraph.demo import build_model
    model = build_model()
    model.compile(optimizer=sg.optimizers.Adam(lr=2e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(xtr, ytr, epochs=20, batch_size=16, validation_data=(xte, yte), verbose=0,
                        callbacks=[sg.callbacks.StepDecay(2e-3, gamma=0.5, step_size=8)])
    loss, acc = model.evaluate(xte, yte)
    assert acc >= 0.97, history.history["val_accuracy"]
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    probs = model.predict(xte[:7])
    assert probs.shape == (7, 10) and np.allclose(probs.sum(1), 1, atol=1e-5)


def test_functional_model_with_one_hot_targets_and_sgd(digits):
    (xtr, ytr), (xte, yte) = digits
    L.set_seed(1)
    inputs = L.Input((1, 8, 8))
    h = L.Flatten()(inputs)
    h = L.Dense(64, activation="tanh")(h)
    outputs = L.Dense(10, activation="softmax")(h)
    model = L.Model(inputs, outputs, name="mlp")
    model.compile(optimizer=sg.optimizers.SGD(lr=0.1, momentum=0.9, nesterov=True),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(xtr, np.eye(10, dtype="float32")[ytr], epochs=8, batch_size=32, verbose=0)
    assert model.evaluate(xte, np.eye(10, dtype="float32")[yte])[1] > 0.95


def test_dropout_and_batchnorm_differ_between_training_and_inference(digits):
    (xtr, ytr), _ = digits
    L.set_seed(2)
    model = L.Sequential([L.Input((1, 8, 8)), L.Conv2D(4, 3, padding="same"), L.BatchNormalization(),
                          L.Activation("relu"), L.Flatten(), L.Dropout(0.5), L.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    bn = model.layers[1]
    before = bn.moving_mean.get_value().copy()
    model.fit(xtr[:256], ytr[:256], epochs=1, batch_size=64, verbose=0)
    assert not np.allclose(bn.moving_mean.get_value(), before)  # running statistics were updated
    model.predict(xtr[:20])  # (a first call runs small softmax rows by NumPy: last bits differ)
    a, b = model.predict(xtr[:20]), model.predict(xtr[:20])
    np.testing.assert_array_equal(a, b)  # inference is deterministic: no dropout
    x = L.Input((1, 8, 8))
    train_out, context = model.trace(x, True)
    f = sg.function([x], train_out)
    assert not np.array_equal(f(xtr[:20]), f(xtr[:20]))  # training mode draws fresh masks
    assert len(context.updates) == 2


def test_freezing_saving_loading_and_feature_extraction(digits, tmp_path):
    (xtr, ytr), (xte, yte) = digits
    model = small_convnet()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(xtr, ytr, epochs=2, batch_size=32, verbose=0)
    path = model.save_weights(tmp_path / "w.npz")
    twin = small_convnet()
    twin.load_weights(path)
    np.testing.assert_array_equal(twin.predict(xte[:5]), model.predict(xte[:5]))
    conv = model.layers[0]
    conv.trainable = False
    frozen = conv.kernel.get_value().copy()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(xtr[:64], ytr[:64], epochs=1, verbose=0)
    np.testing.assert_array_equal(conv.kernel.get_value(), frozen)
    features = L.Model(model.input, model.layers[2].output)  # up to Flatten, Keras's idiom
    assert features.predict(xte[:3]).shape == (3, 128)


def test_load_weights_refuses_bad_files(tmp_path):
    model = small_convnet()
    np.savez(tmp_path / "bad.npz", **{"conv2d_x/kernel": np.zeros(3)})
    with pytest.raises(ValueError, match="missing"):
        model.load_weights(tmp_path / "bad.npz")
    good = {w.name: w.get_value() for w in model.weights}
    good[model.weights[0].name] = np.zeros((1, 1))
    np.savez(tmp_path / "shape.npz", **good)
    with pytest.raises(ValueError, match="shape"):
        model.load_weights(tmp_path / "shape.npz")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    import zipfile
    with zipfile.ZipFile(tmp_path / "pickled.npz", "w") as z:
        z.write(tmp_path / "obj.npy", model.weights[0].name + ".npy")
    with pytest.raises(ValueError):
        model.load_weights(tmp_path / "pickled.npz")


def test_callbacks_early_stopping_checkpoint_and_step_decay(digits, tmp_path):
    (xtr, ytr), (xte, yte) = digits
    model = small_convnet()
    opt = sg.optimizers.SGD(lr=0.5)
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    seen = []

    class Spy(sg.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append(round(opt.learning_rate, 6))
    stopper = sg.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)
    history = model.fit(xtr[:200], ytr[:200], epochs=10, batch_size=50, verbose=0,
                        validation_data=(xte[:50], yte[:50]),
                        callbacks=[sg.callbacks.StepDecay(0.5, gamma=0.1, step_size=1), Spy(), stopper,
                                   sg.callbacks.ModelCheckpoint(tmp_path / "ck-{epoch}.npz")])
    assert seen == [0.5, 0.05]  # decayed each epoch, then stopped: no improvement of 10
    assert len(history.epoch) == 2 and stopper.stopped_epoch == 1
    assert (tmp_path / "ck-1.npz").exists() and (tmp_path / "ck-2.npz").exists()


def test_theano_style_program_with_givens_and_optimizer_updates(digits):
    (xtr, ytr), (xte, yte) = digits
    data_x = sg.shared(xtr.reshape(len(xtr), -1), "data_x")
    data_y = sg.shared(ytr, "data_y")
    index, batch = sg.lscalar("index"), 50
    x, y = sg.matrix("x"), sg.ivector("y")
    W = sg.shared(np.zeros((64, 10), "float32"), "W")
    b = sg.shared(np.zeros(10, "float32"), "b")
    p_y = sg.nn.softmax(sg.dot(x, W) + b)
    cost = -sg.mean(sg.log(p_y)[sg.arange(y.shape[0]), y])
    opt = sg.optimizers.RMSprop(lr=0.01)
    train = sg.function([index], cost, updates=opt.updates(cost, [W, b]),
                        givens={x: data_x[index * batch:(index + 1) * batch],
                                y: data_y[index * batch:(index + 1) * batch]})
    for epoch in range(10):
        for i in range(len(xtr) // batch):
            train(i)
    predict = sg.function([x], sg.argmax(p_y, axis=1))
    assert (predict(xte.reshape(len(xte), -1)) == yte).mean() > 0.93


@pytest.mark.parametrize("name,lr,steps", [("sgd", 0.1, 300), ("adam", 0.1, 300), ("rmsprop", 0.05, 300),
                                           ("adagrad", 1.0, 300), ("adamax", 0.1, 300),
                                           ("adadelta", 1.0, 3000)])  # (its steps start at sqrt(epsilon))
def test_each_optimizer_minimizes_a_quadratic(name, lr, steps):
    w = sg.shared(np.array([3.0, -2.0], "float32"), "w")
    opt = sg.optimizers.get(name)
    opt.learning_rate = lr
    cost = ((w - 1.0) ** 2).sum()
    step = sg.function([], cost, updates=opt.updates(cost, [w]))
    first = float(step())
    for _ in range(steps):
        last = float(step())
    assert last < first * 0.01
    assert int(opt.iterations.get_value()) == steps + 1


def test_adadelta_and_adamax_steps_follow_their_formulas():
    gv = np.array([0.5, -2.0])
    w = sg.shared(np.array([1.0, 2.0]), "w")
    g = sg.constant(gv)
    cost = (w * g).sum()  # gradient gv every step
    for opt in (sg.optimizers.Adadelta(), sg.optimizers.Adamax(lr=0.01)):
        w.set_value(np.array([1.0, 2.0]))
        step = sg.function([], cost, updates=opt.updates(cost, [w]))
        want, a, d, m, u = np.array([1.0, 2.0]), 0.0, 0.0, 0.0, 0.0
        for t in range(1, 4):
            step()
            if isinstance(opt, sg.optimizers.Adadelta):
                a = 0.95 * a + 0.05 * gv * gv
                delta = gv * np.sqrt(d + 1e-7) / np.sqrt(a + 1e-7)
                d = 0.95 * d + 0.05 * delta * delta
                want = want - 1.0 * delta
            else:
                m, u = 0.9 * m + 0.1 * gv, np.maximum(0.999 * u, np.abs(gv))
                want = want - 0.01 / (1 - 0.9 ** t) * m / (u + 1e-7)
            np.testing.assert_allclose(w.get_value(), want, rtol=1e-6)


def test_weight_decay_and_momentum_math():
    w = sg.shared(np.array([1.0], "float64"), "w")
    opt = sg.optimizers.SGD(lr=0.1, momentum=0.5, weight_decay=0.2)
    step = sg.function([], [], updates=opt.updates((w * 3).sum(), [w]))
    step()
    # g = 3 + 0.2*1 = 3.2; v = -0.32; w = 0.68
    np.testing.assert_allclose(w.get_value(), [0.68], rtol=1e-6)
    step()
    # g = 3 + 0.136 = 3.136; v = 0.5*-0.32 - 0.3136 = -0.4736; w = 0.2064
    np.testing.assert_allclose(w.get_value(), [0.2064], rtol=1e-5)


def test_losses_and_metrics_by_name():
    y_true = sg.ivector("t")
    y_pred = sg.matrix("p")
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]], "float32")
    labels = np.array([0, 1], "int32")
    f = sg.function([y_true, y_pred], [sg.losses.get("sparse_categorical_crossentropy")(y_true, y_pred),
                                       sg.metrics.get("accuracy")(y_true, y_pred),
                                       sg.metrics.top_k_categorical_accuracy(y_true, y_pred, k=2)])
    loss, acc, top2 = f(labels, probs)
    np.testing.assert_allclose(loss, -np.log([0.7, 0.3]), rtol=1e-6)
    assert acc.tolist() == [1, 0] and top2.tolist() == [1, 1]
    a, b = sg.matrix("a"), sg.matrix("b")
    av, bv = np.ones((2, 3), "float32"), np.zeros((2, 3), "float32")
    mse, mae = sg.function([a, b], [sg.losses.mse(a, b), sg.losses.mae(a, b)])(av, bv)
    assert mse.tolist() == [1, 1] and mae.tolist() == [1, 1]
    with pytest.raises(ValueError, match="unknown loss"):
        sg.losses.get("nope")


def test_plot_model(tmp_path):
    model = small_convnet()
    path = model.plot(tmp_path / "model.svg")
    text = pathlib.Path(path).read_text()
    assert "Conv2D" in text and "(None, 10)" in text and "params" in text
    sg.layers.plot_model(model, tmp_path / "m.png")
    assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG"


def test_optimizers_take_keras_learning_rate_keyword():
    for cls in (sg.optimizers.SGD, sg.optimizers.Adam, sg.optimizers.RMSprop, sg.optimizers.Adagrad):
        assert abs(cls(learning_rate=0.25).learning_rate - 0.25) < 1e-7
    assert abs(sg.optimizers.Adam(lr=0.5).learning_rate - 0.5) < 1e-7


def test_train_test_and_predict_on_batch_as_in_keras(digits):
    """Keras's per-batch idioms: train_on_batch takes one step with fit's function and returns
    the loss (and metrics) before it; test_on_batch and predict_on_batch change nothing."""
    (xtr, ytr), _ = digits
    model = small_convnet()
    model.compile(optimizer=sg.optimizers.Adam(lr=0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x, y = xtr[:64], ytr[:64]
    before = [w.copy() for w in model.get_weights()]
    loss, acc = model.test_on_batch(x, y)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    first = model.train_on_batch(x, y)
    assert isinstance(first, list) and first[0] == pytest.approx(loss, rel=1e-5) and 0 <= first[1] <= 1
    assert not all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    losses = [model.train_on_batch(x, y)[0] for _ in range(30)]
    assert losses[-1] < 0.5 * first[0]
    # one training and one evaluation function for these targets, reused by every call
    assert list(model.compiled.train_fns) == [(np.dtype(y.dtype), 1, False)] and len(model.compiled.eval_fns) == 1
    probs = model.predict_on_batch(x)
    np.testing.assert_allclose(probs, model.predict(x), rtol=1e-5, atol=1e-7)  # (a first call's softmax: NumPy's)
    assert probs.shape == (64, 10)
    plain = small_convnet()
    plain.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert isinstance(plain.train_on_batch(x, y), float)  # no metrics: the loss alone
    with pytest.raises(ValueError, match="63 targets"):
        plain.train_on_batch(x, y[:63])
    for first_call in ("predict_on_batch", "train_on_batch", "test_on_batch"):  # models built on first use
        unbuilt = sg.layers.Sequential([sg.layers.Flatten(), sg.layers.Dense(10, activation="softmax")])
        unbuilt.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        args = (x,) if first_call == "predict_on_batch" else (x, y)
        out = getattr(unbuilt, first_call)(*args)
        assert np.shape(out) == ((64, 10) if first_call == "predict_on_batch" else ())


def test_a_callback_sees_every_batch_with_the_running_means(digits):
    """Keras's on_batch_end(batch, logs): called once a batch, logs holding the means so far,
    the last of an epoch equal to the epoch's logs (History). Callbacks that do not override it
    cost nothing per batch."""
    (xtr, ytr), _ = digits
    seen = []

    class Record(sg.callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append((batch, dict(logs)))
    model = sg.layers.Sequential([sg.layers.Flatten(), sg.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(xtr[:100], ytr[:100], epochs=2, batch_size=32, verbose=0, callbacks=[Record()])
    assert [b for b, _ in seen] == [0, 1, 2, 3] * 2
    assert set(seen[0][1]) == {"loss", "accuracy"}
    for epoch, (_, last) in enumerate([seen[3], seen[7]]):
        assert last["loss"] == pytest.approx(history.history["loss"][epoch], rel=1e-12)
        assert last["accuracy"] == pytest.approx(history.history["accuracy"][epoch], rel=1e-12)


def test_float_targets_are_cast_to_floatx_as_in_keras(rng):
    """NumPy's float64 regression targets train a float32 model (Keras casts them; they had
    raised a TypeError), through fit, train_on_batch, test_on_batch and evaluate; float targets
    of any precision share one compiled function (keyed by the targets' dtype and ndim)."""
    model = sg.layers.Sequential([sg.layers.Input((4,)), sg.layers.Dense(3)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = rng.normal(size=(8, 4)).astype("float32"), rng.normal(size=(8, 3))
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0, validation_data=(x, y))
    assert set(history.history) >= {"loss", "val_loss"}
    losses = [model.train_on_batch(x, y.astype(dtype)) for dtype in ("float64", "float32", "float64")]
    assert all(isinstance(v, float) for v in losses) and losses[2] < losses[0]
    assert model.test_on_batch(x, y) == pytest.approx(model.evaluate(x, y), rel=1e-6)
    assert list(model.compiled.train_fns) == [(np.dtype(sg.config.floatX), 2, False)]


@pytest.mark.slow  # (a model trained end to end, 15-50 s cold: the quick tier was over 10 minutes; its layers stay tested there)
def test_a_convolutional_autoencoder_with_upsampling_learns_to_reconstruct_digits(digits):
    """UpSampling2D repeats each pixel along rows and columns (np.repeat twice, sizes per axis),
    and a Conv2D-MaxPool2D-Conv2D-UpSampling2D-Conv2D autoencoder trained with MSE on the
    digits cuts its reconstruction error five times over."""
    x = sg.tensor("x", "float32", ndim=4)
    up = L.UpSampling2D((2, 3))
    values = np.arange(2 * 3 * 4 * 5, dtype="float32").reshape(2, 3, 4, 5)
    np.testing.assert_array_equal(sg.function([x], up.trace(x, L.base.TraceContext(False)))(values),
                                  np.repeat(np.repeat(values, 2, axis=2), 3, axis=3))
    assert up.compute_output_shape((None, 3, 4, 5)) == (None, 3, 8, 15)
    with pytest.raises(ValueError, match="nearest"):
        L.UpSampling2D(2, interpolation="bilinear")
    (x_train, _), (x_test, _) = digits
    L.set_seed(0)
    model = L.Sequential([L.Conv2D(8, 3, padding="same", activation="relu", input_shape=(1, 8, 8)),
                          L.MaxPool2D(2), L.Conv2D(8, 3, padding="same", activation="relu"),
                          L.UpSampling2D(2), L.Conv2D(1, 3, padding="same", activation="sigmoid")])
    model.compile(optimizer=sg.optimizers.Adam(lr=3e-3), loss="mse")
    assert model.output_shape == (None, 1, 8, 8)
    before = model.evaluate(x_test, x_test, verbose=0)
    model.fit(x_train, x_train, epochs=8, batch_size=32, verbose=0)
    after = model.evaluate(x_test, x_test, verbose=0)
    assert after < 0.2 * before, (before, after)  # (0.176 -> 0.014 measured)


def transposed_conv_reference(x, kernel, stride, crop, extra):
    """Each input pixel's kernel-sized stamp added at stride steps (the transpose of a
    convolution, written as that), then `crop` ((top, bottom), (left, right)) cut off the full
    output and `extra` rows and columns of it kept at the end."""
    n, c, h, w = x.shape
    _, o, kh, kw = kernel.shape
    full = np.zeros((n, o, (h - 1) * stride[0] + kh + extra[0], (w - 1) * stride[1] + kw + extra[1]))
    for i in range(h):
        for j in range(w):
            stamp = np.einsum("nc,coab->noab", x[:, :, i, j], kernel)
            full[:, :, i * stride[0]:i * stride[0] + kh, j * stride[1]:j * stride[1] + kw] += stamp
    (top, bottom), (left, right) = crop
    return full[:, :, top:full.shape[2] - bottom, left:full.shape[3] - right]


@pytest.mark.parametrize("kernel, strides, padding, crop, extra", [
    (3, 2, "valid", ((0, 0), (0, 0)), (0, 0)),
    (3, 2, "same", ((0, 1), (0, 1)), (0, 0)),      # 5 -> 10: (k - s) = 1 cropped, the larger half last
    ((4, 3), (2, 1), "same", ((1, 1), (1, 1)), (0, 0)),
    (2, 3, "same", ((0, 0), (0, 0)), (1, 1)),      # a kernel shorter than its stride: made up at the end
])
def test_conv2d_transpose_layer_stamps_kernels_as_keras_shapes_it(kernel, strides, padding, crop, extra, rng):
    layer = L.Conv2DTranspose(4, kernel, strides=strides, padding=padding, activation="relu", dtype="float64")
    x = L.Input((3, 5, 6), dtype="float64")
    out = layer(x)
    stride = (strides, strides) if isinstance(strides, int) else strides
    if padding == "same":
        assert out.type.shape == (None, 4, 5 * stride[0], 6 * stride[1])
    xv = rng.normal(size=(2, 3, 5, 6))
    k = layer.kernel.get_value()
    assert k.shape[:2] == (3, 4)
    layer.bias.set_value(rng.normal(size=4))
    want = transposed_conv_reference(xv, k, stride, crop, extra) + layer.bias.get_value()[None, :, None, None]
    np.testing.assert_allclose(sg.function([x], out)(xv), np.maximum(want, 0), rtol=1e-10, atol=1e-10)
    with pytest.raises(ValueError, match="'valid' or 'same'"):
        L.Conv2DTranspose(4, 3, padding="full")


def test_global_pooling_zero_padding_and_leaky_relu_layers(rng):
    x = L.Input((3, 5, 4), dtype="float64")
    xv = rng.normal(size=(2, 3, 5, 4))
    layers = [L.GlobalAveragePooling2D(), L.GlobalMaxPooling2D(keepdims=True), L.ZeroPadding2D(((1, 2), (0, 3))),
              L.ZeroPadding2D(1), L.LeakyReLU(0.1), L.LeakyReLU(negative_slope=0.2)]
    got = sg.function([x], [layer(x) for layer in layers])(xv)
    want = [xv.mean(axis=(2, 3)), xv.max(axis=(2, 3), keepdims=True), np.pad(xv, ((0, 0), (0, 0), (1, 2), (0, 3))),
            np.pad(xv, ((0, 0), (0, 0), (1, 1), (1, 1))), np.where(xv > 0, xv, 0.1 * xv), np.where(xv > 0, xv, 0.2 * xv)]
    for layer, g, w in zip(layers, got, want):
        assert layer.output_shape == (None,) + w.shape[1:]
        np.testing.assert_allclose(g, w, rtol=1e-12)
    weights = rng.normal(size=(2, 3, 8, 7))
    sg.verify_grad(lambda v: L.ZeroPadding2D(((1, 2), (0, 3))).trace(v, L.base.TraceContext(False)) * weights,
                   [xv], rng=rng)
    with pytest.raises(ValueError, match="non-negative"):
        L.ZeroPadding2D(-1)


def test_gaussian_noise_corrupts_only_while_training():
    layer = L.GaussianNoise(0.5, seed=3)
    x = sg.tensor("x", "float32", ndim=2)
    xv = np.ones((200, 100), "float32")
    training = sg.function([x], layer.trace(x, L.base.TraceContext(True)))
    noisy, again = training(xv), training(xv)
    assert abs(float((noisy - xv).std()) - 0.5) < 0.02 and abs(float((noisy - xv).mean())) < 0.02
    assert not np.array_equal(noisy, again)  # fresh noise every call
    np.testing.assert_array_equal(sg.function([x], layer.trace(x, L.base.TraceContext(False)))(xv), xv)


@pytest.mark.slow  # (7-28 s cold; the quick tier ran 12 minutes cold: its parts stay tested there, CI runs both)
def test_a_denoising_autoencoder_with_transposed_convolutions_and_a_pooled_classifier(digits):
    """The new layers in the models they serve: a denoising autoencoder whose decoder is
    Conv2DTranspose (GaussianNoise corrupting its inputs, LeakyReLU between) cuts its error
    several times, and a convnet ending in GlobalAveragePooling2D classifies the digits."""
    (x_train, y_train), (x_test, y_test) = digits
    L.set_seed(0)
    autoencoder = L.Sequential([L.GaussianNoise(0.1, input_shape=(1, 8, 8)), L.ZeroPadding2D(0),
                                L.Conv2D(8, 3, strides=2, padding="same"), L.LeakyReLU(0.1),
                                L.Conv2DTranspose(8, 3, strides=2, padding="same"), L.LeakyReLU(0.1),
                                L.Conv2D(1, 3, padding="same", activation="sigmoid")])
    autoencoder.compile(optimizer=sg.optimizers.Adam(lr=3e-3), loss="mse")
    assert autoencoder.output_shape == (None, 1, 8, 8)
    before = autoencoder.evaluate(x_test, x_test)
    autoencoder.fit(x_train, x_train, epochs=8, batch_size=32, verbose=0)
    assert autoencoder.evaluate(x_test, x_test) < 0.1 * before  # (0.016-0.017 of it over three seeds)
    classifier = L.Sequential([L.Conv2D(16, 3, padding="same", activation="relu", input_shape=(1, 8, 8)),
                               L.Conv2D(32, 3, padding="same", activation="relu"), L.GlobalAveragePooling2D(),
                               L.Dense(10, activation="softmax")])
    classifier.compile(optimizer=sg.optimizers.Adam(lr=1e-2), loss="sparse_categorical_crossentropy",
                       metrics=["accuracy"])
    classifier.fit(x_train, y_train, epochs=10, batch_size=32, verbose=0)
    assert classifier.evaluate(x_test, y_test)[1] > 0.75  # (0.87-0.91 over three seeds)


def test_merge_layers_compute_keras_merges(rng):
    a, b, c = L.Input((3, 4), dtype="float64"), L.Input((3, 4), dtype="float64"), L.Input((2, 4), dtype="float64")
    av, bv, cv = rng.normal(size=(5, 3, 4)), rng.normal(size=(5, 3, 4)), rng.normal(size=(5, 2, 4))
    outs = [L.Add()([a, b, a]), L.Subtract()([a, b]), L.Multiply()([a, b]), L.Average()([a, b]),
            L.Maximum()([a, b]), L.Minimum()([a, b]), L.Concatenate(axis=1)([a, c]), L.concatenate([a, b]),
            L.add([a, b])]
    want = [2 * av + bv, av - bv, av * bv, (av + bv) / 2, np.maximum(av, bv), np.minimum(av, bv),
            np.concatenate([av, cv], axis=1), np.concatenate([av, bv], axis=-1), av + bv]
    for got, w in zip(sg.function([a, b, c], outs)(av, bv, cv), want):
        np.testing.assert_allclose(got, w, rtol=1e-12)
    with pytest.raises(ValueError, match="differ along axis 1"):
        L.Add()([a, c])
    with pytest.raises(TypeError, match="list of symbolic variables"):
        L.Add()(a)
    with pytest.raises(ValueError, match="at least 2"):
        L.Add()([a])
    with pytest.raises(ValueError, match="exactly two"):
        L.Subtract()([a, b, a])


@pytest.mark.slow  # (a model trained end to end, 15-50 s cold: the quick tier was over 10 minutes; its layers stay tested there)
def test_a_functional_model_with_skip_connections_trains_and_replays(digits, tmp_path):
    """Merge layers make the recorded calls a graph: each call is replayed after the calls that
    feed it (in training and inference modes), the picture draws each branch's edge, and a
    residual convnet with a concatenated skip learns the digits."""
    (xtr, ytr), (xte, yte) = digits
    inputs = L.Input((1, 8, 8))
    dense = L.Dense(3)
    h = dense(L.Flatten()(inputs))
    dropped = L.Dropout(0.5)(h)  # an identity when not training: still a call of its own
    assert dropped is not h and h.layer_history[0] is dense
    assert [type(layer).__name__ for layer, _, _ in L.Model(inputs, dropped).calls] == ["Flatten", "Dense", "Dropout"]
    L.set_seed(4)
    stem = L.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    branch = L.Conv2D(8, 3, padding="same")(L.Dropout(0.1)(stem))
    joined = L.Activation("relu")(L.Add()([stem, branch]))
    both = L.Concatenate(axis=1)([joined, L.Conv2D(4, 1)(inputs)])
    outputs = L.Dense(10, activation="softmax")(L.Flatten()(both))
    model = L.Model(inputs, outputs)
    kinds = [type(layer).__name__ for layer, _, _ in model.calls]
    assert len(kinds) == 9 and kinds.index("Add") > kinds.index("Dropout") and kinds[-1] == "Dense"
    assert kinds.index("Concatenate") > max(i for i, k in enumerate(kinds) if k == "Conv2D")
    model.compile(optimizer=sg.optimizers.Adam(lr=1e-2), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(xtr, ytr, epochs=8, batch_size=32, verbose=0)
    assert model.evaluate(xte, yte)[1] > 0.93  # (0.97-0.98 over three seeds)
    x = L.Input((1, 8, 8))
    replayed = sg.function([x], model.trace(x, False)[0])(xte[:4])
    np.testing.assert_allclose(replayed, model.predict(xte[:4]), rtol=1e-5)
    dot = L.model_to_dot(model).source
    assert dot.count("->") == 11  # one edge per input of each of the 9 calls (two into each merge)
    assert "Param" in model.summary(print_fn=None)
    with pytest.raises(TypeError, match="list of symbolic variables"):
        L.Sequential([L.Input((4,)), L.Dense(4), L.Add()])


def test_transfer_learning_with_a_frozen_base_model_as_a_layer(digits):
    """Keras's transfer-learning idiom: a trained base called as a layer under a new head,
    frozen by base.trainable = False (its weights stay; its batch statistics too when called
    with training=False), then thawed for fine-tuning (they move)."""
    (xtr, ytr), (xte, yte) = digits
    L.set_seed(5)
    base = L.Sequential([L.Conv2D(8, 3, padding="same", activation="relu", input_shape=(1, 8, 8)),
                         L.BatchNormalization(), L.MaxPool2D(2), L.Flatten(), L.Dense(32, activation="relu")])
    pretrain = L.Model(base.input, L.Dense(10, activation="softmax")(base.output))
    pretrain.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    pretrain.fit(xtr[ytr < 5], ytr[ytr < 5], epochs=3, batch_size=32, verbose=0)  # (on half the classes)
    base.trainable = False
    assert all(not layer.trainable for layer in base.layers) and base.trainable_weights == []
    inputs = L.Input((1, 8, 8))
    features = base(inputs, training=False)
    model = L.Model(inputs, L.Dense(10, activation="softmax")(features))
    assert [type(layer).__name__ for layer in model.layers] == ["NestedModel", "Dense"]
    assert len(model.trainable_weights) == 2 and len(model.weights) == 2 + len(base.weights)
    model.compile(optimizer=sg.optimizers.Adam(lr=1e-2), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    frozen = [w.get_value().copy() for w in base.weights]
    model.fit(xtr, ytr, epochs=4, batch_size=32, verbose=0)
    for w, before in zip(base.weights, frozen):
        np.testing.assert_array_equal(w.get_value(), before)  # kernels and moving statistics alike
    assert model.evaluate(xte, yte)[1] > 0.65  # (0.76-0.82 over three seeds: features learnt on half the classes)
    head = model.layers[1]
    logits = base.predict(xte[:3]) @ head.kernel.get_value() + head.bias.get_value()
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(model.predict(xte[:3]), e / e.sum(axis=1, keepdims=True), rtol=1e-4, atol=1e-6)
    base.trainable = True  # fine-tuning: the base moves, its batch statistics still not (training=False)
    model.compile(optimizer=sg.optimizers.Adam(lr=1e-3), loss="sparse_categorical_crossentropy")
    model.fit(xtr[:64], ytr[:64], epochs=1, batch_size=32, verbose=0)
    kernel, moving_mean = base.layers[0].kernel.get_value(), base.layers[1].moving_mean.get_value()
    assert not np.array_equal(kernel, frozen[0]) and np.array_equal(moving_mean, frozen[4])
    inner = L.Input((1, 8, 8))
    model_bn = L.Model(inner, L.Dense(10, activation="softmax")(base(inner)))  # training=None: the outer mode's
    model_bn.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model_bn.fit(xtr[:64], ytr[:64], epochs=1, batch_size=32, verbose=0)
    assert not np.array_equal(base.layers[1].moving_mean.get_value(), frozen[4])


def test_activations_by_keras_names(rng):
    x = sg.dvector("x")
    xv = np.concatenate([rng.normal(size=20) * 4, [0.0, -1e-3, 7.0]])
    e = np.where(xv > 0, xv, np.expm1(np.minimum(xv, 0)) * 1.6732632423543772) * 1.0507009873554805
    want = {"swish": xv / (1 + np.exp(-xv)), "silu": xv / (1 + np.exp(-xv)), "selu": e,
            "softsign": xv / (np.abs(xv) + 1), "relu6": np.clip(xv, 0, 6), "leaky_relu": np.where(xv > 0, xv, 0.2 * xv),
            "exponential": np.exp(xv)}
    got = sg.function([x], [sg.activations.get(name)(x) for name in want])(xv)
    for (name, w), g in zip(want.items(), got):
        np.testing.assert_allclose(g, w, rtol=1e-12, err_msg=name)
    layer = L.Dense(3, activation="swish")
    assert L.base.shape_text(layer(L.Input((4,))).type.shape) == "(None, 3)"
    assert layer.get_config()["activation"] == "swish"
    # get_config is the constructor's arguments by name (positional ones too), as Keras's
    conv = L.Conv2D(4, (3, 3), 2, padding="same", activation="relu", name="c", trainable=False)
    assert conv.get_config() == {"filters": 4, "kernel_size": (3, 3), "strides": 2, "padding": "same",
                                 "activation": "relu", "data_format": "channels_first", "name": "c",
                                 "trainable": False}
    assert L.LeakyReLU(negative_slope=0.1).get_config()["negative_slope"] == 0.1


def test_pad_sequences_as_keras_preprocessing():
    seqs = [[1, 2, 3], [4], [], [5, 6, 7, 8, 9]]
    np.testing.assert_array_equal(sg.utils.pad_sequences(seqs),
                                  [[0, 0, 1, 2, 3], [0, 0, 0, 0, 4], [0, 0, 0, 0, 0], [5, 6, 7, 8, 9]])
    post = sg.utils.pad_sequences(seqs, maxlen=3, padding="post", truncating="post", value=-1)
    np.testing.assert_array_equal(post, [[1, 2, 3], [4, -1, -1], [-1, -1, -1], [5, 6, 7]])
    pre = sg.utils.pad_sequences(seqs, maxlen=2)
    assert pre.dtype == np.int32 and pre.tolist() == [[2, 3], [0, 4], [0, 0], [8, 9]]
    assert sg.utils.pad_sequences([[1.5]], dtype="float32").dtype == np.float32
    with pytest.raises(ValueError, match="'pre' or 'post'"):
        sg.utils.pad_sequences(seqs, padding="middle")


def test_to_categorical_as_keras_utils():
    np.testing.assert_array_equal(sg.utils.to_categorical([0, 2, 1]), np.eye(3, dtype=sg.config.floatX)[[0, 2, 1]])
    hot = sg.utils.to_categorical(np.array([[1], [3]]), num_classes=5, dtype="int32")
    assert hot.shape == (2, 5) and hot.dtype == np.int32 and hot[1, 3] == 1 and hot.sum() == 2
    assert sg.utils.to_categorical(np.array([1.0, 0.0])).tolist() == [[0, 1], [1, 0]]
    with pytest.raises(ValueError, match="out of range for 3 classes"):
        sg.utils.to_categorical([0, 3], 3)
    with pytest.raises(ValueError, match="whole numbers"):
        sg.utils.to_categorical([0.5])
    with pytest.raises(ValueError, match="negative"):
        sg.utils.to_categorical([-1, 2])


def test_a_whole_model_saved_and_loaded_predicts_and_trains_on(digits, tmp_path):
    """model.save / sg.layers.load_model: a Sequential convnet and a functional model with a
    skip connection and a frozen model inside come back with their layers, wiring, names,
    trainable flags, weights and compile settings, predicting the same and training on."""
    (xtr, ytr), (xte, yte) = digits
    L.set_seed(6)
    convnet = L.Sequential([L.Conv2D(8, (3, 3), padding="same", activation="relu", input_shape=(1, 8, 8)),
                            L.BatchNormalization(), L.MaxPool2D(2), L.Dropout(0.25), L.Flatten(),
                            L.Dense(16, activation=sg.activations.get("swish")), L.Dense(10, activation="softmax")])
    convnet.compile(optimizer=sg.optimizers.SGD(lr=0.05, momentum=0.9), loss="sparse_categorical_crossentropy",
                    metrics=["accuracy"])
    convnet.fit(xtr, ytr, epochs=2, batch_size=32, verbose=0)
    convnet.optimizer.learning_rate = 0.02  # (a schedule's change: saved as it is now)
    twin = L.load_model(convnet.save(tmp_path / "convnet.keras"))
    assert [layer.name for layer in twin.layers] == [layer.name for layer in convnet.layers]
    np.testing.assert_array_equal(twin.predict(xte[:50]), convnet.predict(xte[:50]))
    assert type(twin.optimizer).__name__ == "SGD" and twin.optimizer.momentum == 0.9
    assert abs(twin.optimizer.learning_rate - 0.02) < 1e-9
    np.testing.assert_allclose(twin.evaluate(xte, yte), convnet.evaluate(xte, yte), rtol=1e-5)
    twin.fit(xtr[:64], ytr[:64], epochs=1, batch_size=32, verbose=0)  # compiled: trains on

    convnet.trainable = False
    inputs = L.Input((1, 8, 8))
    features = convnet(inputs, training=False)
    side = L.Dense(10)(L.LeakyReLU(0.1)(L.Flatten()(L.Conv2DTranspose(2, 2, strides=2, padding="same")(inputs))))
    outputs = L.Activation("softmax")(L.Add()([features, side]))
    model = L.Model(inputs, outputs, name="skipper")
    path = model.save(tmp_path / "skipper.npz")
    loaded = L.load_model(path, compile=False)
    assert loaded.name == "skipper" and loaded.compiled is None
    assert [(type(layer).__name__, layer.name) for layer in loaded.layers] == \
        [(type(layer).__name__, layer.name) for layer in model.layers]
    assert len(loaded.trainable_weights) == len(model.trainable_weights)  # the inner model still frozen
    np.testing.assert_allclose(loaded.predict(xte[:20]), model.predict(xte[:20]), rtol=1e-6)
    assert loaded.layers[0].training is False and not loaded.layers[0].model.trainable

    def custom_loss(y, p):
        return sg.losses.sparse_categorical_crossentropy(y, p)
    convnet.compile(optimizer="adam", loss=custom_loss)
    with pytest.warns(UserWarning, match="without its compile settings"):
        assert L.load_model(convnet.save(tmp_path / "custom.npz")).compiled is None
    odd = L.Sequential([L.Dense(2, activation=lambda v: v * 2, input_shape=(3,))])
    with pytest.raises(ValueError, match="cannot save layer dense_.*named activation"):
        odd.save(tmp_path / "odd.npz")
    convnet.save_weights(tmp_path / "weights.npz")
    with pytest.raises(ValueError, match="holds no saved model"):
        L.load_model(tmp_path / "weights.npz")


def keras_lstm(x, kernel, recurrent, bias, units):
    """Keras's LSTM step by step in NumPy (gates i, f, c, o; sigmoid gates, tanh)."""
    h = c = np.zeros((x.shape[0], units))
    hs = []
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent + bias
        i, f, o = (1 / (1 + np.exp(-z[:, k * units:(k + 1) * units])) for k in (0, 1, 3))
        c = f * c + i * np.tanh(z[:, 2 * units:3 * units])
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs, axis=1)


def test_simple_rnn_and_lstm_layers_compute_keras_recurrences(rng):
    x = L.Input((5, 3), dtype="float64")
    xv = rng.normal(size=(4, 5, 3))
    rnn, lstm = L.SimpleRNN(6, return_sequences=True, dtype="float64"), L.LSTM(2, dtype="float64")
    backwards = L.LSTM(2, go_backwards=True, return_sequences=True, dtype="float64")
    assert (rnn.name.startswith("simple_rnn_"), lstm.name.startswith("lstm_")) == (True, True)
    got_rnn, got_lstm, got_back = sg.function([x], [rnn(x), lstm(x), backwards(x)])(xv)
    kernel, recurrent, bias = rnn.get_weights()
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(6), atol=1e-12)  # (orthogonal)
    h, want = np.zeros((4, 6)), []
    for t in range(5):
        h = np.tanh(xv[:, t] @ kernel + h @ recurrent + bias)
        want.append(h)
    np.testing.assert_allclose(got_rnn, np.stack(want, axis=1), rtol=1e-12)
    k, r, b = lstm.get_weights()
    assert b.tolist() == [0, 0, 1, 1, 0, 0, 0, 0]  # (unit_forget_bias)
    np.testing.assert_allclose(got_lstm, keras_lstm(xv, k, r, b, 2)[:, -1], rtol=1e-12)
    np.testing.assert_allclose(got_back, keras_lstm(xv[:, ::-1], *backwards.get_weights(), 2), rtol=1e-12)
    sg.verify_grad(lambda v: (lstm.trace(v, L.base.TraceContext(False)) ** 2).sum(), [xv], rng=rng)
    with pytest.raises(ValueError, match=r"takes \(batch, time, features\)"):
        L.LSTM(2)(L.Input((5,)))


@pytest.mark.slow  # (7-28 s cold; the quick tier ran 12 minutes cold: its parts stay tested there, CI runs both)
@pytest.mark.parametrize("layer", ["LSTM", "GRU"])
def test_a_recurrent_classifier_learns_and_is_saved_whole(layer, tmp_path):
    """Which of two signs dominates a noisy sequence, learnt by LSTM (or GRU) -> Dense, then
    saved and loaded as one file."""
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 512)
    x = (rng.normal(size=(512, 12, 2)) + (labels * 2 - 1)[:, None, None] * 0.5).astype("float32")
    L.set_seed(7)
    model = L.Sequential([getattr(L, layer)(8, input_shape=(12, 2)), L.Dense(2, activation="softmax")])
    model.compile(optimizer=sg.optimizers.Adam(lr=0.02), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:384], labels[:384], epochs=6, batch_size=32, verbose=0)
    assert model.evaluate(x[384:], labels[384:])[1] > 0.9  # (the LSTM: 0.99 over three seeds)
    twin = L.load_model(model.save(tmp_path / f"{layer}.npz"))
    np.testing.assert_allclose(twin.predict(x[384:400]), model.predict(x[384:400]), rtol=1e-6)


def keras_gru(x, kernel, recurrent, bias, units, reset_after):
    """Keras's GRU step by step in NumPy (gates z, r, h; sigmoid gates, tanh)."""
    def sigmoid(v):
        return 1 / (1 + np.exp(-v))
    h, hs = np.zeros((x.shape[0], units)), []
    for t in range(x.shape[1]):
        xz = x[:, t] @ kernel + (bias[0] if reset_after else bias)
        if reset_after:
            hz = h @ recurrent + bias[1]
            z, r = sigmoid(xz[:, :units] + hz[:, :units]), sigmoid(xz[:, units:2 * units] + hz[:, units:2 * units])
            candidate = np.tanh(xz[:, 2 * units:] + r * hz[:, 2 * units:])
        else:
            z = sigmoid(xz[:, :units] + h @ recurrent[:, :units])
            r = sigmoid(xz[:, units:2 * units] + h @ recurrent[:, units:2 * units])
            candidate = np.tanh(xz[:, 2 * units:] + (r * h) @ recurrent[:, 2 * units:])
        h = z * h + (1 - z) * candidate
        hs.append(h)
    return np.stack(hs, axis=1)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_computes_keras_recurrence_in_both_forms(reset_after, rng):
    """reset_after (Keras 2's default): bias (2, 3 units), the reset gate scaling the recurrent
    product; without it, one bias and the reset gate scaling h before its product."""
    x = L.Input((5, 3), dtype="float64")
    xv = rng.normal(size=(4, 5, 3))
    gru = L.GRU(4, reset_after=reset_after, return_sequences=True, dtype="float64")
    backwards = L.GRU(4, reset_after=reset_after, go_backwards=True, dtype="float64")
    got, got_back = sg.function([x], [gru(x), backwards(x)])(xv)
    assert gru.name.startswith("gru") and [w.shape for w in gru.get_weights()][2] == ((2, 12) if reset_after else (12,))
    weights = gru.get_weights()
    weights[2] = rng.normal(size=weights[2].shape)  # (zeros at first: a bias read in the wrong place would pass)
    gru.set_weights(weights)
    got = sg.function([x], gru(x))(xv)
    np.testing.assert_allclose(got, keras_gru(xv, *weights, 4, reset_after), rtol=1e-12)
    np.testing.assert_allclose(got_back, keras_gru(xv[:, ::-1], *backwards.get_weights(), 4, reset_after)[:, -1],
                               rtol=1e-12)
    sg.verify_grad(lambda v: (gru.trace(v, L.base.TraceContext(False)) ** 2).sum(), [xv], rng=rng)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_embedding_picks_rows_and_its_gradient_adds_repeated_ids(backend, rng):
    ids = sg.imatrix("ids")
    layer = L.Embedding(7, 3, dtype="float64")
    out = layer(ids)
    assert out.type.shape == (None, None, 3) and layer.embeddings.get_value().shape == (7, 3)
    assert np.abs(layer.embeddings.get_value()).max() <= 0.05  # (Keras's uniform in +-0.05)
    g = sg.dtensor3("g")
    grad = sg.grad((out * g).sum(), layer.embeddings)
    iv, gv = np.array([[1, 3, 1], [6, 1, 0]], "int32"), rng.normal(size=(2, 3, 3))
    got, got_grad = sg.function([ids, g], [out, grad], backend=backend)(iv, gv)
    table = layer.embeddings.get_value()
    np.testing.assert_array_equal(got, table[iv])
    want = np.zeros_like(table)
    np.add.at(want, iv.reshape(-1), gv.reshape(-1, 3))
    np.testing.assert_allclose(got_grad, want, rtol=1e-12)
    with pytest.raises(TypeError, match="integer ids"):
        L.Embedding(7, 3)(sg.fmatrix("x"))
    assert L.Embedding(7, 3, mask_zero=True).mask_zero  # (masking: tests/layers/test_masking.py)


def test_a_text_classifier_starting_with_an_embedding_learns_and_is_saved_whole(tmp_path):
    """Embedding -> LSTM -> Dense, Keras's text idiom: the model takes integer ids (its Input
    made from the first layer's input_length and input dtype); does id 3 occur in the sequence?"""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 20, size=(256, 10))
    y = (x == 3).any(axis=1).astype("int32")
    L.set_seed(1)
    model = L.Sequential([L.Embedding(20, 8, input_length=10), L.LSTM(16), L.Dense(2, activation="softmax")])
    assert model.input.dtype == "int32" and model.output_shape == (None, 2)
    model.compile(optimizer=sg.optimizers.Adam(lr=0.02), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:192], y[:192], epochs=8, batch_size=32, verbose=0)
    assert model.evaluate(x[192:], y[192:])[1] > 0.9
    twin = L.load_model(model.save(tmp_path / "text.npz"))
    np.testing.assert_allclose(twin.predict(x[192:]), model.predict(x[192:]), rtol=1e-6)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
def test_bidirectional_merges_a_forward_and_a_backward_copy(merge_mode, rng):
    """The backward copy reads the sequence last step first with weights of its own; with
    return_sequences its outputs are put back in the sequence's order before the merge."""
    x = L.Input((5, 3), dtype="float64")
    xv = rng.normal(size=(2, 5, 3))
    last = L.Bidirectional(L.LSTM(4, dtype="float64"), merge_mode=merge_mode)
    every = L.Bidirectional(L.GRU(4, return_sequences=True, dtype="float64"), merge_mode=merge_mode)
    got_last, got_every = sg.function([x], [last(x), every(x)])(xv)
    assert len(last.weights) == 6 and last.backward_layer.go_backwards and not last.forward_layer.go_backwards
    assert last.backward_layer.name == f"backward_{last.forward_layer.name}"
    config = last.get_config()
    assert config["merge_mode"] == merge_mode and config["layer"]["class_name"] == "LSTM"
    assert config["layer"]["config"]["units"] == 4 and config["layer"]["config"]["name"] == last.forward_layer.name
    forward = keras_lstm(xv, *last.forward_layer.get_weights(), 4)[:, -1]
    backward = keras_lstm(xv[:, ::-1], *last.backward_layer.get_weights(), 4)[:, -1]
    gru_f = keras_gru(xv, *every.forward_layer.get_weights(), 4, True)
    gru_b = keras_gru(xv[:, ::-1], *every.backward_layer.get_weights(), 4, True)[:, ::-1]

    def merged(a, b):
        return {"concat": np.concatenate([a, b], axis=-1), "sum": a + b, "mul": a * b, "ave": (a + b) / 2}[merge_mode]
    np.testing.assert_allclose(got_last, merged(forward, backward), rtol=1e-12)
    np.testing.assert_allclose(got_every, merged(gru_f, gru_b), rtol=1e-12)


def test_a_bidirectional_text_classifier_learns_and_is_saved_whole(tmp_path):
    """Embedding -> Bidirectional(LSTM) -> Dense, Keras's text idiom: which of ids 3 and 4 the
    sequence holds, at a place that varies; saved with the wrapped layer as an argument."""
    rng = np.random.default_rng(5)
    x = rng.integers(5, 20, size=(384, 8))
    where = rng.permutation(np.tile(np.arange(8), 48)[:384])
    first = rng.integers(0, 2, 384)
    x[np.arange(384), where] = 3 + first
    L.set_seed(2)
    model = L.Sequential([L.Embedding(20, 8, input_length=8), L.Bidirectional(L.LSTM(8)), L.Dense(2, activation="softmax")])
    assert model.output_shape == (None, 2) and model.layers[1].output_shape == (None, 16)
    model.compile(optimizer=sg.optimizers.Adam(lr=0.02), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:320], first[:320], epochs=6, batch_size=32, verbose=0)
    assert model.evaluate(x[320:], first[320:])[1] > 0.9
    twin = L.load_model(model.save(tmp_path / "bidirectional.npz"))
    assert isinstance(twin.layers[1], L.Bidirectional) and twin.layers[1].backward_layer.go_backwards
    np.testing.assert_allclose(twin.predict(x[320:]), model.predict(x[320:]), rtol=1e-6)
    with pytest.raises(TypeError, match="wraps a recurrent layer"):
        L.Bidirectional(L.Dense(3))
