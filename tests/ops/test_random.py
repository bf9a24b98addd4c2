import numpy as np

import symgraph as sg


def test_fresh_draws_each_call_and_replay_by_seed():
    rng = sg.random.RandomStream(7)
    u = rng.uniform((1000,))
    f = sg.function([], u, backend="numpy")
    first, second = f(), f()
    assert not np.array_equal(first, second)
    assert first.dtype == sg.config.floatX and (first >= 0).all() and (first < 1).all()
    rng2 = sg.random.RandomStream(7)
    g = sg.function([], rng2.uniform((1000,)), backend="numpy")
    np.testing.assert_array_equal(g(), first)
    np.testing.assert_array_equal(g(), second)
    rng.seed(7)
    np.testing.assert_array_equal(f(), first)


def test_distributions_have_the_right_moments():
    rng = sg.random.RandomStream(3)
    n = 200_000
    u = rng.uniform((n,), low=-2, high=4, dtype="float64")
    z = rng.normal((n,), avg=1.0, std=3.0, dtype="float64")
    b = rng.binomial((n,), n=5, p=0.3)
    uv, zv, bv = sg.function([], [u, z, b], backend="numpy")()
    assert abs(uv.mean() - 1.0) < 0.02 and uv.min() >= -2 and uv.max() < 4
    assert abs(zv.mean() - 1.0) < 0.03 and abs(zv.std() - 3.0) < 0.03
    assert abs(bv.mean() - 1.5) < 0.02 and bv.min() >= 0 and bv.max() <= 5
    assert bv.dtype == np.int64


def test_symbolic_size_and_dropout_style_mask():
    rng = sg.random.RandomStream(11)
    x = sg.matrix("x")
    mask = rng.binomial(x.shape, p=0.5, dtype="float32")
    f = sg.function([x], x * mask, backend="numpy")
    out = f(np.ones((50, 40), "float32"))
    assert out.shape == (50, 40) and set(np.unique(out)) <= {0.0, 1.0}
    assert 0.4 < out.mean() < 0.6


def test_different_streams_are_independent():
    rng = sg.random.RandomStream(5)
    a, b = rng.uniform((100,)), rng.uniform((100,))
    av, bv = sg.function([], [a, b], backend="numpy")()
    assert not np.array_equal(av, bv)
