"""Activations by name, for layers: sg.activations.get("relu")."""
from .naming import lookup
from .ops import elemwise as E
from .ops import nn as N


def linear(x):
    return x


def swish(x):
    """x * sigmoid(x) (also called silu)."""
    return x * E.sigmoid(x)


def selu(x):
    """Klambauer et al.'s self-normalizing scale * elu(x, alpha), the constants Keras uses."""
    return 1.0507009873554805 * N.elu(x, 1.6732632423543772)


def softsign(x):
    return x / (abs(x) + 1)


def relu6(x):
    return E.clip(x, 0, 6)


def leaky_relu(x, alpha=0.2):
    """x where x > 0, else alpha * x (tf.nn.leaky_relu's default alpha)."""
    return E.where(x > 0, x, x * alpha)


def hard_sigmoid_keras3(x):
    """Keras 3's hard_sigmoid, relu6(x + 3) / 6 (slope 1/6): what "hard_sigmoid" means in a file
    Keras 3 wrote; the name alone is Keras 2's and Theano's, 0.2 x + 0.5 clipped."""
    return E.clip(x * (1.0 / 6.0) + 0.5, 0, 1)


_BY_NAME = {"relu": E.relu, "sigmoid": E.sigmoid, "tanh": E.tanh, "softmax": N.softmax,
            "log_softmax": N.log_softmax, "softplus": E.softplus, "elu": E.elu, "gelu": E.gelu,
            "hard_sigmoid": E.hard_sigmoid, "swish": swish, "silu": swish, "selu": selu, "softsign": softsign,
            "relu6": relu6, "leaky_relu": leaky_relu, "exponential": E.exp, "linear": linear,
            "hard_sigmoid_keras3": hard_sigmoid_keras3, None: linear}


def get(activation):
    """A callable for an activation name (or the callable itself)."""
    return lookup(_BY_NAME, activation, "activation")


def name_of(activation):
    for name, fn in _BY_NAME.items():
        if fn is activation and name:
            return name
    return getattr(activation, "__name__", "custom")
