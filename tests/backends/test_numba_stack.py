"""Stack tiles (numba_stack): each task of a parallel loop gets a buffer of its own, and the
tiled elementwise loop (numba_codegen._tiled_lines) reads a transposed input's tile from one,
as vector loads."""
import re

import numpy as np
import pytest
from numba import njit, prange

import symgraph as sg
from symgraph.backends import numba_codegen, numba_cpu
from symgraph.backends.numba_stack import STACK_ALIGN, stack_array
from tests.conftest import compiles_in_a_fresh_process_without_np_empty, executor_globals


@njit(parallel=True)
def _task_sums(n_tasks, out, addresses):
    """Each task fills its buffer with its own number, reads it back after the others ran."""
    for task in prange(n_tasks):
        b = stack_array(16, 16, out)
        addresses[task] = b.ctypes.data
        for i in range(16):
            for j in range(16):
                b[i, j] = task + i - j
        total = 0.0
        for k in range(1000):  # (time for the other thread's tasks to run meanwhile)
            total += b[k % 16, (k * 7) % 16]
        out[task] = total


def test_each_task_has_its_own_aligned_buffer():
    n = 64
    out, addresses = np.zeros(n), np.zeros(n, np.int64)
    _task_sums(n, out, addresses)
    k = np.arange(1000)
    want = [float(np.sum(task + k % 16 - (k * 7) % 16)) for task in range(n)]
    np.testing.assert_array_equal(out, want)
    assert np.all(addresses % STACK_ALIGN == 0)


def test_a_size_that_is_not_a_literal_is_refused():
    @njit
    def sized(n, like):
        return stack_array(n, 4, like)
    with pytest.raises(Exception, match="stack_array"):
        sized(8, np.zeros(1))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int8"])
@pytest.mark.exhaustive
def test_the_tiled_loop_reads_transposed_inputs_through_stack_tiles(dtype, rng, monkeypatch):
    """Shapes across several tiles of 64 (32 for 8-byte values) with partial ones at both
    edges, two transposed inputs, a broadcast row, a 1-d row, a column and C-ordered ones: as
    NumPy. (200x1: every input C-ordered, the flat loop.)"""
    monkeypatch.setattr(numba_cpu.codegen, "PARALLEL_THRESHOLD", 1000)
    x, y, z, r, c = (sg.tensor(n, dtype=dtype, ndim=2) for n in "xyzrc")
    v = sg.tensor("v", dtype=dtype, ndim=1)
    f = sg.function([x, y, z, r, c, v], x * y.T - z.T + r + c * v, backend="numba")
    for shape in [(130, 67), (31, 200), (64, 64), (200, 1)]:
        values = [rng.integers(-9, 9, size=s).astype(dtype)
                  for s in (shape, shape[::-1], shape[::-1], (1, shape[1]), (shape[0], 1), (shape[1],))]
        got = f(*values)
        x_, y_, z_, r_, c_, v_ = values
        np.testing.assert_array_equal(got, x_ * y_.T - z_.T + r_ + c_ * v_)
    thunk = next(t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ElementwiseThunk))
    assert ("tiled", (False, True, True, False, False, False)) in [key[:1] + key[2:3] for key in thunk.kernels]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_serial_loop_tiles_a_transposed_input_from_serial_tiled_min_values(dtype, rng, monkeypatch):
    """Below the parallel threshold a cheap loop: 128x256 (rows of y 512 or 1024 bytes apart)
    and 200x200 (800 or 1600: read as row slices, the tiles pay there too) through stack tiles;
    100x100 and 64x64 (below SERIAL_TILED_MIN) read in place. (A costly loop's: the test of
    test_numba_cpu for a transposed input beside other layouts.)"""
    x, y = sg.tensor("x", dtype=dtype, ndim=2), sg.tensor("y", dtype=dtype, ndim=2)
    for shape, tiled in [((128, 256), True), ((200, 200), True), ((100, 100), False), ((64, 64), False)]:
        assert (shape[0] * shape[1] >= numba_cpu.SERIAL_TILED_MIN) == tiled
        assert shape[0] * shape[1] < numba_codegen.PARALLEL_THRESHOLD
        f = sg.function([x, y], x * y.T, backend="numba")
        xv, yv = rng.normal(size=shape).astype(dtype), rng.normal(size=shape[::-1]).astype(dtype)
        np.testing.assert_array_equal(f(xv, yv), xv * yv.T)
        thunk = next(t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ElementwiseThunk))
        assert [key[0] for key in thunk.kernels] == (["tiled"] if tiled else ["broadcast"])
    monkeypatch.setattr(numba_codegen, "COSTLY_THRESHOLD", numba_codegen.PARALLEL_THRESHOLD)  # (exp's loop serial)
    for shape, tiled in [((128, 256), True), ((200, 200), False)]:  # a costly loop: tiles where rows fall on few sets
        f = sg.function([x, y], sg.exp(y.T) + x, backend="numba")
        xv, yv = rng.normal(size=shape).astype(dtype), rng.normal(size=shape[::-1]).astype(dtype)
        np.testing.assert_allclose(f(xv, yv), np.exp(yv.T) + xv, rtol=1e-5, atol=1e-5)
        thunk = next(t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ElementwiseThunk))
        assert [key[0] for key in thunk.kernels] == (["tiled"] if tiled else ["flat"])  # (else copied, then flat)


