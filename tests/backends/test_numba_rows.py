"""The Numba backend's row kernels (softmax, log_softmax, logsumexp, softmax crossentropy) and
its vectorized reductions, against the NumPy reference: NaN/inf rows, negative and bad targets,
other axes, zero-size inputs, the parallel kernels."""
import itertools
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import symgraph as sg
from tests.conftest import compiles_in_a_fresh_process_without_np_empty, executor_globals
from symgraph.backends import numba_codegen, numba_cpu, numba_rows
from symgraph.ops import reduce as R


# (as numba_cpu sets them, before compiled_even_when_small lowers them)
VECTOR_SUM_BY_NUMPY, MINMAX_BY_NUMPY_BYTES = numba_cpu.VECTOR_SUM_BY_NUMPY, numba_cpu.MINMAX_BY_NUMPY_BYTES
PARTIAL_REDUCE_BY_NUMPY = numba_cpu.PARTIAL_REDUCE_BY_NUMPY


@pytest.fixture(autouse=True)
def compiled_even_when_small(monkeypatch):
    """Small inputs of these ops run NumPy's reference (see numba_cpu.SMALL_BY_NUMPY); the tests
    use small arrays, so they lower that bound to test the compiled loops."""
    monkeypatch.setattr(numba_cpu, "SMALL_BY_NUMPY", 0)
    monkeypatch.setattr(numba_cpu, "PARTIAL_REDUCE_BY_NUMPY", 0)
    monkeypatch.setattr(numba_cpu, "MINMAX_BY_NUMPY_BYTES", 0)
    monkeypatch.setattr(numba_cpu, "VECTOR_SUM_BY_NUMPY", 0)


def run_both(inputs, output, *values):
    got = sg.function(inputs, output, backend="numba")
    want = sg.function(inputs, output, backend="numpy")(*values)
    return got, got(*values), want


def row_thunks(f):
    return [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.RowThunk)]


def awkward_rows(rng, dtype, shape=(6, 3, 7)):
    v = (rng.normal(size=shape) * 4).astype(dtype)
    v[0, 0, 2] = np.nan
    v[0, 1, 3] = np.inf
    v[1, 0, :] = -np.inf
    v[1, 1, :] = np.inf
    v[2, 0, :] = 80  # exp overflows without the shift by the maximum
    return v


ROW_OPS = {
    "softmax": lambda x: sg.nn.softmax(x),
    "log_softmax": lambda x: sg.nn.log_softmax(x),
    "logsumexp_last": lambda x: sg.logsumexp(x, axis=-1),
    "logsumexp_all": lambda x: sg.logsumexp(x),
    "logsumexp_keepdims": lambda x: sg.logsumexp(x, axis=2, keepdims=True),
    # other axes, moved last (a transposed copy, then rows of their length)
    "logsumexp_first": lambda x: sg.logsumexp(x, axis=0),
    "logsumexp_outer_two": lambda x: sg.logsumexp(x, axis=(0, 2)),
    "logsumexp_middle_keepdims": lambda x: sg.logsumexp(x, axis=1, keepdims=True),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(ROW_OPS))
def test_row_ops_match_the_reference_with_nan_and_inf(name, dtype, rng):
    x = sg.tensor("x", dtype=dtype, ndim=3)
    value = awkward_rows(rng, dtype)
    f, got, want = run_both([x], ROW_OPS[name](x), value)
    assert got.shape == want.shape and got.dtype == want.dtype
    tol = 2e-6 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True)
    thunks = row_thunks(f)
    assert thunks and all(t.kernels for t in thunks)  # the compiled loop ran, not NumPy


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_crossentropy_with_integer_and_dense_targets(dtype, rng):
    x = sg.tensor("x", dtype=dtype, ndim=2)
    xv = (rng.normal(size=(40, 9)) * 3).astype(dtype)
    t = sg.ivector("t")
    tv = rng.integers(-9, 9, 40).astype("int32")  # negative targets count from the end, as in NumPy
    f, got, want = run_both([x, t], sg.nn.categorical_crossentropy(x, t, from_logits=True), xv, tv)
    # (a loss near 0 is log of a float32 row sum near 1: absolute errors of 1e-7 on both sides)
    np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-6 if dtype == "float32" else 0)
    assert all(th.kernels for th in row_thunks(f))
    dense = sg.tensor("d", dtype=dtype, ndim=2)
    dv = rng.dirichlet(np.ones(9), 40).astype(dtype)
    f, got, want = run_both([x, dense], sg.nn.categorical_crossentropy(x, dense, from_logits=True), xv, dv)
    np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-6 if dtype == "float32" else 0)
    assert all(th.kernels for th in row_thunks(f))
    one_row = sg.tensor("r", dtype, (1, 9))  # one distribution for every row, broadcast
    f, got, want = run_both([x, one_row], sg.nn.categorical_crossentropy(x, one_row, from_logits=True), xv, dv[:1])
    np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-6 if dtype == "float32" else 0)
    assert all(th.kernels for th in row_thunks(f))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [1, 10, 31, 32, 40])
@pytest.mark.exhaustive
def test_short_rows_in_blocks_of_rows_and_the_rows_left_over(n, dtype, rng):
    """Rows shorter than numba_rows.SHORT go numba_rows.BLOCK at a time through a transposed
    block; 37 rows are two blocks and a third of 5 rows padded with the last (here -inf: its
    padding lanes are NaN, not written), with NaN, inf and -inf rows inside the blocks. Only
    the kernel for the row length is compiled; the parallel one gives the serial one's numbers.
    Rows of one value take no row loop but crossentropy's (softmax 1, log_softmax 0, logsumexp
    the value: numba_cpu's AlongLastAxisThunk and LogSumExpThunk)."""
    x, t, d = sg.tensor("x", dtype=dtype, ndim=2), sg.ivector("t"), sg.tensor("d", dtype=dtype, ndim=2)
    xv = (rng.normal(size=(37, n)) * 4).astype(dtype)
    xv[3, 0], xv[5, -1], xv[7, :], xv[20, :], xv[34, -1], xv[36, :] = np.nan, np.inf, -np.inf, 80, np.nan, -np.inf
    tv = rng.integers(-n, n, 37).astype("int32")
    dv = rng.dirichlet(np.ones(n), 37).astype(dtype)
    cases = [([x], [sg.nn.softmax(x), sg.nn.log_softmax(x), sg.logsumexp(x, axis=1)], (xv,)),
             ([x, t], [sg.nn.categorical_crossentropy(x, t, from_logits=True)], (xv, tv)),
             ([x, d], [sg.nn.categorical_crossentropy(x, d, from_logits=True)], (xv, dv))]
    tol = 2e-6 if dtype == "float32" else 1e-13
    for inputs, outputs, values in cases:
        f, got, want = run_both(inputs, outputs, *values)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol, equal_nan=True)
        for thunk in row_thunks(f):
            if n == 1 and not thunk.kind.startswith("crossentropy"):
                assert not thunk.kernels
                continue
            assert {short for _, short in thunk.kernels} == {n < numba_rows.SHORT}
            rows = [values[0]] + ([values[1]] if thunk.kind.startswith("crossentropy") else [])
            shape = xv.shape if thunk.kind in ("softmax", "log_softmax") else xv.shape[:1]
            serial, parallel = np.empty(shape, dtype), np.empty(shape, dtype)
            thunk._kernel(False, n)(*rows, serial)
            thunk._kernel(True, n)(*rows, parallel)
            np.testing.assert_array_equal(serial, parallel)


@pytest.mark.parametrize("rows", [3, 40])  # 40: in a block of 16 rows (numba_rows.BLOCK), and left over
def test_crossentropy_target_out_of_range_raises_like_numpy(rows, rng):
    x, t = sg.fmatrix("x"), sg.ivector("t")
    f = sg.function([x, t], sg.nn.categorical_crossentropy(x, t, from_logits=True), backend="numba")
    xv = rng.normal(size=(rows, 4)).astype("float32")
    for bad in (4, -5):
        for row in sorted({1, rows - 1}):
            targets = np.zeros(rows, "int32")
            targets[row] = bad
            with pytest.raises(IndexError, match=f"index {bad} is out of bounds for axis 1 with size 4"):
                f(xv, targets)


def test_other_axes_and_empty_inputs_match_the_reference(rng):
    x = sg.dtensor3("x")
    value = rng.normal(size=(4, 5, 6))
    for expr in (sg.nn.softmax(x, axis=1), sg.nn.log_softmax(x, axis=0), sg.logsumexp(x, axis=(0, 2))):  # (logsumexp: rows)
        _, got, want = run_both([x], expr, value)
        np.testing.assert_allclose(got, want, rtol=1e-13)
    for expr in (sg.nn.softmax(x), sg.logsumexp(x, axis=-1), sg.logsumexp(x), sg.logsumexp(x, axis=1),
                 sg.logsumexp(x, axis=0)):
        _, got, want = run_both([x], expr, np.zeros((2, 0, 3)))
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)


