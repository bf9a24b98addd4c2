# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test test-slow test-numba-floor bench bench-cuda clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,mkl]'
	@command -v dot >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz) >/dev/null; \
	  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null && command -v apt-get >/dev/null; then \
	    (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz) >/dev/null; \
	  else echo "note: graphviz's 'dot' is missing; install it (apt-get install graphviz / brew install graphviz) to render graphs"; fi; }
	touch $(STAMP)

demo: install
	$(PY) -m symgraph.demo

# The quick tier: every test, but of each `exhaustive` test of a kernel's variants (dtypes,
# sizes, layouts, each math function) only the first (tests/conftest.py), and no end-to-end
# training a unit test covers: 11 minutes on a 2-core machine with a cold kernel cache (the
# numba kernels' compiles), 3-4 warm. test-slow runs the rest; CI runs both.
test: install
	$(PY) -m pytest -n auto -m "not slow"  # one worker per core: the suite is bound by numba's compiles

test-slow: install
	$(PY) -m pytest -n auto -m slow

# CI also runs the tests that watch the kernels' code generation (each math function's loop
# vectorizes, the folds compile, numba's start-up hooks, the calls LLVM must keep, the gemm
# intrinsic calling NumPy's OpenBLAS through a registered symbol, the compile helper's hooks, the
# transposed blocks' shuffles) and the
# requirement checks on the oldest numba and NumPy setup.cfg allows: numba 0.62's LLVM 20 (as
# 0.65's, which PyTensor pins) treats some intrinsics differently from the LLVM 22 of the
# newest numba that `make test` gets (a loop calling ldexp stayed scalar there).
FLOOR := .venv-numba-floor
# Its numba caches symgraph's own functions apart from the newest numba's __pycache__ (NUMBA_CACHE_DIR):
# numba writes an entry's index before its data, and a worker reading in between had loaded LLVM 22's
# bitcode into LLVM 20 ("Unknown attribute kind").
test-numba-floor:
	test -x $(FLOOR)/bin/python || $(PYTHON) -m venv $(FLOOR)
	$(FLOOR)/bin/python -m pip install --quiet 'numba==0.62.1' 'numpy==2.1.3' -e '.[dev]'
	NUMBA_CACHE_DIR=$(FLOOR)/numba-cache SYMGRAPH_CACHE_DIR=$(FLOOR)/symgraph-cache $(FLOOR)/bin/python -m pytest -n auto \
	  tests/backends/test_numba_calls.py tests/backends/test_vecmath.py tests/backends/test_numba_rows.py \
	  tests/backends/test_numba_target.py tests/test_requirements.py tests/backends/test_blas.py \
	  tests/backends/test_numba_svml.py tests/backends/test_numba_noinline.py \
	  tests/backends/test_numba_numpy_gemm.py tests/backends/test_numba_compile_helper.py \
	  tests/backends/test_numba_stack.py tests/backends/test_numba_tasks.py tests/backends/test_numba_blocks.py

bench: install
	$(PY) -m pip install --quiet -e '.[bench]'
	cd benchmarks && for b in fused_chain mlp_step conv overhead compile_time small_steps expressions data_ops keras_steps training_steps keras_mnist keras_autoencoder rnn_scan math_functions loop_forms prefetch lazy_ifelse caffe_solver tf1_session gradients regression_steps written_forms; do ../$(PY) $$b.py || exit 1; done

# On a machine with an NVIDIA GPU: the CUDA backend against PyTorch CUDA and CuPy (if installed).
bench-cuda: install
	cd benchmarks && ../$(PY) gpu_cuda.py

clean:
	rm -rf $(VENV) $(FLOOR) demo-out .pytest_cache .hypothesis
