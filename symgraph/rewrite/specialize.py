"""specialize: cheaper forms of the same computation.

x**2 -> square(x), x**3 -> square(x) * x, x**4 -> square(square(x)), x**0.5 -> sqrt(x),
x**-1 -> reciprocal(x), x**-2 -> reciprocal(square(x)) (a multiply is ~20x cheaper than pow,
which does not vectorize; each form rounds at most twice more, about 1 ulp);
alpha * dot(a, b) + c -> Gemm (one BLAS call with the bias folded in);
a shared weight's update w - lr * dot(a, b) -> Gemm(-lr, 1)(w, a, b) (momentum's
mu * v - lr * dot(a, b) -> Gemm(-lr, mu)), which the memory planner lets accumulate into w;
sum(x * y) over two equal-length vectors -> dot(x, y);
dot(a, b) of an (m, 1) and a (1, n) matrix, both 1s known -> a * b (the input's gradient of a
dense layer with one unit, g @ W.T: an outer product, which NumPy's matmul runs 5x slower than
np.dot and an elementwise loop, fused with its neighbours, faster than either);
max_pool2d(relu(x)) -> relu(max_pool2d(x)), and relu's gradient after the pooling's ->
the pooling's gradient of x (a convnet's conv-relu-pool block: relu and its gradient on a
quarter of the values);
softmax(x) next to log_softmax(x) -> exp(log_softmax(x)) (an elementwise exp that fuses into
its reader instead of a second pass over the rows: the training step of a classifier);
CrossentropySoftmax(x, y) beside CrossentropySoftmaxGrad(x, y, g) -> one
CrossentropySoftmaxWithGrad(x, y, g) (the same step's loss and gradient in one row loop);
softmax and log_softmax along an axis other than the last -> their written forms (max and
sum folds along that axis and elementwise loops, where the CPU's row loops cannot go);
einsum with no matrix product in it ("ij,ij->i", "i,j->ij") -> a product of its operands,
summed over its summed letters (one fused loop);
f(x)[idx] -> f(x[idx]) for an elementwise f of one array read by the indexing alone (the
function of the values picked: Theano's -log(p)[arange(n), y]).
"""
import itertools
import math

import numpy as np

from ..graph import Constant, ancestors
from ..ops import elemwise as E
from ..ops import reduce as R
from ..ops.elemwise import Elemwise
from ..ops.conv import MaxPool2D, MaxPool2DGrad
from ..ops.linalg import Dot, Gemm
from ..ops.reduce import Reduce
from ..ops.shape import dimshuffle, expand_dims
from ..ops.index import Subtensor
from ..ops.einsum import Einsum, has_matrix_product, product_letters
from ..ops.nn import Softmax, LogSoftmax, CrossentropySoftmax, CrossentropySoftmaxGrad, CrossentropySoftmaxWithGrad
from .engine import Stage
from .patterns import scalar_name, args, constant_scalar, is_constant, is_scalar_like, can_stand_for, sole_client

specialize = Stage("specialize")
_POWERS = {2: E.square, 3: lambda x: E.square(x) * x, 4: lambda x: E.square(E.square(x)),
           0.5: E.sqrt, -1: E.reciprocal, -2: lambda x: E.reciprocal(E.square(x))}


@specialize.register(Elemwise)
def special_powers(fgraph, node):
    if node.op.scalar_op.name != "pow" or not is_scalar_like(node.inputs[1]):
        return None
    exponent = constant_scalar(node.inputs[1])
    fn = _POWERS.get(exponent)
    if fn is None or node.inputs[1].ndim > node.inputs[0].ndim:
        return None
    if exponent < 0 and node.outputs[0].dtype[0] not in "fc":
        return None  # (NumPy refuses integers to negative integer powers: the power's kernel raises so too)
    result = fn(node.inputs[0])
    return result if can_stand_for(result, node.outputs[0]) else None


