"""Three answers to "what shape is it" must agree with NumPy's: the value's shape, the symbolic
`x.shape` (computed from each op's infer_shape without computing x), and the static
`x.type.shape` (each entry None or the length). A wrong infer_shape would size an output or a
`x.shape[0]` in a user's graph silently; this table covers the ops whose shapes take
arithmetic: arange's lengths with float and symbolic steps, slices with negative steps and
bounds past the ends, reductions, advanced indexing with separated index arrays, masks,
products, convolutions, poolings and transposed convolutions, on both CPU backends."""
import numpy as np
import pytest

import symgraph as sg

RNG = np.random.default_rng(0)
X3, M, V = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(3, 4)), RNG.normal(size=5)
IMAGES, FILTERS = RNG.normal(size=(2, 3, 7, 9)), RNG.normal(size=(4, 3, 3, 2))
TRANSPOSED = RNG.normal(size=(3, 4, 3, 3))  # (conv2d_transpose's filters: in, out, rows, cols)
PICKS = np.array([0, 2, 2, 1])


def _cases(known):
    """(name, inputs, expression, values, NumPy's shape or None when the expression's value gives
    it), the array inputs' shapes known when the graph is built (static) or not."""
    def array(name, value):
        return sg.tensor(name, "float64", value.shape if known else (None,) * value.ndim)
    x3, m, v, t4, w4, wt = (array(n, a) for n, a in (("x3", X3), ("m", M), ("v", V), ("t4", IMAGES),
                                                        ("w4", FILTERS), ("wt", TRANSPOSED)))
    i, iv = sg.lscalar("i"), sg.lvector("iv")
    cases = []
    for args in [(0, 1, 0.1), (0.5, 3.7, 0.3), (5, 0, -1), (0, 10, 3), (1, 1), (3,), (-2.5, 2.5, 0.5),
                 (0, 1, 0.3333333)]:
        symbols = [sg.dscalar(f"a{k}") for k in range(len(args))]
        want = np.arange(*[float(a) for a in args]).shape
        cases.append((f"arange{args}", symbols, sg.arange(*symbols), [float(a) for a in args], want))
        cases.append((f"constant arange{args}", [v], sg.arange(*args) + 0 * v.sum(), [V], np.arange(*args).shape))
    a, b = sg.lscalar("a"), sg.lscalar("b")
    for s in [slice(None, None, -1), slice(-10, 10), slice(5, 1), slice(1, None, 2), slice(None, -1, -2),
              slice(-1, -10, -3), slice(10, 20)]:
        cases.append((f"v[{s}]", [v], v[s], [V], V[s].shape))
        if s.start is not None and s.stop is not None:
            cases.append((f"v[a:b:{s.step}]", [v, a, b], v[a:b:s.step], [V, s.start, s.stop], V[s].shape))
    for axis in [None, 0, 1, -1, (0, 2), (1, 2)]:
        for keepdims in (False, True):
            for op in ["sum", "max", "mean", "var", "std", "prod", "all"]:
                want = getattr(np, op)(X3, axis=axis, keepdims=keepdims).shape
                cases.append((f"{op}({axis}, {keepdims})", [x3], getattr(x3, op)(axis=axis, keepdims=keepdims), [X3],
                              want))
            if not isinstance(axis, tuple):
                cases.append((f"argmax({axis}, {keepdims})", [x3], x3.argmax(axis=axis, keepdims=keepdims), [X3],
                              np.argmax(X3, axis=axis, keepdims=keepdims).shape))
    cases += [
        ("reshape -1", [x3], x3.reshape((-1, 4)), [X3], (6, 4)),
        ("reshape symbolic", [x3, i], x3.reshape((i, -1)), [X3, 3], (3, 8)),
        ("flatten(2)", [x3], x3.flatten(2), [X3], (2, 12)),
        ("dimshuffle", [x3], x3.dimshuffle(2, "x", 0, 1), [X3], (4, 1, 2, 3)),
        ("squeeze", [m], sg.squeeze(m[None, :, None]), [M], (3, 4)),
        ("concatenate", [x3], sg.concatenate([x3, x3[:, :1]], axis=1), [X3], (2, 4, 4)),
        ("stack", [m], sg.stack([m, m], axis=2), [M], (3, 4, 2)),
        ("broadcast_to", [v], sg.broadcast_to(v, (3, 5)), [V], (3, 5)),
        ("repeat", [m], sg.repeat(m, 3, axis=1), [M], (3, 12)),
        ("repeat by counts", [v, iv], sg.repeat(v, iv), [V, np.array([1, 0, 2, 3, 1])], (7,)),
        ("repeat flat", [m], sg.repeat(m, 2), [M], (24,)),
        ("tile", [m], sg.tile(m, (2, 1, 3)), [M], (2, 3, 12)),
        ("tile short reps", [x3], sg.tile(x3, (2,)), [X3], (2, 3, 8)),
        ("eye", [i], sg.eye(i, 3, -1), [4], (4, 3)),
        ("x3[iv, :, iv]", [x3, iv], x3[iv, :, iv], [X3, PICKS[:3] % 2], X3[[0, 0, 0], :, [0, 0, 0]].shape),
        ("x3[:, iv]", [x3, iv], x3[:, iv], [X3, PICKS], (2, 4, 4)),
        ("x3[1:, iv, ::2]", [x3, iv], x3[1:, iv, ::2], [X3, PICKS[:2]], X3[1:, [0, 2], ::2].shape),
        ("x3[iv, 0]", [x3, iv], x3[iv, 0], [X3, PICKS[:3] % 2], (3, 4)),
        ("x3[0, :, iv]", [x3, iv], x3[0, :, iv], [X3, PICKS[:3]], (3, 3)),
        ("x3[iv, :, 0]", [x3, iv], x3[iv, :, 0], [X3, np.array([1, 0])], X3[[1, 0], :, 0].shape),
        ("x3[iv, 1:, iv]", [x3, iv], x3[iv, 1:, iv], [X3, np.array([1, 0])], X3[[1, 0], 1:, [1, 0]].shape),
        ("m[m > 0]", [m], m[m > 0], [M], M[M > 0].shape),
        ("m[m[:, 0] > 0]", [m], m[m[:, 0] > 0], [M], M[M[:, 0] > 0].shape),
        ("m[None, :, None, 1]", [m], m[None, :, None, 1], [M], M[None, :, None, 1].shape),
        ("x3[..., 1]", [x3], x3[..., 1], [X3], (2, 3)),
        ("x3[0, ...]", [x3], x3[0, ...], [X3], (3, 4)),
        ("dot(m, v)", [m, v], sg.dot(m, v[:4]), [M, V], (3,)),
        ("dot(v, v)", [v], sg.dot(v, v), [V], ()),
        ("tensordot pairs", [x3, m], sg.tensordot(x3, m, axes=[[1, 2], [0, 1]]), [X3, M], (2,)),
        ("tensordot 1", [x3, m], sg.tensordot(x3, m.T, axes=1), [X3, M], (2, 3, 3)),
        ("matmul batched", [x3, m], sg.matmul(x3, m.T), [X3, M], (2, 3, 3)),
        ("matmul by a vector", [x3, v], sg.matmul(x3, v[:4]), [X3, V], (2, 3)),
        ("outer", [v, m], sg.outer(v, m), [V, M], (5, 12)),
        ("batched_dot", [x3], sg.batched_dot(x3, x3.dimshuffle(0, 2, 1)), [X3], (2, 3, 3)),
        ("one_hot", [iv], sg.nn.one_hot(iv, 5), [np.array([1, 0, 4])], (3, 5)),
        ("cumsum flat", [m], sg.cumsum(m), [M], (12,)),
        ("sort", [m], sg.sort(m, axis=0), [M], (3, 4)),
    ]
    for kw in [dict(), dict(stride=2), dict(padding=1), dict(padding="same"), dict(dilation=2),
               dict(stride=(2, 3), padding=(1, 0)), dict(padding="same", stride=2)]:
        cases.append((f"conv2d {kw}", [t4, w4], sg.nn.conv2d(t4, w4, **kw), [IMAGES, FILTERS], None))
    for kw in [dict(kernel=2), dict(kernel=3, stride=2), dict(kernel=3, stride=1, padding=1), dict(kernel=(2, 3)),
               dict(kernel=3, stride=2, padding=1)]:
        cases.append((f"max_pool2d {kw}", [t4], sg.nn.max_pool2d(t4, **kw), [IMAGES], None))
        cases.append((f"avg_pool2d {kw}", [t4], sg.nn.avg_pool2d(t4, **kw), [IMAGES], None))
    for kw in [dict(), dict(stride=2), dict(stride=2, padding=1)]:
        cases.append((f"conv2d_transpose {kw}", [t4, wt], sg.nn.conv2d_transpose(t4, wt, **kw), [IMAGES, TRANSPOSED],
                      None))
    return cases


@pytest.mark.parametrize("known", [False, True], ids=["shapes unknown", "shapes known"])
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_values_symbolic_shapes_and_static_shapes_agree(backend, known):
    wrong = []
    for name, inputs, expr, values, want in _cases(known):
        value = np.asarray(sg.function(inputs, expr, backend=backend, on_unused_input="ignore")(*values))
        # (a function of the shape alone: beside the value the rewriter reads the value's shape)
        symbolic = sg.function(inputs, expr.shape, backend=backend, on_unused_input="ignore")(*values)
        static = expr.type.shape
        static_ok = len(static) == value.ndim and all(s is None or s == n for s, n in zip(static, value.shape))
        if tuple(symbolic) != value.shape or not static_ok or (want is not None and value.shape != want):
            wrong.append(f"{name}: value {value.shape}, symbolic {tuple(symbolic)}, static {static}, NumPy {want}")
    assert not wrong, "\n".join(wrong)
