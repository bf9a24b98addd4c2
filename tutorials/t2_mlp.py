"""Tutorial 2: a multilayer perceptron, first by hand with sg.function, then as Keras layers."""
import numpy as np

import symgraph as sg


def by_hand(x_train, y_train, x_test, y_test, epochs):
    rng = np.random.default_rng(0)
    x, y = sg.matrix("x"), sg.ivector("y")
    sizes, params, h = [64, 128, 64, 10], [], x
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        with sg.name_scope(f"dense{k}"):
            W = sg.shared((rng.normal(size=(n_in, n_out)) * np.sqrt(2 / n_in)).astype("float32"), "W")
            b = sg.shared(np.zeros(n_out, "float32"), "b")
            h = sg.dot(h, W) + b
            h = sg.nn.relu(h) if k < len(sizes) - 2 else h
        params += [W, b]
    cost = sg.nn.categorical_crossentropy(h, y, from_logits=True).mean()
    train = sg.function([x, y], cost, updates=sg.optimizers.Adam(lr=1e-3).updates(cost, params))
    predict = sg.function([x], sg.argmax(h, axis=1))
    order = np.random.default_rng(1)
    for _ in range(epochs):
        for idx in np.array_split(order.permutation(len(x_train)), len(x_train) // 32):
            train(x_train[idx], y_train[idx])
    return float(np.mean(predict(x_test) == y_test)), train


def with_layers(x_train, y_train, x_test, y_test, epochs):
    L = sg.layers
    L.set_seed(0)
    model = L.Sequential([L.Input((64,)), L.Dense(128, activation="relu"),
                          L.Dense(64, activation="relu"), L.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=0)
    return model.evaluate(x_test, y_test)[1]


def main(fast=False):
    (x_train, y_train), (x_test, y_test) = sg.datasets.load_digits()
    x_train, x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    epochs = 3 if fast else 30
    acc_hand, train = by_hand(x_train, y_train, x_test, y_test, epochs)
    acc_layers = with_layers(x_train, y_train, x_test, y_test, epochs)
    print(f"MLP by hand: {acc_hand:.3f}; with sg.layers: {acc_layers:.3f}")
    print(f"the training function runs {len(train.fgraph.apply_nodes)} nodes after rewriting")
    return acc_hand, acc_layers


if __name__ == "__main__":
    main()
