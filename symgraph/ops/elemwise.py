"""Elementwise math: one table of scalar ops, and Elemwise, which broadcasts one over arrays.

Each ScalarOp row says what the op computes (a NumPy function, the oracle), how the Numba
code generator spells it (`src`, a format string over the argument names), and its
derivative (a function building graph). Adding a scalar function is adding one row.
"""
import math
import functools

import numpy as np

from .base import Op, Apply, TensorType, as_variable, Constant
from ..graph import Variable
from ..config import dtype_or_floatx


class ScalarOp:
    """One row of the table. `grad(inputs, output, g)` returns one graph (or None) per input."""

    def __init__(self, name, nin, impl, src, grad=None, bool_args=(), symbol=None, bounds=None):
        self.name, self.nin, self.impl, self.src = name, nin, impl, src
        self.grad_fn = grad
        self.bool_args = bool_args  # argument positions that are conditions, not promoted
        # (lower, upper): the positions of bounds, which a Python int beyond an integer dtype's
        # range on their side drops, as NumPy's clip does (_promote_weak)
        self.bounds = bounds
        self.symbol = symbol

    def __eq__(self, other):
        return isinstance(other, ScalarOp) and self.name == other.name

    def __hash__(self):
        return hash(self.name)

    def __str__(self):
        return self.name

    __repr__ = __str__

    def __reduce__(self):  # (pickled by name: its functions are the table's)
        return scalar_op_named, (self.name,)

    def converted_arguments(self, in_dtypes, dtype):
        """The positions of the arguments a step with a result of `dtype` converts to it before
        it computes: a float result's integer and bool arguments (not its conditions), as
        NumPy's loop in the result's type takes them. The generated loops (numba_codegen's
        in_result_type, for the CPU and CUDA) and the reference (__call__) follow it."""
        if dtype not in ("float32", "float64"):
            return ()
        return tuple(k for k, d in enumerate(in_dtypes) if k not in self.bool_args and np.dtype(d).kind in "iub")

    def __call__(self, values, dtype):
        """impl(*values) for a result of `dtype`, the converted_arguments converted first where
        impl is written in NumPy calls (a ufunc converts them itself): sigmoid's 1 / (1 + exp(-x))
        negated an unsigned 5 and an integer's minimum in their own type (sigmoid 0 and 1 where
        it is 0.993 and 0)."""
        if not isinstance(self.impl, np.ufunc):
            values = [np.asarray(v) for v in values]
            converted = self.converted_arguments([v.dtype for v in values], dtype)
            values = [v.astype(dtype) if k in converted else v for k, v in enumerate(values)]
        return self.impl(*values)

    @functools.lru_cache(maxsize=None)
    def output_dtype(self, in_dtypes):
        """Ask NumPy itself what dtype this op gives for these input dtypes (NumPy 2 rules)."""
        dummies = [np.ones((1,), dtype=d) for d in in_dtypes]
        with np.errstate(all="ignore"):
            return np.asarray(self.impl(*dummies)).dtype.name


TABLE = {}


# NumPy's maximum, minimum and sign written out, for the code generators: numba's np.maximum
# gives the first argument on a tie (maximum(0.0, -0.0) is 0.0, NumPy's -0.0) and its np.sign
# keeps -0.0 (NumPy's is 0.0). The conditionals are also what vectorizes best (maximum of two
# float32 arrays in cache: 4.9 -> 2.6 us for 2^14). Arguments are names or literals.
def _larger(a, b):
    """a if a > b or a is NaN, else b (so b on a tie, and NaN from either side)."""
    return f"({a} if ({a} > {b} or {a} != {a}) else {b})"


def _smaller(a, b):
    return f"({a} if ({a} < {b} or {a} != {a}) else {b})"


def _clipped(x, low, high):
    """_smaller(_larger(x, low), high), NumPy's clip, with each argument written a few times
    instead of the inner conditional four times."""
    return (f"({x} if {x} != {x} else (({x} if {x} < {high} else {high}) if {x} > {low} "
            f"else {_smaller(low, high)}))")


_SIGN = "(1 if {0} > 0 else (-1 if {0} < 0 else {0} * 0 + 0))"  # NaN stays, -0.0 becomes 0.0


def _erf(x):
    """scipy's erf, imported on first use (scipy.special costs 0.2 s to import)."""
    from scipy.special import erf
    return erf(x)


def _sigmoid(x):
    with np.errstate(over="ignore"):  # exp(-x) overflows to inf for x < -88: 1/inf = 0, right
        return 1 / (1 + np.exp(-x))


