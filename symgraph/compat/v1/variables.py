"""TensorFlow 1's variables, placeholders and random tensors. A tf.Variable is a shared
variable: its initial value (a value, or a tensor such as tf.truncated_normal(...)) is computed
when it is made, so it can be read at once, and the initializer operations
(tf.global_variables_initializer(), var.initializer) set it again from that tensor (fresh random
numbers each time, as TensorFlow's)."""
from collections import OrderedDict

import numpy as np

from ...function import function
from ...graph import SharedVariable, Variable
from ...ops.base import as_variable
from ...ops.elemwise import cast, sqrt
from ...ops.special import erfinv
from ...ops.random import RandomStream
from ...variables import tensor
from .names import name_functions, name_operation, name_tensors, root_scope, unique_name
from .session import Operation

_collections = {"variables": [], "trainable_variables": [], "update_ops": [], "losses": [],
                "regularization_losses": []}


class GraphKeys:
    GLOBAL_VARIABLES, TRAINABLE_VARIABLES, UPDATE_OPS = "variables", "trainable_variables", "update_ops"
    LOSSES, REGULARIZATION_LOSSES, SUMMARIES = "losses", "regularization_losses", "summaries"
    LOCAL_VARIABLES, METRIC_VARIABLES = "local_variables", "metric_variables"


class Graph:
    """tf.Graph: collections of its own (variables, update operations, layers' names) and the
    names of its tensors and operations (names.py); `with tf.Graph().as_default():` makes it the
    one that new variables and names join, for the block."""

    def __init__(self):
        self._stored = {}
        self._names_in_use, self._by_name = {}, OrderedDict()

    def as_default(self):
        return _InGraph(self)

    def get_collection(self, key, scope=None):
        """The collection's items (variables of a scope: names starting with it)."""
        items = _collections.get(key, []) if self is _graphs[-1] else self._stored.get(key, [])
        return [v for v in items if scope is None or (getattr(v, "name", None) or "").startswith(scope)]

    def get_collection_ref(self, key):
        return _collections.setdefault(key, []) if self is _graphs[-1] else self._stored.setdefault(key, [])

    def get_all_collection_keys(self):
        stored = _collections if self is _graphs[-1] else self._stored
        return [key for key, items in stored.items() if isinstance(items, list) and items]

    def clear_collection(self, name):
        self.get_collection_ref(name).clear()

    def _add(self, name, operation):
        self._by_name[name] = operation

    def _forget_names(self):
        self._names_in_use.clear()
        self._by_name.clear()

    def get_operations(self):
        """The named operations, in the order they were made."""
        return list(self._by_name.values())

    def get_operation_by_name(self, name):
        if ":" in name:
            raise ValueError(f"Name {name!r} appears to refer to a Tensor, not an Operation.")
        if name not in self._by_name:
            raise KeyError(f"The name {name!r} refers to an Operation not in the graph.")
        return self._by_name[name]

    def get_tensor_by_name(self, name):
        if not isinstance(name, str) or ":" not in name:
            raise ValueError(f"The name {name!r} looks like an (invalid) Operation name, not a Tensor. Tensor names "
                             f"must be of the form \"<op_name>:<output_index>\".")
        op_name, index = name.rsplit(":", 1)
        operation = self._by_name.get(op_name)
        if operation is None:
            raise KeyError(f"The name {name!r} refers to a Tensor which does not exist. The operation, {op_name!r}, "
                           f"does not exist in the graph.")
        outputs = getattr(operation, "outputs", [])
        if not index.isdigit() or int(index) >= len(outputs):
            raise KeyError(f"The name {name!r} refers to a Tensor which does not exist. The operation, {op_name!r}, "
                           f"exists but only has {len(outputs)} outputs.")
        return outputs[int(index)]

    def as_graph_element(self, obj, allow_tensor=True, allow_operation=True):
        """A name's tensor ("x:0") or operation ("train"); a tensor or operation as it is."""
        if not isinstance(obj, str):
            return obj
        return self.get_tensor_by_name(obj) if ":" in obj else self.get_operation_by_name(obj)

    def as_graph_def(self, add_shapes=False):
        """The named operations as TensorFlow's GraphDef (graph_def.py): `[n.name for n in
        graph.as_graph_def().node]`, or its bytes for TensorBoard's Graphs tab."""
        from .graph_def import GraphDef
        return GraphDef(self.get_operations())

    def unique_name(self, name, mark_as_used=True):
        from .names import unique_name
        return unique_name(name, mark_as_used)

    def name_scope(self, name):
        from .names import name_scope
        return name_scope(name)

    def finalize(self):
        pass


