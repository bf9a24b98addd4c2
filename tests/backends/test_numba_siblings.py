"""Reductions over every axis of the same arrays run as one loop (numba_siblings): NumPy's
values for each fold and dtype, on one core and on all, NaN and infinities, keepdims, a
single value beside the array; the loop's source (a value computed once, one NaN flag for a
max and a min of it); the nodes' own thunks where the loop does not suit the inputs."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import symgraph as sg
from symgraph.backends import numba_siblings as siblings
from symgraph.ops.ifelse import ifelse


def groups_of(f):
    """The sibling groups of f's node-by-node program."""
    run = getattr(f._run, "run", f._run)
    thunks = [value for name, value in run.__globals__.items() if name[0] == "t" and name[1:].isdigit()]
    return list({id(t.group): t.group for t in thunks if isinstance(t, siblings._Member)}.values())


def own_calls(group):
    """Counts of the calls of each node's own thunk, from now on."""
    counts = [0] * len(group.thunks)
    for k, thunk in enumerate(group.thunks):
        own = thunk.call

        def counted(inputs, k=k, own=own):
            counts[k] += 1
            return own(inputs)
        thunk.call = counted
    return counts


def outputs(x):
    return [x.max(), x.min(), x.sum(), x.mean(), (1 + x / 1000).prod(), abs(x).sum(), sg.exp(x / 8).mean()]


def references(a):
    """In float64: a float32 product's fold is float64, as its sum's blocks' total."""
    a = a.astype("float64")
    return [a.max(), a.min(), a.sum(), a.mean(), (1 + a / 1000).prod(), np.abs(a).sum(), np.exp(a / 8).mean()]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [3000, 300000])  # (one core; all cores, in chunks)
def test_folds_of_one_array_in_one_loop_give_numpys(dtype, n, rng):
    x = sg.vector("x", dtype=dtype)
    f = sg.function([x], outputs(x))
    (group,) = groups_of(f)
    assert len(group.nodes) == 7
    a = rng.standard_normal(n).astype(dtype)
    f(a)
    counts = own_calls(group)
    got = f(a)
    assert counts == [0] * len(counts)  # every fold from the one loop
    assert [parallel for _, parallel in group.kernels] == [n > 100000]
    for value, expected in zip(got, references(a)):
        assert value.dtype == dtype and value.shape == ()
        np.testing.assert_allclose(value, expected, rtol=1e-5 if dtype == "float32" else 1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [5000, 300000])
def test_nan_and_infinities_reach_each_fold_as_numpys(dtype, n, rng):
    x = sg.vector("x", dtype=dtype)
    f = sg.function([x], [x.max(), x.min(), x.sum()])
    a = rng.standard_normal(n).astype(dtype)
    for special in ([np.inf], [-np.inf], [np.inf, -np.inf], [np.nan], [np.nan, np.inf]):
        b = a.copy()
        b[rng.choice(n, len(special), replace=False)] = special
        got = f(b)
        np.testing.assert_array_equal(got[:2], [b.max(), b.min()])
        with np.errstate(invalid="ignore"):  # (inf - inf)
            np.testing.assert_allclose(got[2], b.sum(), rtol=1e-4)


def test_a_matrix_kept_dims_and_a_single_value_beside_it(rng):
    x, m = sg.matrix("x", dtype="float64"), sg.scalar("m", dtype="float64")
    # (m, the single value, is each node's first input)
    f = sg.function([x, m], [((m - x) ** 2).sum(keepdims=True), (m * x).max(keepdims=True), (m + x).min()])
    (group,) = groups_of(f)
    a = rng.standard_normal((300, 70))
    f(a, 0.25)
    counts = own_calls(group)
    got = f(a, 0.25)
    assert counts == [0, 0, 0]
    expected = [((0.25 - a) ** 2).sum(keepdims=True), (0.25 * a).max(keepdims=True), (0.25 + a).min()]
    for value, reference in zip(got, expected):
        assert value.shape == reference.shape
        np.testing.assert_allclose(value, reference, rtol=1e-12)
    b = rng.standard_normal((300, 140))[:, ::2]  # (a view, not C-ordered: each node's own loop)
    np.testing.assert_allclose(f(b, 0.25)[2], (b + 0.25).min(), rtol=1e-12)
    assert counts == [1, 1, 1]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,axis", [((3000, 40), 1), ((20, 30, 50), (1, 2)), ((400, 700), -1), ((2, 5000), 1)])
