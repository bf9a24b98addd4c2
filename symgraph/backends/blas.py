"""Matrix products of the numba backend: NumPy's by default (OpenBLAS in NumPy's wheels; np.dot
for small products, np.matmul for larger ones, see MATMUL_MIN; float32 operands shaped for
OpenBLAS's AVX-512 small-matrix kernels, see SMALL_KERNEL_MNK); Intel MKL's gemm when asked for
(config.blas "auto" or "mkl", SYMGRAPH_BLAS) and the `mkl` package is installed
(`pip install symgraph[mkl]`, x86-64). A weight's in-place update accumulates with one gemm
call into the weight (accumulate): MKL's, or NumPy's own OpenBLAS through ctypes.

Why MKL is there: a training step of a 784-512-512-10 MLP spends ~75% of its time in eight
products, and on the machine measured (Intel Sapphire Rapids, 2 cores) MKL computes them 1.3x
faster than NumPy's OpenBLAS (the step 2.2 -> 1.8 ms, as fast as PyTorch; benchmarks/README.md).
Why it is not the default: two BLAS libraries in one process each keep their threads spinning
after a threaded product (OpenBLAS ~0.1 s, MKL up to its 0.2 s KMP_BLOCKTIME), so whichever
runs next waits for the cores. Measured: an MKL product right after a NumPy one took 4 ms
instead of 0.1 for the next 0.1 s, and NumPy's took 8 ms after MKL's; that MLP step, timed right
after a NumPy step (a user's own np.dot, or a side-by-side comparison), 3.2-3.3 ms median and
5.9-10.6 mean with MKL, 2.2-2.3 and 2.4-3.0 with NumPy's BLAS. So MKL is for processes whose products all
go through symgraph. KMP_BLOCKTIME=0 or MKL's sequential layer cost more than they save.

Which library takes a product, with MKL asked for, is decided by its size m * n * k. Up to
MNK_THRESHOLD, np.dot: OpenBLAS runs such products on one thread, faster than a call into MKL
(1 us against 5 for 32x64x10). Above it, MKL, so that symgraph itself never wakes both pools.

MKL is called through ctypes (the call releases the GIL) with its row-major CBLAS interface,
reading a transposed view as a transposed operand instead of copying it. Its results differ
from OpenBLAS's in the last bits (another order of the sums), as any two BLAS libraries' do.
`config.blas` (SYMGRAPH_BLAS): "numpy" (the default) keeps every product on np.dot, "auto" uses
MKL where it is installed, "mkl" insists on MKL (an error without it).
"""
import ctypes
import functools
import os
import sys
import threading
import time
import warnings

import numba
import numpy as np

from ..config import config
from . import numba_kernels as kernels

