"""Keras's keras.preprocessing, for data fed to Model.fit: `from symgraph.preprocessing.image
import ImageDataGenerator` (random shifts, rotations, zooms and flips of NCHW images)."""
from . import image
from .image import ImageDataGenerator

__all__ = ["image", "ImageDataGenerator"]
