"""Linear algebra of square matrices, Theano's nlinalg / slinalg: matrix_inverse (NumPy's inv),
det, slogdet, solve, solve_triangular, pinv and expm, each NumPy's (or SciPy's) LAPACK call with
its gradient as a graph; the factorizations (decompositions.py) and the functions written as
graphs of other ops (linalg_graphs.py) are gathered here too, as Theano's users import them.

    >>> sg.nlinalg.matrix_inverse(A), sg.nlinalg.det(A), sg.slinalg.solve(A, b)
    >>> L = sg.slinalg.cholesky(K); alpha = sg.slinalg.cho_solve((L, True), y)
"""
import numpy as np

from .base import Op, Apply, TensorType, Variable, as_variable
from .linalg import dot, outer, tril, triu
from .shape import shape, eye


def _square(a, what):
    a = as_variable(a)
    if a.ndim != 2 or a.dtype[0] != "f":
        raise ValueError(f"{what} takes a float matrix, got {a.describe()}")
    rows, cols = a.type.shape
    if rows is not None and cols is not None and rows != cols:
        raise ValueError(f"{what} takes a square matrix, got {a.describe()}")
    return a


def _right_hand_side(a, b, what):
    b = as_variable(b)
    if b.ndim not in (1, 2) or b.dtype != a.dtype:
        raise ValueError(f"{what} takes a vector or matrix b of a's dtype ({a.dtype}), got {b.describe()}")
    return b


class MatrixInverse(Op):
    def make_node(self, a):
        a = _square(a, "matrix_inverse")
        return Apply(self, [a], [Variable(a.type)])

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def perform(self, node, inputs):
        return [np.linalg.inv(inputs[0]).astype(node.outputs[0].dtype, copy=False)]

    def grad(self, inputs, outputs, output_grads):
        inverse = outputs[0]  # d(A^-1) = -A^-1 dA A^-1
        return [-dot(dot(inverse.T, output_grads[0]), inverse.T)]


class Det(Op):
    def make_node(self, a):
        a = _square(a, "det")
        return Apply(self, [a], [Variable(TensorType(a.dtype, ()))])

    def infer_shape(self, node, shapes):
        return [()]

    def perform(self, node, inputs):
        return [np.asarray(np.linalg.det(inputs[0]), dtype=node.outputs[0].dtype)]

    def grad(self, inputs, outputs, output_grads):
        return [output_grads[0] * outputs[0] * matrix_inverse(inputs[0]).T]  # d det = det * tr(A^-1 dA)


class Solve(Op):
    def make_node(self, a, b):
        a = _square(a, "solve")
        b = _right_hand_side(a, b, "solve")
        return Apply(self, [a, b], [Variable(TensorType(a.dtype, (a.type.shape[1],) + b.type.shape[1:]))])

    def infer_shape(self, node, shapes):
        return [shapes[1]]

    def perform(self, node, inputs):
        return [np.linalg.solve(*inputs).astype(node.outputs[0].dtype, copy=False)]

    def grad(self, inputs, outputs, output_grads):
        a, b = inputs
        x = outputs[0]
        gb = solve(a.T, output_grads[0])  # x = A^-1 b: db = A^-T g, dA = -db x^T
        ga = -(outer(gb, x) if b.ndim == 1 else dot(gb, x.T))
        return [ga, gb]


