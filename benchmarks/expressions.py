"""A survey of everyday expressions (elementwise math, reductions, softmax, broadcasting,
transposed inputs, tiny and mid-size arrays), float32 and float64, symgraph's numba backend side by side
with NumPy and JAX jit in one process. Each result is checked against NumPy's first.

PyTensor is left out here: compiling 60 functions through its C backend takes minutes; it is
in the other scripts. Run: .venv/bin/python benchmarks/expressions.py [substring-filter]
"""
import sys
import time

import numpy as np

import symgraph as sg
from common import best_seconds, jax_in_float64

N = 4_000_000
M = (2000, 2000)
MID = (1000, 100)


def _softmax(np_, x):
    e = np_.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _log_softmax_written(np_, x):
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np_.log(np_.exp(shifted).sum(axis=1, keepdims=True))


def _logsumexp_columns(np_, x):
    """logsumexp over axis 0: symgraph's op, NumPy's and JAX's written out as its reference is."""
    if np_ is _SymgraphMath:
        return sg.logsumexp(x, axis=0)
    m = x.max(axis=0)
    return np_.log(np_.exp(x - m).sum(axis=0)) + m


def _channel_softmax(np_, x):
    """softmax over the channels of NCHW scores: symgraph's op (sg.nn.softmax(x, axis=1)),
    NumPy's and JAX's written out as NumPy's reference is."""
    if np_ is _SymgraphMath:
        return sg.nn.softmax(x, axis=1)
    e = np_.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _normalize(np_, x):
    return (x - x.mean(axis=1, keepdims=True)) / (x.std(axis=1, keepdims=True) + 1e-5)


def _normalize_columns(np_, x):
    return (x - x.mean(axis=0, keepdims=True)) / np_.sqrt(x.var(axis=0, keepdims=True) + 1e-5)


