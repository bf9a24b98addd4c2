"""Views whose rows lie apart in memory (x[::2], x[:, :k], crops) read as C-ordered arrays of
their padded rows (numba_padded): which views qualify, the view's values at its own indices,
and the compiled loops over them giving NumPy's values without reading the gaps between rows."""
import numpy as np
import pytest
from numba import njit

import symgraph as sg
from symgraph.backends import numba_cpu
from symgraph.backends.numba_padded import has_padded_rows, padded_rows
from tests.conftest import executor_globals


def _base(shape, dtype="float32"):
    return np.arange(np.prod(shape), dtype=dtype).reshape(shape)


def test_views_of_a_sub_box_qualify_others_do_not():
    x = _base((6, 10))
    x4 = _base((2, 3, 6, 7))
    for view in [x[::2], x[:, :4], x[:, 1:], x[1:5, 2:9], x[::3, 3:4], x4[:, :, 1:-1, 1:-1], x4[:, 1:2], x4[::2, ::2]]:
        assert has_padded_rows(view), view.strides
    unaligned = np.frombuffer(np.zeros(61, np.uint8).data, np.uint8)[1:].view(np.float32).reshape(3, 5)[:, :4]
    for view in [x, x[:3], x.T, x[:, ::2], x[::-1], x[:, ::-1], np.broadcast_to(x[:1], (6, 10)), x[:, 0], x[:0, :4],
                 x4.transpose(0, 1, 3, 2)[:, :, :3], np.lib.stride_tricks.as_strided(x, (6, 10), (8, 4)), unaligned]:
        assert not has_padded_rows(view), view.strides


@njit
def _read_back(out, view):
    padded = padded_rows(view)
    for i in range(view.shape[0]):
        for j in range(view.shape[1]):
            for k in range(view.shape[2]):
                out[i, j, k] = padded[i, j, k]
    return padded.shape


def test_the_padded_array_holds_the_views_values_at_its_indices():
    x = _base((7, 9, 11))
    view = x[1:6:2, 2:8, 3:7]
    out = np.zeros(view.shape, x.dtype)
    shape = _read_back(out, view)
    np.testing.assert_array_equal(out, view)
    assert shape == (3, 9 * 2, 11)  # (every other row of 9: rows of 9 x 2 apart; rows of 11)
    assert _read_back.nopython_signatures[0].args[1].layout == "A"


def _gapped(shape, view, dtype, rng):
    """Random values where the view reads, NaN (or the type's largest number) in the gaps around it."""
    fill = np.nan if np.dtype(dtype).kind == "f" else np.iinfo(dtype).max
    base = np.full(shape, fill, dtype)
    inner = view(base)
    inner[...] = rng.integers(-50, 50, size=inner.shape).astype(dtype)
    return base


CROPS = [((40, 70), lambda a: a[::2]), ((40, 70), lambda a: a[:, :33]), ((40, 70), lambda a: a[3:, 2:]),
         ((9, 8, 300), lambda a: a[:, 1:7, 5:290]), ((6, 5, 12, 11), lambda a: a[:, :, 1:-1, 1:-1])]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
@pytest.mark.parametrize("kind", ["sum", "max", "min", "mean", "prod"])
@pytest.mark.exhaustive
def test_reductions_of_views_with_rows_apart_give_numpys_values(dtype, kind, rng, monkeypatch):
    """Along each axis and all of them, serial and parallel, stored and fused (x * 2 + 1): as
    NumPy's over the view; NaN (or the largest integer) fills the gaps, so a read of one shows."""
    monkeypatch.setattr(numba_cpu.codegen, "PARALLEL_THRESHOLD", 2000)
    monkeypatch.setattr(numba_cpu, "PARTIAL_REDUCE_BY_NUMPY", 1)
    for shape, crop in CROPS:
        base = _gapped(shape, crop, dtype, rng)
        if kind == "prod":
            crop(base)[...] = rng.choice(np.array([-1, 1], dtype), size=crop(base).shape)
        x = sg.tensor("x", dtype=dtype, ndim=len(shape))
        view = crop(x)
        for axis in [*range(len(shape)), None]:
            for fused in (False, True):
                operand = view * 2 + 1 if fused else view
                f = sg.function([x], getattr(operand, kind)(axis=axis), backend="numba")
                got = f(base)
                want = getattr(crop(base) * 2 + 1 if fused else crop(base), kind)(axis=axis)
                np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == "float32" else 1e-12)
                assert got.dtype == want.dtype
                thunks = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)]
                if axis is not None and kind != "mean" or fused:
                    # (every reduction along an axis, and every fused one, ran the loop through padded rows)
                    assert thunks and all(key[4] == (0,) for t in thunks for key in t.kernels), (shape, axis, fused)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.exhaustive
