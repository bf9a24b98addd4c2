#!/bin/bash
# One run on a machine with an NVIDIA GPU (the device tool's, whose image has numba, numba-cuda,
# PyTorch and CuPy but no network): the GPU benchmarks, then the CUDA backend's tests on the real
# GPU (about 3 minutes there; benchmarks/README.md has what it printed).
# Usage, from the repository root: bash benchmarks/gpu_check.sh [n for the fused chain]
# Logs go to $OUT (the device tool's folder that comes back) or /tmp/gpu-check.
set -u
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
PY=${PY:-python3}
export PYTHONUNBUFFERED=1 NUMBA_ENABLE_CUDASIM=0 SYMGRAPH_CACHE_DIR=${SYMGRAPH_CACHE_DIR:-/tmp/symgraph-gpu-cache}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv
$PY -c "import sys, numpy, numba; print(sys.version.split()[0], 'numpy', numpy.__version__, 'numba', numba.__version__)"
$PY -m pip list 2>/dev/null | grep -i -E '^(numba|numba-cuda|llvmlite|torch|cupy[-a-z0-9]*|pytest|graphviz) '
$PY -c "from numba import cuda; d = cuda.get_current_device(); print(d.name, d.compute_capability)"

# The benchmarks first: their times are taken on an idle GPU. gpu_cuda.py twice, without and
# with the backend's cache of device blocks (backends/cuda_memory.py), then where a call's time goes.
SYMGRAPH_CUDA_CACHING=0 timeout 180 $PY benchmarks/gpu_cuda.py ${1:-100000000} 2>&1 | tee "$OUT/bench-nocache.log"
timeout 180 $PY benchmarks/gpu_cuda.py ${1:-100000000} 2>&1 | tee "$OUT/bench.log"
(cd benchmarks && timeout 120 $PY gpu_profile.py ${1:-100000000}) 2>&1 | tee "$OUT/profile.log" | head -24

# The tests whose backend is cuda (the ones the simulator runs in CI), on the GPU.
timeout 300 $PY -m pytest -p no:cacheprovider -o addopts= -o timeout=200 -q -n 8 --tb=short \
  --junitxml="$OUT/junit.xml" --durations=15 -k "cuda or gpu" \
  tests/backends/test_numba_cuda.py tests/backends/test_cuda_memory.py tests/backends/test_cuda_ptx.py tests/backends/test_numba_cpu.py \
  tests/reliability/test_fuzz.py tests/reliability/test_memory_safety.py > "$OUT/tests.log" 2>&1
echo "pytest exit $?"
grep -E "^(FAILED|ERROR)|passed|failed" "$OUT/tests.log" | tail -40
