"""graph.as_graph_def(): the named operations as TensorFlow's GraphDef, each node's name, op
type, inputs (the nearest named tensors it is computed from), dtype and output shapes. Listed
(`[n.name for n in graph_def.node]`), printed in protobuf's text form, or serialized as the
protocol buffer TensorBoard's Graphs tab reads (FileWriter(logdir, graph=sess.graph)). It
describes the graph and cannot be run by TensorFlow: its nodes carry no kernels' attributes."""
import re

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

    def __init__(self, operations=(), nodes=None):
        self.node = list(nodes) if nodes is not None else [NodeDef.of_operation(op) for op in operations]

    def SerializeToString(self):
        from ..protobuf.text_format import Message
        message = Message(versions=Message(producer=27))
        for node in self.node:
            message.add("node", node.message())
        return wire.encode(message, "GraphDef", SCHEMA)

    def __repr__(self):
        return "".join(repr(n) for n in self.node)


class NodeDef:
    def __init__(self, name, op, inputs, outputs=()):
        self.name, self.op, self.input, self._outputs = name, op, list(inputs), list(outputs)

    @classmethod
    def of_operation(cls, operation):
        # (TensorFlow's inputs: an op's first output by the op's name, the others "op:k")
        return cls(operation.name, operation.type,
                   [t.name[:-2] if t.name.endswith(":0") else t.name for t in operation.inputs],
                   getattr(operation, "outputs", []))

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


def graph_def_of(obj, optimized=True):
    """The GraphDef of a variable's graph or a compiled function's (what sg.render draws): each
    op a node named by its name scope (a Keras layer's) and its op's kind, the inputs, shared
    variables and constants nodes of their own, each update an Assign node; TensorBoard's
    Graphs tab groups the nodes by scope."""
    from ...drawing import _collect
    from ...graph import Constant, SharedVariable, toposort
    outputs, updates = _collect(obj, optimized)
    nodes, names, taken = [], {}, {}

    def unique(name):
        name = re.sub(r"[^A-Za-z0-9_./-]", "_", name).strip("/") or "node"
        count = taken.get(name.lower(), 0)
        taken[name.lower()] = count + 1
        return name if count == 0 else f"{name}_{count}"

    def scoped(var, kind):
        scope = getattr(var, "scope", "")
        return f"{scope}/{kind}" if scope else kind

    def source(var):
        if var.owner is not None:
            name = names[var.owner]
            return name if var.index == 0 else f"{name}:{var.index}"
        if var not in names:
            kind = "VariableV2" if isinstance(var, SharedVariable) else "Const" if isinstance(var, Constant) \
                else "Placeholder"
            names[var] = unique(var.name if var.name and kind != "Const" else scoped(var, kind))
            nodes.append(NodeDef(names[var], kind, [], [var]))
        return names[var]

    for apply in toposort(outputs + [new for _, new in updates]):
        inputs = [source(v) for v in apply.inputs]
        names[apply] = unique(scoped(apply.outputs[0], type(apply.op).__name__))
        nodes.append(NodeDef(names[apply], type(apply.op).__name__, inputs, apply.outputs))
    for shared, new in updates:
        target = source(shared)
        nodes.append(NodeDef(unique(f"{target}/Assign"), "Assign", [target, source(new)], [shared]))
    return GraphDef(nodes=nodes)
