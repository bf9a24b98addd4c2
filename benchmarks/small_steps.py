"""SGD steps of small models, where a step is microseconds and the cost is per node, not per
element: logistic regression and small ReLU MLPs on 64 inputs (the 8x8 digits), softmax
cross-entropy, side by side with the same step written by hand in NumPy, PyTorch CPU eager,
JAX jit and PyTensor C. The numba backend runs such a step, once it is hot, as one compiled
function (backends/numba_program.py); "node by node" is the same step without that tier. Every implementation starts from the same weights and must reach
the same first loss.
Run: .venv/bin/python benchmarks/small_steps.py"""
import time

import numpy as np

import symgraph as sg
from symgraph.backends import numba_program
from common import best_seconds, print_table, torch_mlp_step, try_import

LR = 0.1
CASES = [  # (name, layer sizes, batch, how the cost is written in symgraph)
    ("logistic regression 64-10", (64, 10), 32, "theano"),
    ("logistic regression 64-10", (64, 10), 128, "theano"),
    ("MLP 64-64-10", (64, 64, 10), 32, "keras"),
    ("MLP 64-256-10", (64, 256, 10), 128, "keras"),
    # MNIST-sized: x has more elements than a whole program takes (numba_program.MAX_ELEMENTS),
    # so the numba backend runs this step node by node however long it is called.
    ("logistic regression 784-10", (784, 10), 256, "theano"),
]


