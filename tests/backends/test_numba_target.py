"""numba_target: 512-bit vectors preferred on AVX-512 CPUs that do not throttle for them, and
nothing changed where the user chose numba's CPU settings or opted out; numba started without
importing SciPy's linear algebra, which np.dot inside compiled code still finds."""
import os
import subprocess
import sys

import llvmlite.binding as llvm
import pytest

from symgraph.backends.numba_target import wide_vector_features

HOST_FEATURES = llvm.get_host_cpu_features().flatten()


def test_wide_vectors_only_with_avx512_and_not_on_skylake_sp():
    assert wide_vector_features("sapphirerapids", "+avx2,+avx512f,+fma") == "+avx2,+avx512f,+fma,-prefer-256-bit"
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
        assert _features_numba_uses().endswith("-prefer-256-bit")
    assert "prefer-256-bit" not in _features_numba_uses(SYMGRAPH_VECTOR_WIDTH="256")
    assert _features_numba_uses(NUMBA_CPU_FEATURES=HOST_FEATURES) == HOST_FEATURES


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
