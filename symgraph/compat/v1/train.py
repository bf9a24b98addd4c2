"""tf.train: TensorFlow 1's optimizers (each rule as TensorFlow writes it, its defaults too),
learning-rate decays, the global step and Saver. minimize(loss) is an Operation: running it
takes one step of every trainable variable (or var_list)."""
import os
import warnings
from collections import OrderedDict

import numpy as np

from ...grad import grad
from ...ops import elemwise as E
from ...ops.base import as_variable
from ...ops.shape import zeros_like
from .example import BytesList, Example, Feature, Features, FloatList, Int64List
from .hooks import LoggingTensorHook, SessionRunArgs, SessionRunHook, StopAtStepHook
from .monitored_session import (CheckpointSaverHook, ChiefSessionCreator, MonitoredSession, MonitoredTrainingSession,
                                NanLossDuringTrainingError, NanTensorHook, SingularMonitoredSession, StepCounterHook,
                                SummarySaverHook)
from .meta_graph import MetaGraphDef, export_meta_graph, import_meta_graph
from .names import name_functions, op_name, root_scope
from .variables import TFVariable, operation, trainable_variables, _collections


class Optimizer:
    def __init__(self, learning_rate, use_locking=False, name=None):
        self.learning_rate = learning_rate
        self.name = name or type(self).__name__

    def compute_gradients(self, loss, var_list=None, **unused):
        """[(gradient, variable)] for the trainable variables (or var_list) the loss depends on;
        None for one it does not depend on, as TensorFlow's."""
        var_list = trainable_variables() if var_list is None else list(var_list)
        if not var_list:
            raise ValueError("No variables to optimize.")
        grads = grad(loss, var_list, disconnected_inputs="ignore", return_disconnected="None")
        return list(zip(grads, var_list))

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        updates = OrderedDict()
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        if not pairs:
            raise ValueError(f"No gradients provided for any variable: {[v.name for _, v in grads_and_vars]}")
        lr = as_variable(self.learning_rate)
        for g, v in pairs:
            g = as_variable(g)
            rate = lr if lr.dtype == v.dtype else E.cast(lr, v.dtype)
            for var, value in self._rule(g if g.dtype == v.dtype else E.cast(g, v.dtype), v, rate).items():
                updates[var] = value if value.dtype == var.dtype else E.cast(value, var.dtype)
        updates.update(self._extra_updates())
        if global_step is not None:
            updates[global_step] = global_step + 1
        return operation(updates, name or self.name)

    def minimize(self, loss, global_step=None, var_list=None, name=None, **unused):
        return self.apply_gradients(self.compute_gradients(loss, var_list), global_step, name)

    def _extra_updates(self):
        return {}

    def _slot(self, var, name, value=0.0):
        with root_scope():  # (named after the variable, whatever name scope minimize() is called in)
            return TFVariable(np.full(var.get_value(borrow=True).shape, value, dtype=var.dtype), trainable=False,
                              name=f"{op_name(var)}/{self.name}/{name}")


class GradientDescentOptimizer(Optimizer):
    def _rule(self, g, v, lr):
        return {v: v - lr * g}


class MomentumOptimizer(Optimizer):
    """accumulation = momentum * accumulation + g; var -= lr * accumulation (Nesterov: var -=
    lr * (g + momentum * accumulation))."""

    def __init__(self, learning_rate, momentum, use_locking=False, name="Momentum", use_nesterov=False):
        super().__init__(learning_rate, use_locking, name)
        self.momentum, self.use_nesterov = momentum, use_nesterov

    def _rule(self, g, v, lr):
        acc = self._slot(v, "Momentum")
        new = self.momentum * acc + g
        step = g + self.momentum * new if self.use_nesterov else new
        return {acc: new, v: v - lr * step}


class AdagradOptimizer(Optimizer):
    def __init__(self, learning_rate, initial_accumulator_value=0.1, use_locking=False, name="Adagrad"):
        super().__init__(learning_rate, use_locking, name)
        self.initial_accumulator_value = initial_accumulator_value

    def _rule(self, g, v, lr):
        acc = self._slot(v, "Adagrad", self.initial_accumulator_value)
        new = acc + g * g
        return {acc: new, v: v - lr * g / E.sqrt(new)}


