"""How symgraph sets numba up: wide vectors, a lean start, cache loads and compiles.

- (importing it checks numba's version: requirements.check_numba)
- prefer_wide_vectors: LLVM may use 512-bit vectors on CPUs with AVX-512 (below).
- compiles_for_avx512: whether the CPU numba compiles for has AVX-512.
- cpu_name: LLVM's name of that CPU.
- scales_by_vscalef: whether numba_vecmath scales by powers of two with AVX-512's vscalef.
- defer_scipy_import: numba's first compile starts without importing SciPy.
- load_without_refresh: a kernel loads from numba's disk cache without numba's registry refresh
  (load_kernels_without_refresh: a module's hand-written ones).
- start_runtime: numba's runtime starts from machine code an earlier process left on disk.
- before_each_compile: Python's cycle collector waits while numba compiles, and the first
  compile defers SciPy.
- kernel_jit: numba.njit for the functions symgraph generates, without a C wrapper each.
- typeof_without_numpy_ma: numba types a plain ndarray without importing numpy.ma.
- lock_cache_saves: one process at a time adds to a function's numba disk cache.
- (numba_compile_helper.install: a first call's compiles shared with a helper process)

Wide vectors, set before numba compiles anything:
LLVM tunes recent Intel CPUs to prefer 256-bit vectors even where they have AVX-512 (the
frequency drop of wide vectors on early AVX-512 chips); numba inherits that, so a loop of
float32 exponentials used 8 lanes where the CPU has 16 and NumPy's own SIMD math uses 16.
Lifting the preference made a float32 exp loop 1.4-1.7x faster on a Sapphire Rapids VM
(benchmarks/README.md). The setting is numba's (`NUMBA_CPU_FEATURES`): the host's features
plus "-prefer-256-bit" (and "+prefer-no-gather": wide_vector_features). It must be made before
numba creates its CPU target, which the first `@njit` decoration does, so the numba backend's
modules call `prefer_wide_vectors()` first.

Left alone: a user's own NUMBA_CPU_NAME/NUMBA_CPU_FEATURES, CPUs without AVX-512, the
Skylake-SP family (whose clock does drop on 512-bit work), SYMGRAPH_VECTOR_WIDTH=256 (opt out),
and a process where numba has compiled before symgraph was imported (its CPU target already
exists; the next process gets the wide vectors).
"""
import hashlib
import importlib.util
import os
import pickle
import sys

from .. import gc_pause
from ..config import config
from ..requirements import check_numba
from . import numba_compile_helper

check_numba()  # (numba 0.61 or older: an ImportError that says so)

# Skylake-SP and its refreshes lower their clock for 512-bit vector work; keep LLVM's choice.
_THROTTLING_CPUS = {"skylake-avx512", "cascadelake", "cooperlake"}


def wide_vector_features(cpu_name, features):
    """numba's CPU feature string with 512-bit vectors preferred and gathers not, or None to keep
    numba's. (LLVM vectorized loops reading strided views, x[::2], with AVX-512 gathers, which
    AMD's Zen 4 runs slower than one load a value, as Intel's do since their Gather Data
    Sampling fix: a parallel copy of x[::2] of 8M float32 2.63 ms, 0.93 with "prefer-no-gather",
    NumPy's 1.63.)"""
    if "+avx512f" not in features.split(",") or cpu_name in _THROTTLING_CPUS:
        return None
    return features + ",-prefer-256-bit,+prefer-no-gather"


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


def compiles_for_avx512():
    """Whether numba compiles for a CPU with AVX-512 (the host's, or NUMBA_CPU_NAME's with
    NUMBA_CPU_FEATURES: a named CPU without features gets none)."""
    from numba.core import config as numba_config
    features = numba_config.CPU_FEATURES
    if features is None and numba_config.CPU_NAME is None:
        import llvmlite.binding as llvm
        features = llvm.get_host_cpu_features().flatten()
    return "+avx512f" in (features or "").split(",")


def cpu_name():
    """LLVM's name of the CPU numba compiles for: NUMBA_CPU_NAME's, else the host's
    (sapphirerapids, znver4...)."""
    from numba.core import config as numba_config
    name = numba_config.CPU_NAME
    if name is None or name == "host":
        import llvmlite.binding as llvm
        name = llvm.get_host_cpu_name()
    return name


def scales_by_vscalef():
    """Whether numba_vecmath scales by powers of two with LLVM's ldexp (one vscalef a vector):
    on AVX-512, and only from LLVM 22 (llvmlite 0.48+, numba 0.66+). LLVM 20 (numba 0.62-0.65,
    the one PyTensor pins) does not vectorize a loop calling ldexp at all: an exp loop ran 10x
    slower than with two exponent factors (10^7 float32 values: 55 ms against 5). No numba
    release has used LLVM 21."""
    from llvmlite.binding import llvm_version_info
    return compiles_for_avx512() and llvm_version_info[0] >= 22


