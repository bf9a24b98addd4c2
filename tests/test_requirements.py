"""symgraph refuses a NumPy older than 2.1 at import, saying what to do (its dtype rules are NumPy 2's)."""
import numpy as np

from symgraph.requirements import unsupported_numpy


def test_numpy_older_than_2_1_is_refused_with_a_clear_message():
    assert unsupported_numpy(np.__version__) is None  # the one that runs the suite
    assert unsupported_numpy("2.1.3") is None and unsupported_numpy("2.4.0rc1") is None
    message = unsupported_numpy("1.26.4")
    assert "NumPy 2.1 or newer" in message and "1.26.4" in message and "pip install -U numpy" in message
    assert unsupported_numpy("2.0.2") is not None
