"""pycaffe's NetSpec: nets written in Python, printed as a .prototxt.

    n = caffe.NetSpec()
    n.data, n.label = L.HDF5Data(batch_size=64, source="train.txt", ntop=2)
    n.conv1 = L.Convolution(n.data, kernel_size=5, num_output=20, weight_filler=dict(type="xavier"))
    n.pool1 = L.Pooling(n.conv1, kernel_size=2, stride=2, pool=P.Pooling.MAX)
    n.relu1 = L.ReLU(n.pool1, in_place=True)
    n.loss = L.SoftmaxWithLoss(n.relu1, n.label)
    open("net.prototxt", "w").write(str(n.to_proto()))

As in pycaffe, a keyword names a LayerParameter field (name, param, include, loss_weight,
propagate_down, transform_param, loss_param, any `*_param`), else a field of the layer type's
own parameters (convolution_param's for Convolution); dicts are messages, lists repeat."""
import collections
import re

from ..protobuf.text_format import Enum, Message

_LAYER_FIELDS = {"name", "type", "bottom", "top", "phase", "loss_weight", "param", "blobs", "propagate_down",
                 "include", "exclude"}
# Layer types whose parameters' field is not the type's name in snake case (pycaffe reads these
# off caffe.proto: SoftmaxWithLoss takes softmax_param, Deconvolution none of its own).
_PARAM_FIELDS = {"InnerProduct": "inner_product_param", "ReLU": "relu_param", "PReLU": "prelu_param",
                 "TanH": "tanh_param", "LRN": "lrn_param", "ELU": "elu_param", "HDF5Data": "hdf5_data_param",
                 "HDF5Output": "hdf5_output_param", "MVN": "mvn_param", "SPP": "spp_param", "BNLL": None,
                 "SoftmaxWithLoss": "softmax_param", "ArgMax": "argmax_param", "Deconvolution": None}


def param_field(type_name):
    """The LayerParameter field holding `type_name`'s own parameters."""
    if type_name in _PARAM_FIELDS:
        return _PARAM_FIELDS[type_name]
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type_name).lower() + "_param"


def _value(value, key=None):
    if isinstance(value, dict):
        message = Message()
        for name, item in value.items():
            for one in (item if isinstance(item, (list, tuple)) else [item]):
                message.add(name, _value(one, name))
        return message
    if key == "phase" and isinstance(value, int) and not isinstance(value, bool):
        return Enum(("TRAIN", "TEST")[value])  # caffe.TRAIN / caffe.TEST, printed by name
    return value


def _assign(message, key, value):
    for one in (value if isinstance(value, (list, tuple)) else [value]):
        message.add(key, _value(one))


class Top:
    """One top of a layer function's call, to pass as another layer's bottom."""

    def __init__(self, fn, index):
        self.fn, self.index = fn, index

    def to_proto(self):
        return to_proto(self)


class Function:
    """A layer made by L.<Type>(bottoms..., **params): its tops are the call's result."""

    def __init__(self, type_name, inputs, params):
        self.type_name, self.inputs = type_name, inputs
        self.ntop = params.pop("ntop", 1)
        self.in_place = params.pop("in_place", False)
        self.params = params
        self.tops = tuple(Top(self, k) for k in range(self.ntop))

    def _name(self, names, autonames):
        if self not in names and self.ntop > 0:
            names[self] = self._top_name(self.tops[0], names, autonames)
        elif self not in names:
            autonames[self.type_name] += 1
            names[self] = f"{self.type_name}{autonames[self.type_name]}"
        return names[self]

    @staticmethod
    def _top_name(top, names, autonames):
        if top not in names:
            autonames[top.fn.type_name] += 1
            names[top] = f"{top.fn.type_name}{autonames[top.fn.type_name]}"
        return names[top]

    def _to_proto(self, layers, names, autonames):
        if self in layers:
            return
        bottom_names = []
        for inp in self.inputs:
            inp.fn._to_proto(layers, names, autonames)
            bottom_names.append(layers[inp.fn].all("top")[inp.index])
        layer = Message()
        layer.add("name", self._name(names, autonames))
        layer.add("type", self.type_name)
        for b in bottom_names:
            layer.add("bottom", b)
        tops = bottom_names[:1] if self.in_place else [self._top_name(t, names, autonames) for t in self.tops]
        for t in tops:
            layer.add("top", t)
        own = param_field(self.type_name)
        for key, value in self.params.items():
            if key in _LAYER_FIELDS or key.endswith("_param"):
                _assign(layer, key, value)
            elif own is None:
                raise TypeError(f"{self.type_name} takes its parameters in a named *_param (e.g. convolution_param="
                                f"dict({key}=...)), not {key}=")
            else:
                params = layer.get(own) if layer.has(own) else layer.add(own, Message())
                _assign(params, key, value)
        layers[self] = layer


class NetSpec:
    """Layers assigned as attributes (`n.conv1 = L.Convolution(...)`) take the attribute's name,
    for their layer and their top."""

    def __init__(self):
        super().__setattr__("tops", collections.OrderedDict())

    def __setattr__(self, name, value):
        self.tops[name] = value

    def __getattr__(self, name):
        try:
            return self.tops[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setitem__(self, key, value):
        self.__setattr__(key, value)

    def __getitem__(self, item):
        return self.__getattr__(item)

    def to_proto(self):
        names = {top: name for name, top in self.tops.items()}
        autonames = collections.Counter()
        layers = collections.OrderedDict()
        for top in self.tops.values():
            top.fn._to_proto(layers, names, autonames)
        net = Message()
        for layer in layers.values():
            net.add("layer", layer)
        return net


def to_proto(*tops):
    """The NetParameter of the layers these tops come from."""
    layers, names, autonames = collections.OrderedDict(), {}, collections.Counter()
    for top in tops:
        top.fn._to_proto(layers, names, autonames)
    net = Message()
    for layer in layers.values():
        net.add("layer", layer)
    return net


class _Layers:
    """L.<Type>(*bottoms, **params): one layer of that type."""

    def __getattr__(self, type_name):
        if type_name.startswith("__"):
            raise AttributeError(type_name)

        def layer_fn(*args, **kwargs):
            fn = Function(type_name, args, kwargs)
            if fn.ntop == 0:
                return fn
            return fn.tops[0] if fn.ntop == 1 else fn.tops
        return layer_fn


class _EnumValues:
    def __init__(self, type_name):
        self.type_name = type_name

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Enum(name)


class _Params:
    """P.<Type>.<VALUE>: an enum value (P.Pooling.MAX, P.Eltwise.SUM), printed as its name."""

    def __getattr__(self, type_name):
        if type_name.startswith("__"):
            raise AttributeError(type_name)
        return _EnumValues(type_name)


layers, params = _Layers(), _Params()
