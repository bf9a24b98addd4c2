"""Keras's learning-rate schedules: each against Keras's formula, and an optimizer given one
takes at each step the schedule's rate for the steps before it, in the compiled step."""
import math

import numpy as np
import pytest

import symgraph as sg

S = sg.optimizers.schedules
STEPS = [0, 1, 5, 10, 15, 40]


@pytest.mark.parametrize("schedule,formula", [
    (S.ExponentialDecay(0.1, 10, 0.5), lambda t: 0.1 * 0.5 ** (t / 10)),
    (S.ExponentialDecay(0.1, 10, 0.5, staircase=True), lambda t: 0.1 * 0.5 ** (t // 10)),
    (S.InverseTimeDecay(0.1, 10, 0.5), lambda t: 0.1 / (1 + 0.5 * t / 10)),
    (S.PolynomialDecay(0.1, 10, 0.01, power=2.0), lambda t: 0.09 * (1 - min(t, 10) / 10) ** 2 + 0.01),
    (S.PolynomialDecay(0.1, 10, 0.01, cycle=True),
     lambda t: 0.09 * (1 - t / (10 * max(math.ceil(t / 10), 1))) + 0.01),
    (S.CosineDecay(0.1, 10, alpha=0.1), lambda t: 0.1 * (0.9 * 0.5 * (1 + math.cos(math.pi * min(t, 10) / 10)) + 0.1)),
    (S.PiecewiseConstantDecay([3, 7], [0.1, 0.05, 0.01]), lambda t: 0.1 if t <= 3 else 0.05 if t <= 7 else 0.01),
], ids=lambda v: type(v).__name__ if isinstance(v, S.LearningRateSchedule) else "")
def test_schedules_follow_kerass_formulas_on_numbers_and_in_graphs(schedule, formula):
    step = sg.lscalar("step")
    compiled = sg.function([step], schedule(step), backend="numpy")
    for t in STEPS:
        np.testing.assert_allclose([schedule(t), compiled(t)], formula(t), rtol=1e-12)


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_an_optimizer_takes_each_steps_rate_from_its_schedule(optimizer, tmp_path):
    """SGD's and Adam's steps on the loss w (gradient 1 every step) are the rate itself: w falls
    by each step's rate."""
    schedule = S.PiecewiseConstantDecay([1, 3], [0.5, 0.1, 0.01])
    opt = getattr(sg.optimizers, optimizer)(learning_rate=schedule)
    w = sg.shared(np.array(1.0), "w")
    step = sg.function([], w, updates=opt.updates(w.sum(), [w]))
    values = [float(step()) for _ in range(6)] + [float(w.get_value())]
    np.testing.assert_allclose(-np.diff(values), [0.5, 0.5, 0.1, 0.1, 0.01, 0.01], rtol=1e-4)  # (Adam: its epsilon)
    assert opt.learning_rate == 0.01
    with pytest.raises(TypeError, match="is the schedule"):
        opt.learning_rate = 0.3

    model = sg.layers.Sequential([sg.layers.Dense(1, input_shape=(2,))])
    model.compile(sg.optimizers.SGD(learning_rate=S.ExponentialDecay(0.05, 100, 0.9)), "mse")
    model.fit(np.ones((8, 2), "float32"), np.ones((8, 1), "float32"), epochs=2, batch_size=4, verbose=0)
    assert model.optimizer.learning_rate == pytest.approx(0.05 * 0.9 ** (4 / 100))
    path = str(tmp_path / "scheduled")
    model.save(path)
    loaded = sg.layers.load_model(path)
    assert repr(loaded.optimizer.schedule) == repr(model.optimizer.schedule)
