"""Shared helpers for the side-by-side benchmarks: best-of timing and a ratio table."""
import time


def best_seconds(fn, repeat=5, number=1, warmup=1):
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def best_alternating(fns, rounds=15, warmup=1):
    """The best seconds of each of `fns`, called in turn round after round: on a noisy machine
    a slow minute then moves them all alike, where one after another it moved their ratio."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for k, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - start)
    return best


def best_in_turns(fns, rounds=5, number=20, pause=0.3):
    """The best seconds a call of each of `fns`, timed in turns: each round runs every fn's
    `number` calls in a block, after `pause` seconds (the last library's BLAS or thread pool
    threads stop spinning: MKL's and OpenBLAS's spin 0.1-0.2 s after their work, slowing
    whatever runs next) and one call unmeasured. One after another, a slow minute of a noisy
    machine moved one library's figure alone."""
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for k, fn in enumerate(fns):
            time.sleep(pause)
            fn()
            start = time.perf_counter()
            for _ in range(number):
                fn()
            best[k] = min(best[k], (time.perf_counter() - start) / number)
    return best


def print_table(title, rows, reference, unit="ms", scale=1e3):
    """rows: [(label, seconds)]; ratios are reference_time / time (higher is faster)."""
    ref = dict(rows)[reference]
    print(f"\n{title}")
    print(f"{'':34s} {unit:>9s}  {'speed vs ' + reference:>22s}")
    for label, seconds in rows:
        print(f"{label:34s} {seconds * scale:9.2f}  {ref / seconds:21.2f}x")


def try_import(name):
    try:
        return __import__(name)
    except ImportError:
        print(f"({name} is not installed: `make bench` installs the peers)")
        return None


def jax_in_float64():
    """(jax, jax.numpy) with float64 arrays enabled (as the float64 rows need), or (None, None)."""
    jax = try_import("jax")
    if jax is None:
        return None, None
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    return jax, jnp


def torch_mlp_step(torch, weights, x, y, lr):
    """One SGD step of a ReLU MLP with softmax cross-entropy in PyTorch eager, from `weights`
    ([W0, b0, W1, b1, ...] as NumPy arrays); returns step() -> the loss before the update."""
    import numpy as np
    params = [torch.tensor(p, requires_grad=True) for p in weights]
    tx, ty = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))

    def step():
        h = tx
        for k in range(0, len(params), 2):
            h = h @ params[k] + params[k + 1]
            h = torch.relu(h) if k < len(params) - 2 else h
        loss = torch.nn.functional.cross_entropy(h, ty)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p -= lr * g
        return loss
    return step
