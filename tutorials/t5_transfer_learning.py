"""Tutorial 5: transfer learning without a GPU. A convnet trained on digits 0-4 is frozen;
its features for digits 5-9 feed scikit-learn's SVM, compared with training from scratch on
the same few labels."""
import time

import numpy as np
from sklearn.svm import SVC

import symgraph as sg


def convnet(n_classes):
    L = sg.layers
    L.set_seed(5)
    return L.Sequential([L.Input((1, 8, 8)), L.Conv2D(16, 3, padding="same", activation="relu", name="conv1"),
                         L.MaxPool2D(2, name="pool1"), L.Conv2D(32, 3, padding="same", activation="relu", name="conv2"),
                         L.MaxPool2D(2, name="pool2"), L.Flatten(name="features"),
                         L.Dense(n_classes, activation="softmax", name="head")])


def main(fast=False, labels_per_class=3):
    (x_train, y_train), (x_test, y_test) = sg.datasets.load_digits()
    source, target = y_train < 5, y_train >= 5
    epochs = 2 if fast else 15

    # Train on digits 0-4.
    base = convnet(5)
    base.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    base.fit(x_train[source], y_train[source], epochs=epochs, batch_size=32, verbose=0)

    # Freeze it and use everything up to Flatten as a feature extractor.
    for layer in base.layers:
        layer.trainable = False
    features = sg.layers.Model(base.input, base.get_layer("features").output, name="features")

    # A few labelled examples of digits 5-9.
    rng = np.random.default_rng(0)
    few = np.concatenate([rng.choice(np.flatnonzero(y_train == d), labels_per_class, replace=False)
                          for d in range(5, 10)])
    test = y_test >= 5
    start = time.perf_counter()
    svm = SVC(C=10.0).fit(features.predict(x_train[few]), y_train[few])
    transfer_s = time.perf_counter() - start
    transfer_acc = float(np.mean(svm.predict(features.predict(x_test[test])) == y_test[test]))

    # The same few labels, trained from scratch.
    start = time.perf_counter()
    scratch = convnet(10)
    scratch.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    scratch.fit(x_train[few], y_train[few], epochs=epochs * 4, batch_size=10, verbose=0)
    scratch_s = time.perf_counter() - start
    scratch_acc = float(np.mean(scratch.predict(x_test[test]).argmax(1) == y_test[test]))
    print(f"digits 5-9 from {labels_per_class} labels each: frozen features + SVM {transfer_acc:.3f} "
          f"(fit in {transfer_s * 1e3:.0f} ms), convnet from scratch {scratch_acc:.3f} (trained in {scratch_s:.1f} s)")
    return transfer_acc, scratch_acc


if __name__ == "__main__":
    main()
