"""TensorFlow 1's random functions beyond the distributions (variables.py): tf.random_shuffle,
tf.multinomial and tf.random_crop, drawn from uniform numbers of the seeded streams (a fresh
draw each run, as TensorFlow's)."""
import importlib

import numpy as np

from ...ops import elemwise as E, reduce as R
from ...ops.base import as_variable
from ...ops.selection import take
from ...ops.sorting import argsort
from .variables import _stream

S = importlib.import_module("symgraph.ops.shape")


def random_shuffle(value, seed=None, name=None):
    """value's rows (its first axis) in a random order: the order of uniform draws sorted."""
    value = as_variable(value)
    keys = _stream(seed).uniform([S.shape(value)[0]], dtype="float64")
    return take(value, argsort(keys), axis=0)


def multinomial(logits, num_samples, seed=None, name=None, output_dtype="int64"):
    """num_samples class indices for each row of logits (batch, classes), drawn with
    probabilities softmax(row): the largest of logits plus Gumbel noise, once per sample."""
    logits = as_variable(logits)
    if logits.ndim != 2:
        raise ValueError(f"multinomial: logits must be (batch, classes), got {logits.describe()}")
    shape = [S.shape(logits)[0], num_samples, S.shape(logits)[1]]
    u = _stream(seed).uniform(shape, low=np.finfo(np.float64).tiny, high=1.0, dtype="float64")
    gumbel = -E.log(-E.log(u))
    picked = R.argmax(S.dimshuffle(E.cast(logits, "float64"), 0, "x", 1) + gumbel, axis=-1)
    return E.cast(picked, np.dtype(output_dtype).name)


def random_crop(value, size, seed=None, name=None):
    """A window of `size` (one length per axis) at a random place within value."""
    value = as_variable(value)
    size = [int(s) for s in size]
    if len(size) != value.ndim:
        raise ValueError(f"random_crop: size has {len(size)} lengths for {value.describe()}")
    u = _stream(seed).uniform([value.ndim], dtype="float64")
    index = []
    for axis, length in enumerate(size):
        room = S.shape(value)[axis] - length + 1
        start = E.cast(E.floor(u[axis] * E.cast(room, "float64")), "int64")
        index.append(slice(start, start + length))
    return value[tuple(index)]
