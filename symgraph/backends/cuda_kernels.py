"""Hand-written CUDA kernels: tiled GEMM, im2col/col2im, pooling, row crossentropies,
arg-reductions, row gathers and atomic scatter-adds, fills, and the counter-based random
streams. Each function returns a compiled kernel (cached by its source text, see
cuda_codegen.compile_kernel); sizes that must be literals (tiles, shared arrays) are
formatted into the source.

Index checks a kernel cannot raise are reported through a one-element `flag` array
(0 = fine, else 1 + the offending position), which the caller reads and turns into an error.
"""
import functools

from .cuda_codegen import compile_kernel, _unravel, _dot

# Every factory below is memoized: thunks call them on each launch, and building the source
# and hashing it per call cost more than the launch itself.
factory = functools.lru_cache(maxsize=None)


@factory
def gemm(tile, acc_dtype):
    """out[b, m, n] = alpha * sum_k A[b, m, k] B[b, k, n] (+ beta * C[b, m, n]).
    A, B, C and the output are (flat array, offset, (batch, row, col) strides): transposes,
    broadcast bias rows and writes into image layouts cost nothing. Launched by
    cuda_linalg.launch_gemm."""
    return compile_kernel(f"""@cuda.jit(cache=True)
def kernel(M, N, K, a, a_off, a_s, b, b_off, b_s, c, c_off, c_s, has_c, alpha, beta, o_off, o_s, out):
    sa = cuda.shared.array(({tile}, {tile}), {acc_dtype})
    sb = cuda.shared.array(({tile}, {tile}), {acc_dtype})
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    z = cuda.blockIdx.z
    row = cuda.blockIdx.y * {tile} + ty
    col = cuda.blockIdx.x * {tile} + tx
    acc = {acc_dtype}(0)
    for k0 in range(0, K, {tile}):
        ka = k0 + tx
        kb = k0 + ty
        sa[ty, tx] = a[a_off + z * a_s[0] + row * a_s[1] + ka * a_s[2]] if row < M and ka < K else {acc_dtype}(0)
        sb[ty, tx] = b[b_off + z * b_s[0] + kb * b_s[1] + col * b_s[2]] if kb < K and col < N else {acc_dtype}(0)
        cuda.syncthreads()
        for q in range({tile}):
            acc += sa[ty, q] * sb[q, tx]
        cuda.syncthreads()
    if row < M and col < N:
        value = alpha * acc
        if has_c:
            value += beta * c[c_off + z * c_s[0] + row * c_s[1] + col * c_s[2]]
        out[o_off + z * o_s[0] + row * o_s[1] + col * o_s[2]] = value
""")


@factory
def im2col():
    """cols[(c*kh + i)*kw + j, (n*oh + y)*ow + z] = x[n, c0 + c, y*sh + i*dh - pt, z*sw + j*dw - pl]
    (0 over the padding): the CPU backend's layout, one thread per column entry."""
    return compile_kernel("""@cuda.jit(cache=True)
def kernel(x, n_img, channels, h, w, c0, cg, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cols):
    width = n_img * oh * ow
    total = cg * kh * kw * width
    for e in range(cuda.grid(1), total, cuda.gridsize(1)):
        row = e // width
        pos = e - row * width
        j = row % kw
        i = (row // kw) % kh
        c = row // (kh * kw)
        zz = pos % ow
        y = (pos // ow) % oh
        n = pos // (ow * oh)
        yy = y * sh + i * dh - pt
        xx = zz * sw + j * dw - pl
        if 0 <= yy and yy < h and 0 <= xx and xx < w:
            cols[e] = x[((n * channels + c0 + c) * h + yy) * w + xx]
        else:
            cols[e] = 0
""")


@factory
def col2im():
    """The adjoint of im2col for channels c0..c0+cg of dx: every image element sums the
    column entries that read it (a gather, so no atomics)."""
    return compile_kernel("""@cuda.jit(cache=True)
def kernel(cols, n_img, channels, h, w, c0, cg, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, dx):
    width = n_img * oh * ow
    total = n_img * cg * h * w
    for e in range(cuda.grid(1), total, cuda.gridsize(1)):
        xx = e % w
        yy = (e // w) % h
        c = (e // (w * h)) % cg
        n = e // (w * h * cg)
        acc = cols[0] * 0
        for i in range(kh):
            ty = yy + pt - i * dh
            if ty < 0 or ty % sh != 0 or ty // sh >= oh:
                continue
            y = ty // sh
            for j in range(kw):
                tz = xx + pl - j * dw
                if tz < 0 or tz % sw != 0 or tz // sw >= ow:
                    continue
                acc += cols[((c * kh + i) * kw + j) * width + (n * oh + y) * ow + tz // sw]
        dx[((n * channels + c0 + c) * h + yy) * w + xx] = acc
""")


