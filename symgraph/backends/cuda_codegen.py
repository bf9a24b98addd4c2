"""Generate CUDA kernels for fused elementwise loops and fused reductions.

The loop bodies come from the same scalar-op table as the CPU loops (`program_lines`); only
the spelling changes: numba's CUDA target has `math.*` and libdevice, not `np.*` scalar
functions. The simulator runs the very same source, with NumPy functions behind the names
`math` and `libdevice` (SIM_HEADER), so what the tests run is what a GPU compiles.

Kernel shapes (all grid-stride loops, so any launch size covers any array):
- flat: inputs are whole C-contiguous arrays or single values; index = loop index.
- strided: every input (and the output) is (flat array, offset, strides); the loop index is
  unravelled over the output shape. Broadcasting is stride 0; views are offsets and strides.
- reduce_rows: one thread per output element folds its reduced elements (many outputs).
- reduce_tree: one block per output element, threads fold a share each, then a tree in
  shared memory (few outputs, long reductions).
"""
import hashlib
import threading

import numpy as np

from .numba_codegen import float32_literals, in_result_type, program_lines, _load_module
from .numba_integers import mixed_sign_comparison

_TYPES = ("import numpy as np\nfrom numba import cuda, boolean, uint8, int8, int16, int32, int64, uint16, "
          "uint32, uint64, float32, float64\n"
          )
HEADER = "import math\nfrom numba.cuda import libdevice\n" + _TYPES + "\n"
# The simulator runs the same source with NumPy behind `math` and `libdevice` (Python's math
# raises on overflow and log(0); numba's simulated libdevice is empty).
SIM_HEADER = "from symgraph.backends.cuda_math import sim_math as math, sim_libdevice as libdevice\n" + _TYPES + "\n"
_cache, _lock = {}, threading.Lock()

# np.* scalar functions in the table's source, and their CUDA spellings.
_MATH = {"exp", "expm1", "log", "log2", "log10", "log1p", "sqrt", "sin", "cos", "tan", "tanh", "sinh",
         "cosh", "isnan", "isinf", "isfinite", "hypot"}
_RENAMED = {"arcsin": "math.asin", "arccos": "math.acos", "arctan": "math.atan", "arctanh": "math.atanh",
            "arcsinh": "math.asinh", "arccosh": "math.acosh", "arctan2": "math.atan2",
            "abs": "abs"}
_LIBDEVICE = {"floor": "floor", "ceil": "ceil", "round_half_to_even": "rint", "exp2": "exp2", "trunc": "trunc",
              "cbrt": "cbrt"}


# NumPy semantics written out inline (numba cannot compile calls to device functions ahead
# of time without a GPU, and the expressions are small; LLVM merges the repeats).
_INLINE = {
    "np.power": lambda a, b: f"({a} ** {b})",
    # NumPy's: the larger plus log1p(exp(-|difference|)); equal arguments (infinities too) give a + log 2.
    # (a conditional, not max(): compiling a call of the max builtin initializes the CUDA driver)
    "np.logaddexp": lambda a, b: (f"({a} + 0.6931471805599453 if {a} == {b} else "
                                  f"(({a} if {a} > {b} else {b}) + math.log1p(math.exp(-abs({a} - {b}))) "
                                  f"if {a} - {b} == {a} - {b} else {a} - {b}))"),
}


def cuda_spelling(source):
    source = _expand_inline(source)
    for name in _MATH:
        source = source.replace(f"np.{name}(", f"math.{name}(")
    for name, cuda_name in _RENAMED.items():
        source = source.replace(f"np.{name}(", f"{cuda_name}(")
    return source


def _expand_inline(source):
    """Replace each call of an _INLINE function (arguments expanded first) by its text."""
    for name, expand in _INLINE.items():
        start = source.find(name + "(")
        while start >= 0:
            args, end = _call_arguments(source, start + len(name))
            text = expand(*[_parenthesized(_expand_inline(a)) for a in args])
            source = source[:start] + text + source[end:]
            start = source.find(name + "(", start + len(text))
    return source


def _parenthesized(arg):
    return arg if arg.replace("_", "").replace(".", "").isalnum() else f"({arg})"


