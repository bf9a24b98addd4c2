"""Regression steps against the same step written by hand in NumPy, PyTorch eager and JAX jit.

Binary logistic regression steps, as Theano's tutorial writes them (p = 1 / (1 + exp(-x.w - b)),
-y log p - (1 - y) log(1 - p), float64, 400 rows of 784 features) and as Keras does (sigmoid
and binary_crossentropy), against the same step written by hand in NumPy, PyTorch eager and
JAX jit. Half such a step is its two matrix-vector products (x @ w and x.T @ g): numba_matvec
runs them on both cores where NumPy's OpenBLAS runs gemv on one.
Then linear regression steps (x.w + b, mean squared error): few features (Boston housing's 13
over 200 rows up to 10 over 100000), where a step is mostly its nodes' calls and OpenBLAS's gemv
of narrow rows is slow.
Every implementation starts from zero weights and must reach the same first cost; timed in
turns, each a block of calls after a pause (common.best_in_turns: PyTorch's and JAX's threads
spinning after their calls doubled the others' times when the calls alternated one by one).
Run: cd benchmarks && ../.venv/bin/python regression_steps.py"""
import numpy as np

import symgraph as sg
from common import best_in_turns, try_import

LR, L2 = 0.1, 0.01
LINEAR_CASES = [(200, 13, "float64"), (200, 13, "float32"), (1000, 10, "float64"), (1000, 50, "float32"),
                (10000, 10, "float32"), (100000, 10, "float32")]
CASES = [(400, 784, "float64"), (400, 784, "float32"), (256, 784, "float32"), (128, 784, "float32"),
         (64, 784, "float32"), (1000, 100, "float32")]


def symgraph_step(feats, dtype, cost_of):
    """A step of w and b (zeros) through sg.grad: cost_of(x, y, w, b) -> the symbolic cost."""
    x, y = sg.matrix("x", dtype=dtype), sg.vector("y", dtype=dtype)
    w = sg.shared(np.zeros(feats, dtype), "w")
    b = sg.shared(np.asarray(0.0, dtype), "b")
    cost = cost_of(x, y, w, b)
    gw, gb = sg.grad(cost, [w, b])
    return sg.function([x, y], cost, updates=[(w, w - LR * gw), (b, b - LR * gb)])


def theano_way(x, y, w, b):
    p = 1 / (1 + sg.exp(-sg.dot(x, w) - b))
    return (-y * sg.log(p) - (1 - y) * sg.log(1 - p)).mean() + L2 * (w ** 2).sum()


def keras_way(x, y, w, b):
    return sg.nn.binary_crossentropy(sg.nn.sigmoid(sg.dot(x, w) + b), y).mean() + L2 * (w ** 2).sum()


def squared_error(x, y, w, b):
    return ((sg.dot(x, w) + b - y) ** 2).mean()


def numpy_step(X, Y):
    """The logistic regression step by hand: its gradient (p - y) / n known."""
    w, b = np.zeros(X.shape[1], X.dtype), np.zeros((), X.dtype)

    def step():
        p = 1 / (1 + np.exp(-(X @ w) - b))
        cost = (-Y * np.log(p) - (1 - Y) * np.log(1 - p)).mean() + L2 * (w ** 2).sum()
        g = (p - Y) / len(Y)
        w[...] -= LR * (X.T @ g + 2 * L2 * w)
        b[...] -= LR * g.sum()
        return cost
    return step


def linear_numpy_step(X, Y):
    w, b = np.zeros(X.shape[1], X.dtype), np.zeros((), X.dtype)

    def step():
        r = X @ w + b - Y
        cost = (r ** 2).mean()
        g = (2 / len(Y)) * r
        w[...] -= LR * (X.T @ g)
        b[...] -= LR * g.sum()
        return cost
    return step


def torch_step(torch, X, Y, cost_of):
    """The step in PyTorch eager: cost_of(torch, x, y, w, b) -> the cost tensor."""
    x, y = torch.from_numpy(X), torch.from_numpy(Y)
    w = torch.zeros(X.shape[1], dtype=x.dtype, requires_grad=True)
    b = torch.zeros((), dtype=x.dtype, requires_grad=True)

    def step():
        cost = cost_of(torch, x, y, w, b)
        gw, gb = torch.autograd.grad(cost, [w, b])
        with torch.no_grad():
            w.sub_(LR * gw)
            b.sub_(LR * gb)
        return float(cost.detach())
    return step


def torch_crossentropy(torch, x, y, w, b):
    return torch.nn.functional.binary_cross_entropy(torch.sigmoid(x @ w + b), y) + L2 * (w ** 2).sum()