class _InGraph:
    def __init__(self, graph):
        self.graph = graph

    def __enter__(self):
        _graphs[-1]._stored = _snapshot()
        _graphs.append(self.graph)
        _load(self.graph._stored)
        return self.graph

    def __exit__(self, *exc):
        self.graph._stored = _snapshot()
        _graphs.remove(self.graph)
        _load(_graphs[-1]._stored)
        return False


def _snapshot():
    return {k: dict(v) if isinstance(v, dict) else list(v) for k, v in _collections.items()}


def _load(stored):
    for key, values in _collections.items():
        values.clear()
        if isinstance(values, dict):
            values.update(stored.get(key, {}))
        else:
            values.extend(stored.get(key, []))


_graphs = [Graph()]


def get_default_graph():
    return _graphs[-1]


def get_collection(key, scope=None):
    return get_default_graph().get_collection(key, scope)


def add_to_collection(name, value):
    _collections.setdefault(name, []).append(value)
_streams = [RandomStream(None)]


class TFVariable(SharedVariable):
    """tf.Variable(initial_value, trainable=True, name=None, dtype=None, collections=None): in
    the global variables (and the trainable ones), or in the given collections (a metric's are
    local variables, set by tf.local_variables_initializer())."""

    def __init__(self, initial_value=None, trainable=True, name=None, dtype=None, validate_shape=True,
                 collections=None, **unused):
        if initial_value is None:
            raise ValueError("tf.Variable needs an initial_value")
        if callable(initial_value) and not isinstance(initial_value, Variable):
            initial_value = initial_value()
        init = as_variable(initial_value) if isinstance(initial_value, Variable) else None
        if init is not None:
            if dtype is not None and init.dtype != np.dtype(dtype).name:
                init = cast(init, dtype)
            value = function([], init, backend="numpy")()
        else:
            value = np.asarray(initial_value, dtype=dtype)
            if dtype is None and not isinstance(initial_value, np.ndarray):  # (TensorFlow's defaults for
                # Python numbers: float32 and int32)
                value = value.astype({"float64": "float32", "int64": "int32"}.get(value.dtype.name, value.dtype))
        op_name = unique_name(name or "Variable")
        super().__init__(value, name=f"{op_name}:0", static_shape=value.shape if validate_shape else None)
        name_tensors(self, op_name, "VariableV2")
        self.initial_value = init if init is not None else as_variable(value.copy())
        self.trainable = trainable
        for key in (collections if collections is not None else [GraphKeys.GLOBAL_VARIABLES]):
            _collections.setdefault(key, []).append(self)
        if trainable:
            _collections["trainable_variables"].append(self)
        with root_scope():
            self.initializer = operation({self: self.initial_value}, f"{op_name}/Assign")

    def assign(self, value, name=None):
        return operation({self: _as_type_of(self, value)}, name or "Assign")

    def assign_add(self, delta, name=None):
        return operation({self: self + _as_type_of(self, delta)}, name or "AssignAdd")

    def assign_sub(self, delta, name=None):
        return operation({self: self - _as_type_of(self, delta)}, name or "AssignSub")

    def value(self):
        return self

    read_value = value

    def load(self, value, session=None):
        self.set_value(np.asarray(value, dtype=self.dtype))

    def get_shape(self):
        return list(self.type.shape)


