"""Layer: parameters (shared variables) plus a function from symbolic inputs to outputs.

Calling a layer on a symbolic variable builds its parameters from the variable's static
shape (once), makes the output inside a name scope named after the layer (so pictures draw
the layer as a cluster), and records the call so a Model can trace it again in training or
inference mode.
"""
import functools
import inspect
import itertools
import re
from collections import defaultdict

import numpy as np

from .eager import eager_call, holds_arrays, types_for
from .. import activations, constraints, initializers as init, regularizers
from ..config import dtype_or_floatx
from ..construction import Recorded
from ..graph import name_scope, Variable, TensorType
from ..naming import lookup
from ..ops import elemwise as E
from ..ops.shape import shape as symbolic_shape
from ..variables import shared

_name_counts = defaultdict(itertools.count)
# The modes (True: training) of the layer traces under way, innermost last: Keras's
# K.in_train_phase(x, alt) in a layer's call that is not given `training` takes its trace's.
tracing_modes = []
# The contexts of the subclassed models' traces under way, innermost last: a layer called in
# a model's call() joins that trace (its mode, updates and losses), not an inference trace.
calling_contexts = []


def set_seed(seed):
    """Make weight initialisation and dropout masks reproducible (both already are in a
    fresh process: the default seed is 0)."""
    init.default_generator[0] = np.random.default_rng(seed)
    _stream_count[0] = 0


_stream_count = [0]


def next_stream_seed():
    """The seed of the next layer-owned random stream (Dropout): 1001, 1002, ... since
    the last set_seed, so two models built after set_seed draw the same masks."""
    _stream_count[0] += 1
    return 1000 + _stream_count[0]


def _snake(name):
    """Keras's layer names: Conv2D -> conv2d, SimpleRNN -> simple_rnn, LSTM -> lstm."""
    words = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"(\d)_d(?![a-z])", r"\1d", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", words).lower())


# Keras's names for its initializers, with Keras's settings (random_normal's stddev 0.05, ...)
INITIALIZERS = {"glorot_uniform": init.GlorotUniform(), "glorot_normal": init.GlorotNormal(),
                "he_normal": init.HeNormal(), "he_uniform": init.HeUniform(), "lecun_normal": init.LecunNormal(),
                "lecun_uniform": init.LecunUniform(), "orthogonal": init.Orthogonal(), "identity": init.Identity(),
                "uniform": init.RandomUniform(), "random_uniform": init.RandomUniform(), "normal": init.RandomNormal(),
                "random_normal": init.RandomNormal(), "truncated_normal": init.TruncatedNormal(),
                "zeros": init.Zeros(), "ones": init.Ones()}


