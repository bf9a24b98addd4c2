"""einsum, NumPy's (and PyTensor's, PyTorch's, TensorFlow's): sums of products named by
subscripts, "ij,jk->ik". NumPy runs it, by the order of pairwise products its optimizer picks
(BLAS's for the contractions); an operand's gradient is another einsum, of the output's
gradient and the other operands."""
import string

import numpy as np

from .base import Op, Apply, TensorType, Variable, as_variable
from .reduce import unbroadcast
from .shape import shape, broadcast_to, dimshuffle


def _parse(subscripts, operands):
    """(input subscripts, output subscript) of explicit or implicit (NumPy's rule) subscripts."""
    spec = subscripts.replace(" ", "")
    inputs, arrow, output = spec.partition("->")
    inputs = inputs.split(",")
    if len(inputs) != len(operands):
        raise ValueError(f"einsum: {subscripts!r} names {len(inputs)} operands, {len(operands)} given")
    inputs, output, batch = _without_ellipses(subscripts, inputs, output if arrow else None, operands)
    letters = set(string.ascii_letters)
    if any(set(s) - letters for s in inputs + [output or ""]):
        raise ValueError(f"einsum: subscripts are letters, commas, '...' and '->', got {subscripts!r}")
    if not arrow:  # (the ellipsis's axes, then the letters that occur once, in alphabetical order)
        joined = "".join(inputs)
        output = batch + "".join(sorted(c for c in set(joined) - set(batch) if joined.count(c) == 1))
    if len(set(output)) != len(output) or set(output) - set("".join(inputs)):
        raise ValueError(f"einsum: the output {output!r} must name each input letter once at most")
    return tuple(inputs), output


def _without_ellipses(subscripts, inputs, output, operands):
    """The subscripts with each '...' written out in letters no subscript uses (the operands'
    numbers of axes are known): NumPy's broadcasting of the ellipses' axes, aligned on the
    right, as broadcasting of those letters. Returns (inputs, output, the ellipsis's letters)."""
    if "." not in subscripts:
        return inputs, output, ""
    if any(s.count("...") > 1 or s.replace("...", "").count(".") for s in inputs + [output or ""]):
        raise ValueError(f"einsum: '...' at most once in each subscript, got {subscripts!r}")
    ranks = [as_variable(o).ndim - len(s.replace("...", "")) if "..." in s else 0 for s, o in zip(inputs, operands)]
    if any(r < 0 for r in ranks):
        raise ValueError(f"einsum: {subscripts!r} names more axes than the operands have: "
                         + "; ".join(as_variable(o).describe() for o in operands))
    used = set("".join(inputs + [output or ""]))
    batch = "".join([c for c in string.ascii_letters if c not in used][:max(ranks)])
    written = [s.replace("...", batch[len(batch) - r:] if r else "") for s, r in zip(inputs, ranks)]
    if output is not None:
        output = output.replace("...", batch)
    return written, output, batch


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
            grads.append(unbroadcast(g, x))  # (an axis of length 1 against others' n: summed back)
        return grads


def product_letters(inputs, output):
    """For two operands' subscripts, each letter naming one axis of an operand and none summed in
    one operand alone: (batch, left, contracted, right), the letters in both and the output, in a
    and the output, in both alone, in b and the output (the output's order, a's for contracted);
    None for other subscripts (three operands, diagonals, a letter summed in one operand)."""
    if len(inputs) != 2:
        return None
    sa, sb = inputs
    if len(set(sa)) != len(sa) or len(set(sb)) != len(sb) \
            or any(c not in sb and c not in output for c in sa) or any(c not in sa and c not in output for c in sb):
        return None
    return ([c for c in output if c in sa and c in sb], [c for c in output if c in sa and c not in sb],
            [c for c in sa if c in sb and c not in output], [c for c in output if c in sb and c not in sa])


def has_matrix_product(letters):
    """Whether product_letters' answer holds a matrix product: a letter summed beside a letter of
    one operand alone (not only dots of rows or outer products)."""
    _, left, contracted, right = letters
    return bool(contracted) and bool(left or right)


def einsum(subscripts, *operands):
    """NumPy's einsum of explicit ("ij,jk->ik") or implicit ("ij,jk") subscripts, with
    ellipses ("...ij,...jk->...ik": batches, broadcast as NumPy's) and repeated letters
    ("ii->i", "ii", "iij->j": diagonals and traces); differentiable."""
    inputs, output = _parse(subscripts, operands)
    taken = [_diagonals_taken(subs, as_variable(x)) for subs, x in zip(inputs, operands)]
    return Einsum([subs for subs, _ in taken], output)(*[x for _, x in taken])


def _diagonals_taken(subs, x):
    """An operand with a letter repeated ("ii", "iij": NumPy's diagonal of those axes) as its
    diagonal, one axis of that letter first, so that each letter names one axis and the
    gradient is the indexing's (the diagonal's entries only)."""
    from .shape import arange
    while len(set(subs)) != len(subs):
        letter = next(c for c in subs if subs.count(c) > 1)
        first = subs.index(letter)
        second = subs.index(letter, first + 1)
        n, m = x.type.shape[first], x.type.shape[second]
        if n is not None and m is not None and n != m:
            raise ValueError(f"einsum: the axes of the repeated {letter!r} in {subs!r} differ in length ({n} != {m}): "
                             f"{x.describe()}")
        rest = [a for a in range(len(subs)) if a not in (first, second)]
        k = arange(shape(x)[first])
        x = dimshuffle(x, first, second, *rest)[k, k]  # (an index past the second axis's end: an error)
        subs = letter + "".join(subs[a] for a in rest)
    return subs, x
