"""The CUDA backend (`backend="cuda"`): the same graphs on an NVIDIA GPU through numba.cuda.

Shared variables live in device memory between calls (their containers hold the device
array; `get_value` copies it back). Inputs are copied in per call, outputs come back as
NumPy arrays. Shape arithmetic (Shape, small integer vectors) and random-stream states stay
on the host. Fused Composites become generated grid-stride kernels from the scalar-op table;
reductions fold per output or in shared-memory trees; products are a tiled shared-memory
GEMM, convolutions im2col + that GEMM; indexing gathers and scatter-adds with atomics.

Lowerings are registered per op class (functools.singledispatch). An op without one runs its
NumPy `perform` on host copies, with a one-time warning; NATIVE lists the lowered ops.
Tests run under numba's simulator (NUMBA_ENABLE_CUDASIM=1), where no GPU exists.
"""
import functools
import math
import warnings

import numpy as np

from . import cuda_device as D
from . import cuda_memory
from . import cuda_kernels as K
from .cuda_thunks import (Elementwise, Reducer, view, broadcast, strided_write, identity, program, cast,
                          fill, check_flag, launch_1d)
from .cuda_linalg import gemm, Convolution
from .cuda_shape import tile_thunk, repeat_thunk, along_axis_thunk, arange_thunk, eye_thunk
from .executor import compile_program, warn_no_kernel
from ..graph import Constant
from ..ops.composite import Composite, CompositeReduce, cast_output
from ..ops.elemwise import Elemwise
from ..ops import linalg, reduce as R, index as I, nn as N, random as RND, conv, extra_ops, sorting
from ..ops.shape import (Shape, MakeVector, Reshape, DimShuffle, Concatenate, BroadcastTo, Alloc, StopGradient,
                         Tile, Repeat, ARange, Eye)

def fallback(op, node):
    """No CUDA lowering: run the NumPy reference on host copies (warned once per op class)."""
    warn_no_kernel("cuda", op, "running its NumPy reference on the host (the data crosses to the "
                               "host and back)")
    return host_thunk(node, upload=True)


lower = functools.singledispatch(fallback)


def host_thunk(node, upload):
    def thunk(inputs):
        outs = node.op.perform(node, [D.to_host(a) for a in inputs])
        return [D.to_device(o) for o in outs] if upload else [np.asarray(o) for o in outs]
    return thunk


def _device_dtypes(node):
    # numba.cuda has no float16 or complex arithmetic: such nodes run on the host.
    return all(v.dtype != "float16" and v.dtype[0] != "c" for v in node.inputs + node.outputs)


@lower.register(Composite)
def _composite(op, node):
    return Elementwise(op, [v.dtype for v in node.inputs], [v.dtype for v in node.outputs])


@lower.register(Elemwise)
def _elemwise(op, node):
    single = Composite([(op.scalar_op, tuple(("in", i) for i in range(len(node.inputs))),
                         node.outputs[0].dtype)], [0], len(node.inputs))
    return _composite(single, node)


# --- reductions ---------------------------------------------------------------------------

def _accumulator(kind, out_dtype):
    # float32 sums and products accumulate in float64, as on the CPU backend.
    if kind in ("sum", "prod", "mean") and out_dtype in ("float16", "float32"):
        return "float64"
    return "uint8" if kind in ("all", "any") else out_dtype


def _reduce_thunk(composite, node, kind, axes, keepdims):
    out_dtype = node.outputs[0].dtype
    acc_dtype = _accumulator(kind, out_dtype)
    if kind in ("all", "any"):  # fold truth values as bytes: min is all, max is any
        composite = cast_output(cast_output(composite, "bool"), "uint8")
        kind = "min" if kind == "all" else "max"
    reducer = Reducer(composite, [v.dtype for v in node.inputs], kind, acc_dtype, out_dtype)
    return lambda inputs: [reducer(inputs, axes, keepdims)]


@lower.register(R.Reduce)
def _reduce(op, node):
    return _reduce_thunk(identity(node.inputs[0].dtype), node, op.kind, op.axis, op.keepdims)


@lower.register(CompositeReduce)
def _composite_reduce(op, node):
    return _reduce_thunk(op.composite, node, op.kind, op.axis, op.keepdims)


