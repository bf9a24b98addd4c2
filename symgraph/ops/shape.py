"""Shape ops: shape, reshape, dimshuffle (transpose / expand / squeeze), concatenate, broadcast,
allocation (zeros, ones, full), arange, eye, repeat, tile, and stop_gradient."""
import numbers

import numpy as np

from ..config import dtype_or_floatx
from .base import (Op, Apply, TensorType, Variable, Constant, as_variable, as_int_scalar,
                   as_int_vector, constant_value, normalize_axis)


def static_entries(vec, n):
    """The entries of an int vector known at build time (None where unknown)."""
    value = constant_value(vec)
    if value is not None:
        return [int(v) for v in value]
    node = vec.owner
    if node is not None and isinstance(node.op, Shape):
        return list(node.inputs[0].type.shape)
    if node is not None and isinstance(node.op, MakeVector):
        return [None if constant_value(v) is None else int(constant_value(v)) for v in node.inputs]
    if node is not None and isinstance(node.op, Concatenate) and all(v.ndim == 1 for v in node.inputs):
        out = []
        for part in node.inputs:
            length = part.type.shape[0]
            if length is None:
                return [None] * n
            out += static_entries(part, length)
        return out
    return [None] * n


class Shape(Op):
    """x.shape as a symbolic int64 vector."""

    def make_node(self, x):
        x = as_variable(x)
        return Apply(self, [x], [Variable(TensorType("int64", (x.ndim,)))])

    def perform(self, node, inputs):
        return [np.asarray(inputs[0].shape, dtype=np.int64)]

    def grad(self, inputs, outputs, output_grads):
        return [None]

    def fold_static(self, node):
        shape = node.inputs[0].type.shape
        return None if None in shape else np.asarray(shape, dtype=np.int64)


def shape(x):
    """Symbolic shape of x; `shape(x)[0]` is its first length."""
    return Shape()(x)


class MakeVector(Op):
    """A vector from scalars: how shapes such as (batch, 10) become one int64 vector."""

    __props__ = ("dtype",)

    def __init__(self, dtype="int64"):
        self.dtype = dtype

    def make_node(self, *scalars):
        from .elemwise import cast
        scalars = [cast(as_variable(v), self.dtype) for v in scalars]
        if any(v.ndim != 0 for v in scalars):
            raise ValueError("MakeVector takes scalars")
        return Apply(self, scalars, [Variable(TensorType(self.dtype, (len(scalars),)))])

    def infer_shape(self, node, shapes):
        return [[len(node.inputs)]]

    def perform(self, node, inputs):
        return [np.array(inputs, dtype=self.dtype).reshape(len(inputs))]

    def grad(self, inputs, outputs, output_grads):
        return [output_grads[0][i] if v.dtype[0] == "f" else None for i, v in enumerate(inputs)]

    def fold_static(self, node):
        values = [constant_value(v) for v in node.inputs]
        return None if any(v is None for v in values) else np.array(values, dtype=self.dtype).reshape(len(values))


def _infer_minus_one(x, new_shape, dims):
    """Fill in -1 when the unknown lengths are x's own (reshape(x, (x.shape[0], -1)))."""
    node = new_shape.owner
    if node is None or not isinstance(node.op, MakeVector):
        return dims
    remaining = list(x.type.shape)
    dims = list(dims)
    for i, entry in enumerate(node.inputs):
        if dims[i] is not None:
            continue
        src = entry.owner
        if src is None or type(src.op).__name__ != "Subtensor" or src.op.spec != ("int",):
            return dims
        shape_node = src.inputs[0].owner
        k = constant_value(src.inputs[1])
        if shape_node is None or not isinstance(shape_node.op, Shape) or shape_node.inputs[0] is not x \
                or k is None or remaining[int(k)] == "used":
            return dims
        remaining[int(k)] = "used"
        dims[i] = "same"
    rest = [d for d in remaining if d != "used"]
    known = [d for d in dims if d not in ("same", -1)]
    if None in rest or None in known:
        return [None if d == "same" else d for d in dims]
    total, other = int(np.prod(rest)), int(np.prod(known))
    if other and total % other == 0:
        dims[dims.index(-1)] = total // other
    return [None if d == "same" else d for d in dims]


