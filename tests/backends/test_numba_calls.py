"""numba_calls: the math functions kernels call give the bits of their inline definitions
(over each one's whole range, NaN, inf and signed zeros included), LLVM inlines each into a
loop, which then vectorizes, and generated kernels call them rather than inline them."""
import inspect
import re

import numpy as np
import pytest

from symgraph.backends import numba_calls, numba_codegen, numba_special, numba_vecmath
from tests.conftest import elementwise_loop


def _definition(name):
    return getattr(numba_vecmath, name, None) or getattr(numba_special, name)


def _arity(name):
    return len(inspect.signature(_definition(name).py_func).parameters)


def _inputs(dtype, rng):
    big = 88.0 if dtype == "float32" else 700.0
    values = np.concatenate([np.linspace(-big, big, 20_001), rng.normal(0, 3, 20_000),
                             np.geomspace(1e-30, 1, 2_000), -np.geomspace(1e-30, 1, 2_000),
                             [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 1e30, -1e30]])
    return values.astype(dtype)


@pytest.mark.parametrize("name", numba_calls.NAMES)
@pytest.mark.exhaustive
def test_called_gives_the_inline_definitions_bits(name, rng):
    dtype = "float64" if name.endswith("64") else "float32"
    arity = _arity(name)
    a = _inputs(dtype, rng)
    b = rng.permutation(a)
    called, inlined = np.empty_like(a), np.empty_like(a)
    arguments = (a,) if arity == 1 else (a, b)
    elementwise_loop(getattr(numba_calls, name), arity)(*arguments, called)
    elementwise_loop(_definition(name), arity)(*arguments, inlined)
    assert np.array_equal(called.view(f"u{a.itemsize}"), inlined.view(f"u{a.itemsize}"))


@pytest.mark.parametrize("name", numba_calls.NAMES)
def test_llvm_inlines_each_called_function_into_a_loop_which_then_vectorizes(name):
    dtype = "float64" if name.endswith("64") else "float32"
    arity = _arity(name)
    apply = elementwise_loop(getattr(numba_calls, name), arity)
    a = np.ones(64, dtype)
    apply(*[a] * arity, np.empty_like(a))
    module = next(iter(apply.inspect_llvm().values()))
    loop = module[module.index("define"):]
    loop = loop[:loop.index("\n}\n")]  # the loop's own function, the first one defined
    assert not [callee for callee in re.findall(r"call [^@]*@\"?([\w.$]+)", loop) if name in callee]
    assert re.search(r"<(4|8|16) x (float|double)>", loop)


def test_a_generated_kernel_calls_them(tmp_path, monkeypatch):
    monkeypatch.setattr(numba_codegen.config, "cache_dir", str(tmp_path))
    # A source no other test compiles (its comment), so this process compiles it here.
    kernel = numba_codegen.compile_source(f"""# {tmp_path}
@njit(cache=True, error_model='numpy')
def kernel(x, out):
    for i in range(x.shape[0]):
        out[i] = tanh64(x[i]) + inlined.exp64(x[i])
""")
    x = np.linspace(-3, 3, 7)
    out = np.empty_like(x)
    kernel(x, out)
    np.testing.assert_allclose(out, np.tanh(x) + np.exp(x), rtol=1e-15)
    # A called function's code is linked into the kernel's library; an inlined one's is not.
    compiled = next(iter(kernel.dispatcher.overloads.values()))
    linked = {library.name for library in compiled.library._linking_libraries}
    assert "tanh64" in linked and "exp64" not in linked


# Vector divisions per vector of values in each function's loop (vdivpd is the slowest AVX-512
# instruction, 16 cycles for 8 float64): a select between two ranges that each divide must
# divide once, on operands selected first; cbrt64 iterates without dividing.
_DIVISIONS = {"tanh64": 1, "tan64": 1, "erf64": 1, "sigmoid64": 1, "exp64": 0, "cbrt64": 0,
              "atan64": 2, "asin64": 2, "acos64": 2, "asinh64": 3}


@pytest.mark.parametrize("name", sorted(_DIVISIONS))
def test_float64_loops_divide_once_per_range_chosen_not_per_range(name):
    apply = elementwise_loop(_definition(name))
    a = np.ones(64)
    apply(a, np.empty_like(a))
    module = next(iter(apply.inspect_llvm().values()))
    loop = module[module.index("define"):]
    loop = loop[:loop.index("\n}\n")]
    vectors = len(re.findall(r"load <\d+ x double>", loop))  # one per vector of values read
    assert vectors >= 1
    assert len(re.findall(r"fdiv [^<\n]*<\d+ x double>", loop)) == _DIVISIONS[name] * vectors
