"""Keras's model subclassing: the layers made in __init__, the forward pass written in call.

    class Classifier(sg.layers.Model):
        def __init__(self):
            super().__init__()
            self.hidden = sg.layers.Dense(64, activation="relu")
            self.dropout = sg.layers.Dropout(0.5)
            self.out = sg.layers.Dense(10, activation="softmax")

        def call(self, inputs, training=None):
            return self.out(self.dropout(self.hidden(inputs)) + 0.0)

A subclassed model has no recorded layer calls: each trace (training, evaluation, predict)
runs call() on fresh symbolic inputs, and the layers it calls join that trace (its mode, its
batch-statistics updates and activity penalties: base.calling_contexts), whatever else call
does between them (any symgraph expression). It is built on its first data (fit, predict,
evaluate), by build(input_shape) with the batch axis as Keras's, or by a call on a symbolic
input; compile before that waits for it. Its layers are those assigned as its attributes
(alone, or in lists, tuples and dicts), in order: their weights are the model's, saved by
save_weights. As Keras's, its architecture is Python code: get_config and save refuse it.
Python branches on `training` in call see the mode of each trace.
"""
import inspect
import re

import numpy as np

from .. import config
from ..graph import Variable
from .base import Input, Layer, TraceContext, calling_contexts, tracing_modes


def start(model, name=None, trainable=True, **unknown):
    """Model() with no inputs and outputs: a subclass that writes call()."""
    if unknown:
        raise TypeError(f"Model() got unexpected keyword arguments {sorted(unknown)}")
    if not callable(getattr(type(model), "call", None)):
        raise TypeError("Model takes (inputs, outputs) (the functional API), or is subclassed with a "
                        "call(inputs) method (Keras's model subclassing)")
    object.__setattr__(model, "_subclassed", True)
    model.name = name or re.sub(r"(?<!^)(?=[A-Z])", "_", type(model).__name__).lower()
    model.layers, model.calls = [], []
    model.input = model.output = model.input_shape = None
    model.compiled, model.deferred_compile, model.stop_training = None, None, False
    model.trainable = trainable


def track(model, attribute, value):
    """Note the layers (and models) assigned to an attribute, alone or in a container."""
    if attribute == "layers" or attribute.startswith("_"):
        return
    from .model import Model
    values = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else [value]
    for item in values:
        if isinstance(item, (Layer, Model)) and item is not model and all(item is not k for k in model.layers):
            model.layers.append(item)


def build_from_data(model, x):
    """Build for arrays like x (an array, or a list for several inputs): float data in floatX,
    integer ids kept integers."""
    if isinstance(x, dict):
        raise TypeError(f"{model.name}: a subclassed model takes an array or a list of arrays, not a dict")
    several = isinstance(x, (list, tuple))
    arrays = [np.asarray(a) for a in (x if several else [x])]
    build(model, [(a.shape[1:], config.floatX if a.dtype.kind == "f" else a.dtype.name) for a in arrays], several)


def build_from_shapes(model, input_shape):
    """Keras's model.build(input_shape): the shape with the batch axis, (None, 784), or a list."""
    several = isinstance(input_shape, list) and all(isinstance(s, (list, tuple)) for s in input_shape)
    shapes = input_shape if several else [input_shape]
    build(model, [(tuple(s)[1:], config.floatX) for s in shapes], several)


def build_from_variables(model, x):
    several = isinstance(x, (list, tuple))
    build(model, [(v.type.shape[1:], v.dtype) for v in (x if several else [x])], several)


def build(model, specs, several):
    """Trace call() once, in inference mode, on Inputs of these (shape, dtype): the layers make
    their weights; the model learns its inputs, outputs and their shapes."""
    inputs = [Input(tuple(shape), name=f"input_{k + 1}" if several else "input", dtype=dtype)
              for k, (shape, dtype) in enumerate(specs)]
    model._input_list = inputs if several else None
    model.input = inputs if several else inputs[0]
    model.input_shape = [tuple(v.type.shape) for v in inputs] if several else tuple(inputs[0].type.shape)
    try:
        outs = replay(model, model.input, TraceContext(False))
    except Exception:
        model._input_list, model.input, model.input_shape = None, None, None
        raise
    model._output_list = outs if isinstance(outs, list) else None
    model.output = outs
    if model.deferred_compile is not None:
        from .training import compile_model
        pending, model.deferred_compile = model.deferred_compile, None
        compile_model(model, *pending)


def replay(model, x, context):
    """call(x) in `context`: the layers it calls join this trace."""
    calling_contexts.append(context)
    tracing_modes.append(context.training)
    try:
        out = model.call(x, training=context.training) if _takes_training(type(model)) else model.call(x)
    finally:
        calling_contexts.pop()
        tracing_modes.pop()
    outs = list(out) if isinstance(out, (list, tuple)) else out
    for v in outs if isinstance(outs, list) else [outs]:
        if not isinstance(v, Variable):
            raise TypeError(f"{model.name}.call returned {type(v).__name__}: it returns symbolic outputs (the "
                            f"layers' and symgraph expressions'), one or a list")
    return outs


def _takes_training(cls):
    return "training" in inspect.signature(cls.call).parameters


def output_names(model):
    """Keras's names for a subclassed model's outputs: output_1, output_2, ..."""
    count = len(model._output_list) if model._output_list is not None else 1
    return [f"output_{k + 1}" for k in range(count)]


def not_built_error(model, what):
    return ValueError(f"{model.name} is not built yet, so it has no {what}: call build(input_shape) (with the "
                      f"batch axis: (None, 784)), or fit or predict on data first")
