"""Activations by name, for layers: sg.activations.get("relu")."""
from .naming import lookup
from .ops import elemwise as E
from .ops import nn as N


def linear(x):
    return x


_BY_NAME = {"relu": E.relu, "sigmoid": E.sigmoid, "tanh": E.tanh, "softmax": N.softmax,
            "log_softmax": N.log_softmax, "softplus": E.softplus, "elu": E.elu, "gelu": E.gelu,
            "hard_sigmoid": E.hard_sigmoid, "linear": linear, None: linear}


def get(activation):
    """A callable for an activation name (or the callable itself)."""
    return lookup(_BY_NAME, activation, "activation")


def name_of(activation):
    for name, fn in _BY_NAME.items():
        if fn is activation and name:
            return name
    return getattr(activation, "__name__", "custom")
