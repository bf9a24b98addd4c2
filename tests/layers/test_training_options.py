"""Keras's training options: optimizers' clipvalue and decay, Nadam and AdamW against NumPy
reimplementations of Keras's update rules, ReduceLROnPlateau, CSVLogger, TerminateOnNaN and
LambdaCallback, class_weight and sample_weight, evaluate(return_dict=True)."""
import csv

import numpy as np
import pytest

import symgraph as sg

L = sg.layers
W0 = np.array([0.5, -1.5, 2.0])
TARGET = np.array([1.0, 0.0, -1.0])


def run_steps(make_optimizer, steps):
    """Weights after `steps` updates of the optimizer on sum((w - target) ** 2 * [1, 10, 100]),
    in float64 (its learning rate and step count too)."""
    with _float64():
        optimizer = make_optimizer()
        w = sg.shared(W0.copy(), "w")
        cost = (((w - TARGET) ** 2) * np.array([1.0, 10.0, 100.0])).sum()
        step = sg.function([], cost, updates=optimizer.updates(cost, [w]))
    for _ in range(steps):
        step()
    return w.get_value()


def gradient(w):
    return 2 * (w - TARGET) * np.array([1.0, 10.0, 100.0])


def test_clipvalue_clips_each_gradient_element():
    got = run_steps(lambda: sg.optimizers.SGD(lr=0.01, clipvalue=2.0), 1)
    np.testing.assert_allclose(got, W0 - 0.01 * np.clip(gradient(W0), -2, 2))


def test_decay_lowers_the_rate_with_the_iterations():
    w = W0.copy()
    for t in range(3):
        w = w - 0.01 / (1 + 0.5 * t) * gradient(w)
    np.testing.assert_allclose(run_steps(lambda: sg.optimizers.SGD(lr=0.01, decay=0.5), 3), w, rtol=1e-12)


def test_nadam_follows_kerass_rule():
    beta_1, beta_2, eps, lr, schedule_decay = 0.9, 0.999, 1e-7, 0.002, 0.004
    w, m, v, m_schedule = W0.copy(), np.zeros(3), np.zeros(3), 1.0
    for t in range(1, 5):
        g = gradient(w)
        momentum = beta_1 * (1 - 0.5 * 0.96 ** (t * schedule_decay))
        next_momentum = beta_1 * (1 - 0.5 * 0.96 ** ((t + 1) * schedule_decay))
        m_schedule_new = m_schedule * momentum
        m_schedule_next = m_schedule_new * next_momentum
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        m_bar = (1 - momentum) * g / (1 - m_schedule_new) + next_momentum * m / (1 - m_schedule_next)
        w = w - lr * m_bar / (np.sqrt(v / (1 - beta_2 ** t)) + eps)
        m_schedule = m_schedule_new
    np.testing.assert_allclose(run_steps(sg.optimizers.Nadam, 4), w, rtol=1e-12)


def test_adamw_decays_the_weights_outside_adams_scaling():
    beta_1, beta_2, eps, lr, decay = 0.9, 0.999, 1e-7, 0.01, 0.1
    w, m, v = W0.copy(), np.zeros(3), np.zeros(3)
    for t in range(1, 4):
        g = gradient(w)
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        step = lr * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
        w = w - step * m / (np.sqrt(v) + eps) - lr * decay * w
    np.testing.assert_allclose(run_steps(lambda: sg.optimizers.AdamW(lr=lr, weight_decay=decay), 3), w, rtol=1e-12)
    assert isinstance(sg.optimizers.get("nadam"), sg.optimizers.Nadam)
    assert isinstance(sg.optimizers.get("adamw"), sg.optimizers.AdamW)


class _float64:
    """floatX float64 inside (the optimizers' learning rates and step counts are floatX)."""

    def __enter__(self):
        self.saved = sg.config.floatX
        sg.config.floatX = "float64"

    def __exit__(self, *exc):
        sg.config.floatX = self.saved


def small_model(optimizer="sgd", backend=None):
    L.set_seed(0)
    model = L.Sequential([L.Dense(3, activation="softmax", input_shape=(4,))])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"], backend=backend)
    return model


