"""The Numba CPU backend (the default): fused elementwise loops and fused reductions run as
generated Numba kernels; matrix products call BLAS (NumPy's, or MKL's when asked for:
blas.py); shape ops are NumPy views.

Lowerings are registered per op class with functools.singledispatch. `lower(op, node)`
returns a thunk `callable(list of input arrays) -> list of outputs`. An op without a
lowering runs its NumPy `perform`, with a one-time warning; NATIVE lists the op classes
lowered on purpose (a test checks it covers every op of the public API).

fastmath is off: NaN and Inf behave as in NumPy. Opt in with SYMGRAPH_FASTMATH=1 (kernels
may then reorder floating-point sums and assume no NaN/Inf).
"""
import functools
import math
import sys
import typing

import numpy as np
from numba import get_num_threads

from ..config import config
from .executor import compile_program, quiet_off, quiet_on, warn_no_kernel
from .numba_fast_calls import SPREAD_MIN, fast_call, single_values_call
from .numba_matvec import MatVecThunk, one_column_or_row
from . import blas, heap, numba_blas, numba_blocks, numba_conv, numba_program, numba_siblings, numba_taps, numba_tiled_conv
from . import numba_codegen as codegen
from . import numba_kernels as kernels
from . import numba_random as draws
from .numba_rows import blocked, column_kernel, crossentropy_kind, row_kernel
from .numba_padded import has_padded_rows
from .einsum_products import ProductEinsum
from .numba_scan import ScanThunk
from .numba_stream import STREAMS
from ..ops.elemwise import Elemwise, TABLE, cast_scalar_op
from ..ops.composite import Composite, CompositeReduce, cast_output, folds_of_one
from ..ops.einsum import Einsum
from ..ops.ifelse import IfElse
from ..ops import linalg, nlinalg, decompositions, special, extra_ops, selection, sorting, reduce as R, index as I, nn as N, random as RND, loop, conv, scan as scan_ops
from ..ops.shape import (Shape, MakeVector, Reshape, DimShuffle, Concatenate, BroadcastTo, Alloc, ARange,
                         Eye, Repeat, Tile, StopGradient)

heap.tune()  # large arrays reused from the heap, not mapped afresh per call (heap.py)
_FLOAT32 = np.dtype(np.float32)


@functools.singledispatch
def lower(op, node):
    """No native lowering: run the op's NumPy reference (warned once per op class)."""
    warn_no_kernel("numba", op)
    return functools.partial(op.perform, node)


def _reference(op, node):
    return functools.partial(op.perform, node)


# Ops whose NumPy implementation is already the right kernel: views for shape ops, index
# bookkeeping. Dot, Gemm and Matmul go through blas.py (np.dot, or MKL's gemm when asked for),
# as do the convolutions' products; random draws, cumsum and argmax have loops of their own below.
BY_NUMPY = (R.SumToShape, Shape, MakeVector, BroadcastTo, Alloc,
            ARange, Eye, StopGradient, N.CategoricalCrossentropy, loop.Map,
            nlinalg.MatrixInverse, nlinalg.Det, nlinalg.SLogDet, nlinalg.Solve, nlinalg.SolveTriangular,
            nlinalg.Pinv, nlinalg.Expm, nlinalg.Lstsq, decompositions.Cholesky, decompositions.Eigh, decompositions.SVD,
            decompositions.QR,  # (LAPACK through NumPy and SciPy)
            special.Special,  # (SciPy's C loops)
            extra_ops.BinCount, extra_ops.SearchSorted,
            extra_ops.UnravelIndex, extra_ops.RavelMultiIndex, extra_ops.Unique, extra_ops.SpecifyShape,
            selection.NonZero,  # (NumPy's calls)
            conv.MaxPoolPick,  # (NumPy's windows: second derivatives only)
            sorting.Sort, sorting.ArgSort,  # (NumPy's sorts)
            linalg.Diagonal,  # (a copy of NumPy's strided view)
            IfElse)  # (a choice of one value: no arithmetic)
for _cls in BY_NUMPY:
    lower.register(_cls)(_reference)


@lower.register(DimShuffle)
def _lower_dimshuffle(op, node):
    """A view, written into the program as NumPy's expression for it (x.T, x[:, None]): a
    thunk's call cost 0.7 us, a training step has several (the transposes of its products'
    operands, the expansions of its row sums)."""
    thunk = _reference(op, node)
    thunk.expression = op.expression
    return thunk


@lower.register(linalg.Dot)
def _lower_dot(op, node):
    reference = _reference(op, node)
    if _float32_vector_dot(node):
        return VectorDotThunk(node, reference)
    if _matrix_vector_dot(node):
        return MatVecThunk(*node.inputs, node.outputs[0].dtype, reference)
    dtype = np.dtype(node.outputs[0].dtype)
    if node.inputs[0].ndim == node.inputs[1].ndim == 1:
        def vector_dot(inputs):
            a, b = inputs
            if a.dtype is not dtype or b.dtype is not dtype:
                return reference(inputs)
            return [_dot_into_a_number(a, b, dtype)]
        return vector_dot
    if node.inputs[0].ndim != 2 or node.inputs[1].ndim != 2:
        return reference  # other vector products: np.dot's BLAS call as it is

    def dot(inputs):
        a, b = inputs
        if a.dtype is not dtype or b.dtype is not dtype:
            return reference(inputs)
        return [blas.product(a, b)]
    return dot


def _float32_vector_dot(node):
    return isinstance(node.op, linalg.Dot) and all(v.ndim == 1 and v.dtype == "float32" for v in node.inputs)


def _matrix_vector_dot(node):
    """A Dot or Gemm whose product numba_matvec runs (one_column_or_row)."""
    if isinstance(node.op, linalg.Dot):
        return node.outputs[0].dtype == node.inputs[0].dtype and one_column_or_row(*node.inputs)
    return isinstance(node.op, linalg.Gemm) and one_column_or_row(*node.inputs[1:])


class VectorDotThunk:
    """x @ y of two float32 vectors: from PARALLEL_THRESHOLD values the fused multiply-sum on
    all cores (ReduceThunk: float32 partial sums, float64 totals), where OpenBLAS's sdot runs
    on one (2^20 values 0.27 -> 0.15 ms); below, np.dot. Its graph does not count as calling
    BLAS for that (compile_graph): sdot leaves no threads spinning."""

    def __init__(self, node, reference):
        self.reference = reference
        a, b = node.inputs
        product = Composite([(TABLE["mul"], (("in", 0), ("in", 1)), "float32")], [0], 2)
        fold = CompositeReduce(product, "sum", (0,), False)
        self.fold = ReduceThunk(fold, fold.make_node(a, b))
        self.threshold = codegen.PARALLEL_THRESHOLD

    def __call__(self, inputs):
        a, b = inputs
        if a.dtype is not _FLOAT32 or b.dtype is not _FLOAT32:
            return self.reference(inputs)
        if a.size >= self.threshold and a.shape == b.shape:
            return self.fold.call(inputs)
        return [_dot_into_a_number(a, b, _FLOAT32)]


def _dot_into_a_number(a, b, dtype):
    """np.dot of two vectors of `dtype` into a 0-d array of it, not the op's perform (its
    np.asarray of np.dot's number): 100 float32 values 1.6 -> 1.0 us. (np.dot returns a number
    even given the output; the graph's values are arrays.)"""
    out = np.empty((), dtype)
    np.dot(a, b, out)
    return out


@lower.register(linalg.Matmul)
def _lower_matmul(op, node):
    dtype = np.dtype(node.outputs[0].dtype)

    def matmul(inputs):
        return [stack_product(inputs[0], inputs[1], dtype)]
    return matmul


def stack_product(a, b, dtype):
    """np.matmul(a, b) as `dtype`. A stack times one matrix as one product of the stack's rows (a
    BLAS call, where np.matmul made one per matrix: (64, 32, 100) @ (100, 50) float32 130 ->
    83 us); two stacks of one batch, each product from BATCH_PRODUCT_WORK multiply-adds, with
    their products split over numba's threads where those are free (np.matmul ran float32 ones
    on one core: 32 x 64x64 @ 64x64 93 -> 52 us; smaller ones, 256 x 16x16 @ 16x16, lost:
    NumPy's own loop). Other operands: np.matmul."""
    if a.dtype is dtype and b.dtype is dtype and dtype.kind == "f":
        if b.ndim == 2 and a.flags.c_contiguous:
            if a.ndim == 2:  # (no reshape: a view's result is copied for the caller, Function._own)
                return blas.product(a, b)
            rows = math.prod(a.shape[:-1])  # (not -1: ambiguous where a has no columns)
            return blas.product(a.reshape(rows, a.shape[-1]), b).reshape(a.shape[:-1] + (b.shape[1],))
        if a.ndim == 3 and b.ndim == 3 and a.shape[1] * a.shape[2] * b.shape[2] >= BATCH_PRODUCT_WORK \
                and a.shape[0] == b.shape[0] > 1 and numba_conv.batch_takes(a, b):
            out = np.empty((a.shape[0], a.shape[1], b.shape[2]), dtype)
            with numba_conv.products_on_their_threads(a.shape[1] * a.shape[2] * b.shape[2]):
                numba_blas.blocks_of()[2](np.ascontiguousarray(a), np.ascontiguousarray(b), out)
            blas.note_numba_threads(a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2])
            return out
    out = np.matmul(a, b)
    return out if out.dtype is dtype else out.astype(dtype)


BATCH_PRODUCT_WORK = 1 << 15


@lower.register(Einsum)
def _lower_einsum(op, node):
    """einsum of two operands of the result's float dtype, each letter one axis, as one product
    (einsum_products, by stack_product: Matmul's); others NumPy's einsum."""
    reference, dtype = _reference(op, node), np.dtype(node.outputs[0].dtype)
    plan = ProductEinsum.of(op.inputs, op.output) if dtype.kind == "f" else None
    if plan is None:
        return reference

    def product(a, b):
        return stack_product(a, b, dtype)

    def einsum(inputs):
        a, b = inputs
        out = plan(a, b, product) if a.dtype is dtype and b.dtype is dtype else None
        return reference(inputs) if out is None else [out]
    return einsum


@lower.register(linalg.Gemm)
def _lower_gemm(op, node):
    reference = _reference(op, node)
    dtype = np.dtype(node.outputs[0].dtype)
    # A product of one column or row (a Dense(1) layer's, its weights' gradient) by
    # numba_matvec's loops, its thunk kept on the node for compile_graph's `on_threads`.
    matvec = MatVecThunk(*node.inputs[1:], dtype) if _matrix_vector_dot(node) else None
    product_of = None if matvec is None else matvec.product  # (None: blas.py's choice, MKL's too)
    product = product_of or blas.numpy_product  # (with NumPy's BLAS)

    alpha = dtype.type(op.alpha)  # (converted once, not per call)
    row_kernel = op.beta == 1.0 and (op.alpha == 1.0 or dtype.kind == "f")

    def gemm(inputs):
        c, a, b = inputs
        # Most calls: a layer's x @ w + b with NumPy's BLAS, decided in a few checks (1.9 us
        # for a batch of 32 where the general path took 2.6), the bias (b, or Theano's
        # b.dimshuffle('x', 0)) added to each row by one loop; then any bias that adds into
        # the product, scaled or not (a 0-d or a row's bias went to the reference: np.dot, then
        # np.broadcast_shapes; x @ w + 1 of 16x16 matrices 5.1 us, NumPy's 1.4).
        if a.dtype is dtype and b.dtype is dtype and c.dtype is dtype and a.ndim == 2 and b.ndim == 2 \
                and config.blas == "numpy":
            row = c if c.ndim == 1 else c[0] if c.ndim == 2 and c.shape[0] == 1 else None
            if row_kernel and row is not None and row.shape[0] == b.shape[1]:
                out = product(a, b)
                if row.flags.c_contiguous and out.flags.c_contiguous:
                    kernels.add_row(out, alpha, row)
                    return [out]
                return [blas.scaled_sum(out, op.alpha, c, 1.0)]
            if blas.adds_into(c.shape, a.shape[0], b.shape[1]):
                return [blas.scaled_sum(product(a, b), op.alpha, c, op.beta)]
        out = blas.gemm(op.alpha, a, b, op.beta, c, dtype, product_of)
        return [out] if out is not None else reference(inputs)

    def gemm_into_c(inputs):
        c, a, b = inputs
        return [c] if blas.accumulate(alpha, a, b, c, op.beta, product_of) else gemm(inputs)

    def check(inputs):
        """Raise what the product and the sum would (the executor asks before the first write
        into a weight: see executor.input_writers)."""
        c, a, b = inputs
        if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
            raise ValueError(f"shapes {a.shape} and {b.shape} not aligned for a matrix product")
        if c.shape != (a.shape[0], b.shape[1]):
            np.broadcast_shapes(c.shape, (a.shape[0], b.shape[1]))
    gemm_into_c.check = check
    thunk = gemm_into_c if op.inplace else gemm
    thunk.matvec = matvec
    return thunk


# Below this many elements, ops whose NumPy reference is already one vectorized call (a
# reduction of a whole stored array) run NumPy's: 1.4 us for a 128x10 sum against the loop's
# 2.2 (its Python around the kernel). A reduction along some axes only runs NumPy's below
# PARTIAL_REDUCE_BY_NUMPY: NumPy's float32 loop along or across short rows is slow (a 256x10
# sum over either axis 4.5-5 us, the kernel 2.5-3; max along the rows 14 against 3.9; a
# 32x10 or 32x32 sum the same 2.7 us each way, 8x4 2.1 against 2.6).
# Softmax and crossentropy rows compile their loop at their first call, as the rest of a
# function does (NumPy's softmax is five passes: 512x10 46 us, the loop 10). Until the
# thirteenth session they ran NumPy's on the first call and compiled at the second, so that a
# function called once skipped the compile (a training step's cold first call 0.6-0.8 s
# shorter), but a step timed after one warm-up call then timed that compile (64-32-10 at batch
# 32: 0.9-2.6 s at the second call, against 30-60 us a step). Cold, a 64-32-10 step's first
# call is now 2.5-3.3 s and compile_time.py's cold figure 2.6-3.6 s (2.2-4.3 in the fourteenth
# session, a median 0.4 s lower alternating: gc_pause, numba_calls); with numba's disk cache, ms.
# Tried and dropped: compiling the loop in a child process (numba_elsewhere) while NumPy's ran:
# the demo's convnet step, timed after two warm-up calls, took 7.9 ms instead of 1.1 (the
# reference, and the child on the core its kernels use). And compiling a new function's row
# loops in a child from its creation, waited for at the second call: a 64-32-10 step's second
# call (cold cache) 1.8 -> 1.1 s, but the MLP's first call 1.5 -> 1.9 s (the child on the other
# core slowed numba here; a spinning child did not) and its second 2.7 -> 2.1-2.8 (the child
# alone takes 3.7-4.5 s: 0.8-0.95 s to start, numba's first compile, then the loops).
SMALL_BY_NUMPY = 1 << 14
# Reductions over axes on both sides of a kept one go in two folds (ReduceThunk._in_two_folds)
# from this many values, the rows folded first this long at least.
SPLIT_FOLDS_MIN = 1 << 19
SPLIT_ROWS_MIN = 256
PARTIAL_REDUCE_BY_NUMPY = 1 << 8
# A whole float array's sum or product takes the loop from this many elements (NumPy's
# product does not vectorize). The thunk alone, alternating in one process: float64 sum 2048
# 5.7 -> 4.6 us, 8192 8.4 -> 5.6; float32 sum 8192 8.9 -> 6.5; float64 product 8192 19 -> 5.8.
# Arrays of more dimensions and means joined once the common call was written for them
# (ReduceThunk._write_whole_call): a whole mean takes the loop at any size, NumPy's mean
# being Python around a sum (float32 of 100 values 2.6 us, a function's call of the loop 1.7;
# 100x100: 4.7, 2.3), a 100x100 float32 sum 3.2 -> 2.3 us (NumPy's call 2.3). From 1 element
# since the thirty-third session: a function of a sum, NumPy's path against the loop, 1 to 2047
# values (AMD EPYC): float32 sum 4.7-4.9 -> 3.8-4.0 us, float64 sum 3.0-3.8 -> 2.2-2.5, float32
# product 3.0-5.2 -> 2.3-3.8, float64 2.9-5.2 -> 2.2-2.5 (NumPy's path also silences warnings
# and makes the 0-d result). An empty array's stays NumPy's.
VECTOR_SUM_BY_NUMPY = 1
# A whole float array's max or min runs NumPy's below this many bytes. The loop's fold is
# LLVM's NaN-propagating maximum, several instructions a vector on x86 (it also orders -0.0
# below 0.0), where NumPy's SIMD loop checks for NaN apart: on data in cache NumPy's took half
# the time (float32: 3.6 against 7.9 us at 10^4 elements, 9.4 against 16.9 at 2^17; float64 at
# 2^17 17.6 against 24.0), and from 1.5 MB on the loop's parallel read wins (float32 at 3*2^17
# 42 against 37 us, float64 at 2^18 71 against 47). Fused forms (abs(x).max()) keep the loop.
# Tried and dropped: llvm.minnum, as fast as NumPy alone, stops vectorizing with a NaN check or
# a NaN-propagating sum beside it in the same loop (300 us for 10^5); a second pass costs as much.
MINMAX_BY_NUMPY_BYTES = 5 << 18


# A convolution whose windows hold at most this many values (channels x kernel: a first layer
# on gray or RGB images, 3x3 or 5x5) takes its products image by image, NumPy's stacked matmul
# (each small enough for one OpenBLAS thread): forward, the output in place without the
# transposed copy of one product's; the filters' gradient, the images' products summed without
# a transposed copy of the output's gradient. As one product each, OpenBLAS took such a thin
# matrix (9 or 27 rows) 2-3x longer: 64 gray 28x28 images, 16 3x3 filters, forward 427 -> 201
# us, filters' gradient 776 -> 251; 27 values (RGB 3x3) 1.4x and 1.8x; 48 even; 75 and 144
# (16 channels) lost 0.65-0.96x as stacks.
FEW_TAPS = 32
# The batched path builds the window matrix for this many bytes of images at a time (at least
# one image). Built for the whole batch it grew with it and left the caches: Keras's mnist_cnn
# (conv32-conv64-pool-dense128, whose dense product keeps BLAS's threads awake, so its
# convolutions stay batched) trained at batch 128 in 133 ms, 84 in slices; predict() at batch
# 256 took 344 us an image, 206 in slices (181 at batch 32), and its peak memory 1.4 -> 0.6 GB.
# Slices of 2 MiB lost (94 ms), 4-16 MiB ran alike.
WINDOW_MATRIX_BYTES = 8 << 20
# Outputs from this size on are reused by the next call once nobody holds them (the
# allocator hands large arrays back to the OS when they are freed, and maps fresh pages).
RECYCLE_BYTES = 1 << 20
# A flat loop's output from this size on is written with non-temporal stores (numba_stream),
# past the caches: a normal store first reads each line it writes. x * w + b over float32,
# streamed against not (alternating in one process, 2 cores): 4M 1.02x, 6M 1.14x, 10M 1.40x;
# float64 4M 1.42x; the fused chain at 10M 1.04-1.05x, exp 1.18x. Smaller outputs lose where
# the next node reads them back from memory instead of the cache: cumsum(x * w + b) at 1M
# float32 0.68x, 2.5M 0.60x, 3M 0.94x, from 4M (16 MB) on 1.01-1.12x. A loop with much to
# compute on each element (codegen.prefetches) also prefetches its inputs (numba_codegen.
# PREFETCH_AHEAD). Loops of costlier functions (element cost above 3) did not stream: they lost
# by it on an AMD EPYC (float64 cbrt 0.73-0.92x, arcsinh 0.88-0.93x). On the Emerald Rapids VM,
# against not streamed (alternating, 10^7 values): streamed alone float64 log 1.09-1.13x,
# cbrt 1.07-1.11x, exp(x) * log(|w|) 1.04-1.11x, the fused chain 1.04-1.05x, erf 0.98x;
# streamed and prefetched, over eight runs in spells of slow and fast memory and slow arithmetic,
# log 1.08-1.79x, cbrt 1.09-1.77x (0.73x once), softplus 0.98-1.23x, erf 1.02-1.21x, the
# fused chain 0.94-1.14x. So every loop streams but the range-checked forms (sin, cos, tan;
# float division and mod; numba_codegen._RangeChecked: 0.90-0.96x), which may run twice.
STREAM_MIN_BYTES = 16 << 20
# A costly loop's strided inputs (x[::2]) from this size are copied first (ElementwiseThunk._plan).
STRIDED_COPY_MIN = 1 << 12
# Below the parallel threshold a transposed input is read through stack tiles (numba_codegen.
# _tiled_lines) from this size: read in place, rows a multiple of TILED_ROW_BYTES apart fall on
# few cache sets (x * y.T float32: 256x256 97 -> 40 us, 128x128 24.5 -> 10.7, 256x64 22.4 ->
# 10.1, 32x1000 27.7 -> 17.8, float64 alike). Other rows a cheap loop read in place faster
# until the tiles' rows were read as slices (61st session; sg.function, us, in place / tiled,
# NumPy's: float32 200x200 14.8 / 12.4, 17.5; 300x300 39.4 / 28.3, 44.0; 360x360 58.1 / 37.5,
# 63.0; float64 even, 300x300 46.2 / 47.5). A costly loop (exp(y.T) + x, tanh(x * y.T)) copies
# those to C order first, serial or parallel: its flat loop's long rows beat the tiles' short
# ones (us, tiled / copied: float32 360x360 44.2 / 38.2, 1000x1000 333 / 280; float64 600x600
# 362 / 288, 1000x1000 1476 / 1160); where rows fall on few sets it tiles (256x256 23 / 47).
SERIAL_TILED_MIN, TILED_ROW_BYTES = 1 << 14, 128
# An elementwise result of a transposed matrix that a reshape reads is written C-ordered by the
# tiled loop up to this many values, so that the reshape is a view: (x.T * 2).reshape(-1), us,
# against the loop in x's order then the reshape's transposed copy: float32 100x100 4.7 / 9.6,
# 300x300 21.7 / 30.0, 500x500 38.8 / 46.8; float64 100x100 5.8 / 11.2, 500x500 52 / 75. From
# 1000x1000 the two parallel passes were faster (float32 152 / 182, float64 557 / 728).
RESHAPED_TILED_MAX = 1 << 18