@lower.register(R.SumToShape)
def _sum_to_shape(op, node):
    reducer = Reducer(identity(node.inputs[0].dtype), [node.inputs[0].dtype], "sum",
                      _accumulator("sum", node.outputs[0].dtype), node.outputs[0].dtype)

    def thunk(inputs):
        g, target = inputs[0], tuple(int(n) for n in D.to_host(inputs[1]))
        lead = g.ndim - len(target)
        axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(target) if n == 1 and g.shape[lead + i] != 1)
        return [reducer([g], axes, True).reshape(target) if axes else D.to_device(g)]
    return thunk


@lower.register(R.ArgReduce)
def _arg_reduce(op, node):
    def thunk(inputs):
        x = D.to_device(inputs[0])
        kept = [d for d in range(x.ndim) if d not in op.axis]
        kshape, rshape = tuple(x.shape[d] for d in kept), tuple(x.shape[d] for d in op.axis)
        m, k = math.prod(kshape), math.prod(rshape)
        if k == 0:
            raise ValueError(f"attempt to get {op.kind} of an empty sequence")
        base = D.phantom(x.shape, x.dtype)
        off, strides = D.layout(base, base)
        out = D.empty((m,), "int64")
        launch_1d(K.arg_reduce(len(kshape), len(rshape), op.kind), m, m, k, kshape, rshape, D.flat(x), off,
                  tuple(strides[d] for d in kept), tuple(strides[d] for d in op.axis), out)
        shape = tuple(1 if d in op.axis else n for d, n in enumerate(x.shape)) if op.keepdims else kshape
        return [out.reshape(shape)]
    return thunk


# --- views and copies -----------------------------------------------------------------------

@lower.register(DimShuffle)
def _dimshuffle(op, node, lazy=False):
    return view(lambda base, args: op.apply_numpy(base), lazy)


@lower.register(Reshape)
def _reshape(op, node):
    return view(lambda base, args: np.reshape(base, tuple(int(n) for n in args[0])))


@lower.register(BroadcastTo)
def _broadcast_to(op, node):
    return view(lambda base, args: np.broadcast_to(base, tuple(int(n) for n in args[0])))


@lower.register(StopGradient)
def _stop_gradient(op, node):
    return lambda inputs: [D.to_device(inputs[0])]


@lower.register(Alloc)
def _alloc(op, node):
    dtype = node.outputs[0].dtype

    def thunk(inputs):
        value, shape = D.to_device(np.asarray(D.to_host(inputs[0]), dtype) if not D.is_device(inputs[0])
                                   else inputs[0]), tuple(int(n) for n in D.to_host(inputs[1]))
        out, base = D.empty(shape, dtype), D.phantom(shape, dtype)
        strided_write(value, base, base, out)
        return [out]
    return thunk


@lower.register(Concatenate)
def _concatenate(op, node):
    dtype = node.outputs[0].dtype

    def thunk(inputs):
        arrays = [D.to_device(a) for a in inputs]
        shape = list(arrays[0].shape)
        shape[op.axis] = sum(a.shape[op.axis] for a in arrays)
        out, base = D.empty(shape, dtype), D.phantom(shape, dtype)
        start = 0
        for a in arrays:
            region = base[(slice(None),) * op.axis + (slice(start, start + a.shape[op.axis]),)]
            strided_write(a, region, base, out)
            start += a.shape[op.axis]
        return [out]
    return thunk


@lower.register(Repeat)
def _repeat(op, node):
    if node.inputs[1].ndim != 0:
        return fallback(op, node)  # a count per element: NumPy's
    return repeat_thunk(op)


lower.register(Tile)(lambda op, node: tile_thunk(op))
lower.register(R.CumSum)(lambda op, node: along_axis_thunk(op.axis, op.reverse, "sum", node.outputs[0].dtype))
lower.register(extra_ops.CumProd)(lambda op, node: along_axis_thunk(op.axis, False, "prod", node.outputs[0].dtype))
lower.register(extra_ops.LinearRecurrence)(
    lambda op, node: along_axis_thunk(op.axis, op.reverse, "recurrence", node.outputs[0].dtype))
lower.register(sorting.SortedLike)(lambda op, node: along_axis_thunk(op.axis, False, "gather", node.outputs[0].dtype))
lower.register(sorting.SortGrad)(lambda op, node: along_axis_thunk(op.axis, False, "scatter", node.outputs[0].dtype))
lower.register(ARange)(lambda op, node: arange_thunk(op))
lower.register(Eye)(lambda op, node: eye_thunk(op))
lower.register(linalg.Diagonal)(lambda op, node: view(lambda base, args: np.diagonal(base, op.offset)))


