"""tf.get_variable, tf.variable_scope and TensorFlow 1's initializers (callables of a shape and
a dtype giving the initial value as a tensor: random ones draw afresh when the initializer
operation runs again)."""
import contextlib

import numpy as np

from ...ops.base import as_variable
from ...ops.shape import zeros, ones
from .names import current_scope, name_scope, op_name, root_scope
from .variables import TFVariable, _collections, random_normal, random_uniform, truncated_normal

AUTO_REUSE = "auto_reuse"
_scopes = []  # (name, reuse) of each open variable_scope, outermost first


@contextlib.contextmanager
def variable_scope(name_or_scope, default_name=None, values=None, reuse=None, **unused):
    """Names made inside are "scope/name"; reuse=True (or inherited) makes get_variable return
    the existing variable of that name, tf.AUTO_REUSE makes it or returns it."""
    name = name_or_scope if isinstance(name_or_scope, str) else getattr(name_or_scope, "name", default_name)
    inherited = _scopes[-1][1] if _scopes else None
    _scopes.append((name, reuse if reuse is not None else inherited))
    # (its tensors' names: a name scope of its own, made unique as TensorFlow's; a scope object
    # reopens the name scope it had)
    reopened = getattr(name_or_scope, "original_name_scope", None)
    try:
        with name_scope(reopened or name or None):
            yield _Scope(_prefix()[:-1], _scopes[-1][1], current_scope())
    finally:
        _scopes.pop()


class _Scope:
    def __init__(self, name, reuse, original_name_scope=""):
        self.name, self.reuse = name, reuse
        self.original_name_scope = f"{original_name_scope}/" if original_name_scope else ""

    def reuse_variables(self):
        """get_variable in the open scope returns existing variables from here on (TensorFlow's
        unrolled loops: the first step makes them, the others reuse them)."""
        if _scopes:
            _scopes[-1] = (_scopes[-1][0], True)
        self.reuse = True


def _prefix():
    return "".join(f"{name}/" for name, _ in _scopes if name)


def get_variable_scope():
    return _Scope(_prefix()[:-1], _scopes[-1][1] if _scopes else None, current_scope())


def get_variable(name, shape=None, dtype="float32", initializer=None, regularizer=None, trainable=True, **unused):
    """The variable scope/name: made with the initializer (Glorot's uniform by default, as
    TensorFlow's), or the existing one where the scope reuses."""
    full = _prefix() + name
    reuse = _scopes[-1][1] if _scopes else None
    existing = next((v for v in _collections["variables"] if op_name(v) == full), None)
    if existing is not None:
        if reuse in (True, AUTO_REUSE):
            return existing
        raise ValueError(f"Variable {full} already exists, disallowed. Did you mean to set reuse=True or "
                         f"reuse=tf.AUTO_REUSE in VarScope?")
    if reuse is True:
        raise ValueError(f"Variable {full} does not exist, or was not created with tf.get_variable(). Did you "
                         f"mean to set reuse=tf.AUTO_REUSE in VarScope?")
    if initializer is None:
        initializer = glorot_uniform_initializer()
    with root_scope(), name_scope(f"{full}/Initializer"):
        if callable(initializer):
            if shape is None:
                raise ValueError(f"get_variable: {full} needs a shape to be made by an initializer")
            value = initializer([int(s) for s in shape], dtype=dtype)
        else:
            value = as_variable(np.asarray(initializer, dtype=dtype))
    with root_scope():  # (named by its variable scope, whatever name scope is open)
        variable = TFVariable(value, trainable=trainable, name=full, dtype=dtype)
    if regularizer is not None:  # (its penalty in REGULARIZATION_LOSSES, as TensorFlow's)
        penalty = regularizer(variable)
        if penalty is not None:
            _collections["regularization_losses"].append(penalty)
    return variable


def zeros_initializer(dtype="float32"):
    return lambda shape, dtype=dtype, **kw: zeros(shape, dtype=np.dtype(dtype).name)


def ones_initializer(dtype="float32"):
    return lambda shape, dtype=dtype, **kw: ones(shape, dtype=np.dtype(dtype).name)


def constant_initializer(value=0, dtype="float32"):
    def make(shape, dtype=dtype, **kw):
        return as_variable(np.broadcast_to(np.asarray(value, dtype=dtype), shape).copy()
                           if np.size(value) == 1 else np.asarray(value, dtype=dtype).reshape(shape))
    return make


def random_normal_initializer(mean=0.0, stddev=1.0, seed=None, dtype="float32"):
    return lambda shape, dtype=dtype, **kw: random_normal(shape, mean, stddev, dtype, seed)


def truncated_normal_initializer(mean=0.0, stddev=1.0, seed=None, dtype="float32"):
    return lambda shape, dtype=dtype, **kw: truncated_normal(shape, mean, stddev, dtype, seed)


def random_uniform_initializer(minval=0.0, maxval=None, seed=None, dtype="float32"):
    return lambda shape, dtype=dtype, **kw: random_uniform(shape, minval, 1.0 if maxval is None else maxval, dtype,
                                                          seed)


def variance_scaling_initializer(scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                                 dtype="float32"):
    """scale / fan (fan_in, fan_out or their mean) as the variance: uniform within
    sqrt(3 * that), or a normal truncated at two deviations (TensorFlow divides its deviation
    by 0.8796, the truncated one's)."""
    def make(shape, dtype=dtype, **kw):
        fan_in, fan_out = _fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        variance = scale / max(1.0, fan)
        if distribution == "uniform":
            limit = np.sqrt(3 * variance)
            return random_uniform(shape, -limit, limit, dtype, seed)
        if distribution in ("truncated_normal", "normal"):
            return truncated_normal(shape, 0.0, np.sqrt(variance) / 0.87962566103423978, dtype, seed)
        return random_normal(shape, 0.0, np.sqrt(variance), dtype, seed)
    return make


def glorot_uniform_initializer(seed=None, dtype="float32"):
    return variance_scaling_initializer(1.0, "fan_avg", "uniform", seed, dtype)


def glorot_normal_initializer(seed=None, dtype="float32"):
    return variance_scaling_initializer(1.0, "fan_avg", "truncated_normal", seed, dtype)


def _fans(shape):
    """TensorFlow's: a matrix's rows and columns; a kernel's (..., in, out) by its window's size."""
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive
