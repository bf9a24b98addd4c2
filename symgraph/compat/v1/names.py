"""TensorFlow 1's names. Every tensor a tf function makes is named "scope/Op:0": name= or the
op's default (MatMul, Relu, Placeholder...), under the name scopes open (tf.name_scope,
tf.variable_scope, and each function's own scope for the tensors it makes inside), made unique
in its graph as TensorFlow makes them (Relu, Relu_1, ...). `tensor.op` is the operation that
made it (`.name` without the ":0"); the graph finds either by name (get_tensor_by_name,
get_operation_by_name) and Session.run takes names for fetches and feeds.

Tensors made by Python's operators (x + y, x[0]) are symgraph's own and have no name:
tf.identity(t, name="logits") names one, as TensorFlow's code does for the tensors it restores.
Name scopes also draw as clusters in sg.render's pictures, as TensorBoard groups them."""
import contextlib
import functools
import inspect
import re

from ...graph import Variable, in_scope
from ...ops.base import as_variable
from ...ops.shape import dimshuffle
from .session import Operation

_open_scopes = []  # the full names of the open name scopes, innermost last ("" is the top)
_OUTPUT = re.compile(r"^(.*):(\d+)$")


def current_scope():
    return _open_scopes[-1] if _open_scopes else ""


def _graph():
    from .variables import get_default_graph
    return get_default_graph()


def unique_name(name, mark_as_used=True, scope=None):
    """scope/name, or scope/name_1, _2... if the graph has it (TensorFlow's rule: names compared
    in lower case, a taken name_1 skipped)."""
    scope = current_scope() if scope is None else scope
    full = f"{scope}/{name}" if scope else name
    in_use = _graph()._names_in_use
    key = full.lower()
    count = in_use.get(key, 0)
    if mark_as_used:
        in_use[key] = count + 1
    if count == 0:
        return full
    base = key
    while key in in_use:
        key = f"{base}_{count}"
        count += 1
    if mark_as_used:
        in_use[key] = 1
    return f"{full}_{count - 1}"


@contextlib.contextmanager
def _scope(full):
    """Names made inside start with `full/` (only names: no cluster in pictures)."""
    _open_scopes.append(full)
    try:
        yield
    finally:
        _open_scopes.pop()


@contextlib.contextmanager
def name_scope(name, default_name=None, values=None):
    """tf.name_scope(name): tensors made inside are named "name/...", the scope made unique
    (a second "hidden1" is "hidden1_1"); a name ending in "/" reopens that scope as it is, None
    (without default_name) goes back to the top. Yields the scope's name and a "/", as
    TensorFlow's. The tensors made inside draw as one cluster in sg.render's pictures."""
    if name is None and default_name is None:
        full = ""
    elif name and name.endswith("/"):
        full = name[:-1]
    else:
        full = unique_name(name or default_name)
    with _scope(full), in_scope(full):
        yield f"{full}/" if full else ""


@contextlib.contextmanager
def root_scope():
    """Names made inside are taken whole (get_variable's "scope/name", an optimizer's slots)."""
    with _scope(""):
        yield


class TensorOp(Operation):
    """The operation that made a named tensor (tensor.op): name, type, its outputs and the
    named tensors it was computed from. Fetched by Session.run, it updates nothing and gives
    None, as TensorFlow's operations do."""

    outputs = ()  # (a list of its own: Operation's is a property)

    def __init__(self, name, op_type, outputs):
        self.name, self.type, self.outputs = name, op_type, list(outputs)
        self.updates, self.value = {}, None

    @property
    def inputs(self):
        return nearest_named([v for out in self.outputs if out.owner is not None for v in out.owner.inputs])

    def values(self):
        return tuple(self.outputs)

    def __repr__(self):
        return f"<tf.Operation '{self.name}' type={self.type}>"


def nearest_named(tensors):
    """The named tensors these are, or are computed from nearest (symgraph's unnamed nodes
    between looked through), in the order met."""
    found, seen, queue = [], set(), list(tensors)
    while queue:
        v = queue.pop(0)
        if id(v) in seen:
            continue
        seen.add(id(v))
        if is_named(v):
            found.append(v)
        elif v.owner is not None:
            queue.extend(v.owner.inputs)
    return found


def is_named(tensor):
    """Whether a tf function named it (its op is set)."""
    return "op" in vars(tensor)


def name_tensors(outputs, op_name, op_type):
    """Name each tensor of `outputs` (a tensor, or lists and tuples of them) op_name:0, :1...;
    returns them (a copy of one already named: a tensor has one name)."""
    tensors = []

    def visit(item):
        if isinstance(item, Variable):
            if is_named(item) or any(item is t for t in tensors):
                item = dimshuffle(item, *range(item.ndim))
            tensors.append(item)
            return item
        if isinstance(item, (list, tuple)) and not hasattr(item, "_fields"):
            return (list if isinstance(item, list) else tuple)(visit(x) for x in item)
        return item

    named = visit(outputs)
    if tensors:
        op = TensorOp(op_name, op_type, tensors)
        for k, t in enumerate(tensors):
            t.name, t.op = f"{op_name}:{k}", op
        _graph()._add(op_name, op)
    return named


def ensure_named(tensor, default):
    """The tensor, named scope/default:0 if no tf function named it."""
    if isinstance(tensor, Variable) and not is_named(tensor):
        name_tensors(tensor, unique_name(default), default)
    return tensor


def name_operation(operation, op_name):
    operation.name = op_name
    _graph()._add(op_name, operation)
    return operation


def op_name(tensor_or_name):
    """"W:0" -> "W" (a variable's name in checkpoints)."""
    name = tensor_or_name if isinstance(tensor_or_name, str) else tensor_or_name.name
    match = _OUTPUT.match(name or "")
    return match.group(1) if match else name


def named(fn, default):
    """fn taking name= (TensorFlow's functions): its tensors named name (or default) in the
    scopes open; the tensors it makes inside are named under that name's scope."""
    signature = inspect.signature(fn)
    takes_name = "name" in signature.parameters
    own_default = signature.parameters["name"].default if takes_name else None

    @functools.wraps(fn)
    def call(*args, **kwargs):
        if takes_name:
            bound = signature.bind(*args, **kwargs)
            name = bound.arguments.pop("name", None) or own_default
            args, kwargs = bound.args, bound.kwargs
        else:
            name = kwargs.pop("name", None)
        full = unique_name(name or default)
        with _scope(full):
            out = fn(*args, **kwargs)
        if isinstance(out, Operation):
            return name_operation(out, full)
        if isinstance(out, Variable) and is_named(out) and out.name.startswith(f"{full}/"):
            return _controlled(out)  # (made inside, named there: TensorFlow's "max_pooling2d/MaxPool:0")
        if any(out is a for a in args) or any(out is a for a in kwargs.values()):
            out = as_variable(out)
            out = dimshuffle(out, *range(out.ndim))
        return _controlled(name_tensors(out, full, default))
    call.tf_named = True
    return call


def _controlled(out):
    """The tensors, made inside `with tf.control_dependencies(ops):`, carrying those operations:
    a Session.run that computes one of them runs their updates too (TensorFlow's
    `with tf.control_dependencies(update_ops): loss = tf.identity(loss)`)."""
    from .session import _dependencies
    ops = [op for block in _dependencies for op in block]
    if ops:
        for tensor in (out if isinstance(out, (list, tuple)) else [out]):
            if isinstance(tensor, Variable):
                tensor.tf_control = list(getattr(tensor, "tf_control", [])) + ops
    return out


def name_functions(namespace, defaults, skip=()):
    """Wrap each public function of a module's namespace with `named`, its default name from
    `defaults` (TensorFlow's op type) or its own name (TensorFlow's composite functions)."""
    for attr, fn in list(namespace.items()):
        if attr.startswith("_") or attr in skip or not inspect.isfunction(fn) or getattr(fn, "tf_named", False):
            continue
        name = inspect.signature(fn).parameters.get("name")
        ours = fn.__module__.startswith(__package__) and name is not None and name.default is not name.empty
        if attr in defaults or ours:
            namespace[attr] = named(fn, defaults.get(attr, attr))
