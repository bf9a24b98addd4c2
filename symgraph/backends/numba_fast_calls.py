"""The common call of an elementwise node, written out per node: at its first call, and again
once its serial kernels exist.

ElementwiseThunk.__call__ decides each call which kernel to run: shapes, layouts, the parallel
threshold, an input it may overwrite. Most calls of a small loop find the same answer, so
the thunk writes a function of its arity and dimensions that checks only that answer and
calls the kernel, runs the plan kept for another layout (ElementwiseThunk._plan) directly,
and hands everything else back to __call__. The executor's program calls `thunk.call`, which
the thunk replaces by that function.

Measured on f(x, y) = x * y + 1 over 4 floats: the thunk's Python took 0.85-0.9 us around a
0.47 us kernel call and a 0.28 us np.empty; the written function ~0.3. A node of several
outputs (a forward value and what its gradient reuses: (x - y) ** 2 and x - y) is written
the same way: over 1000 float32, 3.9 us through the thunk's methods, 1.9 written.

Inputs 0-d by their type (x / x.sum(), a learning rate in a shared 0-d variable or passed as a
number) are one value each of the node's own flat kernels, which the common call passes raveled
(x * s over 4 float32: 1.19 us at the node through the plan, 0.78 so). One plan is written out
the same way (single_values_call): arrays of the output's shape beside one-element values of
other types (x / x.sum(keepdims=True), a row of one value).
"""
# From this many values a 1-d input spread by a stride of 0 goes to its plan (cut to one value,
# the loop vectorized); below, the loop reads it through its stride: the plan's Python cost more
# (the gradient of a mean squared error over 1000 float32 4.3 us read so, 6.0 by the plan; 8000
# 7.4 and 7.0, 32000 18.5 and 9.7).
SPREAD_MIN = 8192

_written = {}  # (arity, ndim, contiguity checked, spread inputs, aliased input, outputs) -> factory


def fast_call(general, plain, wide, aliased, arity, ndim, check_contiguous, spread, alias, empty, dtypes, threshold,
              limit, plans, other, singles=()):
    """call(inputs) -> outputs, one per `dtypes`, for inputs of one shape: when every input has
    the first one's shape (and is C-ordered, if check_contiguous; if not, ndim 1, from
    SPREAD_MIN elements the inputs numbered in `spread` not spread by a stride of 0: else
    their plans) and fewer than `limit` elements, the kernel `aliased` writes the first output
    into input `alias` if that one is writeable and C-ordered, else `plain` into
    empty(shape, dtypes[0]); the other outputs into
    new arrays; from `threshold` (at most `limit`) elements the parallel kernel `wide` into new
    arrays (a node that may write into an input goes to general there); kernels that are None
    and other sizes go to general(inputs). Kernels take the outputs, then the inputs; those of
    ndim != 1 take their arrays raveled (C-ordered: views). Inputs of other shapes or layouts
    run plans[(shapes..., strides...)] when there is one, else other(inputs). The inputs
    numbered in `singles` are 0-d by their type (x * s): left out of the shape's tests (the
    shape is the first other input's), each passed raveled, one value the kernels read."""
    key = (arity, ndim, check_contiguous, tuple(spread), alias, len(dtypes), tuple(singles))
    factory = _written.get(key)
    if factory is None:
        factory = _written[key] = _write(*key)
    return factory(general, plain, wide, aliased, empty, tuple(dtypes), threshold, limit, plans, other)


def _write(arity, ndim, check_contiguous, spread, alias, n_outputs, singles):
    names = [f"a{i}" for i in range(arity)]
    flat = [f"{n}.ravel()" if i in singles or ndim != 1 else n for i, n in enumerate(names)]
    outs = [f"out{k}" for k in range(n_outputs)]
    flat_outs = [o if ndim == 1 else f"{o}.ravel()" for o in outs]
    arrays = [n for i, n in enumerate(names) if i not in singles]
    different = [f"{n}.shape != shape" for n in arrays[1:]]
    if check_contiguous:
        different += [f"not {n}.flags.c_contiguous" for n in arrays]
    lines = ["def factory(general, plain, wide, aliased, empty, dtypes, threshold, limit, plans, other):",
             f"    {', '.join(f'd{k}' for k in range(n_outputs))}, = dtypes",
             "    def call(inputs):",
             f"        {', '.join(names)}, = inputs",
             f"        shape = {arrays[0]}.shape"]
    layout = ", ".join([f"{n}.shape" for n in names] + [f"{n}.strides" for n in names])
    by_plan = [f"            plan = plans.get(({layout},))",
               "            return other(inputs) if plan is None else plan(inputs)"]
    if different:
        lines += [f"        if {' or '.join(different)}:", *by_plan]
    lines += [f"        size = {'shape[0]' if ndim == 1 else arrays[0] + '.size'}"]
    if spread and not check_contiguous:
        spread_out = " or ".join(f"not {names[i]}.strides[0]" for i in spread)
        lines += [f"        if size >= {SPREAD_MIN} and ({spread_out}):", *by_plan]
    # (one test for a small call: `threshold` is at most `limit`)
    lines += ["        if size >= threshold:",
              "            if size >= limit:",
              "                return general(inputs)"]
    if alias is None:
        lines += ["            if wide is None:",
                  "                return general(inputs)",
                  *_new_arrays(range(n_outputs), "            "),
                  f"            wide({', '.join(flat_outs + flat)})",
                  f"            return [{', '.join(outs)}]"]
    else:  # (in place from the threshold on: __call__'s)
        target = names[alias]
        lines += ["            return general(inputs)",
                  f"        flags = {target}.flags",
                  "        if flags.writeable and flags.c_contiguous:",
                  "            if aliased is None:",
                  "                return general(inputs)",
                  *_new_arrays(range(1, n_outputs), "            "),
                  f"            aliased({', '.join([flat[alias]] + flat_outs[1:] + flat)})",
                  f"            return [{', '.join([target] + outs[1:])}]"]
    lines += ["        if plain is None:",
              "            return general(inputs)"] + _into_new_arrays("plain", n_outputs, flat_outs, flat)
    return _factory(lines, f"<symgraph fast call {arity} {ndim}>")


