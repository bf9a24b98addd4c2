"""SGD steps of many model shapes, run node by node by the numba backend (its tier before a
small step is compiled whole, and the only one for steps with large arrays), against the same
step written by hand in NumPy: where does a training step stand against NumPy across
shapes, activations and the two ways of writing the cost?

Each case: ReLU or tanh hidden layers, softmax cross-entropy written the Theano way
(-log(softmax(h))[arange(n), y].mean()) or the Keras way (categorical_crossentropy(softmax(h),
y).mean()), plain SGD. Timed in alternating rounds (symgraph, NumPy, symgraph...) so that a
machine whose speed drifts between minutes moves both; the best round of each counts.
Run: .venv/bin/python benchmarks/training_steps.py"""
import time

import numpy as np

import symgraph as sg

LR = 0.1
SIZES = [(64, 10), (64, 32, 10), (784, 10), (784, 128, 10), (784, 100, 100, 10), (256, 256, 256, 10),
         (784, 512, 10)]
BATCHES = (32, 128)
ACTIVATIONS = {"relu": (sg.nn.relu, lambda z: np.maximum(z, 0), lambda g, h: g * (h > 0)),
               "tanh": (sg.tanh, np.tanh, lambda g, h: g * (1 - h * h))}


def init(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return [a for n_in, n_out in zip(sizes[:-1], sizes[1:])
            for a in ((rng.normal(size=(n_in, n_out)) * np.sqrt(2 / n_in)).astype(np.float32),
                      np.zeros(n_out, np.float32))]


def symgraph_step(sizes, activation, idiom):
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
    step = sg.function([x, y], cost, updates=[(p, p - LR * g) for p, g in zip(params, grads)])
    step._run = getattr(step._run, "run", step._run)  # node by node: without the whole-program tier
    return step


def numpy_step(sizes, activation):
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
            params[k] -= LR * gw
            params[k + 1] -= LR * gb
        return loss
    return step


def alternating(a, b, number, rounds=7):
    """Best seconds per call of a and of b, timed in alternating rounds."""
    best_a = best_b = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(number):
            a()
        middle = time.perf_counter()
        for _ in range(number):
            b()
        best_a = min(best_a, (middle - start) / number)
        best_b = min(best_b, (time.perf_counter() - middle) / number)
    return best_a, best_b


def main():
    print(f"{'model':16s} {'batch':>5s} {'act':5s} {'cost':7s} {'symgraph us':>12s} {'NumPy us':>9s} {'ratio':>6s}")
    ratios = []
    for sizes in SIZES:
        for batch in BATCHES:
            rng = np.random.default_rng(1)
            x = rng.random((batch, sizes[0]), dtype=np.float32)
            y = rng.integers(0, sizes[-1], batch).astype(np.int32)
            work = batch * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
            number = int(np.clip(4e7 / (work + 2e5), 20, 2000))
            for activation in ACTIVATIONS if len(sizes) > 2 else ["relu"]:
                for idiom in ("theano", "keras"):
                    step, by_hand = symgraph_step(sizes, activation, idiom), numpy_step(sizes, activation)
                    first, want = float(step(x, y)), float(by_hand(x, y))
                    assert abs(first - want) < 1e-4, (sizes, first, want)
                    ours, numpy = alternating(lambda: step(x, y), lambda: by_hand(x, y), number)
                    ratios.append(numpy / ours)
                    print(f"{'-'.join(map(str, sizes)):16s} {batch:5d} {activation:5s} {idiom:7s} "
                          f"{ours * 1e6:12.1f} {numpy * 1e6:9.1f} {numpy / ours:5.2f}x", flush=True)
    ratios = np.array(ratios)
    print(f"geometric mean {np.exp(np.log(ratios).mean()):.2f}x NumPy by hand; "
          f"{(ratios >= 1).sum()} of {len(ratios)} at or above 1.0x")


if __name__ == "__main__":
    main()
