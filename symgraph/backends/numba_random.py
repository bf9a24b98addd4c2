"""ops/random.py's counter-based draws as compiled loops, number for number.

SplitMix64 is integer arithmetic, and a uniform number is the top 53 bits of a word scaled by
2^-53, so a loop here gives exactly NumPy's numbers (the reference runs about ten array passes
of uint64 arithmetic per draw: a dropout mask of 64x16x28x28 took 10 ms, here 1.5; one trial's
draws, a dropout mask's, have a loop of their own). Uniform and binomial draws run here bit for
bit. Normal draws take numba_vecmath's vectorized log and cos, within a few float64 ulps of
NumPy's (as a GPU's and numba_program's libm calls are): a float32 draw rounds to the
reference's numbers all but never. numba_program's whole-step programs call stream_base and
uniform_at too.
"""
from . import numba_target  # (sets numba's vector width before any @njit)
import numpy as np
from numba import njit, prange

from .numba_kernels import serial_and_parallel
from .numba_vecmath import cos64, log64


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


def _bernoulli(out, key, counter, p):
    """_binomial of one trial (a dropout mask): one comparison an element, in a loop that
    vectorizes where the trials' inner loop kept it scalar (128x512 float32 319 -> 45-70 us, as
    a uniform draw; NumPy's rng.random(...) < p 190-263). The same numbers."""
    base = stream_base(key, counter, 3)
    for e in prange(out.shape[0]):
        out[e] = 1 if uniform_at(base, e) < p else 0


def _normal(out, key, counter, avg, std):
    """out (flat) = avg + std * z, z = sqrt(-2 log(1 - u1)) cos(2 pi u2) (Box-Muller) in
    float64 from the reference's two streams, rounded to out's dtype. Vectorized log and cos:
    2^20 float32 draws took 34 ms through the reference's uint64 array passes and NumPy's
    float64 log and cos, here 4.6 on one core, 2.3 on two (NumPy's own standard_normal 8.3)."""
    base1, base2 = stream_base(key, counter, 1), stream_base(key, counter, 2)
    for e in prange(out.shape[0]):
        u1 = 1.0 - uniform_at(base1, e)
        u2 = uniform_at(base2, e)
        out[e] = avg + std * (np.sqrt(-2.0 * log64(u1)) * cos64(2.0 * np.pi * u2))


uniform_serial, uniform_parallel = serial_and_parallel(_uniform)
# (numba's error model checks log64's and cos64's divisions for zero, which kept the serial
# loop scalar: 19.7 ms for 2^20 draws, 4.7 vectorized)
normal_serial, normal_parallel = serial_and_parallel(_normal, error_model="numpy")
binomial_serial, binomial_parallel = serial_and_parallel(_binomial)
bernoulli_serial, bernoulli_parallel = serial_and_parallel(_bernoulli)


numba_target.load_kernels_without_refresh(globals())