def _tiled_reads(inputs, shape, threshold, costly, always=False):
    """For a transposed matrix beside C-ordered ones (x * y.T, a + a.T), a flag an input: read
    through stack tiles, the loops walking tiles (codegen._tiled_lines); None where the loops
    read every input in place (or a costly loop's plan copies it first). Parallel loops
    (`threshold`) and serial ones from SERIAL_TILED_MIN values tile, a costly loop only where
    the rows are TILED_ROW_BYTES apart; `always`: a result written C-ordered for a reshape."""
    transposed = tuple(a.ndim == 2 and a.shape == shape and not a.flags.c_contiguous and a.T.flags.c_contiguous
                       for a in inputs)
    if len(shape) != 2 or not any(transposed):
        return None
    if always:
        return transposed
    few_sets = all(a.strides[1] % TILED_ROW_BYTES == 0 for a, t in zip(inputs, transposed) if t)
    if math.prod(shape) >= min(threshold, SERIAL_TILED_MIN) and (few_sets or not costly):
        return transposed
    return None


class SpareOutput:
    """New outputs of one dtype for a node; a large one is the last call's again when nothing
    holds it any more (the caller dropped it: its reference count is then this object's
    attribute's, new's local's and getrefcount's). A new large array is new pages, which the
    OS maps and zeroes at the first write: 3.1 of the fused chain's 11.2 ms over 10^7 float32."""

    def __init__(self, dtype):
        self.dtype, self.spare = np.dtype(dtype), None

    def new(self, shape):
        spare = self.spare
        if spare is not None and sys.getrefcount(spare) == 3 and spare.shape == shape:
            return spare
        out = np.empty(shape, self.dtype)
        if out.nbytes >= RECYCLE_BYTES:
            self.spare = out
        return out


