"""Generate and compile Numba kernels for fused elementwise loops and fused reductions.

Source comes from the scalar-op table (`ScalarOp.src`), so a new scalar function needs no
change here. Kernels are cached by a structural key in memory and, through modules written
to `sg.config.cache_dir` and `numba.njit(cache=True)`, on disk across processes.

Three shapes of kernel:
- flat: every input is either as large as the output and C-contiguous, or a single value;
  one loop over memory (parallel chunks above a size threshold).
- broadcast: nested loops over the output, each input indexed by its own shape (0 on its
  axes of length 1).
- reduce: a fused loop whose result is folded into an accumulator per output element, with
  the reduced axes inside (inner) or, when the last axis is kept, outside (outer).

What makes them fast (each measured, see benchmarks/README.md): every loop must vectorize.
Transcendentals are numba_vecmath's and numba_special's, or NumPy's own SVML functions where the
CPU has them and they are faster (numba_svml; libm's do not vectorize); folds carry LLVM's
reassoc flag on the accumulating operation only; loops that do not start at 0 (parallel
chunks, blocks) index with unsigned integers, because Numba's wrap-around check for negative
indices stops LLVM from vectorizing them; a parallel 1-d loop is a prange over chunks, each a
call of a serial function over it, which keeps the loop's constants in registers
(_kernel_lines); an input whose rows lie apart in memory (x[::2], x[:, :k]: typed A, read a
value at a time) is read as the C-ordered array of its padded rows (numba_padded).

The sources are written with prange loops; compile_source turns each into tasks of a serial
function of its own that numba's threads run (numba_outline, numba_tasks), so no kernel goes
through numba's parfor passes (~1.1 s of compiling a loop).
"""
import functools
import hashlib
import pickle
import importlib.util
import os
import re
import sys
import threading
import types

import numba
import numpy as np

from ..config import config
from ..ops.elemwise import TABLE
from . import numba_calls, numba_integers, numba_special, numba_svml, numba_svml_guards, numba_vecmath
from . import numba_blocks, numba_noinline, numba_outline, numba_padded, numba_source_inline, numba_stack, numba_stream
from . import numba_tasks
from .loop_parts import ONE_INSTRUCTION, partial_values
from .numba_integers import integer_step
from .numba_blocks import BLOCK
from .numba_stream import STREAM_ALIGN, STREAM_BLOCK
from .numba_target import load_without_refresh
from .numba_vecmath import DIVISION_FORMS, DIVISION_NEAR, TRIG_FORMS, TRIG_LIMITS

# Scalar ops spelled with the vectorizable helpers, by dtype (all arguments of that dtype):
# NumPy's SVML functions where the CPU has them and they are faster (numba_svml), else ours.
OWN_FORMS = {dtype: {**numba_vecmath.VECTOR_FORMS[dtype], **numba_special.FORMS[dtype]}
             for dtype in ("float32", "float64")}
VECTOR_FORMS = {dtype: {**forms, **numba_svml.FORMS[dtype]} for dtype, forms in OWN_FORMS.items()}
# ... and for a loop whose every function is then one of NumPy's SVML ones, numba_svml's paired forms too.
PAIRED_FORMS = {dtype: {**forms, **numba_svml.PAIRED_FORMS[dtype]} for dtype, forms in VECTOR_FORMS.items()}


def loop_forms(composite):
    """The forms a loop's steps are spelled with: PAIRED_FORMS where each function the loop
    calls then is one of NumPy's SVML functions, else VECTOR_FORMS (or what a test or benchmark
    set it to). A call of SVML's clobbers every vector register, so an inlined function of ours
    beside one reloads its constants each step: log(x) + exp(y) of float32 ran 0.62 ns a value
    with our exp, 0.41 with SVML's, which alone is no faster than ours; sigmoid(x) * exp(y) of
    float32 0.64 with ours, 0.76 with SVML's exp beside our sigmoid (benchmarks/README.md,
    fifty-second session)."""
    if VECTOR_FORMS is not _DEFAULT_FORMS or not any(numba_svml.PAIRED_FORMS.values()):
        return VECTOR_FORMS
    functions = set()
    for sop, _, dtype in composite.program:
        spelled = PAIRED_FORMS.get(dtype, {}).get(sop.name) or TRIG_FORMS.get(dtype, {}).get(sop.name)
        if spelled is not None and not spelled.startswith("svml_"):
            return VECTOR_FORMS
        functions |= {(sop.name, dtype)} if spelled else set()
    return VECTOR_FORMS if len(functions) == 1 and functions <= numba_svml.SLOWER_ALONE else PAIRED_FORMS


_DEFAULT_FORMS = VECTOR_FORMS

PARALLEL_THRESHOLD = 1 << 17  # elements; below this a parallel launch costs more than it saves
# (A loop alone, timed call after call, split profitably from fewer: x * y of 65536 float32 8.2
# -> 5.8 us, float64 of 24576 7.2 -> 5.7, each core keeping its half in its own cache. But a
# graph of such loops with reductions between them, (x - mean) / mean of squares - max..., lost
# 15-40% at 30000-120000 values split so, and more with its reductions split too.)
# A graph of one such loop alone (a function of one expression, called again and again) splits
# it from PARALLEL_BYTES read and written (ElementwiseThunk.split_alone): at most 2^17 values.
PARALLEL_BYTES = 1 << 19
PARALLEL_CHUNK = 1 << 16  # elements of a 1-d loop per parallel task
# A loop calling exp, tanh, sin... spends 2-20x longer an element than a + b, so its parallel
# chunks pay from fewer elements, the fewer the costlier an element (tanh over 65536 float32:
# 30.8 us serial, 21 in four chunks; NumPy's SIMD 18.4). An element's cost counts its
# functions in units of a float32 exp (serial over 16384 elements: exp, tanh, sqrt 0.6-0.9 ns;
# sin, log1p, cbrt 1.4-2.7; pow, erf 3.5-6), float64 twice: a cost of 1 splits from 2^15
# elements, 2-3 from 2^14, 4 and more from 2^13, each into two or more chunks (a parallel
# call's launch is ~4.5 us on two cores: exp(x) of 16384 float64 24 -> 18 us; sin(x) of 8192
# float64 27 -> 20; the fused chain's float64 of 8192 58 -> 42).
COSTLY_THRESHOLD = 1 << 15  # (a cost of 1)
_CHEAP = ONE_INSTRUCTION | {"true_div", "reciprocal", "int_div", "mod"}
_COST_2 = {"sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "arccosh", "arctanh", "log", "log1p",
           "cbrt", "softplus", "logaddexp"}
_COST_4 = {"pow", "erf", "gelu", "hypot", "arcsinh"}


def element_cost(composite):
    """What a Composite's transcendental functions cost an element (see COSTLY_THRESHOLD); 0
    for arithmetic alone."""
    cost = 0
    for sop, _, dtype in composite.program:
        if sop.name in _CHEAP or sop.name.startswith("cast_"):
            continue
        cost += (4 if sop.name in _COST_4 else 2 if sop.name in _COST_2 else 1) * (2 if dtype == "float64" else 1)
    return cost


def costly(composite):
    """Whether a Composite calls a transcendental function (see COSTLY_THRESHOLD)."""
    return element_cost(composite) > 0


def prefetches(composite):
    """Whether a streamed loop of this Composite prefetches its inputs (PREFETCH_AHEAD): one whose
    element_cost is PREFETCH_MIN_COST or more, float64's from 2 (its functions cost more than
    their nominal double: half the lanes and longer polynomials)."""
    float64 = composite.program[composite.outputs[0]][2] == "float64"
    return element_cost(composite) >= (2 if float64 else PREFETCH_MIN_COST)


def parallel_threshold(composite):
    cost = element_cost(composite)
    if not cost:
        return PARALLEL_THRESHOLD
    return COSTLY_THRESHOLD >> (0 if cost == 1 else 1 if cost < 4 else 2)


def parallel_chunk(composite):
    """Elements of a 1-d parallel loop per task: half its threshold, so it splits in two or more."""
    return parallel_threshold(composite) // 2 if costly(composite) else PARALLEL_CHUNK


# fastmath is off unless asked for: with it, NaN/Inf handling and summation order may change.
FASTMATH = os.environ.get("SYMGRAPH_FASTMATH", "0").lower() in ("1", "true", "yes")
_memory_cache = {}
_lock = threading.Lock()


def _helpers_digest():
    """A digest of the helper modules kernels call. Numba's disk cache checks only a kernel's
    own file, so a kernel compiled against an older numba_vecmath would be reused after an
    upgrade; naming the digest in every kernel's source changes its cache key instead."""
    digest = hashlib.sha1()
    for module in (numba_vecmath, numba_special, numba_integers, numba_calls, numba_stream, numba_stack, numba_svml,
                   numba_svml_guards, numba_noinline, numba_tasks, numba_blocks, numba_padded):
        with open(module.__file__, "rb") as fh:
            digest.update(fh.read())
    return digest.hexdigest()[:12]


# Kernels call the math functions as numba_calls compiles them; `inlined` is numba_vecmath, whose
# constants and intrinsics the functions written out in a loop's source read (numba_rows'
# blocks: numba_source_inline). A kernel's `@njit(...)` is numba_target.kernel_jit's.
_HEADER = (f"# numba_vecmath {_helpers_digest()}\n"
           "import math\nimport numpy as np\nfrom numba import prange\n"
           "from symgraph.backends.numba_target import kernel_jit as njit\n"
           f"from symgraph.backends.numba_calls import {', '.join(numba_calls.NAMES)}\n"
           f"from symgraph.backends import numba_vecmath as {numba_source_inline.MODULE}\n"
           f"from symgraph.backends.numba_svml import {', '.join(numba_svml.NAMES)}\n"
           "from symgraph.backends.numba_vecmath import fold_add, fold_mul, fold_max, fold_min, fold_max_of_numbers, "
           "fold_min_of_numbers\n"
           f"from symgraph.backends.numba_integers import {', '.join(numba_integers.NAMES)}\n"
           "from symgraph.backends.numba_stream import prefetch, stream_store\n"
           "from symgraph.backends.numba_stack import stack_array\n"
           "from symgraph.backends.numba_padded import padded_rows\n"
           "from symgraph.backends.numba_blocks import transpose_block\n"
           "from symgraph.backends.numba_noinline import not_inlined\n"
           "from symgraph.backends.numba_tasks import in_tasks\n\n")