def test_large_rows_take_the_parallel_kernel(rng):
    x = sg.fmatrix("x")
    value = rng.normal(size=(numba_cpu.codegen.PARALLEL_THRESHOLD // 100, 200)).astype("float32")
    f, got, want = run_both([x], sg.nn.softmax(x), value)
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-9)
    assert (True, False) in row_thunks(f)[0].kernels
    f, got, want = run_both([x], sg.logsumexp(x, axis=0), value)  # columns: down them, on both cores
    np.testing.assert_allclose(got, want, rtol=2e-6)
    assert list(row_thunks(f)[0].columns) == [True]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("parallel", [False, True])
def test_logsumexp_over_leading_axes_runs_down_the_columns(dtype, parallel, rng, monkeypatch):
    """Over the leading axes of a C-ordered array with numba_cpu.LogSumExpThunk.COLUMNS_MIN
    values or more left a row: numba_rows.column_kernel (one row range a thread where
    parallel), NaN, inf, -inf, columns of -inf and of large values as the reference; fewer
    columns, or a strided x, take the transposed rows."""
    monkeypatch.setattr(numba_cpu.codegen, "COSTLY_THRESHOLD", 0 if parallel else 1 << 40)
    x = sg.tensor("x", dtype=dtype, ndim=3)
    value = (rng.normal(size=(37, 5, 40)) * 4).astype(dtype)
    value[3, 0, 2], value[5, 1, 3], value[:, 2, 4], value[:, 3, 5], value[7, 4, 6] = np.nan, np.inf, -np.inf, 80, -np.inf
    value[:, 4, 7] = np.inf
    value[-1, 0, 8] = 100 if dtype == "float32" else 800  # (in the last row range only: exp overflows unshifted)
    tol = 2e-6 if dtype == "float32" else 1e-13
    for expr, columns in [(sg.logsumexp(x, axis=0), True), (sg.logsumexp(x, axis=(0, 1), keepdims=True), True),
                          (sg.logsumexp(x, axis=(0, 1, 2)), False), (sg.logsumexp(x[:, :, :20], axis=0), False)]:
        f, got, want = run_both([x], expr, value)
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True)
        (thunk,) = row_thunks(f)
        assert list(thunk.columns) == ([parallel] if columns else []), expr
        assert bool(thunk.kernels) != columns  # (the row loop not compiled where unused)
    f, got, want = run_both([x], sg.logsumexp(x, axis=0), value[:, ::-1])  # (not C-ordered: rows)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True)
    assert not row_thunks(f)[0].columns


@pytest.mark.parametrize("n", [10, 64])
def test_rows_go_parallel_from_the_costly_loops_threshold(n, rng):
    """Every row kernel computes exponentials, so it splits its rows between cores from
    COSTLY_THRESHOLD elements (as an elementwise exp loop does), not PARALLEL_THRESHOLD."""
    assert numba_cpu.codegen.COSTLY_THRESHOLD * 2 < numba_cpu.codegen.PARALLEL_THRESHOLD
    x = sg.fmatrix("x")
    value = rng.normal(size=(numba_cpu.codegen.COSTLY_THRESHOLD * 2 // n, n)).astype("float32")
    for expr in (sg.nn.softmax(x), sg.logsumexp(x, axis=1)):
        f, got, want = run_both([x], expr, value)
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6)
        assert list(row_thunks(f)[0].kernels) == [(True, numba_rows.blocked(n))]
    f, got, want = run_both([x], sg.nn.softmax(x), value[:100])  # below it: serial
    assert list(row_thunks(f)[0].kernels) == [(False, numba_rows.blocked(n))]


@pytest.mark.parametrize("kind", ["sum", "prod", "max", "min"])
@pytest.mark.parametrize("axis", [0, (0, 1), 1, None])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_reductions_propagate_nan_and_inf_in_either_loop_order(kind, axis, dtype, rng):
    # axis 0 and (0, 1) keep the last axis (the kept axes run inside); 1 and None reduce it
    x = sg.tensor("x", dtype=dtype, ndim=3)
    value = rng.uniform(0.5, 1.5, (5, 4, 6)).astype(dtype)
    value[1, 2, 3] = np.nan
    value[2, 1, 0] = np.inf
    value[3, 0, 5] = -np.inf
    _, got, want = run_both([x], getattr(x * 1, kind)(axis=axis), value)
    np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == "float32" else 1e-13, equal_nan=True)


