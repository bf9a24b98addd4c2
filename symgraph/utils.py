"""sg.utils: Keras's keras.utils helpers for preparing data (NumPy in, NumPy out)."""
import numpy as np

from .config import config


def to_categorical(y, num_classes=None, dtype=None):
    """Class indices -> one-hot rows (floatX unless `dtype`): to_categorical([0, 2], 3) is
    [[1, 0, 0], [0, 0, 1]]; num_classes defaults to the largest index + 1. A trailing axis of
    length 1 is dropped first, as in Keras."""
    y = np.asarray(y)
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.array_equal(y, np.round(y)):
            raise ValueError("to_categorical takes class indices (whole numbers), got fractions")
        y = y.astype(np.int64)
    elif y.dtype.kind not in "iub":
        raise TypeError(f"to_categorical takes class indices, got an array of {y.dtype}")
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y[..., 0]
    if y.size and y.min() < 0:
        raise ValueError(f"to_categorical: class indices must not be negative, got {int(y.min())}")
    num_classes = int(y.max()) + 1 if num_classes is None and y.size else int(num_classes or 0)
    if y.size and y.max() >= num_classes:
        raise ValueError(f"to_categorical: index {int(y.max())} is out of range for {num_classes} classes")
    return np.eye(num_classes, dtype=dtype or config.floatX)[y]


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0):
    """Lists of ids of different lengths -> one (count, maxlen) array, as Keras's: each shorter
    sequence filled with `value` before it (padding "pre", Keras's default) or after ("post"),
    each longer one cut at its start (truncating "pre") or end ("post"); maxlen defaults to the
    longest. Sequences of vectors (steps, features...) give (count, maxlen, features...). With
    value 0, Embedding(mask_zero=True) or a Masking layer keeps the filler out of the results."""
    if padding not in ("pre", "post") or truncating not in ("pre", "post"):
        raise ValueError(f"pad_sequences: padding and truncating are 'pre' or 'post', got {padding!r}, {truncating!r}")
    sequences = [np.asarray(s) for s in sequences]
    sample_shapes = {s.shape[1:] for s in sequences if len(s)}
    if any(s.ndim == 0 for s in sequences) or len(sample_shapes) > 1:
        raise ValueError("pad_sequences takes sequences of ids, or of vectors of one shape, got shapes "
                         f"{sorted({s.shape for s in sequences})}")
    if maxlen is None:
        maxlen = max((len(s) for s in sequences), default=0)
    out = np.full((len(sequences), maxlen) + (sample_shapes.pop() if sample_shapes else ()), value, dtype=dtype)
    for row, s in zip(out, sequences):
        kept = s[max(len(s) - maxlen, 0):] if truncating == "pre" else s[:maxlen]
        if padding == "pre":
            row[maxlen - len(kept):] = kept
        else:
            row[:len(kept)] = kept
    return out


class Sequence:
    """Keras's keras.utils.Sequence: batches by index for Model.fit, evaluate and predict.
    Subclass it with __len__ (batches in one pass) and __getitem__(index) -> (x, y) or
    (x, y, sample_weight) (x alone for predict); on_epoch_end runs after each pass (reshuffle
    there)."""

    def __len__(self):
        raise NotImplementedError

    def __getitem__(self, index):
        raise NotImplementedError

    def on_epoch_end(self):
        pass


def normalize(x, axis=-1, order=2):
    """Keras's utils.normalize: x divided by its `order`-norms along axis (a zero norm leaves
    its vector as it is)."""
    x = np.asarray(x)
    norms = np.atleast_1d(np.linalg.norm(x, order, axis))
    norms[norms == 0] = 1
    return x / np.expand_dims(norms, axis)


def plot_model(model, to_file="model.png", **kw):
    """Keras's utils.plot_model: sg.layers.plot_model (a picture of the layers)."""
    from .layers import plot_model as draw
    return draw(model, to_file, **kw)


def set_random_seed(seed):
    """Keras's utils.set_random_seed: Python's, NumPy's and symgraph's generators (weights'
    initial values, dropout masks) seeded at once, so that a script runs the same each time."""
    import random
    from .layers import set_seed
    random.seed(seed)
    np.random.seed(seed)
    set_seed(seed)