class ElementwiseThunk:
    """Runs a Composite as one generated loop: the flat kernel when every input has the
    output's shape (and C order), else the broadcast kernel for the inputs' shapes."""

    def __init__(self, composite, node):
        self.composite, self.node = composite, node
        self.in_dtypes = tuple(v.dtype for v in node.inputs)
        self.out_dtypes = [np.dtype(v.dtype) for v in node.outputs]
        self.single = len(node.outputs) == 1
        self.ndim = node.outputs[0].ndim
        # A kernel with range-checked forms may run twice (see numba_codegen._RangeChecked).
        self.inplace = None if codegen.uses_checked_forms(composite, self.in_dtypes) else composite.inplace
        self.threshold = codegen.parallel_threshold(composite)
        self.costly = codegen.costly(composite)
        self.any_stride = self.ndim == 1 and not self.costly  # (a strided input of a costly loop: see _plan)
        # Inputs that may come spread by a stride of 0 (a mean's gradient seed): even a cheap
        # loop ran them a value at a time (see _broadcast_cuts); checked where any stride goes.
        self.spread = tuple(i for i, v in enumerate(node.inputs) if v.ndim and _may_be_spread(v)) if self.any_stride else ()
        # Inputs 0-d by their type beside arrays (x * s, a shared learning rate): the flat
        # kernels read each as one value, so the common call needs no plan (x * s over 4 float32
        # looked its plan up by the layout, 1.19 us at the node, 0.75 for x * y).
        self.singles = tuple(i for i, v in enumerate(node.inputs) if v.ndim == 0) if self.ndim else ()
        self.first_array = next((i for i in range(len(node.inputs)) if i not in self.singles), 0)  # (its shape the output's)
        self.flat_mask = tuple(i in self.singles for i in range(len(node.inputs)))
        self.flat = {}  # (parallel, aliased input) -> kernel for inputs of the output's shape and singles
        self.kernels = {}
        self.plans = {}  # (shapes, strides) of other inputs -> how to loop over them
        self.first_outputs = SpareOutput(self.out_dtypes[0])
        self.recycled_from = RECYCLE_BYTES // self.out_dtypes[0].itemsize  # (elements)
        self.may_stream = STREAMS and self.single and not codegen.uses_checked_forms(composite, self.in_dtypes)
        self.call = self._first_call  # what the executor's program calls: see _write_fast_call
        # Whether the outputs may come in another layout than C order: where their readers take
        # any (compile_graph decides; a convolution's would copy them back).
        self.any_layout = False
        # Whether a reshape reads the outputs (compile_graph; see _plan's c_ordered_out).
        self.reshaped = False

    def _first_call(self, inputs):
        self._write_fast_call()  # (not in __init__: a graph calling BLAS sets the threshold after)
        return self.call(inputs)

    def split_alone(self):
        """The threshold of a loop that is its graph's one node (compile_graph): from
        PARALLEL_BYTES read and written a value (an input given twice, x * x, read once; one
        of fewer axes or of a static length 1, a bias row, from the caches), at most the
        threshold it had. Serial / two cores, us: x * y float32 of 65536 8.2 / 5.8, float64 of
        24576 7.2 / 5.7; x * 2 float64 of 24576 5.5 / 5.2 (see PARALLEL_THRESHOLD for graphs
        of several)."""
        streamed = {v for i, v in enumerate(self.node.inputs)
                    if i not in self.singles and v.ndim == self.ndim and 1 not in v.type.shape}
        value_bytes = sum(d.itemsize for d in self.out_dtypes) + sum(np.dtype(v.dtype).itemsize for v in streamed)
        self.threshold = min(self.threshold, codegen.PARALLEL_BYTES // value_bytes)

    def _write_fast_call(self):
        """self.call becomes a function written for the common call (numba_fast_calls), with
        the flat kernels as they are now (a call that compiles one writes it again), this
        method's checks for everything else."""
        if not self.in_dtypes:
            self.call = self.__call__
            return
        self.call = fast_call(self.__call__, self.flat.get((False, None)), self.flat.get((True, None)),
                              self.flat.get((False, self.inplace)), len(self.in_dtypes), self.ndim,
                              not self.any_stride, self.spread, self.inplace, np.empty, self.out_dtypes,
                              min(self.threshold, self.recycled_from), self.recycled_from, self.plans, self._general,
                              self.singles)

    def _outputs(self, inputs, shape):
        """The output arrays, and the input the first one overwrites (None if none)."""
        alias = self.inplace
        if alias is not None:
            target = inputs[alias]
            if not (target.shape == shape and target.flags.c_contiguous and target.flags.writeable):
                alias = None
        return self._new_outputs(inputs, shape, alias), alias

    def _new_outputs(self, inputs, shape, alias):
        first = self.first_outputs.new(shape) if alias is None else inputs[alias]
        return [first] + [np.empty(shape, d) for d in self.out_dtypes[1:]]

    def __call__(self, inputs):
        """Every call the written one (self.call, numba_fast_calls) hands back: a first call,
        outputs from the recycling size on, parallel sizes of a node that may write into an
        input; inputs of other shapes or layouts without a plan yet go to _general."""
        shape = inputs[self.first_array].shape
        any_stride, singles = self.any_stride, self.singles
        for i, a in enumerate(inputs):
            if i not in singles and (a.shape != shape or not (any_stride or a.flags.c_contiguous)):
                return self._general(inputs)
        for i in self.spread:
            if not inputs[i].strides[0] and inputs[i].size >= SPREAD_MIN:
                return self._general(inputs)
        alias = self.inplace
        if alias is not None:
            flags = inputs[alias].flags
            if not (flags.writeable and flags.c_contiguous):
                alias = None
        return self._flat_call(inputs, shape, inputs[self.first_array].size >= self.threshold, alias)

    def _flat_call(self, inputs, shape, parallel, alias):
        outs = self._new_outputs(inputs, shape, alias)
        stream = self._streams(outs[0], parallel, alias)
        key = "stream" if stream else (parallel, alias)
        kernel = self.flat.get(key)
        if kernel is None:
            kernel = codegen.flat_kernel(self.composite, self.in_dtypes, self.flat_mask, parallel, alias, stream)
            kernel(*[o.reshape(-1) for o in outs], *[a.reshape(-1) for a in inputs])
            # Once a call went through (any damaged disk-cache entry replaced), call numba directly.
            self.flat[key] = kernel.dispatcher
            self._write_fast_call()
        else:
            kernel(*[o.reshape(-1) for o in outs], *[a.reshape(-1) for a in inputs])
        return outs

    def _streams(self, out, parallel, alias):
        """Whether a flat loop writes `out` with non-temporal stores (see STREAM_MIN_BYTES)."""
        return self.may_stream and parallel and alias is None and out.nbytes >= STREAM_MIN_BYTES

    def _general(self, inputs):
        """Inputs of different shapes or layouts. The way to loop over them is worked out once
        per (shapes, strides) and kept: working it out took 9 of a small call's 10 us."""
        layout = tuple([a.shape for a in inputs] + [a.strides for a in inputs])
        plan = self.plans.get(layout)
        if plan is None:
            if len(self.plans) >= 64:  # shapes that change every call (a growing sequence)
                self.plans.clear()
            plan = self.plans[layout] = self._plan(inputs)
        return plan(inputs)

    def _plan(self, inputs):
        cuts = _broadcast_cuts(inputs)
        if cuts is not None:  # (each call's inputs cut alike: the plan is per layout)
            run = self._plan(_cut(inputs, cuts))
            return lambda inputs: run(_cut(inputs, cuts))
        strided = [i for i, a in enumerate(inputs) if self.costly and a.size >= STRIDED_COPY_MIN and all(a.strides)
                   and not a.flags.c_contiguous and not a.T.flags.c_contiguous and not has_padded_rows(a)
                   and not has_padded_rows(a.T)]
        if strided:
            # A strided view (x[::2], m[:, ::2]) is typed A by numba: no vector loads, and a
            # loop calling exp or tanh ran scalar, 9 ms for 4M float32 (NumPy's 6.4). Copied
            # first (0.9 ms on both cores) the loop vectorizes.
            return self._copying(inputs, strided)
        whole = self._whole_and_single_values(inputs)
        if whole is not None:  # e.g. Adam's update: arrays of one shape and a 0-d step size
            shape, mask = whole
            return self._with_single_values(functools.partial(self._run_flat, shape, mask, False, ()), shape, mask)
        # Read by a reshape, a transposed matrix's result is written C-ordered by the tiled loop
        # (the reshape then a view), up to RESHAPED_TILED_MAX values; else in its memory order.
        common = _common_shape(inputs)
        c_ordered_out = self.reshaped and math.prod(common) <= RESHAPED_TILED_MAX
        tiles = _tiled_reads(inputs, common, self.threshold, self.costly, c_ordered_out)
        c_ordered_out = c_ordered_out and tiles is not None
        whole = None if c_ordered_out else self._whole_and_single_values([a.T for a in inputs])
        if whole is not None:  # e.g. exp(x.T): walk memory in order; out in x's layout, as NumPy does
            shape, mask = whole
            return self._resolved(functools.partial(self._run_flat, shape, mask, True, ()), shape, True,
                                  lambda: self._flat_kernel(mask, shape))
        if not c_ordered_out and self.ndim == 2 and _transposed_rows_apart(inputs, common):
            # e.g. x[::2].T + 1: the loop over the transposed views, whose rows (x's, apart) it
            # reads as padded rows; out in their layout, as NumPy's (2000x1000 float32 0.36 ms
            # read across the rows, NumPy 0.23)
            run_transposed = self._plan([a.T for a in inputs])
            return lambda inputs: [o.T for o in run_transposed([a.T for a in inputs])]
        transposed = [i for i, a in enumerate(inputs) if self.costly and a.size >= STRIDED_COPY_MIN
                      and not a.flags.c_contiguous and a.T.flags.c_contiguous and not (tiles and tiles[i])]
        if transposed:
            # A transposed matrix beside other layouts (exp(y.T) + x, tanh(y.T + b)): the loops
            # read it across its rows, as a strided view above, and exp ran scalar: 500x500
            # float32 1.14 ms, NumPy 1.03, exp(y.T) alone 0.11. Copied to C order first (the
            # tiled transpose, on both cores when large) the loop vectorizes. (The tiled loop
            # takes it where its rows fall on few cache sets: _tiled_reads.)
            return self._copying(inputs, transposed)
        order = _shared_memory_order(inputs) if self.ndim > 2 and self.any_layout else None
        if order is not None:  # e.g. x.transpose(2, 0, 1) * 2, NHWC seen as NCHW: as x.T above
            whole = self._whole_and_single_values([_permuted(a, order) for a in inputs])
            if whole is not None:
                shape, mask = whole
                return functools.partial(self._run_permuted, shape, mask, order, tuple(np.argsort(order)))
        shape = _common_shape(inputs)
        # A value broadcast to a whole array (all strides 0), or a 0-d one, is one number.
        singles = [i for i, a in enumerate(inputs) if a.ndim == 0 or (a.size > 1 and not any(a.strides))]
        inputs = [_one_value(a) for a in inputs]
        mask = tuple(a.size == 1 for a in inputs)
        if all(m or (a.flags.c_contiguous and a.shape == shape) for m, a in zip(mask, inputs)):
            return functools.partial(self._run_flat, shape, mask, False, singles)
        if not c_ordered_out and all(m or (a.T.flags.c_contiguous and a.shape == shape) for m, a in zip(mask, inputs)):
            # e.g. a transposed view times a broadcast gradient seed: memory order, as above
            # (a C-ordered output read the view across its rows, and reshaping it later copied:
            # 18 ms for 4096x512 where NumPy takes 0.6)
            return functools.partial(self._run_flat, shape[::-1], mask, True, singles)
        merged_shapes = None if singles or math.prod(shape) < MERGE_AXES_FROM else _merged_axes(inputs, shape)
        if merged_shapes is not None:  # e.g. x - mean over (0, 2, 3) of NCHW x: (N, C, H*W) loops
            run = self._plan([a.reshape(m) for a, m in zip(inputs, merged_shapes)])

            def unmerged(inputs):
                return [o.reshape(shape) for o in run([a.reshape(m) for a, m in zip(inputs, merged_shapes)])]
            return unmerged
        patterns = tuple(tuple(n == 1 for n in a.shape) for a in inputs)
        parallel = math.prod(shape) >= self.threshold
        tiled = _tiled_reads(inputs, shape, self.threshold, self.costly, c_ordered_out)
        rows_apart = () if tiled else _rows_apart(inputs)
        run = functools.partial(self._run_broadcast, shape, patterns, parallel, singles, tiled, rows_apart)
        if singles:
            return run
        key = ("tiled", patterns, tiled) if tiled else ("broadcast", patterns, parallel, rows_apart)
        return self._resolved(run, shape, False, lambda: self.kernels[(*key, None)])

    def _copying(self, inputs, copied):
        """The plan for inputs whose `copied` ones are made C-ordered first (c_ordered)."""
        run = self._plan([np.ascontiguousarray(a) if i in copied else a for i, a in enumerate(inputs)])
        threshold = self.threshold
        return lambda inputs: run([c_ordered(a, threshold) if i in copied else a for i, a in enumerate(inputs)])

    def _with_single_values(self, run, shape, mask):
        """run(inputs) for C-ordered arrays of the output's shape beside single values (x / x.sum(),
        a shared 0-d learning rate), or for small outputs a function written for it
        (numba_fast_calls.single_values_call) calling the kernels directly."""
        if math.prod(shape) >= self.recycled_from:
            return run
        alias = None if self.inplace is None or mask[self.inplace] else self.inplace

        def kernel_of(into):
            return self._flat_kernel(mask, shape, alias if into else None).dispatcher
        return single_values_call(run, kernel_of, len(mask), len(shape), mask, alias, np.empty, shape,
                                  self.out_dtypes)

    def _resolved(self, run, shape, transposed, kernel_of):
        """run(inputs), or for a small output of a node that writes into no input, a function
        doing what it does with the kernel looked up once, after run's first call compiled it
        (kernel_of() -> that kernel): a broadcast call on 32x10 took 2.3 us in run, 1.1 of
        them making its output through the in-place checks; a node of two outputs, (x - m) ** 2
        and x - m over 32x64 with m a row, 4.4 us, 3.2 written. shape: the outputs' (transposed:
        the kernel's, whose outputs are returned transposed, as _run_flat does)."""
        if self.inplace is not None or math.prod(shape) >= self.recycled_from:
            return run
        dtypes, dtype, single, kernel = self.out_dtypes, self.out_dtypes[0], self.single, None

        def resolved(inputs):
            nonlocal kernel
            if kernel is None:
                outs = run(inputs)
                kernel = kernel_of().dispatcher  # (once a call went through: see _flat_call)
                return outs
            if single:  # (apart: the lists of the general form cost a transposed 32x10 call 0.4 us)
                out = np.empty(shape, dtype)
                if transposed:
                    kernel(out.ravel(), *[a.T.ravel() for a in inputs])
                    return [out.T]
                kernel(out, *inputs)
                return [out]
            outs = [np.empty(shape, d) for d in dtypes]
            if transposed:
                kernel(*[o.ravel() for o in outs], *[a.T.ravel() for a in inputs])
                return [o.T for o in outs]
            kernel(*outs, *inputs)
            return outs
        return resolved

    def _run_flat(self, shape, mask, transposed, singles, inputs):
        if transposed:  # shape: the transposed one
            if singles:
                inputs = [_one_value(a) if i in singles else a for i, a in enumerate(inputs)]
            outs = [np.empty(shape, d) for d in self.out_dtypes]
            self._flat_kernel(mask, shape, None, outs[0])(*[o.reshape(-1) for o in outs],
                                                          *[a.T.reshape(-1) for a in inputs])
            return [o.T for o in outs]
        outs, alias = self._outputs(inputs, shape)
        if singles:
            inputs = [_one_value(a) if i in singles else a for i, a in enumerate(inputs)]
        self._flat_kernel(mask, shape, alias, outs[0])(*[o.reshape(-1) for o in outs], *[a.reshape(-1) for a in inputs])
        return outs

    def _run_permuted(self, shape, mask, order, inverse, inputs):
        """The flat loop over the inputs' axes put in `order` (each then C-ordered, of `shape`), the
        outputs in that order and returned in theirs: NumPy's layout for them (x.transpose(2, 0, 1)
        * 2 of 100x200x50 float32: 0.66 ms written C-ordered, 0.24 NumPy's)."""
        outs = [np.empty(shape, d) for d in self.out_dtypes]
        self._flat_kernel(mask, shape, None, outs[0])(*[o.reshape(-1) for o in outs],
                                                      *[_permuted(a, order).reshape(-1) for a in inputs])
        return [o.transpose(inverse) for o in outs]

    def _run_broadcast(self, shape, patterns, parallel, singles, tiled, rows_apart, inputs):
        """rows_apart: the inputs the kernel reads through padded_rows (_rows_apart)."""
        outs, alias = self._outputs(inputs, shape)
        if singles:
            inputs = [_one_value(a) if i in singles else a for i, a in enumerate(inputs)]
        key = ("tiled", patterns, tiled, alias) if tiled else ("broadcast", patterns, parallel, rows_apart, alias)
        kernel = self.kernels.get(key)
        if kernel is None:
            kernel = self.kernels[key] = codegen.broadcast_kernel(self.composite, self.in_dtypes, len(shape), patterns,
                                                                  parallel, alias, tiled, rows_apart)
        kernel(*outs, *inputs)
        return outs

    def _flat_kernel(self, mask, shape, alias=None, out=None):
        """The flat kernel for inputs with this single-value mask; given the output `out` it
        will write, the one with non-temporal stores where that pays (_streams)."""
        parallel = math.prod(shape) >= self.threshold
        alias = None if alias is None or mask[alias] else alias
        stream = out is not None and self._streams(out, parallel, alias)
        key = ("flat", mask, parallel, alias, stream)
        kernel = self.kernels.get(key)
        if kernel is None:
            kernel = self.kernels[key] = codegen.flat_kernel(self.composite, self.in_dtypes, mask, parallel, alias,
                                                             stream)
        return kernel

    def _whole_and_single_values(self, inputs):
        """(shape, single-value mask) when every input is either a C-ordered array of one
        shape (that of the output) or a single value of no more dimensions; else None."""
        shape = None
        for a in inputs:
            if a.size != 1:
                if shape is None:
                    shape = a.shape
                elif a.shape != shape:
                    return None
                if not a.flags.c_contiguous:
                    return None
        if shape is None or len(shape) != self.ndim or any(a.ndim > self.ndim for a in inputs):
            return None
        return shape, tuple(a.size == 1 for a in inputs)


def _broadcast_cuts(arrays):
    """Per array, the index cutting each axis it is spread along by a stride of 0 (a
    BroadcastTo's view, np.broadcast_to) to length 1, or None where it has none; None instead
    of the list where no array has one, or where, cut, they would not broadcast to their shape
    (no other array spans the axis). Read whole, such a view is typed A by numba and the loop
    ran a value at a time: a gradient through a mean over axis 0 (the mean's seed broadcast
    to 64x784 beside log1p and divisions) 543 us, on the numpy backend 233. Cut, the loops
    index it at 0 along those axes, as any broadcast input."""
    cuts = [None] * len(arrays)
    for i, a in enumerate(arrays):
        if a.size > 1 and 0 in a.strides:
            cut = tuple(slice(0, 1) if stride == 0 and n > 1 else slice(None) for stride, n in zip(a.strides, a.shape))
            if any(c.stop == 1 for c in cut):
                cuts[i] = cut
    if all(c is None for c in cuts):
        return None
    shape = _common_shape(arrays)
    cut_shapes = [a.shape if c is None else tuple(1 if k.stop == 1 else n for k, n in zip(c, a.shape))
                  for a, c in zip(arrays, cuts)]
    return cuts if np.broadcast_shapes(*cut_shapes) == shape else None


def _split_folds(arrays, shape, reduced):
    """(the reduced axes after the last kept one, those before it) where a reduction over both
    of C-ordered arrays of at least SPLIT_FOLDS_MIN values, rows of SPLIT_ROWS_MIN, goes faster
    as two folds (ReduceThunk._in_two_folds); else None."""
    kept = [d for d in range(len(shape)) if d not in reduced and shape[d] != 1]
    if not kept or math.prod(shape) < SPLIT_FOLDS_MIN:
        return None
    trailing = tuple(d for d in reduced if d > kept[-1])
    leading = tuple(d for d in reduced if d < kept[-1])  # (those of length 1 too: folded away)
    if math.prod(shape[d] for d in leading) == 1 or math.prod(shape[d] for d in trailing) < SPLIT_ROWS_MIN:
        return None
    return (trailing, leading) if all(a.flags.c_contiguous for a in arrays) else None


def _turned(arrays, shape, axes):
    """(per array the index turning round those of `axes` that every array spanning them walks
    backwards, those axes), or (None, ()) where there are none (x[::-1].sum(axis=0), x[:,
    ::-1].sum(axis=1)). Turned round, the loops read such views as arrays of their layout, not of
    any layout a value at a time: a fold does not depend on the order it meets the values (a
    sum's rounding aside, as in any order of summing), so ReduceThunk._plan turns reduced axes
    round: x[::-1].sum(axis=0) of 1000x1000 float32 184 -> 40 us (NumPy 84-114),
    x[:, ::-1].sum(axis=1) 214 -> 39 (191); kept ones, the result is turned back
    (ReduceThunk._turned_round)."""
    ndim = len(shape)
    turned = []
    for d in axes:
        spanning = [a.strides[d - ndim + a.ndim] for a in arrays
                    if d - ndim + a.ndim >= 0 and a.shape[d - ndim + a.ndim] > 1]
        if spanning and all(stride < 0 for stride in spanning):
            turned.append(d)
    if not turned:
        return None, ()
    backwards = slice(None, None, -1)
    return [tuple(backwards if k + ndim - a.ndim in turned and n > 1 else slice(None) for k, n in enumerate(a.shape))
            for a in arrays], tuple(turned)


def _may_be_spread(var):
    """Whether var's value may be a view spread by a stride of 0: a BroadcastTo's, passed on
    by views (SumToShape where nothing is summed, DimShuffle, Reshape...)."""
    while var.owner is not None:
        op = var.owner.op
        if isinstance(op, BroadcastTo):
            return True
        if not isinstance(op, (R.SumToShape, DimShuffle, Reshape, I.Subtensor, extra_ops.SpecifyShape)):
            return False
        var = var.owner.inputs[0]
    return False


def _cut(arrays, cuts):
    return [a if c is None else a[c] for a, c in zip(arrays, cuts)]


def _shared_memory_order(arrays):
    """The order of axes (not their own) in which the arrays of more than one value, all of one
    shape, lay out their memory (_memory_order); None otherwise."""
    full = [a for a in arrays if a.size != 1]
    if not full or any(a.shape != full[0].shape for a in full):
        return None
    return _memory_order(full, full[0].shape)


def _permuted(a, order):
    return a if a.size == 1 else a.transpose(order)


def _common_shape(arrays):
    """The shape arrays broadcast to (np.broadcast_shapes costs 1.4 us; most calls have one shape)."""
    shape = arrays[0].shape
    for a in arrays:
        if a.shape != shape:
            return np.broadcast_shapes(*[a.shape for a in arrays])
    return shape


# Broadcast loops over at least this many elements merge axes (_merged_axes): x - m of NCHW x and
# m of (1, C, 1, 1), alternating in one process: (64, 32, 7, 7) float32 64 -> 21 us, (32, 16,
# 14, 14) 58 -> 27, (32, 8, 8, 8) 13.8 -> 10.3; (8, 8, 8, 8) lost, 6.6 -> 8.2 (the reshapes).
MERGE_AXES_FROM = 1 << 13


def _merged_axes(inputs, shape):
    """Each input's shape with neighbouring axes merged where every input is C-ordered and
    either spans both or is broadcast along both (axes of length 1 merge with either), so
    that the loops are fewer and longer: x - m of NCHW x and m of (1, C, 1, 1) loops over
    (N, C, H*W), its inner loop H*W long instead of W; None where no two axes merge."""
    ndim = len(shape)
    if ndim < 2 or not all(a.flags.c_contiguous for a in inputs):
        return None
    padded = [(1,) * (ndim - a.ndim) + a.shape for a in inputs]
    groups, start, spans = [], 0, None  # spans: whether each input spans the group's axes (None: not yet known)
    for d in range(ndim):
        here = None if shape[d] == 1 else tuple(p[d] != 1 for p in padded)
        if here is not None and spans is not None and here != spans:
            groups.append((start, d))
            start, spans = d, here
        elif here is not None:
            spans = here
    groups.append((start, ndim))
    if math.prod(shape[groups[-1][0]:]) == shape[-1]:
        return None  # (the inner loop as long as it was: little to gain for the reshapes' cost)
    return [tuple(math.prod(p[lo:hi]) for lo, hi in groups) for p in padded]


def _one_value(a):
    """A value broadcast to a whole array (all strides 0), or a 0-d one, as one number of shape
    (1,) (numba's parallel loops cannot index a 0-d array)."""
    if a.ndim == 0:
        return a.reshape(1)  # a view (a learning rate held in a shared variable: every step)
    if a.size > 1 and not any(a.strides):
        return np.asarray(a[(0,) * a.ndim]).reshape(1)
    return a


def _has_float16(node):
    # Numba has no float16 arithmetic: half-precision nodes run NumPy's (float32 inside), and so
    # do fused loops with a half-precision step inside (minimum(y, sqrt(x)) of uint8 x: numba
    # raised NotImplementedError).
    steps = getattr(getattr(node.op, "composite", node.op), "program", ())
    return any(v.dtype == "float16" for v in node.inputs + node.outputs) or any(d == "float16" for *_, d in steps)


@lower.register(Composite)
def _lower_composite(op, node):
    if _one_value_out(node):
        return OneValueThunk(op, node)
    return ElementwiseThunk(op, node)


class OneValueThunk:
    """An elementwise node known to compute one number (Adam's step size, shape arithmetic):
    with 0-d inputs its scalar program runs as straight Python over NumPy scalars, whose
    operators cost ~40 ns where a ufunc on 0-d arrays costs ~300 (Adam's bias-corrected step
    size, seven steps: 9.5 -> 2 us a call). The same NumPy arithmetic and dtypes (NumPy 2
    types scalars as it types arrays); other inputs run the reference."""

    def __init__(self, composite, node):
        self.reference = _reference(node.op, node)
        self.out_dtypes = [np.dtype(v.dtype) for v in node.outputs]
        self.scalar = _scalar_program(composite)
        # What the executor's program calls: written for this node's arity (a loop over the
        # inputs, then over the results, took 1.25 us around sqrt's 0.22 of sqrt(x.sum())).
        self.call = _one_value_call(self.scalar, self.reference, self.out_dtypes, len(node.inputs))

    def __call__(self, inputs):
        return self.call(inputs)


def _one_value_call(scalar, reference, out_dtypes, arity):
    """call(inputs): the scalar program on the values of 0-d arrays, its results as 0-d arrays of
    out_dtypes; any other inputs go to reference(inputs)."""
    names = [f"a{i}" for i in range(arity)]
    zero_d = " and ".join(f"type({n}) is ndarray and not {n}.ndim" for n in names) or "True"
    results = "".join(f"r{k}, " for k in range(len(out_dtypes)))
    env = {"scalar": scalar, "reference": reference, "ndarray": np.ndarray, "asarray": np.asarray}
    env.update({f"d{k}": d for k, d in enumerate(out_dtypes)})
    lines = ["def call(inputs):"] + ([f"    {''.join(n + ', ' for n in names)}= inputs"] if names else []) + [
             f"    if not ({zero_d}):",
             "        return reference(inputs)",
             f"    {results}= scalar({', '.join(n + '[()]' for n in names)})",
             f"    return [{', '.join(f'asarray(r{k}, d{k})' for k in range(len(out_dtypes)))}]"]
    exec(compile("\n".join(lines), "<symgraph one value call>", "exec"), env)
    return env["call"]


def _scalar_program(composite):
    """A Python function of NumPy scalars returning the composite's outputs: operators where
    the scalar op has one (+, *, <, ...; correctly rounded, so the same bits as the ufuncs),
    its NumPy function otherwise, casts by the dtype's own type, constants made once."""
    env, lines = {}, []
    for k, (sop, refs, dtype) in enumerate(composite.program):
        args = []
        for r in refs:
            if r[0] == "in":
                args.append(f"i{r[1]}")
            elif r[0] == "tmp":
                args.append(f"t{r[1]}")
            else:
                args.append(f"c{len(env)}")
                env[args[-1]] = np.dtype(r[2]).type(r[1])
        if sop.name.startswith("cast_"):
            env[f"f{k}"] = np.dtype(dtype).type
        elif sop.symbol is not None and len(args) == 2 and sop.name != "pow":  # (scalar ** is libm's
            # powf, np.power on arrays a SIMD loop: they differ in the last bit)
            lines.append(f"    t{k} = {args[0]} {sop.symbol} {args[1]}")
            continue
        elif np.dtype(dtype).kind == "f" and not isinstance(sop.impl, np.ufunc):
            env[f"f{k}"] = _converting(sop, dtype)
        else:
            env[f"f{k}"] = sop.impl
        lines.append(f"    t{k} = f{k}({', '.join(args)})")
    params = ", ".join(f"i{k}" for k in range(composite.n_inputs))
    outs = "".join(f"t{o}, " for o in composite.outputs)
    exec(compile(f"def scalar({params}):\n" + "\n".join(lines) + f"\n    return ({outs})\n",
                 "<symgraph scalar program>", "exec"), env)
    return env["scalar"]


def _converting(sop, dtype):
    """A table function written in NumPy calls (sigmoid), for a result of `dtype`, that takes its
    integer arguments converted first (ScalarOp.__call__: sigmoid of uint64 5 negated it)."""
    return lambda *values: sop(values, dtype)


def _one_value_out(node):
    """True for elementwise nodes known to compute one number (shape arithmetic, a step size):
    NumPy does that in a microsecond, and compiling a loop for it costs 0.2 s in a fresh process."""
    return isinstance(node.op, (Composite, Elemwise)) and all(
        None not in v.type.shape and math.prod(v.type.shape) <= 1 for v in node.outputs)


@lower.register(Elemwise)
def _lower_elemwise(op, node):
    single = Composite([(op.scalar_op, tuple(("in", i) for i in range(len(node.inputs))),
                         node.outputs[0].dtype)], [0], len(node.inputs), inplace=op.inplace)
    if _one_value_out(node):
        return OneValueThunk(single, node)
    return ElementwiseThunk(single, node)


_FOLDS = {"mean": "sum", "any": "max", "all": "min"}


class ReduceThunk:
    """A fused loop folded along the reduced axes without storing it."""

    small = 0  # arrays below this many values run NumPy's reduce (StoredReduceThunk sets it)

    def __init__(self, op, node):
        self.op, self.node = op, node
        self.in_dtypes = tuple(v.dtype for v in node.inputs)
        self.out_dtype = np.dtype(node.outputs[0].dtype)
        # float32 sums: partial sums of 128 values in float32 (8 lanes), their total in float64
        # (numba_codegen): they round like NumPy's pairwise sums; same result type.
        self.acc_dtype = np.dtype("float64") if op.kind in ("sum", "prod", "mean") \
            and self.out_dtype.name in ("float16", "float32") else self.out_dtype
        # A mean is a sum, divided at the end; any and all fold truth values as their max and
        # min (from False and True: of nothing they are False and True, as NumPy's).
        self.fold = _FOLDS.get(op.kind, op.kind)
        self.kernels = {}
        self.plans = {}  # (shapes, strides) of the inputs -> what a call with them does
        self.maps = {}  # the same, for inputs whose reduced axes are all of length 1 (_mapping)
        self.elementwise = None  # the loop those run (_mapping)
        # A fold of exp, sin... goes parallel from the elementwise loops' threshold for its
        # cost (exp(x).sum(axis=1) of 316x316 float32: 78 -> 48 us), except along columns (_plan).
        # any/all fold truth values: a loop of numbers is read as bool (a fused (x * y).any())
        self.composite = cast_output(op.composite, "bool") if op.kind in ("any", "all") else op.composite
        self.threshold = codegen.parallel_threshold(self.composite)
        self.call = self.__call__  # what the executor's program calls: see _write_whole_call

    def __call__(self, inputs):
        # (one input without a list comprehension's frame: a 32x32 sum 3.5 -> 2.7 us)
        key = ((inputs[0].shape, inputs[0].strides),) if len(inputs) == 1 else \
            tuple([(a.shape, a.strides) for a in inputs])
        plan = self.plans.get(key)
        if plan is None:
            return self._first_call(key, inputs)
        # (each step below is skipped where it would do nothing: a 32x32 sum 4.1 -> 2.9 us)
        arrange, extents, kernel, out_shape, result_shape, count, scratch, reorder, written = plan
        args = inputs if arrange is None else arrange(inputs)
        out = np.empty(out_shape, written)
        if scratch:  # float32 column sums written as float32, totals in float64 (codegen.reduce_scratch)
            kernel(out, extents, np.empty(out_shape, self.acc_dtype), *args)
        else:
            kernel(out, extents, *args)
        if count is not None:  # a mean (of float32 columns: their float32 sums divided in float32, as NumPy's)
            if count:
                out /= count
            else:
                out.fill(np.nan)  # the mean of nothing, as NumPy's (which warns)
        if reorder is not None:  # kept axes walked in another order than theirs: put back (a copy)
            out = np.ascontiguousarray(out.reshape(reorder[0]).transpose(reorder[1]))
        if result_shape is not None:
            out = out.reshape(result_shape)
        if written is self.out_dtype:
            return [out]
        # A float64 product or sum cast back to float32 may overflow to inf, as NumPy's reduce
        # does, without its warning: graphs of compiled loops run outside the program's
        # silencing (compile_graph's `quiet`), so the cast is silenced here.
        token = quiet_on()
        try:
            return [out.astype(self.out_dtype)]
        finally:
            quiet_off(token)

    def _first_call(self, key, inputs):
        mapping = self.maps.get(key)
        if mapping is not None:
            return mapping(inputs)
        shape = _common_shape(inputs)
        mapping = self._mapped(shape, inputs)
        if mapping is not None:
            if len(self.maps) >= 64:
                self.maps.clear()
            self.maps[key] = mapping
            return mapping(inputs)
        if len(self.plans) >= 64:  # shapes that change every call
            self.plans.clear()
        plan = self.plans[key] = self._plan(inputs)
        results = self(inputs)
        # Once a call went through (any damaged disk-cache entry replaced), call numba directly.
        self.plans[key] = plan._replace(kernel=plan.kernel.dispatcher)
        x = inputs[0]
        if len(plan.extents) != 1:  # (the whole calls run the kernel of one flat loop)
            return results
        if len(inputs) == 1 and len(self.op.axis) == x.ndim and x.flags.c_contiguous and x.size < self.threshold:
            self._write_whole_call(plan.kernel.dispatcher, x.ndim)
        elif len(inputs) > 1:
            shape = _common_shape(inputs)
            full = tuple(a.shape == shape for a in inputs)
            # (from 2 values: a kernel compiled for one reads every input as a whole array)
            if len(self.op.axis) == len(shape) and any(full) and 1 < math.prod(shape) < self.threshold and all(
                    a.flags.c_contiguous if is_full else a.size == 1 for a, is_full in zip(inputs, full)):
                self._write_whole_call_of_several(plan.kernel.dispatcher, full, len(shape))
        return results

    def _mapped(self, shape, inputs):
        """What a call with these inputs (broadcast to `shape`) does where a plan's one loop
        does not do it well (_mapping, _turned_round, _in_two_folds); None where it does."""
        axis = self.op.axis
        if axis and all(shape[d] == 1 for d in axis):
            return self._mapping(shape, inputs)
        turns, turned = _turned(inputs, shape, [d for d in range(len(shape)) if d not in axis])
        if turns is not None:
            return self._turned_round(shape, turns, turned)
        split = _split_folds(inputs, shape, axis)
        return None if split is None else self._in_two_folds(shape, *split)

    def _mapping(self, shape, inputs):
        """What a call does whose inputs broadcast to `shape`, of length 1 along every reduced
        axis: each value is its own fold (a sum, a max, a mean of one value is that value), so
        the fused loop's values converted to the result's dtype, over the inputs without those
        axes (views: the result comes out in its shape). Folded one at a time, a float32 sum
        of (1000, 1000, 1) over its last axis took 0.62 ms (NumPy's 0.17), a channel sum of
        (64, 1, 28, 28) 27 us (8.5)."""
        if self.elementwise is None:  # (the node's output is the loop's: its dtype, its ndim)
            self.elementwise = ElementwiseThunk(folds_of_one(self.composite, self.op.kind, self.out_dtype.name),
                                                self.node)
            self.elementwise.inplace = None  # (the reduction's inputs are not its to overwrite)
            # (serial where compile_graph made this node's loops serial: a graph calling BLAS)
            self.elementwise.threshold = max(self.elementwise.threshold, self.threshold)
        op, ndim = self.op, len(shape)
        kept = None if op.keepdims else \
            [tuple(n for d, n in enumerate((1,) * (ndim - a.ndim) + a.shape) if d not in op.axis) for a in inputs]

        def mapping(inputs):
            (out,) = self.elementwise.call(inputs if kept is None else [a.reshape(k) for a, k in zip(inputs, kept)])
            # (a reduction's result is C-ordered; the loop writes transposed inputs' in their order)
            return [out if out.flags.c_contiguous else np.ascontiguousarray(out)]
        return mapping

    def _turned_round(self, shape, turns, turned):
        """What a call does whose inputs all walk backwards along the kept axes `turned` (rows
        in reverse order, x[::-1].sum(axis=1)): the fold of the inputs turned round (`turns`),
        its result turned back (a copy: a reduction's result is C-ordered). Read as they are,
        the loops took them as arrays of any layout, a value at a time: 1000x1000 float32
        220 -> 45 us (NumPy 198)."""
        op = self.op
        kept = [d for d in range(len(shape)) if op.keepdims or d not in op.axis]
        back = tuple(slice(None, None, -1) if d in turned else slice(None) for d in kept)

        def turned_round(inputs):
            (out,) = self([a[t] for a, t in zip(inputs, turns)])
            return [np.ascontiguousarray(out[back])]
        return turned_round

    def _in_two_folds(self, shape, trailing, leading):
        """What a call does whose reduced axes lie on both sides of the last kept one (a channel's
        mean of NCHW images over (0, 2, 3)): the fold along the `trailing` ones (rows, walked in
        memory order), then the fold of those partial results along the `leading` ones (columns),
        each a reduction of its own (a mean's a sum, divided at the end). In one loop the kept
        axis was outermost, and the rows of each kept index, far apart, were read in turn: a
        float32 max over axes (0, 2) of (256, 64, 1024) 3.6 ms, in two 1.7 (NumPy's 3.4)."""
        op = self.op
        kind = "sum" if op.kind == "mean" else op.kind
        rows = CompositeReduce(op.composite, kind, trailing, False)
        rows_node = rows.make_node(*self.node.inputs)
        partial = rows_node.outputs[0].dtype
        read = Composite([(cast_scalar_op(partial), (("in", 0),), partial)], [0], 1)
        columns = CompositeReduce(read, kind, leading, False)
        first, second = ReduceThunk(rows, rows_node), ReduceThunk(columns, columns.make_node(rows_node.outputs[0]))
        for stage in (first, second):  # (serial where compile_graph made this node's loops serial)
            stage.threshold = max(stage.threshold, self.threshold)
        count = math.prod(shape[d] for d in op.axis) if op.kind == "mean" else None
        kept_shape = tuple(1 if d in op.axis else n for d, n in enumerate(shape)) if op.keepdims else None
        out_dtype = self.out_dtype

        def in_two_folds(inputs):
            (out,) = second(first(inputs))
            if count is not None:
                out = np.true_divide(out, count, dtype=out_dtype)
            return [out if kept_shape is None else out.reshape(kept_shape)]
        in_two_folds.stages = (first, second)
        return in_two_folds

    def _write_whole_call(self, kernel, ndim):
        """self.call becomes a function for the common call of a reduction over all axes of
        one input (x.sum(), a loss's mean): a C-ordered array of `ndim` dimensions and a
        serial loop's size, the loop run on it flat, the total made the result directly;
        anything else goes to __call__. The plan's lookups, views and conversions took 1.4 of
        a 4000-value float32 sum's 1.85 us, the loop 0.44; this call 1.1 (a function's x.sum()
        2.46 -> 1.78 us). The kernel returns its total (numba_codegen._reduce_source), so its
        `out` is one scratch array for every call (concurrent ones too: none reads it back), and
        the result is made from a Python number: np.empty(1) and out[0] cost 0.35 and 0.15 us,
        np.array of a NumPy scalar 0.6 against 0.4 of a float (AMD EPYC). A kernel checking
        sin's arguments returns their count instead: its own out is read."""
        general, acc, dtype, lo, hi, mean, shape, returns_total, scratch = self._whole_call_settings(ndim)

        def call(inputs):
            x = inputs[0]
            n = x.size
            if lo <= n < hi and x.ndim == ndim and x.flags.c_contiguous:
                out = scratch if returns_total else np.empty(1, acc)
                total = kernel(out, (n,), x if ndim == 1 else x.reshape(-1))
                if not returns_total:
                    total = out[0]
                result = np.array(total / n if mean else total, dtype)
                return [result if shape is None else result.reshape(shape)]
            return general(inputs)
        self.call = call

    def _whole_call_settings(self, ndim):
        """What a written whole call keeps (_write_whole_call and _of_several): the general
        call, the accumulator's and result's dtypes, the sizes it takes [lo, hi), whether it
        is a mean, the kept shape (None: 0-d), whether the kernel returns its total, and the
        scratch out for it."""
        acc = self.acc_dtype
        return (self.__call__, acc, self.out_dtype, max(1, self.small), self.threshold, self.op.kind == "mean",
                (1,) * ndim if self.op.keepdims else None,
                not codegen.uses_checked_forms(self.composite, self.in_dtypes), np.empty(1, acc))

    def _write_whole_call_of_several(self, kernel, full, ndim):
        """As _write_whole_call, for a reduction over all axes of several inputs ((x * y).sum(),
        a squared error's mean): each input C-ordered of the one shape (full[i]) or a single
        value (a mean subtracted); anything else goes to __call__. Through the plan, a float32
        (x * y).sum() of 1000 values took 7.7-8.2 us (NumPy 3.5-4.7)."""
        general, acc, dtype, lo, hi, mean, shape, returns_total, scratch = self._whole_call_settings(ndim)
        first = full.index(True)
        flat = ndim == 1

        def call(inputs):
            x = inputs[first]
            n = x.size
            if not (lo <= n < hi and x.ndim == ndim):
                return general(inputs)
            each = x.shape
            args = []
            for a, is_full in zip(inputs, full):
                if is_full:
                    if a.shape != each or not a.flags.c_contiguous:
                        return general(inputs)
                    args.append(a if flat else a.reshape(-1))
                elif a.size == 1:
                    args.append(a.reshape(1))
                else:
                    return general(inputs)
            out = scratch if returns_total else np.empty(1, acc)
            total = kernel(out, (n,), *args)
            if not returns_total:
                total = out[0]
            result = np.array(total / n if mean else total, dtype)
            return [result if shape is None else result.reshape(shape)]
        self.call = call

    def _column_accumulator(self, outer):
        """The dtype a fold accumulates in: acc_dtype, but a float32 product over leading axes
        (outer: row after row into the kept values) multiplies in float32, as NumPy's does, row
        by row: its values, where the float64 products' out was made and converted at every
        call (2x50000 25 us, NumPy's 12)."""
        if outer and self.op.kind == "prod" and self.out_dtype == np.float32 \
                and self.composite.program[self.composite.outputs[0]][2] == "float32":
            return self.out_dtype
        return self.acc_dtype

    def _plan(self, inputs):
        """Worked out once per input layout (a small reduction's call was 13 us of Python
        around a 1.6 us loop): the axes put in memory order (_memory_order) and neighbouring
        ones merged (_axis_groups), a function making the inputs' views in those axes (None:
        as they are; length 1 where one is broadcast), the loops' lengths, the kernel, its
        output's shape, the result's shape, the count a mean divides by (None for other
        kinds), whether the kernel takes a scratch array, and how to put the kept axes back
        in their order (None where memory keeps it)."""
        op = self.op
        logical = shape = _common_shape(inputs)
        ndim = len(shape)
        if op.kind in ("max", "min") and any(shape[d] == 0 for d in op.axis):
            raise ValueError(f"zero-size array to reduction operation {op.kind} which has no identity")
        # (stride-0 axes cut to length 1: see _broadcast_cuts; reduced axes walked backwards
        # turned round: see _turned)
        cuts = _broadcast_cuts(inputs) or _turned(inputs, shape, op.axis)[0]
        if cuts is not None:
            plan = self._plan(_cut(inputs, cuts))
            arrange = plan.arrange
            return plan._replace(arrange=functools.partial(_cut, cuts=cuts) if arrange is None else
                                 lambda arrays: arrange(_cut(arrays, cuts)))
        padded = [a.reshape((1,) * (ndim - a.ndim) + a.shape) if a.ndim < ndim else a for a in inputs]
        reduced = op.axis
        if 1 in shape:
            padded, shape, reduced = _without_unit_axes(padded, shape, reduced)
        views = [a if a.shape == shape else np.broadcast_to(a, shape) for a in padded]
        perm = _memory_order(views, shape)
        if perm is not None:  # (x.T.max(axis=1) walked x's columns: 1000x1000 float32 1.85 ms, NumPy 0.15)
            padded, views = [p.transpose(perm) for p in padded], [v.transpose(perm) for v in views]
            shape = tuple(shape[d] for d in perm)
            reduced = tuple(k for k, d in enumerate(perm) if d in reduced)
        groups = _axis_groups(views, reduced)
        extents = tuple(math.prod(shape[lo:hi]) for lo, hi in groups)
        axis = tuple(g for g, (lo, hi) in enumerate(groups) if lo in reduced)
        merged_shapes, broadcast = [], []
        for p in padded:
            merged = tuple(math.prod(p.shape[lo:hi]) for lo, hi in groups)
            merged_shapes.append(merged)
            broadcast.append(tuple(g for g, n in enumerate(merged) if n == 1 and extents[g] != 1))
        kept = [g for g in range(len(groups)) if g not in axis]
        order = tuple(kept + list(axis))  # the kernel loops over the kept axes first
        # The last axis kept: fold along the leading axes outside, walking memory in order.
        outer = bool(kept) and kept[-1] == len(groups) - 1
        # (a costly column fold goes parallel from the costly loops' threshold too, now that
        # its kept axis splits in four blocks at least: tanh(x).sum(axis=0) of 64x784 float64
        # 65 -> 47 us, exp(x).sum(axis=1) of 4x64x128 float32 26 -> 13; in blocks of 512, the
        # columns of 128x512 were one block, and exp's fold ran 35 us serial, 61 parallel)
        parallel = math.prod(shape) >= self.threshold
        arrange = _arranger(inputs, padded, perm, merged_shapes)
        rows_apart = _rows_apart(inputs if arrange is None else arrange(inputs))
        acc = self._column_accumulator(outer)
        key = (order, parallel, outer, tuple(broadcast), rows_apart)
        kernel = self.kernels.get(key)
        if kernel is None:
            kernel = self.kernels[key] = codegen.reduce_kernel(
                self.composite, self.in_dtypes, len(kept), len(axis), self.fold, acc, parallel, outer, order,
                tuple(broadcast), self.out_dtype.name, rows_apart)
        result_shape = tuple(1 if d in op.axis else n for d, n in enumerate(logical) if op.keepdims or d not in op.axis)
        count = math.prod(logical[d] for d in op.axis) if op.kind == "mean" else None
        out_shape = tuple(extents[g] for g in kept) if kept else (1,)
        scratch = codegen.reduce_scratch(self.composite, len(kept), len(axis), self.fold, acc, parallel,
                                         outer, self.out_dtype.name)
        # A fold along rows writes each result once, from its accumulator: into the result's
        # dtype directly (a float32 sum's float64 total rounded as the cast rounded it; a mean
        # then divided in float32, as NumPy's). The cast's copy and its silencing took 0.5-0.7
        # us of (x * v).sum(axis=1) over 64x784 float32 (5.6 us, its kernel 3.3).
        # (not float16: numba's arrays of it take no float64 store)
        direct = kept and not outer and self.out_dtype.name != "float16"
        rounded = codegen.column_sums_rounded(self.composite, len(kept), len(axis), self.fold, acc, parallel,
                                              outer, self.out_dtype.name)
        written = self.out_dtype if scratch or direct or rounded else acc
        return ReducePlan(arrange, extents, kernel, out_shape,
                          None if result_shape == out_shape else result_shape, count, scratch,
                          _kept_order(perm, shape, reduced), written)


def _without_unit_axes(padded, shape, reduced):
    """The inputs (`padded` to the `shape` they broadcast to), that shape and the `reduced`
    axes, with the axes of length 1 left out. Reduced, such an axis folds one value: the
    kernel folded rows of one value ((A, B, 1) over axes (0, 2): A rows of B rows of one).
    Kept, it made a loop of one value the inner one: the mean of a (10000, 1) column over
    axis 0 folded its values one at a time into out[0] (79 us, the mean of its (10000,) 6).
    Some reduced axis is longer (else ReduceThunk._mapping runs)."""
    axes = [d for d in range(len(shape)) if shape[d] != 1]
    padded = [p.reshape(tuple(p.shape[d] for d in axes)) for p in padded]
    return padded, tuple(shape[d] for d in axes), tuple(axes.index(d) for d in reduced if shape[d] != 1)


class ReducePlan(typing.NamedTuple):
    """What ReduceThunk's calls with one layout of inputs do (ReduceThunk._plan)."""
    arrange: object  # inputs -> the views the kernel loops over, or None: the inputs as they are
    extents: tuple  # the loops' lengths
    kernel: object
    out_shape: tuple  # the kernel's output
    result_shape: object  # the result's shape, or None: out_shape
    count: object  # what a mean divides by; None for other kinds
    scratch: bool  # whether the kernel takes a scratch array (codegen.reduce_scratch)
    reorder: object  # (shape, transposition) putting kept axes back in order, or None
    written: object  # the dtype the kernel writes: the result's, or the accumulator's (cast after)


def _memory_order(views, shape):
    """The axes of `shape` (views: the inputs broadcast to it) in the order their memory is
    laid out, largest stride first, where every input spanning the whole shape is laid out
    that way and it is not the axes' own order (x.T, an NHWC array seen as NCHW); None
    otherwise. Axes of length 1 keep their places."""
    big = [d for d in range(len(shape)) if shape[d] != 1]
    found = None
    for v in views:
        if all(v.strides[d] for d in big):  # (one broadcast along an axis has no order of its own)
            ordered = sorted(big, key=lambda d: -abs(v.strides[d]))
            if found is not None and ordered != found:
                return None
            found = ordered
    if found is None or found == big:
        return None
    perm = list(range(len(shape)))
    for slot, d in zip(big, found):
        perm[slot] = d
    return tuple(perm)


def _arranger(inputs, padded, perm, merged_shapes):
    """A function of a call's inputs giving the views the kernel loops over: each input with
    the axes it lacks padded, its axes put in memory order, neighbouring ones merged; None
    where every input is that view already."""
    if perm is None:
        compact = [None if merged == a.shape else merged for a, merged in zip(inputs, merged_shapes)]
        if all(shape is None for shape in compact):
            return None

        def arrange(arrays):
            return [a if shape is None else a.reshape(shape) for a, shape in zip(arrays, compact)]
        return arrange
    # (each input padded in its own axes' order, before they were put in memory order)
    steps = [(tuple(p.shape[perm.index(d)] for d in range(len(perm))), merged)
             for p, merged in zip(padded, merged_shapes)]

    def arrange(arrays):
        return [a.reshape(pad).transpose(perm).reshape(merged) for a, (pad, merged) in zip(arrays, steps)]
    return arrange


def _rows_apart(arrays):
    """Which of the arrays a kernel loops over it reads through numba_padded.padded_rows: views
    of a C-ordered array's sub-box (x[::2], x[:, :k]), whose unit-stride rows its loops then
    read with vector loads (typed A they ran scalar: x[::2].max(axis=0) of 2000x4000 float32
    1.08 ms, NumPy 0.49)."""
    return tuple(i for i, a in enumerate(arrays) if has_padded_rows(a))


def _transposed_rows_apart(inputs, shape):
    """Whether every input is a matrix of `shape` (or a 0-d value), each transposed C-ordered
    or with rows apart (numba_padded), one at least with rows apart."""
    apart = False
    for a in inputs:
        if a.ndim == 0:
            continue
        if a.ndim != 2 or a.shape != shape:
            return False
        if has_padded_rows(a.T):
            apart = True
        elif not a.T.flags.c_contiguous:
            return False
    return apart


def _kept_order(perm, shape, reduced):
    """How the kernel's output, its kept axes in memory order (`perm`, axes of `shape`), is put
    back in their own order: (its shape with every kept axis, their transposition), or None
    where the kept axes longer than 1 are in their order already (a reshape then does)."""
    if perm is None:
        return None
    kept = [k for k in range(len(perm)) if k not in reduced]
    if [perm[k] for k in kept if shape[k] != 1] == sorted(perm[k] for k in kept if shape[k] != 1):
        return None
    return tuple(shape[k] for k in kept), tuple(np.argsort([perm[k] for k in kept]))


def _axis_groups(views, axis):
    """(lo, hi) ranges of neighbouring axes that merge: both kept or both reduced, and every
    view (inputs broadcast to the full shape) steps over the pair as over one axis
    (strides[d-1] == strides[d] * shape[d]; a broadcast pair has strides 0): a channel max of
    NCHW images loops over H*W = 784 values innermost instead of W = 28 (the short loop ran
    at 0.7x NumPy), and a full reduction of C-ordered inputs is one flat loop."""
    shape, ndim = views[0].shape, views[0].ndim
    groups, start = [], 0
    for d in range(1, ndim + 1):
        if d == ndim or ((d - 1) in axis) != (d in axis) \
                or any(v.strides[d - 1] != v.strides[d] * shape[d] for v in views):
            groups.append((start, d))
            start = d
    return groups


@lower.register(CompositeReduce)
def _lower_composite_reduce(op, node):
    return ReduceThunk(op, node)


@lower.register(R.Reduce)
def _lower_reduce(op, node):
    """A sum/prod/max/min/mean of a stored float, integer or bool array: the same loops
    (vectorized, and parallel on large inputs where NumPy's reductions use one core), reading
    the array as it is and converting each value to the result's dtype (int32 sums in int64,
    integer means in float64, as NumPy's)."""
    if not _reduced_by_loops(node):
        return _reference(op, node)
    out_dtype = node.outputs[0].dtype  # (any/all: bool, each value read as its truth)
    read = Composite([(cast_scalar_op(out_dtype), (("in", 0),), out_dtype)], [0], 1)
    return StoredReduceThunk(CompositeReduce(read, op.kind, op.axis, op.keepdims), node)


def _reduced_by_loops(node):
    """Whether a Reduce node's thunk is a StoredReduceThunk (else the op's perform)."""
    op, dtype, out_dtype = node.op, node.inputs[0].dtype, node.outputs[0].dtype
    if op.kind in ("any", "all"):
        return dtype in ("float32", "float64") or np.dtype(dtype).kind in "iub"
    return op.kind in ("sum", "prod", "max", "min", "mean") and (
        (dtype in ("float32", "float64") and out_dtype == dtype) or (np.dtype(dtype).kind in "iub" and (
            out_dtype == dtype or np.dtype(out_dtype).kind in "iu" or out_dtype == "float64")))


_BOOL_REDUCE = {"any": np.logical_or, "all": np.logical_and}  # (not max and min: NumPy's of nothing is an error)


class StoredReduceThunk(ReduceThunk):
    """Small arrays go to the op's perform (NumPy's ufunc reduce: see SMALL_BY_NUMPY), larger
    ones to the loop."""

    def __init__(self, op, node):
        super().__init__(op, node)
        self.perform = node.op.perform
        x = node.inputs[0]
        whole = len(op.axis) == x.ndim
        self.small = SMALL_BY_NUMPY if whole else PARTIAL_REDUCE_BY_NUMPY
        if whole and op.kind in ("max", "min") and x.dtype in ("float32", "float64"):
            self.small = MINMAX_BY_NUMPY_BYTES // np.dtype(x.dtype).itemsize
        if whole and op.kind in ("sum", "prod") and x.dtype in ("float32", "float64") and x.ndim:
            self.small = VECTOR_SUM_BY_NUMPY  # (a 0-d value's is NumPy's, as its mean)
        if whole and op.kind == "mean" and x.ndim:
            self.small = 1  # (the mean of nothing: NumPy's, NaN and its warning)
        if whole and x.dtype not in ("float32", "float64") and x.ndim:
            # (an integer or bool array's sum, max, any...: np.sum's path took 5.6-7 us a
            # function's call of 10-10^4 values, the loop's whole call 1.8-2.7, NumPy's own 1.4-2.5)
            self.small = 1
        # A float sum, product, max or min below `small` is the ufunc's reduce, called here as
        # the op's perform calls it (its lookups and the conversion of a 0-d result cost 0.4
        # of a 1000-value sum's 1.1 us there); a whole reduction writes into a new 0-d array.
        self.reduce = R.FLOAT_UFUNC[op.kind].reduce \
            if op.kind in R.FLOAT_UFUNC and op.kind != "mean" and x.dtype in ("float32", "float64") else None
        if whole and x.dtype == "bool" and op.kind in _BOOL_REDUCE:
            # A whole any/all of a stored bool array: NumPy's logical_or/and reduce stops at the
            # first value that decides it (1M values 0.8-3 us, against the loop's 12 on
            # two cores); where none does it reads them all on one core (12-13 us).
            self.small, self.reduce = math.inf, _BOOL_REDUCE[op.kind].reduce
        self.keepdims = op.keepdims and x.ndim > 0  # (0-d kept is 0-d)
        self.whole = len(op.axis) == x.ndim and not self.keepdims
        # A whole reduction as axis=None: the ufunc's reduce over a tuple of every axis took
        # 3.8 us for 1000 float32 values' max, over None 1.7 (AMD EPYC).
        self.reduce_axis = None if self.whole else op.axis
        # A float max or min raises no floating-point flag (NaN passes through quietly); a sum,
        # product or the op's perform may (an overflow).
        self.may_warn = self.reduce is None or op.kind not in ("max", "min", "any", "all")

    def __call__(self, inputs):
        if inputs[0].size >= self.small:
            return super().__call__(inputs)
        if not self.may_warn:
            return self._by_numpy(inputs)
        # Silenced here, so that a graph of compiled loops and such reductions runs without the
        # program's silencing (0.26 us a call: compile_graph's `quiet`; 0.4 on the AMD EPYC).
        token = quiet_on()
        try:
            return self._by_numpy(inputs)
        finally:
            quiet_off(token)

    def _by_numpy(self, inputs):
        if self.reduce is None:
            return self.perform(self.node, inputs)  # (not through functools.partial: 0.2 us)
        out = np.empty((), self.out_dtype) if self.whole else None
        return [self.reduce(inputs[0], self.reduce_axis, None, out, self.keepdims)]


TRANSPOSED_COPY_MIN = 1 << 13  # elements: below, NumPy's copy of a transposed array is as fast as ours (its call included)


def c_ordered(x, threshold=codegen.PARALLEL_THRESHOLD):
    """x as a C-ordered array: itself if it is one; a transposed (or batch-transposed) array,
    such as x.T or an NCHW <-> NHWC dimshuffle, copied tile by tile, its blocks transposed in
    registers (numba_blocks._transpose: faster than NumPy's copy from 16x16 on), on all cores
    from `threshold` elements (infinite in graphs that call BLAS); from `threshold` elements, a
    strided 1-d or 2-d view (x[::2], m[:, ::2]) copied on all cores (NumPy's copy is one
    core's: 5 ms for 4M strided float64, this 2); anything else by NumPy."""
    if x.flags.c_contiguous:
        return x
    copied_by_loops = x.dtype.kind in "biu" or x.dtype in (np.float32, np.float64)  # (numba has no float16, long double)
    if copied_by_loops and x.size >= TRANSPOSED_COPY_MIN:
        source = x.T[None] if x.ndim == 2 and x.T.flags.c_contiguous else _batched_transpose_source(x)
        if source is not None:
            out = np.empty(x.shape, x.dtype)
            nb, m, n = source.shape
            transpose = numba_blocks.transpose_parallel if x.size >= threshold else numba_blocks.transpose_serial
            transpose(source, out.reshape(nb, n, m))
            return out
    if x.size >= threshold and copied_by_loops:
        if x.ndim <= 2:
            out = np.empty(x.shape, x.dtype)
            kernels.copy_strided_parallel(x, out)
            return out
    return np.ascontiguousarray(x)


def _batched_transpose_source(x):
    """The C-ordered (nb, m, n) array whose batch-transpose (nb, n, m), read in C order, is x
    in C order; None if x is no such view. Axes of length 1 are dropped and neighbouring axes
    that step as one are merged first: NCHW -> NHWC is (N, C, HW) -> (N, HW, C)."""
    y = x.reshape(tuple(n for n in x.shape if n != 1))  # (always a view)
    groups = _axis_groups([y], ())  # the reductions' merge rule, with nothing reduced
    shape = [math.prod(y.shape[lo:hi]) for lo, hi in groups]
    strides = [y.strides[hi - 1] for lo, hi in groups]
    item = x.itemsize
    if len(shape) == 2:
        shape, strides = [1] + shape, [shape[0] * shape[1] * item] + strides
    if len(shape) != 3:
        return None
    nb, n, m = shape
    if strides != [n * m * item, item, n * item]:
        return None
    # A view of x itself, not as_strided's read-only one: numba compiles read-only arrays
    # separately, and that loop ran 2.6x slower.
    return x.reshape(nb, n, m).transpose(0, 2, 1)


class ReshapeThunk:
    """np.reshape, except where it must copy (x.T.reshape(-1), flattening NHWC features of
    NCHW maps): an array of TRANSPOSED_COPY_MIN values or more is copied through c_ordered
    (a transposed one by its tiled loop, in parallel from the thunk's threshold), and either
    copy, a new C-ordered array, is given the new shape in place. (A reshaped copy is a view
    of it, which the function then copied again as its result: x.T.flatten() of 1000x1000
    float64 took 2-2.5x NumPy's time, of 250x250 1.7x.)"""

    def __init__(self, op, node):
        self.reference = _reference(op, node)
        self.threshold = codegen.PARALLEL_THRESHOLD
        self.views = {}  # (shape, strides, *new shape) -> whether strides allow a view

    def __call__(self, inputs):
        x, shape = inputs
        if x.flags.c_contiguous:
            return self.reference(inputs)
        if x.size < TRANSPOSED_COPY_MIN:  # (NumPy's copy: below, its Python costs what the loop saves)
            y, = self.reference(inputs)
            copy = y.base
            if type(copy) is not np.ndarray or copy is x or copy is x.base:
                return [y]  # a view of x
            return [_reshaped_in_place(copy, y.shape)]  # NumPy's hidden copy
        dims = shape.tolist()
        key = (x.shape, x.strides, *dims)
        view = self.views.get(key)
        if view is None:  # (asking NumPy for a view and catching its error took 3.5 us; the test 1.3)
            if len(self.views) >= 64:  # (shapes that change every call)
                self.views.clear()
            view = self.views[key] = _strides_allow_view(x, dims)
        if view:
            return [np.reshape(x, dims)]
        copy = c_ordered(x, self.threshold)
        return [_reshaped_in_place(copy, copy.reshape(dims).shape)]  # (NumPy's error for a shape that does not fit)


def _strides_allow_view(x, dims):
    """Whether x (not empty) reshaped to `dims` (-1 for one of them) is a view of it: NumPy's own
    test (_attempt_nocopy_reshape), on the axes longer than 1. Each run of old axes that
    becomes one run of new ones must step as one C-ordered block. False also for dims that
    do not fit x's size (the copy's reshape then raises NumPy's error)."""
    size = x.size
    if -1 in dims:
        known = math.prod(n for n in dims if n != -1)
        if known == 0 or size % known:
            return False
        dims = [size // known if n == -1 else n for n in dims]
    elif math.prod(dims) != size:
        return False
    shape, strides = x.shape, x.strides
    old = [k for k in range(len(shape)) if shape[k] != 1]
    new = [n for n in dims if n != 1]
    i = j = 0
    while i < len(old) and j < len(new):
        first, made, wanted = i, shape[old[i]], new[j]
        while made != wanted:  # (extend the smaller side until both cover the same values)
            if made < wanted:
                i += 1
                made *= shape[old[i]]
            else:
                j += 1
                wanted *= new[j]
        for k in range(first, i):
            if strides[old[k]] != shape[old[k + 1]] * strides[old[k + 1]]:
                return False
        i, j = i + 1, j + 1
    return True


def _reshaped_in_place(copy, shape):
    """`copy`, a new C-ordered array no one else holds, given `shape` (of as many values)."""
    copy.resize(shape, refcheck=False)  # (no reallocation: the size is the same)
    return copy


@lower.register(Reshape)
def _lower_reshape(op, node):
    return ReshapeThunk(op, node)


def _around_axis(x, axis, threshold):
    """x as a C-ordered (outer, n, inner) array, n along `axis`: the loops over one axis
    (cumsum, argmax) index it the same way whatever x's rank."""
    return c_ordered(x, threshold).reshape(math.prod(x.shape[:axis]), x.shape[axis], math.prod(x.shape[axis + 1:]))


class RunningThunk:
    """cumsum and cumprod along any axis as one compiled loop (numba_kernels._running), the
    same bits as NumPy's: rows along the last axis on both cores (NumPy: 4.3 ms for 2000x1000
    float32; its loop is one dependent addition after another; its cumprod of 10^4 values 39
    us, as a 1.0x call before). Small arrays (RUNNING_FLOATS_BY_NUMPY, SMALL_BY_NUMPY), float16
    and complex run NumPy's."""

    def __init__(self, op, node, product=False):
        self.op, self.node, self.product, self.reverse = op, node, product, getattr(op, "reverse", False)
        self.reference = _reference(op, node)
        self.out_dtype = np.dtype(node.outputs[0].dtype)
        self.threshold = codegen.PARALLEL_THRESHOLD

    def __call__(self, inputs):
        x = inputs[0]
        if (not x.size or x.size < (RUNNING_FLOATS_BY_NUMPY if x.dtype.kind == "f" else SMALL_BY_NUMPY)
                or x.dtype.kind not in "biuf" or x.dtype == np.float16):
            return self.reference(inputs)
        x3 = _around_axis(x, self.op.axis, self.threshold)
        out = np.empty(x.shape, self.out_dtype)
        out3 = out.reshape(x3.shape)
        if self.reverse:
            x3, out3 = x3[:, ::-1], out3[:, ::-1]
        parallel = x.size >= self.threshold and x3.shape[0] > 1
        (kernels.running_parallel if parallel else kernels.running_serial)(x3, out3, self.product)
        return [out]


# A float cumsum or cumprod of this many values or more runs the compiled loop: NumPy's is one
# dependent step after another too, but through its generic accumulate (float32, us, a
# function's call, NumPy's / the loop: 64 values 2.85 / 2.58, 1000 5.9 / 3.6, 4000 16.3 / 6.2,
# 16000 56 / 16; 16 values 2.6 either way). NumPy's integer cumsum is vectorized: SMALL_BY_NUMPY.
RUNNING_FLOATS_BY_NUMPY = 64


@lower.register(R.CumSum)
def _lower_cumsum(op, node):
    return RunningThunk(op, node)


@lower.register(extra_ops.CumProd)
def _lower_cumprod(op, node):
    return RunningThunk(op, node, product=True)


class AxisLoopThunk:
    """An op of two arrays along its axis as one compiled loop over their (outer, n, inner)
    views into a new array (numba_kernels: `loops` a serial and a parallel dispatcher of it),
    reversed views for a loop from the end; float inputs in the output's dtype, indices as they
    are. LinearRecurrence (cumprod's gradient), whose reference steps along the axis in Python
    (a 10^5-value cumprod's gradient took ~0.1 s), and sort's gradient and its own (SortGrad's
    scatter, SortedLike's gather), where NumPy's put_along_axis and take_along_axis build index
    arrays for every axis (1000x100 float32: 0.3 ms each). Small arrays, float16 and complex run
    the reference."""

    def __init__(self, op, node, loops, reverse=False, small=SMALL_BY_NUMPY):
        self.axis, self.loops, self.reverse, self.small = op.axis, loops, reverse, small
        self.reference = _reference(op, node)
        self.out_dtype = np.dtype(node.outputs[0].dtype)
        self.threshold = codegen.PARALLEL_THRESHOLD

    def __call__(self, inputs):
        dtype = self.out_dtype
        shape = np.broadcast_shapes(*(v.shape for v in inputs))
        size = math.prod(shape)
        if size < self.small or dtype.kind != "f" or dtype == np.float16:
            return self.reference(inputs)
        views = [_around_axis(np.broadcast_to(v, shape).astype(dtype if v.dtype.kind == "f" else v.dtype, copy=False),
                              self.axis, self.threshold) for v in inputs]
        out = np.empty(shape, dtype)
        views.append(out.reshape(views[0].shape))
        if self.reverse:
            views = [v[:, ::-1] for v in views]
        serial, parallel = self.loops
        (parallel if size >= self.threshold and views[0].shape[0] > 1 else serial)(*views)
        return [out]


@lower.register(extra_ops.LinearRecurrence)
def _lower_recurrence(op, node):
    # (from two values: the reference's Python steps cost ~1 us each, so that a cumprod's gradient
    # of 1000 float64 took 330 us, 10^4 2.6 ms, below SMALL_BY_NUMPY)
    return AxisLoopThunk(op, node, (kernels.recurrence_serial, kernels.recurrence_parallel), reverse=op.reverse,
                         small=2)


@lower.register(sorting.SortGrad)
def _lower_sort_grad(op, node):
    return AxisLoopThunk(op, node, (kernels.put_in_order_serial, kernels.put_in_order_parallel))


@lower.register(sorting.SortedLike)
def _lower_sorted_like(op, node):
    return AxisLoopThunk(op, node, (kernels.take_in_order_serial, kernels.take_in_order_parallel))


class TopIndicesThunk:
    """argtopk along any axis as one compiled pass (numba_kernels._top_indices) over the array's
    (outer, n, inner) view, rows on both cores from COSTLY_THRESHOLD values (a value costs 1-5
    ns: the insertions' branches mispredict): the 5 largest of 1000 rows of 100 float32 0.69 ->
    0.25 ms (NumPy's argpartition and argsort by hand: 0.58). A k beyond TOP_K_BY_LOOP (each
    value may move k entries), float16, complex, bool and empty arrays run the reference
    (which also raises for a k below 1)."""

    def __init__(self, op, node):
        self.axis, self.largest = op.axis, op.largest
        self.reference = _reference(op, node)
        self.threshold = codegen.PARALLEL_THRESHOLD  # (infinite in a graph whose products BLAS runs)

    def __call__(self, inputs):
        x, k = inputs[0], int(inputs[1])
        if not 1 <= k <= TOP_K_BY_LOOP or x.dtype.kind not in "iuf" or x.dtype == np.float16 or not x.size:
            return self.reference(inputs)
        x3 = _around_axis(x, self.axis, self.threshold)
        outer, n, inner = x3.shape
        k = min(k, n)
        out = np.empty((outer, k, inner), np.int64)
        values = np.empty(out.shape, x.dtype)
        parallel = self.threshold != math.inf and x.size >= codegen.COSTLY_THRESHOLD and outer > 1
        (kernels.top_indices_parallel if parallel else kernels.top_indices_serial)(x3, k, self.largest, values, out)
        return [out.reshape(x.shape[:self.axis] + (k,) + x.shape[self.axis + 1:])]


# argtopk's loop inserts each better value in order among the k best so far; for a k beyond this
# (a large share of the axis) NumPy's argpartition, O(n), is the way.
TOP_K_BY_LOOP = 64


@lower.register(sorting.ArgTopK)
def _lower_top_indices(op, node):
    return TopIndicesThunk(op, node)


class ArgReduceThunk:
    """argmax/argmin along a leading axis as one compiled loop (numba_kernels.arg_extreme_kernel)
    that walks memory in order, where the reference copies the array transposed first
    (2000x1000 float32 along axis 0: 2.6 -> 0.35 ms). Along the last axis NumPy's own argmax
    (one SIMD pass, no copy) is the faster loop: a large array's rows are split between it
    and a helper thread (NumPy's loop releases the GIL: 2000x2000 float32 0.67 -> 0.48 ms). Over
    all axes of a large C-ordered array (ARG_WHOLE_BYTES), blocks on all cores
    (numba_kernels.arg_extreme_whole_kernel; not in a graph whose products BLAS runs, where
    parallel loops are off); smaller C-ordered arrays over all axes, float16, complex and bool
    run NumPy's too, called directly (_whole_by_numpy)."""

    def __init__(self, op, node):
        self.op, self.node = op, node
        self.reference, self.perform = _reference(op, node), op.perform
        ndim = node.inputs[0].ndim
        self.last_axis = (ndim - 1,) if ndim > 1 else None  # (1-d: NumPy's whole argmax)
        self.all_axes = len(op.axis) == ndim
        self.kernels, self.row_kernels = {}, {}
        self.threshold = codegen.PARALLEL_THRESHOLD
        # (the array's method: np.argmax's dispatch costs more; argmax(x, axis, out) either way)
        self.fn = np.ndarray.argmax if op.kind == "argmax" else np.ndarray.argmin

    def __call__(self, inputs):
        x, op = inputs[0], self.op
        if op.axis == self.last_axis and x.flags.c_contiguous:  # (a classifier's predictions: each test here costs)
            out = self._along_rows(x) if x.size >= SHORT_ARG_ROWS_BY_NUMPY else None
            if out is None:
                if not INTP_IS_INT64:
                    return self.perform(self.node, inputs)
                # NumPy's loop, called as the array's method with the axis alone (through
                # the op's perform, keepdims and np.asarray: 128x10 float32 2.4 us, NumPy 1.45)
                out = self.fn(x, -1)
            return [out.reshape(x.shape[:-1] + (1,)) if op.keepdims else out]
        if self.all_axes and x.flags.c_contiguous:
            if (x.nbytes >= ARG_WHOLE_BYTES and self.threshold != float("inf")
                    and x.dtype.kind in "iuf" and x.dtype != np.float16):
                return [self._whole(x)]
            if INTP_IS_INT64:
                return [self._whole_by_numpy(x)]
        if (len(op.axis) != 1 or x.size < ARG_ALONG_MIN or x.dtype.kind not in "iuf" or x.dtype == np.float16
                or x.shape[op.axis[0]] == 0):
            return self.reference(inputs)
        axis = op.axis[0]
        perm = None if x.flags.c_contiguous else _memory_order([x], x.shape)
        if perm is None:
            if axis == x.ndim - 1:  # (NumPy's own loop along rows, strided ones too)
                return self.reference(inputs)
            out = self._along(x, axis)
        else:  # x.T.argmax(axis=0) is x's along rows (1000x1000 float32 0.60 ms walking x's columns; 0.13)
            out = self._along(x.transpose(perm), perm.index(axis))  # (its kept axes in memory order)
            out = np.ascontiguousarray(out.transpose(np.argsort([d for d in perm if d != axis])))
        return [np.expand_dims(out, axis) if op.keepdims else out]

    def _whole_by_numpy(self, x):
        """The index over all of C-ordered x by NumPy's one SIMD pass, called as the array's
        method into an int64 0-d output (through the op's perform, its keywords and np.asarray,
        a vector's argmax took 2.3 us of 10000 float32 where NumPy's took 0.8)."""
        out = np.empty((), np.int64)
        self.fn(x.reshape(-1) if x.ndim > 1 else x, None, out)
        return out.reshape((1,) * x.ndim) if self.op.keepdims else out

    def _along(self, x, axis):
        """The index along `axis` of a float or integer array x of two or more axes, that axis
        dropped; along the last one, x C-ordered."""
        if axis == x.ndim - 1:
            if x.shape[-1] <= SHORT_ARG_ROW and not x.flags.c_contiguous:
                x = np.ascontiguousarray(x)  # (a strided x.T's short rows: the row kernel reads them flat)
            out = self._along_rows(x)
            return self.fn(x, axis=-1) if out is None else out
        x3 = _around_axis(x, axis, self.threshold)
        outer, _, inner = x3.shape
        out = np.empty((outer, inner), np.int64)
        parallel = x.size >= self.threshold and outer > 1
        kernel = self.kernels.get(parallel)
        if kernel is None:
            kernel = self.kernels[parallel] = kernels.arg_extreme_kernel(self.op.kind, parallel)
        kernel(x3, out)
        return out.reshape(x.shape[:axis] + x.shape[axis + 1:])

    def _along_rows(self, x):
        """The index along a C-ordered array's rows by a compiled loop or split between threads,
        None where NumPy's own argmax on one thread is the way."""
        if x.shape[-1] <= SHORT_ARG_ROW and x.dtype in ARG_ROW_DTYPES:  # (a frozenset: 30 ns, the kind's test 120)
            return self._short_rows(x)
        if x.nbytes >= ROWS_SPLIT_BYTES and x.size >= self.threshold and x.dtype.kind in "iuf":
            return self._rows_in_two(x)
        return None

    def _short_rows(self, x):
        """The index along C-ordered short last-axis rows (a classifier's scores), by
        numba_kernels.arg_extreme_rows_kernel (one a row length), on all cores from
        SHORT_ARG_ROWS_PARALLEL values. (The output made in its shape and passed flat, a
        matrix's rows passed as they are: the reshapes had cost 0.5 us of a 2.7 us call.)"""
        n = x.shape[-1]
        parallel = x.size >= SHORT_ARG_ROWS_PARALLEL and self.threshold != math.inf
        kernel = self.row_kernels.get((parallel, n))
        if kernel is None:
            kernel = self.row_kernels[(parallel, n)] = kernels.arg_extreme_rows_kernel(self.op.kind, parallel, n)
        out = np.empty(x.shape[:-1], np.int64)
        if x.ndim == 2:
            kernel(x, out)
        else:
            kernel(x.reshape(-1, n), out.reshape(-1))
        return out

    def _rows_in_two(self, x):
        rows = x.reshape(-1, x.shape[-1])
        out = np.empty(rows.shape[0], np.int64)
        half = rows.shape[0] // 2
        done = _helper().submit(self.fn, rows[half:], 1, out[half:])
        self.fn(rows[:half], 1, out[:half])
        done.result()
        return out.reshape(x.shape[:-1])

    def _whole(self, x):
        """The index over all of C-ordered x, by blocks on all cores
        (numba_kernels.arg_extreme_whole_kernel)."""
        flat = x.reshape(-1)
        floats = x.dtype.kind == "f"
        kernel = self.kernels.get(("whole", floats))
        if kernel is None:
            kernel = self.kernels[("whole", floats)] = kernels.arg_extreme_whole_kernel(self.op.kind, floats, True)
        blocks = (flat.size + ARG_BLOCK - 1) // ARG_BLOCK
        index = np.array(kernel(flat, np.empty(blocks, x.dtype), np.empty(blocks, np.bool_), ARG_BLOCK), np.int64)
        return index.reshape((1,) * x.ndim) if self.op.keepdims else index  # (np.full took 0.7 us, this 0.2)


# Arrays from this many bytes on are split between the calling thread and a helper for a NumPy
# loop that releases the GIL. The hand-over costs tens of microseconds: argmax along rows of
# 1024x1024 float32 (4 MB) ran 0.71-0.74x NumPy split against 0.95-0.97x whole; 6 MB 0.98x
# either way; at 8 MB (2048x1024 and 1448x1448 float32, 1024x1024 float64) 0.91-1.18x in one
# session's runs, 1.03-1.18x in the next's, against 0.96-0.99x whole; 12-15 MB (1800^2,
# 2000^2 float32) 1.21-1.40x against 0.97-1.00x; 16 MB and more 1.24-1.61x. It was 2^20
# elements, which split a 4 MB float32 array at a loss, then 16 MB, which left 2000x2000
# float32 at 0.99x. (The index over all axes was split alike, 2^20 float32 0.71-0.73x, 2^22
# 1.35-1.38x, until its blocks on all cores: 1.9-2.4x at 2^20.)
ROWS_SPLIT_BYTES = 8 << 20
INTP_IS_INT64 = np.dtype(np.intp) == np.int64  # (NumPy's indices are the op's int64 as they are)
# The index along a leading axis is the compiled loop's from ARG_ALONG_MIN values: its call costs
# ~2.2 us, NumPy's argmax there ~0.7 us and 0.6-0.7 ns a value (along axis 0, us, NumPy /
# loop: float32 32x10 1.4 / 2.2, 64x100 5.1 / 3.1, 10x1000 15.8 / 4.0, 128x128 14.2 / 4.5).
ARG_ALONG_MIN = 1 << 12
# The index over all axes of a C-ordered array of ARG_WHOLE_BYTES or more comes from blocks of
# ARG_BLOCK values on all cores (ArgReduceThunk._whole; blocks of 4096 and 16384 ran as fast);
# NumPy's one SIMD pass is faster below: ratios to NumPy's argmax / argmin at 1 MB float32
# 1.15x / 1.05x, float64 1.20x / 1.13x, int32 0.92x / 0.83x; at 2 MB 1.50 / 1.43, 1.60 / 1.49,
# 1.18 / 1.10; at 4 MB 1.90 / 1.85, 2.22 / 2.18, 1.37 / 1.33 (in a function, alternating).
ARG_WHOLE_BYTES = 2 << 20
ARG_BLOCK = 8192
# Rows of at most SHORT_ARG_ROW values (a classifier's scores) take a compiled loop (one a row
# length) from SHORT_ARG_ROWS_BY_NUMPY values, on both cores from SHORT_ARG_ROWS_PARALLEL: NumPy
# calls its SIMD loop once a row. Float32 argmax along rows, new rows each call, us, NumPy / one
# core / two (a function's call, NumPy's loop / the kernel): rows of 10, 128 rows 1.45 / 0.70 /
# 3.6 (2.19 / 2.67), 256 2.78 / 0.99 / 4.4 (3.57 / 2.68), 1000 24.2 / 2.66 / 5.9, 10000 260 / 22.5
# / 22.7, 50000 1302 / 132 / 96; rows of 32: 64 rows (2.40 / 2.71), 128 (3.97 / 3.43), 10000 505 /
# 110 / 102, 50000 2548 / 555 / 477; rows of 3: 256 (2.12 / 2.06), 50000 616 / 21 / 47. (With the
# row length a variable of the loop, one core took 3.2x as long: 1000x10 9.7 us, and two cores
# paid from 8192 values.)
SHORT_ARG_ROW = 32
ARG_ROW_DTYPES = frozenset(np.dtype(c) for c in "bBhHiIlLqQfd")  # (numba's integers and floats)
SHORT_ARG_ROWS_BY_NUMPY = 1 << 11
SHORT_ARG_ROWS_PARALLEL = 1 << 18
_HELPER = []


def _helper():
    """One worker thread, made on first use, for the half of a NumPy loop the caller does not run."""
    if not _HELPER:
        from concurrent.futures import ThreadPoolExecutor
        _HELPER.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="symgraph helper"))
    return _HELPER[0]