# --- indexing -------------------------------------------------------------------------------

def _rows_index(spec, node, index_position):
    """The integer-vector index on axis 0 (x[idx]), which the row kernels handle."""
    idx = node.inputs[index_position]
    return spec == ("array",) and idx.ndim == 1 and idx.dtype[0] in "iu" and node.inputs[0].ndim >= 1


def _basic_index(spec, args):
    # A trailing Ellipsis keeps an all-integer index a 0-d view instead of a NumPy scalar.
    return I.build_index(spec, args) + (Ellipsis,)


@lower.register(I.Subtensor)
def _subtensor(op, node):
    if "array" not in op.spec:
        return view(lambda base, args: base[_basic_index(op.spec, args)])
    if not _rows_index(op.spec, node, 1):
        return fallback(op, node)

    def thunk(inputs):
        x, idx = D.to_device(inputs[0]), D.to_device(inputs[1])
        row = math.prod(x.shape[1:])
        out, flag = D.empty((idx.shape[0],) + x.shape[1:], x.dtype), D.to_device(np.zeros(1, np.int64))
        launch_1d(K.gather_rows(), idx.shape[0] * row, idx.shape[0], row, x.shape[0], D.flat(x), idx, flag, D.flat(out))
        check_flag(flag, lambda q: f"index {D.to_host(idx)[q]} is out of bounds for axis 0 with size {x.shape[0]}")
        return [out]
    return thunk


def _device_copy(x):
    out = D.empty(x.shape, x.dtype)
    out.copy_to_device(x)
    return out


@lower.register(I.IncSubtensor)
def _inc_subtensor(op, node):
    mode = "set" if op.set_instead_of_inc else "add"
    if "array" not in op.spec:
        def thunk(inputs):
            x = D.to_device(inputs[0])
            out, base = _device_copy(x), D.phantom(x.shape, x.dtype)
            region = base[_basic_index(op.spec, [D.to_host(a) for a in inputs[2:]])]
            strided_write(D.to_device(np.asarray(inputs[1], x.dtype)) if not D.is_device(inputs[1]) else inputs[1],
                          region, base, out, mode)
            return [out]
        return thunk
    if op.set_instead_of_inc or not _rows_index(op.spec, node, 2) or node.inputs[0].dtype[0] != "f":
        return fallback(op, node)  # repeated indices in a set race on a GPU

    def scatter_add(inputs):
        x, idx = D.to_device(inputs[0]), D.to_device(inputs[2])
        y = D.to_device(np.asarray(inputs[1], x.dtype) if not D.is_device(inputs[1]) else inputs[1])
        rows_shape = (idx.shape[0],) + x.shape[1:]
        row = math.prod(x.shape[1:])
        y = broadcast(y, rows_shape)
        out, flag = _device_copy(x), D.to_device(np.zeros(1, np.int64))
        launch_1d(K.scatter_add_rows(), idx.shape[0] * row, idx.shape[0], row, x.shape[0], idx, D.flat(y), 0,
                  (row, 1), flag, D.flat(out))
        check_flag(flag, lambda q: f"index {D.to_host(idx)[q]} is out of bounds for axis 0 with size {x.shape[0]}")
        return [out]
    return scatter_add


# --- products and convolutions -------------------------------------------------------------

def _float_node(node):
    return all(v.dtype in ("float32", "float64") for v in node.outputs)


@lower.register(linalg.Dot)
def _dot(op, node):
    if not _float_node(node):
        return fallback(op, node)
    dtype = node.outputs[0].dtype

    def thunk(inputs):
        a, b = D.operand(inputs[0]), D.operand(inputs[1])
        a2 = a.reshape((1, a.shape[0])) if a.ndim == 1 else a
        b2 = b.reshape((b.shape[0], 1)) if b.ndim == 1 else b
        out = gemm(a2, b2, dtype)
        return [out.reshape(a.shape[:-1] + b.shape[1:])]
    return thunk


@lower.register(linalg.Matmul)
def _matmul(op, node):
    if not _float_node(node):
        return fallback(op, node)
    return lambda inputs: [gemm(D.operand(inputs[0]), D.operand(inputs[1]), node.outputs[0].dtype)]


