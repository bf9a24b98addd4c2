"""glibc's heap set so that large arrays come back from it instead of fresh pages.

glibc's malloc maps each block of at least its mmap threshold (128 KiB at the start) afresh from
the kernel and unmaps it when freed, so every such NumPy array is new pages, mapped and zeroed at
its first write. The threshold rises by itself to the size of a mapped block once one is freed,
and with it the trim threshold (twice it: the free memory the heap keeps at its top), so a
process runs in one of two states, decided by the order of its first large frees: one where a
training step's arrays are reused from the heap, and one where each call maps and faults them
in again. Measured (2 cores, numba 0.65.1, glibc 2.36): the conv-pool-conv-pool-dense step of
benchmarks/conv.py 7.3 ms in one process state and 10.6-10.8 ms in the other, the same code;
with the thresholds below set at import, 7.3 ms in every process. (That state was the "slow
process" earlier sessions' figures noted.)

The values are those glibc's own adjustment reaches after freeing a block of 32 MiB: blocks up
to 32 MiB (glibc's largest threshold) from the heap, up to 64 MiB of free memory kept at its top.
Set once, on Linux with glibc, unless SYMGRAPH_TUNE_HEAP=0 or the user tuned malloc already
(MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_ or GLIBC_TUNABLES naming glibc.malloc).
"""
import ctypes
import os
import platform

MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 64 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)

_tuned = None


def tune():
    """Set the thresholds (once per process); True if they are set."""
    global _tuned
    if _tuned is None:
        _tuned = _wanted() and _set()
    return _tuned


def _wanted():
    if os.environ.get("SYMGRAPH_TUNE_HEAP", "1").lower() in ("0", "false", "no"):
        return False
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    if "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    return platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def _set():
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # (mallopt returns 1 on success; setting the mmap threshold ends glibc's own adjustment)
    return mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