@lower.register(R.ArgReduce)
def _lower_arg_reduce(op, node):
    return ArgReduceThunk(op, node)


class RandomDrawThunk:
    """Draws as compiled loops (numba_random): uniform and binomial ones (dropout's masks) give
    the reference's numbers bit for bit (a 64x16x28x28 dropout mask 10 -> 1.5 ms), normal ones
    within a few float64 ulps (2^20 float32 draws 34 -> 2.3 ms). Array parameters, small
    draws and other dtypes run the reference."""

    def __init__(self, op, node):
        self.op = op
        self.reference = _reference(op, node)
        self.threshold = codegen.PARALLEL_THRESHOLD

    def __call__(self, inputs):
        op, state, params = self.op, inputs[0], inputs[2:]
        size = tuple(int(s) for s in inputs[1])
        n = math.prod(size)
        if (op.dist not in ("uniform", "normal", "binomial") or n < SMALL_BY_NUMPY or any(s < 0 for s in size)
                or any(np.ndim(p) for p in params) or op.dtype not in ("float32", "float64", "int32", "int64")):
            return self.reference(inputs)
        key, counter = state[0], state[1]
        out = np.empty(size, op.dtype)
        parallel = n >= self.threshold
        if op.dist == "uniform":
            low, high = params
            (draws.uniform_parallel if parallel else draws.uniform_serial)(
                out.reshape(-1), key, counter, float(low), float(high - low))  # high - low in their dtype
        elif op.dist == "normal":
            avg, std = params
            (draws.normal_parallel if parallel else draws.normal_serial)(
                out.reshape(-1), key, counter, float(avg), float(std))
        else:
            trials, p = params
            if int(trials) == 1:
                (draws.bernoulli_parallel if parallel else draws.bernoulli_serial)(out.reshape(-1), key, counter, float(p))
            else:
                (draws.binomial_parallel if parallel else draws.binomial_serial)(
                    out.reshape(-1), key, counter, float(p), np.empty(int(trials), np.uint64))
        return [np.array([key, counter + np.uint64(1)], dtype=np.uint64), out]


