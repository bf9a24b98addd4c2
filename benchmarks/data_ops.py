"""Data movement and small reductions side by side: gathers, concatenation, repeat and tile
(nearest-neighbour upsampling), random draws, whole reductions of a few thousand values, a
classifier's argmax along rows, and sorts, medians and top-k indices along rows, symgraph's
numba backend against NumPy and JAX jit in one process, float32 and float64.
Each result is checked against NumPy's first (random draws: against ops/random.py's reference
and by their moments; the peers draw other numbers).

Run: .venv/bin/python benchmarks/data_ops.py [substring-filter]
"""
import sys

import numpy as np

import symgraph as sg
from common import try_import
from expressions import _seconds

RNG = np.random.default_rng(0)


def _picks(n, m, dtype):
    return [RNG.standard_normal(n).astype(dtype), RNG.integers(0, n, m)]


def _pairs(shape, dtype, count=2):
    return [RNG.standard_normal(shape).astype(dtype) for _ in range(count)]


def _integers(n, dtype):
    """x in [-1000, 1000) and a divisor y in [1, 50): int32 in the float32 pass, int64 in the float64 one."""
    integer = "int32" if dtype == "float32" else "int64"
    return [RNG.integers(-1000, 1000, n).astype(integer), RNG.integers(1, 50, n).astype(integer)]


def _upsample(m, x):
    return m.repeat(m.repeat(x, 2, axis=-1), 2, axis=-2)


