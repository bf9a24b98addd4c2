"""`from symgraph import backend as K`: Keras's backend functions against NumPy references of
Keras's definitions on both CPU backends, K.function as Keras's feature extractor, and the
variables, gradients and random draws Keras code reaches for."""
import numpy as np
import pytest

import symgraph as sg
from symgraph import backend as K

L = sg.layers
RNG = np.random.default_rng(11)
A = RNG.normal(size=(4, 5))
B = RNG.normal(size=(4, 5))
P = np.exp(A) / np.exp(A).sum(1, keepdims=True)
T = np.eye(5)[[0, 3, 1, 4]]

# (name, function of the symbolic a, b (4 x 5 float64), NumPy's answer)
CASES = [
    ("sum", lambda a, b: K.sum(a, axis=1, keepdims=True), A.sum(1, keepdims=True)),
    ("mean", lambda a, b: K.mean(a), A.mean()),
    ("max", lambda a, b: K.max(a, axis=0), A.max(0)),
    ("min", lambda a, b: K.min(a, axis=-1), A.min(-1)),
    ("prod", lambda a, b: K.prod(a, axis=1), A.prod(1)),
    ("std", lambda a, b: K.std(a, axis=1), A.std(1)),
    ("var", lambda a, b: K.var(a), A.var()),
    ("any", lambda a, b: K.any(K.greater(a, 1.5), axis=1), (A > 1.5).any(1)),
    ("all", lambda a, b: K.all(K.less(a, 3.0)), (A < 3).all()),
    ("argmax", lambda a, b: K.argmax(a), A.argmax(-1)),
    ("argmin", lambda a, b: K.argmin(a, axis=0), A.argmin(0)),
    ("logsumexp", lambda a, b: K.logsumexp(a, axis=1), np.log(np.exp(A).sum(1))),
    ("cumsum", lambda a, b: K.cumsum(a, axis=1), A.cumsum(1)),
    ("cumprod", lambda a, b: K.cumprod(a, axis=1), A.cumprod(1)),
    ("square sqrt abs", lambda a, b: K.sqrt(K.abs(a)) + K.square(b), np.sqrt(np.abs(A)) + B ** 2),
    ("exp log sign", lambda a, b: K.log(K.exp(a) + 1) * K.sign(b), np.log(np.exp(A) + 1) * np.sign(B)),
    ("pow round", lambda a, b: K.pow(K.abs(a), 1.5) + K.round(b * 3), np.abs(A) ** 1.5 + np.round(B * 3)),
    ("clip open above", lambda a, b: K.clip(a, -0.5, None), np.clip(A, -0.5, None)),
    ("maximum minimum", lambda a, b: K.maximum(a, b) - K.minimum(a, 0.0), np.maximum(A, B) - np.minimum(A, 0)),
    ("comparisons", lambda a, b: K.cast(K.equal(K.greater_equal(a, b), K.less_equal(b, a)), "int8")
     + K.cast(K.not_equal(a, b), "int8"), (((A >= B) == (B <= A)).astype("int8") + (A != B))),
    ("switch", lambda a, b: K.switch(K.greater(a, 0), a, b), np.where(A > 0, A, B)),
    ("relu", lambda a, b: K.relu(a), np.maximum(A, 0)),
    ("relu leaky capped", lambda a, b: K.relu(a, alpha=0.1, max_value=0.8, threshold=0.2),
     np.minimum(np.where(A > 0.2, A, 0.1 * (A - 0.2)), 0.8)),
    ("elu", lambda a, b: K.elu(a, 0.5), np.where(A > 0, A, 0.5 * np.expm1(A))),
    ("sigmoid tanh softplus softsign", lambda a, b: K.sigmoid(a) + K.tanh(b) + K.softplus(a) + K.softsign(b),
     1 / (1 + np.exp(-A)) + np.tanh(B) + np.log1p(np.exp(A)) + B / (1 + np.abs(B))),
    ("hard_sigmoid", lambda a, b: K.hard_sigmoid(a), np.clip(0.2 * A + 0.5, 0, 1)),
    ("softmax", lambda a, b: K.softmax(a), P),
    ("l2_normalize", lambda a, b: K.l2_normalize(a, axis=1), A / np.sqrt((A ** 2).sum(1, keepdims=True))),
    ("categorical_crossentropy", lambda a, b: K.categorical_crossentropy(K.constant(T, "float64"), K.softmax(a)),
     -(T * np.log(P)).sum(1)),
    ("categorical_crossentropy logits", lambda a, b: K.categorical_crossentropy(K.constant(T, "float64"), a,
                                                                                 from_logits=True),
     -(T * np.log(P)).sum(1)),
    ("sparse_categorical_crossentropy", lambda a, b: K.sparse_categorical_crossentropy(
        K.constant([0, 3, 1, 4], "int32"), K.softmax(a)), -np.log(P[np.arange(4), [0, 3, 1, 4]])),
    ("binary_crossentropy", lambda a, b: K.binary_crossentropy(K.constant(T, "float64"), K.sigmoid(a)),
     -(T * np.log(1 / (1 + np.exp(-A))) + (1 - T) * np.log(1 - 1 / (1 + np.exp(-A))))),
    ("dot transpose", lambda a, b: K.dot(a, K.transpose(b)), A @ B.T),
    ("batch_dot rows", lambda a, b: K.batch_dot(a, b, axes=1), (A * B).sum(1, keepdims=True)),
    ("batch_dot stacks", lambda a, b: K.batch_dot(K.reshape(a, (4, 5, 1)), K.reshape(b, (4, 1, 5))),
     A[:, :, None] * B[:, None, :]),
    ("reshape permute", lambda a, b: K.permute_dimensions(K.reshape(a, (2, 2, 5)), (2, 0, 1)),
     A.reshape(2, 2, 5).transpose(2, 0, 1)),
    ("flatten batch_flatten", lambda a, b: K.concatenate([K.flatten(a), K.flatten(K.batch_flatten(
        K.reshape(b, (4, 5, 1))))]), np.concatenate([A.ravel(), B.ravel()])),
    ("expand_dims squeeze", lambda a, b: K.squeeze(K.expand_dims(a, 1), 1) + K.expand_dims(b)[:, :, 0], A + B),
    ("concatenate stack", lambda a, b: K.stack([K.concatenate([a, b]), K.concatenate([b, a])], axis=1),
     np.stack([np.concatenate([A, B], -1), np.concatenate([B, A], -1)], 1)),
    ("tile repeat_elements", lambda a, b: K.tile(a, (1, 2)) + K.repeat_elements(b, 2, axis=1),
     np.tile(A, (1, 2)) + np.repeat(B, 2, axis=1)),
    ("gather", lambda a, b: K.gather(a, K.constant([3, 0, 3], "int32")), A[[3, 0, 3]]),
    ("one_hot", lambda a, b: K.one_hot(K.argmax(a), 5), np.eye(5)[A.argmax(-1)]),
    ("zeros_like ones_like", lambda a, b: K.zeros_like(a) + 2 * K.ones_like(b), np.full((4, 5), 2.0)),
    ("stop_gradient", lambda a, b: K.stop_gradient(a) * b, A * B),
]


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("name, build, want", CASES, ids=[c[0] for c in CASES])
def test_backend_functions_match_numpy(name, build, want, backend):
    a, b = sg.dmatrix("a"), sg.dmatrix("b")
    f = sg.function([a, b], build(a, b), backend=backend, on_unused_input="ignore")
    got = f(A, B)
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_k_function_extracts_a_layers_features_in_inference_mode():
    L.set_seed(0)
    model = L.Sequential([L.Dense(8, activation="relu", input_shape=(6,), name="fc1"), L.Dropout(0.5),
                          L.Dense(3, activation="softmax")])
    x = np.random.default_rng(1).random((5, 6)).astype("float32")
    features = K.function([model.layers[0].input], [model.layers[1].output])
    got = features([x])
    assert isinstance(got, list) and len(got) == 1
    kernel, bias = model.layers[0].get_weights()
    np.testing.assert_allclose(got[0], np.maximum(x @ kernel + bias, 0), rtol=1e-6)  # dropout off
    single = K.function([model.input], model.output)
    np.testing.assert_allclose(single([x]), model.predict(x), rtol=1e-6)