@lower.register(linalg.Gemm)
def _gemm(op, node):
    if not _float_node(node):
        return fallback(op, node)
    dtype = node.outputs[0].dtype

    def thunk(inputs):
        c, a, b = D.to_device(inputs[0]), D.operand(inputs[1]), D.operand(inputs[2])
        if np.broadcast_shapes(c.shape, (a.shape[0], b.shape[1])) != (a.shape[0], b.shape[1]):
            return host([c, a, b])  # a bias larger than the product: rare, done by NumPy
        return [gemm(a, b, dtype, c, op.alpha, op.beta)]
    host = host_thunk(node, upload=True)
    return thunk


for _cls, _kind in ((conv.Conv2D, "forward"), (conv.Conv2DGradInput, "grad_input"),
                    (conv.Conv2DGradFilters, "grad_filters")):
    lower.register(_cls)(lambda op, node, kind=_kind: Convolution(op, node, kind) if _float_node(node)
                         else fallback(op, node))


def _pool_geometry(pool, x):
    (pt, _), (pl, _) = pool.params.pads(x.shape[2:], pool.kernel)
    oh, ow = pool.params.out_size(x.shape[2:], pool.kernel)
    lowest = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    return oh, ow, (*pool.kernel, *pool.stride, pt, pl, x.dtype.type(lowest))


def _launch_max_pool(mode, pool, x, source, make_out):
    """cuda_kernels.max_pool(mode) over x's windows, one thread a window: "forward", "grad" (g
    scattered into what make_out gives, zeros of x's shape) or "pick" (v read at each window's
    maximum). make_out(oh, ow) allocates the output; returns the thunk's outputs."""
    oh, ow, window = _pool_geometry(pool, x)
    out = make_out(oh, ow)
    planes = x.shape[0] * x.shape[1]
    sources = [] if source is None else [D.flat(source)]
    launch_1d(K.max_pool(mode), planes * oh * ow, D.flat(x), *sources, planes, *x.shape[2:], oh, ow, *window,
              D.flat(out))
    return [out]


@lower.register(conv.MaxPool2D)
def _max_pool(op, node):
    def thunk(inputs):
        x = D.to_device(inputs[0])
        return _launch_max_pool("forward", op, x, None, lambda oh, ow: D.empty(x.shape[:2] + (oh, ow), x.dtype))
    return thunk


@lower.register(conv.MaxPool2DGrad)
@lower.register(conv.MaxPoolPick)
def _max_pool_derivative(op, node):
    """MaxPool2DGrad (g scattered into zeros of x's shape) and its gradient MaxPoolPick (v read
    at each window's maximum, of max_pool2d's shape and v's dtype)."""
    if node.inputs[0].dtype not in ("float32", "float64"):
        return fallback(op, node)
    scatter = isinstance(op, conv.MaxPool2DGrad)

    def thunk(inputs):
        x, v = D.to_device(inputs[0]), D.to_device(inputs[1])
        if scatter:
            v = cast(v, x.dtype) if v.dtype != x.dtype else v
            return _launch_max_pool("grad", op.pool, x, v, lambda oh, ow: fill(x.shape, 0, x.dtype))
        return _launch_max_pool("pick", op.pool, x, v, lambda oh, ow: D.empty(x.shape[:2] + (oh, ow), v.dtype))
    return thunk


# --- softmax and crossentropies ------------------------------------------------------------

def _along_axis(log, node, axis):
    """softmax / log_softmax as three launches: the maximum, the sum of exp(x - max) (never
    stored), and the result from both."""
    dtype = node.outputs[0].dtype
    top = Reducer(identity(dtype), [dtype], "max", dtype, dtype)
    total = Reducer(program([("sub", (("in", 0), ("in", 1)), dtype), ("exp", (("tmp", 0),), dtype)], 2),
                    [dtype, dtype], "sum", _accumulator("sum", dtype), dtype)
    if log:  # x - m - log(s)
        steps = [("sub", (("in", 0), ("in", 1)), dtype), ("log", (("in", 2),), dtype),
                 ("sub", (("tmp", 0), ("tmp", 1)), dtype)]
    else:    # exp(x - m) / s
        steps = [("sub", (("in", 0), ("in", 1)), dtype), ("exp", (("tmp", 0),), dtype),
                 ("true_div", (("tmp", 1), ("in", 2)), dtype)]
    finish = Elementwise(program(steps, 3), [dtype] * 3, [dtype])

    def thunk(inputs):
        x = D.to_device(inputs[0])
        m = top([x], (axis,), True)
        return finish([x, m, total([x, m], (axis,), True)])
    return thunk


