"""Theano's (and PyTensor's) factorizations and the rest of nlinalg / slinalg: cholesky,
solve_triangular, cho_solve, eigh, eigvalsh, svd, qr, slogdet, pinv, expm, norm, kron,
matrix_power, matrix_dot. Values against NumPy and SciPy on both CPU backends, gradients
against finite differences in float64 (on the triangle a factorization reads), bad input."""
import numpy as np
import pytest
import scipy.linalg

import symgraph as sg
from symgraph.backends import numba_cpu

RNG = np.random.default_rng(81)
N = 4
A = RNG.normal(size=(N, N))
SPD = A @ A.T + N * np.eye(N)  # (positive definite, eigenvalues well apart)
LOWER = np.tril(RNG.normal(size=(N, N))) + 3 * np.eye(N)
GARBAGE_ABOVE = LOWER + np.triu(RNG.normal(size=(N, N)), 1) * 100  # (the triangle not read)
B = RNG.normal(size=(N, 2))
TALL = RNG.normal(size=(5, 3))
WIDE = RNG.normal(size=(3, 5))
SMALL = A / 4  # (expm's argument: modest norm)


def _cases():
    la = sg.slinalg
    return [
        (lambda a, b: la.cholesky(a), lambda a, b: np.linalg.cholesky(a), [SPD, B]),
        (lambda a, b: la.cholesky(a, lower=False), lambda a, b: np.linalg.cholesky(a).T, [SPD, B]),
        (lambda a, b: la.solve_triangular(a, b, lower=True),
         lambda a, b: scipy.linalg.solve_triangular(np.tril(a), b, lower=True), [GARBAGE_ABOVE, B]),
        (lambda a, b: la.solve_upper_triangular(a.T, b[:, 0]),
         lambda a, b: np.linalg.solve(np.triu(a.T), b[:, 0]), [LOWER, B]),
        (lambda a, b: la.solve_triangular(a, b, lower=True, unit_diagonal=True),
         lambda a, b: np.linalg.solve(np.tril(a, -1) + np.eye(N), b), [GARBAGE_ABOVE, B]),
        (lambda a, b: la.cho_solve((la.cholesky(a), True), b), lambda a, b: np.linalg.solve(a, b), [SPD, B]),
        (lambda a, b: la.eigh(a)[0], lambda a, b: np.linalg.eigh(a)[0], [SPD, B]),
        (lambda a, b: abs(la.eigh(a, "U")[1]), lambda a, b: abs(np.linalg.eigh(a, "U")[1]), [GARBAGE_ABOVE, B]),
        (lambda a, b: la.eigvalsh(a), lambda a, b: np.linalg.eigvalsh(a), [GARBAGE_ABOVE, B]),
        (lambda a, b: la.svd(a, compute_uv=False), lambda a, b: np.linalg.svd(a, compute_uv=False), [TALL, B]),
        (lambda a, b: sg.dot(la.svd(a)[0][:, :3] * la.svd(a)[1], la.svd(a)[2]), lambda a, b: a, [TALL, B]),
        (lambda a, b: la.svd(a, full_matrices=False)[0].shape, lambda a, b: np.array([3, 3]), [WIDE, B]),
        (lambda a, b: sg.dot(*la.qr(a)), lambda a, b: a, [WIDE, B]),
        (lambda a, b: abs(la.qr(a, "r")), lambda a, b: abs(np.linalg.qr(a, "r")), [TALL, B]),
        (lambda a, b: la.qr(a, "complete")[0].shape, lambda a, b: np.array([5, 5]), [TALL, B]),
        (lambda a, b: sg.stack(la.slogdet(a)), lambda a, b: np.array(np.linalg.slogdet(a)), [A, B]),
        (lambda a, b: la.pinv(a), lambda a, b: np.linalg.pinv(a), [TALL, B]),
        (lambda a, b: la.expm(a), lambda a, b: scipy.linalg.expm(a), [SMALL, B]),
        (lambda a, b: la.kron(a, b), lambda a, b: np.kron(a, b), [A, B]),
        (lambda a, b: la.kron(b[:, 0], a), lambda a, b: np.kron(b[:, 0], a), [A, B]),
        (lambda a, b: la.matrix_power(a, 5), lambda a, b: np.linalg.matrix_power(a, 5), [A, B]),
        (lambda a, b: la.matrix_power(a, -2), lambda a, b: np.linalg.matrix_power(a, -2), [A, B]),
        (lambda a, b: la.matrix_power(a, 0), lambda a, b: np.eye(N), [A, B]),
        (lambda a, b: la.matrix_dot(a, b, b.T), lambda a, b: a @ b @ b.T, [A, B]),
    ]


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_values_match_numpy_and_scipy(backend):
    b = sg.dmatrix("b")
    for k, (fn, want, (pa, pb)) in enumerate(_cases()):
        a = sg.dmatrix("a")
        f = sg.function([a, b], fn(a, b), backend=backend, on_unused_input="ignore")
        np.testing.assert_allclose(f(pa, pb), want(pa, pb), rtol=1e-9, atol=1e-12, err_msg=f"case {k}")
        if backend == "numba":
            assert all(isinstance(node.op, numba_cpu.NATIVE) for node in f.fgraph.apply_nodes), f"case {k}"


