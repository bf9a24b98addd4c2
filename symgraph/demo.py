"""The main job (`make demo`): train a classifier on the bundled digits through a compiled
symgraph function, then write the graph picture and the training curve.

Until the Keras-like layers land this trains a softmax (logistic) regression written with the
raw symbolic API — the four steps a Caffe user knows: data, inner product, softmax-with-loss,
SGD updates.
"""
import argparse
import os
import time

import numpy as np

import symgraph as sg


def build(n_features, n_classes, lr):
    x, y = sg.matrix("x"), sg.ivector("y")
    with sg.name_scope("inner_product"):
        W = sg.shared(np.zeros((n_features, n_classes), sg.config.floatX), "W")
        b = sg.shared(np.zeros(n_classes, sg.config.floatX), "b")
        logits = sg.dot(x, W) + b
    with sg.name_scope("softmax_loss"):
        log_probs = logits - sg.logsumexp(logits, axis=1, keepdims=True)
        cost = -log_probs[sg.arange(y.shape[0]), y].mean()
        cost.name = "cost"
    gW, gb = sg.grad(cost, [W, b])
    train = sg.function([x, y], cost, updates=[(W, W - lr * gW), (b, b - lr * gb)], name="train")
    predict = sg.function([x], sg.argmax(logits, axis=1), name="predict")
    return train, predict


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--out", default="demo-out")
    args = parser.parse_args(argv)
    from tqdm import tqdm

    (x_train, y_train), (x_test, y_test) = sg.datasets.load_digits()
    x_train, x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    start = time.perf_counter()
    train, predict = build(x_train.shape[1], 10, args.lr)
    compile_s = time.perf_counter() - start
    rng = np.random.default_rng(0)
    losses, accuracies, epoch_times = [], [], []
    bar = tqdm(range(args.epochs), desc="training", unit="epoch")
    for _ in bar:
        t0 = time.perf_counter()
        order = rng.permutation(len(x_train))
        batch_losses = [float(train(x_train[idx], y_train[idx]))
                        for idx in np.array_split(order, max(1, len(order) // args.batch_size))]
        epoch_times.append(time.perf_counter() - t0)
        losses.append(float(np.mean(batch_losses)))
        accuracies.append(float(np.mean(predict(x_test) == y_test)))
        bar.set_postfix(loss=f"{losses[-1]:.3f}", test_acc=f"{accuracies[-1]:.3f}")
    os.makedirs(args.out, exist_ok=True)
    graph_path = sg.render(train, os.path.join(args.out, "graph.png"))
    curve_path = _plot_curves(losses, accuracies, os.path.join(args.out, "training.png"))
    print(f"model: softmax regression on {x_train.shape[1]} pixels, backend {sg.config.backend}")
    print(f"test accuracy: {accuracies[-1]:.4f} on {len(x_test)} digits")
    print(f"time: compile {compile_s:.2f} s, {np.mean(epoch_times):.3f} s per epoch, "
          f"{sum(epoch_times):.2f} s in all")
    print(f"wrote {graph_path} and {curve_path}")
    return accuracies[-1]


def _plot_curves(losses, accuracies, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    epochs = np.arange(1, len(losses) + 1)
    left.plot(epochs, losses, marker="o", markersize=3)
    left.set(xlabel="epoch", ylabel="training loss", title="loss")
    right.plot(epochs, accuracies, marker="o", markersize=3, color="tab:green")
    right.set(xlabel="epoch", ylabel="test accuracy", title="accuracy", ylim=(0, 1))
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    main()
