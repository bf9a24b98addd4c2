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
