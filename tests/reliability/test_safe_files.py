"""Weights never unpickle and bad files are refused with a list of what is wrong; the kernel
cache survives corrupted or truncated entries and two processes compiling at once."""
import glob
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import symgraph as sg

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = ("import numpy as np, symgraph as sg\n"
          "x = sg.fvector('x')\n"
          "f = sg.function([x], sg.tanh(x * 3.25) + sg.exp(-x) * 0.125, backend='numba')\n"
          "v = np.linspace(-1, 1, 7, dtype='float32')\n"
          "assert np.allclose(f(v), np.tanh(v * 3.25) + np.exp(-v) * 0.125, rtol=1e-5)\n"
          "print('ok')\n")


def _run(cache_dir):
    env = dict(os.environ, SYMGRAPH_CACHE_DIR=str(cache_dir), PYTHONPATH=ROOT)
    return subprocess.Popen([sys.executable, "-c", SCRIPT], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_two_processes_compile_the_same_kernel_at_once(tmp_path):
    procs = [_run(tmp_path) for _ in range(2)]
    outs = [p.communicate(timeout=240) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0 and "ok" in out, err[-2000:]
    assert glob.glob(str(tmp_path / "kernels" / "*.py"))


def test_corrupted_and_truncated_cache_entries_are_recompiled(tmp_path):
    first = _run(tmp_path)
    assert first.communicate(timeout=240)[0].strip() == "ok"
    damaged = 0
    for path in glob.glob(str(tmp_path / "kernels" / "**" / "*"), recursive=True):
        if os.path.isfile(path) and (path.endswith(".nbi") or path.endswith(".nbc")):
            data = pathlib.Path(path).read_bytes()
            pathlib.Path(path).write_bytes(data[: len(data) // 2] if damaged % 2 else b"garbage" + data[:10])
            damaged += 1
    for path in glob.glob(str(tmp_path / "kernels" / "*.py")):
        with open(path, "a") as fh:  # a damaged generated module is rewritten
            fh.write("\n# truncated(")
    assert damaged > 0
    second = _run(tmp_path)
    out, err = second.communicate(timeout=240)
    assert second.returncode == 0 and out.strip() == "ok", err[-2000:]


def test_kernels_compiled_against_other_vector_math_are_not_reused(tmp_path):
    """Numba's disk cache looks only at a kernel's own file; each generated module names the
    digest of numba_vecmath (whose functions it inlines), so a kernel cached by another
    symgraph version has a different text, is rewritten and recompiled."""
    from symgraph.backends import numba_codegen
    first = _run(tmp_path)
    assert first.communicate(timeout=240)[0].strip() == "ok"
    modules = glob.glob(str(tmp_path / "kernels" / "symgraph_kernel_*.py"))
    digest = numba_codegen._helpers_digest()
    assert modules and all(f"# numba_vecmath {digest}" in pathlib.Path(m).read_text() for m in modules)
    for path in modules:  # as an older version would have left them
        text = pathlib.Path(path).read_text().replace(digest, "0" * len(digest))
        pathlib.Path(path).write_text(text)
    second = _run(tmp_path)
    out, err = second.communicate(timeout=240)
    assert second.returncode == 0 and out.strip() == "ok", err[-2000:]
    assert all(f"# numba_vecmath {digest}" in pathlib.Path(m).read_text() for m in modules)


def test_weights_files_never_unpickle(tmp_path):
    L = sg.layers
    model = L.Sequential([L.Input((3,)), L.Dense(2, name="d")])
    evil = tmp_path / "evil.npz"
    np.savez(evil, **{"d/kernel": np.array([object()], dtype=object), "d/bias": np.zeros(2, "float32")})
    with pytest.raises(ValueError):
        model.load_weights(evil)
    model.save_weights(tmp_path / "good.npz")
    model.load_weights(tmp_path / "good.npz")
