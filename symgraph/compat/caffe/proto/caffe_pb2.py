"""The caffe_pb2 messages pycaffe scripts read binary files with, e.g. a mean image:
`blob = caffe_pb2.BlobProto(); blob.ParseFromString(open("mean.binaryproto", "rb").read());
mean = caffe.io.blobproto_to_array(blob)`. Fields are read with the Message methods (get, all),
not as attributes: these are schema-less text_format Messages (see wire.py)."""
from .. import wire
from ..text_format import Message


class _Proto(Message):
    _type = None

    def ParseFromString(self, data):
        self._fields = wire.decode(data, self._type).items()
        return len(data)

    def SerializeToString(self):
        return wire.encode(self, self._type)


class BlobProto(_Proto):
    _type = "BlobProto"


class NetParameter(_Proto):
    _type = "NetParameter"


class SolverState(_Proto):
    _type = "SolverState"


TRAIN, TEST = 0, 1