def image_dataset_from_directory(directory, **kw):
    """Keras's keras.utils.image_dataset_from_directory (symgraph.preprocessing.image_dataset)."""
    from .preprocessing.folder_datasets import image_dataset_from_directory as read
    return read(directory, **kw)


def text_dataset_from_directory(directory, **kw):
    """Keras's keras.utils.text_dataset_from_directory (symgraph.preprocessing.folder_datasets)."""
    from .preprocessing.folder_datasets import text_dataset_from_directory as read
    return read(directory, **kw)


def load_img(path, **kw):
    """Keras 3's keras.utils.load_img (symgraph.preprocessing.image's)."""
    from .preprocessing.image_files import load_img as load
    return load(path, **kw)


def img_to_array(img, data_format=None, dtype=None):
    from .preprocessing.image_files import img_to_array as to_array
    return to_array(img, data_format, dtype)


def array_to_img(x, data_format=None, scale=True):
    from .preprocessing.image_files import array_to_img as to_img
    return to_img(x, data_format, scale)


def save_img(path, x, data_format=None, file_format=None, scale=True):
    from .preprocessing.image_files import save_img as save
    return save(path, x, data_format, file_format, scale)


def timeseries_dataset_from_array(data, targets, sequence_length, **kw):
    """Keras's keras.utils.timeseries_dataset_from_array (symgraph.preprocessing.sequence)."""
    from .preprocessing.sequence import timeseries_dataset_from_array as windows
    return windows(data, targets, sequence_length, **kw)


class Progbar:
    """Keras's keras.utils.Progbar, for loops of one's own: update(current, values=[(name,
    value), ...]) draws `current/target [====>....] - ETA - name: mean`, each value averaged
    over the steps so far (weighted by how far each update moved) unless its name is in
    stateful_metrics (shown as given); add(n, values) moves by n."""

    def __init__(self, target, width=30, verbose=1, interval=0.05, stateful_metrics=None, unit_name="step"):
        import sys
        import time
        self.target, self.width, self.verbose, self.interval = target, int(width), verbose, interval
        self.stateful_metrics, self.unit_name = set(stateful_metrics or ()), unit_name
        self.sums, self.order, self.seen = {}, [], 0
        self.start = self.last_draw = time.time()
        self._time, self._out = time.time, sys.stdout

    def update(self, current, values=None, finalize=None):
        finalize = (self.target is not None and current >= self.target) if finalize is None else finalize
        moved = max(current - self.seen, 1)
        for name, value in values or []:
            if name not in self.order:
                self.order.append(name)
            value = float(value)
            if name in self.stateful_metrics:
                self.sums[name] = (value, 1)
            else:
                total, weight = self.sums.get(name, (0.0, 0))
                self.sums[name] = (total + value * moved, weight + moved)
        self.seen = current
        now = self._time()
        if self.verbose and (finalize or now - self.last_draw >= self.interval):
            self.last_draw = now
            self._out.write("\r" + self._line(current, now, finalize) + ("\n" if finalize else ""))
            self._out.flush()

    def add(self, n, values=None):
        self.update(self.seen + n, values)

    def _line(self, current, now, finalize):
        elapsed = now - self.start
        if self.target is None:
            head = f"{current}/Unknown"
        else:
            done = int(self.width * min(current / self.target, 1)) if self.target else self.width
            bar = "=" * max(done - 1, 0) + (">" if done < self.width else "=") + "." * (self.width - done)
            head = f"{current}/{self.target} [{bar}]"
        if finalize or self.target is None or not current:
            timing = f"{elapsed:.0f}s {elapsed / max(current, 1) * 1e3:.0f}ms/{self.unit_name}"
        else:
            timing = f"ETA: {elapsed / current * (self.target - current):.0f}s"
        shown = [f"{name}: {total / weight:.4f}" for name in self.order for total, weight in [self.sums[name]]]
        return " - ".join([head, timing] + shown)
