"""einsum, NumPy's (and PyTensor's, PyTorch's, TensorFlow's): sums of products named by
subscripts, "ij,jk->ik". NumPy runs it, by the order of pairwise products its optimizer picks
(BLAS's for the contractions); an operand's gradient is another einsum, of the output's
gradient and the other operands."""
import string

import numpy as np

from .base import Op, Apply, TensorType, Variable, as_variable
from .shape import shape, broadcast_to, dimshuffle


def _parse(subscripts, operands):
    """(input subscripts, output subscript) of explicit or implicit (NumPy's rule) subscripts."""
    spec = subscripts.replace(" ", "")
    if "." in spec:
        raise NotImplementedError(f"einsum: ellipses ('...') are not supported, got {subscripts!r}")
    inputs, arrow, output = spec.partition("->")
    inputs = inputs.split(",")
    letters = set(string.ascii_letters)
    if any(set(s) - letters for s in inputs + [output]):
        raise ValueError(f"einsum: subscripts are letters, commas and '->', got {subscripts!r}")
    if len(inputs) != len(operands):
        raise ValueError(f"einsum: {subscripts!r} names {len(inputs)} operands, {len(operands)} given")
    if not arrow:  # (the letters that occur once, in alphabetical order)
        joined = "".join(inputs)
        output = "".join(sorted(c for c in set(joined) if joined.count(c) == 1))
    if len(set(output)) != len(output) or set(output) - set("".join(inputs)):
        raise ValueError(f"einsum: the output {output!r} must name each input letter once at most")
    return tuple(inputs), output


class Einsum(Op):
    __props__ = ("inputs", "output")

    def __init__(self, inputs, output):
        self.inputs, self.output = tuple(inputs), output

    def __str__(self):
        return f"Einsum{{{','.join(self.inputs)}->{self.output}}}"

    def make_node(self, *operands):
        operands = [as_variable(o) for o in operands]
        lengths = {}
        for subs, op in zip(self.inputs, operands):
            if len(subs) != op.ndim:
                raise ValueError(f"einsum: {subs!r} names {len(subs)} axes of {op.describe()}")
            for letter, n in zip(subs, op.type.shape):
                if n is not None and n != 1 and lengths.get(letter, n) not in (n, 1, None):
                    raise ValueError(f"einsum: axis {letter!r} has lengths {lengths[letter]} and {n}: "
                                     + "; ".join(o.describe() for o in operands))
                if n is not None and lengths.get(letter) in (None, 1):
                    lengths[letter] = n
        dtype = np.result_type(*[o.dtype for o in operands]).name
        return Apply(self, operands, [Variable(TensorType(dtype, tuple(lengths.get(c) for c in self.output)))])

    def perform(self, node, inputs):
        spec = ",".join(self.inputs) + "->" + self.output
        out = np.einsum(spec, *inputs, optimize=len(inputs) > 1)
        return [np.asarray(out, dtype=node.outputs[0].dtype)]

    def grad(self, inputs, outputs, output_grads):
        grads = []
        for k, (subs, x) in enumerate(zip(self.inputs, inputs)):
            if x.dtype[0] != "f":
                grads.append(None)
                continue
            if len(set(subs)) != len(subs):
                raise NotImplementedError(f"einsum's gradient for an operand with a repeated subscript "
                                          f"({subs!r}: a diagonal or trace) is not supported")
            others = [(s, v) for j, (s, v) in enumerate(zip(self.inputs, inputs)) if j != k]
            seen = set(self.output).union(*[set(s) for s, _ in others])
            kept = "".join(c for c in subs if c in seen)  # (the letters summed in x alone come back as broadcasts)
            g = Einsum((self.output,) + tuple(s for s, _ in others), kept)(output_grads[0], *[v for _, v in others])
            if kept != subs:
                g = broadcast_to(dimshuffle(g, *[kept.index(c) if c in kept else "x" for c in subs]), shape(x))
            grads.append(g)
        return grads


def einsum(subscripts, *operands):
    """NumPy's einsum of explicit ("ij,jk->ik") or implicit ("ij,jk") subscripts, without
    ellipses; differentiable (but for an operand with a repeated subscript, as "ii")."""
    inputs, output = _parse(subscripts, operands)
    return Einsum(inputs, output)(*operands)