def test_learning_phase_input_picks_training_or_inference_mode():
    # Keras's FAQ: K.function([model.layers[0].input, K.learning_phase()], [model.layers[3].output])
    L.set_seed(0)
    model = L.Sequential([L.Dense(64, activation="relu", input_shape=(6,)), L.BatchNormalization(),
                          L.Dropout(0.5), L.Dense(3)])
    x = np.random.default_rng(2).random((40, 6)) + 0.5  # (float64 data: K.function casts it, as Keras's)
    dense = model.layers[0].get_weights()
    hidden = np.maximum(x.astype("float32") @ dense[0] + dense[1], 0)
    # batch normalization: the batch's own statistics while training, the moving ones (0, 1) not
    moving_before = [w.copy() for w in model.layers[1].get_weights()]
    normed = K.function([K.learning_phase(), model.input], model.layers[1].output)
    np.testing.assert_allclose(normed([0, x]), hidden / np.sqrt(1 + 1e-3), rtol=1e-5, atol=1e-6)
    on_batch = (hidden - hidden.mean(0)) / np.sqrt(hidden.var(0) + 1e-3)
    np.testing.assert_allclose(normed([1, x]), on_batch, rtol=1e-4, atol=1e-5)
    for before, after in zip(moving_before, model.layers[1].get_weights()):
        np.testing.assert_array_equal(before, after)  # (a K.function without updates changes nothing)
    dropped = K.function([model.layers[0].input, K.learning_phase()], [model.layers[2].output])
    np.testing.assert_allclose(dropped([x, 0])[0], hidden / np.sqrt(1 + 1e-3), rtol=1e-5, atol=1e-6)
    on = dropped([x, 1])[0]
    kept = on != 0
    assert 0.35 < 1 - kept.mean() < 0.65  # about half dropped, the rest scaled by 1 / (1 - 0.5)
    np.testing.assert_allclose(on[kept], 2 * on_batch[kept], rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="0 .inference. or 1"):
        normed([2, x])
    with pytest.raises(TypeError, match="takes 2 inputs"):
        normed([x])


