"""Keras's preprocessing layers for categories and text: CategoryEncoding (integer categories
to one-hot, multi-hot or count vectors) and Discretization (numbers to bin indices) run in
the graph; TextVectorization (strings to token ids or bag-of-words vectors, a vocabulary
learned by adapt) works on arrays of strings before the graph, as a model's inputs are numbers
here (Keras's text tutorials map it over the data so; a model taking raw strings would need it
inside). StringLookup and IntegerLookup (lookup.py) work the same way."""
import re
from collections import Counter

import numpy as np

from ..ops import elemwise as E
from ..ops.extra_ops import searchsorted
from ..ops.nn import one_hot
from ..ops.shape import expand_dims
from ..variables import constant
from .base import Layer
from .lookup import bag, ranked


class CategoryEncoding(Layer):
    """Integer categories in [0, num_tokens) to vectors of num_tokens: output_mode "one_hot"
    (one category an example), "multi_hot" (an example's several categories, each marked once)
    or "count" (how many times each)."""

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kw):
        super().__init__(**kw)
        if output_mode not in ("one_hot", "multi_hot", "count"):
            raise ValueError(f"CategoryEncoding: output_mode is 'one_hot', 'multi_hot' or 'count', got {output_mode!r}")
        if num_tokens is None or sparse:
            raise ValueError("CategoryEncoding needs num_tokens (and gives dense vectors: sparse=False)")
        self.num_tokens, self.output_mode = int(num_tokens), output_mode

    input_dtype = "int64"

    def call(self, x, context):
        if x.dtype[0] not in "iu":
            x = E.cast(x, "int64")
        if self.output_mode == "one_hot" and x.ndim >= 1 and x.type.shape[-1] != 1:
            x = expand_dims(x, -1)  # (one category an example, as (batch,) or (batch, 1))
        hits = one_hot(x, self.num_tokens, self.dtype)  # (..., tokens per example, num_tokens)
        counted = hits.sum(axis=-2) if x.ndim >= 1 else hits
        return counted if self.output_mode == "count" else E.minimum(counted, 1)


class Discretization(Layer):
    """Numbers to the index of their bin: bin_boundaries [b0, b1, ...] make bins (-inf, b0),
    [b0, b1), ..., [bn, inf), as Keras's; or num_bins bins of equal counts learned by adapt
    (the data's quantiles)."""

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int", **kw):
        super().__init__(**kw)
        if output_mode != "int":
            raise ValueError(f"Discretization: output_mode 'int' only (bin indices), got {output_mode!r}")
        if (bin_boundaries is None) == (num_bins is None):
            raise ValueError("Discretization takes bin_boundaries or num_bins (then adapt), one of them")
        self.bin_boundaries = None if bin_boundaries is None else [float(b) for b in bin_boundaries]
        self.num_bins, self.epsilon, self.output_mode = num_bins, epsilon, output_mode

    def adapt(self, data, batch_size=None, steps=None):
        """Boundaries at the data's quantiles 1/num_bins, 2/num_bins, ...: bins of equal counts."""
        if self.num_bins is None:
            raise ValueError("Discretization.adapt learns num_bins boundaries: make it with num_bins")
        values = np.asarray(data, dtype="float64").reshape(-1)
        self.bin_boundaries = np.quantile(values, np.arange(1, self.num_bins) / self.num_bins).tolist()

    def call(self, x, context):
        if self.bin_boundaries is None:
            raise ValueError(f"{self.name} has no bin boundaries yet: adapt it to data first")
        edges = constant(np.asarray(self.bin_boundaries, dtype=x.dtype if x.dtype[0] == "f" else "float64"))
        return searchsorted(edges, x if x.dtype[0] == "f" else E.cast(x, "float64"), side="right")


_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~\']')


