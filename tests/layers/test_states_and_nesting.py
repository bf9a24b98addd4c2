"""Layer calls of several outputs: recurrent layers' return_state and initial_state (Keras's
sequence-to-sequence idiom: an encoder's final states start a decoder; its inference models
decode step by step), and models of several inputs and outputs called as layers; saved and
loaded, summarized and drawn."""
import numpy as np
import pytest

import symgraph as sg

L = sg.layers
RNG = np.random.default_rng(85)


@pytest.mark.parametrize("cls", [L.SimpleRNN, L.GRU, L.LSTM])
def test_states_carried_across_two_halves_equal_one_pass(cls):
    """Running a sequence's first half, then its second half from the states the first left,
    gives the whole sequence's outputs: return_state returns the states, initial_state takes them."""
    x = RNG.normal(size=(3, 6, 4))
    first = cls(5, return_sequences=True, return_state=True, dtype="float64")
    seq = L.Input((None, 4), dtype="float64")
    whole = L.Model(seq, first(seq)[0])
    outs = first(seq)
    starts = [L.Input((5,), dtype="float64") for _ in outs[1:]]
    resumed = first(seq, initial_state=starts)
    halves = L.Model([seq] + starts, resumed)
    f_first = L.Model(seq, outs)
    part = f_first.predict(x[:, :3], verbose=0)
    rest = halves.predict([x[:, 3:]] + list(part[1:]), verbose=0)
    np.testing.assert_allclose(np.concatenate([part[0], rest[0]], axis=1), whole.predict(x, verbose=0), rtol=1e-12)
    np.testing.assert_allclose(rest[1], rest[0][:, -1], rtol=1e-12)  # (h is the last output)
    assert len(outs) == (3 if cls is L.LSTM else 2)
    last_only = cls(5, return_state=True, dtype="float64")
    final = L.Model(seq, last_only(seq)).predict(x, verbose=0)
    np.testing.assert_allclose(final[0], final[1], rtol=1e-12)


def _reversal_data(n, steps, tokens):
    seqs = RNG.integers(1, tokens, (n, steps))  # (token 0 starts the decoder)
    target = seqs[:, ::-1]
    onehot = np.eye(tokens, dtype="float32")
    teacher = np.concatenate([np.zeros((n, 1), int), target[:, :-1]], axis=1)
    return onehot[seqs], onehot[teacher], target, onehot


def test_kerass_sequence_to_sequence_idiom_trains_decodes_and_is_saved(tmp_path):
    steps, tokens, latent = 5, 6, 32
    enc_x, dec_x, target, onehot = _reversal_data(600, steps, tokens)
    encoder_inputs = L.Input((None, tokens))
    _, state_h, state_c = L.LSTM(latent, return_state=True)(encoder_inputs)
    decoder_inputs = L.Input((None, tokens))
    decoder_lstm = L.LSTM(latent, return_sequences=True, return_state=True)
    decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=[state_h, state_c])
    decoder_dense = L.Dense(tokens, activation="softmax")
    model = L.Model([encoder_inputs, decoder_inputs], decoder_dense(decoder_outputs))
    model.compile(optimizer=sg.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    assert "[(None, None, 32), (None, 32), (None, 32)]" in model.summary(print_fn=lambda s: None)
    model.fit([enc_x[:500], dec_x[:500]], target[:500], epochs=40, batch_size=50, verbose=0)
    assert model.evaluate([enc_x[500:], dec_x[500:]], target[500:], verbose=0)[1] > 0.95

    encoder_model = L.Model(encoder_inputs, [state_h, state_c])  # (the tutorial's inference models)
    h_in, c_in = L.Input((latent,)), L.Input((latent,))
    step_out, h_out, c_out = decoder_lstm(decoder_inputs, initial_state=[h_in, c_in])
    decoder_model = L.Model([decoder_inputs, h_in, c_in], [decoder_dense(step_out), h_out, c_out])
    h, c = encoder_model.predict(enc_x[500:], verbose=0)
    token, decoded = np.zeros((100, 1), int), []
    for _ in range(steps):
        probs, h, c = decoder_model.predict([onehot[token], h, c], verbose=0)
        token = probs.argmax(-1)
        decoded.append(token[:, 0])
    assert np.mean(np.stack(decoded, axis=1) == target[500:]) > 0.95

    path = str(tmp_path / "seq2seq")
    model.save(path)
    loaded = L.load_model(path)
    np.testing.assert_allclose(loaded.predict([enc_x[500:], dec_x[500:]], verbose=0),
                               model.predict([enc_x[500:], dec_x[500:]], verbose=0), rtol=1e-5, atol=1e-7)
    for m in (model, decoder_model):
        sg.layers.plot_model(m, str(tmp_path / f"{m.name}.dot"))


def test_a_model_of_several_inputs_and_outputs_is_a_layer(tmp_path):
    a, b = L.Input((4,)), L.Input((3,))
    hidden = L.Dense(5, activation="relu")(L.Concatenate()([a, b]))
    base = L.Model([a, b], [L.Dense(2, name="left")(hidden), L.Dense(1, name="right")(hidden)], name="two_heads")
    x1, x2 = L.Input((4,)), L.Input((3,))
    left, right = base([x1, x2])
    model = L.Model([x1, x2], [L.Dense(1, activation="sigmoid")(L.Concatenate()([left, right])), right])
    X1, X2 = RNG.normal(size=(64, 4)), RNG.normal(size=(64, 3))
    got = model.predict([X1, X2], verbose=0)
    np.testing.assert_allclose(got[1], base.predict([X1, X2], verbose=0)[1], rtol=1e-6)
    model.compile(optimizer=sg.optimizers.Adam(0.02), loss=["binary_crossentropy", "mse"])
    y1, y2 = (X1[:, :1] > 0).astype("float32"), X2[:, :1]
    first = model.train_on_batch([X1, X2], [y1, y2])[0]
    for _ in range(60):
        last = model.train_on_batch([X1, X2], [y1, y2])[0]
    assert last < first / 2
    path = str(tmp_path / "nested")
    model.save(path)
    loaded = L.load_model(path)
    for g, w in zip(loaded.predict([X1, X2], verbose=0), model.predict([X1, X2], verbose=0)):
        np.testing.assert_allclose(g, w, rtol=1e-6)
    base.trainable = False
    assert len(model.trainable_weights) == 2
    with pytest.raises(ValueError, match="list of 2 symbolic inputs"):
        base(x1)


def test_bad_uses_are_refused_clearly():
    seq = L.Input((None, 4))
    with pytest.raises(ValueError, match="a sequence and 2 initial state"):
        L.LSTM(3)(seq, initial_state=[L.Input((3,))])
    with pytest.raises(ValueError, match=r"initial state 0 must be \(batch, 3\)"):
        L.GRU(3)(seq, initial_state=L.Input((4,)))
    with pytest.raises(ValueError, match="Sequential model's layers give one each"):
        L.Sequential([L.LSTM(3, return_state=True, input_shape=(5, 4))])
    with pytest.raises(NotImplementedError, match="return_state"):
        L.Bidirectional(L.LSTM(3, return_state=True))
