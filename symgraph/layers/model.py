"""Model (functional) and Sequential: layers traced into one symbolic graph.

    inputs = sg.layers.Input((1, 8, 8))
    h = sg.layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    outputs = sg.layers.Dense(10, activation="softmax")(sg.layers.Flatten()(h))
    model = sg.layers.Model(inputs, outputs)

A model keeps the recorded layer calls, not a fixed graph: `trace(x, training)` replays
them on new symbolic inputs, so training (dropout on, batch statistics) and inference use
the same layers and weights. A subclass of Model that writes call() is Keras's subclassed
model (subclassed.py).
"""

import numpy as np

from .eager import eager_call, holds_arrays
from ..graph import TensorType, Variable
from .base import Layer, TraceContext, Input, shape_text, trace_in_mode
from . import subclassed, training
from .expression import recorded_expression


class Model:
    """Model(inputs, outputs): one Input or a list of them, one output or a list (Keras's
    functional API: a two-input model takes x as [x_a, x_b], a two-output one is compiled with
    a loss per output, a list or a dict by the output layers' names, and fit given [y_1, y_2])."""
    _input_list = _output_list = None  # the lists given, for models of several inputs / outputs
    _subclassed = False  # (a subclass writing call(): see subclassed.py)

    def __init__(self, inputs=None, outputs=None, name=None, **kwargs):
        if inputs is None and outputs is None:
            subclassed.start(self, name, **kwargs)
            return
        if kwargs:
            raise TypeError(f"Model() got unexpected keyword arguments {sorted(kwargs)}")
        self.name = name or "model"
        if isinstance(inputs, (list, tuple)):
            self._input_list = list(inputs)
        if isinstance(outputs, (list, tuple)):
            self._output_list = list(outputs)
        self.input = self._input_list if self._input_list is not None else inputs
        self.output = self._output_list if self._output_list is not None else outputs
        if len(set(map(id, self.inputs))) != len(self.inputs) or not self.inputs or not self.outputs:
            raise ValueError("a model needs its inputs once each and at least one output")
        self.calls = _recorded_calls(self.inputs, self.outputs)
        self.layers = list(dict.fromkeys(layer for layer, _, _ in self.calls))
        shapes = [tuple(v.type.shape) for v in self.inputs]
        self.input_shape = shapes if self.several_inputs else shapes[0]
        self.compiled = None
        self.stop_training = False

    def __setattr__(self, attribute, value):
        if self._subclassed:  # (its layers are those it keeps as attributes, as Keras's)
            subclassed.track(self, attribute, value)
        object.__setattr__(self, attribute, value)

    # ---- structure ----------------------------------------------------------------------
    @property
    def several_inputs(self):
        return self._input_list is not None

    @property
    def several_outputs(self):
        return self._output_list is not None

    @property
    def inputs(self):
        """The symbolic inputs, as a list (Keras's model.inputs)."""
        return list(self._input_list) if self._input_list is not None else [self.input]

    @property
    def outputs(self):
        return list(self._output_list) if self._output_list is not None else [self.output]

    @property
    def output_names(self):
        """The names of the layers that make the outputs (the keys of a loss or metrics dict)."""
        if self._subclassed:
            return subclassed.output_names(self)
        return [_maker_name(v) for v in self.outputs]

    def trace(self, x, training_mode=False):
        """Replay the layers on symbolic input x (a list for several inputs); returns (output or
        list of outputs, TraceContext with updates)."""
        context = TraceContext(training_mode)
        return self.replay(x, context), context

    def replay(self, x, context):
        """The layers' output for symbolic input x, in `context` (its mode; its updates list
        receives theirs)."""
        if self._subclassed:
            return subclassed.replay(self, x, context)
        given_inputs = list(x) if self.several_inputs else [x]
        if len(given_inputs) != len(self.inputs):
            raise ValueError(f"{self.name} takes {len(self.inputs)} inputs, got {len(given_inputs)}")
        values = {id(v): g for v, g in zip(self.inputs, given_inputs)}
        for layer, source, result in self.calls:
            given = [values[id(s)] for s in source] if isinstance(source, list) else values[id(source)]
            first = result[0] if isinstance(result, tuple) else result
            layer.restore_call(first)  # (that call's own settings)
            made = trace_in_mode(layer, given, context, getattr(first, "call_training", None))
            for r, m in zip(result, made) if isinstance(result, tuple) else [(result, made)]:
                values[id(r)] = m
        outs = [values[id(v)] for v in self.outputs]
        return outs if self.several_outputs else outs[0]

    def __call__(self, x, training=None):
        """The model as a layer of another functional model (transfer learning: a trained
        base, frozen by base.trainable = False, under a new head), or on any symbolic
        variable (inference mode). training=False keeps it in inference mode while the outer
        model trains (Keras's idiom for a frozen base with batch normalization). On arrays, the
        model computes them (Keras 3's `model(x)`; eager.py)."""
        if holds_arrays(x):
            self.ensure_built(x)
            return eager_call(self, x, training, lambda symbolic, mode: _with_updates(self.trace(symbolic, mode)),
                              lambda arrays: [TensorType(v.dtype, (None,) + v.type.shape[1:]) for v in self.inputs])
        if self.input is None and isinstance(x, (Variable, list, tuple)):  # (first called on symbolic input)
            self.build_for(x)
        return NestedModel(self, training)(x)

    def build_for(self, x):
        """Build for symbolic input x (a model that waits for its input's shape)."""
        if self._subclassed:
            subclassed.build_from_variables(self, x)

    def build(self, input_shape):
        """Keras's build of a subclassed model: input_shape with the batch axis, (None, 784)."""
        if not self._subclassed:
            raise TypeError(f"{self.name} is built from its inputs already")
        subclassed.build_from_shapes(self, input_shape)

    def ensure_built(self, x):
        if self._subclassed and self.input is None:
            subclassed.build_from_data(self, x)

    @property
    def trainable(self):
        return getattr(self, "_trainable", True)

    @trainable.setter
    def trainable(self, value):
        """model.trainable = False freezes every layer of the model (Keras's way); True thaws
        them all."""
        self._trainable = bool(value)
        for layer in list(self.layers) + list(getattr(self, "pending", [])):
            layer.trainable = self._trainable

    @property
    def output_shape(self):
        shapes = [tuple(v.type.shape) for v in self.outputs]
        return shapes if self.several_outputs else shapes[0]

    @property
    def weights(self):
        return [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_weights(self):
        return [w for layer in self.layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self):
        return [w for layer in self.layers for w in layer.non_trainable_weights]

    @property
    def losses(self):
        """Every layer's weight penalties (symbolic scalars: kernel_regularizer=...), which
        fit and evaluate add to the loss, as Keras's model.losses."""
        return [penalty for layer in self.layers for penalty in layer.losses]

    def get_layer(self, name):
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named {name!r} in {self.name} (layers: {[l.name for l in self.layers]})")

    def count_params(self):
        return sum(layer.count_params() for layer in self.layers)

    # ---- weights ------------------------------------------------------------------------
    def get_weights(self):
        return [w.get_value() for w in self.weights]

    def set_weights(self, values):
        weights = self.weights
        if len(values) != len(weights):
            raise ValueError(f"{self.name} has {len(weights)} weights, got {len(values)} arrays")
        for w, v in zip(weights, values):
            w.set_value(np.asarray(v))

    def get_config(self):
        """The architecture as plain data (layers, their arguments, the wiring; no weights):
        Model.from_config(config) builds the same model afresh, as Keras's."""
        from .saving import _model_config
        return _model_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .saving import model_from_config
        return model_from_config(config, custom_objects)

    def to_json(self):
        """get_config() as a JSON string (sg.layers.model_from_json builds it again)."""
        from .saving import model_to_json
        return model_to_json(self)

    def save(self, path):
        """Write the whole model (layers, wiring, weights, compile settings) to one file:
        sg.layers.load_model(path) builds it again (see saving.py)."""
        from .saving import save_model
        return save_model(self, path)

    def save_weights(self, path):
        """Write every weight to an .npz file, keyed 'layer/weight' (no pickle)."""
        from .saving import write_npz
        arrays = {w.name: w.get_value() for w in self.weights}
        arrays["__order__"] = np.array([w.name for w in self.weights])  # for loading by position
        return write_npz(path, arrays)

    def load_weights(self, path):
        """Read weights saved by save_weights (or a whole model saved by save): by weight name, or
        (as Keras does for a model built the same way under other names) by position when every
        shape agrees. Refuses files with missing or mis-shaped arrays, listing them, and never
        unpickles. Keras's weight files (.weights.h5, .h5, .keras) are read by the layers' order,
        as Keras's load_weights (keras_files.py)."""
        from .keras_files import is_keras_file, load_keras_weights
        if is_keras_file(str(path)):
            return load_keras_weights(self, str(path))
        with np.load(str(path), allow_pickle=False) as data:
            stored = {k: data[k] for k in data.files}
        order = [str(n) for n in stored.pop("__order__", np.array([]))]
        weights = self.weights
        if "__config__" in stored:  # (a whole model's file, model.save's: its weights in order)
            order = [f"w{k}" for k in range(len(stored) - 1)]
        if all(w.name in stored for w in weights):
            values = [stored[w.name] for w in weights]
        elif len(order) == len(weights) and all(n in stored for n in order):
            values = [stored[n] for n in order]
        else:
            missing = [w.name for w in weights if w.name not in stored]
            raise ValueError(f"cannot load {path} into {self.name}: missing {', '.join(missing)} "
                             f"(the file holds {len(stored)} arrays for {len(weights)} weights)")
        problems = [f"{w.name}: file has shape {v.shape}, the model needs {w.get_value(borrow=True).shape}"
                    for w, v in zip(weights, values) if v.shape != w.get_value(borrow=True).shape]
        if problems:
            raise ValueError(f"cannot load {path} into {self.name}: " + "; ".join(problems))
        for w, v in zip(weights, values):
            w.set_value(v.astype(w.dtype, copy=False))

    # ---- text and pictures --------------------------------------------------------------
    def summary(self, print_fn=print):
        """A table of layers with output shapes and parameter counts."""
        if self._subclassed and self.input is None:
            raise subclassed.not_built_error(self, "summary")
        rows = [(f"{layer.name} ({type(layer).__name__})", shape_text(layer.output_shape),
                 f"{layer.count_params():,}") for layer in self.layers]
        header = ("Layer (type)", "Output Shape", "Param #")
        widths = [max(len(r[i]) for r in rows + [header]) + 2 for i in range(3)]
        line = "".join(h.ljust(w) for h, w in zip(header, widths))
        rule = "=" * len(line)
        text = [f'Model: "{self.name}"', rule, line, rule]
        text += ["".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
        trainable = sum(w.get_value(borrow=True).size for w in self.trainable_weights)
        total = self.count_params()
        text += [rule, f"Total params: {total:,}", f"Trainable params: {trainable:,}",
                 f"Non-trainable params: {total - trainable:,}"]
        out = "\n".join(text)
        if print_fn is not None:
            print_fn(out)
        return out

    def plot(self, path, show_shapes=True):
        from .plot import plot_model
        return plot_model(self, path, show_shapes=show_shapes)

    # ---- training (see training.py) -----------------------------------------------------
    def compile(self, optimizer="adam", loss="categorical_crossentropy", metrics=None, backend=None,
                loss_weights=None):
        """loss, loss_weights and metrics: one for every output, or per output (a list in their
        order or a dict by output name); the loss minimized is the weighted sum of the outputs'."""
        if self._subclassed and self.input is None:  # (its outputs are known once it is built)
            self.deferred_compile = (optimizer, loss, metrics, backend, loss_weights)
            return
        training.compile_model(self, optimizer, loss, metrics, backend, loss_weights)

    def fit(self, x, y=None, epochs=1, batch_size=32, validation_data=None, callbacks=None, verbose=1,
            shuffle=True, seed=0, validation_split=0.0, initial_epoch=0, class_weight=None, sample_weight=None,
            steps_per_epoch=None, validation_steps=None, validation_freq=1):
        """Train for `epochs` passes over (x, y) in shuffled batches; class_weight ({class:
        weight}) and sample_weight (one per example) weight each example's loss, as Keras's.
        x may instead give the batches itself (an sg.utils.Sequence, a generator, or
        ImageDataGenerator.flow(...)): steps_per_epoch batches an epoch (a Sequence's len by default).
        validation_freq=n validates every n epochs (or after those in a list), as Keras's."""
        return training.fit(self, x, y, epochs, batch_size, validation_data, callbacks, verbose,
                            shuffle, seed, validation_split, initial_epoch, class_weight, sample_weight,
                            steps_per_epoch, validation_steps, validation_freq)

    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1, callbacks=None,
                      validation_data=None, validation_steps=None, class_weight=None, initial_epoch=0, **ignored):
        """Keras 2's fit_generator: fit on the batches a generator or Sequence gives."""
        return self.fit(generator, epochs=epochs, verbose=verbose, callbacks=callbacks, validation_data=validation_data,
                        validation_steps=validation_steps, class_weight=class_weight, initial_epoch=initial_epoch,
                        steps_per_epoch=steps_per_epoch)

    def evaluate_generator(self, generator, steps=None, **ignored):
        return self.evaluate(generator, steps=steps)

    def predict_generator(self, generator, steps=None, **ignored):
        return self.predict(generator, steps=steps)

    def evaluate(self, x, y=None, batch_size=256, verbose=0, return_dict=False, steps=None):
        """The loss and metrics over (x, y) in inference mode (or over the batches x gives);
        return_dict=True names them."""
        values = training.evaluate(self, x, y, batch_size, steps)
        if not return_dict:
            return values
        names = ["loss"] + self.compiled.metric_names
        return dict(zip(names, values if isinstance(values, list) else [values]))

    def predict(self, x, batch_size=256, verbose=0, steps=None):
        return training.predict(self, x, batch_size, steps)

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None):
        return training.train_on_batch(self, x, y, sample_weight, class_weight)

    def test_on_batch(self, x, y):
        return training.test_on_batch(self, x, y)

    def predict_on_batch(self, x):
        return training.predict_on_batch(self, x)

    def predict_function(self):
        return training.predict_function(self)


