"""TensorFlow's record files of examples: tf.train.Example (Features of named BytesList,
FloatList and Int64List values, protobuf's encoding), tf.python_io.TFRecordWriter and
tf_record_iterator, and the parsing a tf.data pipeline does, as TensorFlow 1 writes it:

    dataset = tf.data.TFRecordDataset(["train.tfrecords"]).map(parse)
    def parse(serialized):
        features = tf.parse_single_example(serialized, {
            "image_raw": tf.FixedLenFeature([], tf.string), "label": tf.FixedLenFeature([], tf.int64)})
        image = tf.cast(tf.decode_raw(features["image_raw"], tf.uint8), tf.float32) / 255
        return image, features["label"]

symgraph has no string tensors: a record in a traced map function is a StringTensor, which
parse_single_example and decode_raw turn into tensors the map function's graph reads; each
record's values are taken out of its bytes in Python before the graph runs."""
import contextlib

import numpy as np

from ...variables import tensor
from ..protobuf import wire
from ..protobuf.text_format import Message
from .summary import read_tfrecords, tfrecord

SCHEMA = {
    "Example": {1: ("features", "Features", False)},
    "Features": {1: ("feature", "FeatureEntry", True)},
    "FeatureEntry": {1: ("key", "string", False), 2: ("value", "Feature", False)},
    "Feature": {1: ("bytes_list", "BytesList", False), 2: ("float_list", "FloatList", False),
                3: ("int64_list", "Int64List", False)},
    "BytesList": {1: ("value", "bytes", True)},
    "FloatList": {1: ("value", "float", True)},
    "Int64List": {1: ("value", "int", True)},
}


class _List:
    """BytesList / FloatList / Int64List: `value`, a list."""
    kind = None

    def __init__(self, value=()):
        self.value = list(value)

    def __repr__(self):
        return f"{type(self).__name__}(value={self.value!r})"

    def __eq__(self, other):
        return type(self) is type(other) and list(self.value) == list(other.value)


class BytesList(_List):
    def __init__(self, value=()):
        super().__init__(v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in value)


class FloatList(_List):
    def __init__(self, value=()):
        super().__init__(float(np.float32(v)) for v in np.asarray(value, dtype=np.float64).ravel())


class Int64List(_List):
    def __init__(self, value=()):
        super().__init__(int(v) for v in np.asarray(value, dtype=np.int64).ravel())


class Feature:
    """One of bytes_list, float_list, int64_list (the others empty, as protobuf's oneof reads)."""

    def __init__(self, bytes_list=None, float_list=None, int64_list=None):
        given = [k for k, v in (("bytes_list", bytes_list), ("float_list", float_list), ("int64_list", int64_list))
                 if v is not None]
        if len(given) > 1:
            raise ValueError(f"Feature: one of bytes_list, float_list, int64_list, got {given}")
        self.kind = given[0] if given else None
        self.bytes_list, self.float_list, self.int64_list = (bytes_list or BytesList(), float_list or FloatList(),
                                                            int64_list or Int64List())

    def WhichOneof(self, name="kind"):
        return self.kind

    def values(self):
        return getattr(self, self.kind).value if self.kind else []

    def __eq__(self, other):
        return isinstance(other, Feature) and self.kind == other.kind and self.values() == other.values()

    def __repr__(self):
        return f"Feature({self.kind}={getattr(self, self.kind) if self.kind else None})"


class Features:
    def __init__(self, feature=None):
        self.feature = dict(feature or {})

    def __eq__(self, other):
        return isinstance(other, Features) and self.feature == other.feature


class Example:
    """tf.train.Example(features=tf.train.Features(feature={"label": tf.train.Feature(
    int64_list=tf.train.Int64List(value=[3]))})): SerializeToString(), ParseFromString(data),
    Example.FromString(data)."""

    def __init__(self, features=None):
        self.features = features or Features()

    def SerializeToString(self):
        message = Message()
        features = Message()
        for key, feature in self.features.feature.items():
            value = Message()
            if feature.kind is not None:
                items = Message()
                values = feature.values()
                if feature.kind == "float_list":
                    items.add("value", np.asarray(values, dtype=np.float32))
                else:
                    for v in values:
                        items.add("value", v)
                value.add(feature.kind, items)
            features.add("feature", Message(key=key, value=value))
        message.add("features", features)
        return wire.encode(message, "Example", SCHEMA)

    def ParseFromString(self, data):
        parsed = wire.decode(bytes(data), "Example", SCHEMA)
        self.features = Features()
        if parsed.has("features"):
            for entry in parsed.message("features").all("feature"):
                value = entry.message("value") if entry.has("value") else Message()
                feature = Feature()
                for kind, make in (("bytes_list", BytesList), ("float_list", FloatList), ("int64_list", Int64List)):
                    if value.has(kind):
                        items = value.message(kind)
                        raw = items.all("value") if items.has("value") else []
                        if kind == "float_list":
                            raw = np.concatenate([np.atleast_1d(r) for r in raw]) if raw else []
                        setattr(feature, kind, make(raw))
                        feature.kind = kind
                self.features.feature[entry.get("key")] = feature
        return len(data)

    @classmethod
    def FromString(cls, data):
        example = cls()
        example.ParseFromString(data)
        return example

    def __eq__(self, other):
        return isinstance(other, Example) and self.features == other.features


