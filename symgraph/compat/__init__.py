"""Other libraries' spellings over symgraph's graphs. sg.compat.v1 is TensorFlow 1's graph mode:
`import symgraph.compat.v1 as tf`, as `import tensorflow.compat.v1 as tf`; sg.compat.caffe is
pycaffe: `import symgraph.compat.caffe as caffe`, as `import caffe`. sg.compat.protobuf reads and
writes the protocol-buffer files both keep (prototxt text, .caffemodel, TensorBoard's events)."""
from . import caffe, protobuf, v1

__all__ = ["caffe", "protobuf", "v1"]
