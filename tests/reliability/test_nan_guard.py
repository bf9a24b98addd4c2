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
