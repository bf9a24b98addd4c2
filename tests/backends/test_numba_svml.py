"""NumPy's SVML functions in symgraph's loops (backends/numba_svml.py): where the CPU has
AVX-512, the loops of log, sin, cbrt... call NumPy's 16-lane (float32) and 8-lane (float64)
functions. Each within its ulp bound over a sample of every magnitude, NumPy's answers where the
result is not a normal number, the loops vectorized through them (no scalar libm call per
value), and the kernels loaded from numba's disk cache in a fresh process find them."""
import os
import re
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest

import symgraph as sg
from symgraph.backends import numba_codegen, numba_cpu, numba_svml

from ..conftest import executor_globals, own_asm

needs_svml = pytest.mark.skipif(not numba_svml.AVAILABLE,
                                reason="NumPy's SVML functions need a CPU with AVX-512 (and SYMGRAPH_SVML unset)")

SYMBOLIC = {"log": sg.log, "log2": sg.log2, "log10": sg.log10, "log1p": sg.log1p, "sin": sg.sin,
            "cos": sg.cos, "tan": sg.tan, "arcsin": sg.arcsin, "arccos": sg.arccos, "arcsinh": sg.arcsinh,
            "arccosh": sg.arccosh, "arctanh": sg.arctanh, "cbrt": sg.cbrt, "pow": lambda x, y: x ** y,
            "arctan2": sg.arctan2, "tanh": sg.tanh, "expm1": sg.expm1, "cosh": sg.cosh, "sinh": sg.sinh,
            "exp2": sg.exp2, "exp": sg.exp}
REFERENCE = {"pow": np.power}
# The worst error of each float32 function over every 13th float32, against float64, and where
# (WORST): log 1.77 ulp, log2 2.01, log10 3.34, log1p 1.91, sin 2.36, tan 3.90 (at 1.45e24),
# arcsinh 0.99, arccosh 1.07, arctanh 1.41, cbrt 1.94; x ** y 1.00 over 3.2M pairs. NumPy's own
# float32 log2, log10, log1p, tan, arcsinh, arccosh, arctanh, cbrt and power are these functions
# (the same bits); its log and sin are its own (within 1.35 ulp; ours, numba_vecmath's, 1.0 and
# 1.58). float64's `_ha` forms: 0.52-0.83 ulp against long double over 4.5M arguments, cbrt 1.19,
# pow 0.70 and arctan2 0.78 over 3.2M pairs; NumPy's bits except for sin and cos (libm's).
# The paired ones (numba_svml._PAIRED), the same way: tanh 1.37 ulp, sinh 1.50, cosh 2.38, expm1 2.56,
# exp2 2.84 (NumPy's float32 expm1, exp2, cosh and sinh are these; its tanh is its own); float64 exp,
# exp2, log, log2 and log10 0.51-0.72 ulp, NumPy's bits over 6M arguments.
BOUND32 = {"log": 2.0, "log2": 2.25, "log10": 3.5, "log1p": 2.0, "sin": 2.5, "tan": 4.0, "arcsinh": 1.25,
           "arccosh": 1.25, "arctanh": 1.5, "cbrt": 2.0, "pow": 1.25, "tanh": 1.5, "sinh": 1.75, "cosh": 2.5,
           "expm1": 2.75, "exp2": 3.0}
BOUND64 = {"cbrt": 1.25}  # (1.19 at 2.769: NumPy's float64 cbrt, the same bits)
WORST = {"log": [0.8835488], "log2": [1.1876004], "log10": [0.74994504], "log1p": [0.33411047], "sin": [1.6038492],
         "tan": [1.4496364e24], "arcsinh": [0.0237209], "arccosh": [1.0002856], "arctanh": [0.0038483189],
         "cbrt": [4.927233e-36], "tanh": [0.50426495], "sinh": [0.39108142], "cosh": [-8.307553],
         "expm1": [87.048676], "exp2": [126.5674]}
SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, -0.5, 2.0, 1e-45, -1e-45, 1e-40, 1e-30, 1e30, -1e30,
           3.4e38, -3.4e38, 1e-300, 1e300, -1e300, 5e-324, 700.0, 710.0, -745.0, -746.0, 88.7, 89.0, -104.0]