def _literal(value, dtype):
    if dtype == "bool":
        return "True" if value else "False"
    if np.dtype(dtype).kind == "f":
        value = float(value)
        text = repr(value) if np.isfinite(value) else \
            ("math.nan" if value != value else ("math.inf" if value > 0 else "-math.inf"))
        return f"np.{dtype}({text})"
    return f"np.{dtype}({int(value)})"


def step_source(sop, args, in_dtypes, out_dtype, checked=False, forms=None, invariant=None):
    """One program step as an expression, cast to its dtype so types match NumPy's.
    checked: the range-checked forms (CHECKED_FORMS: sin/cos/tan as sin32/.../tan64, float
    floor division and mod as floor_divide32/...; the caller checks their arguments' range).
    forms: the loop's (loop_forms), VECTOR_FORMS if not given. invariant: the loop's
    invariant values, as numba_integers.integer_step takes them (the lines it leaves there
    go before the loop)."""
    forms = VECTOR_FORMS if forms is None else forms
    # (decided on the step's own dtypes, as the kernel's range checks are: sin of an int32 is
    # not checked, so it must not take the range-limited form once its argument is a float64)
    checked_form = checked and _checked_form(sop, in_dtypes, out_dtype)
    args, in_dtypes = in_result_type(sop, args, in_dtypes, out_dtype)
    if sop.name == "invert" and in_dtypes[0] == "bool":
        expr = f"(not {args[0]})"
    elif sop.name in forms.get(out_dtype, ()) and all(d == out_dtype for d in in_dtypes):
        expr = forms[out_dtype][sop.name].format(*args)  # SIMD-friendly transcendentals
    elif checked_form:
        expr = CHECKED_FORMS[out_dtype][sop.name].format(*args)
    elif sop.name.startswith("cast_"):
        expr = args[0]
    elif (integer := integer_step(sop.name, args, in_dtypes, out_dtype, invariant)) is not None:
        expr = integer  # (NumPy's results at the edges: numba_integers)
    else:
        expr = float32_literals(sop.src.format(*args), in_dtypes, out_dtype)
    caster = "bool" if out_dtype == "bool" else f"np.{out_dtype}"
    return f"{caster}({expr})"


def in_result_type(sop, args, in_dtypes, out_dtype):
    """The step's arguments and their dtypes, those it converts first (ScalarOp.converted_arguments:
    a float step's integer ones) cast to its dtype: numba kept int32 % uint64 (a float64 step) in
    integers, so x % 0 gave 0 where NumPy's is NaN; sigmoid of an unsigned or an integer's
    minimum negated it in its own type; and exp of int16 (float32) went through libm's float64
    exp instead of the vectorized float32 form."""
    converted = sop.converted_arguments(in_dtypes, out_dtype)
    return ([f"np.{out_dtype}({a})" if k in converted else a for k, a in enumerate(args)],
            [out_dtype if k in converted else d for k, d in enumerate(in_dtypes)])


# A float literal of the scalar-op table's source (reciprocal's 1.0, hard_sigmoid's 0.2): numba
# types it float64, so a float32 step computed in double, where NumPy computes in float32 (a
# Python float is a weak scalar). One not already inside np.float32( is typed float32.
_FLOAT_LITERAL = re.compile(r"(?<!np\.float32\()(?<![\w.])(\d+\.\d*(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+)(?![\w.])")


def float32_literals(source, in_dtypes, out_dtype):
    """`source` with its float literals typed float32 where the step's inputs and result are."""
    if out_dtype == "float32" and all(d == "float32" for d in in_dtypes):
        return _FLOAT_LITERAL.sub(r"np.float32(\1)", source)
    return source


# Forms exact only within a range (numba_vecmath), which a kernel checks: sin/cos/tan up to
# |x| <= TRIG_LIMITS, float floor division and mod for quotients below DIVISION_NEAR.
CHECKED_FORMS = {dtype: {**TRIG_FORMS[dtype], **DIVISION_FORMS[dtype]} for dtype in TRIG_FORMS}


def _checked_form(sop, in_dtypes, out_dtype, forms=CHECKED_FORMS):
    """Whether a step has a vectorized, range-checked form (CHECKED_FORMS, or those of `forms`),
    not one exact over every argument (SVML's, in VECTOR_FORMS)."""
    return (all(d == out_dtype for d in in_dtypes) and sop.name in forms.get(out_dtype, ())
            and sop.name not in VECTOR_FORMS[out_dtype])


def _beyond_range(sop, args, dtype):
    """The condition under which a checked form's step is not exact (see CHECKED_FORMS): an
    argument of sin/cos/tan beyond TRIG_LIMITS; for floor division and mod a NaN or infinity, a
    zero or infinite divisor, or a quotient of DIVISION_NEAR or more."""
    if sop.name in TRIG_FORMS[dtype]:
        return f"abs({args[0]}) > np.{dtype}({TRIG_LIMITS[dtype]})"
    a, b = args
    return (f"not (abs({a}) < np.{dtype}({DIVISION_NEAR[dtype]}.0) * abs({b}) "
            f"and abs({b}) < np.{dtype}(math.inf))")


def _steps(composite, loads, temp="t"):
    """(index, scalar op, argument expressions, argument dtypes, dtype) of each program step;
    temp: the prefix of the steps' names (t0, t1...)."""
    dtypes = []
    for j, (sop, refs, dtype) in enumerate(composite.program):
        args, arg_dtypes = [], []
        for ref in refs:
            if ref[0] == "in":
                args.append(loads[ref[1]][0])
                arg_dtypes.append(loads[ref[1]][1])
            elif ref[0] == "tmp":
                args.append(f"{temp}{ref[1]}")
                arg_dtypes.append(dtypes[ref[1]])
            else:
                args.append(_literal(ref[1], ref[2]))
                arg_dtypes.append(ref[2])
        dtypes.append(dtype)
        yield j, sop, args, arg_dtypes, dtype


def program_lines(composite, loads, indent, spell=None, temp="t"):
    """Statements computing every step of a Composite; loads[k] names input k's value.
    spell(sop, args, arg_dtypes, dtype) spells one step: step_source in the loop's forms unless
    given (the CUDA backend passes its own: math.* instead of np.*). temp: as in _steps."""
    spell = spell or functools.partial(step_source, forms=loop_forms(composite))
    return [f"{indent}{temp}{j} = {spell(sop, args, arg_dtypes, dtype)}"
            for j, sop, args, arg_dtypes, dtype in _steps(composite, loads, temp)]


def uses_checked_forms(composite, in_dtypes, dtypes=tuple(CHECKED_FORMS), forms=CHECKED_FORMS):
    """Whether a flat kernel of this Composite uses a range-checked form (of `forms`) of one of
    `dtypes` (and so checks their arguments' range)."""
    loads = [(f"x{i}", d) for i, d in enumerate(in_dtypes)]
    return any(_checked_form(sop, arg_dtypes, dtype, forms) and dtype in dtypes
               for _, sop, _, arg_dtypes, dtype in _steps(composite, loads))


def _urange(lo, hi):
    """A loop range with unsigned indices. Numba wraps negative indices around; in a loop not
    known to start at 0 (a chunk, a block) that check per element stops LLVM from vectorizing
    it (a chunked sum ran 4-5x slower)."""
    return f"range(np.uint64({lo}), np.uint64({hi}))"


# A streamed loop with much to compute on each value (prefetches) asks for its inputs' cache lines
# PREFETCH_AHEAD bytes before it reads them, a block of PREFETCH_BLOCK elements at a time
# (_prefetched_loop): the CPU's own prefetcher left such loops waiting on memory between bouts
# of arithmetic. Measured with benchmarks/prefetch.py and probes like it (old and new kernels
# alternating in one process, 10^7 values, 2 cores of an Intel Emerald Rapids VM) in spells of
# slow memory (x * w + b over float32 in 4.5-5 ms), of fast memory (2.4-2.8 ms) and of slow
# arithmetic (the chain 9-11 ms where it took 6). Where memory was slow every such loop gained:
# float32 exp 1.43-1.45x, sigmoid 1.23-1.45x, the fused chain 1.13-1.19x, exp(x) * log(|w|)
# 1.46-1.49x; float64 exp 1.35-1.58x, sigmoid 1.49-1.58x, x * exp(-w) 1.25-1.41x. Elsewhere
# the cheap float32 loops lost as much (exp 0.71-0.75x: their blocks alone, without prefetches,
# cost 0.82x), so only float32 loops of element cost PREFETCH_MIN_COST or more and float64 ones
# of 2 or more prefetch: those held there (the chain 0.94-1.07x, exp(x) * log(|w|) 0.97-1.21x,
# float64 sigmoid 1.03-1.50x, exp 0.95-1.06x, x * exp(-w) 1.11-1.29x), within this machine's
# noise (one loop timed against itself: 0.80-1.11x). 1024 to 4096 bytes ahead ran alike; blocks
# of 256 (bursts of 16 prefetches an array) cost the chain and float64 loops 7-23%. A block must
# hold whole steps of the vector loop (its lanes times its unrolling, 32 elements at most seen):
# in blocks of 16 a loop of SVML's float32 log never entered its vector loop (3x slower).
PREFETCH_AHEAD, PREFETCH_BLOCK, PREFETCH_MIN_COST = 2048, 64, 3
_OPTIONS = f"cache=True, error_model='numpy', nogil=True, fastmath={FASTMATH}"  # (every generated elementwise loop's)


def _prefetched_loop(lo, hi, body, prefetched):
    """for i in range(lo, hi) in blocks of PREFETCH_BLOCK elements, each block first asking for
    the cache lines PREFETCH_AHEAD bytes ahead of it in every array of `prefetched` ((name,
    itemsize) pairs). The block's end is min(block + PREFETCH_BLOCK, hi), not a constant trip
    count: LLVM unrolls a short loop of a constant count before it vectorizes (blocks of 16
    float32 ran 4-9x slower so)."""
    lines = [f"for block in range(np.uint64({lo}), np.uint64({hi}), np.uint64({PREFETCH_BLOCK})):"]
    for name, itemsize in prefetched:
        ahead, per_line = PREFETCH_AHEAD // itemsize, max(1, STREAM_ALIGN // itemsize)
        lines += [f"    prefetch({name}, block + np.uint64({ahead + k}))"
                  for k in range(0, PREFETCH_BLOCK, per_line)]
    lines.append(f"    for i in range(block, min(block + np.uint64({PREFETCH_BLOCK}), np.uint64({hi}))):")
    return lines + [f"        {line}" for line in body]


