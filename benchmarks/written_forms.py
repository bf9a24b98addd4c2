"""Formulas written out as in NumPy, and their gradients, side by side: symgraph's numba backend,
NumPy (the forward formulas), JAX jit (jax.grad of the same formula), in one process on the same
data, each checked against symgraph's numpy backend on the graph as written.

These are the forms the rewriter must read through to make no more passes than the formula
needs: a layer or batch norm's deviation (recomputed in each loop, not stored with its square),
a mean beside x.std's own, a gradient through slices (increments of one array), a stable
softmax or logsumexp written with its max shift (the op, and the op's gradient), a loss with
x - t written in each place (its gradient summed to x's shape once).

Run: .venv/bin/python benchmarks/written_forms.py [substring-filter]
"""
import sys

import numpy as np

import symgraph as sg
from common import jax_in_float64
from expressions import _seconds

N = 1000


def _layer_norm(m, x, t, axis=1):
    d = x - x.mean(axis=axis, keepdims=True)
    return d / m.sqrt((d * d).mean(axis=axis, keepdims=True) + 1e-5)


def _lse(m, x, axis):
    peak = x.max(axis=axis, keepdims=True)
    return m.log(m.exp(x - peak).sum(axis=axis, keepdims=True)) + peak


def _softmax(m, x):
    e = m.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _classifier(m, x, t):
    """NumPy's tutorial softmax classifier's loss, its targets dense rows (t > 0 taken as 1)."""
    return -(m.log(_softmax(m, x)) * (t > 0).astype(x.dtype)).sum() / x.shape[0]


def _picked_log(m, x, t):
    """Theano's negative log-likelihood, -mean(log(p)[arange(n), y]), of p = |x| + 1 and one
    label a row drawn from t."""
    labels = (abs(t[:, 0]) * 100).astype("int64") % x.shape[1]
    return -m.log(abs(x) + 1)[m.arange(x.shape[0]), labels].mean()


def _huber(m, x, t):
    return m.where(abs(x - t) < 1, 0.5 * (x - t) ** 2, abs(x - t) - 0.5).mean()


# (name, formula(lib, x, t), "forward" or "gradient" (of the formula's sum with respect to x))
CASES = [
    ("z-score of columns", lambda m, x, t: (x - x.mean(axis=0)) / x.std(axis=0), "forward"),
    ("layer norm", _layer_norm, "forward"),
    ("batch norm", lambda m, x, t: _layer_norm(m, x, t, axis=0), "forward"),
    ("layer norm, its gradient", lambda m, x, t: (_layer_norm(m, x, t) * t).sum(), "gradient"),
    ("finite difference, gradient", lambda m, x, t: ((x[:, 1:] - x[:, :-1]) ** 2).sum(), "gradient"),
    ("8 slices, gradient", lambda m, x, t: sum((m.tanh(x[:, 100 * k:100 * k + 200]) ** 2).sum()
                                               for k in range(8)), "gradient"),
    ("softmax with its max shift", lambda m, x, t: _softmax(m, x), "forward"),
    ("logsumexp of columns", lambda m, x, t: _lse(m, x, 0), "forward"),
    ("log_softmax, its gradient", lambda m, x, t: ((x - _lse(m, x, 1)) * t).sum(), "gradient"),
    ("softmax classifier, gradient", _classifier, "gradient"),
    ("Huber loss, gradient", _huber, "gradient"),
    ("log(p)[arange(n), y]", _picked_log, "forward"),  # (seventy-fourth session: the pick first)
    ("log(p)[arange(n), y], gradient", _picked_log, "gradient"),
]


class _Ops:
    """The functions the formulas call, from one library."""

    def __init__(self, lib):
        for name in ("exp", "log", "sqrt", "tanh", "where", "arange"):
            setattr(self, name, getattr(lib, name))


def _symgraph(formula, kind, dtype, backend, optimize=True):
    x, t = sg.matrix("x", dtype=dtype), sg.matrix("t", dtype=dtype)
    out = formula(_Ops(sg), x, t)
    if kind == "gradient":
        out = sg.grad(out, x)
    return sg.function([x, t], out, backend=backend, optimize=optimize, on_unused_input="ignore")


def main(pattern=None):
    jax, jnp = jax_in_float64()
    rng = np.random.default_rng(0)
    print(f"{'formula, 1000x1000':30s} {'dtype':8s} {'symgraph ms':>11s} {'NumPy ms':>9s} {'JAX jit':>9s}"
          f" {'vs NumPy':>9s} {'vs JAX':>7s}")
    for name, formula, kind in CASES:
        if pattern and pattern not in name:
            continue
        for dtype in ("float32", "float64"):
            x, t = (rng.standard_normal((N, N)).astype(dtype) for _ in range(2))
            want = _symgraph(formula, kind, dtype, "numpy", optimize=False)(x, t)
            f = _symgraph(formula, kind, dtype, "numba")
            tol = dict(rtol=2e-3, atol=1e-5) if dtype == "float32" else dict(rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(f(x, t), want, **tol)
            ours = _seconds(lambda: f(x, t))
            row = [None, None]
            if kind == "forward":
                numpy_ops = _Ops(np)
                np.testing.assert_allclose(formula(numpy_ops, x, t), want, **tol)
                row[0] = _seconds(lambda: formula(numpy_ops, x, t))
            if jax:
                jax_ops = _Ops(jnp)
                jf = jax.jit((lambda a, b: formula(jax_ops, a, b)) if kind == "forward"
                             else jax.grad(lambda a, b: formula(jax_ops, a, b)))
                jx, jt = jax.device_put(x), jax.device_put(t)
                np.testing.assert_allclose(np.asarray(jf(jx, jt)), want, **tol)
                row[1] = _seconds(lambda: jf(jx, jt).block_until_ready())
            cells = " ".join(f"{s * 1e3:9.3f}" if s else f"{'-':>9s}" for s in row)
            ratios = " ".join(f"{s / ours:8.2f}x" if s else f"{'-':>8s}" for s in row)
            print(f"{name:30s} {dtype:8s} {ours * 1e3:11.3f} {cells} {ratios}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
