"""Fused elementwise loops, made by the rewriter's fusion stage.

A Composite is a small program of scalar ops (rows of the scalar-op table) over its inputs:
one loop over memory, every intermediate in registers (in the Numba backend). Its `str`
names the scalar expression, e.g. `Composite{add(mul(i0, i1), exp(i2))}`.
CompositeReduce is a Composite whose single output is reduced at once, so the elementwise
result is never materialized.

Program steps are (scalar_op, refs, dtype); a ref is ("in", k), ("tmp", j) or
("const", value, dtype).
"""
import numpy as np

from .base import Op, Apply, TensorType, Variable
from .elemwise import broadcast_static, Elemwise
from .reduce import _NUMPY, _reduced_shape, Reduce


class Composite(Op):
    __props__ = ("program", "outputs", "n_inputs", "inplace")

    def __init__(self, program, outputs, n_inputs, inplace=None):
        self.program, self.outputs, self.n_inputs = tuple(program), tuple(outputs), n_inputs
        self.inplace = inplace  # input overwritten with output 0 (set by memory planning)

    def _arg(self, ref, inputs, temps):
        kind = ref[0]
        if kind == "in":
            return inputs[ref[1]]
        if kind == "tmp":
            return temps[ref[1]]
        return np.asarray(ref[1], dtype=ref[2])

    def _shared_steps(self):
        """Steps read more than once: printed once as t<k>=... so the text shows no repeats."""
        counts = {}
        for _, refs, _ in self.program:
            for r in refs:
                if r[0] == "tmp":
                    counts[r[1]] = counts.get(r[1], 0) + 1
        for o in self.outputs:
            counts[o] = counts.get(o, 0) + 1
        return {k for k, n in counts.items() if n > 1}

    def expression(self, step, named=frozenset(), top=True):
        if step in named and not top:
            return f"t{step}"
        sop, refs, _ = self.program[step]
        return f"{sop.name}({', '.join(self._ref_str(r, named) for r in refs)})"

    def _ref_str(self, ref, named):
        kind, value = ref[0], ref[1]
        if kind == "in":
            return f"i{value}"
        if kind == "const":
            return str(np.asarray(value, dtype=ref[2]))
        return self.expression(value, named, top=False)

    def __str__(self):
        named = self._shared_steps()
        lets = [f"t{k}={self.expression(k, named)}" for k in sorted(named)]
        outs = [f"t{o}" if o in named else self.expression(o, named) for o in self.outputs]
        text = "; ".join(lets + [", ".join(outs)])
        return f"Composite{{{text}}}" + (",inplace" if self.inplace is not None else "")

    def dependencies(self, step):
        """The input positions a program step reads, directly or through earlier steps."""
        deps = set()
        for ref in self.program[step][1]:
            if ref[0] == "in":
                deps.add(ref[1])
            elif ref[0] == "tmp":
                deps |= self.dependencies(ref[1])
        return deps

    def make_node(self, *inputs):
        outs = []
        for o in self.outputs:
            deps = sorted(self.dependencies(o))
            shape = broadcast_static([inputs[k] for k in deps], str(self)) if deps else ()
            outs.append(Variable(TensorType(self.program[o][2], shape)))
        return Apply(self, list(inputs), outs)

    def infer_shape(self, node, shapes):
        from .shape_infer import broadcast_dims
        return [broadcast_dims([shapes[k] for k in sorted(self.dependencies(o))], out.ndim)
                for o, out in zip(self.outputs, node.outputs)]

    def evaluate(self, inputs, out=None):
        temps = []
        last = len(self.program) - 1
        for step, (sop, refs, dtype) in enumerate(self.program):
            values = [self._arg(r, inputs, temps) for r in refs]
            result = None
            if out is not None and step == last and isinstance(sop.impl, np.ufunc):
                shape = np.broadcast_shapes(*[np.shape(v) for v in values])
                if shape == out.shape and out.dtype == dtype:
                    result = sop.impl(*values, out=out)
            if result is None:
                result = sop(values, dtype)
                if type(result) is not np.ndarray or result.dtype != dtype:
                    result = np.asarray(result, dtype=dtype)
            temps.append(result)
        return [temps[o] for o in self.outputs]

    def perform(self, node, inputs):
        target = inputs[self.inplace] if self.inplace is not None else None
        return self.evaluate(inputs, out=target)

    def build_graph(self, inputs):
        """The same computation as ordinary Elemwise nodes (for gradients)."""
        from ..graph import Constant
        temps = []
        for sop, refs, dtype in self.program:
            args = [Constant(self._arg(r, inputs, temps)) if r[0] == "const" else self._arg(r, inputs, temps)
                    for r in refs]
            temps.append(Elemwise(sop)(*args))
        return [temps[o] for o in self.outputs]

    def grad(self, inputs, outputs, output_grads):
        from ..grad import partial_grads
        return partial_grads(self.build_graph, inputs, output_grads)


