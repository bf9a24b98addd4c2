"""The shape properties every kind of Caffe blob has: shape (its .data's), count, and num,
channels, height and width, the 4-d legacy names: axes 0 to 3, 1 past the blob's own axes (as
Caffe's Blob::LegacyShape: a (64, 10) blob's num is 64, its height 1)."""
import numpy as np


class LegacyShape:
    """Mixin for a class with a `data` array."""

    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def count(self):
        return int(np.prod(self.shape))

    def _legacy(self, k):
        return (tuple(self.shape) + (1,) * 4)[k]

    num = property(lambda self: self._legacy(0))
    channels = property(lambda self: self._legacy(1))
    height = property(lambda self: self._legacy(2))
    width = property(lambda self: self._legacy(3))
