"""tf.data in TensorFlow 1's graph mode: a Dataset of arrays (or of placeholders, fed when an
initializable iterator is initialized, or a generator's, or TFRecord files' records parsed by a
map function: example.py), transformed by batch / padded_batch / shuffle / repeat / map / filter /
take / skip / zip / concatenate, read through an iterator whose get_next() tensors the Session feeds itself, one
element each run that needs them; past the end, run raises tf.errors.OutOfRangeError.

    dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(1000).batch(64).repeat(3)
    images, labels = dataset.make_one_shot_iterator().get_next()
    loss = ...(images, labels)
    with tf.Session() as sess:
        while True:
            try:
                sess.run(train_op)
            except tf.errors.OutOfRangeError:
                break

The elements are computed in NumPy outside the graph (map's and filter's functions are traced on
symbolic tensors once, as TensorFlow traces them, and compiled)."""
import os

import numpy as np

from ...graph import Variable
from ...ops.base import as_variable
from ...variables import tensor
from .errors import OutOfRangeError
from .names import name_tensors, unique_name
from .nest import flatten, map_structure, pack_sequence_as
from .session import Operation
from .summary import read_tfrecords


class Dataset:
    """A source of elements (a structure of arrays) and the transformations on it. Each pass is a
    fresh Python iterator over the elements, so repeat and reinitialized iterators start over."""

    def __init__(self, make_elements, structure, specs):
        self._make, self._structure, self._specs = make_elements, structure, specs  # specs: (dtype, shape) leaves

    # -- sources ---------------------------------------------------------------------------

    @staticmethod
    def from_tensor_slices(tensors):
        """The rows of arrays (or of placeholders, fed at an initializable iterator's
        initializer): one element a row, the same structure (a tuple, a dict, one array)."""
        leaves = flatten(tensors)
        specs = [_leaf_spec(leaf, sliced=True) for leaf in leaves]

        def elements(feed):  # (the arrays read now, when the iterator starts: a missing feed is named then)
            arrays = [_leaf_value(leaf, feed) for leaf in leaves]
            lengths = {len(a) for a in arrays}
            if len(lengths) != 1:
                raise ValueError(f"from_tensor_slices: the arrays' first lengths differ: {sorted(lengths)}")
            return ([a[row] for a in arrays] for row in range(lengths.pop()))
        return Dataset(elements, tensors, specs)

    @staticmethod
    def from_tensors(tensors):
        """One element: the arrays whole."""
        leaves = flatten(tensors)
        specs = [_leaf_spec(leaf, sliced=False) for leaf in leaves]
        return Dataset(lambda feed: iter([[_leaf_value(leaf, feed) for leaf in leaves]]), tensors, specs)

    @staticmethod
    def range(*args):
        values = np.arange(*args, dtype=np.int64)
        return Dataset.from_tensor_slices(values)

    @staticmethod
    def zip(datasets):
        """Elements of several datasets side by side (a tuple of theirs), as long as the shortest."""
        datasets = tuple(datasets)

        def elements(feed):
            for parts in zip(*[d._make(feed) for d in datasets]):
                yield [leaf for part in parts for leaf in part]
        return Dataset(elements, tuple(d._structure for d in datasets), [s for d in datasets for s in d._specs])

    @staticmethod
    def from_generator(generator, output_types, output_shapes=None):
        """The elements a Python generator function yields, of output_types (and shapes)."""
        shapes = output_shapes if output_shapes is not None else map_structure(lambda _: None, output_types)
        specs = [(np.dtype(t).name, None if s is None else tuple(s))
                 for t, s in zip(flatten(output_types), _leaves_of_shapes(shapes, output_types))]

        def elements(feed):
            for element in generator():
                yield [np.asarray(v, dtype=d) for v, (d, _) in zip(flatten(element), specs)]
        return Dataset(elements, output_types, specs)

    # -- transformations -------------------------------------------------------------------

    def _then(self, transform, specs=None, structure=None):
        make = self._make
        return Dataset(lambda feed: transform(make(feed)), self._structure if structure is None else structure,
                       self._specs if specs is None else specs)

    def batch(self, batch_size, drop_remainder=False):
        def batches(elements):
            block = []
            for element in elements:
                block.append(element)
                if len(block) == batch_size:
                    yield [np.stack(parts) for parts in zip(*block)]
                    block = []
            if block and not drop_remainder:
                yield [np.stack(parts) for parts in zip(*block)]
        specs = [(d, None if s is None else (batch_size if drop_remainder else None,) + s) for d, s in self._specs]
        return self._then(batches, specs)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True):
        """TensorFlow's shuffle: a buffer of buffer_size elements, each one taken from it at
        random and replaced by the next; without a seed, tf.set_random_seed's (random where
        none was set), as TensorFlow's graph-level seed decides."""
        from .variables import graph_seed
        seed = graph_seed() if seed is None else seed
        rng = np.random.default_rng(seed)
        first = np.random.default_rng(seed).bit_generator.state

        def shuffled(elements):
            if not reshuffle_each_iteration:
                rng.bit_generator.state = first
            buffer = []
            for element in elements:
                buffer.append(element)
                if len(buffer) >= buffer_size:
                    yield buffer.pop(int(rng.integers(len(buffer))))
            while buffer:
                yield buffer.pop(int(rng.integers(len(buffer))))
        return self._then(shuffled)

    def repeat(self, count=None):
        make = self._make

        def passes(first, feed):
            elements, n = first, 0
            while count is None or count < 0 or n < count:
                produced = False
                for element in elements:
                    produced = True
                    yield element
                n += 1
                if not produced:
                    return
                elements = make(feed)
        return Dataset(lambda feed: passes(make(feed), feed), self._structure, self._specs)

    def take(self, count):
        def taken(elements):
            for k, element in enumerate(elements):
                if 0 <= count <= k:
                    return
                yield element
        return self._then(taken)

    def skip(self, count):
        def skipped(elements):
            for k, element in enumerate(elements):
                if k >= count:
                    yield element
        return self._then(skipped)

    def map(self, map_func, num_parallel_calls=None):
        """map_func on each element's tensors, traced once on symbolic ones (as TensorFlow traces
        it: TensorFlow's ops inside) and compiled; its results are the new elements."""
        traced = _Traced(map_func, self._structure, self._specs)

        def mapped(elements):
            for element in elements:
                yield traced(element)
        return self._then(mapped, traced.out_specs, traced.out_structure)

    def filter(self, predicate):
        traced = _Traced(predicate, self._structure, self._specs)

        def kept(elements):
            for element in elements:
                if bool(traced(element)[0]):
                    yield element
        return self._then(kept)

    def concatenate(self, dataset):
        """This dataset's elements, then the other's (of the same types)."""
        if [d for d, _ in dataset._specs] != [d for d, _ in self._specs]:
            raise TypeError(f"concatenate: the datasets' types differ: {self.output_types} and {dataset.output_types}")
        first, second = self._make, dataset._make

        def elements(feed):
            yield from first(feed)
            yield from second(feed)
        specs = [(d, a if a == b else tuple(x if x == y else None for x, y in zip(a, b)))
                 for (d, a), (_, b) in zip(self._specs, dataset._specs)]
        return Dataset(elements, self._structure, specs)

    def padded_batch(self, batch_size, padded_shapes=None, padding_values=None, drop_remainder=False):
        """Batches of elements padded (at the end of each axis, with 0 or padding_values) to
        padded_shapes (None or -1 entries: the batch's longest), as TensorFlow's."""
        n = len(self._specs)
        shapes = _leaves_of_shapes(padded_shapes, self._structure) if padded_shapes is not None else \
            [tuple(None for _ in s) for _, s in self._specs]
        fills = flatten(padding_values) if padding_values is not None else [0] * n

        def batches(elements):
            block = []
            for element in elements:
                block.append(element)
                if len(block) == batch_size:
                    yield _padded(block, shapes, fills, self._specs)
                    block = []
            if block and not drop_remainder:
                yield _padded(block, shapes, fills, self._specs)
        specs = [(d, (batch_size if drop_remainder else None,) + tuple(None if k is None or k < 0 else int(k)
                                                                      for k in shape))
                 for (d, _), shape in zip(self._specs, shapes)]
        return self._then(batches, specs)

    def prefetch(self, buffer_size):
        return self

    def cache(self, filename=""):
        return self

    # -- iterators -------------------------------------------------------------------------

    def as_numpy_iterator(self):
        """The elements as NumPy arrays, in the dataset's structure, one pass (model.fit(dataset)
        takes a pass an epoch, as tf.keras's)."""
        for element in self._make({}):
            yield pack_sequence_as(self._structure, [np.asarray(leaf) for leaf in element])

    def __iter__(self):
        return self.as_numpy_iterator()

    def make_one_shot_iterator(self):
        iterator = Iterator(self._structure, self._specs)
        iterator._start(self, {})
        return iterator

    def make_initializable_iterator(self, shared_name=None):
        iterator = Iterator(self._structure, self._specs)
        iterator.initializer = iterator.make_initializer(self)
        return iterator

    @property
    def output_types(self):
        return pack_sequence_as(self._structure, [d for d, _ in self._specs])

    @property
    def output_shapes(self):
        return pack_sequence_as(self._structure, [s for _, s in self._specs])


