"""The CUDA backend side by side with PyTorch CUDA and CuPy on one GPU:
- the fused chain tanh(x*w+b)*sigmoid(x)+exp(-x**2) on n float32, against the bandwidth a
  numba.cuda triad reaches (both move 16 bytes per element);
- one SGD step of the 784-512-512-10 ReLU MLP with softmax crossentropy, batch 128;
- a conv layer (64x16x32x32 images, 32 3x3 filters, 'same') forward and backward.
Data and weights stay on the GPU (device inputs, device_outputs=True, shared variables);
every timing ends with a device synchronize.

Run on a machine with a GPU: .venv/bin/python benchmarks/gpu_cuda.py [n]
(`NUMBA_ENABLE_CUDASIM=1 ... gpu_cuda.py --tiny` checks the script itself in the simulator.)"""
import sys
import time

import numpy as np
from numba import cuda

import symgraph as sg
from common import print_table, try_import
from symgraph.backends import cuda_device

cuda_device.cuda()  # before any kernel compiles: it makes numba-cuda 0.30 load on NumPy 2.5 (np.row_stack)

TINY = "--tiny" in sys.argv
ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
N = int(ARGS[0]) if ARGS else (4096 if TINY else 10 ** 7)


def gpu_seconds(fn, repeat=5 if TINY else 20, warmup=1 if TINY else 3, sync=cuda.synchronize):
    for _ in range(warmup):
        fn()
    sync()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - start)
    return best


def per_call(fn, calls, **kw):
    """Seconds per call of `fn`, from `calls` calls queued one after another, then one synchronize."""
    return gpu_seconds(lambda: [fn() for _ in range(calls)], **kw) / calls


@cuda.jit
def triad(a, b, c, out):
    for i in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        out[i] = a[i] * b[i] + c[i]


def torch_cuda():
    torch = try_import("torch")
    if torch is None or not torch.cuda.is_available():
        print("(PyTorch CUDA is not available here)")
        return None
    return torch


