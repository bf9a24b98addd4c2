"""The Op base class and the helpers every op family uses.

An op's equality and hash come from its `__props__` (PyTensor's habit): two applications of
equal ops to the same inputs compute the same thing, which is what merging relies on.
"""
import functools
import inspect
import numbers

import numpy as np

from ..graph import Variable, Constant, Apply, TensorType


class Op:
    __props__ = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _theanos_signatures(cls)

    def _props(self):
        return tuple(getattr(self, p) for p in self.__props__)

    def __eq__(self, other):
        return type(self) is type(other) and self._props() == other._props()

    def __hash__(self):
        return hash((type(self), self._props()))

    def __str__(self):
        props = self._props()
        name = type(self).__name__
        return f"{name}{{{', '.join(map(str, props))}}}" if props else name

    __repr__ = __str__

    def __call__(self, *inputs):
        node = self.make_node(*inputs)
        return node.outputs[0] if len(node.outputs) == 1 else node.outputs

    def make_node(self, *inputs):
        raise NotImplementedError

    def perform(self, node, inputs):
        """NumPy reference: list of input arrays -> list of output arrays (never mutating inputs)."""
        raise NotImplementedError

    def grad(self, inputs, outputs, output_grads):
        """Symbolic gradients of the inputs; None where an input gets no gradient."""
        raise NotImplementedError(f"{self} has no gradient")

    def infer_shape(self, node, input_shapes):
        """Symbolic output shapes (tuples of scalar int variables), or None when unknown."""
        return None


def _theanos_signatures(cls):
    """An op a user wrote for Theano (its "Extending Theano" forms) runs as symgraph's:
    perform(node, inputs, output_storage) storing each output in its cell, grad(inputs,
    output_grads) or L_op(inputs, outputs, output_grads), infer_shape(fgraph, node, shapes)."""
    own = cls.__dict__
    if "perform" in own and _arity(own["perform"]) >= 4:
        cls.perform = _storing_perform(own["perform"])
    if "L_op" in own:
        cls.grad = lambda self, inputs, outputs, output_grads: self.L_op(inputs, outputs, output_grads)
    elif "grad" in own and _arity(own["grad"]) == 3:
        cls.grad = _outputs_not_read(own["grad"])
    if "infer_shape" in own and _arity(own["infer_shape"]) == 4:
        cls.infer_shape = _without_fgraph(own["infer_shape"])


def _arity(method):
    return len(inspect.signature(method).parameters)


def _storing_perform(perform):
    @functools.wraps(perform)
    def adapted(self, node, inputs):
        storage = [[None] for _ in node.outputs]
        perform(self, node, inputs, storage)
        return [stored_output(self, k, cell[0], var) for k, (cell, var) in enumerate(zip(storage, node.outputs))]
    return adapted


def _outputs_not_read(grad):
    @functools.wraps(grad)
    def adapted(self, inputs, outputs, output_grads):
        return grad(self, inputs, output_grads)
    return adapted


def _without_fgraph(infer_shape):
    @functools.wraps(infer_shape)
    def adapted(self, node, shapes):
        return infer_shape(self, None, node, shapes)
    return adapted


def stored_output(op, k, value, var):
    """A user op's output k as an array of its variable's type: a safe cast is made (a Python
    number, an int array for a float output), anything else is an error naming the op."""
    if value is None:
        raise ValueError(f"{op}: perform stored nothing for output {k}")
    array = np.asarray(value)
    if array.ndim != var.ndim:
        raise TypeError(f"{op}: perform made a {array.ndim}-d array for output {k}, declared {var.type}")
    if array.dtype != var.type.np_dtype:
        if not np.can_cast(array.dtype, var.type.np_dtype, "safe") and not (array.ndim == 0 and np.isscalar(value)):
            raise TypeError(f"{op}: perform made a {array.dtype} array for output {k}, declared {var.type} "
                            f"(cast it in the function)")
        array = array.astype(var.type.np_dtype)
    return array


