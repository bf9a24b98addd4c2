"""Math functions through NumPy's own SVML loops, where those run faster than numba_vecmath's.

NumPy's x86-64 builds carry the AVX-512 half of Intel's SVML (opened by Intel for NumPy) in
_multiarray_umath and export its functions: __svml_logf16 takes 16 float32 in one zmm register
and returns their logs, __svml_sin8_ha 8 float64. Numba's own SVML route needed a patched LLVM,
dropped in numba 0.62 (benchmarks/README.md, twenty-second session). Here a kernel's step is a
scalar call of libm's function (logf) that carries LLVM's vector-function ABI attribute naming
the SVML one, so LLVM's loop vectorizer calls that for 16 (float32) or 8 (float64) values at a
time, or half or a quarter as many through a form that fills the wider vector (the width is
LLVM's choice: 256-bit vectors on CPUs whose tuning prefers them); a loop's scalar remainder
calls libm's. The addresses are NumPy's, registered with LLVM by name (llvm.add_symbol) when
this module is imported, before any kernel that calls them is compiled or loaded from numba's
disk cache (whose object code names the symbols). A loop calling one aligns its stack to 64 bytes
(_align_stack): the vectors it keeps there across each call straddled cache lines otherwise.

Only on a CPU with AVX-512 that numba compiles for and NumPy finds able to run its SVML code,
where NumPy exports every function named below, and unless SYMGRAPH_SVML=0. float64 uses the
`_ha` forms (within 1 ulp; NumPy's float64 loops but sin and cos call the same ones: NumPy's
bits); float32 has only the 16-lane forms of Intel's "LA" accuracy (the tests bound each
against float64).

Taken for the functions whose loop ran faster than ours: one core, 16384 values in cache, ns a
value (ours -> SVML): float32 log 0.50 -> 0.24, log2 0.51 -> 0.24, log10 0.52 -> 0.27, log1p 0.59
-> 0.41, sin 0.61 -> 0.30, tan 0.60 -> 0.38, arcsinh 0.98 -> 0.63, arccosh 1.13 -> 0.58, arctanh
0.78 -> 0.51, cbrt 0.51 -> 0.36; float64 log1p 1.23 -> 1.09, sin 1.66 -> 1.10, cos 1.76 -> 1.05,
tan 1.92 -> 1.40, arcsin 2.14 -> 1.21, arccos 2.15 -> 1.26, arcsinh 2.81 -> 1.90, arccosh 2.86 ->
2.03, arctanh 1.95 -> 1.35, cbrt 1.42 -> 0.99. Through sg.function, both forms in one process
(10^4 / 10^5 values): float32 log 1.82x / 2.15x faster, sin 2.05x / 2.73x, log2 1.73x / 2.45x,
tan 1.48x / 1.82x, cbrt 1.36x / 1.48x, log1p 1.30x / 1.47x, x ** y 2.42x / 3.06x; float64 sin
1.74x / 1.53x, cos 1.72x / 1.65x, cbrt 1.28x / 1.38x, log1p 1.10x / 1.13x, x ** y 1.82x / 2.00x,
arctan2 1.09x / 1.14x (benchmarks/README.md, thirty-second session). Ours stay where they are
as fast or faster (then; some are paired now, below): float32 exp, tanh, cos (SVML's 0.92 ns
against 0.59), arctan, arcsin, arccos, expm1; float64 exp (0.91-1.02x through sg.function),
tanh, expm1, sinh, cosh; and float32
arctan2, 1.20-1.26x slower than SVML's but within 1.69 ulp where SVML's (NumPy's) is 3.1. A sin
or tan through SVML needs no range check: it is exact over every argument (numba_codegen's
_RangeChecked is for ours).

Paired functions (_PAIRED: float32 tanh, expm1, cosh, sinh, exp2; float64 exp, exp2, log, log2,
log10, the `_ha` forms: NumPy's bits, within 0.72 ulp) are taken only in a loop whose every
function is then SVML's (numba_codegen.loop_forms). A call clobbers every vector register, so
our inlined functions beside one reload their constants each step; beside each other, or alone,
SVML's are as fast or faster. Interleaved, one core, 16384 values in cache, ns a value (ours ->
SVML's), on the Emerald Rapids machine of the fifty-second session: alone, float32 expm1 0.364
-> 0.293, cosh 0.374 -> 0.309, sinh 0.439 -> 0.390, exp2 0.446 -> 0.356, tanh 0.364 -> 0.378
(SLOWER_ALONE: a loop of it alone keeps ours); float64 log 1.113 -> 0.939, log2 1.112 -> 0.981,
log10 1.170 -> 1.008, exp2 0.751 -> 0.627, exp 1.128 -> 1.032. Beside SVML's log of float32,
tanh(x) 0.728 -> 0.611; beside float64 cos, exp(y) 2.293 -> 1.714; float32 cosh(x) +
expm1(y) 1.076 -> 0.891, float64 exp(x) * log(y) 3.009 -> 2.575. Beside ours, a call costs:
float64 log(x) * tanh(y) 3.439 with our log, 3.777 with SVML's (tanh64's SVML form is 1.5x
slower than ours, and float32 exp's 3.75 ulp against ours' 1: both stay ours everywhere).

Arguments outside a function's domain (logs of zero and of negative numbers, powers of negative
bases...), and exponentials' arguments whose results overflow or underflow, would send SVML's
vectors down its slow scalar path; the guarded forms move them inside it before the
call and give NumPy's answer after it (numba_svml_guards). Guarded, the paired exponentials lost their margin alone:
a loop of one of them alone keeps ours (_OURS_ALONE), which has no slow path.

These choices are the Intel machines'. Where another CPU measured differently, its LLVM name
lists the functions that stay ours there (_SLOWER_ON: AMD Zen 4's float64 arctan2 and float32 tanh).
"""
import ctypes
import os

