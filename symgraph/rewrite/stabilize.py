"""stabilize: rewrite naively written formulas into forms that stay finite and accurate.

log(1+exp(x)) -> softplus(x); log(1+x) -> log1p(x); exp(x)-1 -> expm1(x);
exp(x)/sum(exp(x)) -> softmax(x); log(softmax(x)) -> log_softmax(x);
crossentropy(softmax(x), t) -> one fused op (gradient softmax - t), and so does TensorFlow 1's
sum(t * log(softmax(x)), last axis) (negated);
the gradient of crossentropy through softmax -> g * (softmax * sum(t) - t), and more generally
the gradient through log(softmax) -> a - softmax * sum(a) (no division by softmax, which is 0
where it underflows);
1/(1+exp(-x)) and exp(x)/(1+exp(x)) -> sigmoid(x), and their gradients -> sigmoid's; log(sigmoid(x)) -> -softplus(-x); log(1-sigmoid(x)) -> -softplus(x)
(also of a transposed sigmoid); the gradient through sigmoid of log(sigmoid) and log(1-sigmoid)
-> no division by the sigmoid;
log(sum(exp(x))) -> max-shifted logsumexp; x - logsumexp(x) -> log_softmax(x).
"""
import numpy as np

from ..graph import Constant
from ..ops import elemwise as E
from ..ops.elemwise import Elemwise
from ..ops.reduce import Reduce, LogSumExp, SumToShape, max_shift_undone, written_logsumexp
from ..ops.nn import (Softmax, LogSoftmax, CategoricalCrossentropy, CrossentropySoftmax, CrossentropySoftmaxGrad,
                      CrossentropySoftmaxWithGrad)
from ..ops.index import IncSubtensor, Subtensor
from ..ops.shape import ARange, Alloc, BroadcastTo, DimShuffle, broadcast_to, shape
from .engine import Stage
from .patterns import scalar_name, args, is_constant, is_scalar_like, can_stand_for
from .lengths import length, entry, same, same_length, scalar

stabilize = Stage("stabilize")


def _one_plus(var):
    """x when var is 1 + x or x + 1 (with a size-one constant 1), else None."""
    if scalar_name(var) != "add":
        return None
    a, b = args(var)
    if is_constant(a, 1) and is_scalar_like(a):
        return b
    if is_constant(b, 1) and is_scalar_like(b):
        return a
    return None


def _one_minus(var):
    """s where var is 1 - s (with a size-one constant 1), else None."""
    if scalar_name(var) == "sub" and is_constant(args(var)[0], 1) and is_scalar_like(args(var)[0]):
        return args(var)[1]
    return None


def _viewed_sigmoid(var):
    """(view, x) where var is sigmoid(x) seen through at most one DimShuffle (p.T, p.dimshuffle(0)
    of a column: view applies that DimShuffle, or nothing); else None. The log of a view is the
    view of the log, so the rules below rewrite the sigmoid's log and view it."""
    view = _unviewed
    if var is not None and var.owner is not None and isinstance(var.owner.op, DimShuffle):
        view, var = var.owner.op, var.owner.inputs[0]
    if scalar_name(var) == "sigmoid":
        return view, args(var)[0]
    return None


def _unviewed(var):
    return var


def _checked(result, out):
    return result if can_stand_for(result, out) else None


@stabilize.register(Elemwise)
def stable_logs(fgraph, node):
    name, out = node.op.scalar_op.name, node.outputs[0]
    if name == "log1p" and scalar_name(node.inputs[0]) == "exp":
        return _checked(E.softplus(args(node.inputs[0])[0]), out)
    if name != "log":
        return None
    x = node.inputs[0]
    inner = _one_plus(x)
    if inner is not None:
        if scalar_name(inner) == "exp":
            return _checked(E.softplus(args(inner)[0]), out)
        return _checked(E.log1p(inner), out)
    seen = _viewed_sigmoid(x)
    if seen is not None:
        view, z = seen
        return _checked(view(-E.softplus(-z)), out)
    seen = _viewed_sigmoid(_one_minus(x))
    if seen is not None:
        view, z = seen
        return _checked(view(-E.softplus(z)), out)
    if x.owner is not None and isinstance(x.owner.op, Softmax):
        return LogSoftmax(x.owner.op.axis)(x.owner.inputs[0])
    if x.owner is not None and isinstance(x.owner.op, Reduce) and x.owner.op.kind == "sum" \
            and scalar_name(x.owner.inputs[0]) == "exp":
        reduce_op = x.owner.op
        return _checked(LogSumExp(reduce_op.axis, reduce_op.keepdims)(args(x.owner.inputs[0])[0]), out)
    return None


