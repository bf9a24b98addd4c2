"""Training steps of Keras-style models (sg.layers: Dense, Conv2D, BatchNormalization,
Dropout; SGD, Adam, RMSprop) on the numba backend against the same model on the numpy
backend (NumPy's reference for every op), the way a user's first epoch sees them: two
warm-up calls, then the median of 30 calls of `model.train_on_batch`. Short runs like this
go node by node: a whole-step program (numba_program) only takes over after seconds of calls.
Both models start from the same weights and must reach the same first loss.
Run: .venv/bin/python benchmarks/keras_steps.py [substring-filter]"""
import sys
import time

import numpy as np

import symgraph as sg

L = sg.layers
CALLS = 30


def dense(sizes, activation="relu", batch_norm=False, dropout=0.0):
    def make():
        layers = []
        for n in sizes[1:-1]:
            layers.append(L.Dense(n, activation=None if batch_norm else activation))
            if batch_norm:
                layers += [L.BatchNormalization(), L.Activation(activation)]
            if dropout:
                layers.append(L.Dropout(dropout))
        return L.Sequential(layers + [L.Dense(sizes[-1], activation="softmax")])
    return make


def convnet(filters):
    return lambda: L.Sequential([L.Conv2D(filters, 3, padding="same", activation="relu"), L.MaxPool2D(2),
                                 L.Flatten(), L.Dense(10, activation="softmax")])


def autoencoder(n, hidden):
    return lambda: L.Sequential([L.Dense(hidden, activation="relu"), L.Dense(n, activation="sigmoid")])


CLASSES = "sparse_categorical_crossentropy"
CASES = [  # name, model, input shape (batch first), optimizer, loss
    ("MLP 784-256-10, batch 128, Adam", dense((784, 256, 10)), (128, 784), "adam", CLASSES),
    ("MLP 784-128-10, batch 32, SGD", dense((784, 128, 10)), (32, 784), "sgd", CLASSES),
    ("MLP 64-64-10, batch 64, Adam", dense((64, 64, 10)), (64, 64), "adam", CLASSES),
    ("MLP 64-64-10, one-hot targets, batch 64, Adam", dense((64, 64, 10)), (64, 64), "adam", "categorical_crossentropy"),
    ("BatchNorm MLP 784-256-10, batch 128", dense((784, 256, 10), batch_norm=True), (128, 784), "adam", CLASSES),
    ("Dropout MLP 784-256-10, batch 128", dense((784, 256, 10), dropout=0.5), (128, 784), "adam", CLASSES),
    ("tanh MLP 784-256-256-10, RMSprop", dense((784, 256, 256, 10), "tanh"), (128, 784), "rmsprop", CLASSES),
    ("convnet 16 filters, 8x8 digits, batch 64", convnet(16), (64, 1, 8, 8), "adam", CLASSES),
    ("convnet 16 filters, 28x28, batch 32", convnet(16), (32, 1, 28, 28), "adam", CLASSES),
    ("autoencoder 784-64-784, batch 128, MSE", autoencoder(784, 64), (128, 784), "adam", "mse"),
    ("logistic regression 20-10, batch 256, SGD", dense((20, 10)), (256, 20), "sgd", CLASSES),
]


def model_step(make, x, y, optimizer, loss, backend, weights=None):
    model = make()
    model.compile(optimizer=optimizer, loss=loss, backend=backend)
    model.predict_on_batch(x[:2])  # builds the weights
    if weights is not None:
        model.set_weights(weights)
    return model, lambda: model.train_on_batch(x, y)


def median_call(step):
    step()
    step()
    times = []
    for _ in range(CALLS):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(pattern=None):
    rng = np.random.default_rng(0)
    print(f"{'model':44s} {'numpy backend':>14s} {'numba backend':>14s} {'speed-up':>9s}")
    ratios = []
    for name, make, shape, optimizer, loss in CASES:
        if pattern and pattern not in name:
            continue
        x = rng.random(shape, dtype=np.float32)
        y = x if loss == "mse" else rng.integers(0, 10, shape[0]).astype(np.int32)
        if loss == "categorical_crossentropy":  # one-hot rows (Keras's to_categorical)
            y = np.eye(10, dtype=np.float32)[y]
        reference, numpy_step = model_step(make, x, y, optimizer, loss, "numpy")
        _, numba_step = model_step(make, x, y, optimizer, loss, "numba", reference.get_weights())
        first = [np.asarray(step()).ravel()[0] for step in (numpy_step, numba_step)]  # dropout draws differ
        if "Dropout" not in name:
            np.testing.assert_allclose(first[1], first[0], rtol=1e-4)
        t_numpy, t_numba = median_call(numpy_step), median_call(numba_step)
        ratios.append(t_numpy / t_numba)
        print(f"{name:44s} {t_numpy * 1e3:11.3f} ms {t_numba * 1e3:11.3f} ms {t_numpy / t_numba:8.2f}x", flush=True)
    if ratios:
        print(f"numba vs numpy backend: geometric mean {np.exp(np.log(ratios).mean()):.2f}x, slowest {min(ratios):.2f}x")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
