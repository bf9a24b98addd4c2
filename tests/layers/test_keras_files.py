"""Models and weights Keras wrote (tests/data/keras, made by make_keras_files.py with Keras 3):
load_model builds them of symgraph layers and gives Keras's outputs; load_weights reads
Keras's weights into a model built here the same way; tf.keras's HDF5 layout too."""
import json
import os

import numpy as np
import pytest

import symgraph as sg

h5py = pytest.importorskip("h5py")
L = sg.layers
HERE = os.path.join(os.path.dirname(__file__), "..", "data", "keras")


def _expected(name):
    data = np.load(os.path.join(HERE, f"{name}_expected.npz"))
    xs = [data[k] for k in sorted(data.files) if k.startswith("x")]
    ys = [data[k] for k in sorted(data.files) if k.startswith("y")]
    return (xs if len(xs) > 1 else xs[0]), ys


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", ["convnet", "branches", "sequences", "transfer", "zoo", "operations", "video"])
def test_keras_models_load_and_give_kerass_outputs(name, suffix):
    """A channels-last convnet with batch normalization (trained: its statistics are Keras's),
    a functional model of two inputs and outputs with a layer called twice, Embedding, Conv1D,
    LSTM and a bidirectional GRU, a frozen trained base model called with training=False
    under a new head, and layers whose weights have layouts of their own (depthwise, separable,
    transposed kernels, PReLU's shared slopes, TimeDistributed, SimpleRNN), keras.ops between
    layers (division, slicing, mean, concatenate, reshape, matmul, softmax...), and frames
    through ConvLSTM2D, Conv3D and a 3-d pooling: Keras's outputs."""
    model = L.load_model(os.path.join(HERE, name + suffix))
    x, want = _expected(name)
    got = model.predict(x)
    got = got if isinstance(got, list) else [got]
    assert len(got) == len(want)
    for mine, theirs in zip(got, want):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_keras_model_comes_compiled_as_keras_had_it(suffix, tmp_path):
    """Keras's load_model compiles with the file's optimizer, loss and metrics: evaluate works
    at once; a model Keras never compiled comes uncompiled; a setting with no counterpart here
    leaves it uncompiled with a warning."""
    model = L.load_model(os.path.join(HERE, "convnet" + suffix))
    assert type(model.optimizer).__name__ == "Adam" and model.optimizer.learning_rate == pytest.approx(1e-3)
    x, want = _expected("convnet")
    labels = want[0].argmax(axis=1)
    np.testing.assert_allclose(model.evaluate(x, labels), -np.log(want[0][np.arange(len(x)), labels]).mean(),
                               rtol=1e-5)
    assert L.load_model(os.path.join(HERE, "zoo" + suffix)).compiled is None
    assert L.load_model(os.path.join(HERE, "convnet" + suffix), compile=False).compiled is None
    with h5py.File(os.path.join(HERE, "convnet.h5"), "r") as f, h5py.File(str(tmp_path / "odd.h5"), "w") as g:
        for key in f:
            f.copy(f[key], g, key)
        for key, value in f.attrs.items():
            g.attrs[key] = value
        training = json.loads(f.attrs["training_config"])
        training["optimizer_config"]["config"]["use_ema"] = True
        g.attrs["training_config"] = json.dumps(training)
    with pytest.warns(UserWarning, match="not compiled as Keras had it"):
        assert L.load_model(str(tmp_path / "odd.h5")).compiled is None


@pytest.mark.slow  # (7-28 s cold; the quick tier ran 12 minutes cold: its parts stay tested there, CI runs both)
def test_a_loaded_keras_model_trains_and_saves_here(tmp_path):
    model = L.load_model(os.path.join(HERE, "convnet.keras"))
    assert [type(l).__name__ for l in model.layers][:3] == ["Conv2D", "BatchNormalization", "MaxPool2D"]
    x, want = _expected("convnet")
    model.compile(sg.optimizers.SGD(0.01), "sparse_categorical_crossentropy")
    before = model.evaluate(x, want[0].argmax(axis=1))
    model.fit(x, want[0].argmax(axis=1), epochs=5, verbose=0)
    assert model.evaluate(x, want[0].argmax(axis=1)) < before
    model.save(str(tmp_path / "mine"))
    np.testing.assert_allclose(L.load_model(str(tmp_path / "mine")).predict(x), model.predict(x), rtol=1e-6)