def test_in_train_phase_follows_the_trace_the_phase_or_the_argument():
    x = np.random.default_rng(3).random((4, 5)).astype("float32")

    class Doubling(L.Layer):  # a Keras-written layer that does not pass `training` on
        def call(self, inputs):
            return K.in_train_phase(lambda: inputs * 2, inputs)

    inp = L.Input((5,))
    out = Doubling()(inp)
    f = K.function([inp, K.learning_phase()], [out, K.in_test_phase(inp - 1, inp + 1)])
    np.testing.assert_allclose(f([x, 0])[0], x)
    np.testing.assert_allclose(f([x, 1])[0], 2 * x)
    np.testing.assert_allclose(f([x, 0])[1], x - 1)
    np.testing.assert_allclose(f([x, 1])[1], x + 1)
    assert K.in_train_phase(1, 2, training=True) == 1 and K.in_train_phase(1, 2, training=0) == 2
    # not fed, the phase is set_learning_phase's value (0 by default)
    plain = K.function([inp], K.in_train_phase(inp * 3, inp))
    np.testing.assert_allclose(plain([x]), x)
    K.set_learning_phase(1)
    try:
        np.testing.assert_allclose(K.function([inp], [out])([x])[0], 2 * x)
    finally:
        K.set_learning_phase(0)
    # fit traces in training mode, predict in inference mode
    model = L.Model(inp, L.Dense(1, kernel_initializer="ones", use_bias=False)(out))
    model.compile(sg.optimizers.SGD(0.0), "mse")
    assert model.evaluate(x, np.zeros((4, 1)), verbose=0) == pytest.approx(float((x.sum(1) ** 2).mean()), rel=1e-5)
    np.testing.assert_allclose(model.predict(x)[:, 0], x.sum(1), rtol=1e-5)
    history = model.fit(x, np.zeros((4, 1)), epochs=1, batch_size=4, verbose=0)
    assert history.history["loss"][0] == pytest.approx(float(((2 * x.sum(1)) ** 2).mean()), rel=1e-5)


