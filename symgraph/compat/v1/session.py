"""TensorFlow 1's Session over sg.function: sess.run(fetches, feed_dict) compiles one function
for each set of fetches and fed tensors it meets (kept for the next run of the same), runs it,
and gives the values back in the fetches' structure. An Operation (an optimizer's minimize, an
assign, the variables' initializer) is a set of updates of variables, applied after the fetched
tensors are computed, all or none (a failed run leaves every variable as it was)."""
import contextlib
from collections import OrderedDict

import numpy as np

from ...function import function
from ...graph import Constant, SharedVariable, Variable
from ...ops.base import as_variable

_default_sessions = []
_dependencies = []  # the operations of each open control_dependencies block, outermost first


class Operation:
    """A TensorFlow operation run for its effect: updates of variables (shared variables),
    None when fetched, or `value` where given (a metric's update_op gives the metric's new
    value). One made inside `with tf.control_dependencies([...])` runs those operations'
    updates too (batch normalization's moving averages with the training step)."""

    type = "NoOp"

    def __init__(self, updates=None, name=None, value=None):
        self.updates = OrderedDict()
        for op in (op for ops in _dependencies for op in ops):
            self.updates.update(op.updates)
        self.updates.update(updates or {})
        self.name, self.value = name, value

    @property
    def outputs(self):
        return [] if self.value is None else [self.value]

    @property
    def inputs(self):
        """The named tensors its updates (and value) are computed from, the variables updated."""
        from .names import nearest_named
        return nearest_named(list(self.updates.values()) + list(self.updates) + self.outputs)

    @property
    def graph(self):
        from .variables import get_default_graph
        return get_default_graph()

    def run(self, feed_dict=None, session=None):
        (session or get_default_session(f"{self.name or 'operation'}.run()")).run(self, feed_dict)

    def __repr__(self):
        return f"<Operation {self.name or ''} updating {[v.name for v in self.updates]}>"


def group(*inputs, name=None):
    """tf.group: one operation running each of these (operations, or tensors, computed for nothing)."""
    from .variables import get_default_graph
    updates = OrderedDict()
    for op in _flatten(list(inputs), get_default_graph())[0]:
        if isinstance(op, Operation):
            for var, value in op.updates.items():
                if var in updates:
                    raise ValueError(f"group: {var.describe()} is updated by two of the operations grouped")
                updates[var] = value
    return Operation(updates, name)


def no_op(name=None):
    return Operation(name=name)


@contextlib.contextmanager
def control_dependencies(control_inputs):
    """Operations made inside run these first (their updates join theirs); tensors made
    inside do not: fetch the operations, or make an operation (tf.group, an optimizer's
    minimize) inside the block."""
    ops = [op for op in (control_inputs or []) if isinstance(op, Operation)]
    _dependencies.append(ops)
    try:
        yield
    finally:
        _dependencies.pop()


def get_default_session(what="eval()"):
    if not _default_sessions:
        raise ValueError(f"{what} needs a default session: run it inside `with tf.Session() as sess:`, "
                         f"after tf.InteractiveSession(), or pass session=")
    return _default_sessions[-1]