@lower.register(RND.RandomDraw)
def _lower_random_draw(op, node):
    return RandomDrawThunk(op, node)


class _FirstCallChecked:
    """A kernel (numba_codegen._CacheTolerant) that, once a call went through (any damaged
    disk-cache entry replaced), puts numba's dispatcher itself in its place in `table`."""

    def __init__(self, kernel, table, key):
        self.kernel, self.table, self.key = kernel, table, key

    def __call__(self, *args):
        result = self.kernel(*args)
        self.table[self.key] = self.kernel.dispatcher
        return result


class RowThunk:
    """softmax, log_softmax, logsumexp and softmax crossentropy along the last axis of a
    float32/float64 array, a row at a time (numba_rows); logsumexp over other axes moves them
    last; softmax and log_softmax along another axis run NumPy's reference (an optimized graph
    has none there: see rewrite/specialize.softmax_along_a_leading_axis)."""

    def __init__(self, kind, node):
        self.kind, self.node = kind, node
        self.reference = _reference(node.op, node)
        self.dtype = node.inputs[0].dtype
        self.kernels = {}
        # Every row kernel computes exponentials: parallel from the costly loops' threshold
        # (softmax of 316x316 float32: 205 -> 108 us; of 4096x10, 152 -> 89).
        self.threshold = codegen.COSTLY_THRESHOLD

    def _loop(self, x, n):
        """The loop for x's rows of length n (compiled at its first use); None for an empty
        x, where NumPy's reference runs."""
        if not x.size:
            return None
        kernel = self.kernels.get((x.size >= self.threshold, blocked(n)))
        return kernel if kernel is not None else self._kernel(x.size >= self.threshold, n)

    def _kernel(self, parallel, n):
        """The serial or parallel loop for rows of length n."""
        key = parallel, blocked(n)
        kernel = self.kernels.get(key)
        if kernel is None:
            kernel = self.kernels[key] = _FirstCallChecked(row_kernel(self.kind, self.dtype, *key), self.kernels, key)
        return kernel

    def _rows(self, x):
        if x.ndim == 2 and x.flags.c_contiguous:
            return x
        return c_ordered(x, max(self.threshold, codegen.PARALLEL_THRESHOLD)).reshape(-1, x.shape[-1])