@factory
def max_pool(mode):
    """"forward": out = max over each window (padding never wins; the first maximum, NaN wins).
    "grad": dx[position of that maximum] += g, with atomics (windows may overlap). "pick" (the
    gradient's gradient, MaxPoolPick): out = src at that position (0 for a window of padding)."""
    head = {"grad": "def kernel(x, g, planes, h, w, oh, ow, kh, kw, sh, sw, pt, pl, lowest, dx):",
            "pick": "def kernel(x, src, planes, h, w, oh, ow, kh, kw, sh, sw, pt, pl, lowest, out):",
            "forward": "def kernel(x, planes, h, w, oh, ow, kh, kw, sh, sw, pt, pl, lowest, out):"}[mode]
    tail = {"grad": "        if by >= 0:\n"
                    "            cuda.atomic.add(dx, (p * h + by) * w + bz, g[e])\n",
            "pick": "        out[e] = src[(p * h + by) * w + bz] if by >= 0 else src[0] * 0\n",
            "forward": "        out[e] = best\n"}[mode]
    return compile_kernel(f"""@cuda.jit(cache=True)
{head}
    for e in range(cuda.grid(1), planes * oh * ow, cuda.gridsize(1)):
        j = e % ow
        i = (e // ow) % oh
        p = e // (ow * oh)
        best = lowest
        by = -1
        bz = -1
        for a in range(kh):
            y = i * sh + a - pt
            if y < 0 or y >= h:
                continue
            for b in range(kw):
                z = j * sw + b - pl
                if z < 0 or z >= w:
                    continue
                v = x[(p * h + y) * w + z]
                if by < 0 or v > best or (v != v and best == best):
                    best = v
                    by = y
                    bz = z
{tail}""")


# The row kernels' shared lines, one thread a row: an integer target read and checked (out of
# [-classes, classes) sets the flag and skips the row), then the row's max and sum of exponentials.
_ROW_TARGET = ["        t = targets[r]", "        t = t + classes if t < 0 else t",
               "        if t < 0 or t >= classes:", "            flag[0] = r + 1", "            continue"]
_ROW_MAX_AND_SUM = ["        m = x[base]", "        for c in range(1, classes):",
                    "            v = x[base + c]", "            m = v if (v > m or v != v) else m",
                    "        s = x[base] * 0", "        for c in range(classes):",
                    "            s += math.exp(x[base + c] - m)"]


def _row_loss_from_logits(int_targets, into):
    """Lines writing the row's crossentropy of softmax(x), after _ROW_MAX_AND_SUM, into `into`."""
    lines = ["        lse = m + math.log(s)"]
    if int_targets:
        return lines + [f"        {into}[r] = lse - x[base + t]"]
    return lines + ["        acc = s * 0", "        for c in range(classes):",
                    "            acc += targets[base + c] * (x[base + c] - lse)", f"        {into}[r] = -acc"]


def _row_kernel(arguments, int_targets, body):
    return compile_kernel("\n".join(["@cuda.jit(cache=True)", f"def kernel(rows, classes, {arguments}):",
                                      "    for r in range(cuda.grid(1), rows, cuda.gridsize(1)):"]
                                     + (_ROW_TARGET if int_targets else []) + ["        base = r * classes"]
                                     + body) + "\n")


@factory
def row_crossentropy(from_logits, int_targets):
    """One thread per row of a C-contiguous (rows, classes) array: the crossentropy of
    softmax(x) (from_logits, computed stably) or of probabilities p, against integer targets
    or dense target rows. A target outside [-classes, classes) sets the flag."""
    if from_logits:
        body = _ROW_MAX_AND_SUM + _row_loss_from_logits(int_targets, "out")
    elif int_targets:
        body = ["        out[r] = -math.log(x[base + t])"]
    else:
        body = ["        acc = x[base] * 0", "        for c in range(classes):",
                "            if targets[base + c] != 0:  # (0 log 0 is 0)",
                "                acc += targets[base + c] * math.log(x[base + c])", "        out[r] = -acc"]
    return _row_kernel("x, targets, flag, out", int_targets, body)


