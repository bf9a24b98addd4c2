"""caffe.proto: caffe_pb2's messages a pycaffe script parses binary files with."""
from . import caffe_pb2

__all__ = ["caffe_pb2"]
