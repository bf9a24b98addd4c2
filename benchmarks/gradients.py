"""Gradients of ops whose backward pass is a loop of its own, side by side: symgraph's numba
backend, NumPy written by hand (where a formula exists), JAX jit's grad and PyTorch's autograd
on the CPU, in one process on the same data; each checked against symgraph's numpy backend.

- cumprod's gradient: symgraph's is exact where x has zeros (an exclusive cumprod times a
  recurrence from the end, LinearRecurrence); NumPy by hand divides, reverse-cumsum(g * p) / x,
  which is wrong at zeros (the values here have none, so it is comparable).
- sort's gradient (each output's gradient back to the element sorted there) and a Hessian-vector
  product through sort (second derivatives: SortGrad's gradient, SortedLike).

Run: .venv/bin/python benchmarks/gradients.py [substring-filter]
"""
import sys

import numpy as np

import symgraph as sg
from common import try_import
from expressions import _seconds

RNG = np.random.default_rng(0)


def _cumprod_by_hand(x, w, axis):
    p = np.cumprod(x, axis=axis)
    return np.flip(np.cumsum(np.flip(w * p, axis), axis), axis) / x


def _sort_by_hand(x, w, axis):
    g = np.empty_like(x)
    np.put_along_axis(g, np.argsort(x, axis=axis), np.broadcast_to(w, x.shape), axis=axis)
    return g


# (name, x's shape, axis, kind, NumPy's gradient by hand or None)
CASES = [
    ("cumprod grad, 10^5", (10 ** 5,), 0, "cumprod", _cumprod_by_hand),
    ("cumprod grad, 1000x100 rows", (1000, 100), 1, "cumprod", _cumprod_by_hand),
    ("cumprod grad, 1000x100 cols", (1000, 100), 0, "cumprod", _cumprod_by_hand),
    ("sort grad, 1000x100 rows", (1000, 100), 1, "sort", _sort_by_hand),
    ("sort Hessian-vector, 1000x100", (1000, 100), 1, "hvp", None),
]


def _cost(kind, lib, x, w, axis):
    """sum(w * cumprod(x)) or sum(w * sort(x)), sum(w * sort(x) ** 3) for the Hessian-vector
    product, in symgraph, jax.numpy or torch (whose sort gives values and indices)."""
    if kind == "cumprod":
        return (lib.cumprod(x, axis) * w).sum()
    ordered = lib.sort(x, axis)
    ordered = getattr(ordered, "values", ordered)
    return (ordered ** 3 * w if kind == "hvp" else ordered * w).sum()


def _values(kind, shape, dtype):
    """x near 1 for products (10^5 of them stay near 1: no subnormals), else normal (no ties, whose
    gradients each library may route to either of the equal values)."""
    x = RNG.uniform(0.995, 1.005, shape) if kind == "cumprod" else RNG.standard_normal(shape)
    return x.astype(dtype), RNG.uniform(0.5, 1.5, shape).astype(dtype)


def _symgraph(kind, shape, axis, dtype, backend):
    x = sg.tensor("x", dtype, (None,) * len(shape))
    w = sg.tensor("w", dtype, (None,) * len(shape))
    out = sg.grad(_cost(kind, sg, x, w, axis), x)
    if kind == "hvp":  # d/dx <d cost/dx, w>
        out = sg.grad((out * w).sum(), x)
    return sg.function([x, w], out, backend=backend)


def _torch(torch, kind, axis):
    def run(x, w):
        x = x.detach().requires_grad_(True)
        g, = torch.autograd.grad(_cost(kind, torch, x, w, axis), x, create_graph=kind == "hvp")
        if kind == "hvp":
            g, = torch.autograd.grad((g * w).sum(), x)
        return g
    return run


def _jax(jax, jnp, kind, axis):
    first = jax.grad(lambda x, w: _cost(kind, jnp, x, w, axis))
    return jax.jit(jax.grad(lambda x, w: (first(x, w) * w).sum()) if kind == "hvp" else first)


def main(pattern=None):
    jax, torch = try_import("jax"), try_import("torch")
    if jax:
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
    print(f"{'gradient':31s} {'dtype':8s} {'symgraph ms':>11s} {'NumPy ms':>9s} {'JAX jit':>9s} {'PyTorch':>9s}"
          f" {'vs NumPy':>9s} {'vs JAX':>7s} {'vs torch':>8s}")
    for name, shape, axis, kind, by_hand in CASES:
        if pattern and pattern not in name:
            continue
        for dtype in ("float32", "float64"):
            x, w = _values(kind, shape, dtype)
            want = _symgraph(kind, shape, axis, dtype, "numpy")(x, w)
            f = _symgraph(kind, shape, axis, dtype, "numba")
            tol = dict(rtol=2e-3 if dtype == "float32" else 1e-9)
            np.testing.assert_allclose(f(x, w), want, **tol)
            ours = _seconds(lambda: f(x, w))
            row = [ours, None, None, None]
            if by_hand is not None:
                np.testing.assert_allclose(by_hand(x, w, axis), want, **tol)
                row[1] = _seconds(lambda: by_hand(x, w, axis))
            if jax:
                jf = _jax(jax, jnp, kind, axis)
                jx, jw = jax.device_put(x), jax.device_put(w)
                np.testing.assert_allclose(np.asarray(jf(jx, jw)), want, **tol)
                row[2] = _seconds(lambda: jf(jx, jw).block_until_ready())
            if torch:
                tf = _torch(torch, kind, axis)
                tx, tw = torch.from_numpy(x), torch.from_numpy(w)
                np.testing.assert_allclose(tf(tx, tw).numpy(), want, **tol)
                row[3] = _seconds(lambda: tf(tx, tw))
            cells = " ".join(f"{t * 1e3:9.3f}" if t else f"{'-':>9s}" for t in row[1:])
            ratios = " ".join(f"{t / ours:8.2f}x" if t else f"{'-':>9s}" for t in row[1:])
            print(f"{name:31s} {dtype:8s} {ours * 1e3:11.3f} {cells} {ratios}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