def _pairs():
    """(dtype, op) of each SVML function a loop may call on this CPU (all of them where none is
    taken: the tests skip)."""
    return [(dtype, op) for tables in (numba_svml._FUNCTIONS, numba_svml._PAIRED)
            for dtype, table in tables.items() for op in table
            if not numba_svml.AVAILABLE or (op, dtype) not in numba_svml._SLOWER]


def _table(dtype, op):
    """The op's row (libm's name, SVML's, arguments) in numba_svml's tables."""
    return {**numba_svml._PAIRED[dtype], **numba_svml._FUNCTIONS[dtype]}[op]


def _form(dtype, op):
    """The intrinsic a loop of the op calls (alone, or for SLOWER_ALONE's, beside other SVML calls)."""
    return {**numba_svml.PAIRED_FORMS[dtype], **numba_svml.FORMS[dtype]}[op].split("(")[0]


def _arguments(dtype, op, rng):
    """Specials, random bit patterns (every magnitude, both signs) and a dense sample near 1;
    for a function of two, every pair of specials and random pairs of both kinds."""
    bits = rng.integers(0, 2 ** (8 * np.dtype(dtype).itemsize), 200_000, dtype=np.uint64)
    spread = bits.astype(np.uint32).view(np.float32) if dtype == "float32" else bits.view(np.float64)
    near = rng.uniform(-4, 4, 100_000)
    with np.errstate(all="ignore"):  # (float64 specials beyond float32's range: infinities)
        x = np.concatenate([np.array(SPECIAL + WORST.get(op, [])), spread, near]).astype(dtype)
        if _table(dtype, op)[2] == 1:
            return [x]
        special = np.array(SPECIAL).astype(dtype)
        first, second = np.meshgrid(special, special)
        pairs = rng.permutation(x), rng.permutation(x)
        if op == "pow":  # (random pairs of finite powers: positive bases, moderate exponents)
            pairs = (np.abs(near).astype(dtype) * 3, rng.uniform(-10, 10, near.size).astype(dtype))
        return [np.concatenate([first.ravel(), pairs[0]]), np.concatenate([second.ravel(), pairs[1]])]


def _ulps(got, want, dtype):
    """(errors in ulps where the exact result is a normal number of `dtype`, the mask of the others)"""
    with np.errstate(over="ignore"):
        rounded = want.astype(dtype)
    normal = np.isfinite(rounded) & (np.abs(rounded) >= np.finfo(dtype).tiny)
    spacing = np.spacing(np.abs(rounded[normal])).astype(want.dtype)
    error = np.abs(got[normal].astype(want.dtype) - want[normal]) / spacing
    return error.astype(np.float64), ~normal


@needs_svml
@pytest.mark.parametrize("dtype,op", _pairs())
def test_each_function_within_its_bound_and_numpy_where_the_result_is_not_normal(dtype, op, rng, monkeypatch):
    if (op, dtype) in numba_svml.SLOWER_ALONE:  # (its form beside other SVML calls, measured here alone)
        monkeypatch.setattr(numba_codegen, "loop_forms", lambda composite: numba_codegen.PAIRED_FORMS)
    arguments = _arguments(dtype, op, rng)
    inputs = [sg.tensor(f"x{k}", dtype, (None,)) for k in range(len(arguments))]
    f = sg.function(inputs, SYMBOLIC[op](*inputs), backend="numba")
    assert _form(dtype, op) in numba_codegen._flat_source(
        _loop(f), (dtype,) * len(inputs), (False,) * len(inputs), False)
    reference = REFERENCE.get(op, getattr(np, op))
    wider = np.float64 if dtype == "float32" else np.longdouble
    with np.errstate(all="ignore"):
        got = f(*arguments)
        exact = reference(*[a.astype(wider) for a in arguments])
        numpy_own = reference(*arguments)
    errors, others = _ulps(got, exact, dtype)
    assert errors.max() <= (BOUND32[op] if dtype == "float32" else BOUND64.get(op, 1.0)), \
        [a[~others][np.argmax(errors)] for a in arguments]
    tiny = 2 * np.finfo(dtype).smallest_subnormal
    with np.errstate(invalid="ignore"):  # (inf - inf)
        same = (got[others] == numpy_own[others]) | (np.isnan(got[others]) & np.isnan(numpy_own[others])) | \
            (np.abs(got[others].astype(exact.dtype) - exact[others]) <= tiny)
    assert same.all(), [a[others][~same] for a in arguments]
    zero = got == 0
    assert np.array_equal(np.signbit(got[zero]), np.signbit(numpy_own[zero]))  # (-0.0 where NumPy has it)