def _kernel_lines(arrays, prelude, loops, body, parallel, chunk, found=None, streamed=None, prefetched=(),
                  hoisted=()):
    """The source lines of an elementwise kernel `kernel(arrays)`: `prelude`, then `body` in
    nested loops, loops[d] = (variable, bound) from the outermost; hoisted[d], lines put inside
    loop d before the next loop (what the inner loops do not change). found: a name the prelude
    sets and the body ORs or adds to (range checks); the kernel returns it (in parallel, the
    total over the tasks). streamed: for a parallel 1-d loop without `found`, `body` with its
    one store a stream_store (numba_stream): each task runs it as `streamed(arrays, lo, hi)`
    from its first element on a 64-byte boundary of arrays[0] for whole STREAM_BLOCKs, and
    `part` over the rest; chunk must be a multiple of STREAM_BLOCK.
    prefetched: (array, itemsize) pairs the streamed loop prefetches (_prefetched_loop).

    In parallel, a loop of more dimensions is a prange over its rows (tasks of whole rows, each
    a part of its own as below, ran 0.81-1.17x as fast: tanh(m + r) and exp(m - r) of 1000x1000
    and 100000x10, AMD EPYC). A 1-d loop is split into tasks of at most `chunk` values, as many
    on each thread (_even_tasks), each of which calls `part(arrays, lo, hi)`, a serial function
    looping over range(lo, hi) (unsigned indices: see _urange). Written as one prange over
    chunks with the serial loop inside, LLVM loaded 23 of the fused chain's constants again in
    every iteration (130 vector instructions against the serial loop's 94); in a function of
    its own the loop is the outermost and they stay in registers: the chain over 10^7 float32
    6.2-6.7 -> 5.6-6.0 ms (old and new kernels alternating in one process). The call is
    not_inlined's (numba_noinline), which LLVM keeps a call: a small part (exp alone) it had
    inlined back into the prange's loop. numba's own split of a prange keeps the constants too
    but lost 24% on tanh of 10^7 float64."""
    options, params = _OPTIONS, ", ".join(arrays)

    def loop_nest(first, body=body):
        lines, indent = [], "    "
        for d, (var, bound) in enumerate(loops):
            lines.append(f"{indent}for {var} in {first if d == 0 else f'range({bound})'}:")
            indent += "    "
            lines += [indent + line for line in (hoisted[d] if d < len(hoisted) else ())]
        return lines + [indent + line for line in body]

    closing = [f"    return {found}"] if found else []
    if not parallel or len(loops) > 1:  # (rows: their inner loops start at 0)
        first = f"{'prange' if parallel else 'range'}({loops[0][1]})"
        return [f"@njit(parallel={parallel}, {options})", f"def kernel({params}):"] + prelude + loop_nest(first) + closing
    part = ([f"@njit(parallel=False, {options})", f"def part({params}, lo, hi):"] + prelude
            + loop_nest(_urange("lo", "hi")) + closing)
    kernel = [f"@njit(parallel=True, {options})", f"def kernel({params}):", f"    n = {loops[0][1]}"]
    if streamed is None:  # (tasks of at most `chunk` values, as many on every thread: see _even_tasks)
        kernel += _even_tasks(chunk)
        head, bounds, calls = [], [], [f"not_inlined(part, ({params}, min(n, task * step), min(n, (task + 1) * step)))"]
    else:
        assert chunk % STREAM_BLOCK == 0 and not found
        streamed_loop = (["    " + line for line in _prefetched_loop("lo", "hi", streamed, prefetched)]
                         if prefetched else loop_nest(_urange("lo", "hi"), streamed))
        part += (["", "", f"@njit(parallel=False, {options})", f"def streamed({params}, lo, hi):"] + prelude
                 + streamed_loop + closing)
        out = arrays[0]  # (its elements are aligned to their size, as NumPy's arrays are)
        kernel += [f"    start = min(n, ({STREAM_ALIGN} - {out}.ctypes.data % {STREAM_ALIGN}) % {STREAM_ALIGN}"
                   f" // {out}.itemsize)",
                   f"    tasks = (n - start + {chunk - 1}) // {chunk}"]
        head = [f"part({params}, 0, start)"]
        bounds = [f"lo = start + task * {chunk}", f"hi = min(n, lo + {chunk})",
                  f"mid = lo + (hi - lo) // {STREAM_BLOCK} * {STREAM_BLOCK}"]
        calls = [f"not_inlined(streamed, ({params}, lo, mid))", f"not_inlined(part, ({params}, mid, hi))"]
    if found:  # (a count over the tasks: numba_outline's one reduction)
        kernel += ["    found = 0", "    for task in prange(tasks):", f"        found += {calls[0]}",
                   "    return found"]
    else:
        kernel += [f"    {line}" for line in head] + ["    for task in prange(tasks):"]
        kernel += [f"        {line}" for line in bounds + calls]
    return part + ["", ""] + kernel


TASK_ALIGN = 64  # values: a task's first a multiple of it (its vector loads as the serial loop's)


def _even_tasks(chunk):
    """Lines setting `tasks` and `step` for a 1-d parallel loop over n values: a multiple of the
    threads' count of tasks of at most `chunk` values, `step` each (a multiple of TASK_ALIGN;
    the last ones shorter, or empty). numba gives each thread an equal run of a prange's tasks
    (of their groups, numba_outline.TASKS at most: from more tasks than that, within a group):
    as tasks of `chunk` values each, 150000 values were three, two on one thread (a function's x *
    y of 150000 float32 21-26 -> 13-15 us split evenly, 300000 33 -> 27-32; c * d + 1 of 150000
    float64 41-52 -> 27-35; a graph of six loops and reductions over 150000 float64 193-209 ->
    157-164)."""
    threads = numba.config.NUMBA_NUM_THREADS  # (numba.get_num_threads() in a kernel kept it from the disk cache)
    return [f"    tasks = (n + {threads * chunk - 1}) // {threads * chunk} * {threads}",
            f"    step = ((n + tasks - 1) // tasks + {TASK_ALIGN - 1}) // {TASK_ALIGN} * {TASK_ALIGN}"]


def _flat_source(composite, in_dtypes, scalar_mask, parallel, checked=False, alias=None, stream=False):
    """checked: the range-checked forms (CHECKED_FORMS); the kernel returns whether any of their
    arguments was beyond their range (the caller then runs the kernel without them).
    alias: the input whose buffer out0 is (an in-place update); the loop reads it from out0.
    Given two arrays that overlap, LLVM's runtime overlap check sends the loop down its scalar
    path (an in-place relu gradient ran 2.7x slower); one array read and written at the same
    index needs no check. stream: a parallel loop of one output into a new array writes it
    with non-temporal stores (numba_stream; for outputs larger than the caches)."""
    n_in, outs = len(in_dtypes), composite.outputs
    arrays = [f"out{k}" for k in range(len(outs))] + [f"a{i}" for i in range(n_in)]
    prelude = [f"    x{i} = a{i}[0]" for i in range(n_in) if scalar_mask[i]]
    steps = list(_steps(composite, [(f"x{i}", d) for i, d in enumerate(in_dtypes)]))
    checks = [_beyond_range(sop, args, dtype) for _, sop, args, arg_dtypes, dtype in steps
              if checked and _checked_form(sop, arg_dtypes, dtype)]
    prelude += ["    big = False"] if checks else []
    body = [f"x{i} = {'out0' if i == alias else f'a{i}'}[i]" for i in range(n_in) if not scalar_mask[i]]
    forms = loop_forms(composite)
    invariant = {f"x{i}": None for i in range(n_in) if scalar_mask[i]}  # (a division by one: its plan line)
    body += [f"t{j} = {step_source(sop, args, arg_dtypes, dtype, checked, forms, invariant)}"
             for j, sop, args, arg_dtypes, dtype in steps]
    prelude += [f"    {line}" for line in invariant.values() if line]
    body += [f"big |= {beyond}" for beyond in checks]
    streamed = None
    if stream:
        assert parallel and alias is None and len(outs) == 1
        streamed = body + [f"stream_store(out0, i, t{outs[0]})"]
    body += [f"out{k}[i] = t{o}" for k, o in enumerate(outs)]
    # (the reads of a loop with much to compute on each value, prefetched: see PREFETCH_AHEAD)
    prefetched = [(f"a{i}", np.dtype(d).itemsize) for i, d in enumerate(in_dtypes)
                  if not scalar_mask[i]] if streamed and prefetches(composite) else ()
    lines = _kernel_lines(arrays, prelude, [("i", "out0.shape[0]")], body, parallel, parallel_chunk(composite),
                          "big" if checks else None, streamed, prefetched)
    return "\n".join(lines) + "\n"


def _named_literals(steps):
    """Name the literal arguments of the vector-form helpers in `steps` (rewritten in place)
    and return the lines defining them, to go before a prange over rows. In numba's parallel
    loops a helper given a literal argument ran 2x slower than given the same value named
    outside the loop (pow32(x, 0.7): 10.0 against 5.4 ms over 4M; serial loops, as a 1-d
    kernel's part, do not differ)."""
    named = {}
    for _, sop, args, _, dtype in steps:
        if sop.name in VECTOR_FORMS.get(dtype, ()):
            args[:] = [named.setdefault(a, f"k{len(named)}") if a.startswith("np.") else a for a in args]
    return [f"    {name} = {literal}" for literal, name in named.items()]


def _tile_size(dtypes):
    """A tiled loop's tile: rows of 256 bytes (64 float32, 32 float64). 32x32 float32 tiles ran
    x * y.T 1.2-1.5x slower than 64x64 at 1000x1000 and 2000x2000 (a row of a tile is then two
    cache lines, too short a run for the prefetcher), and 64x64 float64 lost to 32x32 at
    300x2000 and 1000x1000."""
    return 64 if max(np.dtype(d).itemsize for d in dtypes) <= 4 else 32


