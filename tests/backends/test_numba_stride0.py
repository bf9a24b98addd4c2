"""Inputs spread along an axis by a stride of 0 (a BroadcastTo's view in a gradient, an
np.broadcast_to array passed in) reach the Numba backend's loops cut to length 1 there
(numba_cpu._broadcast_cuts), so the loops read them as broadcast inputs instead of as
arrays of any layout (one value at a time): NumPy's values, and the kernels' patterns."""
import numpy as np
import pytest

import symgraph as sg
from tests.conftest import executor_globals
from symgraph.backends import numba_cpu


def thunks(f, kind):
    return [t for t in executor_globals(f).values() if isinstance(t, kind)]


def spread(rng, small, shape, dtype):
    return np.broadcast_to((rng.normal(size=small) * 2).astype(dtype), shape)


# (shape, the spread input's own shape)
LAYOUTS = [((64, 200), (1, 200)), ((64, 200), (64, 1)), ((6, 30, 40), (6, 1, 40)), ((6, 30, 40), (1, 30, 1)),
           ((64, 200), (1, 1))]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.exhaustive
def test_an_elementwise_loop_reads_a_spread_input_as_a_broadcast_one(dtype, rng):
    for shape, small in LAYOUTS:
        x, s = sg.tensor("x", dtype, (None,) * len(shape)), sg.tensor("s", dtype, (None,) * len(shape))
        f = sg.function([x, s], sg.log(abs(x) + 1) * s - sg.exp(s), backend="numba")
        xv, sv = (rng.normal(size=shape)).astype(dtype), spread(rng, small, shape, dtype)
        tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12)
        for _ in range(2):  # (the plan made, then reused)
            np.testing.assert_allclose(f(xv, sv), np.log(abs(xv) + 1) * sv - np.exp(sv), **tol)
        (thunk,) = thunks(f, numba_cpu.ElementwiseThunk)
        pattern = tuple(n == 1 for n in small)
        if all(pattern):  # (one value: the flat loop's)
            continue
        assert any(key[0] == "broadcast" and key[1][1] == pattern for key in thunk.kernels), list(thunk.kernels)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_spread_input_alone_keeps_the_shape_it_is_spread_to(dtype, rng):
    """Where no other input spans its spread axes, cutting it would shrink the output: it is
    read as it is (NumPy's values and shape)."""
    s = sg.tensor("s", dtype, (None, None))
    f = sg.function([s], sg.exp(s) * 2, backend="numba")
    sv = spread(rng, (1, 50), (30, 50), dtype)
    got = f(sv)
    assert got.shape == (30, 50)
    np.testing.assert_allclose(got, np.exp(sv) * 2, rtol=1e-6)
    assert numba_cpu._broadcast_cuts([sv]) is None


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["sum", "max", "mean"])
@pytest.mark.parametrize("axis", [0, -1, None])
@pytest.mark.parametrize("layout", LAYOUTS[:4], ids=["row", "column", "3-d middle", "3-d outer"])
@pytest.mark.exhaustive
def test_a_fused_reduction_reads_a_spread_input_as_a_broadcast_one(layout, axis, kind, dtype, rng):
    tol = dict(rtol=2e-5, atol=2e-5) if dtype == "float32" else dict(rtol=1e-12)
    shape, small = layout
    x, s = sg.tensor("x", dtype, (None,) * len(shape)), sg.tensor("s", dtype, (None,) * len(shape))
    f = sg.function([x, s], getattr(sg.log(abs(x) + 1) * s, kind)(axis=axis), backend="numba")
    xv, sv = rng.normal(size=shape).astype(dtype), spread(rng, small, shape, dtype)
    for _ in range(2):
        want = getattr(np.log(abs(xv) + 1) * sv, kind)(axis=axis)
        np.testing.assert_allclose(f(xv, sv), want, **tol)
    (thunk,) = thunks(f, numba_cpu.ReduceThunk)
    # the kernel reads s at 0 along its spread axes: they are in its broadcast pattern
    assert any(key[3][1] for key in thunk.kernels), (shape, small, axis, list(thunk.kernels))


def test_the_gradient_through_a_mean_over_axis_0_is_the_numpy_backends(rng):
    """The mean's seed multiplies log1p's derivative in one loop (it ran a value at a time: 543
    us for 64x784 float32): broadcast to the input's shape by a BroadcastTo view, read as a
    row spread by a stride of 0; or, since canonicalize leaves that broadcast to the loop
    (broadcast_left_to_the_loop), its one value spread over a row, read as one value."""
    x, y = sg.fmatrix("x"), sg.fmatrix("y")
    cost = sg.log(abs(sg.log(abs(x + y) + 1)) + 1).mean(axis=0).sum()
    grads = sg.grad(cost, [x, y])
    f, ref = sg.function([x, y], grads, backend="numba"), sg.function([x, y], grads, backend="numpy")
    xv, yv = rng.normal(size=(64, 784)).astype("float32"), rng.normal(size=(64, 784)).astype("float32")
    for g, w in zip(f(xv, yv), ref(xv, yv)):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-8)
    elementwise = thunks(f, numba_cpu.ElementwiseThunk)
    assert any((key[0] == "broadcast" and (True, False) in key[1]) or (key[0] == "flat" and key[1][0])
               for t in elementwise for key in t.kernels)


@pytest.mark.parametrize("n", [numba_cpu.SPREAD_MIN, 100])
@pytest.mark.parametrize("cost", ["squared error", "through SumToShape"])
def test_a_cheap_vector_loop_reads_a_mean_s_seed_as_one_value(cost, n, rng):
    """A 1-d loop of cheap arithmetic takes inputs of any stride as they are, but a mean's
    seed spread by a stride of 0 (BroadcastTo, or a SumToShape passing it on) ran a value at
    a time (30000 float32 18.5 us, as one value 9.7): from SPREAD_MIN values the loop reads it
    as one value (its plan); below, as it is. NumPy's gradients either way."""
    x, y = sg.fvector("x"), sg.fvector("y")
    loss = ((x - y) ** 2).mean() if cost == "squared error" else (abs(x + x) + y).mean()
    grads = sg.grad(loss, [x, y])
    f, ref = sg.function([x, y], grads, backend="numba"), sg.function([x, y], grads, backend="numpy")
    # (100 values first: the flat kernel compiled, the call written with it; then the written
    # call must hand the spread seed to its plan, made, then reused)
    for values in [rng.normal(size=(2, 100)).astype("float32")] + [rng.normal(size=(2, n)).astype("float32")] * 2:
        for g, w in zip(f(*values), ref(*values)):
            np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-9)
    (reader,) = [t for t in thunks(f, numba_cpu.ElementwiseThunk) if t.spread]
    spread_layouts = [key for key in reader.plans if 0 in key[len(key) // 2 + reader.spread[0]]]
    assert len(spread_layouts) == (n >= numba_cpu.SPREAD_MIN)
