"""Products: dot (vectors and matrices), matmul (batched), and the ones built from them
(tensordot, outer, batched_dot)."""
import numbers

import numpy as np

from .base import Op, Apply, TensorType, Variable, as_variable
from . import elemwise as E
from .shape import shape, dimshuffle, reshape, transpose, swapaxes, expand_dims, squeeze


def _check_inner(a, b, ka, kb, what):
    if ka is not None and kb is not None and ka != kb:
        raise ValueError(f"{what}: inner dimensions differ ({ka} vs {kb}): {a.describe()}; {b.describe()}")


def _float_dtype(a, b):
    return np.result_type(a.dtype, b.dtype).name


class Dot(Op):
    """np.dot for 1-d and 2-d operands (one BLAS call)."""

    def make_node(self, a, b):
        a, b = as_variable(a), as_variable(b)
        if not (1 <= a.ndim <= 2 and 1 <= b.ndim <= 2):
            raise ValueError(f"Dot takes 1-d or 2-d operands: {a.describe()}; {b.describe()}")
        _check_inner(a, b, a.type.shape[-1], b.type.shape[0], "dot")
        shp = a.type.shape[:-1] + b.type.shape[1:]
        return Apply(self, [a, b], [Variable(TensorType(_float_dtype(a, b), shp))])

    def infer_shape(self, node, shapes):
        return [shapes[0][:-1] + shapes[1][1:]]

    def perform(self, node, inputs):
        return [np.asarray(np.dot(*inputs), dtype=node.outputs[0].dtype)]

    def grad(self, inputs, outputs, output_grads):
        a, b = inputs
        g = output_grads[0]
        if a.ndim == 2 and b.ndim == 2:
            ga, gb = dot(g, b.T), dot(a.T, g)
        elif a.ndim == 2:                       # matrix . vector
            ga, gb = outer(g, b), dot(a.T, g)
        elif b.ndim == 2:                       # vector . matrix
            ga, gb = dot(b, g), outer(a, g)
        else:                                   # vector . vector
            ga, gb = g * b, g * a
        return [_grad_as(ga, a), _grad_as(gb, b)]


def _grad_as(g, x):
    return None if x.dtype[0] not in "fc" else E.cast(g, x.dtype)


class Matmul(Op):
    """np.matmul for operands of 2 or more dimensions (batch axes broadcast)."""

    def make_node(self, a, b):
        a, b = as_variable(a), as_variable(b)
        if a.ndim < 2 or b.ndim < 2:
            raise ValueError("Matmul takes operands of 2 or more dimensions; use sg.matmul")
        _check_inner(a, b, a.type.shape[-1], b.type.shape[-2], "matmul")
        from .elemwise import broadcast_static
        batch = broadcast_static([Variable(TensorType(a.dtype, a.type.shape[:-2])),
                                  Variable(TensorType(b.dtype, b.type.shape[:-2]))], "matmul batch axes")
        shp = batch + (a.type.shape[-2], b.type.shape[-1])
        return Apply(self, [a, b], [Variable(TensorType(_float_dtype(a, b), shp))])

    def infer_shape(self, node, shapes):
        from .shape_infer import broadcast_dims
        batch = broadcast_dims([shapes[0][:-2], shapes[1][:-2]], node.outputs[0].ndim - 2)
        return [batch + [shapes[0][-2], shapes[1][-1]]]

    def perform(self, node, inputs):
        return [np.asarray(np.matmul(*inputs), dtype=node.outputs[0].dtype)]

    def grad(self, inputs, outputs, output_grads):
        from .reduce import unbroadcast
        a, b = inputs
        g = output_grads[0]
        ga = unbroadcast(Matmul()(g, swapaxes(b, -1, -2)), a)
        gb = unbroadcast(Matmul()(swapaxes(a, -1, -2), g), b)
        return [_grad_as(ga, a), _grad_as(gb, b)]


def dot(a, b):
    """np.dot: inner product, matrix-vector or matrix product; N-d as tensordot."""
    a, b = as_variable(a), as_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.ndim <= 2 and b.ndim <= 2:
        return Dot()(a, b)
    return tensordot(a, b, [[a.ndim - 1], [max(b.ndim - 2, 0)]])


def matmul(a, b):
    """np.matmul / the `@` operator."""
    a, b = as_variable(a), as_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: scalar operands are not allowed; use *")
    if a.ndim <= 2 and b.ndim <= 2:
        return Dot()(a, b)
    out = Matmul()(expand_dims(a, 0) if a.ndim == 1 else a, expand_dims(b, -1) if b.ndim == 1 else b)
    if b.ndim == 1:
        out = squeeze(out, -1)
    if a.ndim == 1:
        out = squeeze(out, -2)
    return out


