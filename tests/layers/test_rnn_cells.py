"""Keras's RNN layer and cells: RNN(LSTMCell) computes LSTM's outputs and states (GRU's,
SimpleRNN's), stacked cells compute the layers in a chain, a cell of the user's runs as
written (against a NumPy loop) and trains, masks and initial states as the layers'."""
import numpy as np
import pytest

import symgraph as sg
from symgraph import backend as K

L = sg.layers


def run(model, *arrays):
    return model.predict(list(arrays) if len(arrays) > 1 else arrays[0], verbose=0)


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_a_cell_in_rnn_computes_its_layer(kind, go_backwards, rng):
    x = L.Input((6, 3), dtype="float64")
    layer = getattr(L, kind)(4, return_sequences=True, return_state=True, go_backwards=go_backwards, dtype="float64")
    cell_layer = L.RNN(getattr(L, kind + "Cell")(4, dtype="float64"), return_sequences=True, return_state=True,
                       go_backwards=go_backwards, dtype="float64")
    reference, cells = L.Model(x, layer(x)), L.Model(x, cell_layer(x))
    cell_layer.set_weights(layer.get_weights())
    xv = rng.normal(size=(2, 6, 3))
    got, want = run(cells, xv), run(reference, xv)
    assert len(got) == len(want) == 2 + (kind == "LSTM")
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)


def test_stacked_cells_are_the_layers_in_a_chain_and_take_initial_states(rng):
    x = L.Input((5, 3), dtype="float64")
    h0, c0, g0 = (L.Input((n,), dtype="float64") for n in (4, 4, 2))
    stacked = L.RNN([L.LSTMCell(4, dtype="float64"), L.GRUCell(2, dtype="float64")], return_sequences=True,
                    return_state=True, dtype="float64")
    outs = stacked(x, initial_state=[h0, c0, g0])
    lstm, gru = L.LSTM(4, return_sequences=True, dtype="float64"), L.GRU(2, return_sequences=True, dtype="float64")
    chain = gru(lstm(x, initial_state=[h0, c0]), initial_state=[g0])
    model, reference = L.Model([x, h0, c0, g0], outs), L.Model([x, h0, c0, g0], chain)
    stacked.set_weights(lstm.get_weights() + gru.get_weights())
    arrays = [rng.normal(size=s) for s in ((2, 5, 3), (2, 4), (2, 4), (2, 2))]
    got = run(model, *arrays)
    np.testing.assert_allclose(got[0], run(reference, *arrays), rtol=1e-12)
    assert [s.shape for s in got[1:]] == [(2, 4), (2, 4), (2, 2)]
    np.testing.assert_allclose(got[3], got[0][:, -1], rtol=1e-12)  # (the GRU's state is its last output)


class MinimalRNNCell(L.Layer):
    """The cell of Keras's guide, as written there (its backend's words)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), initializer="uniform",
                                                name="recurrent_kernel")
        self.built = True

    def call(self, inputs, states):
        prev_output = states[0]
        h = K.dot(inputs, self.kernel)
        output = h + K.dot(prev_output, self.recurrent_kernel)
        return output, [output]


def test_a_users_cell_runs_as_written_trains_and_keeps_its_weights(rng, tmp_path):
    L.set_seed(0)
    x = L.Input((None, 5))
    cell = MinimalRNNCell(8)
    states = L.RNN(cell)(x)
    model = L.Model(x, L.Dense(1)(states))
    assert len(model.trainable_weights) == 4
    xv = rng.normal(size=(32, 6, 5)).astype("float32")
    W, U = cell.kernel.get_value(), cell.recurrent_kernel.get_value()
    h = np.zeros((32, 8), "float32")
    for t in range(6):
        h = xv[:, t] @ W + h @ U
    features = L.Model(x, states)
    np.testing.assert_allclose(run(features, xv), h, rtol=1e-5, atol=1e-6)
    y = xv.sum(axis=(1, 2))[:, None] / 6
    model.compile(sg.optimizers.Adam(0.01), "mse")
    before = model.evaluate(xv, y, verbose=0)
    model.fit(xv, y, epochs=30, batch_size=8, verbose=0)
    assert model.evaluate(xv, y, verbose=0) < 0.01 * before  # (0.0002-0.0006 of it over three seeds)
    model.save_weights(str(tmp_path / "cells.npz"))
    copy = L.Model(x2 := L.Input((None, 5)), L.Dense(1)(L.RNN(MinimalRNNCell(8))(x2)))
    copy.load_weights(str(tmp_path / "cells.npz"))
    np.testing.assert_allclose(run(copy, xv), run(model, xv), rtol=1e-6)


def test_padding_masked_steps_leave_the_states_as_the_layers_do(rng):
    ids = L.Input((6,), dtype="int32")
    embedded = L.Embedding(10, 3, mask_zero=True)(ids)
    layer, cell_layer = L.LSTM(4), L.RNN(L.LSTMCell(4))
    reference, model = L.Model(ids, layer(embedded)), L.Model(ids, cell_layer(embedded))
    cell_layer.set_weights(layer.get_weights())
    sequences = np.array([[0, 0, 3, 4, 5, 6], [1, 2, 3, 0, 0, 0]], "int32")
    np.testing.assert_allclose(run(model, sequences), run(reference, sequences), rtol=1e-6)
    np.testing.assert_allclose(run(model, sequences[1:]), run(model, np.array([[1, 2, 3, 0, 0, 0]], "int32")))
    with pytest.raises(TypeError, match="RNN takes a cell"):
        L.RNN(L.Dense(3))
