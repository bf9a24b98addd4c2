"""The math functions of numba_vecmath and numba_special as generated kernels call them:
each compiled once per process as a function of its own, which LLVM then inlines into the
calling loop and vectorizes there.

Their definitions are numba inline functions (inline="always"): numba copies a function's IR
into every call site and types and lowers it again there, nested helpers included. A fused
loop of tanh, sigmoid and exp (the fused chain of benchmarks/fused_chain.py, whose kernel has
a serial and a parallel loop) took 2.92-4.65 s to import, build, compile and run once in a
fresh process; calling these, 2.09-2.96 s, running as fast and giving the same bits.

Each is marked forceinline (LLVM's alwaysinline): left to its cost model, LLVM kept the call
to the larger ones (pow, asinh, acosh, sin64, logaddexp64) and their loops ran scalar
(abs(x)**y of float32 0.10x NumPy). The exception is a loop with a constant trip count
(numba_rows' blocks of 16 rows): LLVM unrolls it before the call's body is linked in, and 16
unrolled calls stay scalar (softmax of 512x10 float32 26 -> 72 us), so those loops have the
function's statements written out in their source (numba_source_inline).

A function numba compiles for a caller takes the caller's error model and fastmath setting, as
inlined it did; every kernel has error_model="numpy" (a float division by zero gives inf) and
the process's one fastmath setting. (error_model="numpy" is given here too, for calls from
Python: the tests'.)

Not cached on disk: numba's cache keys a function by its code, not its options, so these
would share entries with the inline definitions; a cached kernel holds their code anyway.
"""
from . import numba_special, numba_vecmath
from .numba_target import kernel_jit

VECMATH_NAMES = ["exp32", "log32", "log1p32", "tanh32", "sigmoid32", "sin32", "cos32", "tan32",
                 "exp64", "log64", "log1p64", "tanh64", "sigmoid64", "sin64", "cos64", "tan64",
                 "floor_divide32", "remainder32", "floor_divide64", "remainder64"]
NAMES = VECMATH_NAMES + list(numba_special.NAMES)


def _called(inline_definition):
    return kernel_jit(error_model="numpy", nogil=True, forceinline=True)(inline_definition.py_func)


globals().update({name: _called(getattr(numba_vecmath, name)) for name in VECMATH_NAMES})
globals().update({name: _called(getattr(numba_special, name)) for name in numba_special.NAMES})
