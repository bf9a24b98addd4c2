"""Caffe's Python layers (`type: "Python"`, python_param { module layer param_str }): a class of
the user's with setup / reshape / forward / backward on blobs' .data and .diff, as pycaffe runs
it. One with bottoms is a node of the graph (its forward the node's perform, its backward the
gradient's); one without bottoms feeds the net as a data layer does, a forward per batch.
The module is imported by name from sys.path (the working directory, PYTHONPATH), as Caffe does."""
import importlib

import numpy as np

from ...ops.base import Apply, Op, TensorType, Variable
from .blob_shape import LegacyShape


class Layer:
    """caffe.Layer: the base of a Python layer. Caffe sets param_str (python_param's) and phase
    (caffe.TRAIN or caffe.TEST) before setup(bottom, top); reshape(bottom, top) sizes the tops
    (top[0].reshape(*shape)); forward(bottom, top) writes top[k].data; backward(top,
    propagate_down, bottom) writes bottom[k].diff from top[k].diff."""

    def __init__(self, param=None):
        self.param_str, self.phase, self.blobs = "", 1, []

    def setup(self, bottom, top):
        pass

    def reshape(self, bottom, top):
        pass

    def forward(self, bottom, top):
        raise NotImplementedError(f"{type(self).__name__} has no forward(bottom, top)")

    def backward(self, top, propagate_down, bottom):
        pass


class ArrayBlob(LegacyShape):
    """A blob a Python layer is handed: .data and .diff arrays, .reshape(*shape)."""

    def __init__(self, data=None, diff=None, shape=()):
        self.data = np.zeros(shape, np.float32) if data is None else data
        self.diff = np.zeros_like(self.data) if diff is None else diff

    def reshape(self, *shape):
        shape = tuple(int(s) for s in (shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list))
                                       else shape))
        if self.data.shape != shape:
            self.data, self.diff = np.zeros(shape, np.float32), np.zeros(shape, np.float32)



def make_layer(lp, phase):
    """The user's layer object of a Python LayerParameter, set up as Caffe sets it up."""
    p = lp.message("python_param")
    name, module_name, class_name = str(lp.get("name")), str(p.get("module", "")), str(p.get("layer", ""))
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ImportError(f"layer {name!r}: cannot import its python_param module {module_name!r} ({error}); "
                          f"Caffe reads it from the working directory or PYTHONPATH") from None
    if not hasattr(module, class_name):
        raise AttributeError(f"layer {name!r}: module {module_name!r} has no layer class {class_name!r}")
    cls = getattr(module, class_name)
    try:
        layer = cls(lp)
    except TypeError:
        layer = cls()
    layer.param_str, layer.phase = str(p.get("param_str", "")), phase
    layer.blobs = getattr(layer, "blobs", [])
    return layer


class _Holder:
    """One layer object, compared by identity (an Op's __props__ are compared by value)."""

    def __init__(self, layer, name):
        self.layer, self.name = layer, name


class PythonLayerOp(Op):
    """A Python layer with bottoms as a graph node: perform runs reshape and forward."""

    __props__ = ("holder", "n_tops")

    def __init__(self, holder, top_types):
        self.holder, self.top_types, self.n_tops = holder, tuple(top_types), len(top_types)

    def __str__(self):
        return f"PythonLayer{{{self.holder.name}: {type(self.holder.layer).__name__}}}"

    def make_node(self, *bottoms):
        return Apply(self, list(bottoms), [Variable(t) for t in self.top_types])

    def perform(self, node, inputs):
        bottom = [ArrayBlob(np.array(x, dtype=np.float32)) for x in inputs]
        top = [ArrayBlob() for _ in range(self.n_tops)]
        self.holder.layer.reshape(bottom, top)
        self.holder.layer.forward(bottom, top)
        return [np.ascontiguousarray(t.data, dtype=np.float32) for t in top]

    def grad(self, inputs, outputs, output_grads):
        grads = PythonLayerGradOp(self.holder, len(inputs), [x.type for x in inputs])(*inputs, *outputs,
                                                                                       *output_grads)
        return grads if isinstance(grads, list) else [grads]


class PythonLayerGradOp(Op):
    """The bottoms' diffs of a Python layer: its backward, the tops' data and diffs given."""

    __props__ = ("holder", "n_bottoms")

    def __init__(self, holder, n_bottoms, bottom_types):
        self.holder, self.n_bottoms, self.bottom_types = holder, n_bottoms, tuple(bottom_types)

    def __str__(self):
        return f"PythonLayerBackward{{{self.holder.name}}}"

    def make_node(self, *values):
        return Apply(self, list(values), [Variable(t) for t in self.bottom_types])

    def perform(self, node, inputs):
        n = self.n_bottoms
        n_tops = (len(inputs) - n) // 2
        datas, top_datas, top_diffs = inputs[:n], inputs[n:n + n_tops], inputs[n + n_tops:]
        bottom = [ArrayBlob(np.array(x, dtype=np.float32)) for x in datas]
        top = [ArrayBlob(np.array(d, dtype=np.float32), np.array(g, dtype=np.float32))
               for d, g in zip(top_datas, top_diffs)]
        self.holder.layer.backward(top, [True] * n, bottom)
        return [np.ascontiguousarray(b.diff, dtype=np.float32) for b in bottom]


def python_layer(lp, bottoms, builder):
    """The graph node of a Python layer with bottoms: set up on blobs of the bottoms' shapes
    (the net's batch size where a bottom's is free) to learn its tops' number of axes."""
    layer = make_layer(lp, builder.net.phase)
    batch = builder.net.batch_size()
    shapes = [tuple(batch if d is None else d for d in b.type.shape) for b in bottoms]
    bottom = [ArrayBlob(shape=s) for s in shapes]
    top = [ArrayBlob() for _ in lp.all("top")]
    layer.setup(bottom, top)
    layer.reshape(bottom, top)
    types = [TensorType("float32", (None,) + t.shape[1:] if t.shape else ()) for t in top]
    outputs = PythonLayerOp(_Holder(layer, str(lp.get("name"))), types)(*bottoms)
    return outputs if isinstance(outputs, list) else [outputs]


class PythonFeeder:
    """A Python layer without bottoms: a data layer, its forward run once a batch."""

    kind = "Python"

    def __init__(self, lp, phase):
        self.layer = make_layer(lp, phase)
        self.top = [ArrayBlob() for _ in lp.all("top")]
        self.layer.setup([], self.top)
        self.layer.reshape([], self.top)

    def shapes(self):
        return [t.shape for t in self.top]

    def next_batch(self):
        self.layer.reshape([], self.top)
        self.layer.forward([], self.top)
        return [np.asarray(t.data, dtype=np.float32) for t in self.top]