def _loop(f):
    """The Composite of f's one elementwise loop."""
    (thunk,) = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ElementwiseThunk)]
    return thunk.composite


def _compiled_fresh(source, *args):
    """The kernel of `source` compiled without numba's disk cache (whose code cannot be
    inspected), run once on args."""
    module = types.ModuleType("svml_kernel")
    exec(compile((numba_codegen._HEADER + source).replace("cache=True", "cache=False"), "<svml kernel>", "exec"),
         module.__dict__)
    module.kernel(*args)
    return module.kernel


def _calls(kernel, symbol, code=None):
    """Whether a function of the kernel's optimized LLVM IR (or of `code`), other than
    numba_svml's narrower forms of the SVML functions, calls `symbol` or a narrower form of it
    (a vectorized loop)."""
    code = code or "".join(kernel.inspect_llvm(s) for s in kernel.signatures)
    functions = re.finditer(r'^define [^\n]*?@"?([\w.$]+)"?\(.*?^}', code, flags=re.M | re.S)
    return any(re.search(rf'call [^\n]*@"?{symbol}(_as\d+)?"?\(', f.group(0))
               for f in functions if not f.group(1).startswith("__svml"))


@needs_svml
def test_loops_call_the_vector_functions_even_beside_wider_values(rng, monkeypatch, tmp_path):
    """A loop of float32 log beside float64 values still calls the 16-lane function (only that
    width is NumPy's: LLVM then fills two 8-lane float64 registers a step), as do a fold and a
    parallel loop; no loop calls libm's scalar logf for each value."""
    x, y = sg.fvector("x"), sg.dvector("y")
    mixed = _loop(sg.function([x, y], sg.log(x) + y))
    xv = rng.uniform(0.1, 10, 1000).astype("float32")
    yv = rng.normal(size=1000)
    out = np.empty(1000)
    kernel = _compiled_fresh(numba_codegen._flat_source(mixed, ("float32", "float64"), (False, False), False),
                             out, xv, yv)
    np.testing.assert_allclose(out, np.log(xv) + yv, rtol=1e-6, atol=1e-6)
    assert _calls(kernel, "__svml_logf16")
    for dtype, op in [("float32", "sin"), ("float64", "cos")]:
        v = sg.tensor("v", dtype, (None,))
        single = _loop(sg.function([v], SYMBOLIC[op](v)))
        symbol = numba_svml._FUNCTIONS[dtype][op][1]
        for parallel in (False, True):
            values = rng.normal(size=5000).astype(dtype)
            result = np.empty_like(values)
            kernel = _compiled_fresh(numba_codegen._flat_source(single, (dtype,), (False,), parallel), result, values)
            np.testing.assert_allclose(result, getattr(np, op)(values), rtol=1e-6 if dtype == "float32" else 1e-15)
            assert _calls(kernel, symbol), (dtype, op, parallel)
    # A fold: its kernel compiled here afresh (an empty kernel folder: numba's disk cache keeps
    # no code to inspect), its loop read from the IR like the others.
    monkeypatch.setattr(sg.config, "cache_dir", str(tmp_path))
    m = sg.fmatrix("m")
    f = sg.function([m], sg.log(m).sum(axis=1))
    mv = rng.uniform(0.5, 2, (300, 40)).astype("float32")
    np.testing.assert_allclose(f(mv), np.log(mv).sum(axis=1), rtol=1e-5)
    (kernel,) = [k for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)
                 for k in t.kernels.values()]
    assert _calls(getattr(kernel, "dispatcher", kernel), "__svml_logf16")