MNK_THRESHOLD = 1 << 18  # m * n * k: OpenBLAS runs products up to this size on one thread
# From this size m * n * k, NumPy's products go through np.matmul rather than np.dot: the same
# OpenBLAS gemm, but np.dot passes once more over a large output (a weight gradient h.T @ g,
# 784x128 @ 128x512 float32: 418 us against 331; 512x32 @ 32x512 1.2-1.5x; products with
# a small output do not differ). Below it np.dot's call is the cheaper (0.8 us against 1.0).
# An outer product (inner length 1) is the exception: np.matmul does not hand it to BLAS, and
# its own loop ran 2560x1 @ 1x128 float32 in 408 us, 4096x1 @ 1x512 in 2600, where np.dot
# took 83 and 780 (from an inner length of 2 np.matmul is the faster: 41 against 69 us).
MATMUL_MIN = 1 << 18
# ...but a product whose output has at most this many elements keeps np.dot: its extra pass is
# over little, its call 0.3-0.45 us the shorter (float32, AMD EPYC: 64x64 @ 64x64 5.71 -> 5.41 us,
# 128x784 @ 784x10 26.3 -> 25.8; 256x64 @ 64x64, 16384 values, 13.5 either way).
DOT_OUTPUT_MAX = 1 << 14
# A weight's in-place update (accumulate) takes one gemm call (its beta scaling the weight) from
# this many elements of the weight: it saves a pass over them (784x128 @ 128x512: 311 us against the
# product's 336 and the update's ~100), where a ctypes call costs ~4 us more than NumPy's.
ACCUMULATE_MIN = 1 << 14
# Float32 products between MATMUL_MIN and THIN_MAX_MNK multiply-adds, where NumPy's OpenBLAS
# has its AVX-512 small-matrix kernels (openblas_small_kernels: single-thread, up to
# SMALL_KERNEL_MNK = M N K, the kernels' own limit), on a 2-core Sapphire Rapids:
# - A right operand that is a transposed view of at most COPY_TRANSPOSED_SIZE elements (the
#   output layer's W.T in a backward pass, g @ W.T) is copied to C order first: those kernels'
#   transposed form was up to 1.8x slower (np.matmul, us: 128x10 @ 10x512 21.8 -> 13.4,
#   128x8 @ 8x784 31.5 -> 17.2, 64x10 @ 10x512 12.1 -> 8.8). Where OpenBLAS threads the
#   product the copy gained nothing (128x16 @ 16x512 0.91x). The 784-512-512-10 MLP step at
#   batch 128, alternating in one process: 2.02-2.13 -> 2.01-2.11 ms.
# - A thin product (inner dimension at most THIN_K, at least THIN_MIN_N columns) past the
#   kernels' limit runs as row blocks within it: OpenBLAS's threaded path took 256x10 @ 10x512
#   in 198 us, the two blocks 25 (200 rows 155 -> 20, 300 rows 217 -> 29, 400 rows 101 -> 38;
#   256x16 @ 16x512 67 -> 32, 256x8 @ 8x784 77 -> 28, 128x10 @ 10x1024 54 -> 29). With fewer
#   columns the threaded path was the faster (1024x10 @ 10x128 0.88x, 512x10 @ 10x256 0.86x),
#   and with more work (768x10 @ 10x512: 3.9M, 0.74x). In the MLP step at batch 256 its
#   g @ W3.T took 74 us (less than alone: OpenBLAS's threads were awake), the blocks 56; the
#   step, alternating in one process, 3.59-3.75 -> 3.55-3.68 ms.
SMALL_KERNEL_MNK, THIN_MAX_MNK, THIN_K, THIN_MIN_N = 10 ** 6, 1 << 21, 16, 512
COPY_TRANSPOSED_SIZE = 1 << 13
_FLOAT32 = np.dtype(np.float32)
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_lock = threading.Lock()
_gemm = None  # {dtype: (cblas function, ctypes scalar type)} once looked up; {} where there is no MKL
_openblas = None  # the same for NumPy's OpenBLAS (used to accumulate into an array)
_small_kernels = None  # whether NumPy's OpenBLAS has its small-matrix kernels (openblas_small_kernels)
# After a threaded product OpenBLAS's threads spin for ~0.1 s (2^28 cycles), MKL's for its 0.2 s
# KMP_BLOCKTIME; numba's threads started meanwhile share the cores with them (a convolution split
# over both cores ran 4x slower right after a threaded 1024^3 product). Products symgraph may hand
# to BLAS's threads note it (_note_product); work that would start numba's asks threads_idle().
THREADS_SPIN_SECONDS = 0.2
_threads_busy_until = 0.0
_numba_threads_until = 0.0
_numba_work = 0  # the most multiply-adds (or loop iterations) of one call on numba's threads lately


def _mkl_library_path():
    """libmkl_rt of the installed `mkl` package, or None. pip puts it in the environment's
    lib folder; reading the package's file list finds it elsewhere (30 ms, where the first
    looks are free)."""
    for folder in (sys.prefix, sys.base_prefix):
        for name in ("libmkl_rt.so.3", "libmkl_rt.so.2"):
            if os.path.exists(os.path.join(folder, "lib", name)):
                return os.path.join(folder, "lib", name)
    try:
        from importlib import metadata
        files = metadata.files("mkl") or []
    except Exception:  # not installed, or installed without a file list
        return None
    for f in files:
        if f.name.startswith("libmkl_rt.so") or (f.name.startswith("mkl_rt") and f.name.endswith(".dll")):
            return str(f.locate())
    return None


def _load_mkl():
    """The cblas gemm functions of MKL, keyed by dtype ({} when MKL cannot be loaded)."""
    path = _mkl_library_path()
    if path is None:
        return {}
    try:
        lib = ctypes.CDLL(path)
        # 32-bit integers (LP64), whatever MKL_INTERFACE_LAYER says; 0 is MKL_INTERFACE_LP64.
        if lib.MKL_Set_Interface_Layer(0) != 0:
            return {}
    except OSError as exc:
        warnings.warn(f"symgraph could not load MKL from {path} ({exc}); products use np.dot")
        return {}
    return _gemm_table(lib, "", "", ctypes.c_int) or {}