def test_elementwise_loops_over_views_with_rows_apart_give_numpys_values(dtype, rng, monkeypatch):
    """Cheap and costly loops (exp: not copied to C order first any more), beside C-ordered
    inputs and broadcast rows, serial and parallel: as NumPy, no gap read."""
    monkeypatch.setattr(numba_cpu.codegen, "PARALLEL_THRESHOLD", 2000)
    for shape, crop in CROPS:
        base = _gapped(shape, crop, dtype, rng)
        inner = crop(base)
        y = rng.normal(size=inner.shape).astype(dtype)
        row = rng.normal(size=inner.shape[-1:]).astype(dtype)
        x, yv, rv = sg.tensor("x", dtype=dtype, ndim=len(shape)), sg.tensor("y", dtype=dtype, ndim=len(shape)), \
            sg.tensor("r", dtype=dtype, ndim=1)
        for expr, want in [(crop(x) * 2 + yv, inner * 2 + y), (crop(x) - rv, inner - row),
                           (sg.exp(crop(x) * 0.1) * yv, np.exp(inner * dtype_type(dtype)(0.1)) * y)]:
            f = sg.function([x, yv, rv], expr, backend="numba", on_unused_input="ignore")
            np.testing.assert_allclose(f(base, y, row), want, rtol=2e-6 if dtype == "float32" else 1e-13)
            thunks = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ElementwiseThunk)]
            assert thunks and all(key[3] == (0,) for t in thunks for key in t.kernels), shape


def dtype_type(dtype):
    return np.dtype(dtype).type


def test_the_kernels_source_reads_the_view_through_padded_rows(rng):
    x = sg.fmatrix("x")
    f = sg.function([x], (x[::2] * 3).max(axis=0), backend="numba")
    xv = rng.normal(size=(400, 300)).astype("float32")
    np.testing.assert_allclose(f(xv), (xv[::2] * 3).max(axis=0))
    (thunk,) = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)]
    (kernel,) = thunk.kernels.values()
    source = open(kernel.dispatcher.py_func.__code__.co_filename).read()
    assert "def kernel(out, ext, s0):" in source and "a0 = padded_rows(s0)" in source


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.exhaustive
def test_transposed_views_with_rows_apart_loop_over_their_rows(dtype, rng, monkeypatch):
    """x[::2].T + y.T * s, exp(x[:, :k].T): the loop runs over the transposed views (rows apart
    as padded rows, a transposed C-ordered matrix as C-ordered) and gives NumPy's values in
    NumPy's layout (F-ordered); NaN in the gaps shows a read of one."""
    monkeypatch.setattr(numba_cpu.codegen, "PARALLEL_THRESHOLD", 2000)
    for shape, crop in [((80, 70), lambda a: a[::2]), ((40, 90), lambda a: a[:, 3:50]), ((300, 40), lambda a: a[1:, :-1])]:
        base = _gapped(shape, crop, dtype, rng)
        inner = crop(base)
        y = rng.normal(size=inner.shape).astype(dtype)  # (y.T: a transposed C-ordered matrix)
        x, yv, s = sg.tensor("x", dtype=dtype, ndim=2), sg.tensor("y", dtype=dtype, ndim=2), sg.scalar("s", dtype=dtype)
        half = np.dtype(dtype).type(0.5)
        for expr, want in [(crop(x).T + yv.T * s, inner.T + y.T * half), (sg.exp(crop(x).T * 0.1), np.exp(inner.T * 0.1))]:
            f = sg.function([x, yv, s], expr, backend="numba", on_unused_input="ignore")
            got = f(base, y, half)
            np.testing.assert_allclose(got, want, rtol=2e-6 if dtype == "float32" else 1e-13)
            assert got.flags.f_contiguous == want.flags.f_contiguous == True  # noqa: E712
            thunks = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ElementwiseThunk)]
            assert thunks and all(key[0] == "broadcast" and len(key[3]) == 1 for t in thunks for key in t.kernels)
