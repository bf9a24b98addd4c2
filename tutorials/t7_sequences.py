"""Tutorial 7: sequences. A digit read row by row by an RNN written with sg.scan, the same with
Keras's LSTM, and a toy text task (ids of different lengths) with Embedding and Bidirectional."""
import time

import numpy as np

import symgraph as sg

L = sg.layers


def scan_rnn(x_train, y_train, x_test, y_test, epochs, hidden=32):
    """Theano's way: h_t = tanh(x_t W + h_{t-1} U + b) over the 8 rows, softmax of the last h."""
    rng = np.random.default_rng(0)
    W = sg.shared((rng.normal(size=(8, hidden)) / np.sqrt(8)).astype("float32"), "W")
    U = sg.shared((np.linalg.qr(rng.normal(size=(hidden, hidden)))[0] * 0.9).astype("float32"), "U")
    b = sg.shared(np.zeros(hidden, "float32"), "b")
    V = sg.shared((rng.normal(size=(hidden, 10)) / np.sqrt(hidden)).astype("float32"), "V")
    x, y = sg.tensor3("x"), sg.ivector("y")  # x: (batch, rows, columns)
    h0 = sg.zeros((x.shape[0], hidden), "float32")
    hs, _ = sg.scan(lambda row, h: sg.tanh(sg.dot(row, W) + sg.dot(h, U) + b),
                    sequences=x.dimshuffle(1, 0, 2), outputs_info=h0)  # (scan walks the first axis)
    logits = sg.dot(hs[-1], V)
    cost = sg.nn.categorical_crossentropy(logits, y, from_logits=True).mean()
    params = [W, U, b, V]
    train = sg.function([x, y], cost, updates=sg.optimizers.Adam(lr=3e-3).updates(cost, params))
    predict = sg.function([x], sg.argmax(logits, axis=1))
    order = np.random.default_rng(1)
    for epoch in range(epochs):
        start = time.perf_counter()
        batches = np.array_split(order.permutation(len(x_train)), len(x_train) // 32)
        for idx in batches:
            train(x_train[idx], y_train[idx])
        ms = (time.perf_counter() - start) / len(batches) * 1e3
        print(f"  scan RNN, epoch {epoch + 1}: {ms:.2f} ms a step")  # (faster once the loops are compiled)
    return float(np.mean(predict(x_test) == y_test))


def keras_lstm(x_train, y_train, x_test, y_test, epochs):
    L.set_seed(0)
    model = L.Sequential([L.LSTM(32, input_shape=(8, 8)), L.Dense(10, activation="softmax")])
    model.compile(optimizer=sg.optimizers.Adam(lr=3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=0)
    return model.evaluate(x_test, y_test)[1]


def toy_text(epochs, count=600):
    """Sequences of 3 to 12 ids from a vocabulary of 30 (0 is the padding); the label says
    whether id 7 comes before id 8 in it (each occurs once): an order, not a bag of words."""
    rng = np.random.default_rng(2)
    sequences, labels = [], []
    for _ in range(count):
        ids = list(rng.integers(9, 30, rng.integers(3, 13)))
        a, b = sorted(rng.choice(len(ids) + 2, 2, replace=False))
        first, second = (7, 8) if rng.random() < 0.5 else (8, 7)
        ids.insert(a, first)
        ids.insert(b, second)
        sequences.append(ids)
        labels.append(int(first == 7))
    x = sg.utils.pad_sequences(sequences, maxlen=14)  # (zeros before the shorter ones, as Keras)
    y = np.array(labels, "int32")
    L.set_seed(1)
    model = L.Sequential([L.Embedding(30, 8, input_length=14), L.Bidirectional(L.GRU(16)),
                          L.Dense(2, activation="softmax")])
    model.compile(optimizer=sg.optimizers.Adam(lr=0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    split = count * 4 // 5
    model.fit(x[:split], y[:split], epochs=epochs, batch_size=32, verbose=0)
    return model.evaluate(x[split:], y[split:])[1]


def main(fast=False):
    (x_train, y_train), (x_test, y_test) = sg.datasets.load_digits()
    x_train, x_test = x_train.reshape(-1, 8, 8), x_test.reshape(-1, 8, 8)  # 8 rows of 8 pixels
    scan_acc = scan_rnn(x_train, y_train, x_test, y_test, 2 if fast else 15)
    lstm_acc = keras_lstm(x_train, y_train, x_test, y_test, 2 if fast else 15)
    text_acc = toy_text(4 if fast else 30)
    print(f"digits row by row: scan RNN {scan_acc:.3f}, Keras LSTM {lstm_acc:.3f}; "
          f"which id comes first, Embedding -> Bidirectional(GRU): {text_acc:.3f}")
    return scan_acc, lstm_acc, text_acc


if __name__ == "__main__":
    main()
