"""Tutorial 3: a VGG-style convnet (stacked 3x3 convolutions, pooling, dropout) on the digits."""
import symgraph as sg


def build(width=32):
    L = sg.layers
    L.set_seed(3)
    return L.Sequential([
        L.Input((1, 8, 8)),
        L.Conv2D(width, 3, padding="same", activation="relu", name="block1_conv1"),
        L.Conv2D(width, 3, padding="same", activation="relu", name="block1_conv2"),
        L.MaxPool2D(2, name="block1_pool"),
        L.Conv2D(2 * width, 3, padding="same", activation="relu", name="block2_conv1"),
        L.Conv2D(2 * width, 3, padding="same", activation="relu", name="block2_conv2"),
        L.MaxPool2D(2, name="block2_pool"),
        L.Flatten(name="flatten"),
        L.Dense(128, activation="relu", name="fc1"),
        L.Dropout(0.3, name="dropout"),
        L.Dense(10, activation="softmax", name="predictions"),
    ], name="vgg_digits")


def main(fast=False):
    (x_train, y_train), (x_test, y_test) = sg.datasets.load_digits()
    model = build(width=8 if fast else 32)
    model.compile(optimizer=sg.optimizers.Adam(lr=1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    epochs = 2 if fast else 30
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=0,
              callbacks=[sg.callbacks.StepDecay(1e-3, gamma=0.3, step_size=12)])
    loss, accuracy = model.evaluate(x_test, y_test)
    model.summary()
    print(f"VGG-style convnet: test accuracy {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
