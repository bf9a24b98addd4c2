"""caffe.Net over symgraph: a .prototxt's layers become one symgraph graph, compiled by
sg.function; `net.blobs` and `net.params` are pycaffe's (`net.blobs['data'].data[...] = x`,
`net.forward()`, `net.params['conv1'][0].data`), a .caffemodel's weights load by layer name."""
import collections
import os

import numpy as np

import symgraph as sg

from . import wire
from .blob_shape import LegacyShape
from .data_layers import make_feeder
from .fillers import draw_seed, fill
from .layers import LAYERS, LOSS_TYPES, is_data_layer
from ..protobuf.text_format import Message, parse, read

TRAIN, TEST = 0, 1
# caffe.set_mode_cpu / set_mode_gpu: the backend of nets made without one (None: sg.config's).
MODE = {"backend": None}
_PHASES = {"TRAIN": TRAIN, "TEST": TEST}


def net_parameter(source):
    """The Message of a .prototxt (a net's or a solver's): its path, its text, or a Message."""
    if isinstance(source, Message):
        return source
    source = os.fspath(source)
    if "\n" not in source and os.path.exists(source):
        return read(source)
    if "{" in source or ":" in source:
        return parse(source)
    raise FileNotFoundError(f"no such prototxt file: {source!r}")


def _phase(value):
    if isinstance(value, str):
        return _PHASES[str(value).upper()]
    return int(value)


def _rule_met(rule, phase, level, stages):
    if rule.has("phase") and _phase(rule.get("phase")) != phase:
        return False
    if rule.has("min_level") and level < int(rule.get("min_level")):
        return False
    if rule.has("max_level") and level > int(rule.get("max_level")):
        return False
    if any(s not in stages for s in rule.all("stage")):
        return False
    return not any(s in stages for s in rule.all("not_stage"))


def layer_included(lp, phase, level=0, stages=()):
    """Caffe's StateMeetsRule: included where any include rule is met (or none is given) and
    no exclude rule is met."""
    includes, excludes = lp.all("include"), lp.all("exclude")
    if includes:
        return any(_rule_met(r, phase, level, stages) for r in includes)
    return not any(_rule_met(r, phase, level, stages) for r in excludes)


def upgraded_layers(param):
    """The net's layers as LayerParameters: the old `layers { type: CONVOLUTION blobs_lr: 1 }`
    form read as today's `layer { type: "Convolution" param { lr_mult: 1 } }`."""
    if param.has("layer") and param.has("layers"):
        raise ValueError("the net has both 'layer' and 'layers' fields (Caffe refuses such a file too: write "
                         "each layer in one form)")
    if param.has("layer"):
        return param.all("layer")
    out = []
    for old in param.all("layers"):
        lp = Message()
        for name, value in old.items():
            if name == "type":
                lp.add("type", wire.v1_type_name(value))
            elif name not in ("blobs_lr", "weight_decay"):
                lp.add(name, value)
        rates, decays = old.all("blobs_lr"), old.all("weight_decay")
        for k in range(max(len(rates), len(decays))):
            spec = lp.add("param", Message())
            if k < len(rates):
                spec.add("lr_mult", rates[k])
            if k < len(decays):
                spec.add("decay_mult", decays[k])
        out.append(lp)
    return out


class Blob(LegacyShape):
    """One of a net's blobs (pycaffe's): `.data` (write into it: `blob.data[...] = x`), `.diff`,
    `.shape`, `.count`, `.reshape(*shape)` (for the net's inputs)."""

    def __init__(self, net, name):
        self._net, self.name = net, name

    @property
    def data(self):
        return self._net._data_of(self.name)

    @property
    def diff(self):
        return self._net._diff_of(self.name)

    def reshape(self, *shape):
        self._net._reshape_input(self.name, tuple(int(s) for s in shape))

    def __repr__(self):
        return f"<Blob {self.name!r} {self.shape}>"


class ParamBlob(LegacyShape):
    """A layer's parameter blob: `.data` is the shared variable's array (written in place by
    `blob.data[...] = w`, read by the next forward), `.diff` the last gradient computed."""

    def __init__(self, net, variable, key):
        self._net, self.variable, self._key = net, variable, key

    @property
    def data(self):
        return self.variable.get_value(borrow=True)

    @property
    def diff(self):
        return self._net._param_diffs.get(self.variable, np.zeros_like(self.data))

    def __repr__(self):
        return f"<ParamBlob {self._key} {self.shape}>"


