"""not_inlined: a call LLVM keeps, and the parallel elementwise kernels' chunks called with it."""
import re

import numpy as np
from llvmlite.binding import llvm_version_info
from numba import njit

from symgraph.backends import numba_codegen
from symgraph.backends.numba_noinline import not_inlined


@njit
def _scaled_sum(a, scale):
    return a.sum() * scale


@njit
def _kept(a, scale):
    return not_inlined(_scaled_sum, (a, scale)) + 1.0


def _calls_to(function, ir_text):
    name = next(iter(function.overloads.values())).fndesc.mangled_name
    return re.findall(rf"call [^\n]*@\"?{re.escape(name)}\"?\(", ir_text)


def test_the_call_gives_the_functions_value_and_stays_a_call():
    assert _kept(np.arange(5.0), 2.0) == 21.0
    assert len(_calls_to(_scaled_sum, "".join(_kept.inspect_llvm().values()))) == 1


_CHUNKS = """
@njit(parallel=False, cache=True, error_model='numpy')
def part(out0, a0, lo, hi):
    for i in range(np.uint64(lo), np.uint64(hi)):
        out0[i] = np.float32(exp32(a0[i]))


@njit(parallel=True, cache=True, error_model='numpy')
def kernel(out0, a0):
    n = out0.shape[0]
    for task in prange((n + 4095) // 4096):
        CALL
"""


def test_a_parallel_kernel_calls_its_chunks_loop_as_a_function(tmp_path, monkeypatch):
    """Each chunk's loop stays a function of its own, where without not_inlined LLVM inlines
    it into the prange's loop (where its constants were loaded again in every iteration:
    numba_noinline's docstring)."""
    monkeypatch.setattr(numba_codegen.config, "cache_dir", str(tmp_path))  # (compiled here: inspectable)
    x = np.linspace(-5, 5, 10001, dtype=np.float32)
    calls = []
    for call in ("not_inlined(part, (out0, a0, task * 4096, min(n, (task + 1) * 4096)))",
                 "part(out0, a0, task * 4096, min(n, (task + 1) * 4096))"):
        kernel = numba_codegen.compile_source(f"# {tmp_path}" + _CHUNKS.replace("CALL", call)).dispatcher
        out = np.empty_like(x)
        kernel(out, x)
        np.testing.assert_allclose(out, np.exp(x), rtol=2e-7)
        code = "".join(kernel.inspect_llvm(signature) for signature in kernel.signatures)
        calls.append(len(_calls_to(kernel.py_func.__globals__["part"], code)))
    assert calls[0] == 1
    # The plain call is the control, that LLVM would inline the loop: LLVM 22 (numba 0.68's) does
    # on every machine seen, LLVM 20 (numba 0.62's to 0.65's) on an AMD Zen but not on an Intel
    # Xeon with AVX-512 (the floor's CI there kept the call), so it is checked on LLVM 21 on.
    if llvm_version_info[0] > 20:
        assert calls[1] == 0


def test_generated_parallel_loops_call_their_parts_so(rng):
    import symgraph as sg
    from tests.conftest import executor_globals
    x = sg.fvector("x")
    f = sg.function([x], sg.exp(x) * 2)
    xv = rng.standard_normal(10 ** 6).astype(np.float32)
    np.testing.assert_allclose(f(xv), np.exp(xv) * 2, rtol=1e-6)
    composite = executor_globals(f)["t0"].composite
    plain = numba_codegen._flat_source(composite, ("float32",), (False,), True)
    streamed = numba_codegen._flat_source(composite, ("float32",), (False,), True, stream=True)
    assert "not_inlined(part, (out0, a0, min(n, task * step), " in plain
    assert "not_inlined(streamed, (out0, a0, lo, mid))" in streamed
    assert "not_inlined(part, (out0, a0, mid, hi))" in streamed
