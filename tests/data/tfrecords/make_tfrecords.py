"""Writes the TFRecord file of tf.train.Examples the tests read (tests/compat/test_tf1_records.py)
with Google's protobuf (TensorFlow's example.proto and feature.proto, compiled here by
grpcio-tools' protoc) framed by TensorBoard's RecordWriter, neither symgraph's, and checks the
other way: Examples symgraph writes parsed by Google's protobuf. Run by hand where protobuf,
grpcio-tools and tensorboard are installed (made with protobuf 7.36.2, grpcio-tools 1.85.1,
tensorboard 2.21.0): `PYTHONPATH=. python tests/data/tfrecords/make_tfrecords.py`."""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

# TensorFlow's core/example/feature.proto and example.proto, the messages and field numbers as there.
PROTO = """
syntax = "proto3";
package tensorflow;
message BytesList { repeated bytes value = 1; }
message FloatList { repeated float value = 1 [packed = true]; }
message Int64List { repeated int64 value = 1 [packed = true]; }
message Feature {
  oneof kind { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3; }
}
message Features { map<string, Feature> feature = 1; }
message Example { Features features = 1; }
"""


def compiled():
    from tests.data.protoc_module import compiled_module
    return compiled_module(PROTO, "example_part")


def write_fixture(pb):
    from tensorboard.summary.writer.record_writer import RecordWriter
    rng = np.random.default_rng(7)
    images = rng.integers(0, 256, (6, 3, 4)).astype(np.uint8)
    labels = rng.integers(-3, 1000, 6)
    scores = rng.normal(size=(6, 2)).astype(np.float32)
    with open(os.path.join(HERE, "examples.tfrecords"), "wb") as fh:
        writer = RecordWriter(fh)
        for k in range(6):
            example = pb.Example()
            feature = example.features.feature
            feature["image_raw"].bytes_list.value.append(images[k].tobytes())
            feature["label"].int64_list.value.append(int(labels[k]))
            feature["scores"].float_list.value.extend(scores[k].tolist())
            feature["name"].bytes_list.value.append(f"example {k}".encode())
            writer.write(example.SerializeToString())
        writer.close()
    np.savez(os.path.join(HERE, "examples.npz"), images=images, labels=labels, scores=scores)


def check_symgraph_examples(pb):
    import symgraph.compat.v1 as tf
    example = tf.train.Example(features=tf.train.Features(feature={
        "a": tf.train.Feature(int64_list=tf.train.Int64List(value=[1, -2, 1 << 40])),
        "b": tf.train.Feature(float_list=tf.train.FloatList(value=[0.5, -1.25])),
        "c": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"x\x00y", b""])),
        "empty": tf.train.Feature(float_list=tf.train.FloatList(value=[]))}))
    parsed = pb.Example.FromString(example.SerializeToString())
    feature = parsed.features.feature
    assert list(feature["a"].int64_list.value) == [1, -2, 1 << 40]
    assert list(feature["b"].float_list.value) == [0.5, -1.25]
    assert list(feature["c"].bytes_list.value) == [b"x\x00y", b""]
    assert feature["empty"].WhichOneof("kind") == "float_list" and not feature["empty"].float_list.value
    again = tf.train.Example.FromString(parsed.SerializeToString())
    assert again == example


if __name__ == "__main__":
    pb = compiled()
    write_fixture(pb)
    check_symgraph_examples(pb)
    print("wrote examples.tfrecords with Google's protobuf; Google's protobuf read symgraph's Example")
