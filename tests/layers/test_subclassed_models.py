"""Keras's model subclassing: layers made in __init__, the forward pass in call(inputs,
training), built on first data, trained, evaluated, saved by its weights, used as a layer."""
import numpy as np
import pytest

import symgraph as sg

L = sg.layers


def _data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int64") + (x[:, 2] > 0.5)
    return x, y


class Classifier(L.Model):
    def __init__(self, classes=3, **kwargs):
        super().__init__(**kwargs)
        self.hidden = L.Dense(32, activation="relu")
        self.norm = L.BatchNormalization()
        self.blocks = [L.Dense(16, activation="relu"), L.Dropout(0.2)]
        self.out = L.Dense(classes, activation="softmax")

    def call(self, inputs, training=None):
        h = self.norm(self.hidden(inputs))
        skip = h[:, :16]  # (any expression between the layers)
        for layer in self.blocks:
            h = layer(h)
        return self.out(h + skip)


def test_a_subclassed_classifier_builds_on_data_trains_and_keeps_its_weights(tmp_path):
    x, y = _data()
    L.set_seed(0)
    model = Classifier()
    assert model.name == "classifier" and [type(l).__name__ for l in model.layers] == \
        ["Dense", "BatchNormalization", "Dense", "Dropout", "Dense"]
    with pytest.raises(ValueError, match="not built"):
        model.summary()
    model.compile(sg.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x[:300], y[:300], epochs=15, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.85
    assert model.evaluate(x[300:], y[300:])[1] > 0.8
    # the batch normalization's moving statistics were updated by fit's trace (its context)
    assert not np.allclose(model.norm.moving_mean.get_value(), 0)
    first = model.predict(x[:5])
    np.testing.assert_array_equal(first, model.predict(x[:5]))  # (inference: no dropout)
    assert "Total params: " in model.summary(print_fn=None) and model.count_params() > 0
    path = str(tmp_path / "classifier.weights.npz")
    model.save_weights(path)
    again = Classifier()
    again.build((None, 6))
    again.load_weights(path)
    np.testing.assert_allclose(again.predict(x[:5]), first, rtol=1e-6)
    with pytest.raises(NotImplementedError, match="subclassed"):
        model.save(str(tmp_path / "whole"))
    picture = L.model_to_dot(model).source  # (one box, as Keras draws a subclassed model)
    assert "classifier: Classifier" in picture and "(None, 3)" in picture
    with pytest.raises(ValueError, match="not built"):
        L.plot_model(Classifier(), str(tmp_path / "unbuilt.png"))


def test_call_sees_each_traces_mode_and_its_layers_join_the_trace():
    """Dropout is on in the training trace only; Python code branching on `training` sees it."""
    class Noisy(L.Model):
        def __init__(self):
            super().__init__()
            self.dense = L.Dense(4, kernel_initializer="ones")

        def call(self, inputs, training=None):
            out = self.dense(inputs)
            return out + 100.0 if training else out

    model = Noisy()
    model.build((None, 3))
    x = sg.fmatrix("x")
    for mode, shift in ((False, 0.0), (True, 100.0)):
        out, _ = model.trace(x, mode)
        got = sg.function([x], out)(np.ones((2, 3), "float32"))
        np.testing.assert_allclose(got, 3 + shift)
    with pytest.raises(TypeError, match="call"):
        L.Model()


def test_same_weights_same_outputs_as_the_functional_model():
    x, _ = _data(50)
    L.set_seed(3)
    model = Classifier()
    model.build((None, 6))
    inputs = L.Input((6,))
    h = model.norm(model.hidden(inputs))
    skip = L.Lambda(lambda t: t[:, :16])(h)
    out = model.out(L.add([model.blocks[1](model.blocks[0](h)), skip]))
    functional = L.Model(inputs, out)
    np.testing.assert_allclose(model.predict(x), functional.predict(x), rtol=1e-6)


def test_two_outputs_compiled_before_building_and_a_nested_block():
    """compile before the model knows its outputs (Keras's output_1, output_2 names); a
    Sequential block without an input shape inside call; the model as a layer elsewhere."""
    class TwoHeads(L.Model):
        def __init__(self):
            super().__init__(name="heads")
            self.body = L.Sequential([L.Dense(16, activation="tanh"), L.Dense(16, activation="tanh")])
            self.kind = L.Dense(3, activation="softmax")
            self.size = L.Dense(1)

        def call(self, inputs):
            h = self.body(inputs)
            return self.kind(h), self.size(h)

    x, y = _data()
    size = x[:, 3:4] * 2
    L.set_seed(1)
    model = TwoHeads()
    model.compile(sg.optimizers.Adam(0.01), {"output_1": "sparse_categorical_crossentropy", "output_2": "mse"},
                  metrics={"output_1": ["accuracy"]})
    history = model.fit(x, [y, size], epochs=20, batch_size=32, verbose=0)
    assert {"output_1_loss", "output_2_loss", "output_1_accuracy"} <= set(history.history)
    assert history.history["output_2_loss"][-1] < 0.3 * history.history["output_2_loss"][0]
    assert len(model.weights) == 8  # (the block's four, then the heads')
    inputs = L.Input((6,))
    kind, _ = model(inputs)
    outer = L.Model(inputs, L.Dense(1, activation="sigmoid")(kind))
    assert outer.predict(x[:4]).shape == (4, 1)
