"""sort and argsort against NumPy on both CPU backends (the numba one runs NumPy's sorts
natively), sort's first and second derivatives against finite differences, ties, and axis=None; argtopk's
partition against a whole sort."""
import numpy as np
import pytest

import symgraph as sg
from symgraph.backends import numba_cpu
from tests.conftest import executor_globals

RNG = np.random.default_rng(90)
X = RNG.normal(size=(3, 5))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_sort_and_argsort_match_numpy(backend):
    x, i = sg.dmatrix("x"), sg.ivector("i")
    f = sg.function([x, i], [sg.sort(x), sg.sort(x, axis=0), sg.sort(x, axis=None), sg.argsort(x),
                             sg.argsort(x, axis=0), sg.argsort(i, kind="stable"), sg.sort(x * 2 + 1)[:, -1]],
                    backend=backend)
    ties = np.array([3, 1, 3, 1, 2], "int32")
    got = f(X, ties)
    want = [np.sort(X), np.sort(X, axis=0), np.sort(X, axis=None), np.argsort(X), np.argsort(X, axis=0),
            np.argsort(ties, kind="stable"), np.sort(X * 2 + 1)[:, -1]]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    assert got[3].dtype == np.int64
    if backend == "numba":
        assert all(isinstance(node.op, numba_cpu.NATIVE) for node in f.fgraph.apply_nodes)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("kind", [None, "quicksort", "stable", "mergesort", "heapsort"])
def test_argsort_and_sort_take_numpys_kind_and_give_its_order_of_ties(backend, kind):
    """argsort(x, kind=...) gives np.argsort's indices for that kind, ties included: by default
    NumPy's and Theano's quicksort (NumPy's SIMD sort on AVX-512: 10^5 float32 1.3 ms where
    the stable sort took 8.4, which sg.argsort always ran before), "stable" and "mergesort" ties
    in their order. Float32 values with many ties, along rows and columns and flattened."""
    rng = np.random.default_rng(5)
    values = rng.integers(0, 40, (64, 300)).astype("float32") / 4
    x = sg.fmatrix("x")
    f = sg.function([x], [sg.argsort(x, kind=kind), sg.argsort(x, axis=0, kind=kind),
                          sg.argsort(x, axis=None, kind=kind), sg.sort(x, kind=kind)], backend=backend)
    want = [np.argsort(values, kind=kind), np.argsort(values, axis=0, kind=kind),
            np.argsort(values, axis=None, kind=kind), np.sort(values, kind=kind)]
    for got, expected in zip(f(values), want):
        np.testing.assert_array_equal(got, expected)
    if kind in ("stable", "mergesort"):
        assert (np.diff(f(values)[0], axis=1)[np.diff(np.sort(values), axis=1) == 0] > 0).all()
    with pytest.raises(ValueError, match="kind must be one of"):
        sg.argsort(x, kind="bogus")


@pytest.mark.parametrize("axis", [-1, 0, None])
def test_sort_gradient(axis):
    weights = np.arange(X.size, dtype=float).reshape(X.shape if axis is not None else (X.size,))
    sg.verify_grad(lambda v: (sg.sort(v, axis=axis) * weights).sum(), [X], rng=np.random.default_rng(1))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("axis", [-1, 0, None])
