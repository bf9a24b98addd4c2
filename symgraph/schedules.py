"""Keras's learning-rate schedules (sg.optimizers.schedules): an optimizer given one as its
learning rate, `SGD(learning_rate=ExponentialDecay(0.1, decay_steps=1000, decay_rate=0.9))`,
takes at each step the rate the schedule gives for the number of steps taken before it
(`optimizer.iterations`), computed in the compiled step (no recompiling, no callback).
Called on a number, a schedule gives that step's rate; on a symbolic step, its graph."""
import math

import numpy as np

from .ops import elemwise as E
from .ops.base import as_variable


def _numeric(step):
    return isinstance(step, (int, float, np.integer, np.floating))


class LearningRateSchedule:
    """A rate for each step: subclasses give `rate(step)` in elementwise operations that work
    on a symbolic step and on NumPy numbers alike (E.* for symbols, np.* for numbers)."""

    def __call__(self, step):
        if _numeric(step):
            return float(self.rate(float(step), np))
        return self.rate(E.cast(as_variable(step), "float64"), E)

    def rate(self, step, math_of):
        raise NotImplementedError

    def get_config(self):
        return dict(self.config)

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.config.items())})"


class _DecayBySteps(LearningRateSchedule):
    """The two decays of step / decay_steps (floored with staircase) at decay_rate."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
        self.config = dict(initial_learning_rate=initial_learning_rate, decay_steps=decay_steps,
                           decay_rate=decay_rate, staircase=staircase, name=name)

    def progress(self, step, m):
        p = step / self.config["decay_steps"]
        return m.floor(p) if self.config["staircase"] else p


class ExponentialDecay(_DecayBySteps):
    """initial_learning_rate * decay_rate ** (step / decay_steps) (its floor with staircase)."""

    def rate(self, step, m):
        c = self.config
        return c["initial_learning_rate"] * m.exp(self.progress(step, m) * math.log(c["decay_rate"]))


class InverseTimeDecay(_DecayBySteps):
    """initial_learning_rate / (1 + decay_rate * step / decay_steps) (its floor with staircase)."""

    def rate(self, step, m):
        c = self.config
        return c["initial_learning_rate"] / (1 + c["decay_rate"] * self.progress(step, m))


class PolynomialDecay(LearningRateSchedule):
    """From initial_learning_rate to end_learning_rate over decay_steps along
    (1 - step / decay_steps) ** power, then end_learning_rate (cycle: decay_steps grows to the
    next multiple of itself past the step, as Keras's)."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name=None):
        self.config = dict(initial_learning_rate=initial_learning_rate, decay_steps=decay_steps,
                           end_learning_rate=end_learning_rate, power=power, cycle=cycle, name=name)

    def rate(self, step, m):
        c = self.config
        if c["cycle"]:
            steps = c["decay_steps"] * m.maximum(m.ceil(step / c["decay_steps"]), 1.0)
        else:
            steps, step = c["decay_steps"], m.minimum(step, float(c["decay_steps"]))
        left = 1 - step / steps
        return (c["initial_learning_rate"] - c["end_learning_rate"]) * left ** c["power"] + c["end_learning_rate"]


class CosineDecay(LearningRateSchedule):
    """initial_learning_rate * ((1 - alpha) * (1 + cos(pi * step / decay_steps)) / 2 + alpha),
    held at its end past decay_steps."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name=None):
        self.config = dict(initial_learning_rate=initial_learning_rate, decay_steps=decay_steps, alpha=alpha,
                           name=name)

    def rate(self, step, m):
        c = self.config
        done = m.minimum(step, float(c["decay_steps"])) / c["decay_steps"]
        cosine = 0.5 * (1 + m.cos(math.pi * done))
        return c["initial_learning_rate"] * ((1 - c["alpha"]) * cosine + c["alpha"])


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] up to boundaries[0] steps (included), values[1] up to boundaries[1], ...,
    values[-1] after the last boundary."""

    def __init__(self, boundaries, values, name=None):
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"PiecewiseConstantDecay takes one value more than boundaries: {len(boundaries)} "
                             f"boundaries, {len(values)} values")
        self.config = dict(boundaries=list(boundaries), values=list(values), name=name)

    def rate(self, step, m):
        boundaries, values = self.config["boundaries"], self.config["values"]
        rate = values[-1]
        for boundary, value in zip(reversed(boundaries), reversed(values[:-1])):
            rate = m.where(step <= boundary, value, rate) if m is np else E.where(E.le(step, boundary), value, rate)
        return rate


CLASSES = {cls.__name__: cls for cls in (ExponentialDecay, InverseTimeDecay, PolynomialDecay, CosineDecay,
                                         PiecewiseConstantDecay)}
