"""Sibling folds: reductions over every axis, or each row's, of the same arrays in one pass.

x.max() - x.min(), min-max scaling, a sum beside a sum of squares: each reduction is a node of
its own, and each node's loop read x from memory again (x.max() - x.min() of 4M float32: 0.19
ms in two passes, 0.11 in one; NumPy's 0.41). Where two or more reduction nodes of a graph read
exactly the same inputs, fold over the same axes, all of them or the last ones (x.sum(axis=1)
beside x.max(axis=1)), and take the loop's kernels (sum, mean, prod, max, min of floats), the
first of them to run computes all of them in one loop, each value folded into one accumulator
per node (one for the same fold of the same value: a sum and a mean); the others then hand
back what it computed.

The first to run is the first of the group the executor made a thunk for (the program runs
its nodes in that order, every call, and a graph with lazy branches is left alone, so the
others never run before it). They check that the arrays they are given are the very ones it
folded (another thread's call of the same function may have run in between); if not, or if
it ran its own loop alone (a small, empty or not C-ordered input), they run their own.

The loop is the full reductions' of numba_codegen._reduce_source, with one accumulator per
node: chunks of the flat values on all cores (one loop on one core below the parallel
threshold), or a task a row; float32 sums in float32 blocks of _SUM_BLOCK added into float64
(in float64 beside a max or a min), max and min as folds of numbers beside a NaN flag (one per
value folded: see SiblingFolds.source).

Folds over leading axes (a column's max and min) keep a loop each (numba_codegen.
_reduce_source's column paths would each need several accumulators).
"""
import functools
import math

import numpy as np

from ..ops import reduce as R
from ..ops.composite import CompositeReduce
from . import numba_codegen as codegen
from .numba_codegen import (_FOLDS_OF_NUMBERS, _FULL_CHUNKS, _SUM_BLOCK, _fold_lines, _folded, _init_literal,
                            _tracks_nan, compile_source, loop_forms, program_lines, step_source,
                            uses_checked_forms)

# Fewer values than this: each node runs its own thunk (NumPy's reduce, or its loop's whole
# call: the shared loop's lookups cost more than the second pass saves).
SIBLINGS_MIN = 1 << 10
_KINDS = ("sum", "mean", "prod", "max", "min")
_ONE_FULL = (True,)
_FLOATS = ("float32", "float64")


def foldable(node):
    """Whether a reduction node may share its loop: a float sum, mean, product, max or min
    over every axis or over the last ones (each row's), of a float array (Reduce) or of a
    fused loop (CompositeReduce) without range-checked forms."""
    op = node.op
    if not isinstance(op, (R.Reduce, CompositeReduce)) or op.kind not in _KINDS:
        return False
    out = node.outputs[0].dtype
    ndim = max(v.ndim for v in node.inputs)
    if out not in _FLOATS or ndim == 0 or not op.axis or tuple(op.axis) != tuple(range(ndim - len(op.axis), ndim)):
        return False
    if isinstance(op, R.Reduce):
        return node.inputs[0].dtype == out
    in_dtypes = tuple(v.dtype for v in node.inputs)
    return _value_dtype(op.composite) in _FLOATS and not uses_checked_forms(op.composite, in_dtypes)


def sibling_groups(nodes):
    """{node: (group, index)} for the foldable nodes (foldable) that share their inputs and
    axes with another one; none in a graph with lazy branches (whose nodes may run without the
    others)."""
    if any(hasattr(node.op, "branch_slots") for node in nodes):
        return {}
    by_inputs = {}
    for node in nodes:
        if foldable(node):
            by_inputs.setdefault((frozenset(node.inputs), tuple(node.op.axis)), []).append(node)
    found = {}
    for members in by_inputs.values():
        if len(members) > 1:
            group = SiblingFolds(members)
            found.update({node: (group, k) for k, node in enumerate(members)})
    return found