def test_second_derivatives_through_sort(axis, backend):
    """sort's gradient is differentiable in its turn (SortGrad's gradient is SortedLike's gather,
    and SortedLike's SortGrad): the gradient of a sorted cube's weighted sum checked against
    finite differences, and its Hessian against the one it must be, diagonal in x's own order."""
    weights = np.arange(X.size, dtype=float).reshape(X.shape if axis is not None else (X.size,)) + 1
    gradient = lambda v: sg.grad((sg.sort(v, axis=axis) ** 3 * weights).sum(), v)  # noqa: E731
    sg.verify_grad(gradient, [X], rng=np.random.default_rng(2), backend=backend)
    sg.verify_grad(lambda v: sg.grad((gradient(v) * X).sum(), v), [X], rng=np.random.default_rng(3), backend=backend)
    x = sg.dmatrix("x")
    hessian = sg.function([x], sg.hessian((sg.sort(x, axis=axis) ** 3 * weights).sum(), x), backend=backend)(X)
    flat_axis = 0 if axis is None else axis
    in_order = np.empty_like(weights)  # each entry's weight: the one at the place sort puts it
    source = X.reshape(-1) if axis is None else X
    np.put_along_axis(in_order, np.argsort(source, axis=flat_axis, kind="stable"), weights, axis=flat_axis)
    np.testing.assert_allclose(hessian.reshape(X.size, X.size), np.diag((6 * in_order.reshape(X.shape) * X).ravel()),
                               atol=1e-10)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sort_gradients_of_large_arrays_run_compiled_loops(dtype):
    """From numba_cpu.SMALL_BY_NUMPY values sort's gradient and its own gradient run compiled
    loops (AxisLoopThunk: a scatter and a gather in sort's order), along either axis, the
    incoming gradient a broadcast view (a plain sum's) or an array: the reference's values."""
    rng = np.random.default_rng(11)
    xv = rng.normal(size=(300, 70)).astype(dtype)
    wv = rng.uniform(0.5, 1.5, xv.shape).astype(dtype)
    x, w = sg.tensor("x", dtype, (None, None)), sg.tensor("w", dtype, (None, None))
    outs = []
    for axis in (0, 1):
        g = sg.grad((sg.sort(x, axis) ** 3 * w).sum(), x)
        outs += [g, sg.grad((g * w).sum(), x), sg.grad(sg.sort(x, axis).sum(), x)]
    f = sg.function([x, w], outs, backend="numba")
    thunks = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.AxisLoopThunk)]
    assert len(thunks) >= 6
    # (each axis: three scatters and a gather, and one argsort they all read)
    kinds = sorted(type(n.op).__name__ for n in f.fgraph.apply_nodes)
    assert len(thunks) == 8 and kinds.count("ArgSort") == 2 and kinds.count("SortedLike") == 2
    for got, want in zip(f(xv, wv), sg.function([x, w], outs, backend="numpy")(xv, wv)):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == "float32" else 1e-12)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_gradients_along_an_empty_axis_are_empty(backend):
    """sort's and cumprod's gradients (and their second derivatives) of arrays with an empty
    axis keep the array's shape (cumprod's shifted copies, the argsort, the recurrence and the
    scatter and gather of zero values)."""
    x = sg.dmatrix("x")
    outs = []
    for axis in (0, 1):
        for op in (sg.sort, sg.cumprod):
            g = sg.grad((op(x, axis) ** 2).sum(), x)
            outs += [g, sg.grad((g ** 2).sum(), x)]
    f = sg.function([x], outs, backend=backend)
    for value in (np.zeros((3, 0)), np.zeros((0, 4))):
        assert all(g.shape == value.shape for g in f(value))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_the_largest_k_values_through_sort(backend):
    """A top-k mean: the gradient reaches exactly the k largest entries of each row."""
    x = sg.dmatrix("x")
    top = sg.sort(x)[:, -2:].mean()
    gradient = sg.function([x], sg.grad(top, x), backend=backend)(X)
    want = np.zeros_like(X)
    np.put_along_axis(want, np.argsort(X)[:, -2:], 1 / 6, axis=1)
    np.testing.assert_allclose(gradient, want)


def test_sort_says_what_it_needs():
    with pytest.raises(ValueError, match="at least one dimension"):
        sg.sort(sg.dscalar("s"))
    with pytest.raises(ValueError, match="out of range"):
        sg.argsort(sg.dvector("v"), axis=1)


def _argtopk_by_sorting(v, kth, axis):
    """argtopk's indices from a whole stable sort: largest first (smallest first for kth < 0),
    equal entries lower index first."""
    order = np.argsort(-v if kth > 0 else v, axis=axis, kind="stable")
    return np.take(order, np.arange(min(abs(kth), v.shape[axis])), axis=axis)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("kth,axis", [(3, 1), (-4, 1), (2, 0), (-1, 0), (7, 1), (9, 1), (1, 2)])
def test_argtopk_partitions_and_orders_ties_lower_index_first(backend, kth, axis, rng):
    """argtopk of a constant kth by NumPy's argpartition (sorting only the k picked): the same
    indices as a whole stable sort, with many ties (entries 0-3) where none straddles the k-th;
    |kth| from the axis' length on, every index; a static length past kth shortens the shape."""
    values = rng.integers(0, 4, (6, 7, 5)).astype("float64") + np.arange(6 * 7 * 5).reshape(6, 7, 5) % 3 * 10
    x = sg.dtensor3("x")
    f = sg.function([x], sg.argtopk(x, kth, axis=axis), backend=backend)
    got = f(values)
    assert got.dtype == np.int64 and got.shape == _argtopk_by_sorting(values, kth, axis).shape
    # the k-th largest's value may straddle ties: the values picked, in order, are the sort's
    np.testing.assert_array_equal(np.take_along_axis(values, got, axis), np.take_along_axis(
        values, _argtopk_by_sorting(values, kth, axis), axis))
    distinct = rng.permutation(values.size).reshape(values.shape).astype("float64")
    np.testing.assert_array_equal(f(distinct), _argtopk_by_sorting(distinct, kth, axis))
    ties = np.zeros((6, 7, 5))  # all equal: the lowest indices, in order
    np.testing.assert_array_equal(f(ties), _argtopk_by_sorting(ties, kth, axis))
    if backend == "numba":
        assert all(isinstance(node.op, numba_cpu.NATIVE) for node in f.fgraph.apply_nodes)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "uint8"])
