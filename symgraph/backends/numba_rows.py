"""Softmax, log-softmax, logsumexp and softmax crossentropy along the last axis, as Numba
loops over rows; logsumexp over leading axes down columns (column_kernel).

NumPy makes four passes over the whole array (max, subtract-exp, sum, divide), each writing a
temporary; here a row is read while it sits in cache, the exponentials are the vectorized
ones of numba_vecmath, and the row's max and sum are folds that vectorize. Short rows (a
10-class output) are taken 16 at a time, across the rows. Every kernel computes what the op's
NumPy reference does (shift by the row maximum; NaN and inf propagate the same way); sums
accumulate in float64 (float32 rows: in float32 within 128 elements, then in float64).
"""

from . import numba_vecmath
from .numba_codegen import _WINDOW, compile_source
from .numba_source_inline import inline_source

# Rows shorter than a vector (a 10-class output) give the per-row loops little to vectorize:
# 10 exponentials a row, one at a time, were 26 us of 512x10 float32. Such rows go BLOCK at a
# time through a transposed scratch block, so the max, exp and sum run across BLOCK rows at
# once (9.6 us; 30 columns 53 -> 24 us).
BLOCK = 16  # float32 lanes of a 512-bit vector
SHORT = 32  # rows shorter than this are blocked (measured: per-row loops win from ~40 on)

# Two kernels per kind, one compiled only where its rows come (half the compile each: 2.2 s
# for the gradient's loop with both, 1.4 and 0.9 s apart): rows shorter than SHORT in blocks,
# the last block padded with the last row (its lanes computed and not written), and longer
# rows one at a time. A block's scratch (its rows transposed, then the maximum and the sum of
# each lane) is one array of SHORT + 1 rows on the stack (numba_stack: one per task of the
# parallel loop). Passed in by the caller (LLVM must allow for it overlapping x or out) softmax
# over 512x10 float32 took 21.3-21.9 us against 17.0-18.0, 128x20 12.5-12.9 against 9.7-10.3,
# the loss and its gradient 5-10% longer; made by np.empty, every fresh process compiled
# numba's np.empty for it first, 0.19 s of the MLP step's first call.
_BLOCKED = """@njit(cache=True, parallel={parallel}, error_model='numpy', nogil=True)
def kernel(x, {extra}out):
    n = x.shape[1]
    last = x.shape[0] - 1
    bad = 0
    for blk in {loop}((x.shape[0] + {block} - 1) // {block}):
        r0 = blk * {block}
        buf = stack_array({scratch_rows}, {block}, x)
        mb = buf[n]
        pb = buf[n + 1]
        for l in range({block}):
            mb[l] = -np.inf
            pb[l] = 0
        for j in range(n):
            for l in range({block}):
                v = x[min(r0 + l, last), j]
                buf[j, l] = v
                mb[l] = fold_max(mb[l], v)
{block_shift}        for j in range(n):
            for l in range({block}):
{block_exp}{block_keep}                pb[l] = pb[l] + e
        for l in range(min({block}, x.shape[0] - r0)):
            r = r0 + l
            m = mb[l]
            s = np.float64(pb[l])
{block_finish}    return bad
"""