def _row(name, nin, impl, src, grad=None, **kw):
    TABLE[name] = ScalarOp(name, nin, impl, src, grad, **kw)
    return TABLE[name]


# The derivative rules read like a textbook: x, y inputs; z the output; g the incoming gradient.
LN2, LN10 = math.log(2.0), math.log(10.0)
_row("add", 2, np.add, "({0} + {1})", lambda i, z, g: [g, g], symbol="+")
_row("sub", 2, np.subtract, "({0} - {1})", lambda i, z, g: [g, -g], symbol="-")
_row("mul", 2, np.multiply, "({0} * {1})", lambda i, z, g: [g * i[1], g * i[0]], symbol="*")
_row("true_div", 2, np.true_divide, "({0} / {1})",
     lambda i, z, g: [g / i[1], -g * z / i[1]], symbol="/")
_row("int_div", 2, np.floor_divide, "({0} // {1})", None, symbol="//")
_row("mod", 2, np.mod, "({0} % {1})",
     lambda i, z, g: [g, -g * floor(i[0] / i[1])], symbol="%")
_row("pow", 2, np.power, "np.power({0}, {1})",
     # (x ** 0's derivative is 0, not 0 * x ** -1: NaN at x = 0, where the third derivative of x ** 2
     # reached it; PyTorch's rule. The select folds away for a constant exponent.)
     lambda i, z, g: [where(eq(i[1], 0), 0, g * i[1] * i[0] ** (i[1] - 1)),
                      g * where(gt(i[0], 0), z * log(where(gt(i[0], 0), i[0], 1)), 0)], symbol="**")
_row("neg", 1, np.negative, "(-{0})", lambda i, z, g: [-g])
_row("abs", 1, np.abs, "np.abs({0})", lambda i, z, g: [g * sign(i[0])])
_row("sign", 1, np.sign, _SIGN)
_row("exp", 1, np.exp, "np.exp({0})", lambda i, z, g: [g * z])
_row("exp2", 1, np.exp2, "np.exp2({0})", lambda i, z, g: [g * z * LN2])
_row("expm1", 1, np.expm1, "np.expm1({0})", lambda i, z, g: [g * (z + 1)])
_row("log", 1, np.log, "np.log({0})", lambda i, z, g: [g / i[0]])
_row("log2", 1, np.log2, "np.log2({0})", lambda i, z, g: [g / (i[0] * LN2)])
_row("log10", 1, np.log10, "np.log10({0})", lambda i, z, g: [g / (i[0] * LN10)])
_row("log1p", 1, np.log1p, "np.log1p({0})", lambda i, z, g: [g / (i[0] + 1)])
_row("sqrt", 1, np.sqrt, "np.sqrt({0})", lambda i, z, g: [g * 0.5 / z])
# sqrt as a norm's (or a standard deviation's) last step: its derivative at 0 is 0, a norm's
# subgradient at its minimum (PyTorch's rule for norm and std), where sqrt's is inf and the
# chain's 0 * inf NaN (the gradient of norm(b) for a bias b of zeros). The denominator is kept
# off 0 inside the select too, so that second derivatives stay finite there.
_row("norm_sqrt", 1, np.sqrt, "np.sqrt({0})", lambda i, z, g: [where(eq(z, 0), 0, g * 0.5 / off_zero(z))])
_row("square", 1, np.square, "({0} * {0})", lambda i, z, g: [g * 2 * i[0]])
_row("reciprocal", 1, np.reciprocal, "(1.0 / {0})", lambda i, z, g: [-g * z * z])
_row("sin", 1, np.sin, "np.sin({0})", lambda i, z, g: [g * cos(i[0])])
_row("cos", 1, np.cos, "np.cos({0})", lambda i, z, g: [-g * sin(i[0])])
_row("tan", 1, np.tan, "np.tan({0})", lambda i, z, g: [g * (1 + z * z)])
_row("arcsin", 1, np.arcsin, "np.arcsin({0})", lambda i, z, g: [g / sqrt(1 - i[0] * i[0])])
_row("arccos", 1, np.arccos, "np.arccos({0})", lambda i, z, g: [-g / sqrt(1 - i[0] * i[0])])
_row("arctan", 1, np.arctan, "np.arctan({0})", lambda i, z, g: [g / (1 + i[0] * i[0])])
_row("tanh", 1, np.tanh, "np.tanh({0})", lambda i, z, g: [g * (1 - z * z)])
_row("sinh", 1, np.sinh, "np.sinh({0})", lambda i, z, g: [g * cosh(i[0])])
_row("cosh", 1, np.cosh, "np.cosh({0})", lambda i, z, g: [g * sinh(i[0])])
_row("arctanh", 1, np.arctanh, "np.arctanh({0})", lambda i, z, g: [g / (1 - i[0] * i[0])])
_row("arcsinh", 1, np.arcsinh, "np.arcsinh({0})", lambda i, z, g: [g / sqrt(i[0] * i[0] + 1)])
_row("arccosh", 1, np.arccosh, "np.arccosh({0})", lambda i, z, g: [g / sqrt(i[0] * i[0] - 1)])
_row("arctan2", 2, np.arctan2, "np.arctan2({0}, {1})",
     lambda i, z, g: [g * i[1] / (i[0] * i[0] + i[1] * i[1]), -g * i[0] / (i[0] * i[0] + i[1] * i[1])])
