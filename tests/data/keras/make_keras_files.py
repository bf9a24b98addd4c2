"""Writes the Keras model files the import tests read (tests/layers/test_keras_files.py), and
what Keras itself computes from them. Run by hand with Keras 3 (any backend; these were made
with keras 3.15.1 on JAX): `KERAS_BACKEND=jax python tests/data/keras/make_keras_files.py`.
The tests need neither Keras nor JAX: only these files."""
import os

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402
from keras import layers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(0)


def save(model, name, x):
    """The model in Keras 3's format, the legacy HDF5 one and save_weights', and its outputs."""
    model.save(os.path.join(HERE, f"{name}.keras"))
    model.save(os.path.join(HERE, f"{name}.h5"))
    model.save_weights(os.path.join(HERE, f"{name}.weights.h5"))
    outputs = model.predict(x, verbose=0)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    inputs = x if isinstance(x, list) else [x]
    np.savez(os.path.join(HERE, f"{name}_expected.npz"), **{f"x{k}": v for k, v in enumerate(inputs)},
             **{f"y{k}": y for k, y in enumerate(outputs)})


def convnet():
    """Channels-last digits-like convnet, trained a little (its batch statistics are not 1 and 0)."""
    keras.utils.set_random_seed(1)
    x = rng.normal(size=(64, 8, 8, 1)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 0).astype("int32")
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        layers.Conv2D(4, 3, padding="same", activation="relu"),
        layers.BatchNormalization(),
        layers.MaxPooling2D(2),
        layers.Conv2D(6, 3, strides=1, padding="valid", use_bias=False),
        layers.Activation("tanh"),
        layers.Dropout(0.25),
        layers.Flatten(),
        layers.Dense(10, activation="relu"),
        layers.Dense(2, activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, verbose=0)
    save(model, "convnet", x[:5])


def branches():
    """A functional model: two inputs, a layer called twice, Add, Concatenate, pooling, two outputs."""
    keras.utils.set_random_seed(2)
    image, extra = keras.Input((6, 6, 3), name="image"), keras.Input((4,), name="extra")
    a = layers.Conv2D(5, 3, padding="same", activation="relu")(image)
    b = layers.Conv2D(5, 1)(image)
    merged = layers.GlobalAveragePooling2D()(layers.Add()([a, b]))
    shared = layers.Dense(7, activation="sigmoid")
    joined = layers.Concatenate()([shared(merged), shared(layers.Dense(5)(extra)), merged])
    first = layers.Dense(3, activation="softmax", name="kind")(joined)
    second = layers.Dense(1, name="size")(layers.LayerNormalization()(joined))
    model = keras.Model([image, extra], [first, second])
    save(model, "branches", [rng.normal(size=(3, 6, 6, 3)).astype("float32"),
                             rng.normal(size=(3, 4)).astype("float32")])


def sequences():
    """Embedding, LSTM and GRU (both directions), Conv1D: the recurrent kernels' gate layouts."""
    keras.utils.set_random_seed(3)
    model = keras.Sequential([
        keras.Input((7,), dtype="int32"),
        layers.Embedding(20, 6),
        layers.Conv1D(5, 3, padding="same", activation="relu"),
        layers.LSTM(4, return_sequences=True),
        layers.Bidirectional(layers.GRU(3)),
        layers.Dense(1, activation="sigmoid"),
    ])
    save(model, "sequences", rng.integers(0, 20, size=(4, 7)).astype("int32"))


def transfer():
    """Keras's transfer-learning shape: a trained base model (batch normalization, frozen) inside
    a functional model, called with training=False, under a new head."""
    keras.utils.set_random_seed(4)
    x = rng.normal(size=(32, 6, 6, 2)).astype("float32")
    base = keras.Sequential([keras.Input((6, 6, 2)), layers.Conv2D(3, 3, activation="relu"),
                             layers.BatchNormalization(), layers.GlobalAveragePooling2D()], name="base")
    base.compile("adam", "mse")
    base.fit(x, rng.normal(size=(32, 3)).astype("float32"), epochs=2, verbose=0)
    base.trainable = False
    inputs = keras.Input((6, 6, 2))
    features = base(inputs, training=False)
    model = keras.Model(inputs, layers.Dense(2, activation="softmax")(layers.Dropout(0.2)(features)))
    save(model, "transfer", x[:4])