class Sequential(Model):
    """A stack of layers, each fed by the one before: Sequential([Conv2D(...), Flatten(), Dense(10)])."""

    def __init__(self, layers=None, name=None):
        self.name = name or "sequential"
        self.pending = []
        self.compiled = None
        self.stop_training = False
        self.input = None
        self.calls, self.layers = [], []
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        if isinstance(layer, Variable):  # sg.layers.Input((...)) as the first entry
            if self.pending or self.calls:
                raise ValueError("an Input can only start a Sequential model")
            self.input = layer
            return
        if isinstance(layer, Model):  # a built model stacked as one layer (Keras allows it)
            layer = NestedModel(layer)
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential takes layers, got {type(layer).__name__}")
        self.pending.append(layer)
        hint = self.pending[0].input_shape_hint
        if self.input is None and hint is not None:
            self.input = Input(hint, dtype=self.pending[0].input_dtype)
        if self.input is not None:
            self._connect()

    def pop(self):
        """Remove the last layer (Keras's model.pop(): a trained base without its classifier,
        to add another)."""
        if self.pending:
            self.pending.pop()
        elif self.calls:
            self.calls.pop()
            self.layers = [layer for layer, _, _ in self.calls]
            self.output = self.calls[-1][2] if self.calls else None
        else:
            raise TypeError("there are no layers in the model to pop")
        self._forget_functions()

    def _forget_functions(self):
        """Drop the functions compiled for the model's old output (a layer added or popped
        after predict or fit): the next call compiles the new one, with the optimizer kept."""
        self._predict_fn = None
        if self.compiled is not None:
            self.compiled.train_fns.clear()
            self.compiled.eval_fns.clear()

    def _connect(self):
        x = self.output if self.calls else self.input
        for layer in self.pending:
            out = layer(x)
            if isinstance(out, list):
                raise ValueError(f"{layer.name} gives {len(out)} outputs (return_state?): a Sequential model's "
                                 f"layers give one each; use the functional Model")
            self.calls.append((layer, x, out))
            x = out
        self.pending = []
        self.output = x
        self._forget_functions()
        self.layers = [layer for layer, _, _ in self.calls]
        self.input_shape = tuple(self.input.type.shape)

    def build(self, input_shape):
        """Build for examples of `input_shape` (without the batch axis), if no Input was given."""
        if self.input is None:
            self.input = Input(tuple(input_shape), dtype=self.pending[0].input_dtype if self.pending else None)
        if self.pending:
            self._connect()

    def ensure_built(self, x):
        if self.input is None or self.pending:
            self.build(np.shape(x)[1:])

    def build_for(self, x):
        if isinstance(x, Variable):  # (a block of layers in a subclassed model's call)
            self.build(x.type.shape[1:])

    @property
    def output_shape(self):
        return tuple(self.output.type.shape)

    @property
    def output_names(self):
        layers = self.layers + self.pending  # (compile may come before the first data builds it)
        return [layers[-1].name if layers else "output"]