def test_k_function_applies_updates_and_gradients():
    w = K.variable(np.array([1.0, 2.0]), name="w")
    x = K.placeholder(shape=(None, 2), name="x")
    loss = K.mean(K.square(K.dot(x, K.expand_dims(w)) - 1.0))
    gw, = K.gradients(loss, [w])
    step = K.function([x], [loss], updates=[K.update_sub(w, 0.1 * gw)])
    xv = np.array([[1.0, 0.0], [0.0, 1.0]], "float32")
    (before,) = step([xv])
    assert before == pytest.approx(((1 - 1) ** 2 + (2 - 1) ** 2) / 2)
    np.testing.assert_allclose(K.get_value(w), [1.0, 2.0 - 0.1 * 1.0], rtol=1e-6)  # d loss / d w = w - 1


def test_variables_shapes_and_configuration():
    v = K.variable(np.arange(6).reshape(2, 3))
    assert K.dtype(v) == K.floatx() == "float32" and K.int_shape(v) == (2, 3) and K.ndim(v) == 2
    assert K.count_params(v) == 6 and K.is_tensor(v) and not K.is_placeholder(v)
    K.set_value(v, np.ones((2, 3)))
    K.batch_set_value([(v, np.full((2, 3), 4.0))])
    np.testing.assert_array_equal(K.batch_get_value([v])[0], np.full((2, 3), 4.0, "float32"))
    np.testing.assert_array_equal(K.eval(K.zeros((2, 2)) + K.ones((2, 2)) + K.eye(2)), [[2, 1], [1, 2]])
    np.testing.assert_array_equal(K.eval(K.constant(3, shape=(2,))), [3, 3])
    p = K.placeholder(ndim=3, dtype="int32")
    assert K.int_shape(p) == (None, None, None) and K.is_placeholder(p) and p.dtype == "int32"
    assert K.int_shape(K.placeholder((None, 4))) == (None, 4)
    assert K.image_data_format() == "channels_first" and K.backend() == "symgraph"
    with pytest.raises(ValueError, match="'channels_first' or 'channels_last'"):
        K.set_image_data_format("NHWC")
    import symgraph.backend
    assert symgraph.backend is K


def test_epsilon_is_settable():
    assert K.epsilon() == 1e-7
    try:
        K.set_epsilon(1e-4)
        assert K.epsilon() == 1e-4
    finally:
        K.set_epsilon(1e-7)


def test_random_draws_have_the_asked_shape_and_moments():
    x = K.placeholder(shape=(None, 3))
    n = K.shape(x)[0]
    draws = K.function([x], [K.random_uniform((n, 3), -2.0, 2.0, seed=1), K.random_normal((n, 3), 1.0, 0.5, seed=2),
                             K.random_binomial((n, 3), p=0.25, seed=3), K.dropout(x, 0.5, seed=4)])
    u, g, bern, dropped = draws([np.ones((20000, 3), "float32")])
    assert u.shape == g.shape == bern.shape == (20000, 3) and u.dtype == np.float32
    assert -2 <= u.min() and u.max() < 2 and abs(u.mean()) < 0.03
    assert abs(g.mean() - 1) < 0.02 and abs(g.std() - 0.5) < 0.02
    assert set(np.unique(bern)) == {0.0, 1.0} and abs(bern.mean() - 0.25) < 0.01
    assert set(np.unique(dropped)) == {0.0, 2.0}
    again = draws([np.ones((20000, 3), "float32")])
    assert not np.array_equal(again[0], u)  # fresh numbers at every call


def test_clear_session_restarts_layer_names():
    K.clear_session()
    assert L.Dense(2).name == "dense_1"
    assert L.Dense(2).name == "dense_2"
    K.clear_session()
    assert L.Dense(2).name == "dense_1"


def test_batch_dot_says_what_it_does_not_cover():
    with pytest.raises(NotImplementedError, match="batch_dot"):
        K.batch_dot(sg.tensor3("x"), sg.tensor3("y"), axes=(0, 2))
