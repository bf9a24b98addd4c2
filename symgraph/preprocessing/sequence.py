"""Keras's keras.preprocessing.sequence: pad_sequences (sg.utils'), TimeseriesGenerator (windows
of a series as batches for Model.fit), skipgrams and make_sampling_table (word2vec's pairs).

    >>> gen = TimeseriesGenerator(series, series, length=24, batch_size=32)
    >>> model.fit(gen, epochs=10)          # (batch, 24, features) windows, the next step as target
"""
import numpy as np

from ..utils import Sequence, pad_sequences  # noqa: F401  (Keras's name for it is here)


class TimeseriesGenerator(Sequence):
    """Keras's TimeseriesGenerator: batches of windows of `length` past steps of data (every
    sampling_rate-th step), each with the target at the step after the window; windows start
    stride steps apart, from start_index to end_index (inclusive), in order or drawn at
    random (shuffle), each read backwards when reverse."""

    def __init__(self, data, targets, length, sampling_rate=1, stride=1, start_index=0, end_index=None,
                 shuffle=False, reverse=False, batch_size=128, seed=None):
        if len(data) != len(targets):
            raise ValueError(f"TimeseriesGenerator: data has {len(data)} steps, targets {len(targets)}")
        self.data, self.targets = data, targets
        self.length, self.sampling_rate, self.stride = int(length), int(sampling_rate), int(stride)
        self.start_index = int(start_index) + self.length
        self.end_index = len(data) - 1 if end_index is None else int(end_index)
        self.shuffle, self.reverse, self.batch_size = shuffle, reverse, int(batch_size)
        self._rng = np.random.default_rng(seed)
        if self.start_index > self.end_index:
            raise ValueError(f"TimeseriesGenerator: start_index + length ({self.start_index}) is past end_index "
                             f"({self.end_index}): no window fits in the data")

    def __len__(self):
        return (self.end_index - self.start_index + self.batch_size * self.stride) // (self.batch_size * self.stride)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"TimeseriesGenerator: batch {index} of {len(self)}")
        if self.shuffle:
            rows = self._rng.integers(self.start_index, self.end_index + 1, size=self.batch_size)
        else:
            first = self.start_index + self.batch_size * self.stride * index
            rows = np.arange(first, min(first + self.batch_size * self.stride, self.end_index + 1), self.stride)
        samples = np.array([self.data[row - self.length:row:self.sampling_rate] for row in rows])
        targets = np.array([self.targets[row] for row in rows])
        return (samples[:, ::-1, ...] if self.reverse else samples), targets


class WindowBatches(Sequence):
    """The batches timeseries_dataset_from_array gives: (windows, targets), or windows alone."""

    def __init__(self, data, targets, starts, offsets, batch_size):
        self.data, self.targets, self.starts, self.offsets = data, targets, starts, offsets
        self.batch_size = len(starts) if batch_size is None else int(batch_size)

    def __len__(self):
        return -(-len(self.starts) // self.batch_size) if len(self.starts) else 0

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} of {len(self)}")
        starts = self.starts[index * self.batch_size:(index + 1) * self.batch_size]
        windows = self.data[starts[:, None] + self.offsets[None, :]]
        return windows if self.targets is None else (windows, self.targets[starts])

    def __iter__(self):  # (one pass, as a dataset's)
        return (self[k] for k in range(len(self)))


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1, sampling_rate=1, batch_size=128,
                                  shuffle=False, seed=None, start_index=None, end_index=None):
    """Keras's keras.utils.timeseries_dataset_from_array: batches of windows of data[start_index:
    end_index] (sequence_length steps, sampling_rate apart), starting sequence_stride apart,
    each with targets[start_index + its start] (targets[i] goes with the window starting at i);
    the windows in a seeded random order with shuffle. A Sequence for fit, iterable once through."""
    data = np.asarray(data)
    start_index = start_index or 0
    end_index = len(data) if end_index is None else int(end_index)
    if not 0 <= start_index < len(data) or not start_index < end_index <= len(data):
        raise ValueError(f"timeseries_dataset_from_array: start_index {start_index} and end_index {end_index} must "
                         f"lie in the data's {len(data)} steps, in that order")
    if min(sampling_rate, sequence_stride, sequence_length) < 1:
        raise ValueError("timeseries_dataset_from_array: sequence_length, sequence_stride and sampling_rate are "
                         "positive")
    count = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = np.asarray(targets)[start_index:]
        count = min(count, len(targets))
    starts = np.arange(0, max(count, 0), sequence_stride)
    if shuffle:
        np.random.default_rng(seed).shuffle(starts)
    offsets = np.arange(sequence_length) * sampling_rate
    return WindowBatches(data[start_index:end_index], targets, starts, offsets, batch_size)


def make_sampling_table(size, sampling_factor=1e-5):
    """For each word rank 0..size-1 (by frequency), the probability skipgrams keeps it: word2vec's
    subsampling of frequent words, with frequencies estimated by Zipf's law, as Keras's."""
    gamma = 0.577
    rank = np.arange(size)
    rank[0] = 1
    inv_fq = rank * (np.log(rank) + gamma) + 0.5 - 1.0 / (12.0 * rank)
    f = sampling_factor * inv_fq
    return np.minimum(1.0, f / np.sqrt(f))


def skipgrams(sequence, vocabulary_size, window_size=4, negative_samples=1.0, shuffle=True, categorical=False,
              sampling_table=None, seed=None):
    """word2vec's training pairs from a sequence of word ids: (word, word within window_size of
    it) labelled 1, and negative_samples times as many (word, random id) labelled 0. Id 0 is
    padding and skipped. Returns (couples, labels) ([0, 1] / [1, 0] labels when categorical)."""
    rng = np.random.default_rng(seed)
    couples, labels = [], []
    for i, wi in enumerate(sequence):
        if not wi:
            continue
        if sampling_table is not None and sampling_table[wi] < rng.random():
            continue
        for j in range(max(0, i - window_size), min(len(sequence), i + window_size + 1)):
            if j != i and sequence[j]:
                couples.append([wi, sequence[j]])
                labels.append([0, 1] if categorical else 1)
    if negative_samples > 0 and couples:
        count = int(len(labels) * negative_samples)
        words = [c[0] for c in couples]
        rng.shuffle(words)
        couples += [[words[k % len(words)], int(rng.integers(1, vocabulary_size))] for k in range(count)]
        labels += [[1, 0] if categorical else 0] * count
    if shuffle:
        order = rng.permutation(len(couples))
        couples, labels = [couples[k] for k in order], [labels[k] for k in order]
    return couples, labels