def _scaled_dot(fgraph, var):
    """(alpha, a, b) when var is dot(a, b) or alpha * dot(a, b) of matrices read only here."""
    alpha = 1.0
    if scalar_name(var) == "mul" and sole_client(fgraph, var):
        x, y = args(var)
        if isinstance(x, Constant):
            x, y = y, x
        if is_scalar_like(y) and y.ndim <= 2:
            alpha, var = constant_scalar(y), x
    if var.owner is None or type(var.owner.op) is not Dot or not sole_client(fgraph, var):
        return None
    a, b = var.owner.inputs
    if a.ndim != 2 or b.ndim != 2:
        return None
    return alpha, a, b


@specialize.register(Elemwise)
def gemm_from_dot_plus_bias(fgraph, node):
    if node.op.scalar_op.name != "add":
        return None
    out = node.outputs[0]
    for product, bias in (node.inputs, node.inputs[::-1]):
        found = _scaled_dot(fgraph, product)
        if found is None or bias.ndim > 2 or bias.dtype != out.dtype:
            continue
        alpha, a, b = found
        if a.dtype != out.dtype or b.dtype != out.dtype:
            continue  # (an integer or float32 product promoted by its bias: NumPy rounds the product first)
        result = Gemm(alpha, 1.0)(bias, a, b)
        if can_stand_for(result, out):
            return result
    return None


@specialize.register(Elemwise)
def update_as_gemm(fgraph, node):
    """w - s * dot(a, b) (or w + s * dot(a, b), or beta * w - s * dot(a, b): momentum's
    velocity) as the update of the shared weight w becomes Gemm(-s, beta)(w, a, b):
    rewrite/memory.py then lets the gemm accumulate into w's buffer, where the product and the
    update were two passes over the weight's size (an SGD step of a 784-512 layer: the 0.33 ms
    product, then 0.12 ms for the update). A constant s folds into alpha; a 0-d variable s
    (Keras's learning rate, a shared value) scales the operand with fewer elements, which the
    gradient's elementwise loop computes anyway."""
    name = node.op.scalar_op.name
    if name not in ("sub", "add"):
        return None
    out = node.outputs[0]
    pairs = ((node.inputs[0], node.inputs[1]),) if name == "sub" else (node.inputs, node.inputs[::-1])
    for kept, term in pairs:
        w, beta = _scaled_weight(fgraph, kept)
        if fgraph.update_target(out, readers=True) is not w or w.dtype != out.dtype \
                or w.type.shape != out.type.shape or None in w.type.shape or w.ndim != 2:
            continue
        found = _scaled_dot_term(fgraph, term)
        if found is None:
            continue
        scale, a, b = found
        if not _fits(a.type.shape[0], w.type.shape[0]) or not _fits(b.type.shape[1], w.type.shape[1]) \
                or a.dtype != out.dtype or b.dtype != out.dtype:
            continue
        sign = -1.0 if name == "sub" else 1.0
        if isinstance(scale, float):
            result = Gemm(sign * scale, beta)(w, a, b)
        else:
            if (a.type.shape[0] or w.type.shape[0]) < (b.type.shape[1] or w.type.shape[1]):
                a = a * scale
            else:
                b = b * scale
            result = Gemm(sign, beta)(w, a, b)
        return result if can_stand_for(result, out) else None
    return None


def _scaled_weight(fgraph, var):
    """(w, beta) for var = beta * w with a constant beta read only here, else (var, 1.0)."""
    if scalar_name(var) == "mul" and sole_client(fgraph, var):
        for c, w in (args(var), args(var)[::-1]):
            if is_scalar_like(c) and c.ndim == 0 and w.owner is None and not isinstance(w, Constant):
                return w, float(constant_scalar(c))
    return var, 1.0


def _fits(length, static):
    return length is None or length == static


