"""plan memory: let an elementwise loop, or an increment of a subtensor, write into an
input whose buffer dies there.

An input may be overwritten when this node is its only reader, it is not a graph output,
it has the output's dtype and no broadcasting, and the op that made it returned fresh
memory (not a view of something still alive, not a graph input, shared value or constant).
Outputs handed to the user are never written again: the numba backend reuses a large
elementwise output's buffer in the next call only once nothing holds it any more
(numba_cpu.ElementwiseThunk._first_output).

One input is written in place: a shared weight w whose update is a Gemm accumulating into it
(w - lr * dot(a, b), or momentum's v = mu * v - lr * dot(a, b); see specialize.update_as_gemm),
as Theano's gemm_inplace and NumPy's `w -= lr * gw` do. The executor runs such nodes after
every other node (executor.py), so every other reader of w has read the old value and a call
that fails earlier leaves w as it was; only elementwise loops that cannot fail (static shapes,
updates themselves: momentum's w + v) may read the result, after it. So w may not reach,
through ops that may return views, a function output, another update, or an operand of
another such gemm. The executor checks all such gemms' shapes before the first writes (a
backend's thunk for them has a `check`), so none fails after another has written.
"""
from ..graph import Constant
from ..ops.elemwise import Elemwise
from ..ops.composite import Composite, CompositeReduce
from ..ops.linalg import Dot, Gemm, Matmul
from ..ops.reduce import Reduce, ArgReduce, CumSum, LogSumExp
from ..ops.extra_ops import CumProd
from ..ops.index import IncSubtensor, Subtensor
from ..ops.shape import Alloc, Concatenate, Repeat, Tile
from ..ops.nn import Softmax, LogSoftmax
from ..ops.conv import Conv2D, Conv2DGradInput, Conv2DGradFilters, MaxPool2D, MaxPool2DGrad
from ..ops.sorting import Sort, ArgSort

# (ArgReduce: a classifier's predictions, x.argmax(axis=1), returned by the call were checked
# for sharing an input's memory: 0.3 us of a 1.6 us call; keepdims' reshape of them was copied.)
FRESH = (Elemwise, Composite, CompositeReduce, Dot, Gemm, Matmul, Reduce, ArgReduce, CumSum, CumProd,
         LogSumExp, IncSubtensor, Alloc, Concatenate, Repeat, Tile, Softmax, LogSoftmax, Conv2D,
         Conv2DGradInput, Conv2DGradFilters, MaxPool2D, MaxPool2DGrad, Sort, ArgSort)


def makes_new_memory(op):
    """Whether op's results are always new arrays: a FRESH op, or indexing by an integer
    array or a mask (NumPy's advanced indexing copies; a basic slice is a view). x[idx]
    returned to the caller was checked for sharing an input's memory each call: 0.38 of a
    1.6 us call over 16 values."""
    return isinstance(op, FRESH) or (isinstance(op, Subtensor) and "array" in op.spec)


def plan_inplace(fgraph, log):
    clients = fgraph.clients
    for node in fgraph.apply_nodes:
        op = node.op
        if isinstance(op, IncSubtensor) and not op.inplace and _dies_here(node.inputs[0], node, clients) \
                and all(v is not node.inputs[0] for v in node.inputs[1:]):
            node.op = IncSubtensor(op.spec, op.set_instead_of_inc, inplace=True)
            log.append(("memory", "inplace", str(node.op)))
            continue
        if isinstance(op, Gemm) and not op.inplace and _may_accumulate_into_weight(fgraph, node):
            node.op = Gemm(op.alpha, op.beta, inplace=True)
            log.append(("memory", "inplace", str(node.op)))
            continue
        if not isinstance(op, (Elemwise, Composite)) or len(node.outputs) != 1:
            continue
        if op.inplace is not None:
            continue
        out = node.outputs[0]
        for k, v in enumerate(node.inputs):
            if _dies_here(v, node, clients) and v.dtype == out.dtype and v.ndim == out.ndim \
                    and _same_static_shape(v, out):
                node.op = _inplace_version(op, k)
                log.append(("memory", "inplace", str(node.op)))
                break


def _dies_here(v, node, clients):
    readers = clients.get(v, [])
    return (v.owner is not None and makes_new_memory(v.owner.op)
            and all(c is node for c, _ in readers) and len(readers) >= 1)


