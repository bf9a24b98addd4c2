"""Keras's masking: Embedding(mask_zero=True) and Masking mark padded steps; the recurrent layers
carry their states over them (so padding changes no real step's output: checked against the same
weights on the unpadded sequences, on both CPU backends), a masked average skips them, and a
sequence output's loss and metrics count the real steps only."""
import numpy as np
import pytest

import symgraph as sg

L = sg.layers
IDS = np.array([[0, 0, 3, 5, 2], [0, 4, 1, 1, 7], [6, 2, 2, 3, 1]], "int32")  # (0: padding, in front)


def _compiled(model, backend):
    model.compile("sgd", "mse", backend=backend)
    return model


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("cell", [L.SimpleRNN, L.LSTM, L.GRU], ids=lambda c: c.__name__)
def test_padding_in_front_changes_no_output(cell, backend):
    L.set_seed(0)
    model = _compiled(L.Sequential([L.Embedding(8, 4, mask_zero=True, input_length=5),
                                    L.Bidirectional(cell(3)) if cell is L.GRU else cell(3)]), backend)
    padded = model.predict(IDS)
    for row, ids in enumerate(IDS):
        start = (ids != 0).argmax()
        alone = L.Sequential([L.Embedding(8, 4, input_length=5 - start), L.Bidirectional(cell(3)) if cell is L.GRU
                              else cell(3)])
        alone.set_weights(model.get_weights())
        np.testing.assert_allclose(_compiled(alone, backend).predict(ids[None, start:])[0], padded[row], atol=1e-6)
    unmasked = L.Sequential([L.Embedding(8, 4, input_length=5), cell(3)])
    unmasked.set_weights(model.get_weights()[:len(unmasked.get_weights())])
    assert cell is L.GRU or not np.allclose(unmasked.predict(IDS)[0], padded[0], atol=1e-4)  # (it matters)


def test_sequences_keep_their_last_real_output_over_padding_and_average_over_real_steps():
    L.set_seed(1)
    ids = IDS[:, ::-1].copy()  # (padding at the end)
    inputs = L.Input((5,), dtype="int32")
    steps = L.LSTM(3, return_sequences=True)(L.Embedding(8, 4, mask_zero=True)(inputs))
    model = L.Model(inputs, [steps, L.GlobalAveragePooling1D()(steps)])
    model.compile("sgd", ["mse", "mse"])
    outputs, averages = model.predict(ids)
    real = ids != 0
    for row in range(3):
        last = real[row].sum() - 1
        np.testing.assert_allclose(outputs[row, last + 1:], np.broadcast_to(outputs[row, last], outputs[row, last + 1:].shape))
        np.testing.assert_allclose(averages[row], outputs[row, :last + 1].mean(0), rtol=1e-5, atol=1e-7)


def test_the_masking_layer_marks_steps_whose_features_all_equal_the_value():
    L.set_seed(2)
    x = np.random.default_rng(3).normal(size=(2, 6, 3)).astype("float32")
    x[0, :2] = -1.0  # padding in front
    x[1, 4:] = -1.0
    model = L.Sequential([L.Masking(-1.0, input_shape=(6, 3)), L.GRU(4)])
    model.compile("sgd", "mse")
    got = model.predict(x)
    alone = L.Sequential([L.GRU(4, input_shape=(None, 3))])
    alone.set_weights(model.get_weights())
    np.testing.assert_allclose(got[0], alone.predict(x[:1, 2:])[0], atol=1e-6)
    # padding at the end: the last real step's output, as Keras gives
    np.testing.assert_allclose(got[1], alone.predict(x[1:, :4])[0], atol=1e-6)


def test_a_sequence_outputs_loss_and_metrics_count_the_real_steps_only():
    L.set_seed(3)
    model = L.Sequential([L.Embedding(8, 4, mask_zero=True, input_length=5), L.SimpleRNN(3, return_sequences=True),
                          L.TimeDistributed(L.Dense(2))])
    model.compile(sg.optimizers.SGD(0.1), "mse", metrics=["mae"])
    targets = np.random.default_rng(4).normal(size=(3, 5, 2)).astype("float32")
    predicted = model.predict(IDS)
    real = IDS != 0
    loss, mae = model.evaluate(IDS, targets, verbose=0)
    assert loss == pytest.approx(((predicted - targets) ** 2).mean(-1)[real].mean(), rel=1e-5)
    assert mae == pytest.approx(np.abs(predicted - targets).mean(-1)[real].mean(), rel=1e-5)
    first = model.evaluate(IDS, targets, verbose=0)[0]
    model.fit(IDS, targets, epochs=30, batch_size=3, verbose=0)
    assert model.evaluate(IDS, targets, verbose=0)[0] < first


def test_merge_layers_combine_their_inputs_masks():
    a, b = L.Input((4,), dtype="int32"), L.Input((3,), dtype="int32")
    masked, plain = L.Embedding(9, 2, mask_zero=True)(a), L.Embedding(9, 2)(b)
    joined = L.Concatenate(axis=1)([masked, plain])  # along the steps: the masks joined
    added = L.Add()([masked, L.Embedding(9, 2, mask_zero=True)(a[:, ::-1])])  # the masks ANDed
    assert L.Dense(3)(plain).__dict__.get("keras_mask") is None
    assert L.Dot(axes=1)([masked, masked]).__dict__.get("keras_mask") is None  # (no steps left)
    f = sg.function([a, b], [joined.keras_mask, added.keras_mask], backend="numpy")
    joined_mask, added_mask = f(np.array([[0, 1, 2, 3]], "int32"), np.array([[0, 0, 5]], "int32"))
    np.testing.assert_array_equal(joined_mask, [[False, True, True, True, True, True, True]])
    np.testing.assert_array_equal(added_mask, [[False, True, True, False]])


@pytest.mark.parametrize("nesting", ["encoder", "outer_mask"])
def test_a_nested_model_passes_its_mask_on(nesting):
    """A text encoder with Embedding(mask_zero=True) inside, used as a layer, gives its mask to
    the outer model's LSTM (and a model given a masked input passes that mask on): the same
    outputs as the layers called directly, and padding changes no output."""
    L.set_seed(3)
    ids = L.Input((5,), dtype="int32")
    embed, lstm = L.Embedding(8, 4, mask_zero=True), L.LSTM(3)
    if nesting == "encoder":
        encoder = L.Model(ids, embed(ids), name="encoder")
        nested, flat = L.Model(ids, lstm(encoder(ids))), L.Model(ids, lstm(embed(ids)))
    else:
        steps, dense = L.Input((5, 4)), L.Dense(4)
        inner = L.Model(steps, dense(steps), name="inner")
        nested, flat = L.Model(ids, lstm(inner(embed(ids)))), L.Model(ids, lstm(dense(embed(ids))))
    np.testing.assert_allclose(nested.predict(IDS), flat.predict(IDS), rtol=1e-6)
    behind = np.array([[3, 5, 2, 0, 0]], "int32")  # (IDS[0] with its padding behind)
    np.testing.assert_allclose(nested.predict(behind), nested.predict(IDS[:1]), rtol=1e-5, atol=1e-6)
