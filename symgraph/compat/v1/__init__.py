"""TensorFlow 1's graph mode over symgraph: `import symgraph.compat.v1 as tf` and TF1 code runs
as written, its tensors symgraph's variables (drawn by sg.render, differentiated by sg.grad,
compiled by sg.function under Session.run).

    x = tf.placeholder(tf.float32, [None, 784])
    W = tf.Variable(tf.zeros([784, 10]))
    y = tf.matmul(x, W)
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y_, logits=y))
    train_step = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train_step, feed_dict={x: images, y_: labels})

What differs: a placeholder without a shape is a scalar (symgraph knows each tensor's number of
dimensions); variables hold their initial values from the start (running the initializer sets
them again); a checkpoint is one .npz file, and a meta graph (meta_graph.py) or a SavedModel
(saved_model.py) a pickle of the graph: TensorFlow's own files are neither read nor written;
tensors made by Python's operators (x + y) have no name until tf.identity names one
(names.py); a while_loop has a bound (control_flow.py); there are no string tensors (records
are parsed in Python: example.py), no queues and no tf.py_func; control_dependencies reaches
the operations and the tf functions' tensors made in its block (a run computing such a tensor
runs the operations too), not tensors made by Python's operators. tf.data's datasets feed the
session through their iterators' get_next() (data.py); tf.summary writes TensorBoard's event
files, the graph too (summary.py, graph_def.py). Where each piece of TensorFlow 1 lives: the
README's list of compat/.
"""
import builtins as _builtins
import importlib as _importlib
import types as _types

import numpy as _np

from ...variables import constant as _constant
from ...ops.reduce import logsumexp as _logsumexp
from ...ops.selection import argwhere as _argwhere, take as _take
from ...grad import grad as _grad
from ...ops import elemwise as _E, reduce as _R
from ...ops.base import as_variable as _as_variable
from ...ops.linalg import matmul as _matmul
from . import contrib, data, errors, layers, losses, metrics, names as _names, nn, summary, train
from .names import name_scope
from .summary import Summary
from . import image
from .app import app, flags, gfile, logging
from .control_flow import case, cond, foldl, foldr, map_fn, scan, while_loop
from .indexing_ops import (gather_nd, scatter_nd, segment_sum, segment_mean, unsorted_segment_sum,
                           unsorted_segment_mean, sequence_mask, matrix_band_part, matrix_transpose, diag, diag_part,
                           trace)
from .random_ops import multinomial, random_crop, random_shuffle
from .example import FixedLenFeature, TFRecordWriter, decode_raw, parse_single_example, tf_record_iterator
from . import canned as _canned, estimator as _estimator, feature_column, keras, nest, saved_model
from .array_ops import (pad, split, slice, boolean_mask, linspace, norm, clip_by_norm, count_nonzero, cumsum, cumprod,
                        sort, argsort, einsum, tensordot, eye)

_S = _importlib.import_module("symgraph.ops.shape")  # (the package's name `shape` is the function)
from .scopes import (AUTO_REUSE, variable_scope, get_variable_scope, get_variable, zeros_initializer,
                     ones_initializer, constant_initializer, random_normal_initializer, truncated_normal_initializer,
                     random_uniform_initializer, variance_scaling_initializer, glorot_uniform_initializer,
                     glorot_normal_initializer)
from .session import (Operation, Session, InteractiveSession, get_default_session, group, no_op,
                      control_dependencies)
from .variables import (TFVariable as Variable, placeholder, placeholder_with_default, global_variables,
                        all_variables, trainable_variables, global_variables_initializer, initialize_all_variables,
                        local_variables, local_variables_initializer,
                        variables_initializer, reset_default_graph, set_random_seed, random_normal, random_uniform,
                        truncated_normal, GraphKeys, get_collection, add_to_collection, Graph, get_default_graph)

float16, float32, float64, string = "float16", "float32", "float64", "bytes"
int8, int16, int32, int64, uint8, bool = "int8", "int16", "int32", "int64", "uint8", "bool"


def as_dtype(dtype):
    return _np.dtype(dtype).name


