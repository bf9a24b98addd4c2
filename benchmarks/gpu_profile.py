"""Where the CUDA backend's time goes, on a machine with an NVIDIA GPU:
- the fused chain's kernel as the backend generates it, alone, and the same with its float
  literals left float64 (numba's default, as the backend spelled them before), against the
  numba.cuda triad: 50 launches queued, then one synchronize (launch costs hide behind the kernels);
- a symgraph call of that chain, one call then a synchronize, and 50 calls queued, with the
  backend's cache of device blocks (cuda_memory) and without;
- the pieces of one call of f(x, y) = x * y + 1 on 4-element device vectors: a device
  allocation, a reshape of a device array, a bare launch of a 4-argument kernel, the call
  with and without the block cache, and a
  cProfile of 2000 symgraph calls (the 25 functions with the most time of their own);
- the MLP SGD step of gpu_cuda.py, and a cProfile of 50 steps.

Usage: python benchmarks/gpu_profile.py [n]   (NUMBA_ENABLE_CUDASIM=1 ... --tiny checks the script)"""
import cProfile
import io
import pstats
import sys

import numpy as np
from numba import cuda

import symgraph as sg
from gpu_cuda import gpu_seconds, mlp_model, per_call, triad  # (gpu_cuda gives NumPy the name numba-cuda 0.30 needs first)
from symgraph.backends import cuda_codegen, cuda_memory

TINY = "--tiny" in sys.argv
ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
N = int(ARGS[0]) if ARGS else (256 if TINY else 10 ** 8)
QUEUED = 3 if TINY else 50
THREADS, BLOCKS = (4, 1) if TINY else (256, 1 << 16)


@cuda.jit
def four_arguments(n, a, b, out):
    """The bare launch both GPU profiling scripts time (gpu_launch.py imports it)."""
    i = cuda.grid(1)
    if i < n:
        out[i] = a[i] * b[i] + 1


def uncached(measure):
    """measure() with cuda_memory's block cache off (numba-cuda's own allocations)."""
    cuda_memory.enabled = False
    try:
        return measure()
    finally:
        cuda_memory.enabled = True


def queued(fn):
    return per_call(fn, QUEUED)


def generated_sources(build):
    """The sources of the kernels the backend generates while `build()` runs."""
    sources, compile_kernel = [], cuda_codegen.compile_kernel

    def recording(source):
        sources.append(source)
        return compile_kernel(source)
    cuda_codegen.compile_kernel = recording
    try:
        build()
    finally:
        cuda_codegen.compile_kernel = compile_kernel
    return sources


def kernels():
    rng = np.random.default_rng(0)
    x, w, b = (cuda.to_device(rng.standard_normal(N, dtype=np.float32)) for _ in range(3))
    out = cuda.device_array_like(x)
    xs, ws, bs = sg.fvector("x"), sg.fvector("w"), sg.fvector("b")
    f = sg.function([xs, ws, bs], sg.tanh(xs * ws + bs) * sg.nn.sigmoid(xs) + sg.exp(-xs ** 2),
                    backend="cuda", device_outputs=True)
    [chain] = generated_sources(lambda: f(x, w, b))  # the chain's one fused kernel, kernel(n, out0, a0, a1, a2)
    assert "np.float32(1.0)" in chain, chain  # (sigmoid's literal, which the float64 variant spells 1.0)
    rows = [("numba.cuda triad a*b+c", queued(lambda: triad[BLOCKS, THREADS](x, w, b, out)))]
    # (its literals as the backend spelled them before float32_literals: numba typed them float64)
    for label, source in (("chain kernel, literals float64", chain.replace("np.float32(1.0)", "1.0")),
                          ("chain kernel, literals float32", chain)):
        kernel = cuda_codegen.compile_kernel(source)
        rows.append((label, queued(lambda: kernel[BLOCKS, THREADS](N, out, x, w, b))))
    rows += [("symgraph call, then synchronize", gpu_seconds(lambda: f(x, w, b))),
             (f"symgraph, {QUEUED} calls queued", queued(lambda: f(x, w, b))),
             ("symgraph call, block cache off", uncached(lambda: gpu_seconds(lambda: f(x, w, b)))),
             (f"symgraph, {QUEUED} calls queued, block cache off", uncached(lambda: queued(lambda: f(x, w, b))))]
    print(f"\nthe fused chain, n = {N:,} float32 (16 bytes an element)")
    for label, t in rows:
        print(f"{label:48s} {t * 1e3:8.3f} ms  {16 * N / t / 1e9:7.0f} GB/s")


def one_call():
    host = np.arange(4, dtype=np.float32)
    dx, dy, dout = cuda.to_device(host), cuda.to_device(host), cuda.device_array(4, np.float32)
    x, y = sg.fvector("x"), sg.fvector("y")
    f = sg.function([x, y], x * y + 1, backend="cuda", device_outputs=True)
    calls = 20 if TINY else 2000
    each = dict(calls=calls, repeat=3, warmup=1)
    rows = [("cuda.device_array(4)", per_call(lambda: cuda.device_array(4, np.float32), **each)),
            ("device array .reshape(4)", per_call(lambda: dx.reshape(4), **each)),
            ("bare launch, 4 arguments", per_call(lambda: four_arguments[1, 32](4, dx, dy, dout), **each)),
            ("symgraph f(x, y)", per_call(lambda: f(dx, dy), **each)),
            ("symgraph f(x, y), block cache off", uncached(lambda: per_call(lambda: f(dx, dy), **each)))]
    print("\nf(x, y) = x * y + 1 on 4-element device vectors, time per call")
    for label, t in rows:
        print(f"{label:48s} {t * 1e6:8.1f} us")
    print_profile(f"{calls} calls of f", lambda: [f(dx, dy) for _ in range(calls)])


def mlp_steps():
    step, (dx, dy), *_ = mlp_model()
    steps = 3 if TINY else 50
    print(f"\nMLP SGD step: {gpu_seconds(lambda: step(dx, dy)) * 1e3:.3f} ms")
    print_profile(f"{steps} MLP SGD steps", lambda: [step(dx, dy) for _ in range(steps)], 40)


def print_profile(label, run, lines=25):
    """cProfile of run() (then a synchronize): the functions with the most time of their own."""
    run()
    cuda.synchronize()
    profile = cProfile.Profile()
    profile.enable()
    run()
    cuda.synchronize()
    profile.disable()
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(lines)
    print(f"\ncProfile of {label} (sorted by own time)")
    print("\n".join(line for line in text.getvalue().splitlines() if line.strip())[-9000:])


if __name__ == "__main__":
    print(f"device: {cuda.get_current_device().name if hasattr(cuda, 'get_current_device') else 'numba simulator'}")
    kernels()
    one_call()
    mlp_steps()
