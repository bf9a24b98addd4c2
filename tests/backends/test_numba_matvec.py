"""Matrix-vector products on numba's threads (backends/numba_matvec.py): the two loops against
np.dot in every layout and dtype, and when a graph's products take them."""
import numpy as np
import pytest

import symgraph as sg
from symgraph.backends import numba_matvec
from symgraph.backends import blas
from symgraph.backends.numba_matvec import (COLUMN_SUMS_MIN, MATVEC_MAX, MATVEC_MIN_BYTES, NARROW_COLUMNS,
                                             NARROW_MIN_BYTES, MatVecThunk, column_sums, row_sums)
from tests.conftest import executor_globals

# (rows, columns): rows not a multiple of the column loop's four, one row, one column
SHAPES = [(256, 784), (203, 77), (1, 300), (300, 1), (5, 3)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", SHAPES)
def test_the_loops_are_numpys_products(shape, dtype, rng):
    a = rng.normal(size=shape).astype(dtype)
    v, g = rng.normal(size=shape[1]).astype(dtype), rng.normal(size=shape[0]).astype(dtype)
    rows, columns = np.empty(shape[0], dtype), np.empty(shape[1], dtype)
    row_sums(a, v, rows)
    for blocks in (1, 2, 3):  # (more blocks than a thread each, or rows: empty blocks)
        column_sums(a, g, columns, blocks)
        np.testing.assert_allclose(columns, a.T @ g, rtol=2e-5 if dtype == "float32" else 1e-12, atol=1e-4)
    np.testing.assert_allclose(rows, a @ v, rtol=2e-5 if dtype == "float32" else 1e-12, atol=1e-4)


def test_nans_and_infinities_go_through_as_numpys():
    """fastmath reassociates the row sums only: NaN and inf * 0 stay NaN, inf stays inf."""
    a = np.ones((8, 40), "float32")
    a[1, 3], a[2, 5], a[3, 7] = np.nan, np.inf, -np.inf
    a[4, 1], a[4, 2] = np.inf, -np.inf
    v = np.ones(40, "float32")
    v[9] = 0
    a[5, 9] = np.inf  # inf * 0
    rows, columns = np.empty(8, "float32"), np.empty(40, "float32")
    row_sums(a, v, rows)
    column_sums(a, np.ones(8, "float32"), columns, 2)
    with np.errstate(invalid="ignore"):
        want_rows, want_columns = a @ v, a.T @ np.ones(8, "float32")
    assert np.isnan(rows).sum() == 3 and np.isinf(rows).sum() == 2
    np.testing.assert_array_equal(rows, want_rows)
    np.testing.assert_array_equal(columns, want_columns)


def _counting(monkeypatch):
    """Counts of the two loops' calls, through numba_matvec's names the thunk calls."""
    calls = {"rows": 0, "columns": 0}

    def counted(name, loop):
        def call(*args):
            calls[name] += 1
            return loop(*args)
        return call
    monkeypatch.setattr(numba_matvec, "row_sums", counted("rows", row_sums))
    monkeypatch.setattr(numba_matvec, "column_sums", counted("columns", column_sums))
    return calls


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("form,loop", [("x @ w", "rows"), ("x.T @ g", "columns"), ("g @ x", "columns"),
                                       ("w @ x.T", "rows")])
def test_products_in_the_window_run_the_loops(form, loop, dtype, rng, monkeypatch):
    if numba_matvec.numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one thread: np.dot")
    calls = _counting(monkeypatch)
    x = sg.matrix("x", dtype=dtype)
    v = sg.vector("v", dtype=dtype)
    expression = {"x @ w": sg.dot(x, v), "x.T @ g": sg.dot(x.T, v), "g @ x": sg.dot(v, x),
                  "w @ x.T": sg.dot(v, x.T)}[form]
    f = sg.function([x, v], expression)
    a = rng.normal(size=(400, 700)).astype(dtype)  # (past MATVEC_MIN_BYTES in float32 too)
    length = 700 if form in ("x @ w", "w @ x.T") else 400
    for _ in range(2):
        b = rng.normal(size=length).astype(dtype)
        want = {"x @ w": lambda: a @ b, "x.T @ g": lambda: a.T @ b, "g @ x": lambda: b @ a,
                "w @ x.T": lambda: b @ a.T}[form]()
        got = f(a, b)
        assert got.dtype == dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-4 if dtype == "float32" else 1e-12, atol=1e-3)
    assert calls[loop] == 2 and sum(calls.values()) == 2


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("form,loop", [("x @ W", "rows"), ("x.T @ G", "columns"), ("G.T @ x", "columns"),
                                       ("W.T @ x.T", "rows")])
