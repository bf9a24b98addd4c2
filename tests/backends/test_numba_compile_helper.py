"""numba_compile_helper: a first call that compiles several kernels forks a helper that
compiles the later ones into numba's disk cache, this process loading them; results the same
as the numpy backend's, whether the helper finishes, dies or hangs; nothing forked where it
is turned off. numba_target.lock_cache_saves: a cache save waits for another's."""
import fcntl
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from numba.core import event

import symgraph as sg
from symgraph.backends import numba_codegen, numba_compile_helper as helper_module

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or len(os.sched_getaffinity(0)) < 2,
                                reason="the helper is forked on Linux with two or more CPUs")


def _stop_the_running_helper():
    if helper_module._helper is not None:
        helper_module._helper.close()
        helper_module._helper = None


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """An empty cache dir, and a helper forked whatever else the machine runs (another test
    worker compiling would otherwise keep it from forking). A helper an earlier test's call
    forked and left running is stopped first: while it runs, this process forks no other (CI
    failed so once, on a machine where the other worker had finished and left a CPU free)."""
    _stop_the_running_helper()
    monkeypatch.setattr(sg.config, "cache_dir", str(tmp_path))
    monkeypatch.setattr(sg.config, "compile_helper", True)
    monkeypatch.setattr(helper_module, "_running_elsewhere", lambda: 0)
    monkeypatch.setattr(helper_module, "_failed", False)
    started = []
    start = helper_module._start

    def recording_start(dispatcher, frame):
        helper = start(dispatcher, frame)
        started.append(helper)
        return helper
    monkeypatch.setattr(helper_module, "_start", recording_start)
    yield started
    _stop_the_running_helper()


def _functions_with_new_kernels():
    """(numba's, numpy's) function of four loops no earlier test compiled (constants of their
    own), BLAS products between them."""
    c = [float(v) for v in np.random.default_rng(int.from_bytes(os.urandom(4), "little")).uniform(0.1, 0.9, 6)]
    x, w = sg.matrix("x"), sg.matrix("w")
    a = sg.tanh(x * c[0] + c[1])
    b = sg.nn.sigmoid(sg.dot(a, w) * c[2])
    d = sg.exp(-sg.dot(b, w) * c[3])
    outputs = [(d * c[4]).sum(axis=0), a * c[5] + b]  # (every loop's source has a constant of its own)
    return sg.function([x, w], outputs), sg.function([x, w], outputs, backend="numpy")


def _inputs():
    rng = np.random.default_rng(0)
    return rng.normal(size=(6, 5)).astype(np.float32), rng.normal(size=(5, 5)).astype(np.float32)


class _Compiles(event.Listener):
    """The generated kernels this process compiles (not those it loads from the disk cache)."""

    def __init__(self):
        self.kernels, self.depth = [], 0

    def on_start(self, ev):
        self.depth += 1
        dispatcher = (ev.data or {}).get("dispatcher")
        if self.depth == 1 and dispatcher is not None and dispatcher.py_func.__module__.startswith("symgraph_kernel"):
            self.kernels.append(dispatcher.py_func.__module__)

    def on_end(self, ev):
        self.depth -= 1


def _first_call_compiles(f):
    """(results, kernels compiled here, kernels made in the call)."""
    before = set(numba_codegen._memory_cache)
    compiles = _Compiles()
    with event.install_listener("numba:compile", compiles):
        results = f(*_inputs())
    made = [fn for key, fn in numba_codegen._memory_cache.items() if key not in before]
    return results, compiles.kernels, made


def _check(results, reference):
    for got, want in zip(results, reference(*_inputs())):
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6)


def test_the_helper_compiles_later_kernels_and_this_process_loads_them(fresh):
    f, reference = _functions_with_new_kernels()
    results, compiled_here, made = _first_call_compiles(f)
    assert len(fresh) == 1 and fresh[0] is not None  # one helper forked
    assert len(made) >= 4 and all(fn.dispatcher.overloads for fn in made)
    assert 1 <= len(compiled_here) < len(made)  # the first here, the last by the helper
    by_helper = _compiled_by(fresh[0])
    assert by_helper and not by_helper & set(compiled_here)  # each kernel compiled once
    assert by_helper | set(compiled_here) == {fn.dispatcher.py_func.__module__ for fn in made}
    _check(results, reference)
    np.testing.assert_array_equal(f(*_inputs())[0], results[0])