@pytest.mark.parametrize("kind", ["max", "min"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.exhaustive
def test_max_and_min_along_rows_fold_their_rest_as_one_more_full_step(kind, dtype, rng):
    """Rows not a multiple of the vector loop's step fold their rest as a full step ending at
    the row's end (numba_codegen._WINDOW): every length around the step and a quarter of it,
    with each row's extreme, a NaN or an inf put just before, in and after
    the values folded twice; fused (abs) and plain, along the last axis of 2-d and 3-d."""
    x = sg.tensor("x", dtype=dtype, ndim=2)
    step = numba_codegen._WINDOW // np.dtype(dtype).itemsize
    big = np.inf if kind == "max" else -np.inf
    for n in sorted({1, step // 4, step // 4 + 1, step - 1, step, step + 1, step + step // 4,
                     step + step // 4 + 1, 2 * step - 1, 100, 1000}):
        value = rng.uniform(-1, 1, (8, n)).astype(dtype)
        for row, where in enumerate([0, n - 1, max(n - step, 0), max(n - step - 1, 0), n - n % step - 1,
                                     n - n % step]):
            value[row, min(max(where, 0), n - 1)] = 5 if kind == "max" else -5
        value[6, n // 2], value[7, n - 1] = np.nan, big
        for expr in (getattr(x, kind)(axis=1), getattr(abs(x) * sg.sign(x), kind)(axis=1)):
            _, got, want = run_both([x], expr, value)
            np.testing.assert_array_equal(got, want)
    y = sg.tensor("y", dtype=dtype, ndim=3)
    value = rng.uniform(-1, 1, (3, 4, 100)).astype(dtype)
    value[1, 2, 97] = np.nan
    for axis in (2, (1, 2)):
        _, got, want = run_both([y], getattr(y, kind)(axis=axis), value)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kind", ["max", "min"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_max_and_min_into_one_accumulator_fold_numbers_and_note_nan_apart(kind, dtype, rng, monkeypatch):
    """A float max or min folded into one accumulator (along rows, over a whole array, in a
    parallel chunk) folds by LLVM's maxnum/minnum for numbers and notes a NaN in a flag beside
    it (numba_codegen._FOLDS_OF_NUMBERS): a NaN first, last, in the vector loop's middle, in
    the rest, among infinities, a row of NaN, a row of the fold's start value, rows of one
    value; serial and parallel; the folds into an array (over leading axes) keep LLVM's
    NaN-propagating fold."""
    sources = []
    real = numba_codegen._compile
    monkeypatch.setattr(numba_codegen, "_compile", lambda source: sources.append(source) or real(source))
    monkeypatch.setattr(numba_codegen, "PARALLEL_THRESHOLD", 4096)
    start, other = (-np.inf, np.inf) if kind == "max" else (np.inf, -np.inf)
    x = sg.tensor("x", dtype=dtype, ndim=2)
    for n in (1, 7, 100, 1000):
        for rows in (9, 40):  # (40 rows of 1000: parallel)
            value = rng.uniform(-1, 1, (rows, n)).astype(dtype)
            spots = {0: 0, 1: n - 1, 2: n // 2, 3: max(n - 3, 0)}
            for row, at in spots.items():
                value[row, at] = np.nan
            value[4, :], value[5, :], value[6, :] = np.nan, start, other
            value[7, 0], value[7, -1] = other, np.nan
            value[8, :] = 0.25
            for expr in (getattr(x, kind)(axis=1), getattr(x, kind)(axis=0), getattr(x, kind)(),
                         getattr(x * 2 - 1, kind)(axis=1), getattr(x[:, :1], kind)()):
                _, got, want = run_both([x], expr, value)
                np.testing.assert_array_equal(got, want)
            whole = value[8:]  # (no NaN: the fold's own result; then one NaN in it)
            for at in (None, (0, 0), ((rows - 8) // 2, n // 2), (-1, -1)):
                if at is not None:
                    whole = value[8:].copy()
                    whole[at] = np.nan
                _, got, want = run_both([x], getattr(x, kind)(), whole)
                np.testing.assert_array_equal(got, want)
    # Over leading axes, the elementwise maximum's form: NumPy's signed zero on a tie (the later)
    ties = np.array([[0.0, -0.0, 1.0], [-0.0, 0.0, 1.0]], dtype)
    _, got, want = run_both([x], getattr(x, kind)(axis=0), ties)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    assert any(f"fold_{kind}_of_numbers(acc, folded)" in s and "seen |= folded != folded" in s and "prange" in s
               for s in sources)  # (a parallel chunk's fold)
    across = numba_codegen._FOLDS_ACROSS[kind].src.format("out[k0]", "folded")
    assert any(f"out[k0] = {across}" in s for s in sources)
    # LLVM's NaN-propagating fold only where the chunks' results are folded
    calls = {line.strip() for s in sources for line in s.splitlines() if f"fold_{kind}(" in line}
    assert calls == {f"acc = fold_{kind}(acc, np.{dtype}(partial[c]))"}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_long_rows_take_their_maximum_by_the_fold_of_numbers(dtype):
    """The row kernels' maximum over rows from numba_rows.SHORT values folds by
    fold_max_of_numbers with the NaN flag (a row's NaN makes its sum NaN either way, so the
    values above cannot tell; the flag keeps the maximum defined where the fold's is not)."""
    for kind in sorted(numba_rows._FINISH):  # (every kind: softmax, logsumexp, the crossentropies)
        source = numba_rows.row_source(kind, dtype, False, False)
        assert "m = fold_max_of_numbers(m, v)" in source and "seen |= v != v" in source, kind
        assert "fold_max(" not in source and f"m = np.{dtype}(np.nan)" in source, kind


ROW_STEP = numba_codegen._WINDOW // 4  # float32 values a step of the vector loop folds
ROW_LENGTHS = sorted({1, 16, 17, 40, ROW_STEP - 1, ROW_STEP, ROW_STEP + 16, ROW_STEP + 17, 100, 2 * ROW_STEP - 1,
                      2 * ROW_STEP + 40, 1000})


def rows_with_values_in_the_overlap(rng, n, rows=8):
    """float32 rows of n values with a large one at each place the last step starts, ends or
    overlaps the ones before (a value added twice, or not at all, moves the sum by ~8)."""
    value = rng.uniform(0.5, 1.5, (rows, n)).astype("float32")
    main = n - n % ROW_STEP
    for row, where in enumerate([0, n - 1, n - ROW_STEP, main - 1, main, n - ROW_STEP - 1]):
        value[row, min(max(where, 0), n - 1)] = 8
    return value


def test_float32_sums_along_rows_add_their_rest_as_one_masked_step(rng):
    """Rows of float32 whose rest past the vector loop's last full step is a quarter step or
    more are summed with one more full step ending at the row's end, the values already added
    counted as 0 (numba_codegen._WINDOW): plain, fused and mean sums, 2-d and 3-d, against
    float64 sums of the same values."""
    x = sg.tensor("x", dtype="float32", ndim=2)
    for n in ROW_LENGTHS:
        value = rows_with_values_in_the_overlap(rng, n)
        exact = value.astype(np.float64)
        for expr, want in ((x.sum(axis=1), exact.sum(axis=1)), (sg.exp(x).sum(axis=1), np.exp(exact).sum(axis=1)),
                           ((x * x).mean(axis=1), (exact * exact).mean(axis=1))):
            _, got, _ = run_both([x], expr, value)
            np.testing.assert_allclose(got, want, rtol=1e-6)
    y = sg.tensor("y", dtype="float32", ndim=3)
    value = rng.uniform(0.5, 1.5, (3, 4, 100)).astype("float32")
    value[1, 2, 40] = np.inf
    for axis in (2, (1, 2)):
        _, got, want = run_both([y], (y * 2).sum(axis=axis), value)
        np.testing.assert_allclose(got, (value.astype(np.float64) * 2).sum(axis=axis), rtol=1e-6)


def test_row_ops_on_float32_rows_add_their_rest_as_one_masked_step(rng):
    """softmax, log_softmax, logsumexp and the crossentropy with its gradient on float32 rows of
    every length around the vector loop's step (numba_rows._BY_ROW), a row's maximum placed
    where the last step starts, ends or overlaps; against the float64 reference."""
    x, t = sg.tensor("x", dtype="float32", ndim=2), sg.ivector("t")
    loss = sg.nn.categorical_crossentropy(sg.nn.softmax(x), t).sum()
    outputs = [sg.nn.softmax(x), sg.nn.log_softmax(x), sg.logsumexp(x, axis=1), loss, sg.grad(loss, x)]
    x64, t64 = sg.tensor("x64", dtype="float64", ndim=2), sg.ivector("t64")
    loss64 = sg.nn.categorical_crossentropy(sg.nn.softmax(x64), t64).sum()
    reference = sg.function([x64, t64], [sg.nn.softmax(x64), sg.nn.log_softmax(x64), sg.logsumexp(x64, axis=1),
                                         loss64, sg.grad(loss64, x64)], backend="numpy")
    for n in ROW_LENGTHS:
        value = rows_with_values_in_the_overlap(rng, n) * 3
        targets = rng.integers(0, n, len(value)).astype("int32")
        f = sg.function([x, t], outputs, backend="numba")
        for got, want in zip(f(value, targets), reference(value.astype(np.float64), targets)):
            np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-7)
        assert row_thunks(f)


@pytest.mark.parametrize("shape,axis,order", [((3000, 130), 0, (1, 0)), ((40, 50, 100), 1, (0, 2, 1)),
                                               ((40, 50, 100), (0, 1), (1, 0))])  # (0, 1) merged into one axis
@pytest.mark.exhaustive
def test_large_reductions_over_leading_axes_in_parallel(shape, axis, order, rng):
    x = sg.tensor("x", dtype="float32", ndim=len(shape))
    value = rng.normal(size=shape).astype("float32")
    for expr in ((x * 2).sum(axis=axis), sg.exp(x).max(axis=axis), (x * x).mean(axis=axis)):
        f, got, want = run_both([x], expr, value)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)  # NumPy sums float32 in float32
        reducers = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)]
        # (the inputs' axes the loops walk, kept first; parallel; outer; broadcast axes): the
        # parallel loop with the kept axes inside ran
        assert [[key[:3] for key in t.kernels] for t in reducers] == [[(order, True, True)]]


def test_float32_sums_over_a_middle_axis_add_blocks_in_float32_and_the_blocks_in_float64(rng):
    """x.sum(axis=1) of a large 3-d float32 array: blocks of 128 rows summed in float32 per
    slice, the blocks in float64 (numba_codegen's blocked outer loop): as close to the float64
    sum as NumPy's pairwise one (a float32 sum of the 3000 rows in a row is 20x further off)."""
    x = sg.tensor("x", dtype="float32", ndim=3)
    value = rng.uniform(0.5, 1.5, (4, 3000, 48)).astype("float32")
    value[1, 2000, 7] = np.inf
    exact = value.astype(np.float64)
    for expr, want in ((x.sum(axis=1), exact.sum(axis=1)), (sg.exp(x * 0.5).sum(axis=1), np.exp(exact * 0.5).sum(axis=1)),
                       (x.mean(axis=1), exact.mean(axis=1))):
        f, got, _ = run_both([x], expr, value)
        np.testing.assert_allclose(got, want, rtol=2e-7)
        reducers = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)]
        assert [[key[:3] for key in t.kernels] for t in reducers] == [[((0, 2, 1), True, True)]]


@pytest.mark.parametrize("dtype", ["float64", "float32", "int32"])
@pytest.mark.exhaustive
def test_reductions_over_leading_axes_fold_chunks_of_rows_on_the_cores(dtype, rng, monkeypatch):
    """Reductions over leading axes with 128 rows a chunk or more fold up to 8 chunks of rows
    into scratch rows, then those into the result (numba_codegen.row_chunks_lines): rows not a
    multiple of the chunks, extremes, NaN and inf at every chunk's first and last row, 2-d and a
    3-d sum over two leading axes; fewer rows take the blocks of columns. As the numpy backend."""
    monkeypatch.setattr(numba_codegen, "PARALLEL_THRESHOLD", 1000)
    monkeypatch.setattr(numba_codegen, "COSTLY_THRESHOLD", 1000)
    x = sg.tensor("x", dtype=dtype, ndim=2)
    floats = dtype != "int32"
    for rows, columns in [(1000, 37), (300, 70), (1031, 600), (200, 9)]:
        value = (rng.uniform(0.5, 1.5, (rows, columns)) * (1 if floats else 100)).astype(dtype)
        chunks = min(numba_codegen._OUTER_CHUNKS, rows // numba_codegen._CHUNK_ROWS)
        for c in range(max(chunks, 1)):
            first, last = c * rows // max(chunks, 1), (c + 1) * rows // max(chunks, 1) - 1
            value[first, c % columns], value[last, (c + 1) % columns] = 7 if floats else 700, -7 if floats else -700
        if floats:
            value[0, 3], value[rows - 1, 4], value[rows // 2, 5] = np.nan, np.inf, -np.inf
        exprs = [x.max(axis=0), x.min(axis=0), (x * 2).sum(axis=0)] + ([sg.exp(x * 0.01).prod(axis=0)] if floats else [])
        for expr in exprs:
            _, got, want = run_both([x], expr, value)
            # (float32 products of 1000 factors in another order: within 1000 roundings)
            np.testing.assert_allclose(got, want, rtol=1e-13 if dtype == "float64" else 6e-5, equal_nan=True)
    y = sg.tensor("y", dtype=dtype, ndim=3)
    value = (rng.uniform(0.5, 1.5, (20, 50, 40)) * (1 if floats else 100)).astype(dtype)
    for expr in (y.max(axis=(0, 1)), (y[:, ::2, :] * 3).sum(axis=(0, 1))):  # (strided: the two axes stay two)
        _, got, want = run_both([y], expr, value)
        np.testing.assert_allclose(got, want, rtol=1e-13 if dtype == "float64" else 2e-6)


def test_leading_axes_that_do_not_merge_fold_in_chunks_of_rows_too():
    """x[::2].sum(axis=(0, 1)) of a 3-d float32 array: two reduced axes that do not merge (the
    stride between them) under one kept axis. The chunks' float32 blocks folded the first axis
    only and named the second's loop variable without its loop: the kernel did not compile
    (found by the property test's reversed layouts). Each value goes into float64 there."""
    x = sg.tensor("x", "float32", ndim=3)
    exprs = [x.sum(axis=(0, 1)), (x * 2).sum(axis=(0, 1)), x.max(axis=(0, 1)), x.mean(axis=(0, 1))]
    value = np.random.default_rng(5).uniform(-2, 2, (800, 60, 81)).astype("float32")[::2]
    f, got, _ = run_both([x], exprs, value)
    exact = value.astype(np.float64).sum(axis=(0, 1))
    scale = 4 * np.finfo(np.float32).eps * np.abs(value).sum(axis=(0, 1))  # (NumPy's float32 sums: 10x that off)
    for g, w in zip(got, [exact, 2 * exact, value.max(axis=(0, 1)), exact / 24000]):
        assert g.dtype == np.float32 and (np.abs(g - w) <= scale).all()
    reducers = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)]
    assert reducers and all(key[0] == (2, 0, 1) and key[1] for t in reducers for key in t.kernels)


def test_a_column_sum_takes_the_chunks_of_rows_where_there_are_enough(monkeypatch):
    """The chunks of rows (numba_codegen.row_chunks_lines) give their own float64 bits: each
    column summed row by row within a chunk, the chunks' sums added in order. A fold of all the
    rows in a row (the blocks of columns) rounds differently: checked, so that this test fails
    if the reduction stopped taking the chunks."""
    monkeypatch.setattr(numba_codegen, "PARALLEL_THRESHOLD", 1000)
    x = sg.tensor("x", dtype="float64", ndim=2)
    value = np.random.default_rng(3).normal(size=(1031, 37)) * 10 ** np.random.default_rng(4).uniform(-3, 3, (1031, 1))
    rows, chunks = len(value), min(numba_codegen._OUTER_CHUNKS, len(value) // numba_codegen._CHUNK_ROWS)

    def in_order(block):
        total = np.zeros(block.shape[1])
        for row in block:
            total = total + row
        return total
    by_chunks = sum(in_order(value[c * rows // chunks:(c + 1) * rows // chunks]) for c in range(chunks))
    _, got, _ = run_both([x], (x * 1).sum(axis=0), value)
    np.testing.assert_array_equal(got, by_chunks)
    assert not np.array_equal(by_chunks, in_order(value))


def test_short_float32_rows_are_summed_straight_in_float64():
    """Rows under 32 float32 values (under 8 where the values are costly) add each value into the
    float64 total. Values in [1, 2) make that total exact (a multiple of 2^-23 under 2^29), so
    the result is the exact sum rounded once; float32 blocks round on the way, checked to differ."""
    x = sg.tensor("x", dtype="float32", ndim=2)
    value = np.random.default_rng(5).uniform(1, 2, (4096, 20)).astype("float32")
    exact = value.astype(np.float64).sum(axis=1)
    f = sg.function([x], (x * 1).sum(axis=1), backend="numba")
    np.testing.assert_array_equal(f(value), exact.astype("float32"))
    in_float32 = np.zeros(len(value), "float32")
    for column in value.T:
        in_float32 = in_float32 + column
    assert not np.array_equal(in_float32, exact.astype("float32"))
    short = sg.function([x], sg.exp(x).sum(axis=1), backend="numba")  # (costly: straight below 8 values)
    few = np.random.default_rng(6).uniform(-1, 1, (4096, 5)).astype("float32")
    np.testing.assert_allclose(short(few), np.exp(few.astype(np.float64)).sum(axis=1), rtol=3e-7)


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_reductions_of_every_loop_shape_agree_with_numpy(data):
    """Random reductions of 2-d and 3-d arrays large enough for every loop this module's
    tests name one by one (rows with a rest, short rows, chunks of leading rows, middle axes,
    parallel and not: the parallel threshold lowered), plain and fused, with NaN and inf, C-ordered,
    laid out in another axis order, or with a negative stride."""
    dtype = data.draw(st.sampled_from(["float32", "float64"]))
    ndim = data.draw(st.integers(2, 3))
    sides = st.sampled_from([1, 2, 7, 30, 64, 81, 100, 300]) if ndim == 3 else st.sampled_from([1, 3, 40, 81, 300, 700])
    shape = tuple(data.draw(sides) for _ in range(ndim))
    axis = data.draw(st.sampled_from([a for r in range(1, ndim + 1) for a in itertools.combinations(range(ndim), r)]))
    kind = data.draw(st.sampled_from(["sum", "max", "min", "mean"]))
    fused = data.draw(st.booleans())
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 16)))
    value = rng.uniform(-2, 2, shape).astype(dtype)
    layout = data.draw(st.sampled_from(["C", "permuted", "reversed"]))
    if layout == "permuted":  # (the same values, laid out in memory in another axis order)
        perm = data.draw(st.permutations(range(ndim)))
        value = np.ascontiguousarray(value.transpose(perm)).transpose(np.argsort(perm))
    elif layout == "reversed":
        value = value[::-1].copy()[::-1]
    for special in data.draw(st.lists(st.sampled_from([np.nan, np.inf, -np.inf]), max_size=2)):
        value[tuple(rng.integers(0, n) for n in shape)] = special
    x = sg.tensor("x", dtype=dtype, ndim=ndim)
    expr = getattr(sg.exp(x * 0.5) if fused else x, kind)(axis=axis)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(numba_codegen, "PARALLEL_THRESHOLD", 2000)
        patch.setattr(numba_codegen, "COSTLY_THRESHOLD", 2000)
        _, got, want = run_both([x], expr, value)
    # Against float64 values: within 64 roundings of the sum of magnitudes (the exps' own ulp and
    # the order of the additions; a value added twice or left out is ~1 / size of it off).
    values64 = np.exp(value.astype(np.float64) * 0.5) if fused else value.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        exact, scale = getattr(values64, kind)(axis=axis), np.abs(values64).sum(axis=axis) + 1
        close = np.abs(got - exact) <= 64 * np.finfo(dtype).eps * scale
    same_special = (np.isnan(got) & np.isnan(want)) | (np.isinf(got) & (got == want))
    assert (close | same_special).all(), (shape, axis, kind, fused, dtype, layout)
    assert got.flags.c_contiguous or got.ndim == 0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_reductions_of_transposed_inputs_walk_memory_in_order(dtype, rng, folds_apart):
    """x.T.max(axis=1) folded x's columns, a stride apart (1000x1000 float32 1.85 ms, NumPy 0.15):
    the axes are put in memory order first, so the kernel gets x itself (typed C) and its
    column loop; kept axes walked out of their order are put back (a C-ordered result)."""
    tol = {"rtol": 1e-5, "atol": 1e-4} if dtype == "float32" else {"rtol": 1e-12, "atol": 1e-12}
    x = sg.tensor("x", dtype=dtype, ndim=2)
    value = rng.normal(size=(300, 200)).astype(dtype)
    exprs = [x.T.max(axis=1), x.T.sum(axis=0), sg.exp(x.T).mean(axis=1, keepdims=True), x.T.sum()]
    f, got, want = run_both([x], exprs, value)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, **tol)
    thunks = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)]
    assert len(thunks) == 4
    for thunk in thunks:
        (plan,) = thunk.plans.values()
        assert plan.arrange is not None and plan.reorder is None
        (view,) = plan.arrange([value.T])  # (the node's input; numba types the view C: vector loads)
        assert view.flags.c_contiguous and np.shares_memory(view, value)
    # 3-d: an NHWC array seen as NCHW (a layer's transpose), and kept axes out of their order
    y = sg.tensor("y", dtype=dtype, ndim=4)
    nhwc = rng.normal(size=(8, 5, 6, 7)).astype(dtype)
    nchw = nhwc.transpose(0, 3, 1, 2)
    exprs = [y.mean(axis=(0, 2, 3)), y.max(axis=1), (y * 2).sum(axis=(0, 2), keepdims=True), y.min(axis=0)]
    f, got, want = run_both([y], exprs, nchw)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, **tol)
        assert g.flags.c_contiguous
    reorders = [p.reorder for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)
                for p in t.plans.values()]
    assert sum(r is not None for r in reorders) == 2  # (C before H, W: the last two; the first two keep N, H, W)
    # inputs in different orders: as they are
    a, b = sg.tensor("a", dtype=dtype, ndim=2), sg.tensor("b", dtype=dtype, ndim=2)
    f, got, want = run_both([a, b], (a * b).sum(axis=1), value.T, value.T.copy())
    np.testing.assert_allclose(got, want, **tol)
    (thunk,) = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)]
    assert [p.arrange for p in thunk.plans.values()] == [None]


