"""Activations by name, for layers: sg.activations.get("relu")."""
from .ops import elemwise as E
from .ops import nn as N


def linear(x):
    return x


_BY_NAME = {"relu": E.relu, "sigmoid": E.sigmoid, "tanh": E.tanh, "softmax": N.softmax,
            "log_softmax": N.log_softmax, "softplus": E.softplus, "elu": E.elu, "gelu": E.gelu,
            "hard_sigmoid": E.hard_sigmoid, "linear": linear, None: linear}


def get(activation):
    """A callable for an activation name (or the callable itself)."""
    if callable(activation):
        return activation
    try:
        return _BY_NAME[activation]
    except KeyError:
        raise ValueError(f"unknown activation {activation!r}; choose from "
                         f"{sorted(k for k in _BY_NAME if k)} or pass a function") from None


def name_of(activation):
    for name, fn in _BY_NAME.items():
        if fn is activation and name:
            return name
    return getattr(activation, "__name__", "custom")