class RMSPropOptimizer(Optimizer):
    """ms = decay * ms + (1 - decay) g^2; mom = momentum * mom + lr g / sqrt(ms + epsilon);
    var -= mom (TensorFlow's: epsilon inside the root)."""

    def __init__(self, learning_rate, decay=0.9, momentum=0.0, epsilon=1e-10, use_locking=False, centered=False,
                 name="RMSProp"):
        super().__init__(learning_rate, use_locking, name)
        self.decay, self.momentum, self.epsilon, self.centered = decay, momentum, epsilon, centered

    def _rule(self, g, v, lr):
        ms, mom = self._slot(v, "RMSProp", 1.0), self._slot(v, "Momentum")
        new_ms = self.decay * ms + (1 - self.decay) * g * g
        updates = {ms: new_ms}
        denominator = new_ms
        if self.centered:
            mg = self._slot(v, "MeanGrad")
            new_mg = self.decay * mg + (1 - self.decay) * g
            updates[mg] = new_mg
            denominator = new_ms - new_mg * new_mg
        new_mom = self.momentum * mom + lr * g / E.sqrt(denominator + self.epsilon)
        updates.update({mom: new_mom, v: v - new_mom})
        return updates


class AdamOptimizer(Optimizer):
    """TensorFlow 1's Adam: lr_t = lr sqrt(1 - beta2^t) / (1 - beta1^t); var -= lr_t m / (sqrt(v)
    + epsilon), epsilon 1e-8 (outside the root, unlike Keras's epsilon-hat reading)."""

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, use_locking=False, name="Adam"):
        super().__init__(learning_rate, use_locking, name)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self._powers = None

    def _rule(self, g, v, lr):
        if self._powers is None:  # (beta1^t and beta2^t, one pair for the optimizer, as TensorFlow's,
            # of the first variable's dtype)
            with root_scope():
                self._powers = tuple(TFVariable(np.asarray(beta, v.dtype), trainable=False,
                                                name=f"{self.name}/{name}")
                                     for beta, name in ((self.beta1, "beta1_power"), (self.beta2, "beta2_power")))
        b1, b2 = (E.cast(p, v.dtype) if p.dtype != v.dtype else p for p in self._powers)
        m, s = self._slot(v, "m"), self._slot(v, "v")
        new_m = self.beta1 * m + (1 - self.beta1) * g
        new_s = self.beta2 * s + (1 - self.beta2) * g * g
        rate = lr * E.sqrt(1 - b2) / (1 - b1)
        return {m: new_m, s: new_s, v: v - rate * new_m / (E.sqrt(new_s) + self.epsilon)}

    def _extra_updates(self):
        b1, b2 = self._powers
        return {b1: b1 * self.beta1, b2: b2 * self.beta2}


class FtrlOptimizer(Optimizer):
    """TensorFlow's FTRL-Proximal (McMahan et al., 2013; the linear estimators' default):
    accum' = accum + g^2; linear += g - (accum'^-p - accum^-p) / lr * var (p the learning rate
    power, -0.5); var = (sign(linear) l1 - linear) / (accum'^-p / lr + 2 l2) where |linear| > l1,
    else 0."""

    def __init__(self, learning_rate, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0, use_locking=False, name="Ftrl",
                 **unused):
        super().__init__(learning_rate, use_locking, name)
        self.power, self.initial = learning_rate_power, initial_accumulator_value
        self.l1, self.l2 = l1_regularization_strength, l2_regularization_strength

    def _rule(self, g, v, lr):
        accum, linear = self._slot(v, "accum", self.initial), self._slot(v, "linear")
        new_accum = accum + g * g
        new_linear = linear + g - (new_accum ** -self.power - accum ** -self.power) / lr * v
        quadratic = new_accum ** -self.power / lr + 2 * self.l2
        shrunk = (E.sgn(new_linear) * self.l1 - new_linear) / quadratic
        return {accum: new_accum, linear: new_linear, v: E.where(E.gt(abs(new_linear), self.l1), shrunk, 0 * v)}


def exponential_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False, name=None):
    """learning_rate * decay_rate ^ (global_step / decay_steps), the exponent floored when staircase."""
    ratio = E.cast(global_step, "float32") / float(decay_steps)
    return learning_rate * E.pow(np.float32(decay_rate), E.floor(ratio) if staircase else ratio)


def inverse_time_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False, name=None):
    ratio = E.cast(global_step, "float32") / float(decay_steps)
    return learning_rate / (1 + decay_rate * (E.floor(ratio) if staircase else ratio))


def piecewise_constant(x, boundaries, values, name=None):
    out = as_variable(np.float32(values[-1]))
    for boundary, value in reversed(list(zip(boundaries, values))):
        out = E.where(E.le(x, boundary), np.float32(value), out)
    return out