class SolveTriangular(Op):
    """x with a @ x == b, reading only a's lower (upper) triangle; unit_diagonal: a's diagonal is
    taken as ones and not read."""
    __props__ = ("lower", "unit_diagonal")

    def __init__(self, lower=False, unit_diagonal=False):
        self.lower, self.unit_diagonal = bool(lower), bool(unit_diagonal)

    def make_node(self, a, b):
        a = _square(a, "solve_triangular")
        b = _right_hand_side(a, b, "solve_triangular")
        return Apply(self, [a, b], [Variable(TensorType(a.dtype, (a.type.shape[1],) + b.type.shape[1:]))])

    def infer_shape(self, node, shapes):
        return [shapes[1]]

    def perform(self, node, inputs):
        from scipy.linalg import solve_triangular  # (imported here: scipy.linalg costs a tenth of a second)
        x = solve_triangular(*inputs, lower=self.lower, unit_diagonal=self.unit_diagonal, check_finite=False)
        return [x.astype(node.outputs[0].dtype, copy=False)]

    def grad(self, inputs, outputs, output_grads):
        a, b = inputs
        x = outputs[0]
        gb = SolveTriangular(not self.lower, self.unit_diagonal)(a.T, output_grads[0])
        ga = -(outer(gb, x) if b.ndim == 1 else dot(gb, x.T))
        skip = 1 if self.unit_diagonal else 0  # (only the triangle read gets a gradient)
        return [tril(ga, -skip) if self.lower else triu(ga, skip), gb]


class SLogDet(Op):
    """The sign and the log of the absolute value of a square matrix's determinant (NumPy's
    slogdet): a determinant too large or small for a float is still a finite log."""

    def make_node(self, a):
        a = _square(a, "slogdet")
        scalar = TensorType(a.dtype, ())
        return Apply(self, [a], [Variable(scalar), Variable(scalar)])

    def infer_shape(self, node, shapes):
        return [(), ()]

    def perform(self, node, inputs):
        sign, logabsdet = np.linalg.slogdet(inputs[0])
        return [np.asarray(sign, node.outputs[0].dtype), np.asarray(logabsdet, node.outputs[1].dtype)]

    def grad(self, inputs, outputs, output_grads):
        return [output_grads[1] * matrix_inverse(inputs[0]).T]  # (the sign is piecewise constant)


class Pinv(Op):
    """The Moore-Penrose pseudo-inverse (NumPy's pinv, by SVD), of any float matrix."""
    __props__ = ("hermitian",)

    def __init__(self, hermitian=False):
        self.hermitian = bool(hermitian)

    def make_node(self, a):
        a = as_variable(a)
        if a.ndim != 2 or a.dtype[0] != "f":
            raise ValueError(f"pinv takes a float matrix, got {a.describe()}")
        return Apply(self, [a], [Variable(TensorType(a.dtype, a.type.shape[::-1]))])

    def infer_shape(self, node, shapes):
        return [shapes[0][::-1]]

    def perform(self, node, inputs):
        return [np.linalg.pinv(inputs[0], hermitian=self.hermitian).astype(node.outputs[0].dtype, copy=False)]

    def grad(self, inputs, outputs, output_grads):
        # Golub and Pereyra (1973), for a matrix of constant rank:
        # dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P
        a, p, g = inputs[0], outputs[0], output_grads[0]
        m, n = shape(a)[0], shape(a)[1]
        left = eye(m, dtype=a.dtype) - dot(a, p)
        right = eye(n, dtype=a.dtype) - dot(p, a)
        return [-dot(dot(p.T, g), p.T) + dot(dot(left, g.T), dot(p, p.T)) + dot(dot(p.T, p), dot(g.T, right))]


class Expm(Op):
    """The matrix exponential (SciPy's expm, Pade approximation with scaling and squaring)."""

    def make_node(self, a):
        a = _square(a, "expm")
        return Apply(self, [a], [Variable(a.type)])

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def perform(self, node, inputs):
        from scipy.linalg import expm
        return [np.asarray(expm(inputs[0]), dtype=node.outputs[0].dtype)]

    def grad(self, inputs, outputs, output_grads):
        # The adjoint of the Frechet derivative: expm([[A^T, G], [0, A^T]])'s upper right block
        from .shape import concatenate, zeros_like
        a, g = inputs[0], output_grads[0]
        n = shape(a)[0]
        block = concatenate([concatenate([a.T, g], axis=1),
                             concatenate([zeros_like(a), a.T], axis=1)], axis=0)
        return [Expm()(block)[:n, n:]]