def tensordot(a, b, axes=2):
    """Sum products over `axes` (an int n: last n of a with first n of b; or two lists)."""
    a, b = as_variable(a), as_variable(b)
    if isinstance(axes, numbers.Integral):
        axes = [list(range(a.ndim - axes, a.ndim)), list(range(axes))]
    axes_a = [ax % a.ndim for ax in np.atleast_1d(axes[0])]
    axes_b = [ax % b.ndim for ax in np.atleast_1d(axes[1])]
    if len(axes_a) != len(axes_b):
        raise ValueError("tensordot: the two axis lists must have the same length")
    for i, j in zip(axes_a, axes_b):
        _check_inner(a, b, a.type.shape[i], b.type.shape[j], "tensordot")
    free_a = [i for i in range(a.ndim) if i not in axes_a]
    free_b = [j for j in range(b.ndim) if j not in axes_b]
    sa, sb = shape(a), shape(b)
    a2 = reshape(transpose(a, free_a + axes_a), [_prod(sa, free_a), _prod(sa, axes_a)])
    b2 = reshape(transpose(b, axes_b + free_b), [_prod(sb, axes_b), _prod(sb, free_b)])
    return reshape(Dot()(a2, b2), [sa[i] for i in free_a] + [sb[j] for j in free_b],
                   ndim=len(free_a) + len(free_b))


def _prod(sh, axes):
    out = 1
    for i in axes:
        out = out * sh[i]
    return out


def outer(a, b):
    a, b = as_variable(a), as_variable(b)
    return dimshuffle(reshape(a, [-1]), 0, "x") * dimshuffle(reshape(b, [-1]), "x", 0)


def batched_dot(a, b):
    """Per-batch products: (B,n,k)@(B,k,m) -> (B,n,m); two (B,k) matrices give (B,)."""
    a, b = as_variable(a), as_variable(b)
    if a.ndim == 2 and b.ndim == 2:
        return (a * b).sum(axis=1)
    if a.ndim == 2:
        a = expand_dims(a, 1)
        return squeeze(Matmul()(a, b), 1)
    if b.ndim == 2:
        return squeeze(Matmul()(a, expand_dims(b, 2)), 2)
    return Matmul()(a, b)


class Gemm(Op):
    """alpha * dot(a, b) + beta * c for 2-d a, b (c broadcasts): BLAS's gemm, made by the
    rewriter from a matrix product followed by a bias add and a scale, or from a weight's
    update w - lr * dot(a, b).

    inplace: the memory planner's permission to write the result into c's buffer (a shared
    weight the call updates; rewrite/memory.py says when). A backend may ignore it and
    return a new array: the value is the same."""

    __props__ = ("alpha", "beta", "inplace")

    def __init__(self, alpha=1.0, beta=1.0, inplace=False):
        self.alpha, self.beta, self.inplace = float(alpha), float(beta), bool(inplace)

    def __str__(self):
        return f"Gemm{{alpha={self.alpha:g}, beta={self.beta:g}{',inplace' if self.inplace else ''}}}"

    def make_node(self, c, a, b):
        c, a, b = as_variable(c), as_variable(a), as_variable(b)
        product = Dot().make_node(a, b).outputs[0]
        if product.ndim != 2:
            raise ValueError("Gemm needs matrix operands")
        from .elemwise import broadcast_static
        shp = broadcast_static([product, c], "gemm")
        dtype = np.result_type(product.dtype, c.dtype).name
        return Apply(self, [c, a, b], [Variable(TensorType(dtype, shp))])

    def infer_shape(self, node, shapes):
        from .shape_infer import broadcast_dims
        return [broadcast_dims([shapes[0], [shapes[1][0], shapes[2][1]]], 2)]

    def perform(self, node, inputs):
        c, a, b = inputs
        out = np.dot(a, b)
        if self.alpha != 1.0:
            out *= out.dtype.type(self.alpha)
        bias = c if self.beta == 1.0 else c * c.dtype.type(self.beta)
        if bias.shape == out.shape or bias.shape == out.shape[1:] \
                or np.broadcast_shapes(bias.shape, out.shape) == out.shape:
            out += bias
        else:
            out = out + bias
        return [np.asarray(out, dtype=node.outputs[0].dtype)]

    def grad(self, inputs, outputs, output_grads):
        from .reduce import unbroadcast
        c, a, b = inputs
        g = output_grads[0]
        return [_grad_as(unbroadcast(g * self.beta, c), c), _grad_as(dot(g, b.T) * self.alpha, a),
                _grad_as(dot(a.T, g) * self.alpha, b)]


