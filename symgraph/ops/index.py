"""Indexing: basic slices and integers, integer-array and boolean-mask indexing, and the
set/inc_subtensor updates. One op each for reading and for writing, both described by an
index *spec*: per entry 'int', 'array', 'newaxis' or ('slice', has_start, has_stop, has_step);
the integers, bounds and arrays themselves are the op's extra inputs (so they may be symbolic).
"""
import numbers

import numpy as np

from .base import Op, Apply, TensorType, Variable, Constant, as_variable, constant_value


def parse_index(x, index):
    """NumPy-style index -> (spec, index variables)."""
    if not isinstance(index, tuple):
        index = (index,)
    n_ellipsis = [i for i, e in enumerate(index) if e is Ellipsis]
    if len(n_ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = 0
    for e in index:
        if e is None or e is Ellipsis:
            continue
        v = e if isinstance(e, (Variable, slice)) else None
        if isinstance(e, slice) or isinstance(e, numbers.Integral):
            consumed += 1
        else:
            arr = as_variable(e) if v is None else v
            consumed += arr.ndim if arr.dtype == "bool" else 1
    if n_ellipsis:
        i = n_ellipsis[0]
        index = index[:i] + (slice(None),) * (x.ndim - consumed) + index[i + 1:]
    if consumed > x.ndim:
        raise IndexError(f"too many indices ({consumed}) for {x.describe()}")
    spec, args = [], []
    for e in index:
        if e is None:
            spec.append("newaxis")
        elif isinstance(e, slice):
            parts = [e.start, e.stop, e.step]
            spec.append(("slice",) + tuple(p is not None for p in parts))
            for p in parts:
                if p is not None:
                    args.append(_index_scalar(p))
        elif isinstance(e, numbers.Integral) or (isinstance(e, Variable) and e.ndim == 0 and e.dtype != "bool"):
            spec.append("int")
            args.append(_index_scalar(e))
        else:
            arr = as_variable(np.asarray(e) if isinstance(e, list) else e)
            if arr.dtype != "bool" and arr.dtype[0] not in "iu":
                raise IndexError(f"arrays used as indices must be integers or booleans, got {arr.describe()}")
            spec.append("array")
            args.append(arr)
    return tuple(spec), args


def _index_scalar(v):
    v = as_variable(v)
    if v.ndim != 0 or v.dtype[0] not in "iu":
        raise IndexError(f"slice bounds and indices must be integer scalars, got {v.describe()}")
    return v


def build_index(spec, args):
    """The NumPy index tuple for concrete index values."""
    out, it = [], iter(args)
    for e in spec:
        if e == "newaxis":
            out.append(None)
        elif e == "int":
            out.append(int(next(it)))
        elif e == "array":
            out.append(next(it))
        else:
            out.append(slice(*[int(next(it)) if has else None for has in e[1:]]))
    return tuple(out)


def constant_index_text(spec, args):
    """The index as Python source (`::-1, 2, None`) when it is basic (slices, integers, newaxis)
    with constant bounds, so an executor can write x[...] inline as a view; None otherwise."""
    if "array" in spec or not all(isinstance(a, Constant) and np.ndim(a.data) == 0 for a in args):
        return None
    values, parts = iter(int(a.data) for a in args), []
    for e in spec:
        if e == "newaxis":
            parts.append("None")
        elif e == "int":
            parts.append(str(next(values)))
        else:
            parts.append(":".join(str(next(values)) if has else "" for has in e[1:]))
    return ", ".join(parts) + ("," if len(parts) == 1 else "")


def _static_slice_length(entry, args, length):
    values = [constant_value(a) if has else None for has, a in zip(entry[1:], args)]
    if length is None:
        return None
    if any(has and v is None for has, v in zip(entry[1:], values)):
        return None
    return len(range(*slice(*[None if v is None else int(v) for v in values]).indices(length)))


def indexed_type(x, spec, args):
    """Static type of x[index]: NumPy's rules for where advanced-index axes go."""
    from .elemwise import broadcast_static
    shape, dim, it = [], 0, iter(args)
    advanced = "array" in spec
    adv_vars, adv_at, adv_positions = [], None, []
    for pos, e in enumerate(spec):
        if e == "newaxis":
            shape.append(1)
        elif e == "int" or e == "array":
            arg = next(it)
            if e == "int" and not advanced:
                dim += 1
                continue
            adv_positions.append(pos)
            if adv_at is None:
                adv_at = len(shape)
            if arg.dtype == "bool":
                if arg.ndim and x.type.shape[dim:dim + arg.ndim] != arg.type.shape and None not in arg.type.shape \
                        and None not in x.type.shape[dim:dim + arg.ndim]:
                    raise IndexError(f"boolean index of shape {arg.type.shape} does not match "
                                     f"{x.describe()} at axis {dim}")
                adv_vars.append(Variable(TensorType("int64", (None,))))
                dim += arg.ndim
            else:
                adv_vars.append(arg)
                dim += 1
        else:
            parts = [next(it) if has else None for has in e[1:]]
            shape.append(_static_slice_length(e, [p for p in parts], x.type.shape[dim]))
            dim += 1
    shape += list(x.type.shape[dim:])
    if advanced:
        contiguous = adv_positions == list(range(adv_positions[0], adv_positions[-1] + 1))
        adv_shape = list(broadcast_static(adv_vars, "advanced index"))
        at = adv_at if contiguous else 0
        shape = shape[:at] + adv_shape + shape[at:]
    return TensorType(x.dtype, shape)


WHOLE_AXIS = ("slice", False, False, False)  # `:` in a spec (no start, stop or step input)


class Subtensor(Op):
    """x[index] for any NumPy index (basic, integer-array or boolean)."""

    __props__ = ("spec",)

    def __init__(self, spec):
        self.spec = spec

    def __str__(self):
        return "Subtensor{" + ", ".join(_spec_str(e) for e in self.spec) + "}"

    def make_node(self, x, *args):
        x = as_variable(x)
        return Apply(self, [x, *args], [Variable(indexed_type(x, self.spec, list(args)))])

    def perform(self, node, inputs):
        out = inputs[0][build_index(self.spec, inputs[1:])]
        return [np.asarray(out)]

    def grad(self, inputs, outputs, output_grads):
        from .shape import zeros_like
        x = inputs[0]
        if x.dtype[0] not in "fc":
            return [None] * len(inputs)
        gx = IncSubtensor(self.spec, False)(zeros_like(x), output_grads[0], *inputs[1:])
        return [gx] + [None] * (len(inputs) - 1)

    def fold_static(self, node):
        if "array" in self.spec:
            return None
        source = node.inputs[0].owner
        if self.spec == ("int",) and source is not None and type(source.op).__name__ == "Shape":
            k = constant_value(node.inputs[1])  # x.shape[k] is known when axis k is
            dim = None if k is None else source.inputs[0].type.shape[int(k)]
            return None if dim is None else np.asarray(dim, dtype=np.int64)
        values = [constant_value(v) for v in node.inputs]
        return None if any(v is None for v in values) else np.asarray(values[0][build_index(self.spec, values[1:])])


def _spec_str(e):
    if isinstance(e, tuple):
        return ":".join("?" if has else "" for has in e[1:]) or ":"
    return {"int": "i", "array": "array", "newaxis": "None"}[e]


def getitem(x, index):
    """x[index] with NumPy semantics (`x[1:, ::2, 0]`, `logp[sg.arange(n), y]`, `x[x > 0]`)."""
    x = as_variable(x)
    spec, args = parse_index(x, index)
    return Subtensor(spec)(x, *args)


def take_slice(x, axis, start, stop):
    return getitem(x, (slice(None),) * axis + (slice(start, stop),))


class IncSubtensor(Op):
    """A copy of x with x[index] set to, or incremented by, y (repeated indices accumulate).
    inplace: x's buffer dies here (plan_inplace decided), so it is written instead of copied
    (the gradient of a gather: zeros the size of the whole array, then a scatter)."""

    __props__ = ("spec", "set_instead_of_inc", "inplace")

    def __init__(self, spec, set_instead_of_inc, inplace=False):
        self.spec, self.set_instead_of_inc, self.inplace = spec, set_instead_of_inc, inplace

    def __str__(self):
        name = "SetSubtensor" if self.set_instead_of_inc else "IncSubtensor"
        return name + "{" + ", ".join(_spec_str(e) for e in self.spec) + (",inplace}" if self.inplace else "}")

    def make_node(self, x, y, *args):
        x, y = as_variable(x), as_variable(y)
        if isinstance(y, Constant) and y.weak:
            y = Constant(np.asarray(y.data, dtype=x.dtype))
        if not np.can_cast(y.dtype, x.dtype, "same_kind"):
            raise TypeError(f"cannot write {y.describe()} into {x.describe()}: dtype would change kind")
        region = Variable(indexed_type(x, self.spec, list(args)))
        from .elemwise import broadcast_static
        if y.ndim > region.ndim:
            raise ValueError(f"cannot write {y.describe()} into a region of {region.ndim} dimensions of {x.describe()}")
        broadcast_static([region, y], "set/inc_subtensor")
        return Apply(self, [x, y, *args], [Variable(x.type)])

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def perform(self, node, inputs):
        x, y = inputs[0], inputs[1]
        index = build_index(self.spec, inputs[2:])
        out = x if self.inplace and x.flags.writeable else x.copy()
        if self.set_instead_of_inc:
            out[index] = y
        elif "array" in self.spec:
            np.add.at(out, _expand_masks(index), y)
        else:
            out[index] += y
        return [out]

    def grad(self, inputs, outputs, output_grads):
        from .reduce import unbroadcast
        x, y, args = inputs[0], inputs[1], inputs[2:]
        g = output_grads[0]
        gx = IncSubtensor(self.spec, True)(g, 0, *args) if self.set_instead_of_inc else g
        gy = unbroadcast(Subtensor(self.spec)(g, *args), y) if y.dtype[0] in "fc" else None
        return [gx if x.dtype[0] in "fc" else None, gy] + [None] * len(args)


def _expand_masks(index):
    """Boolean masks as their integer positions (what ufunc.at understands)."""
    out = []
    for e in index:
        if isinstance(e, np.ndarray) and e.dtype == bool:
            out.extend(np.nonzero(e))
        else:
            out.append(e)
    return tuple(out)


def _region_of(x_indexed, what):
    node = x_indexed.owner
    if node is None or not isinstance(node.op, Subtensor):
        raise TypeError(f"{what} expects an indexed variable such as x[idx], got {x_indexed.describe()}")
    return node


def set_subtensor(x_indexed, y):
    """A copy of x with x[idx] = y: `sg.set_subtensor(x[1:3], 0)`."""
    node = _region_of(x_indexed, "set_subtensor")
    return IncSubtensor(node.op.spec, True)(node.inputs[0], y, *node.inputs[1:])


def inc_subtensor(x_indexed, y):
    """A copy of x with y added at x[idx]; repeated indices accumulate."""
    node = _region_of(x_indexed, "inc_subtensor")
    return IncSubtensor(node.op.spec, False)(node.inputs[0], y, *node.inputs[1:])