# (hypot is a 2-vector's norm: its gradient at (0, 0) is 0, as norm_sqrt's, not 0 / 0)
_row("hypot", 2, np.hypot, "np.hypot({0}, {1})", lambda i, z, g: [g * i[0] / off_zero(z), g * i[1] / off_zero(z)])
_row("logaddexp", 2, np.logaddexp, "np.logaddexp({0}, {1})",
     lambda i, z, g: [g * exp(i[0] - z), g * exp(i[1] - z)])
_row("cbrt", 1, np.cbrt, "np.cbrt({0})", lambda i, z, g: [g / (3 * z * z)])
_row("erf", 1, _erf, "math.erf({0})",
     lambda i, z, g: [g * (2 / math.sqrt(math.pi)) * exp(-i[0] * i[0])])
_row("floor", 1, np.floor, "np.floor({0})")
_row("ceil", 1, np.ceil, "np.ceil({0})")
_row("round_half_to_even", 1, np.round, "np.rint({0})")
_row("trunc", 1, np.trunc, "np.trunc({0})")
_row("maximum", 2, np.maximum, _larger("{0}", "{1}"),
     lambda i, z, g: [g * ge(i[0], i[1]), g * lt(i[0], i[1])])
_row("minimum", 2, np.minimum, _smaller("{0}", "{1}"),
     lambda i, z, g: [g * le(i[0], i[1]), g * gt(i[0], i[1])])
_row("where", 3, np.where, "({1} if {0} else {2})",
     lambda i, z, g: [None, where(i[0], g, 0), where(i[0], 0, g)], bool_args=(0,))
_row("clip", 3, np.clip, _clipped("{0}", "{1}", "{2}"),
     lambda i, z, g: [g * logical_and(ge(i[0], i[1]), le(i[0], i[2])),
                      g * lt(i[0], i[1]), g * gt(i[0], i[2])], bounds=(1, 2))
for _name, _np, _sym in [("eq", np.equal, "=="), ("neq", np.not_equal, "!="), ("lt", np.less, "<"),
                         ("le", np.less_equal, "<="), ("gt", np.greater, ">"),
                         ("ge", np.greater_equal, ">=")]:
    _row(_name, 2, _np, "({0} %s {1})" % _sym, symbol=_sym)
_row("logical_and", 2, np.logical_and, "(bool({0}) and bool({1}))")
_row("logical_or", 2, np.logical_or, "(bool({0}) or bool({1}))")
_row("logical_not", 1, np.logical_not, "(not {0})")
_row("bitwise_and", 2, np.bitwise_and, "({0} & {1})", symbol="&")
_row("bitwise_or", 2, np.bitwise_or, "({0} | {1})", symbol="|")
_row("bitwise_xor", 2, np.bitwise_xor, "({0} ^ {1})", symbol="^")
_row("invert", 1, np.invert, "(~{0})")
_row("isnan", 1, np.isnan, "np.isnan({0})")
_row("isinf", 1, np.isinf, "np.isinf({0})")
_row("isfinite", 1, np.isfinite, "np.isfinite({0})")
# Neural-network activations are elementwise rows too, so fusion sees through them.
_row("sigmoid", 1, _sigmoid, "(1.0 / (1.0 + np.exp(-{0})))",
     lambda i, z, g: [g * z * (1 - z)])
_row("softplus", 1, lambda x: np.logaddexp(np.zeros((), x.dtype), x),
     f"({_larger('{0}', '0.0')} + np.log1p(np.exp(-np.abs({{0}}))))", lambda i, z, g: [g * sigmoid(i[0])])