from llvmlite import binding as llvm
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

from .numba_target import compiles_for_avx512, cpu_name
from .numba_svml_guards import GUARDED, GUARDS, guarded

# op name -> (libm's scalar name, SVML's name, arguments), by dtype
_FUNCTIONS = {
    "float32": {"log": ("logf", "__svml_logf16", 1), "log2": ("log2f", "__svml_log2f16", 1),
                "log10": ("log10f", "__svml_log10f16", 1), "log1p": ("log1pf", "__svml_log1pf16", 1),
                "sin": ("sinf", "__svml_sinf16", 1), "tan": ("tanf", "__svml_tanf16", 1),
                "arcsinh": ("asinhf", "__svml_asinhf16", 1), "arccosh": ("acoshf", "__svml_acoshf16", 1),
                "arctanh": ("atanhf", "__svml_atanhf16", 1), "cbrt": ("cbrtf", "__svml_cbrtf16", 1),
                "pow": ("powf", "__svml_powf16", 2)},
    "float64": {"log1p": ("log1p", "__svml_log1p8_ha", 1),
                "sin": ("sin", "__svml_sin8_ha", 1), "cos": ("cos", "__svml_cos8_ha", 1),
                "tan": ("tan", "__svml_tan8_ha", 1), "arcsin": ("asin", "__svml_asin8_ha", 1),
                "arccos": ("acos", "__svml_acos8_ha", 1), "arcsinh": ("asinh", "__svml_asinh8_ha", 1),
                "arccosh": ("acosh", "__svml_acosh8_ha", 1), "arctanh": ("atanh", "__svml_atanh8_ha", 1),
                "cbrt": ("cbrt", "__svml_cbrt8_ha", 1), "pow": ("pow", "__svml_pow8_ha", 2),
                "arctan2": ("atan2", "__svml_atan28_ha", 2)},
}
# Taken only in a loop whose every function is one of NumPy's SVML ones (numba_codegen.loop_forms):
# as fast as ours alone or faster, but a call beside our inlined functions costs their constants
# (see the module's docstring).
_PAIRED = {
    "float32": {"tanh": ("tanhf", "__svml_tanhf16", 1), "expm1": ("expm1f", "__svml_expm1f16", 1),
                "cosh": ("coshf", "__svml_coshf16", 1), "sinh": ("sinhf", "__svml_sinhf16", 1),
                "exp2": ("exp2f", "__svml_exp2f16", 1)},
    "float64": {"exp": ("exp", "__svml_exp8_ha", 1), "exp2": ("exp2", "__svml_exp28_ha", 1),
                "log": ("log", "__svml_log8_ha", 1), "log2": ("log2", "__svml_log28_ha", 1),
                "log10": ("log10", "__svml_log108_ha", 1)},
}
# Where a CPU's own measurements differ from the Sapphire and Emerald Rapids ones above (loop_forms.py,
# math_functions.py): by LLVM's name of the CPU, SVML functions slower than ours in a loop of them
# alone (beyond _OURS_ALONE, below), and slower anywhere (in FORMS or PAIRED_FORMS on no CPU of that
# name). AMD Zen 4, one core, 16384 values in cache, ns a value, ours -> SVML's (the stack aligned:
# _align_stack): alone, float32 expm1 0.32 -> 0.39-0.42, float64 exp 0.72 -> 0.93, exp2 0.70 ->
# 0.77-0.79 (all three ours alone everywhere now; beside other SVML calls still faster: float64
# cos(x) * exp(y) 2.14 -> 1.85, exp(x) * log(y) 1.83 -> 1.70); anywhere, float32 tanh 0.32 -> 0.50
# (beside log: 0.59 -> 0.68), float64 arctan2 1.53 -> 2.15.
_SLOWER_ON = {"znver4": (set(), {("tanh", "float32"), ("arctan2", "float64")})}
# Alone, every CPU's loop keeps ours for the exponentials whose SVML form is guarded against
# results beyond the normal range (numba_svml_guards): ours have no slow path, and the guard's selects
# took what SVML's had saved alone (AMD Zen 4, one core, in cache, ns a value, ours / SVML's /
# guarded: float64 exp 0.72 / 0.81 / 0.99, float32 exp2 0.23 / 0.23 / 0.36, cosh 0.35 / 0.35 /
# 0.43, sinh 0.36 / 0.38 / 0.50, expm1 0.32 / 0.38 / 0.39; the Intel machines' SVML margins
# above, 0.05-0.1 ns, are about the guard's cost). Beside other SVML calls they stay SVML's.
_OURS_ALONE = {("tanh", "float32"), ("expm1", "float32"), ("cosh", "float32"), ("sinh", "float32"),
               ("exp2", "float32"), ("exp", "float64"), ("exp2", "float64")}


