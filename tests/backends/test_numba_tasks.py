"""in_tasks (numba_tasks): a serial function's tasks on numba's threads, and the kernels whose
prange loops numba_outline turns into such tasks."""
import os
import subprocess
import sys

import numba
import numpy as np
import pytest
from numba import njit

from symgraph.backends.numba_tasks import in_tasks


@njit(nogil=True)
def _mark(seen, threads, scale, task_id):
    seen[task_id] += 1
    threads[task_id] = numba.get_thread_id()
    return np.int64(task_id * scale)


@njit
def _run_marked(seen, threads, scale, n):
    return in_tasks(_mark, (seen, threads, scale), n)


def test_every_task_runs_once_and_their_counts_add_up():
    for n in (0, 1, 5, 64, 1000):
        seen, threads = np.zeros(n, np.int64), np.full(n, -1, np.int64)
        assert _run_marked(seen, threads, 3, n) == 3 * n * (n - 1) // 2
        assert (seen == 1).all()
    assert not _run_marked.targetoptions.get("parallel")  # (the caller is compiled serially)


@pytest.mark.skipif(numba.get_num_threads() < 2, reason="numba has one thread")
def test_the_tasks_run_on_numbas_threads():
    seen, threads = np.zeros(64, np.int64), np.full(64, -1, np.int64)
    _run_marked(seen, threads, 0, 64)
    if numba.threading_layer() in ("omp", "workqueue"):  # (static schedules: each thread gets a run)
        assert len(set(threads.tolist())) == numba.get_num_threads()
    else:  # (tbb's may leave a thread idle)
        assert threads.min() >= 0


@njit
def _allocates(size, task_id):
    return np.int64(np.empty(size, np.float64).shape[0] * 0)


@njit
def _run_allocating(size, n):
    return in_tasks(_allocates, (size,), n)


@njit
def _refuses(bad, task_id):
    if task_id == bad:
        raise ZeroDivisionError("task", task_id, "refused")  # (arguments known only at run time)
    return np.int64(1)


@njit
def _run_refusing(bad, n):
    return in_tasks(_refuses, (bad,), n)


def test_a_task_that_fails_makes_the_call_raise_its_exception():
    """After every task ran, the call raises what the failing task raised, as the serial call
    would: numba's ValueError for an array too large to allocate, a raise's own exception and
    arguments (it had been one MemoryError for any failure)."""
    assert _run_allocating(10, 4) == 0
    with pytest.raises(ValueError, match="array is too big"):
        _run_allocating(1 << 62, 4)
    assert _run_refusing(-1, 8) == 8
    for bad in (0, 5):
        with pytest.raises(ZeroDivisionError) as raised:
            _run_refusing(bad, 8)
        assert raised.value.args == ("task", bad, "refused")


_LOADED = """
import numpy as np
import symgraph as sg
from symgraph.backends import numba_codegen
x = sg.fmatrix("x")
f = sg.function([x], [sg.exp(x).sum(axis=0), (x > 1).any(), sg.tanh(x) * 2], backend="numba")
v = np.random.default_rng(0).normal(size=(2000, 400)).astype("float32")
total, found, y = f(v)
np.testing.assert_allclose(total, np.exp(v).sum(axis=0), rtol=1e-5)
assert found and np.allclose(y, np.tanh(v) * 2, rtol=1e-6, atol=1e-6)
kernels = [k for k in numba_codegen._memory_cache.values()]
print(sum(sum(k.dispatcher.stats.cache_hits.values()) for k in kernels), len(kernels))
"""


@pytest.mark.slow  # (fresh processes or a second compiler: CI runs it in make test-slow)
def test_kernels_of_tasks_load_from_numbas_disk_cache_and_run(tmp_path):
    """A kernel loaded from the disk cache holds run_tasks' code without run_tasks' dispatcher,
    which would have started numba's threads: run before they were, the first such loaded
    kernel crashed the process (the kernel's library starts them now, as a parfor's does)."""
    env = {**os.environ, "SYMGRAPH_CACHE_DIR": str(tmp_path), "SYMGRAPH_COMPILE_HELPER": "0"}
    runs = [subprocess.run([sys.executable, "-c", _LOADED], env=env, capture_output=True, text=True)
            for _ in range(2)]
    assert [run.returncode for run in runs] == [0, 0], runs[-1].stderr[-2000:]
    hits, kernels = map(int, runs[1].stdout.split())
    assert kernels >= 3 and hits == kernels  # (the second process compiled nothing)
