"""Weight penalties, as Keras's: Dense(64, kernel_regularizer=sg.regularizers.l2(1e-4)) adds
1e-4 * sum(W ** 2) to the loss that fit minimizes and reports (Keras's l2 has no 1/2).
A regularizer is any function from a weight (or a layer's output, for activity_regularizer)
to a symbolic scalar; these are the usual ones, by object or by name ("l1", "l2", "l1_l2":
Keras's default factor 0.01)."""
import numpy as np

from .construction import Recorded
from .naming import lookup
from .variables import constant


class Regularizer(Recorded):
    """Base class: regularizer(x) -> symbolic scalar penalty."""

    def __call__(self, x):
        raise NotImplementedError

    def get_config(self):
        """The constructor's arguments (a saved model builds the regularizer again from them)."""
        return self.named_arguments()


class L1L2(Regularizer):
    """l1 * sum(|x|) + l2 * sum(x ** 2)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        penalty = 0.0
        if self.l1:
            penalty = penalty + self.l1 * abs(x).sum()
        if self.l2:
            penalty = penalty + self.l2 * (x * x).sum()
        if not (self.l1 or self.l2):
            penalty = constant(np.zeros((), x.dtype))
        return penalty

    def __repr__(self):
        return f"L1L2(l1={self.l1}, l2={self.l2})"


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)


def l1(l1=0.01):
    return L1(l1)


def l2(l2=0.01):
    return L2(l2)


def l1_l2(l1=0.01, l2=0.01):
    return L1L2(l1, l2)


_BY_NAME = {"l1": l1, "l2": l2, "l1_l2": l1_l2}


def get(identifier):
    """None, a regularizer (any callable), or a name ("l1", "l2", "l1_l2") with Keras's
    default factors."""
    if identifier is None or callable(identifier):
        return identifier
    return lookup(_BY_NAME, identifier, "regularizer")()