def _as_type_of(var, value):
    value = as_variable(value)
    return value if value.dtype == var.dtype else cast(value, var.dtype)


def placeholder(dtype, shape=None, name=None):
    """tf.placeholder(dtype, shape=None, name=None): shape a list with None for lengths not known.
    Without a shape it is a scalar (a keep_prob or a learning rate): symgraph's graphs know each
    tensor's number of dimensions."""
    shape = () if shape is None else (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return tensor(None, dtype=np.dtype(dtype).name, shape=shape)


def placeholder_with_default(input, shape, name=None):
    """tf.placeholder_with_default: the value given unless one is fed for it (fed tensors are
    replaced by the session)."""
    return as_variable(input)


def global_variables():
    return list(_collections["variables"])


all_variables = global_variables


def trainable_variables():
    return list(_collections["trainable_variables"])


def global_variables_initializer():
    return variables_initializer(global_variables(), name="init")


initialize_all_variables = global_variables_initializer


def local_variables():
    return list(_collections.get(GraphKeys.LOCAL_VARIABLES, []))


def local_variables_initializer():
    return variables_initializer(local_variables(), name="init_local")


def variables_initializer(var_list, name="init"):
    return Operation(OrderedDict((v, v.initial_value) for v in var_list))


def reset_default_graph():
    """Forget the variables made so far (their collections), the names and the graph-level seed,
    as a new default graph."""
    for values in _collections.values():
        values.clear()  # (the variables, and the layers' call counts: dense, dense_1...)
    get_default_graph()._forget_names()
    _graph_seed[0] = None


def set_random_seed(seed):
    """The seed of the random tensors made from here on (tf.random_normal, dropout...) and of
    the datasets shuffled without a seed of their own, as TensorFlow's graph-level seed."""
    _streams[0] = RandomStream(seed)
    _graph_seed[0] = seed


_graph_seed = [None]


def graph_seed():
    """tf.set_random_seed's seed (None where none was set), for what draws outside the graph."""
    return _graph_seed[0]


def _stream(seed):
    return RandomStream(seed) if seed is not None else _streams[0]


def random_normal(shape, mean=0.0, stddev=1.0, dtype="float32", seed=None, name=None):
    return _stream(seed).normal(_shape(shape), avg=mean, std=stddev, dtype=np.dtype(dtype).name)


def random_uniform(shape, minval=0.0, maxval=None, dtype="float32", seed=None, name=None):
    return _stream(seed).uniform(_shape(shape), low=minval, high=1.0 if maxval is None else maxval,
                                 dtype=np.dtype(dtype).name)


# (a normal draw's quantiles at -2 and 2 standard deviations)
_LOW, _HIGH = 0.022750131948179195, 0.9772498680518208


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype="float32", seed=None, name=None):
    """Normal numbers within two standard deviations of the mean: the inverse of the normal
    distribution function at numbers drawn uniformly between its values there (TensorFlow
    redraws the ones outside; the distribution is the same)."""
    dtype = np.dtype(dtype).name
    u = _stream(seed).uniform(_shape(shape), low=_LOW, high=_HIGH, dtype=dtype)
    return mean + stddev * sqrt(np.asarray(2.0, dtype)) * erfinv(2 * u - 1)


def _shape(shape):
    return [int(s) if isinstance(s, (int, np.integer)) else s for s in shape] if isinstance(shape, (list, tuple)) \
        else shape


def operation(updates, name, value=None):
    """An Operation named `name` (made unique in the scopes open), found by the graph."""
    return name_operation(Operation(updates, value=value), unique_name(name))


_NAMED_DEFAULTS = {"placeholder": "Placeholder", "placeholder_with_default": "PlaceholderWithDefault",
                   "random_normal": "random_normal", "random_uniform": "random_uniform",
                   "truncated_normal": "truncated_normal", "variables_initializer": "init"}
name_functions(globals(), _NAMED_DEFAULTS)