class TFRecordWriter:
    """tf.python_io.TFRecordWriter(path): write(record bytes) frames each as a TFRecord."""

    def __init__(self, path, options=None):
        if options is not None:
            raise NotImplementedError("TFRecordWriter: compressed records (options=) are not written here")
        self._file = open(path, "wb")

    def write(self, record):
        self._file.write(tfrecord(bytes(record)))

    def flush(self):
        self._file.flush()

    def close(self):
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def tf_record_iterator(path, options=None):
    """Each record's bytes (their CRCs checked)."""
    return iter(read_tfrecords(path))


class FixedLenFeature:
    """A feature of a known shape: its values (or default_value where the record lacks it)."""

    def __init__(self, shape, dtype, default_value=None):
        self.shape, self.dtype, self.default_value = tuple(int(s) for s in shape), np.dtype(dtype), default_value


class StringTensor:
    """A string-valued tensor of a traced map function: a record, or a bytes feature of one;
    `producer(element)` gives its bytes from the element's arrays and records."""

    def __init__(self, producer):
        self.producer = producer
        self.dtype, self.ndim = "string", 0


_collecting = []  # the lists that the tensors parse_single_example and decode_raw make go into


@contextlib.contextmanager
def parsed_tensors():
    """Collects [(placeholder, producer)] of the tensors made from records inside the block
    (a map function traced): the placeholders are the traced graph's inputs, the producers
    give their values from each element."""
    made = []
    _collecting.append(made)
    try:
        yield made
    finally:
        _collecting.pop()


def _derived(dtype, shape, producer):
    if not _collecting:
        raise ValueError("parse_single_example and decode_raw read records inside a tf.data map function")
    placeholder = tensor(None, dtype=np.dtype(dtype).name, shape=shape)
    _collecting[-1].append((placeholder, producer))
    return placeholder


class _LastParsed:
    """The Example of the last record seen (each feature of a record parsed from one decoding)."""

    def __init__(self, source):
        self.source, self.record, self.example = source, None, None

    def __call__(self, element):
        record = self.source(element)
        if record is not self.record:
            self.record, self.example = record, Example.FromString(record)
        return self.example


def parse_single_example(serialized, features, name=None, example_names=None):
    """{name: tensor} of one record's features (FixedLenFeature: its shape and dtype; tf.string
    ones StringTensors, for decode_raw)."""
    if not isinstance(serialized, StringTensor):
        raise TypeError("parse_single_example reads a TFRecordDataset's records inside its map function")
    example = _LastParsed(serialized.producer)
    out = {}
    for key, spec in features.items():
        if not isinstance(spec, FixedLenFeature):
            raise NotImplementedError(f"parse_single_example: {key!r}: FixedLenFeature only (no VarLenFeature or "
                                      f"sparse features)")

        def values(element, key=key, spec=spec):
            return _feature_values(example(element), key, spec)
        if spec.dtype.kind in "SUO":
            if spec.shape != ():
                raise NotImplementedError(f"parse_single_example: {key!r}: one string per record (shape [])")
            out[key] = StringTensor(lambda element, values=values: values(element)[0])
        else:
            out[key] = _derived(spec.dtype, spec.shape, values)
    return out


def _feature_values(example, key, spec):
    feature = example.features.feature.get(key)
    if feature is None or feature.kind is None:
        if spec.default_value is None:
            raise ValueError(f"parse_single_example: a record has no feature {key!r} and no default_value is given")
        if spec.dtype.kind in "SUO":
            default = spec.default_value
            return [default.encode("utf-8") if isinstance(default, str) else bytes(default)]
        return np.broadcast_to(np.asarray(spec.default_value, dtype=spec.dtype), spec.shape)
    raw = feature.values()
    if spec.dtype.kind in "SUO":
        return raw
    array = np.asarray(raw, dtype=spec.dtype)
    if array.size != int(np.prod(spec.shape)):
        raise ValueError(f"parse_single_example: feature {key!r} has {array.size} values, its FixedLenFeature "
                         f"shape {spec.shape} wants {int(np.prod(spec.shape))}")
    return array.reshape(spec.shape)


def decode_raw(input_bytes, out_type, little_endian=True, name=None, fixed_length=None, bytes=None):
    """A string's bytes read as a vector of out_type (np.frombuffer)."""
    source = input_bytes if input_bytes is not None else bytes
    if not isinstance(source, StringTensor):
        raise TypeError("decode_raw reads a string of a record inside a tf.data map function")
    out_type = np.dtype(out_type)
    stored = out_type.newbyteorder("<" if little_endian else ">")
    return _derived(out_type, (None,), lambda element: np.frombuffer(source.producer(element), stored)
                    .astype(out_type))
