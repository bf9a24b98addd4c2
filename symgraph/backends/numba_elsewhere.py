"""Compile generated kernels in a child Python process, so that numba's disk cache holds them
and this process only loads them: numba_program's whole-step programs (compile_in_child) and
the row loops of numba_cpu.RowThunk, whose calls run NumPy's reference meanwhile (compiling).

Numba's compiler is Python: compiling in a background thread holds the interpreter most of
the time, and the thread still calling the function waits for it at every kernel or BLAS call
(they let go of it). Measured: a 120 us training step took 0.3-4 ms a call for the 4 s its
program compiled in a thread; and compiling in the calling thread stops the calls (a step's
two softmax-crossentropy loops: 2-4 s at its second call). A child process compiles on
another core while the calls go on (77-148 us a call, NumPy by hand 102); this process then
loads the machine code from the disk cache. A child still compiling when this process exits
finishes, and its kernels are in the cache for the next run.

The child sees what numba keys its cache by: the same CPU name and features (numba's codegen
"magic tuple"), the same kernel folder (config.cache_dir), the same source file, and
arguments of the same numba types (dtype, dimensions, layout, read-only), rebuilt as zeros
with the same strides. Anything it cannot rebuild, or a child that fails or takes longer
than TIMEOUT_SECONDS, leaves the compiling to this process, as before.
"""
import json
import os
import subprocess
import sys
import threading
import time

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
for kind, dtype in spec["rows"]:
    row_kernel(kind, dtype, False)
for source, described in spec["kernels"]:
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
    `rows`, (kind, dtype) pairs, loaded first: any a child is compiling now, once it has),
    leaving it in numba's disk cache. True if the child succeeded."""
    from .numba_rows import row_source
    for kind, dtype in rows:  # a row loop a child compiles now is loaded, not compiled again
        job = _jobs.get(row_source(kind, dtype, False))
        if job is not None:
            job.finished.wait(TIMEOUT_SECONDS)
    return _run_child([(source, values)], rows)


def _run_child(kernels, rows=()):
    """One child compiling every (source, values) in `kernels`; True if it succeeded."""
    described = [describe(values) for _, values in kernels]
    if any(d is None for d in described):
        return False
    from numba.core.registry import cpu_target
    _, cpu_name, features = cpu_target.target_context.codegen().magic_tuple()
    env = dict(os.environ, NUMBA_CPU_NAME=cpu_name, NUMBA_CPU_FEATURES=features,
               SYMGRAPH_CACHE_DIR=config.cache_dir, PYTHONDONTWRITEBYTECODE="")
    spec = {"kernels": [[source, d] for (source, _), d in zip(kernels, described)],
            "rows": [list(r) for r in rows], "path": [p for p in sys.path if isinstance(p, str)]}
    try:
        with _ONE_CHILD:
            done = subprocess.run([sys.executable, "-c", _CHILD], input=json.dumps(spec), env=env, text=True,
                                  capture_output=True, timeout=TIMEOUT_SECONDS)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


# One child at a time: on two cores, two children and the calls they run beside slowed the
# calls 3-5x; one child leaves a core to them.
_ONE_CHILD = threading.Lock()


# Thunks with a NumPy reference (numba_cpu.RowThunk) may run it while a child compiles their
# kernel, instead of stopping the calls for the compile (two softmax-crossentropy loops: 4 s
# at a training step's second call). Off in tests that need the kernel from the second call.
IN_BACKGROUND = True
# The kernels asked for within this many seconds go to one child (a step's softmax
# crossentropy and its gradient: one start of Python and numba, ~1.5 s here, not two).
GATHER_SECONDS = 0.1


class Job:
    """A kernel waiting for, or being compiled by, a child: `done` once the child has
    finished (`ok`: it succeeded, and numba's disk cache holds the kernel)."""

    def __init__(self, source, values):
        self.source, self.values = source, values
        self.done = self.ok = False
        self.finished = threading.Event()


_jobs = {}  # source -> Job: one per kernel, whichever thunks wait for it
_waiting = []  # jobs no child has taken yet
_jobs_lock = threading.Lock()


def compiling(source, values):
    """The Job compiling `source`'s kernel for these values' types in a child (asked for by
    the first caller), or None where kernels are not compiled in the background."""
    if not IN_BACKGROUND:
        return None
    with _jobs_lock:
        job = _jobs.get(source)
        if job is None:
            job = _jobs[source] = Job(source, values)
            _waiting.append(job)
            if len(_waiting) == 1:  # no thread is gathering jobs: start one
                threading.Thread(target=_compile_waiting, daemon=True, name="symgraph kernel compile").start()
        return job


def _compile_waiting():
    time.sleep(GATHER_SECONDS)
    with _jobs_lock:
        batch = list(_waiting)
        _waiting.clear()
    ok = False
    try:
        ok = _run_child([(job.source, job.values) for job in batch])
    finally:
        for job in batch:
            job.ok, job.done = ok, True
            job.finished.set()
