"""Special functions, Theano's gammaln, psi, tri_gamma, gamma, erfc, erfcx, erfinv, erfcinv,
i0 and i1 (and PyTensor's polygamma): SciPy's vectorized loops, elementwise over any shape,
each with its derivative as a graph of the others.

They are ops of their own, not rows of elemwise's table: the code generators have no scalar
form for them (numba's math has lgamma and erfc, not the rest), so they are not fused into
loops; on the numba backend each runs SciPy's C loop over its array.
"""
import functools
import math

import numpy as np

from .base import Op, Apply, TensorType, Variable, as_variable
from . import elemwise as E


@functools.lru_cache(maxsize=None)
def _scipy(name):
    import scipy.special  # (imported on first use: 0.2 s; looked up once, not at every call)
    return getattr(scipy.special, name)


class Special(Op):
    """One special function of SciPy's, elementwise; `order` is polygamma's n."""
    __props__ = ("name", "order")

    def __init__(self, name, order=None):
        if name not in _DERIVATIVES:
            raise ValueError(f"unknown special function {name!r}; known: {sorted(_DERIVATIVES)}")
        self.name, self.order = name, order

    def __str__(self):
        return self.name if self.order is None else f"polygamma{{{self.order}}}"

    def make_node(self, x):
        x = as_variable(x)
        if x.dtype[0] not in "fiu":
            raise TypeError(f"{self}: takes numbers (floats or integers), got {x.describe()}")
        dtype = x.dtype if x.dtype[0] == "f" else "float64"  # (SciPy's, NumPy's rule for integers)
        return Apply(self, [x], [Variable(TensorType(dtype, x.type.shape))])

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def perform(self, node, inputs):
        with np.errstate(all="ignore"):  # (poles give inf, out of the domain NaN, as SciPy's)
            if self.order is None:
                out = _scipy(self.name)(inputs[0])
            else:
                out = _scipy("polygamma")(self.order, inputs[0])
        return [np.asarray(out, dtype=node.outputs[0].dtype)]

    def grad(self, inputs, outputs, output_grads):
        return [output_grads[0] * _DERIVATIVES[self.name](inputs[0], outputs[0], self.order)]


_SQRT_PI = math.sqrt(math.pi)
_DERIVATIVES = {  # d f(x) / dx, from x and z = f(x)
    "gammaln": lambda x, z, n: psi(x),
    "gamma": lambda x, z, n: z * psi(x),
    "psi": lambda x, z, n: polygamma(1, x),
    "polygamma": lambda x, z, n: polygamma(n + 1, x),
    "erfc": lambda x, z, n: -2 / _SQRT_PI * E.exp(-x * x),
    "erfcx": lambda x, z, n: 2 * x * z - 2 / _SQRT_PI,
    "erfinv": lambda x, z, n: _SQRT_PI / 2 * E.exp(z * z),
    "erfcinv": lambda x, z, n: -_SQRT_PI / 2 * E.exp(z * z),
    "i0": lambda x, z, n: i1(x),
    "i1": lambda x, z, n: E.where(E.eq(x, 0), 0.5, i0(x) - z / E.where(E.eq(x, 0), 1, x)),  # (I1'(0) = 1/2)
}


def gammaln(x):
    """log |Gamma(x)| (SciPy's gammaln; Theano's name)."""
    return Special("gammaln")(x)


def gamma(x):
    """The gamma function (SciPy's)."""
    return Special("gamma")(x)


def psi(x):
    """The digamma function, gammaln's derivative (Theano's psi, SciPy's digamma)."""
    return Special("psi")(x)


def polygamma(n, x):
    """The n-th derivative of psi (SciPy's polygamma; n a non-negative int)."""
    if int(n) != n or n < 0:
        raise ValueError(f"polygamma: n must be a non-negative integer, got {n!r}")
    return psi(x) if int(n) == 0 else Special("polygamma", int(n))(x)


def tri_gamma(x):
    """polygamma(1, x), psi's derivative (Theano's name)."""
    return polygamma(1, x)


def erfc(x):
    """1 - erf(x), without the cancellation for large x (SciPy's)."""
    return Special("erfc")(x)


def erfcx(x):
    """The scaled complementary error function exp(x**2) * erfc(x) (SciPy's)."""
    return Special("erfcx")(x)


def erfinv(x):
    """The inverse of erf on (-1, 1) (SciPy's)."""
    return Special("erfinv")(x)


def erfcinv(x):
    """The inverse of erfc on (0, 2) (SciPy's)."""
    return Special("erfcinv")(x)


def i0(x):
    """The modified Bessel function of the first kind, order 0 (SciPy's)."""
    return Special("i0")(x)


def i1(x):
    """The modified Bessel function of the first kind, order 1 (SciPy's)."""
    return Special("i1")(x)


digamma = psi
