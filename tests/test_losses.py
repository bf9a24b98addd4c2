"""Keras's losses (and metrics) by name against NumPy references written from Keras's
definitions, on both CPU backends, and their gradients against finite differences."""
import numpy as np
import pytest

import symgraph as sg

RNG = np.random.default_rng(21)
EPS = 1e-7
POSITIVE = RNG.uniform(0.05, 3.0, size=(6, 4))        # predictions that are rates or values > 0
TARGETS = RNG.uniform(0.0, 2.5, size=(6, 4))
SIGNS = RNG.choice([-1.0, 1.0], size=(6, 4))
PROBS = RNG.dirichlet(np.ones(4), size=6)
ONE_HOT = np.eye(4)[RNG.integers(0, 4, 6)]
SCORES = RNG.normal(size=(6, 4)) * 2


def hinge_ref(t, p):
    return np.maximum(1 - t * p, 0).mean(-1)


def huber_ref(t, p, delta=1.0):
    e = np.abs(p - t)
    return np.where(e <= delta, 0.5 * e ** 2, delta * e - 0.5 * delta ** 2).mean(-1)


def logcosh_ref(x):
    return (np.abs(x) + np.log1p(np.exp(-2 * np.abs(x))) - np.log(2)).mean(-1)


def unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


# name, y_true, y_pred, NumPy's answer per example
CASES = [
    ("msle", TARGETS, POSITIVE, ((np.log1p(POSITIVE) - np.log1p(np.maximum(TARGETS, EPS))) ** 2).mean(-1)),
    ("mape", TARGETS + 0.5, POSITIVE, 100 * np.abs((TARGETS + 0.5 - POSITIVE) / (TARGETS + 0.5)).mean(-1)),
    ("hinge", SIGNS, SCORES, hinge_ref(SIGNS, SCORES)),
    ("hinge", (SIGNS + 1) / 2, SCORES, hinge_ref(SIGNS, SCORES)),  # 0/1 labels count as -1/1
    ("squared_hinge", SIGNS, SCORES, (np.maximum(1 - SIGNS * SCORES, 0) ** 2).mean(-1)),
    ("categorical_hinge", ONE_HOT, SCORES,
     np.maximum(((1 - ONE_HOT) * SCORES).max(-1) - (ONE_HOT * SCORES).sum(-1) + 1, 0)),
    ("huber_loss", TARGETS, SCORES, huber_ref(TARGETS, SCORES)),
    ("logcosh", TARGETS, SCORES, np.log(np.cosh(SCORES - TARGETS)).mean(-1)),
    ("logcosh", TARGETS, SCORES * 300, logcosh_ref(SCORES * 300 - TARGETS)),  # (cosh overflows there)
    ("poisson", TARGETS, POSITIVE, (POSITIVE - TARGETS * np.log(POSITIVE + EPS)).mean(-1)),
    ("kld", PROBS, np.roll(PROBS, 1, axis=1), (PROBS * np.log(PROBS / np.roll(PROBS, 1, axis=1))).sum(-1)),
    ("kullback_leibler_divergence", ONE_HOT, PROBS,  # (Keras clips the targets too: zeros count as epsilon)
     (np.clip(ONE_HOT, EPS, 1) * np.log(np.clip(ONE_HOT, EPS, 1) / PROBS)).sum(-1)),
    ("cosine_similarity", TARGETS, SCORES, -(unit(TARGETS) * unit(SCORES)).sum(-1)),
    ("cosine_proximity", TARGETS, SCORES, -(unit(TARGETS) * unit(SCORES)).sum(-1)),
]


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("name, y_true, y_pred, want", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_losses_match_kerass_definitions(name, y_true, y_pred, want, backend):
    t, p = sg.dmatrix("t"), sg.dmatrix("p")
    got = sg.function([t, p], sg.losses.get(name)(t, p), backend=backend)(y_true, y_pred)
    assert got.shape == (6,)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name, y_true, y_pred", [
    ("msle", TARGETS, POSITIVE), ("mape", TARGETS + 0.5, POSITIVE), ("hinge", SIGNS, SCORES),
    ("squared_hinge", SIGNS, SCORES), ("categorical_hinge", ONE_HOT, SCORES), ("huber", TARGETS, SCORES),
    ("logcosh", TARGETS, SCORES), ("poisson", TARGETS, POSITIVE), ("kld", PROBS, np.roll(PROBS, 1, axis=1)),
    ("cosine_similarity", TARGETS, SCORES)])
def test_loss_gradients_match_finite_differences(name, y_true, y_pred):
    loss = sg.losses.get(name)
    # (away from the kinks: hinge's and huber's corners are not differentiable)
    sg.verify_grad(lambda p: loss(sg.constant(y_true), p).sum(), [y_pred + 1e-3], rng=np.random.default_rng(0))


