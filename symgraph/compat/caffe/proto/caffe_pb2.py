"""The caffe_pb2 messages pycaffe scripts use, over schema-less text_format Messages:

- reading binary files: `blob = caffe_pb2.BlobProto(); blob.ParseFromString(data)` (a mean
  image; then caffe.io.blobproto_to_array(blob)), NetParameter (a .caffemodel), SolverState;
- writing a solver file field by field, as pycaffe's notebooks do:

      s = caffe_pb2.SolverParameter()
      s.train_net = "train.prototxt"
      s.test_net.append("test.prototxt"); s.test_iter.append(100)
      s.base_lr, s.lr_policy, s.solver_mode = 0.01, "step", caffe_pb2.SolverParameter.CPU
      open("solver.prototxt", "w").write(str(s))

  A field is read and set as an attribute (a repeated one is a list-like view with append and
  extend; Caffe's defaults are not filled in: an unset scalar reads as None). Other messages'
  fields are read with the Message methods (get, all)."""
from .. import wire
from ...protobuf.text_format import Enum, Message

TRAIN, TEST = Enum("TRAIN"), Enum("TEST")


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


class _Repeated:
    """A repeated field of a message as a list-like view (append, extend, len, index, iterate)."""

    def __init__(self, message, name):
        self._message, self._name = message, name

    def append(self, value):
        self._message.add(self._name, value)

    def extend(self, values):
        for value in values:
            self.append(value)

    def __len__(self):
        return len(self._message.all(self._name))

    def __iter__(self):
        return iter(self._message.all(self._name))

    def __getitem__(self, index):
        return self._message.all(self._name)[index]

    def __eq__(self, other):
        return list(self) == list(other)

    def __repr__(self):
        return repr(list(self))


class SolverParameter(Message):
    """A solver file's message, its fields as attributes (see the module)."""

    _REPEATED = {"test_net", "test_net_param", "test_iter", "test_state", "stepvalue"}
    CPU, GPU, HDF5, BINARYPROTO = Enum("CPU"), Enum("GPU"), Enum("HDF5"), Enum("BINARYPROTO")
    SGD, NESTEROV, ADAGRAD, RMSPROP, ADADELTA, ADAM = (Enum(n) for n in
                                                      ("SGD", "NESTEROV", "ADAGRAD", "RMSPROP", "ADADELTA", "ADAM"))

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._REPEATED:
            return _Repeated(self, name)
        return self.get(name)

    def __setattr__(self, name, value):
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        elif name in self._REPEATED:
            raise AttributeError(f"{name} is a repeated field: append to it (s.{name}.append(value))")
        else:
            self.set(name, value)
