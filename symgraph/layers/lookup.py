"""Keras's StringLookup and IntegerLookup: categorical features (strings, or integer codes that
are not 0..n-1) to indices into a vocabulary learned by adapt or given, or to one-hot,
multi-hot or count vectors; invert=True maps indices back. As TextVectorization, they work on
arrays before the graph (a model's inputs are numbers here): Keras's structured-data recipe
maps them over the data, then feeds the indices to Embedding or CategoryEncoding.

The indices, as Keras's: the mask token's 0 (only when mask_token is given), then the
out-of-vocabulary index (num_oov_indices=1; 0 makes an unknown value an error), then the
vocabulary, most frequent first (ties in the order first seen)."""
from collections import Counter

import numpy as np


def ranked(values):
    """The distinct values, most frequent first, ties in the order first seen."""
    counts = Counter(values)
    order = {v: k for k, v in enumerate(dict.fromkeys(values))}
    return sorted(counts, key=lambda v: (-counts[v], order[v]))


def bag(rows, width, mode):
    """Each row of ids as a (width,) float32 vector: its counts, or with mode "multi_hot" 0 or 1
    (Keras's count and multi_hot outputs, TextVectorization's and the lookups')."""
    out = np.zeros((len(rows), width), np.float32)
    for k, ids in enumerate(rows):
        np.add.at(out[k], ids, 1.0)
    return np.minimum(out, 1) if mode == "multi_hot" else out


class _Lookup:
    """The shared machinery; subclasses give the value type (key) and the defaults."""
    default_oov = None

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=None, vocabulary=None,
                 invert=False, output_mode="int", name=None, **ignored):
        if num_oov_indices not in (0, 1):
            raise NotImplementedError(f"{type(self).__name__}: num_oov_indices is 0 or 1 (Keras hashes unknown "
                                      f"values into more buckets; not done here)")
        if output_mode not in ("int", "one_hot", "multi_hot", "count"):
            raise ValueError(f"{type(self).__name__}: output_mode is 'int', 'one_hot', 'multi_hot' or 'count', "
                             f"got {output_mode!r}")
        if invert and output_mode != "int":
            raise ValueError(f"{type(self).__name__}: invert=True maps indices back, with output_mode='int'")
        self.max_tokens, self.num_oov_indices, self.mask_token = max_tokens, int(num_oov_indices), mask_token
        self.oov_token = self.default_oov if oov_token is None else oov_token
        self.invert, self.output_mode, self.name = bool(invert), output_mode, name
        self._set([])
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)

    def _specials(self):
        return ([self.key(self.mask_token)] if self.mask_token is not None else []) \
            + [self.key(self.oov_token)] * self.num_oov_indices

    def _set(self, words):
        self.vocabulary = self._specials() + list(words)
        self.index = {w: k for k, w in enumerate(self.vocabulary) if k >= len(self._specials())}
        if self.mask_token is not None:
            self.index[self.key(self.mask_token)] = 0

    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary from the values in `data` (any shape)."""
        specials = set(self._specials())
        words = [w for w in ranked([self.key(v) for v in np.asarray(data, dtype=object).reshape(-1)])
                 if w not in specials]
        room = None if self.max_tokens is None else self.max_tokens - len(self._specials())
        self._set(words[:room])

    def set_vocabulary(self, vocabulary):
        specials = set(self._specials())
        self._set([self.key(w) for w in vocabulary if self.key(w) not in specials])

    def get_vocabulary(self, include_special_tokens=True):
        return list(self.vocabulary) if include_special_tokens else self.vocabulary[len(self._specials()):]

    def vocabulary_size(self):
        return len(self.vocabulary)

    def __call__(self, data):
        """Indices (int64, data's shape), or with invert the values of indices; one_hot:
        (..., vocabulary) per value; multi_hot and count: (batch, vocabulary) per example."""
        values = np.asarray(data, dtype=object)
        if self.invert:
            indices = values.astype(np.int64)
            if indices.size and (indices.min() < 0 or indices.max() >= len(self.vocabulary)):
                raise ValueError(f"{type(self).__name__}: indices must be in [0, {len(self.vocabulary)}), got "
                                 f"{indices.min()}..{indices.max()}")
            return np.array(self.vocabulary, dtype=object)[indices]
        oov = len(self._specials()) - 1 if self.num_oov_indices else None
        flat = [self.index.get(self.key(v), oov) for v in values.reshape(-1)]
        if oov is None and None in flat:
            unknown = next(v for v, k in zip(values.reshape(-1), flat) if k is None)
            raise ValueError(f"{type(self).__name__}: {unknown!r} is not in the vocabulary (num_oov_indices=0)")
        indices = np.array(flat, dtype=np.int64).reshape(values.shape)
        if self.output_mode == "int":
            return indices
        width = self.max_tokens or len(self.vocabulary)
        if self.output_mode == "one_hot":
            return np.eye(width, dtype=np.float32)[indices]
        rows = indices.reshape(len(indices), -1) if indices.ndim else indices.reshape(1, -1)
        return bag(rows, width, self.output_mode)

    def get_config(self):
        return {"max_tokens": self.max_tokens, "num_oov_indices": self.num_oov_indices,
                "mask_token": self.mask_token, "oov_token": self.oov_token, "invert": self.invert,
                "output_mode": self.output_mode, "name": self.name,
                "vocabulary": self.get_vocabulary(include_special_tokens=False)}


class StringLookup(_Lookup):
    """Strings (or bytes) to indices: Keras's StringLookup, "[UNK]" the unknown values' token."""
    default_oov = "[UNK]"

    @staticmethod
    def key(value):
        return value.decode() if isinstance(value, bytes) else str(value)


class IntegerLookup(_Lookup):
    """Integer codes (a zip code, a product id) to indices: Keras's IntegerLookup, -1 the unknown
    values' token."""
    default_oov = -1

    @staticmethod
    def key(value):
        return int(value)
