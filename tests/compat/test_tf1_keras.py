"""tf.keras in TensorFlow 1 code: symgraph's Keras API under TensorFlow's names, image layers
channels_last by default as tf.keras's, saving and loading, and tf.keras.datasets reading Keras's
cached files (nothing downloaded)."""
import numpy as np
import pytest

import symgraph as sg
import symgraph.compat.v1 as tf


def test_a_tf_keras_convnet_trains_on_channels_last_digits(tmp_path):
    (x_train, y_train), (x_test, y_test) = sg.datasets.load_digits()
    x_train, x_test = x_train.reshape(-1, 8, 8, 1), x_test.reshape(-1, 8, 8, 1)
    sg.layers.set_seed(0)
    model = tf.keras.Sequential([
        tf.keras.layers.Conv2D(16, 3, activation="relu", padding="same", input_shape=(8, 8, 1)),
        tf.keras.layers.MaxPooling2D(),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=tf.keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=5, batch_size=64, verbose=0,
              callbacks=[tf.keras.callbacks.EarlyStopping(monitor="loss", patience=2)])
    assert model.evaluate(x_test, y_test, verbose=0)[1] > 0.9
    assert model.layers[0].data_format == "channels_last" and type(model.layers[0]).__name__ == "Conv2D"
    assert isinstance(model.layers[0], sg.layers.Conv2D)
    first = tf.keras.layers.Conv2D(4, 3, data_format="channels_first")
    assert first.data_format == "channels_first"  # (asked for: as given)
    path = str(tmp_path / "digits.h5")
    model.save(path)
    again = tf.keras.models.load_model(path)
    np.testing.assert_allclose(again.predict(x_test[:5], verbose=0), model.predict(x_test[:5], verbose=0), rtol=1e-6)
    assert tf.keras.backend.image_data_format() == sg.keras_backend.image_data_format()  # (the global one untouched)


def test_tf_keras_datasets_read_kerass_cache_and_download_nothing(tmp_path):
    cached = tmp_path / "mnist.npz"
    rng = np.random.default_rng(0)
    np.savez(cached, x_train=rng.integers(0, 255, (4, 28, 28), dtype=np.uint8), y_train=np.arange(4),
             x_test=rng.integers(0, 255, (2, 28, 28), dtype=np.uint8), y_test=np.arange(2))
    (x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data(str(cached))
    assert x_train.shape == (4, 28, 28) and y_test.tolist() == [0, 1]
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        tf.keras.datasets.mnist.load_data(str(tmp_path / "absent.npz"))


def test_fit_evaluate_and_predict_take_tf_data_datasets():
    (x_train, y_train), (x_test, y_test) = sg.datasets.load_digits()
    x_train, x_test = x_train.reshape(-1, 64), x_test.reshape(-1, 64)
    sg.layers.set_seed(1)
    model = tf.keras.Sequential([tf.keras.layers.Dense(32, activation="relu", input_shape=(64,)),
                                 tf.keras.layers.Dense(10, activation="softmax")])
    model.compile(tf.keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    batches = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(500, seed=0).batch(64)
    history = model.fit(batches, epochs=4, verbose=0)  # (a pass of the dataset an epoch)
    assert history.history["loss"][-1] < history.history["loss"][0] / 2
    assert model.evaluate(tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(100), verbose=0)[1] > 0.9
    few = model.fit(batches.repeat(), epochs=1, steps_per_epoch=3, verbose=0)  # (an endless one: steps given)
    assert len(few.history["loss"]) == 1
    predicted = model.predict(tf.data.Dataset.from_tensor_slices(x_test[:5]).batch(2), verbose=0)
    # (float32 sums of other batch sizes: the last digit may differ)
    np.testing.assert_allclose(predicted, model.predict(x_test[:5], verbose=0), rtol=1e-5, atol=1e-9)
    first = next(iter(batches))
    assert first[0].shape == (64, 64) and first[1].dtype == y_train.dtype


def test_steps_of_a_dataset_go_on_from_epoch_to_epoch():
    """fit's steps_per_epoch of a dataset: each epoch takes the next batches of the pass the last
    one stopped in (a pass that ends starts the next), as tf.keras reads an endless dataset."""
    from symgraph.layers.training import _pulled
    for repeated in (True, False):
        batches = tf.data.Dataset.from_tensor_slices(np.arange(6)).batch(2)
        batches = batches.repeat() if repeated else batches
        epochs = [[b.tolist() for b in _pulled(batches, 2, "fit")] for _ in range(2)]
        assert epochs == [[[0, 1], [2, 3]], [[4, 5], [0, 1]]]
    model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(1,))])
    model.compile("sgd", "mse")
    pairs = tf.data.Dataset.from_tensor_slices((np.arange(6, dtype="float32")[:, None], np.zeros(6, "float32")))
    history = model.fit(pairs.batch(2).repeat(), epochs=2, steps_per_epoch=2, verbose=0)
    assert len(history.history["loss"]) == 2


def test_tf_keras_layers_in_a_tensorflow_1_graph_train_save_and_initialize(tmp_path):
    """TensorFlow 1.x code calling tf.keras layers on its placeholders: their weights are in the
    graph's collections (trained by minimize, saved by Saver, set by the initializer), their
    penalties in REGULARIZATION_LOSSES, as TensorFlow 1's."""
    tf.reset_default_graph()
    rng = np.random.default_rng(0)
    data = rng.normal(size=(200, 4)).astype("float32")
    labels = (data[:, 0] - data[:, 2] > 0).astype("int64")
    x, y = tf.placeholder(tf.float32, [None, 4]), tf.placeholder(tf.int64, [None])
    hidden = tf.keras.layers.Dense(16, activation="relu", kernel_regularizer=tf.keras.regularizers.l2(1e-3))(x)
    logits = tf.keras.layers.Dense(2)(hidden)
    keras_weights = [v for v in tf.trainable_variables()]
    assert len(keras_weights) == 4 and len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)) == 1
    loss = tf.losses.sparse_softmax_cross_entropy(y, logits) + tf.losses.get_regularization_loss()
    train = tf.train.AdamOptimizer(0.05).minimize(loss)
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = sess.run(loss, {x: data, y: labels})
        for _ in range(60):
            sess.run(train, {x: data, y: labels})
        trained = sess.run(loss, {x: data, y: labels})
        path = saver.save(sess, str(tmp_path / "model"))
        kernel = keras_weights[0].get_value().copy()
        sess.run(tf.global_variables_initializer())  # (back to the initial values)
        assert not np.allclose(keras_weights[0].get_value(), kernel)
        saver.restore(sess, path)
        np.testing.assert_array_equal(keras_weights[0].get_value(), kernel)
    assert trained < first / 3
    tf.reset_default_graph()