class Reshape(Op):
    __props__ = ("ndim",)

    def __init__(self, ndim):
        self.ndim = ndim

    def make_node(self, x, new_shape):
        x = as_variable(x)
        new_shape = as_int_vector(new_shape, "reshape's shape")
        if new_shape.type.shape[0] != self.ndim:
            raise ValueError(f"reshape: shape vector has length {new_shape.type.shape[0]}, "
                             f"expected {self.ndim}")
        dims = static_entries(new_shape, self.ndim)
        if dims.count(-1) > 1:
            raise ValueError("reshape: can only specify one unknown dimension (-1)")
        size = None if None in x.type.shape else int(np.prod(x.type.shape))
        known = [d for d in dims if d is not None and d != -1]
        if size is not None and None not in dims:
            if -1 in dims and all(isinstance(d, int) or is_length(d) for d in dims):
                rest = int(np.prod(known))
                if rest == 0 or size % rest:
                    raise ValueError(f"reshape: cannot reshape {x.describe()} (size {size}) into {tuple(dims)}")
                dims[dims.index(-1)] = size // rest
            elif int(np.prod(dims)) != size:
                raise ValueError(f"reshape: cannot reshape {x.describe()} (size {size}) into {tuple(dims)}")
        elif -1 in dims:
            dims = _infer_minus_one(x, new_shape, dims)
        dims = [None if d == -1 else d for d in dims]
        return Apply(self, [x, new_shape], [Variable(TensorType(x.dtype, dims))])

    def infer_shape(self, node, shapes):
        from .shape_infer import vector_entries, product, is_length
        from .elemwise import int_div
        dims = vector_entries(node.inputs[1], self.ndim)
        if -1 in dims and all(isinstance(d, int) or is_length(d) for d in dims):
            i = dims.index(-1)
            dims[i] = int_div(product(shapes[0]), product(dims[:i] + dims[i + 1:]))
        elif any(not isinstance(d, int) for d in dims):
            return None  # a symbolic entry might be -1: only the runtime knows
        return [dims]

    def perform(self, node, inputs):
        # (the method, with a list of Python ints: np.reshape given the shape array took 3.3
        # us of 32x32 floats, this 0.35)
        return [np.asarray(inputs[0]).reshape(inputs[1].tolist())]

    def grad(self, inputs, outputs, output_grads):
        return [reshape(output_grads[0], shape(inputs[0])), None]


def reshape(x, newshape, ndim=None):
    """Reshape like NumPy; `newshape` may hold symbolic lengths and one -1."""
    x = as_variable(x)
    vec = as_int_vector(newshape, "reshape's shape")
    n = vec.type.shape[0] if ndim is None else ndim
    if n is None:
        raise ValueError("reshape: the length of a symbolic shape must be known; pass ndim=")
    return Reshape(n)(x, vec)


def flatten(x, ndim=1):
    """Keep the first ndim-1 axes and flatten the rest into one (Theano's flatten)."""
    x = as_variable(x)
    if not 1 <= ndim <= max(x.ndim, 1):
        raise ValueError(f"flatten: ndim must be between 1 and {x.ndim}, got {ndim}")
    if ndim == 1:
        return reshape(x, [-1])
    sh = shape(x)
    return reshape(x, [sh[i] for i in range(ndim - 1)] + [-1])


