"""Each transcendental function alone, side by side: NumPy, symgraph's numba backend as it
runs (NumPy's SVML functions where backends/numba_svml.py takes them), symgraph with only its
own vectorized forms (numba_vecmath, numba_special), and JAX jit; float32 and float64, 10^4 and
10^6 values. The two symgraph rows show what each SVML function gives over ours (the column
"SVML gain" is ours / as it runs; "-" where ours is what runs). Then two functions in one loop
(TOGETHER), as it runs and without numba_svml's paired functions.

Run: .venv/bin/python benchmarks/math_functions.py [substring-filter]
"""
import sys

import numpy as np

import symgraph as sg
from common import try_import
from expressions import _seconds
from symgraph.backends import numba_codegen, numba_svml

# name -> (symgraph, NumPy / jax.numpy by name, argument range, second argument's range)
FUNCTIONS = {
    "exp": (sg.exp, "exp", (-5, 5), None), "log": (sg.log, "log", (0.01, 100), None),
    "log2": (sg.log2, "log2", (0.01, 100), None), "log10": (sg.log10, "log10", (0.01, 100), None),
    "log1p": (sg.log1p, "log1p", (0, 100), None), "expm1": (sg.expm1, "expm1", (-5, 5), None),
    "tanh": (sg.tanh, "tanh", (-5, 5), None), "sin": (sg.sin, "sin", (-10, 10), None),
    "cos": (sg.cos, "cos", (-10, 10), None), "tan": (sg.tan, "tan", (-1.5, 1.5), None),
    "arcsin": (sg.arcsin, "arcsin", (-1, 1), None), "arccos": (sg.arccos, "arccos", (-1, 1), None),
    "arctan": (sg.arctan, "arctan", (-10, 10), None), "sinh": (sg.sinh, "sinh", (-5, 5), None),
    "cosh": (sg.cosh, "cosh", (-5, 5), None), "arcsinh": (sg.arcsinh, "arcsinh", (-10, 10), None),
    "arccosh": (sg.arccosh, "arccosh", (1, 100), None), "arctanh": (sg.arctanh, "arctanh", (-0.99, 0.99), None),
    "cbrt": (sg.cbrt, "cbrt", (-100, 100), None), "pow": (lambda x, y: x ** y, "power", (0.01, 10), (-3, 3)),
    "arctan2": (sg.arctan2, "arctan2", (-10, 10), (-10, 10)),
}
SIZES = (10 ** 4, 10 ** 6)
# Two functions in one loop: NumPy's SVML functions for both where each has one, else ours for both
# (numba_codegen.loop_forms); the column "paired gain" is the loop with SVML's only where VECTOR_FORMS
# has them (a call beside our inlined function) / as it runs. Arguments in (0.1, 3).
TOGETHER = {
    "sin(x)*exp(y)": lambda m, x, y: m.sin(x) * m.exp(y),
    "log(x)*tanh(y)": lambda m, x, y: m.log(x) * m.tanh(y),
    "cos(x)*exp(-y)": lambda m, x, y: m.cos(x) * m.exp(-y),
    "log(x)-expm1(y)": lambda m, x, y: m.log(x) - m.expm1(y),
    "cosh(x)+sinh(y)": lambda m, x, y: m.cosh(x) + m.sinh(y),
    "exp(x)*log(y)": lambda m, x, y: m.exp(x) * m.log(y),
}


def _built_with(forms, inputs, expr, values):
    """sg.function(inputs, expr), its kernels compiled under numba_codegen.VECTOR_FORMS = forms
    (they are written at their first call, for each size's path)."""
    kept = numba_codegen.VECTOR_FORMS
    numba_codegen.VECTOR_FORMS = forms
    try:
        f = sg.function(inputs, expr)
        for v in values:
            f(*v)
        return f
    finally:
        numba_codegen.VECTOR_FORMS = kept


def _unpaired(composite):
    return numba_codegen.VECTOR_FORMS


