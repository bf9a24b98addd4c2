"""numba_target: 512-bit vectors preferred on AVX-512 CPUs that do not throttle for them, and
nothing changed where the user chose numba's CPU settings or opted out; numba started without
importing SciPy's linear algebra, which np.dot inside compiled code still finds; kernels loaded
from the disk cache without numba's registry refresh (which a later compile still does); the
cycle collector held off while numba compiles."""
import gc
import os
import subprocess
import sys

import llvmlite.binding as llvm
import numpy as np
import pytest
from numba import njit
from numba.core import event

import symgraph as sg
from symgraph.backends.numba_target import wide_vector_features

HOST_FEATURES = llvm.get_host_cpu_features().flatten()


def test_wide_vectors_only_with_avx512_and_not_on_skylake_sp():
    """(and gathers not preferred there: test_numba_cpu's strided copy)"""
    assert wide_vector_features("sapphirerapids", "+avx2,+avx512f,+fma") == \
        "+avx2,+avx512f,+fma,-prefer-256-bit,+prefer-no-gather"
    assert wide_vector_features("znver3", "+avx2,-avx512f,+fma") is None
    assert wide_vector_features("skylake-avx512", "+avx2,+avx512f") is None


def _features_numba_uses(**env):
    code = ("import symgraph.backends.numba_vecmath\n"
            "from numba.core import registry\n"
            "print(registry.cpu_target.target_context.codegen()._tm_features)")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_CPU", "SYMGRAPH_VECTOR"))}
    environment.update(env)
    return subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.mark.skipif("+avx512f" not in HOST_FEATURES.split(","), reason="the CPU has no AVX-512")
def test_the_backend_sets_numbas_features_before_compiling_and_respects_opt_outs():
    if wide_vector_features(llvm.get_host_cpu_name(), HOST_FEATURES) is not None:
        assert _features_numba_uses().endswith("-prefer-256-bit,+prefer-no-gather")
    assert "prefer-256-bit" not in _features_numba_uses(SYMGRAPH_VECTOR_WIDTH="256")
    assert _features_numba_uses(NUMBA_CPU_FEATURES=HOST_FEATURES) == HOST_FEATURES


def test_powers_of_two_scale_by_vscalef_only_where_numba_compiles_for_avx512():
    code = ("from symgraph.backends import numba_vecmath as vm\n"
            "print(vm.times_pow2_32.py_func.__name__, vm.times_pow2_64.py_func.__name__)")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_CPU", "SYMGRAPH_VECTOR"))}

    def chosen(**env):
        return subprocess.run([sys.executable, "-c", code], env=dict(environment, **env), capture_output=True,
                              text=True, check=True).stdout.split()
    factors = ["_scaled_by_factors32", "_scaled_by_factors64"]
    vectorizes_ldexp = llvm.llvm_version_info[0] >= 22  # (LLVM 20 left each ldexp a scalar call)
    scalef = ["_scaled_by_ldexp"] * 2 if vectorizes_ldexp else factors
    assert chosen() == (scalef if "+avx512f" in HOST_FEATURES.split(",") else factors)
    assert chosen(NUMBA_CPU_NAME="generic") == factors
    assert chosen(NUMBA_CPU_NAME="x86-64-v4", NUMBA_CPU_FEATURES="+avx2,+fma,+avx512f") == scalef


def test_numba_starts_without_scipy_linalg_and_np_dot_still_compiles(tmp_path):
    code = ("import sys, numpy as np, symgraph as sg\n"
            "x = sg.matrix('x')\n"
            "f = sg.function([x], sg.exp(x).sum(), backend='numba')\n"
            "f(np.ones((3, 4), 'float32'))\n"
            "print('scipy.linalg' in sys.modules)\n"
            "from numba import njit\n"
            "dot = njit(lambda a, b: np.dot(a, b))\n"
            "a = np.arange(6.0).reshape(2, 3)\n"
            "print(np.array_equal(dot(a, a.T), a @ a.T), 'scipy.linalg' in sys.modules)")
    environment = dict(os.environ, SYMGRAPH_CACHE_DIR=str(tmp_path))
    lines = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True,
                           check=True).stdout.split()
    assert lines == ["False", "True", "True"]


