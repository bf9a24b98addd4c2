"""ops/random.py's counter-based draws as compiled loops, number for number.

SplitMix64 is integer arithmetic, and a uniform number is the top 53 bits of a word scaled by
2^-53, so a loop here gives exactly NumPy's numbers (the reference runs about ten array passes
of uint64 arithmetic per draw: a dropout mask of 64x16x28x28 took 10 ms, here 1.5). Uniform and binomial
(dropout's) draws run here; normal draws keep NumPy's log and cos, whose last bits numba's
libm calls may not match. numba_program's whole-step programs call stream_base and uniform_at
too.
"""
from . import numba_target  # noqa: F401  (sets numba's vector width before any @njit)
import numpy as np
from numba import njit, prange

from .numba_kernels import serial_and_parallel


@njit(cache=True, nogil=True)
def splitmix64(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True)
def stream_base(key, counter, salt):
    """The word ops/random.py's random_bits(key, counter, n, salt) hashes element indices with."""
    return splitmix64((key ^ (np.uint64(salt) * _GOLDEN)) ^ splitmix64(counter))


@njit(cache=True, nogil=True)
def uniform_at(base, i):
    """ops/random.py's uniform01 of element i of a stream with this base."""
    bits = splitmix64(base + np.uint64(i + 1) * _GOLDEN)
    return np.float64(bits >> np.uint64(11)) * (1.0 / 9007199254740992.0)


# A draw's loop hashes its stream's base once, not once an element (two of SplitMix64's three
# rounds an element).
def _uniform(out, key, counter, low, scale):
    """out (flat) = low + scale * u in float64, rounded to out's dtype, as the reference."""
    base = stream_base(key, counter, 0)
    for e in prange(out.shape[0]):
        out[e] = low + scale * uniform_at(base, e)


def _binomial(out, key, counter, p, bases):
    """out (flat) = the count of len(bases) trials under p; bases: uint64 scratch, one a trial,
    from the caller (np.empty here had every fresh process compile numba's own first)."""
    trials = bases.shape[0]
    for t in range(trials):
        bases[t] = stream_base(key, counter, 3 + t)
    for e in prange(out.shape[0]):
        count = 0
        for t in range(trials):
            if uniform_at(bases[t], e) < p:
                count += 1
        out[e] = count


uniform_serial, uniform_parallel = serial_and_parallel(_uniform)
binomial_serial, binomial_parallel = serial_and_parallel(_binomial)