def test_large_full_reductions_run_in_parallel_chunks(rng, folds_apart):
    x = sg.fvector("x")
    value = rng.normal(size=numba_cpu.codegen.PARALLEL_THRESHOLD * 3).astype("float32")
    f, got, want = run_both([x], [(x * 2).sum(), x.max(), x.sum()], value)
    exact = value.astype(np.float64).sum() * 2
    assert abs(got[0] - exact) <= 4 * np.finfo(np.float32).eps * 2 * np.abs(value).sum()
    assert got[1] == want[1] and abs(got[2] * 2 - got[0]) <= 1e-3 * abs(got[0]) + 1e-2
    reducers = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)]
    assert len(reducers) == 3 and all([key[:3] for key in t.kernels] == [((0,), True, False)] for t in reducers)


@pytest.mark.parametrize("dtype", ["int32", "int64", "bool"])
def test_integer_reductions_over_leading_axes(dtype, rng):
    x = sg.tensor("x", dtype=dtype, ndim=2)
    value = rng.integers(-50, 50, (7, 5)).astype(dtype)
    for kind in ("sum", "max", "min"):
        _, got, want = run_both([x], getattr(x, kind)(axis=0), value)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "uint8", "bool"])
@pytest.mark.exhaustive
def test_cumsum_and_cumprod_loops_give_numpys_bits_along_every_axis(dtype, rng, monkeypatch):
    """cumsum adds and cumprod multiplies in NumPy's order, so their loop (numba_kernels.
    _running) gives the same bits: along each axis of a 3-d array, cumsum reversed (the
    gradient), from a strided view, serial and parallel; an empty axis gives an empty result."""
    x = sg.tensor("x", dtype, (None, None, None))
    value = (rng.normal(size=(20, 30, 40)) * 10).astype(dtype) if dtype != "bool" else rng.random((20, 30, 40)) > 0.5
    if dtype[0] == "f":  # (products of values near 1, neither overflowing nor vanishing along 40)
        value = (1 + rng.normal(size=value.shape) * 0.05).astype(dtype)
    for threshold in (numba_cpu.codegen.PARALLEL_THRESHOLD, 1):
        monkeypatch.setattr(numba_cpu.codegen, "PARALLEL_THRESHOLD", threshold)
        for axis in (0, 1, 2):
            for expr in (sg.cumsum(x, axis=axis), R.CumSum(axis, reverse=True)(x), sg.cumprod(x, axis=axis)):
                f, got, want = run_both([x], expr, value)
                assert got.dtype == want.dtype
                np.testing.assert_array_equal(got, want)
                np.testing.assert_array_equal(f(value[:, ::2]), sg.function([x], expr, backend="numpy")(value[:, ::2]))
        assert executor_globals(f)["t0"].threshold == threshold
    f = sg.function([x], sg.cumsum(x, axis=1), backend="numba")
    assert f(np.zeros((1000, 0, 20), dtype)).shape == (1000, 0, 20)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int16", "uint32"])