# name, input shapes, expression over a NumPy-like module (np, jax.numpy) or symgraph
CASES = [
    ("x*y+z", [N, N, N], lambda m, x, y, z: x * y + z),
    ("exp", [N], lambda m, x: m.exp(x)),
    ("log(abs(x))", [N], lambda m, x: m.log(abs(x))),
    ("log(abs(x)+1)", [N], lambda m, x: m.log(abs(x) + 1)),
    ("tanh", [N], lambda m, x: m.tanh(x)),
    ("tanh, 65536 elements", [1 << 16], lambda m, x: m.tanh(x)),
    ("expm1", [N], lambda m, x: m.expm1(x)),
    ("softplus", [N], lambda m, x: m.logaddexp(0, x)),
    ("log1p(exp(x))", [N], lambda m, x: m.log1p(m.exp(x))),  # (softplus as NumPy users write it; 52nd session)
    ("elu", [N], lambda m, x: m.where(x > 0, x, m.expm1(m.minimum(x, 0)))),
    ("arctan", [N], lambda m, x: m.arctan(x)),
    ("sinh", [N], lambda m, x: m.sinh(x)),
    ("log2(abs(x))", [N], lambda m, x: m.log2(abs(x))),
    ("abs(x)**y", [N, N], lambda m, x, y: abs(x) ** y),
    ("sigmoid", [N], lambda m, x: 1 / (1 + m.exp(-x))),
    ("sin", [N], lambda m, x: m.sin(x)),
    ("cos", [N], lambda m, x: m.cos(x)),
    ("tan", [N], lambda m, x: m.tan(x)),
    ("arcsin(x/4)", [N], lambda m, x: m.arcsin(x / 4)),
    ("arccos(x/4)", [N], lambda m, x: m.arccos(x / 4)),
    ("arctanh(x/4)", [N], lambda m, x: m.arctanh(x / 4)),
    ("exp2", [N], lambda m, x: m.exp2(x)),
    ("sqrt(abs(x))", [N], lambda m, x: m.sqrt(abs(x))),
    ("x**2", [N], lambda m, x: x ** 2),
    ("x**3", [N], lambda m, x: x ** 3),
    ("abs(x)**0.7", [N], lambda m, x: abs(x) ** 0.7),
    ("relu", [N], lambda m, x: m.maximum(x, 0)),
    ("leaky relu (where)", [N], lambda m, x: m.where(x > 0, x, 0.01 * x)),
    ("clip", [N], lambda m, x: m.clip(x, -0.5, 0.5)),
    ("sum", [N], lambda m, x: x.sum()),
    ("sum axis 0", [M], lambda m, x: x.sum(axis=0)),
    ("sum axis 1", [M], lambda m, x: x.sum(axis=1)),
    ("max axis 1", [M], lambda m, x: x.max(axis=1)),
    ("min axis 0", [M], lambda m, x: x.min(axis=0)),
    ("mean((x-y)**2)", [N, N], lambda m, x, y: ((x - y) ** 2).mean()),
    ("sum(exp(x))", [N], lambda m, x: m.exp(x).sum()),
    ("softmax rows", [M], _softmax),
    ("log(sum(exp)) rows", [M], lambda m, x: m.log(m.exp(x).sum(axis=1))),
    ("x + row vector", [M, (M[1],)], lambda m, x, b: x + b),
    ("x + column", [M, (M[0], 1)], lambda m, x, c: x + c),
    ("x * y.T", [M, M], lambda m, x, y: x * y.T),
    ("exp(x.T)", [M], lambda m, x: m.exp(x.T)),
    ("argmax axis 1", [M], lambda m, x: x.argmax(axis=1)),
    ("cumsum", [N], lambda m, x: m.cumsum(x)),
    ("var axis 0", [M], lambda m, x: x.var(axis=0)),
    ("normalize rows", [M], _normalize),
    ("x*y+1, 100 elements", [100, 100], lambda m, x, y: x * y + 1),
    ("arcsinh", [N], lambda m, x: m.arcsinh(x)),
    ("cbrt", [N], lambda m, x: m.cbrt(x)),
    ("arctan2", [N, N], lambda m, x, y: m.arctan2(x, y)),
    ("logaddexp", [N, N], lambda m, x, y: m.logaddexp(x, y)),
    ("exp(x).sum(axis 1), 3-d", [(200, 100, 200)], lambda m, x: m.exp(x).sum(axis=1)),
    ("channel max, NCHW", [(64, 32, 28, 28)], lambda m, x: x.max(axis=1)),
    ("channel softmax, NCHW", [(16, 21, 64, 64)], _channel_softmax),
    ("logsumexp axis 0", [M], _logsumexp_columns),
    ("(x - row).max(axis 0)", [M, (1, M[1])], lambda m, x, b: (x - b).max(axis=0)),
    ("reshape(x.T * 2)", [M], lambda m, x: (x.T * 2).reshape(-1)),
    ("x.T.flatten()", [M], lambda m, x: x.T.flatten()),
    ("exp(x[::2])", [2 * N], lambda m, x: m.exp(x[::2])),
    # Mid-size arrays (one core's work, a call's overhead showing), added in the eighteenth session
    ("log_softmax as written, 1000x100", [MID], _log_softmax_written),
    ("softmax rows, 1000x100", [MID], _softmax),
    ("max axis 1, 1000x100", [MID], lambda m, x: x.max(axis=1)),
    ("exp, 100x100", [(100, 100)], lambda m, x: m.exp(x)),
    ("tanh, 1000x1000", [(1000, 1000)], lambda m, x: m.tanh(x)),
    # Layouts and short axes, added in the twenty-ninth session
    ("x.T.max(axis 1)", [M], lambda m, x: x.T.max(axis=1)),
    ("x.transpose(2,0,1) * 2", [(100, 200, 50)], lambda m, x: x.transpose(2, 0, 1) * 2),
    ("2x2 mean pool by reshape", [(64, 16, 28, 28)], lambda m, x: x.reshape((64, 16, 14, 2, 14, 2)).mean(axis=(3, 5))),
    # A transposed input beside a C-ordered one, added in the thirty-eighth session
    ("x * y.T, 256x256", [(256, 256), (256, 256)], lambda m, x, y: x * y.T),
    ("exp(y.T) + x, 500x500", [(500, 500), (500, 500)], lambda m, x, y: m.exp(y.T) + x),
    # (61st session: a transposed input read through tiles' rows, a reshape of a transposed result)
    ("x * y.T, 500x500", [(500, 500), (500, 500)], lambda m, x, y: x * y.T),
    ("reshape(x.T * 2), 300x300", [(300, 300)], lambda m, x: (x.T * 2).reshape(-1)),
    ("x.T.flatten(), 200x200", [(200, 200)], lambda m, x: x.T.flatten()),
    ("x[::2].sum()", [2 * N], lambda m, x: x[::2].sum()),  # (strided reads: no gathers)
    # (62nd session: views whose rows lie apart, read as their padded rows)
    ("x[::2].max(axis 0)", [M], lambda m, x: x[::2].max(axis=0)),
    ("exp(x[:, 1:]).sum(axis 0)", [M], lambda m, x: m.exp(x[:, 1:]).sum(axis=0)),
    ("x[:, 1:] - x[:, :-1], 200x100", [(200, 100)], lambda m, x: x[:, 1:] - x[:, :-1]),
    # (62nd session: two-operand einsums as one product, or NumPy's plain einsum)
    ("einsum bij,bjk->bik", [(32, 64, 64), (32, 64, 64)], lambda m, a, b: m.einsum("bij,bjk->bik", a, b)),
    ("einsum ij,ij->i, 1000x100", [(1000, 100), (1000, 100)], lambda m, a, b: m.einsum("ij,ij->i", a, b)),
    # (63rd session: reductions along axes of length 1, a column's function once a row, costly column folds)
    ("Keras mse of (10000, 1)", [(10000, 1), (10000, 1)], lambda m, p, y: ((p - y) ** 2).mean(axis=-1)),
    ("max axis 2 of (1000,1000,1)", [(1000, 1000, 1)], lambda m, x: x.max(axis=2)),
    ("x * exp(column)", [M, (M[0], 1)], lambda m, x, c: x * m.exp(c)),
    ("tanh(x).sum(axis 0), 64x784", [(64, 784)], lambda m, x: m.tanh(x).sum(axis=0)),
    # (64th session: reductions of views walking backwards, turned round)
    ("x[::-1].sum(axis 0)", [M], lambda m, x: x[::-1].sum(axis=0)),
    ("x[::-1].sum(axis 1)", [M], lambda m, x: x[::-1].sum(axis=1)),
    ("var over (0,2,3), NCHW", [(128, 64, 16, 16)], lambda m, x: x.var(axis=(0, 2, 3))),  # (in two folds)
    # arguments outside the functions' domains (NaN and -inf results: numba_svml's guards)
    ("log(x), x half negative", [N], lambda m, x: m.log(x)),
    ("log(relu(x))", [N], lambda m, x: m.log(m.maximum(x, 0))),
    ("x ** 2.5, x half negative", [N], lambda m, x: x ** 2.5),
    ("arcsin(x), x normal", [N], lambda m, x: m.arcsin(x)),
    # Dense layers' forward products (BLAS's product at parity: the margin is the bias's pass
    # and the call's cost)
    ("x @ w + b, 128x784x10", [(128, 784), (784, 10), (10,)], lambda m, x, w, b: m.dot(x, w) + b),
    ("relu(x @ w + b), 256x512", [(256, 512), (512, 256), (256,)],
     lambda m, x, w, b: m.maximum(m.dot(x, w) + b, 0)),
    ("x @ w + 1, 64x64", [(64, 64), (64, 64)], lambda m, x, w: m.dot(x, w) + 1),
    # Keras's categorical accuracy, mean(cast(equal(argmax, argmax), floatx)): argmax along rows
    # of 10 scores (one kernel a row length)
    ("accuracy, 1000x10", [(1000, 10), (1000, 10)],
     lambda m, p, t: m.mean(m.equal(p.argmax(axis=1), t.argmax(axis=1)).astype(p.dtype))),
    # (73rd session: a function of a row kept with keepdims, computed once a column, not a value)
    ("normalize columns, 1000x1000", [(1000, 1000)], _normalize_columns),
    ("x - log(sum(exp) axis 0), 1000x1000", [(1000, 1000)],
     lambda m, x: x - m.log(m.exp(x).sum(axis=0, keepdims=True))),
    ("(x * exp(row)).sum(axis 1), 1000x1000", [(1000, 1000), (1, 1000)], lambda m, x, r: (x * m.exp(r)).sum(axis=1)),
    ("(x / sqrt(row)).max(axis 1), 1000x1000", [(1000, 1000), (1, 1000)],
     lambda m, x, r: (x / m.sqrt(abs(r) + 1)).max(axis=1)),
    # (seventy-fourth session: folds of the same arrays in one loop, numba_siblings)
    ("x.max() - x.min()", [N], lambda m, x: x.max() - x.min()),
    ("min-max scaling", [N], lambda m, x: (x - x.min()) / (x.max() - x.min())),
    ("mse + mae of p - y", [N, N], lambda m, p, y: ((p - y) ** 2).mean() + abs(p - y).mean()),
    ("mean(x*x) - mean(x)**2", [N], lambda m, x: (x * x).mean() - x.mean() ** 2),
]


