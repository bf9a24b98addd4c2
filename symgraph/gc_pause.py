"""Python's cycle collector held off while symgraph imports, builds a function and numba compiles.

Building a function and compiling its kernels allocates hundreds of thousands of objects that
stay alive (graphs, numba's typed IR and LLVM modules), and every so many allocations Python
runs a collection; the full ones walk every object the process holds, NumPy's and numba's
included. A fresh process building and running benchmarks/compile_time.py's MLP training step
spent 0.34-0.5 s of its 2.9-3.2 s in three full collections that freed little (0.13 s of 0.8
with numba's disk cache warm). While held, nothing is collected; after the outermost hold the
collector runs as Python schedules it. A process that turned the collector off keeps it off.
"""
import contextlib
import gc
import threading

_lock = threading.Lock()
_holds = 0
_resume = False  # whether the collector was on when the outermost hold began


def hold():
    global _holds, _resume
    with _lock:
        if _holds == 0:
            _resume = gc.isenabled()
            gc.disable()
        _holds += 1


def release():
    global _holds
    with _lock:
        if _holds == 0:  # unmatched: nothing to undo
            return
        _holds -= 1
        if _holds == 0 and _resume:
            gc.enable()


@contextlib.contextmanager
def held():
    """`with held():` runs its body with the collector off (nested holds are one hold)."""
    hold()
    try:
        yield
    finally:
        release()