# (Python floats: weak scalars, so a float32 x stays float32 and an integer one becomes float64, as in
# sigmoid; they had been cast to x's dtype, and an integer x's slope 0.2 to 0)
_row("hard_sigmoid", 1, lambda x: np.clip(x * 0.2 + 0.5, 0.0, 1.0),
     _clipped("({0} * 0.2 + 0.5)", "0.0", "1.0"),
     lambda i, z, g: [g * 0.2 * logical_and(gt(i[0], -2.5), lt(i[0], 2.5))])
_row("elu", 1, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))), "({0} if {0} > 0 else np.expm1({0}) + 0)",
     lambda i, z, g: [g * where(gt(i[0], 0), 1, z + 1)])
_row("gelu", 1, lambda x: (0.5 * x * (1 + _erf(x / np.sqrt(2)))).astype(x.dtype, copy=False),
     "(0.5 * {0} * (1.0 + math.erf({0} * 0.7071067811865476)))",
     lambda i, z, g: [g * (0.5 * (1 + erf(i[0] * 0.7071067811865476))
                          + i[0] * exp(-0.5 * i[0] * i[0]) * 0.3989422804014327)])
_row("relu", 1, lambda x: np.maximum(x, np.zeros((), x.dtype)), _larger("{0}", "0"),
     lambda i, z, g: [g * gt(z, 0)])  # z > 0 exactly where x > 0; x may then be overwritten


def scalar_op_named(name):
    """The table's scalar op of that name (a cast's: cast_float32)."""
    return cast_scalar_op(name[len("cast_"):]) if name.startswith("cast_") and name not in TABLE else TABLE[name]


@functools.lru_cache(maxsize=None)
def cast_scalar_op(dtype):
    """The scalar op converting to `dtype` (one row per target dtype)."""
    dtype = np.dtype(dtype).name

    def grad(i, z, g):
        return [cast(g, i[0].dtype)] if i[0].dtype[0] in "fc" and dtype[0] in "fc" else [None]
    return ScalarOp(f"cast_{dtype}", 1, lambda x: np.asarray(x).astype(dtype),
                    f"np.{dtype}({{0}})", grad)


def broadcast_static(inputs, what):
    """Static output shape of broadcasting `inputs`; ValueError when two lengths clash."""
    ndim = max((v.ndim for v in inputs), default=0)
    shape = []
    for axis in range(ndim):
        dims = [v.type.shape[axis - ndim + v.ndim] for v in inputs if axis - ndim + v.ndim >= 0]
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise ValueError(f"{what}: shapes cannot broadcast (axis {axis} has lengths "
                             f"{sorted(known)}): " + "; ".join(v.describe() for v in inputs))
        if known:
            shape.append(known.pop())
        elif all(d == 1 for d in dims):
            shape.append(1)
        else:
            shape.append(None)
    return tuple(shape)


