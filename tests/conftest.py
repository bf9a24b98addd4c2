import numpy as np
import pytest

import symgraph as sg


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def run(inputs, outputs, *values, **kw):
    """Compile on the reference backend and call."""
    return sg.function(inputs, outputs, backend=kw.pop("backend", "numpy"), **kw)(*values)