class Session:
    """tf.Session(): run(fetches, feed_dict=None). Fetches: a tensor, an operation, or lists,
    tuples and dicts of them (the values come back in the same structure, None for each
    operation). feed_dict: {placeholder or any tensor: value}, each value cast to the tensor's
    dtype, as TensorFlow's. `with tf.Session() as sess:` makes it the default session
    (tensor.eval(), operation.run())."""

    def __init__(self, target="", graph=None, config=None, backend=None):
        from .variables import get_default_graph
        self.backend = backend
        self.graph = graph if graph is not None else get_default_graph()
        self._functions = {}
        self._fast = {}  # (the fetches' and feed keys' ids) -> a run made again without the general path
        self._effects = {}  # the fetches' ids -> (iterators, tf.Print requests, control dependencies): _effects_of
        self._closed = False

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session")
        if feed_dict is None or type(feed_dict) is dict:
            key = (tuple(map(id, fetches)) if type(fetches) in (list, tuple) else id(fetches),
                   tuple(map(id, feed_dict)) if feed_dict else ())
            fast = self._fast.get(key)
            if fast is not None:
                values = fast.arguments(feed_dict)
                if values is not None:
                    return fast.results(values)
        return self._run(fetches, feed_dict)

    def _run(self, fetches, feed_dict):
        flat, rebuild = _flatten(fetches, self.graph)
        feed = OrderedDict((_feed_key(k, self.graph), v) for k, v in (feed_dict or {}).items())
        for op in flat:
            if hasattr(op, "before_run"):  # (an iterator's initializer)
                op.before_run(feed)
        fetched = tuple(id(f) for f in flat)
        iterators, prints, controls = self._effects_of(flat, fetched)
        for iterator in iterators:  # (tf.data: each iterator's next element, OutOfRangeError past the end)
            if not any(t in feed for t in iterator._tensors):
                feed.update(zip(iterator._tensors, iterator.next_element()))
        key = (fetched, tuple(id(k) for k in feed))
        entry = self._functions.get(key)
        if entry is None:
            extra = [t for request in prints for t in request.data]
            entry = self._functions[key] = (self._compile(flat, list(feed), extra, controls), flat, list(feed))
        compiled = entry[0]
        values = [_fed_value(k, v) for k, v in feed.items()]
        results = iter(compiled(*values) if compiled is not None else [])
        out = rebuild([next(results) if _tensor_of(f) is not None else None for f in flat])
        for request in prints:  # (the values tf.Print asked for, after the rest)
            request.show([next(results) for _ in request.data])
        _FastRun.remember(self, fetches, feed_dict, flat, list(feed), compiled, key)
        return out

    def _effects_of(self, flat, key):
        """What the tensors the fetches are computed from ask of a run, found once per set of
        fetches (key: their ids): (the tf.data iterators whose get_next() tensors are fed, the
        tf.Print requests, the operations of control_dependencies)."""
        if key not in self._effects:
            from ...graph import ancestors
            tensors = [t for t in map(_tensor_of, flat) if t is not None]
            tensors += [value for f in flat if isinstance(f, Operation) for value in f.updates.values()]
            iterators, requests, controls = [], [], []
            for v in ancestors(tensors):
                for found, attr in ((iterators, "tf_iterator"), (requests, "tf_print")):
                    item = getattr(v, attr, None)
                    if item is not None and item not in found:
                        found.append(item)
                controls += [op for op in getattr(v, "tf_control", []) if op not in controls and op not in flat]
            requests += [f for f in flat if isinstance(f, PrintOperation) and f not in requests]
            self._effects[key] = (iterators, requests, controls)
        return self._effects[key]

    def _compile(self, flat, fed, extra=(), controls=()):
        """The function of the fetches (flat), computing the extra tensors after theirs and
        applying the updates of the fetched operations and of `controls` (the operations their
        tensors were made under: control_dependencies)."""
        tensors = [t for t in map(_tensor_of, flat) if t is not None] + list(extra)
        updates = OrderedDict()
        for op in [f for f in flat if isinstance(f, Operation)] + list(controls):
            for var, value in op.updates.items():
                if var in updates and updates[var] is not value:
                    raise ValueError(f"Session.run: {var.describe()} is updated by two of the operations fetched")
                updates[var] = value
        if not tensors and not updates:
            return None
        # A fed placeholder is an input; any other fed tensor (a variable, a computed value)
        # is replaced by one (TensorFlow feeds any tensor).
        inputs, givens = [], {}
        for k in fed:
            if k.owner is None and not isinstance(k, (SharedVariable, Constant)):
                inputs.append(k)
            else:
                inputs.append(Variable(k.type, name=k.name))
                givens[k] = inputs[-1]
        try:
            return function(inputs, tensors, updates=updates, givens=givens or None, backend=self.backend,
                            on_unused_input="ignore")
        except ValueError as error:
            if "not among the function's inputs" in str(error):
                raise ValueError(f"You must feed a value for a placeholder tensor: {error}") from None
            raise

    @property
    def graph_def(self):
        return self.graph.as_graph_def()

    def close(self):
        self._closed = True
        self._functions.clear()

    def as_default(self):
        return _AsDefault(self)

    def __enter__(self):
        _default_sessions.append(self)
        return self

    def __exit__(self, *exc):
        if _default_sessions and _default_sessions[-1] is self:
            _default_sessions.pop()
        self.close()
        return False


class _FastRun:
    """A run made again (a training loop's sess.run(train_op, {x: batch, y: labels})): the same
    fetches (one, or a flat list or tuple) and feed keys, each value an array of its placeholder's
    dtype and rank, as the last time; anything else takes the general path, which casts and
    checks (sess.run of a small step: 21 -> 11 us, the compiled step taking 8.6)."""

    def __init__(self, compiled, checks, tensors, single, kind):
        self.compiled, self.checks, self.tensors, self.single, self.kind = compiled, checks, tensors, single, kind

    @staticmethod
    def remember(session, fetches, feed_dict, flat, keys, compiled, key):
        """Keeps the run for next time where it is simple: no iterator to feed, no initializer,
        no names or summaries among the fetches; the entry holds the fetches and keys, so their
        ids stay theirs."""
        single = type(fetches) not in (list, tuple)
        items = [fetches] if single else list(fetches)
        iterators, prints, _ = session._effects[key[0]]
        if (iterators or prints or any(hasattr(f, "before_run") for f in flat)
                or len(flat) != len(items)
                or any(f is not g for f, g in zip(flat, items)) or any(type(k) is str for k in (feed_dict or {}))):
            return
        if feed_dict is not None and type(feed_dict) is not dict:
            return
        checks = [(k, k.type.np_dtype, k.ndim) for k in keys]
        tensors = [_tensor_of(f) is not None for f in flat]
        fast_key = (id(fetches) if single else tuple(map(id, fetches)), tuple(map(id, feed_dict)) if feed_dict else ())
        entry = _FastRun(compiled, checks, tensors, single, type(fetches))
        entry.held = (fetches if single else list(fetches), list(feed_dict or {}))
        session._fast[fast_key] = entry

    def arguments(self, feed_dict):
        values = []
        for key, dtype, ndim in self.checks:
            value = feed_dict[key]
            if type(value) is not np.ndarray or value.dtype != dtype or value.ndim != ndim:
                return None
            values.append(value)
        return values

    def results(self, values):
        computed = iter(self.compiled(*values) if self.compiled is not None else [])
        out = [next(computed) if is_tensor else None for is_tensor in self.tensors]
        if self.single:
            return out[0]
        return out if self.kind is list else tuple(out)


