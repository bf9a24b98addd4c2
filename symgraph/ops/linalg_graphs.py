"""Linear algebra written as graphs of other ops (so their gradients come for free): NumPy's
norm, kron, matrix_power, tensorinv and tensorsolve, and Theano's matrix_dot."""
import functools

import numpy as np

from .base import as_variable, normalize_axis
from . import elemwise as E
from . import reduce as R
from .linalg import dot
from .shape import shape, reshape, expand_dims, eye

_INF = float("inf")


def norm(x, ord=None, axis=None, keepdims=False):
    """NumPy's linalg.norm: a vector norm along one axis (ord None/2, 1, inf, -inf, 0 or any p),
    a matrix norm over two (ord None/"fro", "nuc", 1, -1, 2, -2, inf, -inf), or with axis=None
    the vector's or matrix's norm (x's 2-norm flattened when ord is None)."""
    x = as_variable(x)
    if x.dtype[0] != "f":
        x = E.cast(x, "float64")  # (NumPy's norm of integers is a float64)
    if axis is None:
        if ord is None:
            out = E.norm_sqrt(R.sum(E.sqr(x)))
            return reshape(out, (1,) * x.ndim) if keepdims else out
        if x.ndim not in (1, 2):
            raise ValueError(f"norm: ord={ord!r} with axis=None takes a vector or a matrix, got {x.describe()}")
        axis = tuple(range(x.ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    normalize_axis(axes, x.ndim, "norm's axis")  # (checked; their order matters to a matrix norm)
    axes = tuple(int(a) % x.ndim for a in axes)
    if len(axes) == 1:
        out = _vector_norm(x, ord, axes[0])
    elif len(axes) == 2:
        out = _matrix_norm(x, ord, *axes)
    else:
        raise ValueError(f"norm: axis must be one axis or two, got {axis!r}")
    for a in sorted(axes) if keepdims else ():
        out = expand_dims(out, a)
    return out


def _vector_norm(x, ord, axis):
    if ord is None or ord == 2:
        return E.norm_sqrt(R.sum(E.sqr(x), axis))
    if ord == _INF:
        return R.max(E.abs(x), axis)
    if ord == -_INF:
        return R.min(E.abs(x), axis)
    if ord == 0:
        return R.sum(E.cast(E.neq(x, 0), x.dtype), axis)
    if ord == 1:
        return R.sum(E.abs(x), axis)
    if isinstance(ord, str):
        raise ValueError(f"norm: ord={ord!r} is a matrix norm; a vector's takes a number")
    total = R.sum(E.abs(x) ** ord, axis)
    # (at a zero vector 0 ** (1 / ord), its derivative inf times the sum's 0: NaN; the root of
    # 1 there instead, selected away, gives the gradient 0 as norm_sqrt does for ord 2)
    return E.where(E.eq(total, 0), 0, E.off_zero(total) ** (1.0 / ord))


def _matrix_norm(x, ord, row_axis, col_axis):
    if ord is None or ord == "fro":
        return E.norm_sqrt(R.sum(E.sqr(x), (row_axis, col_axis)))
    if ord in (1, -1, _INF, -_INF):  # the largest (smallest) column (row) sum of absolute values
        summed, other = (row_axis, col_axis) if ord in (1, -1) else (col_axis, row_axis)
        sums = R.sum(E.abs(x), summed)
        pick = R.max if ord > 0 else R.min
        return pick(sums, other - (1 if other > summed else 0))
    if ord in ("nuc", 2, -2):
        if x.ndim != 2:
            raise NotImplementedError(f"norm: ord={ord!r} takes a matrix's singular values, here of 2-d x only, "
                                      f"got {x.describe()}")
        from .decompositions import svd
        s = svd(x.T if (row_axis, col_axis) == (1, 0) else x, compute_uv=False)
        return R.sum(s) if ord == "nuc" else (R.max(s) if ord == 2 else R.min(s))
    raise ValueError(f"norm: invalid ord {ord!r} for a matrix norm")


def kron(a, b):
    """The Kronecker product (NumPy's kron; the one of lower rank gets leading axes of one)."""
    a, b = as_variable(a), as_variable(b)
    ndim = max(a.ndim, b.ndim)
    a = reshape(a, [1] * (ndim - a.ndim) + [shape(a)[i] for i in range(a.ndim)]) if a.ndim < ndim else a
    b = reshape(b, [1] * (ndim - b.ndim) + [shape(b)[i] for i in range(b.ndim)]) if b.ndim < ndim else b
    # a's axis i and b's axis i side by side, then merged: out[i*nb + j] = a[i] * b[j]
    a_spread = a.dimshuffle(*[p for i in range(ndim) for p in (i, "x")])
    b_spread = b.dimshuffle(*[p for i in range(ndim) for p in ("x", i)])
    return reshape(a_spread * b_spread, [shape(a)[i] * shape(b)[i] for i in range(ndim)])


def matrix_power(m, n):
    """m multiplied by itself n times (n an int; 0 gives the identity, negative ones the
    inverse's powers), by repeated squaring, NumPy's."""
    m = as_variable(m)
    if m.ndim != 2:
        raise ValueError(f"matrix_power takes a square matrix, got {m.describe()}")
    if int(n) != n:
        raise TypeError(f"matrix_power: n must be an integer, got {n!r}")
    n = int(n)
    if n == 0:
        return eye(shape(m)[0], dtype=m.dtype)
    if n < 0:
        from .nlinalg import matrix_inverse
        m, n = matrix_inverse(m), -n
    result, square = None, m
    while n:
        if n & 1:
            result = square if result is None else dot(result, square)
        n >>= 1
        if n:
            square = dot(square, square)
    return result


def matrix_dot(*args):
    """Theano's matrix_dot: dot(dot(a, b), c)... of any number of arrays."""
    if not args:
        raise ValueError("matrix_dot takes at least one array")
    return functools.reduce(dot, args)


def _entries(x, axes):
    """The number of entries of x's axes `axes` (a symbolic int, or a number where known)."""
    lengths = shape(x)
    return functools.reduce(lambda p, k: p * lengths[k], axes, 1)


def tensorinv(a, ind=2):
    """NumPy's tensorinv: the inverse of a seen as a matrix of its first `ind` axes by the rest
    (whose numbers of entries must agree: checked when the graph is built where the lengths are
    known, else by the inverse's squareness), shaped a.shape[ind:] + a.shape[:ind]."""
    from .nlinalg import matrix_inverse
    a = as_variable(a)
    rows, cols = a.type.shape[:ind], a.type.shape[ind:]
    if None not in rows + cols and np.prod(rows, dtype=np.int64) != np.prod(cols, dtype=np.int64):
        raise ValueError(f"tensorinv: a's first {ind} axes hold {np.prod(rows)} entries, the others "
                         f"{np.prod(cols)}: {a.describe()}")
    square = reshape(a, [_entries(a, range(ind)), _entries(a, range(ind, a.ndim))])
    lengths = shape(a)
    return reshape(matrix_inverse(square), [lengths[k] for k in list(range(ind, a.ndim)) + list(range(ind))])


def tensorsolve(a, b, axes=None):
    """NumPy's tensorsolve: x with tensordot(a, x, x.ndim) = b, for a whose last axes (after
    moving `axes` there) make x's shape and whose first ones b's."""
    from .nlinalg import solve
    a, b = as_variable(a), as_variable(b)
    if axes is not None:
        moved = [k % a.ndim for k in axes]
        a = a.dimshuffle(*[k for k in range(a.ndim) if k not in moved], *moved)
    rows, cols = a.type.shape[:b.ndim], a.type.shape[b.ndim:]
    if None not in rows + cols and np.prod(rows, dtype=np.int64) != np.prod(cols, dtype=np.int64):
        raise ValueError(f"tensorsolve: a's axes for b and for x hold different numbers of entries: "
                         f"{a.describe()}, {b.describe()}")
    x_axes = range(b.ndim, a.ndim)
    square = reshape(a, [_entries(a, range(b.ndim)), _entries(a, x_axes)])
    lengths = shape(a)
    return reshape(solve(square, reshape(b, [-1])), [lengths[k] for k in x_axes])