def _scaled_dot_term(fgraph, var):
    """(s, a, b) for var = s * dot(a, b) of matrices (s a float when constant, else a 0-d or
    size-one variable), each read only here; None otherwise."""
    scale = 1.0
    if scalar_name(var) == "mul" and sole_client(fgraph, var):
        for s, product in (args(var), args(var)[::-1]):
            if is_scalar_like(s) and s.ndim <= 2:
                scale, var = float(constant_scalar(s)), product
                break
            if not isinstance(s, Constant) and all(n == 1 for n in s.type.shape) and s.ndim <= 2 \
                    and s.dtype == var.dtype and product.owner is not None and type(product.owner.op) is Dot:
                scale, var = s, product
                break
        else:
            return None
    if var.owner is None or type(var.owner.op) is not Dot or not sole_client(fgraph, var):
        return None
    a, b = var.owner.inputs
    return (scale, a, b) if a.ndim == 2 and b.ndim == 2 else None


@specialize.register(Reduce)
def sum_of_product_is_dot(fgraph, node):
    op, x = node.op, node.inputs[0]
    if op.kind != "sum" or x.ndim != 1 or op.keepdims or scalar_name(x) != "mul" or not sole_client(fgraph, x):
        return None
    a, b = args(x)
    same_length = a is b or (a.type.shape == b.type.shape and None not in a.type.shape)
    if a.ndim != 1 or b.ndim != 1 or not same_length:
        return None
    result = Dot()(a, b)
    return result if can_stand_for(result, node.outputs[0]) else None


@specialize.register(Dot)
def outer_product_as_a_broadcast_multiply(fgraph, node):
    """dot(a, b) with a (m, 1) and b (1, n) -> a * b, which broadcasts to the same (m, n) and
    rounds the same (one multiply each). An RNN's output layer of one unit (T*B x 1 @ 1 x H at
    2560 x 128 float32): np.matmul 408 us, np.dot 83, the broadcast loop 20 (benchmarks/README.md,
    thirty-second session)."""
    a, b = node.inputs
    if a.ndim != 2 or b.ndim != 2 or a.type.shape[1] != 1 or b.type.shape[0] != 1:
        return None
    result = E.mul(a, b)
    return result if can_stand_for(result, node.outputs[0]) else None


@specialize.register(Einsum)
def einsum_without_a_matrix_product(fgraph, node):
    """einsum of two float operands of its result's dtype, each letter one axis of an operand,
    where no letter is both summed and beside a letter of one operand alone (dots of rows
    "ij,ij->i", a whole dot "ij,ij->", outer products "i,j->ij", "bi,bj->bij") -> the
    operands' elementwise product, aligned on the output's letters then the summed ones, summed
    over those: one fused loop (a CompositeReduce), where np.einsum's sum of products ran on one
    core with its call's overhead ("ij,ij->i" of 1000x100 float32: NumPy's einsum 17-24 us).
    Length-1 axes broadcast as np.einsum's do. Einsums with a matrix product keep their node
    (the backends' BLAS products: backends/einsum_products)."""
    op, out = node.op, node.outputs[0]
    if len(node.inputs) != 2:
        return None
    a, b = node.inputs
    if a.dtype != out.dtype or b.dtype != out.dtype or out.dtype not in ("float32", "float64"):
        return None
    found = product_letters(op.inputs, op.output)
    if found is None or has_matrix_product(found):
        return None
    (sa, sb), summed = op.inputs, found[2]
    letters = list(op.output) + summed
    product = E.mul(dimshuffle(a, *[sa.index(c) if c in sa else "x" for c in letters]),
                    dimshuffle(b, *[sb.index(c) if c in sb else "x" for c in letters]))
    result = product.sum(axis=tuple(range(len(op.output), len(letters)))) if summed else product
    return result if can_stand_for(result, out) else None


# Reductions over axes this short, all of known length, become a fold of that many slices.
MAX_SLICES = 4
_SLICE_FOLDS = {"sum": E.add, "mean": E.add, "prod": E.mul, "max": E.maximum, "min": E.minimum}


