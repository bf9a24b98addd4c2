"""tf.summary in TensorFlow 1's graph mode, writing the event files TensorBoard reads:

    tf.summary.scalar("loss", loss)
    tf.summary.histogram("weights", W)
    merged = tf.summary.merge_all()
    writer = tf.summary.FileWriter("logs/train")
    summary, _ = sess.run([merged, train_op], feed_dict=...)
    writer.add_summary(summary, step)

A summary is fetched like a tensor and comes back as a serialized Summary protocol buffer (bytes,
as TensorFlow's); FileWriter frames Events as TFRecords (lengths and data checked by masked
CRC32C) in `events.out.tfevents.<time>.<host>`. tf.Summary(value=[tf.Summary.Value(tag=...,
simple_value=...)]) writes a Python number. FileWriter(logdir, sess.graph) writes the graph's
named operations (graph_def.py) for the Graphs tab."""
import io
import os
import socket
import struct
import time

import numpy as np

from ...ops.base import as_variable
from ..protobuf import wire
from ..protobuf.text_format import Message

SCHEMA = {
    "Event": {1: ("wall_time", "double", False), 2: ("step", "int", False), 3: ("file_version", "string", False),
              4: ("graph_def", "bytes", False), 5: ("summary", "bytes", False)},
    "Summary": {1: ("value", "SummaryValue", True)},
    "SummaryValue": {7: ("node_name", "string", False), 1: ("tag", "string", False),
                     2: ("simple_value", "float", False), 4: ("image", "SummaryImage", False),
                     5: ("histo", "HistogramProto", False)},
    "SummaryImage": {1: ("height", "int", False), 2: ("width", "int", False), 3: ("colorspace", "int", False),
                     4: ("encoded_image_string", "bytes", False)},
    "HistogramProto": {1: ("min", "double", False), 2: ("max", "double", False), 3: ("num", "double", False),
                       4: ("sum", "double", False), 5: ("sum_squares", "double", False),
                       6: ("bucket_limit", "double", True), 7: ("bucket", "double", True)},
}
SUMMARIES = "summaries"  # (tf.GraphKeys.SUMMARIES)


# -- CRC32C and TFRecords ----------------------------------------------------------------------

def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data):
    """CRC-32C (Castagnoli), as TFRecords use."""
    crc = 0xFFFFFFFF
    for byte in bytes(data):
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord(data):
    """One TFRecord: length, its masked CRC, the data, its masked CRC."""
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked_crc32c(length)) + data + struct.pack("<I", masked_crc32c(data))


def read_tfrecords(path):
    """The records of a TFRecord file, their CRCs checked."""
    records = []
    with open(path, "rb") as f:
        while True:
            header = f.read(12)
            if not header:
                return records
            length, crc = struct.unpack("<QI", header)
            if masked_crc32c(header[:8]) != crc:
                raise ValueError(f"{path}: a record's length fails its CRC")
            data, (data_crc,) = f.read(length), struct.unpack("<I", f.read(4))
            if masked_crc32c(data) != data_crc:
                raise ValueError(f"{path}: a record's data fails its CRC")
            records.append(data)


def read_events(path):
    """The Events of an event file as Messages (their summaries decoded), for tests and tools."""
    events = []
    for record in read_tfrecords(path):
        event = wire.decode(record, "Event", SCHEMA)
        if event.has("summary"):
            event.set("summary", wire.decode(event.get("summary"), "Summary", SCHEMA))
        events.append(event)
    return events


# -- summary values ----------------------------------------------------------------------------

def _default_bucket_limits():
    """TensorFlow's histogram buckets: +-1e-12 * 1.1^k up to 1e20, 0, and +-DBL_MAX at the ends."""
    positive, v = [], 1e-12
    while v < 1e20:
        positive.append(v)
        v *= 1.1
    positive.append(np.finfo(np.float64).max)
    return np.array([-p for p in reversed(positive)] + [0.0] + positive)


_LIMITS = _default_bucket_limits()


def histogram_proto(values):
    """TensorFlow's HistogramProto of the values: each in the first bucket whose limit is above
    it, runs of empty buckets written as one (Histogram::EncodeToProto)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    counts = np.bincount(np.searchsorted(_LIMITS, values, side="right"), minlength=len(_LIMITS))[:len(_LIMITS)]
    limits, buckets, k = [], [], 0
    while k < len(counts):
        end, count = _LIMITS[k], counts[k]
        k += 1
        if count <= 0:
            while k < len(counts) and counts[k] <= 0:
                end, count = _LIMITS[k], counts[k]
                k += 1
        limits.append(end)
        buckets.append(float(count))
    empty = values.size == 0
    return Message(min=0.0 if empty else float(values.min()), max=0.0 if empty else float(values.max()),
                   num=float(values.size), sum=float(values.sum()), sum_squares=float((values ** 2).sum()),
                   bucket_limit=np.array(limits), bucket=np.array(buckets))


def _png(image):
    from PIL import Image
    buffer = io.BytesIO()
    Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image).save(buffer, format="PNG")
    return buffer.getvalue()


def _image_bytes(image):
    """TensorFlow 1's image summary scaling: uint8 as it is; floats all non-negative scaled so the
    largest is 255, else shifted so 0 is 127 and scaled to fit."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = image.astype(np.float64)
        if image.min() >= 0:
            image = image * (255.0 / image.max() if image.max() > 0 else 0.0)
        else:
            scale = 127.0 / max(abs(image.min()), abs(image.max()))
            image = image * scale + 127.0
        image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return _png(image)