def together(pattern=None):
    """TOGETHER's loops: NumPy, symgraph as it runs, and with loop_forms giving VECTOR_FORMS."""
    rng = np.random.default_rng(1)
    print(f"{'together':16s} {'dtype':8s} {'values':>8s} {'NumPy us':>9s} {'symgraph':>9s} {'unpaired':>9s}"
          f" {'vs NumPy':>9s} {'paired gain':>11s}")
    ratios = []
    for dtype in ("float32", "float64"):
        for name, expr in TOGETHER.items():
            if pattern and pattern not in name:
                continue
            x, y = sg.tensor("x", dtype, (None,)), sg.tensor("y", dtype, (None,))
            values = [[rng.uniform(0.1, 3, n).astype(dtype) for _ in range(2)] for n in SIZES]
            f = _built_with(numba_codegen.VECTOR_FORMS, [x, y], expr(sg, x, y), values)
            kept = numba_codegen.loop_forms
            numba_codegen.loop_forms = _unpaired
            try:
                unpaired = _built_with(numba_codegen.VECTOR_FORMS, [x, y], expr(sg, x, y), values)
            finally:
                numba_codegen.loop_forms = kept
            for v in values:
                want = expr(np, *v)
                tol = 4e-6 if dtype == "float32" else 1e-13  # (atol: log(x) - expm1(y) cancels)
                for g in (f, unpaired):
                    np.testing.assert_allclose(g(*v), want, rtol=tol, atol=tol * float(np.abs(want).max()))
                t_numpy, t_sg, t_unpaired = (_seconds(lambda: g(*v)) for g in (lambda *a: expr(np, *a), f, unpaired))
                ratios.append(t_numpy / t_sg)
                print(f"{name:16s} {dtype:8s} {v[0].size:8d} {t_numpy * 1e6:9.1f} {t_sg * 1e6:9.1f} "
                      f"{t_unpaired * 1e6:9.1f} {t_numpy / t_sg:8.2f}x {t_unpaired / t_sg:10.2f}x", flush=True)
    if ratios:
        geo = float(np.exp(np.mean(np.log(ratios))))
        print(f"together vs NumPy: geometric mean {geo:.2f}x, {sum(r < 1 for r in ratios)} of {len(ratios)} below 1.0x")


def main(pattern=None):
    jax = try_import("jax")
    if jax:
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
    rng = np.random.default_rng(0)
    print(f"NumPy's SVML functions taken: {'yes' if numba_svml.AVAILABLE else 'no (CPU, NumPy or SYMGRAPH_SVML=0)'}")
    print(f"{'function':9s} {'dtype':8s} {'values':>8s} {'NumPy us':>9s} {'symgraph':>9s} {'ours only':>9s}"
          f" {'JAX jit':>9s} {'vs NumPy':>9s} {'SVML gain':>9s} {'vs JAX':>7s}")
    ratios = []
    for dtype in ("float32", "float64"):
        for name, (build, numpy_name, (lo, hi), second) in FUNCTIONS.items():
            if pattern and pattern not in name:
                continue
            arity = 1 if second is None else 2
            inputs = [sg.tensor(f"x{k}", dtype, (None,)) for k in range(arity)]
            expr = build(*inputs)
            values = [[rng.uniform(*r, n).astype(dtype) for r in [(lo, hi), second][:arity]] for n in SIZES]
            svml = (name in numba_svml.FORMS[dtype] or name in numba_svml.PAIRED_FORMS[dtype]) and \
                (name, dtype) not in numba_svml.SLOWER_ALONE  # (SVML's in a loop of it alone)
            f = _built_with(numba_codegen.VECTOR_FORMS, inputs, expr, values)
            ours = _built_with(numba_codegen.OWN_FORMS, inputs, expr, values) if svml else None
            numpy_fn = getattr(np, numpy_name)
            jax_fn = jax.jit(getattr(jnp, numpy_name)) if jax else None
            for v in values:
                np.testing.assert_allclose(f(*v), numpy_fn(*v), rtol=4e-6 if dtype == "float32" else 1e-13)
                t_numpy = _seconds(lambda: numpy_fn(*v))
                t_sg = _seconds(lambda: f(*v))
                t_ours = _seconds(lambda: ours(*v)) if ours else None
                t_jax = None
                if jax_fn:
                    jv = [jax.device_put(a) for a in v]
                    t_jax = _seconds(lambda: jax_fn(*jv).block_until_ready())
                ratios.append(t_numpy / t_sg)
                print(f"{name:9s} {dtype:8s} {v[0].size:8d} {t_numpy * 1e6:9.1f} {t_sg * 1e6:9.1f} "
                      f"{(f'{t_ours * 1e6:9.1f}' if t_ours else '-'):>9s} {(f'{t_jax * 1e6:9.1f}' if t_jax else '-'):>9s} "
                      f"{t_numpy / t_sg:8.2f}x {(f'{t_ours / t_sg:8.2f}x' if t_ours else '-'):>9s} "
                      f"{(f'{t_jax / t_sg:6.2f}x' if t_jax else '-'):>7s}", flush=True)
    if ratios:
        geo = float(np.exp(np.mean(np.log(ratios))))
        print(f"symgraph vs NumPy: geometric mean {geo:.2f}x, {sum(r < 1 for r in ratios)} of {len(ratios)} below 1.0x")
    together(pattern)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
