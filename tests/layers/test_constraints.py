"""Weight constraints (sg.constraints, Keras's kernel_constraint=...): each against NumPy's
reckoning of Keras's formula, applied by the optimizer to every step's new value (one step checked
against NumPy's gradient step), on Keras's axes for convolution kernels, and saved with a model."""
import numpy as np
import pytest

import symgraph as sg

L, C = sg.layers, sg.constraints
RNG = np.random.default_rng(5)
W = RNG.normal(size=(4, 3, 2, 2)) * 2


def _norms(w, axis):
    return np.sqrt((w * w).sum(axis=axis, keepdims=True))


# (constraint, Keras's formula in NumPy)
CASES = [
    (C.max_norm(1.5, axis=0), lambda w: w * np.clip(_norms(w, 0), 0, 1.5) / (1e-7 + _norms(w, 0))),
    (C.MaxNorm(2.0, axis=[1, 2, 3]), lambda w: w * np.clip(_norms(w, (1, 2, 3)), 0, 2) / (1e-7 + _norms(w, (1, 2, 3)))),
    (C.non_neg(), lambda w: w * (w >= 0)),
    (C.unit_norm(axis=-1), lambda w: w / (1e-7 + _norms(w, -1))),
    (C.min_max_norm(1.0, 3.0, rate=0.5, axis=(0, 1)),
     lambda w: w * (0.5 * np.clip(_norms(w, (0, 1)), 1, 3) + 0.5 * _norms(w, (0, 1))) / (1e-7 + _norms(w, (0, 1)))),
]


@pytest.mark.parametrize("constraint, want", CASES, ids=lambda c: repr(c) if isinstance(c, C.Constraint) else "")
def test_constraints_match_kerass_formulas(constraint, want):
    w = sg.dtensor4("w")
    got = sg.function([w], constraint(w))(W)
    np.testing.assert_allclose(got, want(W), rtol=1e-12)


def test_constraint_axes_count_kerass_kernel_layout():
    # Keras's Conv2D kernel (kh, kw, in, out) is (out, in, kh, kw) here: Keras's axes [0, 1, 2]
    # (each filter) are this kernel's (2, 3, 1)
    w = sg.dtensor4("w")
    got = sg.function([w], C.max_norm(1.0, axis=[0, 1, 2])(w, (2, 3, 1, 0)))(W)
    np.testing.assert_allclose(got, W * np.clip(_norms(W, (1, 2, 3)), 0, 1) / (1e-7 + _norms(W, (1, 2, 3))),
                               rtol=1e-12)


def test_one_sgd_step_puts_the_new_kernel_inside_the_constraint():
    model = L.Sequential([L.Dense(3, use_bias=False, input_shape=(4,), kernel_constraint=C.max_norm(0.5),
                                  kernel_initializer="ones")])
    model.compile(sg.optimizers.SGD(0.1), "mse")
    x = RNG.normal(size=(8, 4)).astype("float32")
    y = RNG.normal(size=(8, 3)).astype("float32")
    kernel = np.ones((4, 3))
    gradient = 2 * x.T @ (x @ kernel - y) / y.size
    stepped = kernel - 0.1 * gradient
    want = stepped * np.minimum(_norms(stepped, 0), 0.5) / (1e-7 + _norms(stepped, 0))
    model.train_on_batch(x, y)
    np.testing.assert_allclose(model.layers[0].get_weights()[0], want, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(want, axis=0), 0.5, rtol=1e-5)


@pytest.mark.slow  # (a model trained end to end, 15-50 s cold: the quick tier was over 10 minutes; its layers stay tested there)
def test_fit_keeps_each_filter_and_the_batchnorm_scale_inside_their_constraints():
    L.set_seed(0)
    (x, y), _ = sg.datasets.load_digits()
    x, y = x[:300], y[:300]
    model = L.Sequential([
        L.Conv2D(6, 3, activation="relu", input_shape=(1, 8, 8), kernel_constraint=C.max_norm(0.8, axis=[0, 1, 2]),
                 bias_constraint=C.non_neg()),
        L.BatchNormalization(gamma_constraint=C.MinMaxNorm(0.0, 0.5, axis=0)),
        L.Flatten(),
        L.Dense(10, activation="softmax", kernel_constraint=C.unit_norm())])
    model.compile(sg.optimizers.Adam(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, batch_size=50, verbose=0)
    kernel, bias = model.layers[0].get_weights()
    filter_norms = np.sqrt((kernel ** 2).sum(axis=(1, 2, 3)))
    assert filter_norms.max() <= 0.8 + 1e-5 and filter_norms.max() > 0.79  # (Keras's axes: each filter's norm)
    assert (bias >= 0).all()
    assert np.linalg.norm(model.layers[1].get_weights()[0]) <= 0.5 + 1e-5
    np.testing.assert_allclose(np.linalg.norm(model.layers[3].get_weights()[0], axis=0), 1, rtol=1e-4)
    assert history.history["accuracy"][-1] > 0.5


def test_constraints_are_saved_with_the_model(tmp_path):
    model = L.Sequential([L.Dense(3, input_shape=(4,), kernel_constraint=C.max_norm(3, axis=[0]),
                                  bias_constraint="non_neg")])
    model.compile("sgd", "mse")
    model.save(tmp_path / "m.json")
    loaded = sg.layers.load_model(tmp_path / "m.json")
    constraint = loaded.layers[0].kernel.constraint
    assert isinstance(constraint, C.MaxNorm) and constraint.max_value == 3 and constraint.axis == [0]
    assert isinstance(L.Dense.from_config(model.layers[0].get_config()).bias_constraint, str)
    with pytest.raises(ValueError, match="unknown constraint"):
        L.Dense(3, kernel_constraint="max_nrom", input_shape=(4,)).ensure_built((None, 4))


def test_a_custom_layers_weight_takes_a_function_as_its_constraint():
    class Scale(L.Layer):  # Keras's custom layer: add_weight(..., constraint=...)
        def build(self, input_shape):
            self.scale = self.add_weight("scale", (input_shape[-1],), "ones", constraint=lambda w: sg.clip(w, 0.5, 2.0))

        def call(self, inputs):
            return inputs * self.scale

    model = L.Sequential([Scale(input_shape=(3,))])
    model.compile(sg.optimizers.SGD(10.0), "mse")
    x = np.ones((4, 3), "float32")
    model.train_on_batch(x, np.array([[9.0, 0.0, 1.0]] * 4, "float32"))  # pulled far up, down, not at all
    np.testing.assert_allclose(model.layers[0].get_weights()[0], [2.0, 0.5, 1.0])
