"""Every kernel the CUDA backend launches also compiles for a real GPU.

The simulator runs kernels as Python, so it cannot catch code that numba's CUDA compiler
refuses (np.* scalar functions, mixed-type variables, unsupported constructs). This test
records every launch the backend makes on a set of graphs covering all lowered ops (kernel
source and argument types), then compiles each one to PTX with numba's real CUDA target and
NVIDIA's NVVM in a separate process. It needs no GPU, only libnvvm (the CUDA toolkit);
without it the test is skipped.
"""
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import symgraph as sg
from symgraph.backends import cuda_codegen, cuda_kernels, cuda_thunks
from symgraph.ops.elemwise import TABLE

pytestmark = pytest.mark.usefixtures("fast_simulator")

from .test_numba_cpu import FLOAT_OPS

COMPILE = textwrap.dedent("""
    import pickle, sys, types
    import numpy as np
    from numba import cuda, typeof
    from symgraph.backends.cuda_codegen import HEADER
    from symgraph.backends.cuda_device import numpy_names_for_numba_cuda
    numpy_names_for_numba_cuda()  # as the backend does before numba-cuda compiles
    try:
        cuda.compile_ptx(lambda a: None, (typeof(np.zeros(1)),), cc=(8, 0))
    except Exception as exc:
        if "nvvm" not in (type(exc).__name__ + str(exc)).lower():
            raise  # only a missing NVVM skips (a GPU run once skipped on numba-cuda's np.row_stack)
        print("NO-NVVM", exc)
        sys.exit(0)
    failures = []
    for source, args in pickle.load(open(sys.argv[1], "rb")):
        module = types.ModuleType("k")
        exec(compile(HEADER + source.replace("cache=True", "cache=False"), "<kernel>", "exec"), module.__dict__)
        values = [np.zeros(1, a[1]) if isinstance(a, tuple) and a[:1] == ("array",) else a for a in args]
        try:
            cuda.compile_ptx(module.kernel.py_func, tuple(typeof(v) for v in values), cc=(8, 0))
        except Exception as exc:
            failures.append(source + "\\n" + str(exc).splitlines()[0][:300])
    print("COMPILED", len(failures))
    for f in failures[:5]:
        print(f)
""")


class Recorder:
    """Wraps compiled kernels so each launch records (source, argument kinds)."""

    def __init__(self):
        self.launches = {}

    def wrap(self, compile_kernel):
        def recording(source):
            return _Recorded(compile_kernel(source), source, self.launches)
        return recording


class _Recorded:
    def __init__(self, kernel, source, launches):
        self.kernel, self.source, self.launches = kernel, source, launches

    def __getitem__(self, config):
        launch = self.kernel[config]

        def run(*args):
            kinds = tuple(_kind(a) for a in args)
            self.launches.setdefault((self.source, repr(kinds)), (self.source, kinds))
            return launch(*args)
        return run


def _kind(value):
    if hasattr(value, "copy_to_host"):
        return ("array", value.dtype.str)
    if isinstance(value, tuple):
        return tuple(int(v) for v in value)
    return value


