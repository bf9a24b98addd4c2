"""Keras's keras.preprocessing.text: words to ids for Embedding layers. Tokenizer learns a
vocabulary (ids by frequency, 1 the most frequent; 0 is left to padding) and turns texts into
id sequences or bag-of-words matrices; text_to_word_sequence splits, one_hot / hashing_trick
hash words into a fixed range without a vocabulary.

    >>> tok = Tokenizer(num_words=1000, oov_token="<unk>")
    >>> tok.fit_on_texts(train_texts)
    >>> x = pad_sequences(tok.texts_to_sequences(train_texts), maxlen=40)
"""
import hashlib
import json
from collections import OrderedDict, defaultdict

import numpy as np

FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'


def text_to_word_sequence(text, filters=FILTERS, lower=True, split=" "):
    """The words of text: lowercased, each filter character made a separator, split on split."""
    if lower:
        text = text.lower()
    text = text.translate(str.maketrans({c: split for c in filters}))
    return [w for w in text.split(split) if w]


def hashing_trick(text, n, hash_function=None, filters=FILTERS, lower=True, split=" "):
    """Each word's hash into 1..n-1 (0 is left to padding). hash_function None is Python's hash,
    which changes between processes unless PYTHONHASHSEED is set, as Keras warns; "md5" is
    stable, or pass any function of a string to an int."""
    if hash_function is None:
        hash_function = hash
    elif hash_function == "md5":
        def hash_function(word):
            return int(hashlib.md5(word.encode()).hexdigest(), 16)
    return [hash_function(w) % (n - 1) + 1 for w in text_to_word_sequence(text, filters, lower, split)]


def one_hot(text, n, filters=FILTERS, lower=True, split=" "):
    """Keras's one_hot: hashing_trick with Python's hash (word ids, not one-hot vectors)."""
    return hashing_trick(text, n, None, filters, lower, split)