class _Builder:
    """What a layer's function is given: its parameter blobs (made on first use, shared by
    ParamSpec name or with the net given as share_from), the phase, the state updates
    (BatchNorm's statistics) and a random stream."""

    def __init__(self, net, lp):
        self.net, self.lp, self.train = net, lp, net.phase == TRAIN
        self.rng = net._rng
        self.specs = lp.all("param")

    def blob(self, index, shape, filler, default, learnable=True):
        name = str(self.lp.get("name"))
        spec = self.specs[index] if index < len(self.specs) else Message()
        variable = self.net._param_variable(name, index, spec, shape, filler, default)
        lr_mult = float(spec.get("lr_mult", 1.0)) if learnable else 0.0
        self.net._register_param(name, index, variable, lr_mult, float(spec.get("decay_mult", 1.0)))
        return variable

    def update(self, shared, expression):
        self.net._state_updates[shared] = expression


class Net:
    """caffe.Net(network_file, phase, weights=None) or caffe.Net(network_file, weights, phase):
    the net of a .prototxt (a path, its text, or a NetParameter Message) in phase caffe.TRAIN
    or caffe.TEST, its weights from a .caffemodel (or Caffe's .h5) when given.

    level and stages select layers as Caffe's NetState does; backend is sg.function's (None:
    sg.config.backend); share_from is the net whose parameter blobs this one uses (a solver's
    test nets share its training net's)."""

    def __init__(self, network_file, *args, weights=None, phase=None, level=0, stages=(), backend=None,
                 share_from=None):
        for arg in args:
            if isinstance(arg, (int, np.integer)) and not isinstance(arg, bool):
                phase = int(arg)
            else:
                weights = arg
        if phase is None:
            raise TypeError("caffe.Net needs the phase: caffe.Net(prototxt, caffe.TEST[, weights=...])")
        self.phase, self.level, self.stages = _phase(phase), int(level), tuple(stages)
        self._backend = backend if backend is not None else MODE["backend"]
        self.param_spec = net_parameter(network_file)
        self.name = str(self.param_spec.get("name", ""))
        self._layers = [lp for lp in upgraded_layers(self.param_spec)
                        if layer_included(lp, self.phase, self.level, self.stages)]
        self._rng = sg.random.RandomStream(draw_seed())
        self._params, self._param_info = collections.OrderedDict(), []
        self._param_store = {} if share_from is None else share_from._param_store
        self._named_params = {} if share_from is None else share_from._named_params
        self._param_diffs, self._blob_diffs = {}, {}
        self._input_shapes, self._feeders, self._data = collections.OrderedDict(), {}, {}
        self._read_inputs()
        self._build()
        if weights is not None:
            self.copy_from(weights)

    # -- building --------------------------------------------------------------------------

    def _read_inputs(self):
        """The blobs fed from outside the graph: the net's `input` fields, Input layers and the
        data layers (each with a feeder that fills its tops before a forward)."""
        p = self.param_spec
        shapes = [tuple(int(d) for d in s.all("dim")) for s in p.all("input_shape")]
        dims = [int(d) for d in p.all("input_dim")]
        for k, name in enumerate(p.all("input")):
            shape = shapes[k] if k < len(shapes) else tuple(dims[4 * k:4 * k + 4])
            self._input_shapes[str(name)] = shape
        for lp in self._layers:
            kind = str(lp.get("type"))
            if not is_data_layer(lp):
                continue
            tops = [str(t) for t in lp.all("top")]
            if kind == "Input":
                shapes = [tuple(int(d) for d in s.all("dim")) for s in lp.message("input_param").all("shape")]
                for k, top in enumerate(tops):
                    self._input_shapes[top] = shapes[k] if len(shapes) > 1 else (shapes[0] if shapes else ())
                continue
            feeder = make_feeder(lp, self.phase)
            self._feeders[str(lp.get("name"))] = feeder
            for top, shape in zip(tops, feeder.shapes()):
                self._input_shapes[top] = shape
        for name, shape in self._input_shapes.items():
            self._data[name] = np.zeros(shape, np.float32)

    def _build(self):
        """The graph: each layer's function on its bottoms' current variables (a layer whose top
        is its bottom, in place, replaces the blob's variable, as Caffe overwrites the blob)."""
        self._inputs = collections.OrderedDict()
        for name, shape in self._input_shapes.items():
            static = (None,) + tuple(shape[1:]) if shape else ()
            self._inputs[name] = sg.tensor(name, "float32", shape=static)
        symbols = dict(self._inputs)
        self._blob_order = list(self._inputs)
        self._layer_tops, self._loss_terms, self._state_updates = [], [], {}
        self._layer_names, self._layer_types, self._bottom_names, self._top_names = [], [], {}, {}
        for lp in self._layers:
            name, kind = str(lp.get("name")), str(lp.get("type"))
            bottoms, tops = [str(b) for b in lp.all("bottom")], [str(t) for t in lp.all("top")]
            self._layer_names.append(name)
            self._layer_types.append(kind)
            self._bottom_names[name], self._top_names[name] = bottoms, tops
            if is_data_layer(lp):
                self._layer_tops.append((name, tops))
                continue
            if kind not in LAYERS:
                raise NotImplementedError(f"layer {name!r}: type {kind!r} is not implemented here "
                                          f"(implemented: {', '.join(sorted(LAYERS))})")
            missing = [b for b in bottoms if b not in symbols]
            if missing:
                raise ValueError(f"layer {name!r} ({kind}) reads the blob {missing[0]!r}, which no layer before it "
                                 f"makes and the net does not take as an input")
            try:
                values = LAYERS[kind](lp, [symbols[b] for b in bottoms], _Builder(self, lp))
            except (ValueError, TypeError, NotImplementedError) as error:
                raise type(error)(f"layer {name!r} ({kind}): {error}") from None
            if len(values) != len(tops):
                raise ValueError(f"layer {name!r} ({kind}) makes {len(values)} blobs, its prototxt names "
                                 f"{len(tops)} tops")
            for top, value in zip(tops, values):
                if top not in symbols:
                    self._blob_order.append(top)
                symbols[top] = value
            self._layer_tops.append((name, tops))
            weights = [float(w) for w in lp.all("loss_weight")]
            for k, top in enumerate(tops):
                weight = weights[k] if k < len(weights) else (1.0 if k == 0 and kind in LOSS_TYPES else 0.0)
                if weight:
                    self._loss_terms.append((top, weight, symbols[top]))
        self._symbols = symbols
        self.outputs = self._available_at_end()
        self.inputs = [n for n in self._inputs if not self._fed(n)]
        self._functions = {}
        self.blobs = collections.OrderedDict((n, Blob(self, n)) for n in self._blob_order)
        self.params = collections.OrderedDict()
        for (layer_name, index), variable in self._layer_params():
            self.params.setdefault(layer_name, []).append(ParamBlob(self, variable, (layer_name, index)))
        self.layers = [_LayerView(self, n, t) for n, t in zip(self._layer_names, self._layer_types)]

    def _available_at_end(self):
        """Caffe's net outputs: the blobs a layer made that no later layer reads (an in-place
        layer reads its blob and makes it again)."""
        available = [n for n in self._inputs if not self._fed(n)]
        for name, tops in self._layer_tops:
            available = [b for b in available if b not in self._bottom_names[name]]
            available.extend(t for t in tops if t not in available)
        return available

    def _fed(self, name):
        return any(name in self._top_names[layer] for layer in self._feeders)

    def _param_variable(self, layer, index, spec, shape, filler, default):
        key = (layer, index)
        shared_name = str(spec.get("name", "")) or None
        variable = self._named_params.get(shared_name) if shared_name else None
        if variable is None:
            variable = self._param_store.get(key)
        if variable is None:
            variable = sg.shared(fill(shape, filler, default), name=f"{layer}/{index}")
        if tuple(variable.get_value(borrow=True).shape) != tuple(shape):
            raise ValueError(f"its parameter blob {index} has shape {variable.get_value(borrow=True).shape}, the "
                             f"layer needs {tuple(shape)}")
        self._param_store[key] = variable
        if shared_name:
            self._named_params[shared_name] = variable
        return variable

    def _register_param(self, layer, index, variable, lr_mult, decay_mult):
        """A shared parameter (ParamSpec's name) is updated once, at its owner's (the first
        layer's) lr_mult and decay_mult, as Caffe's learnable_params keep it."""
        if all(v is not variable for _, _, v, _, _ in self._param_info):
            self._param_info.append((layer, index, variable, lr_mult, decay_mult))
        self._params[(layer, index)] = variable

    def _layer_params(self):
        """((layer, index), variable) of each parameter blob, in the layers' order (as built)."""
        return list(self._params.items())

    def learnable_params(self):
        """(variable, lr_mult, decay_mult) of each parameter a solver updates (lr_mult > 0),
        each shared one once."""
        return [(v, lr, d) for _, _, v, lr, d in self._param_info if lr > 0]

    # -- running ---------------------------------------------------------------------------

    def batch_size(self):
        """The batch size of the net's first input as declared (1 without inputs)."""
        shapes = [s for s in self._input_shapes.values() if s]
        return int(shapes[0][0]) if shapes else 1

    def _data_of(self, name):
        if name not in self._data:
            if name not in self._symbols:
                raise KeyError(f"the net has no blob {name!r}")
            batch = next((a.shape[0] for a in (self._data[n] for n in self._inputs) if a.ndim), 1)
            shape = tuple(batch if d is None else d for d in self._symbols[name].type.shape)
            self._data[name] = np.zeros(shape, np.float32)
        return self._data[name]

    def _diff_of(self, name):
        if name not in self._blob_diffs:
            self._blob_diffs[name] = np.zeros_like(self._data_of(name))
        return self._blob_diffs[name]

    def _reshape_input(self, name, shape):
        if name not in self._inputs:
            raise ValueError(f"only the net's inputs are reshaped by hand ({list(self._inputs)}), not {name!r}")
        old = self._input_shapes[name]
        self._input_shapes[name] = shape
        self._data[name] = np.zeros(shape, np.float32)
        if tuple(old[1:]) != tuple(shape[1:]):  # the image size is static in the graph: build it again
            self.reshape()
            try:
                self._build()
            except (ValueError, TypeError) as error:  # (the net stays as it was)
                self._input_shapes[name], self._data[name] = old, np.zeros(old, np.float32)
                self._build()
                raise ValueError(f"the input {name!r} of shape {shape} (the net was built for {old}): "
                                 f"{error}") from None

    def reshape(self):
        """Caffe's Net::Reshape: the blobs' sizes follow the inputs' at the next forward."""
        self._data = {n: a for n, a in self._data.items() if n in self._inputs}

    def set_input_arrays(self, data, labels, layer=None):
        """Give a MemoryData layer its arrays (pycaffe's Net.set_input_arrays)."""
        feeders = [(n, f) for n, f in self._feeders.items() if f.kind == "MemoryData" and (layer in (None, n))]
        if not feeders:
            raise ValueError("set_input_arrays needs a MemoryData layer in the net")
        feeders[0][1].set_arrays(data, labels)

    def _function(self, key):
        """(compiled function, the blobs it gives): ("forward", end) gives the blobs up to
        `end` and runs the state updates (BatchNorm's sums); ("backward", None, seeded tops)
        gives every blob's and parameter's gradient, the inputs' too."""
        if key in self._functions:
            return self._functions[key]
        inputs = list(self._inputs.values())
        if key[0] == "forward":
            names = self._blobs_until(key[1])
            function = sg.function(inputs, [self._symbols[n] for n in names], updates=self._state_updates or None,
                                   backend=self._backend, on_unused_input="ignore")
        else:
            names = list(self._inputs) + self._blobs_until(None)
            seeds = [sg.tensor(f"{n}_diff", "float32", shape=self._symbols[n].type.shape) for n in key[2]]
            targets = [self._symbols[n] for n in names] + [v for _, v in self._layer_params()]
            grads = sg.grad(self._cost(key[2], seeds), targets, disconnected_inputs="ignore")
            function = sg.function(inputs + seeds, grads, backend=self._backend, on_unused_input="ignore")
        self._functions[key] = (function, names)
        return function, names

    def _cost(self, seed_names, seeds):
        if seed_names:
            terms = [sg.sum(self._symbols[n] * s) for n, s in zip(seed_names, seeds)]
        else:
            if not self._loss_terms:
                raise ValueError("backward() needs a loss layer in the net, or the top diffs as keyword arguments")
            terms = [sg.sum(v) * np.float32(w) for _, w, v in self._loss_terms]
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        return total

    def _blobs_until(self, end):
        """The blobs the layers up to `end` (all, for None) compute: a forward's outputs (the
        inputs are not: returning them would copy them)."""
        if end is not None and end not in self._layer_names:
            raise KeyError(f"the net has no layer {end!r}")
        stop = len(self._layer_tops) if end is None else self._layer_names.index(end) + 1
        names = []
        for _, tops in self._layer_tops[:stop]:
            names.extend(t for t in tops if t not in names and t not in self._inputs)
        return names

    def _feed(self, given):
        for name, value in given.items():
            if name not in self._inputs:
                raise KeyError(f"{name!r} is not an input of the net (its inputs: {list(self._inputs)})")
            value = np.asarray(value, dtype=np.float32)
            if value.shape != self._data[name].shape:
                self._reshape_input(name, value.shape)
            self._data[name][...] = value
        for feeder_name, feeder in self._feeders.items():
            tops = self._top_names[feeder_name]
            if any(t in given for t in tops):
                continue
            for top, value in zip(tops, feeder.next_batch()):
                if value.shape != self._data[top].shape:
                    self._reshape_input(top, value.shape)
                self._data[top][...] = value

    def _input_arrays(self):
        return [self._data[n] for n in self._inputs]

    def _keep(self, names, values, params=(), grads=()):
        """A run's values as the blobs' .data (and the parameters' gradients as their .diff)."""
        for name, value in zip(names, values):
            self._data[name] = np.asarray(value)
        for variable, g in zip(params, grads):
            self._param_diffs[variable] = np.asarray(g, dtype=np.float32)

    def forward(self, blobs=None, start=None, end=None, **kwargs):
        """Run the net (pycaffe's forward): kwargs give input blobs, data layers read their next
        batch; returns {output blob: array} (with `end`, the last layer's tops), and every blob's
        .data holds this pass's values."""
        if start is not None:
            raise NotImplementedError("forward(start=...) is not implemented; forward runs from the inputs")
        self._feed(kwargs)
        function, names = self._function(("forward", end))
        self._keep(names, function(*self._input_arrays()))
        outs = self.outputs if end is None else self._top_names[end]
        return {n: self._data[n] for n in list(outs) + list(blobs or [])}

    def backward(self, diffs=None, start=None, end=None, **kwargs):
        """The gradients of the loss (or of the tops whose diffs are given as kwargs) into every
        blob's and parameter's .diff, from the inputs of the last forward; returns
        {input blob: diff}."""
        if start is not None or end is not None:
            raise NotImplementedError("backward(start=..., end=...) is not implemented; it runs through the net")
        seed_names = tuple(sorted(kwargs))
        function, names = self._function(("backward", None, seed_names))
        seeds = [np.asarray(kwargs[n], dtype=np.float32) for n in seed_names]
        grads = function(*(self._input_arrays() + seeds))
        grads = grads if isinstance(grads, list) else [grads]
        for name, g in zip(names, grads[:len(names)]):
            self._blob_diffs[name] = np.asarray(g, dtype=np.float32)
        self._keep((), (), [v for _, v in self._layer_params()], grads[len(names):])
        return {n: self._blob_diffs[n] for n in list(self.inputs) + list(diffs or [])}

    def forward_all(self, blobs=None, **kwargs):
        """pycaffe's forward_all: kwargs' inputs in batches of the net's batch size; the outputs
        (and `blobs`) of all batches joined."""
        n = len(next(iter(kwargs.values())))
        batch = max(self._data[next(iter(kwargs))].shape[0], 1)
        pieces = collections.defaultdict(list)
        for start in range(0, n, batch):
            chunk = {k: np.asarray(v)[start:start + batch] for k, v in kwargs.items()}
            for name, value in self.forward(blobs=blobs, **chunk).items():
                pieces[name].append(value.copy())
        return {name: np.concatenate(parts) for name, parts in pieces.items()}

    # -- weights ---------------------------------------------------------------------------

    def copy_from(self, path):
        """Load weights by layer name from a .caffemodel (or Caffe's .h5); the file's layers this
        net lacks are skipped, as Caffe's CopyTrainedLayersFrom skips them."""
        path = os.fspath(path)
        if path.endswith((".h5", ".hdf5")):
            layers = _read_hdf5_weights(path)
        else:
            with open(path, "rb") as f:
                param = wire.decode(f.read(), "NetParameter", where=path)
            layers = [(str(lp.get("name")), [wire.blob_array(b) for b in lp.all("blobs")])
                      for lp in param.all("layer") + param.all("layers")]
        own = {}
        for (layer, index), variable in self._layer_params():
            own.setdefault(layer, {})[index] = variable
        for name, arrays in layers:
            if name not in own or not arrays:
                continue
            if len(arrays) != len(own[name]):
                raise ValueError(f"{path}: layer {name!r} has {len(arrays)} blobs, the net's layer {len(own[name])}")
            for index, array in enumerate(arrays):
                variable = own[name][index]
                target = variable.get_value(borrow=True).shape
                if array.shape != target:
                    legacy = _without_leading_ones(array.shape) == _without_leading_ones(target)
                    if array.size != int(np.prod(target)) or not legacy:
                        raise ValueError(f"{path}: cannot copy blob {index} of layer {name!r}: its shape is "
                                         f"{array.shape}, the net's {tuple(target)}")
                    array = array.reshape(target)
                variable.set_value(array.astype(np.float32))

    def save(self, path):
        """Write the weights as a .caffemodel (each layer's name, type, bottoms, tops and
        blobs: what Caffe's CopyTrainedLayersFrom reads), or Caffe's .h5 layout for a .h5 path."""
        path = os.fspath(path)
        own = collections.OrderedDict()
        for (layer, index), variable in self._layer_params():
            own.setdefault(layer, []).append(variable.get_value(borrow=True))
        if path.endswith((".h5", ".hdf5")):
            _write_hdf5_weights(path, own)
            return
        param = Message(name=self.name) if self.name else Message()
        for lp in self._layers:
            name = str(lp.get("name"))
            saved = Message(name=name, type=str(lp.get("type")), bottom=lp.all("bottom"), top=lp.all("top"))
            for array in own.get(name, []):
                saved.add("blobs", wire.array_blob(array))
            param.add("layer", saved)
        with open(path, "wb") as f:
            f.write(wire.encode(param, "NetParameter"))

    def share_with(self, other):
        """Use `other`'s parameter blobs for the layers of the same name (Caffe's ShareTrainedLayersWith)."""
        for (layer, index), variable in other._layer_params():
            if (layer, index) in self._params:
                mine = self._params[(layer, index)]
                if mine.get_value(borrow=True).shape == variable.get_value(borrow=True).shape:
                    self._param_store[(layer, index)] = variable
        self._params.clear()
        self._param_info = []
        self._build()

    def render(self, path, **options):
        """Draw the compiled forward graph that runs this net (sg.render's picture; caffe.draw
        draws the prototxt's layers)."""
        function, _ = self._function(("forward", None))
        return sg.render(function, path, **options)

    @property
    def top_names(self):
        return collections.OrderedDict((n, list(self._top_names[n])) for n in self._layer_names)

    @property
    def bottom_names(self):
        return collections.OrderedDict((n, list(self._bottom_names[n])) for n in self._layer_names)

    @property
    def layer_dict(self):
        return collections.OrderedDict((layer.name, layer) for layer in self.layers)

    def loss_blobs(self):
        return [(name, weight) for name, weight, _ in self._loss_terms]


class _LayerView:
    """net.layers[k]: the layer's .type and .blobs (its parameter blobs)."""

    def __init__(self, net, name, kind):
        self._net, self.name, self.type = net, name, kind

    @property
    def blobs(self):
        return self._net.params.get(self.name, [])

    def __repr__(self):
        return f"<Layer {self.name!r} ({self.type})>"


def _without_leading_ones(shape):
    """A blob's shape as Caffe's 4-d legacy shape (ones in front): an old file's (1, 1, 500, 800)
    inner-product weights are today's (500, 800)."""
    shape = tuple(int(d) for d in shape)
    while len(shape) > 1 and shape[0] == 1:
        shape = shape[1:]
    return shape


def _read_hdf5_weights(path):
    import h5py
    with h5py.File(path, "r") as f:
        group = f["data"]
        return [(name, [np.asarray(group[name][str(k)]) for k in range(len(group[name]))]) for name in group]


def _write_hdf5_weights(path, layers):
    import h5py
    with h5py.File(path, "w") as f:
        group = f.create_group("data")
        for name, arrays in layers.items():
            layer_group = group.create_group(name)
            for k, array in enumerate(arrays):
                layer_group.create_dataset(str(k), data=np.asarray(array, np.float32))
