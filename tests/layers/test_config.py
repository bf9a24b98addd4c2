"""Keras's architecture round trips: layer.get_config / from_config, model.get_config /
Model.from_config, model.to_json / sg.layers.model_from_json (fresh weights, same structure)."""
import json

import numpy as np
import pytest

import symgraph as sg

L = sg.layers


def convnet():
    inputs = L.Input((1, 8, 8))
    h = L.Conv2D(4, 3, padding="same", activation="relu", kernel_initializer=sg.initializers.HeNormal(seed=1),
                 kernel_regularizer=sg.regularizers.l2(0.001))(inputs)
    skip = L.Add()([h, L.Conv2D(4, 1)(inputs)])
    h = L.Flatten()(L.MaxPool2D(2)(skip))
    return L.Model(inputs, L.Dense(3, activation="softmax")(L.Dropout(0.2)(h)), name="convnet")


def test_model_json_round_trip_keeps_the_architecture_not_the_weights():
    model = convnet()
    text = model.to_json()
    assert json.loads(text)["model"]["class"] == "Model"
    again = L.model_from_json(text)
    assert [type(layer).__name__ for layer in again.layers] == [type(layer).__name__ for layer in model.layers]
    assert again.summary(print_fn=None) == model.summary(print_fn=None)
    assert again.layers[0].kernel_initializer.seed == 1 and again.layers[0].kernel_regularizer.l2 == 0.001
    np.testing.assert_array_equal(again.layers[0].kernel.get_value(), model.layers[0].kernel.get_value())  # (seeded)
    assert not np.array_equal(again.layers[-1].kernel.get_value(), model.layers[-1].kernel.get_value())
    again.set_weights(model.get_weights())
    x = np.random.default_rng(0).random((2, 1, 8, 8)).astype("float32")
    np.testing.assert_allclose(again.predict(x), model.predict(x), rtol=1e-6)
    with pytest.raises(ValueError, match="not a symgraph model"):
        L.model_from_json(json.dumps({"format": "keras"}))


def test_sequential_and_layer_configs():
    model = L.Sequential([L.Dense(4, input_dim=3, activation="tanh"), L.Dense(2)])
    again = L.Sequential.from_config(model.get_config())
    assert isinstance(again, L.Sequential) and again.count_params() == model.count_params()
    config = L.Dense(5, activation="relu", kernel_initializer=sg.initializers.RandomNormal(stddev=0.1),
                     name="d").get_config()
    assert config["kernel_initializer"] == {"class_name": "RandomNormal", "config": {"stddev": 0.1}}
    layer = L.Dense.from_config(config)
    assert layer.name == "d" and layer.units == 5 and layer.kernel_initializer.stddev == 0.1
    wrapped = L.Bidirectional(L.LSTM(3), merge_mode="sum")
    assert L.Bidirectional.from_config(wrapped.get_config()).merge_mode == "sum"


def test_custom_layers_come_back_through_custom_objects():
    class Scale(L.Layer):
        def __init__(self, factor, **kw):
            super().__init__(**kw)
            self.factor = factor

        def call(self, inputs):
            return inputs * self.factor

    model = L.Sequential([L.Dense(2, input_shape=(3,)), Scale(3.0)])
    again = L.model_from_json(model.to_json(), custom_objects={"Scale": Scale})
    assert again.layers[1].factor == 3.0


def _halved(t):
    return t * 0.5


def test_a_lambda_layers_named_function_comes_back_through_custom_objects(tmp_path):
    """Keras's way: a Lambda's (def) function is saved by name and given back by
    custom_objects; a lambda cannot be saved by name and is refused with the way out."""
    model = L.Sequential([L.Dense(3, input_shape=(2,)), L.Lambda(_halved), L.Dense(1)])
    path = str(tmp_path / "model.keras")
    model.save(path)
    with pytest.raises(ValueError, match="custom_objects=\\{'_halved'"):
        L.load_model(path)
    again = L.load_model(path, custom_objects={"_halved": _halved})
    x = np.ones((2, 2), "float32")
    np.testing.assert_allclose(again.predict(x), model.predict(x), rtol=1e-6)
    with pytest.raises(ValueError, match="define it with def"):
        L.Sequential([L.Dense(3, input_shape=(2,)), L.Lambda(lambda t: t * 0.5)]).to_json()


def test_a_model_pickles_and_goes_on_training(tmp_path):
    """pickle.dumps(model) (Keras's models pickle too): the same predictions, compiled, trainable
    on, and its configuration as the original's."""
    import pickle
    L = sg.layers
    model = L.Sequential([L.Conv2D(4, 3, input_shape=(1, 8, 8), activation="relu"), L.MaxPool2D(2), L.Flatten(),
                          L.Dropout(0.5), L.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).uniform(size=(16, 1, 8, 8)).astype("float32")
    y = np.arange(16) % 10
    model.fit(x, y, epochs=1, verbose=0)
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(copy.predict(x), model.predict(x), rtol=1e-6)
    assert copy.get_config() == model.get_config()
    before = copy.evaluate(x, y, verbose=0)[0]
    copy.fit(x, y, epochs=5, verbose=0)
    assert copy.evaluate(x, y, verbose=0)[0] < before
    assert not np.allclose(copy.predict(x), model.predict(x))  # (its own weights)
