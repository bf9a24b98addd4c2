"""Non-temporal stores (numba_stream): a large output of a flat loop is written past the caches,
with NumPy's results, from any alignment of the output, and as vector streaming stores."""
import inspect
import re

import numpy as np
import pytest

import symgraph as sg
from symgraph.backends import numba_codegen, numba_cpu, numba_stream
from tests.conftest import executor_globals


def _composite(inputs, output):
    """The one Composite node sg.function makes of output."""
    (node,) = sg.function(inputs, output, backend="numba").fgraph.apply_nodes
    return node.op


def _misaligned_views(n, dtype, offset, count, rng):
    """`count` arrays of n elements starting `offset` elements past a 64-byte boundary."""
    views = []
    for _ in range(count):
        base = np.empty(n + 64, dtype)
        skip = (-base.ctypes.data % 64) // base.itemsize + offset
        view = base[skip:skip + n]
        view[...] = rng.normal(size=n) * 3 if np.dtype(dtype).kind == "f" else rng.integers(-9, 9, n)
        views.append(view)
    return views


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
@pytest.mark.exhaustive
def test_streamed_kernels_write_every_element_from_any_alignment(dtype, rng):
    x, y = sg.tensor("x", dtype=dtype, shape=(None,)), sg.tensor("y", dtype=dtype, shape=(None,))
    composite = _composite([x, y], x * y + x)
    kernel = numba_codegen.flat_kernel(composite, (dtype, dtype), (False, False), True, stream=True)
    block = numba_stream.STREAM_BLOCK
    for n in (0, 1, 15, block - 1, block + 17, 3 * numba_codegen.PARALLEL_CHUNK + 5):
        for offset in (0, 1, 3, 7):
            out, a, b = _misaligned_views(n, dtype, offset, 3, rng)
            kernel(out, a, b)
            np.testing.assert_array_equal(out, a * b + a)


def test_a_function_streams_large_outputs_only(monkeypatch, rng):
    x, w, b = sg.fvector("x"), sg.fvector("w"), sg.fvector("b")
    f = sg.function([x, w, b], sg.tanh(x * w + b) * sg.nn.sigmoid(x), backend="numba")
    thunk = executor_globals(f)["t0"]
    small = [rng.normal(size=numba_cpu.codegen.PARALLEL_THRESHOLD * 2).astype("float32") for _ in range(3)]
    f(*small)
    assert "stream" not in thunk.flat
    monkeypatch.setattr(numba_cpu, "STREAM_MIN_BYTES", small[0].nbytes)
    for n in (small[0].size, small[0].size + 7):
        values = [v[:n] for v in small]
        want = np.tanh(values[0] * values[1] + values[2]) / (1 + np.exp(-values[0]))
        np.testing.assert_allclose(f(*values), want, rtol=3e-6, atol=1e-6)
    assert ("stream" in thunk.flat) == numba_stream.STREAMS


