"""Video clips for the 3-d and recurrent convolution tests: a dot moving a pixel a frame, and
the check that a model learns which way it moves."""
import numpy as np

import symgraph as sg


def moving_dot_clips(n, size, col_range, rng, frames=4):
    """n clips (frames, size, size, 1) of a dot moving right (label 1) or left (0), wrapping
    around, from a random row and a column drawn in col_range; (clips, labels)."""
    clips, labels = np.zeros((n, frames, size, size, 1), np.float32), rng.integers(0, 2, n)
    for clip, label, row, col in zip(clips, labels, rng.integers(0, size, n), rng.integers(*col_range, n)):
        for t in range(frames):
            clip[t, row, (col + (t if label else -t)) % size, 0] = 1.0
    return clips, labels


def learns_the_clips(model, clips, labels, trained, epochs, lr):
    """Compile `model` (logits of 2 classes) with Adam(lr), fit it on the first `trained` clips,
    and check its loss halves and it is right on more than 85% of the others; the history."""
    model.compile(sg.optimizers.Adam(lr), loss=sg.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(clips[:trained], labels[:trained], epochs=epochs, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] / 2
    assert model.evaluate(clips[trained:], labels[trained:], verbose=0)[1] > 0.85
    return history
