"""A small convolutional autoencoder of 28x28 gray images (conv16-pool-conv8-pool-conv8-upsample-
conv16-upsample-conv1, 3x3 'same' convolutions, relu and a sigmoid output, MSE, Adam), side by
side: symgraph's Keras layers on the numba backend and the same network in PyTorch CPU eager.
One training step (train_on_batch) at batches 64 and 256. Both start from the same weights and
must reach the same first loss.
Run: .venv/bin/python benchmarks/keras_autoencoder.py"""
import numpy as np

import symgraph as sg
from common import best_seconds, try_import

SHAPES = [(16, 1), (8, 16), (8, 8), (16, 8), (1, 16)]  # (out, in) channels of the five convolutions


def symgraph_model():
    L = sg.layers
    L.set_seed(0)
    model = L.Sequential([L.Input((1, 28, 28)),
                          L.Conv2D(16, 3, padding="same", activation="relu"), L.MaxPool2D(2),
                          L.Conv2D(8, 3, padding="same", activation="relu"), L.MaxPool2D(2),
                          L.Conv2D(8, 3, padding="same", activation="relu"), L.UpSampling2D(2),
                          L.Conv2D(16, 3, padding="same", activation="relu"), L.UpSampling2D(2),
                          L.Conv2D(1, 3, padding="same", activation="sigmoid")])
    model.compile(optimizer="adam", loss="mse")
    return model


def torch_model(torch, weights):
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2),
                          nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2),
                          nn.Conv2d(16, 1, 3, padding=1), nn.Sigmoid())
    convs = [layer for layer in model if isinstance(layer, nn.Conv2d)]
    with torch.no_grad():
        for layer, w, b in zip(convs, weights[0::2], weights[1::2]):
            layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
            layer.bias.copy_(torch.from_numpy(b))
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def main():
    torch = try_import("torch")
    rng = np.random.default_rng(0)
    print("conv autoencoder, 28x28, Adam, MSE: one training step (ms)")
    for batch in (64, 256):
        x = rng.random((batch, 1, 28, 28), dtype=np.float32)
        model = symgraph_model()
        model.predict_on_batch(x[:2])  # builds the weights
        weights = model.get_weights()
        assert [w.shape[:2] for w in weights[0::2]] == SHAPES
        first = float(np.asarray(model.train_on_batch(x, x)).ravel()[0])
        t_sg = best_seconds(lambda: model.train_on_batch(x, x), repeat=5, number=3, warmup=10)
        line = f"  batch {batch:4d}: symgraph {t_sg * 1e3:7.2f}"
        if torch:
            torch.set_num_threads(2)
            net, optimizer = torch_model(torch, weights)
            tx = torch.from_numpy(x)

            def torch_step():
                optimizer.zero_grad()
                loss = ((net(tx) - tx) ** 2).mean()
                loss.backward()
                optimizer.step()
                return loss
            np.testing.assert_allclose(torch_step().item(), first, rtol=1e-4)
            t_torch = best_seconds(torch_step, repeat=5, number=3, warmup=10)
            line += f"   PyTorch {t_torch * 1e3:7.2f}   symgraph {t_torch / t_sg:.2f}x"
        print(line, flush=True)


if __name__ == "__main__":
    main()
