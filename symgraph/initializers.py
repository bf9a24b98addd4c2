"""Weight initializers as objects, Keras's way: Dense(64, kernel_initializer=
sg.initializers.RandomNormal(stddev=0.01), bias_initializer=sg.initializers.Constant(0.1)).

A layer's initializer is a name ("he_normal"), one of these, or any function (shape, fan_in,
fan_out) -> array; these are such functions with their settings kept (a saved model rebuilds
them). Draws come from the layers' generator, so sg.layers.set_seed makes them reproducible;
a seed given here makes that initializer's draws its own.
"""
import math

import numpy as np

from .construction import Recorded

default_generator = [np.random.default_rng(0)]  # (sg.layers.set_seed replaces it)


class Initializer(Recorded):
    """Base class: initializer(shape, fan_in, fan_out) -> a NumPy array of that shape."""

    def __call__(self, shape, fan_in=1, fan_out=1):
        raise NotImplementedError

    def generator(self):
        """The layers' shared generator (sg.layers.set_seed), or this initializer's own seed's."""
        if getattr(self, "seed", None) is None:
            return default_generator[0]
        return np.random.default_rng(self.seed)

    def get_config(self):
        return self.named_arguments()

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


class Zeros(Initializer):
    def __call__(self, shape, fan_in=1, fan_out=1):
        return np.zeros(shape)


class Ones(Initializer):
    def __call__(self, shape, fan_in=1, fan_out=1):
        return np.ones(shape)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = float(value)

    def __call__(self, shape, fan_in=1, fan_out=1):
        return np.full(shape, self.value)


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = float(mean), float(stddev), seed

    def __call__(self, shape, fan_in=1, fan_out=1):
        return self.generator().normal(self.mean, self.stddev, size=shape)


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = float(minval), float(maxval), seed

    def __call__(self, shape, fan_in=1, fan_out=1):
        return self.generator().uniform(self.minval, self.maxval, size=shape)


def truncated_normal(rng, shape, mean, stddev):
    """Normal draws beyond two standard deviations drawn again (Keras's TruncatedNormal)."""
    values = rng.normal(0.0, stddev, size=shape)
    while True:
        outside = np.abs(values) > 2 * stddev
        if not outside.any():
            return values + mean
        values[outside] = rng.normal(0.0, stddev, size=int(outside.sum()))


class TruncatedNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = float(mean), float(stddev), seed

    def __call__(self, shape, fan_in=1, fan_out=1):
        return truncated_normal(self.generator(), shape, self.mean, self.stddev)


class VarianceScaling(Initializer):
    """Variance scale / n, n the fan in, the fan out or their mean (mode "fan_in", "fan_out",
    "fan_avg"), drawn from a truncated normal (its stddev corrected for the cut), an untruncated
    normal or a uniform."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be fan_in, fan_out or fan_avg, got {mode!r}")
        if distribution not in ("truncated_normal", "normal", "untruncated_normal", "uniform"):
            raise ValueError(f"VarianceScaling: distribution must be truncated_normal, untruncated_normal or "
                             f"uniform, got {distribution!r}")
        self.scale, self.mode, self.distribution, self.seed = float(scale), mode, distribution, seed

    def __call__(self, shape, fan_in=1, fan_out=1):
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(n, 1)
        rng = self.generator()
        if self.distribution in ("truncated_normal", "normal"):
            return truncated_normal(rng, shape, 0.0, math.sqrt(variance) / 0.87962566103423978)
        if self.distribution == "untruncated_normal":
            return rng.normal(0.0, math.sqrt(variance), size=shape)
        limit = math.sqrt(3.0 * variance)
        return rng.uniform(-limit, limit, size=shape)


def _scaling(name, scale, mode, distribution, doc):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}
    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config, "__doc__": doc})


GlorotUniform = _scaling("GlorotUniform", 1.0, "fan_avg", "uniform", "Glorot and Bengio's uniform: limit sqrt(6 / (fan_in + fan_out)).")
GlorotNormal = _scaling("GlorotNormal", 1.0, "fan_avg", "truncated_normal", "Glorot's normal: stddev sqrt(2 / (fan_in + fan_out)).")
HeNormal = _scaling("HeNormal", 2.0, "fan_in", "truncated_normal", "He et al.'s normal: stddev sqrt(2 / fan_in).")
HeUniform = _scaling("HeUniform", 2.0, "fan_in", "uniform", "He et al.'s uniform: limit sqrt(6 / fan_in).")
LecunNormal = _scaling("LecunNormal", 1.0, "fan_in", "truncated_normal", "LeCun's normal: stddev sqrt(1 / fan_in).")
LecunUniform = _scaling("LecunUniform", 1.0, "fan_in", "uniform", "LeCun's uniform: limit sqrt(3 / fan_in).")


class Orthogonal(Initializer):
    """A random matrix with orthonormal rows or columns, times gain (Saxe et al.)."""

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = float(gain), seed

    def __call__(self, shape, fan_in=1, fan_out=1):
        rows, cols = shape[0], int(np.prod(shape[1:]))
        q, r = np.linalg.qr(self.generator().normal(size=(max(rows, cols), min(rows, cols))))
        q *= np.sign(np.diag(r))
        return self.gain * (q if rows >= cols else q.T).reshape(shape)


class Identity(Initializer):
    """gain times the identity matrix (a square or rectangular 2-d weight)."""

    def __init__(self, gain=1.0):
        self.gain = float(gain)

    def __call__(self, shape, fan_in=1, fan_out=1):
        if len(shape) != 2:
            raise ValueError(f"Identity initializes matrices, got shape {shape}")
        return self.gain * np.eye(*shape)


zeros, ones, constant = Zeros, Ones, Constant
random_normal, random_uniform = RandomNormal, RandomUniform
glorot_uniform, glorot_normal, he_normal, he_uniform = GlorotUniform, GlorotNormal, HeNormal, HeUniform
lecun_normal, lecun_uniform, orthogonal, identity = LecunNormal, LecunUniform, Orthogonal, Identity
