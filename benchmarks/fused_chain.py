"""The fused elementwise chain tanh(x*w+b)*sigmoid(x)+exp(-x**2) on 10^7 float32, side by side
with NumPy, JAX jit, PyTensor (C and NUMBA modes) and a hand-written numba triad (the memory
bandwidth floor). symgraph and the triad are timed alternately (best of 15 rounds each), so the
share of the triad's bandwidth compares them in the same minutes.
Run: .venv/bin/python benchmarks/fused_chain.py [n]"""
import sys

import numpy as np
from numba import njit, prange

import symgraph as sg
from common import best_alternating, best_seconds, print_table, try_import

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10 ** 7


@njit(parallel=True, cache=True)
def triad(a, b, c, out):
    for i in prange(a.shape[0]):
        out[i] = a[i] * b[i] + c[i]


def main():
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(N, dtype=np.float32) for _ in range(3))
    reference = np.tanh(x * w + b) * (1 / (1 + np.exp(-x))) + np.exp(-x ** 2)
    rows = [("NumPy", best_seconds(lambda: np.tanh(x * w + b) * (1 / (1 + np.exp(-x))) + np.exp(-x ** 2)))]
    xs, ws, bs = sg.fvector("x"), sg.fvector("w"), sg.fvector("b")
    f = sg.function([xs, ws, bs], sg.tanh(xs * ws + bs) * sg.nn.sigmoid(xs) + sg.exp(-xs ** 2))
    np.testing.assert_allclose(f(x, w, b), reference, rtol=1e-4, atol=1e-5)
    rows.append(("symgraph (numba backend)", None))  # (timed below, alternating with the triad)
    jax = try_import("jax")
    if jax:
        import jax.numpy as jnp
        jf = jax.jit(lambda x, w, b: jnp.tanh(x * w + b) * jax.nn.sigmoid(x) + jnp.exp(-x ** 2))
        jx, jw, jb = (jax.device_put(v) for v in (x, w, b))
        np.testing.assert_allclose(np.asarray(jf(jx, jw, jb)), reference, rtol=1e-4, atol=1e-5)
        rows.append(("JAX jit (CPU)", best_seconds(lambda: jf(jx, jw, jb).block_until_ready())))
    pytensor = try_import("pytensor")
    if pytensor:
        import pytensor.tensor as pt
        px, pw, pb = pt.fvector("x"), pt.fvector("w"), pt.fvector("b")
        expr = pt.tanh(px * pw + pb) * pt.sigmoid(px) + pt.exp(-px ** 2)
        for mode in ("FAST_RUN", "NUMBA"):
            try:
                pf = pytensor.function([px, pw, pb], expr, mode=mode)
                np.testing.assert_allclose(pf(x, w, b), reference, rtol=1e-4, atol=1e-5)
                rows.append((f"PyTensor ({'C' if mode == 'FAST_RUN' else mode})", best_seconds(lambda: pf(x, w, b))))
            except Exception as exc:  # a peer that cannot run here is reported, not fatal
                print(f"PyTensor {mode} failed: {type(exc).__name__}: {str(exc)[:120]}")
    out = np.empty_like(x)
    t_sym, t_triad = best_alternating([lambda: f(x, w, b), lambda: triad(x, w, b, out)])
    rows[1] = ("symgraph (numba backend)", t_sym)
    rows.append(("numba triad a*b+c (bandwidth floor)", t_triad))
    print_table(f"fused chain, n = {N:,} float32", rows, "NumPy")
    moved = 4 * 4 * N  # triad: three reads and one write of float32
    sym = dict(rows)["symgraph (numba backend)"]
    print(f"triad bandwidth {moved / t_triad / 1e9:.1f} GB/s; symgraph moves the same 16 bytes per "
          f"element at {moved / sym / 1e9:.1f} GB/s = {t_triad / sym:.0%} of the triad")


if __name__ == "__main__":
    main()
