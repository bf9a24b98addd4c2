"""Non-temporal stores (numba_stream): a large output of a flat loop is written past the caches,
with NumPy's results, from any alignment of the output, and as vector streaming stores."""
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


@pytest.mark.parametrize("expression", [lambda x: sg.sin(x) * 2, lambda x: sg.cbrt(x) + 1])
def test_costly_loops_do_not_stream(expression, monkeypatch, rng):
    """Streaming stores slowed loops whose arithmetic, not their stores, is the limit (cbrt)
    and the range-checked sin/cos."""
    x = sg.dvector("x")
    f = sg.function([x], expression(x), backend="numba")
    monkeypatch.setattr(numba_cpu, "STREAM_MIN_BYTES", 1 << 16)
    xv = rng.normal(size=1 << 18)
    np.testing.assert_allclose(f(xv), sg.function([x], expression(x), backend="numpy")(xv), rtol=1e-13, atol=1e-14)
    thunk = executor_globals(f)["t0"]
    assert list(thunk.flat) == [(True, None)]


def test_a_scaled_update_streams_too(monkeypatch, rng):
    """The flat loop beside single values (w - lr * g, lr a 0-d shared value) takes them as well."""
    w, g = sg.fvector("w"), sg.fvector("g")
    lr = sg.shared(np.float32(0.5), name="lr")
    f = sg.function([w, g], w - lr * g, backend="numba")
    monkeypatch.setattr(numba_cpu, "STREAM_MIN_BYTES", 1 << 20)
    wv, gv = (rng.normal(size=(1 << 20) + 3).astype("float32") for _ in range(2))
    np.testing.assert_array_equal(f(wv, gv), wv - np.float32(0.5) * gv)
    streamed = [key for key in executor_globals(f)["t0"].kernels if key[0] == "flat" and key[-1]]
    assert bool(streamed) == numba_stream.STREAMS


@pytest.mark.skipif(not numba_stream.STREAMS, reason="streaming stores are used on x86-64 only")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.exhaustive
def test_the_streamed_loop_is_vectorized(dtype, tmp_path, monkeypatch):
    """LLVM must make vector non-temporal stores of it: a scalar loop would be several times
    slower than the normal one."""
    monkeypatch.setattr(numba_codegen.config, "cache_dir", str(tmp_path))  # (compiled here: its IR kept)
    x, w = sg.tensor("x", dtype=dtype, shape=(None,)), sg.tensor("w", dtype=dtype, shape=(None,))
    composite = _composite([x, w], sg.exp(x) * w + 1)
    source = numba_codegen._flat_source(composite, (dtype, dtype), (False, False), True, stream=True)
    kernel = numba_codegen.compile_source(f"# {tmp_path}\n{source}")
    a = np.ones(numba_stream.STREAM_BLOCK * 4, dtype)
    kernel(np.empty_like(a), a, a)
    streamed = kernel.dispatcher.py_func.__globals__["streamed"]
    llvm = "".join(streamed.inspect_llvm().values())
    assert re.search(r"store <\d+ x (float|double)> .*!nontemporal", llvm)
