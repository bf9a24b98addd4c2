"""Keras's keras.preprocessing.text and .sequence: Tokenizer (vocabulary by frequency, oov,
num_words, the four matrix modes, JSON), text_to_word_sequence, hashing, pad_sequences of
vectors, TimeseriesGenerator (Keras's documented example), skipgrams; and the models they feed:
a text classifier from raw strings and a forecaster fit on a TimeseriesGenerator."""
import json

import numpy as np
import pytest

import symgraph as sg
from symgraph.preprocessing.sequence import TimeseriesGenerator, pad_sequences, skipgrams, make_sampling_table
from symgraph.preprocessing.text import Tokenizer, text_to_word_sequence, hashing_trick, one_hot, tokenizer_from_json

L = sg.layers
TEXTS = ["The cat sat on the mat.", "The dog sat on the log!", "Cats and dogs, and the birds?"]


def test_text_to_word_sequence_and_hashing():
    assert text_to_word_sequence("Hello, World!  It's\tme.") == ["hello", "world", "it's", "me"]
    assert text_to_word_sequence("a-b c", filters="", lower=False, split="-") == ["a", "b c"]
    ids = hashing_trick("the cat the", 10, "md5")
    assert ids[0] == ids[2] and all(1 <= i <= 9 for i in ids)
    assert hashing_trick("the cat the", 10, "md5") == ids  # (md5 is the same in every process)
    assert len(one_hot("a b c", 5)) == 3


def test_tokenizer_vocabulary_sequences_and_oov():
    tok = Tokenizer()
    tok.fit_on_texts(TEXTS)
    # "the" 5 times, then "sat", "on", "and" twice each, in the order first seen, then the rest
    assert list(tok.word_index)[:5] == ["the", "sat", "on", "and", "cat"]
    assert tok.word_index["the"] == 1 and tok.document_count == 3
    assert tok.word_counts["the"] == 5 and tok.word_docs["the"] == 3 and tok.word_docs["and"] == 1
    assert tok.texts_to_sequences(["the cat and the unicorn"]) == [[1, 5, 4, 1]]
    assert tok.sequences_to_texts([[1, 5, 4, 1]]) == ["the cat and the"]

    small = Tokenizer(num_words=4, oov_token="<unk>")
    small.fit_on_texts(TEXTS)
    assert small.word_index["<unk>"] == 1 and small.word_index["the"] == 2
    assert small.texts_to_sequences(["the cat sat on a mat"]) == [[2, 1, 3, 1, 1, 1]]
    assert small.sequences_to_texts([[2, 1, 3]]) == ["the <unk> sat"]

    chars = Tokenizer(char_level=True)
    chars.fit_on_texts(["abca", "AB"])
    assert chars.word_index == {"a": 1, "b": 2, "c": 3}
    words = Tokenizer()
    words.fit_on_texts([["New York", "is"], ["new york"]])  # (lists of tokens already split)
    assert words.word_index == {"new york": 1, "is": 2}


def test_tokenizer_matrices_match_keras_formulas():
    tok = Tokenizer(num_words=6)
    tok.fit_on_texts(TEXTS)
    seqs = tok.texts_to_sequences(["the the cat", "sat on on on"])
    assert seqs == [[1, 1, 5], [2, 3, 3, 3]]
    binary, count, freq, tfidf = (tok.texts_to_matrix(["the the cat", "sat on on on"], mode) for mode in
                                  ("binary", "count", "freq", "tfidf"))
    assert binary.shape == (2, 6)
    np.testing.assert_array_equal(binary[0], [0, 1, 0, 0, 0, 1])
    np.testing.assert_array_equal(count[1], [0, 0, 1, 3, 0, 0])
    np.testing.assert_allclose(freq[0], [0, 2 / 3, 0, 0, 0, 1 / 3])
    docs = {1: 3, 2: 2, 3: 2, 5: 1}  # (documents holding each id)
    want = np.zeros(6)
    for i, c in {2: 1, 3: 3}.items():
        want[i] = (1 + np.log(c)) * np.log(1 + 3 / (1 + docs[i]))
    np.testing.assert_allclose(tfidf[1], want)
    with pytest.raises(ValueError, match="mode"):
        tok.texts_to_matrix(["x"], "onehot")
    with pytest.raises(ValueError, match="fit the Tokenizer"):
        Tokenizer().texts_to_matrix(["x"])


def test_tokenizer_survives_json():
    tok = Tokenizer(num_words=5, oov_token="?")
    tok.fit_on_texts(TEXTS)
    back = tokenizer_from_json(tok.to_json())
    assert json.loads(back.to_json()) == json.loads(tok.to_json())
    assert back.texts_to_sequences(TEXTS) == tok.texts_to_sequences(TEXTS)
    np.testing.assert_array_equal(back.texts_to_matrix(TEXTS, "tfidf"), tok.texts_to_matrix(TEXTS, "tfidf"))