@stabilize.register(Elemwise)
def written_out_sigmoid(fgraph, node):
    """1 / (1 + exp(-x)) -> sigmoid(x) and exp(x) / (1 + exp(x)) -> sigmoid(x) (Theano's
    logistic-regression tutorial writes p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))), so that
    log(p) and log(1 - p) become softplus, and one saturated exp (inf) does not make inf / inf."""
    if node.op.scalar_op.name != "true_div":
        return None
    num, den = node.inputs
    e = _one_plus(den)
    if scalar_name(e) != "exp":
        return None
    power = args(e)[0]
    if is_constant(num, 1) and is_scalar_like(num):
        return _checked(E.sigmoid(args(power)[0] if scalar_name(power) == "neg" else -power), node.outputs[0])
    if num is e:
        return _checked(E.sigmoid(power), node.outputs[0])
    return None


@stabilize.register(Elemwise)
def gradient_of_written_out_sigmoid(fgraph, node):
    """G * e, with e = exp(w) and G a sum of terms a / (1 + e), -> the sum of the a times
    sigmoid(w): what grad builds through the quotients 1 / (1 + exp(-x)) and exp(x) / (1 + exp(x))
    (written_out_sigmoid). Past w = 88 in float32 (709 in float64), e is inf and e / (1 + e) NaN.
    Where w = -x and a term is Y * s with s = sigmoid(x) (the first quotient's), sigmoid(w) is
    written 1 - s: Y * s * (1 - s), the form sigmoid_gradient_of_quotients reads; the second
    quotient's terms become Y * s - (Y * s) * s, which sigmoid_gradient_in_two_terms joins."""
    if node.op.scalar_op.name != "mul":
        return None
    for g, e in (node.inputs, node.inputs[::-1]):
        if scalar_name(e) != "exp":
            continue
        terms = list(_signed_terms(g, lambda d: d is not None and _one_plus(d) is e))
        if not any(kind == "over s" for _, _, kind in terms):
            continue
        power = args(e)[0]
        return _checked(_signed_sum(
            (sign, term * _sigmoid_of(power, term) if kind == "over s" else term * e)
            for sign, term, kind in terms), node.outputs[0])
    return None


@stabilize.register(Elemwise)
def sigmoid_gradient_in_two_terms(fgraph, node):
    """Y * s - (Y * s) * s -> Y * s * (1 - s), with s = sigmoid(x): the gradient through
    exp(x) / (1 + exp(x)) once gradient_of_written_out_sigmoid has taken out the exps, in the
    form sigmoid_gradient_of_quotients reads (Y divides by s and 1 - s in a crossentropy).
    Either product may be summed to s's shape (targets that might broadcast)."""
    if node.op.scalar_op.name not in ("add", "sub"):
        return None
    terms = [(sign, term) for sign, term, _ in _signed_terms(node.outputs[0], lambda d: False)]
    if len(terms) < 2:
        return None
    joined, used = [], set()
    for i, (sign, first) in enumerate(terms):
        for j, (other_sign, second) in enumerate(terms):
            if used & {i, j} or i == j:
                continue
            pair = _pair(second, "mul")
            for s in pair or ():
                found = _sigmoid_factor(_other(pair, s), args(s)[0]) if scalar_name(s) == "sigmoid" else None
                if found is None or found[0] * other_sign != -sign or found[2] is not s \
                        and not _equal(found[2], s):
                    continue
                _, y, s, summed = found
                if _equal(first, summed(y) * s) or _equal(first, s * summed(y)):
                    joined.append((sign, summed(y * s * (1 - s))))  # s has the summed shape
                    used |= {i, j}
                    break
    if not joined:
        return None
    rest = [term for k, term in enumerate(terms) if k not in used]
    return _checked(_signed_sum(joined + rest), node.outputs[0])


