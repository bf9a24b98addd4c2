"""Matrix factorizations, Theano's slinalg.cholesky and nlinalg.eigh / svd / qr: NumPy's LAPACK
calls, each with its gradient as a graph of other ops.

Which entries a factorization reads decides its gradient: NumPy's cholesky and eigh read one
triangle of the matrix (the lower one unless asked otherwise), so the other triangle's gradient
is zero and the read one carries both halves' share, as finite differences on the matrix see it.
"""
import numpy as np

from .base import Op, Apply, TensorType, Variable, as_variable
from .linalg import dot, diag, diagonal, tril, triu
from .elemwise import minimum
from .shape import shape, eye, zeros_like, concatenate, is_zeros
from . import nlinalg  # (nlinalg gathers this module's names: its own are used when called)


def _read_triangle(g, lower):
    """The gradient of a function of the symmetric matrix built from a's lower (upper) triangle,
    from g, its gradient as a function of that symmetric matrix."""
    return tril(g) + triu(g, 1).T if lower else triu(g) + tril(g, -1).T


def _off_diagonal_reciprocals(values):
    """F[i, j] = 1 / (values[j] - values[i]) off the diagonal, 0 on it."""
    n = shape(values)[0]
    identity = eye(n, dtype=values.dtype)
    return (1 - identity) / (values.dimshuffle("x", 0) - values.dimshuffle(0, "x") + identity)


class Cholesky(Op):
    """L with L @ L.T == a (lower=True), or U with U.T @ U == a; reads only that triangle of a."""
    __props__ = ("lower",)

    def __init__(self, lower=True):
        self.lower = bool(lower)

    def make_node(self, a):
        a = nlinalg._square(a, "cholesky")
        return Apply(self, [a], [Variable(a.type)])

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def perform(self, node, inputs):
        a = inputs[0]
        try:  # (the upper factor of a is the transposed lower one of a.T, which reads a's upper triangle)
            factor = np.linalg.cholesky(a) if self.lower else np.linalg.cholesky(a.T).T
        except np.linalg.LinAlgError as err:
            raise np.linalg.LinAlgError(f"cholesky: the matrix is not positive definite ({err})") from None
        return [factor.astype(node.outputs[0].dtype, copy=False)]

    def grad(self, inputs, outputs, output_grads):
        # Murray (2016), "Differentiation of the Cholesky decomposition", as PyTensor's
        lower_factor = outputs[0] if self.lower else outputs[0].T
        g = output_grads[0] if self.lower else output_grads[0].T
        phi = dot(lower_factor.T, g)
        phi = tril(phi) - diag(diagonal(phi) / 2)
        solve_upper = nlinalg.SolveTriangular(lower=False)  # s = L^-T phi L^-1
        s = solve_upper(lower_factor.T, solve_upper(lower_factor.T, phi.T).T)
        sym = s + s.T
        return [(tril(sym) if self.lower else triu(sym)) - diag(diagonal(s))]


