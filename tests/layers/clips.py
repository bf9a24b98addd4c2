"""Video clips for the 3-d and recurrent convolution tests: a dot moving a pixel a frame."""
import numpy as np


def moving_dot_clips(n, size, col_range, rng, frames=4):
    """n clips (frames, size, size, 1) of a dot moving right (label 1) or left (0), wrapping
    around, from a random row and a column drawn in col_range; (clips, labels)."""
    clips, labels = np.zeros((n, frames, size, size, 1), np.float32), rng.integers(0, 2, n)
    for clip, label, row, col in zip(clips, labels, rng.integers(0, size, n), rng.integers(*col_range, n)):
        for t in range(frames):
            clip[t, row, (col + (t if label else -t)) % size, 0] = 1.0
    return clips, labels