def _signed_sum(terms):
    """The sum of sign * term over (sign, term) pairs."""
    total = None
    for sign, term in terms:
        total = term if total is None and sign > 0 else -term if total is None \
            else total + term if sign > 0 else total - term
    return total


def _sigmoid_factor(numerator, power):
    """(sign, y, s, summed) where numerator is y * s or -y * s with s = sigmoid(power), or such a
    product summed to s's shape (summed(v) then sums v to that shape, else it is v); else None."""
    summed = _unviewed
    if numerator.owner is not None and isinstance(numerator.owner.op, SumToShape):
        numerator, target = numerator.owner.inputs
        summed = lambda v: SumToShape()(v, target)  # noqa: E731
    pair = _pair(numerator, "mul")
    for s in pair or ():
        if scalar_name(s) != "sigmoid" or args(s)[0] is not power:
            continue
        if summed is not _unviewed and not all(same(length(s, k), entry(target, k)) for k in range(s.ndim)):
            return None
        y = _other(pair, s)
        sign, y = (-1, _negated(y)) if _negated(y) is not None else (1, y)
        return sign, y, s, summed
    return None


def _equal(a, b, depth=4):
    """a is b, or the same ops' outputs on the same inputs down to `depth` levels (a rule's
    freshly built nodes, not yet merged with the graph's)."""
    if a is b:
        return True
    if depth == 0 or a.owner is None or b.owner is None or a.owner.op != b.owner.op:
        return False
    return a.owner.outputs.index(a) == b.owner.outputs.index(b) \
        and all(_equal(x, y, depth - 1) for x, y in zip(a.owner.inputs, b.owner.inputs))


def _sigmoid_of(power, numerator):
    """sigmoid(power), written 1 - s where power = -x and numerator has a factor s = sigmoid(x)."""
    for s in _pair(numerator, "mul") or ():
        if scalar_name(s) == "sigmoid" and (_negated(power) is args(s)[0] or _negated(args(s)[0]) is power):
            return 1 - s
    return E.sigmoid(power)


@stabilize.register(Elemwise)
def sigmoid_gradient_of_quotients(fgraph, node):
    """The gradient through s = sigmoid(x), G * s * (1 - s), where G adds up terms a / s and
    a / (1 - s) (what grad builds for log(s) and log(1 - s): Theano's hand-written
    -(t log(p) + (1 - t) log(1 - p))), becomes the sum of a * (1 - s) and a * s, and of
    G's other terms times s * (1 - s). As written, a saturated sigmoid (exactly 1 in float32
    past x = 17, 0 past -88) divided by zero and multiplied the inf by zero: a NaN gradient.
    G may be a transpose or other DimShuffle of such a sum, read through the same view of s
    (p = sigmoid(z).T)."""
    if node.op.scalar_op.name != "mul":
        return None
    for outer, complement in (node.inputs, node.inputs[::-1]):
        s = _one_minus(complement)
        g = _other(_pair(outer, "mul"), s) if s is not None and scalar_name(s) == "sigmoid" else None
        if g is None:
            continue
        terms = list(_signed_terms(g, lambda d: d is s))
        if not any(kind for _, _, kind in terms):
            continue
        total = None
        for sign, term, kind in terms:
            product = term * complement if kind == "over s" else term * s if kind == "over 1 - s" \
                else term * s * complement
            if total is None:
                total = product if sign > 0 else -product
            else:
                total = total + product if sign > 0 else total - product
        out = node.outputs[0]
        return _checked(E.cast(total, out.dtype) if total.dtype != out.dtype else total, out)
    return None