def _broadcast_source(composite, in_dtypes, ndim, patterns, parallel, alias=None, checked=False, tiled=None, padded=()):
    """Nested loops over the output; input k is indexed by the output's last len(patterns[k])
    indices, with 0 on its axes of length 1 (patterns[k][j] True). Inputs keep their own
    shapes: given broadcast views instead (any stride, even 0), numba could not vectorize the
    inner loop (a conv bias + relu over 16x16x8x8 took 15.8 us), and np.broadcast_to cost
    2.6 us an input. alias: as in _flat_source. checked: as in _range_count_lines. tiled (2-d;
    one flag an input: transposed or not): the loops walk tiles (tiles of rows split between
    cores where parallel), each transposed input's tile copied to the stack first (_tiled_lines).
    padded (not tiled; 2 or more dimensions): the inputs read through padded_rows (_padded_lines).
    A row's values computed into buffers first (_row_parts) take the arguments after the inputs'."""
    assert not padded or (ndim > 1 and not tiled)
    given = len(in_dtypes)
    parts, composite = ([], composite) if tiled else _row_parts(composite, ndim, patterns, alias)
    in_dtypes = tuple(in_dtypes) + tuple(dtype.name for _, dtype in _buffers(parts))
    patterns = tuple(patterns) + tuple(tuple(d not in axes for d in range(ndim)) for axes, _ in _buffers(parts))
    n_in, outs = len(in_dtypes), composite.outputs
    arrays = [f"out{k}" for k in range(len(outs))] + _input_names(n_in, padded)
    steps = list(_steps(composite, [(f"x{i}", d) for i, d in enumerate(in_dtypes)]))
    prelude = _padded_lines(padded) + (_named_literals(steps) if parallel and ndim > 1 else [])
    prelude += ["    nbig = 0"] if checked else []
    out_index = ", ".join(f"i{d}" for d in range(ndim))
    # Each line goes in the loop of the innermost index it reads (level): a column's values,
    # and what is computed from them alone, once a row (loaded in the inner loop, where a store
    # to out may change them for all LLVM knows, they were loaded and exp'd again a vector:
    # (exp(c) * x) of 10000x100 by 10000x1 float32 computed 10^6 exponentials, NumPy's 10^4).
    # A row's values go in buffers, filled before the loops (_row_parts, _part_lines).
    inner = max(ndim - 1, 0)
    levels = [[] for _ in range(ndim)] if ndim else [[]]
    level_of, invariant = {}, {}
    read = {ref[1] for _, refs, _ in composite.program for ref in refs if ref[0] == "in"}
    # (a tiled loop reads and writes through slices of a tile's row: _tiled_lines)
    written = [f"o{k}[j]" if tiled else f"out{k}[{out_index}]" for k in range(len(outs))]
    for i, pattern in enumerate(patterns):
        if i not in read and not all(pattern):  # (0-d ones: the row parts' loops may read them)
            continue
        if i == alias:
            levels[inner].append(f"x{i} = {written[0]}")
            level_of[f"x{i}"] = inner
            continue
        if tiled and not all(pattern):
            levels[inner].append(f"x{i} = r{i}" if pattern[-1] else f"x{i} = r{i}[j]")
            level_of[f"x{i}"] = inner
            continue
        first = ndim - len(pattern)
        index = ", ".join("0" if one else f"i{first + j}" for j, one in enumerate(pattern))
        if all(pattern):  # (a 0-d input, read once before the loops, as _flat_source does)
            prelude.append(f"    x{i} = a{i}[{index}]")
            invariant[f"x{i}"] = None
            continue
        level_of[f"x{i}"] = inner if tiled else max(first + j for j, one in enumerate(pattern) if not one)
        levels[level_of[f"x{i}"]].append(f"x{i} = a{i}[{index}]")
    forms = loop_forms(composite)
    for j, sop, args, arg_dtypes, dtype in steps:
        level_of[f"t{j}"] = max([level_of.get(a, 0) for a in args] or [0])
        levels[level_of[f"t{j}"]].append(f"t{j} = {step_source(sop, args, arg_dtypes, dtype, checked, forms, invariant)}")
    rows = _part_lines(parts, given, ndim, lambda d: f"out0.shape[{d}]", functools.partial(_read_at, ndim, patterns),
                       in_dtypes, checked, invariant)
    prelude += [f"    {line}" for line in invariant.values() if line] + rows
    body = levels[inner]
    body += _range_count_lines(steps, "") if checked else []
    body += [f"{written[k]} = t{o}" for k, o in enumerate(outs)]
    loops = [(f"i{d}", f"out0.shape[{d}]") for d in range(ndim)]
    if tiled:
        body = [line for level in levels[:inner] for line in level] + body
        assert ndim == 2
        tile = _tile_size([*in_dtypes, *(steps[o][4] for o in outs)])
        lines = _tiled_lines(arrays, prelude, body, [i for i, t in enumerate(tiled) if t], _tile_rows(patterns, tiled),
                             len(outs), tile, parallel, "nbig" if checked else None)
    else:
        lines = _kernel_lines(arrays, prelude, loops, body, parallel, parallel_chunk(composite), "nbig" if checked else None,
                              hoisted=levels[:inner])
    return "\n".join(lines) + "\n"


def _row_parts(composite, ndim, patterns, alias):
    """loop_parts.partial_values of a broadcast loop for the values that vary along its inner
    axis but not along some other (a row's: log(s) of x - log(s), s = exp(x).sum(axis=0,
    keepdims=True)), each part's outputs filled into a buffer before the loops, which the rest
    reads as inputs after its own (their caller makes them: row_buffers). The loop levels keep
    a column's values once a row; a row's they cannot: 1000x1000, x - log(row) float64 took
    643 us, x - row 111."""
    inner = ndim - 1
    axes = [frozenset(range(ndim)) if i == alias else
            frozenset(ndim - len(p) + k for k, one in enumerate(p) if not one) for i, p in enumerate(patterns)]
    return partial_values(composite, axes, range(ndim), lambda part_axes: inner in part_axes)


def _reduce_parts(composite, n_axes, broadcast):
    """loop_parts.partial_values of a reduction's loop (broadcast[i]: the axes input i does not
    vary along) for the values that vary along some of its axes but not all (a row's: exp(r) of
    (x * exp(r)).sum(axis=0); a column's), each part's outputs filled into a buffer before the
    loops, which the rest reads as inputs after its own (their caller makes them:
    _WithBuffers). 1000x1000 float64, us: (x * exp(r)).sum(axis=0) took 498, x.sum(axis=0)
    ~50; a column's LLVM moved out of the inner loop where the function was ours (exp), but not
    SVML's (a call): (x * log(c)).sum(axis=0) 1042. (What varies along no axis, of inputs of
    one value, is left: the kernel reads those before the loops, and fusion computes a 0-d
    input's functions in nodes of their own.)"""
    if n_axes < 2:
        return [], composite
    axes = [frozenset(a for a in range(n_axes) if a not in b) for b in broadcast]
    return partial_values(composite, axes, range(n_axes), bool)


def _read_at(ndim, patterns, i):
    """Where a broadcast kernel's part loops read input i (_part_lines): None for a 0-d one."""
    if all(patterns[i]):
        return None
    first = ndim - len(patterns[i])
    return ", ".join("0" if one else f"q{first + k}" for k, one in enumerate(patterns[i]))


def _part_lines(parts, given, n_axes, bound, reads, in_dtypes, checked, invariant):
    """Lines, before a kernel's loops, filling its parts' buffers (loop_parts: inputs given,
    given + 1...; _row_parts, _reduce_parts) in loops over their axes (q{d}, bound(d) long):
    input i read as y{i} at reads(i) (q{d} along its axes; None: one value the kernel read
    before as x{i}), steps named u{j} (the kernel's own names stay its own in a prange). A
    part's range-checked forms are counted as the kernel's."""
    lines, buffer = [], given
    for part, axes in parts:
        indent = "    "
        for d in sorted(axes):
            lines.append(f"{indent}for q{d} in range({bound(d)}):")
            indent += "    "
        names = {}
        for i in sorted({ref[1] for _, refs, _ in part.program for ref in refs if ref[0] == "in"}):
            index = reads(i)
            names[i] = f"x{i}" if index is None else f"y{i}"
            lines += [] if index is None else [f"{indent}y{i} = a{i}[{index}]"]
        loads = [(names.get(i, "unread"), d) for i, d in enumerate(in_dtypes[:given])]
        spell = functools.partial(step_source, checked=checked, forms=loop_forms(part), invariant=invariant)
        lines += program_lines(part, loads, indent, spell, temp="u")
        lines += _range_count_lines(list(_steps(part, loads, "u")), indent) if checked else []
        index = ", ".join(f"q{d}" if d in axes else "0" for d in range(n_axes))
        for o in part.outputs:
            lines.append(f"{indent}a{buffer}[{index}] = u{o}")
            buffer += 1
    return lines


def _buffers(parts):
    """(axes, dtype) of each buffer the parts fill, in the order the kernel takes them after its
    inputs (the caller makes them of the loops' lengths along axes, 1 along the others)."""
    return [(axes, np.dtype(part.program[o][2])) for part, axes in parts for o in part.outputs]


def _tile_rows(patterns, tiled):
    """Lines naming, for a tile's row i0, what the body reads of each input (not a single
    value): r{i}, the slice of its row from lo1 (of its stack tile's row, b{i}, if transposed),
    or the one value of its row if it is a column."""
    rows = []
    for i, (pattern, buffered) in enumerate(zip(patterns, tiled)):
        if buffered:
            rows.append(f"r{i} = b{i}[i0 - lo0]")
        elif len(pattern) == 1 and not pattern[0]:
            rows.append(f"r{i} = a{i}[lo1:hi1]")
        elif len(pattern) == 2 and not pattern[1]:
            rows.append(f"r{i} = a{i}[{'0' if pattern[0] else 'i0'}, lo1:hi1]")
        elif len(pattern) == 2 and not pattern[0]:
            rows.append(f"r{i} = a{i}[i0, 0]")
    return rows


