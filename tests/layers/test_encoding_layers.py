"""Keras's TextVectorization (on arrays of strings), CategoryEncoding and Discretization (in
the graph, both CPU backends), against NumPy written from Keras's definitions."""
import numpy as np
import pytest

import symgraph as sg

L = sg.layers
TEXTS = ["The cat sat.", "The dog sat on the mat!", "a cat, a DOG"]


def test_text_vectorization_learns_a_vocabulary_and_maps_texts_as_keras():
    vectorize = L.TextVectorization(max_tokens=8, output_sequence_length=5)
    vectorize.adapt(TEXTS)
    # (counts: the 3, cat 2, sat 2, dog 2, a 2, on 1, mat 1; ties in the order first seen; 6 fit)
    assert vectorize.get_vocabulary() == ["", "[UNK]", "the", "cat", "sat", "dog", "a", "on"]
    np.testing.assert_array_equal(vectorize(["the mat sat on a cat!", "Dog"]),
                                  [[2, 1, 4, 7, 6], [5, 0, 0, 0, 0]])  # (cut to 5; padded with 0)
    counts = L.TextVectorization(output_mode="count", vocabulary=["cat", "dog"])
    np.testing.assert_array_equal(counts(np.array(["cat cat bird", "dog"])), [[1, 2, 0], [0, 0, 1]])
    hot = L.TextVectorization(output_mode="multi_hot", vocabulary=["cat", "dog"], standardize=None)
    np.testing.assert_array_equal(hot(["Cat cat dog"]), [[1, 1, 1]])  # ("Cat": not lowered, so unknown)
    tf_idf = L.TextVectorization(output_mode="tf_idf")
    tf_idf.adapt(["a b b", "b c"])
    idf = {"a": np.log(1 + 2 / 2), "b": np.log(1 + 2 / 3), "c": np.log(1 + 2 / 2)}
    assert tf_idf.get_vocabulary() == ["[UNK]", "b", "a", "c"]
    np.testing.assert_allclose(tf_idf(["b b z"]), [[np.mean(list(idf.values())), 2 * idf["b"], 0, 0]], rtol=1e-6)
    with pytest.raises(ValueError, match="output_mode"):
        L.TextVectorization(output_mode="binary")


def test_text_vectorization_ngrams_as_keras():
    """ngrams=2: the words, then the pairs of neighbours, as tokens (Keras's order, joined by a
    space); a tuple of widths gives only those."""
    bigrams = L.TextVectorization(ngrams=2, output_mode="count")
    bigrams.adapt(["the cat sat", "the cat ran"])
    assert bigrams.get_vocabulary() == ["[UNK]", "the", "cat", "the cat", "sat", "cat sat", "ran", "cat ran"]
    np.testing.assert_array_equal(bigrams(["The cat sat on"]), [[2, 1, 1, 1, 1, 1, 0, 0]])  # ("on", "sat on": unknown)
    ids = L.TextVectorization(ngrams=(2,), vocabulary=["a b", "b c"])
    np.testing.assert_array_equal(ids(["a b c", "c a b"]), [[2, 3], [1, 2]])
    assert L.TextVectorization(**ids.get_config())(["b c"]).tolist() == [[3]]
    with pytest.raises(ValueError, match="ngrams"):
        L.TextVectorization(ngrams=0)


def test_kerass_text_classification_idiom_with_text_vectorization():
    """Texts vectorized before the model (Keras's dataset.map(vectorize_layer)), then Embedding,
    a pooled average and a sigmoid: the label says whether "good" outnumbers "bad"."""
    rng = np.random.default_rng(4)
    words = ["good", "bad", "movie", "plot", "actor", "the", "was", "very"]
    texts, labels = [], []
    for _ in range(600):
        picked = rng.choice(words, size=rng.integers(3, 10))
        texts.append(" ".join(picked).capitalize() + "!")
        labels.append(float((picked == "good").sum() > (picked == "bad").sum()))
    vectorize = L.TextVectorization(max_tokens=20, output_sequence_length=10)
    vectorize.adapt(texts[:500])
    ids, labels = vectorize(texts), np.array(labels, "float32")
    L.set_seed(0)
    model = L.Sequential([L.Embedding(20, 8, input_length=10), L.GlobalAveragePooling1D(),
                          L.Dense(1, activation="sigmoid")])
    model.compile(sg.optimizers.Adam(0.02), "binary_crossentropy", metrics=["accuracy"])
    model.fit(ids[:500], labels[:500], epochs=40, batch_size=32, verbose=0)
    assert model.evaluate(ids[500:], labels[500:])[1] > 0.85


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_category_encoding_and_discretization_in_a_model(backend):
    categories = L.Input((3,), dtype="int64")
    one = L.Input((1,), dtype="int64")
    numbers = L.Input((4,))
    bins = L.Discretization(bin_boundaries=[0.0, 1.0, 2.5])
    model = L.Model([categories, one, numbers],
                    [L.CategoryEncoding(5, output_mode="count")(categories),
                     L.CategoryEncoding(5, output_mode="multi_hot")(categories),
                     L.CategoryEncoding(5, output_mode="one_hot")(one), bins(numbers)])
    model.compile("sgd", ["mse"] * 4, backend=backend)
    ids = np.array([[1, 1, 3], [0, 4, 4]])
    values = np.array([[-1.0, 0.0, 0.5, 2.5], [1.0, 3.0, 2.4, -0.0]], "float32")
    count, multi, single, binned = model.predict([ids, ids[:, :1], values])
    want = np.stack([np.bincount(row, minlength=5) for row in ids])
    np.testing.assert_array_equal(count, want)
    np.testing.assert_array_equal(multi, np.minimum(want, 1))
    np.testing.assert_array_equal(single, np.eye(5)[ids[:, 0]])
    np.testing.assert_array_equal(binned, np.digitize(values, [0.0, 1.0, 2.5]))  # ([b_i, b_i+1) bins, as Keras)
    learned = L.Discretization(num_bins=4)
    data = np.random.default_rng(1).normal(size=1000)
    learned.adapt(data)
    x = L.Input((1000,))
    counts = np.bincount(L.Model(x, learned(x)).predict(data[None]).reshape(-1), minlength=4)
    assert counts.tolist() == [250] * 4
    with pytest.raises(ValueError, match="bin_boundaries or num_bins"):
        L.Discretization()