def _padded(block, shapes, fills, specs):
    """A batch of elements, each leaf padded to its shape (None: the block's longest)."""
    out = []
    for k, ((dtype, _), shape, fill) in enumerate(zip(specs, shapes, fills)):
        arrays = [np.asarray(element[k]) for element in block]
        target = tuple(max(a.shape[axis] for a in arrays) if size is None or size < 0 else int(size)
                       for axis, size in enumerate(shape))
        batch = np.full((len(arrays),) + target, fill, dtype=dtype)
        for row, a in enumerate(arrays):
            if any(have > want for have, want in zip(a.shape, target)):
                raise ValueError(f"padded_batch: an element of shape {a.shape} is longer than the padded shape "
                                 f"{target}")
            batch[(row,) + tuple(slice(0, length) for length in a.shape)] = a
        out.append(batch)
    return out


def _leaves_of_shapes(shapes, types):
    """output_shapes' leaves, one per type (a shape is a list of ints, not a structure)."""
    if isinstance(types, (tuple, list)):
        return [leaf for s, t in zip(shapes, types) for leaf in _leaves_of_shapes(s, t)]
    if isinstance(types, dict):
        return [leaf for k in types for leaf in _leaves_of_shapes(shapes[k], types[k])]
    return [shapes]


def _leaf_spec(leaf, sliced):
    if isinstance(leaf, Variable):
        shape = tuple(leaf.type.shape)
        return leaf.dtype, shape[1:] if sliced else shape
    array = np.asarray(leaf)
    if array.dtype == np.float64 and not isinstance(leaf, np.ndarray):
        array = array.astype(np.float32)
    return array.dtype.name, array.shape[1:] if sliced else array.shape


