"""The main job (`make demo`): train a small convnet on the bundled digits through symgraph's
compiled graph (Numba backend), then write the training function's graph and the curves.

Prints test accuracy, seconds per epoch, and the speed-up over the NumPy reference backend
(the same training step, timed on the same batches). `--backend cuda` trains on an NVIDIA GPU.
"""
import argparse
import os
import time

import numpy as np

import symgraph as sg


def build_model():
    L = sg.layers
    L.set_seed(0)
    return L.Sequential([
        L.Input((1, 8, 8)),
        L.Conv2D(16, 3, padding="same", activation="relu", name="conv1"),
        L.MaxPool2D(2, name="pool1"),
        L.Conv2D(32, 3, padding="same", activation="relu", name="conv2"),
        L.MaxPool2D(2, name="pool2"),
        L.Flatten(name="flatten"),
        L.Dense(64, activation="relu", name="dense"),
        L.Dense(10, activation="softmax", name="classifier"),
    ], name="digits_convnet")


def time_steps(model, x, y, batch_size, backend, steps=100):
    """Seconds per training step of `model` compiled for `backend`, the median step's (one
    step in twenty may meet another process or a page fault: the mean of 20 steps had read
    1.89 ms on a machine whose steps take 1.1-1.2); the weights restored after."""
    saved = model.get_weights()
    model.compile(optimizer=sg.optimizers.Adam(lr=2e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], backend=backend)
    train = sg.layers.training.train_function(model, y)
    batches = [np.arange(i, i + batch_size) % len(x) for i in range(0, steps * batch_size, batch_size)]
    for idx in batches[:2]:  # compile outside the timing (the kernels, at the first call)
        train(x[idx], y[idx])
    seconds = []
    for idx in batches:
        start = time.perf_counter()
        train(x[idx], y[idx])
        seconds.append(time.perf_counter() - start)
    model.set_weights(saved)
    return float(np.median(seconds))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--out", default="demo-out")
    parser.add_argument("--verbose", type=int, default=1)
    parser.add_argument("--backend", default="numba", choices=["numba", "cuda", "numpy"],
                        help="where the training runs (cuda: an NVIDIA GPU)")
    args = parser.parse_args(argv)

    (x_train, y_train), (x_test, y_test) = sg.datasets.load_digits()
    model = build_model()
    model.summary()
    speed = {b: time_steps(model, x_train, y_train, args.batch_size, b) for b in ("numpy", args.backend)}

    model.compile(optimizer=sg.optimizers.Adam(lr=2e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], backend=args.backend)
    start = time.perf_counter()
    # Caffe's lr_policy "step": halve the learning rate every 8 epochs.
    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
                        validation_data=(x_test, y_test), verbose=args.verbose,
                        callbacks=[sg.callbacks.StepDecay(2e-3, gamma=0.5, step_size=8)])
    total = time.perf_counter() - start
    loss, accuracy = model.evaluate(x_test, y_test)

    os.makedirs(args.out, exist_ok=True)
    curve_path = _plot_curves(history.history, os.path.join(args.out, "training.png"))
    train_fn = sg.layers.training.train_function(model, y_train)
    try:
        graph_path = sg.render(train_fn, os.path.join(args.out, "graph.png"), collapse_scopes=True)
        sg.render(train_fn, os.path.join(args.out, "graph-full.svg"))
        model.plot(os.path.join(args.out, "model.png"))
    except sg.GraphvizNotInstalled as exc:  # still report the training; say how to get pictures
        graph_path = sg.render(train_fn, os.path.join(args.out, "graph.dot"))
        print(f"note: {exc}")
    per_epoch = np.mean(history.history["seconds"])
    print(f"test accuracy: {accuracy:.4f} ({len(x_test)} digits), test loss {loss:.4f}")
    print(f"time: {total:.1f} s for {len(history.epoch)} epochs, {per_epoch:.2f} s per epoch")
    used = args.backend
    print(f"training step: {used} {speed[used] * 1e3:.2f} ms, numpy reference "
          f"{speed['numpy'] * 1e3:.2f} ms: {speed['numpy'] / speed[used]:.1f}x faster with {used}")
    written = [graph_path, curve_path] + [os.path.join(args.out, n) for n in ("model.png", "graph-full.svg")
                                          if os.path.exists(os.path.join(args.out, n))]
    print("wrote " + ", ".join(written))
    return accuracy


def _plot_curves(history, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    epochs = np.arange(1, len(history["loss"]) + 1)
    left.plot(epochs, history["loss"], marker="o", markersize=3, label="training")
    left.plot(epochs, history["val_loss"], marker="o", markersize=3, label="test")
    left.set(xlabel="epoch", ylabel="loss", title="loss")
    right.plot(epochs, history["accuracy"], marker="o", markersize=3, label="training")
    right.plot(epochs, history["val_accuracy"], marker="o", markersize=3, label="test")
    right.set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0, 1))
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    main()
