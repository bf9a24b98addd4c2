import functools
import os
import re

# The CUDA backend's tests run in numba's simulator unless a GPU run asks otherwise
# (NUMBA_ENABLE_CUDASIM=0 on a machine with a GPU). numba reads this when first imported.
os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

import numpy as np
import pytest

import symgraph as sg


@pytest.hookimpl(tryfirst=True)  # (before `-m "not slow"` deselects)
def pytest_collection_modifyitems(items):
    """An `exhaustive` test's parameter sets after its first are marked `slow`: `make test`
    compiles one variant of each such kernel path, `make test-slow` (and CI) the others. Each
    variant compiles kernels of its own, which is most of the suite's time on a cold cache."""
    seen = set()
    for item in items:
        if item.get_closest_marker("exhaustive") is None:
            continue
        key = (item.module.__name__, getattr(item, "originalname", item.name))
        if key in seen:
            item.add_marker(pytest.mark.slow)
        seen.add(key)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def programs_compile_in_this_process(monkeypatch):
    """Whole-step programs compile in a thread of this process (numba_program.IN_CHILD), not
    in a child process: the suite's workers already use every core. Tests of the child turn
    it on."""
    from symgraph.backends import numba_program
    monkeypatch.setattr(numba_program, "IN_CHILD", False)


@pytest.fixture
def ours_only(monkeypatch):
    """Kernels spell every function with numba_vecmath's and numba_special's forms, none with
    NumPy's SVML (numba_svml, taken where the CPU has AVX-512): for tests of those forms and of
    the range-checked sin/cos/tan, which SVML's make unnecessary where it has them."""
    from symgraph.backends import numba_codegen
    monkeypatch.setattr(numba_codegen, "VECTOR_FORMS", numba_codegen.OWN_FORMS)


@pytest.fixture(autouse=True)
def blas_notes_forgotten(monkeypatch):
    """Each test starts with no product noted on BLAS's threads and no work on numba's (as a
    fresh process does): backends/blas.py keeps those notes for 0.2 s, longer than many tests."""
    from symgraph.backends import blas
    monkeypatch.setattr(blas, "_threads_busy_until", 0.0)
    monkeypatch.setattr(blas, "_numba_threads_until", 0.0)
    monkeypatch.setattr(blas, "_numba_work", 0)


def run(inputs, outputs, *values, **kw):
    """Compile on the reference backend and call."""
    return sg.function(inputs, outputs, backend=kw.pop("backend", "numpy"), **kw)(*values)


def _lock_simulated_shared_arrays():
    """numba's CUDA simulator (0.65) hands out a block's shared array with an unlocked
    check-then-set (kernelapi.FakeCUDAShared.array): two threads of one block can each create
    their own array, and a GEMM tile or a reduction tree then mixes them. It showed as rare,
    unreproducible failures of the GEMM and reduction tests (more with fast_simulator's short
    switch interval). This is the same allocation under a lock. It must not wrap the original:
    the simulator keys allocations by the calling line, two frames up."""
    import sys
    import threading
    import traceback
    from numba.core import types
    from numba.np import numpy_support
    from numba.cuda.simulator import kernelapi
    unlocked = kernelapi.FakeCUDAShared.array
    lock = threading.Lock()

    def array(self, shape, dtype):
        if shape == 0:  # dynamic shared memory: one buffer, no race
            return unlocked(self, shape, dtype)
        if isinstance(dtype, types.Type):
            dtype = numpy_support.as_dtype(dtype)
        caller = traceback.extract_stack(sys._getframe())[-2][0:2]
        with lock:
            res = self._allocations.get(caller)
            if res is None:
                res = self._allocations[caller] = np.empty(shape, dtype)
        return res
    kernelapi.FakeCUDAShared.array = array


if os.environ["NUMBA_ENABLE_CUDASIM"] == "1":
    _lock_simulated_shared_arrays()