@specialize.register(Reduce)
def short_axes_folded_as_slices(fgraph, node):
    """x.sum(axis=a) over axes of known lengths that multiply to at most MAX_SLICES ->
    x[.., 0, ..] + x[.., 1, ..] + ...: one elementwise loop over strided views of x, where
    the reduction's loops stepped a short fold per output value. An upsampling's gradient
    (two such sums over a repeat's copies) and a 2x2 mean pooling written as
    x.reshape(n, c, h, 2, w, 2).mean(axis=(3, 5)) are these: float32 (64, 16, 28, 28) to
    (64, 16, 14, 14), the gradient 0.61 -> 0.21 ms, the mean 0.39 -> 0.13, the max 0.44-0.55 ->
    0.16; rows of 2 summed 150-190 -> 46 us for 200000. Float inputs only (a sum of integers
    changes dtype); whole reductions keep their loops. NumPy's own reduce adds so few values
    one after another in their dtype, as this does."""
    op, x = node.op, node.inputs[0]
    out = node.outputs[0]
    if op.kind not in _SLICE_FOLDS or x.dtype not in ("float32", "float64") or out.dtype != x.dtype \
            or len(op.axis) == x.ndim:
        return None
    lengths = [x.type.shape[a] for a in op.axis]
    if None in lengths or not 2 <= math.prod(lengths) <= MAX_SLICES:
        return None
    if x.dtype == "float64" and op.kind in ("sum", "mean") and op.axis == tuple(range(x.ndim - len(op.axis), x.ndim)):
        return None  # (the CPU's loop along float64 rows of 2 is faster: 200000x2 62 us, the slices 103-123)
    result = None
    for picks in itertools.product(*[range(n) for n in lengths]):
        index = [slice(None)] * x.ndim
        for a, k in zip(op.axis, picks):
            index[a] = k
        term = x[tuple(index)]
        result = term if result is None else _SLICE_FOLDS[op.kind](result, term)
    if op.kind == "mean":
        result = E.true_div(result, Constant(np.asarray(math.prod(lengths), x.dtype)))
    if op.keepdims:
        result = expand_dims(result, op.axis)
    return result if can_stand_for(result, out) else None


@specialize.register(Subtensor)
def picked_before_their_function(fgraph, node):
    """f(x)[idx] -> f(x[idx]) for an elementwise f of one array (its other inputs single values)
    that nothing else reads: the function of the values picked alone. Theano's negative
    log-likelihood -mean(log(p)[arange(n), y]) took the log of the whole matrix (10^4 rows of 10
    float32, with the pick compiled: 36.6 -> 15.2 us a call); sigmoid(z)[:, 0] computes a
    column. After stabilize, whose rules read log_softmax(x)[arange(n), y] as a crossentropy
    (there log_softmax is an op, not an elementwise log). (An integer pick longer than x,
    x[[0] * 10**6], then computes f more often than x has values: not told apart here.)"""
    made = node.inputs[0].owner
    if made is None or not isinstance(made.op, Elemwise) or not sole_client(fgraph, node.inputs[0]):
        return None
    arrays = {v for v in made.inputs if v.ndim}
    if len(arrays) != 1 or next(iter(arrays)).ndim != node.inputs[0].ndim:
        return None
    (x,) = arrays
    picked = node.op(x, *node.inputs[1:])
    result = made.op(*[picked if v is x else v for v in made.inputs])
    return result if can_stand_for(result, node.outputs[0]) else None


@specialize.register(Softmax)
def softmax_from_log_softmax(fgraph, node):
    x, axis = node.inputs[0], node.op.axis
    for client, _ in fgraph.clients.get(x, []):
        if client != "output" and isinstance(client.op, LogSoftmax) and client.op.axis == axis:
            return E.exp(client.outputs[0])
    return None