@needs_svml
def test_loops_calling_them_keep_their_vectors_in_aligned_stack_slots(rng):
    """A call clobbers every vector register, so a loop calling an SVML function keeps its
    vectors on the stack across it (each step's unrolled vectors, the results so far). The loop
    realigns its stack to 64 bytes on entry, so no slot straddles two cache lines, wherever the
    caller's stack began (unaligned, each SVML call ran 1.3-2x slower in half the processes:
    numba_svml._align_stack). Serial and parallel loops, float32 and float64."""
    for dtype, op in [("float32", "log"), ("float64", "sin")]:
        v = sg.tensor("v", dtype, (None,))
        single = _loop(sg.function([v], SYMBOLIC[op](v)))
        for parallel in (False, True):
            values = rng.uniform(0.5, 2, 5000).astype(dtype)
            result = np.empty_like(values)
            kernel = _compiled_fresh(numba_codegen._flat_source(single, (dtype,), (False,), parallel), result, values)
            np.testing.assert_allclose(result, getattr(np, op)(values), rtol=1e-6 if dtype == "float32" else 1e-15)
            loop = kernel.py_func.__globals__["part"] if parallel else kernel  # (a parallel kernel's tasks)
            asm = own_asm(loop)
            assert re.search(r"\bandq\s+\$-64, %rsp", asm), (dtype, parallel)
            # (64-byte zmm slots, or 32-byte ymm ones where the CPU's tuning prefers 256-bit vectors)
            stored = re.findall(r"\bvmov\w+\s+%([yz])mm\d+, (-?\d*)\(%rsp\)", asm)
            loaded = re.findall(r"\bvmov\w+\s+(?=-?\d*\(%rsp\), %([yz])mm)(-?\d*)", asm)
            slots = [(64 if kind == "z" else 32, int(offset or 0)) for kind, offset in stored + loaded]
            assert slots, (dtype, parallel)  # (the loop does keep vectors there)
            assert all(offset % width == 0 for width, offset in slots), (dtype, parallel, slots)


@needs_svml
def test_loops_of_256_bit_vectors_call_the_functions_eight_lanes_at_a_time():
    """Where the CPU's tuning prefers 256-bit vectors (SYMGRAPH_VECTOR_WIDTH=256 here) LLVM
    vectorizes a float32 loop 8 lanes wide: it calls the 16-lane function through its 8-lane
    form (without one, libm's scalar logf for each value: 4.4x slower than ours)."""
    code = ("import numpy as np, types, symgraph as sg\n"
            "from symgraph.backends import numba_codegen, numba_cpu\n"
            "from tests.conftest import executor_globals\n"
            "x = sg.fvector('x')\n"
            "f = sg.function([x], sg.log(x))\n"
            "(t,) = [t for t in executor_globals(f).values() if isinstance(t, numba_cpu.ElementwiseThunk)]\n"
            "source = numba_codegen._flat_source(t.composite, ('float32',), (False,), False)\n"
            "module = types.ModuleType('k')\n"
            "exec((numba_codegen._HEADER + source).replace('cache=True', 'cache=False'), module.__dict__)\n"
            "v = np.linspace(1, 10, 1000, dtype=np.float32)\n"
            "out = np.empty_like(v)\n"
            "module.kernel(out, v)\n"
            "assert np.allclose(out, np.log(v), rtol=1e-6)\n"
            "print(module.kernel.inspect_llvm(module.kernel.signatures[0]))\n")
    ir = _run(code, SYMGRAPH_VECTOR_WIDTH="256", PYTHONPATH=os.getcwd())
    assert _calls(None, "__svml_logf16", ir)


@needs_svml
def test_sin_and_tan_need_no_range_check(rng):
    """numba_vecmath's sin/cos/tan reduce exactly only up to a limit, so their loops count the
    arguments beyond it and are redone with libm's (_RangeChecked); SVML's are exact everywhere,
    so a loop of them runs once, and may write into its input."""
    x = sg.fvector("x")
    f = sg.function([x], sg.sin(x) * 2 + sg.tan(x * 0.5), backend="numba")
    assert not numba_codegen.uses_checked_forms(_loop(f), ("float32",))
    v = rng.normal(size=1000).astype("float32") * 100
    v[[3, 500]] = [1e30, -3e6]
    np.testing.assert_allclose(f(v), np.sin(v) * 2 + np.tan(v * np.float32(0.5)), rtol=1e-5, atol=1e-5)