class AlongLastAxisThunk(RowThunk):
    """Softmax and LogSoftmax: out has the input's shape."""

    def __init__(self, kind, node):
        super().__init__(kind, node)
        self.axis = node.op.axis

    def __call__(self, inputs):
        x, axis = inputs[0], self.axis
        if x.ndim and x.shape[axis] == 1:
            # Along an axis of length 1 a softmax is 1 and a log_softmax 0 (NaN from a NaN or
            # an infinity, as NumPy's reference): one pass, where rows of one value each cost
            # the row loop 62 us for 10000 float32 (NumPy's reference 17).
            out = np.subtract(x, x)
            if self.kind == "softmax":
                out += 1
            return [out]
        loop = self._loop(x, x.shape[-1]) if axis % x.ndim == x.ndim - 1 else None
        if loop is None:
            return self.reference(inputs)
        rows = self._rows(x)
        out = np.empty_like(rows)
        loop(rows, out)
        return [out.reshape(x.shape)]


class LogSumExpThunk(RowThunk):
    """logsumexp over any axes. Over leading axes of a C-ordered x with COLUMNS_MIN values or
    more left in each row of the rest, down the columns of x as (rows, n) (numba_rows.
    column_kernel: 2000x2000 float32 along axis 0 3.2 -> 1.3 ms, NumPy's written form 5.3;
    float64 5-8 -> 2.9, NumPy 10-18; AMD Zen 4). Else those axes moved last and x copied into
    C order where that makes a copy (c_ordered), then the row loop over rows of their length.
    Along axis 0 of 1000x1000 the reference's five NumPy passes on one core ran 1.10-1.18x
    NumPy's written form."""
    COLUMNS_MIN = 32  # (fewer columns: short inner loops; their transposed rows go 16 at a time)

    def __init__(self, kind, node):
        super().__init__(kind, node)
        self.axes = node.op.axis
        self.kept = [a for a in range(node.inputs[0].ndim) if a not in self.axes]
        self.order = self.kept + list(self.axes)
        self.leading = self.axes == tuple(range(len(self.axes)))
        self.columns = {}  # parallel -> column_kernel

    def __call__(self, inputs):
        x, axes = inputs[0], self.axes
        if not x.size or not x.ndim:
            return self.reference(inputs)
        n = math.prod(x.shape[a] for a in axes)
        kept_shape = [x.shape[a] for a in self.kept]
        width = x.size // n
        if n == 1:
            # Over axes of length 1 each value is its own logsumexp (log(exp(0)) + x: -0.0
            # made 0.0 as there): as rows of one value, (1000, 1000, 1) over its last axis
            # took 3.5 ms, NumPy's written form 1.5.
            out = np.add(x, x.dtype.type(0))
        elif self.leading and x.flags.c_contiguous and width >= self.COLUMNS_MIN:
            out = self._down_columns(x.reshape(n, width))
        else:  # (the row loop compiled at its first use only: a whole kernel's compile)
            loop = self._loop(x, n)
            moved = x.transpose(self.order)  # (a view, C-ordered when the axes are already last)
            rows = c_ordered(moved, max(self.threshold, codegen.PARALLEL_THRESHOLD)).reshape(-1, n)  # (per call:
            # compile_graph sets self.threshold to infinity after lowering in a graph that calls BLAS)
            out = np.empty(rows.shape[0], x.dtype)
            loop(rows, out)
        out = out.reshape(kept_shape)
        return [np.expand_dims(out, axes) if self.node.op.keepdims else out]

    def _down_columns(self, x):
        """logsumexp of each column of a C-ordered (rows, n) x."""
        parallel = x.size >= self.threshold
        kernel = self.columns.get(parallel)
        if kernel is None:
            kernel = self.columns[parallel] = column_kernel(self.dtype, parallel)
        parts = get_num_threads() if parallel else 1  # (one row range a thread)
        out = np.empty(x.shape[1], x.dtype)
        kernel(x, np.empty((parts, x.shape[1]), x.dtype), np.empty((parts, x.shape[1])), out)
        return out


class CrossentropySoftmaxThunk(RowThunk):
    def __init__(self, node):
        super().__init__(crossentropy_kind(node), node)
        self.dense = "_dense" in self.kind

    def _targets(self, x, t):
        """The targets as the loops read them: dense rows like x's (broadcast, cast, C order),
        or one integer a row (a ValueError if not)."""
        if self.dense:
            targets = t if t.shape == x.shape else np.broadcast_to(t, x.shape)  # (broadcast_to: 5 us)
            return self._rows(targets.astype(x.dtype, copy=False))
        N.check_target_rows(x.shape, t.shape)  # (the loop reads one target per row)
        return t if t.ndim == 1 else t.reshape(-1)

    def _raise_for_targets(self, targets, x):
        n = x.shape[-1]
        low, high = targets.min(), targets.max()
        bad = high if high >= n else low
        raise IndexError(f"index {bad} is out of bounds for axis {x.ndim - 1} with size {n}")

    def __call__(self, inputs):
        x, t = inputs
        loop = self._loop(x, x.shape[-1])
        if loop is None:
            return self.reference(inputs)
        targets, rows = self._targets(x, t), self._rows(x)
        out = np.empty(rows.shape[0], x.dtype)
        if loop(rows, targets, out) and not self.dense:
            self._raise_for_targets(targets, x)
        return [out if x.ndim == 2 else out.reshape(x.shape[:-1])]


class CrossentropySoftmaxGradThunk(CrossentropySoftmaxThunk):
    """(softmax(x) - one_hot(t)) * g[..., None], or (softmax(x) * sum(t) - t) * g[..., None]
    for dense targets, in one pass over each row; with_loss (CrossentropySoftmaxWithGrad) each
    row's crossentropy too, in the same pass."""

    def __init__(self, node):
        super().__init__(node)
        self.with_loss = self.kind.endswith("_with_grad")

    def __call__(self, inputs):
        x, t, g = inputs
        loop = self._loop(x, x.shape[-1])
        if loop is None:
            return self.reference(inputs)
        targets, rows = self._targets(x, t), self._rows(x)
        # g is often 1/n broadcast to the batch (a mean's gradient): one contiguous array, so
        # numba compiles the loop once for it rather than a second time for the strided view
        # (filled by assignment: np.broadcast_to(g, shape).copy() took 8 us of a 18 us call)
        per_row = g
        if g.shape != x.shape[:-1] or not g.flags.c_contiguous:
            per_row = np.empty(x.shape[:-1], g.dtype)
            per_row[...] = g
        if per_row.ndim != 1:
            per_row = per_row.reshape(-1)
        outs = [np.empty(rows.shape[0], rows.dtype)] if self.with_loss else []  # (the loss first)
        outs.append(np.empty(rows.shape, rows.dtype))
        if loop(rows, targets, per_row, *outs) and not self.dense:
            self._raise_for_targets(targets, x)
        if x.ndim != 2:  # (rows of a 3-d x: the loss has its leading axes, the gradient its shape)
            outs = [o.reshape(x.shape if o.ndim == 2 else x.shape[:-1]) for o in outs]
        return outs


@lower.register(N.CrossentropySoftmaxGrad)
def _lower_crossentropy_softmax_grad(op, node):
    return CrossentropySoftmaxGradThunk(node)


@lower.register(N.CrossentropySoftmaxWithGrad)
def _lower_crossentropy_softmax_with_grad(op, node):
    return CrossentropySoftmaxGradThunk(node)


@lower.register(N.Softmax)
def _lower_softmax(op, node):
    return AlongLastAxisThunk("softmax", node)


@lower.register(N.LogSoftmax)
def _lower_log_softmax(op, node):
    return AlongLastAxisThunk("log_softmax", node)


@lower.register(R.LogSumExp)
def _lower_logsumexp(op, node):
    return LogSumExpThunk("logsumexp", node)


@lower.register(N.CrossentropySoftmax)
def _lower_crossentropy_softmax(op, node):
    return CrossentropySoftmaxThunk(node)


# A gather reads memory in random places, so two cores pay from fewer elements than a
# streaming loop's PARALLEL_THRESHOLD: from this many values or a quarter as many picks
# (rows of 2 float32, 16384 values: 15.7 -> 12.0 us; of 16, 65536 values: 10.6 -> 7.9;
# 20000 single values 13.0 -> 6.3; rows of 128, 32768 values: even).
GATHER_PARALLEL_THRESHOLD = 1 << 15
# Values picked from a vector take the loop from this many (a function's call x[idx] over
# float32, through the op's perform against the loop: 1000 picks 1.90 against 1.99 us, 2048
# 2.59 against 2.43, 4000 3.78 against 3.20).
VALUES_BY_NUMPY = 1 << 11
# Fewer pairs than this picked from a matrix (x[rows, cols]) are NumPy's fancy indexing (16 pairs:
# 0.8 us either way; 256: NumPy's 1.6-2.4, the loop 0.9-1.0).
PAIRS_BY_NUMPY = 1 << 6
# np.repeat and np.tile of arrays this large run the compiled copy (NumPy's call costs more
# below), on both cores from REPEAT_PARALLEL_THRESHOLD values of output. Float32 twice, us,
# NumPy's / one core / two: values (rows of one) into 32768 outputs 15.3 / 2.9 / 4.1, 65536
# 30.1 / 5.4 / 4.6; rows of 128, (256, 128) along axis 0 6.6 / 5.1 / 5.0; (1000, 1000) 407 /
# 405 / 210. NumPy copies short rows in fixed-size pieces, faster than the loop's: rows under
# REPEAT_SHORT_ROW values stay NumPy's (8192 rows of 2: 8.0 against 43 on one core), and rows
# under REPEAT_SERIAL_ROW take the loop only on both cores (rows of 16: 4096 16.5 / 26.4 /
# 17.0, 32768 216 / 221 / 132; of 32: 32768 473 / 445 / 225; of 48: 4096 55 / 52 / 27).
REPEAT_BY_NUMPY = 1 << 10
REPEAT_PARALLEL_THRESHOLD = 1 << 16
REPEAT_SHORT_ROW = 16
REPEAT_SERIAL_ROW = 48
# x[mask] of this many values or more runs a compiled loop (NumPy's x[mask] over 10^4 float32
# values 10.2 us, the loop 3.7).
MASK_BY_NUMPY = 1 << 10