def test_range_checked_loops_do_not_stream(ours_only, monkeypatch, rng):
    """The range-checked sin/cos/tan run their loop again with other forms when an argument is
    out of range (numba_codegen._RangeChecked); streamed, they lost (0.90-0.96x)."""
    x = sg.fvector("x")
    f = sg.function([x], sg.sin(x) * 2, backend="numba")
    monkeypatch.setattr(numba_cpu, "STREAM_MIN_BYTES", 1 << 16)
    xv = rng.normal(size=1 << 18).astype("float32")
    np.testing.assert_allclose(f(xv), np.sin(xv) * 2, rtol=1e-6, atol=1e-6)
    assert list(executor_globals(f)["t0"].flat) == [(True, None)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_costly_loops_stream_and_prefetch_their_inputs(dtype, monkeypatch, rng):
    """A loop with much to compute on each element (cbrt and exp) streams its output and
    prefetches its inputs (numba_codegen.PREFETCH_AHEAD); one of arithmetic alone, or float32's
    exp alone, only streams."""
    x, w = sg.tensor("x", dtype=dtype, shape=(None,)), sg.tensor("w", dtype=dtype, shape=(None,))
    monkeypatch.setattr(numba_cpu, "STREAM_MIN_BYTES", 1 << 16)
    xv, wv = (rng.normal(size=(1 << 18) + 5).astype(dtype) for _ in range(2))
    for expression, want, prefetched in [(sg.cbrt(x) * sg.exp(w), np.cbrt(xv) * np.exp(wv), True),
                                         (sg.exp(x) * w, np.exp(xv) * wv, dtype == "float64"),
                                         (x * w + 1, xv * wv + 1, False)]:
        f = sg.function([x, w], expression, backend="numba")
        np.testing.assert_allclose(f(xv, wv), want, rtol=1e-13 if dtype == "float64" else 3e-6)
        (kernel,) = executor_globals(f)["t0"].flat.values()
        source = inspect.getsource(kernel.py_func.__globals__["streamed"].py_func) if numba_stream.STREAMS else ""
        assert ("prefetch(a0" in source and "prefetch(a1" in source) == (prefetched and numba_stream.STREAMS)


def test_a_scaled_update_streams_too(monkeypatch, rng):
    """The flat loop beside single values (w - lr * g, lr a 0-d shared value) takes them as well."""
    w, g = sg.fvector("w"), sg.fvector("g")
    lr = sg.shared(np.float32(0.5), name="lr")
    f = sg.function([w, g], w - lr * g, backend="numba")
    monkeypatch.setattr(numba_cpu, "STREAM_MIN_BYTES", 1 << 20)
    wv, gv = (rng.normal(size=(1 << 20) + 3).astype("float32") for _ in range(2))
    np.testing.assert_array_equal(f(wv, gv), wv - np.float32(0.5) * gv)
    # (lr 0-d by its type: one value of the node's own flat kernels, the streamed one among them)
    assert ("stream" in executor_globals(f)["t0"].flat) == numba_stream.STREAMS


@pytest.mark.skipif(not numba_stream.STREAMS, reason="streaming stores are used on x86-64 only")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.exhaustive
def test_the_streamed_loop_is_vectorized(dtype, tmp_path, monkeypatch):
    """LLVM must make vector non-temporal stores of it: a scalar loop would be several times
    slower than the normal one. A costly loop's blocks of PREFETCH_BLOCK elements must hold
    whole steps of its vector loop (its vector width times its unrolling): in blocks of 16, a
    loop of NumPy's SVML log ran 3x slower, its vector loop never entered. (float32's log * exp
    and the fused chain prefetch; exp * w + 1 and log * w in float64 only.)"""
    monkeypatch.setattr(numba_codegen.config, "cache_dir", str(tmp_path))  # (compiled here: its IR kept)
    x, w = sg.tensor("x", dtype=dtype, shape=(None,)), sg.tensor("w", dtype=dtype, shape=(None,))
    chain = sg.tanh(x * w + 1) * sg.nn.sigmoid(x) + sg.exp(-x ** 2)
    for expression in (sg.exp(x) * w + 1, sg.log(x) * w, sg.log(x) * sg.exp(w), chain, x * w + 1):
        composite = _composite([x, w], expression)
        source = numba_codegen._flat_source(composite, (dtype, dtype), (False, False), True, stream=True)
        kernel = numba_codegen.compile_source(f"# {tmp_path}\n{source}")
        a = np.ones(numba_stream.STREAM_BLOCK * 4, dtype)
        kernel(np.empty_like(a), a, a)
        streamed = kernel.dispatcher.py_func.__globals__["streamed"]
        llvm = "".join(streamed.inspect_llvm().values())
        widths = [int(n) for n in re.findall(r"store <(\d+) x (?:float|double)> .*!nontemporal", llvm)]
        assert widths, expression
        assert ("llvm.prefetch" in llvm) == numba_codegen.prefetches(composite)
        if numba_codegen.prefetches(composite):  # (the widest stores are the main vector loop's)
            assert max(widths) * widths.count(max(widths)) <= numba_codegen.PREFETCH_BLOCK
