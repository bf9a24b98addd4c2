"""Keras's attention layers: Attention (dot and concat scores, scaled), AdditiveAttention and
MultiHeadAttention against NumPy written from Keras's equations, with value masks, query masks,
causal masks and an explicit attention_mask; gradients against finite differences; padding
that changes no real step; a model that learns with them, saved and loaded."""
import numpy as np
import pytest

import symgraph as sg

L = sg.layers
RNG = np.random.default_rng(83)
Q = RNG.normal(size=(2, 4, 6))
V = RNG.normal(size=(2, 5, 6))
K_ = RNG.normal(size=(2, 5, 6))
V[1, 3:] = 0.0  # (the second example's last two value steps are padding for Masking)


def _softmax(s):
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _masked_scores(scores, keep):
    return scores - 1e9 * (~keep)


def _value_keep():
    return np.any(V != 0, axis=-1)[:, None, :]  # (batch, 1, Tv)


def _causal(tq, tv):
    return np.tril(np.ones((tq, tv), bool))[None]


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_attention_and_additive_attention_match_kerass_equations(backend):
    q, v, k = (L.Input(x.shape[1:], dtype="float64") for x in (Q, V, K_))
    masked_v = L.Masking(0.0)(v)
    dot_scaled = L.Attention(use_scale=True, dtype="float64")
    outs = [dot_scaled([q, masked_v]), L.Attention(causal=True, dtype="float64")([q, v, k]),
            L.Attention(score_mode="concat", dtype="float64")([q, masked_v]),
            L.AdditiveAttention(dtype="float64", name="additive")([q, masked_v, k]),
            L.AdditiveAttention(use_scale=False, use_causal_mask=True, dtype="float64")([q, v])]
    dot_scaled.scale.set_value(np.array(0.5))
    got = sg.function([q, v, k], outs, backend=backend)(Q, V, K_)
    keep = _value_keep()
    scale = L.Model([q, v, k], outs).get_layer("additive").scale.get_value()
    want = [
        _softmax(_masked_scores(0.5 * Q @ V.transpose(0, 2, 1), keep)) @ V,
        _softmax(_masked_scores(Q @ K_.transpose(0, 2, 1), _causal(4, 5))) @ V,
        _softmax(_masked_scores(np.tanh(Q[:, :, None] + V[:, None]).sum(-1), keep)) @ V,
        _softmax(_masked_scores((scale * np.tanh(Q[:, :, None] + K_[:, None])).sum(-1), keep)) @ V,
        _softmax(_masked_scores(np.tanh(Q[:, :, None] + V[:, None]).sum(-1), _causal(4, 5))) @ V,
    ]
    for k, (g, w) in enumerate(zip(got, want)):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12, err_msg=f"output {k}")


def _mha_reference(layer, query, value, key, keep):
    w = {x.name.split("/", 1)[1]: x.get_value() for x in layer.weights}
    q = np.einsum("btd,dhk->bhtk", query, w["query/kernel"]) + w["query/bias"].transpose(0, 1)[None, :, None]
    k = np.einsum("btd,dhk->bhtk", key, w["key/kernel"]) + w["key/bias"][None, :, None]
    v = np.einsum("btd,dhk->bhtk", value, w["value/kernel"]) + w["value/bias"][None, :, None]
    scores = np.einsum("bhqk,bhvk->bhqv", q / np.sqrt(q.shape[-1]), k)
    heads = _softmax(_masked_scores(scores, keep[:, None])) @ v  # (b, h, Tq, value_dim)
    return np.einsum("bhtv,hvo->bto", heads, w["attention_output/kernel"]) + w["attention_output/bias"]


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_multi_head_attention_matches_kerass_equations(backend):
    q, v, k = (L.Input(x.shape[1:], dtype="float64") for x in (Q, V, K_))
    allowed = L.Input((4, 5), dtype="bool")
    cross = L.MultiHeadAttention(num_heads=3, key_dim=2, value_dim=4, output_shape=7, dtype="float64",
                                 bias_initializer="glorot_uniform")
    self_causal = L.MultiHeadAttention(num_heads=2, key_dim=3, dtype="float64", bias_initializer="glorot_uniform")
    masked = L.MultiHeadAttention(num_heads=2, key_dim=3, dtype="float64", bias_initializer="glorot_uniform")
    outs = [cross(q, v, k, attention_mask=allowed), self_causal(q, q, use_causal_mask=True),
            masked(q, L.Masking(0.0)(v))]
    f = sg.function([q, v, k, allowed], outs, backend=backend)
    mask = RNG.random((2, 4, 5)) < 0.7
    mask[:, :, 0] = True
    got = f(Q, V, K_, mask)
    assert got[0].shape == (2, 4, 7) and got[1].shape == (2, 4, 6)
    want = [_mha_reference(cross, Q, V, K_, mask), _mha_reference(self_causal, Q, Q, Q, _causal(4, 4)),
            _mha_reference(masked, Q, V, V, np.broadcast_to(_value_keep(), (2, 4, 5)))]
    for k, (g, w) in enumerate(zip(got, want)):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12, err_msg=f"output {k}")
    assert [w.get_value().shape for w in cross.weights] == [(6, 3, 2), (3, 2), (6, 3, 2), (3, 2), (6, 3, 4), (3, 4),
                                                            (3, 4, 7), (7,)]