def test_string_and_integer_lookups_as_keras():
    """Keras's index layout: [mask], the unknown values' index, then the vocabulary by count;
    one-hot, multi-hot and count vectors; invert maps indices back."""
    colors = L.StringLookup()
    colors.adapt(np.array([["red", "blue"], ["red", "green"], ["blue", "red"]]))
    assert colors.get_vocabulary() == ["[UNK]", "red", "blue", "green"]
    np.testing.assert_array_equal(colors(np.array(["green", "pink", b"red"])), [3, 0, 1])
    np.testing.assert_array_equal(colors(np.array([["red", "red"], ["blue", "cyan"]])), [[1, 1], [2, 0]])
    counts = L.StringLookup(vocabulary=["a", "b"], output_mode="count")
    np.testing.assert_array_equal(counts(np.array([["a", "a", "z"], ["b", "a", "b"]])), [[1, 2, 0], [0, 1, 2]])
    hot = L.StringLookup(vocabulary=["a", "b"], output_mode="one_hot")
    np.testing.assert_array_equal(hot(np.array(["b", "q"])), [[0, 0, 1], [1, 0, 0]])
    back = L.StringLookup(vocabulary=["a", "b"], invert=True)
    assert back(np.array([2, 0, 1])).tolist() == ["b", "[UNK]", "a"]
    codes = L.IntegerLookup(mask_token=0)
    codes.adapt([12, 7, 12, 0, 99, 7, 12])
    assert codes.get_vocabulary() == [0, -1, 12, 7, 99] and codes.vocabulary_size() == 5
    np.testing.assert_array_equal(codes([7, 0, 5, 99]), [3, 0, 1, 4])
    strict = L.IntegerLookup(vocabulary=[3, 4], num_oov_indices=0)
    np.testing.assert_array_equal(strict([4, 3]), [1, 0])
    with pytest.raises(ValueError, match="5 is not in the vocabulary"):
        strict([5])
    again = L.IntegerLookup(**codes.get_config())
    np.testing.assert_array_equal(again([7, 0, 5, 99]), [3, 0, 1, 4])
    with pytest.raises(NotImplementedError, match="num_oov_indices"):
        L.StringLookup(num_oov_indices=2)


@pytest.mark.slow  # (7-28 s cold; the quick tier ran 12 minutes cold: its parts stay tested there, CI runs both)
def test_kerass_structured_data_recipe_with_lookups():
    """A categorical string column and an integer-coded one through the lookups, into
    Embedding and CategoryEncoding inside a two-input model: the label depends on both."""
    rng = np.random.default_rng(5)
    cities = rng.choice(["paris", "lyon", "nice", "lille"], size=400)
    zips = rng.choice([75001, 69002, 6000, 59000, 13001], size=400)
    labels = ((cities == "nice") | (zips == 13001)).astype("float32")
    city_lookup, zip_lookup = L.StringLookup(), L.IntegerLookup(output_mode="one_hot")
    city_lookup.adapt(cities[:300])
    zip_lookup.adapt(zips[:300])
    city_ids, zip_hot = city_lookup(cities), zip_lookup(zips)
    L.set_seed(0)
    city_in, zip_in = L.Input((1,), dtype="int64"), L.Input((zip_lookup.vocabulary_size(),))
    city = L.Flatten()(L.Embedding(city_lookup.vocabulary_size(), 4)(city_in))
    out = L.Dense(1, activation="sigmoid")(L.Dense(8, activation="relu")(L.concatenate([city, zip_in])))
    model = L.Model([city_in, zip_in], out)
    model.compile(sg.optimizers.Adam(0.05), "binary_crossentropy", metrics=["accuracy"])
    model.fit([city_ids[:300, None], zip_hot[:300]], labels[:300], epochs=30, batch_size=32, verbose=0)
    assert model.evaluate([city_ids[300:, None], zip_hot[300:]], labels[300:])[1] > 0.95
