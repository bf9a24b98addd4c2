"""sort and argsort along an axis (NumPy's and Theano's, with their `kind`), NumPy's sorts as
the kernels. The default is NumPy's and Theano's, quicksort: on CPUs with AVX-512 NumPy's SIMD
sort (1000 rows of 100 float32 in 148 us where its stable sort took 2644; argsort of 10^5
float32 1.3 ms against 8.4), whose order of equal entries may differ between CPUs;
kind="stable" (or "mergesort") keeps ties in their order everywhere. Sorted values are the
same for every kind, but for the order of -0.0 and 0.0. sort's gradient sends each output's
gradient back to the element that landed there, by the order NumPy's default argsort gives (5x
its stable sort's speed; tied values may trade gradients), and that gradient's own gradient
gathers in the same order again (second derivatives)."""
import numpy as np

from .base import Op, Apply, TensorType, Variable, as_variable, normalize_axis


def _axis(x, axis, what):
    if x.ndim == 0:
        raise ValueError(f"{what} needs an array of at least one dimension, got {x.describe()}")
    return normalize_axis(axis, x.ndim, f"{what} axis")[0]


# NumPy's names of its sorts, as the ops hold them ("mergesort" is NumPy's stable sort too)
_KINDS = {None: "quicksort", "quicksort": "quicksort", "stable": "stable", "mergesort": "stable",
          "heapsort": "heapsort"}


def _kind(kind, what):
    try:
        return _KINDS[kind]
    except (KeyError, TypeError):
        raise ValueError(f"{what}: kind must be one of 'quicksort', 'stable', 'mergesort' or 'heapsort' "
                         f"(NumPy's sorts), got {kind!r}") from None


class Sort(Op):
    __props__ = ("axis", "kind")

    def __init__(self, axis, kind="quicksort"):
        self.axis, self.kind = axis, kind

    def make_node(self, x):
        return Apply(self, [x], [Variable(x.type)])

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def perform(self, node, inputs):
        return [np.sort(inputs[0], axis=self.axis, kind=self.kind)]

    def grad(self, inputs, outputs, output_grads):
        if inputs[0].dtype[0] not in "fc":
            return [None]
        # (NumPy's default argsort, SIMD on AVX-512, 5x the stable one's speed: tied values may
        # take each other's gradients, any of which is one; one node, which merge shares with
        # the second derivatives' gathers and scatters)
        order = ArgSort(self.axis)(inputs[0])
        return [SortGrad(self.axis)(order, output_grads[0])]


class _InOrder(Op):
    """An op of (order, v) along axis: v's entries moved by `order`, the indices that sort some x
    (ArgSort's), into an array of order's shape and v's dtype."""
    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    def make_node(self, order, v):
        return Apply(self, [order, v], [Variable(TensorType(v.dtype, order.type.shape))])

    def infer_shape(self, node, shapes):
        return [shapes[0]]


class SortGrad(_InOrder):
    """The gradient of sort(x) given the order that sorts x: g's entries put back where they came
    from (the inverse permutation). Linear in g: its gradient is SortedLike's gather, so second
    derivatives through sort work, as in Theano, PyTorch and JAX; the order has none."""

    def perform(self, node, inputs):
        order, g = inputs
        out = np.empty(order.shape, node.outputs[0].dtype)
        np.put_along_axis(out, order, g, axis=self.axis)
        return [out]

    def grad(self, inputs, outputs, output_grads):
        return [None, SortedLike(self.axis)(inputs[0], output_grads[0])]


class SortedLike(_InOrder):
    """v's entries along axis in `order` (NumPy's take_along_axis): the gather SortGrad scatters
    back, each the other's gradient."""

    def perform(self, node, inputs):
        order, v = inputs
        return [np.take_along_axis(v, order, axis=self.axis)]

    def grad(self, inputs, outputs, output_grads):
        return [None, SortGrad(self.axis)(inputs[0], output_grads[0])]


class ArgSort(Op):
    """The indices that sort x along axis by NumPy's sort of that kind (see _KINDS)."""
    __props__ = ("axis", "kind")

    def __init__(self, axis, kind="quicksort"):
        self.axis, self.kind = axis, kind

    def make_node(self, x):
        return Apply(self, [x], [Variable(TensorType("int64", x.type.shape))])

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def perform(self, node, inputs):
        return [np.argsort(inputs[0], axis=self.axis, kind=self.kind).astype(np.int64, copy=False)]

    def grad(self, inputs, outputs, output_grads):
        return [None]


def sort(x, axis=-1, kind=None):
    """x sorted along axis (the last by default; None sorts the flattened array), by NumPy's
    sort of `kind` (np.sort's and Theano's argument; the values are the same for every kind)."""
    x = as_variable(x)
    kind = _kind(kind, "sort")
    if axis is None:
        x, axis = x.flatten(), 0
    return Sort(_axis(x, axis, "sort"), kind)(x)


def argsort(x, axis=-1, kind=None):
    """The indices that sort x along axis, int64, as np.argsort(x, axis, kind) gives them:
    quicksort by default (NumPy's and Theano's: equal entries in an order that may differ
    between CPUs), kind="stable" to keep them in their order."""
    x = as_variable(x)
    kind = _kind(kind, "argsort")
    if axis is None:
        x, axis = x.flatten(), 0
    return ArgSort(_axis(x, axis, "argsort"), kind)(x)


