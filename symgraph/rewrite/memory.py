"""plan memory: let an elementwise loop, or an increment of a subtensor, write into an
input whose buffer dies there.

An input may be overwritten when this node is its only reader, it is not a graph output,
it has the output's dtype and no broadcasting, and the op that made it returned fresh
memory (not a view of something still alive, not a graph input, shared value or constant).
Outputs handed to the user are never written again: the numba backend reuses a large
elementwise output's buffer in the next call only once nothing holds it any more
(numba_cpu.ElementwiseThunk._first_output).
"""
from ..ops.elemwise import Elemwise
from ..ops.composite import Composite, CompositeReduce
from ..ops.linalg import Dot, Gemm, Matmul
from ..ops.reduce import Reduce, CumSum, LogSumExp
from ..ops.index import IncSubtensor
from ..ops.shape import Alloc, Concatenate, Repeat, Tile
from ..ops.nn import Softmax, LogSoftmax
from ..ops.conv import Conv2D, Conv2DGradInput, Conv2DGradFilters, MaxPool2D, MaxPool2DGrad

FRESH = (Elemwise, Composite, CompositeReduce, Dot, Gemm, Matmul, Reduce, CumSum, LogSumExp,
         IncSubtensor, Alloc, Concatenate, Repeat, Tile, Softmax, LogSoftmax, Conv2D,
         Conv2DGradInput, Conv2DGradFilters, MaxPool2D, MaxPool2DGrad)


def plan_inplace(fgraph, log):
    clients = fgraph.clients
    for node in fgraph.apply_nodes:
        op = node.op
        if isinstance(op, IncSubtensor) and not op.inplace and _dies_here(node.inputs[0], node, clients) \
                and all(v is not node.inputs[0] for v in node.inputs[1:]):
            node.op = IncSubtensor(op.spec, op.set_instead_of_inc, inplace=True)
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
    return (v.owner is not None and isinstance(v.owner.op, FRESH)
            and all(c is node for c, _ in readers) and len(readers) >= 1)


def _same_static_shape(v, out):
    # A known 1 against an unknown or longer output would mean broadcasting; the kernel
    # also checks the runtime shape and allocates when they differ.
    return all(not (a == 1 and b != 1) for a, b in zip(v.type.shape, out.type.shape))


def _inplace_version(op, k):
    if isinstance(op, Elemwise):
        return Elemwise(op.scalar_op, inplace=k)
    return Composite(op.program, op.outputs, op.n_inputs, inplace=k)