def _compiled_by(helper):
    """The kernels (modules) the helper reported compiled."""
    helper.close()  # (once it has exited: what it wrote read to the end)
    return {name.rsplit(".", 1)[0] for name in helper.done}


def test_a_helper_that_dies_leaves_every_compile_to_this_process(fresh, monkeypatch):
    monkeypatch.setattr(helper_module._Notes, "compile_and_exit", lambda self: os._exit(0))
    f, reference = _functions_with_new_kernels()
    results, compiled_here, made = _first_call_compiles(f)
    assert len(fresh) == 1 and fresh[0] is not None
    assert sorted(compiled_here) == sorted(fn.dispatcher.py_func.__module__ for fn in made)
    _check(results, reference)
    g, _ = _functions_with_new_kernels()
    g(*_inputs())
    assert len(fresh) == 1 and helper_module._failed  # no helper after one failed


def test_a_helper_that_hangs_is_killed_and_this_process_compiles(fresh, monkeypatch):
    def claim_all_then_hang(self):
        for dispatcher, _ in self.noted.values():
            helper_module._claim(self.folder, dispatcher)
        time.sleep(600)
    monkeypatch.setattr(helper_module._Notes, "compile_and_exit", claim_all_then_hang)
    monkeypatch.setattr(helper_module, "WAIT_SECONDS", 1.0)
    f, reference = _functions_with_new_kernels()
    results, compiled_here, made = _first_call_compiles(f)
    helper = fresh[0]
    assert helper is not None and helper.killed
    assert sorted(compiled_here) == sorted(fn.dispatcher.py_func.__module__ for fn in made)
    _check(results, reference)
    deadline = time.monotonic() + 10
    while not helper.exited and time.monotonic() < deadline:
        time.sleep(0.05)
    assert helper.exited


def test_no_helper_when_turned_off_or_with_nothing_after_the_kernel(fresh, monkeypatch):
    monkeypatch.setattr(sg.config, "compile_helper", False)
    f, _ = _functions_with_new_kernels()
    f(*_inputs())
    assert fresh == []
    monkeypatch.setattr(sg.config, "compile_helper", True)
    x = sg.vector("x")
    g = sg.function([x], sg.tanh(x * float(np.random.default_rng().uniform(1, 2))))  # one node, one kernel
    g(np.ones(3, np.float32))
    assert fresh == []


def test_kernels_a_helper_compiled_load_in_a_later_process(tmp_path):
    """A fresh process with the helper fills the cache; the next compiles nothing, and both
    compute what the numpy backend does."""
    code = (
        "import sys, numpy as np, symgraph as sg\n"
        "from numba.core import event\n"
        "from symgraph.backends import numba_compile_helper as h\n"
        "sg.config.cache_dir = sys.argv[1]\n"
        "h._running_elsewhere = lambda: 0\n"
        "started, start = [], h._start\n"
        "h._start = lambda dispatcher, frame: started.append(1) or start(dispatcher, frame)\n"
        "count = []\n"
        "class L(event.Listener):\n"
        "    def on_start(self, ev): count.append(1)\n"
        "    def on_end(self, ev): pass\n"
        "event.register('numba:compile', L())\n"
        "x, w = sg.matrix('x'), sg.matrix('w')\n"
        "a = sg.tanh(x * 0.3 + 0.1)\n"
        "b = sg.nn.sigmoid(sg.dot(a, w) * 0.7)\n"
        "d = sg.exp(-sg.dot(b, w) * 0.2)\n"
        "outs = [(d * 0.5).sum(axis=0), a + b]\n"
        "rng = np.random.default_rng(0)\n"
        "xv, wv = rng.normal(size=(6, 5)).astype('float32'), rng.normal(size=(5, 5)).astype('float32')\n"
        "got = sg.function([x, w], outs)(xv, wv)\n"
        "want = sg.function([x, w], outs, backend='numpy')(xv, wv)\n"
        "ok = all(np.allclose(g, v, rtol=2e-6, atol=1e-6) for g, v in zip(got, want))\n"
        "print(ok, len(started), len(count))\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"))

    def run(kind):
        out = subprocess.run([sys.executable, "-c", code, str(tmp_path), kind], capture_output=True, text=True,
                             check=True, env=env, timeout=300)
        return out.stdout.split()
    ok, helpers, cold_compiles = run("cold")
    assert ok == "True" and helpers == "1" and int(cold_compiles) > 0
    ok, helpers, warm_compiles = run("warm")
    assert ok == "True" and helpers == "0" and warm_compiles == "0"


