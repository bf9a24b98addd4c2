"""Tutorial 4: a stacked denoising autoencoder trained layer by layer (Vincent et al., as in
the Theano tutorials), then its first-layer filters saved as an image."""
import os

import numpy as np

import symgraph as sg


def train_layer(data, n_hidden, noise, epochs, seed, lr=0.1):
    """One denoising autoencoder with tied weights: corrupt, encode, decode, squared error."""
    rng = np.random.default_rng(seed)
    n_visible = data.shape[1]
    limit = 4 * np.sqrt(6.0 / (n_hidden + n_visible))
    W = sg.shared(rng.uniform(-limit, limit, (n_visible, n_hidden)).astype("float32"), "W")
    b_hidden = sg.shared(np.zeros(n_hidden, "float32"), "b_hidden")
    b_visible = sg.shared(np.zeros(n_visible, "float32"), "b_visible")
    x = sg.matrix("x")
    stream = sg.random.RandomStream(seed)
    corrupted = x * stream.binomial(x.shape, p=1 - noise, dtype="float32")
    hidden = sg.nn.sigmoid(sg.dot(corrupted, W) + b_hidden)
    reconstruction = sg.nn.sigmoid(sg.dot(hidden, W.T) + b_visible)
    cost = sg.losses.binary_crossentropy(x, reconstruction).mean()
    params = [W, b_hidden, b_visible]
    train = sg.function([x], cost, updates=sg.optimizers.SGD(lr=lr, momentum=0.9).updates(cost, params))
    encode = sg.function([x], sg.nn.sigmoid(sg.dot(x, W) + b_hidden))
    for _ in range(epochs):
        losses = [float(train(data[idx])) for idx in np.array_split(rng.permutation(len(data)), len(data) // 20)]
    return W, encode, float(np.mean(losses))


def save_filters(W, path, shape=(8, 8)):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    weights = W.get_value()
    n = weights.shape[1]
    cols = int(np.ceil(np.sqrt(n)))
    fig, axes = plt.subplots(cols, cols, figsize=(cols, cols))
    for k, ax in enumerate(np.ravel(axes)):
        ax.axis("off")
        if k < n:
            ax.imshow(weights[:, k].reshape(shape), cmap="gray")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def main(fast=False, out="demo-out"):
    (x_train, y_train), (x_test, y_test) = sg.datasets.load_digits()
    data = x_train.reshape(len(x_train), -1)
    epochs = 2 if fast else 30
    W1, encode1, loss1 = train_layer(data, 49, noise=0.3, epochs=epochs, seed=1)
    hidden1 = encode1(data)
    W2, encode2, loss2 = train_layer(hidden1, 25, noise=0.3, epochs=epochs, seed=2)
    os.makedirs(out, exist_ok=True)
    path = save_filters(W1, os.path.join(out, "dae_filters.png"))
    features = encode2(encode1(x_test.reshape(len(x_test), -1)))
    print(f"layer 1 reconstruction loss {loss1:.4f}, layer 2 {loss2:.4f}; "
          f"codes of the test digits: {features.shape}; filters in {path}")
    return loss1, loss2, path


if __name__ == "__main__":
    main()