def _gemm_table(lib, prefix, suffix, integer):
    """{dtype: (cblas gemm function, ctypes scalar type)} for float32 and float64 from lib,
    named prefix + cblas_sgemm/dgemm + suffix, with `integer` sizes; None if one is missing."""
    functions = {}
    for dtype, name, scalar in ((np.dtype(np.float32), "cblas_sgemm", ctypes.c_float),
                                (np.dtype(np.float64), "cblas_dgemm", ctypes.c_double)):
        fn = getattr(lib, f"{prefix}{name}{suffix}", None)
        if fn is None:
            return None
        i, p, flag = integer, ctypes.c_void_p, ctypes.c_int
        fn.argtypes = [flag, flag, flag, i, i, i, scalar, p, i, p, i, scalar, p, i]
        fn.restype = None
        functions[dtype] = (fn, scalar)
    return functions


def mkl_gemm():
    """MKL's gemm functions by dtype, loaded on first use; {} without MKL or when config.blas
    is "numpy" (the default)."""
    global _gemm
    if config.blas == "numpy":
        return {}
    if _gemm is None:
        with _lock:
            if _gemm is None:
                _gemm = _load_mkl()
    if not _gemm and config.blas == "mkl":
        raise RuntimeError("config.blas is 'mkl' but MKL could not be loaded: install it with "
                           "pip install 'symgraph[mkl]' (x86-64), or set config.blas = 'auto'")
    return _gemm


def _numpy_openblas():
    """The cblas gemm functions of the OpenBLAS NumPy already loaded (NumPy's wheels bundle
    one), keyed by dtype; {} where there is none (another BLAS, another platform). Only a
    library already mapped into the process is taken: loading a second copy would start a
    second pool of threads (see the top). NumPy has no call that accumulates into an array
    (its gemm's beta), which an in-place update needs."""
    global _openblas
    if _openblas is None:
        with _lock:
            if _openblas is None:
                _openblas = _load_numpy_openblas()
    return _openblas


def _load_numpy_openblas():
    found = _numpy_openblas_library()
    return _gemm_table(*found) if found else {}


def _numpy_openblas_library():
    """(library, prefix, suffix, integer type) of the OpenBLAS NumPy loaded (its functions are
    prefix + name + suffix), or None."""
    return openblas_library(np.__file__)


