"""Expressions between the layers of a functional model: Keras's TFOpLambda.

    inputs = sg.layers.Input((4,))
    h = sg.layers.Dense(8)(inputs / 255.0)
    out = sg.layers.Dense(1)(sg.nn.relu(sg.concatenate([h, h * 2], axis=1)))

The model records layer calls; a value made by symgraph operations instead (inputs / 255.0)
becomes a call of an Expression layer: the graph from the layer outputs and model inputs it
reads (its sources) to the value, replayed on their new values in each trace. It has no
weights; as Lambda's function, it is not saved as configuration (save_weights keeps the
model's weights).
"""
from ..graph import Constant, SharedVariable, clone_replace
from .base import Layer


class Expression(Layer):
    """The symgraph expression `output` of `sources` (layer outputs and model inputs)."""

    def __init__(self, output, sources):
        super().__init__()
        self.expression, self.sources = output, list(sources)
        self.built = True
        self.input_shape = [tuple(s.type.shape) for s in self.sources]
        self.output_shape = tuple(output.type.shape)

    def call(self, inputs, context):
        given = inputs if isinstance(inputs, list) else [inputs]
        (out,), _ = clone_replace([self.expression], dict(zip(self.sources, given)))
        return out

    def compute_output_shape(self, input_shape):
        return self.output_shape

    def named_arguments(self):
        raise NotImplementedError(f"{self.name} is an expression between layers (as inputs / 255.0): a model with "
                                  f"one is not saved as configuration; keep its weights with save_weights")


def recorded_expression(var, is_source):
    """(Expression layer, its sources) for a value var made by operations, not by a layer: the
    graph back to the variables is_source accepts (model inputs, layer outputs), through
    constants and shared variables. None where var reads a symbolic variable that is neither
    (an Input not among the model's inputs)."""
    if var.owner is None:
        return None
    sources, seen, stack = [], set(), [var]
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        if v is not var and is_source(v):
            sources.append(v)
        elif v.owner is not None:
            stack.extend(reversed(v.owner.inputs))
        elif not isinstance(v, (Constant, SharedVariable)):
            return None
    if not sources:
        return None
    history = (Expression(var, sources), sources)
    var.layer_history = history  # (the same layer for every model made through var)
    return history