def _top(sorted_x, kth, axis):
    """The kth largest entries of an ascending array along axis, largest first (kth > 0), or
    the -kth smallest, smallest first (kth < 0); a symbolic kth counts as positive."""
    from .index import getitem
    if isinstance(kth, (int, np.integer)):
        if kth == 0:
            raise ValueError("topk: kth must not be 0 (positive: the largest, negative: the smallest)")
        window = slice(-int(kth), None) if kth > 0 else slice(None, -int(kth))
        order = slice(None, None, -1) if kth > 0 else slice(None)
    else:
        window, order = slice(-as_variable(kth), None), slice(None, None, -1)
    lead = (slice(None),) * axis
    return getitem(getitem(sorted_x, lead + (window,)), lead + (order,))


def topk(x, kth, axis=-1, sorted=True, idx_dtype="int64"):
    """Theano's topk: the kth largest values of x along axis, largest first (kth > 0), or the
    -kth smallest, smallest first (kth < 0); differentiable (each value's gradient goes back to
    where it was in x)."""
    x = as_variable(x)
    axis = _axis(x, axis, "topk")
    return _top(sort(x, axis), kth, axis)


class ArgTopK(Op):
    """argtopk(x, k): the indices of the k largest entries along axis, largest first (largest),
    or of the k smallest, smallest first; equal entries lower index first, those equal to the
    k-th one too (TensorFlow's top_k's order; NaN the largest, as NumPy's sorts put it). NumPy's
    argpartition picks them in O(n), where a whole argsort was O(n log n) (the 5 largest of 1000
    rows of 100 float32: 3.05 ms by a stable argsort); a stable argsort orders the k picked.
    From k = the axis' length on, every index. k is an input: a constant or symbolic count."""
    __props__ = ("axis", "largest")

    def __init__(self, axis, largest):
        self.axis, self.largest = axis, bool(largest)

    def make_node(self, x, k):
        k = as_variable(k)
        shape = list(x.type.shape)
        count = getattr(k, "data", None)
        shape[self.axis] = min(shape[self.axis], int(count)) if shape[self.axis] is not None and count is not None \
            else None
        return Apply(self, [x, k], [Variable(TensorType("int64", tuple(shape)))])

    def infer_shape(self, node, shapes):
        from .elemwise import minimum
        shape = list(shapes[0])
        shape[self.axis] = minimum(shape[self.axis], node.inputs[1])
        return [tuple(shape)]

    def perform(self, node, inputs):
        x, k = np.moveaxis(inputs[0], self.axis, -1), int(inputs[1])
        if k < 1:
            raise ValueError(f"argtopk: kth must be at least 1 (the number of entries to pick), got {k}")
        n, largest = x.shape[-1], self.largest
        window = np.broadcast_to(np.arange(n), x.shape) if k >= n else _picked(x, k, largest)
        if largest:  # (indices descending: a stable ascending sort, reversed, puts ties lower first)
            window = window[..., ::-1]
        picked = np.take_along_axis(window, np.argsort(np.take_along_axis(x, window, -1), axis=-1, kind="stable"), -1)
        picked = picked[..., ::-1] if largest else picked
        return [np.ascontiguousarray(np.moveaxis(picked, -1, self.axis)).astype(np.int64, copy=False)]

    def grad(self, inputs, outputs, output_grads):
        return [None, None]


def _picked(x, k, largest):
    """The indices along the last axis (ascending) of x's k largest (smallest) entries: those
    beyond the k-th value, then the lowest-indexed of those equal to it. NumPy's argpartition's
    k, unless it left out an entry equal to the k-th value: then the exact choice (its cumsum
    and nonzero passes, 1.75 ms where argpartition's check takes ~1 for 1000 rows of 100)."""
    n = x.shape[-1]
    at_kth = n - k if largest else k - 1
    order = np.argpartition(x, at_kth, axis=-1)
    window = order[..., n - k:] if largest else order[..., :k]
    kth = np.take_along_axis(x, order[..., at_kth, None], -1)
    at = x == kth  # (entries equal to the k-th value; NaN equal to NaN)
    if x.dtype.kind in "fc" and np.isnan(kth).any():
        at |= np.isnan(x) & np.isnan(kth)
    if np.count_nonzero(at) == np.count_nonzero(np.take_along_axis(at, window, -1)):  # (every tie within)
        return np.sort(window, axis=-1)
    if x.dtype.kind in "fc":
        nan_x, nan_kth = np.isnan(x), np.isnan(kth)
        beyond = ((x > kth) | (nan_x & ~nan_kth)) if largest else ((x < kth) | (~nan_x & nan_kth))
    else:
        beyond = (x > kth) if largest else (x < kth)
    chosen = beyond | (at & (np.cumsum(at, axis=-1) <= k - beyond.sum(axis=-1, keepdims=True)))
    return np.nonzero(chosen)[-1].reshape(x.shape[:-1] + (k,))


def argtopk(x, kth, axis=-1, sorted=True, idx_dtype="int64"):
    """The indices along axis of topk(x, kth, axis), in its order, equal entries lower index
    first (ArgTopK; a symbolic kth counts as positive, as topk's)."""
    from .elemwise import cast
    x = as_variable(x)
    axis = _axis(x, axis, "argtopk")
    if isinstance(kth, (int, np.integer)) and kth == 0:
        raise ValueError("argtopk: kth must not be 0 (positive: the largest, negative: the smallest)")
    constant = isinstance(kth, (int, np.integer))
    indices = ArgTopK(axis, not constant or kth > 0)(x, abs(int(kth)) if constant else as_variable(kth))
    return indices if idx_dtype == "int64" else cast(indices, idx_dtype)


def topk_and_argtopk(x, kth, axis=-1, sorted=True, idx_dtype="int64"):
    """(topk, argtopk) of x, Theano's pair."""
    return topk(x, kth, axis, sorted, idx_dtype), argtopk(x, kth, axis, sorted, idx_dtype)
