"""graph.as_graph_def(): the named operations as TensorFlow's GraphDef, each node's name, op
type, inputs (the nearest named tensors it is computed from), dtype and output shapes. Listed
(`[n.name for n in graph_def.node]`), printed in protobuf's text form, or serialized as the
protocol buffer TensorBoard's Graphs tab reads (FileWriter(logdir, graph=sess.graph)). It
describes the graph and cannot be run by TensorFlow: its nodes carry no kernels' attributes."""
import numpy as np

from ..protobuf import wire

SCHEMA = {
    "GraphDef": {1: ("node", "NodeDef", True), 4: ("versions", "VersionDef", False)},
    "VersionDef": {1: ("producer", "int", False)},
    "NodeDef": {1: ("name", "string", False), 2: ("op", "string", False), 3: ("input", "string", True),
                5: ("attr", "AttrEntry", True)},
    "AttrEntry": {1: ("key", "string", False), 2: ("value", "AttrValue", False)},
    "AttrValue": {1: ("list", "ListValue", False), 6: ("type", "int", False)},
    "ListValue": {7: ("shape", "TensorShapeProto", True)},
    "TensorShapeProto": {2: ("dim", "Dim", True)},
    "Dim": {1: ("size", "int", False)},
}
# (TensorFlow's DataType codes)
DATA_TYPES = {"float32": 1, "float64": 2, "int32": 3, "uint8": 4, "int16": 5, "int8": 6, "int64": 9, "bool": 10,
              "uint16": 17, "float16": 19, "uint32": 22, "uint64": 23}


class GraphDef:
    """`.node`: a NodeDef of each named operation, in the order they were made."""

    def __init__(self, operations):
        self.node = [NodeDef(op) for op in operations]

    def SerializeToString(self):
        from ..protobuf.text_format import Message
        message = Message(versions=Message(producer=27))
        for node in self.node:
            message.add("node", node.message())
        return wire.encode(message, "GraphDef", SCHEMA)

    def __repr__(self):
        return "".join(repr(n) for n in self.node)


class NodeDef:
    def __init__(self, operation):
        self.name, self.op = operation.name, operation.type
        # (TensorFlow's: an op's first output by the op's name, the others "op:k")
        self.input = [t.name[:-2] if t.name.endswith(":0") else t.name for t in operation.inputs]
        self._outputs = list(getattr(operation, "outputs", []))

    def message(self):
        from ..protobuf.text_format import Message
        node = Message(name=self.name, op=self.op)
        for name in self.input:
            node.add("input", name)
        if self._outputs:
            dtype = DATA_TYPES.get(np.dtype(self._outputs[0].dtype).name)
            if dtype is not None:
                node.add("attr", Message(key="dtype", value=Message(type=dtype)))
            shapes = Message()
            for out in self._outputs:  # (the shapes TensorBoard writes on the edges; -1 not known)
                shape = Message()
                for size in out.type.shape:
                    shape.add("dim", Message(size=-1 if size is None else int(size)))
                shapes.add("shape", shape)
            node.add("attr", Message(key="_output_shapes", value=Message(list=shapes)))
        return node

    def __repr__(self):
        inputs = "".join(f'  input: "{i}"\n' for i in self.input)
        return f'node {{\n  name: "{self.name}"\n  op: "{self.op}"\n{inputs}}}\n'