def _signed_terms(g, is_s, view=_unviewed):
    """(sign, term, kind) for g = the sum of sign * view(term): kind says that term is a
    quotient a / s ("over s", the term then view(a)) or a / (1 - s) ("over 1 - s"), or neither
    (None); is_s(d) tells s. Sums, differences and negations of g's shape are opened, and one
    DimShuffle of terms that divide by a view of s it undoes (grad's transpose of the gradient
    that reached p = s.T): the DimShuffle then views each term."""
    name = scalar_name(g)
    if name in ("add", "sub", "neg") and all(v.ndim == g.ndim for v in args(g)):
        for i, part in enumerate(args(g)):
            flip = -1 if name == "neg" or (name == "sub" and i == 1) else 1
            for sign, term, kind in _signed_terms(part, is_s, view):
                yield flip * sign, term, kind
        return
    if view is _unviewed and g.owner is not None and isinstance(g.owner.op, DimShuffle):
        shuffle = g.owner.op
        inner = list(_signed_terms(g.owner.inputs[0], lambda d: is_s(_undone(shuffle, d)),
                                   lambda v: _viewed(shuffle, v)))
        if any(kind for _, _, kind in inner):
            yield from inner
            return
    ratio = _pair(g, "true_div") or _summed_quotient(g)
    if ratio is not None and is_s(ratio[1]):
        yield 1, view(_numerator(ratio)), "over s"
    elif ratio is not None and is_s(_one_minus(ratio[1])):
        yield 1, view(_numerator(ratio)), "over 1 - s"
    else:
        yield 1, view(g), None


def _summed_quotient(var):
    """(a, d, shape) for var = SumToShape(a / d, shape) where d has that shape: the divisor is
    the same along the axes summed (the gradient of a loss whose targets might broadcast,
    summed back to the logits' shape), so var is SumToShape(a, shape) / d; else None."""
    if var.owner is None or not isinstance(var.owner.op, SumToShape):
        return None
    inner, target = var.owner.inputs
    ratio = _pair(inner, "true_div")
    if ratio is None or ratio[1].ndim != var.ndim \
            or not all(same(length(ratio[1], k), entry(target, k)) for k in range(var.ndim)):
        return None
    return ratio[0], ratio[1], target


def _numerator(ratio):
    """A quotient's numerator: a of (a, d), or SumToShape(a, shape) of _summed_quotient's (made
    only for a quotient a rule rewrites)."""
    return ratio[0] if len(ratio) == 2 else SumToShape()(ratio[0], ratio[2])


def _negated(var):
    """x where var is -x, else None."""
    return args(var)[0] if scalar_name(var) == "neg" else None


def _viewed(shuffle, var):
    """shuffle(var) for a var of fewer dimensions too (a broadcast numerator), as NumPy
    broadcasting reads it: its leading axes of length one first."""
    missing = shuffle.input_ndim - var.ndim
    if missing:
        var = DimShuffle(var.ndim, ("x",) * missing + tuple(range(var.ndim)))(var)
    return shuffle(var)


def _undone(shuffle, var):
    """w where var = DimShuffle(w) and `shuffle` applied to var gives w back; else None."""
    if var is None or var.owner is None or not isinstance(var.owner.op, DimShuffle):
        return None
    inner = var.owner.op.pattern
    composed = tuple("x" if p == "x" else inner[p] for p in shuffle.pattern)
    return var.owner.inputs[0] if composed == tuple(range(var.owner.op.input_ndim)) else None


@stabilize.register(Elemwise)
def stable_expm1(fgraph, node):
    if node.op.scalar_op.name == "sub" and scalar_name(node.inputs[0]) == "exp" \
            and is_constant(node.inputs[1], 1) and is_scalar_like(node.inputs[1]):
        return _checked(E.expm1(args(node.inputs[0])[0]), node.outputs[0])
    return None


@stabilize.register(Elemwise)
def naive_softmax(fgraph, node):
    """exp(x) / sum(exp(x), axis, keepdims=True) over one axis -> softmax(x, axis)."""
    if node.op.scalar_op.name != "true_div":
        return None
    num, den = node.inputs
    if scalar_name(num) != "exp" or den.owner is None or not isinstance(den.owner.op, Reduce):
        return None
    red = den.owner.op
    if red.kind != "sum" or not red.keepdims or len(red.axis) != 1 or den.owner.inputs[0] is not num:
        return None
    return _checked(Softmax(red.axis[0])(args(num)[0]), node.outputs[0])