@specialize.register(Softmax, LogSoftmax)
def softmax_along_a_leading_axis(fgraph, node):
    """softmax(x, axis) -> e / sum(e, axis) with e = exp(x - max(x, axis)), log_softmax alike,
    for an axis other than the last (a channel softmax of NCHW scores, a softmax over a batch
    column): the numba backend's row loops take the last axis only, and for the others the op
    ran its NumPy reference, five passes on one core. Written out, the max and the sum are
    folds along the axis and the rest elementwise loops, parallel on large arrays, computing
    what the reference does in its order: softmax over axis 0 of 1000x1000 and over the
    channels of 32x21x64x64 0.97-1.01x -> 1.2-3.6x NumPy's, log_softmax 0.92-1.00x ->
    0.94-2.15x (its shifted values stored for the last step). The CUDA backend had its own
    three kernels for any axis; the written form is four there."""
    x = node.inputs[0]
    axis = node.op.axis % x.ndim if x.ndim else None
    if x.ndim < 2 or axis == x.ndim - 1:
        return None
    shifted = x - R.max(x, axis=axis, keepdims=True)
    if isinstance(node.op, LogSoftmax):
        result = shifted - E.log(R.sum(E.exp(shifted), axis=axis, keepdims=True))
    else:
        e = E.exp(shifted)
        result = e / R.sum(e, axis=axis, keepdims=True)
    return result if can_stand_for(result, node.outputs[0]) else None


@specialize.register(CrossentropySoftmaxGrad)
def crossentropy_beside_its_gradient(fgraph, node):
    """CrossentropySoftmax(x, y) and CrossentropySoftmaxGrad(x, y, g) of the same logits and
    targets (a classifier's training step: the loss as an output, its gradient for the
    updates) become the two outputs of one CrossentropySoftmaxWithGrad(x, y, g): each row's
    maximum and sum of exponentials found once, one node to run and one row loop to compile
    instead of two. Only where g does not depend on the loss (a mean's 1/n, not a gradient
    through log(loss)), else the fused node would read its own output."""
    x, y, g = node.inputs
    for client, _ in fgraph.clients.get(x, []):
        if client == "output" or type(client.op) is not CrossentropySoftmax or client.inputs[1] is not y:
            continue  # (targets both halves broadcast alike are one variable: merge ran after stabilize)
        loss = client.outputs[0]
        if any(v is loss for v in ancestors([g], blockers=fgraph.inputs)):
            return None
        fused_loss, fused_grad = CrossentropySoftmaxWithGrad()(x, y, g)
        return {loss: fused_loss, node.outputs[0]: fused_grad}
    return None


def _relu_input(var):
    """x where var is relu(x), else None."""
    return args(var)[0] if scalar_name(var) == "relu" else None


@specialize.register(MaxPool2D)
def pool_before_relu(fgraph, node):
    """max_pool2d(relu(x)) -> relu(max_pool2d(x)): relu keeps the order of the values it does
    not zero, so each window's maximum goes through it alike (NaN included), and relu then
    reads a quarter of the values (2x2 windows). Only the sign of a zero may differ. Where x
    is itself an elementwise result (a conv's bias added) and nothing takes the pooling's
    gradient, relu fuses into that loop for nothing, and moved it would be a node of its own
    (a digits convnet's prediction 1.51 -> 1.60 ms): then left as it is."""
    r = node.inputs[0]
    x = _relu_input(r)
    if x is None:
        return None
    gradient = any(client != "output" and type(client.op) is MaxPool2DGrad
                   for v in (r, x) for client, _ in fgraph.clients.get(v, []))
    if not gradient and x.owner is not None and isinstance(x.owner.op, Elemwise):
        return None
    result = E.relu(node.op(x))
    return result if can_stand_for(result, node.outputs[0]) else None


