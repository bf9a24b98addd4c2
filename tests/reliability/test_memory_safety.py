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


@pytest.mark.parametrize("backend", ["numba", "numpy", "cuda"])
@pytest.mark.parametrize("loss", ["from logits", "from probabilities"])
def test_integer_targets_of_another_length_than_the_batch_raise(backend, loss):
    """One class index per row: fewer targets than rows made the numba loop read past the
    targets (and NumPy's pick take the first rows); more, an index error. Both backends raise
    a ValueError naming the shapes; lengths known when the graph is built are checked then."""
    h, y = sg.fmatrix("h"), sg.ivector("y")
    probs = sg.nn.softmax(h) if loss == "from logits" else sg.nn.sigmoid(h)  # (sigmoid: not fused)
    f = sg.function([h, y], sg.nn.categorical_crossentropy(probs, y), backend=backend)
    fused = [n for n in f.fgraph.apply_nodes if type(n.op).__name__ == "CrossentropySoftmax"]
    assert bool(fused) == (loss == "from logits")
    hv = np.random.default_rng(0).random((4, 3)).astype("float32")
    for targets in ([0, 1], [0, 1, 2, 0, 1, 2]):
        with pytest.raises(ValueError, match=r"integer targets of shape \(\d,\) for predictions of shape \(4, 3\)"):
            f(hv, np.array(targets, "int32"))
    assert f(hv, np.array([0, 1, 2, 0], "int32")).shape == (4,)
    with pytest.raises(ValueError, match="one class index per row"):
        sg.nn.categorical_crossentropy(sg.tensor("p", "float32", (4, 3)), sg.tensor("t", "int32", (5,)))
