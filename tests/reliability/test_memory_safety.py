"""Out-of-range and negative indices raise IndexError in every indexing op on every backend,
before any unchecked loop reads or writes memory."""
import numpy as np
import pytest

import symgraph as sg


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_out_of_range_indices_raise(backend):
    x = sg.dmatrix("x")
    i = sg.lvector("i")
    k = sg.lscalar("k")
    y = sg.dmatrix("y")
    xv = np.arange(12.0).reshape(4, 3)
    graphs = {
        "gather rows": (x[i], [i]),
        "gather pairs": (x[i, i], [i]),
        "scalar index": (x[k], [k]),
        "inc_subtensor": (sg.inc_subtensor(x[i], y), [i, y]),
        "set_subtensor": (sg.set_subtensor(x[i], y), [i, y]),
        "grad of gather": (sg.grad(x[i].sum(), x), [i]),
    }
    for name, (expr, extra) in graphs.items():
        f = sg.function([x] + extra, expr, backend=backend, on_unused_input="ignore")
        for bad in (4, 100, -5, 2 ** 40):
            args = {"i": np.array([0, bad]), "k": bad, "y": np.ones((2, 3))}
            values = [args[v.name] for v in extra]
            with pytest.raises(IndexError):
                f(xv, *values)
        # negative indices inside the range count from the end, as in NumPy
        good = {"i": np.array([0, -1]), "k": -1, "y": np.ones((2, 3))}
        out = f(xv, *[good[v.name] for v in extra])
        assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(xv, np.arange(12.0).reshape(4, 3))