def fans(shape):
    """Keras's fan-in and fan-out of a weight of `shape`: a matrix's rows and columns; a
    kernel's (out, in, *window) (OIHW, symgraph's layout) in and out channels times the window."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[2:]))
    return shape[1] * receptive, shape[0] * receptive


class TraceContext:
    """Collects what layers add while a model is traced: state updates (batch statistics)
    and loss terms (activity regularizers' penalties on the outputs)."""

    def __init__(self, training):
        self.training = training
        self.updates = []
        self.losses = []


# Called with (weight, trainable, penalty or None) for each weight a layer makes: how
# sg.compat.v1 puts tf.keras layers' weights in TensorFlow's collections, as TensorFlow 1 does.
WEIGHT_LISTENERS = []


class Layer(Recorded):
    """A layer of the library or of the user's (Keras's way: subclass it, make the weights in
    build(input_shape) with add_weight, compute in call(inputs), optionally call(inputs,
    training=None) to act differently while training)."""

    def __init__(self, name=None, trainable=True, input_shape=None, dtype=None, activity_regularizer=None,
                 input_dim=None):
        self.name = name or f"{_snake(type(self).__name__)}_{next(_name_counts[type(self).__name__]) + 1}"
        self.trainable = trainable
        if input_dim is not None and input_shape is None:  # (Keras 2's Dense(12, input_dim=8))
            input_shape = (int(input_dim),)
        self.input_shape_hint = None if input_shape is None else tuple(input_shape)
        self.dtype = dtype_or_floatx(dtype)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.weights = []          # shared variables, in creation order
        self.trainable_flags = []  # parallel to weights: False for statistics (BN running stats)
        self.weight_regularizers = []  # (weight, penalty function) pairs
        self.built = False
        self.input_shape = self.output_shape = None
        self.input = self.output = None

    # ---- parameters -------------------------------------------------------------------
    def add_weight(self, name=None, shape=None, initializer="glorot_uniform", trainable=True, fan=None,
                   dtype=None, regularizer=None, constraint=None, keras_axes=None):
        """A new weight (a shared variable named layer/name) drawn by `initializer` (a name, as
        Keras's, or a function (shape, fan_in, fan_out) -> array); fan defaults to Keras's
        reckoning from the shape (see fans). regularizer adds its penalty on the weight to the
        training loss (sg.regularizers); the optimizer puts each step's new value inside
        `constraint` (sg.constraints), whose axes are Keras's: keras_axes gives the weight's axis
        for each of the Keras layout's where they differ (a Conv2D kernel)."""
        if shape is None:
            raise TypeError(f"{self.name}.add_weight needs a shape")
        shape = tuple(int(n) for n in shape)
        name = name or f"weight_{len(self.weights)}"
        init = lookup(INITIALIZERS, initializer, "initializer")
        value = np.asarray(init(shape, *(fan or fans(shape))), dtype=dtype_or_floatx(dtype or self.dtype))
        var = shared(value, name=f"{self.name}/{name}")
        var.constraint, var.keras_axes = constraints.get(constraint), keras_axes
        self.weights.append(var)
        self.trainable_flags.append(trainable)
        penalty = regularizers.get(regularizer)
        if penalty is not None:
            self.weight_regularizers.append((var, penalty))
        for listener in WEIGHT_LISTENERS:
            listener(var, trainable, penalty)
        return var

    @property
    def losses(self):
        """The weights' regularization penalties (symbolic scalars), which training adds to the loss."""
        return [penalty(weight) for weight, penalty in self.weight_regularizers]

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return [w for w, t in zip(self.weights, self.trainable_flags) if t]

    @property
    def non_trainable_weights(self):
        trainable = set(self.trainable_weights)
        return [w for w in self.weights if w not in trainable]

    def count_params(self):
        return int(sum(w.get_value(borrow=True).size for w in self.weights))

    def get_weights(self):
        return [w.get_value() for w in self.weights]

    def set_weights(self, values):
        if len(values) != len(self.weights):
            raise ValueError(f"layer {self.name} has {len(self.weights)} weights, got {len(values)} arrays")
        for w, v in zip(self.weights, values):
            w.set_value(np.asarray(v))

    # ---- building and calling ---------------------------------------------------------
    def build(self, input_shape):
        """Create the weights for inputs of `input_shape` (batch axis first, None)."""

    def call(self, x, context):
        raise NotImplementedError

    input_dtype = None  # what a model built from this first layer takes (None: its floatX dtype)

    def compute_output_shape(self, input_shape):
        probe = Variable(TensorType(self.input_dtype or self.dtype, input_shape), name="probe")
        out = self.trace(probe, TraceContext(training=False))
        return [o.type.shape for o in out] if isinstance(out, list) else out.type.shape

    def ensure_built(self, input_shape):
        if not self.built:
            with name_scope(self.name):
                self.build(tuple(input_shape))
            self.built = True
            self.input_shape = tuple(input_shape)
            shapes = self.compute_output_shape(self.input_shape)
            self.output_shape = [tuple(s) for s in shapes] if isinstance(shapes, list) else tuple(shapes)

    def trace(self, x, context):
        """The layer's output for symbolic input x (a list: the first is the data, the rest
        extra inputs, as a recurrent layer's initial states), made inside the layer's name
        scope; an activity regularizer's penalty on it goes into context.losses (per example:
        divided by the batch size, as Keras's). The output (the first, for a layer of several:
        a recurrent layer's with return_state) carries compute_mask's mask as `keras_mask`."""
        data = x[0] if isinstance(x, list) else x
        self.ensure_built(data.type.shape)
        with name_scope(self.name):
            tracing_modes.append(context.training)
            try:
                outs = _call_style(type(self))(self, x, context)
            finally:
                tracing_modes.pop()
            out = outs[0] if isinstance(outs, list) else outs
            if self.activity_regularizer is not None:
                context.losses.append(self.activity_regularizer(out) / E.cast(symbolic_shape(out)[0], out.dtype))
            mask = self.compute_mask(data, getattr(data, "keras_mask", None))
        if out is not data and (mask is not None or getattr(out, "keras_mask", None) is not None):
            out.keras_mask = mask  # (an identity's output is its input, whose mask stays)
        return outs

    supports_masking = False  # (a layer that does passes its input's mask on unchanged)

    def call_options(self, out):
        """The options the functional call that made `out` was given and its replay needs
        (Model replays and saves them with the call): its fixed mode, layer(x, training=...)."""
        fixed = getattr(out, "call_training", None)
        return {} if fixed is None else {"training": bool(fixed)}

    def restore_call(self, out):
        """Before a replay of the call that made `out`: set what that call set (per-call settings
        kept on the layer: MultiHeadAttention's use_causal_mask)."""

    def compute_mask(self, x, mask):
        """The mask of the output's steps (Keras's: a boolean (batch, steps) variable, False at
        padding), given the input's (or None). Layers that read the mask (the recurrent ones, a
        masked average) take it from their input's keras_mask; those that neither read nor pass
        it on drop it."""
        return mask if self.supports_masking else None

    def __call__(self, x, training=None):
        """Functional use: `h = Dense(64)(Input((784,)))`; the call is recorded for Model.
        training=True or False fixes this call's mode whatever the trace's (Keras's
        layer(x, training=...): Monte Carlo dropout at prediction, a frozen batch normalization).
        On arrays, the layer computes them (eager.py)."""
        if holds_arrays(x):
            def trace(symbolic, mode):
                context = TraceContext(training=mode)
                return self.trace(self.called_on(symbolic), context), context.updates
            return eager_call(self, x, training, trace, types_for(self.input_dtype or self.dtype))
        x = self.called_on(x)
        out = trace_in_mode(self, x, calling_contexts[-1] if calling_contexts else TraceContext(training=False),
                            training)
        if isinstance(out, list):  # (several outputs of one call: each knows its siblings)
            siblings = tuple(out)
            for k, o in enumerate(siblings):
                o.layer_history, o.layer_output, o.call_training = (self, x), (siblings, k), training
            self.input, self.output = x, list(siblings)
            return list(siblings)
        if out is x:
            # An identity in inference mode (Dropout, GaussianNoise, a linear Activation) still
            # needs an output of its own to record this call on (else x's own record, the call
            # that made it, is overwritten and a Model walks in a circle); the rewriter drops it.
            out = x.dimshuffle(*range(x.ndim))
            if getattr(x, "keras_mask", None) is not None:
                out.keras_mask = self.compute_mask(x, x.keras_mask)
        out.layer_history, out.call_training = (self, x), training
        self.input, self.output = x, out  # Keras's layer.input / layer.output (last call)
        return out

    def called_on(self, x):
        """What a functional call takes (a symbolic variable here; a list for merge layers)."""
        if not isinstance(x, Variable):
            raise TypeError(f"layer {self.name} must be called on a symbolic variable (from "
                            f"sg.layers.Input or another layer) or on arrays, got {type(x).__name__}")
        return x

    def get_config(self):
        """Keras's layer config: the constructor's arguments as given (activations by name; a
        wrapped layer, an initializer, regularizer or constraint object as {"class_name", "config"}), the
        layer's name and trainable flag now."""
        def plain(v):
            if isinstance(v, (Layer, init.Initializer, regularizers.Regularizer, constraints.Constraint)):
                return {"class_name": type(v).__name__, "config": v.get_config()}
            return activations.name_of(v) if callable(v) else v
        config = {k: plain(v) for k, v in self.named_arguments().items()}
        return {**config, "name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config):
        """A new layer (fresh weights) from get_config()'s dictionary."""
        def built(v):
            if not (isinstance(v, dict) and set(v) == {"class_name", "config"}):
                return v
            for module in (init, regularizers, constraints):
                if isinstance(getattr(module, v["class_name"], None), type):
                    return getattr(module, v["class_name"])(**v["config"])
            from .saving import _subclasses
            layer_class = next(c for c in _subclasses(Layer) if c.__name__ == v["class_name"])
            return layer_class.from_config(v["config"])
        config = dict(config)
        trainable = config.pop("trainable", True)
        layer = cls(**{k: built(v) for k, v in config.items()})
        layer.trainable = trainable
        return layer

    def __repr__(self):
        return f"<{type(self).__name__} {self.name}>"


def trace_in_mode(layer, x, context, training=None):
    """layer.trace(x, context) in the mode `training` fixes (None: the context's). A fixed mode
    other than the trace's gets a context of its own: its updates (batch statistics) are not
    the trace's (a frozen batch normalization during fit; dropout on at prediction); its
    penalties are."""
    if training is None or bool(training) == context.training:
        return layer.trace(x, context)
    own = TraceContext(bool(training))
    out = layer.trace(x, own)
    context.losses.extend(own.losses)
    return out


@functools.lru_cache(maxsize=None)
def _call_style(cls):
    """How to call cls.call: symgraph's layers take (x, context); a Keras-style layer of the
    user's takes (inputs) or (inputs, training=None), given the trace's mode."""
    parameters = list(inspect.signature(cls.call).parameters.values())[1:]
    if "training" in {p.name for p in parameters}:
        return lambda layer, x, context: layer.call(x, training=context.training)
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) >= 2 and positional[1].default is inspect.Parameter.empty:
        return lambda layer, x, context: layer.call(x, context)
    return lambda layer, x, context: layer.call(x)


def shape_text(shape):
    """Keras's way of writing a shape: (None, 16, 8, 8); '?' when it is not known yet; a list
    of them for a layer of several outputs, as Keras's."""
    if isinstance(shape, list):
        return "[" + ", ".join(shape_text(s) for s in shape) + "]"
    return "?" if shape is None else "(" + ", ".join("None" if s is None else str(s) for s in shape) + ")"


def Input(shape, name=None, dtype=None):
    """A symbolic batch of inputs of `shape` (without the batch axis): Input((1, 28, 28))."""
    var = Variable(TensorType(dtype_or_floatx(dtype), (None,) + tuple(shape)), name=name or "input")
    var.layer_history = None
    return var