def test_pad_sequences_of_vectors():
    seqs = [np.ones((2, 3)), np.full((4, 3), 2.0)]
    out = pad_sequences(seqs, maxlen=3, dtype="float32", padding="post")
    assert out.shape == (2, 3, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out[0], [[1] * 3, [1] * 3, [0] * 3])
    np.testing.assert_array_equal(out[1], np.full((3, 3), 2.0))
    with pytest.raises(ValueError, match="of one shape"):
        pad_sequences([np.ones((2, 3)), np.ones((2, 4))])


def test_timeseries_generator_as_kerass_documented_example():
    data = np.array([[i] for i in range(50)])
    targets = np.array([[i] for i in range(50)])
    gen = TimeseriesGenerator(data, targets, length=10, sampling_rate=2, batch_size=2)
    assert len(gen) == 20
    x, y = gen[0]
    np.testing.assert_array_equal(x, [[[0], [2], [4], [6], [8]], [[1], [3], [5], [7], [9]]])
    np.testing.assert_array_equal(y, [[10], [11]])
    x, y = gen[19]  # (the last batch: windows ending at 48 and 49)
    np.testing.assert_array_equal(y, [[48], [49]])
    strided = TimeseriesGenerator(data, targets, length=3, stride=4, batch_size=3, reverse=True, end_index=30)
    x, y = strided[1]
    np.testing.assert_array_equal(y[:, 0], [15, 19, 23])
    np.testing.assert_array_equal(x[0, :, 0], [14, 13, 12])
    assert len(strided) == 3 and len(strided[2][1]) == 1
    shuffled = TimeseriesGenerator(data, targets, length=5, shuffle=True, batch_size=8, seed=0)
    x, y = shuffled[0]
    np.testing.assert_array_equal(x[:, -1, 0] + 1, y[:, 0])
    with pytest.raises(IndexError):
        gen[20]
    with pytest.raises(ValueError, match="no window fits"):
        TimeseriesGenerator(data[:5], targets[:5], length=10)


def test_skipgrams_pairs_and_sampling_table():
    couples, labels = skipgrams([1, 2, 0, 3], vocabulary_size=10, window_size=1, seed=0, shuffle=False)
    assert couples[:2] == [[1, 2], [2, 1]] and labels[:2] == [1, 1]  # (0 is padding: no pair with it)
    assert len(couples) == 4 and labels[2:] == [0, 0]
    assert all(1 <= c[1] < 10 for c in couples[2:])
    _, categorical = skipgrams([1, 2], 5, negative_samples=0, categorical=True, seed=1)
    assert categorical == [[0, 1], [0, 1]]
    table = make_sampling_table(100)
    assert table.shape == (100,) and np.all(np.diff(table) >= 0) and table.max() <= 1


@pytest.mark.slow  # (7-28 s cold; the quick tier ran 12 minutes cold: its parts stay tested there, CI runs both)
def test_a_text_classifier_from_raw_strings():
    rng = np.random.default_rng(0)
    good, bad = ["great", "fine", "superb", "lovely"], ["awful", "poor", "dire", "bad"]
    filler = ["the", "film", "was", "plot", "and", "acting", "really", "quite"]
    texts, labels = [], []
    for _ in range(300):
        label = int(rng.integers(2))
        words = list(rng.choice(filler, int(rng.integers(3, 9)))) + [rng.choice(good if label else bad)]
        rng.shuffle(words)
        texts.append(" ".join(words).capitalize() + "!")
        labels.append(label)
    tok = Tokenizer(num_words=50, oov_token="<unk>")
    tok.fit_on_texts(texts[:240])
    x = pad_sequences(tok.texts_to_sequences(texts), maxlen=10)
    y = np.array(labels)
    model = L.Sequential([L.Embedding(50, 8, input_length=10, mask_zero=True), L.GlobalAveragePooling1D(),
                          L.Dense(1, activation="sigmoid")])
    model.compile(optimizer=sg.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x[:240], y[:240], epochs=15, batch_size=32, verbose=0)
    assert model.evaluate(x[240:], y[240:], verbose=0)[1] > 0.9


def test_a_forecaster_fit_on_a_timeseries_generator():
    steps = np.arange(400)
    series = np.stack([np.sin(steps * 0.1), np.cos(steps * 0.1)], axis=1).astype("float32")
    train = TimeseriesGenerator(series, series[:, 0], length=12, batch_size=32, end_index=299)
    test = TimeseriesGenerator(series, series[:, 0], length=12, batch_size=32, start_index=300)
    model = L.Sequential([L.SimpleRNN(16, input_shape=(12, 2)), L.Dense(1)])
    model.compile(optimizer=sg.optimizers.Adam(0.01), loss="mse")
    before = model.evaluate(test, verbose=0)
    model.fit(train, epochs=8, verbose=0)
    after = model.evaluate(test, verbose=0)
    assert after < 0.01 and after < before / 10
    x, _ = test[0]
    np.testing.assert_allclose(model.predict(x, verbose=0)[:, 0], np.sin((steps[312:344]) * 0.1), atol=0.15)


