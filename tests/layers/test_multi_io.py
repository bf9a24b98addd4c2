"""Functional models of several inputs and outputs, as Keras's: losses, loss weights and
metrics per output (lists or dicts by the output layers' names), fit / evaluate / predict /
train_on_batch with lists or dicts of arrays, the logged names, saving, plotting and JSON."""
import numpy as np
import pytest

import symgraph as sg

L = sg.layers
RNG = np.random.default_rng(60)
XA, XB = RNG.random((48, 4)).astype("float32"), RNG.random((48, 3)).astype("float32")
Y_CLASS, Y_VALUE = (XA.sum(1) > 2).astype("int32"), (XB.sum(1) - XA[:, 0]).astype("float32")


def two_by_two(backend=None, **compile_args):
    L.set_seed(0)
    a, b = L.Input((4,), name="a"), L.Input((3,), name="b")
    h = L.Concatenate(axis=1)([L.Dense(8, activation="tanh")(a), L.Dense(8, activation="tanh")(b)])
    model = L.Model([a, b], [L.Dense(2, activation="softmax", name="cls")(h), L.Dense(1, name="value")(h)])
    args = {"optimizer": sg.optimizers.SGD(lr=0.1), "loss": ["sparse_categorical_crossentropy", "mse"],
            "loss_weights": [1.0, 0.5], "metrics": {"cls": ["accuracy"]}, "backend": backend}
    model.compile(**{**args, **compile_args})
    return model


def losses_by_numpy(model):
    probs, value = (p.astype("float64") for p in model.predict([XA, XB]))
    class_loss = -np.log(probs[np.arange(len(XA)), Y_CLASS]).mean()
    value_loss = ((value[:, 0] - Y_VALUE) ** 2).mean()
    accuracy = (probs.argmax(1) == Y_CLASS).mean()
    return class_loss, value_loss, accuracy


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_the_total_loss_weighs_each_outputs_and_metrics_are_per_output(backend):
    model = two_by_two(backend)
    assert model.output_names == ["cls", "value"] and model.input_shape == [(None, 4), (None, 3)]
    assert model.output_shape == [(None, 2), (None, 1)]
    class_loss, value_loss, accuracy = losses_by_numpy(model)
    got = model.evaluate([XA, XB], [Y_CLASS, Y_VALUE])
    np.testing.assert_allclose(got, [class_loss + 0.5 * value_loss, class_loss, value_loss, accuracy], rtol=1e-5)
    by_name = model.evaluate({"a": XA, "b": XB}, {"value": Y_VALUE, "cls": Y_CLASS}, return_dict=True)
    assert list(by_name) == ["loss", "cls_loss", "value_loss", "cls_accuracy"]
    np.testing.assert_allclose(list(by_name.values()), got, rtol=1e-6)


def test_fit_minimizes_the_weighted_sum_and_logs_every_part():
    model = two_by_two()
    before = model.evaluate([XA, XB], [Y_CLASS, Y_VALUE])[0]
    history = model.fit([XA, XB], [Y_CLASS, Y_VALUE], epochs=20, batch_size=16, verbose=0, validation_split=0.25)
    assert set(history.history) == {"loss", "cls_loss", "value_loss", "cls_accuracy", "seconds", "val_loss",
                                    "val_cls_loss", "val_value_loss", "val_cls_accuracy"}
    assert history.history["loss"][-1] < 0.8 * before
    step = model.train_on_batch([XA, XB], [Y_CLASS, Y_VALUE])
    assert len(step) == 4 and step[0] == pytest.approx(step[1] + 0.5 * step[2], rel=1e-5)


def test_one_step_matches_the_gradient_of_the_weighted_sum():
    """SGD on the two-output model moves the weights as SGD on the hand-weighted sum does."""
    model = two_by_two()
    a, b = model.inputs
    probs, value = model.outputs
    y_class, y_value = sg.ivector("yc"), sg.vector("yv")
    cost = (sg.nn.categorical_crossentropy(probs, y_class).mean()
            + 0.5 * ((value[:, 0] - y_value) ** 2).mean())
    grads = sg.function([a, b, y_class, y_value], sg.grad(cost, model.trainable_weights))(XA, XB, Y_CLASS, Y_VALUE)
    before = [w.get_value() for w in model.trainable_weights]
    model.train_on_batch([XA, XB], [Y_CLASS, Y_VALUE])
    for w, w0, g in zip(model.trainable_weights, before, grads):
        np.testing.assert_allclose(w.get_value(), w0 - 0.1 * g, rtol=1e-4, atol=1e-6)


def test_predict_gives_one_array_per_output_and_one_input_two_outputs_works():
    model = two_by_two()
    probs, value = model.predict([XA, XB], batch_size=10)
    assert probs.shape == (48, 2) and value.shape == (48, 1)
    # (batches of 10 and of 48: products summed in other orders, a few float32 ulps of the values apart)
    np.testing.assert_allclose(model.predict_on_batch([XA, XB])[1], value, rtol=1e-6, atol=1e-6)
    inputs = L.Input((4,))
    h = L.Dense(5)(inputs)
    split = L.Model(inputs, [L.Dense(1, name="left")(h), L.Dense(2, name="right")(h)])
    split.compile("sgd", loss="mse")  # (one loss for every output)
    assert split.fit(XA, [Y_VALUE, np.zeros((48, 2), "float32")], epochs=1, verbose=0).history.keys() >= {
        "left_loss", "right_loss"}


def test_bad_lists_say_what_the_model_takes():
    model = two_by_two()
    with pytest.raises(ValueError, match="has 2 inputs \\['a', 'b'\\]"):
        model.predict(XA)
    with pytest.raises(ValueError, match="no target given for \\['value'\\]"):
        model.evaluate([XA, XB], {"cls": Y_CLASS})
    with pytest.raises(ValueError, match="loss has 3 entries for the model's 2 outputs"):
        model.compile("sgd", loss=["mse"] * 3)
    with pytest.raises(ValueError, match="loss names outputs \\['nope'\\]"):
        model.compile("sgd", loss={"nope": "mse", "cls": "mse"})
    with pytest.raises(ValueError, match="every output needs a loss"):
        model.compile("sgd", loss={"cls": "mse"})
    with pytest.raises(ValueError, match="48, 10 inputs but 48, 48 targets"):
        model.fit([XA, XB[:10]], [Y_CLASS, Y_VALUE], verbose=0)
    with pytest.raises(ValueError, match="class_weight weighs the classes of a single output"):
        model.fit([XA, XB], [Y_CLASS, Y_VALUE], class_weight={0: 2.0}, verbose=0)
    with pytest.raises(ValueError, match="takes a list of 2 symbolic inputs"):  # (as a layer: a list of two)
        model(L.Input((4,)))


def test_saving_json_and_pictures(tmp_path):
    model = two_by_two(metrics={"cls": ["accuracy"], "value": ["mae"]})
    model.fit([XA, XB], [Y_CLASS, Y_VALUE], epochs=2, verbose=0)
    again = L.load_model(model.save(tmp_path / "two.sgm"))
    np.testing.assert_allclose(again.evaluate([XA, XB], [Y_CLASS, Y_VALUE]),
                               model.evaluate([XA, XB], [Y_CLASS, Y_VALUE]), rtol=1e-6)
    assert again.compiled.loss_weights == [1.0, 0.5]
    rebuilt = L.model_from_json(model.to_json())
    assert rebuilt.output_names == ["cls", "value"] and [v.name for v in rebuilt.inputs] == ["a", "b"]
    path = model.plot(tmp_path / "two.dot")
    text = open(path).read()
    assert "input a" in text and "input b" in text