def test_folds_of_each_row_of_the_same_arrays_in_one_loop_give_numpys(dtype, shape, axis, rng):
    """Reductions over the last axes (each row's sum, max, mean...) of the same arrays: one
    loop, a task a row on all cores; NaN in a row, keepdims, a single value beside the array."""
    x, s = sg.tensor("x", dtype=dtype, ndim=len(shape)), sg.tensor("s", dtype=dtype, ndim=0)
    f = sg.function([x, s], [(x - s).sum(axis=axis), (x - s).max(axis=axis, keepdims=True),
                             (x - s).mean(axis=axis), abs(x - s).min(axis=axis)])
    (group,) = groups_of(f)
    a = rng.standard_normal(shape).astype(dtype)
    a.reshape(-1)[rng.integers(0, a.size)] = np.nan
    f(a, 0.5)
    counts = own_calls(group)
    got = f(a, 0.5)
    assert counts == [0] * 4
    d = a.astype("float64") - 0.5
    axes = (axis,) if isinstance(axis, int) else axis
    for value, expected in zip(got, [d.sum(axis=axes), d.max(axis=axes, keepdims=True), d.mean(axis=axes),
                                     np.abs(d).min(axis=axes)]):
        assert value.shape == expected.shape and value.dtype == dtype
        np.testing.assert_allclose(value, expected, rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-5)
    assert not groups_of(sg.function([x], [x.sum(axis=0), x.max(axis=-1)]))  # (other axes: apart)


def test_a_loss_and_its_metric_of_one_difference_read_the_arrays_once(rng):
    """A mean squared error beside a mean absolute one of p - y: folds each reading p and y
    (fusion._folds_read_through), then one loop."""
    p, y = sg.fmatrix("p"), sg.fmatrix("y")
    f = sg.function([p, y], [((p - y) ** 2).mean(), abs(p - y).mean()])
    (group,) = groups_of(f)
    assert [len(node.inputs) for node in group.nodes] == [2, 2]
    a, b = (rng.standard_normal((500, 300)).astype("float32") for _ in range(2))
    f(a, b)
    counts = own_calls(group)
    got = f(a, b)
    assert counts == [0, 0]
    d = a.astype("float64") - b
    np.testing.assert_allclose(got, [(d ** 2).mean(), np.abs(d).mean()], rtol=1e-5)


def test_the_loop_computes_a_value_once_and_keeps_one_nan_flag_for_its_max_and_min():
    x = sg.vector("x", dtype="float32")
    f = sg.function([x], [x.max(), x.min(), x.sum(), sg.exp(x).sum()])
    f(np.ones(4000, "float32"))
    (group,) = groups_of(f)
    assert len(group.nodes) == 4
    for parallel in (False, True):
        lines = [line.strip() for line in group.source((True,), parallel).splitlines()]
        values = [line for line in lines if line.startswith("u")]
        assert values[0] == "u0_0 = np.float32(x0)" and len(values) == 2 and "exp" in values[1]
        assert [line for line in lines if "!=" in line] == ["seen0 |= u0_0 != u0_0"]
        # (float32 sums folded into float64 beside a max and a min: blocks there left the loop scalar)
        assert not [line for line in lines if "block" in line]
        assert "acc2 = fold_add(acc2, np.float64(u0_0))" in lines and "acc2 = np.float64(0)" in lines
        assert ("for c in prange(chunks):" in lines) == parallel


def test_sums_of_one_value_share_an_accumulator_and_float32_sums_alone_add_blocks():
    x = sg.vector("x", dtype="float32")
    f = sg.function([x], [x.sum(), x.mean(), abs(x).sum()])
    f(np.ones(4000, "float32"))
    (group,) = groups_of(f)
    lines = [line.strip() for line in group.source((True,), False).splitlines()]
    assert [line for line in lines if "fold_add(block" in line] == [
        "block0 = fold_add(block0, np.float32(u0_0))", "block2 = fold_add(block2, np.float32(u2_0))"]
    assert lines[-3:] == ["totals[0] = acc0", "totals[1] = acc0 / n0", "totals[2] = acc2"]
    np.testing.assert_allclose(f(np.arange(4000, dtype="float32") - 2000), [-2000, -0.5, 4000000], rtol=1e-7)