def test_timeseries_dataset_from_array_windows_as_kerass_and_trains():
    """keras.utils.timeseries_dataset_from_array: windows of sequence_length steps sampling_rate
    apart, starting sequence_stride apart from start_index, targets[i] with the window starting
    at i (Keras's documented examples), shuffled by seed, fed to fit."""
    steps = np.arange(100)
    ds = sg.utils.timeseries_dataset_from_array(steps, None, sequence_length=10, sampling_rate=2, sequence_stride=3,
                                                batch_size=4)
    first = ds[0]
    np.testing.assert_array_equal(first[0], np.arange(0, 20, 2))
    np.testing.assert_array_equal(first[1], np.arange(3, 23, 2))
    assert sum(len(b) for b in ds) == len(range(0, 100 - 9 * 2, 3))
    # Keras's example 2: the target of each window the step after it.
    x = np.arange(10)
    windows = list(sg.utils.timeseries_dataset_from_array(x[:-3], x[3:], sequence_length=3, batch_size=2))
    np.testing.assert_array_equal(np.concatenate([w for w, _ in windows]), [[0, 1, 2], [1, 2, 3], [2, 3, 4],
                                                                             [3, 4, 5], [4, 5, 6]])
    np.testing.assert_array_equal(np.concatenate([t for _, t in windows]), [3, 4, 5, 6, 7])
    shuffled = sg.utils.timeseries_dataset_from_array(x[:-3], x[3:], sequence_length=3, batch_size=5, shuffle=True,
                                                      seed=1)[0]
    np.testing.assert_array_equal(shuffled[0][:, 0] + 3, shuffled[1])  # (each window with its own target)
    assert not np.array_equal(shuffled[1], [3, 4, 5, 6, 7])
    series = np.sin(np.arange(400) * 0.1).astype("float32")[:, None]
    train = sg.utils.timeseries_dataset_from_array(series[:-8], series[8:, 0], sequence_length=8, batch_size=32,
                                                   shuffle=True, seed=0)
    L.set_seed(0)
    model = L.Sequential([L.LSTM(8, input_shape=(8, 1)), L.Dense(1)])
    model.compile(sg.optimizers.Adam(0.02), "mse")
    history = model.fit(train, epochs=6, verbose=0)
    assert history.history["loss"][-1] < 0.1 * history.history["loss"][0]  # (0.009 of it over three seeds)


def test_progbar_draws_the_running_means_of_a_loop_of_ones_own(capsys):
    bar = sg.utils.Progbar(4, width=8, stateful_metrics=["lr"])
    for step, loss in enumerate([4.0, 2.0, 2.0, 0.0]):
        bar.update(step + 1, [("loss", loss), ("lr", 0.1 * (step + 1))])
    line = capsys.readouterr().out.split("\r")[-1]
    assert line.startswith("4/4 [========]") and "loss: 2.0000" in line and "lr: 0.4000" in line
    assert line.endswith("\n")
    bar = sg.utils.Progbar(None, verbose=0)
    bar.add(3, [("acc", 1.0)])
    assert bar.seen == 3


def test_text_dataset_from_directory_reads_each_class_folders_texts(tmp_path):
    """keras.utils.text_dataset_from_directory: the .txt files of class subfolders as batches of
    strings and labels (max_length cuts them), fed to TextVectorization and a classifier."""
    for label, words in (("neg", ["awful", "bad", "dull"]), ("pos", ["great", "good", "fine"])):
        (tmp_path / label).mkdir()
        for k in range(12):
            (tmp_path / label / f"{k}.txt").write_text(f"it was {words[k % 3]} and {words[(k + 1) % 3]}")
        (tmp_path / label / "notes.md").write_text("not a text file of the set")
    train, val = sg.utils.text_dataset_from_directory(tmp_path, batch_size=8, validation_split=0.25, subset="both",
                                                      seed=2, verbose=False)
    assert train.class_names == ["neg", "pos"] and len(train.file_paths) + len(val.file_paths) == 24
    texts, labels = train[0]
    assert texts.dtype == object and texts.shape == (8,) and labels.dtype == np.int32
    for text, label in zip(texts, labels):
        assert any(w in text for w in (["awful", "bad", "dull"], ["great", "good", "fine"])[label])
    short = sg.utils.text_dataset_from_directory(tmp_path, max_length=6, shuffle=False, verbose=False)
    assert short[0][0][0] == "it was"
    vectorize = L.TextVectorization(max_tokens=20, output_mode="multi_hot")
    vectorize.adapt(np.concatenate([t for t, _ in train]))
    L.set_seed(0)
    model = L.Sequential([L.Dense(2, activation="softmax", input_shape=(20,))])
    model.compile(sg.optimizers.Adam(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(train.map(lambda t, y: (vectorize(t), y)), epochs=10, verbose=0)
    assert model.evaluate(val.map(lambda t, y: (vectorize(t), y)), verbose=0)[1] == 1.0