def slower_on(cpu):
    """(the SVML functions a loop of them alone keeps ours for, those never taken) on `cpu`, as
    sets of (op, dtype)."""
    alone, anywhere = _SLOWER_ON.get(cpu, (set(), set()))
    return _OURS_ALONE | alone, anywhere


SLOWER_ALONE, _SLOWER = slower_on(cpu_name())  # (paired functions a loop of them alone keeps ours for)
_LANES = {"float32": 16, "float64": 8}
_NUMBA_TYPES = {"float32": types.float32, "float64": types.float64}
_SUFFIX = {"float32": "32", "float64": "64"}


def _numpy_module():
    try:
        from numpy._core import _multiarray_umath
    except ImportError:  # NumPy 1
        from numpy.core import _multiarray_umath
    return _multiarray_umath


def _numpy_symbols(umath):
    """{SVML name: address} from NumPy's _multiarray_umath, or {} where it lacks one of them."""
    try:
        library = ctypes.CDLL(umath.__file__)
        return {svml: ctypes.cast(getattr(library, svml), ctypes.c_void_p).value
                for tables in (_FUNCTIONS, _PAIRED) for table in tables.values() for _, svml, _ in table.values()}
    except (OSError, AttributeError):
        return {}


def _wanted(umath):
    """Unless SYMGRAPH_SVML=0: where numba compiles 512-bit code and NumPy finds the CPU runs
    its SVML code (AVX-512 F, CD, BW, DQ and VL: its AVX512_SKX)."""
    return (os.environ.get("SYMGRAPH_SVML", "1").lower() not in ("0", "false", "no") and compiles_for_avx512()
            and bool(getattr(umath, "__cpu_features__", {}).get("AVX512_SKX")))