@stabilize.register(Elemwise)
def log_softmax_of_logsumexp(fgraph, node):
    """x - logsumexp(x, axis, keepdims=True) -> log_softmax(x, axis): TensorFlow 1's
    `x - reduce_logsumexp(x, axis, keepdims=True)`, and with softmax_of_max_shifted and
    log(sum(exp)) -> logsumexp the hand-written stable form y - log(sum(exp(y))) of
    y = x - max(x): one row loop where there were four passes (100x100 float32 0.7x NumPy's
    speed)."""
    if node.op.scalar_op.name != "sub":
        return None
    x, lse = node.inputs
    if lse.owner is None or not isinstance(lse.owner.op, LogSumExp) or lse.owner.inputs[0] is not x:
        return None
    op = lse.owner.op
    if not op.keepdims or len(op.axis) != 1:
        return None
    return _checked(LogSoftmax(op.axis[0])(x), node.outputs[0])


@stabilize.register(Elemwise)
def logsumexp_of_max_shifted(fgraph, node):
    """logsumexp(x - m, axis) + m -> logsumexp(x, axis) for m = max(x, axis)
    (reduce.written_logsumexp): NumPy's stable logsumexp written out, log(sum(exp(x - m))) + m,
    is what the op computes (it shifts by the same maximum), so x - logsumexp(x) of it becomes
    log_softmax(x): one row loop where there were four or five passes. A row holding inf or
    only -inf, NaN as written, gets the op's value (inf, -inf)."""
    found = written_logsumexp(node)
    return None if found is None else _checked(found[1](found[0]), node.outputs[0])


@stabilize.register(Elemwise)
def softmax_of_exp_log_softmax(fgraph, node):
    """exp(log_softmax(x)) -> softmax(x): the exp of a log_softmax written out (NumPy's
    exp(x - logsumexp(x)))."""
    if node.op.scalar_op.name != "exp" or node.inputs[0].owner is None \
            or not isinstance(node.inputs[0].owner.op, LogSoftmax):
        return None
    x = node.inputs[0].owner.inputs[0]
    return _checked(Softmax(node.inputs[0].owner.op.axis)(x), node.outputs[0])


@stabilize.register(Softmax, LogSoftmax, CrossentropySoftmax, CrossentropySoftmaxGrad, CrossentropySoftmaxWithGrad)
def softmax_of_max_shifted(fgraph, node):
    """op(x - max(x, axis, keepdims=True)) -> op(x) for softmax, log_softmax and the
    crossentropies of a softmax (along the last axis): the op shifts by the row maximum
    itself, and the shifted values round the same, so the result is bit for bit the same
    without the extra max and subtraction (the hand-written stable softmax, and the
    crossentropy gradient sg.grad takes for it: nn.written_softmax)."""
    shifted = node.inputs[0]
    axis = node.op.axis if isinstance(node.op, (Softmax, LogSoftmax)) else shifted.ndim - 1
    x = max_shift_undone(shifted, (axis,))
    if x is None:
        return None
    if isinstance(node.op, (Softmax, LogSoftmax)):
        return _checked(type(node.op)(axis)(x), node.outputs[0])
    new = node.op.make_node(x, *node.inputs[1:]).outputs
    return new if all(can_stand_for(n, o) for n, o in zip(new, node.outputs)) else None


@stabilize.register(CategoricalCrossentropy)
def crossentropy_of_softmax(fgraph, node):
    probs, targets = node.inputs
    if probs.owner is not None and isinstance(probs.owner.op, Softmax) \
            and probs.owner.op.axis == probs.ndim - 1:
        return CrossentropySoftmax()(probs.owner.inputs[0], targets)
    return None


def _pair(var, name):
    """The two arguments of var = name(a, b), or None."""
    return tuple(args(var)) if scalar_name(var) == name else None


def _other(pair, known):
    """The argument of a commutative pair that is not `known` (None if known is absent)."""
    if pair is None:
        return None
    a, b = pair
    return b if a is known else (a if b is known else None)