def test_a_process_busy_elsewhere_counts_and_leaves_no_cpu_on_two():
    """can_fork's look at the machine: a process spinning on a CPU is counted (runnable counts:
    on two CPUs beside a test worker it may wait its turn)."""
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        assert helper_module._running_elsewhere() >= 1
        if len(os.sched_getaffinity(0)) == 2:
            assert not helper_module.can_fork()
    finally:
        busy.kill()
        busy.wait()


def test_a_cache_save_waits_for_the_lock_another_holds(tmp_path):
    source = tmp_path / "lock_probe.py"
    source.write_text("from numba import njit\n\n@njit(cache=True)\ndef twice(a):\n    return a * 2\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import importlib
        probe = importlib.import_module("lock_probe")
    finally:
        sys.path.remove(str(tmp_path))
    probe.twice(1)  # (the index exists: its path is known)
    cache_file = probe.twice._cache._cache_file
    lock = os.open(cache_file._index_path + ".lock", os.O_CREAT | os.O_RDWR)
    fcntl.flock(lock, fcntl.LOCK_EX)
    thread = threading.Thread(target=probe.twice, args=(1.5,))  # a second signature: a save
    thread.start()
    time.sleep(0.5)
    assert len(cache_file._load_index()) == 1  # its save waits
    fcntl.flock(lock, fcntl.LOCK_UN)
    os.close(lock)
    thread.join(60)
    assert len(cache_file._load_index()) == 2


def test_a_fork_warning_from_another_librarys_hook_is_not_shown(tmp_path):
    """JAX registers an at-fork hook warning that a child using JAX may deadlock; the helper
    uses none, and a user importing JAX beside symgraph saw that warning at every cold first
    call (benchmarks/data_ops.py). The same hook here, in a fresh process with one helper."""
    code = (
        "import os, sys, warnings, numpy as np, symgraph as sg\n"
        "from symgraph.backends import numba_compile_helper as h\n"
        "sg.config.cache_dir = sys.argv[1]\n"
        "h._running_elsewhere = lambda: 0\n"
        "os.register_at_fork(before=lambda: warnings.warn('os.fork() was called. os.fork() is incompatible with "
        "multithreaded code, and JAX is multithreaded, so this will likely lead to a deadlock.', RuntimeWarning))\n"
        "started, start = [], h._start\n"
        "h._start = lambda dispatcher, frame: started.append(1) or start(dispatcher, frame)\n"
        "x, w = sg.matrix('x'), sg.matrix('w')\n"
        "a = sg.tanh(x * 0.3 + 0.25)\n"
        "b = sg.nn.sigmoid(sg.dot(a, w) * 0.7)\n"
        "d = sg.exp(-sg.dot(b, w) * 0.2)\n"
        "outs = [(d * 0.5).sum(axis=0), a + b]\n"
        "xv, wv = np.linspace(-2, 2, 30, dtype='float32').reshape(6, 5), np.eye(5, dtype='float32')\n"
        "got = sg.function([x, w], outs)(xv, wv)\n"
        "print(len(started))\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True,
                         env=env, timeout=300)
    assert out.stdout.split() == ["1"] and "os.fork() was called" not in out.stderr, out.stderr