@pytest.mark.parametrize("kind", ["argmax", "argmin"])
def test_argmax_argmin_over_leading_axes_give_numpys_first_index(kind, dtype, rng, monkeypatch):
    """The compiled loop over a leading axis (numba_kernels.arg_extreme_kernel) against NumPy:
    ties (the first index wins), NaN (the first NaN wins), -inf/inf, keepdims, a strided view,
    serial and parallel; the last axis (its rows split with a helper thread when large and
    parallel) and all axes (halves split alike) stay NumPy's loops."""
    monkeypatch.setattr(numba_cpu, "ROWS_SPLIT_BYTES", 1)
    split = []
    monkeypatch.setattr(numba_cpu.ArgReduceThunk, "_rows_in_two",
                        lambda self, v, real=numba_cpu.ArgReduceThunk._rows_in_two: split.append(v.shape) or real(self, v))
    x = sg.tensor("x", dtype, (None, None, None))
    value = (rng.normal(size=(6, 50, 40)) * 3).astype(dtype)
    value[:, 10] = value[:, 3]  # ties
    if dtype.startswith("float"):
        value[1, 20, 5], value[1, 30, 5], value[2, 7, :] = np.nan, np.nan, np.inf
        value[3, :, 2] = -np.inf
    fn = sg.argmax if kind == "argmax" else sg.argmin
    ref = np.argmax if kind == "argmax" else np.argmin
    for threshold in (numba_cpu.codegen.PARALLEL_THRESHOLD, 1):
        monkeypatch.setattr(numba_cpu.codegen, "PARALLEL_THRESHOLD", threshold)
        for axis in (0, 1, 2, None):
            f = sg.function([x], [fn(x, axis=axis), fn(x, axis=axis, keepdims=True)] if axis is not None
                            else fn(x, axis=axis), backend="numba")
            got = f(value)
            want = [ref(value, axis=axis), ref(value, axis=axis, keepdims=True)] if axis is not None \
                else ref(value, axis=axis)
            for g, w in zip(got if axis is not None else [got], want if axis is not None else [want]):
                assert g.dtype == np.int64
                np.testing.assert_array_equal(g, w)
            if axis is not None:
                np.testing.assert_array_equal(f(value[:, ::2])[0], ref(value[:, ::2], axis=axis))
                permuted = np.ascontiguousarray(value.transpose(2, 0, 1)).transpose(1, 2, 0)  # (same values)
                for g, w in zip(f(permuted), want):
                    np.testing.assert_array_equal(g, w)
                    assert g.flags.c_contiguous
    # the parallel runs' last axis; the permuted array's axis 0 is its memory's last
    assert split and all(shape in (value.shape, (40, 6, 50)) for shape in split)
    thunk = executor_globals(sg.function([x], fn(x, axis=1), backend="numba"))["t0"]
    thunk([value])
    assert isinstance(thunk, numba_cpu.ArgReduceThunk) and thunk.kernels  # the compiled loop ran
    small = value[:2, :10, :5]  # (below ARG_ALONG_MIN values: NumPy's argmax, with keepdims)
    thunk = executor_globals(sg.function([x], fn(x, axis=1, keepdims=True), backend="numba"))["t0"]
    got, = thunk([small])
    assert not thunk.kernels and got.dtype == np.int64 and np.array_equal(got, ref(small, axis=1, keepdims=True))


@pytest.mark.parametrize("kind", ["argmax", "argmin"])
def test_argmax_of_a_transposed_array_runs_along_its_memory(kind, rng, monkeypatch):
    """x.T.argmax(axis=1) is x's along its leading axis, the compiled loop's (NumPy walked the
    columns: 1000x1000 float32 1.12 ms, this 0.16); x.T.argmax(axis=0) is NumPy's along x's rows."""
    calls = []
    monkeypatch.setattr(numba_cpu.ArgReduceThunk, "_along",
                        lambda self, v, axis, real=numba_cpu.ArgReduceThunk._along: calls.append(
                            (v.flags.c_contiguous, axis)) or real(self, v, axis))
    x = sg.matrix("x")
    value = rng.normal(size=(300, 200)).astype(x.dtype)
    value[:, 7] = value[:, 3]  # ties
    fn = sg.argmax if kind == "argmax" else sg.argmin
    f = sg.function([x], [fn(x.T, axis=1), fn(x.T, axis=0, keepdims=True)], backend="numba")
    ref = np.argmax if kind == "argmax" else np.argmin
    for g, w in zip(f(value), [ref(value.T, axis=1), ref(value.T, axis=0, keepdims=True)]):
        np.testing.assert_array_equal(g, w)
    assert calls == [(True, 0), (True, 1)]


def test_cumsum_gradient_on_the_compiled_loop(rng):
    x = sg.dmatrix("x")
    cost = (sg.cumsum(x, axis=1) ** 2).sum()
    value = rng.normal(size=(200, 100))
    got = sg.function([x], sg.grad(cost, x), backend="numba")(value)
    want = sg.function([x], sg.grad(cost, x), backend="numpy")(value)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_reducing_an_empty_axis_gives_the_identity():
    x = sg.dmatrix("x")
    _, got, want = run_both([x], [(x * 2).sum(axis=0), (x * 2).prod(axis=0)], np.zeros((0, 4)))
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_reductions_along_axes_take_their_loop_from_a_thousand_elements_whole_ones_later(monkeypatch, rng):
    """NumPy's float32 loop along or across short rows is slower than the kernel's call from
    PARTIAL_REDUCE_BY_NUMPY elements (numba_cpu); a whole array's sum stays NumPy's until
    VECTOR_SUM_BY_NUMPY (set here as it was before the thirty-third session: the switch)."""
    monkeypatch.setattr(numba_cpu, "SMALL_BY_NUMPY", 1 << 14)
    monkeypatch.setattr(numba_cpu, "PARTIAL_REDUCE_BY_NUMPY", 1 << 10)
    monkeypatch.setattr(numba_cpu, "VECTOR_SUM_BY_NUMPY", 1 << 11)
    x = sg.fmatrix("x")
    f = sg.function([x], [x.sum(axis=0), x.max(axis=1), x.sum()], backend="numba")
    value = rng.normal(size=(128, 10)).astype("float32")
    assert numba_cpu.PARTIAL_REDUCE_BY_NUMPY <= value.size < numba_cpu.SMALL_BY_NUMPY
    got = f(value)
    thunks = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)]
    assert [bool(t.kernels) for t in thunks] == [True, True, False]
    np.testing.assert_allclose(got[0], value.sum(axis=0), rtol=1e-5)
    np.testing.assert_array_equal(got[1], value.max(axis=1))
    np.testing.assert_allclose(got[2], value.sum(), rtol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["max", "min"])