def _target_rows(t, z, axis):
    """The integer targets y[..., None] where t is the one-hot rows the crossentropies'
    gradients build for them along z's last axis (nn._target_rows: cast(eq(w, arange(k))) with
    w = where(y < 0, y + k, y)); else None. Those rows sum to 1 for every target the forward
    pick accepts (it raises on the others). A user's one_hot(y, k) is not that form: a target
    out of range gives a zero row there, which the rules below must not assume away."""
    if not (scalar_name(t) or "").startswith("cast") or scalar_name(args(t)[0]) != "eq" or axis != t.ndim - 1:
        return None
    for classes, rows in (args(args(t)[0]), args(args(t)[0])[::-1]):
        if not (rows.dtype[0] in "iu" and rows.type.shape[-1:] == (1,) and _counts_from_zero(classes)
                and scalar_name(rows) == "where"):
            continue
        negative, wrapped, kept = args(rows)
        added = _other(_pair(wrapped, "add"), kept)
        if scalar_name(negative) != "lt" or args(negative)[0] is not kept or not is_constant(args(negative)[1], 0) \
                or added is None:
            continue
        if (scalar_name(added) or "").startswith("cast"):
            added = args(added)[0]
        if same(scalar(added), length(z, axis)):
            return kept
    return None


def _counts_from_zero(v):
    """v is 0, 1, 2, ... (arange(k), folded to a constant when k is static)."""
    if isinstance(v, Constant):
        return v.data.ndim == 1 and np.array_equal(v.data, np.arange(v.data.size))
    return v.owner is not None and isinstance(v.owner.op, ARange) \
        and is_constant(v.owner.inputs[0], 0) and is_constant(v.owner.inputs[2], 1)


def _through_softmax(node):
    """(z, axis, G) for node = (G - sum(G * z, axis, keepdims)) * z with z = softmax(x) along
    axis: what grad builds through a softmax, G being the gradient that reached z."""
    if node.op.scalar_op.name != "mul":
        return
    for z in node.inputs:
        if z.owner is None or not isinstance(z.owner.op, Softmax):
            continue
        axis = z.owner.op.axis
        diff = _pair(_other(tuple(node.inputs), z), "sub")
        if diff is None:
            continue
        grad_z, total = diff
        reduce = total.owner
        if reduce is None or not isinstance(reduce.op, Reduce) or reduce.op.kind != "sum" \
                or reduce.op.axis != (axis,) or not reduce.op.keepdims \
                or _other(_pair(reduce.inputs[0], "mul"), z) is not grad_z:
            continue
        yield z, axis, grad_z


@stabilize.register(Elemwise)
def crossentropy_gradient_through_softmax(fgraph, node):
    """The gradient through z = softmax(x) of G = -t / z * g (g constant along the softmax
    axis), which is what grad builds for crossentropy(softmax(x), t), becomes
    g * (z * sum(t) - t), and g * (z - t) when t is the one-hot of integer targets: along the
    last axis as one CrossentropySoftmaxGrad node (_crossentropy_softmax_grad)."""
    for z, axis, grad_z in _through_softmax(node):
        for quotient in _pair(grad_z, "mul") or ():
            g = _other(_pair(grad_z, "mul"), quotient)
            ratio = _pair(quotient, "true_div")
            if ratio is None or ratio[1] is not z or scalar_name(ratio[0]) != "neg" or g is None:
                continue
            if g.ndim != z.ndim or g.type.shape[axis] != 1:
                continue  # g must be the same along the softmax axis
            t = args(ratio[0])[0]
            fused = _crossentropy_softmax_grad(z, t, g)
            if fused is not None:
                return _checked(fused, node.outputs[0])
            result = g * (z - t) if _target_rows(t, z, axis) is not None \
                else g * (z * t.sum(axis=axis, keepdims=True) - t)
            return _checked(E.cast(result, z.dtype) if result.dtype != z.dtype else result, node.outputs[0])
    return None


def _crossentropy_softmax_grad(z, hot, g):
    """CrossentropySoftmaxGrad(x, y, g) for g * (softmax(x) - one_hot) along the last axis,
    where one_hot holds integer targets y as the crossentropies' gradients build it
    (_target_rows): one pass over each row instead of a softmax and a broadcast loop. A target
    out of range then raises IndexError, as the forward pick does. Dense target rows t of z's
    dtype (a user's one-hot, probabilities) give CrossentropySoftmaxGrad(x, t, g) for
    g * (softmax(x) * sum(t) - t), the same formula in one pass (a zero row stays zero)."""
    axis = z.owner.op.axis
    if axis != z.ndim - 1 or g.dtype != z.dtype:
        return None
    kept = _target_rows(hot, z, axis)
    if kept is None and (hot.dtype != z.dtype or hot.ndim != z.ndim):
        return None
    targets, g_rows = hot if kept is None else _without_last_axis(kept), _without_last_axis(g)
    try:
        return CrossentropySoftmaxGrad()(z.owner.inputs[0], targets, g_rows)
    except (TypeError, ValueError):
        return None