# A float32 row's values past the last full step of LLVM's vector loop (64 values:
# numba_codegen._WINDOW) went one at a time: logsumexp over rows of 100 took 1.5x as long as
# over rows of 128. From a quarter step on (tail < main), they are one more full step ending
# at the row's end: the maximum folds values twice unchanged, the sum adds 0 for j < main.
# (float64 rows keep their loops: a 32-value step lost 3-7% for rows of 300.)
_BY_ROW = """@njit(cache=True, parallel={parallel}, error_model='numpy', nogil=True)
def kernel(x, {extra}out):
    n = x.shape[1]
{row_steps}    bad = 0
    for r in {loop}(x.shape[0]):
        m = np.{dtype}(-np.inf)
{row_max}{row_shift}{row_sum}{row_finish}    return bad
"""
_STEP = _WINDOW // 4  # float32 values a step of the vector loop folds
_STEPS = f"""    main = n - n % {_STEP}
    tail = n - {_STEP} if main and n % {_STEP} > {_STEP // 4} else main
    end = main if tail < main else n
"""
# The row's maximum by the fold for numbers, a NaN noted apart (numba_codegen._FOLDS_OF_NUMBERS;
# by LLVM's NaN-propagating maximum, side by side: softmax over 1000x100 float32 65 -> 44 us,
# 128x784 35 -> 31, logsumexp over 2000x50 float64 170 -> 130).
_FOLD_MAX = """            v = x[r, j]
            m = fold_max_of_numbers(m, v)
            seen |= v != v
"""
_MAX = "        seen = False\n        for j in range(n):\n" + _FOLD_MAX + """        if seen:
            m = np.{dtype}(np.nan)
"""
_MAX_IN_STEPS = ("        seen = False\n        for j in range(main):\n" + _FOLD_MAX
                 + "        for j in range(np.uint64(tail), np.uint64(n)):\n" + _FOLD_MAX + """        if seen:
            m = np.{dtype}(np.nan)
""")


def _sum_over_row(lines, value, dtype):
    """Loop lines summing `value` (computed by `lines`, per j) over the row into float64 s.
    float32 values are added in blocks of 128 in float32 (8 lanes; converting each to float64
    would halve the vector width), the blocks in float64, up to `end`, and where tail < main
    the values from main on as _BY_ROW's last step. (Where the rest stays as it was the blocks
    run to n: a loop to main and one on to n made rows of 40 1.27x slower.)"""
    def body(pad):
        return "".join(pad + line + "\n" for line in lines)
    if dtype != "float32":
        return ("        s = np.float64(0)\n        for j in range(n):\n" + body(" " * 12)
                + f"            s = fold_add(s, np.float64({value}))\n")
    return ("        s = np.float64(0)\n        for b in range(0, end, 128):\n"
            "            part = np.float32(0)\n"
            "            for j in range(np.uint64(b), np.uint64(min(b + 128, end))):\n" + body(" " * 16)
            + f"                part = fold_add(part, {value})\n            s += np.float64(part)\n"
            "        if tail < main:\n            part = np.float32(0)\n"
            "            for j in range(np.uint64(tail), np.uint64(n)):\n" + body(" " * 16)
            + f"                part = fold_add(part, {value} if j >= main else np.float32(0))\n"
            "            s += np.float64(part)\n")


# A row's integer target k: a negative one counts from the end (NumPy's indexing); one out of
# range is counted and the caller raises (checking here saves two passes over the targets).
_TARGET = """        k = t[r]
        if k < 0:
            k += n
        if k < 0 or k >= n:
            bad += 1
            k = 0
"""

# What each kind does with a row's maximum m and its sum of exponentials s (float64), as
# lines inside the loop over rows; {e} is the row's exponential at j, where softmax keeps it.
_LOSS = """        out[r] = -((x[r, k] - m) - np.{dtype}(np.log(s)))
"""
# The gradient of crossentropy_int: (softmax - one_hot(target)) * g, a row at a time.
_GRADIENT = """        total = np.{dtype}(s)
        gr = g[r]
        for j in range(n):
            out[r, j] = ({e} / total - (np.{dtype}(1) if j == k else np.{dtype}(0))) * gr
"""
_DENSE_LOSS = """        log_total = np.{dtype}(np.log(s))
        acc = np.float64(0)
        for j in range(n):
            acc = fold_add(acc, np.float64(t[r, j] * ((x[r, j] - m) - log_total)))
        out[r] = -np.{dtype}(acc)
"""
# The gradient of crossentropy_dense: (softmax * sum(t) - t) * g (a row's targets summed one
# after another: a one-hot row's sum is exact; probabilities may differ from NumPy's pairwise
# sum in the last bit).
_DENSE_GRADIENT = """        total = np.{dtype}(s)
        targets = np.{dtype}(0)
        for j in range(n):
            targets += t[r, j]
        gr = g[r]
        for j in range(n):
            out[r, j] = ({e} / total * targets - t[r, j]) * gr
"""
_FINISH = {
    "softmax": """        total = np.{dtype}(s)
        for j in range(n):
            out[r, j] = {e} / total
""",
    "log_softmax": """        log_total = np.{dtype}(np.log(s))
        for j in range(n):
            out[r, j] = (x[r, j] - m) - log_total
""",
    "logsumexp": """        out[r] = np.{dtype}(np.log(s)) + m
""",
}


