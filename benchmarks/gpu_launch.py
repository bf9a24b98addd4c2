"""What one kernel launch and one device allocation cost the host through numba-cuda, piece
by piece, on a machine with an NVIDIA GPU (the CUDA backend's calls are host-bound on small
data: on an H200's machine a call of x * y + 1 took 229 us before the block cache, 75-92 after,
of which a bare numba-cuda launch ~27; benchmarks/README.md, CUDA section).

Each row is a way to do the same launch or allocation; the numba-cuda internals it uses are
named in the row, and a row whose internals this numba-cuda lacks prints its error instead.
With --source it also writes the source of the numba-cuda functions on the launch and
allocation paths to $OUT/numba_cuda_source.txt (or /tmp/...) (to read what the installed version does).

Usage: python benchmarks/gpu_launch.py [--source]"""
import inspect
import os
import sys

import numpy as np

from gpu_cuda import per_call  # (gpu_cuda gives NumPy the name numba-cuda 0.30 needs first)
from gpu_profile import four_arguments
from numba import cuda, typeof
from numba.cuda.cudadrv import devicearray, driver

CALLS = dict(calls=2000, repeat=3, warmup=1)


def row(label, fn, **kw):
    try:
        t = per_call(fn, **(kw or CALLS))
        print(f"{label:58s} {t * 1e6:9.2f} us")
    except Exception as error:  # a row this numba-cuda cannot do: say why, go on
        print(f"{label:58s} failed: {type(error).__name__}: {str(error)[:200]}")


def launches():
    host = np.arange(4, dtype=np.float32)
    dx, dy, dout = cuda.to_device(host), cuda.to_device(host), cuda.device_array(4, np.float32)
    args = (4, dx, dy, dout)
    four_arguments[1, 32](*args)
    cuda.synchronize()
    print("\none launch of a 4-argument kernel (n, a, b, out), time per launch")
    row("dispatcher kernel[1, 32](*args)", lambda: four_arguments[1, 32](*args))
    config = four_arguments[1, 32]
    row("launch configuration made once, config(*args)", lambda: config(*args))
    overload = next(iter(getattr(four_arguments, "overloads", {}).values()), None)
    if overload is None:
        print("(no compiled overloads: the simulator)")
        return
    row("overload.launch(args, grid, block, 0, 0)", lambda: overload.launch(args, (1, 1, 1), (32, 1, 1), 0, 0))
    kernelargs = []
    for t, v in zip(overload.argument_types, args):
        overload._prepare_args(t, v, 0, [], kernelargs)
    handle = overload._codelibrary.get_cufunc().handle
    row("driver.launch_kernel, arguments prepared once",
        lambda: driver.launch_kernel(handle, 1, 1, 1, 32, 1, 1, 0, 0, kernelargs))

    def prepare():
        out = []
        for t, v in zip(overload.argument_types, args):
            overload._prepare_args(t, v, 0, [], out)
        return out
    row("  _prepare_args of the 4 arguments (no launch)", prepare)
    row("  dx._numba_type_", lambda: dx._numba_type_)
    row("  numba.typeof(dx)", lambda: typeof(dx))
    row("  dispatcher.typeof_pyval(dx)", lambda: four_arguments.typeof_pyval(dx))
    row("  numba.typeof(4)", lambda: typeof(4))


def allocations():
    print("\nallocations, time per call (the arrays are dropped at once; numba-cuda frees in batches)")
    row("cuda.device_array(4, float32)", lambda: cuda.device_array(4, np.float32))
    context = cuda.current_context()
    row("cuda.current_context()", cuda.current_context)
    row("context.memalloc(512)", lambda: context.memalloc(512))
    block = context.memalloc(512)

    def wrapped():
        owner = driver.AutoFreePointer(block.context, block.device_pointer, 512, finalizer=lambda: None)
        return devicearray.DeviceNDArray((4,), (4,), np.float32, gpu_data=owner.own())
    row("AutoFreePointer + own() + DeviceNDArray over a kept block", wrapped)
    d2 = cuda.device_array((8, 16), np.float32)
    row("DeviceNDArray.reshape(128)", lambda: d2.reshape(128))
    row("DeviceNDArray.is_c_contiguous()", d2.is_c_contiguous)
    big = dict(calls=5, repeat=3, warmup=1)
    row("cuda.device_array(10**8 float32), then dropped", lambda: cuda.device_array(10 ** 8, np.float32), **big)


def write_source(folder):
    kernel_type = type(next(iter(getattr(four_arguments, "overloads", {}).values()), None))
    names = [(kernel_type, "launch"), (kernel_type, "_prepare_args"),
             (type(four_arguments), "call"), (driver, "launch_kernel"), (driver, "MemoryPointer"),
             (driver, "AutoFreePointer"), (driver, "OwnedPointer"), (driver, "NumbaCUDAMemoryManager"),
             (devicearray.DeviceNDArrayBase, "__init__"), (devicearray.DeviceNDArray, "reshape")]
    with open(os.path.join(folder, "numba_cuda_source.txt"), "w") as out:
        for owner, name in names:
            try:
                out.write(f"# ---- {getattr(owner, '__name__', owner)}.{name}\n{inspect.getsource(getattr(owner, name))}\n")
            except Exception as error:
                out.write(f"# ---- {name}: {error}\n")


if __name__ == "__main__":
    print(f"device: {cuda.get_current_device().name}; driver binding: "
          f"{'cuda-python' if getattr(driver, 'USE_NV_BINDING', False) else 'ctypes'}")
    launches()
    allocations()
    if "--source" in sys.argv:
        write_source(os.environ.get("OUT", "/tmp"))
