"""Loops of math functions spelled two ways, timed interleaved in one process: symgraph's own
inlined forms (numba_calls) against NumPy's SVML functions (numba_svml's intrinsics), alone and
beside each other. Each loop is `out[i] = body` over 16384 values in cache on one core; the
forms are timed alternately, best of 15 rounds, so a noisy machine moves both alike. These are
the figures behind numba_svml's paired functions and numba_codegen.loop_forms (a loop spells its
functions all SVML's or all ours where it can). Needs a CPU where numba_svml takes SVML's.

Run: .venv/bin/python benchmarks/loop_forms.py [substring-filter]
"""
import math
import sys
import time

import numpy as np
from numba import njit

from symgraph.backends import numba_calls, numba_svml, numba_vecmath

_NAMES = {"np": np, "math": math, "inlined": numba_vecmath,
          **{name: getattr(numba_calls, name) for name in numba_calls.NAMES},
          **{name: getattr(numba_svml, name) for name in numba_svml.NAMES}}

# (label, dtype, arguments' range, bodies: the first ours, the others with SVML's functions)
CASES = [
    ("float32 expm1 alone", "float32", (-5, 5), ["expm1_32({0})", "svml_expm1_32({0})"]),
    ("float32 cosh alone", "float32", (-5, 5), ["cosh32({0})", "svml_cosh32({0})"]),
    ("float32 sinh alone", "float32", (-5, 5), ["sinh32({0})", "svml_sinh32({0})"]),
    ("float32 exp2 alone", "float32", (-10, 10), ["exp2_32({0})", "svml_exp2_32({0})"]),
    ("float32 tanh alone", "float32", (-5, 5), ["tanh32({0})", "svml_tanh32({0})"]),
    ("float64 log alone", "float64", (0.01, 100), ["log64({0})", "svml_log64({0})"]),
    ("float64 log10 alone", "float64", (0.01, 100), ["log64({0}) * 0.4342944819032518", "svml_log10_64({0})"]),
    ("float64 exp2 alone", "float64", (-10, 10), ["exp2_64({0})", "svml_exp2_64({0})"]),
    ("float64 exp alone", "float64", (-5, 5), ["exp64({0})", "svml_exp64({0})"]),
    ("float32 log(x) * tanh(y)", "float32", (0.1, 5), ["svml_log32({0}) * tanh32({1})", "svml_log32({0}) * svml_tanh32({1})"]),
    ("float32 cosh(x) + expm1(y)", "float32", (-5, 5), ["cosh32({0}) + expm1_32({1})", "svml_cosh32({0}) + svml_expm1_32({1})"]),
    ("float64 cos(x) * exp(y)", "float64", (-5, 5), ["svml_cos64({0}) * exp64({1})", "svml_cos64({0}) * svml_exp64({1})"]),
    ("float64 exp(x) * log(y)", "float64", (0.1, 5), ["exp64({0}) * log64({1})", "svml_exp64({0}) * svml_log64({1})"]),
    # beside an inlined function of ours, a call costs: why loop_forms keeps these ours
    ("float64 log(x) * tanh(y)", "float64", (0.1, 5), ["log64({0}) * tanh64({1})", "svml_log64({0}) * tanh64({1})"]),
    ("float32 the fused chain's tanh", "float32", (-3, 3),
     ["tanh32({0} * {1} + {2}) * sigmoid32({0}) + exp32(-({0} * {0}))",
      "svml_tanh32({0} * {1} + {2}) * sigmoid32({0}) + exp32(-({0} * {0}))"]),
]


def _kernel(body, arity, tag):
    args = ", ".join(f"x{k}" for k in range(arity))
    source = (f"def {tag}(out, {args}):\n    for i in range(out.shape[0]):\n"
              f"        out[i] = {body.format(*[f'x{k}[i]' for k in range(arity)])}\n")
    exec(source, _NAMES)
    return njit(error_model="numpy")(_NAMES[tag])


def interleaved(bodies, dtype, value_range, n=16384, rounds=15, calls=300):
    """ns a value of each body's loop, best of `rounds` rounds timed one body after another."""
    arity = max(int(c) for body in bodies for c in "0123" if "{%s}" % c in body) + 1
    rng = np.random.default_rng(0)
    values = [rng.uniform(*value_range, n).astype(dtype) for _ in range(arity)]
    out = np.empty(n, dtype)
    kernels = [_kernel(body, arity, f"loop{k}") for k, body in enumerate(bodies)]
    results = []
    for kernel in kernels:
        kernel(out, *values)
        results.append(out.copy())
    tol = 1e-5 if dtype == "float32" else 1e-13  # (the same function either way; atol: sums that cancel)
    for other in results[1:]:
        np.testing.assert_allclose(other, results[0], rtol=tol, atol=tol * float(np.abs(results[0]).max()))
    best = [math.inf] * len(kernels)
    for _ in range(rounds):
        for k, kernel in enumerate(kernels):
            start = time.perf_counter()
            for _ in range(calls):
                kernel(out, *values)
            best[k] = min(best[k], (time.perf_counter() - start) / calls / n * 1e9)
    return best


def main(pattern=None):
    if not numba_svml.AVAILABLE:
        print("NumPy's SVML functions are not taken on this CPU (numba_svml.AVAILABLE is False): nothing to time")
        return
    print(f"{'loop':32s} {'ours ns':>8s} {'SVML ns':>8s} {'SVML gain':>9s}")
    for label, dtype, value_range, bodies in CASES:
        if pattern and pattern not in label:
            continue
        ours, svml = interleaved(bodies, dtype, value_range)
        print(f"{label:32s} {ours:8.3f} {svml:8.3f} {ours / svml:8.2f}x", flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
