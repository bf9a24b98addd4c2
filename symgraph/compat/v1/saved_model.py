"""tf.saved_model in TensorFlow 1: a trained graph and its variables in one folder, with named
signatures (which tensors are a model's inputs and outputs), for the program that serves it:

    tf.saved_model.simple_save(sess, export_dir, inputs={"x": x}, outputs={"probabilities": probs})
    ...
    with tf.Session(graph=tf.Graph()) as sess:
        meta = tf.saved_model.loader.load(sess, [tf.saved_model.tag_constants.SERVING], export_dir)
        signature = meta.signature_def["serving_default"]
        probs = sess.run(signature.outputs["probabilities"].name, {signature.inputs["x"].name: images})

The folder holds symgraph's meta graph (saved_model.meta: meta_graph.py's pickle, with the
signatures and tags) and the values (variables/variables.npz); TensorFlow's saved_model.pb
cannot be read, nor written."""
import os
import pickle
import types

import numpy as np

from .meta_graph import FORMAT, export_meta_graph, import_meta_graph
from .variables import global_variables

SERVING, TRAINING = "serve", "train"
DEFAULT_SERVING_SIGNATURE_DEF_KEY = "serving_default"
PREDICT_METHOD_NAME = "tensorflow/serving/predict"
tag_constants = types.SimpleNamespace(SERVING=SERVING, TRAINING=TRAINING, GPU="gpu", TPU="tpu")
signature_constants = types.SimpleNamespace(DEFAULT_SERVING_SIGNATURE_DEF_KEY=DEFAULT_SERVING_SIGNATURE_DEF_KEY,
                                            PREDICT_METHOD_NAME=PREDICT_METHOD_NAME,
                                            PREDICT_INPUTS="inputs", PREDICT_OUTPUTS="outputs")


class TensorInfo:
    """A signature's tensor: its name ("x:0"), dtype and shape."""

    def __init__(self, name, dtype, shape):
        self.name, self.dtype, self.tensor_shape = name, dtype, shape


class SignatureDef:
    def __init__(self, inputs, outputs, method_name=PREDICT_METHOD_NAME):
        self.inputs, self.outputs, self.method_name = dict(inputs), dict(outputs), method_name


def build_tensor_info(tensor):
    if not tensor.name:
        raise ValueError(f"build_tensor_info: {tensor.describe()} has no name: tf.identity(t, name=...) names it")
    return TensorInfo(tensor.name, tensor.dtype, tuple(tensor.type.shape))


def predict_signature_def(inputs, outputs):
    return SignatureDef({k: build_tensor_info(t) for k, t in inputs.items()},
                        {k: build_tensor_info(t) for k, t in outputs.items()})


class SavedModelBuilder:
    """builder = SavedModelBuilder(export_dir); builder.add_meta_graph_and_variables(sess, tags,
    signature_def_map={...}); builder.save()."""

    def __init__(self, export_dir):
        if os.path.exists(export_dir) and os.listdir(export_dir):
            raise AssertionError(f"Export directory already exists, and isn't empty. Please choose a different "
                                 f"export directory, or delete all the contents of the specified directory: "
                                 f"{export_dir}")
        self.export_dir, self._meta = export_dir, None

    def add_meta_graph_and_variables(self, sess, tags, signature_def_map=None, assets_collection=None,
                                     clear_devices=False, main_op=None, strip_default_attrs=False, **unused):
        os.makedirs(os.path.join(self.export_dir, "variables"), exist_ok=True)
        np.savez(os.path.join(self.export_dir, "variables", "variables.npz"),
                 **{v.op.name: v.get_value() for v in global_variables()})
        graph = export_meta_graph().data
        self._meta = {"format": FORMAT + " saved model", "tags": list(tags), "graph": graph,
                      "signatures": dict(signature_def_map or {})}

    def save(self, as_text=False):
        if self._meta is None:
            raise AssertionError("add_meta_graph_and_variables first")
        path = os.path.join(self.export_dir, "saved_model.meta")
        with open(path, "wb") as fh:
            pickle.dump(self._meta, fh, protocol=pickle.HIGHEST_PROTOCOL)
        return path


def simple_save(session, export_dir, inputs, outputs, legacy_init_op=None):
    """The session's graph and variables with one signature, serving_default, of these tensors."""
    builder = SavedModelBuilder(export_dir)
    builder.add_meta_graph_and_variables(session, [SERVING], signature_def_map={
        DEFAULT_SERVING_SIGNATURE_DEF_KEY: predict_signature_def(inputs, outputs)})
    builder.save()


def load(sess, tags, export_dir, import_scope=None, **unused):
    """The saved graph imported into sess's graph, its variables restored; returns an object with
    signature_def ({key: SignatureDef}) and meta_info_def.tags."""
    path = os.path.join(export_dir, "saved_model.meta")
    if not os.path.exists(path):
        raise OSError(f"SavedModel file does not exist at: {export_dir} (saved_model.meta; TensorFlow's "
                      f"saved_model.pb cannot be read here)")
    with open(path, "rb") as fh:
        meta = pickle.load(fh)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT + " saved model":
        raise ValueError(f"{path} is not a SavedModel written by symgraph")
    if set(tags) - set(meta["tags"]):
        raise RuntimeError(f"MetaGraphDef associated with tags {sorted(tags)} could not be found in SavedModel "
                           f"(it has {meta['tags']})")
    from .meta_graph import MetaGraphDef
    from .variables import _InGraph
    with _InGraph(sess.graph):
        saver = import_meta_graph(MetaGraphDef(meta["graph"]), import_scope=import_scope)
        if saver is not None:
            saver.restore(sess, os.path.join(export_dir, "variables", "variables"))
    signatures = meta["signatures"]
    if import_scope:
        for signature in signatures.values():
            for info in list(signature.inputs.values()) + list(signature.outputs.values()):
                info.name = f"{import_scope}/{info.name}"
    return types.SimpleNamespace(signature_def=signatures, meta_info_def=types.SimpleNamespace(tags=meta["tags"]))


loader = types.SimpleNamespace(load=load)
builder = types.SimpleNamespace(SavedModelBuilder=SavedModelBuilder)
signature_def_utils = types.SimpleNamespace(predict_signature_def=predict_signature_def)
utils = types.SimpleNamespace(build_tensor_info=build_tensor_info)
