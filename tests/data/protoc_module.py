"""For the by-hand fixture scripts (make_caffe_files.py, make_tfrecords.py): a .proto's text
compiled by grpcio-tools' protoc and imported, Google's protobuf classes to check against."""
import importlib
import os
import sys
import tempfile


def compiled_module(proto_text, name):
    """The module protoc makes of proto_text (saved as name.proto): name_pb2."""
    from grpc_tools import protoc
    folder = tempfile.mkdtemp()
    with open(os.path.join(folder, f"{name}.proto"), "w") as fh:
        fh.write(proto_text)
    if protoc.main(["protoc", f"-I{folder}", f"--python_out={folder}", f"{name}.proto"]):
        raise RuntimeError("protoc failed")
    sys.path.insert(0, folder)
    return importlib.import_module(f"{name}_pb2")
