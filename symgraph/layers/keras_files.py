"""Models and weights saved by Keras: load_model("model.keras" or "model.h5") builds the same
model of symgraph layers with Keras's weights; model.load_weights("x.weights.h5" or "x.h5")
reads Keras's weights into a model built the same way here.

Read: Keras 3's .keras archive (config.json and model.weights.h5), the HDF5 file of
model.save("x.h5") (Keras 3's legacy writer and tf.keras's: model_config and model_weights),
and save_weights' files (.weights.h5: layers/<name>/vars/<k>; tf.keras's .h5: layer_names and
weight_names). Keras computes on channels-last images, as the layers here do when given
data_format="channels_last" (the config says it for each layer), so the model takes the same
arrays and gives the same outputs. Each weight is moved to this library's layout where it has
another (a Conv2D kernel's (kh, kw, in, out) is (out, in, kh, kw) here: the weight's
keras_axes). Sequential and functional models (several inputs and outputs, a layer called
twice) of the layers this library has under Keras's names; a configuration option with no
counterpart here is refused by name, not dropped. Initializers are not read (the weights
are). The model comes compiled as Keras had it (the optimizer of the same class and settings,
the loss, the metrics), or, where a part has no counterpart here, uncompiled with a warning;
the optimizer goes on from the state Keras 3's archives keep (the step count, the rate and
Adam's, AdamW's, SGD's momentum or Adagrad's slots: training takes the steps Keras would); other
optimizers' state starts afresh with a warning, the legacy HDF5's afresh. A model inside the model (a
trained base under a new head, frozen or not, called with training=False) is read as a
model called as a layer. Keras's operations between layers (keras.ops: x / 255.0, x[:, :4],
ops.concatenate, ops.mean, ...) become symgraph expressions between them (expression.py);
one without a counterpart in the table here is refused by name.
"""
import functools
import inspect
import io
import json
import warnings
import zipfile

import numpy as np

from .. import constraints, regularizers
from .base import _snake  # (Keras's naming: Conv2D -> conv2d)

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# Keras options that change nothing once the weights are read, or that name Keras's own
# machinery (a GPU kernel's choice, a quantization, a serialization detail).
_INERT = {"dtype", "build_config", "use_cudnn", "unroll", "implementation", "zero_output_for_mask", "seed",
          "sparse", "ragged", "optional", "registered_name", "shared_object_id", "batch_input_shape",
          "batch_shape", "synchronized", "unit_forget_bias", "trainable", "module", "name"}
# Keras optimizer settings that ask for nothing here when off (use_ema, amsgrad: the defaults
# pass as such) or that are Keras's own (its jit, its name).
_OPTIMIZER_INERT = {"name", "ema_momentum", "ema_overwrite_frequency", "jit_compile", "is_legacy_optimizer"}
_KERAS_NAMES = {"MaxPool2D": "MaxPooling2D", "AvgPool2D": "AveragePooling2D", "MaxPool1D": "MaxPooling1D",
                "AvgPool1D": "AveragePooling1D", "GlobalAvgPool2D": "GlobalAveragePooling2D",
                "GlobalMaxPool2D": "GlobalMaxPooling2D", "GlobalAvgPool1D": "GlobalAveragePooling1D",
                "GlobalMaxPool1D": "GlobalMaxPooling1D", "Functional": "Model"}


