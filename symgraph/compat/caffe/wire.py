"""The parts of caffe.proto a trained model's file holds, in protobuf's binary encoding
(.caffemodel: a NetParameter; .binaryproto: a BlobProto, as mean images are kept): each layer's
name, type, bottoms, tops and blobs, in the new `layer` (field 100) and the old `layers`
(V1LayerParameter, field 2) forms. Fields this table does not name are skipped, as protobuf
skips unknown fields, so a file Caffe wrote with every layer's parameters reads."""
import numpy as np

from ..protobuf import wire as protobuf_wire
from ..protobuf.text_format import Message

# Each message: field number -> (name, kind, repeated). Kinds: "string", "int", "float",
# "double", "bool", "enum:<table>" and the name of a message.
SCHEMA = {
    "NetParameter": {1: ("name", "string", False), 3: ("input", "string", True),
                     8: ("input_shape", "BlobShape", True), 4: ("input_dim", "int", True),
                     100: ("layer", "LayerParameter", True), 2: ("layers", "V1LayerParameter", True)},
    "LayerParameter": {1: ("name", "string", False), 2: ("type", "string", False), 3: ("bottom", "string", True),
                       4: ("top", "string", True), 7: ("blobs", "BlobProto", True)},
    "V1LayerParameter": {4: ("name", "string", False), 5: ("type", "enum:V1LayerType", False),
                         2: ("bottom", "string", True), 3: ("top", "string", True), 6: ("blobs", "BlobProto", True)},
    "BlobProto": {7: ("shape", "BlobShape", False), 5: ("data", "float", True), 8: ("double_data", "double", True),
                  1: ("num", "int", False), 2: ("channels", "int", False), 3: ("height", "int", False),
                  4: ("width", "int", False)},
    "BlobShape": {1: ("dim", "int", True)},
    "SolverState": {1: ("iter", "int", False), 2: ("learned_net", "string", False),
                    3: ("history", "BlobProto", True), 4: ("current_step", "int", False)},
}
# V1LayerParameter's LayerType values and the type names LayerParameter took for them.
V1_LAYER_TYPES = {
    35: "AbsVal", 1: "Accuracy", 30: "ArgMax", 2: "BNLL", 3: "Concat", 37: "ContrastiveLoss", 4: "Convolution",
    5: "Data", 39: "Deconvolution", 6: "Dropout", 32: "DummyData", 7: "EuclideanLoss", 25: "Eltwise", 38: "Exp",
    8: "Flatten", 9: "HDF5Data", 10: "HDF5Output", 28: "HingeLoss", 11: "Im2col", 12: "ImageData",
    13: "InfogainLoss", 14: "InnerProduct", 15: "LRN", 29: "MemoryData", 16: "MultinomialLogisticLoss", 34: "MVN",
    17: "Pooling", 26: "Power", 18: "ReLU", 19: "Sigmoid", 27: "SigmoidCrossEntropyLoss", 36: "Silence",
    20: "Softmax", 21: "SoftmaxWithLoss", 22: "Split", 33: "Slice", 23: "TanH", 24: "WindowData", 31: "Threshold",
}
# The names old prototxts give those values (`layers { type: CONVOLUTION }`).
V1_ENUM_NAMES = {
    "ABSVAL": 35, "ACCURACY": 1, "ARGMAX": 30, "BNLL": 2, "CONCAT": 3, "CONTRASTIVE_LOSS": 37, "CONVOLUTION": 4,
    "DATA": 5, "DECONVOLUTION": 39, "DROPOUT": 6, "DUMMY_DATA": 32, "EUCLIDEAN_LOSS": 7, "ELTWISE": 25, "EXP": 38,
    "FLATTEN": 8, "HDF5_DATA": 9, "HDF5_OUTPUT": 10, "HINGE_LOSS": 28, "IM2COL": 11, "IMAGE_DATA": 12,
    "INFOGAIN_LOSS": 13, "INNER_PRODUCT": 14, "LRN": 15, "MEMORY_DATA": 29, "MULTINOMIAL_LOGISTIC_LOSS": 16,
    "MVN": 34, "POOLING": 17, "POWER": 26, "RELU": 18, "SIGMOID": 19, "SIGMOID_CROSS_ENTROPY_LOSS": 27,
    "SILENCE": 36, "SOFTMAX": 20, "SOFTMAX_LOSS": 21, "SPLIT": 22, "SLICE": 33, "TANH": 23, "WINDOW_DATA": 24,
    "THRESHOLD": 31,
}
_ENUMS = {"V1LayerType": V1_LAYER_TYPES}


def v1_type_name(value):
    """Today's type name of an old layer's type (its enum name, as in a prototxt, or number)."""
    if isinstance(value, str) and str(value) in V1_ENUM_NAMES:
        return V1_LAYER_TYPES[V1_ENUM_NAMES[str(value)]]
    if isinstance(value, int):
        return V1_LAYER_TYPES[value]
    return str(value)
def decode(data, message_type, where="<bytes>"):
    """The Message `data` holds, read by SCHEMA[message_type]."""
    return protobuf_wire.decode(data, message_type, SCHEMA, _ENUMS, where)


def encode(message, message_type):
    """protobuf's binary encoding of `message` by SCHEMA[message_type]."""
    return protobuf_wire.encode(message, message_type, SCHEMA, _ENUMS)


def blob_array(blob):
    """A BlobProto's values as an array of its shape (the new `shape`, else num, channels,
    height, width as Caffe's old files give them)."""
    data = blob.get("double_data") if blob.has("double_data") else blob.get("data")
    data = np.zeros(0, np.float32) if data is None else np.asarray(data)
    if blob.has("shape"):
        shape = tuple(blob.message("shape").all("dim"))
    else:
        shape = tuple(blob.get(k, 0) for k in ("num", "channels", "height", "width"))
        if 0 in shape and data.size:
            shape = (data.size,)
    if int(np.prod(shape)) != data.size:
        raise ValueError(f"a blob of shape {shape} holds {data.size} values")
    return data.astype(np.float32, copy=False).reshape(shape)


def array_blob(array):
    """The BlobProto of an array (shape and float data, as Caffe writes them)."""
    array = np.asarray(array, dtype=np.float32)
    return Message(shape=Message(dim=list(array.shape)), data=array.ravel())