@factory
def row_crossentropy_grad(with_loss=False, dense=False):
    """One thread per row of a C-contiguous (rows, classes) array: (softmax(x) - one_hot(t)) * g
    for integer targets t, (softmax(x) * sum(t) - t) * g for dense target rows, one g per row;
    with_loss also each row's crossentropy into loss (CrossentropySoftmaxWithGrad). An integer
    target outside [-classes, classes) sets the flag."""
    body = _ROW_MAX_AND_SUM + (_row_loss_from_logits(not dense, "loss") if with_loss else [])
    if dense:
        body += ["        total = s * 0", "        for c in range(classes):", "            total += targets[base + c]",
                 "        for c in range(classes):",
                 "            out[base + c] = (math.exp(x[base + c] - m) / s * total - targets[base + c]) * g[r]"]
    else:
        body += ["        for c in range(classes):", "            hot = 1 if c == t else 0",
                 "            out[base + c] = (math.exp(x[base + c] - m) / s - hot) * g[r]"]
    return _row_kernel(f"x, targets, g, flag, {'loss, ' if with_loss else ''}out", not dense, body)


@factory
def arg_reduce(n_kept, n_red, kind):
    """out[i] = position (C order over the reduced axes) of the first max/min; NaN wins."""
    better = ">" if kind == "argmax" else "<"
    lines = ["@cuda.jit(cache=True)", "def kernel(m, k, kshape, rshape, a, off, ks, rs, out):",
             "    for i in range(cuda.grid(1), m, cuda.gridsize(1)):"]
    lines += _unravel("i", "kshape", n_kept, "j", "        ")
    lines += [f"        base = off + {_dot('j', 'ks', n_kept)}", "        best = a[base]", "        at = 0",
              "        for q in range(k):"]
    lines += _unravel("q", "rshape", n_red, "p", "            ")
    lines += [f"            v = a[base + {_dot('p', 'rs', n_red)}]",
              f"            if (v {better} best and best == best) or (v != v and best == best):",
              "                best = v", "                at = q", "        out[i] = at"]
    return compile_kernel("\n".join(lines) + "\n")


@factory
def gather_rows():
    """out[q, :] = x[idx[q], :] over rows of length `row` (negative indices from the end)."""
    return compile_kernel("""@cuda.jit(cache=True)
def kernel(n_out, row, n_rows, x, idx, flag, out):
    for e in range(cuda.grid(1), n_out * row, cuda.gridsize(1)):
        q = e // row
        r = idx[q]
        r = r + n_rows if r < 0 else r
        if r < 0 or r >= n_rows:
            flag[0] = q + 1
        else:
            out[e] = x[r * row + e - q * row]
""")


@factory
def scatter_add_rows():
    """out[idx[q], :] += y[q, :] with atomics (repeated indices accumulate). y is
    (flat, offset, strides (row, element)) so a broadcast y costs nothing."""
    return compile_kernel("""@cuda.jit(cache=True)
def kernel(n_idx, row, n_rows, idx, y, y_off, y_s, flag, out):
    for e in range(cuda.grid(1), n_idx * row, cuda.gridsize(1)):
        q = e // row
        col = e - q * row
        r = idx[q]
        r = r + n_rows if r < 0 else r
        if r < 0 or r >= n_rows:
            flag[0] = q + 1
        else:
            cuda.atomic.add(out, r * row + col, y[y_off + q * y_s[0] + col * y_s[1]])
""")


@factory
def fill(dtype):
    return compile_kernel(f"""@cuda.jit(cache=True)
def kernel(n, value, out):
    v = np.{dtype}(value)
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        out[i] = v
""")


# SplitMix64 counter streams, bit for bit as symgraph.ops.random computes them with NumPy.
# Written out inline: numba cannot compile calls to device functions ahead of time without a
# GPU (tests/backends/test_cuda_ptx.py compiles every kernel that way).
_CONSTANTS = """M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
U53 = 1.0 / 9007199254740992.0


"""


def _mix(var, indent):
    """Statements applying the SplitMix64 finaliser to the uint64 variable `var` in place."""
    return [f"{indent}{var} = ({var} ^ ({var} >> np.uint64(30))) * M1",
            f"{indent}{var} = ({var} ^ ({var} >> np.uint64(27))) * M2",
            f"{indent}{var} = {var} ^ ({var} >> np.uint64(31))"]


def _base(var, salt, indent):
    """var = splitmix64((key ^ salt * GOLDEN) ^ splitmix64(counter)); needs `mixed_counter`."""
    return [f"{indent}{var} = (key ^ (np.uint64({salt}) * GOLDEN)) ^ mixed_counter"] + _mix(var, indent)


