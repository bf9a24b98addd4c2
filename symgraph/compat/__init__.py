"""Other libraries' spellings over symgraph's graphs. sg.compat.v1 is TensorFlow 1's graph mode:
`import symgraph.compat.v1 as tf`, as `import tensorflow.compat.v1 as tf`."""
from . import v1

__all__ = ["v1"]