class ConcatenateThunk:
    """np.concatenate, except an output of RECYCLE_BYTES or more (reused as the elementwise
    loops' are) from C-ordered inputs already of its dtype: each input copied into its columns
    on all cores by numba_kernels.copy_into_columns, where NumPy's copy is one core's. Two
    vectors into 1 MB, float32 33 -> 19 us, float64 31 -> 19; (1000, 1000) float32 pairs along
    either axis 0.53-0.56 -> 0.31-0.33 ms, float64 1.05-1.09 -> 0.59-0.61. Smaller outputs lost
    (each input's parallel launch: 2^16 float32 values 5.4 -> 13.2 us)."""

    def __init__(self, op, node):
        self.axis = op.axis
        self.reference = _reference(op, node)
        self.dtype = np.dtype(node.outputs[0].dtype)
        self.outputs = SpareOutput(self.dtype)
        self.threshold = RECYCLE_BYTES // self.dtype.itemsize  # (elements)

    def __call__(self, inputs):
        # (np.concatenate alone where the inputs are of the output's dtype and small: two
        # vectors of 500 float32 values, a function's call 4.3 -> 2.1 us, the thunk's own 1.65
        # -> 1.38 with the dtypes and sizes in one loop; NumPy's own 0.8-1.0)
        axis, first, dtype, total = self.axis, inputs[0], self.dtype, 0
        for x in inputs:
            if x.dtype is not dtype:
                return self.reference(inputs)
            total += x.size
        if total < self.threshold:
            return [np.concatenate(inputs, axis)]
        before, after = first.shape[:axis], first.shape[axis + 1:]
        shape = before + (sum([x.shape[axis] for x in inputs]),) + after
        size = math.prod(shape)
        if size < self.threshold or not all([x.flags.c_contiguous and x.ndim == first.ndim
                                             and x.shape[:axis] == before and x.shape[axis + 1:] == after
                                             for x in inputs]):
            return self.reference(inputs)  # (and NumPy's errors)
        out = self.outputs.new(shape)
        rows = math.prod(before)
        flat, width, offset = out.reshape(-1), size // rows, 0
        for x in inputs:
            if x.size:
                kernels.copy_into_columns(x.reshape(-1), rows, flat, width, offset)
                offset += x.size // rows
        return [out]


@lower.register(Concatenate)
def _lower_concatenate(op, node):
    return ConcatenateThunk(op, node)


class RepeatThunk:
    """np.repeat by one count along an axis of a C-ordered array, as a compiled copy
    (_repeated), on both cores from REPEAT_PARALLEL_THRESHOLD values of output; NumPy's
    repeat copies value by value. A count per element, small and other arrays: NumPy's."""

    def __init__(self, op, node):
        self.axis = op.axis
        self.perform = _reference(op, node)
        self.outputs = SpareOutput(node.outputs[0].dtype)
        self.threshold = REPEAT_PARALLEL_THRESHOLD

    def __call__(self, inputs):
        x, repeats = inputs
        if repeats.size != 1 or x.size < REPEAT_BY_NUMPY:
            return self.perform(inputs)
        times = int(repeats.reshape(-1)[0])
        block = x.size // math.prod(x.shape[:self.axis + 1])  # (the values after one along the axis)
        if times <= 0 or not _copied_by_blocks(x, block, times, self.threshold):
            return self.perform(inputs)  # (a zero or negative count: an empty result, or NumPy's error)
        return [_repeated(x, self.axis, times, block, self.outputs, self.threshold)]


@lower.register(Repeat)
def _lower_repeat(op, node):
    return RepeatThunk(op, node)


class TileThunk:
    """np.tile along one axis d of a C-ordered array: each block of its axes d.. copied
    `reps[d]` times over in a row (_repeated, as RepeatThunk's; NumPy's tile copies through
    repeat); tiles along several axes, small and other arrays: NumPy's."""

    def __init__(self, op, node):
        tiled = [d for d, r in enumerate(op.reps) if r != 1]
        self.axis = tiled[0] if len(tiled) == 1 and op.reps[tiled[0]] > 0 else None
        self.times = op.reps[self.axis] if self.axis is not None else None
        self.perform = _reference(op, node)
        self.outputs = SpareOutput(node.outputs[0].dtype)
        self.threshold = REPEAT_PARALLEL_THRESHOLD

    def __call__(self, inputs):
        x, axis = inputs[0], self.axis
        if axis is None or x.size < REPEAT_BY_NUMPY:
            return self.perform(inputs)
        block = x.size // math.prod(x.shape[:axis])  # (the axis and all after it)
        if not _copied_by_blocks(x, block, self.times, self.threshold):
            return self.perform(inputs)
        return [_repeated(x, axis, self.times, block, self.outputs, self.threshold)]


@lower.register(Tile)
def _lower_tile(op, node):
    return TileThunk(op, node)


def _copied_by_blocks(x, block, times, threshold):
    """Whether _repeated is faster than NumPy on x (C-ordered numbers or bools): blocks of one
    value, or of REPEAT_SERIAL_ROW or more, and on both cores from REPEAT_SHORT_ROW."""
    if not (x.flags.c_contiguous and x.dtype.kind in "biuf"):
        return False
    return block == 1 or block >= REPEAT_SERIAL_ROW or (block >= REPEAT_SHORT_ROW and x.size * times >= threshold)


def _repeated(x, axis, times, block, outputs, threshold):
    """A new array (outputs.new) of x's shape, its axis `axis` `times` as long, holding each
    block of `block` values of x `times` times over in a row (numba_kernels: repeat_values
    for blocks of one value, repeat_rows for longer ones), on all cores from `threshold`."""
    out = outputs.new(x.shape[:axis] + (x.shape[axis] * times,) + x.shape[axis + 1:])
    parallel = out.size >= threshold
    if block == 1:
        repeat = kernels.repeat_values_parallel if parallel else kernels.repeat_values_serial
        repeat(x.reshape(-1), times, out.reshape(-1))
    else:
        repeat = kernels.repeat_rows_parallel if parallel else kernels.repeat_rows_serial
        repeat(x.reshape(-1), block, times, out.reshape(-1))
    return out


class SubtensorThunk:
    """Indexing by NumPy, except x[idx] (rows picked by an integer array: embeddings, batches
    drawn by index, values picked from a vector; x[idx, :] is x[idx] after canonicalize's
    trailing_whole_axes_dropped), which is one compiled loop copying whole rows, on both cores when large: NumPy's fancy indexing took 1.2 ms for
    50000 rows of 32 float32 values, this 0.33; 10^5 values picked from 10^6 float32 0.21 ms,
    this 0.07; x[:, idx] of a matrix (columns picked: _columns); and x[mask] (_masked)."""

    def __init__(self, op, node):
        self.op, self.node = op, node
        self.reference = _reference(op, node)
        self.threshold = GATHER_PARALLEL_THRESHOLD
        ints = node.inputs[-1].dtype[0] in "iu"
        self.rows = ints and op.spec == ("array",)
        self.columns = ints and op.spec == (I.WHOLE_AXIS, "array") and node.inputs[0].ndim == 2
        self.masked = op.spec == ("array",) and node.inputs[1].dtype == "bool"
        # x[rows, cols] of a matrix, two integer vectors: Theano's log(p)[arange(n), y]
        self.pairs = op.spec == ("array", "array") and node.inputs[0].ndim == 2 and all(
            v.ndim == 1 and v.dtype[0] in "iu" and v.dtype != "uint64" for v in node.inputs[1:])

    def __call__(self, inputs):
        if self.pairs:
            return self._pairs(inputs)
        if self.masked:
            return self._masked(inputs)
        if self.columns:
            return self._columns(inputs)
        if not self.rows:
            return self.reference(inputs)
        x, idx = inputs
        row = x.size // x.shape[0] if x.shape[0] else 0
        size = idx.size * row
        if size < (VALUES_BY_NUMPY if row == 1 else SMALL_BY_NUMPY) or not x.flags.c_contiguous \
                or x.dtype.kind not in "biuf":
            # (NumPy's x[idx] itself, not through the op's perform: 26 rows of 64 float32, a
            # function's call 2.8 -> 2.2 us, NumPy's 1.5; a 0-d idx picks a view: the reference's)
            return [x[idx]] if idx.ndim else self.reference(inputs)
        out = np.empty(idx.shape + x.shape[1:], x.dtype)
        parallel = size >= self.threshold or 4 * idx.size >= self.threshold
        if row == 1:
            gather = kernels.gather_values_parallel if parallel else kernels.gather_values_serial
            if x.ndim == 1 and idx.ndim == 1:
                bad = gather(x, idx, out)
            else:
                bad = gather(x.reshape(-1), idx.reshape(-1), out.reshape(-1))
        else:
            gather = kernels.gather_rows_parallel if parallel else kernels.gather_rows_serial
            bad = gather(x.reshape(x.shape[0], -1), idx.reshape(-1), out.reshape(idx.size, -1))
        if bad:
            n = x.shape[0]
            bad = idx[(idx >= n) | (idx < -n)].flat[0]
            raise IndexError(f"index {bad} is out of bounds for axis 0 with size {n}")
        return [out]

    def _pairs(self, inputs):
        """x[rows, cols] of a matrix by numba_kernels.gather_pairs, on both cores from a quarter
        of GATHER_PARALLEL_THRESHOLD pairs: NumPy's fancy indexing took 30-45 us for 10^4 pairs
        of a 10000x10 float32 or float64 matrix, the loop 13-16 on one core, 10-11 on two. Few
        pairs (PAIRS_BY_NUMPY), vectors of two lengths (broadcast by NumPy) and other dtypes
        are NumPy's."""
        x, rows, cols = inputs
        n = rows.shape[0]
        if n < PAIRS_BY_NUMPY or cols.shape[0] != n or x.dtype.kind not in "biuf":
            return self.reference(inputs)
        out = np.empty(n, x.dtype)
        gather = kernels.gather_pairs_parallel if 4 * n >= self.threshold else kernels.gather_pairs_serial
        if gather(x, rows, cols, out):
            for axis, idx in enumerate((rows, cols)):
                wrong = idx[(idx >= x.shape[axis]) | (idx < -x.shape[axis])]
                if wrong.size:
                    raise IndexError(f"index {wrong[0]} is out of bounds for axis {axis} with size {x.shape[axis]}")
        return [out]

    def _columns(self, inputs):
        """x[:, idx] of a C-ordered matrix by numba_kernels.gather_columns (a row at a time);
        small, strided and other inputs are NumPy's."""
        x, idx = inputs
        size = x.shape[0] * idx.size
        if size < SMALL_BY_NUMPY or not x.flags.c_contiguous or x.dtype.kind not in "biuf":
            return self.reference(inputs)
        out = np.empty((x.shape[0],) + idx.shape, x.dtype)
        gather = kernels.gather_columns_parallel if size >= self.threshold else kernels.gather_columns_serial
        if gather(x, idx.reshape(-1), out.reshape(x.shape[0], -1)):
            k = x.shape[1]
            bad = idx[(idx >= k) | (idx < -k)].flat[0]
            raise IndexError(f"index {bad} is out of bounds for axis 1 with size {k}")
        return [out]

    def _masked(self, inputs):
        """x[mask] for a bool mask over x's leading axes, by numba_kernels.compress_values
        (single values, branch-free) or compress_rows; small, strided and mismatched inputs
        (NumPy's error) are NumPy's."""
        x, mask = inputs
        if (x.size < MASK_BY_NUMPY or mask.shape != x.shape[:mask.ndim] or not mask.ndim
                or not (x.flags.c_contiguous and mask.flags.c_contiguous) or x.dtype.kind not in "biuf"):
            return self.reference(inputs)
        flat_mask = mask.reshape(-1)
        kept = int(np.count_nonzero(flat_mask))
        row_shape = x.shape[mask.ndim:]
        row = math.prod(row_shape)
        if row == 1:
            out = np.empty(kept + 1, x.dtype)  # (the loop writes one past the last value kept)
            kernels.compress_values(x.reshape(-1), flat_mask, out)
            return [out[:kept].reshape((kept,) + row_shape)]
        out = np.empty((kept,) + row_shape, x.dtype)
        kernels.compress_rows(x.reshape(flat_mask.shape[0], row), flat_mask, out.reshape(kept, row))
        return [out]


@lower.register(I.Subtensor)
def _lower_subtensor(op, node):
    """x[::-1], x[:, 2:5], x[0] with constant bounds: a view, written into the program as
    NumPy's expression (as DimShuffle's). The thunk built the index from its inputs each call:
    x[::-1] * 2 on 1000 floats 5.9-6.7 -> 4.1-4.4 us, m[:, 1:] * 2 on 32x33 9.1-10.1 -> 6.9-7.3.
    A 0-d result (x[2] of a vector) stays with the thunk, whose result is an array."""
    index = I.constant_index_text(op.spec, node.inputs[1:]) if node.outputs[0].ndim else None
    if index is None:
        return SubtensorThunk(op, node)
    thunk = _reference(op, node)
    thunk.expression = lambda x, *constants: f"{x}[{index}]"
    return thunk


class IncSubtensorThunk:
    """set/inc_subtensor; integer-array increments (scatter-add) run a compiled loop instead
    of NumPy's slow ufunc.at, after checking every index is in range."""

    def __init__(self, op, node):
        self.op, self.node = op, node

    def __call__(self, inputs):
        op = self.op
        if op.spec == ("array", "array") and not op.set_instead_of_inc:
            return self._pairs(inputs)
        if not op.set_instead_of_inc and "array" not in op.spec:
            return self._region(inputs)
        if op.set_instead_of_inc or op.spec != ("array",) or inputs[2].dtype == bool:
            return op.perform(self.node, inputs)
        x, y, idx = inputs
        if idx.ndim != 1 or x.ndim == 0 or idx.dtype == np.uint64:  # (uint64 and int64 sum to floats in numba)
            return op.perform(self.node, inputs)
        n, width = x.shape[0], math.prod(x.shape[1:])
        # The rows added: y's own where it holds one a picked index, or one row for all of
        # them; other broadcasts spelled out. (The bounds, negative indices and broadcast by
        # NumPy calls had cost 8 us of an 11 us call of 100 indices into 1000 float32.)
        if y.shape[1:] != x.shape[1:] or y.ndim != x.ndim or y.shape[0] not in (1, idx.shape[0]):
            y = y.reshape((1,) + x.shape[1:]) if y.shape == x.shape[1:] else np.broadcast_to(
                y, (idx.shape[0],) + x.shape[1:])
        out = x if op.inplace and x.flags.writeable and x.flags.c_contiguous else x.copy()
        bad = kernels.scatter_add_rows(out.reshape(n, width), idx,
                                       np.ascontiguousarray(y, x.dtype).reshape(y.shape[0], width))
        if bad >= 0:
            raise IndexError(f"index {idx[bad]} is out of bounds for axis 0 with size {n}")
        return [out]


    def _region(self, inputs):
        """x[slices] += y: where the region is strided, its rows contiguous, and y has its
        shape, y's rows are added run by run (kernels.add_runs); else NumPy's +=."""
        x, y = inputs[0], inputs[1]
        out = x if self.op.inplace and x.flags.writeable and x.flags.c_contiguous else x.copy()
        region = out[I.build_index(self.op.spec, inputs[2:])]
        runs = (region.size >= INC_RUNS_MIN and not region.flags.c_contiguous and y.shape == region.shape
                and y.dtype == out.dtype and out.dtype.kind in "fiu" and y.flags.c_contiguous
                and not np.may_share_memory(out, y))  # (NumPy's += reads y as it was)
        starts = _run_starts(out, region) if runs else None
        if starts is None:
            region += y
        else:
            kernels.add_runs(out.reshape(-1), starts, y.reshape(starts.shape[0], -1))
        return [out]

    def _pairs(self, inputs):
        """x[rows, cols] += y for a 2-d x and two integer vectors of one length (a gradient of
        picked entries, Theano's -log(p)[arange(n), y]): one compiled loop where np.add.at
        took 4-6 us for 256 pairs."""
        x, y, rows, cols = inputs
        if not (x.ndim == 2 and rows.ndim == 1 and cols.ndim == 1 and rows.shape == cols.shape
                and rows.dtype.kind in "iu" and cols.dtype.kind in "iu" and x.dtype.kind in "fiu"
                and y.ndim <= 1 and y.size in (1, rows.shape[0]) and y.dtype == x.dtype):
            return self.op.perform(self.node, inputs)
        out = x if self.op.inplace and x.flags.writeable and x.flags.c_contiguous else x.copy()
        values = np.ascontiguousarray(y).reshape(-1)
        bad, axis = kernels.scatter_add_pairs(out, rows, cols, values)
        if bad >= 0:
            index = (rows, cols)[axis][bad]
            raise IndexError(f"index {index} is out of bounds for axis {axis} with size {x.shape[axis]}")
        return [out]


# A strided region of this many values or more is incremented run by run (IncSubtensorThunk._region).
INC_RUNS_MIN = 1 << 12
# ...its contiguous runs this long at least (shorter runs, a column's values, stay NumPy's).
INC_RUN_MIN_LENGTH = 16


