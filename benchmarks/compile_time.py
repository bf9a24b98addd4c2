"""How long symgraph takes to rewrite and compile the training step of a 784-512-512-10 ReLU
MLP (forward, softmax cross-entropy, gradient, Adam updates), and the node counts before and
after rewriting.

Run: .venv/bin/python benchmarks/compile_time.py
"""
import time

import numpy as np

import symgraph as sg
from symgraph.graph import toposort


def adam_updates(cost, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    grads = sg.grad(cost, params)
    t = sg.shared(np.float32(0), "t")
    t_new = t + 1
    scale = lr * sg.sqrt(1 - b2 ** t_new) / (1 - b1 ** t_new)
    updates = [(t, t_new)]
    for p, g in zip(params, grads):
        m = sg.shared(np.zeros_like(p.get_value()), f"m_{p.name}")
        v = sg.shared(np.zeros_like(p.get_value()), f"v_{p.name}")
        m_new = b1 * m + (1 - b1) * g
        v_new = b2 * v + (1 - b2) * g * g
        updates += [(m, m_new), (v, v_new), (p, p - scale * m_new / (sg.sqrt(v_new) + eps))]
    return updates


def sgd_updates(cost, params, lr=0.01):
    return [(p, p - lr * g) for p, g in zip(params, sg.grad(cost, params))]


def mlp_training_graph(sizes=(784, 512, 512, 10), optimizer="adam"):
    rng = np.random.default_rng(0)
    x, y = sg.matrix("x"), sg.ivector("y")
    h, params = x, []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        W = sg.shared((rng.normal(size=(n_in, n_out)) * np.sqrt(2 / n_in)).astype("float32"), f"W{k}")
        b = sg.shared(np.zeros(n_out, "float32"), f"b{k}")
        params += [W, b]
        h = sg.dot(h, W) + b
        if k < len(sizes) - 2:
            h = sg.nn.relu(h)
    cost = sg.nn.categorical_crossentropy(sg.nn.softmax(h), y).mean()
    return [x, y], cost, (adam_updates if optimizer == "adam" else sgd_updates)(cost, params)


def main():
    inputs, cost, updates = mlp_training_graph()
    before = len(toposort([cost] + [u for _, u in updates]))
    timings = {}
    for level in (False, "fast_compile", True):
        start = time.perf_counter()
        f = sg.function(inputs, cost, updates=updates, optimize=level, backend="numpy")
        timings[level] = (time.perf_counter() - start, len(f.fgraph.apply_nodes), f)
    f = timings[True][2]
    print(f"MLP 784-512-512-10 training step (forward, gradient, Adam): {before} nodes as written")
    for level, (seconds, nodes, _) in timings.items():
        print(f"  optimize={level!s:13s} compile {seconds * 1000:7.1f} ms   {nodes:4d} nodes")
    print("  rewrite time by stage:", ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in f.rewrite_log.seconds.items()))
    print("  rules fired:\n" + "\n".join("    " + line for line in f.rewrite_log.summary().splitlines()))
    x = np.random.default_rng(1).random((128, 784), dtype=np.float32)
    y = np.random.default_rng(2).integers(0, 10, 128).astype(np.int32)
    loss = [float(sg.function(inputs, cost, optimize=level, backend="numpy")(x, y)) for level in (True, False)]
    print(f"  loss, optimized vs as written: {loss[0]:.6f} vs {loss[1]:.6f}")


def fresh_process_compile(cache_dir, optimizer="adam"):
    """Seconds to build and compile (numba) the training step, then run it once, in a new process."""
    import os
    import subprocess
    import sys
    code = ("import time, sys; sys.path.insert(0, 'benchmarks'); t = time.perf_counter(); "
            "import numpy as np, symgraph as sg; from compile_time import mlp_training_graph; "
            f"i, c, u = mlp_training_graph(optimizer={optimizer!r}); f = sg.function(i, c, updates=u, backend='numba'); "
            "f(np.zeros((128, 784), 'float32'), np.zeros(128, 'int32')); print(time.perf_counter() - t)")
    env = dict(os.environ, SYMGRAPH_CACHE_DIR=cache_dir)
    # Python caches compiled bytecode (.pyc) as a user's does, unless the environment forbids it
    # (these machines set PYTHONDONTWRITEBYTECODE=1: every process then compiled symgraph's
    # 60-odd modules from source again, 0.1-0.26 s of the warm start).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def fresh_process_table():
    """The Adam step above, and the issue's SGD step of the same MLP (whose weights' updates are
    in-place products, not elementwise loops)."""
    import tempfile
    for optimizer in ("adam", "sgd"):
        with tempfile.TemporaryDirectory() as cache:
            cold = fresh_process_compile(cache, optimizer)
            warm = fresh_process_compile(cache, optimizer)
        print(f"  fresh process, import + build + compile + first call (numba), {optimizer}: "
              f"cold cache {cold:.2f} s, warm cache {warm:.2f} s")


if __name__ == "__main__":
    main()
    fresh_process_table()