def openblas_library(package_file):
    """The same for the OpenBLAS a package bundles (package_file: its __init__.py; NumPy's in
    numpy.libs/ or numpy/.dylibs/, SciPy's in scipy.libs/), if the process has loaded it."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split(None, 5)[-1].strip() for line in maps if "openblas" in line}
    except OSError:
        return None
    package = os.path.realpath(os.path.dirname(package_file))
    ours = (package + os.sep, package + ".libs")
    paths = sorted(p for p in paths if ".so" in p and os.path.realpath(p).startswith(ours))
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix, integer in (("scipy_", "64_", ctypes.c_int64), ("", "64_", ctypes.c_int64),
                                        ("scipy_", "", ctypes.c_int), ("", "", ctypes.c_int)):
            if _gemm_table(lib, prefix, suffix, integer):
                return lib, prefix, suffix, integer
    return None


class OneThread:
    """An OpenBLAS at one thread from the first entry to the last exit (threads of this process
    may overlap), then back to what it was."""

    def __init__(self, set_threads, get_threads):
        self.set, self.get = set_threads, get_threads
        self.lock, self.users, self.saved = threading.Lock(), 0, 1

    @classmethod
    def of(cls, found):
        """The context for the OpenBLAS `found` (openblas_library's answer), or None where it
        cannot be set."""
        if found is None:
            return None
        lib, prefix, suffix, _ = found
        try:
            set_threads = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}")
            get_threads = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}")
        except AttributeError:
            return None
        set_threads.argtypes, set_threads.restype = [ctypes.c_int], None  # (an int in every build)
        get_threads.argtypes, get_threads.restype = [], ctypes.c_int
        return cls(set_threads, get_threads)

    def __enter__(self):
        with self.lock:
            if not self.users:
                self.saved = self.get()
                if self.saved != 1:
                    self.set(1)
            self.users += 1

    def __exit__(self, *exc):
        with self.lock:
            self.users -= 1
            if not self.users and self.saved != 1:
                self.set(self.saved)


@functools.cache
def numpy_one_thread():
    """OneThread for NumPy's OpenBLAS, or None where it cannot be set."""
    return OneThread.of(_numpy_openblas_library())


def openblas_small_kernels():
    """Whether NumPy's OpenBLAS runs products of up to SMALL_KERNEL_MNK multiply-adds in its
    AVX-512 small-matrix kernels (its core SkylakeX, Cooperlake or SapphireRapids)."""
    global _small_kernels
    if _small_kernels is None:
        _small_kernels = has_small_kernels(_numpy_openblas_library())
    return _small_kernels


def has_small_kernels(found):
    """Whether the OpenBLAS `found` (openblas_library's answer) has those kernels."""
    core = b""
    if found:
        lib, prefix, suffix, _ = found
        name = getattr(lib, f"{prefix}openblas_get_corename{suffix}", None)
        if name is not None:
            name.restype = ctypes.c_char_p
            core = name() or b""
    return core.decode(errors="replace").lower() in ("skylakex", "cooperlake", "sapphirerapids")


def _operand(x):
    """(x or a copy of it, CBLAS transpose flag, leading dimension) for a row-major call."""
    item = x.itemsize
    rows, cols = x.shape
    s0, s1 = x.strides
    if x.flags.aligned:
        if (s1 == item or cols == 1) and s0 % item == 0 and s0 >= max(cols, 1) * item:
            return x, _NO_TRANS, s0 // item
        if (s0 == item or rows == 1) and s1 % item == 0 and s1 >= max(rows, 1) * item:
            return x, _TRANS, s1 // item
    x = np.ascontiguousarray(x)  # strided both ways, broadcast, reversed or unaligned
    return x, _NO_TRANS, max(cols, 1)


def _mkl_for(a, b):
    """MKL's function for a @ b, or None: small (checked first: it is most calls, and the
    cheapest test), not two matrices of one float dtype, or no MKL."""
    if a.shape[0] * a.shape[-1] * b.shape[-1] <= MNK_THRESHOLD:
        return None
    if a.ndim != 2 or b.ndim != 2 or a.dtype != b.dtype or a.shape[1] != b.shape[0]:
        return None
    return mkl_gemm().get(a.dtype)


def _call(found, alpha, a, b, beta, out):
    fn, scalar = found
    a, trans_a, lda = _operand(a)
    b, trans_b, ldb = _operand(b)
    m, k = a.shape
    n = b.shape[1]
    _note_product(a, b, m * n * k, openblas=found in (_openblas or {}).values())
    fn(_ROW_MAJOR, trans_a, trans_b, m, n, k, scalar(alpha), a.ctypes.data, lda, b.ctypes.data, ldb,
       scalar(beta), out.ctypes.data, max(n, 1))


def product(a, b):
    """np.dot(a, b) of two matrices: through MKL where that is asked for and faster, else
    NumPy's np.dot or, for larger products, np.matmul (see MATMUL_MIN)."""
    if config.blas == "numpy":  # (the default: decided before _mkl_for's checks)
        return numpy_product(a, b)
    found = _mkl_for(a, b)
    if found is None:
        return numpy_product(a, b)
    out = np.empty((a.shape[0], b.shape[1]), a.dtype)
    _call(found, 1.0, a, b, 0.0, out)
    return out


def numpy_product(a, b, work=None):
    """np.dot(a, b) of two matrices, by NumPy's BLAS (work: m * k * n, where known)."""
    if work is None:
        work = a.shape[0] * a.shape[1] * b.shape[1]
    if work < MATMUL_MIN or a.shape[1] == 1:  # (an outer product: np.dot's, see MATMUL_MIN)
        return np.dot(a, b)
    if _keep_single_thread(work):
        out = _in_single_thread_blocks(a, b)
        if out is not None:
            return out
    if work > THIN_MAX_MNK or a.dtype is not _FLOAT32 or b.dtype is not _FLOAT32 or not openblas_small_kernels():
        return _matmul_noted(a, b, work)
    k, n = b.shape
    thin = work > SMALL_KERNEL_MNK
    if thin and (k > THIN_K or n < THIN_MIN_N):
        return _matmul_noted(a, b, work)
    if b.size <= COPY_TRANSPOSED_SIZE:
        flags = b.flags
        if flags.f_contiguous and not flags.c_contiguous:
            b = np.ascontiguousarray(b)
    if not thin:
        return _matmul_noted(a, b, work)
    rows = max(1, SMALL_KERNEL_MNK // (k * n))
    _note_product(a, b, rows * k * n)
    return _serial_blocks(a, b, rows, np.empty((a.shape[0], n), _FLOAT32))


def _matmul_noted(a, b, work):
    """np.matmul(a, b), or np.dot for a small output (DOT_OUTPUT_MAX), noted where OpenBLAS
    may run it on its threads (_note_product)."""
    _note_product(a, b, work)
    return np.dot(a, b) if a.shape[0] * b.shape[1] <= DOT_OUTPUT_MAX else np.matmul(a, b)


def _serial_blocks(a, b, rows, out):
    """out = a @ b in calls of `rows` rows of a, one after another on this thread."""
    for start in range(0, a.shape[0], rows):
        np.matmul(a[start:start + rows], b, out=out[start:start + rows])
    return out


def _keep_single_thread(work):
    """Whether a product of `work` multiply-adds stays off BLAS's threads (in single-thread
    blocks, _in_single_thread_blocks): while numba's threads work a convnet's images, any
    product where it can be split over them, else one no larger than that work, or than
    THIN_MAX_MNK (note_numba_threads)."""
    if not _numba_threads_recent():
        return False
    if _split_on_numba_threads() is not None:  # (as fast as BLAS's threads: numba_blas.split_product)
        return True
    return work <= max(THIN_MAX_MNK, _numba_work) and openblas_small_kernels()


def splits_products():
    """Whether NumPy's BLAS runs the products (config.blas) and those of any size can run split
    over numba's threads instead, each part on its own thread."""
    return config.blas == "numpy" and _split_on_numba_threads() is not None


def _split_on_numba_threads():
    """numba_blas.one_thread()'s context where products can be split over numba's threads at
    any size (the OpenBLAS they call, NumPy's or SciPy's, told to run each call on its thread,
    two threads or more), else None."""
    from . import numba_blas  # (numba_blas imports this module)
    return numba_blas.one_thread() if numba.config.NUMBA_NUM_THREADS > 1 else None


def _in_single_thread_blocks(a, b):
    """a @ b as products that each run on one thread: split over numba's threads where the
    OpenBLAS they call can be told to (numba_blas.split_product: the dense layers of a convnet whose
    convolutions numba's threads run, 32x9216 @ 9216x128 among them), else in calls
    OpenBLAS's single-thread small-matrix kernels take (each up to SMALL_KERNEL_MNK multiply-adds,
    rows of a C-ordered left operand, _blocks), or None where they cannot. A transposed weight's
    product, g @ W.T with g the smaller, goes the other way round, (W @ g.T).T, where W needs no
    copy (and in the small kernels more rows fit a call): 64x128 @ 128x3136 took 2 rows a call
    and 1420 us, turned 122 rows and 497 us (on one thread; turning a C-ordered b, copied, was
    slower: 64x3136 @ 3136x128 599 -> 959 us)."""
    (m, k), n = a.shape, b.shape[1]
    if a.dtype != b.dtype or a.dtype.kind != "f" or a.dtype.itemsize not in (4, 8):
        return None
    flags = b.flags
    turn = flags.f_contiguous and not flags.c_contiguous and a.size * 4 <= b.size
    each_on_its_thread = _split_on_numba_threads()
    # (A product the small kernels take stays one call on this thread: 16x512 @ 512x64 6.0 us,
    # split 10.4.)
    if each_on_its_thread is not None and (m * k * n > SMALL_KERNEL_MNK or not openblas_small_kernels()):
        from .numba_blas import split_product
        from .numba_cpu import c_ordered  # (tile by tile on numba's threads: NumPy's copy of a
        # 9216x128 float32 x.T took 8.0 ms, a g @ W.T at batch 128 eleven times its product)
        threads = numba.get_num_threads()
        with each_on_its_thread:
            # A transposed weight's product with few rows goes turned (W's rows split); with
            # more, as it is (numba's np.dot takes W.T as BLAS's transposed operand). g @ W.T,
            # W 9216x128, turned / as it is / OpenBLAS's threads (ms): 32 rows 0.55 / 0.69 /
            # 0.51, 64 rows 0.89 / 0.98 / 0.70, 128 rows 1.65 / 1.32 / 1.15.
            if turn and m <= 16 * threads:
                return c_ordered(split_product(c_ordered(b.T), c_ordered(a.T), threads).T)
            return split_product(c_ordered(a), b if flags.f_contiguous else c_ordered(b), threads)
    rows, rows_turned = SMALL_KERNEL_MNK // max(k * n, 1), SMALL_KERNEL_MNK // max(k * m, 1)
    if turn and rows_turned > rows:
        return np.ascontiguousarray(_blocks(np.ascontiguousarray(b.T), np.ascontiguousarray(a.T), rows_turned).T)
    return _blocks(np.ascontiguousarray(a), np.ascontiguousarray(b), rows) if rows else None


def _blocks(a, b, rows):
    """a @ b in calls of `rows` rows of a: two calls or more on numba's threads (at work anyway
    while these blocks are taken), through numba_blas's kernels (blocks_of), where their
    OpenBLAS's own single-thread limit (numba_conv.single_thread_work) takes such a call."""
    from .numba_conv import single_thread_work  # (numba_conv imports this module)
    out = np.empty((a.shape[0], b.shape[1]), a.dtype)
    if a.shape[0] > rows and rows * a.shape[1] * b.shape[1] <= single_thread_work():
        from .numba_blas import blocks_of
        blocks_of()[0](a, b, out, rows)
        return out
    return _serial_blocks(a, b, rows, out)


def note_numba_threads(work):
    """Note that numba's threads are at work on `work` multiply-adds (a convolution split over
    the cores): for the next THREADS_SPIN_SECONDS products run split over numba's threads, each
    part one single-threaded call (numba_blas.split_product, about as fast as OpenBLAS's
    threads), rather than waking BLAS's threads, which would meet numba's spinning ones and turn
    the next convolution back to the batched path (numba_conv). Where SciPy's OpenBLAS cannot be
    set to one thread, only products up to THIN_MAX_MNK, or up to the most work so noted, go in
    single-thread blocks: those cost more than OpenBLAS's threaded product (64x3136 @ 3136x128
    and its two gradient products: threaded 0.60 ms, blocks one after another 2.4, on numba's
    two threads 0.83-1.03), so they are taken only for as much work as they keep on both cores:
    a small convnet's dense layers, not a large dense layer after a small convolution."""
    global _numba_threads_until, _numba_work
    now = time.perf_counter()
    _numba_work = max(work, _numba_work) if now < _numba_threads_until else work
    _numba_threads_until = now + THREADS_SPIN_SECONDS


def _numba_threads_recent():
    # (never noted, as in a graph without convolutions: no clock read, 0.1 us of a product's call)
    return bool(_numba_threads_until) and time.perf_counter() < _numba_threads_until


def threads_idle():
    """Whether no product symgraph handed to BLAS's threads is recent enough for them to spin.
    (Products NumPy runs for the user, or for ops symgraph runs by NumPy, np.matmul of stacks
    and matrix-vector products, are not seen.)"""
    return time.perf_counter() >= _threads_busy_until


def _note_product(a, b, work, openblas=True):
    """Note a product NumPy's OpenBLAS (or, openblas False, MKL) may run on its threads: above
    MNK_THRESHOLD multiply-adds, unless OpenBLAS's single-thread small-matrix kernels take it
    (up to SMALL_KERNEL_MNK, both operands C-ordered: its transposed forms are not always)."""
    if work <= MNK_THRESHOLD:
        return
    if (openblas and work <= SMALL_KERNEL_MNK and a.flags.c_contiguous and b.flags.c_contiguous
            and openblas_small_kernels()):
        return
    note_threads_busy()


def note_threads_busy():
    """Note that BLAS's threads just ran a product (and spin for THREADS_SPIN_SECONDS)."""
    global _threads_busy_until
    _threads_busy_until = max(_threads_busy_until, time.perf_counter() + THREADS_SPIN_SECONDS)


def gemm(alpha, a, b, beta, c, dtype, product_of=None):
    """alpha * dot(a, b) + beta * c as a new array of `dtype` (an np.dtype; c broadcasts to the
    product's shape), in one MKL call where that is faster, else `product` then NumPy's scale
    and add in place; None for what neither does (the caller then runs its NumPy reference).
    product_of(a, b): the product where the caller has its own (numba_matvec's), else NumPy's."""
    # beta = 0 stays with the reference: BLAS would ignore c, where 0 * NaN is NaN in NumPy.
    if beta == 0.0 or a.ndim != 2 or b.ndim != 2 or a.dtype != dtype or b.dtype != dtype or c.ndim > 2:
        return None
    found = _mkl_for(a, b) if product_of is None else None
    if found is None:
        if c.dtype != dtype or not adds_into(c.shape, a.shape[0], b.shape[1]):
            return None  # (a bias of another dtype, or one the product broadcasts to: the reference's)
        return scaled_sum((product_of or numpy_product)(a, b), alpha, c, beta)
    out = np.empty((a.shape[0], b.shape[1]), dtype)
    try:
        np.copyto(out, c)  # the bias, broadcast; BLAS scales and adds it in its output pass
    except (ValueError, TypeError):
        return None        # c does not broadcast to the product (the reference says why)
    _call(found, alpha, a, b, beta, out)
    return out


def adds_into(shape, m, n):
    """Whether a bias of this shape adds into an m x n product in place (it broadcasts to that
    shape: 0-d, one value, a row, a column: x @ w + 1, Theano's x @ w + b.dimshuffle('x', 0))."""
    if len(shape) == 2:
        return (shape[0] == m or shape[0] == 1) and (shape[1] == n or shape[1] == 1)
    return len(shape) == 0 or (len(shape) == 1 and (shape[0] == n or shape[0] == 1))


def scaled_sum(product, alpha, c, beta):
    """alpha * product + beta * c in product's buffer, rounded as Gemm's reference: the scaled
    product, then the scaled bias added (c adds into it: adds_into)."""
    if alpha != 1.0:
        product *= product.dtype.type(alpha)
    product += c if beta == 1.0 else c * c.dtype.type(beta)
    return product


def accumulate(alpha, a, b, c, beta=1.0, product_of=None):
    """c = alpha * dot(a, b) + beta * c in c's buffer (an in-place Gemm: a weight's update, or
    momentum's velocity), and True; False, changing nothing, where c cannot take it (not a
    C-ordered writeable array of the product's shape and the operands' float dtype, or
    beta = 0; or sharing memory with an operand where it takes the one gemm call). One gemm
    call where MKL is asked for and takes the product, or from MATMUL_MIN multiply-adds with a
    c of ACCUMULATE_MIN elements (NumPy's own OpenBLAS); else NumPy's product (or
    product_of(a, b), the caller's own: numba_matvec's), c scaled by beta, and the sum, in
    place."""
    dtype = c.dtype
    if beta == 0.0 or a.ndim != 2 or b.ndim != 2 or c.ndim != 2:
        return False  # (beta = 0: BLAS would ignore c, where 0 * NaN is NaN in NumPy)
    # Every shape read once: each .shape is a new tuple, and these checks were 3.5 us of a
    # small weight's 7 us update.
    (m, k), (k2, n) = a.shape, b.shape
    flags = c.flags
    if not (k == k2 and c.shape == (m, n) and a.dtype == dtype and b.dtype == dtype and dtype.kind == "f"
            and dtype.itemsize in (4, 8) and flags.c_contiguous and flags.writeable):
        return False
    work = m * k * n
    found = _mkl_for(a, b) if work > MNK_THRESHOLD and product_of is None else None
    # (While numba's threads work, a product OpenBLAS would thread goes through numpy_product's
    # single-thread blocks instead: _keep_single_thread.)
    if (found is None and product_of is None and work >= MATMUL_MIN and m * n >= ACCUMULATE_MIN
            and not _keep_single_thread(work)):
        found = _numpy_openblas().get(dtype)
    if found is not None and m * n:
        if np.may_share_memory(c, a) or np.may_share_memory(c, b):
            return False  # (gemm would write c while it reads them)
        _call(found, alpha, a, b, beta, c)
        return True
    # The product is a new array before c changes: c may share memory with a or b here (the
    # checks cost 1.3 us, a quarter of a small weight's update).
    product = numpy_product(a, b, work) if product_of is None else product_of(a, b)
    scale = alpha if type(alpha) is dtype.type else dtype.type(alpha)  # (the conversion: 0.6 us)
    if beta == 1.0:  # a weight's update: one loop for NumPy's two calls (2.4 -> 0.6 us small)
        kernels.add_scaled(c, product, scale)
        return True
    if alpha != 1.0:
        product *= scale
    c *= dtype.type(beta)  # (as the reference: alpha * dot and beta * c rounded, then added)
    c += product
    return True