@lower.register(N.Softmax)
def _softmax(op, node):
    return _along_axis(False, node, op.axis)


@lower.register(N.LogSoftmax)
def _log_softmax(op, node):
    return _along_axis(True, node, op.axis)


@lower.register(R.LogSumExp)
def _logsumexp(op, node):
    """log(sum(exp(x - m))) + m with m the maximum where it is finite, else 0 (as NumPy's)."""
    dtype, axes = node.outputs[0].dtype, op.axis
    top = Reducer(identity(dtype), [dtype], "max", dtype, dtype)
    finite = Elementwise(program([("isnan", (("in", 0),), "bool"), ("isinf", (("in", 0),), "bool"),
                                  ("logical_or", (("tmp", 0), ("tmp", 1)), "bool"),
                                  ("where", (("tmp", 2), ("const", 0.0, dtype), ("in", 0)), dtype)], 1),
                         [dtype], [dtype])
    total = Reducer(program([("sub", (("in", 0), ("in", 1)), dtype), ("exp", (("tmp", 0),), dtype)], 2),
                    [dtype, dtype], "sum", _accumulator("sum", dtype), dtype)
    finish = Elementwise(program([("log", (("in", 0),), dtype), ("add", (("tmp", 0), ("in", 1)), dtype)], 2),
                         [dtype, dtype], [dtype])

    def thunk(inputs):
        x = D.to_device(inputs[0])
        kept = tuple(1 if d in axes else n for d, n in enumerate(x.shape))
        m = finite([top([x], axes, True)])[0] if x.size else fill(kept, 0, dtype)
        out = finish([total([x, m], axes, True), m])[0]
        return [out if op.keepdims else out.reshape(tuple(n for d, n in enumerate(x.shape) if d not in axes))]
    return thunk


