"""numba_elsewhere: kernels compiled by a child process into numba's disk cache, loaded here.
(The whole-step program's use of it is tested in test_numba_program.py.)"""
import time

import numpy as np

import symgraph as sg
from symgraph.backends import numba_codegen, numba_elsewhere
from tests.backends.test_numba_rows import row_thunks


def test_what_a_child_cannot_rebuild_or_compile_is_left_to_this_process():
    x = np.zeros((3, 4), "float32")
    assert [d[2] for d in numba_elsewhere.describe([x, x.T, x[:, ::2]])] == [(16, 4), (4, 16), (16, 8)]
    assert numba_elsewhere.describe([x[::-1]]) is None  # (a negative stride)
    assert numba_elsewhere.describe([np.zeros(3, complex)]) is None
    assert numba_elsewhere.compile_in_child("not a kernel", [], [x]) is False


def test_row_loops_not_in_the_disk_cache_compile_in_one_child_while_numpy_runs(monkeypatch, tmp_path, rng):
    """The calls go on with NumPy's reference while one child process compiles a step's row
    loops into numba's disk cache; then each loop is loaded from it, not compiled here."""
    monkeypatch.setattr(numba_elsewhere, "IN_BACKGROUND", True)
    monkeypatch.setattr(sg.config, "cache_dir", str(tmp_path))  # nothing compiled there yet
    monkeypatch.setattr(numba_elsewhere, "_jobs", {})
    monkeypatch.setattr(numba_codegen, "_memory_cache", {})  # (nor in this process)
    children, real = [], numba_elsewhere._run_child
    monkeypatch.setattr(numba_elsewhere, "_run_child", lambda kernels, *rest: children.append(len(kernels))
                        or real(kernels, *rest))
    x, t = sg.tensor("x", "float64", (None, None)), sg.lvector("t")
    cost = sg.nn.categorical_crossentropy(sg.nn.softmax(x), t).mean()
    f = sg.function([x, t], [cost, sg.grad(cost, x)], backend="numba")
    g = sg.function([x, t], [cost, sg.grad(cost, x)], backend="numpy")
    xv, tv = rng.normal(size=(20, 6)), rng.integers(0, 6, 20)
    thunks = row_thunks(f)
    assert sorted(th.kind for th in thunks) == ["crossentropy_int", "crossentropy_int_grad"]
    start = time.perf_counter()
    while not all(th.job is not None and th.job.done for th in thunks):
        for got, want in zip(f(xv, tv), g(xv, tv)):  # NumPy's meanwhile, the same values
            np.testing.assert_allclose(got, want, rtol=1e-12)
        assert not any(th.kernels for th in thunks if not th.job.done)  # (not done now: not during the call)
        assert time.perf_counter() - start < 240
    assert all(th.job.ok for th in thunks) and children == [2]  # both loops in one child
    for got, want in zip(f(xv, tv), g(xv, tv)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    for th in thunks:
        loop = th.kernels[False]  # (numba's dispatcher, after a first call)
        assert sum(loop.stats.cache_hits.values()) == 1 and not loop.stats.cache_misses
