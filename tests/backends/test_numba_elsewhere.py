"""numba_elsewhere: a kernel compiled by a child process into numba's disk cache, loaded here
(the whole-step programs' use of it: test_numba_program.py)."""
import subprocess
import sys
import time

import numpy as np

import symgraph as sg
from symgraph.backends import numba_codegen, numba_elsewhere
from symgraph.backends.numba_codegen import is_cached
from symgraph.backends.numba_rows import row_source


def test_what_a_child_cannot_rebuild_or_compile_is_left_to_this_process():
    x = np.zeros((3, 4), "float32")
    assert [d[2] for d in numba_elsewhere.describe([x, x.T, x[:, ::2]])] == [(16, 4), (4, 16), (16, 8)]
    assert numba_elsewhere.describe([x[::-1]]) is None  # (a negative stride)
    assert numba_elsewhere.describe([np.zeros(3, complex)]) is None
    assert numba_elsewhere.compile_in_child("not a kernel", [], [x]) is False



def test_a_kernel_still_queued_behind_another_child_is_taken_back_not_waited_for(monkeypatch, tmp_path):
    """start_in_child's child waits its turn (one child at a time); wait_for does not wait for
    a child that has not started (a whole-step program's can take seconds): the source is
    left to this process and taken out of the child's list."""
    monkeypatch.setattr(sg.config, "cache_dir", str(tmp_path))
    monkeypatch.setattr(numba_codegen, "_memory_cache", {})  # (as a fresh process: nothing loaded)
    x = np.zeros((2, 3), "float32")
    sources = [row_source("softmax", "float32", False, True), row_source("log_softmax", "float32", False, True)]
    with numba_elsewhere._ONE_CHILD:  # (another child running)
        numba_elsewhere.start_in_child([(source, [x, x]) for source in sources])
        batch = numba_elsewhere._pending[str(tmp_path), sources[0]]
        start = time.perf_counter()
        numba_elsewhere.wait_for(sources[0])
        assert time.perf_counter() - start < 0.5
        assert [source for source, _ in batch.jobs] == sources[1:] and not batch.started
    while not batch.started and time.perf_counter() - start < 10:  # (its thread takes the lock)
        time.sleep(0.01)
    numba_elsewhere.wait_for(sources[1])  # started: waited for, and in the cache after
    assert batch.done.is_set() and is_cached(sources[1]) and not is_cached(sources[0])


def test_a_child_still_compiling_when_this_process_exits_is_stopped(tmp_path):
    script = (
        "import sys, time\n"
        "import numpy as np\n"
        "import symgraph as sg\n"
        "from symgraph.backends import numba_elsewhere\n"
        "from symgraph.backends.numba_rows import row_source\n"
        "sg.config.cache_dir = sys.argv[1]\n"
        "x = np.zeros((2, 3), 'float32')\n"
        "numba_elsewhere.start_in_child([(row_source('softmax', 'float32', False, True), [x, x])])\n"
        "while not numba_elsewhere._running:\n"
        "    time.sleep(0.01)\n"
        "print(next(iter(numba_elsewhere._running)).pid)\n")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=True)
    pid = int(done.stdout.split()[-1])
    time.sleep(0.2)
    try:  # gone, or a zombie nobody reaped (a container's first process may not)
        with open(f"/proc/{pid}/stat") as fh:
            assert fh.read().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        pass
