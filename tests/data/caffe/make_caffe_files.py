"""Writes the Caffe model files the import tests read (tests/compat/test_caffe.py) with Google's
protobuf implementation, from the part of Caffe's caffe.proto below (its field numbers are
Caffe's), so that the tests read files encoded by protobuf itself, not by symgraph's encoder.
It also checks the other way: a .caffemodel and .solverstate symgraph writes parse with protobuf.
Run by hand where protobuf, grpcio-tools (protoc) and numpy are installed (these were made with
protobuf 7.36.2): `PYTHONPATH=. python tests/data/caffe/make_caffe_files.py`.
The tests need none of them: only these files."""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

CAFFE_PROTO_PART = """
syntax = "proto2";
package caffe;
message BlobShape { repeated int64 dim = 1 [packed = true]; }
message BlobProto {
  optional BlobShape shape = 7;
  repeated float data = 5 [packed = true];
  repeated float diff = 6 [packed = true];
  optional int64 num = 1 [default = 0];
  optional int64 channels = 2 [default = 0];
  optional int64 height = 3 [default = 0];
  optional int64 width = 4 [default = 0];
}
message FillerParameter { optional string type = 1 [default = 'constant']; optional float std = 6 [default = 1]; }
message NetState { optional Phase phase = 1 [default = TEST]; optional int32 level = 2; repeated string stage = 3; }
enum Phase { TRAIN = 0; TEST = 1; }
message NetStateRule { optional Phase phase = 1; }
message ParamSpec { optional string name = 1; optional float lr_mult = 3 [default = 1.0];
                    optional float decay_mult = 4 [default = 1.0]; }
message ConvolutionParameter {
  optional uint32 num_output = 1; optional bool bias_term = 2 [default = true];
  repeated uint32 pad = 3; repeated uint32 kernel_size = 4; repeated uint32 stride = 6;
  optional FillerParameter weight_filler = 7; optional FillerParameter bias_filler = 8;
}
message InnerProductParameter { optional uint32 num_output = 1; optional FillerParameter weight_filler = 3; }
message PoolingParameter { enum PoolMethod { MAX = 0; AVE = 1; } optional PoolMethod pool = 1 [default = MAX];
                           optional uint32 kernel_size = 2; optional uint32 stride = 3 [default = 1]; }
message InputParameter { repeated BlobShape shape = 1; }
message LayerParameter {
  optional string name = 1; optional string type = 2; repeated string bottom = 3; repeated string top = 4;
  optional Phase phase = 10; repeated float loss_weight = 5; repeated ParamSpec param = 6;
  repeated BlobProto blobs = 7; repeated NetStateRule include = 8;
  optional ConvolutionParameter convolution_param = 106; optional InnerProductParameter inner_product_param = 117;
  optional PoolingParameter pooling_param = 121; optional InputParameter input_param = 143;
}
message V1LayerParameter {
  enum LayerType { NONE = 0; CONVOLUTION = 4; INNER_PRODUCT = 14; POOLING = 17; RELU = 18; SOFTMAX = 20; }
  repeated string bottom = 2; repeated string top = 3; optional string name = 4; optional LayerType type = 5;
  repeated BlobProto blobs = 6; repeated float blobs_lr = 7; repeated float weight_decay = 8;
  optional ConvolutionParameter convolution_param = 10; optional InnerProductParameter inner_product_param = 17;
  optional PoolingParameter pooling_param = 19;
}
message NetParameter {
  optional string name = 1; repeated string input = 3; repeated BlobShape input_shape = 8;
  repeated int32 input_dim = 4; optional bool force_backward = 5 [default = false]; optional NetState state = 6;
  repeated LayerParameter layer = 100; repeated V1LayerParameter layers = 2;
}
message SolverState {
  optional int32 iter = 1; optional string learned_net = 2; repeated BlobProto history = 3;
  optional int32 current_step = 4 [default = 0];
}
"""

# The small LeNet of tests/data/caffe/lenet_deploy.prototxt: its parameter blobs' shapes.
SHAPES = {"conv1": [(8, 1, 3, 3), (8,)], "ip1": [(32, 128), (32,)], "ip2": [(10, 32), (10,)]}


def caffe_pb2():
    from tests.data.protoc_module import compiled_module
    return compiled_module(CAFFE_PROTO_PART, "caffe_part")


def blob(pb, array, legacy=False):
    b = pb.BlobProto()
    if legacy:  # Caffe's old files: num, channels, height, width (1s in front)
        shape = (1,) * (4 - array.ndim) + array.shape
        b.num, b.channels, b.height, b.width = shape
    else:
        b.shape.dim.extend(array.shape)
    b.data.extend(array.ravel().tolist())
    return b