def constant(value, dtype=None, shape=None, name=None):
    array = _np.asarray(value, dtype=dtype)
    if dtype is None and array.dtype == _np.float64:
        array = array.astype("float32")  # (TensorFlow's default float)
    if dtype is None and array.dtype == _np.int64 and not isinstance(value, _np.ndarray):
        array = array.astype("int32")
    if shape is not None:
        array = _np.broadcast_to(array, shape).copy() if array.size == 1 else array.reshape(shape)
    return _constant(array, name=name)


def zeros(shape, dtype="float32", name=None):
    return _S.zeros(shape, dtype=as_dtype(dtype))


def ones(shape, dtype="float32", name=None):
    return _S.ones(shape, dtype=as_dtype(dtype))


def zeros_like(tensor, dtype=None, name=None):
    return _S.zeros_like(tensor, dtype=None if dtype is None else as_dtype(dtype))


def ones_like(tensor, dtype=None, name=None):
    return _S.ones_like(tensor, dtype=None if dtype is None else as_dtype(dtype))


def fill(dims, value, name=None):
    value = _as_variable(value)
    return _S.zeros(dims, dtype=value.dtype) + value


def range(start, limit=None, delta=1, dtype=None, name=None):
    if limit is None:
        start, limit = 0, start
    return _S.arange(start, limit, delta, dtype=None if dtype is None else as_dtype(dtype))


def cast(x, dtype, name=None):
    return _E.cast(x, as_dtype(dtype))


def to_float(x, name=None):
    return _E.cast(x, "float32")


def to_int32(x, name=None):
    return _E.cast(x, "int32")


def to_int64(x, name=None):
    return _E.cast(x, "int64")


def to_double(x, name=None):
    return _E.cast(x, "float64")


def identity(input, name=None):
    """A tensor of its own with the input's value (a fed identity leaves the input as it was)."""
    input = _as_variable(input)
    return _S.dimshuffle(input, *_builtins.range(input.ndim))


def assign(ref, value, name=None, **unused):
    """ref.assign(value): an operation setting the variable."""
    return ref.assign(value, name=name)


def assign_add(ref, value, name=None, **unused):
    return ref.assign_add(value, name=name)


def assign_sub(ref, value, name=None, **unused):
    return ref.assign_sub(value, name=name)


def stop_gradient(input, name=None):
    return _S.stop_gradient(input)


def matmul(a, b, transpose_a=False, transpose_b=False, name=None, **unused):
    a, b = _as_variable(a), _as_variable(b)
    return _matmul(_S.swapaxes(a, -1, -2) if transpose_a else a, _S.swapaxes(b, -1, -2) if transpose_b else b)


