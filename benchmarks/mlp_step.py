"""One SGD step of a 784-512-512-10 ReLU MLP with softmax cross-entropy, batch 128, side by
side: symgraph (numba and numpy backends; the numba one with NumPy's BLAS, the default, and
with MKL), NumPy by hand, PyTorch CPU eager, JAX jit, PyTensor C, timed in turns (common.
best_in_turns: blocks of 20 steps, best of 5 rounds, a pause before each). Then each symgraph step
timed right after a NumPy step, as a user's loop or a side-by-side check runs them: with MKL,
NumPy's OpenBLAS threads and MKL's spin on the same cores (backends/blas.py).
Run: .venv/bin/python benchmarks/mlp_step.py"""
import time

import numpy as np

import symgraph as sg
from common import best_in_turns, print_table, torch_mlp_step, try_import
from small_steps import numpy_step
from symgraph.backends import blas

SIZES, BATCH, LR = (784, 512, 512, 10), 128, 0.01


def init(seed=0):
    rng = np.random.default_rng(seed)
    return [a for n_in, n_out in zip(SIZES[:-1], SIZES[1:])
            for a in ((rng.normal(size=(n_in, n_out)) * np.sqrt(2 / n_in)).astype(np.float32),
                      np.zeros(n_out, np.float32))]


def symgraph_step(backend):
    params = [sg.shared(p, f"p{i}") for i, p in enumerate(init())]
    x, y = sg.fmatrix("x"), sg.ivector("y")
    h = x
    for k in range(0, len(params), 2):
        h = sg.dot(h, params[k]) + params[k + 1]
        h = sg.nn.relu(h) if k < len(params) - 2 else h
    cost = sg.nn.categorical_crossentropy(sg.nn.softmax(h), y).mean()
    grads = sg.grad(cost, params)
    return sg.function([x, y], cost, updates=[(p, p - LR * g) for p, g in zip(params, grads)], backend=backend)


def _with_blas(products, step):
    """step, run with sg.config.blas set to `products` (read at each product)."""
    def run():
        sg.config.blas = products
        return step()
    return run


def main():
    rng = np.random.default_rng(1)
    x = rng.random((BATCH, 784), dtype=np.float32)
    y = rng.integers(0, 10, BATCH).astype(np.int32)
    rows, losses, steps = [], {}, {}
    modes = [("numba", "numpy", "symgraph (numba backend)"), ("numpy", "numpy", "symgraph (numpy backend)")]
    if blas._load_mkl():
        modes.insert(1, ("numba", "mkl", "symgraph (numba, SYMGRAPH_BLAS=mkl)"))
    for backend, products, label in modes:
        sg.config.blas = products
        step = symgraph_step(backend)
        steps[label] = (step, products)
        losses[label] = float(step(x, y))
        rows.append((label, _with_blas(products, lambda step=step: step(x, y))))
    sg.config.blas = "numpy"
    by_hand = numpy_step(SIZES, LR)
    losses["numpy"] = float(by_hand(x, y))
    rows.append(("NumPy by hand", lambda: by_hand(x, y)))
    torch = try_import("torch")
    if torch:
        torch_step = torch_mlp_step(torch, init(), x, y, LR)
        losses["torch"] = float(torch_step().detach())
        rows.append(("PyTorch eager (CPU)", torch_step))
    jax = try_import("jax")
    if jax:
        import jax.numpy as jnp

        def loss_fn(params, x, y):
            h = x
            for k in range(0, len(params), 2):
                h = h @ params[k] + params[k + 1]
                h = jax.nn.relu(h) if k < len(params) - 2 else h
            return -jnp.mean(jax.nn.log_softmax(h)[jnp.arange(BATCH), y])

        @jax.jit
        def jax_step(params, x, y):
            loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
            return [p - LR * g for p, g in zip(params, grads)], loss
        state = {"p": [jax.device_put(p) for p in init()]}
        jx, jy = jax.device_put(x), jax.device_put(y)

        def run_jax():
            state["p"], loss = jax_step(state["p"], jx, jy)
            return loss.block_until_ready()
        losses["jax"] = float(jax_step([jax.device_put(p) for p in init()], jx, jy)[1])
        rows.append(("JAX jit (CPU)", run_jax))
    pytensor = try_import("pytensor")
    if pytensor:
        import pytensor.tensor as pt
        shared = [pytensor.shared(p) for p in init()]
        px, py = pt.fmatrix("x"), pt.ivector("y")
        h = px
        for k in range(0, len(shared), 2):
            h = pt.dot(h, shared[k]) + shared[k + 1]
            h = pt.maximum(h, 0) if k < len(shared) - 2 else h
        cost = -pt.mean(pt.log(pt.special.softmax(h, axis=-1))[pt.arange(BATCH), py])
        grads = pytensor.grad(cost, shared)
        pstep = pytensor.function([px, py], cost, updates=[(p, p - np.float32(LR) * g) for p, g in zip(shared, grads)])
        losses["pytensor"] = float(pstep(x, y))
        rows.append(("PyTensor C", lambda: pstep(x, y)))
    rows = list(zip([label for label, _ in rows], best_in_turns([fn for _, fn in rows])))
    sg.config.blas = "numpy"
    first = list(losses.values())[0]
    assert all(abs(v - first) < 1e-3 for v in losses.values()), losses  # same first-step loss
    print_table(f"MLP 784-512-512-10 SGD step, batch {BATCH} (first loss {first:.4f} everywhere)",
                rows, "symgraph (numba backend)")
    for label, seconds in rows:
        print(f"  {label:36s} {1 / seconds:7.1f} steps/s")
    print("each symgraph step right after a NumPy step (ms; median, mean of 60):")
    for label, (step, products) in steps.items():
        sg.config.blas = products
        times = []
        for _ in range(60):
            by_hand(x, y)
            start = time.perf_counter()
            step(x, y)
            times.append(time.perf_counter() - start)
        print(f"  {label:36s} {np.median(times) * 1e3:6.2f} {np.mean(times) * 1e3:6.2f}")
    sg.config.blas = "numpy"


if __name__ == "__main__":
    main()