def _graphs():
    x, y, z = sg.fmatrix("x"), sg.fmatrix("y"), sg.fmatrix("z")
    d = sg.dmatrix("d")
    i, t = sg.lvector("i"), sg.ivector("t")
    a4, w4 = sg.ftensor4("a4"), sg.ftensor4("w4")
    rng = sg.random.RandomStream(0)
    floats = [getattr(sg, name)(*[x, y, z][:TABLE[name].nin]) for name in FLOAT_OPS if name != "where"]
    floats += [sg.where(x > 0, y, z), sg.where(d > 0, d, 1.0)]
    doubles = [getattr(sg, name)(*[d, d, d][:TABLE[name].nin]) for name in FLOAT_OPS if name != "where"]
    ints = [t + t, t * 2, t // 3, t % 3, abs(t), t / 2, sg.maximum(t, 1), t & 3, t | 1, t ^ 2, ~t, sg.eq(t, 1),
            sg.cast(t, "float32"), sg.sign(t), t ** 2, sg.floor(t), sg.isnan(t), ~(t > 1), t.sum(), t.max()]
    reductions = [getattr(x, k)(axis=ax) for k in ("sum", "prod", "max", "min", "mean", "all", "any")
                  for ax in (None, 0, 1)] + [sg.exp(x).sum(axis=1), x.argmax(axis=1), x.argmin(), sg.logsumexp(x, 1)]
    n = x.shape[0]
    views = [sg.cumsum(x, axis=0), sg.cumsum(t), sg.arange(n), sg.arange(0.5, n, 0.25), sg.eye(n, 4, 1),
             sg.repeat(x, 2, axis=1), sg.tile(x, (2, 1)), x.T + 1, x[::-1, 1::2] * 2, sg.concatenate([x, y], 1), sg.zeros((2, 3)), sg.broadcast_to(x[0], (4, 3)),
             x[i], sg.inc_subtensor(x[i], y[:2]), sg.set_subtensor(x[1:, :2], 0.0), sg.inc_subtensor(x[:, 0], 1.0)]
    products = [sg.dot(x, y.T), sg.dot(d, d.T) + d[0], sg.dot(x[0], y.T), sg.matmul(a4[0], a4[0]),
                sg.dot(x, y.T) * 2 + 1]
    conv = sg.nn.conv2d(a4, w4, stride=1, padding=1, groups=1)
    pooled = sg.nn.max_pool2d(sg.nn.relu(conv), 2)
    nn = [conv, pooled, sg.nn.softmax(x), sg.nn.log_softmax(x, 0),
          sg.nn.categorical_crossentropy(sg.nn.softmax(x), t), sg.nn.categorical_crossentropy(sg.nn.softmax(x), y),
          sg.nn.categorical_crossentropy(sg.nn.sigmoid(x), t), sg.nn.categorical_crossentropy(sg.nn.sigmoid(x), y),
          rng.uniform((3,)), rng.normal((3,)), rng.binomial((3,), p=0.5)]
    nn += sg.grad((pooled * pooled).sum(), [a4, w4])
    pooled_grad = sg.grad((pooled * pooled).sum(), a4)
    nn.append(sg.grad((pooled_grad ** 2).sum(), a4))  # (MaxPoolPick)
    views += [sg.cumprod(x, axis=1), sg.grad((sg.cumprod(d, axis=0) * d).sum(), d),  # (the linear recurrence)
              sg.grad((sg.sort(x, axis=1) * y).sum(), x), sg.grad((sg.grad((sg.sort(d) * d).sum(), d) ** 2).sum(), d)]
    values = dict(x=np.ones((3, 3), "float32"), y=np.ones((3, 3), "float32"), z=np.ones((3, 3), "float32"),
                  d=np.ones((3, 3)), i=np.array([0, 2]), t=np.array([0, 1, 2], "int32"),
                  a4=np.ones((2, 3, 4, 4), "float32"), w4=np.ones((3, 3, 3, 3), "float32"))
    inputs = [x, y, z, d, i, t, a4, w4]
    return inputs, [values[v.name] for v in inputs], [floats, doubles, ints, reductions, views, products, nn]


def _clear_kernel_memos():
    """The memoized kernel factories, emptied so every kernel is built (and recorded) again."""
    memos = [f for f in vars(cuda_kernels).values() if hasattr(f, "cache_clear")]
    memos += [cuda_thunks.copy_kernel, cuda_thunks._caster]
    for memo in memos:
        memo.cache_clear()


@pytest.mark.slow  # (fresh processes or a second compiler: CI runs it in make test-slow)
@pytest.mark.filterwarnings("ignore:cuda backend. no kernel for (Sort|ArgSort);")  # (the sorts run on the host)
def test_every_launched_kernel_compiles_for_a_real_gpu(tmp_path, monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr(cuda_codegen, "compile_kernel", recorder.wrap(cuda_codegen.compile_kernel))
    monkeypatch.setattr(cuda_kernels, "compile_kernel", cuda_codegen.compile_kernel)
    _clear_kernel_memos()
    try:
        inputs, values, groups = _graphs()
        for outputs in groups:
            sg.function(inputs, outputs, backend="cuda", on_unused_input="ignore")(*values)
    finally:
        _clear_kernel_memos()  # drop the recording wrappers
    launches = list(recorder.launches.values())
    assert len(launches) > 100
    made = "\n".join(source for source, _ in launches)
    for kernel in ("sa = cuda.shared.array", "cols[e] =", "dx[((n * channels", "flag[0] = r + 1",
                   "cuda.atomic.add(out, r * row", "if q == 0 else", "out[obase + at * ostep]",
                   "= src[(p * h + by)", "mixed_counter"):
        # gemm, im2col, col2im, crossentropy, scatter, scan, sort's gradient, MaxPoolPick, random
        assert kernel in made, kernel
    path = tmp_path / "launches.pkl"
    path.write_bytes(pickle.dumps(launches))
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0")
    result = subprocess.run([sys.executable, "-c", COMPILE, str(path)], capture_output=True, text=True,
                            env=env, timeout=900)
    if "NO-NVVM" in result.stdout:
        pytest.skip("no libnvvm (CUDA toolkit) on this machine: " + result.stdout.strip()[:200])
    assert "COMPILED 0" in result.stdout, result.stdout[-4000:] + result.stderr[-2000:]
