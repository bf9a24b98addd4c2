"""Each compat test starts and ends with a new TensorFlow 1 default graph (its variables, names,
collections and graph-level seed forgotten): what one test builds is never another's."""
import pytest

import symgraph.compat.v1 as tf


@pytest.fixture(autouse=True)
def new_tf_graph():
    tf.reset_default_graph()
    yield
    tf.reset_default_graph()


def drain(sess, fetches):
    """Each run's values of the fetches until the data's end (tf.errors.OutOfRangeError)."""
    out = []
    while True:
        try:
            out.append(sess.run(fetches))
        except tf.errors.OutOfRangeError:
            return out