def _call_arguments(source, open_at):
    """The top-level arguments of the call whose '(' is at open_at, and the index after ')'."""
    depth, args, first = 0, [], open_at + 1
    for i in range(open_at, len(source)):
        c = source[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                args.append(source[first:i].strip())
                return args, i + 1
        elif c == "," and depth == 1:
            args.append(source[first:i].strip())
            first = i + 1
    raise ValueError(f"unbalanced parentheses in {source!r}")


def cuda_step_source(sop, args, in_dtypes, out_dtype):
    """One program step in numba-CUDA spelling, cast to its dtype as NumPy would type it."""
    caster = "bool" if out_dtype == "bool" else f"np.{out_dtype}"
    args, in_dtypes = in_result_type(sop, args, in_dtypes, out_dtype)
    if sop.name == "invert" and in_dtypes[0] == "bool":
        return f"(not {args[0]})"
    if sop.name.startswith("cast_"):
        return f"{caster}({args[0]})"
    if sop.name in _LIBDEVICE:
        suffix = "f" if in_dtypes[0] == "float32" else ""
        arg = args[0] if in_dtypes[0] in ("float32", "float64") else f"np.float64({args[0]})"
        return f"{caster}(libdevice.{_LIBDEVICE[sop.name]}{suffix}({arg}))"
    if (comparison := mixed_sign_comparison(sop.name, args, in_dtypes)) is not None:
        return f"bool({comparison})"
    if sop.name in ("isnan", "isinf", "isfinite") and in_dtypes[0][0] != "f":
        return "True" if sop.name == "isfinite" else "False"
    if sop.name == "mod" and out_dtype in ("float32", "float64"):
        return f"{caster}({float32_literals(_float_remainder(*args), in_dtypes, out_dtype)})"
    # (float32 steps compute in float32, as NumPy's: on an H200 the fused chain's kernel took
    # the same time with sigmoid's 1.0 a double, 0.446 / 0.440 ms, benchmarks/gpu_profile.py;
    # laptop GPUs run FP64 at 1/32-1/64 of FP32's rate)
    return f"{caster}({float32_literals(cuda_spelling(sop.src.format(*args)), in_dtypes, out_dtype)})"


def _float_remainder(a, b):
    """NumPy's float remainder (its npy_divmod): fmod moved to the divisor's sign, a zero
    signed as the divisor. numba-cuda's `%` gave NaN for 0 % inf on an H200 (NumPy: 0; the
    simulator runs `%` on NumPy scalars, so only a GPU showed it). LLVM merges the fmods."""
    a, b = _parenthesized(a), _parenthesized(b)
    m = f"math.fmod({a}, {b})"
    return f"(math.copysign(0.0, {b}) if {m} == 0 else ({m} + {b} if ({m} < 0) != ({b} < 0) else {m}))"


def _program(composite, in_dtypes, indent):
    loads = [(f"x{i}", d) for i, d in enumerate(in_dtypes)]
    return program_lines(composite, loads, indent, cuda_step_source)


def _unravel(index, shape, ndim, prefix, indent):
    """Statements splitting `index` into {prefix}0..{prefix}{ndim-1} over the tuple `shape`."""
    if ndim == 0:
        return []
    lines = [f"{indent}r_ = {index}"]
    for d in range(ndim - 1, 0, -1):
        lines += [f"{indent}{prefix}{d} = r_ % {shape}[{d}]", f"{indent}r_ //= {shape}[{d}]"]
    lines.append(f"{indent}{prefix}0 = r_")
    return lines


def _dot(prefix, strides, ndim):
    return " + ".join(f"{prefix}{d} * {strides}[{d}]" for d in range(ndim)) or "0"


def elementwise_source(composite, in_dtypes, ndim, n_out, strided, scalar_mask, mode):
    """composite None copies input 0 (views, broadcasts). mode 'set' or 'add' (into the output)."""
    n_in = len(in_dtypes)
    outs = [f"out{k}" for k in range(n_out)]
    if strided:
        params = ["n", "shape"] + outs + ["o_off", "o_str"] + [f"a{i}, off{i}, s{i}" for i in range(n_in)]
    else:
        params = ["n"] + outs + [f"a{i}" for i in range(n_in)]
    lines = ["@cuda.jit(cache=True)", f"def kernel({', '.join(params)}):"]
    for i in range(n_in):
        if not strided and scalar_mask[i]:
            lines.append(f"    x{i} = a{i}[0]")
    lines.append("    for i in range(cuda.grid(1), n, cuda.gridsize(1)):")
    ind = "        "
    if strided:
        lines += _unravel("i", "shape", ndim, "j", ind)
        lines += [f"{ind}x{i} = a{i}[off{i} + {_dot('j', f's{i}', ndim)}]" for i in range(n_in)]
        where = f"o_off + {_dot('j', 'o_str', ndim)}"
    else:
        lines += [f"{ind}x{i} = a{i}[i]" for i in range(n_in) if not scalar_mask[i]]
        where = "i"
    if composite is None:
        results = ["x0"]
    else:
        lines += _program(composite, in_dtypes, ind)
        results = [f"t{o}" for o in composite.outputs]
    op = "+=" if mode == "add" else "="
    lines += [f"{ind}{out}[{where}] {op} {value}" for out, value in zip(outs, results)]
    return "\n".join(lines) + "\n"


_INIT = {"sum": "0", "mean": "0", "prod": "1", "max": "-math.inf", "min": "math.inf"}


def _init(kind, acc_dtype):
    if kind in ("max", "min") and np.dtype(acc_dtype).kind in "iub":
        info = np.iinfo(acc_dtype)
        return str(info.min if kind == "max" else info.max)
    return _INIT[kind]


def _combine(kind, acc, value):
    if kind in ("sum", "mean"):
        return f"{acc} + {value}"
    if kind == "prod":
        return f"{acc} * {value}"
    # NaN wins and stays, as in NumPy; of equal values the later (NumPy's max of -0.0 and 0.0
    # is 0.0, of 0.0 and -0.0 -0.0; a quotient by it is inf or -inf).
    better = ">=" if kind == "max" else "<="
    return f"{value} if ({value} {better} {acc} or {value} != {value}) else {acc}"


def reduce_source(composite, in_dtypes, n_kept, n_red, kind, acc_dtype, tree_threads):
    """out[i] = fold over the reduced elements of composite(inputs) for output element i.
    tree_threads None: one thread per output; else one block of that many threads per output."""
    n_in = len(in_dtypes)
    params = ["m", "k", "kshape", "rshape", "out"] + [f"a{i}, off{i}, ks{i}, rs{i}" for i in range(n_in)]
    acc_t = f"np.{acc_dtype}"
    lines = ["@cuda.jit(cache=True)", f"def kernel({', '.join(params)}):"]
    if tree_threads:
        lines += [f"    buf = cuda.shared.array({tree_threads}, {acc_dtype})", "    tid = cuda.threadIdx.x",
                  "    for i in range(cuda.blockIdx.x, m, cuda.gridDim.x):"]
        first, step = "tid", str(tree_threads)
    else:
        lines.append("    for i in range(cuda.grid(1), m, cuda.gridsize(1)):")
        first, step = "0", "1"
    ind = "        "
    lines += _unravel("i", "kshape", n_kept, "j", ind)
    lines += [f"{ind}b{i} = off{i} + {_dot('j', f'ks{i}', n_kept)}" for i in range(n_in)]
    lines.append(f"{ind}acc = {acc_t}({_init(kind, acc_dtype)})")
    lines.append(f"{ind}for q in range({first}, k, {step}):")
    inner = ind + "    "
    lines += _unravel("q", "rshape", n_red, "p", inner)
    lines += [f"{inner}x{i} = a{i}[b{i} + {_dot('p', f'rs{i}', n_red)}]" for i in range(n_in)]
    lines += _program(composite, in_dtypes, inner)
    value = f"{acc_t}(t{composite.outputs[0]})"
    lines.append(f"{inner}acc = {_combine(kind, 'acc', value)}")
    result = "acc / k" if kind == "mean" else "acc"
    if tree_threads:
        lines += [f"{ind}buf[tid] = acc", f"{ind}cuda.syncthreads()", f"{ind}s = {tree_threads // 2}",
                  f"{ind}while s > 0:", f"{ind}    if tid < s:",
                  f"{ind}        buf[tid] = {_combine(kind, 'buf[tid]', 'buf[tid + s]')}",
                  f"{ind}    cuda.syncthreads()", f"{ind}    s //= 2",
                  f"{ind}if tid == 0:", f"{ind}    out[i] = {result.replace('acc', 'buf[0]')}",
                  f"{ind}cuda.syncthreads()"]
    else:
        lines.append(f"{ind}out[i] = {result}")
    return "\n".join(lines) + "\n"


def compile_kernel(source):
    """A numba CUDA kernel from the source of a function named `kernel`, cached by its text
    in memory and, through a module in the cache dir, by numba's disk cache."""
    from .cuda_device import simulated
    text = (SIM_HEADER if simulated() else HEADER) + source
    key = "cuda_" + hashlib.sha1(text.encode()).hexdigest()[:20]
    with _lock:
        kernel = _cache.get(key)
        if kernel is None:
            kernel = _cache[key] = _load_module(key, text).kernel
        return kernel
