"""outline_pranges: a parallel kernel's prange loops as tasks of serial functions (numba_outline)."""
import inspect

import numpy as np
import pytest

import symgraph as sg
from symgraph.backends import numba_codegen
from symgraph.backends.numba_outline import TASKS, outline_pranges

_SOURCE = """
@njit(cache=True, parallel=True, error_model='numpy')
def kernel(out, a, scale):
    n = out.shape[0]
    shift = np.float64(1.5)
    nbig = 0
    for k in prange(n):
        acc = np.float64(0)
        for j in range(a.shape[1]):
            acc += a[k, j] * scale + shift
        out[k] = acc
        nbig += np.int64(acc > 0)
    total = out.sum()
    for c in prange(min(3, n)):
        out[c] += total * 0
    return nbig
"""


def _compiled(source, tmp_path, monkeypatch):
    monkeypatch.setattr(numba_codegen.config, "cache_dir", str(tmp_path))
    return numba_codegen.compile_source(f"# {tmp_path}\n" + source).dispatcher


def test_each_loop_becomes_a_serial_function_of_the_names_it_reads():
    text = outline_pranges(_SOURCE)
    assert "prange" not in text and "parallel=True" not in text
    # the loop's own names (acc, j) stay its own; what it reads before the loop is passed; the
    # count is the function's return, added up by in_tasks
    assert "def body0(a, out, scale, shift, task_n, task_per, task_id):" in text
    assert "    nbig = 0\n    for k in range(task_id * task_per, min(task_n, (task_id + 1) * task_per)):" in text
    assert "    return np.int64(nbig)" in text
    assert f"per_t0 = (n_t0 + {TASKS - 1}) // {TASKS}" in text
    assert "nbig += in_tasks(body0, (a, out, scale, shift, n_t0, per_t0), (n_t0 + per_t0 - 1) // per_t0)" in text
    assert "def body1(out, total, task_n, task_per, task_id):" in text and "    return np.int64(0)" in text
    assert "    total = out.sum()\n" in text.split("def kernel")[1]  # (between the loops, as it was)
    assert outline_pranges(_SOURCE.replace("parallel=True", "parallel=False")) == _SOURCE.replace(
        "parallel=True", "parallel=False")


@pytest.mark.parametrize("rows", [0, 1, 5, 64, 65, 1000])
def test_the_tasks_give_the_loops_values(rows, tmp_path, monkeypatch):
    kernel = _compiled(_SOURCE, tmp_path, monkeypatch)
    assert kernel.targetoptions["parallel"] is False and "in_tasks(body0" in inspect.getsource(kernel.py_func)
    a = np.random.default_rng(rows).normal(size=(rows, 7))
    out = np.empty(rows)
    want = (a * 2.0 + 1.5).sum(axis=1)
    assert kernel(out, a, 2.0) == np.sum(want > 0)
    np.testing.assert_allclose(out, want, rtol=1e-12)


def test_a_body_may_not_add_up_anything_but_a_count():
    with pytest.raises(AssertionError, match="count"):
        outline_pranges(_SOURCE.replace("nbig += np.int64(acc > 0)", "nbig *= 2"))


@pytest.mark.parametrize("kind, axis", [("sum", 0), ("sum", 1), ("max", 0), ("max", 1), ("any", None)])
def test_parallel_reductions_and_loops_compile_without_numbas_parallel_passes(kind, axis, rng):
    """Every kernel of a large reduction or loop is serial; its loops run as in_tasks' tasks."""
    x = sg.fmatrix("x")
    reduced = (x > 1).any() if kind == "any" else getattr(sg.exp(x), kind)(axis=axis)
    f = sg.function([x], [reduced, sg.tanh(x) * 2 + x[0:1, :]], backend="numba")
    xv = rng.normal(size=(600, 700)).astype("float32")
    got = f(xv)
    want = (xv > 1).any() if kind == "any" else getattr(np.exp(xv), kind)(axis=axis)
    np.testing.assert_allclose(got[0], want, rtol=2e-6)
    np.testing.assert_allclose(got[1], np.tanh(xv) * 2 + xv[0:1, :], rtol=2e-6, atol=1e-6)
    kernels = [k.dispatcher for k in numba_codegen._memory_cache.values() if hasattr(k.dispatcher, "targetoptions")]
    assert any("in_tasks(" in inspect.getsource(k.py_func) for k in kernels)
    assert not [k for k in kernels if k.targetoptions.get("parallel")]