def _tiled_lines(arrays, prelude, body, buffered, rows, n_out, tile, parallel, found=None):
    """A 2-d elementwise kernel over (i0, i1) tile by tile: a C-ordered input beside a
    transposed one (x * y.T) walked row by row read the transposed one a column's stride per
    value, the lines of each column out of cache by the next row (2000x2000 float32 5.5 ms,
    NumPy 13.6); a tile keeps them (numba_blocks._transpose's loop). Each input in `buffered`
    (the body reads it from the stack tile b{i}) is first copied, in its own memory
    order, into a tile on the stack (numba_stack), from which the row loop reads it as the
    others, in order, and vectorizes (read in place, each value was a strided load: x * y.T
    float32 1000x1000 0.90-1.13 -> 0.42-0.57 ms, 2000x2000 5.2 -> 3.8-4.5, interleaved in one
    process). A transposed input's tile is copied in 8x8 blocks transposed in registers
    (numba_blocks), its edges value by value. The body reads and writes slices of each row
    from lo1 (`rows`, _tile_rows; o{k} of out{k}) at j from 0: indexed as a[i0, i1] and
    b[i0 - lo0, i1 - lo1], LLVM's vector loop took twice as long (x * y.T float32 256x256 on
    one core 40 -> 17 us, 1000x1000 0.65 -> 0.36 ms). found: as in _kernel_lines."""
    lines = [f"@njit(parallel={parallel}, {_OPTIONS})", f"def kernel({', '.join(arrays)}):"] + prelude
    lines += ["    n0, n1 = out0.shape[0], out0.shape[1]",
              f"    for tile in {'prange' if parallel else 'range'}((n0 + {tile - 1}) // {tile}):"]
    lines += [f"        b{i} = stack_array({tile}, {tile}, a{i})" for i in buffered]
    lines += [f"        lo0 = tile * {tile}",
              f"        hi0 = min(n0, lo0 + {tile})",
              f"        for lo1 in range(0, n1, {tile}):",
              f"            hi1 = min(n1, lo1 + {tile})"]
    if buffered:
        lines += [f"            whole0 = lo0 + (hi0 - lo0) // {BLOCK} * {BLOCK}",
                  f"            whole1 = lo1 + (hi1 - lo1) // {BLOCK} * {BLOCK}"]
    for i in buffered:
        # (a buffered input is F-ordered (numba_cpu._tiled_reads): its columns are the rows of its
        # transpose, whose whole 8x8 blocks are transposed in registers, the rest value by value)
        lines += [f"            rows{i} = a{i}.T",
                  f"            for j0 in range(lo0, whole0, {BLOCK}):",
                  f"                for j1 in range(lo1, whole1, {BLOCK}):",
                  f"                    transpose_block(rows{i}, j1, j0, b{i}, j0 - lo0, j1 - lo1)",
                  f"            for j1 in {_urange('lo1', 'hi1')}:",
                  f"                for j0 in {_urange('whole0', 'hi0')}:",
                  f"                    b{i}[j0 - lo0, j1 - lo1] = a{i}[j0, j1]",
                  f"            for j1 in {_urange('whole1', 'hi1')}:",
                  f"                for j0 in {_urange('lo0', 'whole0')}:",
                  f"                    b{i}[j0 - lo0, j1 - lo1] = a{i}[j0, j1]"]
    lines += [f"            for i0 in range(lo0, hi0):"]
    lines += [f"                {line}" for line in rows + [f"o{k} = out{k}[i0, lo1:hi1]" for k in range(n_out)]]
    lines += [f"                for j in {_urange(0, 'hi1 - lo1')}:"]
    lines += ["                    " + line for line in body]
    return lines + ([f"    return {found}"] if found else [])


def _range_count_lines(steps, indent):
    """Lines counting, into nbig, the steps of a range-checked form in `steps` whose arguments
    are beyond their range (the broadcast and reduction loops' way of _flat_source's flag: an
    integer sum is a reduction numba's prange keeps per thread); the kernel returns the count,
    and the caller redoes the loop with the exact forms where it is not 0 (_RangeChecked)."""
    return [f"{indent}nbig += np.int64({_beyond_range(sop, args, dtype)})"
            for _, sop, args, arg_dtypes, dtype in steps if _checked_form(sop, arg_dtypes, dtype)]


_INIT = {"sum": "0", "prod": "1", "max": "-np.inf", "min": "np.inf"}
_FLOAT_FOLDS = {"sum": "fold_add", "prod": "fold_mul", "max": "fold_max", "min": "fold_min"}
# A float max or min folded along a loop into one accumulator: LLVM's NaN-propagating maximum
# is six instructions a vector on x86 (the sign and NaN of each operand checked), a chain
# four accumulators deep: 0.17 ns a float64 value of rows of 784, as slow as NumPy's. The fold
# of numbers (one vmaxpd) with whether a NaN went by kept apart (a compare and an or) takes
# 0.10 ns, float32 0.05 (0.11 before). Which of two equal zeros it keeps is unspecified, as in
# NumPy's (which keeps the later).
_FOLDS_OF_NUMBERS = {"max": "fold_max_of_numbers", "min": "fold_min_of_numbers"}
# A float max or min folded into an array, a row at a time (over leading axes: no accumulator's
# chain for the vectorizer to keep), as the elementwise maximum and minimum: a compare, a NaN
# test and a blend (NaN from either side; the later of equal values, as NumPy's) where LLVM's
# maximum orders signed zeros too, six instructions a vector. Side by side, the column max of
# 1000x100 float64 17.0 -> 11.8 us, float32 13.0 -> 9.5, 128x784 float64 20.1 -> 16.3 (NumPy
# 16.4); those that memory bounds (1000x1000 float64, 2000x2000) alike.
_FOLDS_ACROSS = {"max": TABLE["maximum"], "min": TABLE["minimum"]}
_OUTER_BLOCK = 512  # kept elements per parallel task when one kept axis is split, at most:
# a quarter of them where that is fewer (16 a multiple, 64 at least), so that two cores share
# them (512 columns were one block, run by one core: tanh(x).sum(axis=0) of 128x512 float64
# parallel took what the serial loop took)
_OUTER_BLOCK_OF_N0 = f"min({_OUTER_BLOCK}, max(64, ((n0 + 3) // 4 + 15) // 16 * 16))"
_FULL_CHUNKS = 64  # parallel tasks of a full reduction (numba spreads them over its threads)
# A reduction over leading axes splits its rows into up to 8 chunks of 128 rows or more (8
# against 2 on two cores: 500x2000 float32 column max 0.047 against 0.068 ms, 2000x2000 0.29
# against 0.32; chunks from 16 rows lost at 128x1024 and 40x5000, 0.009 -> 0.013 ms, against
# the blocks of columns).
_OUTER_CHUNKS, _CHUNK_ROWS = 8, 128
_SUM_BLOCK = 128  # float32 values added in float32 before the float64 total (as NumPy's pairwise leaves)
# Bytes of a row that LLVM's vector loop folds per step (16 float32 lanes, 4 at a time). A max
# or min along a row not a multiple of it left the rest to a narrower loop and single values,
# each a chain of NaN-checked maxima: rows of 100 float32 took 1.4 ns a value against 0.26 for
# rows of 128 (NumPy 1.1). Folding a value twice changes no max or min, so the rest, from a
# quarter step on, is folded as one more full step ending at the row's end: 0.8 ns. A sum
# adds that step's values before the rest as 0 (exp(x).sum(axis=1) over rows of 100 float32
# 0.40 -> 0.26 ns a value; 128: 0.15; float32 values only).
_WINDOW = 256


def _tracks_nan(kind, acc_dtype):
    """Whether a fold along a loop keeps a NaN flag beside its accumulator (_FOLDS_OF_NUMBERS)."""
    return kind in _FOLDS_OF_NUMBERS and np.dtype(acc_dtype).kind == "f" and acc_dtype != "float16"


def _folded(acc, seen, acc_dtype):
    """The result of a fold with a NaN flag `seen` (None: acc itself)."""
    return f"(np.{acc_dtype}(np.nan) if {seen} else {acc})" if seen else acc


def _init_literal(kind, acc_dtype):
    if kind in ("max", "min") and np.dtype(acc_dtype).kind in "iub":
        if acc_dtype == "bool":
            return "False" if kind == "max" else "True"
        info = np.iinfo(acc_dtype)
        return f"np.{acc_dtype}({info.min if kind == 'max' else info.max})"
    return f"np.{acc_dtype}({_INIT[kind]})"


def _fold_lines(kind, acc, value, acc_dtype, seen=None, across=False):
    """acc <- acc (kind) value. Float folds are intrinsics that let the loop vectorize. seen: a
    bool a float max or min along a loop keeps instead of propagating NaN (see _FOLDS_OF_NUMBERS;
    its result is _folded(...)); across: acc is an array's element, folded once a row (see
    _FOLDS_ACROSS)."""
    if np.dtype(acc_dtype).kind == "f" and acc_dtype != "float16":
        if seen and kind in _FOLDS_OF_NUMBERS:
            return [f"folded = np.{acc_dtype}({value})", f"{acc} = {_FOLDS_OF_NUMBERS[kind]}({acc}, folded)",
                    f"{seen} |= folded != folded"]
        if across and kind in _FOLDS_ACROSS:
            return [f"folded = np.{acc_dtype}({value})", f"{acc} = " + _FOLDS_ACROSS[kind].src.format(acc, "folded")]
        return [f"{acc} = {_FLOAT_FOLDS[kind]}({acc}, np.{acc_dtype}({value}))"]
    if kind == "sum":
        return [f"{acc} += {value}"]
    if kind == "prod":
        return [f"{acc} *= {value}"]
    if acc_dtype == "bool":  # (any and all: an or and an and, which vectorize, not a branch)
        return [f"{acc} = {acc} {'|' if kind == 'max' else '&'} {value}"]
    better = ">" if kind == "max" else "<"
    return [f"if {value} {better} {acc} or {value} != {value}:", f"    {acc} = {value}"]


def reduce_scratch(composite, n_kept, n_reduced, kind, acc_dtype, parallel, outer, out_dtype):
    """Whether the reduction kernel is kernel(out, ext, total, a0, ...): a float32 matrix's
    column sums into float32 `out`, on one core. Blocks of rows are added in float32 in `out`
    itself, their totals in `total`, a float64 array as long as out, which the caller
    allocates; the last pass rounds them into `out`. Against a float64 out converted after
    (astype: 1.2 of a 32x512 sum's 9 us) and a scratch made by np.empty in the kernel (every
    fresh process compiled numba's own np.empty for it: 0.26 s of an MLP step's 2.2 s first
    call). The parallel loop keeps a block's own scratch (one passed in, shared by the blocks,
    took 450-710 us for 2000x1000 instead of 300-325)."""
    return not parallel and _float32_column_sums(composite, n_kept, n_reduced, kind, acc_dtype, outer, out_dtype)


def column_sums_rounded(composite, n_kept, n_reduced, kind, acc_dtype, parallel, outer, out_dtype):
    """Whether the reduction kernel writes a float32 matrix's column sums as float32 on all
    cores: each block of columns (or, with rows enough, the chunks' partial rows at the end)
    rounding its own float64 totals, where out had been float64 and the caller converted it
    (a 1.6 MB float64 out of 2x200000 made afresh at every call: its page faults and the
    conversion took 427 us of the call, NumPy's whole sum 54)."""
    return parallel and _float32_column_sums(composite, n_kept, n_reduced, kind, acc_dtype, outer, out_dtype)


def _float32_column_sums(composite, n_kept, n_reduced, kind, acc_dtype, outer, out_dtype):
    return (outer and n_kept == 1 and n_reduced == 1 and kind == "sum" and acc_dtype == "float64"
            and out_dtype == "float32" and composite.program[composite.outputs[0]][2] == "float32")


