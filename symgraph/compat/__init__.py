"""Other libraries' spellings over symgraph's graphs. sg.compat.v1 is TensorFlow 1's graph mode:
`import symgraph.compat.v1 as tf`, as `import tensorflow.compat.v1 as tf`; sg.compat.caffe is
pycaffe: `import symgraph.compat.caffe as caffe`, as `import caffe`."""
from . import caffe, v1

__all__ = ["caffe", "v1"]
