"""Constructors of symbolic variables: sg.matrix('x'), sg.tensor(dtype=, shape=), sg.shared, sg.constant.

Typed families follow Theano: prefix b int8, w int16, i int32, l int64, f float32, d float64,
h float16; no prefix means floatX.
"""
import numpy as np

from .config import config, dtype_or_floatx
from .graph import Variable, Constant, SharedVariable, TensorType

_PREFIXES = {"b": "int8", "w": "int16", "i": "int32", "l": "int64", "f": "float32",
             "d": "float64", "h": "float16", "": None}
_KINDS = {"scalar": 0, "vector": 1, "matrix": 2, "tensor3": 3, "tensor4": 4}


def tensor(name=None, dtype=None, shape=None, ndim=None):
    """A symbolic input: `sg.tensor('x', 'float32', (None, 784))`; shape entries int or None.

    Without a shape it has `ndim` unknown lengths (a scalar when ndim is not given either)."""
    if shape is None:
        shape = (None,) * (ndim or 0)
    elif ndim is not None and ndim != len(shape):
        raise ValueError(f"sg.tensor: ndim={ndim} but shape {shape} has {len(shape)} entries")
    return Variable(TensorType(dtype_or_floatx(dtype), shape), name=name)


def _constructor(dtype, ndim, fn_name):
    if dtype is None:  # untyped families take a dtype, as Theano's T.matrix('x', 'float64') does
        def make(name=None, dtype=None, shape=None):
            return tensor(name, dtype, _shape(shape, ndim, fn_name))
        make.__doc__ = (f"A symbolic {ndim}-d input, floatX unless `dtype` says: `{fn_name}('x')`, "
                        f"`{fn_name}('x', 'int64')`.")
    else:
        def make(name=None, shape=None):
            return tensor(name, dtype, _shape(shape, ndim, fn_name))
        make.__doc__ = f"A symbolic {ndim}-d input of {dtype}: `{fn_name}('x')`."
    make.__name__ = make.__qualname__ = fn_name
    return make


def _shape(shape, ndim, fn_name):
    if shape is None:
        return (None,) * ndim
    if isinstance(shape, str):  # sg.fmatrix('x', 'float64'): the typed families fix their dtype
        raise TypeError(f"sg.{fn_name} takes (name, shape), not a dtype {shape!r}; "
                        f"sg.tensor(name, dtype, shape) or the untyped family's (name, dtype) takes one")
    if len(shape) != ndim:
        raise ValueError(f"sg.{fn_name}: shape {shape!r} does not have {ndim} entries")
    return shape


CONSTRUCTORS = {prefix + kind: _constructor(dtype, ndim, prefix + kind)
                for prefix, dtype in _PREFIXES.items() for kind, ndim in _KINDS.items()}
globals().update(CONSTRUCTORS)


def shared(value, name=None, borrow=False, shape=None, broadcastable=None, strict=False, allow_downcast=None):
    """A variable holding a NumPy array across calls: `w = sg.shared(np.zeros((3, 4)), 'w')`.

    Its static shape is the value's (pass shape with None entries to allow resizing).
    broadcastable (Theano's: True for an axis of length 1 that broadcasts, False for any
    length) gives the shape in Theano's way: `sg.shared(np.zeros((1, n)), broadcastable=(True,
    False))`. strict and allow_downcast are taken as Theano's (set_value refuses another shape
    or a dtype that does not cast safely either way)."""
    if isinstance(value, Variable):
        raise TypeError("sg.shared takes a value (a NumPy array), not a symbolic variable")
    arr = np.asarray(value)
    if broadcastable is not None:
        if len(broadcastable) != arr.ndim or any(b and n != 1 for b, n in zip(broadcastable, arr.shape)):
            raise ValueError(f"shared {name!r}: broadcastable {tuple(broadcastable)} does not fit a value of shape "
                             f"{arr.shape} (True marks an axis of length 1)")
        shape = tuple(1 if b else None for b in broadcastable)
    return SharedVariable(value, name=name, borrow=borrow, static_shape=arr.shape if shape is None else shape)


def constant(value, name=None, dtype=None):
    """A constant in the graph: `sg.constant(np.eye(3))`; Python floats become floatX."""
    if dtype is None and not isinstance(value, (np.ndarray, np.generic)):
        if np.asarray(value).dtype.kind == "f":
            dtype = config.floatX
    return Constant(value, name=name, dtype=dtype)
