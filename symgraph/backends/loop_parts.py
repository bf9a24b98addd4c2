"""A fused loop's values that vary along fewer of its axes than its output (a row's, a
column's, a single value's), split off to be computed once each rather than at every element.

A Composite over broadcast inputs (x - log(s) with s = exp(x).sum(axis=0, keepdims=True): s a
row) computes every step at every element of the output unless the loop does otherwise. The
broadcast kernels (numba_codegen) keep a column's values once a row at their loop levels and
fill buffers with a row's first; the reductions' kernels fill buffers with either, and the
whole-program tier (numba_program) small arrays. All split the Composite the same way here: the
parts, each computing the split values of one set of axes, and the rest, reading them as
inputs after its own.
"""
from ..ops.composite import Composite

# Ops of about one instruction a vector: a value computed from these alone costs no more than
# reading it back from a buffer (true division, integer division and mod cost 10x an add or more).
ONE_INSTRUCTION = frozenset(["add", "sub", "mul", "neg", "abs", "sign", "square", "maximum", "minimum", "where",
                             "clip", "relu", "floor", "ceil", "round_half_to_even", "eq", "neq", "lt", "le", "gt",
                             "ge", "logical_and", "logical_or", "logical_not", "bitwise_and", "bitwise_or",
                             "bitwise_xor", "invert", "isnan", "isinf", "isfinite", "trunc", "hard_sigmoid"])


def partial_values(composite, input_axes, axes, wanted=lambda part_axes: True):
    """([(part, part_axes)], rest). input_axes[i]: the loop's axes input i varies along; axes:
    those the output varies along. A step varying along fewer (part_axes, for which wanted is
    true) is split off where the loop's other steps read it and it, or a step it is computed
    from, costs more than an instruction (ONE_INSTRUCTION). Each part is a Composite of the
    loop's inputs computing the split steps of one part_axes; rest computes the outputs from
    the inputs and then the parts' outputs, in order. Nothing split: ([], composite)."""
    program, axes = composite.program, frozenset(axes)
    varies, costly, tmps = [], [], []
    for sop, refs, _ in program:
        t = [ref[1] for ref in refs if ref[0] == "tmp"]
        varies.append(frozenset().union(*(input_axes[ref[1]] for ref in refs if ref[0] == "in"),
                                        *(varies[j] for j in t)))
        costly.append((sop.name not in ONE_INSTRUCTION and not sop.name.startswith("cast_"))
                      or any(costly[j] for j in t))
        tmps.append(t)
    whole = [j for j in range(len(program)) if varies[j] >= axes]
    read_by_whole = set().union(*(tmps[j] for j in whole))
    split = [j for j in sorted(read_by_whole) if varies[j] < axes and costly[j] and wanted(varies[j])
             and j not in composite.outputs]
    if not split:
        return [], composite
    n_in, parts, slot = composite.n_inputs, [], {}
    for part_axes in dict.fromkeys(varies[j] for j in split):
        computed = [j for j in split if varies[j] == part_axes]
        steps, index = _steps_for(program, tmps, computed)
        parts.append((Composite(steps, [index[j] for j in computed], n_in), part_axes))
        for j in computed:
            slot[j] = n_in + len(slot)
    steps, index = _steps_for(program, tmps, composite.outputs, slot)
    return parts, Composite(steps, [index[o] for o in composite.outputs], n_in + len(slot))


def _steps_for(program, tmps, wanted, given=None):
    """(steps, index): the steps `wanted` are computed from, in order and renumbered (index: old
    step -> new); a step in `given` is read as that input instead."""
    given = given or {}
    needed, stack = set(), [j for j in wanted if j not in given]
    while stack:
        j = stack.pop()
        if j not in needed:
            needed.add(j)
            stack += [k for k in tmps[j] if k not in given]
    index = {j: n for n, j in enumerate(sorted(needed))}

    def renamed(ref):
        if ref[0] != "tmp":
            return ref
        return ("in", given[ref[1]]) if ref[1] in given else ("tmp", index[ref[1]])
    return [(program[j][0], tuple(renamed(r) for r in program[j][1]), program[j][2]) for j in sorted(needed)], index