def test_a_keras_base_model_stays_frozen_while_its_new_head_trains():
    """Keras's transfer learning, continued here: the base's weights and batch statistics
    stay as Keras left them while fit trains the head."""
    model = L.load_model(os.path.join(HERE, "transfer.keras"))
    base = model.layers[0]
    assert not base.trainable and base.trainable_weights == []
    before = [w.copy() for w in base.get_weights()]
    x, want = _expected("transfer")
    model.compile(sg.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    head = model.layers[-1].get_weights()[0].copy()
    model.fit(x, 1 - want[0].argmax(axis=1), epochs=3, verbose=0)
    for kept, was in zip(base.get_weights(), before):
        np.testing.assert_array_equal(kept, was)
    assert not np.allclose(model.layers[-1].get_weights()[0], head)


@pytest.mark.parametrize("suffix", [".weights.h5", ".h5"])
def test_kerass_weights_load_into_the_same_model_built_here(suffix):
    """Keras's load_weights: by the layers' order (this model's names differ from Keras's).
    The batch normalization's axis is the channels' of NHWC images, as Keras's default."""
    model = L.Sequential([
        L.Conv2D(4, 3, padding="same", activation="relu", data_format="channels_last", input_shape=(8, 8, 1)),
        L.BatchNormalization(axis=-1),
        L.MaxPooling2D(2, data_format="channels_last"),
        L.Conv2D(6, 3, use_bias=False, data_format="channels_last"),
        L.Activation("tanh"),
        L.Dropout(0.25),
        L.Flatten(),
        L.Dense(10, activation="relu"),
        L.Dense(2, activation="softmax"),
    ])
    model.load_weights(os.path.join(HERE, "convnet" + suffix))
    x, want = _expected("convnet")
    np.testing.assert_allclose(model.predict(x), want[0], rtol=1e-5, atol=1e-6)
    smaller = L.Sequential([L.Flatten(input_shape=(8, 8, 1)), L.Dense(2)])
    with pytest.raises(ValueError, match="layers with weights"):
        smaller.load_weights(os.path.join(HERE, "convnet" + suffix))


def test_tf_kerass_hdf5_layout_and_refusals(tmp_path):
    """A file in tf.keras 2's layout (nested inbound_nodes, batch_input_shape, weight names
    'dense/kernel:0'), written here; options with no counterpart are refused by name."""
    rng = np.random.default_rng(0)
    w1, b1, w2, b2 = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=(4, 2)), rng.normal(size=2)
    config = {"class_name": "Functional", "config": {"name": "model", "layers": [
        {"class_name": "InputLayer", "name": "in", "config": {"batch_input_shape": [None, 3], "dtype": "float32",
                                                              "name": "in"}, "inbound_nodes": []},
        {"class_name": "Dense", "name": "d1", "config": {"name": "d1", "units": 4, "activation": "tanh",
                                                         "use_bias": True, "trainable": True},
         "inbound_nodes": [[["in", 0, 0, {}]]]},
        {"class_name": "Dense", "name": "d2", "config": {"name": "d2", "units": 2, "activation": "linear",
                                                         "use_bias": True},
         "inbound_nodes": [[["d1", 0, 0, {}]]]}],
        "input_layers": [["in", 0, 0]], "output_layers": [["d2", 0, 0]]}}
    path = str(tmp_path / "tf_keras.h5")
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = [b"in", b"d1", b"d2"]
        group.create_group("in").attrs["weight_names"] = []
        for name, kernel, bias in (("d1", w1, b1), ("d2", w2, b2)):
            layer = group.create_group(name)
            layer.attrs["weight_names"] = [f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()]
            layer.create_dataset(f"{name}/kernel:0", data=kernel.astype("float32"))
            layer.create_dataset(f"{name}/bias:0", data=bias.astype("float32"))
    x = rng.normal(size=(5, 3)).astype("float32")
    np.testing.assert_allclose(L.load_model(path).predict(x), np.tanh(x @ w1 + b1) @ w2 + b2, rtol=1e-5, atol=1e-6)
    config["config"]["layers"][1]["config"]["lora_rank"] = 4
    with h5py.File(path, "r+") as f:
        f.attrs["model_config"] = json.dumps(config)
    with pytest.raises(NotImplementedError, match="Dense option lora_rank=4"):
        L.load_model(path)


@pytest.mark.parametrize("name", ["resume_adam", "resume_sgd", "resume_adamw", "resume_adagrad"])
def test_training_goes_on_from_the_optimizer_state_keras_saved(name):
    """A model Keras trained and saved with its optimizer (Adam's moments, SGD's Nesterov
    momentum, the step count and rate) takes the next two steps Keras took from it: the same
    losses and weights. Started afresh, the second step's loss differs."""
    from symgraph.layers import keras_files
    after = np.load(os.path.join(HERE, f"{name}_after.npz"))
    batches = [(after[f"x{k}"], after[f"y{k}"]) for k in range(2)]
    model = L.load_model(os.path.join(HERE, f"{name}.keras"))
    assert int(model.optimizer.iterations.get_value()) == 9  # (3 epochs of 3 batches)
    losses = [float(np.ravel(model.train_on_batch(x, y))[0]) for x, y in batches]
    np.testing.assert_allclose(losses, after["losses"], rtol=1e-5)
    weights = [(layer, k, w) for layer in model.layers for k, w in enumerate(layer.weights)]
    for n, (layer, k, weight) in enumerate(weights):
        want = keras_files._in_my_layout(layer, k, weight, after[f"w{n}"], name)
        np.testing.assert_allclose(weight.get_value(), want, rtol=2e-5, atol=1e-6, err_msg=weight.name)
    fresh = L.load_model(os.path.join(HERE, f"{name}.keras"), compile=False)
    fresh.compile(type(model.optimizer)(**model.optimizer.named_arguments()), "sparse_categorical_crossentropy")
    afresh = [float(np.ravel(fresh.train_on_batch(x, y))[0]) for x, y in batches]
    assert afresh[0] == pytest.approx(after["losses"][0], rel=1e-5)  # (the same weights at first)
    assert abs(afresh[1] - after["losses"][1]) > 1e-4  # (the state matters: 100 times the tolerance above)


def test_an_optimizer_whose_state_keras_lays_out_otherwise_starts_afresh_with_a_warning():
    from symgraph.layers import keras_files
    path = os.path.join(HERE, "resume_adam.keras")
    model = L.load_model(path, compile=False)
    model.compile(sg.optimizers.Nadam(), "sparse_categorical_crossentropy")
    _, weights = keras_files._read(path)
    with pytest.warns(UserWarning, match="the Nadam optimizer's state is not read"):
        keras_files._set_optimizer_state(model, weights["__optimizer__"], path)
    assert int(model.optimizer.iterations.get_value()) == 0