def test_reduce_lr_on_plateau_waits_reduces_and_cools_down():
    model = small_model(sg.optimizers.SGD(lr=1.0))
    callback = sg.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, cooldown=2, min_lr=0.2)
    callback.set_model(model)
    callback.on_train_begin({})
    rates = []
    for epoch, value in enumerate([1.0, 0.9, 0.95, 0.92, 0.91, 0.93, 0.94, 0.95, 0.96, 0.97, 0.98]):
        callback.on_epoch_end(epoch, {"val_loss": value})
        rates.append(model.optimizer.learning_rate)
    # best 0.9 at epoch 1; two epochs without improvement -> 0.5 at epoch 3; as Keras's, the
    # cooldown's last epoch (5) counts again: 0.25 at epoch 6, then 0.2 (min_lr) at epoch 9
    assert rates == pytest.approx([1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2])
    with pytest.raises(KeyError, match="monitors 'val_loss'"):
        callback.on_epoch_end(11, {"loss": 1.0})


def test_csv_logger_writes_a_row_per_epoch(tmp_path):
    model = small_model()
    rng = np.random.default_rng(1)
    x, y = rng.random((20, 4)).astype("float32"), rng.integers(0, 3, 20)
    path = tmp_path / "log.csv"
    history = model.fit(x, y, epochs=3, verbose=0, validation_data=(x, y),
                        callbacks=[sg.callbacks.CSVLogger(path)])
    rows = list(csv.DictReader(open(path)))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert [float(r["val_loss"]) for r in rows] == pytest.approx(history.history["val_loss"])
    model.fit(x, y, epochs=1, verbose=0, callbacks=[sg.callbacks.CSVLogger(path, append=True)])
    lines = open(path).read().splitlines()
    assert len(lines) == 5 and lines[0].startswith("epoch,")  # one header, four rows


def test_tensorboard_callback_writes_keras_runs_histograms_and_the_graph(tmp_path):
    from symgraph.compat.protobuf import wire
    from symgraph.compat.v1 import graph_def, summary
    model = small_model()
    rng = np.random.default_rng(1)
    x, y = rng.random((20, 4)).astype("float32"), rng.integers(0, 3, 20)
    board = sg.callbacks.TensorBoard(tmp_path, histogram_freq=2, update_freq=3)
    history = model.fit(x, y, epochs=3, batch_size=5, verbose=0, validation_data=(x, y), callbacks=[board])

    def events(run):
        folder = tmp_path / run
        return [e for f in sorted(folder.iterdir()) for e in summary.read_events(f)]

    def scalars(run, prefix):
        return [(e.get("step"), v.get("tag"), v.get("simple_value")) for e in events(run) if e.has("summary")
                for v in e.message("summary").all("value") if v.get("tag").startswith(prefix) and v.has("simple_value")]
    epoch_losses = [(step, value) for step, tag, value in scalars("train", "epoch_") if tag == "epoch_loss"]
    assert [step for step, _ in epoch_losses] == [0, 1, 2]
    np.testing.assert_allclose([v for _, v in epoch_losses], history.history["loss"], rtol=1e-6)
    val = [(step, value) for step, tag, value in scalars("validation", "epoch_") if tag == "epoch_loss"]
    np.testing.assert_allclose([v for _, v in val], history.history["val_loss"], rtol=1e-6)
    assert sorted({tag for _, tag, _ in scalars("train", "epoch_")}) == ["epoch_accuracy", "epoch_loss"]
    assert [step for step, tag, _ in scalars("train", "batch_") if tag == "batch_loss"] == [3, 6, 9, 12]  # (4 a epoch)
    histograms = [(e.get("step"), v.get("tag")) for e in events("train") if e.has("summary")
                  for v in e.message("summary").all("value") if v.has("histo")]
    assert {step for step, _ in histograms} == {0, 2} and len(histograms) == 2 * len(model.weights)
    graphs = [e for e in events("train") if e.has("graph_def")]
    assert len(graphs) == 1
    nodes = wire.decode(graphs[0].get("graph_def"), "GraphDef", graph_def.SCHEMA).all("node")
    names = [n.get("name") for n in nodes]
    assert any(name.startswith(model.layers[0].name + "/") for name in names) and len(names) == len(set(names))
    assert any(n.get("op") == "Assign" for n in nodes)  # (the optimizer's updates)
    with pytest.raises(ValueError, match="update_freq"):
        sg.callbacks.TensorBoard(tmp_path, update_freq="sometimes")


