"""Caffe's Python interface (pycaffe) over symgraph: `import symgraph.compat.caffe as caffe` and a
Caffe user's .prototxt nets, .caffemodel weights and solver files run as written, each net one
symgraph graph compiled by sg.function (and drawn by sg.render).

    net = caffe.Net("lenet.prototxt", "lenet.caffemodel", caffe.TEST)
    net.blobs["data"].data[...] = images
    probabilities = net.forward()["prob"]
    solver = caffe.SGDSolver("lenet_solver.prototxt")
    solver.step(100)

What differs: the LMDB / LevelDB Data and WindowData layers are not implemented (HDF5Data,
ImageData, MemoryData, DummyData, Input and Python layers are); a .caffemodel this writes holds
each layer's name, type, bottoms, tops and blobs (what Caffe's weight loading reads), not the
layer's other parameters; forward(start=...) and backward(start/end) run the whole net; STOCHASTIC
pooling and SPP are not implemented, nor the recurrent layers' expose_hidden and static input.
"""
from . import draw, io, proto
from .classifier import Classifier
from .fillers import set_random_seed
from .net_spec import NetSpec, layers, params, to_proto
from .python_layer import Layer
from .net import MODE, TRAIN, TEST, Net, net_parameter
from .solver import (Solver, SGDSolver, NesterovSolver, AdaGradSolver, RMSPropSolver, AdaDeltaSolver, AdamSolver,
                     get_solver)
from ..protobuf.text_format import Message, parse as parse_prototxt



def set_mode_cpu():
    """Run nets made from now on on the CPU (sg.config.backend: numba's kernels by default)."""
    MODE["backend"] = None


def set_mode_gpu():
    """Caffe's GPU mode: nets made from now on compile for symgraph's CUDA backend."""
    MODE["backend"] = "cuda"


def set_device(device_id):
    """Caffe's set_device: one GPU is used here (numba's current device)."""
    if int(device_id) != 0:
        raise ValueError("set_device: only device 0 (numba's current CUDA device) is used")


__all__ = ["Classifier", "Layer", "draw", "io", "proto", "NetSpec", "layers", "params", "to_proto", "TRAIN", "TEST",
           "Net", "Solver", "SGDSolver", "NesterovSolver", "AdaGradSolver", "RMSPropSolver", "AdaDeltaSolver",
           "AdamSolver", "get_solver", "Message", "net_parameter", "parse_prototxt", "set_mode_cpu", "set_mode_gpu",
           "set_device", "set_random_seed"]