def is_keras_file(path):
    """Whether path holds what Keras writes: HDF5, or a .keras archive."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head == HDF5_SIGNATURE:
        return True
    if head[:4] != b"PK\x03\x04":
        return False
    with zipfile.ZipFile(path) as archive:
        return "config.json" in archive.namelist()


def load_keras_model(path, compile=True):
    """The model in a Keras file, built of symgraph layers, with its weights; with compile,
    compiled as the file's training configuration says (as Keras's load_model), its optimizer
    going on from the state the file keeps (Keras 3's archives)."""
    config, weights = _read(path)
    if config is None:
        raise ValueError(f"{path} holds Keras weights alone: build the model, then model.load_weights({path!r})")
    _writer_version[0] = _keras_major(path)
    try:
        model = build_model(config)
    finally:
        _writer_version[0] = None
    _assign_by_name(model, weights, path)
    training = _training_config(path, config)
    if compile and training:
        _compile_as_keras(model, training, path)
        state = weights.get("__optimizer__")
        if state and getattr(model, "optimizer", None) is not None:
            _set_optimizer_state(model, state, path)
    return model


def _set_optimizer_state(model, arrays, path):
    """Keras 3's optimizer variables into the model's optimizer: its step count, learning rate
    and each trainable weight's slots (in this library's layouts), so training goes on as in
    Keras. An optimizer whose state is laid out otherwise starts afresh, with a warning."""
    optimizer = model.optimizer
    kind = type(optimizer).__name__
    names = optimizer.keras_slots  # (after iterations and the rate, each trainable variable's in turn)
    trainable = _keras_trainable_order(model)
    if names is None or len(arrays) != 2 + len(trainable) * len(names) or optimizer.schedule is not None:
        warnings.warn(f"{path}: the {kind} optimizer's state is not read (it starts afresh)", stacklevel=3)
        return
    optimizer.iterations.set_value(np.asarray(arrays[0], dtype=optimizer.iterations.dtype))
    optimizer.lr.set_value(np.asarray(arrays[1], dtype=optimizer.lr.dtype))
    slots = iter(arrays[2:])
    for layer, index, weight in trainable:
        for name in names:
            value = _in_my_layout(layer, index, weight, next(slots), path)
            optimizer.slot(weight, name).set_value(value)


def _keras_trainable_order(model):
    """(layer, index, weight) of each weight Keras's optimizer keeps a state for: the trainable
    ones, layer by layer (a model inside the model in its place), as model.trainable_variables."""
    from .model import NestedModel
    found = []
    for layer in model.layers:
        if isinstance(layer, NestedModel):
            found += _keras_trainable_order(layer.model) if layer.trainable else []
            continue
        trainable = set(layer.trainable_weights)
        found += [(layer, k, w) for k, w in enumerate(layer.weights) if w in trainable]
    return found


def _training_config(path, config):
    """The optimizer, loss and metrics Keras compiled the model with: Keras 3's compile_config,
    the legacy HDF5's training_config attribute; None where it was not compiled."""
    if config.get("compile_config"):
        return config["compile_config"]
    with open(path, "rb") as f:
        if f.read(8) != HDF5_SIGNATURE:
            return None
    with _h5py().File(path, "r") as f:
        found = f.attrs.get("training_config")
    return None if found is None else json.loads(found if isinstance(found, str) else found.decode())


def _compile_as_keras(model, training, path):
    """model.compile with Keras's optimizer (its class and settings), loss and metrics; where a
    part has no counterpart here, a warning, and the model left for the user to compile."""
    from .. import losses, metric_objects, optimizers
    try:
        spec = training.get("optimizer") or training.get("optimizer_config")
        if isinstance(spec, dict):
            settings = dict(spec.get("config", {}))
            if spec["class_name"] != "AdamW" and settings.pop("weight_decay", None) is not None:
                # (Keras 3's is decoupled, AdamW's; the base optimizer's here adds an L2 gradient)
                raise NotImplementedError("Keras's decoupled weight_decay on " + spec["class_name"])
            optimizer = _settings_object({"class_name": spec["class_name"], "config": {
                k: v for k, v in settings.items() if k not in _OPTIMIZER_INERT and not _plain_default(k, v)}},
                optimizers, "compile", "optimizer")
        else:
            optimizer = spec or "rmsprop"
        model.compile(optimizer, _objectives(training.get("loss"), losses), _objectives(training.get("metrics"),
                      metric_objects), loss_weights=training.get("loss_weights"))
    except (NotImplementedError, TypeError, ValueError) as exc:
        warnings.warn(f"{path}: not compiled as Keras had it ({exc}); compile the model before training",
                      stacklevel=3)


def _objectives(value, module):
    """A loss or metrics as Keras wrote them: names as they are, objects by class name here."""
    if isinstance(value, list):
        return [_objectives(v, module) for v in value]
    if isinstance(value, dict) and "class_name" in value:
        settings = {k: v for k, v in value.get("config", {}).items() if k not in ("name", "dtype", "reduction")}
        return _settings_object({"class_name": value["class_name"], "config": settings}, module, "compile",
                                value["class_name"])
    if isinstance(value, dict):  # (per output, by name)
        return {k: _objectives(v, module) for k, v in value.items()}
    return value


def load_keras_weights(model, path):
    """Keras's weights into `model`, built as the Keras model was: by the layers' order (as
    Keras's load_weights), each layer's weights checked against its shapes."""
    _, weights = _read(path)
    weights.pop("__optimizer__", None)  # (load_weights reads the layers' weights alone, as Keras's)
    order = weights.pop("__order__", None)
    mine = [layer for layer in model.layers if layer.weights]
    if order is None:  # (save_weights' file of Keras 3: groups named by class and count)
        seen, order = {}, []
        for layer in mine:
            key = _snake(_KERAS_NAMES.get(type(layer).__name__, type(layer).__name__))
            count = seen.get(key, 0)
            seen[key] = count + 1
            order.append(key if count == 0 else f"{key}_{count}")
        found = [weights.get(name) for name in order]
    else:
        found = [weights[name] for name in order if len(weights[name])]
    held = len({id(arrays) for arrays in weights.values() if isinstance(arrays, list) and len(arrays)})
    if held != len(mine) or any(f is None for f in found):
        raise ValueError(f"{path}: the file holds weights for {held} layers, {model.name} has {len(mine)} "
                         f"layers with weights (built as the Keras model was?)")
    for layer, arrays in zip(mine, found):
        _set(layer, arrays, path)


# ---- reading ------------------------------------------------------------------------------
def _read(path):
    """(the model's config or None, {layer name: [arrays in Keras's order]}, with "__order__":
    the layers' order where the file keeps it)."""
    h5py = _h5py()
    with open(path, "rb") as f:
        is_hdf5 = f.read(8) == HDF5_SIGNATURE
    if not is_hdf5:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
            with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as f:
                found = _vars_by_name(f)
                if "optimizer" in f and "vars" in f["optimizer"]:
                    found["__optimizer__"] = _collect(f["optimizer"])
                return config, found
    with h5py.File(path, "r") as f:
        config = f.attrs.get("model_config")
        config = json.loads(config if isinstance(config, str) else config.decode()) if config is not None else None
        group = f["model_weights"] if "model_weights" in f else f
        if "layer_names" in group.attrs:
            return config, _weights_by_layer_names(group)
        return config, _vars_by_name(f)


def _h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover (a dependency: make install brings it)
        raise ImportError("reading Keras's files needs h5py: pip install h5py") from None
    return h5py


def _text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def _weights_by_layer_names(group):
    """The HDF5 layout of model.save("x.h5") and tf.keras's save_weights: layer_names, and
    each layer's weight_names (paths inside its group)."""
    names = [_text(n) for n in group.attrs["layer_names"]]
    found = {"__order__": names}
    for name in names:
        layer = group[name]
        found[name] = [np.asarray(layer[_text(w)]) for w in layer.attrs.get("weight_names", [])]
    return found


def _vars_by_name(f):
    """Keras 3's layout: layers/<group>/vars/<k>, the group's vars named after the layer, and
    sublayers' groups inside (an LSTM's cell; Bidirectional's forward_layer, backward_layer);
    a model inside the model has layers of its own (a dict of them here)."""
    found = {}
    layers = f.get("layers")
    for key in layers or []:
        group = layers[key]
        name = _text(group["vars"].attrs.get("name", key)) if "vars" in group else key
        found[name] = _vars_by_name(group) if "layers" in group else _collect(group)
        found.setdefault(key, found[name])  # (by its group's name too: save_weights' positional reading)
    return found


def _collect(group):
    arrays = []
    if "vars" in group:
        arrays += [np.asarray(group["vars"][k]) for k in sorted(group["vars"], key=int)]
    children = [k for k in group if k not in ("vars", "optimizer")]
    for k in sorted(children, key=lambda k: ({"forward_layer": 0, "backward_layer": 1, "cell": 0}.get(k, 2), k)):
        arrays += _collect(group[k])
    return arrays


# ---- building ------------------------------------------------------------------------------
def build_model(config):
    """A symgraph model from Keras's model config ({"class_name", "config"})."""
    from .model import Model, Sequential
    kind = _KERAS_NAMES.get(config["class_name"], config["class_name"])
    body = config["config"]
    if kind == "Sequential":
        model = Sequential(name=body.get("name"))
        layers = list(body["layers"])
        shape, dtype = _input_of(layers, body)
        if shape is not None:
            from .base import Input
            model.add(Input(shape, dtype=dtype))
        for entry in layers:
            if entry["class_name"] != "InputLayer":
                model.add(build_layer(entry))
        return model
    if kind != "Model":
        raise NotImplementedError(f"a Keras model of class {config['class_name']} (a subclassed model's file "
                                  f"holds no architecture: build it here and load_weights)")
    return _functional(body, Model)


def _input_of(layers, body):
    """(example shape, dtype) of a Sequential's first InputLayer, its build_input_shape, or a
    first layer's batch_input_shape (tf.keras's)."""
    for entry in layers[:1]:
        c = entry["config"]
        shape = c.get("batch_shape") or c.get("batch_input_shape")
        if shape is not None:
            return tuple(shape[1:]), _dtype(c.get("dtype"))
    shape = body.get("build_input_shape")
    return (tuple(shape[1:]), None) if shape else (None, None)


def _dtype(value):
    if isinstance(value, dict):  # (Keras 3's DTypePolicy)
        value = value.get("config", {}).get("name")
    return None if value in (None, "float32", "mixed_float16", "mixed_bfloat16") else value


def _functional(body, Model):
    from .base import Input
    made, pending, layers, operations = {}, [], {}, {}
    for entry in body["layers"]:
        name = entry["config"]["name"]
        if entry["class_name"] == "InputLayer":
            c = entry["config"]
            shape = c.get("batch_shape") or c.get("batch_input_shape")
            made[(name, 0, 0)] = Input(tuple(shape[1:]), name=name, dtype=_dtype(c.get("dtype")))
            continue
        if _is_operation(entry):  # (keras.ops between layers: x / 255.0, x[:, :4])
            operations[name] = keras_operation(entry)
        else:
            layers[name] = build_layer(entry)
        pending += [(name, k, node) for k, node in enumerate(entry.get("inbound_nodes", []))]

    def reads(name, node):
        return _tensor_refs(node) if name in operations else _sources(node)[0]
    while pending:  # (a layer called twice may wait for a layer listed after it)
        ready = [p for p in pending if all(ref in made for ref in reads(p[0], p[2]))]
        if not ready:
            raise ValueError(f"the Keras model's calls of {sorted({p[0] for p in pending})} read tensors no layer makes")
        for name, k, node in ready:
            if name in operations:  # (an expression between layers here: Expression)
                out = operations[name](*_with_tensors(node["args"], made), **_with_tensors(node["kwargs"], made))
                made[(name, k, 0)] = out
                pending.remove((name, k, node))
                continue
            refs, as_list, training = _sources(node)
            given = [made[ref] for ref in refs]
            out = layers[name](given if as_list else given[0], training=training)
            for t, o in enumerate(out if isinstance(out, list) else [out]):
                made[(name, k, t)] = o
            pending.remove((name, k, node))
    # (one input or output may be written as its reference alone: ["input_1", 0, 0])
    ends = [[r] if isinstance(r[0], str) else r for r in (body["input_layers"], body["output_layers"])]
    inputs, outputs = ([made[tuple(ref)] for ref in refs] for refs in ends)
    return Model(inputs if len(inputs) > 1 else inputs[0], outputs if len(outputs) > 1 else outputs[0],
                 name=body.get("name"))


def _tensor_refs(value):
    """Every (layer, node, tensor) a Keras 3 node's arguments read, however nested."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            return [tuple(value["config"]["keras_history"])]
        return [ref for v in value.values() for ref in _tensor_refs(v)]
    if isinstance(value, list):
        return [ref for v in value for ref in _tensor_refs(v)]
    return []


def _with_tensors(value, made):
    """A node's arguments with its tensors the variables made for them, slices as slices."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            return made[tuple(value["config"]["keras_history"])]
        if value.get("class_name") == "__slice__":
            return slice(*(value["config"][k] for k in ("start", "stop", "step")))
        return {k: _with_tensors(v, made) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_tensors(v, made) for v in value]
    return value


def _is_operation(entry):
    """Whether a functional config's entry is one of keras.ops (its module says so; the legacy
    HDF5 writer leaves the module out: an operation's config has no trainable, a layer's has)."""
    module = entry.get("module")
    if module is not None:
        return ".ops." in module
    return entry["class_name"] in _operations() and "trainable" not in entry["config"]


def keras_operation(entry):
    """symgraph's function for one of keras.ops in a functional model's config, its settings
    (axis, keepdims, newshape, dtype...) bound."""
    function = _operations().get(entry["class_name"])
    if function is None:
        raise NotImplementedError(f"Keras's operation {entry['class_name']} ({entry.get('module')}) between layers "
                                  f"has no counterpart here")
    settings = {k: v for k, v in entry["config"].items() if k != "name"}
    return lambda *args, **kwargs: function(*args, **{**settings, **kwargs})


@functools.lru_cache(maxsize=None)
def _operations():
    import symgraph as sg
    from .. import nn

    def axis_(value):  # (Keras writes a tuple of axes as a list)
        return tuple(value) if isinstance(value, list) else value
    return {
        "Add": lambda a, b: a + b, "Subtract": lambda a, b: a - b, "Multiply": lambda a, b: a * b,
        "TrueDivide": lambda a, b: a / b, "Divide": lambda a, b: a / b, "Power": lambda a, b: a ** b,
        "Maximum": sg.maximum, "Minimum": sg.minimum, "Negative": sg.neg, "Absolute": sg.abs, "Abs": sg.abs,
        "Exp": sg.exp, "Log": sg.log, "Sqrt": sg.sqrt, "Square": sg.sqr, "Tanh": sg.tanh, "Sin": sg.sin,
        "Cos": sg.cos, "Sign": sg.sign, "Floor": sg.floor, "Erf": sg.erf,
        "Relu": nn.relu, "Sigmoid": nn.sigmoid, "Softplus": nn.softplus, "Elu": nn.elu,
        "Softmax": lambda x, axis=-1: nn.softmax(x, axis=axis),
        "LogSoftmax": lambda x, axis=-1: nn.log_softmax(x, axis=axis),
        "Mean": lambda x, axis=None, keepdims=False: x.mean(axis=axis_(axis), keepdims=keepdims),
        "Sum": lambda x, axis=None, keepdims=False: x.sum(axis=axis_(axis), keepdims=keepdims),
        "Max": lambda x, axis=None, keepdims=False, initial=None: x.max(axis=axis_(axis), keepdims=keepdims),
        "Min": lambda x, axis=None, keepdims=False, initial=None: x.min(axis=axis_(axis), keepdims=keepdims),
        "Concatenate": lambda xs, axis=0: sg.concatenate(xs, axis=axis),
        "Reshape": lambda x, newshape: sg.reshape(x, newshape),
        "Transpose": lambda x, axes=None: sg.transpose(x, axes),
        "ExpandDims": lambda x, axis: sg.expand_dims(x, axis),
        "Squeeze": lambda x, axis=None: sg.squeeze(x, axis_(axis)),
        "Matmul": sg.matmul, "Cast": lambda x, dtype: sg.cast(x, dtype),
        "Clip": lambda x, x_min, x_max: sg.clip(x, x_min, x_max), "Where": sg.switch,
        "GetItem": lambda x, key: x[tuple(key) if isinstance(key, list) else key],
    }


def _sources(node):
    """([(layer, node, tensor)], whether the layer takes a list, the call's training) of an
    inbound node: Keras 3's {"args", "kwargs"} or tf.keras's [[layer, node, tensor, kwargs], ...]."""
    if isinstance(node, dict):
        first = node["args"][0]
        tensors = first if isinstance(first, list) else [first]
        refs = [tuple(t["config"]["keras_history"]) for t in tensors]
        kwargs = node.get("kwargs") or {}
        return refs, isinstance(first, list), kwargs.get("training")
    refs = [tuple(t[:3]) for t in node]
    kwargs = node[0][3] if len(node[0]) > 3 else {}
    return refs, len(node) > 1, (kwargs or {}).get("training")


def build_layer(entry):
    """The symgraph layer for one of Keras's layer configs ({"class_name", "config"})."""
    from .. import layers as catalogue
    from .base import Layer
    name = _KERAS_NAMES.get(entry["class_name"], entry["class_name"])
    cls = getattr(catalogue, name, None)
    if name in ("Sequential", "Model"):  # (a model as a layer: a trained base under a new head)
        model = build_model(entry)
        model.trainable = entry["config"].get("trainable", True)
        return model
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise NotImplementedError(f"Keras's layer {entry['class_name']} has no counterpart in symgraph.layers")
    config = dict(entry["config"])
    if isinstance(config.get("layer"), dict):  # (a wrapper: Bidirectional, TimeDistributed)
        inner = build_layer(config.pop("layer"))
        config.pop("backward_layer", None)  # (Bidirectional makes its own, as Keras's default)
        layer = cls(inner, **_arguments(cls, config, entry["class_name"]))
    else:
        layer = cls(**_arguments(cls, config, entry["class_name"]))
    layer.trainable = config.get("trainable", True)  # (a frozen layer stays frozen)
    return layer


def _arguments(cls, config, keras_name):
    """The constructor's arguments from a Keras config: the options it takes (initializers
    left out: the weights are read), the inert ones dropped, any other refused."""
    accepted = _accepted(cls)
    if not config.get("renorm"):  # (batch renormalization's settings, when it is off)
        config = {k: v for k, v in config.items() if k not in ("renorm_clipping", "renorm_momentum")}
    arguments = {"name": config["name"]} if "name" in config else {}
    for key, value in config.items():
        if key in _INERT:
            continue
        if key.endswith("_initializer"):
            continue
        if key.endswith("_regularizer") or key == "activity_regularizer":
            value = _settings_object(value, regularizers, keras_name, key)
        elif key.endswith("_constraint"):
            value = _settings_object(value, constraints, keras_name, key)
        elif key == "activation" or key == "recurrent_activation":
            value = _activation(value)
        elif isinstance(value, list) and key not in ("axis", "target_shape", "dims", "cropping", "padding"):
            value = tuple(value)
        if key in accepted:
            arguments[key] = value
        elif not _plain_default(key, value):
            raise NotImplementedError(f"Keras's {keras_name} option {key}={value!r} has no counterpart here")
    if "axis" in arguments and isinstance(arguments["axis"], list) and len(arguments["axis"]) == 1:
        arguments["axis"] = arguments["axis"][0]
    return arguments


def _accepted(cls):
    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        names.update(p.name for p in inspect.signature(init).parameters.values()
                     if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL))
    return names - {"self"}


