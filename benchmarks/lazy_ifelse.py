"""Theano's lazy ifelse: a branch not taken should cost nothing. out = ifelse(c < 0.5, an
expensive branch (three 500x500 products), a cheap one (the mean of exp(a) * log(b))), timed
with each branch taken, against NumPy by hand choosing with `if` (the floor: only the branch
taken) and NumPy computing both (what a non-lazy choice costs), and the peers' lazy choices
(PyTensor's ifelse, JAX's lax.cond) where installed.

Run: .venv/bin/python benchmarks/lazy_ifelse.py
"""
import numpy as np

import symgraph as sg
from symgraph.ifelse import ifelse

from common import best_seconds, print_table, try_import

N = 500
rng = np.random.default_rng(0)
A, B = rng.random((N, N)), rng.random((N, N)) + 1.0


def expensive(a, b):
    return (a @ b @ b @ a).sum()


def cheap(a, b):
    return (np.exp(a) * np.log(b)).mean()


def candidates(taken):
    """(label, fn) pairs computing the chosen value for condition `taken` (0.0: the expensive)."""
    yield "NumPy by hand (if)", lambda: expensive(A, B) if taken < 0.5 else cheap(A, B)
    yield "NumPy, both branches", lambda: (expensive(A, B), cheap(A, B))[0 if taken < 0.5 else 1]
    c, a, b = sg.dscalar("c"), sg.dmatrix("a"), sg.dmatrix("b")
    out = ifelse(sg.lt(c, 0.5), sg.dot(sg.dot(sg.dot(a, b), b), a).sum(), (sg.exp(a) * sg.log(b)).mean())
    for backend in ("numpy", "numba"):
        f = sg.function([c, a, b], out, backend=backend)
        yield f"symgraph ifelse ({backend})", lambda f=f: f(taken, A, B)
    pytensor = try_import("pytensor")
    if pytensor is not None:
        import pytensor.tensor as pt
        from pytensor.ifelse import ifelse as pt_ifelse
        pc, pa, pb = pt.dscalar(), pt.dmatrix(), pt.dmatrix()
        g = pytensor.function([pc, pa, pb], pt_ifelse(pt.lt(pc, 0.5), pt.dot(pt.dot(pt.dot(pa, pb), pb), pa).sum(),
                                                     (pt.exp(pa) * pt.log(pb)).mean()))
        yield "PyTensor ifelse", lambda: g(taken, A, B)
    jax = try_import("jax")
    if jax is not None:
        jax.config.update("jax_enable_x64", True)
        jnp = jax.numpy
        cond = jax.jit(lambda c, a, b: jax.lax.cond(c < 0.5, lambda: (a @ b @ b @ a).sum(),
                                                    lambda: (jnp.exp(a) * jnp.log(b)).mean()))
        yield "JAX lax.cond (jit)", lambda: cond(taken, A, B).block_until_ready()


def main():
    for taken, title in ((0.0, "expensive branch taken"), (1.0, "cheap branch taken (the expensive one not run)")):
        rows = []
        want = expensive(A, B) if taken < 0.5 else cheap(A, B)
        for label, fn in candidates(taken):
            np.testing.assert_allclose(float(np.asarray(fn())), want, rtol=1e-9)
            rows.append((label, best_seconds(fn, repeat=7, number=3)))
        print_table(f"ifelse, {N}x{N} float64: {title}", rows, "NumPy by hand (if)")


if __name__ == "__main__":
    main()