def test_a_whole_arrays_max_in_cache_runs_numpy_and_a_larger_one_the_loop(kind, dtype, monkeypatch, rng):
    """numba_cpu.MINMAX_BY_NUMPY_BYTES: NumPy's max of data in cache is twice the loop's speed;
    from there on the loop (on both cores) wins. Either way the reference's values: NaN wins,
    -inf and inf arrays, one NaN at the end."""
    monkeypatch.setattr(numba_cpu, "SMALL_BY_NUMPY", 1 << 14)
    monkeypatch.setattr(numba_cpu, "MINMAX_BY_NUMPY_BYTES", 5 << 18)
    x = sg.tensor("x", dtype, (None,))
    f = sg.function([x], getattr(x, kind)(), backend="numba")
    (thunk,) = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)]
    below = (5 << 18) // np.dtype(dtype).itemsize - 1
    for n in (below, 2 * below):
        for v in (rng.normal(size=n).astype(dtype), np.full(n, -np.inf, dtype), np.full(n, np.inf, dtype)):
            for nan_at in (None, n - 1):
                if nan_at is not None:
                    v = v.copy()
                    v[nan_at] = np.nan
                np.testing.assert_array_equal(f(v), getattr(np, kind)(v))
        assert bool(thunk.kernels) == (n > below)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_whole_sums_products_and_means_take_the_loop_from_fewer_elements_than_other_reductions(dtype, monkeypatch,
                                                                                               rng):
    """numba_cpu.VECTOR_SUM_BY_NUMPY: a whole float array's sum and product run the loop at any
    size but 0 (NumPy's product does not vectorize; NumPy's path costs more than the loop's
    call even for one value), at any number of dimensions, as a whole mean does. Either way
    NumPy's values (the product of values near 1; an empty array's 0, 1 and NaN)."""
    monkeypatch.setattr(numba_cpu, "SMALL_BY_NUMPY", 1 << 14)
    monkeypatch.setattr(numba_cpu, "VECTOR_SUM_BY_NUMPY", VECTOR_SUM_BY_NUMPY)
    x, m = sg.tensor("x", dtype, (None,)), sg.tensor("m", dtype, (None, None))
    tol = 1e-5 if dtype == "float32" else 1e-12
    cases = [(x, x.sum(), np.sum), (x, x.prod(), np.prod), (x, x.mean(), np.mean), (m, m.sum(), np.sum)]
    for var, expr, ref in cases:
        f = sg.function([var], expr, backend="numba")
        (thunk,) = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)]
        for n in (1, 7, 1 << 12):
            value = rng.uniform(0.99, 1.01, n).astype(dtype)
            v = value if var is x else value.reshape(-1, 1)
            np.testing.assert_allclose(f(v), ref(v), rtol=tol)
            # (one value is its own fold: ReduceThunk._mapping's loop)
            assert bool(thunk.maps if n == 1 else thunk.kernels), expr
        with warnings.catch_warnings():  # (the mean of nothing: NaN and NumPy's warning)
            warnings.simplefilter("ignore", RuntimeWarning)
            empty = np.zeros((0,) * var.ndim, dtype)
            np.testing.assert_array_equal(f(empty), ref(empty))


def test_a_whole_sums_call_takes_the_total_the_kernel_returns_from_threads_at_once(rng, folds_apart):
    """ReduceThunk._write_whole_call: the kernel returns its total and every call hands it the
    thunk's one scratch output, so calls at once from several threads must each get their own
    input's total (a total read back from the shared array would mix them)."""
    import threading
    x = sg.dvector("x")
    f = sg.function([x], [x.sum(), x.mean()], backend="numba")
    inputs = [rng.normal(size=n) for n in (100, 1000, 3000, 5000)]
    f(inputs[0])
    thunks = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)]
    assert len(thunks) == 2 and all(t.call != t.__call__ for t in thunks)  # the whole call written
    plan = next(iter(thunks[0].plans.values()))
    out = np.empty(1)
    assert plan.kernel(out, (5,), np.arange(5.0)) == out[0] == 10.0
    errors = []

    def work(v):
        try:
            for _ in range(300):
                total, mean = f(v)
                assert abs(total - np.sum(v)) <= 1e-12 * np.abs(v).sum()
                assert abs(mean - np.mean(v)) <= 1e-12 * np.abs(v).mean()
        except AssertionError as exc:
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(v,)) for v in inputs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_a_whole_sum_of_sin_takes_the_common_call_and_reads_its_out_where_the_kernel_redoes(rng):
    """The whole call's other branch: a kernel checking sin's arguments returns their count, not
    the total, so the call reads the total from that kernel's own out; an argument beyond the
    vectorized sin's range makes it redo the loop with libm's."""
    x = sg.dvector("x")
    f = sg.function([x], sg.sin(x).sum(), backend="numba")
    small = rng.normal(size=7)
    np.testing.assert_allclose(f(small), np.sin(small).sum(), rtol=1e-12)
    (thunk,) = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)]
    assert thunk.call != thunk.__call__  # the whole call written
    for value in (small * 3, np.array([1e30, -3e6, 0.5, 2.0, 7e8])):
        np.testing.assert_allclose(f(value), np.sin(value).sum(), rtol=1e-12)


def test_small_reductions_run_numpy_and_compile_nothing(monkeypatch, rng):
    monkeypatch.setattr(numba_cpu, "SMALL_BY_NUMPY", 1 << 14)
    monkeypatch.setattr(numba_cpu, "PARTIAL_REDUCE_BY_NUMPY", 1 << 10)
    x = sg.fmatrix("x")
    f = sg.function([x], x.sum(axis=0), backend="numba")
    small = rng.normal(size=(64, 10)).astype("float32")
    assert small.size < numba_cpu.PARTIAL_REDUCE_BY_NUMPY
    f(small)
    (thunk,) = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)]
    assert not thunk.kernels
    large = rng.normal(size=(2048, 10)).astype("float32")
    np.testing.assert_allclose(f(large), large.sum(axis=0), rtol=1e-5)
    assert thunk.kernels


def test_small_reductions_by_numpy_give_its_values_and_shapes_and_never_warn(monkeypatch, rng, folds_apart):
    """StoredReduceThunk's NumPy path: a whole max or min (below MINMAX_BY_NUMPY_BYTES) is the
    ufunc's reduce over axis=None into a 0-d array, outside the warnings' silencing (max and
    min raise no flag); keepdims keeps shapes; beside them, a product that overflows (the loop)
    and an integer sum stay quiet too."""
    monkeypatch.setattr(numba_cpu, "MINMAX_BY_NUMPY_BYTES", MINMAX_BY_NUMPY_BYTES)
    monkeypatch.setattr(numba_cpu, "PARTIAL_REDUCE_BY_NUMPY", PARTIAL_REDUCE_BY_NUMPY)
    x = sg.fmatrix("x")
    exprs = [x.max(), x.min(), x.max(axis=1), x.max(keepdims=True), x.min(axis=0, keepdims=True), x.prod(),
             sg.cast(x > 0, "int32").sum()]
    f = sg.function([x], exprs, backend="numba")
    cases = [rng.normal(size=(3, 5)).astype("float32"), np.full((3, 5), np.inf, "float32"),
             np.full((3, 5), 3e30, "float32")]
    cases[0][1, 2] = np.nan
    for value in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = f(value)
        with np.errstate(all="ignore"):
            want = [value.max(), value.min(), value.max(axis=1), value.max(keepdims=True),
                    value.min(axis=0, keepdims=True), value.prod(), (value > 0).astype("int32").sum()]
        for g, w in zip(got, want):
            assert isinstance(g, np.ndarray) and g.shape == np.shape(w) and g.dtype == np.asarray(w).dtype
            np.testing.assert_array_equal(g, w)
    whole = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.StoredReduceThunk) and t.whole]
    assert [t.op.kind for t in whole] == ["max", "min", "prod"] and whole[0].small > 15 and whole[1].small > 15
    assert not whole[0].kernels and not whole[1].kernels  # (NumPy's path)


def test_a_row_op_compiles_its_loop_at_its_first_call_even_for_small_inputs(monkeypatch, rng):
    """As every other kernel of a function: a step timed after one warm-up call must not time
    a compile at its second (numba_cpu's comment above SMALL_BY_NUMPY)."""
    monkeypatch.setattr(numba_cpu, "SMALL_BY_NUMPY", 1 << 14)
    monkeypatch.setattr(numba_cpu.codegen, "is_cached", lambda source: False)  # as in a fresh cache
    x = sg.fmatrix("x")
    f = sg.function([x], sg.nn.log_softmax(x), backend="numba")
    small = rng.normal(size=(32, 10)).astype("float32")
    (thunk,) = row_thunks(f)
    first = f(small)
    assert list(thunk.kernels) == [(False, True)]  # the serial loop for short rows, and only it
    np.testing.assert_allclose(first, sg.function([x], sg.nn.log_softmax(x), backend="numpy")(small), rtol=1e-6)
    np.testing.assert_array_equal(f(small), first)  # the same bits every call
    assert f(np.zeros((0, 10), "float32")).shape == (0, 10)


def crossentropy_case(dtype, shape, rng):
    """(x, t, g) and values: logits (NaN and inf rows in 3-d), integer targets from -classes
    to classes - 1, one g a row."""
    x = sg.tensor("x", dtype, (None,) * len(shape))
    t = sg.tensor("t", "int32", (None,) * (len(shape) - 1))
    g = sg.tensor("g", dtype, (None,) * (len(shape) - 1))
    xv = awkward_rows(rng, dtype, shape) if len(shape) == 3 else (rng.normal(size=shape) * 4).astype(dtype)
    tv = rng.integers(-shape[-1], shape[-1], shape[:-1]).astype("int32")
    gv = rng.normal(size=shape[:-1]).astype(dtype)
    return (x, t, g), (xv, tv, gv)


def loss_and_gradient_serial_as_parallel(thunk, rows, targets, g):
    """A _with_grad thunk's serial and parallel loops on the same rows: the same bits (the
    serial loop's loss and gradient are returned)."""
    found = []
    for parallel in (False, True):
        outs = [np.empty(len(rows), rows.dtype), np.empty_like(rows)]
        thunk._kernel(parallel, rows.shape[-1])(rows, targets, g, *outs)
        found.append(outs)
    for serial, parallel in zip(*found):
        np.testing.assert_array_equal(serial, parallel)
    return found[0]