def _crossentropies():
    """Each crossentropy three ways: the loss (kernel(x, t, out)), its gradient (kernel(x, t, g,
    out)) and both at once for CrossentropySoftmaxWithGrad (kernel(x, t, g, loss, out))."""
    finishes = {}
    for targets, (read, loss, gradient) in {"int": (_TARGET, _LOSS, _GRADIENT),
                                            "dense": ("", _DENSE_LOSS, _DENSE_GRADIENT)}.items():
        finishes[f"crossentropy_{targets}"] = read + loss
        finishes[f"crossentropy_{targets}_grad"] = read + gradient
        finishes[f"crossentropy_{targets}_with_grad"] = read + loss.replace("out[r]", "loss[r]") + gradient
    return finishes


_FINISH.update(_crossentropies())


def crossentropy_kind(node):
    """The row kernel kind of a CrossentropySoftmax, CrossentropySoftmaxGrad or
    CrossentropySoftmaxWithGrad node: integer or dense targets, loss, gradient or both."""
    targets = "int" if node.inputs[1].dtype[0] in "iu" else "dense"
    if len(node.inputs) == 2:  # (x, t): the loss
        return f"crossentropy_{targets}"
    return f"crossentropy_{targets}" + ("_grad" if len(node.outputs) == 1 else "_with_grad")


def _arguments(kind):
    """The kernel's arguments between x and out."""
    if kind.endswith("_with_grad"):
        return "t, g, loss, "
    return "t, g, " if kind.endswith("_grad") else "t, " if kind.startswith("crossentropy") else ""


# As LogSumExp.perform: an infinite or NaN maximum shifts by 0 instead (per row; per lane of a block).
_ROW_SHIFT = "        if not (m > -np.inf and m < np.inf):\n            m = np.{dtype}(0)\n"
_BLOCK_SHIFT = ("        for l in range({block}):\n"
                "            if not (mb[l] > -np.inf and mb[l] < np.inf):\n"
                "                mb[l] = np.{dtype}(0)\n")


def blocked(n):
    """Whether rows of length n take the blocked kernel."""
    return n < SHORT


def row_kernel(kind, dtype, parallel, short):
    """kernel(x, out) for softmax/log_softmax (out like x) and logsumexp (out one per row);
    kernel(x, t, out) for the crossentropies (t: integer row targets, or dense rows);
    kernel(x, t, g, out) for crossentropy_int_grad and crossentropy_dense_grad (g: one value
    per row, out like x) and kernel(x, t, g, loss, out) for their _with_grad forms (loss: one
    per row), for rows
    shorter than SHORT (`short`, see blocked) or not. Returns how many integer targets were out
    of range (their rows are not meaningful)."""
    return compile_source(row_source(kind, dtype, parallel, short))


