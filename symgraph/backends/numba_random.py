"""ops/random.py's counter-based draws as compiled loops, number for number.

SplitMix64 is integer arithmetic, and a uniform number is the top 53 bits of a word scaled by
2^-53, so a loop here gives exactly NumPy's numbers (the reference runs about ten array passes
of uint64 arithmetic per draw: a dropout mask of 64x16x28x28 took 8 ms). Uniform and binomial
(dropout's) draws run here; normal draws keep NumPy's log and cos, whose last bits numba's
libm calls may not match. numba_program's whole-step programs call splitmix64 and uniform01
too.
"""
from . import numba_target  # noqa: F401  (sets numba's vector width before any @njit)
import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True)
def splitmix64(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True)
def uniform01(key, counter, salt, i):
    """ops/random.py's uniform01(random_bits(key, counter, n, salt))[i], one number."""
    golden = np.uint64(0x9E3779B97F4A7C15)
    base = splitmix64((key ^ (np.uint64(salt) * golden)) ^ splitmix64(counter))
    bits = splitmix64(base + np.uint64(i + 1) * golden)
    return np.float64(bits >> np.uint64(11)) * (1.0 / 9007199254740992.0)


def _uniform(out, key, counter, low, scale):
    """out (flat) = low + scale * u in float64, rounded to out's dtype, as the reference."""
    for e in prange(out.shape[0]):
        out[e] = low + scale * uniform01(key, counter, 0, e)


def _binomial(out, key, counter, trials, p):
    for e in prange(out.shape[0]):
        count = 0
        for t in range(trials):
            if uniform01(key, counter, 3 + t, e) < p:
                count += 1
        out[e] = count


uniform_serial = njit(cache=True, nogil=True)(_uniform)
uniform_parallel = njit(cache=True, nogil=True, parallel=True)(_uniform)
binomial_serial = njit(cache=True, nogil=True)(_binomial)
binomial_parallel = njit(cache=True, nogil=True, parallel=True)(_binomial)