def defer_scipy_import():
    """Let numba start without importing SciPy, which it imports only to learn it is there.

    numba.np.arraymath runs `ensure_blas()` (import scipy.linalg.cython_blas) when numba's CPU
    target loads it (its registry refresh, before a compile): 80 ms, for products symgraph
    hands to NumPy or MKL. Here arraymath is imported with that check answered by whether
    SciPy is installed; numba's own BLAS typing (np.dot in a whole-step program) still calls
    the real `ensure_blas`, which imports SciPy then."""
    if "numba.np.arraymath" in sys.modules or importlib.util.find_spec("scipy") is None:
        return
    from numba.np import linalg
    real = getattr(linalg, "ensure_blas", None)
    if real is None:  # another numba: leave it alone
        return
    linalg.ensure_blas = lambda: None  # arraymath binds the name when it is imported
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        linalg.ensure_blas = real


def load_kernels_without_refresh(namespace):
    """load_without_refresh for every kernel with cache=True in a module's namespace (called at
    the end of the modules of hand-written kernels). Loaded the ordinary way, the first of them
    a process ran (an SGD step's weight update, numba_kernels.add_scaled) set off the refresh,
    and with it SciPy's import: an SGD MLP step's warm start 0.66 s, of which 0.25 s that."""
    from numba.core.dispatcher import Dispatcher
    for value in list(namespace.values()):
        if isinstance(value, Dispatcher):
            load_without_refresh(value)


def load_without_refresh(dispatcher):
    """Let `dispatcher` (a kernel with cache=True) load from numba's disk cache without numba's
    registry refresh; returns it.

    numba's Cache.load_overload refreshes the CPU target first: it imports some twenty numba
    modules and installs their typing and lowering registries, which a cached function does
    not use (its object code is linked as it is; only numba's runtime, NRT, must have started:
    every kernel counts references to its array arguments through it, and a cached elementwise
    loop run without it crashed the process). That refresh was 0.12-0.14 s of the 0.63-0.78 s
    a fresh process took to build and run a cached MLP training step. A compile still
    refreshes (numba's compiler does it itself), so nothing a later compile needs is skipped.

    Likewise numba's extensions (the "numba_extensions" entry points of installed packages)
    start only when the kernel is to be compiled, not before every first call: a load needs
    none, and finding them read every installed package's metadata (10-24 ms).
    Left as numba has it where its Cache lacks the methods used here (another numba version)."""
    cache = getattr(dispatcher, "_cache", None)
    load = getattr(cache, "_load_overload", None)
    guard = getattr(cache, "_guard_against_spurious_io_errors", None)
    if load is None or guard is None or not hasattr(dispatcher, "_compilation_chain_init_hook"):
        return dispatcher
    from numba.core import entrypoints

    def load_overload(sig, target_context):
        start_runtime(target_context)  # what the refresh did that a cached kernel needs
        with guard():
            loaded = load(sig, target_context)
        if loaded is None:
            entrypoints.init_all()  # a compile follows: what numba's hook would have done first
        return loaded
    cache.load_overload = load_overload
    dispatcher._compilation_chain_init_hook = lambda: None
    return dispatcher


def start_runtime(target_context):
    """Start numba's runtime (NRT) as rtsys.initialize(target_context) does, the machine code of
    its functions read from the symgraph cache where an earlier process left it.

    Every kernel counts references to its array arguments through NRT, whose few functions
    (atomic increments, incref, decref) numba compiles from LLVM IR in every process: 40 ms of
    a fresh process that builds and runs a cached MLP training step; loading their machine
    code, as numba loads a cached function's, takes 4-6 ms. The file is keyed by numba's and
    llvmlite's versions and numba's codegen "magic tuple" (target triple, CPU name and
    features), as numba keys its own cache. Where the file cannot be read or written, or this
    numba lacks what is used here, NRT starts as numba starts it."""
    from numba.core.compiler_lock import global_compiler_lock
    from numba.core.runtime import rtsys
    try:
        from llvmlite import binding as llvm
        from numba.core import config as numba_config
        from numba.core.runtime import _nrt_python, nrtdynmod
        helpers, create_module, started = _nrt_python.c_helpers, nrtdynmod.create_nrt_module, rtsys._init
    except (ImportError, AttributeError):
        return rtsys.initialize(target_context)
    if started:
        return
    with global_compiler_lock:
        if rtsys._init:
            return
        for name, address in helpers.items():  # (rtsys.initialize's registration, as it does it)
            llvm.add_symbol(name if name.startswith("_") else "NRT_" + name, address)
        if numba_config.NRT_STATS:
            _nrt_python.memsys_enable_stats()
        codegen = target_context.codegen()
        path = _runtime_file(codegen)
        library = _load_library(codegen, path)
        if library is None:
            ir_module, library = create_module(target_context)
            library.enable_object_caching()
            library.add_ir_module(ir_module)
            library.finalize()
            _save_library(library, path)
        rtsys._library = library
        rtsys._init = True