def wrong_targets(tv, classes):
    """(bad, tv with its last target replaced by bad) for a target past each end."""
    for bad in (classes, -classes - 1):
        wrong = tv.copy()
        wrong.reshape(-1)[-1] = bad
        yield bad, wrong


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(3, 7), (40, 4), (6, 3, 7)])  # 40x4: blocks of 16 rows and the rest
@pytest.mark.exhaustive
def test_crossentropy_gradient_in_one_pass_matches_the_reference(dtype, shape, rng):
    """The gradient of softmax crossentropy with integer targets is one row loop
    (CrossentropySoftmaxGrad): NaN/inf rows, negative targets, a g broadcast along the rows,
    bad targets raise as the forward pick does; the parallel loop gives the serial's bits."""
    op = sg.ops.nn.CrossentropySoftmaxGrad()
    (x, t, g), (xv, tv, gv) = crossentropy_case(dtype, shape, rng)
    f, got, want = run_both([x, t, g], op(x, t, g), xv, tv, gv)
    np.testing.assert_allclose(got, want, rtol=2e-6 if dtype == "float32" else 1e-13, atol=1e-7, equal_nan=True)
    [thunk] = row_thunks(f)
    assert thunk.kind == "crossentropy_int_grad"
    _, got, want = run_both([x, t, g], op(x, t, sg.broadcast_to(g[..., :1], t.shape)), xv, tv, gv)
    np.testing.assert_allclose(got, want, rtol=2e-6 if dtype == "float32" else 1e-13, atol=1e-7, equal_nan=True)
    # the broadcast g (a mean's 1/n) is passed contiguous: one compiled loop serves both calls
    kernel = thunk._kernel(xv.size >= thunk.threshold, shape[-1])  # (numba's dispatcher, after a first call)
    assert len(getattr(kernel, "dispatcher", kernel).signatures) == 1
    rows, flat_t = xv.reshape(-1, shape[-1]), tv.reshape(-1)
    serial, parallel = np.empty_like(rows), np.empty_like(rows)
    thunk._kernel(False, shape[-1])(rows, flat_t, gv.reshape(-1), serial)
    thunk._kernel(True, shape[-1])(rows, flat_t, gv.reshape(-1), parallel)
    np.testing.assert_array_equal(serial, parallel)
    for bad, wrong in wrong_targets(tv, shape[-1]):
        with pytest.raises(IndexError, match=f"index {bad} is out of bounds"):
            f(xv, wrong, gv)
        with pytest.raises(IndexError, match=f"index {bad} is out of bounds"):
            sg.function([x, t, g], op(x, t, g), backend="numpy")(xv, wrong, gv)
    with pytest.raises(ValueError, match="one class index per row"):
        f(xv, tv[:1], gv[:1])



@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(3, 7), (40, 4), (6, 3, 7), (5, 40)])  # 5x40: rows one at a time
@pytest.mark.exhaustive
def test_a_crossentropy_with_its_gradient_is_one_loop_with_the_two_ops_bits(dtype, shape, rng):
    """CrossentropySoftmaxWithGrad (a training step's loss beside its gradient, rewritten into
    one node): one row loop whose loss and gradient are bit for bit those of the two ops' own
    loops, serial or parallel; a bad target raises as they do."""
    (x, t, g), (xv, tv, gv) = crossentropy_case(dtype, shape, rng)
    f, got, want = run_both([x, t, g], sg.ops.nn.CrossentropySoftmaxWithGrad()(x, t, g), xv, tv, gv)
    [thunk] = row_thunks(f)
    assert thunk.kind == "crossentropy_int_with_grad" and thunk.kernels
    for value, expected in zip(got, want):
        assert value.shape == expected.shape and value.dtype == dtype
        np.testing.assert_allclose(value, expected, rtol=2e-6 if dtype == "float32" else 1e-13, atol=1e-6,
                                   equal_nan=True)
    apart = sg.function([x, t, g], [sg.ops.nn.CrossentropySoftmax()(x, t), sg.ops.nn.CrossentropySoftmaxGrad()(x, t, g)],
                        backend="numba", optimize=False)  # (not rewritten into one node)
    assert sorted(t.kind for t in row_thunks(apart)) == ["crossentropy_int", "crossentropy_int_grad"]
    for value, alone in zip(got, apart(xv, tv, gv)):
        np.testing.assert_array_equal(value, alone)
    loss_and_gradient_serial_as_parallel(thunk, xv.reshape(-1, shape[-1]), tv.reshape(-1), gv.reshape(-1))
    for bad, wrong in wrong_targets(tv, shape[-1]):
        with pytest.raises(IndexError, match=f"index {bad} is out of bounds"):
            f(xv, wrong, gv)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(3, 7), (40, 4), (6, 3, 7), (5, 40)])
@pytest.mark.exhaustive
def test_dense_targets_gradient_and_loss_with_it_are_row_loops_with_the_references_values(dtype, shape, rng):
    """CrossentropySoftmaxGrad with dense target rows (a one-hot row, probabilities, a zero
    row, a row of targets broadcast to every row) and CrossentropySoftmaxWithGrad with them:
    row loops matching the references, the fused loop bit for bit the two apart, serial or
    parallel."""
    (x, _, g), (xv, _, gv) = crossentropy_case(dtype, shape, rng)
    t = sg.tensor("t", dtype, (None,) * len(shape))
    tv = np.abs(rng.normal(size=shape)).astype(dtype)
    tv.reshape(-1, shape[-1])[0] = np.eye(shape[-1], dtype=dtype)[1]
    tv.reshape(-1, shape[-1])[-1] = 0
    grad = sg.ops.nn.CrossentropySoftmaxGrad()
    fused = sg.ops.nn.CrossentropySoftmaxWithGrad()
    tol = dict(rtol=2e-6 if dtype == "float32" else 1e-13, atol=1e-6, equal_nan=True)
    for targets in (tv, tv.reshape(-1, shape[-1])[:1].reshape((1,) * (len(shape) - 1) + shape[-1:])):
        f, got, want = run_both([x, t, g], [grad(x, t, g)] + fused(x, t, g), xv, targets, gv)
        assert sorted(th.kind for th in row_thunks(f)) == ["crossentropy_dense_grad", "crossentropy_dense_with_grad"]
        for value, expected in zip(got, want):
            assert value.shape == expected.shape and value.dtype == dtype
            np.testing.assert_allclose(value, expected, **tol)
        apart = sg.function([x, t, g], [sg.ops.nn.CrossentropySoftmax()(x, t), grad(x, t, g)], backend="numba",
                            optimize=False)
        for value, alone in zip(got[1:], apart(xv, targets, gv)):
            np.testing.assert_array_equal(value, alone)
    thunk = [th for th in row_thunks(f) if th.kind == "crossentropy_dense_with_grad"][0]
    loss, gradient = loss_and_gradient_serial_as_parallel(thunk, xv.reshape(-1, shape[-1]), tv.reshape(-1, shape[-1]),
                                                          gv.reshape(-1))
    assert not gradient[-1].any() and loss[-1] == 0  # a zero target row: no loss, no gradient