def _same_static_shape(v, out):
    # A known 1 against an unknown or longer output would mean broadcasting; the kernel
    # also checks the runtime shape and allocates when they differ.
    return all(not (a == 1 and b != 1) for a, b in zip(v.type.shape, out.type.shape))


def _inplace_version(op, k):
    if isinstance(op, Elemwise):
        return Elemwise(op.scalar_op, inplace=k)
    return Composite(op.program, op.outputs, op.n_inputs, inplace=k)


def _may_accumulate_into_weight(fgraph, node):
    """Whether this Gemm may write into its c, a shared weight it updates (see the top)."""
    c, a, b = node.inputs
    out = node.outputs[0]
    if c.owner is not None or isinstance(c, Constant) \
            or c.dtype != out.dtype or None in c.type.shape or c.type.shape != out.type.shape:
        return False
    if fgraph.update_target(out, readers=True) is not c:
        return False
    readers = [r for r, _ in fgraph.clients[out] if r != "output"]
    if not all(_cannot_fail_after(fgraph, r, out, c) for r in readers):
        return False
    others = [v for v in fgraph.outputs + fgraph.update_outputs
              if v is not out and not any(v in r.outputs for r in readers)] + [a, b]
    others += [v for other in fgraph.apply_nodes if other is not node and isinstance(other.op, Gemm)
               and fgraph.update_target(other.outputs[0], readers=True) is other.inputs[0]
               for v in other.inputs[1:]]  # (the operands of gemms that may accumulate too)
    return not any(c in _memory_of(v) for v in others)


def _cannot_fail_after(fgraph, reader, out, c):
    """A node reading the gemm's result runs after the write (momentum's w + v_new): allowed when
    it is an elementwise loop over static shapes that all agree (nothing to fail at run time)
    whose result is an update no node reads, and that reads nothing else of c's memory."""
    result = reader.outputs[0]
    return (isinstance(reader.op, (Elemwise, Composite)) and len(reader.outputs) == 1
            and fgraph.update_target(result) is not None
            and all(None not in v.type.shape and v.type.shape == result.type.shape for v in reader.inputs)
            and not any(c in _memory_of(v) for v in reader.inputs if v is not out))


def fresh_outputs(fgraph, outputs):
    """Per output, whether the caller may keep and change it as it is (no defensive copy,
    Function._own): made by an op that always returns new memory (makes_new_memory), or reached from such
    results through views and reshapes alone, where no other output shares them and they do
    not follow from shapes alone (the executor keeps those between calls). A reshape or slice
    of a fresh result was copied once more: (x*2).reshape(-1) of 1000x1000 float32 635-798 ->
    260-278 us, (x*2)[1:] of 316x316 32-43 -> 19-20 (two runs)."""
    from ..backends.executor import from_shapes  # (the executor's own rule for shape values)
    shape_values = {o for node in from_shapes(fgraph.apply_nodes) for o in node.outputs}
    roots = [_fresh_roots(v, shape_values) for v in outputs]
    fresh = []
    for k, (v, own) in enumerate(zip(outputs, roots)):
        if v.owner is not None and makes_new_memory(v.owner.op):
            fresh.append(True)
        else:
            fresh.append(own is not None and not any(
                other is not None and own & other for j, other in enumerate(roots) if j != k))
    return fresh


def _fresh_roots(var, shape_values):
    """The new-memory results (makes_new_memory) var may share, or None where it may share a graph
    input's, a constant's or a value computed from shapes. A view has its base's dtype, so
    inputs of another dtype (a reshape's shape, a slice's bounds) are not followed."""
    found, todo = set(), [var]
    while todo:
        v = todo.pop()
        if v.owner is None or v in shape_values:
            return None
        if makes_new_memory(v.owner.op):
            found.add(v)
        else:
            todo += [u for u in v.owner.inputs if u.dtype == v.dtype]
    return found


def _memory_of(var):
    """The graph inputs whose memory var may share: var itself, or those that ops which do
    not always make new memory (views, reshapes: not makes_new_memory) were given."""
    found, todo = set(), [var]
    while todo:
        v = todo.pop()
        if v.owner is None:
            found.add(v)
        elif not makes_new_memory(v.owner.op):
            todo += v.owner.inputs
    return found