class Elemwise(Op):
    """Applies a scalar op to arrays with NumPy broadcasting."""

    __props__ = ("scalar_op", "inplace")

    def __init__(self, scalar_op, inplace=None):
        self.scalar_op = scalar_op
        self.inplace = inplace  # input whose buffer the output reuses (set by memory planning)

    def __str__(self):
        return f"Elemwise{{{self.scalar_op.name}{',inplace' if self.inplace is not None else ''}}}"

    def make_node(self, *inputs):
        sop = self.scalar_op
        if len(inputs) != sop.nin:
            raise TypeError(f"{sop.name} takes {sop.nin} arguments, got {len(inputs)}")
        inputs = [as_variable(v) for v in inputs]
        inputs = _promote_weak(inputs, sop)
        try:
            out_dtype = sop.output_dtype(tuple(v.dtype for v in inputs))
        except TypeError as exc:
            raise TypeError(f"{sop.name} is not defined for these dtypes: "
                            + "; ".join(v.describe() for v in inputs)) from exc
        shape = broadcast_static(inputs, sop.name)
        return Apply(self, inputs, [Variable(TensorType(out_dtype, shape))])

    def infer_shape(self, node, shapes):
        from .shape_infer import broadcast_dims
        return [broadcast_dims(shapes, node.outputs[0].ndim)]

    def perform(self, node, inputs):
        dtype = node.outputs[0].dtype
        if self.inplace is not None and isinstance(self.scalar_op.impl, np.ufunc):
            target = inputs[self.inplace]
            shapes = [np.shape(v) for v in inputs]
            if all(s == target.shape for s in shapes) or target.shape == np.broadcast_shapes(*shapes):
                return [self.scalar_op.impl(*inputs, out=target)]
        out = self.scalar_op(inputs, dtype)
        return [out if type(out) is np.ndarray and out.dtype == dtype else np.asarray(out, dtype=dtype)]

    def fold_static(self, node):
        """The value, when every input is known at build time and small (shape arithmetic)."""
        from .base import constant_value
        values = [constant_value(v) for v in node.inputs]
        if any(v is None or np.size(v) > 64 for v in values):
            return None
        dtype = node.outputs[0].dtype
        with np.errstate(all="ignore"):
            return np.asarray(self.scalar_op(values, dtype), dtype=dtype)

    def grad(self, inputs, outputs, output_grads):
        fn = self.scalar_op.grad_fn
        if fn is None:
            return [None] * len(inputs)
        from .reduce import unbroadcast
        masked = _selected_gradient(output_grads[0], outputs[0])
        if masked is None:
            grads = fn(inputs, outputs[0], output_grads[0])
        else:  # (the select outside: where the branch was not taken its derivative is not read)
            cond, inner, taken, summed = masked
            grads = [None if g is None else where(cond, g, 0) if taken else where(cond, 0, g)
                     for g in fn(inputs, outputs[0], inner)]
        result = []
        for k, (inp, g) in enumerate(zip(inputs, grads)):
            if g is None or inp.dtype[0] not in "fc":
                result.append(None)
                continue
            if (masked is not None and summed) or not _shape_set_by(inp, inputs[:k] + inputs[k + 1:]):
                g = unbroadcast(g, inp)  # (a select that was summed may be broader than this op's output)
            result.append(g if g.dtype == inp.dtype else cast(g, inp.dtype))
        return result


def off_zero(v):
    """v with its zeros replaced by 1: a divisor kept off 0 where a select (or a zero numerator)
    discards the quotient anyway, so that neither it nor its derivative is NaN there."""
    return where(eq(v, 0), 1, v)


def _selected_gradient(g, z):
    """(cond, inner, taken, summed) when g, the gradient of z, is where(cond, inner, 0) (taken
    True) or where(cond, 0, inner), the gradient where() hands a branch, or that summed to z's
    shape (summed True). The branch's own derivative is then multiplied inside the select, not
    outside it, and any sum taken after: where(x > 0, log(x), 0) at x = 0 has the gradient 0,
    not 0 * (1 / 0) = NaN (the "double where" JAX's and TensorFlow's users write by hand). The
    same wherever the branch's derivative is finite; 0 where the branch was not taken. (Not
    where the select is broader than z by its static shape: each derivative would be computed
    at the select's size.)"""
    from .reduce import SumToShape
    from .shape import is_zeros
    node = g.owner
    summed = node is not None and isinstance(node.op, SumToShape)
    if summed:
        node = node.inputs[0].owner
        if node is not None and _broader(node.outputs[0], z):
            return None
    if node is None or not isinstance(node.op, Elemwise) or node.op.scalar_op.name != "where":
        return None
    cond, when_true, when_false = node.inputs
    if is_zeros(when_false):
        return cond, when_true, True, summed
    if is_zeros(when_true):
        return cond, when_false, False, summed
    return None


def _broader(v, z):
    """Whether v is broader than z by their static shapes (more axes, or n > 1 where z has 1)."""
    return v.ndim > z.ndim or any(a == 1 and b != 1 for a, b in zip(z.type.shape, v.type.shape))


def _shape_set_by(inp, others):
    """True when the output of an elementwise op has inp's shape at run time: the other
    inputs have no more dimensions and are statically 1 along each (a unary op, x * 2).
    Its gradient then needs no SumToShape, which costs a node a step and hides the
    patterns the stabilizer looks for (softmax's gradient through log)."""
    return all(o.ndim <= inp.ndim and all(d == 1 for d in o.type.shape) for o in others)


