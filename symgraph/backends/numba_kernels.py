"""Hand-written Numba kernels for ops that are loops by nature: pooling, im2col/col2im,
gathers, scatter-add, cumsum, linear recurrences, argmax, strided copies (transposed ones:
numba_blocks).
(Elementwise loops are generated from the scalar-op table in numba_codegen.py.)"""
from . import numba_target  # (sets numba's vector width before any @njit)
import types

import numpy as np
from numba import njit, prange


def serial_and_parallel(loop, **flags):
    """Two dispatchers of one prange loop: serial, and parallel on all cores. Each compiles a
    copy of `loop` under its own name, because numba's disk cache keys a function by its
    module, name, line and bytecode, not by njit's flags: two dispatchers of one function
    loaded each other's machine code, and the parallel transpose ran on one core (8 ms for
    2000x2000 float32 against 4.7 compiled afresh). Both load from the cache without numba's
    registry refresh (numba_target.load_without_refresh), wherever their module is."""
    def named(suffix):
        copy = types.FunctionType(loop.__code__, loop.__globals__, loop.__name__ + suffix,
                                  loop.__defaults__, loop.__closure__)
        copy.__qualname__, copy.__doc__ = loop.__qualname__ + suffix, loop.__doc__
        return copy
    return (numba_target.load_without_refresh(njit(cache=True, nogil=True, **flags)(named("_serial"))),
            numba_target.load_without_refresh(njit(cache=True, nogil=True, parallel=True, **flags)(named("_parallel"))))


@njit(cache=True, nogil=True)
def copy_into(target, source):
    """target[...] = source (cast to target's dtype), target C-ordered, source of its shape in any
    layout: numba_scan's loops' writes of a step's arrays. numba's own slice assignment of an
    array compiles its shape-mismatch message (string formatting): an RNN's loop's first
    compile in a process took 3.5 s more for it."""
    if source.shape != target.shape:
        raise ValueError("copy_into: the source's shape is not the target's")
    flat, values = target.reshape(-1), np.ascontiguousarray(source).reshape(-1)
    for i in range(flat.shape[0]):
        flat[i] = values[i]


@njit(cache=True, nogil=True)
def scatter_add_rows(out, idx, rows):
    """out[idx[r], :] += rows[r, :] of 2-d out for every r (repeated indices accumulate;
    negative ones count from the end; a `rows` of one row is added at every index), after
    checking every index: returns -1 having written, or the first r whose index is out of
    range, having written nothing."""
    n = out.shape[0]
    for r in range(idx.shape[0]):
        if idx[r] < -n or idx[r] >= n:
            return r
    one = rows.shape[0] == 1
    for r in range(idx.shape[0]):
        target = idx[r] + n if idx[r] < 0 else idx[r]
        source = 0 if one else r
        for c in range(out.shape[1]):
            out[target, c] += rows[source, c]
    return -1


@njit(cache=True, nogil=True)
def add_runs(flat, starts, values):
    """flat[starts[r]:starts[r] + n] += values[r] for each row r of C-ordered (runs, n) values:
    an increment of a strided region whose rows are contiguous (x[:, 1:] += y), each run a
    contiguous 1-d view, so the loop vectorizes (a 2-d view's own loop did not, nor did
    NumPy's: 1000x999 float32 into a 1000x1000 array 104 us, NumPy's += 330-410)."""
    n = values.shape[1]
    for r in range(starts.shape[0]):
        start = starts[r]
        into = flat[start:start + n]
        row = values[r]
        for j in range(n):
            into[j] += row[j]


@njit(cache=True, nogil=True)
def scatter_add_pairs(out, rows, cols, values):
    """out[rows[p], cols[p]] += values[p] for every pair p of 2-d out (values of length one
    broadcast; repeated pairs accumulate; negative indices count from the end), after checking
    every index: returns (-1, 0) having written, or (p, axis) for the first pair out of range
    on that axis, having written nothing."""
    n, k = out.shape
    for p in range(rows.shape[0]):
        i, j = rows[p], cols[p]
        if i < -n or i >= n:
            return p, 0
        if j < -k or j >= k:
            return p, 1
    one = values.shape[0] == 1
    for p in range(rows.shape[0]):
        i, j = rows[p], cols[p]
        out[i + n if i < 0 else i, j + k if j < 0 else j] += values[0 if one else p]
    return -1, 0


def _gather_rows(x, idx, out):
    """out[r] = x[idx[r]] for rows of C-ordered (n, k) x, negative indices counted from the
    end; returns how many indices are out of range (their rows are left unwritten)."""
    n = x.shape[0]
    bad = 0
    for r in prange(idx.shape[0]):
        i = idx[r]
        i = i + n if i < 0 else i
        if i < 0 or i >= n:
            bad += 1
        else:
            for c in range(x.shape[1]):
                out[r, c] = x[i, c]
    return bad


gather_rows_serial, gather_rows_parallel = serial_and_parallel(_gather_rows)


