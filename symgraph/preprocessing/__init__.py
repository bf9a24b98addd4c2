"""Keras's keras.preprocessing, for data fed to Model.fit: `from symgraph.preprocessing.image
import ImageDataGenerator, load_img, img_to_array` (random shifts, rotations, zooms and flips of
NCHW images; pictures on disk, one by one or a folder of class subfolders), `.text` (Tokenizer,
text_to_word_sequence, one_hot) and `.sequence` (pad_sequences, TimeseriesGenerator, skipgrams)."""
from . import image, text, sequence
from .image import ImageDataGenerator

__all__ = ["image", "text", "sequence", "ImageDataGenerator"]
