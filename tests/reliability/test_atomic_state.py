"""A call that fails part-way changes no shared variable; set_value refuses wrong types;
one compiled function called from many threads returns correct, unaliased results."""
import threading

import numpy as np
import pytest

import symgraph as sg


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_failed_calls_change_nothing(backend):
    w = sg.shared(np.zeros(3), "w")
    count = sg.shared(np.int64(0), "count")
    x = sg.dvector("x")
    i = sg.lvector("i")
    rng = sg.random.RandomStream(3)
    f = sg.function([x, i], (x * w).sum() + rng.uniform((2,)).sum(),
                    updates=[(w, w + x), (count, count + 1)], backend=backend, on_unused_input="ignore")
    f(np.ones(3), np.array([0]))
    before = (w.get_value(), count.get_value(), [s.get_value() for s in rng.states])
    for bad in [(np.ones(4), np.array([0])), (np.ones(2), np.array([0]))]:
        with pytest.raises(ValueError):
            f(*bad)
    g = sg.function([x, i], x[i].sum(), updates=[(w, w * 2)], backend=backend)
    with pytest.raises(IndexError):
        g(np.ones(3), np.array([7]))
    np.testing.assert_array_equal(w.get_value(), before[0])
    assert count.get_value() == before[1]
    for s, old in zip(rng.states, before[2]):
        np.testing.assert_array_equal(s.get_value(), old)


def test_nan_guard_failure_also_changes_nothing():
    w = sg.shared(np.ones(2), "w")
    x = sg.dvector("x")
    f = sg.function([x], [], updates=[(w, w + sg.log(x))], nan_guard=True)
    with pytest.raises(sg.NonFiniteError):
        f(np.array([1.0, -1.0]))
    np.testing.assert_array_equal(w.get_value(), [1.0, 1.0])


def test_set_value_refusals():
    w = sg.shared(np.zeros((2, 2), "float32"), "w")
    for bad, exc in [(np.zeros((3, 2), "float32"), ValueError), (np.zeros((2, 2), "float64"), TypeError),
                     (np.zeros(4, "float32"), ValueError), ("text", TypeError)]:
        with pytest.raises(exc):
            w.set_value(bad)
    np.testing.assert_array_equal(w.get_value(), np.zeros((2, 2)))


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_threads_get_correct_unaliased_results(backend):
    x = sg.dmatrix("x")
    f = sg.function([x], [sg.tanh(x) * 2, (x * x).sum(axis=1)], backend=backend)
    results, errors = {}, []

    def work(k):
        try:
            value = np.full((64, 32), k / 10.0)
            outs = [f(value) for _ in range(100)]
            results[k] = outs
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    for k, outs in results.items():
        for a, b in outs:
            np.testing.assert_allclose(a, np.tanh(k / 10.0) * 2)
            np.testing.assert_allclose(b, 32 * (k / 10.0) ** 2)
    first = results[0][0][0]
    first[0, 0] = 99.0  # results are the caller's: mutating one touches no other
    assert results[0][1][0][0, 0] != 99.0