class _SummaryOp:
    """A summary of tensors: fetched in Session.run, its value the serialized Summary. (Made of
    tags and tensors only, so that a meta graph can hold it.)"""

    def __init__(self, tensors, kind=None, tag=None, max_outputs=None):
        self._tensors = [as_variable(t) for t in tensors]
        self.kind, self.tag, self.max_outputs = kind, tag, max_outputs

    def summary_tensors(self):
        return list(self._tensors)

    def values(self, arrays):
        """The Summary's Value messages of the tensors' arrays."""
        if self.kind == "scalar":
            return [Message(tag=self.tag, simple_value=float(np.asarray(arrays[0]).reshape(-1)[0]))]
        if self.kind == "histogram":
            return [Message(tag=self.tag, histo=histogram_proto(arrays[0]))]
        out = []
        for k, picture in enumerate(np.asarray(arrays[0])[:self.max_outputs]):
            tag = f"{self.tag}/image" if self.max_outputs == 1 else f"{self.tag}/image/{k}"
            encoded = Message(height=picture.shape[0], width=picture.shape[1], colorspace=picture.shape[2],
                              encoded_image_string=_image_bytes(picture))
            out.append(Message(tag=tag, image=encoded))
        return out

    def serialize(self, arrays):
        return wire.encode(Message(value=self.values(arrays)), "Summary", SCHEMA)


def _collect(op, collections):
    from .variables import add_to_collection
    for key in (collections if collections is not None else [SUMMARIES]):
        add_to_collection(key, op)
    return op


def _tag(name, family):
    """TensorFlow 1's tag: the name in the name scopes open, made unique as a scope is
    ("train/loss", a second "loss" "loss_1"), behind the family if one is given."""
    from .names import unique_name
    scope = unique_name(name if family is None else f"{family}/{name}")
    return scope if family is None else f"{family}/{scope}"


def scalar(name, tensor, collections=None, family=None):
    return _collect(_SummaryOp([tensor], "scalar", _tag(name, family)), collections)


def histogram(name, values, collections=None, family=None):
    return _collect(_SummaryOp([values], "histogram", _tag(name, family)), collections)


def image(name, tensor, max_outputs=3, collections=None, family=None):
    """NHWC images (1, 3 or 4 channels): the first max_outputs, each a PNG."""
    return _collect(_SummaryOp([tensor], "image", _tag(name, family), max_outputs), collections)


class _Merged(_SummaryOp):
    def __init__(self, ops):
        self._ops = list(ops)
        super().__init__([t for op in self._ops for t in op.summary_tensors()])

    def values(self, arrays):
        out, at = [], 0
        for op in self._ops:
            n = len(op.summary_tensors())
            out.extend(op.values(arrays[at:at + n]))
            at += n
        return out


def merge(inputs, collections=None, name=None):
    return _collect(_Merged(inputs), collections if collections is not None else [])


def merge_all(key=SUMMARIES, scope=None, name=None):
    """All summaries made so far (in the collection `key`) as one, or None where there are none."""
    from .variables import get_collection
    ops = [op for op in get_collection(key) if isinstance(op, _SummaryOp)]
    return _Merged(ops) if ops else None


class Summary(Message):
    """tf.Summary(value=[tf.Summary.Value(tag="accuracy", simple_value=0.9)]): a summary of
    Python values, for FileWriter.add_summary."""

    @staticmethod
    def Value(tag, simple_value=None, histo=None, image=None, node_name=None):
        value = Message(tag=tag)
        for name, item in (("simple_value", simple_value), ("histo", histo), ("image", image)):
            if item is not None:
                value.add(name, item)
        return value

    def SerializeToString(self):
        return wire.encode(self, "Summary", SCHEMA)


class FileWriter:
    """Writes Events to `logdir`/events.out.tfevents.<time>.<host> for TensorBoard:
    add_summary(summary, global_step) (the bytes a fetched summary gives, or a tf.Summary),
    add_graph(graph) (or graph= here: its GraphDef, for the Graphs tab), flush, close."""

    def __init__(self, logdir, graph=None, max_queue=10, flush_secs=120, graph_def=None, filename_suffix=None,
                 session=None):
        os.makedirs(logdir, exist_ok=True)
        self.logdir = logdir
        name = f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}{filename_suffix or ''}"
        self._path = os.path.join(logdir, name)
        self._file = open(self._path, "ab")
        self._write(Message(wall_time=time.time(), file_version="brain.Event:2"))
        if graph is not None or graph_def is not None:
            self.add_graph(graph, graph_def=graph_def)

    def get_logdir(self):
        return self.logdir

    def _write(self, event):
        if self._file is None:
            raise ValueError("the FileWriter is closed (reopen() it first)")
        self._file.write(tfrecord(wire.encode(event, "Event", SCHEMA)))
        self._file.flush()

    def add_summary(self, summary, global_step=None):
        data = summary.SerializeToString() if isinstance(summary, Summary) else bytes(summary)
        event = Message(wall_time=time.time())
        if global_step is not None:
            event.add("step", int(global_step))
        event.add("summary", data)
        self._write(event)

    def add_graph(self, graph, global_step=None, graph_def=None):
        """The graph's GraphDef (its named operations; a GraphDef given as graph_def) as an Event."""
        graph_def = graph_def if graph_def is not None else graph.as_graph_def()
        event = Message(wall_time=time.time())
        if global_step is not None:
            event.add("step", int(global_step))
        event.add("graph_def", graph_def.SerializeToString())
        self._write(event)

    def flush(self):
        if self._file is not None:
            self._file.flush()

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None

    def reopen(self):
        if self._file is None:
            self._file = open(self._path, "ab")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