_CACHED_RUN = """
import sys, numpy as np, symgraph as sg
from numba.core import cpu
from numba.core import entrypoints
from numba.core.runtime import nrtdynmod
refreshes, runtimes = [], []
real_refresh = cpu.CPUContext.refresh
cpu.CPUContext.refresh = lambda self: (refreshes.append(1), real_refresh(self))[1]
real_runtime = nrtdynmod.create_nrt_module
nrtdynmod.create_nrt_module = lambda ctx: (runtimes.append(1), real_runtime(ctx))[1]
x = sg.matrix('x')
w, b = np.ones((10, 3), 'float32'), np.arange(3, dtype='float32')
layer = sg.dot(x, sg.shared(w, 'w')) + sg.shared(b, 'b')  # (a Gemm: its bias by numba_kernels.add_row)
f = sg.function([x], [sg.exp(x) * 2, sg.nn.softmax(x), layer], backend='numba')
a = np.linspace(-3, 3, 50, dtype='float32').reshape(5, 10)
e, s, d = f(a)
print(np.allclose(e, np.exp(a) * 2, rtol=1e-6), np.allclose(s, np.exp(a) / np.exp(a).sum(1, keepdims=True), rtol=1e-6)
      and np.allclose(d, a @ w + b, rtol=1e-6, atol=1e-6))
print(len(refreshes), 'numba.np.arraymath' in sys.modules or 'numba.np.arrayobj' in sys.modules,
      'numpy.ma' in sys.modules, len(runtimes),
      entrypoints._already_initialized)
from numba import njit
print(njit(lambda v: np.empty(3)[:0].size + v.sum())(np.ones(4)), len(refreshes) > 0)
"""


@pytest.mark.slow  # (fresh processes or a second compiler: CI runs it in make test-slow)
def test_a_cached_kernel_loads_without_numbas_refresh_and_compiles_still_refresh(tmp_path):
    environment = dict(os.environ, SYMGRAPH_CACHE_DIR=str(tmp_path))

    def run():
        return subprocess.run([sys.executable, "-c", _CACHED_RUN], env=environment, capture_output=True,
                              text=True, check=True).stdout.split()
    first = run()  # compiles (numba refreshes for that)
    assert first[:2] == ["True", "True"] and int(first[2]) > 0 and first[3] == "True" and first[5:7] == ["1", "True"]
    # Loaded from the cache: the results are right (numba's runtime started: without it the
    # kernels' reference counting crashed the process), and no refresh ran (nor numba's NumPy
    # support was imported, nor numpy.ma by numba's typeof, nor numba's extensions looked
    # for) until a new function compiled; the runtime's functions were not compiled but
    # loaded, and link into that new function.
    assert run() == ["True", "True", "0", "False", "False", "0", "False", "4.0", "True"]
    for damaged in (tmp_path / "numba_runtime").iterdir():
        damaged.write_bytes(b"not a pickle")
    assert run()[:6] == ["True", "True", "0", "False", "False", "1"]  # (compiled again)
    assert run()[5] == "0"  # (and saved again)


_TRAINING_STEPS = """
import sys, numpy as np, symgraph as sg
from numba.core import cpu
refreshes = []
real_refresh = cpu.CPUContext.refresh
cpu.CPUContext.refresh = lambda self: (refreshes.append(1), real_refresh(self))[1]
rng = np.random.default_rng(0)
results = []
# An SGD step of a small MLP (its weights' updates: numba_kernels.add_scaled; its biases:
# add_row), a logistic regression's (numba_matvec's product on numba's threads), a convnet's
# (pooling, im2col) with dropout's draws (numba_random).
x, y = sg.fmatrix('x'), sg.ivector('y')
w1 = sg.shared((rng.standard_normal((64, 32)) * 0.1).astype('float32'), 'w1')
b1 = sg.shared(np.zeros(32, 'float32'), 'b1')
w2 = sg.shared((rng.standard_normal((32, 10)) * 0.1).astype('float32'), 'w2')
b2 = sg.shared(np.zeros(10, 'float32'), 'b2')
h = sg.nn.relu(sg.dot(x, w1) + b1)
cost = sg.nn.categorical_crossentropy(sg.nn.softmax(sg.dot(h, w2) + b2), y).mean()
params = [w1, b1, w2, b2]
mlp = sg.function([x, y], cost, updates=[(p, p - 0.1 * g) for p, g in zip(params, sg.grad(cost, params))])
results.append(mlp(rng.random((32, 64), dtype='float32'), rng.integers(0, 10, 32).astype('int32')))
v = sg.shared(np.zeros(784, 'float32'), 'v')
t = sg.fvector('t')
loss = sg.nn.binary_crossentropy(sg.nn.sigmoid(sg.dot(x, v)), t).mean()
logistic = sg.function([x, t], loss, updates=[(v, v - 0.1 * sg.grad(loss, v))])
results.append(logistic(rng.random((400, 784), dtype='float32'), (rng.random(400) > 0.5).astype('float32')))
images = sg.ftensor4('images')
f = sg.shared((rng.standard_normal((4, 1, 3, 3)) * 0.1).astype('float32'), 'f')
features = sg.nn.max_pool2d(sg.nn.relu(sg.nn.conv2d(images, f, padding=1)), 2)
dropped = sg.nn.dropout(features, 0.5, sg.random.RandomStreams(1))
score = (dropped ** 2).mean()
conv = sg.function([images], score, updates=[(f, f - 0.1 * sg.grad(score, f))])
results.append(conv(rng.random((8, 1, 12, 12), dtype='float32')))
print(' '.join(f'{float(r):.6f}' for r in results), len(refreshes), 'numba.np.arraymath' in sys.modules)
"""


