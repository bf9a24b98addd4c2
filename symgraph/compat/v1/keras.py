"""tf.keras in TensorFlow 1 code: symgraph's Keras API (sg.layers, sg.optimizers, sg.losses,
sg.callbacks...) under TensorFlow's names, its image layers channels_last unless told otherwise,
as tf.keras's (symgraph's own default is channels_first):

    model = tf.keras.Sequential([tf.keras.layers.Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)),
                                 tf.keras.layers.Flatten(), tf.keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=5)

tf.keras.datasets reads Keras's cached files (~/.keras/datasets/mnist.npz...) where they are:
nothing is downloaded."""
import inspect
import os
import types

import numpy as np

import symgraph as sg
from ...layers.base import WEIGHT_LISTENERS
from ...ops.base import as_variable


def _adopt(weight, trainable, penalty):
    """A Keras layer's new weight in the default graph's collections (global, trainable, its
    penalty in REGULARIZATION_LOSSES), with an initializer: TensorFlow 1 code using tf.keras
    layers trains, saves and initializes them with its own variables."""
    from .names import TensorOp
    from .session import Operation
    from .variables import GraphKeys, _collections
    weight.initial_value = as_variable(weight.get_value().copy())
    weight.initializer = Operation({weight: weight.initial_value})
    weight.trainable = trainable
    weight.op = TensorOp(weight.name, "VariableV2", [weight])  # (its name stays Keras's: "dense/kernel")
    _collections.setdefault(GraphKeys.GLOBAL_VARIABLES, []).append(weight)
    if trainable:
        _collections.setdefault(GraphKeys.TRAINABLE_VARIABLES, []).append(weight)
    if penalty is not None:
        _collections.setdefault(GraphKeys.REGULARIZATION_LOSSES, []).append(penalty(weight))


WEIGHT_LISTENERS.append(_adopt)


def _channels_last(cls):
    """cls with data_format "channels_last" unless one is given (its name and saved form cls's)."""
    def __init__(self, *args, data_format=None, **kwargs):
        kwargs["data_format"] = data_format or "channels_last"
        self._construction = (cls, args, dict(kwargs))  # (saved as the symgraph layer it is: construction.py)
        cls.__init__(self, *args, **kwargs)
    return type(cls.__name__, (cls,), {"__init__": __init__, "__doc__": cls.__doc__, "__module__": __name__})


def _takes_data_format(obj):
    if not isinstance(obj, type):
        return False
    return any("data_format" in inspect.signature(klass.__init__).parameters
               for klass in obj.__mro__ if "__init__" in klass.__dict__)


layers = types.SimpleNamespace(**{name: _channels_last(obj) if _takes_data_format(obj) else obj
                                  for name in sg.layers.__all__ for obj in [getattr(sg.layers, name)]})
layers.Layer = sg.layers.Layer
models = types.SimpleNamespace(Sequential=sg.layers.Sequential, Model=sg.layers.Model, load_model=sg.layers.load_model,
                               model_from_json=sg.layers.model_from_json, clone_model=sg.layers.clone_model,
                               model_from_config=sg.layers.model_from_config)


def _load_cached(name, path, arrays):
    """A Keras dataset from its cached .npz (~/.keras/datasets/<path>, or the path given)."""
    where = path if os.path.isabs(path) else os.path.join(os.path.expanduser("~"), ".keras", "datasets", path)
    if not os.path.exists(where):
        raise FileNotFoundError(f"tf.keras.datasets.{name}.load_data: {where} is not there, and nothing is "
                                f"downloaded here; put Keras's {path} there (or use sg.datasets.load_digits(), "
                                f"bundled, or sg.datasets.load_mnist(folder) for MNIST's IDX files)")
    with np.load(where, allow_pickle=False) as stored:
        x_train, y_train, x_test, y_test = (stored[k] for k in arrays)
    return (x_train, y_train), (x_test, y_test)


datasets = types.SimpleNamespace(
    mnist=types.SimpleNamespace(load_data=lambda path="mnist.npz": _load_cached(
        "mnist", path, ("x_train", "y_train", "x_test", "y_test"))),
    fashion_mnist=types.SimpleNamespace(load_data=lambda path="fashion-mnist.npz": _load_cached(
        "fashion_mnist", path, ("x_train", "y_train", "x_test", "y_test"))))

Sequential, Model, Input = sg.layers.Sequential, sg.layers.Model, sg.layers.Input
optimizers, losses, metrics, callbacks = sg.optimizers, sg.losses, sg.metrics, sg.callbacks
activations, initializers, regularizers, constraints = sg.activations, sg.initializers, sg.regularizers, \
    sg.constraints
backend, utils = sg.keras_backend, sg.utils
from ...preprocessing import image as _image, sequence as _sequence, text as _text  # noqa: E402
preprocessing = types.SimpleNamespace(image=_image, sequence=_sequence, text=_text)