def init(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return [a for n_in, n_out in zip(sizes[:-1], sizes[1:])
            for a in ((rng.normal(size=(n_in, n_out)) * np.sqrt(2 / n_in)).astype(np.float32),
                      np.zeros(n_out, np.float32))]


# Hidden-layer activations: symgraph's, NumPy's, and NumPy's gradient (g, the output h).
ACTIVATIONS = {"relu": (sg.nn.relu, lambda z: np.maximum(z, 0), lambda g, h: g * (h > 0)),
               "tanh": (sg.tanh, np.tanh, lambda g, h: g * (1 - h * h))}


def symgraph_step(sizes, idiom, backend, activation="relu"):
    params = [sg.shared(p, f"p{i}") for i, p in enumerate(init(sizes))]
    x, y = sg.fmatrix("x"), sg.ivector("y")
    h = x
    for k in range(0, len(params), 2):
        h = sg.dot(h, params[k]) + params[k + 1]
        h = ACTIVATIONS[activation][0](h) if k < len(params) - 2 else h
    if idiom == "theano":
        cost = -sg.log(sg.nn.softmax(h))[sg.arange(y.shape[0]), y].mean()
    else:
        cost = sg.nn.categorical_crossentropy(sg.nn.softmax(h), y).mean()
    grads = sg.grad(cost, params)
    step = sg.function([x, y], cost, updates=[(p, p - LR * g) for p, g in zip(params, grads)], backend=backend)
    step.params = params
    return step


def until_whole(f, x, y, limit=60.0):
    """Call f until the numba backend runs it as one compiled program (numba_program: after
    0.25 s of calls, compiled in a background thread); returns (calls, seconds)."""
    start, calls = time.perf_counter(), 0
    while not any(p is not None for p in f._run.programs.values()):
        if time.perf_counter() - start > limit or f._run.why_not:
            raise RuntimeError(f"no whole program: {f._run.why_not}")
        f(x, y)
        calls += 1
    return calls, time.perf_counter() - start


def numpy_step(sizes, lr=LR, activation="relu"):
    """The step as one would write it by hand: forward, softmax cross-entropy, backward."""
    params = init(sizes)
    forward, backward = ACTIVATIONS[activation][1:]

    def step(x, y):
        hs = [x]
        for k in range(0, len(params), 2):
            z = hs[-1] @ params[k] + params[k + 1]
            hs.append(forward(z) if k < len(params) - 2 else z)
        z = hs[-1] - hs[-1].max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        rows = np.arange(len(y))
        loss = -(z[rows, y] - np.log(s[:, 0])).mean()
        g = e / s
        g[rows, y] -= 1
        g /= len(y)
        for k in range(len(params) - 2, -1, -2):
            h = hs[k // 2]
            gw, gb = h.T @ g, g.sum(axis=0)
            if k:
                g = backward(g @ params[k].T, h)
            params[k] -= lr * gw
            params[k + 1] -= lr * gb
        return loss
    return step


def jax_step(jax, sizes, x, y, lr=LR):
    import jax.numpy as jnp

    def loss_fn(params, x, y):
        h = x
        for k in range(0, len(params), 2):
            h = h @ params[k] + params[k + 1]
            h = jax.nn.relu(h) if k < len(params) - 2 else h
        return -jnp.mean(jax.nn.log_softmax(h)[jnp.arange(len(y)), y])

    @jax.jit
    def update(params, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        return [p - lr * g for p, g in zip(params, grads)], loss
    state = {"p": [jax.device_put(p) for p in init(sizes)]}
    jx, jy = jax.device_put(x), jax.device_put(y)

    def step():
        state["p"], loss = update(state["p"], jx, jy)
        return loss.block_until_ready()
    return step


def pytensor_step(pytensor, sizes, x, y):
    import pytensor.tensor as pt
    shared = [pytensor.shared(p) for p in init(sizes)]
    px, py = pt.fmatrix("x"), pt.ivector("y")
    h = px
    for k in range(0, len(shared), 2):
        h = pt.dot(h, shared[k]) + shared[k + 1]
        h = pt.maximum(h, 0) if k < len(shared) - 2 else h
    cost = -pt.mean(pt.log(pt.special.softmax(h, axis=-1))[pt.arange(py.shape[0]), py])
    grads = pytensor.grad(cost, shared)
    f = pytensor.function([px, py], cost, updates=[(p, p - np.float32(LR) * g) for p, g in zip(shared, grads)])
    return lambda: f(x, y)


def run_case(name, sizes, batch, idiom, peers):
    rng = np.random.default_rng(1)
    x = rng.random((batch, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], batch).astype(np.int32)
    whole = symgraph_step(sizes, idiom, "numba")
    large = max(sizes[0] * batch, *[a * b for a, b in zip(sizes[:-1], sizes[1:])]) > numba_program.MAX_ELEMENTS
    steps = {}
    if not large:
        compiled = until_whole(whole, x, y)
        for p, value in zip(whole.params, init(sizes)):  # back to the first weights
            p.set_value(value)
        steps["symgraph (numba backend)"] = lambda: whole(x, y)
    node_by_node = symgraph_step(sizes, idiom, "numba")
    node_by_node._run = node_by_node._run.run  # the same step without the whole-program tier
    steps["symgraph (numba, node by node)"] = lambda: node_by_node(x, y)
    steps["symgraph (numpy backend)"] = lambda f=symgraph_step(sizes, idiom, "numpy"): f(x, y)
    by_hand = numpy_step(sizes)
    steps["NumPy by hand"] = lambda: by_hand(x, y)
    if peers["torch"]:
        steps["PyTorch eager (CPU)"] = torch_mlp_step(peers["torch"], init(sizes), x, y, LR)
    if peers["jax"]:
        steps["JAX jit (CPU)"] = jax_step(peers["jax"], sizes, x, y)
    if peers["pytensor"]:
        steps["PyTensor C"] = pytensor_step(peers["pytensor"], sizes, x, y)
    losses = {}
    for label, step in steps.items():  # the first step of each, from the same weights
        value = step()
        losses[label] = float(value.detach()) if hasattr(value, "detach") else float(value)
    first = losses["NumPy by hand"]
    assert all(abs(v - first) < 1e-4 for v in losses.values()), losses
    rows = [(label, best_seconds(step, repeat=7, number=max(20, 20000 // batch))) for label, step in steps.items()]
    print_table(f"{name}, batch {batch}, cost written the {idiom} way (first loss {first:.4f} everywhere)",
                rows, rows[0][0], unit="us", scale=1e6)
    if large:
        print("  (arrays above numba_program.MAX_ELEMENTS: the numba backend runs it node by node)")
    else:
        print(f"  (the numba backend compiled the whole step after {compiled[0]} calls, {compiled[1]:.2f} s)")


def main():
    peers = {name: try_import(name) for name in ("torch", "jax", "pytensor")}
    for case in CASES:
        run_case(*case, peers)


if __name__ == "__main__":
    main()