def get_or_create_global_step(graph=None):
    step = get_global_step()
    if step is not None:
        return step
    with root_scope():
        return TFVariable(np.int64(0), trainable=False, name="global_step")


def create_global_step(graph=None):
    return get_or_create_global_step()


def get_global_step(graph=None):
    return next((v for v in _collections["variables"] if op_name(v) == "global_step"), None)


class Saver:
    """tf.train.Saver(var_list=None): save(sess, path) writes every variable's value by name
    (path + ".npz"; the path returned) and the graph (path + ".meta", meta_graph.py: what
    tf.train.import_meta_graph reads), restore(sess, path) reads the values back."""

    def __init__(self, var_list=None, max_to_keep=5, **unused):
        self.var_list = var_list
        self._meta_refused = None  # (why the graph could not be written, said once)

    def _variables(self):
        if self.var_list is None:
            return {op_name(v): v for v in _collections["variables"]}
        if isinstance(self.var_list, dict):
            return dict(self.var_list)
        return {op_name(v): v for v in self.var_list}

    def save(self, sess, save_path, global_step=None, latest_filename=None, meta_graph_suffix="meta",
             write_meta_graph=True, **unused):
        """Writes path.npz (path-<step> with global_step), path.meta (the graph; a graph that
        cannot be pickled is said once in a warning, its values still saved) and, as
        TensorFlow's, a `checkpoint` file in its folder naming it the latest
        (tf.train.latest_checkpoint reads it)."""
        path = save_path if global_step is None else f"{save_path}-{int(np.asarray(_value(global_step)))}"
        np.savez(path + ".npz", **{name: v.get_value() for name, v in self._variables().items()})
        if write_meta_graph and self._meta_refused is None:
            try:
                export_meta_graph(f"{path}.{meta_graph_suffix}")
            except ValueError as error:
                self._meta_refused = str(error)
                warnings.warn(f"Saver.save: no .meta written: {error}", stacklevel=2)
        with open(os.path.join(os.path.dirname(os.path.abspath(path)), latest_filename or "checkpoint"), "w") as fh:
            fh.write(f'model_checkpoint_path: "{os.path.basename(path)}"\n')
        return path

    def restore(self, sess, save_path):
        file = save_path if save_path.endswith(".npz") else save_path + ".npz"
        if not os.path.exists(file):
            raise ValueError(f"Saver.restore: no checkpoint at {save_path!r} ({file} not found)")
        with np.load(file) as stored:
            variables = self._variables()
            missing = sorted(set(variables) - set(stored.files))
            if missing:
                raise KeyError(f"Saver.restore: {file} has no values for {missing}")
            values = {name: stored[name].astype(var.dtype) for name, var in variables.items()}
        for name, var in variables.items():  # (every shape checked before any variable changes)
            if values[name].shape != var.get_value(borrow=True).shape:
                raise ValueError(f"Saver.restore: {name} is {values[name].shape} in {file}, "
                                 f"{var.get_value(borrow=True).shape} here")
        for name, var in variables.items():
            var.set_value(values[name])


def write_graph(graph_or_graph_def, logdir, name, as_text=True):
    """The graph's GraphDef (graph_def.py) in logdir/name: protobuf's text form, or its bytes."""
    graph_def = graph_or_graph_def.as_graph_def() if hasattr(graph_or_graph_def, "as_graph_def") \
        else graph_or_graph_def
    os.makedirs(logdir, exist_ok=True)
    path = os.path.join(logdir, name)
    with open(path, "w" if as_text else "wb") as fh:
        fh.write(repr(graph_def) if as_text else graph_def.SerializeToString())
    return path


def latest_checkpoint(checkpoint_dir, latest_filename=None):
    """The path Saver.save wrote last in that folder (its `checkpoint` file), or None."""
    record = os.path.join(checkpoint_dir, latest_filename or "checkpoint")
    if not os.path.exists(record):
        return None
    with open(record) as fh:
        for line in fh:
            if line.startswith("model_checkpoint_path:"):
                name = line.split(":", 1)[1].strip().strip('"')
                return name if os.path.isabs(name) else os.path.join(checkpoint_dir, name)
    return None


def _value(step):
    return step.get_value() if hasattr(step, "get_value") else step


name_functions(globals(), {"exponential_decay": "ExponentialDecay", "inverse_time_decay": "InverseTimeDecay",
                           "piecewise_constant": "PiecewiseConstant"})