def row_source(kind, dtype, parallel, short):
    """The source of row_kernel's function."""
    fields = dict(parallel=parallel, loop="prange" if parallel else "range", dtype=dtype, block=BLOCK,
                  exp={"float32": "exp32", "float64": "exp64"}[dtype],
                  extra=_arguments(kind))

    def fill(text, **more):
        return text.format(**fields, **more)
    softmax, finish = kind == "softmax" or kind.endswith("_grad"), _FINISH[kind]  # (keep each exponential)
    if short:
        # A block's exp is written out in the loop (numba_source_inline), not called: LLVM
        # unrolls the 16-lane loop before it inlines a call, and 16 calls stay scalar (numba_calls).
        lines, e = inline_source(getattr(numba_vecmath, fields["exp"]), ["buf[j, l] - mb[l]"], "exp")
        return _BLOCKED.format(
            **fields, scratch_rows=SHORT + 1, block_exp="".join(" " * 16 + line + "\n" for line in lines + [f"e = {e}"]),
            block_shift=fill(_BLOCK_SHIFT) if kind == "logsumexp" else "",
            block_keep="                buf[j, l] = e\n" if softmax else "",
            block_finish="".join("    " + line + "\n" for line in fill(finish, e="buf[j, l]").splitlines()))
    row_sum = (_sum_over_row(["e = {exp}(x[r, j] - m)", "out[r, j] = e"], "e", dtype) if softmax
               else _sum_over_row([], "{exp}(x[r, j] - m)", dtype))
    steps = dtype == "float32"
    return _BY_ROW.format(**fields, row_steps=_STEPS if steps else "", row_max=fill(_MAX_IN_STEPS if steps else _MAX),
                          row_shift=fill(_ROW_SHIFT) if kind == "logsumexp" else "",
                          row_sum=fill(row_sum), row_finish=fill(finish, e="out[r, j]"))


# logsumexp over the leading axes of a C-ordered array seen as (rows, n), the rows read in
# order: each of `parts` row ranges (one a core) folds its columns' maxima into a row of
# `peaks`, the maxima are combined, then each range sums its columns' exponentials into a row
# of `sums` (float64, as the row kernels' totals). A NaN left out of a maximum changes nothing:
# the reference shifts by 0 for a NaN maximum, and the column's sum is NaN either way. (Moved
# last, the axes cost a transposed copy of x first: 2000x2000 float32 along axis 0 3.2 ms, 1.3
# this way, 0.74 along axis 1.)
_COLUMNS = """@njit(cache=True, parallel={parallel}, error_model='numpy', nogil=True)
def kernel(x, peaks, sums, out):
    rows, n = x.shape
    parts = peaks.shape[0]
    for p in {loop}(parts):
        m = peaks[p]
        for j in range(n):
            m[j] = -np.inf
        for i in range(p * rows // parts, (p + 1) * rows // parts):
            for j in range(n):
                v = x[i, j]
                mj = m[j]
                m[j] = v if v > mj else mj
    m = peaks[0]
    for p in range(1, parts):
        for j in range(n):
            v = peaks[p, j]
            mj = m[j]
            m[j] = v if v > mj else mj
    for j in range(n):
        if not (m[j] > -np.inf and m[j] < np.inf):
            m[j] = 0
    for p in {loop}(parts):
        s = sums[p]
        for j in range(n):
            s[j] = 0
        for i in range(p * rows // parts, (p + 1) * rows // parts):
            for j in range(n):
                s[j] += np.float64({exp}(x[i, j] - m[j]))
    for j in range(n):
        total = sums[0, j]
        for p in range(1, parts):
            total += sums[p, j]
        out[j] = np.{dtype}(np.log(total)) + m[j]
"""


def column_kernel(dtype, parallel):
    """kernel(x, peaks, sums, out): out[j] = logsumexp(x[:, j]) for a C-ordered 2-d x, as
    LogSumExp.perform computes it (a column's maximum shifted to 0 where it is not finite);
    peaks (parts, n) of x's dtype and sums (parts, n) of float64 are scratch, one row for each
    of `parts` row ranges (the cores' where parallel)."""
    return compile_source(_COLUMNS.format(parallel=parallel, loop="prange" if parallel else "range", dtype=dtype,
                                          exp={"float32": "exp32", "float64": "exp64"}[dtype]))
