"""rewrite/lengths.py: lengths the graph proves equal, and the ones it must not claim."""
import numpy as np

import symgraph as sg
from symgraph.rewrite.lengths import length, same, same_length


def test_lengths_follow_shape_keeping_ops_to_their_source():
    x, y = sg.fmatrix("x"), sg.ivector("y")
    W = sg.shared(np.ones((3, 4), "float32"))
    z = sg.nn.log_softmax(sg.dot(x, W) + 1.0)
    assert length(z, 1) == 4  # static
    assert same_length(z, 0, x, 0)  # through log_softmax, the add and the product
    zeros = sg.zeros_like(x)
    assert same_length(sg.exp(zeros) * x, 0, x, 0)
    picked = z[sg.arange(y.shape[0]), y]
    assert same_length(picked, 0, y, 0)  # arange(len(y)) and y: len(y) values
    assert same_length(z.sum(axis=1, keepdims=True), 0, x, 0) and same_length(x.T, 1, x, 0)


def test_lengths_it_cannot_prove_stay_apart():
    x, y, v = sg.fmatrix("x"), sg.fmatrix("y"), sg.ivector("v")
    assert not same_length(x, 0, y, 0)
    assert not same_length(x + y, 0, x, 0)  # x may be one row broadcast against y
    assert not same(length(sg.arange(0, -3), 0), -3)  # arange(0, -3) is empty
    assert length(sg.arange(0, -3), 0) == 0
    assert not same_length(x[sg.arange(3), v], 0, v, 0)  # 3 and len(v) broadcast together


def test_arrays_of_one_broadcast_have_one_length():
    """x - y and whatever else x and y broadcast to (in any order, through more ops, and the
    shape computations of a gradient of it) have one length, which is neither x's nor y's; a
    third array makes another; a static length decides it."""
    x, y, z = sg.fmatrix("x"), sg.fmatrix("y"), sg.fmatrix("z")
    d = x - y
    for k in (0, 1):
        assert same_length(d, k, sg.exp(y * x) + 1.0, k) and same_length(d, k, sg.where(d > 0, d, x), k)
        assert not same_length(d, k, x, k) and not same_length(d, k, y, k) and not same_length(d, k, d + z, k)
    g = sg.grad(sg.where(abs(d) < 1, d * d, abs(d)).sum(), x)
    seed = [v for v in sg.graph.ancestors([g]) if v.owner is not None and type(v.owner.op).__name__ == "BroadcastTo"]
    assert seed and all(same_length(s, k, d, k) for s in seed for k in (0, 1))
    # (the broadcast shape as canonicalize writes it: where(a == 1, b, a) of the two lengths)
    n = x.shape[0]
    rows = sg.where(sg.eq(n, 1), y.shape[0], n)
    assert same_length(sg.zeros((rows, 3)), 0, d, 0) and not same_length(sg.zeros((rows, 3)), 0, x, 0)
    assert length(x + sg.tensor("w", "float32", (None, 5)), 1) == 5
    assert length(x + sg.tensor("r", "float32", (1, None)), 0) == length(x, 0)