NORMS = [(None, None), (2, 0), (1, 1), (np.inf, 1), (-np.inf, 0), (0, 1), (3, 0), (0.5, 1),
         ("fro", None), ("nuc", None), (1, None), (-1, None), (np.inf, None), (-np.inf, None),
         (2, None), (-2, None), (2, (1, 0)), ("nuc", (1, 0)), (1, (1, 0)), (np.inf, (1, 0))]


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_norms_match_numpy(backend):
    x = sg.dmatrix("x")
    m = A.copy()
    m[0, 1] = 0.0  # (ord 0 counts the nonzero entries)
    outs = [sg.nlinalg.norm(x, ord, axis) for ord, axis in NORMS]
    outs += [sg.nlinalg.norm(x, 2, 1, keepdims=True), sg.nlinalg.norm(x, keepdims=True),
             sg.nlinalg.norm(x[0], np.inf), sg.nlinalg.norm(x.dimshuffle("x", 0, 1), axis=(1, 2))]
    got = sg.function([x], outs, backend=backend)(m)
    want = [np.linalg.norm(m, ord, axis) for ord, axis in NORMS]
    want += [np.linalg.norm(m, 2, 1, keepdims=True), np.linalg.norm(m, keepdims=True),
             np.linalg.norm(m[0], np.inf), np.linalg.norm(m[None], axis=(1, 2))]
    for k, (g, w) in enumerate(zip(got, want)):
        assert np.shape(g) == np.shape(w), k
        np.testing.assert_allclose(g, w, rtol=1e-12, err_msg=f"norm {k}")


def test_norm_of_integers_is_float64():
    i = sg.ivector("i")
    out = sg.function([i], sg.nlinalg.norm(i, 1))(np.array([3, -4], "int32"))
    assert out.dtype == np.float64 and out == 7.0