def _runtime_file(codegen):
    import llvmlite
    import numba
    key = repr((numba.__version__, llvmlite.__version__, codegen.magic_tuple()))
    return os.path.join(config.cache_dir, "numba_runtime", hashlib.sha1(key.encode()).hexdigest()[:16] + ".pkl")


def _load_library(codegen, path):
    try:
        with open(path, "rb") as fh:
            state = pickle.load(fh)
        return codegen.unserialize_library(state)
    except Exception:  # (missing, or damaged: NRT is then compiled as numba does)
        return None


def _save_library(library, path):
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            pickle.dump(library.serialize_using_object_code(), fh)
        os.replace(tmp, path)  # atomic: another process never reads half a file
    except OSError:
        pass


def kernel_jit(**options):
    """numba.njit(**options) without the C-callable wrapper numba builds for every function so
    that it can be passed around as a first-class function value, which symgraph never does
    with its kernels (it calls them from Python, and its math functions from other jitted
    code). One function less for numba to lower and LLVM to optimize per kernel: a process
    compiling the MLP training step's five kernels ran 7.81e9 instructions instead of 8.07e9
    (valgrind; its imports included)."""
    from numba import njit
    return njit(no_cfunc_wrapper=True, **options)


def typeof_without_numpy_ma():
    """Let numba type a plain ndarray without importing numpy.ma.

    numba's typeof for an ndarray first tests isinstance(val, np.ma.MaskedArray), and NumPy 2
    imports numpy.ma on that attribute's first use: 50 ms of the 0.45-0.6 s a fresh process
    took to build and run a cached MLP training step (each kernel's first call types its
    arguments in Python). An array whose type is exactly ndarray is no MaskedArray, so it is
    typed here as numba does after that test; subclasses, MaskedArray included, still go
    through numba's own function. Left alone where numba's is not the function expected."""
    import numpy as np
    from numba.core import errors, types
    from numba.core.typing import typeof as numba_typeof
    from numba.np import numpy_support
    numbas = numba_typeof.typeof_impl.dispatch(np.ndarray)
    if getattr(numbas, "__name__", None) != "_typeof_ndarray":
        return

    def typeof_ndarray(val, c):
        if type(val) is not np.ndarray:
            return numbas(val, c)
        try:
            dtype = numpy_support.from_dtype(val.dtype)
        except errors.NumbaNotImplementedError:
            return numbas(val, c)  # (raising numba's error for an unsupported dtype)
        return types.Array(dtype, val.ndim, numpy_support.map_layout(val), readonly=not val.flags.writeable)
    numba_typeof.typeof_impl.register(np.ndarray)(typeof_ndarray)


def lock_cache_saves():
    """Let one process at a time add an entry to a function's numba disk cache.

    numba's cache keeps one index per function (its signatures' keys -> data file names); a
    save reads the index, picks the first unused data file name, writes the index back whole,
    then the data. Two processes saving different signatures of one function at once (two
    test workers; this process and its compile helper, numba_compile_helper, where one compiles
    a function the other calls) could both pick the same name: the index then maps one's
    signature to the other's machine code. Here each save holds an exclusive lock (flock) on a
    file beside the index; loads take none (a data file is replaced whole, and one named in the
    index but not yet written reads as a miss). Without fcntl, or where the lock file cannot be
    made, a save goes unlocked, as numba's."""
    try:
        import fcntl
        from numba.core.caching import IndexDataCacheFile
    except ImportError:
        return
    save = IndexDataCacheFile.save
    if getattr(save, "symgraph_locked", False):
        return

    def locked_save(self, key, data):
        try:
            fd = os.open(self._index_path + ".lock", os.O_CREAT | os.O_RDWR, 0o666)
        except (OSError, AttributeError):
            return save(self, key, data)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            return save(self, key, data)
        finally:
            os.close(fd)  # (releases the lock)
    locked_save.symgraph_locked = True
    IndexDataCacheFile.save = locked_save


def before_each_compile():
    """Before every numba compile: hold Python's cycle collector off (see symgraph.gc_pause),
    and before the first, defer numba's SciPy import (defer_scipy_import). numba's typing and
    lowering make objects that live, and the full collections they set off were 0.34-0.5 s of
    the 2.9-3.2 s a fresh process took to compile and run the MLP training step. numba
    announces each compile, nested ones included, as a "numba:compile" event; its registry
    refresh, which imports arraymath, comes inside the first. A process that only loads cached
    kernels (load_without_refresh) never imports arraymath at all (0.05-0.07 s)."""
    from numba.core import event

    class BeforeCompiling(event.Listener):
        def on_start(self, _):
            gc_pause.hold()
            defer_scipy_import()

        def on_end(self, _):
            gc_pause.release()
    event.register("numba:compile", BeforeCompiling())


prefer_wide_vectors()
before_each_compile()
typeof_without_numpy_ma()
lock_cache_saves()
numba_compile_helper.install()