def _rows_of(x, t, int_targets):
    """(classes, rows, targets as the row kernels read them): one integer a row (a ValueError
    if not), or dense rows broadcast to x's shape."""
    if int_targets:
        N.check_target_rows(tuple(x.shape), tuple(t.shape))
    elif tuple(t.shape) != tuple(x.shape):
        t = broadcast(t, x.shape)
    classes = tuple(x.shape)[-1]
    return classes, (x.size // classes if classes else math.prod(x.shape[:-1])), t


def _raise_for_targets(flag, t, classes):
    check_flag(flag, lambda r: f"target {D.to_host(t).reshape(-1)[r]} of row {r} is out of range "
                               f"for {classes} classes")


def _crossentropy(node, from_logits):
    if not _float_node(node):
        return fallback(node.op, node)
    int_targets = node.inputs[1].dtype[0] in "iu"
    dtype = node.outputs[0].dtype

    def thunk(inputs):
        x = D.to_device(inputs[0])
        classes, rows, t = _rows_of(x, D.to_device(inputs[1]), int_targets)
        out, flag = D.empty(x.shape[:-1], dtype), D.to_device(np.zeros(1, np.int64))
        launch_1d(K.row_crossentropy(from_logits, int_targets), rows, rows, classes,
                  D.flat(x), D.flat(t), flag, D.flat(out))
        if int_targets:
            _raise_for_targets(flag, t, classes)
        return [out]
    return thunk


@lower.register(N.CrossentropySoftmax)
def _crossentropy_softmax(op, node):
    return _crossentropy(node, True)


@lower.register(N.CategoricalCrossentropy)
def _categorical_crossentropy(op, node):
    return _crossentropy(node, False)


@lower.register(N.CrossentropySoftmaxGrad)
@lower.register(N.CrossentropySoftmaxWithGrad)
def _crossentropy_softmax_grad(op, node):
    """The gradient (softmax(x) - one_hot(t)) * g (dense targets: (softmax(x) * sum(t) - t) * g),
    with each row's loss first where the op has it (CrossentropySoftmaxWithGrad): one kernel."""
    if not _float_node(node):
        return fallback(node.op, node)
    dtype = node.outputs[0].dtype
    with_loss, dense = len(node.outputs) == 2, node.inputs[1].dtype[0] not in "iu"

    def thunk(inputs):
        x, t, g = (D.to_device(a) for a in inputs)
        classes, rows, t = _rows_of(x, t, not dense)
        if tuple(g.shape) != tuple(x.shape[:-1]):
            g = broadcast(g, x.shape[:-1])
        outs = ([D.empty(x.shape[:-1], dtype)] if with_loss else []) + [D.empty(x.shape, dtype)]
        flag = D.to_device(np.zeros(1, np.int64))
        launch_1d(K.row_crossentropy_grad(with_loss, dense), rows, rows, classes, D.flat(x), D.flat(t), D.flat(g),
                  flag, *(D.flat(o) for o in outs))
        if not dense:
            _raise_for_targets(flag, t, classes)
        return outs
    return thunk


# --- random streams ------------------------------------------------------------------------

@lower.register(RND.RandomDraw)
def _random_draw(op, node):
    """Samples drawn on the device from the host-side state [key, counter]."""
    if any(p.ndim for p in node.inputs[2:]) or op.dtype == "float16":
        return host_draw(node)  # array-valued parameters: drawn by NumPy, then uploaded
    kernel = K.random_draw(op.dist)

    def thunk(inputs):
        state, size = D.to_host(inputs[0]), tuple(int(s) for s in D.to_host(inputs[1]))
        if any(s < 0 for s in size):
            raise ValueError(f"negative size {size} for a random draw")
        p0, p1 = (float(D.to_host(p)) for p in inputs[2:])
        out = D.empty(size, op.dtype)
        launch_1d(kernel, out.size, out.size, state[0], state[1], p0, p1, D.flat(out))
        return [np.array([state[0], state[1] + np.uint64(1)], dtype=np.uint64), out]
    return thunk


def host_draw(node):
    def thunk(inputs):
        state, sample = node.op.perform(node, [D.to_host(a) for a in inputs])
        return [state, D.to_device(sample)]
    return thunk


NATIVE = (Composite, Elemwise, CompositeReduce, R.Reduce, R.SumToShape, R.ArgReduce, DimShuffle, Reshape,
          BroadcastTo, StopGradient, Alloc, Concatenate, I.Subtensor, I.IncSubtensor, linalg.Dot, linalg.Matmul,
          linalg.Gemm, conv.Conv2D, conv.Conv2DGradInput, conv.Conv2DGradFilters, conv.MaxPool2D,
          conv.MaxPool2DGrad, conv.MaxPoolPick, R.LogSumExp, N.Softmax, N.LogSoftmax, N.CrossentropySoftmax,
          N.CrossentropySoftmaxGrad, N.CrossentropySoftmaxWithGrad, N.CategoricalCrossentropy,
          RND.RandomDraw, Tile, Repeat, R.CumSum, extra_ops.CumProd, extra_ops.LinearRecurrence,
          sorting.SortedLike, sorting.SortGrad, ARange, Eye, linalg.Diagonal)
# Shape arithmetic runs on the host by design (its values size the kernels' launches).
ON_HOST = (Shape, MakeVector)


# --- placement and the program --------------------------------------------------------------

def _host_input(var):
    """Inputs kept on the host: integer scalars (indices, sizes) and random-stream states."""
    return (var.dtype[0] in "iub" and var.ndim == 0) or var.dtype == "uint64"


def placements(fgraph, input_vars):
    """The variables whose values stay on the host; every other value lives on the device."""
    host = {v for v in input_vars if _host_input(v)}
    host |= {v for v in fgraph.variables() if isinstance(v, Constant)}
    for node in fgraph.apply_nodes:
        small_ints = all(o.dtype[0] in "iub" and o.ndim <= 1 for o in node.outputs)
        if isinstance(node.op, ON_HOST) or (small_ints and all(v in host for v in node.inputs)):
            host.update(node.outputs)
        elif isinstance(node.op, RND.RandomDraw):
            host.add(node.outputs[0])
    return host


# The inputs of each product op that the GEMM reads through strides (a bias is not one).
_PRODUCT_OPERANDS = ((linalg.Dot, (0, 1)), (linalg.Matmul, (0, 1)), (linalg.Gemm, (1, 2)))


def _product_operand(node, position):
    return _float_node(node) and _device_dtypes(node) and any(
        isinstance(node.op, cls) and position in positions for cls, positions in _PRODUCT_OPERANDS)


def lazy_views(fgraph, host):
    """The DimShuffle nodes (transposes) whose every reader takes the result as a product's
    operand: they return a D.StridedView, which the GEMM reads in place, not a copy (an MLP's
    backward pass transposes each layer's input and weights: 5 of the 29 launches of a
    784-512-512-10 SGD step, each ~160 us of host time on an H200, were those copies)."""
    lazy = set()
    for node in fgraph.apply_nodes:
        out = node.outputs[0]
        if not isinstance(node.op, DimShuffle) or out in host or out.ndim < 2:
            continue
        readers = fgraph.clients.get(out, [])
        if readers and all(reader != "output" and _product_operand(reader, position)
                           for reader, position in readers):
            lazy.add(node)
    return lazy


def compile_graph(fgraph, input_vars, output_vars, nan_guard=False, device_outputs=False, profile=None):
    D.cuda()  # a clear error now if there is neither a GPU nor the simulator
    host = placements(fgraph, input_vars)
    device_users = {v for node in fgraph.apply_nodes if not node.outputs[0] in host for v in node.inputs}
    host_users = {v for node in fgraph.apply_nodes if node.outputs[0] in host for v in node.inputs}
    lazy = lazy_views(fgraph, host)

    def make_thunk(node):
        if node.outputs[0] in host and not isinstance(node.op, RND.RandomDraw):
            return host_thunk(node, upload=False)
        if not _device_dtypes(node):
            return host_thunk(node, upload=True)
        if node in lazy:
            return _dimshuffle(node.op, node, lazy=True)
        return lower(node.op, node)

    def constant_value(var):
        # Constants that only kernels read as data are uploaded once, here; small integer
        # constants are shapes, axes and indices, which thunks read on the host.
        as_data = var.dtype[0] in "fb" or var.ndim >= 2
        if as_data and var in device_users and var not in host_users:
            return D.to_device(var.data)
        return var.data
    run = compile_program(fgraph, input_vars, output_vars, make_thunk, nan_guard=False,
                          constant_value=constant_value, profile=profile)
    on_device = [v not in host for v in input_vars]
    n_outputs = len(fgraph.outputs)
    n_user_inputs = len(fgraph.inputs)
    if D.simulated():
        # The simulator runs kernels as Python in threads, outside the program's np.errstate:
        # NumPy's warnings for what a GPU does silently (the random streams' uint64 wraparound,
        # float overflow to inf) are ignored for the kernels' modules only. A filter
        # by module, set once: catch_warnings around each call is not thread-safe, and some
        # leaked from the threads (26 in one CI run).
        kernel_modules = r"symgraph_kernel_cuda_|symgraph\.backends\.cuda_"
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=kernel_modules)

    def run_on_device(values):
        previous = cuda_memory.begin_call(D.cuda())
        try:
            values = [D.to_device(v) if dev and not D.is_device(v) else (D.to_host(v) if not dev else v)
                      for v, dev in zip(values, on_device)]
            results = run(values)
        finally:
            cuda_memory.end_call(previous)
        if nan_guard:
            _check_finite(results, output_vars)
        if device_outputs:
            return [D.to_device(r) for r in results]
        return [D.to_host(r) for r in results[:n_outputs]] + results[n_outputs:]

    def stage_shared(shared):
        """Values of the shared variables, moved once to where this program reads them."""
        values = []
        for s, dev in zip(shared, on_device[n_user_inputs:]):
            value = s.container[0]
            if dev != D.is_device(value):
                value = s.container[0] = D.to_device(value) if dev else D.to_host(value)
            values.append(value)
        return values
    run_on_device.stage_shared = stage_shared
    run_on_device.fresh_results = True  # every result is a new array, never an input's memory
    return run_on_device


def _check_finite(results, output_vars):
    from .executor import NonFiniteError
    for value, var in zip(results, output_vars):
        host = D.to_host(value)
        if host.dtype.kind == "f" and not np.isfinite(host).all():
            raise NonFiniteError(f"nan_guard: {var.describe()} holds NaN or Inf (the cuda backend checks "
                                 f"outputs and updates; run on backend='numba' to find the first node)")