def _gather_values(x, idx, out):
    """out[r] = x[idx[r]] for 1-d x (_gather_rows for rows of one value: its inner loop of
    one step made 10^5 picks from 10^6 float32 1.4x slower than NumPy's x[idx], this loop
    1.4x faster on one core); returns how many indices are out of range. (The index check is
    _gather_rows' written out again: through a shared inlined helper, 1.4-3.5x slower.)"""
    n = x.shape[0]
    bad = 0
    for r in prange(idx.shape[0]):
        i = idx[r]
        i = i + n if i < 0 else i
        if i < 0 or i >= n:
            bad += 1
        else:
            out[r] = x[i]
    return bad


gather_values_serial, gather_values_parallel = serial_and_parallel(_gather_values)


def _gather_pairs(x, rows, cols, out):
    """out[p] = x[rows[p], cols[p]] for 2-d x (Theano's log(p)[arange(n), y]), negative indices
    counted from the end; returns how many pairs are out of range (left unwritten)."""
    n, k = x.shape
    bad = 0
    for p in prange(rows.shape[0]):
        i, j = rows[p], cols[p]
        i = i + n if i < 0 else i
        j = j + k if j < 0 else j
        if i < 0 or i >= n or j < 0 or j >= k:
            bad += 1
        else:
            out[p] = x[i, j]
    return bad


gather_pairs_serial, gather_pairs_parallel = serial_and_parallel(_gather_pairs)


def _gather_columns(x, idx, out):
    """out[:, c] = x[:, idx[c]] for C-ordered (n, k) x, negative indices counted from the end,
    a row at a time (NumPy's x[:, idx] took 0.64 ms for 500 of 1000 columns of 1000 float32 rows,
    this 0.18 on two cores); returns how many indices are out of range, having written nothing."""
    k = x.shape[1]
    bad = 0
    for c in range(idx.shape[0]):
        if idx[c] < -k or idx[c] >= k:
            bad += 1
    if bad:
        return bad
    for r in prange(x.shape[0]):
        row, to = x[r], out[r]
        for c in range(idx.shape[0]):
            j = idx[c]
            to[c] = row[j + k if j < 0 else j]
    return 0


gather_columns_serial, gather_columns_parallel = serial_and_parallel(_gather_columns)


COPY_CHUNK = 1 << 15  # values of an input per parallel task of copy_into_columns
SHORT_ROW = 16  # rows of fewer values go by _copy_short_rows


def copy_into_columns(src, rows, dst, width, offset):
    """dst, C-ordered (rows, width) as a flat array, gets src, C-ordered (rows, k) as a flat
    array, in its columns offset..offset+k: one input of a concatenation, on all cores."""
    if src.shape[0] < rows * SHORT_ROW:
        _copy_short_rows(src, rows, dst, width, offset)
    else:
        _copy_runs(src, rows, dst, width, offset)