@pytest.mark.parametrize("fn, point", [
    (lambda a: sg.slinalg.cholesky(a), SPD),  # (the upper triangle's finite differences are zero)
    (lambda a: sg.slinalg.cholesky(a, lower=False), SPD),
    (lambda x: sg.slinalg.cholesky(sg.dot(x, x.T) + 4 * sg.eye(4)), A),
    (lambda a: sg.slinalg.solve_triangular(a, B, lower=True), GARBAGE_ABOVE),
    (lambda a: sg.slinalg.solve_triangular(a.T, B[:, 0], lower=False, unit_diagonal=True), GARBAGE_ABOVE),
    (lambda b: sg.slinalg.solve_lower_triangular(LOWER, b), B),
    (lambda a: sg.slinalg.cho_solve((sg.slinalg.cholesky(a), True), B), SPD),
    (lambda a: sg.nlinalg.eigh(a)[0], SPD),
    (lambda a: sg.nlinalg.eigh(a)[1], SPD),
    (lambda a: sg.nlinalg.eigh(a, "U")[1] * 2 + sg.nlinalg.eigh(a, "U")[0], GARBAGE_ABOVE),
    (lambda a: sg.slinalg.eigvalsh(a), SPD),
    (lambda a: sg.nlinalg.svd(a, compute_uv=False), TALL),
    (lambda a: sg.nlinalg.svd(a, full_matrices=False)[0], TALL),
    (lambda a: sg.nlinalg.svd(a, full_matrices=False)[2], WIDE),
    (lambda a: sg.concatenate([sg.nlinalg.svd(a)[0][:, :3], sg.nlinalg.svd(a)[2]]), TALL),
    (lambda a: sg.nlinalg.svd(a)[0] + sg.nlinalg.svd(a)[2].T, A),
    (lambda a: sg.nlinalg.qr(a)[0], TALL),
    (lambda a: sg.nlinalg.qr(a)[1], TALL),
    (lambda a: sg.nlinalg.qr(a)[0] + sg.nlinalg.qr(a)[1].T, A),
    (lambda a: sg.concatenate([sg.nlinalg.qr(a)[0], sg.nlinalg.qr(a)[1]], axis=1), WIDE),
    (lambda a: sg.nlinalg.qr(a, "complete")[0][:, :3], TALL),
    (lambda a: sg.nlinalg.qr(a, "r"), WIDE),
    (lambda a: sg.nlinalg.slogdet(a)[1], A),
    (lambda a: sg.nlinalg.pinv(a), TALL),
    (lambda a: sg.nlinalg.pinv(a), WIDE),
    (lambda a: sg.slinalg.expm(a), SMALL),
    (lambda a: sg.slinalg.kron(a, B), A),
    (lambda a: sg.nlinalg.matrix_power(a, 3) + sg.nlinalg.matrix_power(a, -1), A),
    (lambda a: sg.stack([sg.nlinalg.norm(a, "nuc"), sg.nlinalg.norm(a, 2), sg.nlinalg.norm(a, 1),
                         sg.nlinalg.norm(a, 3, axis=0).sum()]), A),
], ids=["cholesky", "cholesky-upper", "cholesky-of-product", "solve-lower", "solve-unit-upper", "solve-b",
        "cho_solve", "eigh-values", "eigh-vectors", "eigh-upper", "eigvalsh", "svd-values", "svd-u-tall",
        "svd-vh-wide", "svd-full-tall", "svd-full-square", "qr-q-tall", "qr-r-tall", "qr-square",
        "qr-wide", "qr-complete", "qr-r-mode", "slogdet", "pinv-tall", "pinv-wide", "expm", "kron",
        "matrix_power", "norms"])
def test_gradients_match_finite_differences(fn, point):
    sg.verify_grad(fn, [point], rng=np.random.default_rng(2))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("fn, point", [
    (lambda a: sg.nlinalg.qr(a)[0] + sg.nlinalg.qr(a)[1].T, A),
    (lambda a: sg.nlinalg.qr(a)[0], TALL),
    (lambda a: sg.concatenate([sg.nlinalg.qr(a)[0], sg.nlinalg.qr(a)[1]], axis=1), WIDE),
    (lambda a: sg.nlinalg.qr(a, "complete")[1], TALL),
    (lambda a: sg.nlinalg.qr(a, "r"), WIDE),
    (lambda a: sg.slinalg.cholesky(a), SPD),
    (lambda a: sg.nlinalg.eigh(a)[1], SPD),
    (lambda a: sg.nlinalg.svd(a, full_matrices=False)[0], TALL),
    (lambda a: sg.nlinalg.slogdet(a)[1], A),
], ids=["qr-square", "qr-q-tall", "qr-wide", "qr-complete", "qr-r-mode", "cholesky", "eigh-vectors", "svd-u-tall",
        "slogdet"])
def test_second_derivatives_match_finite_differences(fn, point, backend):
    """The gradients are graphs that differentiate again (QR's had been an op without a gradient
    of its own: 'QRGrad has no gradient'): the gradient of the sum of squares, checked as a
    function in its turn."""
    sg.verify_grad(lambda a: sg.grad((fn(a) ** 2).sum(), a), [point], rng=np.random.default_rng(3), backend=backend)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_repeated_eigenvalues_and_singular_values_have_their_gradients(backend):
    """Eigenvalues or singular values alone differentiate at a repeated one (x ones + 2 I: two
    equal): their gradient has no eigenvector term, whose gaps are 0 there (it had been 0 * inf,
    NaN, though nothing read the vectors)."""
    x = sg.dscalar("x")
    m = sg.ones((3, 3)) * x * 0.3 + 2 * sg.eye(3)
    w = sg.constant(np.array([1.0, 2.0, 3.0]))
    outs = [sg.nlinalg.eigh(m + m.T)[0], sg.slinalg.eigvalsh(m + m.T), sg.nlinalg.svd(m)[1],
            sg.nlinalg.svd(m, full_matrices=False)[1]]
    got = sg.function([x], [sg.grad((o * w).sum(), x) for o in outs], backend=backend)(0.7)
    # eigenvalues 4, 4, 4 + 1.8 x (ascending); singular values 2 + 0.9 x, 2, 2 (descending)
    np.testing.assert_allclose(got, [3 * 1.8, 3 * 1.8, 0.9, 0.9], rtol=1e-12)


