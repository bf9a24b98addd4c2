"""Keras's mnist_cnn example (conv32-conv64-maxpool-dropout-dense128-dropout-dense10, Adam,
28x28 gray images), side by side: symgraph's Keras layers on the numba backend and the same
network in PyTorch CPU eager. A training step (train_on_batch) at batches 32 and 128, and
predict() throughput over 2048 images at batches 32, 256 and 1024 (feature extraction and
evaluation). Both start from the same weights; their predictions are checked to agree (dropout
makes the training steps' losses differ draw by draw, so those are not compared).
Run: .venv/bin/python benchmarks/keras_mnist.py"""
import time

import numpy as np

import symgraph as sg
from common import best_seconds, try_import

IMAGES = 2048


def symgraph_model():
    L = sg.layers
    L.set_seed(0)
    model = L.Sequential([L.Input((1, 28, 28)), L.Conv2D(32, 3, activation="relu"), L.Conv2D(64, 3, activation="relu"),
                          L.MaxPool2D(2), L.Dropout(0.25), L.Flatten(), L.Dense(128, activation="relu"),
                          L.Dropout(0.5), L.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def torch_model(torch, weights):
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Dropout(0.25), nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(128, 10))
    w1, b1, w2, b2, wd, bd, wo, bo = weights
    with torch.no_grad():
        for layer, (w, b) in zip([model[0], model[2], model[7], model[10]], [(w1, b1), (w2, b2), (wd.T, bd), (wo.T, bo)]):
            layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
            layer.bias.copy_(torch.from_numpy(b))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    return model, optimizer


def torch_step(torch, model, optimizer, x, y):
    tx, ty = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))

    def step():
        model.train()
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(tx), ty)
        loss.backward()
        optimizer.step()
        return loss
    return step


def torch_predict(torch, model, x, batch):
    model.eval()
    with torch.no_grad():
        return np.concatenate([torch.softmax(model(torch.from_numpy(x[i:i + batch])), 1).numpy()
                               for i in range(0, len(x), batch)])


def best_run(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((IMAGES, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, IMAGES).astype(np.int32)
    torch = try_import("torch")
    ours = symgraph_model()
    weights = ours.get_weights()
    if torch:
        theirs, _ = torch_model(torch, weights)
        np.testing.assert_allclose(ours.predict(x[:256], batch_size=64), torch_predict(torch, theirs, x[:256], 64),
                                   rtol=1e-3, atol=1e-5)
    print("Keras mnist_cnn, 28x28, Adam: one training step (ms)")
    for batch in (32, 128):
        model = symgraph_model()
        xb, yb = x[:batch], y[:batch]
        row = [best_seconds(lambda: model.train_on_batch(xb, yb), repeat=5, number=3, warmup=10)]
        if torch:
            step = torch_step(torch, *torch_model(torch, weights), xb, yb)
            row.append(best_seconds(step, repeat=5, number=3, warmup=10))
        print(f"  batch {batch:4d}: symgraph {row[0] * 1e3:7.2f}" + (
            f"   PyTorch {row[1] * 1e3:7.2f}   symgraph {row[1] / row[0]:.2f}x" if torch else ""))
    print(f"predict() of {IMAGES} images (us an image)")
    for batch in (32, 256, 1024):
        ours.predict(x[:batch], batch_size=batch)
        row = [best_run(lambda: ours.predict(x, batch_size=batch)) / IMAGES]
        if torch:
            torch_predict(torch, theirs, x[:batch], batch)
            row.append(best_run(lambda: torch_predict(torch, theirs, x, batch)) / IMAGES)
        print(f"  batch {batch:4d}: symgraph {row[0] * 1e6:7.1f}" + (
            f"   PyTorch {row[1] * 1e6:7.1f}   symgraph {row[1] / row[0]:.2f}x" if torch else ""))


if __name__ == "__main__":
    main()
