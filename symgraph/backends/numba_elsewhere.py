"""Compile generated kernels in a child Python process, so that numba's disk cache holds them
and this process only loads them: numba_program's whole-step programs, and the row loops a new
function will call at its second call (numba_cpu.RowThunk), compiled during its first.

Numba's compiler is Python: compiling in a background thread holds the interpreter most of
the time, and the thread still calling the function waits for it at every kernel or BLAS call
(they let go of it). Measured: a 120 us training step took 0.3-4 ms a call for the 4 s its
program compiled in a thread. A child process compiles on another core while the calls go on
(77-148 us a call, NumPy by hand 102); this process then loads the machine code from the disk
cache. A child still compiling when this process exits is stopped (_stop_children).

The child sees what numba keys its cache by: the same CPU name and features (numba's codegen
"magic tuple"), the same kernel folder (config.cache_dir), the same source file, and
arguments of the same numba types (dtype, dimensions, layout, read-only), rebuilt as zeros
with the same strides. Anything it cannot rebuild, or a child that fails or takes longer
than TIMEOUT_SECONDS, leaves the compiling to this process, as before.
"""
import atexit
import json
import os
import subprocess
import sys
import threading

import numpy as np

from ..config import config

TIMEOUT_SECONDS = 300

_CHILD = """
import json, sys
import numpy as np
spec = json.loads(sys.stdin.read())
sys.path[:0] = spec["path"]
import numba
from symgraph.backends.numba_codegen import compile_source
from symgraph.backends.numba_rows import row_kernel
for kind, dtype, short in spec["rows"]:
    row_kernel(kind, dtype, False, short)
for source, described in spec["jobs"]:
    args = []
    for dtype, shape, strides, writeable in described:
        dtype = np.dtype(dtype)
        extent = sum((n - 1) * s for n, s in zip(shape, strides)) + dtype.itemsize if all(shape) else dtype.itemsize
        base = np.zeros(extent // dtype.itemsize + 1, dtype)
        args.append(numba.typeof(np.lib.stride_tricks.as_strided(base, shape, strides, writeable=writeable)))
    compile_source(source).dispatcher.compile(tuple(args))
"""


def describe(values):
    """What the child needs to rebuild each value's numba type, or None if it cannot."""
    described = []
    for v in values:
        if type(v) is not np.ndarray or v.dtype.kind not in "biuf" or any(s < 0 for s in v.strides) \
                or any(s % v.itemsize for s in v.strides) or not v.flags.aligned:
            return None
        described.append((v.dtype.str, v.shape, v.strides, bool(v.flags.writeable)))
    return described


def compile_in_child(source, rows, values):
    """Compile `source`'s kernel for these values' types in a child process (its row kernels
    `rows`, (kind, dtype, short) as numba_rows.row_kernel takes them, loaded first), leaving
    it in numba's disk cache. True if the child succeeded."""
    described = describe(values)
    if described is None:
        return False
    with _ONE_CHILD:
        return _run_child([(source, described)], rows, config.cache_dir)


class _Batch:
    """Kernels one child compiles (start_in_child): (source, described) jobs, whether the
    child has started, and an Event set once it is done."""

    def __init__(self, jobs, folder):
        self.jobs, self.folder, self.started, self.done = jobs, folder, False, threading.Event()

    def run(self):
        try:
            with _ONE_CHILD:
                with _STATE:
                    self.started = True
                if self.jobs:
                    _run_child(self.jobs, [], self.folder)
        finally:
            self.done.set()


def start_in_child(jobs):
    """Compile each (source, values) of `jobs` for those values' types in one child process,
    started now in the background: a function's row loops, compiled while its first call runs
    (numba_cpu.PREFETCH_ROWS). compile_source waits for the child before loading such a source."""
    folder = config.cache_dir
    described = [(source, describe(values)) for source, values in jobs if (folder, source) not in _pending]
    batch = _Batch([(source, d) for source, d in described if d is not None], folder)
    if not batch.jobs:
        return
    for source, _ in batch.jobs:
        _pending[folder, source] = batch
    threading.Thread(target=batch.run, name="symgraph compile child", daemon=True).start()


def wait_for(source):
    """Return once no child started by start_in_child is compiling `source` (it wrote it to the
    disk cache, failed, or ran past TIMEOUT_SECONDS). One still waiting for another child (a
    whole-step program's, seconds long) is not waited for: it leaves `source` to this process."""
    batch = _pending.get((config.cache_dir, source))
    if batch is None:
        return
    with _STATE:
        if not batch.started:
            batch.jobs = [job for job in batch.jobs if job[0] != source]
            del _pending[config.cache_dir, source]
            return
    batch.done.wait(TIMEOUT_SECONDS)


def _run_child(jobs, rows, folder):
    from numba.core.registry import cpu_target
    _, cpu_name, features = cpu_target.target_context.codegen().magic_tuple()
    env = dict(os.environ, NUMBA_CPU_NAME=cpu_name, NUMBA_CPU_FEATURES=features,
               SYMGRAPH_CACHE_DIR=folder, PYTHONDONTWRITEBYTECODE="")
    spec = {"jobs": jobs, "rows": [list(r) for r in rows], "path": [p for p in sys.path if isinstance(p, str)]}
    try:
        child = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=env, text=True)
    except OSError:
        return False
    _running.add(child)
    try:
        child.communicate(json.dumps(spec), timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
    finally:
        _running.discard(child)
    return child.returncode == 0


@atexit.register
def _stop_children():
    """A child still compiling when this process exits is stopped: left running, it took a core
    from whatever ran next (the warm half of compile_time.py measured 0.94-1.10 s instead of
    0.69-0.83). Numba writes a cache entry by renaming a finished file: none is left half
    written."""
    for child in list(_running):
        child.kill()


_pending = {}  # (cache folder, kernel source) -> the _Batch compiling it
_running = set()  # child processes (Popen) now compiling
_STATE = threading.Lock()  # (a batch's start, against wait_for taking a source back)
# One child at a time (two functions' programs): on two cores, two children and the calls
# they run beside slowed the calls 3-5x; one child leaves a core to them.
_ONE_CHILD = threading.Lock()