def _reduce_source(composite, in_dtypes, n_kept, n_reduced, kind, acc_dtype, parallel, outer=False, order=None,
                   broadcast=None, out_dtype=None, padded=(), checked=False):
    """kernel(out, ext, a0, a1, ...): ext holds the loops' lengths, in the inputs' axis order.
    The loops run over the kept axes, then the reduced ones; order[p] is the inputs' own
    axis that loop p walks (the inputs are not transposed: a C-ordered input stays typed C,
    and its unit-stride loop vectorizes; a transposed view, typed A, left exp(x).sum(axis=1)
    of a 3-d float32 array scalar, at 0.4x NumPy). broadcast[i]: the axes input i has length 1
    along and is read at 0 (it is not expanded by np.broadcast_to: a read-only, stride-0 view
    kept (m - b).max(axis=0) at 0.85x NumPy); an input broadcast along every axis is read
    once, before the loops. inner: one accumulator per output element,
    folded along the reduced axes innermost (for reductions over the axis contiguous in
    memory). outer: the reduced axes outside, the kept axes inside, folding into `out`
    element by element (for reductions over leading axes: memory is walked in order and the
    inner loop vectorizes across outputs, as in NumPy's sum(axis=0)). out holds acc_dtype
    values, except for a float32 matrix's column sums on one core: kernel(out, ext, total,
    a0, ...), out of out_dtype (see reduce_scratch). padded: the inputs read through
    padded_rows (_padded_lines). checked: as in _range_count_lines. A row's values computed
    into buffers first (_reduce_parts) take the arguments after the inputs'."""
    n_axes, given = (len(order) if order is not None else n_kept + n_reduced), len(in_dtypes)
    broadcast = broadcast or ((),) * given
    parts, composite = _reduce_parts(composite, n_axes, broadcast)
    in_dtypes = tuple(in_dtypes) + tuple(dtype.name for _, dtype in _buffers(parts))
    broadcast = tuple(broadcast) + tuple(tuple(a for a in range(n_axes) if a not in axes)
                                         for axes, _ in _buffers(parts))
    read = {ref[1] for _, refs, _ in composite.program for ref in refs if ref[0] == "in"}
    n_in = len(in_dtypes)
    scratch = reduce_scratch(composite, n_kept, n_reduced, kind, acc_dtype, parallel, outer, out_dtype)
    params = ", ".join(["out", "ext"] + ["total"] * scratch + _input_names(n_in, padded))
    lines = [f"@njit(cache=True, parallel={parallel}, error_model='numpy', nogil=True, fastmath={FASTMATH})",
             f"def kernel({params}):"] + _padded_lines(padded)
    kept, reduced = [f"k{d}" for d in range(n_kept)], [f"r{d}" for d in range(n_reduced)]
    order = tuple(order) if order is not None else tuple(range(n_kept + n_reduced))
    by_axis = {axis: name for axis, name in zip(order, kept + reduced)}
    broadcast = broadcast or ((),) * n_in
    idx = [", ".join("0" if axis in broadcast[i] else by_axis[axis] for axis in range(len(order))) or "()"
           for i in range(n_in)]  # (a 0-d input's one value is a0[()])
    single = [len(order) > 0 and len(broadcast[i]) == len(order) for i in range(n_in)]
    lines += [f"    x{i} = a{i}[{idx[i]}]" for i in range(n_in) if single[i]]
    lines += ["    nbig = 0"] if checked else []
    # (a division by one of these: its plan's line, made before the loops as _flat_source's)
    invariant, plans_at = {f"x{i}": None for i in range(n_in) if single[i]}, len(lines)
    loads = [(f"x{i}", d) for i, d in enumerate(in_dtypes)]
    steps = list(_steps(composite, loads))

    def extent(p):  # the length of loop p
        return f"ext[{order[p]}]"
    init, value = _init_literal(kind, acc_dtype), f"t{composite.outputs[0]}"
    seen = "seen" if _tracks_nan(kind, acc_dtype) else None  # (the folds into a scalar acc below)
    indent = "    "

    def loop(var, bound, kind_="range"):
        nonlocal indent
        lines.append(f"{indent}for {var} in {kind_}({bound}):")
        indent += "    "

    def body(acc, dtype=acc_dtype, mask=None, seen=None, across=False, assign=False):
        """The values' loop body; mask: a condition the value is added under (else 0); seen: the
        NaN flag of a max or min, across: acc an array's element (_fold_lines); assign: acc set
        to the value (a fold's first)."""
        lines.extend(f"{indent}x{i} = a{i}[{idx[i]}]" for i in range(n_in) if not single[i] and i in read)
        lines.extend(program_lines(composite, loads, indent,
                                   functools.partial(step_source, checked=checked, forms=loop_forms(composite),
                                                     invariant=invariant)))
        lines.extend(_range_count_lines(steps, indent) if checked else [])
        if assign:
            lines.append(f"{indent}{acc} = {'bool' if dtype == 'bool' else f'np.{dtype}'}({value})")
            return
        masked_value = value if mask is None else f"{value} if {mask} else np.{dtype}(0)"
        lines.extend(indent + line for line in _fold_lines(kind, acc, masked_value, dtype, seen, across))

    def part_reads(i):  # (where the parts' loops read input i: _part_lines)
        return None if single[i] else ", ".join("0" if a in broadcast[i] else f"q{a}" for a in range(n_axes))

    def source():  # (a whole reduction's total comes back too: ReduceThunk's whole call reads it)
        closing = ["    return nbig"] if checked else ["    return out[0]"] if n_kept == 0 and not scratch else []
        rows = _part_lines(parts, given, n_axes, lambda a: f"ext[{a}]", part_reads, in_dtypes, checked, invariant)
        plans = [f"    {line}" for line in invariant.values() if line]
        return "\n".join(lines[:plans_at] + plans + rows + lines[plans_at:] + closing) + "\n"

    # float32 values summed in float64 would make the loop 4 lanes wide instead of 8 (half
    # speed): add blocks in float32 (the vectorizer keeps 32 partial sums of 32 values each),
    # then the blocks in float64. As accurate as NumPy's pairwise sum.
    blocked = kind == "sum" and acc_dtype == "float64" and composite.program[composite.outputs[0]][2] == "float32"

    window = False  # (set below, for the fold along rows)

    def masked_tail(acc, d, dtype, total=None):
        """Where tail_w < main_w, the values past main_w summed into acc as one masked full step
        (the loops before run to end_w: main_w there, else the row's end); given total, acc
        is a float32 block started at 0 and added to total after."""
        nonlocal indent
        lines.append(f"{indent}if tail_w < main_w:")
        indent += "    "
        lines.extend([f"{indent}{acc} = np.float32(0)"] if total else [])
        lines.append(f"{indent}for r{d} in {_urange('tail_w', 'n_w')}:")
        indent += "    "
        body(acc, dtype, mask=f"r{d} >= main_w")
        indent = indent[:-4]
        lines.extend([f"{indent}{total} = fold_add({total}, np.float64({acc}))"] if total else [])
        indent = indent[:-4]

    def fold_reduced_axes(acc, first=None, in_blocks=None, rest_masked=False, seen=None):
        """Loops over the reduced axes folding each value into acc; first: (lo, hi) of axis 0;
        in_blocks: the last axis in float32 blocks (default: `blocked`); rest_masked: the
        row's rest as one masked step (masked_tail); seen: a max or min's NaN flag."""
        nonlocal indent
        in_blocks = blocked if in_blocks is None else in_blocks
        outer_indent = indent
        for d in range(n_reduced):
            lo, hi = first if (d == 0 and first) else ("0", extent(n_kept + d))
            if window and d == n_reduced - 1:  # (see _WINDOW)
                loop(f"r{d}", "main_w")
                body(acc, seen=seen)
                indent = indent[:-4]
                lines.append(f"{indent}for r{d} in {_urange('tail_w', 'n_w')}:")
                indent += "    "
                continue
            # (a 1-d full reduction's chunks split its one axis: no row tail there)
            masked_here = rest_masked and d == n_reduced - 1 and not (d == 0 and first)
            if masked_here and not in_blocks:
                loop(f"r{d}", "end_w")
                body(acc, seen=seen)
                indent = indent[:-4]
                masked_tail(acc, d, acc_dtype)
                indent = outer_indent
                return
            if not (in_blocks and d == n_reduced - 1):
                if lo == "0":
                    loop(f"r{d}", hi)
                else:
                    lines.append(f"{indent}for r{d} in {_urange(lo, hi)}:")
                    indent += "    "
                continue
            end = "end_w" if masked_here else hi
            loop(f"b{d}", f"{lo}, {end}, {_SUM_BLOCK}")
            lines.append(f"{indent}block = np.float32(0)")
            lines.append(f"{indent}for r{d} in {_urange(f'b{d}', f'min(b{d} + {_SUM_BLOCK}, {end})')}:")
            indent += "    "
            body("block", "float32")
            indent = indent[:-4]
            lines.append(f"{indent}{acc} = fold_add({acc}, np.float64(block))")
            if masked_here:
                indent = indent[:-4]
                masked_tail("block", d, "float32", total=acc)
            indent = outer_indent
            return
        body(acc, seen=seen)
        indent = outer_indent

    kept_idx = ", ".join(kept) if n_kept else "0"

    def float32_row_blocks(lo, hi, k, k_range, part, total):
        """Lines folding rows lo..hi of the values, a loop over k (k_range) inside each row,
        in blocks of _SUM_BLOCK rows: each block summed in float32 into `part`, then added into
        `total` (both indexed by k). The vectorizer keeps 16 float32 lanes where float64
        totals would halve them; the blocks keep it as accurate as NumPy's pairwise sum."""
        nonlocal indent
        loop("rb", f"{lo}, {hi}, {_SUM_BLOCK}")
        lines.append(f"{indent}for {k} in {k_range}:")
        lines.append(f"{indent}    {part} = 0")
        lines.append(f"{indent}for r0 in {_urange('rb', f'min(rb + {_SUM_BLOCK}, {hi})')}:")
        lines.append(f"{indent}    for {k} in {k_range}:")
        indent += "        "
        body(part, "float32")
        indent = indent[:-8]
        lines.append(f"{indent}for {k} in {k_range}:")
        lines.append(f"{indent}    {total} += {part}")
        indent = indent[:-4]

    def row_chunks_lines(rounded=False):
        """`if` lines folding the first reduced axis in up to _OUTER_CHUNKS chunks of rows, each
        on a core into a scratch row of its own, the rows folded into out after, where there
        are _CHUNK_ROWS rows a chunk (then each core reads its rows in memory order: blocks of
        columns read a row's block and jumped to the next, and a column max of 2000x2000
        float32 took 0.44-0.50 ms, NumPy 0.54; in chunks 0.32). The scratch rows are a 64-byte
        line apart at least (rows of 100 float32 written by two cores side by side: 0.27 ms for
        10000x100 against 0.064). rounded: out is float32, each column's folded total rounded
        into it (column_sums_rounded)."""
        nonlocal indent
        lines.append(f"{indent}n0 = out.shape[0]")
        lines.append(f"{indent}rows = {extent(1)}")
        lines.append(f"{indent}chunks = min({_OUTER_CHUNKS}, rows // {_CHUNK_ROWS})")
        lines.append(f"{indent}if chunks >= 2:")
        indent += "    "
        lines.append(f"{indent}partial = np.empty((chunks, (n0 + 31) // 16 * 16), np.{acc_dtype})")
        loop("c", "chunks", "prange")
        lines.append(f"{indent}for k0 in range(n0):")
        lines.append(f"{indent}    partial[c, k0] = {init}")
        if blocked and n_reduced == 1:  # (float32 values: blocks of rows summed in float32 first, as the
            # column sums below; with more reduced axes than one, not merged, each value into float64)
            lines.append(f"{indent}part = np.empty(n0, np.float32)")
            lines.append(f"{indent}hi_r = (c + 1) * rows // chunks")
            float32_row_blocks("c * rows // chunks", "hi_r", "k0", "range(n0)", "part[k0]", "partial[c, k0]")
        else:
            lines.append(f"{indent}for r0 in {_urange('c * rows // chunks', '(c + 1) * rows // chunks')}:")
            indent += "    "
            for d in range(1, n_reduced):
                loop(f"r{d}", extent(1 + d))
            loop("k0", "n0")
            body("partial[c, k0]", across=True)
        indent = "        "
        if rounded:  # (the chunks' totals added in the same order, then rounded as a cast rounds)
            lines.append(f"{indent}for k0 in range(n0):")
            lines.append(f"{indent}    column = partial[0, k0]")
            lines.append(f"{indent}    for c in range(1, chunks):")
            lines.append(f"{indent}        column += partial[c, k0]")
            lines.append(f"{indent}    out[k0] = np.float32(column)")
        else:
            lines.append(f"{indent}for k0 in range(n0):")
            lines.append(f"{indent}    out[k0] = partial[0, k0]")
            lines.append(f"{indent}for c in range(1, chunks):")
            lines.append(f"{indent}    for k0 in range(n0):")
            lines.extend(f"{indent}        {line}"
                         for line in _fold_lines(kind, "out[k0]", "partial[c, k0]", acc_dtype, across=True))
        indent = "    "
    if _float32_column_sums(composite, n_kept, n_reduced, kind, acc_dtype, outer, out_dtype):
        # A float32 matrix's column sums, written as float32: each block of rows summed in
        # float32 into part, the blocks' totals in float64, rounded into out at the end (on one
        # core part is out itself, its totals the caller's `total`: reduce_scratch; on all
        # cores each block of columns keeps its own: column_sums_rounded).
        if parallel:  # (chunks of rows where there are enough, else blocks of columns)
            row_chunks_lines(rounded=True)
            lines.append("    else:")
            indent = "        "
            lines.append(f"{indent}block = {_OUTER_BLOCK_OF_N0}")
            loop("b", "(n0 + block - 1) // block", "prange")
            lines.append(f"{indent}lo, hi = b * block, min(n0, (b + 1) * block)")
            lines.append(f"{indent}part = np.empty(hi - lo, np.float32)")
            lines.append(f"{indent}total = np.empty(hi - lo, np.float64)")
            part, at = "part", "k0 - np.uint64(lo)"
        else:
            lines.append(f"{indent}n0 = out.shape[0]")
            # Rows of one block: out's float32 sums are the result (NumPy's own, added row by
            # row), without the float64 total's passes, 2.4x the time of 2x50000's sum.
            lines.append(f"{indent}if {extent(1)} <= {_SUM_BLOCK}:")
            lines.append(f"{indent}    for k0 in range(n0):")
            lines.append(f"{indent}        out[k0] = 0")
            indent += "    "
            loop("r0", extent(1))
            loop("k0", "n0")
            body("out[k0]", "float32")
            indent = indent[:-12]
            lines.append(f"{indent}    return{' nbig' if checked else ''}")
            lines.append(f"{indent}lo, hi = 0, n0")
            part, at = "out", "k0"
        lines.append(f"{indent}for k0 in {_urange('lo', 'hi')}:")
        lines.append(f"{indent}    total[{at}] = 0")
        float32_row_blocks("0", extent(1), "k0", _urange('lo', 'hi'), f"{part}[{at}]", f"total[{at}]")
        lines.append(f"{indent}for k0 in {_urange('lo', 'hi')}:")
        lines.append(f"{indent}    out[k0] = np.float32(total[{at}])")
        return source()
    if outer and blocked and parallel and n_kept == 2 and n_reduced == 1:  # e.g. x.sum(axis=1) of 3-d x
        # As the column sums above, per slice k0: blocks of rows summed in float32 into a row
        # of its own, each block's row added into out's float64 one (added into out value by
        # value, the loop ran 8 float64 lanes: exp(x).sum(axis=1) of 200x100x200 1.30 ms, NumPy 2.3).
        # (tasks of several slices, one part a task: a part made per slice of an upsampling's
        # backward, 28672 slices of 2x28, took 1.6 ms where float64 sums took 0.6)
        lines.append(f"{indent}n0, n1 = out.shape[0], out.shape[1]")
        lines.append(f"{indent}per_task = max(1, n0 // {_FULL_CHUNKS})")
        loop("task", "(n0 + per_task - 1) // per_task", "prange")
        lines.append(f"{indent}part = np.empty(n1, np.float32)")
        lines.append(f"{indent}for k0 in {_urange('task * per_task', 'min(n0, (task + 1) * per_task)')}:")
        indent += "    "
        lines.append(f"{indent}for k1 in range(n1):")
        lines.append(f"{indent}    out[k0, k1] = 0")
        float32_row_blocks("0", extent(2), "k1", "range(n1)", "part[k1]", "out[k0, k1]")
        return source()
    if outer:
        split = parallel and n_kept == 1  # one kept axis: parallel over blocks of it
        first_row_start = not parallel and n_reduced == 1 and kind in ("max", "min")
        if split:
            row_chunks_lines()
            lines.append("    else:")
            indent = "        "
            # Each block folds into a scratch row of its own, copied to out at the end. Folded
            # into out itself, the loop ran no faster on two cores than on one: the column max
            # or min of 1000x1000 took 245-615 us (0.73-1.14x NumPy), float64 column sums 444;
            # through the scratch row 195-340 (1.33-1.49x). (n0: set by row_chunks_lines)
            lines.append(f"{indent}block = {_OUTER_BLOCK_OF_N0}")
            loop("b", "(n0 + block - 1) // block", "prange")
            block_indent = indent
            lines.append(f"{indent}lo, hi = b * block, min(n0, (b + 1) * block)")
            lines.append(f"{indent}part = np.empty(hi - lo, np.{acc_dtype})")
            lines.append(f"{indent}part[:] = {init}")
        elif parallel:
            loop("k0", "out.shape[0]", "prange")
            lines.append(f"{indent}out[k0] = {init}")
        elif first_row_start:
            # The first row is a max's or min's start (any's and all's too: of bools): one pass
            # less than out filled with -inf or inf first (a float32 column max of 2x50000 14.3
            # -> 10.3 us, NumPy 9.3). (Not a sum's: NumPy's column sums start from 0.0, so a
            # column of -0.0 sums to 0.0.)
            lines.append(f"{indent}start = 1 if {extent(n_kept)} else 0")
            lines.append(f"{indent}if start:")
            lines.append(f"{indent}    r0 = 0")
            top, indent = indent, indent + "    "
            for d in range(n_kept):
                loop(f"k{d}", f"out.shape[{d}]")
            body(f"out[{kept_idx}]", assign=True)
            indent = top
            lines.append(f"{indent}else:")
            lines.append(f"{indent}    out[...] = {init}")
        else:
            lines.append(f"{indent}out[...] = {init}")
        for d in range(n_reduced):
            loop(f"r{d}", f"start, {extent(n_kept + d)}" if first_row_start else extent(n_kept + d))
        for d in range(n_kept):
            if split:
                lines.append(f"{indent}for k0 in {_urange('lo', 'hi')}:")
                indent += "    "
            elif not (parallel and d == 0):
                loop(f"k{d}", f"out.shape[{d}]")
        body("part[k0 - np.uint64(lo)]" if split else f"out[{kept_idx}]", across=True)
        if split:
            # (not out[lo:hi] = part: a slice assignment compiles its error message, numba_kernels.copy_into)
            lines.append(f"{block_indent}for k0 in {_urange('lo', 'hi')}:")
            lines.append(f"{block_indent}    out[k0] = part[k0 - np.uint64(lo)]")
        return source()
    if parallel and not n_kept:  # a full reduction: partial folds over chunks of the first axis
        lines.append(f"{indent}n0 = {extent(0)}")
        lines.append(f"{indent}chunks = min(n0, {_FULL_CHUNKS})")
        lines.append(f"{indent}partial = np.empty(chunks, np.{acc_dtype})")
        loop("c", "chunks", "prange")
        lines.append(f"{indent}acc = {init}")
        lines.extend([f"{indent}seen = False"] if seen else [])
        fold_reduced_axes("acc", first=("c * n0 // chunks", "(c + 1) * n0 // chunks"), seen=seen)
        lines.append(f"{indent}partial[c] = {_folded('acc', seen, acc_dtype)}")
        lines.append(f"    acc = {init}")
        lines.append("    for c in range(chunks):")
        lines.extend("        " + line for line in _fold_lines(kind, "acc", "partial[c]", acc_dtype))
        lines.append("    out[0] = acc")
        return source()
    # A max or min along rows in memory: the values past the vector loop's last full step
    # folded as one more full step ending at the row's end (_WINDOW).
    along_rows = n_reduced > 0 and order[-1] == len(order) - 1 and np.dtype(acc_dtype).kind == "f"
    window = along_rows and kind in ("max", "min")
    # (float32 values only, as numba_rows' row sums: float64 ones gained nothing)
    masked = along_rows and kind == "sum" and not checked and composite.program[composite.outputs[0]][2] == "float32"
    if window or masked:
        step = _WINDOW // (4 if masked else np.dtype(acc_dtype).itemsize)
        lines.append(f"{indent}n_w = {extent(len(order) - 1)}")
        lines.append(f"{indent}main_w = n_w - n_w % {step}")
        lines.append(f"{indent}tail_w = n_w - {step} if main_w and n_w % {step} > {step // 4} else main_w")
        if masked:  # (as numba_rows._sum_over_row: a loop to main_w and one to n_w made short rows slower)
            lines.append(f"{indent}end_w = main_w if tail_w < main_w else n_w")

    def loops_and_fold(in_blocks, rest_masked):
        nonlocal indent
        start = indent
        for d in range(n_kept):
            loop(f"k{d}", f"out.shape[{d}]", "prange" if parallel and d == 0 else "range")
        lines.append(f"{indent}acc = {init}")
        lines.extend([f"{indent}seen = False"] if seen else [])
        fold_reduced_axes("acc", in_blocks=in_blocks, rest_masked=rest_masked, seen=seen)
        lines.append(f"{indent}out[{kept_idx}] = {_folded('acc', seen, acc_dtype)}")
        indent = start

    if masked and blocked:
        # Short rows: each value added into the float64 total, the whole nest apart (blocks of
        # one short row cost more than they save: the sums of 200000 rows of 2, an upsampling's
        # backward, 325 -> 145 us, 40000x10 87 -> 42, 20000x30 61 -> 38; from 50 values on the
        # blocks won, and from 10 where the values are costly: exp(x).sum(axis=1) of 20000x30
        # 258 against 349 us, its float64 lanes half as wide; 200000x2 still 717 -> 590).
        short = 8 if costly(composite) else 32
        lines.append(f"{indent}if n_w < {short}:")
        indent += "    "
        loops_and_fold(in_blocks=False, rest_masked=False)
        indent = indent[:-4]
        lines.append(f"{indent}else:")
        indent += "    "
    loops_and_fold(blocked, masked)
    return source()