@pytest.mark.slow  # (fresh processes: CI runs it in make test-slow)
def test_training_steps_load_their_hand_written_kernels_without_numbas_refresh(tmp_path):
    """A warm start of an SGD step, a logistic regression's and a convnet's loads every kernel
    without numba's registry refresh (numba_target.load_kernels_without_refresh): the first
    hand-written kernel loaded the ordinary way set it off, and SciPy's import with it (an SGD
    MLP step's warm start 0.66 s, 0.35 without)."""
    environment = dict(os.environ, SYMGRAPH_CACHE_DIR=str(tmp_path))

    def run():
        return subprocess.run([sys.executable, "-c", _TRAINING_STEPS], env=environment, capture_output=True,
                              text=True, check=True).stdout.split()
    first, second = run(), run()
    assert second[:3] == first[:3]  # (the same losses)
    assert second[3:] == ["0", "False"]


def test_every_cached_kernel_of_the_backend_loads_without_numbas_refresh():
    """Every numba function with cache=True in the CPU backend's modules (those not inlined into
    others) is set to load without numba's registry refresh: serial_and_parallel's, and each
    module's own through load_kernels_without_refresh at its end. A new module's kernels
    left out would set the refresh and SciPy's import off again in a warm start (numba_blocks'
    transposes and numba_taps' convolutions had been)."""
    import importlib
    import pkgutil
    from numba.core.dispatcher import Dispatcher
    import symgraph.backends as backends
    plain, seen = [], 0
    for info in pkgutil.iter_modules(backends.__path__):
        if not info.name.startswith("numba_") or "cuda" in info.name:
            continue
        module = importlib.import_module(f"symgraph.backends.{info.name}")
        for name, value in vars(module).items():
            if (isinstance(value, Dispatcher) and hasattr(value._cache, "_load_overload")
                    and value.targetoptions.get("inline") != "always"):
                seen += 1
                if "load_overload" not in vars(value._cache):  # (load_without_refresh sets it)
                    plain.append(f"{info.name}.{name}")
    assert seen > 30 and plain == []


def test_numba_types_arrays_as_before_without_importing_numpy_ma():
    from numba import typeof, types
    from numba.core.errors import NumbaTypeError, NumbaValueError
    from symgraph.backends import numba_target
    numba_target.typeof_without_numpy_ma()  # (again: as numba_target's import did)
    plain = np.zeros((2, 3), "float32")
    readonly = np.arange(4.0)
    readonly.flags.writeable = False
    assert typeof(plain) == types.Array(types.float32, 2, "C")
    assert typeof(plain.T) == types.Array(types.float32, 2, "F")
    assert typeof(np.zeros(6, "int16")[::2]) == types.Array(types.int16, 1, "A")
    assert typeof(readonly) == types.Array(types.float64, 1, "C", readonly=True)
    assert typeof(np.zeros((), "bool")) == types.Array(types.boolean, 0, "C")

    class Tagged(np.ndarray):
        pass
    assert typeof(plain.view(Tagged)) == types.Array(types.float32, 2, "C")  # (numba's own function)
    with pytest.raises(NumbaTypeError, match="MaskedArray"):
        typeof(np.ma.masked_array([1.0, 2.0]))
    with pytest.raises(NumbaValueError, match="dtype"):
        typeof(np.zeros(2, dtype=[("a", "O")]))


def test_the_collector_is_held_off_while_numba_compiles():
    seen = []

    class Watch(event.Listener):  # registered after symgraph's: its start runs first, its end last
        def on_start(self, _):
            seen.append(gc.isenabled())

        def on_end(self, _):
            pass
    watch = Watch()
    event.register("numba:compile", watch)
    try:
        assert gc.isenabled()
        assert njit(lambda v: v * 3 + 1)(2.0) == 7.0
    finally:
        event.unregister("numba:compile", watch)
    assert seen and not any(seen)
    assert gc.isenabled()


def test_kernels_and_the_math_they_call_compile_without_a_c_wrapper(monkeypatch, tmp_path):
    """kernel_jit: numba builds no C-callable wrapper ("cfunc." and the function's name) for a
    generated kernel nor for the math function it calls, and the kernel still runs."""
    from symgraph.backends import numba_calls, numba_codegen

    monkeypatch.setattr(sg.config, "cache_dir", str(tmp_path))
    kernel = numba_codegen.compile_source(
        "@njit(cache=True, error_model='numpy', nogil=True)\n"
        "def kernel(out, a):\n"
        "    for i in range(out.shape[0]):\n"
        "        out[i] = cbrt64(a[i]) + 1\n").dispatcher
    out = np.empty(3)
    kernel(out, np.array([8.0, -27.0, 0.0]))
    assert out.tolist() == [3.0, -2.0, 1.0]
    for dispatcher in (kernel, numba_calls.cbrt64):
        (overload,) = dispatcher.overloads.values()
        names = [f.name for f in llvm.parse_assembly(overload.library.get_llvm_str()).functions]
        assert any(name.startswith("_ZN7cpython") for name in names)  # (called from Python all the same)
        assert not any(name.startswith("cfunc.") for name in names), names
