"""Seeded random streams that give the same numbers on every backend.

Numbers come from a counter-based generator (SplitMix64 hashing of key, call counter and
element index), which is plain integer arithmetic that NumPy, Numba and CUDA compute
bit-for-bit alike. Each draw owns a shared state [key, counter]; the compiled function
advances the counter on every call (a default update, as in Theano), so each call draws
fresh numbers and the same seed replays the same sequence.

    >>> rng = sg.random.RandomStream(42)
    >>> noise = rng.normal((3, 4))
"""
import numpy as np

from .base import Op, Apply, TensorType, Variable, as_variable, as_int_vector
from .shape import static_entries
from ..graph import SharedVariable
from ..config import dtype_or_floatx

_M1, _M2, _GOLDEN = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)


def splitmix64(z):
    """The SplitMix64 finaliser on a uint64 array (wrapping arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def random_bits(key, counter, n, salt=0):
    """n pseudo-random uint64 words for (key, counter); `salt` gives independent sub-streams."""
    base = splitmix64((np.array([key], dtype=np.uint64) ^ (np.array([salt], dtype=np.uint64) * _GOLDEN))
                      ^ splitmix64(np.array([counter], dtype=np.uint64)))
    index = np.arange(1, n + 1, dtype=np.uint64)
    return splitmix64(base + index * _GOLDEN)


def uniform01(bits):
    """Doubles in [0, 1) from the top 53 bits."""
    return (bits >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def _sample(dist, key, counter, size, params, dtype):
    n = int(np.prod(size))
    if dist == "uniform":
        low, high = params
        u = uniform01(random_bits(key, counter, n))
        return (low + (high - low) * u.reshape(size)).astype(dtype)
    if dist == "normal":
        avg, std = params
        u1 = 1.0 - uniform01(random_bits(key, counter, n, salt=1))  # (0, 1]: log is finite
        u2 = uniform01(random_bits(key, counter, n, salt=2))
        z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
        return (avg + std * z.reshape(size)).astype(dtype)
    if dist == "binomial":
        trials, p = params
        trials_max = int(np.max(trials)) if np.size(trials) else 0
        count = np.zeros(n, dtype=np.int64)
        p_flat = np.broadcast_to(p, size).reshape(-1)
        t_flat = np.broadcast_to(trials, size).reshape(-1)
        for t in range(trials_max):
            hit = uniform01(random_bits(key, counter, n, salt=3 + t)) < p_flat
            count += hit & (t < t_flat)
        return count.reshape(size).astype(dtype)
    raise ValueError(f"unknown distribution {dist}")


class RandomDraw(Op):
    """(state, size, *params) -> (next state, sample)."""

    __props__ = ("dist", "dtype")

    def __init__(self, dist, dtype):
        self.dist, self.dtype = dist, dtype

    def make_node(self, state, size, *params):
        size = as_int_vector(size, f"{self.dist} size")
        params = [as_variable(p) for p in params]
        dims = static_entries(size, size.type.shape[0])
        outs = [Variable(state.type), Variable(TensorType(self.dtype, dims))]
        return Apply(self, [state, size, *params], outs)

    def perform(self, node, inputs):
        state, size, params = inputs[0], tuple(int(s) for s in inputs[1]), inputs[2:]
        if any(s < 0 for s in size):
            raise ValueError(f"negative size {size} for a random draw")
        key, counter = state[0], state[1]
        sample = _sample(self.dist, key, counter, size, params, self.dtype)
        return [np.array([key, counter + np.uint64(1)], dtype=np.uint64), sample]

    def grad(self, inputs, outputs, output_grads):
        return [None] * len(inputs)


class RandomStream:
    """A factory of random variables sharing one seed (Theano's RandomStreams)."""

    def __init__(self, seed=None):
        self.states = []
        self.seed(np.random.SeedSequence().entropy % (2 ** 63) if seed is None else seed)

    def seed(self, seed):
        """Restart every stream made by this factory from `seed`."""
        self._seed = int(seed)
        for i, state in enumerate(self.states):
            state.set_value(self._initial_state(i))

    def _initial_state(self, i):
        key = splitmix64(np.array([self._seed], dtype=np.uint64) + np.array([i], dtype=np.uint64) * _GOLDEN)[0]
        return np.array([key, 0], dtype=np.uint64)

    def _draw(self, dist, size, params, dtype):
        state = SharedVariable(self._initial_state(len(self.states)), name=f"rng_state_{len(self.states)}")
        self.states.append(state)
        new_state, sample = RandomDraw(dist, np.dtype(dtype).name)(state, size, *params)
        state.default_update = new_state
        return sample

    def uniform(self, size, low=0.0, high=1.0, dtype=None):
        return self._draw("uniform", size, [low, high], dtype_or_floatx(dtype))

    def normal(self, size, avg=0.0, std=1.0, dtype=None):
        return self._draw("normal", size, [avg, std], dtype_or_floatx(dtype))

    def binomial(self, size, n=1, p=0.5, dtype="int64"):
        return self._draw("binomial", size, [n, p], dtype)