def _new_arrays(numbers, indent):
    """Lines making the outputs of these numbers (out0, out1...: of dtypes d0, d1...) new arrays."""
    return [f"{indent}out{k} = empty(shape, d{k})" for k in numbers]


def _into_new_arrays(kernel, n_outputs, flat_outs, flat):
    """The last lines of a written call: `kernel` into new outputs, returned."""
    return [*_new_arrays(range(n_outputs), "        "),
            f"        {kernel}({', '.join(flat_outs + flat)})",
            f"        return [{', '.join(f'out{k}' for k in range(n_outputs))}]",
            "    return call"]


def _factory(lines, label):
    """The function `factory` the lines define."""
    env = {}
    exec(compile("\n".join(lines), label, "exec"), env)
    return env["factory"]


_written_single = {}  # (arity, ndim, single-value mask, aliased input, outputs) -> factory


def single_values_call(run, kernel_of, arity, ndim, mask, alias, empty, shape, dtypes):
    """call(inputs) -> outputs, one per `dtypes`, for one plan of ElementwiseThunk: C-ordered
    arrays of the outputs' `shape` beside single values (mask[i]: a 0-d or one-element input: a
    sum, a step size), the outputs small enough to be made afresh. The kernel for each way the
    call can go (the first output into input `alias` where that one is writeable, else into a
    new array; the other outputs new arrays) is kernel_of(into) once `run(inputs)` went that
    way; until then run does the call.
    Measured on x / s over 1000 float32 with a 0-d s: the plan through the thunk's methods
    2.48 us (a kernel call of 0.43), this function 0.85 (the node's whole call 2.94 -> 1.26);
    a node of two outputs, -x - b and x + b over 256 float32 with a 0-d b, 3.6 -> 1.5 us."""
    key = (arity, ndim, mask, alias, len(dtypes))
    factory = _written_single.get(key)
    if factory is None:
        factory = _written_single[key] = _write_single(*key)
    return factory(run, kernel_of, empty, shape, tuple(dtypes))


def _write_single(arity, ndim, mask, alias, n_outputs):
    names = [f"a{i}" for i in range(arity)]
    flat = [f"{n}.ravel()" if single or ndim != 1 else n for n, single in zip(names, mask)]
    outs = [f"out{k}" if ndim == 1 else f"out{k}.reshape(-1)" for k in range(n_outputs)]
    lines = ["def factory(run, kernel_of, empty, shape, dtypes):",
             f"    {', '.join(f'd{k}' for k in range(n_outputs))}, = dtypes",
             "    kernels = [None, None]  # into a new array, into the input",
             "    def call(inputs):",
             f"        {', '.join(names)}, = inputs"]
    if alias is not None:
        lines += [f"        if {names[alias]}.flags.writeable:",
                  "            kernel = kernels[1]",
                  "            if kernel is None:",
                  "                outs = run(inputs)",
                  "                kernels[1] = kernel_of(True)",
                  "                return outs",
                  *_new_arrays(range(1, n_outputs), "            "),
                  f"            kernel({', '.join([flat[alias]] + outs[1:] + flat)})",
                  f"            return [{', '.join([names[alias]] + [f'out{k}' for k in range(1, n_outputs)])}]"]
    lines += ["        kernel = kernels[0]",
              "        if kernel is None:",
              "            outs = run(inputs)",
              "            kernels[0] = kernel_of(False)",
              "            return outs"] + _into_new_arrays("kernel", n_outputs, outs, flat)
    return _factory(lines, f"<symgraph single-values call {arity} {ndim}>")
