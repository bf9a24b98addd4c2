"""TensorFlow 1's meta graphs: the graph written beside a checkpoint (`model.meta`), so that
another program can carry on from it without the code that built it:

    saver = tf.train.import_meta_graph("model.meta")
    saver.restore(sess, "model")
    x = tf.get_default_graph().get_tensor_by_name("x:0")
    features = sess.run("hidden1/Relu:0", feed_dict={x: images})

A meta graph here is a pickle of the graph's named tensors and operations (names.py) and its
collections, not TensorFlow's MetaGraphDef protocol buffer: TensorFlow's own files cannot be
read. As any pickle, load only files you trust. The variables' values are left out (they are
the checkpoint's: zeros until Saver.restore or the initializer runs); a tf.data iterator's
get_next() tensors become placeholders to feed."""
import io
import pickle

import numpy as np

from .data import Iterator
from .names import TensorOp, op_name
from .variables import TFVariable, _collections, get_default_graph

FORMAT = "symgraph.compat.v1 meta graph 1"


class MetaGraphDef:
    """What export_meta_graph returns and import_meta_graph takes: the pickled graph's bytes."""

    def __init__(self, data):
        self.data = data

    def SerializeToString(self):
        return self.data


def export_meta_graph(filename=None, collection_list=None, as_text=False, **unused):
    """The default graph's names, tensors, operations and collections (those in
    collection_list, or all), written to filename where given."""
    graph = get_default_graph()
    keys = list(_collections) if collection_list is None else list(collection_list)
    state = {"format": FORMAT, "operations": list(graph._by_name.items()),
             "names_in_use": dict(graph._names_in_use),
             "collections": {k: list(_collections[k]) if isinstance(_collections[k], list) else dict(_collections[k])
                             for k in keys if k in _collections}}
    buffer = io.BytesIO()
    try:
        _GraphPickler(buffer).dump(state)
    except (pickle.PicklingError, TypeError, AttributeError) as error:
        raise ValueError(f"export_meta_graph: the graph holds something that cannot be saved ({error}); "
                         f"symgraph's meta graphs are pickles of the graph") from None
    meta = MetaGraphDef(buffer.getvalue())
    if filename is not None:
        with open(filename, "wb") as fh:
            fh.write(meta.data)
    return meta


class _GraphPickler(pickle.Pickler):
    """Leaves out the variables' values (zeros of their shape come back) and the iterators."""

    def __init__(self, file):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)

    def reducer_override(self, obj):
        if isinstance(obj, Iterator):
            return _no_iterator, ()
        if isinstance(obj, TFVariable):
            reduced = list(obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL))
            value = obj.get_value(borrow=True)
            reduced[2] = dict(reduced[2], container=[np.zeros(value.shape, value.dtype)])
            return tuple(reduced)
        return NotImplemented


def _no_iterator():
    return None


def import_meta_graph(meta_graph_or_file, clear_devices=False, import_scope=None, **unused):
    """The meta graph's tensors, operations and collections added to the default graph (their
    names behind import_scope/ where given); returns a Saver of its variables by their names in
    the checkpoint. A name the graph already has is refused: import into a new graph
    (tf.reset_default_graph()) or under an import_scope."""
    data = meta_graph_or_file.data if isinstance(meta_graph_or_file, MetaGraphDef) else None
    if data is None:
        with open(meta_graph_or_file, "rb") as fh:
            data = fh.read()
    state = pickle.loads(data)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"import_meta_graph: {meta_graph_or_file!r} is not a meta graph written by symgraph "
                         f"(TensorFlow's own MetaGraphDef files cannot be read)")
    graph = get_default_graph()
    prefix = f"{import_scope}/" if import_scope else ""
    taken = [prefix + name for name, _ in state["operations"] if prefix + name in graph._by_name]
    if taken:
        raise ValueError(f"import_meta_graph: the graph already has {taken[:5]}; import into a new graph "
                         f"(tf.reset_default_graph()) or pass import_scope=")
    for name, operation in state["operations"]:
        operation.name = prefix + name
        for k, tensor in enumerate(getattr(operation, "outputs", []) if isinstance(operation, TensorOp) else []):
            tensor.name = f"{prefix}{name}:{k}"
        graph._add(prefix + name, operation)
    for key, count in state["names_in_use"].items():
        key = prefix.lower() + key
        graph._names_in_use[key] = max(graph._names_in_use.get(key, 0), count)
    if import_scope:
        graph._names_in_use[import_scope.lower()] = max(graph._names_in_use.get(import_scope.lower(), 0), 1)
    checkpoint_names = {}
    for key, items in state["collections"].items():
        if isinstance(items, dict):
            if not import_scope:  # (the layers' call counts: a new dense layer is dense_2)
                _collections.setdefault(key, {}).update(items)
            continue
        _collections.setdefault(key, []).extend(items)
        if key == "variables":
            checkpoint_names.update((op_name(v)[len(prefix):], v) for v in items)
    from .train import Saver
    return Saver(checkpoint_names) if checkpoint_names else None