def _flat_calls(f, dtypes):
    """The intrinsics (numba_svml's or ours) f's one elementwise loop calls, by the op's name."""
    source = numba_codegen._flat_source(_loop(f), dtypes, (False,) * len(dtypes), False)
    return set(re.findall(r"np\.float\d\d\(\(?(\w+)\(", source))


@needs_svml
def test_paired_functions_only_where_the_loop_calls_svml_anyway(rng, monkeypatch, tmp_path):
    """numba_svml's paired functions (float32 expm1, tanh...; float64 exp, log...) are taken
    alone or beside other SVML calls, not beside an inlined function of ours (numba_codegen.
    loop_forms); each way gives NumPy's values."""
    x, y = sg.fvector("x"), sg.fvector("y")
    xv, yv = rng.uniform(0.1, 3, 1000).astype("float32"), rng.uniform(0.1, 3, 1000).astype("float32")
    cases = [(sg.cosh(x), np.cosh(xv), {"cosh32"}),  # (numba_svml._OURS_ALONE)
             (sg.expm1(x) * sg.log(y), np.expm1(xv) * np.log(yv), {"svml_expm1_32", "svml_log32"}),
             (sg.sinh(x) + sg.cosh(y), np.sinh(xv) + np.cosh(yv), {"svml_sinh32", "svml_cosh32"}),
             (sg.tanh(x) * 2, np.tanh(xv) * 2, {"tanh32"}),  # (numba_svml.SLOWER_ALONE)
             (sg.expm1(x) * sg.nn.sigmoid(y), np.expm1(xv) / (1 + np.exp(-yv)), {"expm1_32", "sigmoid32"}),
             (sg.tanh(x) * sg.cos(y), np.tanh(xv) * np.cos(yv), {"tanh32"})]
    for expr, want, called in cases:
        f = sg.function([x, y], expr, on_unused_input="ignore")
        assert called <= _flat_calls(f, ("float32", "float32")), called
        np.testing.assert_allclose(f(xv, yv), want, rtol=2e-6)
    d = sg.dvector("d")
    dv = rng.uniform(0.1, 3, 1000)
    assert _flat_calls(sg.function([d], sg.log10(d) + 1), ("float64",)) == {"svml_log10_64"}
    assert "log64" in _flat_calls(sg.function([d], sg.log10(d) * sg.tanh(d)), ("float64",))
    # ours only where asked (the tests of our forms' fixture)
    monkeypatch.setattr(numba_codegen, "VECTOR_FORMS", numba_codegen.OWN_FORMS)
    assert _flat_calls(sg.function([x], sg.expm1(x)), ("float32",)) == {"expm1_32"}
    monkeypatch.undo()
    # a fold, compiled afresh (see the test above): float64 log in a sum alone, not beside sigmoid
    monkeypatch.setattr(sg.config, "cache_dir", str(tmp_path))
    m = sg.dmatrix("m")
    mv = rng.uniform(1.1, 3, (300, 40))  # (positive logs: sums that do not cancel)
    for expr, want, svml_log in [(sg.log(m).sum(axis=1), np.log(mv).sum(axis=1), True),
                                 ((sg.log(m) * sg.nn.sigmoid(m)).sum(axis=1), (np.log(mv) / (1 + np.exp(-mv))).sum(1),
                                  False)]:
        f = sg.function([m], expr)
        np.testing.assert_allclose(f(mv), want, rtol=1e-13)
        (kernel,) = [k for t in executor_globals(f).values() if isinstance(t, numba_cpu.ReduceThunk)
                     for k in t.kernels.values()]
        assert _calls(getattr(kernel, "dispatcher", kernel), "__svml_log8_ha") == svml_log