def _maker_name(var):
    history = getattr(var, "layer_history", None)
    return history[0].name if history else (var.name or "output")


def clone_model(model):
    """Keras's clone_model: a new model of the same layers and wiring with fresh weights (drawn
    by the layers' initializers), not compiled; model.get_weights() copies the trained ones."""
    return type(model).from_config(model.get_config())


def _recorded_calls(inputs, outputs):
    """The (layer, input or list of inputs, output) calls between the inputs and the outputs
    (lists), each after the calls that make its inputs (a merge layer's branches: a graph, not
    a chain). A call of several outputs (a recurrent layer's with return_state) is one entry,
    its output the tuple of them all."""
    calls, done = [], {id(v) for v in inputs}
    stack = [(v, False) for v in reversed(outputs)]
    while stack:
        var, ready = stack.pop()
        if id(var) in done:
            continue
        history = getattr(var, "layer_history", None)
        if history is None:  # (an expression between layers, inputs / 255.0: a layer of its own)
            history = recorded_expression(var, lambda v: id(v) in done or getattr(v, "layer_history", None))
        if history is None:
            raise ValueError("the outputs are not made by layers called on the given inputs "
                             "(use sg.layers.Input and call layers on it)")
        layer, source = history
        sources = source if isinstance(source, list) else [source]
        if ready:
            siblings = getattr(var, "layer_output", None)
            result = var if siblings is None else siblings[0]
            done.update(id(v) for v in (result if isinstance(result, tuple) else [result]))
            calls.append((layer, source, result))
            continue
        stack.append((var, True))
        stack.extend((s, False) for s in reversed(sources) if id(s) not in done)
    return calls