def test_argtopk_on_numba_is_a_compiled_pass_with_the_references_indices(dtype, rng):
    """The numba backend's argtopk (numba_cpu.TopIndicesThunk: one pass inserting each better
    value among the k best, 0.69 -> 0.25 ms for the 5 largest of 1000 rows of 100) gives the
    reference's indices exactly: ties lower index first at and around the k-th value, NaN the
    largest, -0.0 equal to 0.0, infinities; along each axis of a 3-d array, rows of one value,
    kth from 1 to past the axis' length, largest and smallest, on one core and on two (from
    COSTLY_THRESHOLD values). A kth past TOP_K_BY_LOOP runs the reference."""
    x = sg.tensor("x", dtype, (None, None, None))
    kth = sg.iscalar("k")
    # (a symbolic kth counts as positive: the smallest with constant ones)
    outs = [sg.argtopk(x, kth, axis=axis) for axis in (0, 1, 2)] + [sg.argtopk(x, -3, axis=2), sg.argtopk(x, -1, 1)]
    compiled, reference = (sg.function([x, kth], outs, backend=b) for b in ("numba", "numpy"))
    thunks = [t for t in executor_globals(compiled).values() if isinstance(t, numba_cpu.TopIndicesThunk)]
    assert len(thunks) == 5
    ran_reference = []
    for t in thunks:
        t.reference = lambda inputs, real=t.reference: ran_reference.append(int(inputs[1])) or real(inputs)
    for shape in ((4, 9, 30), (3, 1, 1), (40, 30, 30)):   # (the last on two cores)
        if np.dtype(dtype).kind == "f":
            v = rng.integers(-3, 4, shape).astype(dtype) / 2
            v.flat[rng.integers(0, v.size, v.size // 7)] = np.nan
            v.flat[rng.integers(0, v.size, v.size // 9)] = -0.0
            v.flat[rng.integers(0, v.size, v.size // 11)] = np.inf
            v.flat[rng.integers(0, v.size, v.size // 13)] = -np.inf
        else:
            info = np.iinfo(dtype)
            v = rng.choice([info.min, info.max, 0, 1, 2, 3], shape).astype(dtype)
        for k in (1, 2, 3, 5, 9, 31, 64, 65, 100):
            for got, want in zip(compiled(v, k), reference(v, k)):
                assert got.dtype == np.int64
                np.testing.assert_array_equal(got, want, err_msg=f"{dtype} {shape} kth {k}")
    assert ran_reference and all(k > numba_cpu.TOP_K_BY_LOOP for k in ran_reference)
    assert 40 * 30 * 30 >= numba_cpu.codegen.COSTLY_THRESHOLD


def test_argtopk_of_a_static_length_and_nan_beside_topk():
    """A NaN is the largest entry for topk and argtopk alike (NumPy's sorts put it last)."""
    x = sg.tensor("x", "float32", (None, 4))
    assert sg.argtopk(x, 2).type.shape == (None, 2) and sg.argtopk(x, 6).type.shape == (None, 4)
    v = np.array([[1, np.nan, 3, 2], [4, 4, 1, 4]], "float32")
    values, indices = sg.function([x], sg.topk_and_argtopk(x, 2))(v)
    np.testing.assert_array_equal(indices, [[1, 2], [0, 1]])
    np.testing.assert_array_equal(values, np.take_along_axis(v, indices, 1))
    with pytest.raises(ValueError, match="kth must not be 0"):
        sg.argtopk(x, 0)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_argtopk_of_a_symbolic_kth_as_of_a_constant_one(backend, rng):
    """A symbolic kth (counted as positive, as topk's) picks as a constant one does; past the
    axis' length every index; below 1 an error naming it."""
    x, k = sg.dmatrix("x"), sg.lscalar("k")
    f = sg.function([x, k], [sg.argtopk(x, k), sg.argtopk(x, 3)], backend=backend)
    v = rng.integers(0, 3, (5, 8)).astype("float64")
    by_symbol, by_constant = f(v, 3)
    np.testing.assert_array_equal(by_symbol, by_constant)
    np.testing.assert_array_equal(by_symbol, _argtopk_by_sorting(v, 3, 1))
    np.testing.assert_array_equal(f(v, 20)[0], _argtopk_by_sorting(v, 20, 1))
    with pytest.raises(ValueError, match="at least 1"):
        f(v, 0)
