"""Call overhead of a tiny compiled function, f(x, y) = x * y + 1 on 4-element float32 vectors,
and of g(x, s) = x * s with s a Python float (a learning rate, a scale: converted each call).

Run: .venv/bin/python benchmarks/overhead.py
Prints microseconds per call for each symgraph backend that exists, plain NumPy, and the peers
that are installed (PyTensor, JAX, PyTorch: `make bench` installs them), with ratios to NumPy.
"""
import timeit

import numpy as np

import symgraph as sg

X = np.arange(4, dtype="float32")
Y = np.ones(4, dtype="float32")
EXPECTED = X * Y + 1


def best_us(fn, number=20000, repeat=7):
    fn()
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def symgraph_candidates():
    x, y = sg.fvector("x"), sg.fvector("y")
    for backend in ("numpy", "numba"):
        try:
            f = sg.function([x, y], x * y + 1, backend=backend)
        except NotImplementedError:
            continue
        yield f"symgraph ({backend})", lambda f=f: f(X, Y)


def peer_candidates():
    try:
        import pytensor
        import pytensor.tensor as pt
        a, b = pt.fvector("a"), pt.fvector("b")
        f = pytensor.function([a, b], a * b + 1)
        yield "PyTensor (default mode)", lambda: f(X, Y)
    except ImportError:
        print("PyTensor not installed (make bench installs it)")
    try:
        import jax
        jf = jax.jit(lambda a, b: a * b + 1)
        yield "JAX jit (CPU)", lambda: jf(X, Y).block_until_ready()
    except ImportError:
        print("JAX not installed (make bench installs it)")
    try:
        import torch
        tx, ty = torch.from_numpy(X), torch.from_numpy(Y)
        yield "PyTorch eager (CPU)", lambda: tx * ty + 1
    except ImportError:
        print("PyTorch not installed (make bench installs it)")


def scalar_argument_candidates():
    """g(x, s) = x * s with s the Python float 0.5."""
    x, s = sg.fvector("x"), sg.fscalar("s")
    g = sg.function([x, s], x * s)
    yield "symgraph (numba)", lambda: g(X, 0.5)
    try:
        import pytensor
        import pytensor.tensor as pt
        a, b = pt.fvector("a"), pt.fscalar("b")
        pg = pytensor.function([a, b], a * b, allow_input_downcast=True)
        yield "PyTensor (default mode)", lambda: pg(X, 0.5)
    except ImportError:
        pass
    try:
        import jax
        jg = jax.jit(lambda a, b: a * b)
        yield "JAX jit (CPU)", lambda: jg(X, 0.5).block_until_ready()
    except ImportError:
        pass
    try:
        import torch
        tx = torch.from_numpy(X)
        yield "PyTorch eager (CPU)", lambda: tx * 0.5
    except ImportError:
        pass


def main():
    numpy_us = best_us(lambda: X * Y + 1)
    rows = [("NumPy expression", numpy_us)]
    for label, fn in list(symgraph_candidates()) + list(peer_candidates()):
        np.testing.assert_allclose(np.asarray(fn()), EXPECTED)
        rows.append((label, best_us(fn)))
    print(f"{'f(x, y) = x * y + 1, 4 floats':32s} {'us/call':>9s} {'vs NumPy':>9s}")
    for label, us in rows:
        print(f"{label:32s} {us:9.2f} {us / numpy_us:8.1f}x")
    numpy_us = best_us(lambda: X * 0.5)
    rows = [("NumPy expression", numpy_us)]
    for label, fn in scalar_argument_candidates():
        np.testing.assert_allclose(np.asarray(fn()), X * 0.5)
        rows.append((label, best_us(fn)))
    print(f"\n{'g(x, s) = x * s, s = 0.5 (float)':32s} {'us/call':>9s} {'vs NumPy':>9s}")
    for label, us in rows:
        print(f"{label:32s} {us:9.2f} {us / numpy_us:8.1f}x")


if __name__ == "__main__":
    main()