def _register():
    umath = _numpy_module()
    symbols = _numpy_symbols(umath) if _wanted(umath) else {}
    for name, address in symbols.items():
        llvm.add_symbol(name, address)
    return bool(symbols)


AVAILABLE = _register()


def _vector_call(name, dtype, scalar, svml, arity):
    """An intrinsic `name(x, ...)`: libm's `scalar` on values of `dtype`, marked so that a
    vectorized loop calls `svml` on _LANES[dtype] of them at once, or fewer through _narrower's
    forms of it (LLVM's vector width for the loop is its own choice: 8 float32 lanes where the
    CPU's tuning prefers 256-bit vectors, or beside float64 values)."""
    numba_type, lanes = _NUMBA_TYPES[dtype], _LANES[dtype]

    def typed(args):
        if any(a != numba_type for a in args):
            return None

        def codegen(context, builder, signature, values):
            module = builder.module
            float_type = values[0].type
            vector_type = ir.VectorType(float_type, lanes)
            function = module.globals.get(scalar) or ir.Function(
                module, ir.FunctionType(float_type, [float_type] * arity), scalar)
            vector = module.globals.get(svml) or ir.Function(
                module, ir.FunctionType(vector_type, [vector_type] * arity), svml)
            _keep(module, vector)
            variants = [f"_ZGV_LLVM_N{lanes}{'v' * arity}_{scalar}({svml})"]
            for fewer in (lanes // 2, lanes // 4):
                narrow = _narrower(module, vector, fewer)
                _keep(module, narrow)
                variants.append(f"_ZGV_LLVM_N{fewer}{'v' * arity}_{scalar}({narrow.name})")
            call = builder.call(function, values, attrs=("nounwind", "readnone"))
            # (a string attribute, which llvmlite's attribute sets do not list: added past their check)
            set.add(call.attributes, f'"vector-function-abi-variant"="{",".join(variants)}"')
            _align_stack(builder.function)
            return call
        return numba_type(*args), codegen

    def impl(typingctx, x):  # (numba passes a *args intrinsic its arguments as one tuple)
        return typed([x])

    if arity == 2:
        def impl(typingctx, x, y):
            return typed([x, y])
    impl.__name__ = impl.__qualname__ = name  # numba names (and caches) an intrinsic by it
    return intrinsic(impl)


def _align_stack(function):
    """Mark `function` (the loop calling an SVML function) to align its stack to 64 bytes on
    entry. A call clobbers every vector register, so the loop keeps its vectors on the stack
    across each one (the four of an unrolled step, the values a step needs after the call);
    LLVM lays those slots out at the 16 bytes the caller's stack is aligned to unless the
    function realigns it, so a 64-byte slot could straddle two cache lines, and whether it
    did changed with where a process's stack began. Measured (one core, 16384 values in cache,
    ns a value, the stack moved 16 bytes at a time: SVML's alone then aligned; AMD Zen 4):
    float32 sin 0.45-0.67 -> 0.32-0.35, log 0.27-0.45 -> 0.22-0.23, sinh 0.40-0.59 -> 0.36-0.39;
    float64 cos 1.09-1.39 -> 1.07-1.09, arcsinh 2.10-3.05 -> 2.08-2.10. The cost: the function
    keeps a frame pointer (one register) and an `and` on entry."""
    set.add(function.attributes, "alignstack(64)")  # (as the call's: llvmlite's set has no such name)


def _narrower(module, vector, lanes):
    """A function of the module taking `lanes` values where `vector` takes twice or four times
    as many: its arguments repeated to fill the wider vector (real values, so SVML's check for
    special ones sees nothing new), the first `lanes` results kept. With 256-bit vectors
    preferred (SYMGRAPH_VECTOR_WIDTH=256) a loop of float32 log called only the 16-lane form
    and ran libm's scalar logf instead: 220 us over 10^5 values where ours took 50."""
    name = f"{vector.name}_as{lanes}"
    found = module.globals.get(name)
    if found is not None:
        return found
    wide = vector.function_type.return_type
    narrow = ir.VectorType(wide.element, lanes)
    function = ir.Function(module, ir.FunctionType(narrow, [narrow] * len(vector.args)), name)
    function.linkage = "internal"
    builder = ir.IRBuilder(function.append_basic_block())
    index = ir.IntType(32)
    repeat = ir.Constant(ir.VectorType(index, wide.count), [k % lanes for k in range(wide.count)])
    first = ir.Constant(ir.VectorType(index, lanes), list(range(lanes)))
    widened = [builder.shuffle_vector(a, a, repeat) for a in function.args]
    result = builder.call(vector, widened, attrs=("nounwind", "readnone"))
    builder.ret(builder.shuffle_vector(result, result, first))
    return function


def _keep(module, function):
    """List `function` in the module's llvm.compiler.used: LLVM drops a declaration nothing
    calls before the vectorizer would call it."""
    kept = module.__dict__.setdefault("svml_kept", set())  # (the names this module lists already)
    if function.name in kept:
        return
    kept.add(function.name)
    pointer = ir.PointerType(ir.IntType(8))
    used = module.globals.get("llvm.compiler.used")
    values = [] if used is None else list(used.initializer.constant)
    values.append(function.bitcast(pointer))
    array = ir.ArrayType(pointer, len(values))
    if used is None:
        used = ir.GlobalVariable(module, array, "llvm.compiler.used")
        used.linkage, used.section = "appending", "llvm.metadata"
    used.value_type, used.type = array, array.as_pointer()  # (a longer list: llvmlite renders these)
    used.initializer = ir.Constant(array, values)


def form_name(op, dtype):
    """The name kernels call op's SVML function by: svml_log32, svml_sin64, svml_log2_32 (as exp2_32)."""
    return f"svml_{op}{'_' if op[-1].isdigit() else ''}{_SUFFIX[dtype]}"


# The functions generated kernels call (svml_log32, svml_sin64, svml_log2_32...), and the step spelled with
# each, by dtype: empty where SVML is not available. FORMS are _FUNCTIONS', PAIRED_FORMS _PAIRED's. A
# function of numba_svml_guards.GUARDED is its guard around the intrinsic (named svml_log32_unguarded...).
FORMS = {dtype: {} for dtype in _FUNCTIONS}
PAIRED_FORMS = {dtype: {} for dtype in _PAIRED}
NAMES = []
for _tables, _forms in ((_FUNCTIONS, FORMS), (_PAIRED, PAIRED_FORMS)):
    for _dtype, _table in _tables.items():
        for _op, (_scalar, _svml, _arity) in _table.items():
            _name = form_name(_op, _dtype)
            if _op in GUARDED:
                globals()[f"{_name}_unguarded"] = _vector_call(f"{_name}_unguarded", _dtype, _scalar, _svml, _arity)
                globals()[_name] = guarded(globals()[f"{_name}_unguarded"], *GUARDS[_dtype][GUARDED[_op]], _arity)
            else:
                globals()[_name] = _vector_call(_name, _dtype, _scalar, _svml, _arity)
            NAMES.append(_name)
            if AVAILABLE and (_op, _dtype) not in _SLOWER:
                _forms[_dtype][_op] = f"{_name}({', '.join('{%d}' % k for k in range(_arity))})"