class InnerGraphOp(Op):
    """An op holding a graph of its own (Scan's step, Map's body): two are equal only if they
    are the same op, as their inner graphs are not compared."""

    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return id(self)


def as_variable(x, name=None):
    """Lift Python/NumPy values into Constants; Python scalars become *weak* constants."""
    if isinstance(x, Variable):
        return x
    if isinstance(x, (np.ndarray, np.generic)):
        return Constant(x, name=name)
    if isinstance(x, bool):
        return Constant(np.bool_(x), name=name)
    if isinstance(x, numbers.Integral):
        if -2 ** 63 <= x < 2 ** 63:
            return Constant(np.int64(x), name=name, weak=True)
        if 0 <= x < 2 ** 64:  # (a uint64's upper half: x // (2**64 - 1) of a uint64 x, as NumPy)
            return Constant(np.uint64(x), name=name, weak=True)
        raise OverflowError(f"Python integer {x} is out of bounds for every NumPy integer type")
    if isinstance(x, numbers.Real):
        return Constant(np.float64(x), name=name, weak=True)
    if isinstance(x, (list, tuple)):
        if any(isinstance(e, Variable) for e in x):
            from .shape import stack
            return stack([as_variable(e) for e in x])
        arr = np.asarray(x)
        if arr.dtype.kind == "f":
            from ..config import config
            arr = arr.astype(config.floatX)
        return Constant(arr, name=name)
    raise TypeError(f"cannot use a {type(x).__name__} ({x!r}) as a symbolic value")


def as_tensor_variable(x, name=None, ndim=None):
    """Theano's (and PyTensor's) name: x as a symbolic variable (values become constants); with
    ndim, a clear error when it has another number of dimensions."""
    var = as_variable(x, name=name)
    if ndim is not None and var.ndim != ndim:
        raise ValueError(f"as_tensor_variable: {var.describe()} has {var.ndim} dimensions, not {ndim}")
    return var


def as_int_scalar(x, what):
    """A symbolic int64 scalar (for sizes, indices, shapes)."""
    v = as_variable(x)
    if v.ndim != 0 or v.dtype[0] not in "iu":
        raise TypeError(f"{what} must be an integer scalar, got {v.describe()}")
    return v if v.dtype == "int64" else _cast(v, "int64")


def as_int_vector(values, what):
    """Shapes given as a tuple of ints/scalars or a symbolic int vector -> int64 vector."""
    if isinstance(values, Variable):
        if values.ndim == 0:
            values = [values]
        else:
            if values.ndim != 1 or values.dtype[0] not in "iu":
                raise TypeError(f"{what} must be an integer vector, got {values.describe()}")
            return values if values.dtype == "int64" else _cast(values, "int64")
    if isinstance(values, numbers.Integral):
        values = [values]
    values = list(values)
    if all(isinstance(v, numbers.Integral) for v in values):
        return Constant(np.asarray(values, dtype="int64").reshape(len(values)))
    from .shape import MakeVector
    return MakeVector("int64")(*[as_int_scalar(v, what) for v in values]) if values else Constant(np.zeros(0, "int64"))


def constant_value(v):
    """The NumPy value of a constant variable (folding simple shape graphs), else None."""
    if isinstance(v, Constant):
        return v.data
    node = v.owner
    if node is not None and getattr(node.op, "fold_static", None):
        return node.op.fold_static(node)
    return None


def _cast(v, dtype):
    from .elemwise import cast
    return cast(v, dtype)


def normalize_axis(axis, ndim, what="axis"):
    """Tuple of non-negative axes (None means all), validated against ndim."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < max(ndim, 1) or (ndim == 0 and a not in (0, -1)):
            raise ValueError(f"{what} {a} is out of range for an array of {ndim} dimensions")
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated {what} in {axis}")
    return tuple(sorted(out))


__all__ = ["Op", "Apply", "TensorType", "Variable", "Constant", "as_variable", "as_int_scalar",
           "as_int_vector", "constant_value", "normalize_axis"]