def test_the_serial_blocked_loop_compiles_without_numbas_own_np_empty(tmp_path):
    """Its scratch block is on the stack (numba_stack): made by np.empty in the kernel, every
    fresh process compiled numba's np.empty for it first, 0.19 s of the MLP step's first call.
    A fresh process, compiling the loss-and-gradient loop for 16-row blocks, compiles nothing
    of numba's array module. (The parallel loop's count of bad targets is a prange reduction,
    whose per-thread array numba makes with its np.empty.)"""
    sums = compiles_in_a_fresh_process_without_np_empty(tmp_path, (
        "from symgraph.backends.numba_rows import row_kernel\n"
        "kernel = row_kernel('crossentropy_int_with_grad', 'float32', False, True)\n"
        "x = np.arange(40, dtype='float32').reshape(4, 10)\n"
        "loss, grad = np.empty(4, 'float32'), np.empty((4, 10), 'float32')\n"
        "kernel(x, np.arange(4, dtype='int32'), np.ones(4, 'float32'), loss, grad)\n"
        "print(float(loss.sum()), float(grad.sum()))"), expected="symgraph_kernel_")
    x = np.arange(40, dtype="float64").reshape(4, 10)
    shifted = x - x.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    want_loss = -log_p[np.arange(4), np.arange(4)].sum()
    np.testing.assert_allclose([float(v) for v in sums.split()], [want_loss, 0.0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int16"])
@pytest.mark.parametrize("kind", ["argmax", "argmin"])
def test_argmax_argmin_along_short_rows_run_the_row_loop(kind, dtype, rng, monkeypatch):
    """Along last-axis rows of at most SHORT_ARG_ROW values (a classifier's scores) the index
    comes from numba_kernels.arg_extreme_rows_kernel, serial or parallel: NumPy's first index
    on ties, the first NaN, -inf/inf, rows of one value, keepdims, leading axes, rows of
    another length in the same function; longer rows and strided arrays stay NumPy's."""
    monkeypatch.setattr(numba_cpu, "SHORT_ARG_ROWS_BY_NUMPY", 0)
    short = []
    monkeypatch.setattr(numba_cpu.ArgReduceThunk, "_short_rows",
                        lambda self, v, real=numba_cpu.ArgReduceThunk._short_rows: short.append(v.shape) or real(self, v))
    fn, ref = (sg.argmax, np.argmax) if kind == "argmax" else (sg.argmin, np.argmin)
    for shape in ((300, 10), (7, 50, 3), (40, 1), (20, 32), (20, 33)):
        value = (rng.normal(size=shape) * 3).astype(dtype)
        value[..., 0] = value[..., -1]  # ties
        if dtype.startswith("float") and shape[-1] > 2:
            value.reshape(-1, shape[-1])[5, [1, 2]] = np.nan
            value.reshape(-1, shape[-1])[6] = np.inf
            value.reshape(-1, shape[-1])[7, 1] = -np.inf
            value.reshape(-1, shape[-1])[8, 0] = np.nan    # (a NaN first, and a row of NaN)
            value.reshape(-1, shape[-1])[9] = np.nan
            value.reshape(-1, shape[-1])[10, :3] = [0.0, -0.0, 0.0]  # (equal zeros: the first)
            value.reshape(-1, shape[-1])[10, 3:] = -1.0
        x = sg.tensor("x", dtype, (None,) * len(shape))
        f = sg.function([x], [fn(x, axis=-1), fn(x, axis=-1, keepdims=True)], backend="numba")
        for parallel in (False, True):
            monkeypatch.setattr(numba_cpu, "SHORT_ARG_ROWS_PARALLEL", 1 if parallel else 1 << 40)
            short.clear()
            got, kept = f(value)
            assert got.dtype == np.int64 and kept.shape == shape[:-1] + (1,)
            np.testing.assert_array_equal(got, ref(value, axis=-1))
            np.testing.assert_array_equal(kept, ref(value, axis=-1, keepdims=True))
            assert short == ([value.shape] * 2 if shape[-1] <= numba_cpu.SHORT_ARG_ROW else [])
        if shape[-1] > 1:
            strided = value[..., ::-1]
            short.clear()
            np.testing.assert_array_equal(f(strided)[0], ref(strided, axis=-1))
            assert short == []
    # (rows apart in memory, seen through a transpose: x[:, ::2].T along axis 0)
    x = sg.tensor("x", dtype, (None, None))
    strided = (rng.normal(size=(3000, 20)) * 3).astype(dtype)[:, ::2].T
    np.testing.assert_array_equal(sg.function([x], fn(x, axis=0), backend="numba")(strided), ref(strided, axis=0))
    # (a kernel for each row length: one function's rows of 10, then of 7 and 10 again)
    x = sg.tensor("x", dtype, (None, None))
    f = sg.function([x], fn(x, axis=1), backend="numba")
    for width in (10, 7, 10):
        value = (rng.normal(size=(50, width)) * 3).astype(dtype)
        np.testing.assert_array_equal(f(value), ref(value, axis=1))


@pytest.mark.parametrize("kind", ["argmax", "argmin"])
def test_a_small_index_along_rows_is_numpys_loop_called_without_the_ops_perform(kind, rng):
    """Below SHORT_ARG_ROWS_BY_NUMPY values (a batch's predictions), the index along the last
    axis of a C-ordered array is NumPy's loop called directly (the op's perform, its keepdims
    and conversion cost ~0.5 us of a 1.5 us call): NumPy's int64 indices, keepdims, NaN first,
    the dtypes; a strided array still goes through the reference."""
    fn, ref = (sg.argmax, np.argmax) if kind == "argmax" else (sg.argmin, np.argmin)
    for dtype in ("float32", "float64", "int8", "uint16", "bool"):  # (float16 graphs run the references)
        x = sg.tensor("x", dtype, (None, None, None))
        f = sg.function([x], [fn(x, axis=-1), fn(x, axis=2, keepdims=True)], backend="numba")
        thunks = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ArgReduceThunk)]
        assert len(thunks) == 2
        value = (rng.normal(size=(4, 32, 10)) * 3).astype(dtype)
        if dtype.startswith("float"):
            value[0, 1, [3, 7]] = np.nan
        for thunk in thunks:
            thunk.perform = None  # (a call of it fails)
        got, kept = f(value)
        assert got.dtype == kept.dtype == np.int64
        np.testing.assert_array_equal(got, ref(value, axis=-1))
        np.testing.assert_array_equal(kept, ref(value, axis=-1, keepdims=True))
        strided = value[:, ::2]
        for thunk in thunks:
            thunk.reference = lambda inputs, real=thunk.reference: ["reference"] + real(inputs)[1:]
        assert f(strided)[0] == "reference"


@pytest.mark.parametrize("kind", ["argmax", "argmin"])
def test_a_small_index_over_all_axes_is_numpys_pass_called_without_the_ops_perform(kind, rng):
    """Below ARG_WHOLE_BYTES, the index over all axes of a C-ordered array (a vector's argmax)
    is NumPy's pass called directly into an int64 0-d output (the op's perform cost 1.4 us of
    a 2.3 us call): the first best value, the first NaN, keepdims, 0-d to 3-d, every dtype
    NumPy's pass takes; a strided array still goes through the reference."""
    fn, ref = (sg.argmax, np.argmax) if kind == "argmax" else (sg.argmin, np.argmin)
    for dtype in ("float32", "float64", "int8", "uint16", "int64", "bool"):  # (float16 graphs run the references)
        for shape in ((), (1,), (37,), (5, 7), (3, 4, 6)):
            x = sg.tensor("x", dtype, (None,) * len(shape))
            f = sg.function([x], [fn(x), fn(x, keepdims=True)], backend="numba")
            thunks = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ArgReduceThunk)]
            assert len(thunks) == 2
            for thunk in thunks:
                thunk.perform = thunk.reference = None  # (a call of either fails)
            value = (rng.normal(size=shape) * 3).astype(dtype)
            if value.size > 4:
                value.flat[[1, 3]] = value.flat[4]  # (a tie: the first of them)
            for changed in ([], [2, 4]) if dtype.startswith("float") and value.size > 4 else ([],):
                if changed:
                    value.flat[changed] = np.nan
                got, kept = f(value)
                assert got.dtype == kept.dtype == np.int64 and got.shape == () and kept.shape == (1,) * len(shape)
                assert int(got) == int(kept.flat[0]) == ref(value), (dtype, shape, changed)
    x = sg.tensor("x", "float32", (None, None))
    f = sg.function([x], fn(x), backend="numba")
    thunk, = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ArgReduceThunk)]
    thunk.reference = lambda inputs: [np.asarray(-1)]
    assert int(f(rng.normal(size=(6, 8)).astype("float32")[:, ::2])) == -1  # (strided: the reference's)


@pytest.mark.parametrize("kind", ["argmax", "argmin"])
def test_an_index_over_all_axes_from_blocks_on_all_cores_is_numpys(kind, rng, monkeypatch):
    """A large array's index over all axes comes from blocks folded on all cores
    (numba_kernels.arg_extreme_whole_kernel; blocks of 8 values here) and is NumPy's: the best
    value, the first on a tie within a block and across blocks, the first NaN wherever it is,
    all NaN, inf and -inf, a last block that is partial; keepdims; 1-d and 2-d; integers of
    their extreme values. Smaller arrays, a strided or a float16 array: NumPy's."""
    monkeypatch.setattr(numba_cpu, "ARG_BLOCK", 8)
    monkeypatch.setattr(numba_cpu, "ARG_WHOLE_BYTES", 70)
    blocks = []
    monkeypatch.setattr(numba_cpu.ArgReduceThunk, "_whole",
                        lambda self, v, real=numba_cpu.ArgReduceThunk._whole: blocks.append(v.size) or real(self, v))
    fn, ref = (sg.argmax, np.argmax) if kind == "argmax" else (sg.argmin, np.argmin)
    sign = 1 if kind == "argmax" else -1
    for dtype in ("float32", "float64", "int32", "uint8", "int64"):
        for shape in ((10, 7), (70,)):
            x = sg.tensor("x", dtype, (None,) * len(shape))
            f = sg.function([x], [fn(x), fn(x, keepdims=True)], backend="numba")
            base = (rng.integers(1, 100, size=shape)).astype(dtype)  # 70 values: 8 full blocks and 6
            info = np.finfo(dtype) if dtype.startswith("float") else np.iinfo(dtype)
            best = info.max if sign > 0 else info.min
            cases = {"plain": {}, "tie across blocks": {10: best, 40: best}, "last block": {68: best},
                     "tie inside a block": {45: best, 47: best}, "first": {0: best, 69: best}}
            if dtype.startswith("float"):
                cases.update({"NaN in a later block": {60: np.nan, 3: best}, "NaN in two blocks": {20: np.nan, 60: np.nan},
                              "NaN first": {0: np.nan}, "all NaN": {i: np.nan for i in range(70)},
                              "infinities": {5: np.inf, 50: -np.inf, 51: np.inf, 52: -np.inf}})
            for name, changes in cases.items():
                value = base.copy()
                for i, v in changes.items():
                    value.flat[i] = v
                got, kept = f(value)
                assert got.dtype == np.int64 and got.shape == () and kept.shape == (1,) * len(shape), name
                assert int(got) == ref(value) and int(kept.flat[0]) == ref(value), (dtype, shape, name)
    assert blocks and set(blocks) == {70}
    del blocks[:]
    x = sg.tensor("x", "float32", (None,))
    f = sg.function([x], fn(x), backend="numba")
    for value in (rng.normal(size=10).astype("float32"), rng.normal(size=140).astype("float32")[::2]):
        assert int(f(value)) == ref(value)
    h = sg.tensor("h", "float16", (None,))
    halves = rng.normal(size=70).astype("float16")
    assert int(sg.function([h], fn(h), backend="numba")(halves)) == ref(halves)
    assert blocks == []