def test_other_inputs_small_ones_and_views_run_each_nodes_own_thunk(rng):
    x = sg.matrix("x", dtype="float32")
    f = sg.function([x], [x.max(), x.min()])
    (group,) = groups_of(f)
    a = rng.standard_normal((200, 100)).astype("float32")
    f(a)
    counts = own_calls(group)
    for b in (a[:, :10], a.T, a[:5, :5]):  # (a view: not C-ordered; 25 values: NumPy's reduce)
        np.testing.assert_array_equal(f(b), [b.max(), b.min()])
    assert counts == [3, 3]
    # A node given other arrays than those the first folded (another call in between) runs its own.
    run = getattr(f._run, "run", f._run)
    first, second = (value for name, value in sorted(run.__globals__.items())
                     if name[0] == "t" and name[1:].isdigit() and isinstance(value, siblings._Member))
    assert first.call([a])[0] == a.max()
    c = rng.standard_normal((200, 100)).astype("float32")
    assert second.call([c])[0] == c.min()
    assert counts == [3, 4]
    with pytest.raises(ValueError):
        f(np.zeros((0, 3), "float32"))  # (NumPy's error for the max of nothing)


def test_groups_need_the_same_inputs_full_reductions_and_no_lazy_branches(rng):
    x, y = sg.matrix("x"), sg.matrix("y")
    assert not groups_of(sg.function([x, y], [x.max(), y.max()]))
    assert not groups_of(sg.function([x], [x.max(axis=0), x.min(axis=0)]))
    assert not groups_of(sg.function([x], [x.argmax(), x.max()]))
    c = sg.scalar("c")
    f = sg.function([x, c], ifelse(c > 0, x.max() - x.min(), x.sum()))
    assert not groups_of(f)
    a = rng.standard_normal((100, 100)).astype(sg.config.floatX)
    np.testing.assert_allclose(f(a, 1.0), a.max() - a.min(), rtol=1e-6)


def test_calls_at_once_from_several_threads_each_get_their_own_arrays_folds(rng):
    """One call's first fold may store its results while another thread's call runs: the
    others hand back only what was folded from their own arrays."""
    import sys
    import threading
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # (threads switched between a call's nodes, often)
    x = sg.dvector("x")
    f = sg.function([x], [x.sum(), x.max(), x.mean()], backend="numba")
    # (arrays the whole-program tier leaves to the nodes: numba_program.MAX_ELEMENTS)
    inputs = [rng.normal(size=n) for n in (70000, 90000, 200000, 300000)]
    f(inputs[0])
    errors = []

    def work(v):
        try:
            for _ in range(100):
                total, top, mean = f(v)
                assert abs(total - v.sum()) <= 1e-12 * np.abs(v).sum() and top == v.max()
                assert abs(mean - v.mean()) <= 1e-12 * np.abs(v).mean()
        except AssertionError as exc:
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(v,)) for v in inputs]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(before)
    assert not errors, errors


_UNARY = [lambda a: a, abs, sg.exp, lambda a: a * a, lambda a: sg.tanh(a) * 3, lambda a: sg.sqrt(abs(a) + 1)]
_BINARY = [lambda a, b: a - b, lambda a, b: a * b + 1, lambda a, b: sg.maximum(a, b)]
_FOLDS = ["sum", "mean", "max", "min", "prod"]


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(_UNARY) - 1), st.integers(0, len(_BINARY) - 1),
                          st.sampled_from(_FOLDS), st.sampled_from([None, 0, 1]), st.booleans()),
                min_size=2, max_size=5),
       st.sampled_from(["float32", "float64"]), st.sampled_from([(3, 5), (60, 40)]), st.booleans())
def test_folds_of_functions_of_the_same_arrays_give_the_graph_as_writtens(folds, dtype, shape, shared_difference):
    """Folds of functions of p and y, over every axis or one, kept or not, some of one shared
    difference (a loop of several outputs, each folded: fusion._folds_read_through), others of
    their own: the numba backend (its folds in one loop where they take every axis of the same
    arrays) against the numpy backend on the graph as written."""
    p, y = sg.tensor("p", dtype=dtype, ndim=2), sg.tensor("y", dtype=dtype, ndim=2)
    d = p - y
    outputs = []
    for unary, binary, kind, axis, keepdims in folds:
        value = _UNARY[unary](d if shared_difference else _BINARY[binary](p, y))
        value = value / 4 + 1 if kind == "prod" else value  # (products of values near 1)
        outputs.append(getattr(value, kind)(axis=axis, keepdims=keepdims))
    f = sg.function([p, y], outputs, backend="numba")
    reference = sg.function([p, y], outputs, backend="numpy", optimize=False)
    rng = np.random.default_rng(len(folds))
    a, b = (rng.standard_normal(shape).astype(dtype) * 0.5 for _ in range(2))
    tol = dict(rtol=2e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    for got, want in zip(f(a, b), reference(a, b)):
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, **tol)
