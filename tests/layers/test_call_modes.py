"""Keras's layer(x, training=...): one call's mode fixed whatever the trace's: Monte Carlo
dropout at prediction, a batch normalization kept in inference mode while the model trains;
kept by save and load, and inside a subclassed model's call."""
import numpy as np

import symgraph as sg

L = sg.layers


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 6)).astype("float32")
    return x, (x[:, 0] - x[:, 1] > 0).astype("float32")


def test_monte_carlo_dropout_and_a_frozen_batch_normalization(tmp_path):
    x, y = _data()
    L.set_seed(0)
    inputs = L.Input((6,))
    norm = L.BatchNormalization()
    h = norm(L.Dense(16, activation="relu")(inputs), training=False)  # (moving statistics, never updated)
    h = L.Dropout(0.5)(h, training=True)  # (dropout at prediction too: Monte Carlo dropout)
    model = L.Model(inputs, L.Dense(1, activation="sigmoid")(h))
    model.compile(sg.optimizers.Adam(0.02), "binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=20, batch_size=32, verbose=0)
    np.testing.assert_array_equal(norm.moving_mean.get_value(), 0)  # (fit did not update them)
    np.testing.assert_array_equal(norm.moving_variance.get_value(), 1)
    draws = np.stack([model.predict(x[:50]) for _ in range(20)])
    assert draws.std(axis=0).mean() > 1e-3  # (each prediction drops other units)
    assert ((draws.mean(axis=0)[:, 0] > 0.5) == y[:50]).mean() > 0.85
    path = str(tmp_path / "mc.keras")
    model.save(path)
    again = L.load_model(path)
    assert np.stack([again.predict(x[:50]) for _ in range(3)]).std(axis=0).mean() > 1e-3
    assert "training=True" in L.model_to_dot(model).source
    config = model.get_config()
    assert [call[3:] for call in config["calls"]] == [[], [{"training": False}], [{"training": True}], []]


def test_a_subclassed_models_call_fixes_a_layers_mode():
    class MonteCarlo(L.Model):
        def __init__(self):
            super().__init__()
            self.hidden, self.drop, self.out = L.Dense(8, activation="relu"), L.Dropout(0.5), L.Dense(1)

        def call(self, inputs):
            return self.out(self.drop(self.hidden(inputs), training=True))

    x, _ = _data()
    model = MonteCarlo()
    assert not np.array_equal(model.predict(x[:20]), model.predict(x[:20]))