def test_gradients_match_finite_differences():
    mha = L.MultiHeadAttention(num_heads=2, key_dim=3, dtype="float64", bias_initializer="glorot_uniform")
    additive = L.AdditiveAttention(dtype="float64")
    mha(L.Input((4, 6), dtype="float64"), L.Input((5, 6), dtype="float64"))
    additive([L.Input((4, 6), dtype="float64"), L.Input((5, 6), dtype="float64")])
    sg.verify_grad(lambda q, v: mha(q, v, use_causal_mask=True), [Q[:1], V[:1]], rng=np.random.default_rng(7))
    sg.verify_grad(lambda q, v: additive([q, v]), [Q[:1], V[:1]], rng=np.random.default_rng(8))
    weights = mha.trainable_weights
    q, v = sg.dtensor3("q"), sg.dtensor3("v")
    cost = (mha(q, v) ** 2).sum()
    grads = sg.function([q, v], sg.grad(cost, weights))(Q, V)
    eps = 1e-6
    loss = sg.function([q, v], cost)
    for w, g in zip(weights, grads):  # (one entry of each weight, by finite differences)
        value = w.get_value()
        index = tuple(0 for _ in value.shape)
        bumped = value.copy()
        bumped[index] += eps
        w.set_value(bumped)
        up = loss(Q, V)
        bumped[index] -= 2 * eps
        w.set_value(bumped)
        down = loss(Q, V)
        w.set_value(value)
        np.testing.assert_allclose(g[index], (up - down) / (2 * eps), rtol=1e-5, atol=1e-8, err_msg=w.name)
        # (the key's bias adds the same score to every key of a query: its gradient is zero)


def test_padding_changes_no_real_step():
    """Sequences padded with zeros (masked by the embedding) give what the same layers give on
    the real steps alone, padding at the end or in front."""
    embed, mha, attention = L.Embedding(20, 8, mask_zero=True), L.MultiHeadAttention(num_heads=2, key_dim=4), L.Attention()
    pool, dense = L.GlobalAveragePooling1D(), L.Dense(3)

    def model_of(steps):
        tokens = L.Input((steps,), dtype="int64")
        embedded = embed(tokens)
        attended = mha(embedded, embedded)
        return L.Model(tokens, dense(pool(attention([attended, embedded]))))

    padded = model_of(6).predict(np.array([[3, 7, 1, 9, 0, 0], [0, 0, 3, 7, 1, 9]]), verbose=0)
    real = model_of(4).predict(np.array([[3, 7, 1, 9]]), verbose=0)
    np.testing.assert_allclose(padded, np.concatenate([real, real]), rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # (a model trained end to end, 15-50 s cold: the quick tier was over 10 minutes; its layers stay tested there)
def test_a_self_attention_classifier_learns_and_is_saved(tmp_path):
    rng = np.random.default_rng(1)
    # the label: whether token 1 comes before token 2 in the sequence (order matters: attention
    # with a causal mask sees it, an average of embeddings alone could not)
    x = np.zeros((400, 8), "int64")
    y = np.zeros(400)
    for row in range(400):
        positions = rng.choice(8, 2, replace=False)
        x[row] = rng.integers(3, 10, 8)
        x[row, positions] = [1, 2]
        y[row] = positions[0] < positions[1]
    tokens = L.Input((8,), dtype="int64")
    h = L.Embedding(10, 16)(tokens)
    h = L.MultiHeadAttention(num_heads=2, key_dim=8, name="mha")(h, h, use_causal_mask=True)
    out = L.Dense(1, activation="sigmoid")(L.GlobalMaxPooling1D()(h))
    model = L.Model(tokens, out)
    model.compile(optimizer=sg.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x[:320], y[:320], epochs=30, batch_size=32, verbose=0)
    assert model.evaluate(x[320:], y[320:], verbose=0)[1] > 0.9
    path = str(tmp_path / "attention_model")
    model.save(path)
    loaded = L.load_model(path)
    np.testing.assert_allclose(loaded.predict(x[320:], verbose=0), model.predict(x[320:], verbose=0), rtol=1e-5)
    assert loaded.get_layer("mha").causal


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match=r"\[query, value\]"):
        L.Attention()([L.Input((4, 6)), L.Input((6,))])
    with pytest.raises(ValueError, match="the value has 5 steps, the key 3"):
        L.Attention()([L.Input((4, 6)), L.Input((5, 6)), L.Input((3, 6))])
    with pytest.raises(ValueError, match="features"):
        L.Attention()([L.Input((4, 6)), L.Input((5, 7))])
    with pytest.raises(ValueError, match="score_mode"):
        L.Attention(score_mode="general")
    with pytest.raises(TypeError, match="no value"):
        L.MultiHeadAttention(2, 4)(L.Input((4, 6)))


def test_one_attention_layer_called_causally_and_not_keeps_each_calls_mask(tmp_path):
    """A MultiHeadAttention shared by two calls, one with use_causal_mask=True: each call is
    replayed (predict, fit's trace) and saved with its own setting, not the last call's."""
    L.set_seed(0)
    inputs = L.Input((5, 4))
    attention = L.MultiHeadAttention(num_heads=2, key_dim=3)
    causal = attention(inputs, inputs, use_causal_mask=True)
    plain = attention(inputs, inputs)
    model = L.Model(inputs, [causal, plain])
    x = np.random.default_rng(0).normal(size=(2, 5, 4)).astype("float32")
    changed = x.copy()
    changed[:, -1] += 5.0  # (the last step: a causal first step cannot see it)
    model.save(str(tmp_path / "m"))
    for m in (model, L.load_model(str(tmp_path / "m"))):
        (c1, p1), (c2, p2) = m.predict(x), m.predict(changed)
        np.testing.assert_allclose(c1[:, :-1], c2[:, :-1], rtol=1e-5, atol=1e-6)
        assert np.abs(p1[:, 0] - p2[:, 0]).max() > 1e-3
