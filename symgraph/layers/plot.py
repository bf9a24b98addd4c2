"""plot_model: a Keras-style picture of a model's layers (one box per layer, shapes on it)."""

from ..drawing import _write
from .base import shape_text


def model_to_dot(model, show_shapes=True, rankdir="TB"):
    import graphviz  # here, not at import (see drawing.to_dot)
    if model._subclassed and model.input is None:
        from .subclassed import not_built_error
        raise not_built_error(model, "picture")
    dot = graphviz.Digraph(model.name, graph_attr={"rankdir": rankdir, "fontname": "Helvetica"},
                           node_attr={"shape": "record", "fontname": "Helvetica", "fontsize": "10",
                                      "style": "filled", "fillcolor": "#f2f2f2"})
    made_by = {}  # variable -> the box that made it
    for k, var in enumerate(model.inputs):
        box = "input" if len(model.inputs) == 1 else f"input{k}"
        title = "input" if len(model.inputs) == 1 else f"input {var.name}"
        label = f"{title} | {shape_text(var.type.shape)}" if show_shapes else title
        dot.node(box, label="{" + label + "}", fillcolor="#a9d18e")
        made_by[id(var)] = box
    if model._subclassed:  # (its calls are Python code: one box, as Keras draws it)
        outs = model.outputs
        label = f"{model.name}: {type(model).__name__} | params {model.count_params():,}"
        if show_shapes:
            label += f" | out {' , '.join(shape_text(o.type.shape) for o in outs)}"
        dot.node("model", label="{" + label + "}", fillcolor="#fff2b3")
        for box in made_by.values():
            dot.edge(box, "model")
        return dot
    for k, (layer, source, out) in enumerate(model.calls):
        name = f"layer{k}"
        title = f"{layer.name}: {type(layer).__name__}"
        params = layer.count_params()
        detail = f" | params {params:,}" if params else ""
        if not layer.trainable:
            detail += " | frozen"
        fixed = getattr(out[0] if isinstance(out, tuple) else out, "call_training", None)
        if fixed is not None:  # (layer(x, training=...))
            detail += f" | training={bool(fixed)}"
        sources = source if isinstance(source, list) else [source]
        shown_in = " , ".join(shape_text(s.type.shape) for s in sources)
        outs = out if isinstance(out, tuple) else (out,)  # (a call of several outputs)
        shown_out = " , ".join(shape_text(o.type.shape) for o in outs)
        label = f"{title}{detail}" + (f" | {{in {shown_in} | out {shown_out}}}" if show_shapes else "")
        dot.node(name, label="{" + label + "}", fillcolor="#fff2b3" if params else "#f2f2f2")
        for s in sources:
            dot.edge(made_by[id(s)], name)
        made_by.update({id(o): name for o in outs})
    return dot


def plot_model(model, path, show_shapes=True, rankdir="TB"):
    """Write a picture of the model's layers to `path` (PNG, SVG, PDF or DOT by suffix)."""
    return _write(model_to_dot(model, show_shapes, rankdir), path)