def diagonal_index(x, offset=0, what="diagonal"):
    """The (rows, columns) index of matrix x's diagonal (above it for offset > 0, below for
    offset < 0): x[diagonal_index(x)] is the diagonal, set_subtensor on it fills it."""
    from .shape import arange
    x = as_variable(x)
    if x.ndim != 2:
        raise ValueError(f"{what} takes a matrix, got {x.describe()}")
    offset = int(offset)
    rows, cols = shape(x)[0] - max(-offset, 0), shape(x)[1] - max(offset, 0)
    k = arange(E.maximum(E.minimum(rows, cols), 0))
    return k + max(-offset, 0), k + max(offset, 0)


class Diagonal(Op):
    """A matrix's diagonal `offset` (above it for offset > 0, below for offset < 0), NumPy's
    np.diagonal as a vector of its own. One node: as the gather at diagonal_index it was
    seven (the shape, its minimum, arange, the offsets, the gather), which ran node by node
    after a slice: the diagonal of m[:100, :100] took 10-12 us, NumPy's view 1.4."""
    __props__ = ("offset",)

    def __init__(self, offset=0):
        self.offset = int(offset)

    def make_node(self, x):
        x = as_variable(x)
        if x.ndim != 2:
            raise ValueError(f"diagonal takes a matrix, got {x.describe()}")
        rows, cols = x.type.shape
        n = None if rows is None or cols is None else _diagonal_length(rows, cols, self.offset)
        return Apply(self, [x], [Variable(TensorType(x.dtype, [n]))])

    def infer_shape(self, node, shapes):
        rows, cols = shapes[0]
        k = self.offset
        return [(E.maximum(E.minimum(rows - max(-k, 0), cols - max(k, 0)), 0),)]

    def perform(self, node, inputs):
        # (a copy: NumPy's view is read-only, and a later node may write into its input)
        return [inputs[0].diagonal(self.offset).copy()]

    def grad(self, inputs, outputs, output_grads):
        from .index import set_subtensor, getitem
        from .shape import zeros_like
        x = inputs[0]
        return [set_subtensor(getitem(zeros_like(x), diagonal_index(x, self.offset)), output_grads[0])]


def _diagonal_length(rows, cols, offset):
    return max(min(rows - max(-offset, 0), cols - max(offset, 0)), 0)


def diagonal(x, offset=0):
    """The diagonal of a matrix (above it for offset > 0, below for offset < 0), as NumPy's."""
    return Diagonal(offset)(x)


def diag(v, k=0):
    """NumPy's diag: a vector's square matrix with v on diagonal k, or a matrix's diagonal k."""
    from .index import set_subtensor, getitem
    from .shape import arange, zeros
    v = as_variable(v)
    if v.ndim == 2:
        return diagonal(v, k)
    if v.ndim != 1:
        raise ValueError(f"diag takes a vector or a matrix, got {v.describe()}")
    k = int(k)
    n = shape(v)[0]
    size = n + abs(k)
    i = arange(n)
    return set_subtensor(getitem(zeros([size, size], v.dtype), (i + max(-k, 0), i + max(k, 0))), v)


def trace(x, offset=0):
    """The sum of a matrix's diagonal."""
    return diagonal(x, offset).sum()


def _triangle(x, k, upper):
    from .shape import arange
    x = as_variable(x)
    if x.ndim < 2:
        raise ValueError(f"{'triu' if upper else 'tril'} takes a matrix (or a stack of them), got {x.describe()}")
    rows = expand_dims(arange(shape(x)[x.ndim - 2]), 1)
    cols = expand_dims(arange(shape(x)[x.ndim - 1]), 0)
    keep = E.ge(cols - rows, k) if upper else E.le(cols - rows, k)
    return E.where(keep, x, E.cast(0, x.dtype))


def triu(x, k=0):
    """x with the entries below diagonal k zeroed (NumPy's triu; on the last two axes)."""
    return _triangle(x, int(k), upper=True)


def tril(x, k=0):
    """x with the entries above diagonal k zeroed (NumPy's tril)."""
    return _triangle(x, int(k), upper=False)