def test_gradients_on_the_numba_backend():
    sg.verify_grad(lambda a: sg.nlinalg.eigh(a)[1] + sg.slinalg.cholesky(a), [SPD], backend="numba")
    sg.verify_grad(lambda a: sg.nlinalg.svd(a, full_matrices=False)[0] + sg.nlinalg.qr(a)[0], [TALL],
                   backend="numba")


def test_gaussian_process_evidence_and_its_gradient():
    """A GP's negative log marginal likelihood, written as a Theano user would (cholesky,
    cho_solve, the log of the factor's diagonal): NumPy's value, and a gradient step on the log
    length scale and noise that lowers it."""
    rng = np.random.default_rng(3)
    xs = np.sort(rng.uniform(-3, 3, 30))
    ys = np.sin(xs) + 0.1 * rng.normal(size=30)
    log_scale, log_noise = sg.shared(np.log(0.3), "log_scale"), sg.shared(np.log(0.5), "log_noise")
    x, y = sg.dvector("x"), sg.dvector("y")
    sq = (x.dimshuffle(0, "x") - x.dimshuffle("x", 0)) ** 2
    k = sg.exp(-sq / (2 * sg.exp(2 * log_scale))) + sg.exp(2 * log_noise) * sg.eye(x.shape[0])
    chol = sg.slinalg.cholesky(k)
    alpha = sg.slinalg.cho_solve((chol, True), y)
    nll = 0.5 * sg.dot(y, alpha) + sg.log(sg.diag(chol)).sum() + 0.5 * x.shape[0] * np.log(2 * np.pi)
    params = [log_scale, log_noise]
    step = sg.function([x, y], nll, updates=[(p, p - 0.01 * g) for p, g in zip(params, sg.grad(nll, params))])

    kk = np.exp(-(xs[:, None] - xs[None]) ** 2 / (2 * 0.3 ** 2)) + 0.25 * np.eye(30)
    want = 0.5 * ys @ np.linalg.solve(kk, ys) + 0.5 * np.linalg.slogdet(kk)[1] + 15 * np.log(2 * np.pi)
    first = step(xs, ys)
    np.testing.assert_allclose(first, want, rtol=1e-10)
    for _ in range(50):
        last = step(xs, ys)
    assert last < first - 1.0


def test_float32_stays_float32():
    a = sg.fmatrix("a")
    outs = sg.function([a], [sg.slinalg.cholesky(a), *sg.nlinalg.eigh(a), *sg.nlinalg.svd(a), sg.slinalg.expm(a),
                             sg.nlinalg.pinv(a), sg.slinalg.solve_triangular(a, a, lower=True)])(SPD.astype("float32"))
    assert all(o.dtype == np.float32 for o in outs)


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="square matrix"):
        sg.slinalg.cholesky(sg.tensor("r", "float64", (2, 3)))
    with pytest.raises(ValueError, match="float matrix"):
        sg.nlinalg.eigh(sg.imatrix("i"))
    with pytest.raises(ValueError, match="vector or matrix b"):
        sg.slinalg.solve_triangular(sg.dmatrix("m"), sg.fvector("f"))
    with pytest.raises(ValueError, match="mode"):
        sg.nlinalg.qr(sg.dmatrix("m"), "raw")
    with pytest.raises(ValueError, match="UPLO"):
        sg.nlinalg.eigh(sg.dmatrix("m"), "X")
    with pytest.raises(NotImplementedError, match="generalized"):
        sg.slinalg.eigvalsh(sg.dmatrix("m"), sg.dmatrix("n"))
    with pytest.raises(ValueError, match="matrix norm"):
        sg.nlinalg.norm(sg.dvector("v"), "fro")
    with pytest.raises(ValueError, match="invalid ord"):
        sg.nlinalg.norm(sg.dmatrix("m"), 3)
    with pytest.raises(TypeError, match="integer"):
        sg.nlinalg.matrix_power(sg.dmatrix("m"), 1.5)
    a = sg.dmatrix("a")
    f = sg.function([a], sg.slinalg.cholesky(a))
    with pytest.raises(np.linalg.LinAlgError, match="not positive definite"):
        f(-SPD)