def _image_and_bias(var):
    """(y, b) where var is y + b, y 4-d NCHW and b one value per image and channel (a
    convolution's bias: static length 1 along H and W, and along N and C 1 or y's known length,
    so that y + b has y's shape); else None."""
    if scalar_name(var) != "add" or len(args(var)) != 2:
        return None
    for y, b in (args(var), args(var)[::-1]):
        if y.ndim != 4 or b.ndim > 4:
            continue
        lengths = (1,) * (4 - b.ndim) + b.type.shape
        if lengths[2:] == (1, 1) and all(n == 1 or (n is not None and n == y.type.shape[d])
                                         for d, n in enumerate(lengths[:2])):
            return y, b
    return None


@specialize.register(MaxPool2D)
def bias_after_pool(fgraph, node):
    """max_pool2d(y + b) -> max_pool2d(y) + b for b one value per image and channel (a conv
    layer's bias): each window's maximum moves by b (rounding is monotone: the same values),
    and the add reads a quarter of the values (2x2 windows), fused into what follows (relu:
    see pool_before_relu). Where b is +inf and a window holds -inf, the result is +inf, not
    NaN. Keras's mnist_cnn at batch 128: the add over 128x64x24x24 float32 took 0.85 ms."""
    found = _image_and_bias(node.inputs[0])
    if found is None:
        return None
    y, b = found
    result = E.add(node.op(y), b)
    return result if can_stand_for(result, node.outputs[0]) else None


@specialize.register(MaxPool2DGrad)
def pool_gradient_without_bias(fgraph, node):
    """MaxPool2DGrad(y + b, g) -> MaxPool2DGrad(y, g), b as in bias_after_pool: each window's
    maximum is at the same place (but where y's values differ by less than b's rounding, whose
    sums tie: then the first of y's maxima), so y + b need not be computed for the backward pass."""
    found = _image_and_bias(node.inputs[0])
    if found is None:
        return None
    result = MaxPool2DGrad(node.op.pool)(found[0], node.inputs[1])
    return result if can_stand_for(result, node.outputs[0]) else None


@specialize.register(Reduce)
def sum_of_a_pool_gradient(fgraph, node):
    """sum(MaxPool2DGrad(x, g), axes covering H and W) -> sum(g, the same axes): each window's
    gradient goes to one of its entries, so both sum the same values (in another order). A
    conv layer's bias gradient summed the whole image's gradient (128x64x24x24 float32: 0.37 ms),
    mostly zeros."""
    op, dx = node.op, node.inputs[0]
    if op.kind != "sum" or dx.owner is None or type(dx.owner.op) is not MaxPool2DGrad or not {2, 3} <= set(op.axis):
        return None
    result = Reduce("sum", op.axis, op.keepdims)(dx.owner.inputs[1])
    return result if can_stand_for(result, node.outputs[0]) else None


@specialize.register(Elemwise)
def pool_gradient_before_relu(fgraph, node):
    """relu's gradient after a max pooling's, MaxPool2DGrad(relu(x), g) * (relu(x) > 0) ->
    MaxPool2DGrad(x, g * (max_pool2d(x) > 0)), the form pool_before_relu's graph has. The same
    values: a window whose maximum is positive has the same first maximum in x as in relu(x),
    which gets g; a window of values <= 0 (or whose maximum is NaN: NaN > 0 is false) gets 0
    either way. relu(x) then has no reader left: neither it nor the mask is computed over the
    whole image (64x16x28x28 float32: 125 and 244 us of a conv block's step)."""
    if node.op.scalar_op.name != "mul" or len(node.inputs) != 2:
        return None
    for pooled_grad, mask in (node.inputs, node.inputs[::-1]):
        owner = pooled_grad.owner
        if owner is None or type(owner.op) is not MaxPool2DGrad or scalar_name(mask) != "gt":
            continue
        r, g = owner.inputs
        x = _relu_input(r)
        m, zero = args(mask)
        if x is None or not (m is r or m is x) or not is_constant(zero, 0) or not sole_client(fgraph, pooled_grad):
            continue
        pool = owner.op.pool
        result = MaxPool2DGrad(pool)(x, g * E.gt(pool(x), 0))
        if can_stand_for(result, node.outputs[0]):
            return result
    return None
