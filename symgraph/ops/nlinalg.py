"""Linear algebra of square matrices, Theano's nlinalg / slinalg: matrix_inverse (NumPy's inv),
det and solve, each NumPy's LAPACK call with its gradient as a graph.

    >>> sg.nlinalg.matrix_inverse(A), sg.nlinalg.det(A), sg.slinalg.solve(A, b)
"""
import numpy as np

from .base import Op, Apply, TensorType, Variable, as_variable
from .linalg import dot, outer


def _square(a, what):
    a = as_variable(a)
    if a.ndim != 2 or a.dtype[0] != "f":
        raise ValueError(f"{what} takes a float matrix, got {a.describe()}")
    rows, cols = a.type.shape
    if rows is not None and cols is not None and rows != cols:
        raise ValueError(f"{what} takes a square matrix, got {a.describe()}")
    return a


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
        a, b = _square(a, "solve"), as_variable(b)
        if b.ndim not in (1, 2) or b.dtype != a.dtype:
            raise ValueError(f"solve takes a vector or matrix b of a's dtype ({a.dtype}), got {b.describe()}")
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


def matrix_inverse(a):
    """The inverse of a square matrix (NumPy's inv)."""
    return MatrixInverse()(a)


def det(a):
    """The determinant of a square matrix."""
    return Det()(a)


def solve(a, b):
    """x with a @ x == b, for a square a and a vector or matrix b."""
    return Solve()(a, b)


inv = matrix_inverse
