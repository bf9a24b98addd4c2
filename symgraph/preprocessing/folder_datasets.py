"""Keras's keras.utils.image_dataset_from_directory and text_dataset_from_directory: a folder of
class subfolders as batches of (items, labels), read as each batch needs them: images resized
to image_size, 0-255 floats in the backend's image format (channels first here unless set
otherwise; Keras's tutorials set channels_last), or texts as an array of strings. What comes
back stands where Keras gives a tf.data.Dataset: a Sequence for fit, evaluate and predict
(reshuffled after each pass), iterable once through, with class_names, file_paths, and map /
take / prefetch / cache / shuffle for the pipelines Keras's tutorials write (map runs its
function on each batch's arrays)."""
import numpy as np

from ..utils import Sequence
from .image_files import EXTENSIONS, img_to_array, list_directory, load_img

LABEL_MODES = ("int", "categorical", "binary", None)


class FolderDataset(Sequence):
    def __init__(self, paths, labels, class_names, label_mode, batch_size, read, shuffle, seed):
        self.file_paths, self.labels, self.class_names = list(paths), labels, list(class_names)
        self.label_mode, self.batch_size, self.read = label_mode, int(batch_size), read
        self.reshuffle, self.rng = bool(shuffle), np.random.default_rng(seed)
        self.order = self.rng.permutation(len(self.file_paths)) if shuffle else np.arange(len(self.file_paths))
        self.functions = []

    def __len__(self):
        return -(-len(self.file_paths) // self.batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} of {len(self)}")
        picked = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        items = self.read([self.file_paths[k] for k in picked])
        batch = items if self.label_mode is None else (items, self._targets(picked))
        for fn in self.functions:
            batch = fn(*batch) if isinstance(batch, tuple) else fn(batch)
        return batch

    def _targets(self, picked):
        labels = self.labels[picked]
        if self.label_mode == "categorical":
            return np.eye(len(self.class_names), dtype="float32")[labels]
        if self.label_mode == "binary":
            return labels.astype("float32")[:, None]
        return labels

    def on_epoch_end(self):
        if self.reshuffle:
            self.order = self.rng.permutation(len(self.file_paths))

    def __iter__(self):  # (one pass, as a dataset's)
        return (self[k] for k in range(len(self)))

    def map(self, fn, num_parallel_calls=None):
        """A dataset whose batches are fn(images, labels) (fn(images) with no labels)."""
        mapped = object.__new__(FolderDataset)
        mapped.__dict__.update(self.__dict__)
        mapped.functions = self.functions + [fn]
        return mapped

    def take(self, count):
        """The first `count` batches, as a list (what `for images, labels in ds.take(1)` reads)."""
        return [self[k] for k in range(min(int(count), len(self)))]

    def prefetch(self, buffer_size=None):
        return self

    def cache(self, filename=""):
        return self

    def shuffle(self, buffer_size=None, seed=None, reshuffle_each_iteration=True):
        """The files in a new order (and again after each pass)."""
        self.rng = np.random.default_rng(seed) if seed is not None else self.rng
        self.order, self.reshuffle = self.rng.permutation(len(self.file_paths)), bool(reshuffle_each_iteration)
        return self


def image_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, color_mode="rgb",
                                 batch_size=32, image_size=(256, 256), shuffle=True, seed=None, validation_split=None,
                                 subset=None, interpolation="bilinear", follow_links=False, crop_to_aspect_ratio=False,
                                 data_format=None, verbose=True):
    """Keras's: labels "inferred" from the subfolders (sorted, or class_names' order) or None;
    label_mode "int", "categorical", "binary" or None; validation_split with subset "training",
    "validation" or "both" (the files shuffled by seed first, the last share for validation)."""
    if crop_to_aspect_ratio:
        raise NotImplementedError("image_dataset_from_directory: crop_to_aspect_ratio is not supported")

    def read(paths):
        return np.stack([img_to_array(load_img(path, color_mode=color_mode, target_size=tuple(image_size),
                                               interpolation=interpolation), data_format, dtype="float32")
                         for path in paths])
    return _datasets(directory, EXTENSIONS, read, labels, label_mode, class_names, batch_size, shuffle, seed,
                     validation_split, subset, verbose)


def text_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, batch_size=32,
                                max_length=None, shuffle=True, seed=None, validation_split=None, subset=None,
                                follow_links=False, verbose=True):
    """Keras's: the .txt files of each class subfolder as batches of strings (each cut to
    max_length characters when given) and labels, as image_dataset_from_directory."""
    def read(paths):
        texts = []
        for path in paths:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
            texts.append(text if max_length is None else text[:max_length])
        return np.array(texts, dtype=object)
    return _datasets(directory, (".txt",), read, labels, label_mode, class_names, batch_size, shuffle, seed,
                     validation_split, subset, verbose)


def _datasets(directory, extensions, read, labels, label_mode, class_names, batch_size, shuffle, seed,
              validation_split, subset, verbose):
    if labels not in ("inferred", None):
        raise NotImplementedError("labels are 'inferred' from the folders, or None")
    if label_mode not in LABEL_MODES:
        raise ValueError(f"label_mode must be one of {LABEL_MODES}, got {label_mode!r}")
    paths, found, class_indices = list_directory(directory, class_names, extensions)
    names = sorted(class_indices, key=class_indices.get)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(f"label_mode='binary' needs two classes, {directory!r} has {names}")
    if labels is None:
        label_mode = None
    if verbose:
        print(f"Found {len(paths)} files belonging to {len(names)} classes.")  # (as Keras says)
    splits = {"training": None, "validation": None}
    if validation_split:
        if subset not in ("training", "validation", "both") or seed is None:
            raise ValueError("validation_split needs subset ('training', 'validation' or 'both') and a seed, as "
                             "Keras's")
        order = np.random.default_rng(seed).permutation(len(paths))
        cut = len(paths) - int(validation_split * len(paths))
        splits = {"training": order[:cut], "validation": order[cut:]}
        if verbose:
            for name in (("training", "validation") if subset == "both" else (subset,)):
                print(f"Using {len(splits[name])} files for {name}.")
    elif subset is not None:
        raise ValueError("subset needs validation_split")

    def dataset(picked):
        chosen = np.arange(len(paths)) if picked is None else picked
        return FolderDataset([paths[k] for k in chosen], found[chosen], names, label_mode, batch_size, read, shuffle,
                             seed)
    if subset == "both":
        return dataset(splits["training"]), dataset(splits["validation"])
    return dataset(splits[subset] if subset else None)
