"""Theano's function profiling: sg.function(..., profile=True), f.profile.summary()."""
import io

import numpy as np
import pytest

import symgraph as sg


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_profiled_function_times_each_node_and_prints_theanos_tables(backend):
    x = sg.fmatrix("x")
    W = sg.shared(np.ones((6, 3), "float32"), "W")
    cost = sg.tanh(sg.dot(x, W)).sum()
    step = sg.function([x], cost, updates=[(W, W - 0.1 * sg.grad(cost, W))], backend=backend, profile=True,
                       name="one step")
    plain = sg.function([x], cost, backend=backend)
    assert plain.profile is None
    data = np.linspace(-1, 1, 24, dtype="float32").reshape(4, 6)
    for _ in range(4):
        before = plain(data)
        np.testing.assert_allclose(step(data), before, rtol=1e-5, atol=1e-6)
    assert plain(data) < before  # (each step's update ran)
    step(data)
    stats = step.profile
    assert stats.calls == 4 and stats.first_call_seconds > 0  # (the first call apart: it compiles)
    assert len(stats.node_seconds) == len(step.fgraph.apply_nodes) and min(stats.node_seconds) >= 0
    assert 0 < sum(stats.node_seconds) <= stats.call_seconds
    by_class = {name: (seconds, count) for seconds, count, name in stats.by_class()}
    assert sum(count for _, count in by_class.values()) == len(stats.nodes)
    assert abs(sum(seconds for seconds, _ in by_class.values()) - sum(stats.node_seconds)) < 1e-9
    printed = io.StringIO()
    stats.summary(file=printed, n_apply_to_print=3)
    text = printed.getvalue()
    for heading in ("Message: one step", "Time in 4 later calls", "Class\n", "Ops\n", "Apply\n", "tanh"):
        assert heading in text, (heading, text)
    assert text.split("Apply\n")[1].count("%  ") == 3 * 2  # (three nodes: their two percentages each)


def test_config_profile_profiles_every_function_and_the_numba_program_is_off(monkeypatch):
    monkeypatch.setattr(sg.config, "profile", True)
    x = sg.fvector("x")
    f = sg.function([x], (x * 2 + 1).sum(), backend="numba")
    assert f.profile is not None and type(f._run).__name__ != "TieredRunner"
    for _ in range(3):
        assert f(np.ones(4, "float32")) == 12
    assert f.profile.calls == 2