def _without_last_axis(v):
    """v with its last axis (of length 1) dropped: the variable v was expanded from, where v is
    that (the targets the forward crossentropy reads: specialize pairs it with its gradient by
    reading the same variable), else a DimShuffle."""
    node = v.owner
    if node is not None and isinstance(node.op, DimShuffle) and node.op.pattern == tuple(range(v.ndim - 1)) + ("x",):
        return node.inputs[0]
    return DimShuffle(v.ndim, tuple(range(v.ndim - 1)))(v)


def _one_per_row(rows, cols):
    """Whether x[rows, cols] picks one value from each of the first len(cols) rows in order:
    rows is arange(len(cols)) (Theano's x[arange(y.shape[0]), y]) and cols integer targets."""
    if rows.ndim != 1 or cols.ndim != 1 or cols.dtype[0] not in "iu" or rows.owner is None \
            or not isinstance(rows.owner.op, ARange):
        return False
    start, _, step = rows.owner.inputs
    return is_constant(start, 0) and is_constant(step, 1) and same(length(rows, 0), length(cols, 0))


@stabilize.register(Subtensor)
def crossentropy_of_picked_log_softmax(fgraph, node):
    """log_softmax(x)[arange(len(y)), y] -> -CrossentropySoftmax(x, y): Theano's negative log
    likelihood (`-log(p)[arange(y.shape[0]), y]`) as one row loop. As in Theano, y must then
    hold one target per row of x, or a ValueError says so (written out, a shorter y picks from
    the first rows only, and a longer one raises IndexError)."""
    if node.op.spec != ("array", "array"):
        return None
    lsm, rows, cols = node.inputs
    if lsm.owner is None or not isinstance(lsm.owner.op, LogSoftmax) or lsm.ndim != 2 or lsm.owner.op.axis != 1 \
            or not _one_per_row(rows, cols):
        return None
    return _checked(E.neg(CrossentropySoftmax()(lsm.owner.inputs[0], cols)), node.outputs[0])


@stabilize.register(Reduce)
def crossentropy_of_summed_log_softmax(fgraph, node):
    """sum(t * log_softmax(x), last axis) -> -CrossentropySoftmax(x, t) for dense targets t of
    x's dtype: TensorFlow 1's tutorial crossentropy `-reduce_sum(y * log(softmax(h)), 1)` as the
    fused row op (its gradient: softmax_gradient_of_quotient; the two are then one node). The
    targets must broadcast to the logits' shape (broadcast_to raises a ValueError otherwise;
    written out, one row of logits could be broadcast against several rows of targets); logits
    whose static shape says they are so broadcast keep the form as written."""
    op, product = node.op, node.inputs[0]
    if op.kind != "sum" or op.keepdims or not product.ndim or op.axis != (product.ndim - 1,) \
            or scalar_name(product) != "mul":
        return None
    for lsm, t in (args(product), args(product)[::-1]):
        if lsm.owner is None or not isinstance(lsm.owner.op, LogSoftmax) or lsm.owner.op.axis != lsm.ndim - 1:
            continue
        x = lsm.owner.inputs[0]
        targets = _as_rows_of(t, x) if t.ndim == x.ndim and t.dtype == x.dtype == node.outputs[0].dtype else None
        if targets is not None:
            return _checked(E.neg(CrossentropySoftmax()(x, targets)), node.outputs[0])
    return None


def _as_rows_of(t, x):
    """t as target rows of x: itself where the graph shows their lengths equal, else broadcast
    to x's shape (the same expression for the loss and its gradient, which specialize pairs);
    None where x is known to be broadcast against t (a length 1 where t's may be longer)."""
    if all(same_length(t, k, x, k) for k in range(x.ndim)):
        return t
    if any(n == 1 and m != 1 for n, m in zip(x.type.shape, t.type.shape)):
        return None
    return broadcast_to(t, shape(x))