def fused_chain():
    rng = np.random.default_rng(0)
    host = [rng.standard_normal(N, dtype=np.float32) for _ in range(3)]
    x, w, b = (cuda.to_device(v) for v in host)
    want = np.tanh(host[0] * host[1] + host[2]) / (1 + np.exp(-host[0])) + np.exp(-host[0] ** 2)
    xs, ws, bs = sg.fvector("x"), sg.fvector("w"), sg.fvector("b")
    f = sg.function([xs, ws, bs], sg.tanh(xs * ws + bs) * sg.nn.sigmoid(xs) + sg.exp(-xs ** 2),
                    backend="cuda", device_outputs=True)
    np.testing.assert_allclose(f(x, w, b).copy_to_host(), want, rtol=1e-4, atol=1e-5)
    out = cuda.device_array_like(x)
    threads = 4 if TINY else 256
    blocks = 1 if TINY else min(-(-N // threads), 1 << 16)
    rows = [("numba.cuda triad a*b+c (bandwidth)", gpu_seconds(lambda: triad[blocks, threads](x, w, b, out))),
            ("symgraph (cuda backend)", gpu_seconds(lambda: f(x, w, b)))]
    torch = torch_cuda()
    if torch:
        tx, tw, tb = (torch.from_numpy(v).cuda() for v in host)
        chain = lambda: torch.tanh(tx * tw + tb) * torch.sigmoid(tx) + torch.exp(-tx ** 2)  # noqa: E731
        np.testing.assert_allclose(chain().cpu().numpy(), want, rtol=1e-4, atol=1e-5)
        rows.append(("PyTorch CUDA eager", gpu_seconds(chain, sync=torch.cuda.synchronize)))
    cupy = try_import("cupy")
    if cupy:
        cx, cw, cb = (cupy.asarray(v) for v in host)
        @cupy.fuse(kernel_name="fused_chain")  # a kernel needs a name: a lambda's fails to compile
        def fused(x, w, b):
            return cupy.tanh(x * w + b) / (1 + cupy.exp(-x)) + cupy.exp(-x * x)
        rows.append(("CuPy fuse", gpu_seconds(lambda: fused(cx, cw, cb), sync=cupy.cuda.Device().synchronize)))
    print_table(f"fused chain, n = {N:,} float32", rows, "numba.cuda triad a*b+c (bandwidth)")
    t = dict(rows)
    moved = 16 * N
    print(f"triad {moved / t['numba.cuda triad a*b+c (bandwidth)'] / 1e9:.0f} GB/s; symgraph "
          f"{moved / t['symgraph (cuda backend)'] / 1e9:.0f} GB/s = "
          f"{t['numba.cuda triad a*b+c (bandwidth)'] / t['symgraph (cuda backend)']:.0%} of the triad")


def mlp_model():
    """The MLP's SGD step on the device: (step, device (x, y), weights, host (x, y), sizes, batch)."""
    sizes, batch = ((12, 8, 3), 4) if TINY else ((784, 512, 512, 10), 128)
    rng = np.random.default_rng(0)
    weights = [((rng.standard_normal((m, n)) * np.sqrt(2 / m)).astype("float32"), np.zeros(n, "float32"))
               for m, n in zip(sizes[:-1], sizes[1:])]
    xv = rng.standard_normal((batch, sizes[0])).astype("float32")
    yv = rng.integers(0, sizes[-1], batch).astype("int32")
    x, y = sg.fmatrix("x"), sg.ivector("y")
    params, h = [], x
    for k, (wv, bv) in enumerate(weights):
        w, b = sg.shared(wv.copy(), f"W{k}"), sg.shared(bv.copy(), f"b{k}")
        params += [w, b]
        h = sg.dot(h, w) + b
        if k < len(weights) - 1:
            h = sg.nn.relu(h)
    loss = sg.nn.categorical_crossentropy(sg.nn.softmax(h), y).mean()
    step = sg.function([x, y], loss, updates=[(p, p - 0.01 * g) for p, g in zip(params, sg.grad(loss, params))],
                       backend="cuda", device_outputs=True)
    return step, (cuda.to_device(xv), cuda.to_device(yv)), weights, (xv, yv), sizes, batch


def mlp_step():
    step, (dx, dy), weights, (xv, yv), sizes, batch = mlp_model()
    rows = [("symgraph (cuda backend)", gpu_seconds(lambda: step(dx, dy)))]
    torch = torch_cuda()
    if torch:
        tw = [(torch.tensor(wv, device="cuda", requires_grad=True), torch.tensor(bv, device="cuda", requires_grad=True))
              for wv, bv in weights]
        tx, ty = torch.tensor(xv, device="cuda"), torch.tensor(yv, device="cuda").long()

        def torch_step():
            h = tx
            for k, (w, b) in enumerate(tw):
                h = h @ w + b
                if k < len(tw) - 1:
                    h = torch.relu(h)
            loss = torch.nn.functional.cross_entropy(h, ty)
            loss.backward()
            with torch.no_grad():
                for w, b in tw:
                    w -= 0.01 * w.grad
                    b -= 0.01 * b.grad
                    w.grad = None
                    b.grad = None
        rows.append(("PyTorch CUDA eager", gpu_seconds(torch_step, sync=torch.cuda.synchronize)))
    print_table(f"SGD step of an MLP {sizes}, batch {batch}", [(k, v) for k, v in rows],
                "symgraph (cuda backend)")


def conv_layer():
    shape, filters = ((2, 4, 8, 8), (4, 4, 3, 3)) if TINY else ((64, 16, 32, 32), (32, 16, 3, 3))
    rng = np.random.default_rng(0)
    xv, wv = rng.standard_normal(shape).astype("float32"), rng.standard_normal(filters).astype("float32")
    x, w = sg.ftensor4("x"), sg.ftensor4("w")
    y = sg.nn.conv2d(x, w, padding="same")
    f = sg.function([x, w], [y] + sg.grad((y * y).sum(), [x, w]), backend="cuda", device_outputs=True)
    dx, dw = cuda.to_device(xv), cuda.to_device(wv)
    rows = [("symgraph (cuda backend)", gpu_seconds(lambda: f(dx, dw)))]
    torch = torch_cuda()
    if torch:
        tx = torch.tensor(xv, device="cuda", requires_grad=True)
        tw = torch.tensor(wv, device="cuda", requires_grad=True)

        def torch_conv():
            out = torch.nn.functional.conv2d(tx, tw, padding="same")
            (out * out).sum().backward()
            tx.grad = tw.grad = None
        rows.append(("PyTorch CUDA (cuDNN)", gpu_seconds(torch_conv, sync=torch.cuda.synchronize)))
    print_table(f"conv2d {shape} * {filters} 'same', forward + both gradients", rows, "symgraph (cuda backend)")


def call_overhead():
    """f(x, y) = x * y + 1 on 4-element vectors already on the device: the cost of one call."""
    calls = 20 if TINY else 2000
    host = np.arange(4, dtype=np.float32)
    x, y = sg.fvector("x"), sg.fvector("y")
    f = sg.function([x, y], x * y + 1, backend="cuda", device_outputs=True)
    dx, dy = cuda.to_device(host), cuda.to_device(host)
    np.testing.assert_allclose(f(dx, dy).copy_to_host(), host * host + 1)
    rows = [("symgraph (cuda backend)", per_call(lambda: f(dx, dy), calls))]
    torch = torch_cuda()
    if torch:
        tx = torch.tensor(host, device="cuda")
        rows.append(("PyTorch CUDA eager", per_call(lambda: tx * tx + 1, calls, sync=torch.cuda.synchronize)))
    print_table("call overhead: x * y + 1 on 4-element device vectors (time per call)", rows, "symgraph (cuda backend)",
                unit="us", scale=1e6)


if __name__ == "__main__":
    print(f"device: {cuda.get_current_device().name if hasattr(cuda, 'get_current_device') else 'numba simulator'}")
    fused_chain()
    mlp_step()
    conv_layer()
    call_overhead()