@pytest.fixture(scope="module")
def fast_simulator():
    """numba's CUDA simulator runs each GPU thread as a Python thread and waits at every
    barrier; switching threads often makes it 4-5x quicker (a test-speed setting only)."""
    import sys
    before = sys.getswitchinterval()
    sys.setswitchinterval(5e-5)
    yield
    sys.setswitchinterval(before)


def own_asm(kernel):
    """The assembly of a compiled numba function's own code (not numba's wrapper of it or the
    functions compiled beside it)."""
    asm = "".join(kernel.inspect_asm().values())
    functions = re.findall(r"\.type\s+([^,\n]+),@function\n(.*?)\.Lfunc_end", asm, flags=re.S)
    (own,) = [body for name, body in functions
              if f"{kernel.py_func.__name__}B" in name and not name.startswith(("_ZN7cpython", "cfunc."))]
    return own


@pytest.fixture
def folds_apart(monkeypatch):
    """Reductions of the same arrays compiled as a node each, not in one loop (numba_siblings):
    for tests of one node's own thunk."""
    from symgraph.backends import numba_siblings
    monkeypatch.setattr(numba_siblings, "sibling_groups", lambda nodes: {})


def executor_globals(f):
    """The names of a compiled numba function's node-by-node program (its thunks t0, t1...),
    whether or not the whole-program tier wraps it (backends/numba_program.py)."""
    return getattr(f._run, "run", f._run).__globals__


@functools.lru_cache(maxsize=None)
def elementwise_loop(fn, arity=1):
    """A compiled loop out[i] = fn(a[i]), called apply(a, out), or out[i] = fn(a[i], b[i]),
    called apply(a, b, out), with the generated kernels' error model (a float division by zero
    gives inf: log1p(-1) divides 0 by 0 on the way). One loop a function and arity in a process:
    test_numba_calls, test_vecmath and test_numba_special loop over the same functions, and each
    loop compiled again cost ~0.25 s."""
    from numba import njit
    if arity == 1:
        @njit(error_model="numpy")
        def apply(a, out):
            for i in range(a.shape[0]):
                out[i] = fn(a[i])
    else:
        @njit(error_model="numpy")
        def apply(a, b, out):
            for i in range(a.shape[0]):
                out[i] = fn(a[i], b[i])
    return apply


def compiles_in_a_fresh_process_without_np_empty(cache_dir, code, expected):
    """Run `code` in a new Python process with empty caches under `cache_dir` (symgraph's
    kernels, and numba's for symgraph's own @njit(cache=True) functions: NUMBA_CACHE_DIR),
    watching what numba compiles: something from a module named like `expected` (compiled,
    not loaded), and nothing of numba's array module. A loop that allocates with np.empty has
    every fresh process compile numba's own np.empty first (numba.np.arrayobj, 0.15-0.2 s);
    symgraph's loops take their scratch from the caller or the stack. Returns what `code` printed last."""
    import subprocess
    import sys
    script = ("import sys\n"
              "import numpy as np\n"
              "import symgraph as sg\n"
              "from numba.core import event\n"
              "sg.config.cache_dir = sys.argv[1]\n"
              "compiled = []\n"
              "class Watch(event.Listener):\n"
              "    def on_start(self, ev):\n"
              "        compiled.append(ev.data['dispatcher'].py_func.__module__)\n"
              "    def on_end(self, ev):\n"
              "        pass\n"
              "event.register('numba:compile', Watch())\n"
              + code +
              "\nprint(' '.join(compiled))\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=os.path.join(str(cache_dir), "numba"))
    done = subprocess.run([sys.executable, "-c", script, str(cache_dir)], capture_output=True, text=True, check=True,
                          env=env)
    *printed, compiled = done.stdout.strip().split("\n")
    compiled = compiled.split()
    assert [m for m in compiled if expected in m], compiled
    assert not [m for m in compiled if m.startswith("numba.np")], compiled
    return printed[-1] if printed else ""