class Tokenizer:
    """Keras's Tokenizer. fit_on_texts counts words (or characters, char_level=True); ids go by
    count, most frequent first, ties in the order first seen; oov_token, when given, is id 1
    and stands for words not in the vocabulary. num_words keeps the num_words - 1 most frequent
    ids in the sequences and matrices made (word_index keeps them all)."""

    def __init__(self, num_words=None, filters=FILTERS, lower=True, split=" ", char_level=False,
                 oov_token=None, document_count=0):
        self.num_words, self.filters, self.lower, self.split = num_words, filters, lower, split
        self.char_level, self.oov_token, self.document_count = char_level, oov_token, document_count
        self.word_counts = OrderedDict()
        self.word_docs = defaultdict(int)
        self.index_docs = defaultdict(int)
        self.word_index, self.index_word = {}, {}

    def _words(self, text):
        if self.char_level or isinstance(text, (list, tuple)):
            return [w.lower() if self.lower and isinstance(w, str) else w for w in text]
        return text_to_word_sequence(text, self.filters, self.lower, self.split)

    def fit_on_texts(self, texts):
        """Count the words of each text (a string, or a list of tokens already split)."""
        for text in texts:
            self.document_count += 1
            words = self._words(text)
            for w in words:
                self.word_counts[w] = self.word_counts.get(w, 0) + 1
            for w in set(words):
                self.word_docs[w] += 1
        by_count = sorted(self.word_counts.items(), key=lambda wc: wc[1], reverse=True)  # (stable)
        vocabulary = ([] if self.oov_token is None else [self.oov_token]) + [w for w, _ in by_count]
        self.word_index = {w: i for i, w in enumerate(vocabulary, start=1)}
        self.index_word = {i: w for w, i in self.word_index.items()}
        self.index_docs = defaultdict(int, {self.word_index[w]: c for w, c in self.word_docs.items()})

    def fit_on_sequences(self, sequences):
        """Count documents per id (what the "tfidf" matrices need) from id sequences."""
        self.document_count += len(sequences)
        for seq in sequences:
            for i in set(seq):
                self.index_docs[i] += 1

    def texts_to_sequences(self, texts):
        return list(self.texts_to_sequences_generator(texts))

    def _kept(self, i):
        """Whether id i is in the vocabulary the sequences use (num_words' most frequent)."""
        return i in self.index_word and not (self.num_words and i >= self.num_words)

    def _oov(self):
        return self.word_index.get(self.oov_token) if self.oov_token is not None else None

    def texts_to_sequences_generator(self, texts):
        oov = self._oov()
        for text in texts:
            ids = [self.word_index.get(w) for w in self._words(text)]
            yield [i if self._kept(i) else oov for i in ids if self._kept(i) or oov is not None]

    def sequences_to_texts(self, sequences):
        """Id sequences back to space-joined words (ids past num_words as the oov token, or left out)."""
        oov = self._oov()
        return [" ".join(self.index_word[i if self._kept(i) else oov] for i in seq if self._kept(i) or oov is not None)
                for seq in sequences]

    def texts_to_matrix(self, texts, mode="binary"):
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode)

    def sequences_to_matrix(self, sequences, mode="binary"):
        """A row per sequence, a column per id: mode "binary" (present), "count", "freq" (count /
        length) or "tfidf" (1 + log count, times log(1 + documents / (1 + documents with the id)))."""
        if mode not in ("binary", "count", "freq", "tfidf"):
            raise ValueError(f"sequences_to_matrix: mode is 'binary', 'count', 'freq' or 'tfidf', got {mode!r}")
        if not self.num_words and not self.word_index:
            raise ValueError("sequences_to_matrix: fit the Tokenizer on texts first, or give num_words")
        width = self.num_words or len(self.word_index) + 1
        if mode == "tfidf" and not self.document_count:
            raise ValueError("sequences_to_matrix: 'tfidf' needs document counts: fit the Tokenizer first")
        x = np.zeros((len(sequences), width))
        for row, seq in enumerate(sequences):
            ids, counts = np.unique([i for i in seq if i < width], return_counts=True)
            if not len(ids):
                continue
            if mode == "binary":
                x[row, ids] = 1
            elif mode == "count":
                x[row, ids] = counts
            elif mode == "freq":
                x[row, ids] = counts / len(seq)
            else:
                docs = np.array([self.index_docs.get(int(i), 0) for i in ids])
                x[row, ids] = (1 + np.log(counts)) * np.log(1 + self.document_count / (1 + docs))
        return x

    def get_config(self):
        return {"num_words": self.num_words, "filters": self.filters, "lower": self.lower, "split": self.split,
                "char_level": self.char_level, "oov_token": self.oov_token, "document_count": self.document_count,
                "word_counts": json.dumps(self.word_counts), "word_docs": json.dumps(self.word_docs),
                "index_docs": json.dumps(self.index_docs), "word_index": json.dumps(self.word_index),
                "index_word": json.dumps(self.index_word)}

    def to_json(self, **kwargs):
        """The tokenizer's configuration and vocabulary as JSON (tokenizer_from_json reads it)."""
        return json.dumps({"class_name": "Tokenizer", "config": self.get_config()}, **kwargs)


def tokenizer_from_json(json_string):
    """A Tokenizer back from Tokenizer.to_json."""
    config = dict(json.loads(json_string)["config"])
    state = {k: json.loads(config.pop(k)) for k in ("word_counts", "word_docs", "index_docs", "word_index", "index_word")}
    tok = Tokenizer(**config)
    tok.word_counts = OrderedDict(state["word_counts"])
    tok.word_docs = defaultdict(int, state["word_docs"])
    tok.index_docs = defaultdict(int, {int(i): c for i, c in state["index_docs"].items()})
    tok.word_index = state["word_index"]
    tok.index_word = {int(i): w for i, w in state["index_word"].items()}
    return tok