def _input_names(n_in, padded):
    """A kernel's input parameters: a0, a1, ...; an input read through padded_rows is passed
    as s{i} and its C-typed view named a{i} (_padded_lines)."""
    return [f"s{i}" if i in padded else f"a{i}" for i in range(n_in)]


def _padded_lines(padded):
    """The kernel's first lines: each input in `padded` (numba_padded.has_padded_rows: rows
    apart in memory, typed A) as the C-ordered array of its padded rows, whose loops vectorize.
    (A name of its own: assigned to a{i} itself, numba would unify the two types as A.)"""
    return [f"    a{i} = padded_rows(s{i})" for i in sorted(padded)]


def compile_source(source):
    """Compile the source of a function named `kernel` (in-memory and disk cached); a parallel
    kernel's prange loops run as tasks of serial functions (numba_outline)."""
    return _compile(source)


def _key(source):
    return hashlib.sha1(source.encode()).hexdigest()[:20]


def module_name(source):
    """The module compile_source(source) loads its kernel from (importable once it has)."""
    return f"symgraph_kernel_{_key(source)}"


def is_cached(source):
    """Whether numba's disk cache holds compiled code for this source (from any process)."""
    key = _key(source)
    if key in _memory_cache:
        return True
    folder = _numba_index_folder()
    try:
        return any(name.startswith(f"symgraph_kernel_{key}.kernel-") and name.endswith(".nbi")
                   for name in os.listdir(folder))
    except OSError:
        return False