class DimShuffle(Op):
    """Permute axes, insert broadcastable axes ('x') and drop length-1 axes."""

    __props__ = ("input_ndim", "pattern")

    def __init__(self, input_ndim, pattern):
        self.input_ndim, self.pattern = input_ndim, tuple(pattern)
        kept = [p for p in self.pattern if p != "x"]
        if sorted(set(kept)) != sorted(kept) or any(not 0 <= p < input_ndim for p in kept):
            raise ValueError(f"dimshuffle: invalid pattern {pattern} for {input_ndim} dimensions")
        self.dropped = tuple(i for i in range(input_ndim) if i not in kept)
        remaining = [i for i in range(input_ndim) if i not in self.dropped]
        self.perm = tuple(remaining.index(p) for p in kept)
        self.new_axes = tuple(i for i, p in enumerate(self.pattern) if p == "x")
        # x[:, None] inserts the new axes as a view (np.expand_dims costs 3 us a call).
        self.expand_index = tuple(None if p == "x" else slice(None) for p in self.pattern)
        self.permutes = self.perm != tuple(range(len(self.perm)))

    def __str__(self):
        return f"DimShuffle{{{','.join(map(str, self.pattern))}}}"

    def make_node(self, x):
        x = as_variable(x)
        if x.ndim != self.input_ndim:
            raise ValueError(f"dimshuffle{self.pattern} expects {self.input_ndim} dimensions, "
                             f"got {x.describe()}")
        for d in self.dropped:
            if x.type.shape[d] not in (1, None):
                raise ValueError(f"dimshuffle: cannot drop axis {d} of length "
                                 f"{x.type.shape[d]} of {x.describe()}")
        shp = tuple(1 if p == "x" else x.type.shape[p] for p in self.pattern)
        return Apply(self, [x], [Variable(TensorType(x.dtype, shp))])

    def infer_shape(self, node, shapes):
        return [[1 if p == "x" else shapes[0][p] for p in self.pattern]]

    def perform(self, node, inputs):
        return [self.apply_numpy(inputs[0])]

    def expression(self, x):
        """apply_numpy as a Python expression over the name x (executors write it inline)."""
        if self.dropped:
            x = f"np.squeeze({x}, axis={self.dropped})"
        if self.permutes:
            x = f"{x}.transpose({self.perm})"
        if self.new_axes:
            x += "[" + ", ".join("None" if p == "x" else ":" for p in self.pattern) + "]"
        return x

    def apply_numpy(self, x):
        if self.dropped:
            x = np.squeeze(x, axis=self.dropped)
        if self.permutes:
            x = x.transpose(self.perm)
        return x[self.expand_index] if self.new_axes else x

    def grad(self, inputs, outputs, output_grads):
        inverse = [self.pattern.index(i) if i in self.pattern else "x" for i in range(self.input_ndim)]
        return [DimShuffle(len(self.pattern), inverse)(output_grads[0])]

    def fold_static(self, node):
        value = constant_value(node.inputs[0])
        return None if value is None else self.apply_numpy(value)


def dimshuffle(x, *pattern):
    """`x.dimshuffle(1, 0, 'x')`: reorder axes, 'x' inserts a broadcastable axis."""
    x = as_variable(x)
    if len(pattern) == 1 and isinstance(pattern[0], (list, tuple)):
        pattern = pattern[0]
    return DimShuffle(x.ndim, pattern)(x)