def _plain_default(key, value):
    """A value that asks for nothing a layer here does not do by default."""
    if value in (None, False, 0, 0.0, "", [], {}, (), "auto"):
        return True
    return (key == "data_format" and value == "channels_last") or (key == "groups" and value == 1) \
        or (key in ("center", "scale") and value is True) \
        or (key in ("dilation_rate", "strides") and set(np.ravel(value)) == {1})


def _activation(value):
    if isinstance(value, dict):  # (Keras 3 may write {"class_name": "function", "config": "relu"})
        value = value.get("config")
    value = value if value is None or isinstance(value, str) else str(value)
    if value == "hard_sigmoid" and (_writer_version[0] or 0) >= 3:  # (Keras 3 changed its slope: 0.2 -> 1/6)
        return "hard_sigmoid_keras3"
    return value


_writer_version = [None]  # (the major version of the Keras that wrote the file being read)


def _keras_major(path):
    """The major version of the Keras that wrote the file (its metadata; None where it says none)."""
    try:
        with open(path, "rb") as f:
            is_hdf5 = f.read(8) == HDF5_SIGNATURE
        if is_hdf5:
            with _h5py().File(path, "r") as f:
                version = f.attrs.get("keras_version")
        else:
            with zipfile.ZipFile(path) as archive:
                version = json.loads(archive.read("metadata.json")).get("keras_version")
        version = version.decode() if isinstance(version, bytes) else version
        return int(str(version).split(".")[0]) if version else None
    except (KeyError, ValueError, OSError):
        return None