class Eigh(Op):
    """The eigenvalues (ascending) and eigenvectors (columns) of a symmetric matrix, from its
    lower (UPLO="L") or upper triangle."""
    __props__ = ("UPLO",)

    def __init__(self, UPLO="L"):
        if UPLO not in ("L", "U"):
            raise ValueError(f"eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
        self.UPLO = UPLO

    def make_node(self, a):
        a = nlinalg._square(a, "eigh")
        n = a.type.shape[0]
        return Apply(self, [a], [Variable(TensorType(a.dtype, (n,))), Variable(a.type)])

    def infer_shape(self, node, shapes):
        return [shapes[0][:1], shapes[0]]

    def perform(self, node, inputs):
        w, v = np.linalg.eigh(inputs[0], self.UPLO)
        return [w.astype(node.outputs[0].dtype, copy=False), v.astype(node.outputs[1].dtype, copy=False)]

    def grad(self, inputs, outputs, output_grads):
        # A = V diag(w) V^T: dw_i = v_i^T dA v_i, V^T dV = F * (V^T dA V) with F from w's gaps
        w, v = outputs
        gw, gv = output_grads
        inner = diag(gw)
        if not is_zeros(gv):  # (F's gaps are 0 for a repeated eigenvalue: eigenvalues alone do without)
            inner = inner + _off_diagonal_reciprocals(w) * dot(v.T, gv)
        return [_read_triangle(dot(dot(v, inner), v.T), self.UPLO == "L")]


class SVD(Op):
    """NumPy's svd: u, s, vh with a == u @ diag(s) @ vh (s only, when compute_uv is false)."""
    __props__ = ("full_matrices", "compute_uv")

    def __init__(self, full_matrices=True, compute_uv=True):
        self.full_matrices, self.compute_uv = bool(full_matrices), bool(compute_uv)

    def make_node(self, a):
        a = as_variable(a)
        if a.ndim != 2 or a.dtype[0] != "f":
            raise ValueError(f"svd takes a float matrix, got {a.describe()}")
        m, n = a.type.shape
        k = None if m is None or n is None else min(m, n)
        s = Variable(TensorType(a.dtype, (k,)))
        if not self.compute_uv:
            return Apply(self, [a], [s])
        u = Variable(TensorType(a.dtype, (m, m if self.full_matrices else k)))
        vh = Variable(TensorType(a.dtype, (n if self.full_matrices else k, n)))
        return Apply(self, [a], [u, s, vh])

    def perform(self, node, inputs):
        out = np.linalg.svd(inputs[0], full_matrices=self.full_matrices, compute_uv=self.compute_uv)
        out = list(out) if self.compute_uv else [out]
        return [o.astype(var.dtype, copy=False) for o, var in zip(out, node.outputs)]

    def grad(self, inputs, outputs, output_grads):
        if not self.compute_uv:
            u, _, vh = SVD(full_matrices=False)(inputs[0])
            return [_singular_values_grad(u, vh, output_grads[0])]
        u, s, vh = outputs
        gu, gs, gvh = output_grads
        if is_zeros(gu) and is_zeros(gvh):  # (singular values alone: no gaps, which repeated ones make 0)
            k = shape(s)[0]
            return [_singular_values_grad(u[:, :k], vh[:k], gs)]
        if self.full_matrices:  # (the columns past min(m, n) are any basis of their space: PyTorch's rule)
            k = shape(s)[0]
            u, gu, vh, gvh = u[:, :k], gu[:, :k], vh[:k], gvh[:k]
        return [_svd_grad(inputs[0], u, s, vh, gu, gs, gvh)]


def _singular_values_grad(u, vh, gs):
    """The gradient through the singular values alone, ds_i = u_i^T dA v_i (u, vh reduced)."""
    return dot(u * gs.dimshuffle("x", 0), vh)


def _svd_grad(a, u, s, vh, gu, gs, gvh):
    """Townsend (2016), "Differentiating the singular value decomposition", for the reduced SVD
    of a full-rank matrix."""
    v, gv = vh.T, gvh.T
    f = _off_diagonal_reciprocals(s * s)  # F[i, j] = 1 / (s_j^2 - s_i^2)
    s_row, s_col = s.dimshuffle("x", 0), s.dimshuffle(0, "x")
    utgu, vtgv = dot(u.T, gu), dot(v.T, gv)
    inner = (f * (utgu - utgu.T)) * s_row + diag(gs) + s_col * (f * (vtgv - vtgv.T))
    grad = dot(dot(u, inner), vh)
    m, n = shape(a)[0], shape(a)[1]
    grad += dot(dot(eye(m, dtype=a.dtype) - dot(u, u.T), gu / s_row), vh)  # (u's columns' complement)
    grad += dot(u / s_row, dot(gv.T, eye(n, dtype=a.dtype) - dot(v, v.T)))
    return grad


class QR(Op):
    """NumPy's qr: q, r with a == q @ r (mode "reduced" or "complete"), or r alone (mode "r")."""
    __props__ = ("mode",)

    def __init__(self, mode="reduced"):
        if mode not in ("reduced", "complete", "r"):
            raise ValueError(f"qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
        self.mode = mode

    def make_node(self, a):
        a = as_variable(a)
        if a.ndim != 2 or a.dtype[0] != "f":
            raise ValueError(f"qr takes a float matrix, got {a.describe()}")
        m, n = a.type.shape
        k = m if self.mode == "complete" else (None if m is None or n is None else min(m, n))
        r = Variable(TensorType(a.dtype, (k, n)))
        return Apply(self, [a], [r] if self.mode == "r" else [Variable(TensorType(a.dtype, (m, k))), r])

    def perform(self, node, inputs):
        out = np.linalg.qr(inputs[0], mode=self.mode)
        out = [out] if self.mode == "r" else list(out)
        return [o.astype(var.dtype, copy=False) for o, var in zip(out, node.outputs)]

    def grad(self, inputs, outputs, output_grads):
        a = inputs[0]
        q, r = QR("reduced")(a) if self.mode == "r" else outputs
        gq = output_grads[0] if self.mode != "r" else zeros_like(q)
        return [_qr_grad(a, q, r, gq, output_grads[-1], self.mode == "complete")]


def _qr_grad(a, q, r, gq, gr, complete):
    """QR's gradient as a graph (so it differentiates again): a tall or square matrix's by Walter
    and Lehmann's rule (Liao et al. 2019: gA = [gQ + Q copyltu(M)] R^-T, M = R gR^T - gQ^T Q), a
    wide one's by splitting it into its leading square block x and the rest y, a = [x | y] with
    x = q r[:, :m], y = q r[:, m:]. One graph serves both: for a tall or square a, y and the
    columns of r past m are empty, and the split leaves the rule as it is. Complete Q's columns
    past the matrix's are any basis of their space: their gradient is ignored (PyTorch's rule)."""
    m, n = shape(a)[0], shape(a)[1]
    k = minimum(m, n)
    q, gq = q[:, :k], gq[:, :k]
    if complete:
        r, gr = r[:k], gr[:k]
    gy = dot(q, gr[:, m:])
    gx = _qr_grad_square_r(q, r[:, :m], gq + dot(a[:, m:], gr[:, m:].T), gr[:, :m])
    return concatenate([gx, gy], axis=1)


def _qr_grad_square_r(q, r, gq, gr):
    m = dot(r, gr.T) - dot(gq.T, q)
    copyltu = tril(m) + tril(m, -1).T
    return nlinalg.solve_triangular(r, (gq + dot(q, copyltu)).T, lower=False).T  # (...) R^-T


def cholesky(a, lower=True):
    """The Cholesky factor of a symmetric positive definite matrix: lower L with a == L @ L.T
    (lower=True), else upper U with a == U.T @ U. Only that triangle of a is read."""
    return Cholesky(lower)(a)


def eigh(a, UPLO="L"):
    """(w, v): the ascending eigenvalues and the eigenvectors (v's columns) of a symmetric
    matrix, read from its lower (UPLO="L") or upper triangle, as NumPy's."""
    return tuple(Eigh(UPLO)(a))


def eigvalsh(a, b=None, lower=True):
    """The ascending eigenvalues of a symmetric matrix (Theano's slinalg.eigvalsh; the
    generalized problem with a second matrix b is not supported)."""
    if b is not None:
        raise NotImplementedError("eigvalsh(a, b): the generalized eigenvalue problem is not supported; "
                                  "reduce it with cholesky(b) and solve_triangular, or pass b=None")
    return Eigh("L" if lower else "U")(a)[0]


def svd(a, full_matrices=True, compute_uv=True):
    """NumPy's svd: (u, s, vh) with a == u @ diag(s) @ vh, or s alone (compute_uv=False).
    Differentiable; with full_matrices, the gradient ignores the columns past min(m, n)."""
    out = SVD(full_matrices, compute_uv)(a)
    return tuple(out) if compute_uv else out


def qr(a, mode="reduced"):
    """NumPy's qr: (q, r) (mode "reduced" or "complete"), or r alone (mode "r"); differentiable."""
    out = QR(mode)(a)
    return out if mode == "r" else tuple(out)