def _target_rows_times_g(a, z):
    """(targets, g) where a = t * g[..., None] (summed back to z's shape, as grad writes a
    broadcast product): t dense rows of z's dtype, g one value per row. What reaches
    log(softmax(x)) from sum(t * log(softmax(x)), last axis) with g the gradient of each sum."""
    if a.owner is not None and isinstance(a.owner.op, SumToShape):
        a = a.owner.inputs[0]
    if scalar_name(a) != "mul" or len(args(a)) != 2:
        return None
    x = z.owner.inputs[0]
    for t, spread in (args(a), args(a)[::-1]):
        g = _per_row(spread)
        targets = _as_rows_of(t, x) if g is not None and t.ndim == z.ndim and t.dtype == g.dtype == z.dtype else None
        if targets is not None:
            return targets, g
    return None


def _per_row(v):
    """g where v is g[..., None], broadcast along its last axis or not (or a constant the same
    along it: a mean's gradient folded where the batch size is static); else None."""
    if isinstance(v, Constant):
        data = v.data
        if data.ndim and data.shape[-1] and (data == data[..., :1]).all():
            return Constant(np.ascontiguousarray(data[..., 0]))
        return None
    while v.owner is not None and isinstance(v.owner.op, BroadcastTo) and v.owner.inputs[0].ndim == v.ndim \
            and v.owner.inputs[0].type.shape[-1:] == (1,):
        v = v.owner.inputs[0]
    return _without_last_axis(v) if v.ndim and v.type.shape[-1] == 1 else None


def _picked_gradient(a, z):
    """(targets, value) where a = inc_subtensor(zeros_like(z)[arange(len(y)), y], value): the
    gradient that reaches log_softmax(x) from the pick above (value: what reached the pick)."""
    node = a.owner
    if node is None or not isinstance(node.op, IncSubtensor) or node.op.spec != ("array", "array") \
            or node.op.set_instead_of_inc:
        return None
    zeros, value, rows, cols = node.inputs
    if zeros.owner is None or not isinstance(zeros.owner.op, Alloc) or not is_constant(zeros.owner.inputs[0], 0) \
            or zeros.ndim != 2 or not (same_length(zeros, 0, z, 0) and same_length(zeros, 1, z, 1)) \
            or not _one_per_row(rows, cols) or value.ndim > 1:
        return None
    return cols, value


@stabilize.register(Elemwise)
def softmax_gradient_of_quotient(fgraph, node):
    """The gradient through z = softmax(x) of G = a / z, which is what grad builds for
    log(softmax(x)) written out (Theano's `-log(p)[arange(n), y]`), becomes a - z * sum(a):
    the gradient log_softmax has, without the division by z (0 where it underflows, giving
    NaN) and two passes fewer. `a` must not be broadcast along the softmax axis (it is
    summed there), which the graph must show (lengths.py)."""
    for z, axis, grad_z in _through_softmax(node):
        ratio = _pair(grad_z, "true_div")
        if ratio is None or ratio[1] is not z:
            continue
        a = ratio[0]
        along = axis - z.ndim + a.ndim
        if a.ndim > z.ndim or along < 0 or a.dtype != z.dtype or not same_length(a, along, z, axis):
            continue
        picked = _picked_gradient(a, z) if z.ndim == 2 and axis == 1 else None
        if picked is not None:  # one value per row: a's row sums are those values
            targets, value = picked
            g = broadcast_to(E.neg(E.cast(value, z.dtype)), shape(targets))
            return _checked(CrossentropySoftmaxGrad()(z.owner.inputs[0], targets, g), node.outputs[0])
        rows = _target_rows_times_g(a, z) if axis == z.ndim - 1 else None
        if rows is not None:  # a = t * g[..., None]: a - z * sum(a) = (z * sum(t) - t) * -g
            targets, g = rows
            return _checked(CrossentropySoftmaxGrad()(z.owner.inputs[0], targets, E.neg(g)), node.outputs[0])
        return _checked(a - z * a.sum(axis=along, keepdims=True), node.outputs[0])
    return None