def _settings_object(value, module, keras_name, key):
    """A regularizer or constraint from Keras's serialized form, by its class name here."""
    if value is None:
        return None
    cls = getattr(module, value.get("class_name", ""), None) if isinstance(value, dict) else None
    if cls is None:
        raise NotImplementedError(f"Keras's {keras_name} {key}={value!r} has no counterpart here")
    return cls(**value.get("config", {}))


# ---- weights -------------------------------------------------------------------------------
def _assign_by_name(model, weights, path):
    for layer in model.layers:
        if not layer.weights:
            continue
        arrays = weights.get(layer.name)
        if arrays is None:
            raise ValueError(f"{path} holds no weights for layer {layer.name}")
        _set(layer, arrays, path)


def _set(layer, arrays, path):
    """Keras's arrays for one layer, moved to this library's layouts, into its weights: a
    model inside the model by its layers' names (Keras 3's files) or in their order."""
    from .model import NestedModel
    if isinstance(layer, NestedModel):
        if isinstance(arrays, dict):
            return _assign_by_name(layer.model, arrays, path)
        arrays = list(arrays)
        for inner in [l for l in layer.model.layers if l.weights]:
            _set(inner, arrays[:len(inner.weights)], path)
            arrays = arrays[len(inner.weights):]
        return None
    arrays = list(arrays)
    from .normalization import BatchNormalization
    if isinstance(layer, BatchNormalization) and len(arrays) == 2:  # (Keras's center and scale off)
        arrays = [np.ones(arrays[0].shape), np.zeros(arrays[0].shape)] + arrays
    elif isinstance(layer, BatchNormalization) and len(arrays) == 3:
        raise NotImplementedError(f"{layer.name}: a Keras BatchNormalization with only one of center and scale")
    if len(arrays) != len(layer.weights):
        raise ValueError(f"{path}: layer {layer.name} has {len(layer.weights)} weights, the file {len(arrays)}")
    values = [_in_my_layout(layer, k, weight, array, path) for k, (weight, array) in enumerate(zip(layer.weights,
                                                                                                  arrays))]
    for weight, value in zip(layer.weights, values):
        weight.set_value(value)


