"""Streamed loops with and without their inputs prefetched (numba_codegen.prefetches), timed
alternately in one process, 10^7 values: the figures behind the prefetch and behind streaming the
costlier loops (numba_cpu.STREAM_MIN_BYTES). "before" is a loop as it was: not prefetched, and
not streamed where its element cost is above 3 (numba_codegen.element_cost); "after" as it is.
Each round times the two in turn, the first of them alternating (on this noisy machine one loop
timed against itself came out 0.92-1.11x, by the order alone); best of 11 rounds.

Run: .venv/bin/python benchmarks/prefetch.py [substring-filter]
"""
import sys
import time

import numpy as np

import symgraph as sg
from symgraph.backends import numba_codegen
from symgraph.ops.composite import Composite

N = 10 ** 7
_kernel_lines = numba_codegen._kernel_lines


def _not_prefetched(*args, **kwargs):
    """numba_codegen._kernel_lines with no prefetched arrays: the loops as they were."""
    kwargs["prefetched"] = ()
    return _kernel_lines(*args[:8], **kwargs)


def _cost(f, n_in, dtype):
    op = f.fgraph.apply_nodes[0].op
    if not isinstance(op, Composite):  # (one function: an Elemwise node)
        op = Composite([(op.scalar_op, tuple(("in", i) for i in range(n_in)), dtype)], [0], n_in)
    return numba_codegen.element_cost(op)


def _before(inputs, expression, values, dtype):
    """The function compiled as before the prefetch: not prefetched, and its costlier loop not streamed."""
    numba_codegen._kernel_lines = _not_prefetched
    try:
        f = sg.function(inputs, expression)
        thunk = (getattr(f._run, "run", f._run).__globals__)["t0"]
        thunk.may_stream = thunk.may_stream and _cost(f, len(inputs), dtype) <= 3
        f(*values)  # (compiled here, while the old loop lines are in force)
    finally:
        numba_codegen._kernel_lines = _kernel_lines
    return f


def cases(dtype):
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(N).astype(dtype) for _ in range(3))
    X, W, B = (sg.tensor(name, dtype=dtype, shape=(None,)) for name in "xwb")
    return [("x*w+b (arithmetic alone)", [X, W, B], X * W + B, [x, w, b]),
            ("exp(x)", [X], sg.exp(X), [x]), ("sigmoid(x)", [X], sg.nn.sigmoid(X), [x]),
            ("tanh(x)", [X], sg.tanh(X), [x]), ("log(|x|)", [X], sg.log(abs(X)), [x]),
            ("cbrt(x)", [X], sg.cbrt(X), [x]), ("softplus(x)", [X], sg.nn.softplus(X), [x]),
            ("erf(x)", [X], sg.erf(X), [x]), ("x*exp(-w)", [X, W], X * sg.exp(-W), [x, w]),
            ("exp(x)*log(|w|)", [X, W], sg.exp(X) * sg.log(abs(W)), [x, w]),
            ("fused chain", [X, W, B], sg.tanh(X * W + B) * sg.nn.sigmoid(X) + sg.exp(-X ** 2), [x, w, b])]


def main(pattern=None, rounds=11):
    print(f"{'loop over 10^7 values':28s} {'dtype':8s} {'cost':>4s} {'before ms':>10s} {'after ms':>9s} {'gain':>6s}")
    for dtype in ("float32", "float64"):
        for name, inputs, expression, values in cases(dtype):
            if pattern and pattern not in name:
                continue
            after = sg.function(inputs, expression)
            want = after(*values).copy()
            before = _before(inputs, expression, values, dtype)
            np.testing.assert_allclose(before(*values), want, rtol=1e-6 if dtype == "float32" else 1e-14)
            best = [float("inf"), float("inf")]
            for r in range(rounds):
                for k in ((0, 1) if r % 2 else (1, 0)):
                    f = (before, after)[k]
                    start = time.perf_counter()
                    f(*values)
                    best[k] = min(best[k], time.perf_counter() - start)
            print(f"{name:28s} {dtype:8s} {_cost(after, len(inputs), dtype):4d} {best[0] * 1e3:10.2f} "
                  f"{best[1] * 1e3:9.2f} {best[0] / best[1]:5.2f}x", flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