def test_products_with_a_matrix_of_one_column_or_row_run_the_loops(form, loop, dtype, rng, monkeypatch):
    """Keras's Dense(1): x @ W with W of one column (static), its gradient x.T @ G with G of one
    column; and the same turned round (one row): matrices of one column or row as results."""
    if numba_matvec.numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one thread: np.dot")
    calls = _counting(monkeypatch)
    x = sg.matrix("x", dtype=dtype)
    long = 700 if form in ("x @ W", "W.T @ x.T") else 400
    column = sg.tensor("c", dtype, shape=(None, 1))
    expression = {"x @ W": lambda: sg.dot(x, column), "x.T @ G": lambda: sg.dot(x.T, column),
                  "G.T @ x": lambda: sg.dot(column.T, x), "W.T @ x.T": lambda: sg.dot(column.T, x.T)}[form]()
    f = sg.function([x, column], expression)
    a = rng.normal(size=(400, 700)).astype(dtype)
    c = rng.normal(size=(long, 1)).astype(dtype)
    want = {"x @ W": lambda: a @ c, "x.T @ G": lambda: a.T @ c, "G.T @ x": lambda: c.T @ a,
            "W.T @ x.T": lambda: c.T @ a.T}[form]()
    got = f(a, c)
    assert got.dtype == dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4 if dtype == "float32" else 1e-12, atol=1e-3)
    assert calls[loop] == 1 and sum(calls.values()) == 1
    np.testing.assert_allclose(f(a, np.asfortranarray(rng.normal(size=(long, 1)).astype(dtype))).shape, want.shape)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_dense_layer_of_one_unit_trains_through_the_loops(dtype, rng, monkeypatch):
    """x @ W + b with W of one column is a Gemm, and the weights' SGD update W - lr * x.T @ G an
    in-place one: both products run the loops (forward the row sums, the update's the column
    sums), and five steps give the numpy backend's weights."""
    if numba_matvec.numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one thread: np.dot")
    X = rng.normal(size=(400, 700)).astype(dtype)
    Y = (rng.random((400, 1)) > 0.5).astype(dtype)
    results = []
    for backend in ("numba", "numpy"):
        x, y = sg.matrix("x", dtype=dtype), sg.matrix("y", dtype=dtype)
        W = sg.shared(np.zeros((700, 1), dtype), "W")
        b = sg.shared(np.zeros(1, dtype), "b")
        cost = sg.nn.binary_crossentropy(sg.nn.sigmoid(sg.dot(x, W) + b), y).mean()
        gW, gb = sg.grad(cost, [W, b])
        step = sg.function([x, y], cost, updates=[(W, W - 0.1 * gW), (b, b - 0.1 * gb)], backend=backend)
        if backend == "numba":
            assert sorted(type(n.op).__name__ for n in step.fgraph.apply_nodes if "Gemm" in type(n.op).__name__
                          or type(n.op).__name__ == "Dot") == ["Gemm", "Gemm"]
            calls = _counting(monkeypatch)
        costs = [float(step(X, Y)) for _ in range(5)]
        if backend == "numba":
            assert calls == {"rows": 5, "columns": 5}
            monkeypatch.undo()
        results.append((costs, W.get_value(), b.get_value()))
    (costs, W, b), (want_costs, want_W, want_b) = results
    tolerance = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(costs, want_costs, rtol=tolerance)
    np.testing.assert_allclose(W, want_W, rtol=tolerance * 10, atol=tolerance)
    np.testing.assert_allclose(b, want_b, rtol=tolerance * 10, atol=tolerance)


def test_a_scaled_gemm_of_one_column_runs_the_loops(rng, monkeypatch):
    """c * 3 + 2 * x @ W, W of one column: a Gemm of alpha 2 that writes a new array
    (blas.gemm's path, given the loops' product), the numpy backend's values."""
    if numba_matvec.numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one thread: np.dot")
    calls = _counting(monkeypatch)
    x, c = sg.fmatrix("x"), sg.tensor("c", "float32", shape=(None, 1))
    W = sg.shared(rng.normal(size=(700, 1)).astype("float32"), "W")
    expression = c * 3 + 2 * sg.dot(x, W)
    f = sg.function([x, c], expression)
    assert [str(n.op) for n in f.fgraph.apply_nodes if "Gemm" in str(n.op)] == ["Gemm{alpha=2, beta=1}"]
    a, b = rng.normal(size=(400, 700)).astype("float32"), rng.normal(size=(400, 1)).astype("float32")
    want = sg.function([x, c], expression, backend="numpy")(a, b)
    np.testing.assert_allclose(f(a, b), want, rtol=1e-4, atol=1e-3)
    assert calls == {"rows": 1, "columns": 0}