class Lstsq(Op):
    """NumPy's lstsq(a, b, rcond): the least-squares solution x of a x = b (the one of least norm
    where a's rank is low), the residuals' sums of squares (empty unless a has full column rank
    and more rows than columns), a's rank and its singular values."""
    __props__ = ("rcond",)

    def __init__(self, rcond=None):
        self.rcond = rcond

    def make_node(self, a, b):
        a, b = as_variable(a), as_variable(b)
        if a.ndim != 2 or b.ndim not in (1, 2) or a.dtype[0] != "f":
            raise ValueError(f"lstsq takes a float matrix and a vector or matrix, got {a.describe()} and "
                             f"{b.describe()}")
        dtype = np.result_type(a.dtype, b.dtype).name
        x = Variable(TensorType(dtype, a.type.shape[1:] + b.type.shape[1:]))
        return Apply(self, [a, b], [x, Variable(TensorType(dtype, (None,))), Variable(TensorType("int64", ())),
                                    Variable(TensorType(dtype, (None,)))])

    def perform(self, node, inputs):
        x, residuals, rank, s = np.linalg.lstsq(inputs[0], inputs[1], rcond=self.rcond)
        dtype = node.outputs[0].dtype
        return [x.astype(dtype, copy=False), np.asarray(residuals, dtype).reshape(-1), np.asarray(rank, np.int64),
                s.astype(dtype, copy=False)]

    def grad(self, inputs, outputs, output_grads):
        """x's gradient: that of pinv(a) b, which x is where a's rank does not change."""
        from ..grad import partial_grads
        return partial_grads(lambda ab: [dot(pinv(ab[0]), ab[1])], inputs, output_grads[:1])


def lstsq(a, b, rcond=None):
    """[x, residuals, rank, singular values] of the least-squares problem a x = b (NumPy's
    lstsq, Theano's nlinalg.lstsq); x differentiable where a's rank does not change."""
    return Lstsq(rcond)(a, b)


def matrix_inverse(a):
    """The inverse of a square matrix (NumPy's inv)."""
    return MatrixInverse()(a)


def det(a):
    """The determinant of a square matrix."""
    return Det()(a)


def slogdet(a):
    """(sign, log|det a|) of a square matrix, NumPy's slogdet; differentiable in its log."""
    return tuple(SLogDet()(a))


def solve(a, b):
    """x with a @ x == b, for a square a and a vector or matrix b."""
    return Solve()(a, b)


def solve_triangular(a, b, lower=False, unit_diagonal=False):
    """x with a @ x == b, reading only a's lower (lower=True) or upper triangle (SciPy's)."""
    return SolveTriangular(lower, unit_diagonal)(a, b)


def solve_lower_triangular(a, b):
    """Theano's slinalg name: solve_triangular(a, b, lower=True)."""
    return SolveTriangular(lower=True)(a, b)


def solve_upper_triangular(a, b):
    """Theano's slinalg name: solve_triangular(a, b, lower=False)."""
    return SolveTriangular(lower=False)(a, b)


def solve_symmetric(a, b):
    """Theano's slinalg name: the solution for a symmetric a (solved as a general one)."""
    return Solve()(a, b)


def cho_solve(c_and_lower, b):
    """x with a @ x == b, from a's Cholesky factor: cho_solve((cholesky(a), True), b), SciPy's."""
    c, lower = c_and_lower
    first = SolveTriangular(lower=lower)(c, b)  # a = L L^T: L y = b, then L^T x = y
    return SolveTriangular(lower=not lower)(as_variable(c).T, first)


def pinv(a, hermitian=False):
    """The Moore-Penrose pseudo-inverse of a float matrix (NumPy's); differentiable where its
    rank does not change."""
    return Pinv(hermitian)(a)


def expm(a):
    """The matrix exponential of a square matrix (SciPy's expm); differentiable."""
    return Expm()(a)


inv = matrix_inverse

from .decompositions import cholesky, eigh, eigvalsh, svd, qr  # noqa: E402  (Theano's names, gathered)
from .linalg_graphs import norm, kron, matrix_power, matrix_dot, tensorinv, tensorsolve  # noqa: E402