def _leaf_value(leaf, feed):
    if isinstance(leaf, Variable):
        if leaf.owner is None and not hasattr(leaf, "get_value"):
            if leaf not in feed:
                raise ValueError(f"the dataset reads the placeholder {leaf.describe()}: feed it when running the "
                                 f"iterator's initializer (sess.run(iterator.initializer, feed_dict={{...}}))")
            return np.asarray(feed[leaf], dtype=leaf.type.np_dtype)
        if hasattr(leaf, "get_value"):
            return leaf.get_value()
        raise ValueError(f"from_tensor_slices takes arrays, placeholders or variables, not the computed "
                         f"{leaf.describe()}")
    return np.asarray(leaf)


class _Traced:
    """A function of an element's tensors, traced on symbolic tensors of the element's dtypes
    and shapes, compiled (NumPy backend: one element at a time is what it computes)."""

    def __init__(self, fn, structure, specs):
        from ...function import function
        from .example import StringTensor, parsed_tensors
        # (a string leaf, a TFRecordDataset's record, is a StringTensor: parse_single_example and
        # decode_raw make the graph's inputs from it, their values taken from each record)
        symbols = [StringTensor(lambda element, k=k: element[k]) if d == "string" else
                   tensor(f"element_{k}", dtype=d, shape=s) for k, (d, s) in enumerate(specs)]
        element = pack_sequence_as(structure, symbols)
        with parsed_tensors() as parsed:
            result = fn(*element) if isinstance(element, tuple) else fn(element)
        self.out_structure = result
        if any(isinstance(leaf, StringTensor) for leaf in flatten(result)):
            raise TypeError("a map function's results must be numbers: strings (a record, a bytes feature) are "
                            "read with parse_single_example and decode_raw")
        outputs = [as_variable(leaf) for leaf in flatten(result)]
        self.out_specs = [(o.dtype, tuple(o.type.shape)) for o in outputs]
        self._numeric = [k for k, (d, _) in enumerate(specs) if d != "string"]
        self._producers = [producer for _, producer in parsed]
        inputs = [symbols[k] for k in self._numeric] + [placeholder for placeholder, _ in parsed]
        self._function = function(inputs, outputs, backend="numpy", on_unused_input="ignore")

    def __call__(self, element):
        values = self._function(*[element[k] for k in self._numeric], *[p(element) for p in self._producers])
        return [np.asarray(v) for v in (values if isinstance(values, list) else [values])]