def torch_squared_error(torch, x, y, w, b):
    return ((x @ w + b - y) ** 2).mean()


def jax_step(jax, X, Y, cost_of):
    """The step under jax.jit: cost_of(jax, (w, b), x, y) -> the cost."""
    import jax.numpy as jnp
    if X.dtype == np.float64:
        jax.config.update("jax_enable_x64", True)

    @jax.jit
    def update(params, x, y):
        cost, grads = jax.value_and_grad(lambda p, x, y: cost_of(jax, p, x, y))(params, x, y)
        return [p - LR * g for p, g in zip(params, grads)], cost
    state = {"p": [jnp.zeros(X.shape[1], X.dtype), jnp.zeros((), X.dtype)]}
    x, y = jax.device_put(X), jax.device_put(Y)

    def step():
        state["p"], cost = update(state["p"], x, y)
        return float(cost.block_until_ready())
    return step


def jax_crossentropy(jax, params, x, y):
    w, b = params
    z = x @ w + b
    return jax.numpy.mean(jax.nn.softplus(z) - y * z) + L2 * jax.numpy.sum(w ** 2)


def jax_squared_error(jax, params, x, y):
    w, b = params
    return jax.numpy.mean((x @ w + b - y) ** 2)


def timed_row(label, steps, work):
    """Each step's first cost must agree; then the best time of each, in turns; None: a peer
    not installed. Returns the times in us."""
    first = [float(s()) if s else None for s in steps]
    reference = first[-3]  # (NumPy by hand)
    assert all(f is None or abs(f - reference) < 1e-4 * max(1.0, abs(reference)) for f in first), first
    number = max(50, int(4e7 / work))
    seconds = iter(best_in_turns([s for s in steps if s], rounds=7, number=number))
    us = [next(seconds) * 1e6 if s else None for s in steps]
    print(label + " ".join("             -" if u is None else f"{u:14.1f}" for u in us), end="", flush=True)
    return us


def main():
    torch, jax = try_import("torch"), try_import("jax")
    print("Binary logistic regression")
    print(f"{'rows x features':16s} {'dtype':8s} " + " ".join(f"{h:>14s}" for h in (
        "theano way us", "keras way us", "NumPy us", "PyTorch us", "JAX us")) + "   NumPy/theano  NumPy/keras")
    ratios = []
    for rows, feats, dtype in CASES:
        rng = np.random.default_rng(0)
        X = rng.standard_normal((rows, feats)).astype(dtype)
        Y = rng.integers(0, 2, rows).astype(dtype)
        steps = [lambda f=symgraph_step(feats, dtype, theano_way): f(X, Y),
                 lambda f=symgraph_step(feats, dtype, keras_way): f(X, Y), numpy_step(X, Y),
                 torch_step(torch, X, Y, torch_crossentropy) if torch else None,
                 jax_step(jax, X, Y, jax_crossentropy) if jax else None]
        us = timed_row(f"{rows:5d} x {feats:<8d} {dtype:8s} ", steps, rows * feats)
        ratios += [us[2] / us[0], us[2] / us[1]]
        print(f"   {us[2] / us[0]:11.2f}x {us[2] / us[1]:11.2f}x")
    print("\nLinear regression, mean squared error")
    print(f"{'rows x features':16s} {'dtype':8s} " + " ".join(f"{h:>14s}" for h in (
        "symgraph us", "NumPy us", "PyTorch us", "JAX us")) + "   NumPy/symgraph")
    for rows, feats, dtype in LINEAR_CASES:
        rng = np.random.default_rng(0)
        X = rng.standard_normal((rows, feats)).astype(dtype)
        Y = rng.standard_normal(rows).astype(dtype)
        steps = [lambda f=symgraph_step(feats, dtype, squared_error): f(X, Y), linear_numpy_step(X, Y),
                 torch_step(torch, X, Y, torch_squared_error) if torch else None,
                 jax_step(jax, X, Y, jax_squared_error) if jax else None]
        us = timed_row(f"{rows:6d} x {feats:<7d} {dtype:8s} ", steps, rows * feats)
        ratios.append(us[1] / us[0])
        print(f"   {us[1] / us[0]:13.2f}x")
    ratios = np.array(ratios)
    print(f"geometric mean {np.exp(np.log(ratios).mean()):.2f}x NumPy by hand; "
          f"{(ratios >= 1).sum()} of {len(ratios)} at or above 1.0x")


if __name__ == "__main__":
    main()