class TextVectorization:
    """Keras's TextVectorization, on arrays of strings: standardize ("lower_and_strip_punctuation",
    "lower", "strip_punctuation", a function or None), split on whitespace, and map tokens to ids
    from a vocabulary learned by adapt (most frequent first, ties in the order first seen) or
    given. output_mode "int": id sequences, 0 the padding, 1 "[UNK]" for tokens outside the
    vocabulary, padded or cut to output_sequence_length at the end; "multi_hot", "count",
    "tf_idf": one vector of max_tokens an example, index 0 "[UNK]" (tf_idf: counts times
    log(1 + documents / (1 + documents with the token)); "[UNK]"'s weight the mean of the
    others'). max_tokens counts the special tokens. ngrams=n (or a tuple of widths) makes the
    tokens the 1- to n-grams (those widths), joined by spaces, as Keras's."""

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace",
                 ngrams=None, output_mode="int", output_sequence_length=None, vocabulary=None, name=None):
        if split not in ("whitespace", None) and not callable(split):
            raise ValueError(f"TextVectorization: split is 'whitespace', None or a function, got {split!r}")
        widths = () if ngrams is None else tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) \
            else tuple(int(n) for n in ngrams)
        if ngrams is not None and (not widths or min(widths) < 1 or split is None):
            raise ValueError(f"TextVectorization: ngrams is an int >= 1 or a tuple of them, with a split; got "
                             f"ngrams={ngrams!r}, split={split!r}")
        self.ngrams, self.ngram_widths = ngrams, widths
        if output_mode not in ("int", "multi_hot", "count", "tf_idf"):
            raise ValueError(f"TextVectorization: output_mode is 'int', 'multi_hot', 'count' or 'tf_idf', "
                             f"got {output_mode!r}")
        self.max_tokens, self.standardize, self.split = max_tokens, standardize, split
        self.output_mode, self.output_sequence_length, self.name = output_mode, output_sequence_length, name
        self.specials = ["", "[UNK]"] if output_mode == "int" else ["[UNK]"]
        self.vocabulary, self.idf = list(self.specials), None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)

    def _tokens(self, text):
        text = str(text)
        if callable(self.standardize):
            text = self.standardize(text)
        elif self.standardize in ("lower_and_strip_punctuation", "lower"):
            text = text.lower()
        if self.standardize in ("lower_and_strip_punctuation", "strip_punctuation"):
            text = _PUNCTUATION.sub("", text)
        tokens = list(self.split(text)) if callable(self.split) else \
            text.split() if self.split == "whitespace" else [text]
        if not self.ngram_widths:
            return tokens
        # Keras's order: every n-gram of the first width, then of the next (joined by spaces)
        return [" ".join(tokens[i:i + n]) for n in self.ngram_widths for i in range(len(tokens) - n + 1)]

    @staticmethod
    def _texts(data):
        texts = np.asarray(data, dtype=object)
        return [t.decode() if isinstance(t, bytes) else t for t in texts.reshape(-1)]

    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary (and the tf_idf weights) from an array or list of strings."""
        documents = [self._tokens(t) for t in self._texts(data)]
        room = None if self.max_tokens is None else self.max_tokens - len(self.specials)
        self._set(ranked([token for tokens in documents for token in tokens])[:room], documents)

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """A given vocabulary (without the special tokens), most frequent first."""
        words = [w for w in vocabulary if w not in self.specials]
        self._set(words, None)
        if idf_weights is not None:
            self.idf = np.concatenate([[np.mean(idf_weights)], np.asarray(idf_weights, "float64")])

    def _set(self, words, documents):
        self.vocabulary = list(self.specials) + list(words)
        self.index = {w: k for k, w in enumerate(self.vocabulary)}
        if self.output_mode == "tf_idf" and documents is not None:
            seen = Counter(w for tokens in documents for w in set(tokens))
            weights = np.log(1 + len(documents) / (1 + np.array([seen[w] for w in words], "float64")))
            self.idf = np.concatenate([[weights.mean() if len(weights) else 0.0], weights])

    def get_vocabulary(self, include_special_tokens=True):
        return list(self.vocabulary) if include_special_tokens else self.vocabulary[len(self.specials):]

    def vocabulary_size(self):
        return len(self.vocabulary)

    def __call__(self, data):
        """The ids (int64, (batch, length)) or vectors (float32, (batch, tokens)) of the texts."""
        unknown = self.specials.index("[UNK]")
        rows = [[self.index.get(t, unknown) for t in self._tokens(text)] for text in self._texts(data)]
        if self.output_mode == "int":
            length = self.output_sequence_length or max([len(r) for r in rows] + [0])
            out = np.zeros((len(rows), length), np.int64)
            for k, ids in enumerate(rows):
                out[k, :min(len(ids), length)] = ids[:length]
            return out
        out = bag(rows, self.max_tokens or len(self.vocabulary), self.output_mode)
        if self.output_mode == "tf_idf":
            if self.idf is None:
                raise ValueError("TextVectorization(output_mode='tf_idf') needs adapt (or idf_weights) first")
            out[:, :len(self.idf)] *= self.idf
        return out

    def get_config(self):
        return {"max_tokens": self.max_tokens, "standardize": self.standardize, "split": self.split,
                "ngrams": self.ngrams,
                "output_mode": self.output_mode, "output_sequence_length": self.output_sequence_length,
                "vocabulary": self.get_vocabulary(include_special_tokens=False), "name": self.name}