class TFRecordDataset(Dataset):
    """The records of TFRecord files (tf.python_io.TFRecordWriter's), in order, one element each:
    a string, read by a map function with parse_single_example (example.py)."""

    def __init__(self, filenames, compression_type=None, buffer_size=None, num_parallel_reads=None):
        if compression_type:
            raise NotImplementedError("TFRecordDataset: compressed records are not read here")
        files = [filenames] if isinstance(filenames, (str, bytes, os.PathLike)) else list(filenames)
        if any(isinstance(f, Variable) for f in files):
            raise TypeError("TFRecordDataset takes file names (strings): symgraph has no string placeholders")

        def elements(feed):
            for path in files:
                for record in read_tfrecords(path):
                    yield [record]
        super().__init__(elements, "record", [("string", ())])


class Iterator:
    """An iterator over a dataset's elements: get_next() gives its element's tensors (the same
    ones each call), which every Session.run needing them feeds with the next element."""

    def __init__(self, structure, specs):
        self._structure, self._specs = structure, specs
        if any(s is None for _, s in specs):
            raise ValueError("give the elements' shapes (output_shapes, None for a length not known): symgraph's "
                             "graphs know each tensor's number of dimensions")
        if any(d == "string" for d, _ in specs):
            raise TypeError("the dataset's elements are records (strings): map them with a function reading them by "
                            "tf.parse_single_example first (symgraph's tensors are numbers)")
        self._tensors = [tensor(None, dtype=d, shape=s) for d, s in specs]
        name_tensors(self._tensors, unique_name("IteratorGetNext"), "IteratorGetNext")
        for t in self._tensors:
            t.tf_iterator = self  # (how the Session finds what to feed them)
        self._elements = None

    @staticmethod
    def from_structure(output_types, output_shapes=None, shared_name=None, output_classes=None):
        """A reinitializable iterator: make_initializer(dataset) for each dataset of this structure."""
        shapes = output_shapes if output_shapes is not None else map_structure(lambda _: None, output_types)
        specs = [(np.dtype(t).name, None if s is None else tuple(s))
                 for t, s in zip(flatten(output_types), _leaves_of_shapes(shapes, output_types))]
        return Iterator(output_types, specs)

    def make_initializer(self, dataset, name=None):
        """An operation (re)starting this iterator on `dataset` when run (the fed placeholders
        the dataset reads given in the run's feed_dict)."""
        if [d for d, _ in dataset._specs] != [d for d, _ in self._specs]:
            raise TypeError(f"the dataset's types {dataset.output_types} differ from the iterator's "
                            f"{pack_sequence_as(self._structure, [d for d, _ in self._specs])}")
        return _Initializer(self, dataset, name)

    def _start(self, dataset, feed):
        self._elements = dataset._make(feed)

    def get_next(self, name=None):
        return pack_sequence_as(self._structure, self._tensors)

    def next_element(self):
        """The next element's arrays (the Session calls it); OutOfRangeError past the end."""
        if self._elements is None:
            raise ValueError("the iterator has not been initialized: run its initializer first "
                             "(sess.run(iterator.initializer))")
        try:
            return next(self._elements)
        except StopIteration:
            raise OutOfRangeError("End of sequence") from None

    @property
    def output_types(self):
        return pack_sequence_as(self._structure, [d for d, _ in self._specs])


class _Initializer(Operation):
    """An iterator's initializer: an operation that restarts it on its dataset when run."""

    def __init__(self, iterator, dataset, name=None):
        super().__init__(name=name or "MakeIterator")
        self.iterator, self.dataset = iterator, dataset

    def before_run(self, feed):
        self.iterator._start(self.dataset, feed)


def make_one_shot_iterator(dataset):
    return dataset.make_one_shot_iterator()


def make_initializable_iterator(dataset, shared_name=None):
    return dataset.make_initializable_iterator(shared_name)
