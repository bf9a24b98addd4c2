import os

# The CUDA backend's tests run in numba's simulator unless a GPU run asks otherwise
# (NUMBA_ENABLE_CUDASIM=0 on a machine with a GPU). numba reads this when first imported.
os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

import numpy as np
import pytest

import symgraph as sg


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def run(inputs, outputs, *values, **kw):
    """Compile on the reference backend and call."""
    return sg.function(inputs, outputs, backend=kw.pop("backend", "numpy"), **kw)(*values)


@pytest.fixture(scope="module")
def fast_simulator():
    """numba's CUDA simulator runs each GPU thread as a Python thread and waits at every
    barrier; switching threads often makes it 4-5x quicker (a test-speed setting only)."""
    import sys
    before = sys.getswitchinterval()
    sys.setswitchinterval(5e-5)
    yield
    sys.setswitchinterval(before)
