"""Layers and models called on arrays (Keras 3's eager calls: `model(x_test[:5])`,
`RandomFlip("horizontal")(images)` in a dataset's map): the call is traced on symbolic inputs
of the arrays' types, compiled once for them (a function cached on the layer, by the inputs'
dtypes and lengths past the batch, and the mode), and run; the result is arrays. The mode is
inference unless training=True, but for the augmentation layers, which augment when called
alone unless training=False (Keras 3's default). In training mode the layer's state updates
(batch statistics) are applied, as Keras's."""
import numpy as np

from ..graph import TensorType, Variable


def holds_arrays(x):
    """Whether a call's input is data (arrays, numbers, lists of them) rather than symbolic."""
    if isinstance(x, (list, tuple)):
        return bool(x) and all(holds_arrays(v) for v in x)
    return isinstance(x, (np.ndarray, np.generic)) and not isinstance(x, Variable)


def eager_call(owner, x, training, trace, types):
    """owner's output for arrays x: trace(symbolic x, mode) -> (output, updates); types(arrays)
    -> the symbolic inputs' TensorTypes."""
    from ..function import function
    several = isinstance(x, (list, tuple))
    arrays = [np.asarray(a) for a in (x if several else [x])]
    mode = bool(training) if training is not None else getattr(owner, "augments_when_called", False)
    wanted = types(arrays)
    key = (tuple((t.dtype, t.shape[1:]) for t in wanted), several, mode)
    cache = owner.__dict__.setdefault("_eager_functions", {})
    if key not in cache:
        inputs = [Variable(t, name=f"input_{k}") for k, t in enumerate(wanted)]
        out, updates = trace(inputs if several else inputs[0], mode)
        cache[key] = function(inputs, out, updates=list(updates) if mode else None,
                              name=f"{getattr(owner, 'name', 'layer')}_eager")
    values = [a.astype(t.np_dtype, copy=False) for a, t in zip(arrays, wanted)]
    return cache[key](*values)


def types_for(dtype):
    """Each array's type, batch first: floats as the layer's dtype (Keras casts them), the
    others (token ids) as they are."""
    def types(arrays):
        return [TensorType(dtype if a.dtype.kind == "f" else a.dtype, (None,) + a.shape[1:]) for a in arrays]
    return types