@njit(cache=True, nogil=True, parallel=True)
def _copy_short_rows(src, rows, dst, width, offset):
    """copy_into_columns for rows of under SHORT_ROW values (a stack of vectors along axis 1:
    rows of one), in tasks of whole rows, indexed by unsigned integers (no negative-index
    check), rows of one without an inner loop. Four vectors of 10^5 float32 into (10^5, 4):
    1.54-1.61 ms by _copy_runs' slices, whose setup a run of one value pays, 0.30 here
    (NumPy's concatenate 0.27, its float64 0.68 against 0.43); rows of 3 0.66 -> 0.33."""
    k = src.shape[0] // rows
    per = max(1, COPY_CHUNK // k)
    for task in prange((rows + per - 1) // per):
        first = np.uint64(task * per)
        last = np.uint64(min(rows, task * per + per))
        if k == 1:
            for r in range(first, last):
                dst[r * np.uint64(width) + np.uint64(offset)] = src[r]
        else:
            for r in range(first, last):
                to = r * np.uint64(width) + np.uint64(offset)
                at = r * np.uint64(k)
                for c in range(np.uint64(k)):
                    dst[to + c] = src[at + c]


@njit(cache=True, nogil=True, parallel=True)
def _copy_runs(src, rows, dst, width, offset):
    """copy_into_columns in chunks of COPY_CHUNK values, each chunk a row's run at a time
    (one long row splits between cores too). (Each run is copied through slices: indexing dst
    at r * width + c directly kept numba's negative-index check in the loop, which then did
    not vectorize: 7x slower.)"""
    n = src.shape[0]
    k = n // rows
    for task in prange((n + COPY_CHUNK - 1) // COPY_CHUNK):
        i = task * COPY_CHUNK
        stop = min(n, i + COPY_CHUNK)
        r = i // k
        c = i - r * k
        while i < stop:
            run = min(k - c, stop - i)
            to = dst[r * width + offset + c:r * width + offset + c + run]
            part = src[i:i + run]
            for j in range(run):
                to[j] = part[j]
            i += run
            r += 1
            c = 0


def _repeat_values(x, times, out):
    """out = np.repeat(x, times) for 1-d x, in tasks of COPY_CHUNK / 2 values of x. Counts of
    2, 3 and 4 (an upsampling's) are written out, so that LLVM vectorizes the interleaved
    stores: 10^5 float32 twice 15.8 us on one core, where the loop over the count took 89
    (NumPy's repeat 89)."""
    n = x.shape[0]
    chunk = COPY_CHUNK // 2
    for task in prange((n + chunk - 1) // chunk):
        lo = task * chunk
        hi = min(n, lo + chunk)
        src = x[lo:hi]
        to = out[lo * times:hi * times]
        if times == 2:
            for i in range(hi - lo):
                to[2 * i] = to[2 * i + 1] = src[i]
        elif times == 3:
            for i in range(hi - lo):
                to[3 * i] = to[3 * i + 1] = to[3 * i + 2] = src[i]
        elif times == 4:
            for i in range(hi - lo):
                to[4 * i] = to[4 * i + 1] = to[4 * i + 2] = to[4 * i + 3] = src[i]
        else:
            for i in range(hi - lo):
                value = src[i]
                for j in range(times):
                    to[i * times + j] = value


repeat_values_serial, repeat_values_parallel = serial_and_parallel(_repeat_values)


@njit(cache=True, nogil=True, parallel=True)
def repeat_rows_parallel(x, k, times, out):
    """out = each row of k > 1 values of flat C-ordered x, `times` times over in a row, into
    flat out: np.repeat along an axis whose following axes hold k values, and np.tile along
    one axis (x one row then). On all cores, in tasks of about COPY_CHUNK values: whole rows
    where there are 64 or more (a task of copies costs more a copy), else copies of a row (a
    task a row left a tile's single row to one core). Short rows are NumPy's faster: see
    numba_cpu.REPEAT_SHORT_ROW."""
    m = x.shape[0] // k
    if m >= 64:
        rows = max(1, COPY_CHUNK // (times * k))
        for task in prange((m + rows - 1) // rows):
            for i in range(task * rows, min(m, (task + 1) * rows)):
                _repeat_row(x[i * k:(i + 1) * k], times, out[i * times * k:(i + 1) * times * k])
    else:
        copies = m * times
        per_task = max(1, COPY_CHUNK // k)
        for task in prange((copies + per_task - 1) // per_task):
            for copy in range(task * per_task, min(copies, (task + 1) * per_task)):
                i = copy // times
                _repeat_row(x[i * k:(i + 1) * k], 1, out[copy * k:(copy + 1) * k])


@njit(cache=True, nogil=True)
def repeat_rows_serial(x, k, times, out):
    """repeat_rows_parallel on one core."""
    for i in range(x.shape[0] // k):
        _repeat_row(x[i * k:(i + 1) * k], times, out[i * times * k:(i + 1) * times * k])


@njit(inline="always", cache=True)
def _repeat_row(row, times, to):
    k = row.shape[0]
    for j in range(times):
        part = to[j * k:(j + 1) * k]
        for c in range(k):
            part[c] = row[c]


@njit(cache=True, nogil=True, error_model="numpy")
def compress_values(x, mask, out):
    """out[:count] = x[mask] for 1-d x and bool mask, out one value longer than the count:
    each value is written at the next free place, the place advanced by its mask, without a
    branch. NumPy's x[mask] branches on each value: 2.46 ms for 10^6 float32 with 16% kept,
    this loop 0.31."""
    k = 0
    for i in range(x.shape[0]):
        out[k] = x[i]
        k += mask[i]


@njit(cache=True, nogil=True)
def compress_rows(x, mask, out):
    """out = the rows of C-ordered (n, k) x where mask holds (a branch a row: a row's copy is
    worth it). NumPy's (10^5, 10) float32 half kept 0.87 ms, this 0.56."""
    kept = 0
    for i in range(x.shape[0]):
        if mask[i]:
            row, to = x[i], out[kept]
            for c in range(row.shape[0]):
                to[c] = row[c]
            kept += 1


def max_pool_kernel(kh, kw, sh, sw, pt, pb, pl, pr, grad, parallel=False):
    """A pooling loop specialised to one window geometry: with the window size, stride and
    padding as literals LLVM unrolls the window (a generic loop ran 13x slower).

    forward: kernel(x, lowest, out) -> out[n, c, i, j] = max of window (padding never wins);
    grad:    kernel(x, g, lowest, dx) -> dx[first argmax of each window] += g.
    parallel: the planes (n, c) split over numba's threads (each writes its own plane).

    Windows wholly inside the image (all but a border of them) take plain comparisons
    (`v > best`, the first of equal values wins) and no test of the padding: the forward
    folds them pairwise, a row holding a NaN (its sum NaN, or inf - inf) done again in the
    tested form; the gradient picks each winner by selects, and takes the tested form for a
    row of windows over image rows holding a NaN (looked for first: nothing is added twice).
    Windows over the padding keep the tested form (padding tests, NaN's rule, branches), a
    loop over the window's entries: unrolled, as it was, the 3x3 stride 2 padding 1 kernels
    compiled in 2.7 s (forward), 3.3 (gradient), 4.2 (gradient split over the planes); as a
    loop 1.3, 1.5 and 2.1 s, their run times unchanged.
    On one core of the AMD EPYC, float32, the last form's time -> this one's: 3x3 stride 2
    padding 1 of 64x16x28x28 forward 4.7-5.7 -> 1.1-1.4 ms, gradient 5.2-6.7 -> 3.6-4.1;
    32x64x56x56 37-39 -> 6.7-7.5 and 44-45 -> 26-28; 3x3 stride 1 'same' 8.1-11.2 -> 5.1-6.2
    and 16-22 -> 11-12."""
    from .numba_codegen import compile_source
    arrays = "x, g, lowest, dx" if grad else "x, lowest, out"
    # One plane's windows are a function of their own, called once a plane from the loop over
    # the planes: numba's parallel passes then see a call, not the unrolled windows (the 3x3
    # stride-2 gradient compiled in 13.7 s split over the planes, 3.7 s on one core).
    header = ["@njit(cache=True, nogil=True)",
              f"def one_plane({arrays}, n, c):",
              "    h, w = x.shape[2], x.shape[3]",
              "    oh, ow = (g.shape[2], g.shape[3])" if grad else "    oh, ow = out.shape[2], out.shape[3]",
              # the windows j_lo <= j < j_hi of a row lie inside the image's columns
              f"    j_lo = min(ow, {(pl + sw - 1) // sw})",
              f"    j_hi = max(j_lo, min(ow, (w - {kw} + {pl}) // {sw} + 1))"]
    planes = ["@njit(cache=True, nogil=True, parallel=True)" if parallel else "@njit(cache=True, nogil=True)",
              f"def kernel({arrays}):",
              f"    for plane in {'prange' if parallel else 'range'}(x.shape[0] * x.shape[1]):",
              "        n = plane // x.shape[1]",
              f"        one_plane({arrays}, n, plane - n * x.shape[1])"]
    entries = [divmod(k, kw) for k in range(kh * kw)]

    def tested(indent):
        """One window j of row i, each entry in order tested against the padding (and NaN's
        rule)."""
        out = [f"{indent}best = lowest", f"{indent}by = -1", f"{indent}bz = -1",
               f"{indent}for a in range({kh}):",
               f"{indent}    y = i * {sh} + a - {pt}",
               f"{indent}    if y >= 0 and y < h:",
               f"{indent}        for b in range({kw}):",
               f"{indent}            z = j * {sw} + b - {pl}",
               f"{indent}            if z >= 0 and z < w:",
               f"{indent}                v = x[n, c, y, z]",
               f"{indent}                if by < 0 or v > best or (v != v and best == best):",
               f"{indent}                    best = v",
               f"{indent}                    by = y",
               f"{indent}                    bz = z"]
        if grad:
            return out + [f"{indent}if by >= 0:", f"{indent}    dx[n, c, by, bz] += g[n, c, i, j]"]
        return out + [f"{indent}out[n, c, i, j] = best"]

    def inner(indent):
        """One window j of row i wholly inside the image."""
        out = [f"{indent}z0 = j * {sw} - {pl}"]
        out += [f"{indent}v{k} = x[n, c, y0 + {a}, z0 + {b}]" for k, (a, b) in enumerate(entries)]
        if not grad:
            folds, best = fold_largest([f"v{k}" for k in range(len(entries))], indent)
            return out + folds + [f"{indent}out[n, c, i, j] = {best}",
                                  f"{indent}s = {' + '.join(f'v{k}' for k in range(len(entries)))}",
                                  f"{indent}nan |= s != s"]
        out += [f"{indent}best = v0", f"{indent}at = 0"]
        for k in range(1, len(entries)):
            out += [f"{indent}take = v{k} > best",
                    f"{indent}best = v{k} if take else best",
                    f"{indent}at = {k} if take else at"]
        return out + [f"{indent}dx[n, c, y0 + at // {kw}, z0 + at % {kw}] += g[n, c, i, j]"]

    # A row's windows lo <= j < hi take `inner`, the others `tested`: all of them where the
    # row's windows reach over the padding, or, forward, where the row holds a NaN. The
    # gradient adds in the order of the windows (the reference's sums, to the last bit).
    body = ["    for i in range(oh):",
            f"        y0 = i * {sh} - {pt}",
            f"        inside = y0 >= 0 and y0 + {kh} <= h",
            "        nan = False"]
    if grad:  # (NaN's rule checked before anything is added)
        body += ["        if inside:",
                 f"            for a in range({kh}):",
                 "                for z in range(w):",
                 "                    v = x[n, c, y0 + a, z]",
                 "                    nan |= v != v"]
    body += ["        lo, hi = (j_lo, j_hi) if inside and not nan else (ow, ow)"]
    left_edge = ["        for j in range(lo):"] + tested(" " * 12)
    interior = ["        for j in range(lo, hi):"] + inner(" " * 12)
    if grad:
        body += left_edge + interior
    else:
        body += interior + ["        if nan:  # again, by NaN's rule",
                            "            lo = hi = ow"] + left_edge
    body += ["        for j in range(hi, ow):"] + tested(" " * 12)
    return compile_source("\n".join(header + body + [""] + planes) + "\n")


def fold_largest(names, indent):
    """(source lines, the name of the result) folding names pairwise, each fold keeping its
    left value unless the right is larger: the first of equal values wins, as in order."""
    out, k = [], len(names)
    while len(names) > 1:
        pairs = []
        for left, right in zip(names[::2], names[1::2]):
            out.append(f"{indent}m{k} = {right} if {right} > {left} else {left}")
            pairs.append(f"m{k}")
            k += 1
        names = pairs + names[2 * len(pairs):]  # (an odd last one folds in a later round)
    return out, names[0]


def tiles(kh, kw, sh, sw, pt, pb, pl, pr):
    """Whether pooling windows tile the image: stride = window, no padding (the common 2x2)."""
    return (sh, sw) == (kh, kw) and not (pt or pb or pl or pr)


def max_pool_tiled_kernel(kh, kw):
    """max pooling with windows that tile the image (stride = window, no padding): each
    window's maximum by plain comparisons folded pairwise (`b if b > a else a`: the first of
    equal values, as max_pool_kernel's), which a vector loop does in one instruction each;
    NaN's rule (a NaN wins) costs max_pool_kernel's test at every value, so a row of windows
    is compared again by it only where the sum of its values is NaN (a NaN, or inf - inf).
    max_pool_kernel's test made each window a chain of dependent selects: 2x2 of 64x16x28x28
    float32 took 1.29-1.32 ms on one core of the AMD EPYC, this 0.51-0.57 (MaxPoolThunk's
    TILED_FORWARD_ROW says where it is taken).

    kernel(x, out, planes, h, w): x flat (planes, h, w), out flat (planes, h // kh, w // kw), on
    one core (split over the planes it ran no faster: MaxPoolThunk keeps max_pool_kernel there)."""
    from .numba_codegen import compile_source
    at = [f"p + {a} * w + {b}" for a, b in (divmod(k, kw) for k in range(kh * kw))]

    def window(indent, rule):
        out = [f"{indent}for j in range(ow):", f"{indent}    p = top + j * {kw}"]
        if rule is None:
            out += [f"{indent}    v{k} = x[{where}]" for k, where in enumerate(at)]
            folds, best = fold_largest([f"v{k}" for k in range(len(at))], indent + "    ")
            out += folds + [f"{indent}    out[row + j] = {best}",
                            f"{indent}    s = {' + '.join(f'v{k}' for k in range(len(at)))}",
                            f"{indent}    nan |= s != s"]
            return out
        out += [f"{indent}    best = x[p]"]
        for where in at[1:]:
            out += [f"{indent}    v = x[{where}]", f"{indent}    if {rule}:", f"{indent}        best = v"]
        return out + [f"{indent}    out[row + j] = best"]
    lines = ["@njit(cache=True, nogil=True)",
             "def kernel(x, out, planes, h, w):",
             f"    oh, ow = h // {kh}, w // {kw}",
             "    for plane in range(planes):",
             "        for i in range(oh):",
             f"            top = (plane * h + i * {kh}) * w",
             "            row = (plane * oh + i) * ow",
             "            nan = False"]
    lines += window(" " * 12, None) + ["            if nan:  # again, by NaN's rule"]
    lines += window(" " * 16, "v > best or (v != v and best == best)")
    return compile_source("\n".join(lines) + "\n")


def max_pool_tiled_grad_kernel(kh, kw, parallel=False):
    """The gradient of max pooling with windows that tile the image: each window's first
    maximum gets g and its other entries 0, each entry written once, in one pass over the
    windows. A window's winner comes from comparisons in order (`v > best`: the first of equal
    values wins), and its entries are written as bits, g's or zero's, chosen by a mask
    (`g & -(at == k)`: g and dx are passed as unsigned integers of the values' width), so
    nothing branches on the data. Chosen by value, the writes were branches LLVM kept on this
    AMD EPYC: 12 ns a random 2x2 float32 window, 5-6 with the winners found first and written
    by masks, 4 in one pass (64x16x28x28 2.4 -> 0.8 ms on one core; 3x3 and float64 alike).
    NaN's rule (the first NaN wins) is not the comparisons', so a row of windows whose sum is
    NaN (a NaN, or inf - inf, which is only slower) is done again by it. parallel: the planes
    split over numba's threads (128x64x24x24 6.3 -> 3.1 ms on two; the last form, which found
    maxima and then first matches, 11.8).

    kernel(x, g, dx, planes, h, w): x and dx flat (planes, h, w), g flat (planes, oh, ow), g and
    dx as unsigned integers; rows and columns no window covers are the caller's to zero."""
    from .numba_codegen import compile_source
    n = kh * kw
    at = [f"p + {a} * w + {b}" for a, b in (divmod(k, kw) for k in range(n))]

    def windows(indent, take, note_nan):
        out = [f"{indent}for j in range(ow):",
               f"{indent}    p = top + j * {kw}"]
        out += [f"{indent}    v{k} = x[{where}]" for k, where in enumerate(at)]
        out += [f"{indent}    best = v0", f"{indent}    at = 0"]
        for k in range(1, n):
            out += [f"{indent}    take = {take.format(v=f'v{k}')}",
                    f"{indent}    best = v{k} if take else best",
                    f"{indent}    at = {k} if take else at"]
        if note_nan:
            out += [f"{indent}    s = {' + '.join(f'v{k}' for k in range(n))}", f"{indent}    nan |= s != s"]
        out += [f"{indent}    gv = g[row + j]"]
        return out + [f"{indent}    dx[{where}] = gv & -type(gv)(at == {k})" for k, where in enumerate(at)]

    lines = ["@njit(cache=True, nogil=True, parallel=True)" if parallel else "@njit(cache=True, nogil=True)",
             "def kernel(x, g, dx, planes, h, w):",
             f"    oh, ow = h // {kh}, w // {kw}",
             "    for plane in prange(planes):" if parallel else "    for plane in range(planes):",
             "        for i in range(oh):",
             f"            top = (plane * h + i * {kh}) * w",
             "            row = (plane * oh + i) * ow",
             "            nan = False"]
    lines += windows(" " * 12, "{v} > best", note_nan=True) + ["            if nan:  # again, by NaN's rule"]
    lines += windows(" " * 16, "({v} > best) | (({v} != {v}) & (best == best))", note_nan=False)
    return compile_source("\n".join(lines) + "\n")


def window_loops(kh, kw, sh, sw, dh, dw, pt, pl, column, scatter, indent):
    """Source lines of the loops over the windows of channel c of image n (names the kernel
    defines: x or dx, cols, n, c, h, w, oh, ow), indented by `indent`: im2col's gather,
    cols[col, column] = x[n, c, ...] (zero where the window hangs over the padding), or
    (scatter) col2im's, dx[n, c, ...] += cols[col, column]. column: a source expression of y
    and z (the output pixel) for the window matrix's column."""
    if scatter:
        body = f"""for y in range(oh):
    for i in range({kh}):
        yy = y * {sh} + i * {dh} - {pt}
        if yy < 0 or yy >= h:
            continue
        for j in range({kw}):
            col = (c * {kh} + i) * {kw} + j
            for z in range(ow):
                zz = z * {sw} + j * {dw} - {pl}
                if zz >= 0 and zz < w:
                    dx[n, c, yy, zz] += cols[col, {column}]"""
    else:
        body = f"""for y in range(oh):
    for i in range({kh}):
        yy = y * {sh} + i * {dh} - {pt}
        inside = yy >= 0 and yy < h
        for j in range({kw}):
            col = (c * {kh} + i) * {kw} + j
            for z in range(ow):
                zz = z * {sw} + j * {dw} - {pl}
                cols[col, {column}] = x[n, c, yy, zz] if inside and zz >= 0 and zz < w else 0"""
    return "\n".join(indent + line for line in body.splitlines())


def im2col_kernel(kh, kw, sh, sw, dh, dw, pt, pl):
    """kernel(x, oh, ow, cols): cols[(c*kh + i)*kw + j, (n*oh + y)*ow + z] =
    x[n, c, y*sh + i*dh - pt, z*sw + j*dw - pl], zero where the window hangs over the padding.
    cols.T @ filters is then one GEMM (BLAS reads the transpose). Specialised to the window
    geometry (LLVM unrolls the window and folds its edge tests) and walking each input row
    once for all the window's taps: 1.2-1.6x faster than one generic loop per tap."""
    from .numba_codegen import compile_source
    return compile_source(f"""@njit(cache=True, nogil=True)
def kernel(x, oh, ow, cols):
    n_, c_, h, w = x.shape
    for c in range(c_):
        for n in range(n_):
{window_loops(kh, kw, sh, sw, dh, dw, pt, pl, "(n * oh + y) * ow + z", False, " " * 12)}
""")


def col2im_kernel(kh, kw, sh, sw, dh, dw, pt, pl):
    """kernel(cols, oh, ow, dx): the transpose of im2col, every window entry added back where
    it came from (dx must start at zero)."""
    from .numba_codegen import compile_source
    return compile_source(f"""@njit(cache=True, nogil=True)
def kernel(cols, oh, ow, dx):
    n_, c_, h, w = dx.shape
    for c in range(c_):
        for n in range(n_):
{window_loops(kh, kw, sh, sw, dh, dw, pt, pl, "(n * oh + y) * ow + z", True, " " * 12)}
""")


def _running(x, out, product):
    """out[o, j, i] = x[o, 0, i] + ... + x[o, j, i] (times, where product) for (outer, n,
    inner) arrays, in order along j as NumPy's cumsum and cumprod are (the same bits; LLVM
    takes the loop-invariant test out of the loops); rows along the last axis (inner 1) are
    independent chains, split over threads."""
    outer, n, inner = x.shape
    if n == 0:
        return
    for o in prange(outer):
        if inner == 1:
            out[o, 0, 0] = x[o, 0, 0]
            acc = out[o, 0, 0]
            for j in range(1, n):
                acc = acc * x[o, j, 0] if product else acc + x[o, j, 0]
                out[o, j, 0] = acc
        else:
            for i in range(inner):
                out[o, 0, i] = x[o, 0, i]
            for j in range(1, n):
                for i in range(inner):
                    out[o, j, i] = out[o, j - 1, i] * x[o, j, i] if product else out[o, j - 1, i] + x[o, j, i]


running_serial, running_parallel = serial_and_parallel(_running)


def _recurrence(a, b, out):
    """out[o, j, i] = b[o, j, i] + a[o, j, i] out[o, j - 1, i] for (outer, n, inner) arrays, out's
    first row b's (LinearRecurrence: cumprod's gradient, run from the end as reversed views)."""
    outer, n, inner = b.shape
    if n == 0:
        return
    for o in prange(outer):
        if inner == 1:  # (a chain along a row: the running value kept in a register, not read back)
            acc = b[o, 0, 0]
            out[o, 0, 0] = acc
            for j in range(1, n):
                acc = b[o, j, 0] + a[o, j, 0] * acc
                out[o, j, 0] = acc
        else:
            for i in range(inner):
                out[o, 0, i] = b[o, 0, i]
            for j in range(1, n):
                for i in range(inner):
                    out[o, j, i] = b[o, j, i] + a[o, j, i] * out[o, j - 1, i]


recurrence_serial, recurrence_parallel = serial_and_parallel(_recurrence)


def _put_in_order(order, v, out):
    """out[o, order[o, j, i], i] = v[o, j, i] for (outer, n, inner) arrays, order a permutation of
    range(n) along its middle axis (ArgSort's: sort's gradient, SortGrad)."""
    outer, n, inner = order.shape
    for o in prange(outer):
        if inner == 1:  # (along rows: one index a value, no inner loop)
            for j in range(n):
                out[o, order[o, j, 0], 0] = v[o, j, 0]
        else:
            for j in range(n):
                for i in range(inner):
                    out[o, order[o, j, i], i] = v[o, j, i]


def _take_in_order(order, v, out):
    """out[o, j, i] = v[o, order[o, j, i], i]: the gather _put_in_order undoes (SortedLike)."""
    outer, n, inner = order.shape
    for o in prange(outer):
        if inner == 1:
            for j in range(n):
                out[o, j, 0] = v[o, order[o, j, 0], 0]
        else:
            for j in range(n):
                for i in range(inner):
                    out[o, j, i] = v[o, order[o, j, i], i]


def _top_indices(x, k, largest, values, out):
    """out[o, :, i] = the indices along j of the k largest (largest) or smallest entries of
    x[o, :, i], best first, equal entries lower index first, NaN the largest (ArgTopK's order,
    TensorFlow's top_k's), for (outer, n, inner) arrays, 1 <= k <= n; values is scratch of
    out's shape. Each value is compared with the k-th best so far and, where better, inserted
    in order: strict comparisons keep the first of equal entries ahead, and a later equal one
    out of a full list. One pass, where NumPy's argpartition, its checks for ties at the k-th
    value and an argsort of the k took 0.58 ms for the 5 largest of 1000 rows of 100."""
    outer, n, inner = x.shape
    for o in prange(outer):
        for i in range(inner):
            filled = 0
            for j in range(n):
                v = x[o, j, i]
                if filled == k:
                    if not _better(v, values[o, k - 1, i], largest):
                        continue
                    at = k - 1
                else:
                    at = filled
                    filled += 1
                while at > 0 and _better(v, values[o, at - 1, i], largest):
                    values[o, at, i] = values[o, at - 1, i]
                    out[o, at, i] = out[o, at - 1, i]
                    at -= 1
                values[o, at, i] = v
                out[o, at, i] = j


@njit(inline="always", cache=True)
def _better(v, w, largest):
    """Whether v ranks before w in argtopk's order: larger (smaller), a NaN the largest, equal
    entries not (the earlier stays ahead)."""
    return ((v > w) or (v != v and w == w)) if largest else ((v < w) or (w != w and v == v))


top_indices_serial, top_indices_parallel = serial_and_parallel(_top_indices)
put_in_order_serial, put_in_order_parallel = serial_and_parallel(_put_in_order)
take_in_order_serial, take_in_order_parallel = serial_and_parallel(_take_in_order)


def arg_extreme_kernel(kind, parallel):
    """kernel(x, out): out[o, i] = the index along j of the first maximum (argmax) or minimum
    (argmin) of x[o, :, i], or of its first NaN, as NumPy's; x is (outer, n, inner), n >= 1.
    Each step along j compares whole vectors of i and keeps the winners by selects (no
    branch), walking memory in order, where NumPy's argmax over a leading axis copies the
    array transposed first."""
    from .numba_codegen import compile_source
    better = ">" if kind == "argmax" else "<"
    return compile_source(f"""@njit(cache=True, nogil=True, parallel={parallel})
def kernel(x, out):
    outer, n, inner = x.shape
    for o in prange(outer):
        best = x[o, 0].copy()
        for i in range(inner):
            out[o, i] = 0
        for j in range(1, n):
            for i in range(inner):
                v = x[o, j, i]
                b = best[i]
                take = v {better} b or (v != v and b == b)
                best[i] = v if take else b
                out[o, i] = j if take else out[o, i]
""")


def arg_extreme_rows_kernel(kind, parallel, n):
    """kernel(x, out): out[r] = the index of the first maximum (argmax) or minimum (argmin)
    of row x[r] of C-ordered (rows, n), or of its first NaN, as NumPy's; n >= 1, a literal of
    the source (one kernel a row length: LLVM unrolls both loops into selects, where a loop
    whose length it did not know ran 3.2x slower: float32 1000x10 9.7 -> 3.0 us, 1000x32 33 ->
    14). Two passes over the row, each without a dependence from value to value but the
    running extreme: the extreme and whether a NaN is there, then the first index holding it
    (or the first NaN), as selects from the row's end. One pass keeping the winner's index
    beside it took 23.5 ns a row of 10 float32 values on one core, 8.9 a row of 3, 52.7 a row
    of 32; two passes 10.3, 4.9 and 48.5 (new random rows at every call: the same array timed
    again and again let the branch predictor learn the one pass's row ends, 7.6 ns a row of
    10). NumPy's argmax calls its SIMD loop once a row: 27 ns a row of 10 (new rows)."""
    from .numba_codegen import compile_source
    better = ">" if kind == "argmax" else "<"
    return compile_source(f"""@njit(cache=True, nogil=True, parallel={parallel}, error_model="numpy")
def kernel(x, out):
    flat = x.reshape(-1)
    for r in prange(np.uint64(x.shape[0])):
        at = r * np.uint64({n})
        best = flat[at]
        nan = best != best
        for j in range(np.uint64(1), np.uint64({n})):
            v = flat[at + j]
            best = v if v {better} best else best
            nan |= v != v
        found = 0
        for j in range({n} - 1, -1, -1):
            v = flat[at + np.uint64(j)]
            found = j if ((v != v) if nan else (v == best)) else found
        out[r] = found
""")


def arg_extreme_whole_kernel(kind, floats, parallel):
    """kernel(x, extremes, nans, block) -> the index of the first maximum (argmax) or minimum
    (argmin) of C-ordered 1-d x, or of its first NaN, as NumPy's. x's blocks of `block` values
    (on all cores where parallel) fold their extremes and whether a NaN is there into
    `extremes` and `nans` (one per block) with no dependence from value to value but the fold,
    so the loop vectorizes (a float's maximum of numbers, its NaNs noted apart, as the
    reductions'); then the first block with a NaN, else the first with the best extreme, is
    searched for the first index holding it. NumPy's SIMD loop keeps the index as it goes, on
    one core: 2^20 float32 68 us, this 30 (float64 129 -> 52, 2^18 float32 19 -> 13)."""
    from .numba_codegen import compile_source
    better = ">" if kind == "argmax" else "<"
    fold = ("fold_max_of_numbers" if kind == "argmax" else "fold_min_of_numbers") if floats else \
        ("max" if kind == "argmax" else "min")
    return compile_source(f"""@njit(cache=True, nogil=True, parallel={parallel}, error_model="numpy")
def kernel(x, extremes, nans, block):
    n = x.shape[0]
    blocks = extremes.shape[0]
    for b in prange(blocks):
        lo = b * block
        best = x[lo]
        nan = False
        for i in range(np.uint64(lo), np.uint64(min(n, lo + block))):
            v = x[i]
            best = {fold}(best, v)
            nan |= v != v
        extremes[b] = best
        nans[b] = nan
    for b in range(blocks):
        if nans[b]:
            for i in range(b * block, min(n, b * block + block)):
                if x[i] != x[i]:
                    return i
    first = 0
    for b in range(1, blocks):
        if extremes[b] {better} extremes[first]:
            first = b
    best = extremes[first]
    for i in range(first * block, min(n, first * block + block)):
        if x[i] == best:
            return i
    return first * block
""")


@njit(cache=True, nogil=True)
def add_scaled(c, p, alpha):
    """c += alpha * p for C-ordered matrices, alpha of their dtype: the product rounded, then
    the sum, as NumPy's `p *= alpha; c += p` (one pass and one call instead of two)."""
    for i in range(c.shape[0]):
        for j in range(c.shape[1]):
            c[i, j] = c[i, j] + alpha * p[i, j]


@njit(cache=True, nogil=True)
def add_row(out, scale, row):
    """out = out * scale + row for a C-ordered matrix, a contiguous row of its width and dtype
    and a scale of that dtype, rounded as NumPy's `out *= scale; out += row` (a multiply by 1
    is exact): a layer's alpha * (x @ w) + b after the product. NumPy's broadcast add loops row
    by row through its ufunc machinery (us, float32: 16x16 0.93 against 0.31, 128x10 1.54
    against 0.56, 256x256 10.8 against 4.5)."""
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = out[i, j] * scale + row[j]


def _copy_strided(src, dst):
    """dst[...] = src[...] for a strided 1-d or 2-d view (x[::2], m[:, ::2]), rows in parallel.
    (LLVM vectorized these strided reads with gathers, slower than NumPy's one-core copy on the
    AMD Zen 4 machine, until numba_target asked it not to: x[::2] of 8M float32 2.63 -> 0.93 ms,
    NumPy's 1.63; float64 4.62 -> 1.76, NumPy's 3.06.)"""
    if src.ndim == 1:
        for i in prange(dst.shape[0]):
            dst[i] = src[i]
    else:
        for i in prange(dst.shape[0]):
            for j in range(dst.shape[1]):
                dst[i, j] = src[i, j]


copy_strided_parallel = njit(cache=True, nogil=True, parallel=True)(_copy_strided)


numba_target.load_kernels_without_refresh(globals())
