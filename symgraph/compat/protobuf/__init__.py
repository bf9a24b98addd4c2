"""Protocol buffers without protoc: the text format (text_format.py: schema-less Messages, as
Caffe's .prototxt files are written) and the binary encoding by a table of a message's fields
(wire.py), for the files other libraries keep (Caffe's .caffemodel, TensorBoard's events)."""