class _SymgraphMath:
    """The NumPy names the cases use, spelled in symgraph."""
    exp, log, tanh, sin, cos, sqrt, maximum, where, clip, cumsum = (
        sg.exp, sg.log, sg.tanh, sg.sin, sg.cos, sg.sqrt, sg.maximum, sg.where, sg.clip, sg.cumsum)
    expm1, arctan, sinh, log2, minimum = sg.expm1, sg.arctan, sg.sinh, sg.log2, sg.minimum
    tan, arcsin, arccos, arctanh, exp2 = sg.tan, sg.arcsin, sg.arccos, sg.arctanh, sg.exp2
    arcsinh, cbrt, arctan2, log1p, einsum = sg.arcsinh, sg.cbrt, sg.arctan2, sg.log1p, sg.einsum
    dot, mean, equal = sg.dot, sg.mean, sg.equal

    @staticmethod
    def logaddexp(a, b):  # softplus spelled as NumPy does it, else NumPy's logaddexp
        return sg.nn.softplus(b) if isinstance(a, (int, float)) and a == 0 else sg.logaddexp(a, b)



def _seconds(fn):
    """Best of 7 runs of enough calls to take about 2 ms (one call of a tiny case is noise)."""
    fn()
    start = time.perf_counter()
    fn()
    number = max(1, int(2e-3 / max(time.perf_counter() - start, 1e-7)))
    return best_seconds(fn, repeat=7, number=number)