def _compile(source):
    """Compile kernel source once per process; write it to the cache dir for numba's disk cache."""
    key = _key(source)
    with _lock:
        fn = _memory_cache.get(key)
        if fn is not None:
            return fn
        if "prange(" in source:  # (numba's parfor passes took ~1.1 s a loop to compile)
            source = numba_outline.outline_pranges(source)
            if "in_tasks(" in source:  # (a kernel loaded from the disk cache needs them: numba_tasks)
                numba_tasks.start_threads()
        fn = _CacheTolerant(load_without_refresh(_load_module(key, _HEADER + source).kernel))
        _memory_cache[key] = fn
        return fn


class _CacheTolerant:
    """Calls a kernel; if numba's disk cache entry for it is damaged (truncated, written by
    another version, unpicklable), drops the disk cache for it and compiles afresh."""

    _CACHE_ERRORS = (EOFError, ImportError, pickle.UnpicklingError, OSError, AttributeError, ValueError)

    def __init__(self, dispatcher):
        self.dispatcher = dispatcher

    def __call__(self, *args):
        try:
            return self.dispatcher(*args)
        except self._CACHE_ERRORS:
            from numba.core.caching import NullCache
            self.dispatcher._cache = NullCache()
            return self.dispatcher(*args)


def _kernel_folder():
    return os.path.join(config.cache_dir, "kernels")


def _numba_index_folder():
    """Where numba's disk cache puts the kernels' index files: under NUMBA_CACHE_DIR, where that
    is set, a folder named for the kernel folder's path; else the kernel folder's __pycache__
    (numba's UserProvidedCacheLocator and InTreeCacheLocator). With NUMBA_CACHE_DIR set,
    is_cached had looked in __pycache__ and answered no for every kernel."""
    from numba.core import caching, config as numba_config
    if numba_config.CACHE_DIR:
        subpath = caching._CacheLocator.get_suitable_cache_subpath(os.path.join(_kernel_folder(), "kernel.py"))
        return os.path.join(numba_config.CACHE_DIR, subpath)
    return os.path.join(_kernel_folder(), "__pycache__")


def _load_module(key, text):
    folder = _kernel_folder()
    name = f"symgraph_kernel_{key}"
    try:
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, name + ".py")
        if not _file_holds(path, text):
            tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
            with open(tmp, "w") as fh:
                fh.write(text)
            os.replace(tmp, path)  # atomic: another process never reads half a file
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # numba's disk cache looks the module up by name
        spec.loader.exec_module(module)
        return module
    except (OSError, SyntaxError, ImportError, EOFError, ValueError):
        sys.modules.pop(name, None)
        # An unwritable or damaged cache: compile in memory instead (no disk reuse).
        module = types.ModuleType(name)
        exec(compile(text.replace("cache=True", "cache=False"), f"<symgraph kernel {key}>", "exec"),
             module.__dict__)
        return module


def _file_holds(path, text):
    try:
        with open(path) as fh:
            return fh.read() == text
    except OSError:
        return False


def flat_kernel(composite, in_dtypes, scalar_mask, parallel, alias=None, stream=False):
    """alias: the input out0 overwrites, if any; stream: non-temporal stores (see _flat_source)."""
    if uses_checked_forms(composite, in_dtypes):  # (never in place, nor streamed: the kernel may run twice)
        assert not stream, "a range-checked kernel is not streamed (ElementwiseThunk.may_stream)"
        return _RangeChecked(_compile(_flat_source(composite, in_dtypes, scalar_mask, parallel, checked=True)),
                            _flat_source(composite, in_dtypes, scalar_mask, parallel))
    return _compile(_flat_source(composite, in_dtypes, scalar_mask, parallel, alias=alias, stream=stream))


class _RangeChecked:
    """A kernel with range-checked forms (CHECKED_FORMS: the vectorized sin/cos/tan, float floor
    division and mod); when it reports an argument beyond their range, the kernel with the
    exact forms (libm's, numba's division; compiled then) redoes the whole loop. Its outputs
    never alias its inputs (ElementwiseThunk does not run these in place)."""

    def __init__(self, fast, exact_source):
        self.fast, self.exact_source, self.exact = fast, exact_source, None

    @property
    def dispatcher(self):
        return self

    def __call__(self, *args):
        if self.fast(*args):
            if self.exact is None:
                self.exact = _compile(self.exact_source)
            self.exact(*args)


def broadcast_kernel(composite, in_dtypes, ndim, patterns, parallel, alias=None, tiled=None, padded=()):
    if uses_checked_forms(composite, in_dtypes):  # (never in place, as flat_kernel's)
        kernel = _RangeChecked(_compile(_broadcast_source(composite, in_dtypes, ndim, patterns, parallel, checked=True,
                                                         tiled=tiled, padded=padded)),
                               _broadcast_source(composite, in_dtypes, ndim, patterns, parallel, tiled=tiled,
                                                 padded=padded))
    else:
        kernel = _compile(_broadcast_source(composite, in_dtypes, ndim, patterns, parallel, alias, tiled=tiled,
                                            padded=padded))
    buffers = [] if tiled else row_buffers(composite, ndim, patterns, alias)
    return _WithBuffers(kernel, buffers, _output_shape) if buffers else kernel


def row_buffers(composite, ndim, patterns, alias=None):
    """_buffers of a broadcast kernel's row parts (_row_parts)."""
    return _buffers(_row_parts(composite, ndim, patterns, alias)[0])


class _WithBuffers:
    """A kernel called with its parts' buffers (row_buffers, _reduce_parts), made at each call
    for the loops' lengths (lengths(args): the output's shape, or a reduction's ext). Made in
    the kernel by np.empty, every fresh process loaded numba's allocator for it first: a
    function's first call 8 -> 45 ms with a warm disk cache."""

    def __init__(self, kernel, buffers, lengths):
        self.kernel, self.buffers, self.lengths = kernel, buffers, lengths

    @property
    def dispatcher(self):
        return self

    def __call__(self, *args):
        lengths = self.lengths(args)
        return self.kernel(*args, *[np.empty([n if d in axes else 1 for d, n in enumerate(lengths)], dtype)
                                    for axes, dtype in self.buffers])


def _output_shape(args):
    return args[0].shape


def _extents(args):
    return args[1]


def reduce_kernel(composite, in_dtypes, n_kept, n_reduced, kind, acc_dtype, parallel, outer=False, order=None,
                  broadcast=None, out_dtype=None, padded=()):
    """The reduction loop (_reduce_source); with a range-checked form in it (sin/cos/tan, float
    floor division and mod), the vectorized one, the loop redone with the exact ones where an
    argument is beyond their range (sin(x).sum() of 1000x1000 float32 ran libm's scalar sin:
    0.24x NumPy)."""
    args = composite, in_dtypes, n_kept, n_reduced, kind, acc_dtype, parallel, outer, order, broadcast, out_dtype, padded
    if uses_checked_forms(composite, in_dtypes):  # (every path writes all of out: a rerun redoes it)
        kernel = _RangeChecked(_compile(_reduce_source(*args, checked=True)), _reduce_source(*args))
    else:
        kernel = _compile(_reduce_source(*args))
    n_axes = len(order) if order is not None else n_kept + n_reduced
    buffers = _buffers(_reduce_parts(composite, n_axes, broadcast or ((),) * len(in_dtypes))[0])
    return _WithBuffers(kernel, buffers, _extents) if buffers else kernel