def _promote_weak(inputs, sop):
    """Cast weak (Python scalar) constants to the dtype the strong inputs agree on."""
    if not any(isinstance(v, Constant) and v.weak for v in inputs):
        return inputs
    promoted = [i for i in range(len(inputs)) if i not in sop.bool_args]
    strong = [inputs[i].dtype for i in promoted if not (isinstance(inputs[i], Constant) and inputs[i].weak)]
    weak = [inputs[i].data.item() for i in promoted if isinstance(inputs[i], Constant) and inputs[i].weak]
    common = np.result_type(*strong, *weak) if strong else None
    out = list(inputs)
    for i, v in enumerate(inputs):
        if not (isinstance(v, Constant) and v.weak):
            continue
        target = np.dtype(bool) if i in sop.bool_args else common
        if target is None or target == v.data.dtype:
            continue
        value = v.data.item()
        if target.kind in "iu" and isinstance(value, int) and not (
                np.iinfo(target).min <= value <= np.iinfo(target).max):
            if sop.bounds and (i, value < 0) in ((sop.bounds[0], True), (sop.bounds[1], False)):
                # (NumPy's clip drops a lower bound below the dtype's minimum, an upper one above
                # its maximum: np.clip(uint8, -1, 300) is the array itself)
                value = np.iinfo(target).min if value < 0 else np.iinfo(target).max
            else:
                target = _beyond_integer_target(sop, target, value)
        with np.errstate(all="ignore"):
            out[i] = Constant(np.asarray(value, dtype=target), weak=False)
    return out


def _beyond_integer_target(sop, common, value):
    """The dtype for a Python int that the integer dtype `common` cannot hold, as NumPy takes
    it: an op that computes integers in floats (true_div, arctan2, hypot...) converts it to
    that float (np.arctan2(int8, 300) is float16); a comparison or a logical op, whose result
    is bool, compares it exactly (uint8 > -1 is True everywhere), so any dtype holding it
    does. Elsewhere NumPy refuses it (int8 + 300), and so does this."""
    out = np.dtype(sop.output_dtype((common.name,) * sop.nin))
    if out.kind == "f":
        return out
    if out.kind == "b":
        return np.min_scalar_type(value)
    raise TypeError(f"{sop.name}: Python integer {value} is out of bounds for {common.name}")


@functools.lru_cache(maxsize=None)
def elemwise_op(name):
    return Elemwise(TABLE[name])


def _public(name, doc):
    def fn(*args):
        if name in _VARIADIC and len(args) > 2:  # (Theano's T.add(a, b, c): folded left)
            return functools.reduce(elemwise_op(name), args)
        return elemwise_op(name)(*args)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


_VARIADIC = {"add", "mul"}
_DOCS = {"where": "where(cond, a, b): a where cond is true, else b (NumPy's where, Theano's switch).",
         "norm_sqrt": "norm_sqrt(s): sqrt(s) whose derivative at s = 0 is 0, not inf: the square root of a "
                      "sum of squares (a norm, a standard deviation), whose gradient there is 0 as PyTorch's."}
for _name in TABLE:
    globals()[_name] = _public(_name, _DOCS.get(_name, f"Elementwise {_name}, broadcasting like NumPy's."))

switch = where
true_divide, floor_divide, power, negative, absolute = true_div, int_div, pow, neg, abs
divide, multiply, subtract, remainder = true_div, mul, sub, mod
# NumPy's (and Keras's backend's) names for the comparisons
equal, not_equal, greater, greater_equal, less, less_equal = eq, neq, gt, ge, lt, le
# Theano's T.sqr, T.abs_, T.sgn, T.and_, T.or_, T.xor
sqr, abs_, sgn, and_, or_, xor = square, abs, sign, bitwise_and, bitwise_or, bitwise_xor
round = rint = round_half_to_even  # NumPy's round (0 decimals) and rint: halves to even
bitwise_not = invert


def logical_xor(a, b):
    """True where exactly one of a, b is true (nonzero), as NumPy's logical_xor."""
    return neq(logical_not(a), logical_not(b))


def deg2rad(x):
    return x * (math.pi / 180)


def rad2deg(x):
    return x * (180 / math.pi)


def cast(x, dtype):
    """Convert to `dtype`: `sg.cast(ivec, 'float32')`."""
    x = as_variable(x)
    dtype = dtype_or_floatx(dtype)
    return x if x.dtype == dtype else Elemwise(cast_scalar_op(dtype))(x)


__all__ = list(TABLE) + ["cast", "switch", "true_divide", "floor_divide", "power", "negative",
                         "absolute", "sqr", "abs_", "sgn", "and_", "or_", "xor", "bitwise_not", "divide", "multiply", "subtract", "remainder",
                         "equal", "not_equal", "greater", "greater_equal", "less", "less_equal", "round",
                         "rint", "logical_xor", "deg2rad", "rad2deg", "Elemwise", "ScalarOp", "TABLE"]