def _run_starts(whole, region):
    """The offsets (in elements, int64) in C-ordered `whole` of the contiguous runs that make up
    `region`, a view of it, in C order; None where its last axis is not contiguous or a run is
    shorter than INC_RUN_MIN_LENGTH."""
    size = whole.itemsize
    steps = [s // size for s in region.strides]
    if steps[-1] != 1:
        return None
    axes = region.ndim - 1
    run = region.shape[-1]
    while axes and steps[axes - 1] == run:  # (trailing axes that continue the run)
        axes -= 1
        run *= region.shape[axes]
    if run < INC_RUN_MIN_LENGTH:
        return None
    offset = (region.__array_interface__["data"][0] - whole.__array_interface__["data"][0]) // size
    starts = np.full((), offset, np.int64)
    for k in range(axes):
        starts = starts[..., None] + np.arange(region.shape[k], dtype=np.int64) * steps[k]
    return starts.reshape(-1)


@lower.register(I.IncSubtensor)
def _lower_inc_subtensor(op, node):
    return IncSubtensorThunk(op, node)


class MaxPoolThunk:
    """max_pool2d and its gradient as single loops over the windows (no window copies; windows
    that tile the image, the common 2x2, by kernels of their own); the
    planes split over numba's threads from PARALLEL_POOL values where BLAS's threads are not
    spinning (blas.threads_idle: beside them a split loop runs slower than a serial one)."""

    PARALLEL_POOL = 1 << 16
    # The forward of windows that tile the image takes max_pool_tiled_kernel on one core where
    # a row holds this many windows: 2x2 of 64x16x28x28 float32 1.30 -> 0.53 ms, 64x32x14x14
    # 1.53 -> 0.33, 64x32x8x8 0.43 -> 0.14; rows of 3 or 2 windows lost (32x32x7x7 0.030 ->
    # 0.052); split over the planes it gained nothing at 28x28 and lost at 8x8 (0.065 -> 0.165 ms).
    TILED_FORWARD_ROW = 4

    def __init__(self, pool, node, grad):
        self.pool, self.node, self.grad = pool, node, grad
        self.kernels = {}  # (window geometry, tiled, parallel) -> kernel

    def _kernel(self, key, tiled, parallel):
        kernel = self.kernels.get((key, tiled, parallel))
        if kernel is None:
            kh, kw = key[:2]
            if not tiled:
                kernel = kernels.max_pool_kernel(*key, grad=self.grad, parallel=parallel)
            elif self.grad:
                kernel = kernels.max_pool_tiled_grad_kernel(kh, kw, parallel)
            else:  # (the forward's tiled kernel runs on one core only: TILED_FORWARD_ROW)
                kernel = kernels.max_pool_tiled_kernel(kh, kw)
            self.kernels[key, tiled, parallel] = kernel
        return kernel

    def __call__(self, inputs):
        x = inputs[0]
        pool = self.pool
        (pt, pb), (pl, pr) = pool.params.pads(x.shape[2:], pool.kernel)
        kh, kw = pool.kernel
        sh, sw = pool.stride
        lowest = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        lowest = x.dtype.type(lowest)
        key = (kh, kw, sh, sw, pt, pb, pl, pr)  # (the padding of 'same' depends on the image size)
        parallel = x.size >= self.PARALLEL_POOL and x.shape[0] * x.shape[1] > 1 and numba_conv.thread_slots() > 1 \
            and blas.threads_idle()
        tiled = kernels.tiles(*key) and (self.grad or (not parallel and x.shape[3] // kw >= self.TILED_FORWARD_ROW))
        if parallel:
            blas.note_numba_threads(x.size)
        kernel = self._kernel(key, tiled, parallel)
        if not self.grad:
            oh, ow = pool.params.out_size(x.shape[2:], pool.kernel)
            out = np.empty(x.shape[:2] + (oh, ow), x.dtype)
            if tiled:
                kernel(np.ascontiguousarray(x).reshape(-1), out.reshape(-1), x.shape[0] * x.shape[1], x.shape[2],
                       x.shape[3])
            else:
                kernel(x, lowest, out)
            return [out]
        g = inputs[1].astype(x.dtype, copy=False)
        if not tiled:
            dx = np.zeros_like(x)
            kernel(x, g, lowest, dx)
            return [dx]
        dx = np.empty(x.shape, x.dtype)  # C order (empty_like keeps x's, and reshape would copy)
        covered_h, covered_w = g.shape[2] * kh, g.shape[3] * kw
        dx[:, :, covered_h:] = 0  # what no window covers (an odd last row or column)
        dx[:, :, :covered_h, covered_w:] = 0
        bits = np.dtype(f"u{x.dtype.itemsize}")  # (the kernel writes g's bits or zero's)
        kernel(np.ascontiguousarray(x).reshape(-1), np.ascontiguousarray(g).reshape(-1).view(bits),
               dx.reshape(-1).view(bits), x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
        return [dx]


@lower.register(conv.MaxPool2D)
def _lower_max_pool(op, node):
    if node.inputs[0].dtype[0] not in "fiu":
        return _reference(op, node)
    return MaxPoolThunk(op, node, grad=False)


@lower.register(conv.MaxPool2DGrad)
def _lower_max_pool_grad(op, node):
    if node.inputs[0].dtype[0] not in "fiu":
        return _reference(op, node)
    return MaxPoolThunk(op.pool, node, grad=True)


class ConvThunk:
    """Convolutions as im2col (a compiled gather into one contiguous matrix, a slice of the batch
    at a time: WINDOW_MATRIX_BYTES) + a BLAS GEMM per group and slice; the input gradient
    scatters back with the compiled col2im. Where it pays, and
    BLAS's threads are not spinning, image by image on numba's threads instead (numba_conv)."""

    def __init__(self, op, node, kind):
        self.op, self.node, self.params = op, node, op.params
        self.compute = getattr(self, kind)  # chosen once, not per call
        self.loops = {}  # (im2col or col2im, window geometry) -> kernel
        self.geometries = {}  # (image size, kernel) -> window geometry (2.6 us to work out)
        self.noted = 0  # the work a call noted for numba's threads (_by_images)

    def __call__(self, inputs):
        self.noted = 0
        out = self.compute(*inputs)
        if self.noted:  # again at the end: a long convolution (0.26 s) outlasts the note
            blas.note_numba_threads(self.noted)
        return [out]

    def _loop(self, make, geometry):
        key = (make, geometry[:8])  # 'same' padding depends on the image size
        kernel = self.loops.get(key)
        if kernel is None:
            kernel = self.loops[key] = make(*geometry[:8])
        return kernel

    def _geometry(self, size, kernel):
        key = (size, kernel)
        geometry = self.geometries.get(key)
        if geometry is None:
            geometry = self.geometries[key] = self.params.window_geometry(size, kernel)
        return geometry

    def _columns(self, x, k, cg, kernel, geometry):
        """The (cg*kh*kw, n*oh*ow) window matrix of group k."""
        n = x.shape[0]
        oh, ow = geometry[-2:]
        cols = np.empty((cg * kernel[0] * kernel[1], n * oh * ow), x.dtype)
        group = x if cg == x.shape[1] else x[:, k * cg:(k + 1) * cg]
        self._loop(kernels.im2col_kernel, geometry)(np.ascontiguousarray(group), oh, ow, cols)
        return cols

    def _by_images(self, x, other, w_shape, geometry):
        """Whether this call goes image by image on numba's threads (numba_conv.takes; other:
        the filters or the output's gradient, of x's dtype for that)."""
        pixels = geometry[-2] * geometry[-1]
        work = x.shape[0] * math.prod(w_shape) * pixels
        if self.params.groups == 1 and numba_conv.takes(x, other, w_shape, pixels):
            self.noted = work
            blas.note_numba_threads(work)
            return True
        if work >= numba_conv.MIN_WORK and blas.splits_products():
            # The batched path's products, and the dense layers' after it, go on numba's threads
            # too: threaded by OpenBLAS they kept its threads spinning, so every later
            # convolution stayed batched and handed them its own products again. Keras's
            # mnist_cnn (conv32-conv64-pool-dense128) at batch 32 18.9 -> 17.4 ms.
            self.noted = work
        return False

    def _product(self, a, b):
        """blas.product(a, b) for the batched path, the call's work noted again first where it
        was noted: so the product keeps to numba's threads however long the convolution has
        run (0.26 s at batch 1024) or a first call spent compiling its loops."""
        if self.noted:
            blas.note_numba_threads(self.noted)
        return blas.product(a, b)

    def forward(self, x, w):
        return self._forward(x, w, self._geometry(x.shape[2:], w.shape[2:]))

    def _forward(self, x, w, geometry):
        """The convolution of x by w over the windows `geometry` (window_geometry's)."""
        o, cg, kh, kw = w.shape
        g, n = self.params.groups, x.shape[0]
        oh, ow = geometry[-2:]
        if numba_tiled_conv.takes(x.shape, w.shape, geometry, g, x.dtype, w.dtype):
            return numba_tiled_conv.forward(x, w, self._tiled_parallel(x))
        if numba_taps.takes(x, w, o, geometry, g):
            out = np.empty((n, o, oh, ow), x.dtype)
            self._taps(numba_taps.forward_serial, numba_taps.forward_parallel, x, w.shape, geometry)(
                np.ascontiguousarray(x), np.ascontiguousarray(w), geometry[6], geometry[7], out)
            return out
        og = o // g
        if self._by_images(x, w, w.shape, geometry):
            return numba_conv.forward(self._loop(numba_conv.forward_kernel, geometry), x, w, oh, ow)
        out = np.empty((n, o, oh, ow), x.dtype)
        for k in range(g):
            filters = w[k * og:(k + 1) * og].reshape(og, -1)
            for images in _image_chunks(n, cg * kh * kw * oh * ow * x.itemsize):
                target = out[images, k * og:(k + 1) * og]
                m = target.shape[0]
                cols = self._columns(x[images], k, cg, (kh, kw), geometry)
                if self._per_image(cols, filters):  # each image's product written in its place (NCHW)
                    np.matmul(filters, cols.reshape(cols.shape[0], m, oh * ow).transpose(1, 0, 2),
                              out=target.reshape(m, og, oh * ow))
                    continue
                part = self._product(filters, cols)                                  # (og, m*oh*ow)
                target[...] = part.reshape(og, m, oh, ow).transpose(1, 0, 2, 3)
        return out

    def _taps(self, serial, parallel, x, w_shape, geometry):
        """numba_taps' loop for this call: on numba's threads, one image a task, where BLAS's are
        not spinning and there is work for them (noted, as _by_images does)."""
        work = x.shape[0] * math.prod(w_shape) * geometry[-2] * geometry[-1]
        if x.shape[0] > 1 and work >= numba_conv.MIN_WORK and numba_conv.thread_slots() > 1 and blas.threads_idle():
            self.noted = work
            blas.note_numba_threads(work)
            return parallel
        return serial

    def _tiled_parallel(self, x):
        """Whether numba_tiled_conv's loop splits x's images over numba's threads (as max
        pooling's does: from MaxPoolThunk.PARALLEL_POOL values, BLAS's threads not spinning)."""
        if x.size >= MaxPoolThunk.PARALLEL_POOL and x.shape[0] > 1 and numba_conv.thread_slots() > 1 \
                and blas.threads_idle():
            self.noted = x.size
            blas.note_numba_threads(x.size)
            return True
        return False

    @staticmethod
    def _per_image(cols, filters):
        """Whether a layer's product goes image by image (see FEW_TAPS)."""
        return cols.shape[0] <= FEW_TAPS and config.blas == "numpy" and cols.dtype == filters.dtype

    def grad_input(self, gy, w, in_shape):
        n, c, h, wd = (int(v) for v in in_shape)
        o, cg, kh, kw = w.shape
        g = self.params.groups
        og = o // g
        geometry = self._geometry((h, wd), (kh, kw))
        oh, ow = geometry[-2:]
        pt, pl = geometry[6:8]
        if numba_tiled_conv.takes(in_shape, w.shape, geometry, g, gy.dtype, w.dtype) and gy.shape[0] == n:
            return numba_tiled_conv.grad_input(gy, w, (n, c, h, wd), self._tiled_parallel(gy))
        if o < c and g == 1 and geometry[2:6] == (1, 1, 1, 1) and 0 <= pt < kh and 0 <= pl < kw \
                and gy.dtype == w.dtype and gy.shape[0] == n:
            # With unit strides the input's gradient is the convolution of gy by the filters
            # flipped and their channels swapped, over gy padded to full windows: gy's window
            # matrix has o*kh*kw rows where col2im's had c*kh*kw, scattered back. Where o < c,
            # that is less (float32, 3x3 'same', batch 64, 16 channels to 1 at 28x28: in the
            # conv autoencoder's step 1.29 -> 0.15 ms); where o > c more (mnist_cnn's 32 to 64
            # at batch 128 took its step 62-66 -> 67-74 ms).
            full = (kh, kw, 1, 1, 1, 1, kh - 1 - pt, kw - 1 - pl, h, wd)
            return self._forward(gy, w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3), full)
        if gy.shape[0] == n and self._by_images(gy, w, w.shape, geometry):
            return numba_conv.grad_input(self._loop(numba_conv.grad_input_kernel, geometry), gy, w, (n, c, h, wd))
        dx = np.zeros((n, c, h, wd), gy.dtype)
        for k in range(g):
            taps = w[k * og:(k + 1) * og].reshape(og, -1).T
            for images in _image_chunks(n, cg * kh * kw * oh * ow * gy.itemsize):
                gk = gy[images, k * og:(k + 1) * og]
                m = gk.shape[0]
                cols = self._product(taps, gk.transpose(1, 0, 2, 3).reshape(og, m * oh * ow))  # (cg*kh*kw, m*oh*ow)
                part = np.zeros((m, cg, h, wd), gy.dtype) if g > 1 else dx[images]
                self._loop(kernels.col2im_kernel, geometry)(cols, oh, ow, part)
                if g > 1:
                    dx[images, k * cg:(k + 1) * cg] = part
        return dx

    def grad_filters(self, x, gy, w_shape):
        o, cg, kh, kw = (int(v) for v in w_shape)
        g, n = self.params.groups, x.shape[0]
        og = o // g
        geometry = self._geometry(x.shape[2:], (kh, kw))
        oh, ow = geometry[-2:]
        if numba_taps.takes(x, gy, o, geometry, g):
            partial = np.empty((n, o, cg, kh, kw))
            self._taps(numba_taps.filter_gradient_serial, numba_taps.filter_gradient_parallel, x, w_shape, geometry)(
                np.ascontiguousarray(x), np.ascontiguousarray(gy), geometry[6], geometry[7], x.dtype.type(0), partial)
            return partial.sum(axis=0).astype(x.dtype)
        if self._by_images(x, gy, (o, cg, kh, kw), geometry):
            return numba_conv.grad_filters(self._loop(numba_conv.grad_filters_kernel, geometry), x, gy, (o, cg, kh, kw))
        dw = np.empty((o, cg, kh, kw), x.dtype)
        for k in range(g):
            total = np.zeros((og, cg * kh * kw), x.dtype)
            for images in _image_chunks(n, cg * kh * kw * oh * ow * x.itemsize):
                cols = self._columns(x[images], k, cg, (kh, kw), geometry)
                gk = gy[images, k * og:(k + 1) * og]
                m = gk.shape[0]
                if self._per_image(cols, gy):  # the images' products summed: no transposed copy of gy
                    per_image = np.matmul(gk.reshape(m, og, oh * ow),
                                          cols.reshape(cols.shape[0], m, oh * ow).transpose(1, 2, 0))  # (m, og, cg*kh*kw)
                    total += per_image.sum(axis=0)
                    continue
                gk = gk.transpose(1, 0, 2, 3).reshape(og, m * oh * ow)
                # A product of two short sides and a long one (the m*oh*ow windows): OpenBLAS took
                # it 1.2-1.5x faster with the longer short side as its rows (32x12544 @ 12544x144
                # 1.06 ms, the transposed product 0.73; 64x12544 @ 12544x288 2.54 -> 2.01).
                total += self._product(cols, gk.T).T if cols.shape[0] > og else self._product(gk, cols.T)
            dw[k * og:(k + 1) * og] = total.reshape(og, cg, kh, kw)
        return dw


def _image_chunks(n, window_bytes):
    """Slices of a batch of n images, each image's window matrix `window_bytes`, whose window
    matrices take at most WINDOW_MATRIX_BYTES (one slice for no images)."""
    step = max(1, WINDOW_MATRIX_BYTES // max(window_bytes, 1))
    return [slice(start, min(start + step, n)) for start in range(0, max(n, 1), step)]


@lower.register(conv.Conv2D)
def _lower_conv(op, node):
    return ConvThunk(op, node, "forward")


@lower.register(conv.Conv2DGradInput)
def _lower_conv_grad_input(op, node):
    return ConvThunk(op, node, "grad_input")


@lower.register(conv.Conv2DGradFilters)
def _lower_conv_grad_filters(op, node):
    return ConvThunk(op, node, "grad_filters")


@lower.register(scan_ops.Scan)
def _lower_scan(op, node):
    return ScanThunk(op, node, compile_graph)


NATIVE = BY_NUMPY + (scan_ops.Scan, linalg.Dot, linalg.Gemm, R.Reduce, Composite, Elemwise, CompositeReduce, I.IncSubtensor,
                     N.Softmax, N.LogSoftmax, R.LogSumExp, N.CrossentropySoftmax, N.CrossentropySoftmaxGrad,
                     N.CrossentropySoftmaxWithGrad,
                     conv.MaxPool2D, conv.MaxPool2DGrad,
                     conv.Conv2D, conv.Conv2DGradInput, conv.Conv2DGradFilters, R.CumSum, extra_ops.CumProd,
                     extra_ops.LinearRecurrence, sorting.SortGrad, sorting.SortedLike, sorting.ArgTopK,
                     R.ArgReduce,
                     RND.RandomDraw, Reshape, I.Subtensor, DimShuffle, Concatenate, Repeat, Tile, Einsum)


def make_thunk(node):
    if _has_float16(node):
        return _reference(node.op, node)  # decided here once, for every op: see _has_float16
    return lower(node.op, node)


# Run with no float arithmetic: views, shapes, indexing, argmax, copies into one array (a
# concatenation's dtype is its inputs' result type: no narrowing cast).
NO_FLOAT_ARITHMETIC = (Shape, Reshape, DimShuffle, BroadcastTo, StopGradient, I.Subtensor, R.ArgReduce, Concatenate)

# Readers whose loops take arrays of any layout in memory order (ElementwiseThunk, ReduceThunk).
ANY_LAYOUT = (Composite, Elemwise, CompositeReduce, R.Reduce)

CONV_OPS = (conv.Conv2D, conv.Conv2DGradInput, conv.Conv2DGradFilters)
BLAS_OPS = (linalg.Dot, linalg.Gemm, linalg.Matmul) + CONV_OPS


def compile_graph(fgraph, input_vars, output_vars, nan_guard=False, whole_program=True, profile=None):
    nodes = fgraph.apply_nodes
    # BLAS (OpenBLAS, MKL) keeps its threads spinning after a product; parallel loops launched
    # next to them fight for the same cores (a training step ran 6x slower). Graphs that call
    # BLAS therefore use serial loops and leave the cores to BLAS.
    uses_blas = any(isinstance(node.op, BLAS_OPS) and not _float32_vector_dot(node) for node in nodes)
    # Except where a graph's convolutions run on numba's threads and its products can too
    # (blas.splits_products): then nothing in it wakes BLAS's threads, and its loops over whole
    # activations split as well. Keras's mnist_cnn at batch 32 17.4 -> 15.4 ms, batch 128 72.9
    # -> 65.0; its predict() at batch 1024 307 -> 139 us an image.
    # (splits_products last: its first call imports SciPy, 0.1 s of a warm start)
    if uses_blas and any(isinstance(node.op, CONV_OPS) for node in nodes) and blas.splits_products():
        uses_blas = False
    # Matrix-vector products run on numba's threads only where no other product wakes BLAS's
    # (a logistic regression's, not an MLP's whose output unit has a vector of weights).
    products_on_threads = not any(isinstance(node.op, BLAS_OPS) and not _float32_vector_dot(node)
                                  and not _matrix_vector_dot(node) for node in nodes)

    alone = len(nodes) == 1  # (one loop called again and again: see ElementwiseThunk.split_alone)
    siblings = numba_siblings.sibling_groups(nodes)  # (reductions of the same arrays in one loop)

    def thunk_for(node):
        if nan_guard and isinstance(node.op, linalg.Gemm) and node.op.inplace:
            # nan_guard checks a node's output after it ran: a weight written in place would
            # already hold the NaN (see rewrite/memory.py), so it is computed as a new array.
            return _lower_gemm(linalg.Gemm(node.op.alpha, node.op.beta), node)
        thunk = make_thunk(node)
        matvec = thunk if isinstance(thunk, MatVecThunk) else getattr(thunk, "matvec", None)
        if matvec is not None:
            matvec.on_threads = matvec.on_threads and products_on_threads
        if uses_blas and hasattr(thunk, "threshold"):
            thunk.threshold = float("inf")
        elif alone and isinstance(thunk, ElementwiseThunk):
            thunk.split_alone()
        if isinstance(thunk, ElementwiseThunk):
            # An elementwise loop over permuted arrays writes its outputs in their memory order
            # where every reader takes any layout; a convolution or a product reading them would
            # copy them to C order first (NHWC images scaled and seen as NCHW, then convolved:
            # 0.34 -> 0.43 ms for 64 images of 28x28x3).
            readers = [client for out in node.outputs for client, _ in fgraph.clients.get(out, [])]
            thunk.any_layout = all(client == "output" or isinstance(client.op, ANY_LAYOUT) for client in readers)
            thunk.reshaped = any(client != "output" and isinstance(client.op, Reshape) for client in readers)
        if node in siblings and isinstance(thunk, ReduceThunk):
            group, index = siblings[node]
            return group.member(index, thunk)
        return thunk
    # Only NumPy-run nodes doing float arithmetic can raise floating-point warnings; compiled
    # loops never do. (Silencing them costs ~1 us a call: (x*2).reshape(-1) of 32x32 5.9 -> 4.7.)
    # (StoredReduceThunk silences its own NumPy calls: a function's x.sum() of 4000 float32 1.85
    # -> 1.6 us)
    quiet = any(not (isinstance(node.op, (Composite, Elemwise, CompositeReduce) + NO_FLOAT_ARITHMETIC)
                     or (isinstance(node.op, R.Reduce) and _reduced_by_loops(node)))
                or _one_value_out(node) for node in nodes)
    run = compile_program(fgraph, input_vars, output_vars, thunk_for, quiet=quiet, nan_guard=nan_guard,
                          profile=profile)
    # A small graph called in a loop is compiled whole for its hot input shapes (numba_program);
    # not where each node is checked or timed.
    if nan_guard or profile is not None or not (whole_program and config.whole_programs) or numba_program.unsupported(fgraph) is not None:
        return run
    return numba_program.TieredRunner(fgraph, input_vars, output_vars, run)