def test_terminate_on_nan_stops_at_the_batch():
    model = L.Sequential([L.Dense(1, input_shape=(4,))])
    model.compile(optimizer=sg.optimizers.SGD(lr=1e30), loss="mse")  # (the weights overflow at once)
    x = np.random.default_rng(2).random((64, 4)).astype("float32") * 1e3
    y = np.zeros((64, 1), "float32")
    batches = []
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[
        sg.callbacks.TerminateOnNaN(), sg.callbacks.LambdaCallback(on_batch_end=lambda b, logs: batches.append(b))])
    assert len(history.history["loss"]) == 1 and len(batches) < 8


def test_lambda_callback_calls_the_functions_given():
    model = small_model()
    seen = []
    callback = sg.callbacks.LambdaCallback(on_train_begin=lambda logs: seen.append("begin"),
                                           on_epoch_end=lambda epoch, logs: seen.append((epoch, sorted(logs))),
                                           on_train_end=lambda logs: seen.append("end"))
    x, y = np.ones((4, 4), "float32"), np.zeros(4, "int32")
    model.fit(x, y, epochs=2, verbose=0, callbacks=[callback])
    assert seen == ["begin", (0, ["accuracy", "loss", "seconds"]), (1, ["accuracy", "loss", "seconds"]), "end"]
    assert not callback.wants_batch_logs()


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_class_and_sample_weights_weight_each_examples_loss(backend):
    model = small_model(backend=backend)
    rng = np.random.default_rng(3)
    x, y = rng.random((6, 4)).astype("float32"), np.array([0, 1, 2, 0, 1, 2])
    p = model.predict(x).astype("float64")
    losses = -np.log(p[np.arange(6), y])
    weights = np.array([2.0, 0.5, 1.0])[y] * np.arange(1, 7)
    got = model.train_on_batch(x, y, sample_weight=np.arange(1, 7), class_weight={0: 2.0, 1: 0.5})
    assert got[0] == pytest.approx((losses * weights).mean(), rel=1e-5)
    before = model.get_weights()
    model.train_on_batch(x, y, sample_weight=np.zeros(6))
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)  # weights of zero: no gradient
    one_hot = sg.utils.to_categorical(y, 3)
    np.testing.assert_allclose(sg.layers.training.example_weights(one_hot, {2: 3.0}), [1, 1, 3, 1, 1, 3])


def test_fit_with_sample_weights_trains_as_on_the_weighted_examples():
    rng = np.random.default_rng(4)
    x, y = rng.random((10, 4)).astype("float32"), rng.integers(0, 3, 10)
    kept = np.arange(10) % 2 == 0
    weighted, alone = small_model(), small_model()
    weighted.fit(x, y, epochs=3, batch_size=10, shuffle=False, verbose=0, sample_weight=np.where(kept, 2.0, 0.0))
    alone.fit(x[kept], y[kept], epochs=3, batch_size=5, shuffle=False, verbose=0)
    for a, b in zip(weighted.get_weights(), alone.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="one weight per example"):
        weighted.fit(x, y, sample_weight=np.ones(3), verbose=0)


def test_evaluate_returns_a_dict_on_request():
    model = small_model()
    x, y = np.ones((4, 4), "float32"), np.zeros(4, "int32")
    loss, accuracy = model.evaluate(x, y)
    assert model.evaluate(x, y, return_dict=True) == {"loss": loss, "accuracy": accuracy}