def _reduction(fn):
    def reduce(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
        axis = reduction_indices if axis is None else axis
        keep = _builtins.bool(keepdims if keepdims is not None else keep_dims)
        return fn(input_tensor, axis=tuple(axis) if isinstance(axis, list) else axis, keepdims=keep)
    reduce.__name__ = f"reduce_{fn.__name__}"
    return reduce


reduce_sum, reduce_mean, reduce_max, reduce_min, reduce_prod = (_reduction(f) for f in
                                                                (_R.sum, _R.mean, _R.max, _R.min, _R.prod))
reduce_all, reduce_any = _reduction(_R.all), _reduction(_R.any)


def reduce_logsumexp(input_tensor, axis=None, keepdims=False, name=None, reduction_indices=None):
    return _logsumexp(input_tensor, axis=reduction_indices if axis is None else axis, keepdims=keepdims)


def _index_of(fn):
    def find(input, axis=None, name=None, dimension=None, output_type="int64"):
        found = fn(input, axis=dimension if axis is None else axis)
        return found if found.dtype == as_dtype(output_type) else _E.cast(found, as_dtype(output_type))
    find.__name__ = fn.__name__
    return find


argmax, argmin = _index_of(_R.argmax), _index_of(_R.argmin)


def _named_binary(fn):
    def op(x, y, name=None):
        return fn(x, y)
    op.__name__ = fn.__name__
    return op


add, subtract, multiply, divide, truediv, maximum, minimum, pow, squared_difference = (
    _named_binary(f) for f in (_E.add, _E.sub, _E.mul, _E.true_div, _E.true_div, _E.maximum, _E.minimum, _E.pow,
                               lambda x, y: (x - y) ** 2))
equal, not_equal, less, less_equal, greater, greater_equal = (
    _named_binary(f) for f in (_E.eq, _E.neq, _E.lt, _E.le, _E.gt, _E.ge))
logical_and, logical_or = _named_binary(_E.logical_and), _named_binary(_E.logical_or)
logical_not = _E.logical_not
floordiv, mod = _named_binary(_E.int_div), _named_binary(_E.mod)
square, sqrt, exp, log, log1p, abs, negative, sign, floor, ceil, round, sigmoid, tanh, sin, cos, rsqrt = (
    _E.square, _E.sqrt, _E.exp, _E.log, _E.log1p, _E.abs, _E.neg, _E.sign, _E.floor, _E.ceil,
    _E.round_half_to_even, _E.sigmoid, _E.tanh, _E.sin, _E.cos, lambda x, name=None: 1 / _E.sqrt(x))
reciprocal = _E.reciprocal


def Print(input_, data, message=None, first_n=None, summarize=None, name=None):
    """input_ again; every Session.run that computes it also writes message and the data tensors'
    first `summarize` values to stderr (the first first_n runs only where given), as
    TensorFlow 1's tf.Print."""
    from .session import PrintRequest
    out = identity(input_)
    out.tf_print = PrintRequest(list(data), message, first_n, summarize)
    return out


def print(*inputs, output_stream=None, summarize=3, sep=" ", end=None, name=None):
    """tf.print's operation: sess.run(op) writes the inputs' values (to stderr)."""
    from .session import PrintOperation
    return PrintOperation(list(inputs), summarize, output_stream, sep)


def is_nan(x, name=None):
    return _E.isnan(x)


def is_inf(x, name=None):
    return _E.isinf(x)


def is_finite(x, name=None):
    return _E.isfinite(x)


def matrix_inverse(input, adjoint=False, name=None):
    from ...ops.nlinalg import matrix_inverse as inverse
    x = _as_variable(input)
    return inverse(_S.swapaxes(x, -1, -2) if adjoint else x)


def matrix_determinant(input, name=None):
    from ...ops.nlinalg import det
    return det(input)


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    return _E.clip(t, clip_value_min, clip_value_max)


def where(condition, x=None, y=None, name=None):
    if x is None and y is None:
        return _argwhere(condition)
    return _E.where(condition, x, y)


def reshape(tensor, shape, name=None):
    return _S.reshape(tensor, shape)


def transpose(a, perm=None, name=None):
    a = _as_variable(a)
    return _S.transpose(a, None if perm is None else tuple(perm))


def concat(values, axis, name=None):
    return _S.concatenate(list(values), axis)


def stack(values, axis=0, name=None):
    return _S.stack(list(values), axis)


def unstack(value, num=None, axis=0, name=None):
    value = _as_variable(value)
    n = value.type.shape[axis] if num is None else num
    if n is None:
        raise ValueError(f"unstack: the length of axis {axis} of {value.describe()} is not known; pass num=")
    index = [_builtins.slice(None)] * value.ndim
    return [value[tuple(index[:axis % value.ndim] + [k])] for k in _builtins.range(n)]


def squeeze(input, axis=None, name=None, squeeze_dims=None):
    return _S.squeeze(input, axis if axis is not None else squeeze_dims)


def expand_dims(input, axis=None, name=None, dim=None):
    return _S.expand_dims(input, axis if axis is not None else dim)


def shape(input, name=None, out_type="int32"):
    return _E.cast(_S.shape(input), as_dtype(out_type))


def size(input, name=None, out_type="int32"):
    return _E.cast(_R.prod(_S.shape(input)), as_dtype(out_type))


def rank(input, name=None):
    return constant(_as_variable(input).ndim, dtype="int32")


def reverse_sequence(input, seq_lengths, seq_axis=None, batch_axis=None, name=None, seq_dim=None, batch_dim=None):
    """Each example's first seq_lengths[b] entries along seq_axis reversed, the rest left."""
    x = _as_variable(input)
    seq_axis = seq_axis if seq_axis is not None else seq_dim
    batch_axis = 0 if batch_axis is None and batch_dim is None else (batch_axis if batch_axis is not None
                                                                     else batch_dim)
    lengths = _E.cast(_as_variable(seq_lengths), "int64")
    t = _S.arange(_S.shape(x)[seq_axis])
    source = _E.where(_E.lt(t, _S.expand_dims(lengths, 1)), _S.expand_dims(lengths, 1) - 1 - t, t)  # (batch, time)
    order = [batch_axis, seq_axis] + [a for a in _builtins.range(x.ndim) if a not in (batch_axis, seq_axis)]
    moved = _S.dimshuffle(x, *order)
    picked = moved[_S.expand_dims(_S.arange(_S.shape(x)[batch_axis]), 1), source]
    return _S.dimshuffle(picked, *[order.index(a) for a in _builtins.range(x.ndim)])


def reverse(tensor, axis, name=None):
    x = _as_variable(tensor)
    index = [_builtins.slice(None)] * x.ndim
    for a in (axis if isinstance(axis, (list, tuple)) else [axis]):
        index[a] = _builtins.slice(None, None, -1)
    return x[tuple(index)]


def tile(input, multiples, name=None):
    return _S.tile(input, multiples)


def gather(params, indices, axis=0, name=None, **unused):
    return _take(params, indices, axis=axis)


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    dtype = as_dtype(dtype or "float32")
    hot = _E.eq(_S.expand_dims(_as_variable(indices), -1), _S.arange(depth))
    on = 1 if on_value is None else on_value
    off = 0 if off_value is None else off_value
    out = _E.cast(_E.where(hot, on, off), dtype)
    return out if axis in (None, -1) else _S.dimshuffle(out, *_moved_last(out.ndim, axis))


def _moved_last(ndim, axis):
    order = list(_builtins.range(ndim - 1))
    order.insert(axis, ndim - 1)
    return order


def gradients(ys, xs, grad_ys=None, name="gradients", stop_gradients=None, **unused):
    """d(sum of ys, each weighted by its grad_ys) / d xs, None for an x they do not depend on."""
    ys = ys if isinstance(ys, (list, tuple)) else [ys]
    single = not isinstance(xs, (list, tuple))
    xs = [xs] if single else list(xs)
    weights = grad_ys if isinstance(grad_ys, (list, tuple)) else [grad_ys] * len(ys)
    cost = None
    for y, w in zip(ys, weights):
        term = _R.sum(_as_variable(y) if w is None else _as_variable(y) * w)
        cost = term if cost is None else cost + term
    return _grad(cost, xs, consider_constant=stop_gradients, disconnected_inputs="ignore", return_disconnected="None")


def global_norm(t_list, name=None):
    return _E.norm_sqrt(_builtins.sum(_R.sum(_as_variable(t) ** 2) for t in t_list if t is not None))


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    norm = global_norm(t_list) if use_norm is None else use_norm
    scale = clip_norm / _E.maximum(norm, clip_norm)
    return [None if t is None else t * _E.cast(scale, _as_variable(t).dtype) for t in t_list], norm


# Each function names its tensors (names.py): TensorFlow's op types as the default names, the
# composite functions' own names otherwise.
_names.name_functions(globals(), {
    "add": "Add", "subtract": "Sub", "multiply": "Mul", "divide": "truediv", "maximum": "Maximum",
    "minimum": "Minimum", "pow": "Pow", "squared_difference": "SquaredDifference", "equal": "Equal",
    "not_equal": "NotEqual", "less": "Less", "less_equal": "LessEqual", "greater": "Greater",
    "greater_equal": "GreaterEqual", "logical_and": "LogicalAnd", "logical_or": "LogicalOr",
    "logical_not": "LogicalNot", "mod": "FloorMod", "square": "Square", "sqrt": "Sqrt", "exp": "Exp", "log": "Log",
    "log1p": "Log1p", "abs": "Abs", "negative": "Neg", "sign": "Sign", "floor": "Floor", "ceil": "Ceil",
    "round": "Round", "sigmoid": "Sigmoid", "tanh": "Tanh", "sin": "Sin", "cos": "Cos", "rsqrt": "Rsqrt",
    "reciprocal": "Reciprocal", "matmul": "MatMul", "reduce_sum": "Sum", "reduce_mean": "Mean", "reduce_max": "Max",
    "reduce_min": "Min", "reduce_prod": "Prod", "reduce_all": "All", "reduce_any": "Any",
    "reduce_logsumexp": "ReduceLogSumExp", "argmax": "ArgMax", "argmin": "ArgMin", "cast": "Cast",
    "to_float": "ToFloat", "to_int32": "ToInt32", "to_int64": "ToInt64", "to_double": "ToDouble",
    "identity": "Identity", "stop_gradient": "StopGradient",
    "constant": "Const", "fill": "Fill", "where": "Select", "reshape": "Reshape", "squeeze": "Squeeze",
    "expand_dims": "ExpandDims", "shape": "Shape", "size": "Size", "rank": "Rank",
    "reverse_sequence": "ReverseSequence", "reverse": "Reverse", "tile": "Tile", "gather": "GatherV2",
    "pad": "Pad", "slice": "Slice", "linspace": "LinSpace", "cumsum": "Cumsum", "cumprod": "Cumprod",
    "tensordot": "Tensordot", "einsum": "einsum", "group": "group_deps", "no_op": "NoOp", "while_loop": "while",
    "map_fn": "map", "gather_nd": "GatherNd", "scatter_nd": "ScatterNd", "segment_sum": "SegmentSum",
    "segment_mean": "SegmentMean", "unsorted_segment_sum": "UnsortedSegmentSum",
    "unsorted_segment_mean": "UnsortedSegmentMean", "sequence_mask": "SequenceMask",
    "matrix_band_part": "MatrixBandPart", "diag": "Diag", "diag_part": "DiagPart", "trace": "Trace",
    "is_nan": "IsNan", "is_inf": "IsInf", "is_finite": "IsFinite", "matrix_inverse": "MatrixInverse",
    "matrix_determinant": "MatrixDeterminant", "random_shuffle": "RandomShuffle", "multinomial": "Multinomial"},
    skip={"gradients", "assign", "assign_add", "assign_sub", "print"})


# tf.math and tf.random (TensorFlow 1.13's namespaces for the same functions)
math = _types.SimpleNamespace(
    log=log, exp=exp, sqrt=sqrt, square=square, abs=abs, sigmoid=sigmoid, tanh=tanh, log1p=log1p, sign=sign,
    floor=floor, ceil=ceil, round=round, reciprocal=reciprocal, rsqrt=rsqrt, sin=sin, cos=cos, pow=pow,
    add=add, subtract=subtract, multiply=multiply, divide=divide, truediv=truediv, maximum=maximum, minimum=minimum,
    equal=equal, not_equal=not_equal, less=less, less_equal=less_equal, greater=greater, greater_equal=greater_equal,
    logical_and=logical_and, logical_or=logical_or, logical_not=logical_not, squared_difference=squared_difference,
    reduce_sum=reduce_sum, reduce_mean=reduce_mean, reduce_max=reduce_max, reduce_min=reduce_min,
    reduce_prod=reduce_prod, reduce_all=reduce_all, reduce_any=reduce_any, reduce_logsumexp=reduce_logsumexp,
    argmax=argmax, argmin=argmin, count_nonzero=count_nonzero, cumsum=cumsum, cumprod=cumprod,
    softplus=nn.softplus, top_k=nn.top_k, in_top_k=nn.in_top_k, l2_normalize=nn.l2_normalize)
contrib.layers, contrib.framework, contrib.slim = contrib._namespaces()  # (TF-Slim: slim.py)
estimator = _types.SimpleNamespace(  # (tf.estimator: estimator.py and canned.py)
    Estimator=_estimator.Estimator, EstimatorSpec=_estimator.EstimatorSpec, ModeKeys=_estimator.ModeKeys,
    RunConfig=_estimator.RunConfig, inputs=_estimator.inputs, DNNClassifier=_canned.DNNClassifier,
    DNNRegressor=_canned.DNNRegressor, LinearClassifier=_canned.LinearClassifier,
    LinearRegressor=_canned.LinearRegressor)
io = _types.SimpleNamespace(gfile=gfile, parse_single_example=parse_single_example, FixedLenFeature=FixedLenFeature,
                            decode_raw=decode_raw, TFRecordWriter=TFRecordWriter, tf_record_iterator=tf_record_iterator)
python_io = _types.SimpleNamespace(TFRecordWriter=TFRecordWriter, tf_record_iterator=tf_record_iterator)
random = _types.SimpleNamespace(normal=random_normal, uniform=random_uniform, truncated_normal=truncated_normal,
                                set_random_seed=set_random_seed, set_seed=set_random_seed)
