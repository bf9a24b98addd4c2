"""gc_pause: the cycle collector held off while symgraph imports and builds a function, holds nested as
one, and a collector the user turned off left off."""
import gc
import sys

import numpy as np

import symgraph as sg
from symgraph import gc_pause


def test_holds_nest_and_the_collector_comes_back_after_the_outermost():
    assert gc.isenabled()
    with gc_pause.held():
        with gc_pause.held():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc_pause.release()  # unmatched: changes nothing
    assert gc.isenabled()


def test_a_collector_turned_off_stays_off():
    gc.disable()
    try:
        with gc_pause.held():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def _building():
    """Whether Function.__init__ is running (somewhere up the stack)."""
    frame = sys._getframe()
    while frame is not None and frame.f_code is not sg.Function.__init__.__code__:
        frame = frame.f_back
    return frame is not None


def test_building_a_function_runs_no_collection():
    collections = []
    threshold = gc.get_threshold()
    x = sg.matrix("x")
    cost = (sg.tanh(x) ** 2).sum() + sg.nn.softmax(x).max()
    outputs = [cost, sg.grad(cost, x)]
    gc.set_threshold(1, 1, 1)  # a collection at almost every allocation, were the collector on
    gc.callbacks.append(lambda phase, info: collections.append(_building()))
    try:
        f = sg.function([x], outputs, backend="numpy")
        [].append([])  # the collector is back: this allocation collects
    finally:
        gc.callbacks.pop()
        gc.set_threshold(*threshold)
    assert collections and not any(collections)
    value, gradient = f(np.ones((2, 3), "float32"))
    assert gradient.shape == (2, 3)


_IMPORT = """
import gc, sys
import numpy, numba
inside = []

def record(phase, info):
    frame = sys._getframe()
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name.startswith("symgraph.") and name != "symgraph.gc_pause":
            inside.append(name)
            return
        frame = frame.f_back
gc.set_threshold(1, 1, 1)
gc.callbacks.append(record)
import symgraph
gc.callbacks.remove(record)
print(len(inside), gc.isenabled())
"""


def test_importing_symgraph_runs_no_collection():
    import subprocess
    out = subprocess.run([sys.executable, "-c", _IMPORT], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["0", "True"]