def test_huber_takes_its_delta():
    p = sg.dmatrix("p")
    got = sg.function([p], sg.losses.huber(sg.constant(TARGETS), p, delta=0.3))(SCORES)
    np.testing.assert_allclose(got, huber_ref(TARGETS, SCORES, 0.3), rtol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_metrics_by_name_in_fit(backend):
    sg.layers.set_seed(0)
    model = sg.layers.Sequential([sg.layers.Dense(4, activation="sigmoid", input_shape=(3,))])
    model.compile(optimizer="sgd", loss="binary_crossentropy",
                  metrics=["binary_accuracy", "mae", "msle", "kld", "poisson", "cosine_proximity"], backend=backend)
    x = RNG.random((16, 3)).astype("float32")
    y = (RNG.random((16, 4)) > 0.5).astype("float32")
    pred = model.predict(x).astype("float64")
    values = model.evaluate(x, y)
    want = [((pred > 0.5) == (y > 0.5)).mean(), np.abs(pred - y).mean(),
            ((np.log1p(pred) - np.log1p(y)) ** 2).mean()]
    np.testing.assert_allclose(values[1:4], want, rtol=1e-5)
    assert set(model.fit(x, y, verbose=0).history) >= {"binary_accuracy", "mae", "msle", "kld", "poisson",
                                                       "cosine_proximity"}


def test_binary_accuracy_threshold():
    t, p = sg.dmatrix("t"), sg.dmatrix("p")
    got = sg.function([t, p], sg.metrics.binary_accuracy(t, p, threshold=0.8))(np.array([[1.0, 0.0]]),
                                                                             np.array([[0.7, 0.1]]))
    np.testing.assert_allclose(got, [0.5])


@pytest.mark.parametrize("through", ["sigmoid", "dimshuffled sigmoid", "clipped probability"])
def test_binary_crossentropy_stays_finite_when_the_model_is_sure(through):
    """A sigmoid of a logit past 17 is 1.0 in float32: log(1 - 1.0) made the loss and every
    gradient NaN, and one step of a confident model ruined its weights. A sigmoid's output is
    taken by its logit (TensorFlow's Keras's way), any other probability clipped to
    [epsilon, 1 - epsilon] (Keras's formula)."""
    z, y = sg.fvector("z"), sg.fvector("y")
    out = {"sigmoid": sg.sigmoid(z), "dimshuffled sigmoid": sg.sigmoid(z).dimshuffle(0, "x"),
           "clipped probability": sg.clip(sg.sigmoid(z) * 1.0, 0, 1)}[through]
    target = y if out.ndim == 1 else y.dimshuffle(0, "x")
    cost = sg.losses.binary_crossentropy(target, out).mean()
    f = sg.function([z, y], [cost, sg.grad(cost, z)])
    logits = np.array([40, -37, 40, -37, 90, -100, 0.5], "float32")
    labels = np.array([1, 0, 0, 1, 1, 0, 1], "float32")
    loss, grad = f(logits, labels)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    if through != "clipped probability":  # (the logit's form: softplus(z) - y z, NumPy's in float64)
        want = np.mean(np.logaddexp(0, logits.astype(float)) - labels * logits)
        np.testing.assert_allclose(loss, want, rtol=1e-6)
        np.testing.assert_allclose(grad, (1 / (1 + np.exp(-logits.astype(float))) - labels) / 7, rtol=1e-5, atol=1e-12)
    else:
        eps = 1e-7
        p = np.clip(1 / (1 + np.exp(-logits.astype(float))), eps, 1 - eps)
        want = -np.mean(labels * np.log(p + eps) + (1 - labels) * np.log(1 - p + eps))
        np.testing.assert_allclose(loss, want, rtol=1e-2)  # (float32's 1 - 1e-7 is 1 - 1.19e-7)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_categorical_crossentropies_of_probabilities_are_kerass_when_a_class_has_probability_zero(backend):
    """Probabilities not from a softmax (a model's output given back, a custom normalization)
    are scaled to sum to 1 and clipped to [epsilon, 1 - epsilon], as Keras's losses do: a sure,
    wrong prediction costs -log(epsilon), not inf, and no gradient is NaN. A softmax output is
    not clipped (its crossentropy is fused and exact)."""
    q, y, t = sg.dmatrix("q"), sg.lvector("y"), sg.dmatrix("t")
    qv = np.array([[1.0, 0.0, 0.0], [0.5, 0.25, 0.25], [0.0, 2.0, 2.0]])  # (the last row sums to 4)
    yv = np.array([0, 1, 0])
    clipped = np.clip(qv / qv.sum(-1, keepdims=True), EPS, 1 - EPS)
    want = -np.log(clipped[np.arange(3), yv])
    for loss in (sg.losses.sparse_categorical_crossentropy(y, q), sg.losses.categorical_crossentropy(t, q),
                 sg.losses.get("sparse_categorical_crossentropy")(y[:, None], q)):
        got, grad = sg.function([q, y, t], [loss, sg.grad(loss.sum(), q)], backend=backend,
                                on_unused_input="ignore")(qv, yv, np.eye(3)[yv])
        np.testing.assert_allclose(got, want, rtol=1e-9)
        assert np.isfinite(grad).all()
    z = sg.dmatrix("z")
    f = sg.function([z, y], sg.losses.sparse_categorical_crossentropy(y, sg.nn.softmax(z)), backend=backend)
    assert any(type(n.op).__name__.startswith("CrossentropySoftmax") for n in f.fgraph.apply_nodes)
    zv = np.array([[0.0, 50.0, -50.0]])
    np.testing.assert_allclose(f(zv, np.array([2])), [100 + np.log1p(np.exp(-50) + np.exp(-100))], rtol=1e-12)
