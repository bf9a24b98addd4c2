"""Each compat test starts and ends with a new TensorFlow 1 default graph (its variables, names,
collections and graph-level seed forgotten): what one test builds is never another's."""
import pytest

import symgraph.compat.v1 as tf


@pytest.fixture(autouse=True)
def new_tf_graph():
    tf.reset_default_graph()
    yield
    tf.reset_default_graph()