class SiblingFolds:
    """The reduction nodes of one group (sibling_groups) and their thunks (ReduceThunks, given
    by `member` as the executor makes them); the first of them made runs all of them."""

    def __init__(self, nodes):
        self.nodes = nodes
        self.thunks = [None] * len(nodes)
        self.leader = None  # the index of the first thunk made: it runs first
        self.kernels = {}
        self.pending = None  # (ids of the leader's inputs, one result per node) of its last call
        self.threshold = None  # values from which the loop runs on all cores
        # Axes kept before the folded ones: 0 folds every value (the kernel's chunks split
        # them), else each row of the folded axes' values is folded apart (a task a row).
        self.kept_axes = max(v.ndim for v in nodes[0].inputs) - len(nodes[0].op.axis)
        self.dtypes = [np.dtype(node.outputs[0].dtype) for node in nodes]
        self.keepdims = [node.op.keepdims for node in nodes]
        # The kernel writes each node's result (a mean divided) as the nodes' one dtype, else as
        # float64, each then made a new array of its dtype, as one of 1 along each axis kept.
        self.dtype = self.dtypes[0] if len(set(self.dtypes)) == 1 else np.dtype(np.float64)
        self.converted = any(self.keepdims) or len(set(self.dtypes)) > 1

    def member(self, index, thunk):
        """The thunk the executor runs for node `index`, whose own is `thunk`."""
        self.thunks[index] = thunk
        if self.leader is not None:
            return _Member(self._follower(index, thunk), self)
        self.leader = index
        self.order = self.nodes[index].inputs
        self.slots = [[list(self.order).index(v) for v in node.inputs] for node in self.nodes]
        # (the input of most axes: the array, where the others are single values)
        run, first = self._run, max(range(len(self.order)), key=lambda i: self.order[i].ndim)

        def lead(inputs):
            self.pending = None
            if inputs[first].size >= SIBLINGS_MIN:  # (a smaller array: NumPy's reduce or the loop's whole call)
                results = run(inputs)
                if results is not None:
                    self.pending = (tuple([id(a) for a in inputs]), results)
                    return [results[index]]
            return thunk.call(inputs)
        return _Member(lead, self)

    def _follower(self, index, thunk):
        slots = self.slots[index]

        def follow(inputs):
            pending = self.pending
            if pending is not None:
                ids, results = pending
                if all([id(a) == ids[s] for a, s in zip(inputs, slots)]):
                    return [results[index]]
            return thunk.call(inputs)
        return follow

    def _run(self, inputs):
        """Every node's result, from one loop; None where the inputs do not suit it (each
        node then runs its own thunk): C-ordered arrays of one shape, beside single values."""
        if len(inputs) == 1:  # (x.max() and x.min(): no loop over the inputs, 1.2 of 4.4 us at 10^4)
            a = inputs[0]
            if not a.flags.c_contiguous:
                return None
            shape, n, ndim, full, args = a.shape, a.size, a.ndim, _ONE_FULL, (a if a.ndim == 1 else a.reshape(-1),)
        else:
            shape = max([a.shape for a in inputs], key=len)
            n, ndim, full, args = math.prod(shape), len(shape), [], []
            for a in inputs:
                if a.shape == shape and a.flags.c_contiguous:
                    args.append(a.reshape(-1))
                    full.append(True)
                elif a.size == 1:
                    args.append(a.reshape(1))
                    full.append(False)
                else:
                    return None
            full = tuple(full)
        if self.threshold is None:  # (the thunks' thresholds, set once they are all made)
            if None in self.thunks:  # (a node whose thunk is not a fold's)
                return None
            self.threshold = min(thunk.threshold for thunk in self.thunks)
        kept = self.kept_axes
        rows = math.prod(shape[:kept])  # (n > 0: the leader's first test)
        parallel = n >= self.threshold and (not kept or rows > 1)
        kernel = self.kernels.get((full, parallel))
        compiled = kernel is None
        if compiled:
            kernel = compile_source(self.source(full, parallel))
        if kept:
            totals = np.empty((len(self.nodes), rows), self.dtype)
            kernel(totals, rows, n // rows, *args)
        else:
            totals = np.empty(len(self.nodes), self.dtype)
            if parallel:  # (made here: np.empty in a kernel costs a fresh process numba's allocator)
                kernel(totals, np.empty((min(n, _FULL_CHUNKS), len(self.nodes))), n, *args)
            else:
                kernel(totals, n, *args)
        if compiled:  # (once a call went through: numba's dispatcher directly, as ReduceThunk's)
            self.kernels[(full, parallel)] = kernel.dispatcher
        if kept:  # (each result a view of totals' row: the kept axes' shape, 1 along the folded ones if kept)
            folded = (1,) * (ndim - kept)
            return [(totals[k] if dtype == self.dtype else totals[k].astype(dtype)).reshape(
                shape[:kept] + folded if keepdims else shape[:kept])
                for k, (dtype, keepdims) in enumerate(zip(self.dtypes, self.keepdims))]
        if self.converted:
            ones = (1,) * ndim
            return [np.array(total, dtype).reshape(ones) if keepdims else np.array(total, dtype)
                    for total, dtype, keepdims in zip(totals.tolist(), self.dtypes, self.keepdims)]
        # (each result a 0-d view of totals: np.array of each total took 0.8 of a 10^4 max
        # and min's 2.6 us)
        return [totals[k, ...] for k in range(len(self.nodes))]

    def source(self, full, parallel):
        """kernel(totals, n0, a0, a1...): each node's fold of the flat values (a{i} of input i
        in the leader's order: n0 values, or one where not full[i]) into totals[k]; parallel,
        kernel(totals, partial, n0, a0...), each of partial's rows a chunk's folds; each row's
        (kept_axes), kernel(totals, rows, length, a0...), node k's fold of row r into totals[k, r]. Nodes
        folding the same values (x.max() and x.min()) read one computation of them and, max
        and min, one NaN flag: two flags of one value, each or-ed apart, kept the loop at two
        passes' time (max and min of 10^5 float32 10.9 us, 4.8 with one flag; a max alone 4.7)."""
        thunks = self.thunks
        in_dtypes = [v.dtype for v in self.order]
        folds = [(thunk.fold, thunk.acc_dtype.name) for thunk in thunks]
        forms = [loop_forms(thunk.composite) for thunk in thunks]
        forms = forms[0] if all(f is forms[0] for f in forms) else codegen.VECTOR_FORMS
        invariant = {f"x{i}": None for i in range(len(full)) if not full[i]}
        body_lines, values, named = [], [], {}
        for k, thunk in enumerate(thunks):
            program, outputs = thunk.composite.program, thunk.composite.outputs
            same = (tuple(program), tuple(outputs), tuple(self.slots[k]))
            if same not in named:
                loads = [(f"x{s}", in_dtypes[s]) for s in self.slots[k]]
                spell = functools.partial(step_source, forms=forms, invariant=invariant)
                body_lines += program_lines(thunk.composite, loads, "", spell, temp=f"u{k}_")
                named[same] = f"u{k}_{outputs[0]}"
            values.append(named[same])
        # (a NaN flag per value that a max or min folds: _FOLDS_OF_NUMBERS)
        flags = {}
        for value, (kind, acc) in zip(values, folds):
            if _tracks_nan(kind, acc):
                flags.setdefault(value, f"seen{len(flags)}")
        seen = [flags[value] if _tracks_nan(kind, acc) else None for value, (kind, acc) in zip(values, folds)]
        # One accumulator for the same fold of the same value (x.sum() and x.mean()): acc{own[k]}.
        first = {}
        own = [first.setdefault((value, fold), k) for k, (value, fold) in enumerate(zip(values, folds))]
        kept = [k for k in range(len(thunks)) if own[k] == k]
        # float32 sums in float32 blocks (as the nodes' own loops), but not beside a max or min:
        # LLVM left the loop of a blocked sum, a max and a min of 10^5 float32 scalar (77 us,
        # 12 unblocked, the sum in float64; a blocked sum and a max alone vectorized, 11).
        blocked = [not flags and kind == "sum" and acc == "float64" and _value_dtype(thunk.composite) == "float32"
                   for (kind, acc), thunk in zip(folds, thunks)]
        rows = self.kept_axes > 0
        params = ["totals"] + ["partial"] * (parallel and not rows) + (["rows", "length"] if rows else ["n0"]) \
            + [f"a{i}" for i in range(len(full))]
        lines = [f"@njit(cache=True, parallel={parallel}, error_model='numpy', nogil=True, fastmath={codegen.FASTMATH})",
                 f"def kernel({', '.join(params)}):"]
        lines += [f"    x{i} = a{i}[0]" for i in range(len(full)) if not full[i]]
        lines += [f"    {line}" for line in invariant.values() if line]
        # Each row's values folded apart (a task a row on all cores), its folds into
        # totals[k, row]; else on all cores a chunk of the values a task, each chunk's folds
        # written into partial's row, folded after; on one core one loop over them all.
        if rows:
            lines += [f"    for row in {'prange' if parallel else 'range'}(rows):",
                      "        lo, hi = row * length, (row + 1) * length"]
            top = "        "
        elif parallel:
            lines += ["    chunks = partial.shape[0]", "    for c in prange(chunks):",
                      "        lo, hi = c * n0 // chunks, (c + 1) * n0 // chunks"]
            top = "        "
        else:
            lines.append("    lo, hi = 0, n0")
            top = "    "
        lines += [f"{top}acc{k} = {_init_literal(*folds[k])}" for k in kept]
        lines += [f"{top}{flag} = False" for flag in flags.values()]
        indent = top + "    "
        if any(blocked):
            lines.append(f"{top}for b0 in range(lo, hi, {_SUM_BLOCK}):")
            lines += [f"{indent}block{k} = np.float32(0)" for k in kept if blocked[k]]
            lines.append(f"{indent}for r0 in range(np.uint64(b0), np.uint64(min(b0 + {_SUM_BLOCK}, hi))):")
            indent += "    "
        else:
            lines.append(f"{top}for r0 in range(np.uint64(lo), np.uint64(hi)):")
        lines += [f"{indent}x{i} = a{i}[r0]" for i in range(len(full)) if full[i]]
        lines += [indent + line for line in body_lines]
        for k in kept:
            kind, acc = folds[k]
            if blocked[k]:
                lines += [indent + line for line in _fold_lines("sum", f"block{k}", values[k], "float32")]
            elif seen[k]:
                lines.append(f"{indent}acc{k} = {_FOLDS_OF_NUMBERS[kind]}(acc{k}, np.{acc}({values[k]}))")
            else:
                lines += [indent + line for line in _fold_lines(kind, f"acc{k}", values[k], acc)]
        lines += [f"{indent}{flag} |= {value} != {value}" for value, flag in flags.items()]
        lines += [f"{top}    acc{k} = fold_add(acc{k}, np.float64(block{k}))" for k in kept if blocked[k]]
        # (a mean's sum divided in float64, then written as totals' dtype: as np.array(sum / n, dtype))
        if rows:
            lines += [f"{top}totals[{k}, row] = " + (f"acc{own[k]} / length" if node.op.kind == "mean"
                                                       else _folded(f"acc{own[k]}", seen[k], folds[k][1]))
                      for k, node in enumerate(self.nodes)]
            return "\n".join(lines) + "\n"
        if parallel:
            lines += [f"{top}partial[c, {k}] = {_folded(f'acc{k}', seen[k], folds[k][1])}" for k in kept]
            for k in kept:
                lines += [f"    acc{k} = {_init_literal(*folds[k])}", "    for c in range(chunks):"]
                lines += ["        " + line for line in _fold_lines(folds[k][0], f"acc{k}", f"partial[c, {k}]", folds[k][1])]
        else:
            lines += [f"    acc{k} = {_folded(f'acc{k}', seen[k], folds[k][1])}" for k in kept if seen[k]]
        lines += [f"    totals[{k}] = acc{own[k]}" + (" / n0" if node.op.kind == "mean" else "")
                  for k, node in enumerate(self.nodes)]
        return "\n".join(lines) + "\n"


def _value_dtype(composite):
    """The dtype of the values a fold of this one-output Composite folds."""
    return composite.program[composite.outputs[0]][2]


class _Member:
    """What the executor's program calls for one node of a group (`call`, as the thunks' own)."""

    def __init__(self, call, group):
        self.call, self.group = call, group

    def __call__(self, inputs):
        return self.call(inputs)