@pytest.mark.parametrize("shape", [(64, 784), (640, 784)])
def test_products_outside_the_window_are_numpys(shape, rng, monkeypatch):
    """Below MATVEC_MIN_BYTES the threads' start costs more than they save; from MATVEC_MAX
    NumPy's OpenBLAS runs gemv on its own threads."""
    calls = _counting(monkeypatch)
    x, w = sg.fmatrix("x"), sg.fvector("w")
    f = sg.function([x, w], sg.dot(x, w))
    a, b = rng.normal(size=shape).astype("float32"), rng.normal(size=shape[1]).astype("float32")
    assert shape[0] * shape[1] * 4 < MATVEC_MIN_BYTES or shape[0] * shape[1] >= MATVEC_MAX
    np.testing.assert_allclose(f(a, b), a @ b, rtol=1e-4, atol=1e-4)
    assert sum(calls.values()) == 0


@pytest.mark.parametrize("form", ["x @ w", "x.T @ g", "g @ x", "w @ x.T"])
def test_small_products_no_loop_takes_go_to_numpy_before_the_windows_checks(form, rng, monkeypatch):
    """Below MATVEC_MIN_BYTES, summing over more than NARROW_COLUMNS values (a logistic
    regression's 64x784 x @ w, its gradient), no loop takes the product: np.dot, without the
    layout and threads' checks (0.6 us of a 2 us product)."""
    calls = _counting(monkeypatch)

    def no_check():
        raise AssertionError("the threads' check ran for a product no loop takes")
    monkeypatch.setattr(blas, "threads_idle", no_check)
    x, v = sg.fmatrix("x"), sg.fvector("v")
    expression = {"x @ w": sg.dot(x, v), "x.T @ g": sg.dot(x.T, v), "g @ x": sg.dot(v, x),
                  "w @ x.T": sg.dot(v, x.T)}[form]
    f = sg.function([x, v], expression)
    a = rng.normal(size=(64, 784)).astype("float32")
    assert a.nbytes < MATVEC_MIN_BYTES and min(a.shape) > NARROW_COLUMNS
    b = rng.normal(size=784 if form in ("x @ w", "w @ x.T") else 64).astype("float32")
    want = {"x @ w": lambda: a @ b, "x.T @ g": lambda: a.T @ b, "g @ x": lambda: b @ a,
            "w @ x.T": lambda: b @ a.T}[form]()
    np.testing.assert_allclose(f(a, b), want, rtol=1e-4, atol=1e-4)
    assert sum(calls.values()) == 0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_narrow_matrices_take_the_row_sums_from_fewer_bytes(dtype, rng, monkeypatch):
    """A linear regression's few features: x @ w runs the row sums from NARROW_MIN_BYTES
    (OpenBLAS's gemv is slow on narrow rows), x.T @ g stays np.dot's (column sums of few
    columns are slower than OpenBLAS's)."""
    if numba_matvec.numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one thread: np.dot")
    calls = _counting(monkeypatch)
    itemsize = np.dtype(dtype).itemsize
    rows = NARROW_MIN_BYTES // itemsize // 10 + 7
    assert rows * 10 * itemsize < MATVEC_MIN_BYTES and 10 <= NARROW_COLUMNS < COLUMN_SUMS_MIN
    x, v = sg.matrix("x", dtype=dtype), sg.vector("v", dtype=dtype)
    forward, backward = sg.function([x, v], sg.dot(x, v)), sg.function([x, v], sg.dot(x.T, v))
    a = rng.normal(size=(rows, 10)).astype(dtype)
    w, g = rng.normal(size=10).astype(dtype), rng.normal(size=rows).astype(dtype)
    tolerance = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(forward(a, w), a @ w, rtol=tolerance, atol=tolerance)
    assert calls == {"rows": 1, "columns": 0}
    np.testing.assert_allclose(backward(a, g), a.T @ g, rtol=tolerance * 10, atol=tolerance * 10)
    assert calls == {"rows": 1, "columns": 0}
    np.testing.assert_allclose(forward(a[:-8], w), a[:-8] @ w, rtol=tolerance, atol=tolerance)  # (below)
    assert calls == {"rows": 1, "columns": 0}
    tall = rng.normal(size=(MATVEC_MIN_BYTES // itemsize // 10 + 7, 10)).astype(dtype)  # (past both sizes)
    g = rng.normal(size=len(tall)).astype(dtype)
    np.testing.assert_allclose(backward(tall, g), tall.T @ g, rtol=tolerance * 100, atol=tolerance * 100)
    assert calls == {"rows": 1, "columns": 0}


def test_a_product_from_the_window_top_keeps_the_next_ones_off_the_threads(rng, monkeypatch):
    """From MATVEC_MAX OpenBLAS runs gemv on its threads, which then spin: the products right
    after stay np.dot's (blas.threads_idle), the loops' threads not started beside them."""
    if numba_matvec.numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one thread: np.dot always, nothing to keep off the threads")
    calls = _counting(monkeypatch)
    monkeypatch.setattr(blas, "_threads_busy_until", 0.0)
    x, w = sg.fmatrix("x"), sg.fvector("w")
    f = sg.function([x, w], sg.dot(x, w))
    large, small = rng.normal(size=(640, 784)).astype("float32"), rng.normal(size=(256, 784)).astype("float32")
    b = rng.normal(size=784).astype("float32")
    assert blas.threads_idle()
    np.testing.assert_allclose(f(large, b), large @ b, rtol=1e-4, atol=1e-4)
    assert not blas.threads_idle()
    np.testing.assert_allclose(f(small, b), small @ b, rtol=1e-4, atol=1e-4)
    assert sum(calls.values()) == 0
    monkeypatch.setattr(blas, "_threads_busy_until", 0.0)
    np.testing.assert_allclose(f(small, b), small @ b, rtol=1e-4, atol=1e-4)
    assert calls["rows"] == 1


def test_strided_and_mixed_inputs_are_numpys(rng, monkeypatch):
    """A strided vector, a matrix neither C- nor F-ordered, or another dtype: np.dot."""
    calls = _counting(monkeypatch)
    x, w = sg.dmatrix("x"), sg.dvector("w")
    f = sg.function([x, w], sg.dot(x, w))
    a, b = rng.normal(size=(400, 1400)), rng.normal(size=1400)
    np.testing.assert_allclose(f(a[:, ::2], b[::2]), a[:, ::2] @ b[::2], rtol=1e-12)
    np.testing.assert_allclose(f(a[:, :700], b[::2]), a[:, :700] @ b[::2], rtol=1e-12)
    assert sum(calls.values()) == 0


def test_a_wrong_length_is_numpys_error_naming_the_node(rng):
    x, w = sg.fmatrix("x"), sg.fvector("w")
    f = sg.function([x, w], sg.dot(x, w))
    with pytest.raises(ValueError, match="Dot"):
        f(rng.normal(size=(400, 700)).astype("float32"), np.ones(699, "float32"))


def _matvec_thunks(f):
    return [t for k, t in executor_globals(f).items() if k[:1] == "t" and isinstance(t, MatVecThunk)]


def test_graphs_with_other_products_keep_gemv_on_numpy(rng):
    """A matrix product beside the matrix-vector one (an MLP whose output unit has a vector of
    weights) wakes OpenBLAS's threads: the matrix-vector product stays np.dot's."""
    x, w1, w2 = sg.fmatrix("x"), sg.fmatrix("w1"), sg.fvector("w2")
    alone = sg.function([x, w2], sg.dot(x, w2))
    beside = sg.function([x, w1, w2], sg.dot(sg.nn.relu(sg.dot(x, w1)), w2))
    assert all(t.on_threads for t in _matvec_thunks(alone)) == (numba_matvec.numba.config.NUMBA_NUM_THREADS > 1)
    (thunk,) = _matvec_thunks(beside)
    assert not thunk.on_threads
    a, b, c = (rng.normal(size=s).astype("float32") for s in [(400, 700), (700, 700), (700,)])
    np.testing.assert_allclose(beside(a, b, c), np.maximum(a @ b, 0) @ c, rtol=1e-3, atol=1e-2)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_logistic_regression_trains_as_on_the_numpy_backend(dtype, rng, monkeypatch):
    """Theano's tutorial's step (400 rows of 784 features): its two products run the loops
    (where numba has two threads), the weights after five steps those of the numpy backend."""
    X = rng.normal(size=(400, 784)).astype(dtype)
    Y = rng.integers(0, 2, 400).astype(dtype)
    calls = _counting(monkeypatch)
    weights = []
    for backend in ("numba", "numpy"):
        x, y = sg.matrix("x", dtype=dtype), sg.vector("y", dtype=dtype)
        w = sg.shared(np.zeros(784, dtype), "w")
        b = sg.shared(np.asarray(0.0, dtype), "b")
        p = 1 / (1 + sg.exp(-sg.dot(x, w) - b))
        cost = (-y * sg.log(p) - (1 - y) * sg.log(1 - p)).mean() + 0.01 * (w ** 2).sum()
        gw, gb = sg.grad(cost, [w, b])
        step = sg.function([x, y], cost, updates=[(w, w - 0.1 * gw), (b, b - 0.1 * gb)], backend=backend)
        costs = [float(step(X, Y)) for _ in range(5)]
        weights.append((costs, w.get_value(), float(b.get_value())))
    on_threads = numba_matvec.numba.config.NUMBA_NUM_THREADS > 1
    assert calls == ({"rows": 5, "columns": 5} if on_threads else {"rows": 0, "columns": 0})
    (costs, w, b), (want_costs, want_w, want_b) = weights
    tolerance = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(costs, want_costs, rtol=tolerance)
    np.testing.assert_allclose(w, want_w, rtol=tolerance * 10, atol=tolerance)
    assert abs(b - want_b) <= tolerance
