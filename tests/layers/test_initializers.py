"""sg.initializers, Keras's initializer objects: their draws' statistics, seeds, the names that
stand for them, saving, and Keras 2's input_dim."""
import numpy as np
import pytest

import symgraph as sg

I = sg.initializers
L = sg.layers
SHAPE, FAN_IN, FAN_OUT = (300, 200), 300, 200


@pytest.mark.parametrize("initializer, mean, std, bound", [
    (I.RandomNormal(mean=1.0, stddev=0.2), 1.0, 0.2, None),
    (I.RandomUniform(-0.3, 0.1), -0.1, 0.4 / np.sqrt(12), 0.3),
    (I.TruncatedNormal(stddev=0.1), 0.0, 0.1 * 0.87962566103423978, 0.2),
    (I.GlorotUniform(), 0.0, np.sqrt(2 / 500), np.sqrt(6 / 500)),
    (I.GlorotNormal(), 0.0, np.sqrt(2 / 500), 2 * np.sqrt(2 / 500) / 0.87962566103423978),
    (I.HeNormal(), 0.0, np.sqrt(2 / 300), 2 * np.sqrt(2 / 300) / 0.87962566103423978),
    (I.HeUniform(), 0.0, np.sqrt(2 / 300), np.sqrt(6 / 300)),
    (I.LecunNormal(), 0.0, np.sqrt(1 / 300), 2 * np.sqrt(1 / 300) / 0.87962566103423978),
    (I.LecunUniform(), 0.0, np.sqrt(1 / 300), np.sqrt(3 / 300)),
    (I.VarianceScaling(scale=3.0, mode="fan_out", distribution="untruncated_normal"), 0.0, np.sqrt(3 / 200), None),
    (I.VarianceScaling(scale=0.5, mode="fan_avg", distribution="uniform"), 0.0, np.sqrt(0.5 / 250), np.sqrt(1.5 / 250)),
])
def test_draws_have_kerass_moments(initializer, mean, std, bound):
    value = initializer(SHAPE, FAN_IN, FAN_OUT)
    assert value.shape == SHAPE
    assert value.mean() == pytest.approx(mean, abs=0.02 * std + 1e-9)
    assert value.std() == pytest.approx(std, rel=0.02)
    if bound is not None:
        assert np.abs(value - (mean if isinstance(initializer, I.TruncatedNormal) else 0)).max() <= bound * (1 + 1e-9)


def test_constant_identity_orthogonal_zeros_ones():
    np.testing.assert_array_equal(I.Constant(0.25)((2, 3)), np.full((2, 3), 0.25))
    np.testing.assert_array_equal(I.Zeros()((2,)), [0, 0])
    np.testing.assert_array_equal(I.Ones()((2,)), [1, 1])
    np.testing.assert_array_equal(I.Identity(gain=2.0)((2, 3)), 2 * np.eye(2, 3))
    q = I.Orthogonal(gain=1.5)((6, 4))
    np.testing.assert_allclose(q.T @ q, 2.25 * np.eye(4), atol=1e-12)
    with pytest.raises(ValueError, match="matrices"):
        I.Identity()((2, 2, 2))
    with pytest.raises(ValueError, match="mode"):
        I.VarianceScaling(mode="fan")


def test_seeds_give_their_own_draws_and_set_seed_the_shared_ones():
    np.testing.assert_array_equal(I.HeNormal(seed=7)((3, 3), 3, 3), I.HeNormal(seed=7)((3, 3), 3, 3))
    L.set_seed(11)
    first = I.RandomNormal()((4,))
    L.set_seed(11)
    np.testing.assert_array_equal(I.RandomNormal()((4,)), first)
    assert not np.array_equal(I.RandomNormal()((4,)), first)


def test_layers_take_initializer_objects_and_models_save_them(tmp_path):
    model = L.Sequential([L.Dense(3, input_dim=4, kernel_initializer=I.Identity(gain=3.0),
                                  bias_initializer=I.Constant(0.5)),
                          L.Dense(2, kernel_initializer=I.TruncatedNormal(stddev=0.01, seed=2))])
    assert model.input_shape == (None, 4)
    kernel, bias = model.layers[0].get_weights()
    np.testing.assert_array_equal(kernel, 3 * np.eye(4, 3))
    np.testing.assert_array_equal(bias, [0.5, 0.5, 0.5])
    again = L.load_model(model.save(tmp_path / "m.sgm"))
    assert repr(again.layers[0].kernel_initializer) == "Identity(gain=3.0)"
    assert repr(again.layers[1].kernel_initializer) == "TruncatedNormal(stddev=0.01, seed=2)"
    x = np.ones((2, 4), "float32")
    np.testing.assert_allclose(again.predict(x), model.predict(x))


def test_names_stand_for_the_objects():
    from symgraph.layers.base import INITIALIZERS
    assert isinstance(INITIALIZERS["he_normal"], I.HeNormal) and isinstance(INITIALIZERS["uniform"], I.RandomUniform)
    L.set_seed(3)
    layer = L.Dense(200, kernel_initializer="he_normal")
    layer(L.Input((300,)))
    value = layer.kernel.get_value()
    assert np.abs(value).max() <= 2 * np.sqrt(2 / 300) / 0.87962566103423978 + 1e-6  # (truncated, as Keras's)