@needs_svml
def test_a_cpu_where_some_are_slower_keeps_ours_for_those():
    """On AMD Zen 4 (numba compiling for "znver4"), float64 arctan2 and float32 tanh are ours
    everywhere; on an Intel CPU SVML's, in those loops. On both, float64 exp runs ours in a loop
    of it alone (numba_svml._OURS_ALONE) and SVML's beside log. (NUMBA_CPU_NAME names the CPU;
    this one's features: any CPU with AVX-512 runs the code.)"""
    import llvmlite.binding as llvm
    code = textwrap.dedent("""
        import re
        import symgraph as sg
        from symgraph.backends import numba_codegen, numba_cpu

        def calls(expr, *inputs):
            run = sg.function(list(inputs), expr)._run
            (loop,) = [t for t in getattr(run, "run", run).__globals__.values()
                       if isinstance(t, numba_cpu.ElementwiseThunk)]
            dtypes = tuple(v.dtype for v in inputs)
            source = numba_codegen._flat_source(loop.composite, dtypes, (False,) * len(dtypes), False)
            return sorted(set(re.findall(r"np\\.float\\d\\d\\(\\(?(\\w+)\\(", source)))

        x, y, f, g = sg.dvector("x"), sg.dvector("y"), sg.fvector("f"), sg.fvector("g")
        print(calls(sg.exp(x), x), calls(sg.exp(x) * sg.log(y), x, y), calls(sg.arctan2(x, y), x, y),
              calls(sg.tanh(f) * sg.log(g), f, g))
        """)
    features = llvm.get_host_cpu_features().flatten()
    zen4 = _run(code, NUMBA_CPU_NAME="znver4", NUMBA_CPU_FEATURES=features)
    assert zen4.strip() == ("['exp64'] ['svml_exp64', 'svml_log64'] ['atan2_64'] ['svml_log32', 'tanh32']")
    intel = _run(code, NUMBA_CPU_NAME="sapphirerapids", NUMBA_CPU_FEATURES=features)
    assert intel.strip() == ("['exp64'] ['svml_exp64', 'svml_log64'] ['svml_arctan2_64'] "
                             "['svml_log32', 'svml_tanh32']")


def _run(code, **env):
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env={**os.environ, **env})
    assert result.returncode == 0, result.stderr
    return result.stdout


@needs_svml
def test_a_kernel_loaded_from_the_disk_cache_finds_the_functions(tmp_path):
    """The cached object code names __svml_log1pf16; a fresh process registers NumPy's address
    for it when symgraph is imported, before the kernel loads."""
    code = ("import numpy as np, symgraph as sg\n"
            "from symgraph.backends import numba_codegen\n"
            "x = sg.fvector('x')\n"
            "f = sg.function([x], sg.log1p(x) * 2)\n"
            "node = f.fgraph.apply_nodes[-1]\n"
            "cached = numba_codegen.is_cached(numba_codegen._flat_source(node.op, ('float32',), (False,), False))\n"
            "v = np.linspace(0, 10, 1000, dtype=np.float32)\n"
            "print(cached, np.abs(f(v) - np.log1p(v) * 2).max() < 1e-5)\n")
    env = {"SYMGRAPH_CACHE_DIR": str(tmp_path)}
    assert _run(code, **env).split() == ["False", "True"]
    assert _run(code, **env).split() == ["True", "True"]


def test_turned_off_by_the_environment():
    out = _run("from symgraph.backends import numba_svml, numba_codegen\n"
               "print(numba_svml.AVAILABLE, numba_svml.FORMS, numba_svml.PAIRED_FORMS,"
               " numba_codegen.VECTOR_FORMS['float32']['log'])",
               SYMGRAPH_SVML="0")
    none = "{'float32': {}, 'float64': {}}"
    assert out.split(maxsplit=1) == ["False", f"{none} {none} log32({{0}})\n"]


def test_taken_only_where_numpy_runs_its_svml_code_and_not_asked_off(monkeypatch):
    """NumPy's own check of the CPU (its AVX512_SKX: AVX-512 F, CD, BW, DQ and VL) decides
    with numba's target; SYMGRAPH_SVML=0 turns it off."""
    assert not numba_svml._wanted(types.SimpleNamespace(__cpu_features__={"AVX512_SKX": False}))
    assert not numba_svml._wanted(types.SimpleNamespace())  # (a NumPy that does not say)
    skx = types.SimpleNamespace(__cpu_features__={"AVX512_SKX": True})
    assert numba_svml._wanted(skx) == numba_svml.compiles_for_avx512()
    monkeypatch.setenv("SYMGRAPH_SVML", "0")
    assert not numba_svml._wanted(skx)
