"""nan_guard: stop at the first node that produces NaN or Inf and report it with the user's
source line."""
import numpy as np
import pytest

import symgraph as sg


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_reports_the_first_offending_node_and_its_line(backend):
    x = sg.dvector("x")
    safe = x * 2
    bad = sg.log(safe - 3)  # NaN for x < 1.5
    out = sg.exp(bad) + 1
    f = sg.function([x], out, backend=backend, nan_guard=True, optimize=False)
    np.testing.assert_allclose(f(np.array([2.0, 3.0])), np.exp(np.log(np.array([1.0, 3.0]))) + 1)
    with pytest.raises(sg.NonFiniteError) as err:
        f(np.array([2.0, 1.0]))
    message = str(err.value)
    assert "Elemwise{log}" in message and "NaN" in message and "index (1,)" in message
    assert "test_nan_guard.py:13" in message  # the line that wrote sg.log(...)


def test_off_by_default_and_config_switch(monkeypatch):
    x = sg.dvector("x")
    assert np.isnan(sg.function([x], sg.log(x))(np.array([-1.0]))).all()
    monkeypatch.setattr(sg.config, "nan_guard", True)
    with pytest.raises(sg.NonFiniteError, match="Inf"):
        sg.function([x], 1 / x)(np.array([0.0]))


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_a_nan_in_a_weights_update_leaves_every_weight_as_it_was(backend):
    """The updates w - lr * dot(a, b) accumulate into the weights (rewrite/memory.py), last in
    the call; with nan_guard the check after such a node would come after the write, so
    nan_guard computes them as new arrays: a NaN found there changes no weight."""
    w1 = sg.shared(np.ones((3, 2)), "w1")
    w2 = sg.shared(np.ones((4, 2)), "w2")
    a, b, c = sg.dmatrix("a"), sg.dmatrix("b"), sg.dmatrix("c")
    updates = [(w1, w1 - 0.5 * sg.dot(a.T, b)), (w2, w2 - 0.5 * sg.dot(c.T, b))]
    f = sg.function([a, b, c], [], updates=updates, backend=backend, nan_guard=True)
    ones = np.ones((5, 2))
    huge = np.full((5, 4), 1e308)  # finite, but the product overflows: the gemm makes the Inf
    with pytest.raises(sg.NonFiniteError, match="Gemm"):
        f(np.ones((5, 3)), ones, huge)
    np.testing.assert_array_equal(w1.get_value(), np.ones((3, 2)))
    np.testing.assert_array_equal(w2.get_value(), np.ones((4, 2)))
    f(np.ones((5, 3)), ones, np.ones((5, 4)))
    np.testing.assert_allclose(w1.get_value(), np.ones((3, 2)) - 2.5)
