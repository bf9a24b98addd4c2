"""Datasets that work offline: scikit-learn's bundled digits, and MNIST from local IDX files.

    >>> (x_train, y_train), (x_test, y_test) = sg.datasets.load_digits()
    >>> x_train.shape                       # (1437, 1, 8, 8), floatX in [0, 1]
"""
import gzip
import os

import numpy as np

from .config import config

_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def load_digits(test_fraction=0.2, seed=0):
    """The 1,797 8x8 handwritten digits shipped with scikit-learn, split train/test.

    Returns ((x_train, y_train), (x_test, y_test)): images (N, 1, 8, 8) in floatX scaled to
    [0, 1], labels int32. The split is stratified and fixed by `seed`."""
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split
    bunch = sk_load_digits()
    images = (bunch.images / 16.0).astype(config.floatX)[:, None, :, :]
    labels = bunch.target.astype(np.int32)
    x_tr, x_te, y_tr, y_te = train_test_split(images, labels, test_size=test_fraction,
                                              random_state=seed, stratify=labels)
    return (x_tr, y_tr), (x_te, y_te)


def read_idx(path):
    """One IDX file (gzipped or not) as a NumPy array; ValueError if it is malformed."""
    opener = gzip.open if _is_gzip(path) else open
    with opener(path, "rb") as fh:
        data = fh.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    dtype, ndim = np.dtype(_IDX_DTYPES[data[2]]), data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header")
    dims = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(f"{path}: IDX header promises {dims} ({expected} bytes) but the file "
                         f"holds {len(data) - header} bytes of data")
    return np.frombuffer(data, dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def _is_gzip(path):
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _find(folder, stem):
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(f"no {stem}[.gz] in {folder}")


def load_mnist(path):
    """MNIST from the four IDX files in the folder `path` (as distributed, gzipped or not).

    Returns ((x_train, y_train), (x_test, y_test)) with images (N, 1, 28, 28) floatX in [0, 1]."""
    out = []
    for prefix in ("train", "t10k"):
        images = read_idx(_find(path, f"{prefix}-images-idx3-ubyte"))
        labels = read_idx(_find(path, f"{prefix}-labels-idx1-ubyte"))
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"{path}: {prefix} images {images.shape} and labels {labels.shape} do not match")
        out.append(((images[:, None] / 255.0).astype(config.floatX), labels.astype(np.int32)))
    return tuple(out)
