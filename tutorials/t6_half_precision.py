"""Tutorial 6: half precision. The same MLP with float16 storage (weights, activations) and
with float32, compared on accuracy, memory and time."""
import time

import numpy as np

import symgraph as sg


def train_mlp(dtype, epochs, x_train, y_train, x_test, y_test):
    rng = np.random.default_rng(0)
    x, y = sg.tensor("x", dtype, (None, 64)), sg.ivector("y")
    sizes, params, h = [64, 128, 10], [], x
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        W = sg.shared((rng.normal(size=(n_in, n_out)) * np.sqrt(2 / n_in)).astype(dtype), f"W{k}")
        b = sg.shared(np.zeros(n_out, dtype), f"b{k}")
        params += [W, b]
        h = sg.dot(h, W) + b
        if k == 0:
            h = sg.nn.relu(h)
    cost = sg.nn.categorical_crossentropy(h, y, from_logits=True).mean()
    grads = sg.grad(cost, params)
    train = sg.function([x, y], cost, updates=[(p, p - 0.1 * g) for p, g in zip(params, grads)])
    predict = sg.function([x], sg.argmax(h, axis=1))
    xt, xe = x_train.astype(dtype), x_test.astype(dtype)
    start = time.perf_counter()
    for _ in range(epochs):
        for idx in np.array_split(np.random.default_rng(1).permutation(len(xt)), len(xt) // 32):
            train(xt[idx], y_train[idx])
    seconds = time.perf_counter() - start
    accuracy = float(np.mean(predict(xe) == y_test))
    nbytes = sum(p.get_value(borrow=True).nbytes for p in params)
    return accuracy, nbytes, seconds


def main(fast=False):
    (x_train, y_train), (x_test, y_test) = sg.datasets.load_digits()
    x_train, x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    epochs = 2 if fast else 20
    results = {d: train_mlp(d, epochs, x_train, y_train, x_test, y_test) for d in ("float32", "float16")}
    for dtype, (acc, nbytes, seconds) in results.items():
        print(f"{dtype}: test accuracy {acc:.3f}, weights {nbytes / 1024:.1f} KiB, {seconds:.2f} s")
    return results


if __name__ == "__main__":
    main()
