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

from small_steps import ACTIVATIONS, numpy_step, symgraph_step

SIZES = [(64, 10), (64, 32, 10), (784, 10), (784, 128, 10), (784, 100, 100, 10), (256, 256, 256, 10),
         (784, 512, 10)]
BATCHES = (32, 128)


def node_by_node_step(sizes, activation, idiom):
    step = symgraph_step(sizes, idiom, "numba", activation)
    step._run = getattr(step._run, "run", step._run)  # without the whole-program tier
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
                    step = node_by_node_step(sizes, activation, idiom)
                    by_hand = numpy_step(sizes, activation=activation)
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
