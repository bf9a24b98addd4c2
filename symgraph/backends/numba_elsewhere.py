"""Compile a generated kernel in a child Python process, so that numba's disk cache holds it
and this process only loads it (numba_program's whole-step programs).

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
import contextlib
import json
import os
import subprocess
import sys
import threading

import numpy as np

from ..config import config
from . import blas

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
args = []
for dtype, shape, strides, writeable in spec["args"]:
    dtype = np.dtype(dtype)
    extent = sum((n - 1) * s for n, s in zip(shape, strides)) + dtype.itemsize if all(shape) else dtype.itemsize
    base = np.zeros(extent // dtype.itemsize + 1, dtype)
    args.append(numba.typeof(np.lib.stride_tricks.as_strided(base, shape, strides, writeable=writeable)))
compile_source(spec["source"]).dispatcher.compile(tuple(args))
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
    from numba.core.registry import cpu_target
    _, cpu_name, features = cpu_target.target_context.codegen().magic_tuple()
    env = dict(os.environ, NUMBA_CPU_NAME=cpu_name, NUMBA_CPU_FEATURES=features,
               SYMGRAPH_CACHE_DIR=config.cache_dir, PYTHONDONTWRITEBYTECODE="")
    spec = {"source": source, "args": described, "rows": [list(r) for r in rows],
            "path": [p for p in sys.path if isinstance(p, str)]}
    # Meanwhile NumPy's OpenBLAS runs each product on one thread: its threads spinning beside
    # the child on two cores slowed an RNN's training step (outside products of 1600x16x64)
    # from 2.1 to 4-8 ms a call for the 10 s two children took; on one thread, 2.2 ms.
    with _ONE_CHILD, blas.numpy_one_thread() or contextlib.nullcontext():
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
    """A child still compiling when this process exits is stopped: left running, it takes a core
    from whatever runs next (a child compiling row loops, tried, slowed the next process's
    warm start in compile_time.py from 0.69-0.83 s to 0.94-1.10). Numba writes a cache entry by
    renaming a finished file: none is left half written."""
    for child in list(_running):
        child.kill()


_running = set()  # child processes (Popen) now compiling
# One child at a time (two functions' programs): on two cores, two children and the calls
# they run beside slowed the calls 3-5x; one child leaves a core to them.
_ONE_CHILD = threading.Lock()
