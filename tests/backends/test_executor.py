"""The shared executor (backends/executor.py): shape arithmetic worked out once per input
shapes, on every CPU backend."""
import numpy as np
import pytest

import symgraph as sg
from tests.conftest import executor_globals


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_shape_arithmetic_is_kept_per_input_shapes(backend, monkeypatch, rng):
    monkeypatch.setattr(sg.config, "whole_programs", False)
    x, y = sg.dmatrix("x"), sg.ivector("y")
    cost = -sg.log(sg.nn.softmax(x))[sg.arange(y.shape[0]), y].mean()  # 1/len(y) in its gradient
    f = sg.function([x, y], [cost, sg.grad(cost, x)], backend=backend)
    cache = executor_globals(f)["by_shape"]
    for n in (4, 8, 4):
        xv, yv = rng.normal(size=(n, 3)), rng.integers(0, 3, n).astype("int32")
        sm = np.exp(xv - xv.max(1, keepdims=True)); sm /= sm.sum(1, keepdims=True)
        loss, grad = f(xv, yv)
        np.testing.assert_allclose(loss, -np.log(sm[np.arange(n), yv]).mean(), rtol=1e-12)
        np.testing.assert_allclose(grad, (sm - np.eye(3)[yv]) / n, atol=1e-12)
    assert len(cache) == 2  # one entry per batch size


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_shape_arithmetic_errors_name_the_node_and_outputs_are_the_callers(backend):
    x = sg.dmatrix("x")
    step = x.shape[1] - 3
    f = sg.function([x], sg.arange(0, x.shape[0] * 2, step).sum() + x.sum(), backend=backend)
    with pytest.raises(Exception, match="ARange"):
        f(np.ones((2, 3)))  # a step of 0
    np.testing.assert_allclose(f(np.ones((2, 4))), (0 + 1 + 2 + 3) + 8)
    g = sg.function([x], [x.shape[0] * 2 + 1, x.sum() * (x.shape[1] - 1)], backend=backend)
    first, _ = g(np.ones((2, 3)))
    first[...] = 99  # the caller's to change: the next call is not affected
    np.testing.assert_array_equal(g(np.ones((2, 3)))[0], 5)