class _AsDefault:
    def __init__(self, session):
        self.session = session

    def __enter__(self):
        _default_sessions.append(self.session)
        return self.session

    def __exit__(self, *exc):
        _default_sessions.remove(self.session)
        return False


class InteractiveSession(Session):
    """A session that makes itself the default when made (for eval() and run() in a shell)."""

    def __init__(self, target="", graph=None, config=None, backend=None):
        super().__init__(target, graph, config, backend)
        _default_sessions.append(self)

    def close(self):
        if self in _default_sessions:
            _default_sessions.remove(self)
        super().close()


class PrintRequest:
    """What tf.Print asks: the data tensors' values written (to stderr, TensorFlow's way) after
    each run that computes the tensor it returned, the first first_n runs only where given."""

    def __init__(self, data, message, first_n, summarize, stream=None):
        self.data, self.message, self.first_n = [as_variable(t) for t in data], message or "", first_n
        self.summarize, self.stream, self.count = 3 if summarize is None else summarize, stream, 0

    def show(self, values):
        self.count += 1
        if self.first_n is not None and 0 <= self.first_n < self.count:
            return
        import sys
        text = self.message + "".join(_summarized(np.asarray(v), self.summarize) for v in values)
        print(text, file=self.stream or sys.stderr)


def _summarized(value, n):
    """TensorFlow's print of a tensor: its first n values, then "..." where there are more."""
    flat = value.reshape(-1)
    shown = " ".join(str(v) for v in flat[:n])
    return f"[{shown}{'...' if flat.size > n else ''}]"


class PrintOperation(Operation, PrintRequest):
    """tf.print(*inputs)'s operation: running it writes the inputs' values."""

    def __init__(self, data, summarize, stream, sep=" "):
        Operation.__init__(self)
        PrintRequest.__init__(self, data, "", None, summarize, stream)
        self.sep = sep

    def show(self, values):
        import sys
        print(self.sep.join(_summarized(np.asarray(v), self.summarize) for v in values), file=self.stream or sys.stderr)


def _tensor_of(fetch):
    """The tensor a fetch gives a value of: itself, an operation's value, or None."""
    return fetch.value if isinstance(fetch, Operation) else fetch


def _feed_key(key, graph):
    if isinstance(key, str):
        return graph.get_tensor_by_name(key)
    if not isinstance(key, Variable):
        raise TypeError(f"feed_dict's keys must be tensors (placeholders) or their names, got {key!r}")
    return key


def _fed_value(key, value):
    """The value as the tensor's dtype (TensorFlow casts fed lists and float64 arrays so)."""
    array = np.asarray(value, dtype=key.type.np_dtype)
    if array.ndim != key.ndim:
        raise ValueError(f"Cannot feed value of shape {array.shape} for tensor {key.describe()}, which has "
                         f"{key.ndim} dimensions")
    return array


def _flatten(fetches, graph=None):
    """(the fetches in a flat list, a function building the same structure from their values);
    names ("loss:0", "train") found in the graph."""
    if isinstance(fetches, str) and graph is not None:
        fetches = graph.as_graph_element(fetches)
    if isinstance(fetches, (list, tuple)):
        parts = [_flatten(f, graph) for f in fetches]
        flat = [x for part, _ in parts for x in part]

        def rebuild(values):
            out, at = [], 0
            for part, build in parts:
                out.append(build(values[at:at + len(part)]))
                at += len(part)
            if not isinstance(fetches, tuple):
                return out
            return type(fetches)(*out) if hasattr(fetches, "_fields") else tuple(out)  # (a namedtuple by fields)
        return flat, rebuild
    if isinstance(fetches, dict):
        keys = list(fetches)
        flat, build = _flatten([fetches[k] for k in keys], graph)
        return flat, lambda values: type(fetches)(zip(keys, build(values)))
    if isinstance(fetches, Operation):
        return [fetches], lambda values: values[0]
    if hasattr(fetches, "summary_tensors"):  # (a tf.summary: its tensors' values serialized)
        return fetches.summary_tensors(), fetches.serialize
    if fetches is None:
        raise TypeError("Fetch argument None has invalid type")
    return [as_variable(fetches)], lambda values: values[0]
