"""Softmax, log-softmax, logsumexp and softmax crossentropy along the last axis, as Numba
loops over rows.

NumPy makes four passes over the whole array (max, subtract-exp, sum, divide), each writing a
temporary; here a row is read while it sits in cache, the exponentials are the vectorized
ones of numba_vecmath, and the row's max and sum are folds that
vectorize. Every kernel computes exactly what the op's NumPy reference does (shift by the row
maximum; NaN and inf propagate the same way); sums accumulate in float64.
"""
from .numba_codegen import compile_source

_HEAD = """@njit(cache=True, parallel={parallel}, error_model='numpy', nogil=True)
def kernel(x, {extra}out):
    n = x.shape[1]
    bad = 0
    for r in {loop}(x.shape[0]):
        m = np.{dtype}(-np.inf)
        for j in range(n):
            m = fold_max(m, x[r, j])
"""


def _sum_over_row(lines, value, dtype):
    """Loop lines summing `value` (computed by `lines`, per j) over the row into float64 s.
    float32 values are added in blocks of 128 in float32 (8 lanes; converting each to float64
    would halve the vector width), the blocks in float64."""
    def body(pad):
        return "".join(pad + line + "\n" for line in lines)
    if dtype != "float32":
        return ("        s = np.float64(0)\n        for j in range(n):\n" + body(" " * 12)
                + f"            s = fold_add(s, np.float64({value}))\n")
    return ("        s = np.float64(0)\n        for b in range(0, n, 128):\n"
            "            part = np.float32(0)\n"
            "            for j in range(np.uint64(b), np.uint64(min(b + 128, n))):\n" + body(" " * 16)
            + f"                part = fold_add(part, {value})\n            s += np.float64(part)\n")


def _bodies(dtype):
    sum_exp = _sum_over_row([], "{exp}(x[r, j] - m)", dtype)
    return {
        "softmax": _sum_over_row(["e = {exp}(x[r, j] - m)", "out[r, j] = e"], "e", dtype) + """        total = np.{dtype}(s)
        for j in range(n):
            out[r, j] = out[r, j] / total
""",
        "log_softmax": sum_exp + """        log_total = np.{dtype}(np.log(s))
        for j in range(n):
            out[r, j] = (x[r, j] - m) - log_total
""",
        # As LogSumExp.perform: an infinite or NaN maximum shifts by 0 instead.
        "logsumexp": """        if not (m > -np.inf and m < np.inf):
            m = np.{dtype}(0)
""" + sum_exp + """        out[r] = np.{dtype}(np.log(s)) + m
""",
        # A negative target counts from the end (NumPy's indexing); one out of range is
        # counted and the caller raises (checking here saves two passes over the targets).
        "crossentropy_int": sum_exp + """        k = t[r]
        if k < 0:
            k += n
        if k < 0 or k >= n:
            bad += 1
            k = 0
        out[r] = -((x[r, k] - m) - np.{dtype}(np.log(s)))
""",
        "crossentropy_dense": sum_exp + """        log_total = np.{dtype}(np.log(s))
        acc = np.float64(0)
        for j in range(n):
            acc = fold_add(acc, np.float64(t[r, j] * ((x[r, j] - m) - log_total)))
        out[r] = -np.{dtype}(acc)
""",
    }


def row_kernel(kind, dtype, parallel):
    """kernel(x, out) for softmax/log_softmax (out like x) and logsumexp (out one per row);
    kernel(x, t, out) for the crossentropies (t: integer row targets, or dense rows). Returns
    how many integer targets were out of range (their rows are not meaningful)."""
    return compile_source(row_source(kind, dtype, parallel))


def row_source(kind, dtype, parallel, name="kernel"):
    """The source of row_kernel's function, named `name` (numba_program inlines it)."""
    exp = {"float32": "exp32", "float64": "exp64"}[dtype]
    extra = "t, " if kind.startswith("crossentropy") else ""
    source = (_HEAD + _bodies(dtype)[kind] + "    return bad\n").format(
        parallel=parallel, loop="prange" if parallel else "range", dtype=dtype, exp=exp, extra=extra)
    return source.replace("def kernel(", f"def {name}(", 1)