def main(pattern=None):
    np.seterr(all="ignore")  # (the logs of negative numbers... give NaN: expected, as in each peer)
    jax, jnp = jax_in_float64()
    rng = np.random.default_rng(0)
    print(f"{'expression':22s} {'dtype':8s} {'NumPy ms':>9s} {'symgraph':>9s} {'JAX jit':>9s}"
          f" {'vs NumPy':>9s} {'vs JAX':>7s}")
    ratios = {"NumPy": [], "JAX": []}
    for dtype in ("float32", "float64"):
        for name, shapes, expr in CASES:
            if pattern and pattern not in name:
                continue
            values = [rng.standard_normal(s if isinstance(s, tuple) else (s,)).astype(dtype) for s in shapes]
            symbols = [sg.tensor(f"a{i}", dtype=dtype, ndim=v.ndim) for i, v in enumerate(values)]
            f = sg.function(symbols, expr(_SymgraphMath, *symbols))
            want = expr(np, *values)
            tol = 1e-4 if dtype == "float32" else 1e-10
            np.testing.assert_allclose(f(*values), want, rtol=tol, atol=tol)
            t_np = _seconds(lambda: expr(np, *values))
            t_sg = _seconds(lambda: f(*values))
            t_jax = float("nan")
            if jax:
                jf = jax.jit(lambda *a: expr(jnp, *a))
                jvalues = [jax.device_put(v) for v in values]
                scale = max(1.0, float(np.abs(want).max()))  # JAX's float32 cumsum rounds differently
                np.testing.assert_allclose(np.asarray(jf(*jvalues)), want, rtol=tol * 10, atol=tol * 10 * scale)
                t_jax = _seconds(lambda: jf(*jvalues).block_until_ready())
            ratios["NumPy"].append(t_np / t_sg)
            ratios["JAX"].append(t_jax / t_sg)
            print(f"{name:22s} {dtype:8s} {t_np * 1e3:9.3f} {t_sg * 1e3:9.3f} {t_jax * 1e3:9.3f}"
                  f" {t_np / t_sg:8.2f}x {t_jax / t_sg:6.2f}x", flush=True)
    for peer, values in ratios.items():
        values = np.array([v for v in values if v == v])
        if len(values):
            print(f"symgraph vs {peer}: geometric mean {np.exp(np.log(values).mean()):.2f}x, "
                  f"slowest {values.min():.2f}x, {np.sum(values < 1)} of {len(values)} below 1.0x")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