@pytest.mark.parametrize("loss", ["binary_crossentropy", "mse", "hinge"])
def test_a_vector_of_targets_meets_a_single_output_row_by_row(loss):
    """(n,) labels for a Dense(1) output, Keras's everyday binary classifier: each label against its
    own row's output (they were broadcast into an (n, n) table, and the model learned the mean)."""
    L.set_seed(8)
    model = L.Sequential([L.Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile(optimizer="sgd", loss=loss, metrics=["accuracy"])
    rng = np.random.default_rng(9)
    x, y = rng.random((8, 3)).astype("float32"), (rng.random(8) > 0.5).astype("float32")
    p = model.predict(x)[:, 0].astype("float64")
    per_example = {"binary_crossentropy": -(y * np.log(p) + (1 - y) * np.log(1 - p)), "mse": (p - y) ** 2,
                   "hinge": np.maximum(1 - (2 * y - 1) * p, 0)}[loss]
    flat, column = model.evaluate(x, y), model.evaluate(x, y[:, None])
    assert flat[0] == pytest.approx(per_example.mean(), rel=1e-5) and flat == pytest.approx(column)
    assert flat[1] == pytest.approx(((p > 0.5) == (y > 0.5)).mean())


def test_pop_and_add_after_training_gives_a_new_head_that_trains():
    """Keras's transfer idiom on a Sequential: fit, pop the classifier, add another of more
    classes; predict and fit use the new output (not the functions compiled for the old one),
    and the kept layer's trained weights stay."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 6)).astype("float32")
    two, three = (x[:, 0] > 0).astype("int64"), np.digitize(x[:, 1], [-0.5, 0.5])
    L.set_seed(0)
    model = L.Sequential([L.Dense(16, activation="relu", input_shape=(6,)), L.Dense(2, activation="softmax")])
    model.compile(sg.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, two, epochs=2, verbose=0)
    assert model.predict(x[:3]).shape == (3, 2)
    base_weights = [w.copy() for w in model.layers[0].get_weights()]
    model.pop()
    assert len(model.layers) == 1 and model.output_shape == (None, 16)
    model.layers[0].trainable = False
    model.add(L.Dense(3, activation="softmax"))
    assert model.predict(x[:3]).shape == (3, 3)
    history = model.fit(x, three, epochs=30, verbose=0)
    assert history.history["accuracy"][-1] > 0.6
    for kept, before in zip(model.layers[0].get_weights(), base_weights):
        np.testing.assert_array_equal(kept, before)
    model.pop()
    model.pop()
    with pytest.raises(TypeError, match="no layers"):
        model.pop()


def test_validation_freq_lr_logs_whole_model_checkpoints_and_metric_names(tmp_path):
    """Keras's fit(validation_freq=2) validates every other epoch, and the callbacks watching a
    validation value wait for it; the rate callbacks log "lr"; ModelCheckpoint saves the whole
    model (load_model and load_weights read it); metrics=["AUC", "precision"] by name."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(120, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    L.set_seed(0)
    model = L.Sequential([L.Dense(8, activation="relu", input_shape=(4,)), L.Dense(1, activation="sigmoid")])
    model.compile(sg.optimizers.Adam(0.01), "binary_crossentropy", metrics=["AUC", "precision"])
    path = str(tmp_path / "best-{epoch}.keras")
    history = model.fit(x, y, epochs=4, verbose=0, validation_data=(x[:40], y[:40]), validation_freq=2,
                        callbacks=[sg.callbacks.ReduceLROnPlateau(patience=1, factor=0.5),
                                   sg.callbacks.ModelCheckpoint(path, save_best_only=True),
                                   sg.callbacks.CSVLogger(tmp_path / "log.csv")])
    assert len(history.history["loss"]) == 4 and len(history.history["val_loss"]) == 2
    assert {"auc", "precision", "val_auc", "lr"} <= set(history.history)
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert [r["val_loss"] == "NA" for r in rows] == [True, False, True, False]
    saved = L.load_model(str(tmp_path / "best-2.keras"))
    np.testing.assert_allclose(saved.evaluate(x[:40], y[:40])[0], history.history["val_loss"][0], rtol=1e-5)
    again = L.Sequential([L.Dense(8, activation="relu", input_shape=(4,)), L.Dense(1, activation="sigmoid")])
    again.load_weights(str(tmp_path / "best-2.keras"))
    np.testing.assert_allclose(again.predict(x[:5]), saved.predict(x[:5]), rtol=1e-6)
    schedule = sg.callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
    assert model.fit(x, y, epochs=2, verbose=0, callbacks=[schedule]).history["lr"] == pytest.approx([0.1, 0.05])
    with pytest.raises(ValueError, match="validation_freq"):
        model.fit(x, y, epochs=1, verbose=0, validation_freq=0)
