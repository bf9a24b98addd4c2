"""10,000 calls of a training step keep the process's memory flat."""
import gc

import numpy as np
import pytest

import symgraph as sg
from symgraph.backends import numba_program


def _rss_kib():
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    import resource
    return pages * resource.getpagesize() // 1024


@pytest.mark.slow  # (7-28 s cold; the quick tier ran 12 minutes cold: its parts stay tested there, CI runs both)
def test_ten_thousand_training_steps_do_not_grow_memory(monkeypatch):
    monkeypatch.setattr(numba_program, "BACKGROUND", False)
    monkeypatch.setattr(numba_program, "TRIAL_CALLS", 0)  # (kept at once, not timed first)
    rng = np.random.default_rng(0)
    x, y = sg.fmatrix("x"), sg.ivector("y")
    W = sg.shared(rng.normal(size=(20, 5)).astype("float32") * 0.1, "W")
    b = sg.shared(np.zeros(5, "float32"), "b")
    cost = sg.nn.categorical_crossentropy(sg.nn.softmax(sg.dot(x, W) + b), y).mean()
    opt = sg.optimizers.Adam(lr=1e-3)
    step = sg.function([x, y], cost, updates=opt.updates(cost, [W, b]))
    xv, yv = rng.normal(size=(32, 20)).astype("float32"), rng.integers(0, 5, 32).astype("int32")
    for _ in range(500):  # warm up: kernels, caches, allocator pools
        step(xv, yv)
    # ...and the whole-step program numba_program compiles for a hot loop (a one-time cost).
    step._run.compile(numba_program.signature([xv, yv, *[s.get_value() for s in step.shared]]), [xv, yv] +
                      [s.get_value() for s in step.shared])
    for _ in range(500):
        step(xv, yv)
    assert any(p is not None for p in step._run.programs.values()), step._run.why_not
    gc.collect()
    before = _rss_kib()
    for _ in range(10_000):
        step(xv, yv)
    gc.collect()
    grown = _rss_kib() - before
    assert grown < 2048, f"resident memory grew by {grown} KiB over 10,000 calls"
