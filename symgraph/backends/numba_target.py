"""Let LLVM use 512-bit vectors on CPUs with AVX-512 (before Numba compiles anything).

LLVM tunes recent Intel CPUs to prefer 256-bit vectors even where they have AVX-512 (the
frequency drop of wide vectors on early AVX-512 chips); numba inherits that, so a loop of
float32 exponentials used 8 lanes where the CPU has 16 and NumPy's own SIMD math uses 16.
Lifting the preference made a float32 exp loop 1.4-1.7x faster on a Sapphire Rapids VM
(benchmarks/README.md). The setting is numba's (`NUMBA_CPU_FEATURES`): the host's features
plus "-prefer-256-bit". It must be made before numba creates its CPU target, which the first
`@njit` decoration does, so the numba backend's modules call `prefer_wide_vectors()` first.

Left alone: a user's own NUMBA_CPU_NAME/NUMBA_CPU_FEATURES, CPUs without AVX-512, the
Skylake-SP family (whose clock does drop on 512-bit work), SYMGRAPH_VECTOR_WIDTH=256 (opt out),
and a process where numba has compiled before symgraph was imported (its CPU target already
exists; the next process gets the wide vectors).
"""
import os

# Skylake-SP and its refreshes lower their clock for 512-bit vector work; keep LLVM's choice.
_THROTTLING_CPUS = {"skylake-avx512", "cascadelake", "cooperlake"}


def wide_vector_features(cpu_name, features):
    """numba's CPU feature string with 512-bit vectors preferred, or None to keep numba's."""
    if "+avx512f" not in features.split(",") or cpu_name in _THROTTLING_CPUS:
        return None
    return features + ",-prefer-256-bit"


def prefer_wide_vectors():
    from numba.core import config as numba_config, registry
    if (os.environ.get("SYMGRAPH_VECTOR_WIDTH") == "256" or numba_config.CPU_NAME is not None
            or numba_config.CPU_FEATURES is not None
            or "_toplevel_target_context" in vars(registry.cpu_target)):  # numba has compiled
        return
    import llvmlite.binding as llvm
    features = wide_vector_features(llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten())
    if features is not None:
        numba_config.CPU_FEATURES = features


prefer_wide_vectors()