def _with_updates(traced):
    output, context = traced
    return output, context.updates


class NestedModel(Layer):
    """A model called as a layer (Model.__call__): its weights, its layers' trainable flags
    and its `trainable` are the model's own; its calls are replayed in the outer trace's mode
    (or in inference mode with training=False, where its batch statistics stay as they are)."""

    def __init__(self, model, training=None):
        if model.input is None:
            raise ValueError(f"{model.name} is not built: give its first layer input_shape=..., or call it on data first")
        super().__init__(name=model.name, trainable=model.trainable)
        self.model, self.training = model, training
        self.weights = model.weights
        self._replayed_mask = None

    @property
    def trainable(self):
        return self.model.trainable

    @trainable.setter
    def trainable(self, value):
        if hasattr(self, "model"):  # (Layer.__init__ sets it before the model is known)
            self.model.trainable = value

    @property
    def trainable_weights(self):
        return self.model.trainable_weights

    @property
    def non_trainable_weights(self):
        return self.model.non_trainable_weights

    @property
    def losses(self):
        return self.model.losses

    def called_on(self, x):
        """A variable, or a list of them for a model of several inputs."""
        if self.model.several_inputs:
            if not isinstance(x, (list, tuple)) or len(x) != len(self.model.inputs) \
                    or not all(isinstance(v, Variable) for v in x):
                raise ValueError(f"{self.name} takes a list of {len(self.model.inputs)} symbolic inputs, got {x!r}")
            return list(x)
        return super().called_on(x)

    def compute_output_shape(self, input_shape):
        shapes = [tuple(v.type.shape) for v in self.model.outputs]
        return shapes if self.model.several_outputs else shapes[0]

    def call(self, x, context):
        """The model's output (a list of them for a model of several outputs, each a layer
        output of its own in the outer model)."""
        if self.training is not None and bool(self.training) != context.training:
            context = TraceContext(bool(self.training))
        outs = self.model.replay(x, context)
        first = outs[0] if isinstance(outs, list) else outs
        self._replayed_mask = getattr(first, "keras_mask", None)
        return outs

    def compute_mask(self, x, mask):
        """The mask the model's own layers gave its (first) output in the call just traced (an
        Embedding(mask_zero=True) inside a text encoder, or the outer input's mask carried
        through), which the outer model's recurrent layers then read."""
        return self._replayed_mask