def transpose(x, axes=None):
    x = as_variable(x)
    axes = tuple(reversed(range(x.ndim))) if axes is None else tuple(a % x.ndim for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of {x.ndim} axes")
    return x if axes == tuple(range(x.ndim)) else DimShuffle(x.ndim, axes)(x)


def swapaxes(x, a, b):
    x = as_variable(x)
    axes = list(range(x.ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return transpose(x, axes)


def expand_dims(x, axis):
    x = as_variable(x)
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    out_ndim = x.ndim + len(axes)
    axes = sorted(a % out_ndim for a in axes)
    it = iter(range(x.ndim))
    return DimShuffle(x.ndim, ["x" if i in axes else next(it) for i in range(out_ndim)])(x)


def squeeze(x, axis=None):
    """Drop axes of length 1 (axis=None: those whose length is statically 1)."""
    x = as_variable(x)
    axes = [i for i, s in enumerate(x.type.shape) if s == 1] if axis is None else normalize_axis(axis, x.ndim)
    return DimShuffle(x.ndim, [i for i in range(x.ndim) if i not in axes])(x)


def shape_padleft(x, n_ones=1):
    x = as_variable(x)
    return DimShuffle(x.ndim, ["x"] * n_ones + list(range(x.ndim)))(x)


def shape_padright(x, n_ones=1):
    x = as_variable(x)
    return DimShuffle(x.ndim, list(range(x.ndim)) + ["x"] * n_ones)(x)


class Concatenate(Op):
    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    def make_node(self, *xs):
        xs = [as_variable(x) for x in xs]
        if not xs:
            raise ValueError("concatenate needs at least one array")
        ndim = xs[0].ndim
        if ndim == 0 or any(x.ndim != ndim for x in xs):
            raise ValueError("concatenate: all inputs need the same number (>0) of dimensions: "
                             + "; ".join(x.describe() for x in xs))
        dtype = np.result_type(*[x.dtype for x in xs])
        shp = []
        for d in range(ndim):
            dims = [x.type.shape[d] for x in xs]
            if d == self.axis:
                shp.append(None if None in dims else sum(dims))
                continue
            known = {s for s in dims if s is not None}
            if len(known) > 1:
                raise ValueError(f"concatenate along axis {self.axis}: axis {d} lengths differ "
                                 f"{sorted(known)}: " + "; ".join(x.describe() for x in xs))
            shp.append(known.pop() if known else None)
        return Apply(self, xs, [Variable(TensorType(dtype, shp))])

    def infer_shape(self, node, shapes):
        from .shape_infer import product
        out = list(shapes[0])
        total = 0
        for s in shapes:
            total = total + s[self.axis]
        out[self.axis] = total
        return [out]

    def perform(self, node, inputs):
        return [np.concatenate(inputs, axis=self.axis).astype(node.outputs[0].dtype, copy=False)]

    def grad(self, inputs, outputs, output_grads):
        from .index import take_slice
        g, grads, start = output_grads[0], [], 0
        for x in inputs:
            stop = start + shape(x)[self.axis]
            gx = take_slice(g, self.axis, start, stop)
            grads.append(gx if x.dtype[0] in "fc" else None)
            start = stop
        return grads

    def fold_static(self, node):
        values = [constant_value(x) for x in node.inputs]
        return None if any(v is None for v in values) else np.concatenate(values, axis=self.axis)


def concatenate(xs, axis=0):
    xs = [as_variable(x) for x in xs]
    return Concatenate(normalize_axis(axis, xs[0].ndim)[0] if xs else 0)(*xs)


def stack(xs, axis=0):
    xs = [as_variable(x) for x in xs]
    ndim = xs[0].ndim + 1
    return concatenate([expand_dims(x, axis % ndim) for x in xs], axis=axis % ndim)


def broadcast_view(x, shape):
    """np.broadcast_to(x, shape): a read-only view, built directly for a C-ordered x
    (np.broadcast_to's argument handling costs 2-3 us a call, the view 0.3)."""
    lead = len(shape) - x.ndim
    if lead < 0 or not x.flags.c_contiguous:
        return np.broadcast_to(x, shape)  # its errors, and strided inputs
    strides = [0] * lead
    for d, t, s in zip(x.shape, shape[lead:], x.strides):
        if d == 1:
            strides.append(0)
        elif d == t:
            strides.append(s)
        else:
            return np.broadcast_to(x, shape)
    view = np.ndarray(shape, x.dtype, x if x.size else None, 0, tuple(strides))
    view.flags.writeable = False
    return view


class BroadcastTo(Op):
    def make_node(self, x, target):
        x = as_variable(x)
        target = as_int_vector(target, "broadcast_to's shape")
        n = target.type.shape[0]
        dims = static_entries(target, n)
        from .elemwise import broadcast_static
        probe = Variable(TensorType(x.dtype, dims))
        out = broadcast_static([x, probe], "broadcast_to")
        if x.ndim > n:
            raise ValueError(f"broadcast_to: cannot broadcast {x.describe()} to {n} dimensions")
        return Apply(self, [x, target], [Variable(TensorType(x.dtype, [d if d is not None else o for d, o in zip(dims, out)]))])

    def infer_shape(self, node, shapes):
        from .shape_infer import vector_entries
        return [vector_entries(node.inputs[1], node.outputs[0].ndim)]

    def perform(self, node, inputs):
        return [broadcast_view(inputs[0], tuple(inputs[1].tolist()))]

    def grad(self, inputs, outputs, output_grads):
        from .reduce import unbroadcast
        return [unbroadcast(output_grads[0], inputs[0]), None]


def broadcast_to(x, shape):
    return BroadcastTo()(x, shape)


class Alloc(Op):
    """An array of a given shape filled with one scalar value."""

    def make_node(self, value, target):
        value = as_variable(value)
        if value.ndim != 0:
            raise ValueError(f"fill value must be a scalar, got {value.describe()}")
        target = as_int_vector(target, "array shape")
        dims = static_entries(target, target.type.shape[0])
        return Apply(self, [value, target], [Variable(TensorType(value.dtype, dims))])

    def infer_shape(self, node, shapes):
        from .shape_infer import vector_entries
        return [vector_entries(node.inputs[1], node.outputs[0].ndim)]

    def perform(self, node, inputs):
        out = np.empty(tuple(inputs[1].tolist()), node.outputs[0].dtype)
        out.fill(inputs[0])  # np.full's argument handling costs more than the fill
        return [out]

    def grad(self, inputs, outputs, output_grads):
        return [output_grads[0].sum().astype(inputs[0].dtype), None]


def full(shape, fill_value, dtype=None):
    """An array of `shape` filled with `fill_value` (dtype as NumPy's full, unless given)."""
    fill = as_variable(fill_value)
    dtype = fill.dtype if dtype is None else dtype_or_floatx(dtype)
    if isinstance(fill, Constant):
        fill = Constant(np.asarray(fill.data, dtype))
    else:
        from .elemwise import cast
        fill = cast(fill, dtype)
    return Alloc()(fill, shape)


def is_zeros(v):
    """Whether v is zeros by construction: a constant 0, or an array filled with one (what grad
    hands an op for an output nothing reads). An op's gradient leaves out that output's term,
    which may divide by a gap that is 0 (eigh's eigenvectors of a repeated eigenvalue)."""
    if isinstance(v, Constant):
        return not np.any(v.data)
    node = v.owner
    return node is not None and isinstance(node.op, Alloc) and is_zeros(node.inputs[0])


def zeros(shape, dtype=None):
    return Alloc()(Constant(np.zeros((), dtype_or_floatx(dtype))), shape)


def ones(shape, dtype=None):
    return Alloc()(Constant(np.ones((), dtype_or_floatx(dtype))), shape)


def full_like(x, fill_value, dtype=None):
    x = as_variable(x)
    return full(shape(x), fill_value, dtype or x.dtype)


def zeros_like(x, dtype=None):
    return full_like(x, 0, dtype)


def ones_like(x, dtype=None):
    return full_like(x, 1, dtype)


class ARange(Op):
    __props__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = dtype

    def make_node(self, start, stop, step):
        ins = [as_variable(v) for v in (start, stop, step)]
        if any(v.ndim != 0 for v in ins):
            raise ValueError("arange takes scalar start, stop and step")
        values = [constant_value(v) for v in ins]
        length = None if any(v is None for v in values) else len(np.arange(*values))
        return Apply(self, ins, [Variable(TensorType(self.dtype, (length,)))])

    def perform(self, node, inputs):
        # Python numbers: np.arange converts 0-d arrays slowly (1.7 us against 0.4).
        return [np.arange(*[v.item() for v in inputs], dtype=self.dtype)]

    def grad(self, inputs, outputs, output_grads):
        return [None, None, None]


def arange(start, stop=None, step=1, dtype=None):
    """`sg.arange(n)` or `sg.arange(start, stop, step)`; n may be symbolic (`x.shape[0]`)."""
    if stop is None:
        start, stop = 0, start
    ins = [as_variable(v) for v in (start, stop, step)]
    if dtype is None:
        probes = [v.data.item() if getattr(v, "weak", False) else np.ones((), v.dtype) for v in ins]
        dtype = np.arange(*probes).dtype
    return ARange(np.dtype(dtype).name)(*ins)


class Eye(Op):
    __props__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = dtype

    def make_node(self, n, m, k):
        ins = [as_int_scalar(v, "eye's size") for v in (n, m, k)]
        dims = [constant_value(v) for v in ins[:2]]
        return Apply(self, ins, [Variable(TensorType(self.dtype, [None if d is None else int(d) for d in dims]))])

    def perform(self, node, inputs):
        return [np.eye(int(inputs[0]), int(inputs[1]), int(inputs[2]), dtype=self.dtype)]

    def grad(self, inputs, outputs, output_grads):
        return [None, None, None]


def eye(n, m=None, k=0, dtype=None):
    return Eye(dtype_or_floatx(dtype))(n, n if m is None else m, k)


class Repeat(Op):
    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    def make_node(self, x, repeats):
        x, repeats = as_variable(x), as_variable(repeats)
        if repeats.dtype[0] not in "iu" or repeats.ndim > 1:
            raise TypeError(f"repeat: repeats must be an int scalar or vector, got {repeats.describe()}")
        shp = list(x.type.shape)
        r, n = constant_value(repeats), shp[self.axis]
        shp[self.axis] = None if r is None or n is None else int(np.sum(np.broadcast_to(r, (n,))))
        return Apply(self, [x, repeats], [Variable(TensorType(x.dtype, shp))])

    def infer_shape(self, node, shapes):
        # (an upsampling's gradient asks for its output's shape: without this the forward
        # repeats ran again in the backward pass just to give it)
        repeats = node.inputs[1]
        if repeats.ndim != 0:
            return None  # (a count per value: their sum, only known by running it)
        out = list(shapes[0])
        r = constant_value(repeats)
        out[self.axis] = out[self.axis] * (int(r) if r is not None else repeats)
        return [out]

    def perform(self, node, inputs):
        return [np.repeat(inputs[0], inputs[1], axis=self.axis)]

    def grad(self, inputs, outputs, output_grads):
        from .index import inc_subtensor
        x, repeats = inputs
        if repeats.ndim == 0:
            # One count: each input value's copies lie side by side, so its gradient is the
            # sum over a new axis of that length (an upsampling's backward over (64, 32, 28,
            # 28) float32: a scatter-add 18.5-19.3 ms, this sum 1.95-2.0 on the numba backend).
            sh = shape(x)
            split = [sh[d] for d in range(self.axis + 1)] + [repeats] + [sh[d] for d in range(self.axis + 1, x.ndim)]
            return [reshape(output_grads[0], split).sum(axis=self.axis + 1), None]
        n = shape(x)[self.axis]
        source = Repeat(0)(arange(n), repeats)  # which input position each output came from
        index = (slice(None),) * self.axis + (source,)
        return [inc_subtensor(zeros_like(x)[index], output_grads[0]), None]


def repeat(x, repeats, axis=None):
    x = as_variable(x)
    if axis is None:
        x, axis = flatten(x), 0
    return Repeat(normalize_axis(axis, x.ndim)[0])(x, repeats)


class Tile(Op):
    __props__ = ("reps",)

    def __init__(self, reps):
        self.reps = tuple(int(r) for r in reps)

    def make_node(self, x):
        x = as_variable(x)
        if len(self.reps) != x.ndim:
            raise ValueError("Tile expects one repetition per axis")
        shp = [None if s is None else s * r for s, r in zip(x.type.shape, self.reps)]
        return Apply(self, [x], [Variable(TensorType(x.dtype, shp))])

    def infer_shape(self, node, shapes):
        return [[d * r for d, r in zip(shapes[0], self.reps)]]

    def perform(self, node, inputs):
        return [np.tile(inputs[0], self.reps)]

    def grad(self, inputs, outputs, output_grads):
        x = inputs[0]
        sh = shape(x)
        split = []
        for i, r in enumerate(self.reps):
            split += [r, sh[i]]
        g = reshape(output_grads[0], split)
        return [g.sum(axis=tuple(range(0, 2 * x.ndim, 2)))]


def tile(x, reps):
    x = as_variable(x)
    reps = (reps,) if isinstance(reps, numbers.Integral) else tuple(reps)
    if len(reps) > x.ndim:
        x = shape_padleft(x, len(reps) - x.ndim)
    reps = (1,) * (x.ndim - len(reps)) + reps
    return Tile(reps)(x)


class StopGradient(Op):
    """Identity whose gradient is disconnected: `stop_gradient(x)` is a constant to sg.grad."""

    def make_node(self, x):
        x = as_variable(x)
        return Apply(self, [x], [Variable(x.type)])

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def perform(self, node, inputs):
        return [inputs[0]]

    def grad(self, inputs, outputs, output_grads):
        return [None]


def stop_gradient(x):
    return StopGradient()(x)


class GradientClip(StopGradient):
    """Identity whose gradient is clipped to [lower, upper] (Theano's theano.gradient.grad_clip)."""
    __props__ = ("lower", "upper")

    def __init__(self, lower, upper):
        self.lower, self.upper = float(lower), float(upper)

    def grad(self, inputs, outputs, output_grads):
        from .elemwise import clip
        return [clip(output_grads[0], self.lower, self.upper)]


def grad_clip(x, lower_bound, upper_bound):
    """x, whose gradient is clipped elementwise to [lower_bound, upper_bound] on its way back
    (Theano's grad_clip: exploding gradients in recurrent nets)."""
    if lower_bound > upper_bound:
        raise ValueError(f"grad_clip: lower_bound {lower_bound} is above upper_bound {upper_bound}")
    return GradientClip(lower_bound, upper_bound)(x)


class ZeroGradient(StopGradient):
    """Identity whose gradient is zero but connected (Theano's zero_grad; StopGradient's is
    disconnected, so sg.grad refuses a cost that depends on x only through it)."""

    def grad(self, inputs, outputs, output_grads):
        return [zeros_like(inputs[0])]


def zero_grad(x):
    return ZeroGradient()(x)


def alloc(value, *shape):
    """Theano's alloc: `value` (a scalar) filling an array of the given lengths,
    alloc(0.0, n, 10)."""
    value = as_variable(value)
    return full(list(shape), value, value.dtype)


def fill(model, value):
    """Theano's fill: `value` broadcast to `model`'s shape (model's values unused)."""
    value = as_variable(value)
    return broadcast_to(value, shape(model)) if value.ndim else full(shape(model), value, value.dtype)


second = fill


def shape_padaxis(x, axis):
    """Theano's name for a new axis of length 1 at `axis`."""
    return expand_dims(x, axis)


def join(axis, *tensors):
    """Theano's join: concatenate(tensors, axis), axis first."""
    return concatenate(list(tensors), axis=axis)


def horizontal_stack(*tensors):
    """Matrices side by side (concatenated along axis 1)."""
    return concatenate(list(tensors), axis=1)


def vertical_stack(*tensors):
    """Matrices one above the other (concatenated along axis 0)."""
    return concatenate(list(tensors), axis=0)


def stacklists(arg):
    """Nested lists of scalars (or arrays) as one array: stacklists([[a, b], [c, d]]) is 2 x 2."""
    if isinstance(arg, (list, tuple)):
        return stack([stacklists(item) for item in arg])
    return as_variable(arg)


def roll(x, shift, axis=None):
    """NumPy's and Theano's roll: the elements moved `shift` places along `axis`, those pushed
    off the end coming back at the start (axis=None: of the flattened array, reshaped back).
    shift may be symbolic. Two slices joined: its gradient is the output's rolled back."""
    x = as_variable(x)
    if axis is None:
        return reshape(roll(flatten(x), shift, 0), shape(x))
    axis = _axis(axis, x, "roll")
    length = x.type.shape[axis]
    if isinstance(shift, (int, np.integer)) and length is not None:
        cut = length - int(shift) % length if length else 0  # (known here: static slices)
    else:
        n = shape(x)[axis]
        cut = n - as_variable(shift) % n
    before = (slice(None),) * axis
    return concatenate([x[before + (slice(cut, None),)], x[before + (slice(None, cut),)]], axis)


def addbroadcast(x, *axes):
    """Theano's addbroadcast: x, stated (and checked when it runs) to have length 1 along
    `axes`. symgraph broadcasts by NumPy's rules when a function runs, so Theano's broadcastable
    flags are needed nowhere; this keeps the check and the known length."""
    x = as_variable(x)
    axes = sorted({_axis(a, x, "addbroadcast") for a in axes})
    wrong = [a for a in axes if x.type.shape[a] not in (None, 1)]
    if wrong:
        raise ValueError(f"addbroadcast: axis {wrong[0]} of {x.describe()} has length {x.type.shape[wrong[0]]}, not 1")
    if all(x.type.shape[a] == 1 for a in axes):
        return x
    return reshape(x, [1 if a in axes else shape(x)[a] for a in range(x.ndim)])


def unbroadcast(x, *axes):
    """Theano's unbroadcast: x itself (symgraph has no broadcastable flags to clear: an axis of
    length 1 broadcasts where NumPy's rules say, and nowhere else)."""
    x = as_variable(x)
    for a in axes:
        _axis(a, x, "unbroadcast")
    return x


def patternbroadcast(x, broadcastable):
    """Theano's patternbroadcast: addbroadcast along the axes flagged True."""
    x = as_variable(x)
    if len(broadcastable) != x.ndim:
        raise ValueError(f"patternbroadcast: {len(broadcastable)} flags for {x.describe()} of {x.ndim} axes")
    return addbroadcast(x, *[a for a, flag in enumerate(broadcastable) if flag])


def _axis(axis, x, what):
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{what}: axis {axis} is out of range for {x.describe()}")
    return axis % x.ndim
