"""caffe.draw: pictures of a net's layers and blobs, as pycaffe's draw.py makes them (layers as
boxes coloured by kind, blobs as grey octagons, an in-place layer's blob drawn once), through
graphviz. (sg.render(net.blobs-graph's variables) draws the compiled symgraph graph instead.)"""
from ...drawing import _write, image
from .layers import enum_name
from .net import layer_included, net_parameter, upgraded_layers

_STYLES = {"Convolution": "#FF5050", "Deconvolution": "#FF5050", "Pooling": "#FF9900", "InnerProduct": "#CC33FF"}
_NEURON = "#90EE90"


def _label(layer, rankdir):
    name, kind = str(layer.get("name")), str(layer.get("type"))
    lines = [name, f"({kind})"]
    if kind in ("Convolution", "Deconvolution"):
        p = layer.message("convolution_param")
        lines += [f"kernel size: {p.get('kernel_size', p.get('kernel_h', 1))}", f"stride: {p.get('stride', 1)}",
                  f"pad: {p.get('pad', 0)}"]
    elif kind == "Pooling":
        p = layer.message("pooling_param")
        lines[1] = f"({kind} {enum_name(p.get('pool', 'MAX'), ['MAX', 'AVE', 'STOCHASTIC'])})"
        lines += [f"kernel size: {p.get('kernel_size', p.get('kernel_h', 1))}", f"stride: {p.get('stride', 1)}",
                  f"pad: {p.get('pad', 0)}"]
    elif kind == "InnerProduct":
        lines.append(f"output: {layer.message('inner_product_param').get('num_output')}")
    return "\\n".join(lines) if rankdir in ("LR", "RL") else f"{lines[0]} ({kind})"


def to_dot(caffe_net, rankdir="LR", phase=None):
    """A graphviz.Digraph of the net's layers (only those of `phase` when given)."""
    import graphviz
    param = net_parameter(caffe_net)
    dot = graphviz.Digraph(str(param.get("name", "net")), graph_attr={"rankdir": rankdir},
                           node_attr={"fontname": "Helvetica", "fontsize": "10"})
    blobs = set()

    def blob(name):
        if name not in blobs:
            blobs.add(name)
            dot.node(f"blob_{name}", name, shape="octagon", style="filled", fillcolor="#E0E0E0")
        return f"blob_{name}"

    for k, layer in enumerate(upgraded_layers(param)):
        if phase is not None and not layer_included(layer, phase):
            continue
        bottoms, tops = [str(b) for b in layer.all("bottom")], [str(t) for t in layer.all("top")]
        node = f"layer{k}"
        in_place = len(bottoms) == 1 and bottoms == tops
        color = _NEURON if in_place else _STYLES.get(str(layer.get("type")), "#6495ED")
        dot.node(node, _label(layer, rankdir), shape="box", style="filled", fillcolor=color)
        for b in bottoms:
            dot.edge(blob(b), node)
        for t in tops:
            dot.edge(node, blob(t))
    return dot


def draw_net(caffe_net, rankdir="LR", ext="png", phase=None, display_lrm=False):
    """The picture's bytes in format `ext` (pycaffe's draw_net)."""
    return image(to_dot(caffe_net, rankdir, phase), ext)


def draw_net_to_file(caffe_net, filename, rankdir="LR", phase=None, display_lrm=False):
    """Write the picture to `filename`, its format from the suffix (png, svg, pdf, dot)."""
    return _write(to_dot(caffe_net, rankdir, phase), filename)