def main():
    pb = caffe_pb2()
    rng = np.random.default_rng(0)
    weights = {name: [rng.normal(0, 0.3, s).astype(np.float32) for s in shapes] for name, shapes in SHAPES.items()}

    # Today's form, with the layers' parameters as Caffe writes them (the reader skips them).
    net = pb.NetParameter(name="LeNet")
    net.state.phase = pb.TEST
    data = net.layer.add(name="data", type="Input", top=["data"])
    data.input_param.shape.add().dim.extend([64, 1, 8, 8])
    conv = net.layer.add(name="conv1", type="Convolution", bottom=["data"], top=["conv1"])
    conv.convolution_param.num_output = 8
    conv.convolution_param.kernel_size.append(3)
    conv.convolution_param.pad.append(1)
    conv.convolution_param.weight_filler.type = "xavier"
    conv.param.add(lr_mult=1)
    conv.param.add(lr_mult=2)
    pool = net.layer.add(name="pool1", type="Pooling", bottom=["conv1"], top=["pool1"])
    pool.pooling_param.pool = pb.PoolingParameter.MAX
    pool.pooling_param.kernel_size, pool.pooling_param.stride = 3, 2
    for name, bottom, n in (("ip1", "pool1", 32), ("ip2", "ip1", 10)):
        layer = net.layer.add(name=name, type="InnerProduct", bottom=[bottom], top=[name])
        layer.inner_product_param.num_output = n
    net.layer.add(name="relu1", type="ReLU", bottom=["ip1"], top=["ip1"])
    net.layer.add(name="prob", type="Softmax", bottom=["ip2"], top=["prob"])
    net.layer.add(name="unused", type="InnerProduct", bottom=["x"], top=["y"]).blobs.append(
        blob(pb, np.ones((2, 2), np.float32)))  # a layer the net lacks: skipped, as Caffe skips it
    for layer in net.layer:
        for array in weights.get(layer.name, []):
            layer.blobs.append(blob(pb, array))
    with open(os.path.join(HERE, "lenet_protobuf.caffemodel"), "wb") as f:
        f.write(net.SerializeToString())

    # The old form (V1LayerParameter, enum types, 4-d legacy blob shapes).
    old = pb.NetParameter(name="LeNet")
    old.input.append("data")
    old.input_dim.extend([64, 1, 8, 8])
    types = {"conv1": pb.V1LayerParameter.CONVOLUTION, "ip1": pb.V1LayerParameter.INNER_PRODUCT,
             "ip2": pb.V1LayerParameter.INNER_PRODUCT}
    for name, arrays in weights.items():
        layer = old.layers.add(name=name, type=types[name])
        layer.blobs_lr.extend([1, 2])
        for array in arrays:
            layer.blobs.append(blob(pb, array, legacy=True))
    with open(os.path.join(HERE, "lenet_v1.caffemodel"), "wb") as f:
        f.write(old.SerializeToString())

    x = rng.normal(0, 1, (64, 1, 8, 8)).astype(np.float32)
    np.savez(os.path.join(HERE, "lenet_weights.npz"), x=x,
             **{f"{name}_{k}": a for name, arrays in weights.items() for k, a in enumerate(arrays)})

    check_symgraph_files(pb, weights)


def check_symgraph_files(pb, weights):
    """What symgraph's encoder writes parses with protobuf into the same arrays."""
    from symgraph.compat.caffe import wire
    from symgraph.compat.protobuf.text_format import Message
    saved = Message(name="LeNet")
    for name, arrays in weights.items():
        layer = saved.add("layer", Message(name=name, type="InnerProduct", bottom=["a"], top=["b"]))
        for array in arrays:
            layer.add("blobs", wire.array_blob(array))
    parsed = pb.NetParameter.FromString(wire.encode(saved, "NetParameter"))
    for layer in parsed.layer:
        for b, array in zip(layer.blobs, weights[layer.name]):
            assert tuple(b.shape.dim) == array.shape and np.array_equal(np.array(b.data, np.float32), array.ravel())
    state = Message(iter=1234, learned_net="x_iter_1234.caffemodel", current_step=2,
                    history=[wire.array_blob(weights["ip2"][0])])
    parsed_state = pb.SolverState.FromString(wire.encode(state, "SolverState"))
    assert parsed_state.iter == 1234 and parsed_state.current_step == 2
    assert np.array_equal(np.array(parsed_state.history[0].data, np.float32), weights["ip2"][0].ravel())
    print("symgraph's .caffemodel and .solverstate parse with protobuf")


if __name__ == "__main__":
    main()