# (name, values(dtype), symgraph expression of the inputs, the same in NumPy / jax.numpy)
CASES = [
    ("x[idx], 10^5 of 10^6", lambda d: _picks(10 ** 6, 10 ** 5, d), lambda m, x, i: x[i]),
    ("x[idx], 5000 rows of 100", lambda d: [RNG.standard_normal((10000, 100)).astype(d),
                                             RNG.integers(0, 10000, 5000)], lambda m, x, i: x[i]),
    ("x[x > 1], 10^6", lambda d: _pairs((10 ** 6,), d, 1), lambda m, x: x[x > 1]),
    ("dot of two 2^20 vectors", lambda d: _pairs((1 << 20,), d), lambda m, x, y: m.dot(x, y)),
    ("concatenate axis 0", lambda d: _pairs((1000, 1000), d), lambda m, x, y: m.concatenate([x, y], axis=0)),
    ("concatenate axis 1", lambda d: _pairs((1000, 1000), d), lambda m, x, y: m.concatenate([x, y], axis=1)),
    ("concatenate NCHW channels", lambda d: _pairs((64, 32, 32, 32), d), lambda m, x, y: m.concatenate([x, y], axis=1)),
    ("stack 2 x 10^6", lambda d: _pairs((10 ** 6,), d), lambda m, x, y: m.stack([x, y])),
    ("repeat 10^5 twice", lambda d: _pairs((10 ** 5,), d, 1), lambda m, x: m.repeat(x, 2)),
    ("repeat rows twice", lambda d: _pairs((1000, 1000), d, 1), lambda m, x: m.repeat(x, 2, axis=0)),
    ("upsample 2x (64,32,28,28)", lambda d: _pairs((64, 32, 28, 28), d, 1), _upsample),
    ("tile (1000,1000) (1,2)", lambda d: _pairs((1000, 1000), d, 1), lambda m, x: m.tile(x, (1, 2))),
    ("mean of 100", lambda d: _pairs((100,), d, 1), lambda m, x: x.mean()),
    ("mean of 100x100", lambda d: _pairs((100, 100), d, 1), lambda m, x: x.mean()),
    ("sum of 4000", lambda d: _pairs((4000,), d, 1), lambda m, x: x.sum()),
    ("sum of 16000", lambda d: _pairs((16000,), d, 1), lambda m, x: x.sum()),
    ("mean(x*x) 32x10", lambda d: _pairs((32, 10), d, 1), lambda m, x: (x * x).mean()),
    ("var of 100x100", lambda d: _pairs((100, 100), d, 1), lambda m, x: x.var()),
    ("(x*y).sum() of 1000", lambda d: _pairs((1000,), d), lambda m, x, y: (x * y).sum()),
    ("trace of m[:100, :100]", lambda d: _pairs((300, 300), d, 1), lambda m, x: m.trace(x[:100, :100])),
    ("mean((x-y)**2) 32x784", lambda d: _pairs((32, 784), d), lambda m, x, y: ((x - y) ** 2).mean()),
    ("any(x > 3) of 10^5", lambda d: _pairs((10 ** 5,), d, 1), lambda m, x: (x > 3).any()),
    ("integer sum of 1000", lambda d: [RNG.integers(-9, 10, 1000).astype("int32" if d == "float32" else "int64")],
     lambda m, x: x.sum()),  # (int32 in the float32 pass, int64 in the float64 one)
    ("concatenate two 500s", lambda d: _pairs((500,), d), lambda m, x, y: m.concatenate([x, y])),
    ("argmax of 10000x10 rows", lambda d: _pairs((10000, 10), d, 1), lambda m, x: x.argmax(axis=1)),
    ("x[:, idx], 500 of 1000 columns", lambda d: [RNG.standard_normal((1000, 1000)).astype(d),
                                                  RNG.integers(0, 1000, 500)], lambda m, x, i: x[:, i]),
    ("matmul of 32 64x64 pairs", lambda d: _pairs((32, 64, 64), d), lambda m, x, y: m.matmul(x, y)),
    # added in the fifty-second session
    ("stack 4 x 10^5 along axis 1", lambda d: _pairs((10 ** 5,), d, 4), lambda m, a, b, c, e: m.stack([a, b, c, e], axis=1)),
    ("sort 1000 rows of 100", lambda d: _pairs((1000, 100), d, 1), lambda m, x: m.sort(x, axis=1)),
    ("median of 1000 rows of 101", lambda d: _pairs((1000, 101), d, 1), lambda m, x: m.median(x, axis=1)),
    ("cumprod along 1000x1000 rows", lambda d: [(1 + RNG.standard_normal((1000, 1000)) * 0.01).astype(d)],
     lambda m, x: m.cumprod(x, axis=1)),
    # added in the fifty-third session (int32 in the float32 pass, int64 in the float64 one)
    ("integer x // y of 10^6", lambda d: _integers(10 ** 6, d), lambda m, x, y: x // y),
    ("integer x % y of 10^4", lambda d: _integers(10 ** 4, d), lambda m, x, y: x % y),
    ("integer x // 7 of 10^4", lambda d: _integers(10 ** 4, d)[:1], lambda m, x: x // 7),
    # added in the fifty-fourth session: a float function of integers (float64 for int32 and int64)
    ("integer tanh(x) of 10^6", lambda d: _integers(10 ** 6, d)[:1], lambda m, x: m.tanh(x)),
    ("integer x ** y of 10^4", lambda d: [_integers(10 ** 4, d)[0], _integers(10 ** 4, d)[1] % 4],
     lambda m, x, y: x ** y),
    # added in the fifty-seventh session: float floor division and mod (fmod in vector instructions), and
    # int64 division by a variable and by a literal (float64 pass) or int32 (float32 pass)
    ("float x // y of 10^5", lambda d: _pairs((10 ** 5,), d), lambda m, x, y: x // y),
    ("float x % 1.5 of 10^6", lambda d: [(RNG.standard_normal(10 ** 6) * 100).astype(d)], lambda m, x: x % 1.5),
    ("integer x % -10 of 10^5", lambda d: _integers(10 ** 5, d)[:1], lambda m, x: x % -10),
    ("integer x // n of 10^5, n 0-d", lambda d: [_integers(10 ** 5, d)[0], _integers(1, d)[1].reshape(())],
     lambda m, x, n: x // n),
    # added in the fifty-eighth session: a uint8 image by a 0-d divisor (both passes), argsort by NumPy's
    # default sort (distinct values: JAX's stable sort orders ties otherwise)
    ("uint8 x // n of 10^5, n 0-d", lambda d: [RNG.integers(0, 256, 10 ** 5).astype("uint8"), np.array(9, "uint8")],
     lambda m, x, n: x // n),
    ("argsort of 10^5", lambda d: [RNG.permutation(10 ** 5).astype(d)], lambda m, x: m.argsort(x)),
    ("argmax of 2^20", lambda d: _pairs((1 << 20,), d, 1), lambda m, x: x.argmax()),  # (61st session)
    ("argmin of 1000x1000", lambda d: _pairs((1000, 1000), d, 1), lambda m, x: x.argmin()),
]


class _SymgraphMath:
    concatenate, stack, repeat, tile, dot, matmul = sg.concatenate, sg.stack, sg.repeat, sg.tile, sg.dot, sg.matmul
    sort, median, cumprod, tanh, argsort, trace = sg.sort, sg.median, sg.cumprod, sg.tanh, sg.argsort, sg.trace


def _draws(jax, dtype, pattern):
    """rng.normal / rng.uniform / a dropout mask's rng.binomial(n=1, p=0.5) of 2^20 values:
    symgraph against NumPy's Generator (random < p for the mask) and jax.random."""
    n = 1 << 20
    for name in ("normal", "uniform", "binomial"):
        label = f"{name} draws, 2^20" if name != "binomial" else "binomial n=1 (mask), 2^20"
        if pattern and pattern not in label:
            continue
        stream = sg.random.RandomStream(0)
        f = sg.function([], getattr(stream, name)((n,), dtype=dtype))
        values = f()
        mean, std = {"normal": (0.0, 1.0), "uniform": (0.5, 12 ** -0.5), "binomial": (0.5, 0.5)}[name]
        assert abs(values.mean() - mean) < 0.01 and abs(values.std() - std) < 0.01
        generator = np.random.default_rng(0)
        numpy_draw = {"normal": lambda: generator.standard_normal(n, dtype=dtype),
                      "uniform": lambda: generator.random(n, dtype=dtype),
                      "binomial": lambda: (generator.random(n, dtype=dtype) < 0.5).astype(dtype)}[name]
        t_np, t_sg, t_jax = _seconds(numpy_draw), _seconds(f), float("nan")
        if jax:
            draw = jax.jit(lambda key: jax.random.bernoulli(key, 0.5, (n,)).astype(dtype) if name == "binomial"
                           else getattr(jax.random, name)(key, (n,), dtype=dtype))
            key = jax.random.PRNGKey(0)
            t_jax = _seconds(lambda: draw(key).block_until_ready())
        yield label, t_np, t_sg, t_jax


def _upsample_backward(jax, dtype, pattern):
    """The gradient of a 2x upsampling (its backward in a decoder): symgraph's sg.grad against
    the sum over each value's four copies written by hand in NumPy and JAX."""
    label = "upsample 2x backward"
    if pattern and pattern not in label:
        return
    x, g = sg.tensor("x", dtype=dtype, ndim=4), sg.tensor("g", dtype=dtype, ndim=4)
    f = sg.function([x, g], sg.grad((_upsample(_SymgraphMath, x) * g).sum(), x))
    xv, gv = _pairs((64, 32, 14, 14), dtype, 1)[0], _pairs((64, 32, 28, 28), dtype, 1)[0]

    def by_hand(m, grad):
        return grad.reshape(64, 32, 14, 2, 14, 2).sum(axis=(3, 5))
    np.testing.assert_allclose(f(xv, gv), by_hand(np, gv), rtol=1e-4, atol=1e-4)
    t_np, t_sg, t_jax = _seconds(lambda: by_hand(np, gv)), _seconds(lambda: f(xv, gv)), float("nan")
    if jax:
        jf, jg = jax.jit(lambda grad: by_hand(None, grad)), jax.device_put(gv)
        t_jax = _seconds(lambda: jf(jg).block_until_ready())
    yield label, t_np, t_sg, t_jax


def _top_indices(jax, dtype, pattern):
    """The indices of each row's 5 largest, largest first: sg.argtopk against NumPy's
    argpartition with the 5 ordered by hand and jax.lax.top_k."""
    label = "argtopk 5 of 1000 rows of 100"
    if pattern and pattern not in label:
        return
    x = sg.tensor("x", dtype=dtype, ndim=2)
    f = sg.function([x], sg.argtopk(x, 5, axis=1))
    xv = _pairs((1000, 100), dtype, 1)[0]

    def by_hand(v):
        picked = np.argpartition(v, -5, axis=1)[:, -5:]
        return np.take_along_axis(picked, np.argsort(-np.take_along_axis(v, picked, 1), axis=1), 1)
    np.testing.assert_array_equal(f(xv), by_hand(xv))
    t_np, t_sg, t_jax = _seconds(lambda: by_hand(xv)), _seconds(lambda: f(xv)), float("nan")
    if jax:
        jf, jx = jax.jit(lambda v: jax.lax.top_k(v, 5)[1]), jax.device_put(xv)
        np.testing.assert_array_equal(np.asarray(jf(jx)), by_hand(xv))
        t_jax = _seconds(lambda: jf(jx).block_until_ready())
    yield label, t_np, t_sg, t_jax


def _cases(jax, jnp, dtype, pattern):
    for name, make, expr in CASES:
        if pattern and pattern not in name:
            continue
        values = make(dtype)
        symbols = [sg.tensor(f"a{i}", dtype=v.dtype, ndim=v.ndim) for i, v in enumerate(values)]
        f = sg.function(symbols, expr(_SymgraphMath, *symbols))
        want = expr(np, *values)
        tol = 1e-4 if dtype == "float32" else 1e-10
        if name.startswith("dot"):  # a sum of 2^20 products: against the exact value, to its rounding
            exact = expr(np, *[v.astype(np.float64) for v in values])
            np.testing.assert_allclose(f(*values), exact, atol=tol * 1e-2 * np.abs(values[0] * values[1]).sum())
        else:
            np.testing.assert_allclose(f(*values), want, rtol=tol, atol=tol)
        t_np, t_sg, t_jax = _seconds(lambda: expr(np, *values)), _seconds(lambda: f(*values)), float("nan")
        if jax and "x > 1" not in name:  # (jit has no data-dependent shapes: no boolean masks)
            jf = jax.jit(lambda *a: expr(jnp, *a))
            jvalues = [jax.device_put(v) for v in values]
            np.testing.assert_allclose(np.asarray(jf(*jvalues)), want, rtol=tol * 10,
                                       atol=tol * 10 * (np.abs(want).max() if name.startswith("dot") else 1))
            t_jax = _seconds(lambda: jf(*jvalues).block_until_ready())
        yield name, t_np, t_sg, t_jax


def main(pattern=None):
    jax = try_import("jax")
    jnp = None
    if jax:
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
    print(f"{'case':28s} {'dtype':8s} {'NumPy ms':>9s} {'symgraph':>9s} {'JAX jit':>9s} {'vs NumPy':>9s} {'vs JAX':>7s}")
    ratios = []
    for dtype in ("float32", "float64"):
        for name, t_np, t_sg, t_jax in [*_cases(jax, jnp, dtype, pattern), *_upsample_backward(jax, dtype, pattern),
                                        *_top_indices(jax, dtype, pattern), *_draws(jax, dtype, pattern)]:
            ratios.append(t_np / t_sg)
            print(f"{name:28s} {dtype:8s} {t_np * 1e3:9.4f} {t_sg * 1e3:9.4f} {t_jax * 1e3:9.4f}"
                  f" {t_np / t_sg:8.2f}x {t_jax / t_sg:6.2f}x", flush=True)
    ratios = np.array(ratios)
    if len(ratios):
        print(f"symgraph vs NumPy: geometric mean {np.exp(np.log(ratios).mean()):.2f}x, "
              f"slowest {ratios.min():.2f}x, {np.sum(ratios < 1)} of {len(ratios)} below 1.0x")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