def output_alone(composite, k):
    """(a Composite of the steps output k needs, computing it alone; the positions of the
    inputs it reads, in order): one output of a loop of several taken apart (a fold of it)."""
    needed, todo = set(), [composite.outputs[k]]
    while todo:
        step = todo.pop()
        if step not in needed:
            needed.add(step)
            todo += [ref[1] for ref in composite.program[step][1] if ref[0] == "tmp"]
    steps = sorted(needed)
    renumbered = {step: j for j, step in enumerate(steps)}
    inputs = sorted({ref[1] for step in steps for ref in composite.program[step][1] if ref[0] == "in"})
    position = {i: j for j, i in enumerate(inputs)}

    def moved(ref):
        return ("tmp", renumbered[ref[1]]) if ref[0] == "tmp" else ("in", position[ref[1]]) if ref[0] == "in" else ref
    program = [(sop, tuple(moved(ref) for ref in refs), dtype)
               for sop, refs, dtype in (composite.program[step] for step in steps)]
    return Composite(program, [renumbered[composite.outputs[k]]], len(inputs)), inputs


def cast_output(composite, dtype):
    """The composite with its single output converted to `dtype` (itself if already of it): a
    backend's fold of truth values (any, all) over a loop of numbers reads each as bool."""
    (out,) = composite.outputs
    if composite.program[out][2] == dtype:
        return composite
    from .elemwise import cast_scalar_op
    steps = list(composite.program) + [(cast_scalar_op(dtype), (("tmp", out),), dtype)]
    return Composite(steps, [len(steps) - 1], composite.n_inputs)


def folds_of_one(composite, kind, dtype):
    """The composite whose values are each a `kind` fold (sum, prod, mean, max, min, any, all)
    of its own value alone, as NumPy's: converted to `dtype`; a float sum or mean also added to
    the 0 NumPy's starts from (-0.0 gives 0.0). A backend runs it along reduced axes of length 1."""
    composite = cast_output(composite, dtype)
    if kind not in ("sum", "mean") or np.dtype(dtype).kind != "f":
        return composite
    from .elemwise import TABLE
    (out,) = composite.outputs
    steps = list(composite.program) + [(TABLE["add"], (("tmp", out), ("const", 0.0, dtype)), dtype)]
    return Composite(steps, [len(steps) - 1], composite.n_inputs)


class CompositeReduce(Op):
    """reduce(kind, axis)(composite(*inputs)) in one pass: the elementwise result is not stored."""

    __props__ = ("composite", "kind", "axis", "keepdims")

    def __init__(self, composite, kind, axis, keepdims):
        self.composite, self.kind, self.axis, self.keepdims = composite, kind, tuple(axis), bool(keepdims)

    def __str__(self):
        return f"{self.kind.capitalize()}{{axis={self.axis}}}({str(self.composite)})"

    def make_node(self, *inputs):
        elementwise = self.composite.make_node(*inputs).outputs[0]
        reduced = Reduce(self.kind, self.axis, self.keepdims).make_node(elementwise).outputs[0]
        return Apply(self, list(inputs), [Variable(TensorType(reduced.dtype, _reduced_shape(
            elementwise, self.axis, self.keepdims)))])

    def infer_shape(self, node, shapes):
        elementwise = self.composite.infer_shape(node, shapes)[0]
        return [[(1 if self.keepdims else None) if i in self.axis else d
                 for i, d in enumerate(elementwise) if self.keepdims or i not in self.axis]]

    def perform(self, node, inputs):
        value = self.composite.evaluate(inputs)[0]
        out = _NUMPY[self.kind](value, axis=self.axis, keepdims=self.keepdims)
        return [np.asarray(out, dtype=node.outputs[0].dtype)]

    def grad(self, inputs, outputs, output_grads):
        from ..grad import partial_grads
        return partial_grads(lambda stand_ins: [Reduce(self.kind, self.axis, self.keepdims)(
            self.composite.build_graph(stand_ins)[0])], inputs, output_grads)
