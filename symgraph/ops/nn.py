"""Neural-network ops that are not elementwise rows: softmax, log_softmax and the
crossentropies (the elementwise activations live in the scalar-op table)."""
import numpy as np

from .base import Op, Apply, TensorType, Variable, as_variable, normalize_axis
from . import elemwise as E
from .shape import expand_dims
from .reduce import Reduce, max_shift_undone


def _softmax_np(x, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax_np(x, axis):
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


class _AlongAxis(Op):
    """softmax and log_softmax: a float array in, one of the same type out, along one axis."""

    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    def make_node(self, x):
        x = as_variable(x)
        _require_float(x, type(self).__name__)
        return Apply(self, [x], [Variable(x.type)])

    def infer_shape(self, node, shapes):
        return [shapes[0]]


class Softmax(_AlongAxis):
    def perform(self, node, inputs):
        return [_softmax_np(inputs[0], self.axis)]

    def grad(self, inputs, outputs, output_grads):
        z, g = outputs[0], output_grads[0]
        return [(g - (g * z).sum(axis=self.axis, keepdims=True)) * z]


class LogSoftmax(_AlongAxis):
    def perform(self, node, inputs):
        return [_log_softmax_np(inputs[0], self.axis)]

    def grad(self, inputs, outputs, output_grads):
        z, g = outputs[0], output_grads[0]
        return [g - E.exp(z) * g.sum(axis=self.axis, keepdims=True)]


def _require_float(x, what):
    if x.dtype[0] != "f" or x.ndim == 0:
        raise TypeError(f"{what} needs a float array of at least one dimension, got {x.describe()}")


def _check_targets(values, targets, what):
    if targets.dtype[0] in "iu":
        if targets.ndim != values.ndim - 1:
            raise ValueError(f"{what}: integer targets need {values.ndim - 1} dimensions "
                             f"(one class index per row), got {targets.describe()}")
        lengths = zip(targets.type.shape, values.type.shape)
        if any(a is not None and b is not None and a != b for a, b in lengths):
            raise ValueError(f"{what}: integer targets {targets.describe()} need one class index per row "
                             f"of the predictions {values.describe()}")
        return "index"
    if targets.ndim != values.ndim:
        raise ValueError(f"{what}: one-hot/probability targets need the shape of the predictions "
                         f"{values.describe()}, got {targets.describe()}")
    E.broadcast_static([values, targets], what)
    return "dense"


def _target_rows(targets, values):
    """One-hot rows of integer targets for values' last axis, a negative target counting from
    the end as the forward pick does (one_hot itself gives a zero row for it)."""
    n = values.shape[-1]
    rows = expand_dims(targets, -1)  # wrapped after the expansion: one fused loop with the rest
    return _hot(E.where(E.lt(rows, 0), rows + E.cast(n, targets.dtype), rows), n, values.dtype)


def _hot(rows, depth, dtype):
    """rows (indices with a last axis of 1) == arange(depth), as `dtype`: one_hot's body."""
    from .shape import arange
    return E.cast(E.eq(rows, arange(depth)), dtype)


def _pick(values, targets):
    """values[..., targets] along the last axis, for integer targets."""
    check_target_rows(values.shape, targets.shape)
    rows = np.indices(targets.shape, sparse=True)
    return values[tuple(rows) + (targets,)]


def check_target_rows(values_shape, targets_shape):
    """Integer targets must be one class index per row of the predictions: a ValueError
    naming both shapes otherwise (NumPy's pick would take the first rows, or fail on an index)."""
    if tuple(targets_shape) != tuple(values_shape[:-1]):
        raise ValueError(f"integer targets of shape {tuple(targets_shape)} for predictions of shape "
                         f"{tuple(values_shape)}: there must be one class index per row")


class CategoricalCrossentropy(Op):
    """-log p[target] (integer targets) or -sum(t * log p) over the last axis, from probabilities."""

    def make_node(self, probs, targets):
        probs, targets = as_variable(probs), as_variable(targets)
        _require_float(probs, "categorical_crossentropy")
        _check_targets(probs, targets, "categorical_crossentropy")
        return Apply(self, [probs, targets], [Variable(TensorType(probs.dtype, probs.type.shape[:-1]))])

    def infer_shape(self, node, shapes):
        return [shapes[0][:-1]]

    def perform(self, node, inputs):
        p, t = inputs
        if t.dtype.kind in "iu":
            out = -np.log(_pick(p, t))
        else:
            with np.errstate(divide="ignore", invalid="ignore"):  # (0 log 0 is 0: a class no target has)
                out = -np.sum(np.where(t == 0, 0, t * np.log(p)), axis=-1)
        return [np.asarray(out, dtype=p.dtype)]

    def grad(self, inputs, outputs, output_grads):
        """-t / p: 0 for a class whose target is 0, also where p is 0 there (not 0 / 0). A
        softmax's output keeps the plain quotient, which the stabilizer turns into softmax - t."""
        p, t = inputs
        g = expand_dims(output_grads[0], -1)
        dense = _target_rows(t, p) if t.dtype[0] in "iu" else t
        gt = None if t.dtype[0] in "iu" else -E.log(p) * g
        return [-dense / (p if _of_softmax(p) else E.where(E.eq(dense, 0), 1, p)) * g, gt]


def _of_softmax(p):
    """Whether p is a softmax's output along its last axis (the stabilizer fuses its crossentropy
    and that crossentropy's gradient into the exact, logits' forms)."""
    return p.owner is not None and isinstance(p.owner.op, Softmax) and p.owner.op.axis == p.ndim - 1


class CrossentropySoftmax(Op):
    """Crossentropy of softmax(logits) in one stable op; its gradient is softmax - targets."""

    def make_node(self, logits, targets):
        logits, targets = as_variable(logits), as_variable(targets)
        _require_float(logits, "softmax crossentropy")
        _check_targets(logits, targets, "softmax crossentropy")
        return Apply(self, [logits, targets], [Variable(TensorType(logits.dtype, logits.type.shape[:-1]))])

    def infer_shape(self, node, shapes):
        return [shapes[0][:-1]]

    def perform(self, node, inputs):
        x, t = inputs
        lsm = _log_softmax_np(x, -1)
        out = -_pick(lsm, t) if t.dtype.kind in "iu" else -np.sum(t * lsm, axis=-1)
        return [np.asarray(out, dtype=x.dtype)]

    def grad(self, inputs, outputs, output_grads):
        x, t = inputs
        if t.dtype[0] in "iu":
            return [CrossentropySoftmaxGrad()(x, t, output_grads[0]), None]
        g = expand_dims(output_grads[0], -1)
        sm = Softmax(x.ndim - 1)(x)
        return [(sm * t.sum(axis=-1, keepdims=True) - t) * g, -LogSoftmax(x.ndim - 1)(x) * g]


def _gradient_inputs(logits, targets, g):
    """The inputs of the crossentropy's gradient ops, checked: float logits, integer targets
    (one a row) or target rows of the logits' dtype, and g one value a row of that dtype."""
    logits, targets, g = as_variable(logits), as_variable(targets), as_variable(g)
    _require_float(logits, "softmax crossentropy gradient")
    if _check_targets(logits, targets, "softmax crossentropy gradient") != "index" and targets.dtype != logits.dtype:
        raise TypeError(f"softmax crossentropy gradient: integer targets or {logits.dtype} target rows, "
                        f"got {targets.describe()}")
    if g.ndim != logits.ndim - 1 or g.dtype != logits.dtype:
        raise TypeError(f"softmax crossentropy gradient: g must be {logits.dtype} with "
                        f"{logits.ndim - 1} dimensions, got {g.describe()}")
    return logits, targets, g


class CrossentropySoftmaxGrad(Op):
    """(softmax(logits) - one_hot(targets)) * g[..., None] for integer targets, and
    (softmax(logits) * sum(targets) - targets) * g[..., None] for dense target rows (one-hot or
    probabilities, of the logits' dtype): the gradient of CrossentropySoftmax, in one pass over
    each row (a Keras classifier's step ran a softmax, then a broadcast loop over its one-hot
    rows and g: two nodes, two passes; with dense targets also a sum of each target row)."""

    def make_node(self, logits, targets, g):
        logits, targets, g = _gradient_inputs(logits, targets, g)
        return Apply(self, [logits, targets, g], [Variable(logits.type)])

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def perform(self, node, inputs):
        x, t, g = inputs
        if t.dtype.kind not in "iu":
            with np.errstate(all="ignore"):  # as the rewritten graph: g * (z * sum(t) - t)
                out = _softmax_np(x, -1) * np.sum(t, axis=-1, keepdims=True) - t
                return [np.asarray(out * np.asarray(g, dtype=x.dtype)[..., None], dtype=x.dtype)]
        check_target_rows(x.shape, t.shape)
        n = x.shape[-1]
        wrapped = np.where(t < 0, t + n, t)
        if wrapped.size and (wrapped.min() < 0 or wrapped.max() >= n):
            bad = t.reshape(-1)[(wrapped.reshape(-1) < 0) | (wrapped.reshape(-1) >= n)][0]
            raise IndexError(f"index {bad} is out of bounds for axis {x.ndim - 1} with size {n}")
        with np.errstate(all="ignore"):
            out = np.asarray(_softmax_np(x, -1), dtype=x.dtype)
            # softmax - one_hot: 1 taken off at each row's target (sm - 0 is sm, exactly), and
            # g multiplied in broadcast (no one-hot array, no np.broadcast_to: 53 -> 49 us for
            # 32x10, the softmax itself 25)
            out.reshape(-1, n)[np.arange(wrapped.size), wrapped.reshape(-1)] -= 1
            out *= np.asarray(g, dtype=x.dtype)[..., None]
        return [out]

    def grad(self, inputs, outputs, output_grads):
        x, t, g = inputs
        sm = Softmax(x.ndim - 1)(x)
        gr, up = expand_dims(g, -1), output_grads[0]
        if t.dtype[0] in "iu":
            u = up * gr  # d/dsm of (sm - hot) * g, seen through the softmax
            gx = (u - (u * sm).sum(axis=-1, keepdims=True)) * sm
            return [gx, None, ((sm - _target_rows(t, x)) * up).sum(axis=-1)]
        total = t.sum(axis=-1, keepdims=True)  # d/dsm of (sm * total - t) * g: up * g * total
        u = up * gr * total
        gx = (u - (u * sm).sum(axis=-1, keepdims=True)) * sm
        gt = ((up * sm).sum(axis=-1, keepdims=True) - up) * gr
        return [gx, gt, ((sm * total - t) * up).sum(axis=-1)]


class CrossentropySoftmaxWithGrad(Op):
    """(CrossentropySoftmax(x, t), CrossentropySoftmaxGrad(x, t, g)), in one pass over each row:
    a classifier's training step computes both from the same logits (the loss, and its gradient
    scaled by the mean's g), as TensorFlow's SparseSoftmaxCrossEntropyWithLogits returns the
    loss and its backprop together. Made by a rewrite (specialize.crossentropy_beside_its_gradient)
    where g does not depend on the loss."""

    def make_node(self, logits, targets, g):
        logits, targets, g = _gradient_inputs(logits, targets, g)
        loss = Variable(TensorType(logits.dtype, logits.type.shape[:-1]))
        return Apply(self, [logits, targets, g], [loss, Variable(logits.type)])

    def infer_shape(self, node, shapes):
        return [shapes[0][:-1], shapes[0]]

    def perform(self, node, inputs):
        x, t, g = inputs
        return CrossentropySoftmax().perform(node, [x, t]) + CrossentropySoftmaxGrad().perform(node, [x, t, g])

    def grad(self, inputs, outputs, output_grads):
        x, t, g = inputs
        g_loss, g_grad = output_grads
        through_loss = CrossentropySoftmax().grad([x, t], outputs[:1], [g_loss]) + [None]
        through_grad = CrossentropySoftmaxGrad().grad(inputs, outputs[1:], [g_grad])
        return [a if b is None else b if a is None else a + b for a, b in zip(through_loss, through_grad)]


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along `axis`, computed stably."""
    x = as_variable(x)
    return Softmax(normalize_axis(axis, x.ndim)[0])(x)


def log_softmax(x, axis=-1):
    x = as_variable(x)
    return LogSoftmax(normalize_axis(axis, x.ndim)[0])(x)


def written_softmax(node):
    """(x, the Softmax op) where node is the stable softmax written out, e / e.sum(axis,
    keepdims=True) with e = exp(x - max(x, axis, keepdims=True)) along one axis, else None.
    The rewriter makes it the op (stabilize.naive_softmax, softmax_of_max_shifted), and sg.grad
    takes the op's gradient for it (as written, its terms through the max cancel)."""
    if not (isinstance(node.op, E.Elemwise) and node.op.scalar_op.name == "true_div"):
        return None
    e, total = node.inputs
    fold = total.owner
    if fold is None or not isinstance(fold.op, Reduce) or fold.op.kind != "sum" or not fold.op.keepdims \
            or len(fold.op.axis) != 1 or fold.inputs[0] is not e:
        return None
    exp = e.owner
    if exp is None or not isinstance(exp.op, E.Elemwise) or exp.op.scalar_op.name != "exp":
        return None
    x = max_shift_undone(exp.inputs[0], fold.op.axis)
    return None if x is None else (x, Softmax(fold.op.axis[0]))


def categorical_crossentropy(predictions, targets, from_logits=False, epsilon=None):
    """Per-example crossentropy over the last axis. `predictions` are probabilities (a softmax
    output is fused with the loss by the rewriter) or, with from_logits=True, logits.
    `targets` are class indices (int) or one-hot/probability rows. epsilon (Keras's losses):
    probabilities not from a softmax are scaled to sum to 1 and clipped to [epsilon,
    1 - epsilon] first, Keras's formula (a confidently wrong prediction's loss is finite)."""
    if from_logits:
        return CrossentropySoftmax()(predictions, targets)
    predictions = as_variable(predictions)
    if epsilon is not None and not _of_softmax(predictions):
        from . import reduce as R
        predictions = E.clip(predictions / R.sum(predictions, -1, keepdims=True), epsilon, 1 - epsilon)
    return CategoricalCrossentropy()(predictions, targets)


def binary_crossentropy(output, target, from_logits=False, epsilon=None):
    """-(t log o + (1 - t) log(1 - o)) elementwise; with from_logits, stable in the logit. A
    sigmoid's output (seen through a DimShuffle) is taken by its logit too, as TensorFlow's
    Keras does: the sigmoid of a logit past 17 is 1.0 in float32, whose log(1 - o) is -inf and
    its gradient NaN, which ruined a confident model's weights in one step. epsilon (Keras's
    losses) clips other outputs to [epsilon, 1 - epsilon] and adds it inside the logs, Keras's
    formula."""
    output, target = as_variable(output), as_variable(target)
    if not from_logits:
        logits = _sigmoid_logit(output)
        if logits is not None:
            output, from_logits = logits, True
    if from_logits:
        return E.softplus(output) - target * output
    if epsilon is None:  # (an output of exactly 0 or 1 where the target is the same costs 0)
        return -(_xlogy(target, output) + _xlogy(1 - target, 1 - output))
    output = E.clip(output, epsilon, 1 - epsilon)
    return -(target * E.log(output + epsilon) + (1 - target) * E.log(1 - output + epsilon))


def _xlogy(t, p):
    """t * log(p), 0 where t is 0 (0 log 0 is 0, as scipy's xlogy; its gradient there 0 too)."""
    return E.where(E.eq(t, 0), 0, t * E.log(p))


def _sigmoid_logit(output):
    """The logit whose sigmoid output is (possibly dimshuffled), or None."""
    from .shape import DimShuffle
    owner = output.owner
    if owner is not None and isinstance(owner.op, DimShuffle):
        inner = _sigmoid_logit(owner.inputs[0])
        return None if inner is None else owner.op(inner)
    if owner is not None and isinstance(owner.op, E.Elemwise) and owner.op.scalar_op.name == "sigmoid":
        return owner.inputs[0]
    return None


def one_hot(indices, depth, dtype=None):
    """Rows of zeros with a one at each index: one_hot([2, 0], 3) -> [[0,0,1],[1,0,0]]."""
    from ..config import dtype_or_floatx
    indices = as_variable(indices)
    if indices.dtype[0] not in "iu":
        raise TypeError(f"one_hot needs integer indices, got {indices.describe()}")
    return _hot(expand_dims(indices, -1), depth, dtype_or_floatx(dtype))


def elu(x, alpha=1.0):
    """x where x > 0, else alpha * (exp(x) - 1)."""
    if alpha == 1.0:
        return E.elu(x)
    x = as_variable(x)
    return E.where(E.gt(x, 0), x, alpha * E.expm1(E.minimum(x, 0)))


def _channel_param(p, x, axis):
    """A per-channel vector shaped to broadcast against x along `axis`."""
    from .shape import dimshuffle
    p = as_variable(p)
    if p.ndim == 1 and x.ndim > 1:
        return dimshuffle(p, ["x" if d != axis else 0 for d in range(x.ndim)])
    return p


def batch_norm(x, gamma, beta, mean, var, eps=1e-5, axis=1):
    """(x - mean) / sqrt(var + eps) * gamma + beta; 1-d parameters apply along `axis`
    (the channels of NCHW images, the features of a matrix)."""
    x = as_variable(x)
    gamma, beta, mean, var = (_channel_param(p, x, axis) for p in (gamma, beta, mean, var))
    return (x - mean) * (gamma / E.sqrt(var + eps)) + beta


_default_stream = None


def dropout(x, p, rng=None):
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted dropout,
    so inference needs no change). rng: a sg.random.RandomStream (a shared default if None)."""
    global _default_stream
    from .random import RandomStream
    from .shape import shape
    x = as_variable(x)
    if not 0 <= p < 1:
        raise ValueError(f"dropout probability must be in [0, 1), got {p}")
    if p == 0:
        return x
    if rng is None:
        _default_stream = _default_stream or RandomStream(1234)
        rng = _default_stream
    keep = rng.binomial(shape(x), n=1, p=1.0 - p, dtype=x.dtype)
    return x * keep * np.asarray(1.0 / (1.0 - p), dtype=x.dtype)
