"""Tutorial 8: Keras code that customizes, run as written. A digits convnet with a layer of our
own, a weight penalty, a metric written with the Keras backend, two outputs (the digit, and
whether it is even) weighted in one loss, augmented batches from ImageDataGenerator, callbacks,
and the trained body's features read with K.function for a scikit-learn classifier."""
import tempfile

import numpy as np
from sklearn.linear_model import LogisticRegression

import symgraph as sg
from symgraph import backend as K
from symgraph.preprocessing.image import ImageDataGenerator

L = sg.layers


class ChannelScale(L.Layer):
    """A learned scale per channel (Keras's custom-layer recipe: build, add_weight, call)."""

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(input_shape[1],), initializer="ones")

    def call(self, inputs):
        return inputs * K.reshape(self.scale, (1, -1, 1, 1))


def even_accuracy(y_true, y_pred):
    """A metric in the backend's words: the share of right even/odd answers."""
    return K.mean(K.cast(K.equal(K.greater(y_true, 0.5), K.greater(y_pred, 0.5)), K.floatx()), axis=-1)


def build():
    L.set_seed(8)
    images = L.Input((1, 8, 8), name="image")
    h = L.Conv2D(16, 3, padding="same", kernel_regularizer=sg.regularizers.l2(1e-4))(images)
    h = L.ReLU()(ChannelScale()(h))
    h = L.MaxPool2D(2)(h)
    features = L.Flatten(name="features")(L.SpatialDropout2D(0.1)(h))
    digit = L.Dense(10, activation="softmax", name="digit")(features)
    even = L.Dense(1, activation="sigmoid", name="even")(features)
    model = L.Model(images, [digit, even])
    model.compile(optimizer=sg.optimizers.Adam(lr=3e-3),
                  loss={"digit": "sparse_categorical_crossentropy", "even": "binary_crossentropy"},
                  loss_weights={"digit": 1.0, "even": 0.5},
                  metrics={"digit": ["accuracy"], "even": [even_accuracy]})
    return model


def main(fast=False):
    (x_train, y_train), (x_test, y_test) = sg.datasets.load_digits()
    is_even = lambda y: (y % 2 == 0).astype("float32")  # noqa: E731
    model = build()
    augment = ImageDataGenerator(rotation_range=8, width_shift_range=0.1, height_shift_range=0.1)

    # Augmented batches need both targets: a Sequence of (x, [digit, even]) batches over the flow.
    class Batches(sg.utils.Sequence):
        def __init__(self):
            self.flow = augment.flow(x_train, np.arange(len(x_train)), batch_size=32, seed=1)

        def __len__(self):
            return len(self.flow)

        def __getitem__(self, k):
            x, rows = self.flow[k]
            return x, [y_train[rows], is_even(y_train[rows])]

        def on_epoch_end(self):
            self.flow.on_epoch_end()

    log = tempfile.NamedTemporaryFile(suffix=".csv", delete=False).name
    history = model.fit(Batches(), epochs=2 if fast else 20, verbose=0,
                        validation_data=(x_test, [y_test, is_even(y_test)]),
                        callbacks=[sg.callbacks.ReduceLROnPlateau(factor=0.5, patience=3),
                                   sg.callbacks.CSVLogger(log)])
    scores = model.evaluate(x_test, [y_test, is_even(y_test)], return_dict=True)
    print({k: round(v, 4) for k, v in scores.items()}, "training log:", log)

    # The trained body as a feature extractor, the Keras way, for a scikit-learn classifier.
    features = K.function([model.input], [model.get_layer("features").output])
    classifier = LogisticRegression(max_iter=2000).fit(features([x_train])[0], y_train)
    transfer = classifier.score(features([x_test])[0], y_test)
    print(f"digit accuracy {scores['digit_accuracy']:.3f}, even/odd {scores['even_even_accuracy']:.3f}, "
          f"logistic regression on the features {transfer:.3f}, epochs {len(history.history['loss'])}")
    return scores["digit_accuracy"], scores["even_even_accuracy"], transfer


if __name__ == "__main__":
    main()
