"""A whole model in one file, and back: model.save(path) and sg.layers.load_model(path), as
Keras's pair. The file is an .npz archive (no pickle): the weights by position and, as JSON,
how to build the model again: each layer's class and constructor arguments by name
(construction.Recorded), its name and trainable flag, the wiring of a functional model's
calls (skip connections, models used as layers) and, where they are given by name, the
compile settings (the optimizer's class and arguments and its learning rate now; not its
moment estimates, which start afresh)."""
import json
import os
import warnings

import numpy as np

from .. import activations, constraints, initializers, losses, loss_objects, metric_objects, metrics, regularizers, \
    schedules
from .base import Input, Layer

FORMAT, VERSION = "symgraph-model", 1


def save_model(model, path):
    """Write `model` to `path` (any suffix; the content is an .npz archive)."""
    config = {"format": FORMAT, "version": VERSION, "model": _model_config(model), "compile": _compile_config(model)}
    arrays = {f"w{k}": w.get_value() for k, w in enumerate(model.weights)}
    arrays["__config__"] = np.array(json.dumps(config))
    return write_npz(path, arrays)


def write_npz(path, arrays):
    """Write `arrays` ({name: array}) to an .npz archive at `path`, atomically: a crash never
    leaves half a file there."""
    path = str(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = path + ".tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    return path


def model_to_json(model):
    """The model's architecture (no weights, no compile settings) as a JSON string."""
    return json.dumps({"format": FORMAT, "version": VERSION, "model": _model_config(model)})


def model_from_json(json_string, custom_objects=None):
    """A new model (fresh weights) built from model.to_json()'s string, as Keras's."""
    config = json.loads(json_string)
    if config.get("format") != FORMAT or config.get("version") != VERSION:
        raise ValueError(f"this JSON is not a symgraph model of version {VERSION} (made by model.to_json())")
    return model_from_config(config["model"], custom_objects)


def model_from_config(config, custom_objects=None):
    """A new model (fresh weights) built from model.get_config()'s dictionary."""
    classes = {cls.__name__: cls for cls in _subclasses(Layer)}
    classes.update(custom_objects or {})
    return _build_model(config, classes)


def load_model(path, custom_objects=None, compile=True):
    """The model saved at `path`, its weights set and, with compile and settings saved by name,
    compiled. custom_objects: {class name: class} for layers defined outside symgraph (any
    Layer subclass imported when loading is found without it), {name: function} for the
    functions a Lambda layer, a loss or a metric calls. A file Keras wrote (.keras, .h5) is
    read too: the same model of symgraph layers with Keras's weights (keras_files.py), compiled
    as Keras had it."""
    from .keras_files import is_keras_file, load_keras_model
    if is_keras_file(str(path)):
        return load_keras_model(str(path), compile)
    with np.load(str(path), allow_pickle=False) as data:
        if "__config__" not in data.files:
            raise ValueError(f"{path} holds no saved model (weights alone? load them with model.load_weights)")
        config = json.loads(str(data["__config__"]))
        weights = [data[f"w{k}"] for k in range(len(data.files) - 1)]
    if config.get("format") != FORMAT or config.get("version") != VERSION:
        raise ValueError(f"{path} is not a symgraph model file of version {VERSION}")
    classes = {cls.__name__: cls for cls in _subclasses(Layer)}
    classes.update(custom_objects or {})
    model = _build_model(config["model"], classes)
    mine = model.weights
    if len(mine) != len(weights):
        raise ValueError(f"{path}: the rebuilt model has {len(mine)} weights, the file {len(weights)}")
    for w, value in zip(mine, weights):
        if value.shape != w.get_value(borrow=True).shape:
            raise ValueError(f"{path}: {w.name} is {value.shape} in the file, the rebuilt model's is "
                             f"{w.get_value(borrow=True).shape}")
        w.set_value(value)
    if compile and config["compile"] is not None:
        _compile(model, config["compile"])
    return model


# ---- writing ----------------------------------------------------------------------------
def _model_config(model):
    from .model import NestedModel, Sequential
    if model._subclassed:
        raise NotImplementedError(f"{model.name} is a subclassed model: its architecture is the Python code of "
                                  f"{type(model).__name__}; keep its weights with save_weights / load_weights")
    if isinstance(model, Sequential):
        layers = [layer for layer, _, _ in model.calls] + list(model.pending)
        return {"class": "Sequential", "name": model.name, "trainable": model.trainable,
                "input": None if model.input is None else _input_config(model.input),
                "layers": [_layer_config(layer, NestedModel) for layer in layers]}
    made_by = {id(v): -1 - k for k, v in enumerate(model.inputs)}  # (input k is -1 - k; call k is k)
    calls = []
    for k, (layer, source, out) in enumerate(model.calls):
        sources = source if isinstance(source, list) else [source]
        options = layer.call_options(out[0] if isinstance(out, tuple) else out)  # (layer(x, training=...))
        calls.append([model.layers.index(layer), [made_by[id(s)] for s in sources], isinstance(source, list)]
                     + ([options] if options else []))
        made_by.update({id(o): [k, i] for i, o in enumerate(out)} if isinstance(out, tuple) else {id(out): k})
        # (output i of a call of several is [k, i])
    config = {"class": "Model", "name": model.name, "trainable": model.trainable,
              "layers": [_layer_config(layer, NestedModel) for layer in model.layers], "calls": calls}
    if model.several_inputs:
        config["inputs"] = [_input_config(v) for v in model.inputs]
    else:
        config["input"] = _input_config(model.input)
    if model.several_outputs:
        config["outputs"] = [made_by[id(v)] for v in model.outputs]
    else:
        config["output"] = made_by[id(model.output)]
    return config


def _input_config(var):
    return {"shape": list(var.type.shape[1:]), "dtype": var.dtype, "name": var.name}


def _layer_config(layer, nested_class):
    if isinstance(layer, nested_class):
        return {"class": "NestedModel", "model": _model_config(layer.model), "training": layer.training}
    kwargs = layer.named_arguments()
    kwargs["name"] = layer.name  # (generated names too: the weights are named after it)
    kwargs.pop("trainable", None)
    what = f"layer {layer.name}"
    return {"class": type(layer).__name__, "kwargs": {k: _encode(v, what) for k, v in kwargs.items()},
            "trainable": layer.trainable}


def _compile_config(model):
    compiled = getattr(model, "compiled", None)
    if compiled is None:
        return None
    spec = compiled.spec
    loss = _named(spec["loss"], losses._BY_NAME, loss_objects.CLASSES)
    named_metrics = _named(spec["metrics"], metrics._BY_NAME, metric_objects.CLASSES)
    optimizer = compiled.optimizer
    try:
        optimizer_config = {"class": type(optimizer).__name__,
                            "kwargs": {k: _encode(v, "the optimizer") for k, v in optimizer.named_arguments().items()},
                            "learning_rate": optimizer.learning_rate}
    except ValueError:
        optimizer_config = None
    if not _all_named(loss) or not _all_named(named_metrics) or optimizer_config is None:
        warnings.warn(f"{model.name} is saved without its compile settings: its loss, a metric or the optimizer's "
                      f"arguments are not given by name; compile it again after loading", stacklevel=3)
        return None
    return {"optimizer": optimizer_config, "loss": loss, "metrics": named_metrics, "backend": spec["backend"],
            "loss_weights": spec.get("loss_weights")}


def _named(value, table, classes):
    """A loss or metric (or a list, or a dict by output, of them) by name, or a loss or metric
    object as {"class_name", "config"}; None for a function known by no name."""
    if isinstance(value, (list, tuple)):
        return [_named(v, table, classes) for v in value]
    if isinstance(value, dict):
        return {k: _named(v, table, classes) for k, v in value.items()}
    if isinstance(value, str):
        return value
    if classes.get(type(value).__name__) is type(value):
        return {"class_name": type(value).__name__, "config": value.get_config()}
    return next((name for name, fn in table.items() if fn is value), None)


def _is_object(value):
    return isinstance(value, dict) and set(value) == {"class_name", "config"}


def _all_named(value):
    if isinstance(value, list):
        return all(_all_named(v) for v in value)
    if isinstance(value, dict) and not _is_object(value):
        return all(_all_named(v) for v in value.values())
    return value is not None


def _rebuilt(value, classes):
    """_named's value with its objects made again."""
    if isinstance(value, list):
        return [_rebuilt(v, classes) for v in value]
    if _is_object(value):
        return classes[value["class_name"]].from_config(value["config"])
    if isinstance(value, dict):
        return {k: _rebuilt(v, classes) for k, v in value.items()}
    return value


def _encode(value, what):
    """JSON for a constructor argument: plain data, tuples kept as tuples, activations by name,
    initializers, regularizers and constraints by their class and settings."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float, np.integer, np.floating)):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, tuple):
        return {"tuple": [_encode(v, what) for v in value]}
    if isinstance(value, list):
        return [_encode(v, what) for v in value]
    if isinstance(value, Layer):  # (a wrapper's layer: Bidirectional(LSTM(8)))
        from .model import NestedModel
        return {"layer": _layer_config(value, NestedModel)}
    for module, base in _SETTINGS_OBJECTS.items():
        if isinstance(value, base) and getattr(module, type(value).__name__, None) is type(value):
            return {"object": [module.__name__.rsplit(".", 1)[1], type(value).__name__,
                               {k: _encode(v, what) for k, v in value.get_config().items()}]}
    if callable(value):
        name = activations.name_of(value)
        try:
            if activations.get(name) is value:
                return {"activation": name}
        except ValueError:  # (a function of the user's: no activation by its name)
            pass
        if getattr(value, "__name__", "<lambda>") != "<lambda>":
            return {"function": value.__name__}  # (by name: load_model's custom_objects give it back)
    raise ValueError(f"cannot save {what}: its argument {value!r} is not plain data, a named activation or function, an "
                     f"sg.initializers, sg.regularizers or sg.constraints object (a lambda: define it with def, and "
                     f"load with custom_objects={{name: function}}; or save the weights with model.save_weights, "
                     f"and build the model in code)")


_SETTINGS_OBJECTS = {initializers: initializers.Initializer, regularizers: regularizers.Regularizer,
                     constraints: constraints.Constraint, schedules: schedules.LearningRateSchedule}
_MODULES = {"initializers": initializers, "regularizers": regularizers, "constraints": constraints,
            "schedules": schedules}


# ---- reading ----------------------------------------------------------------------------
def _decode(value, classes=None):
    if isinstance(value, list):
        return [_decode(v, classes) for v in value]
    if isinstance(value, dict):
        if "tuple" in value:
            return tuple(_decode(v, classes) for v in value["tuple"])
        if "layer" in value:
            return _build_layer(value["layer"], classes)
        if "object" in value:
            module, name, kwargs = value["object"]
            return getattr(_MODULES[module], name)(**{k: _decode(v, classes) for k, v in kwargs.items()})
        if "function" in value:
            found = (classes or {}).get(value["function"])
            if not callable(found) or isinstance(found, type):
                raise ValueError(f"the model calls the function {value['function']!r}: pass it as "
                                 f"custom_objects={{'{value['function']}': {value['function']}}} to load_model")
            return found
        return activations.get(value["activation"])
    return value


def _build_model(config, classes):
    from .model import Model, Sequential
    if config["class"] == "Sequential":
        model = Sequential(name=config["name"])
        if config["input"] is not None:
            model.add(_input(config["input"]))
        for layer_config in config["layers"]:
            model.add(_build_layer(layer_config, classes))
    else:
        inputs = [_input(c) for c in config["inputs"]] if "inputs" in config else [_input(config["input"])]
        layers = [_build_layer(c, classes) for c in config["layers"]]
        made = {-1 - k: v for k, v in enumerate(inputs)}

        def made_by(ref):
            return made[ref[0]][ref[1]] if isinstance(ref, list) else made[ref]
        for k, (index, sources, as_list, *options) in enumerate(config["calls"]):
            given = [made_by(s) for s in sources]
            made[k] = layers[index](given if as_list else given[0], **(options[0] if options else {}))
        outputs = [made_by(k) for k in config["outputs"]] if "outputs" in config else made_by(config["output"])
        model = Model(inputs if "inputs" in config else inputs[0], outputs, name=config["name"])
    model._trainable = config["trainable"]  # (its layers' own flags are restored one by one)
    return model


def _input(config):
    return Input(tuple(config["shape"]), name=config["name"], dtype=config["dtype"])


def _build_layer(config, classes):
    from .model import NestedModel
    if config["class"] == "NestedModel":
        return NestedModel(_build_model(config["model"], classes), config["training"])
    cls = classes.get(config["class"])
    if cls is None:
        raise ValueError(f"unknown layer class {config['class']!r}: pass it as custom_objects={{'{config['class']}': "
                         f"TheClass}} to load_model")
    layer = cls(**{k: _decode(v, classes) for k, v in config["kwargs"].items()})
    layer.trainable = config["trainable"]
    return layer


def _compile(model, config):
    from .. import optimizers
    spec = config["optimizer"]
    cls = getattr(optimizers, spec["class"])
    optimizer = cls(**{k: _decode(v) for k, v in spec["kwargs"].items()})
    if optimizer.schedule is None:  # (a schedule's rate follows the steps: not saved as a number)
        optimizer.learning_rate = spec["learning_rate"]
    model.compile(optimizer=optimizer, loss=_rebuilt(config["loss"], loss_objects.CLASSES),
                  metrics=_rebuilt(config["metrics"], metric_objects.CLASSES), backend=config["backend"],
                  loss_weights=config.get("loss_weights"))


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)