def zoo():
    """More layers, each with a layout of its own to move: depthwise and separable kernels, a
    transposed convolution's, upsampling, padding and cropping, a PReLU's slopes, TimeDistributed."""
    keras.utils.set_random_seed(5)
    inputs = keras.Input((8, 8, 3))
    h = layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="relu")(inputs)
    h = layers.SeparableConv2D(4, 3, depth_multiplier=2, padding="same")(h)
    h = layers.PReLU(alpha_initializer=keras.initializers.RandomUniform(0.1, 0.5), shared_axes=[1, 2])(h)
    h = layers.Conv2DTranspose(3, 3, strides=2, padding="same")(h)
    h = layers.AveragePooling2D(2)(layers.ZeroPadding2D(1)(h))
    h = layers.Cropping2D(((1, 0), (0, 1)))(layers.UpSampling2D(2)(h))
    h = layers.LeakyReLU(negative_slope=0.2)(layers.GlobalMaxPooling2D()(h))
    seq = layers.Reshape((3, 1))(h)
    seq = layers.TimeDistributed(layers.Dense(2))(seq)
    out = layers.Dense(2)(layers.Flatten()(layers.SimpleRNN(3, return_sequences=True)(seq)))
    model = keras.Model(inputs, out)
    save(model, "zoo", rng.normal(size=(2, 8, 8, 3)).astype("float32"))


def video():
    """Frames through ConvLSTM2D, the clip it gives through Conv3D and a 3-d pooling, then a
    ConvLSTM2D read backwards, trained a little: the recurrent and 3-d kernels' layouts."""
    keras.utils.set_random_seed(8)
    x = rng.normal(size=(16, 5, 8, 8, 2)).astype("float32")
    y = (x.mean(axis=(1, 2, 3, 4)) > 0).astype("int32")
    model = keras.Sequential([
        keras.Input((5, 8, 8, 2)),
        layers.ConvLSTM2D(4, 3, padding="same", return_sequences=True),
        layers.Conv3D(3, (2, 3, 3), strides=(1, 2, 2), activation="relu"),
        layers.MaxPooling3D((2, 1, 1)),
        layers.ConvLSTM2D(2, 2, go_backwards=True, recurrent_activation="hard_sigmoid"),
        layers.Flatten(),
        layers.Dense(2, activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    save(model, "video", x[:3])


def operations():
    """keras.ops between the layers of a functional model (Keras 3 writes each as a node)."""
    keras.utils.set_random_seed(6)
    from keras import ops
    inputs = keras.Input((4, 3))
    h = layers.Dense(3)(inputs / 2.0)
    pooled = ops.mean(ops.relu(h), axis=1, keepdims=True)
    joined = ops.concatenate([h, ops.tanh(h) * 2 + h[:, :, :1]], axis=-1)
    flat = ops.reshape(joined, (-1, 24))
    gram = ops.softmax(ops.matmul(ops.transpose(inputs, (0, 2, 1)), inputs), axis=-1)
    parts = [layers.Flatten()(pooled), ops.sqrt(ops.abs(flat)), layers.Flatten()(ops.expand_dims(ops.sum(gram, axis=-1), 1)),
             ops.maximum(ops.cast(flat, "float32"), 0.5)]
    model = keras.Model(inputs, layers.Dense(2)(layers.Concatenate()(parts)))
    save(model, "operations", rng.normal(size=(3, 4, 3)).astype("float32"))


def resumed():
    """Models trained a little and saved with their optimizers' state (Adam's moments, SGD's
    momentum), then two more steps in Keras on fixed batches: the weights after them."""
    for name, optimizer in (("resume_adam", keras.optimizers.Adam(0.01)),
                            ("resume_sgd", keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True)),
                            ("resume_adamw", keras.optimizers.AdamW(0.01, weight_decay=0.05)),
                            ("resume_adagrad", keras.optimizers.Adagrad(0.05))):
        keras.utils.set_random_seed(7)
        x = rng.normal(size=(48, 6, 6, 2)).astype("float32")
        y = (x.mean(axis=(1, 2, 3)) > 0).astype("int32")
        model = keras.Sequential([keras.Input((6, 6, 2)), layers.Conv2D(3, 3, activation="relu"),
                                  layers.BatchNormalization(), layers.Flatten(), layers.Dense(5, activation="tanh"),
                                  layers.Dense(2, activation="softmax")])
        model.compile(optimizer, "sparse_categorical_crossentropy")
        model.fit(x, y, epochs=3, batch_size=16, verbose=0)
        model.save(os.path.join(HERE, f"{name}.keras"))
        batches = [(x[:16], y[:16]), (x[16:32], y[16:32])]
        losses = [float(model.train_on_batch(bx, by)) for bx, by in batches]
        weights = [v.numpy() for v in model.weights]
        np.savez(os.path.join(HERE, f"{name}_after.npz"), x0=batches[0][0], y0=batches[0][1], x1=batches[1][0],
                 y1=batches[1][1], losses=np.array(losses), **{f"w{k}": w for k, w in enumerate(weights)})


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["resumed"]:  # (the files of optimizer state alone, made later)
        resumed()
        sys.exit()
    if sys.argv[1:] == ["video"]:  # (made later still)
        video()
        sys.exit()
    convnet()
    branches()
    sequences()
    transfer()
    zoo()
    operations()
    resumed()
    video()