@pytest.mark.parametrize("dtype, lanes", [("float32", "float"), ("float64", "double")])
@pytest.mark.exhaustive
def test_the_tiled_loop_is_vectorized(dtype, lanes, tmp_path, monkeypatch):
    """Read in place, a transposed input was one strided load a value (LLVM's vector form of that
    loop runs only where the stride is 1); the row loop reads its stack tile instead, and
    vectorizes."""
    monkeypatch.setattr(numba_codegen.config, "cache_dir", str(tmp_path))  # (compiled here: its IR kept)
    x, y = sg.tensor("x", dtype=dtype, ndim=2), sg.tensor("y", dtype=dtype, ndim=2)
    (node,) = sg.function([x, y], x * y + x, backend="numba").fgraph.apply_nodes
    source = numba_codegen._broadcast_source(node.op, (dtype, dtype), 2, ((False, False), (False, False)), True,
                                             tiled=(False, True))
    reads = [line.strip() for line in source.splitlines() if re.search(r"\ba1\b", line)][1:]  # (past `def`)
    # (read only into the tile: its whole 8x8 blocks through registers, the edges value by value)
    assert "stack_array" in source and reads and all(r.startswith(("b1", "rows1 = a1.T")) for r in reads), reads
    assert "transpose_block(rows1, " in source
    # (the row loop reads and writes slices of the tile's rows: indexed as a0[i0, i1] and
    # b1[i0 - lo0, i1 - lo1] the same vector loop took twice as long)
    assert "r1 = b1[i0 - lo0]" in source and "o0 = out0[i0, lo1:hi1]" in source and "a0[i0, i1]" not in source
    kernel = numba_codegen.compile_source(f"# {tmp_path}\n{source}")
    a = np.ones((100, 100), dtype)
    kernel(np.empty_like(a), a, a.T)
    llvm = "".join(kernel.dispatcher.inspect_llvm().values())
    assert re.search(rf"fmul <\d+ x {lanes}>", llvm)


def test_stack_tiles_compile_nothing_of_numbas_array_module(tmp_path):
    """A fresh process running x * y.T through the tiled loops (serial and parallel) compiles
    the kernels and nothing of numba.np (numba's carray, or np.empty, would be compiled there
    once a process)."""
    printed = compiles_in_a_fresh_process_without_np_empty(tmp_path, (
        "x, y = sg.fmatrix('x'), sg.fmatrix('y')\n"
        "f = sg.function([x, y], x * y.T)\n"
        "a = np.ones((128, 256), 'float32')\n"
        "b = np.ones((1024, 512), 'float32')\n"
        "print(float(f(a, a.T.copy()).sum()), float(f(b, b.T.copy()).sum()))"), expected="symgraph_kernel_")
    assert printed.split() == ["32768.0", "524288.0"]
