"""numba_elsewhere: a kernel compiled by a child process into numba's disk cache, loaded here
(the whole-step programs' use of it: test_numba_program.py)."""
import subprocess
import sys
import time

import numpy as np
import pytest

from symgraph.backends import blas, numba_elsewhere


def test_what_a_child_cannot_rebuild_or_compile_is_left_to_this_process():
    x = np.zeros((3, 4), "float32")
    assert [d[2] for d in numba_elsewhere.describe([x, x.T, x[:, ::2]])] == [(16, 4), (4, 16), (16, 8)]
    assert numba_elsewhere.describe([x[::-1]]) is None  # (a negative stride)
    assert numba_elsewhere.describe([np.zeros(3, complex)]) is None
    assert numba_elsewhere.compile_in_child("not a kernel", [], [x]) is False


def test_a_child_still_compiling_when_this_process_exits_is_stopped(tmp_path):
    """(numba_elsewhere._stop_children) Not left to take a core from whatever runs next."""
    script = (
        "import sys, threading, time\n"
        "import numpy as np\n"
        "import symgraph as sg\n"
        "from symgraph.backends import numba_elsewhere\n"
        "from symgraph.backends.numba_rows import row_source\n"
        "sg.config.cache_dir = sys.argv[1]\n"
        "x = np.zeros((2, 3), 'float32')\n"
        "source = row_source('softmax', 'float32', False, True)\n"
        "threading.Thread(target=numba_elsewhere.compile_in_child, args=(source, [], [x, x]), daemon=True).start()\n"
        "while not numba_elsewhere._running:\n"
        "    time.sleep(0.01)\n"
        "child = next(iter(numba_elsewhere._running))\n"
        "print(child.pid, child.poll() is None)\n")  # (still compiling as this process exits)
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=True)
    pid, running = done.stdout.split()[-2:]
    assert running == "True"
    pid = int(pid)
    time.sleep(0.2)
    try:  # gone, or a zombie nobody reaped (a container's first process may not)
        with open(f"/proc/{pid}/stat") as fh:
            assert fh.read().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        pass


def test_numpys_openblas_runs_one_thread_while_a_child_compiles(monkeypatch):
    """Its threads spinning beside the child on two cores slowed the calls going on 2-4x."""
    context = blas.numpy_one_thread()
    if context is None:
        pytest.skip("NumPy's BLAS is not an OpenBLAS whose threads can be set")
    seen = []
    real_popen = subprocess.Popen

    def popen(*args, **kwargs):
        seen.append(context.get())
        return real_popen(*args, **kwargs)
    monkeypatch.setattr(numba_elsewhere.subprocess, "Popen", popen)
    before = context.get()
    context.set(2)
    try:
        assert numba_elsewhere.compile_in_child("not a kernel", [], [np.zeros(3)]) is False
        assert seen == [1] and context.get() == 2
    finally:
        context.set(before)