def _in_my_layout(layer, index, weight, array, path):
    """Keras's array of a layer's weight (or of its optimizer state, laid out as the weight) in
    this library's layout: a depthwise kernel reshaped, the axes moved by keras_axes."""
    from .conv import DepthwiseConv2D
    if isinstance(layer, DepthwiseConv2D) and index == 0 and array.ndim == 4:
        # Keras's depthwise kernel (kh, kw, channels, multiplier) is (channels * multiplier, 1, kh, kw)
        # here, the output channels in Keras's order (each input channel's multiplier outputs in turn)
        kh, kw, channels, multiplier = array.shape
        array = array.transpose(2, 3, 0, 1).reshape(channels * multiplier, 1, kh, kw)
    axes = getattr(weight, "keras_axes", None)
    if axes is not None:
        array = np.transpose(array, np.argsort(axes))
    mine = weight.get_value(borrow=True)
    if array.shape != mine.shape and [d for d in array.shape if d != 1] == [d for d in mine.shape if d != 1]:
        array = array.reshape(mine.shape)  # (Keras keeps shared axes' length 1: PReLU's (1, 1, c))
    if array.shape != mine.shape:
        raise ValueError(f"{path}: {weight.name} is {array.shape} in the file (in this library's layout), "
                         f"{mine.shape} here")
    return array.astype(mine.dtype, copy=False)