def _uniform(var, base, indent):
    """var = the i-th uniform double in [0, 1) of the stream with this base."""
    return ([f"{indent}bits = {base} + np.uint64(i + 1) * GOLDEN"] + _mix("bits", indent)
            + [f"{indent}{var} = np.float64(bits >> np.uint64(11)) * U53"])


@factory
def random_draw(dist):
    """One sample per element, for scalar parameters (the common case)."""
    body = ["    mixed_counter = counter"] + _mix("mixed_counter", "    ")
    loop = "    for i in range(cuda.grid(1), n, cuda.gridsize(1)):"
    if dist == "uniform":
        body += _base("base", 0, "    ") + [loop] + _uniform("u", "base", "        ")
        body.append("        out[i] = p0 + (p1 - p0) * u")
    elif dist == "normal":
        body += _base("b1", 1, "    ") + _base("b2", 2, "    ") + [loop]
        body += _uniform("u1", "b1", "        ") + _uniform("u2", "b2", "        ")
        body += ["        z = math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)",
                 "        out[i] = p0 + p1 * z"]
    else:  # binomial: trials p0, probability p1
        body += [loop, "        count = 0", "        for t in range(np.int64(p0)):"]
        body += ["            base = (key ^ (np.uint64(3 + t) * GOLDEN)) ^ mixed_counter"] + _mix("base", "            ")
        body += _uniform("u", "base", "            ")
        body += ["            if u < p1:", "                count += 1", "        out[i] = count"]
    return compile_kernel(_CONSTANTS + "@cuda.jit(cache=True)\ndef kernel(n, key, counter, p0, p1, out):\n"
                          + "\n".join(body) + "\n")


@factory
def along_axis(n_kept, kind, out_dtype):
    """A loop along one axis, one thread per line, which it walks in order (forwards or
    backwards): running sums (kind "sum") or products ("prod") of a; the linear recurrence
    y = b + a * y_previous ("recurrence", cumprod's gradient; a's first is not read); b's
    entries at the positions a lists ("gather", take_along_axis: sort's order applied) or put
    at them ("scatter", put_along_axis: sort's gradient). Arrays are (flat, offset, strides) for
    the other axes and a step along the axis; b_length is b's length along it. The first value
    of a running line is taken as it is (a running sum of -0.0 stays -0.0, as NumPy's)."""
    lines = ["@cuda.jit(cache=True)",
             "def kernel(m, k, kshape, a, off, ks, step, b, boff, bks, bstep, b_length, out, oks, ostep, reverse):",
             "    for i in range(cuda.grid(1), m, cuda.gridsize(1)):"]
    lines += _unravel("i", "kshape", n_kept, "j", "        ")
    lines += [f"        base = off + {_dot('j', 'ks', n_kept)}", f"        bbase = boff + {_dot('j', 'bks', n_kept)}",
              f"        obase = {_dot('j', 'oks', n_kept)}"]
    walk = ["        for q in range(k):", "            p = k - 1 - q if reverse else q"]
    if kind in ("gather", "scatter"):
        length = "b_length" if kind == "gather" else "k"
        lines += walk + ["            at = a[base + p * step]", f"            at = at + {length} if at < 0 else at"]
        lines.append(f"            out[obase + p * ostep] = {out_dtype}(b[bbase + at * bstep])" if kind == "gather" else
                     f"            out[obase + at * ostep] = {out_dtype}(b[bbase + p * bstep])")
    else:
        first, after = {"sum": ("v", "acc + v"), "prod": ("v", "acc * v"),
                        "recurrence": ("b[bbase + p * bstep]", "b[bbase + p * bstep] + v * acc")}[kind]
        lines += [f"        acc = {out_dtype}(0)"]  # (defined before the loop, as numba's CUDA compiler asks)
        lines += walk + [f"            v = {out_dtype}(a[base + p * step])",
                         f"            acc = {out_dtype}({first}) if q == 0 else {out_dtype}({after})",
                         "            out[obase + p * ostep] = acc"]
    return compile_kernel("\n".join(lines) + "\n")


@factory
def arange(dtype):
    return compile_kernel(f"""@cuda.jit(cache=True)
def kernel(n, start, step, out):
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        out[i] = np.{dtype}(start + i * step)
""")


@factory
def eye(dtype):
    return compile_kernel(f"""@cuda.jit(cache=True)
def kernel(rows, cols, k, out):
    for e in range(cuda.grid(1), rows * cols, cuda.gridsize(1)):
        out[e] = np.{dtype}(1) if e % cols - e // cols == k else np.{dtype}(0)
""")
