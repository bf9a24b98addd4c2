"""sg.nnet: theano.tensor.nnet's names, for code written against Theano (`T.nnet.softmax`).

They are sg.nn's functions, with Theano's signatures and meanings where those differ:
- conv2d takes border_mode / subsample / filter_dilation / num_groups and flips its filters
  (filter_flip=True, Theano's default: a true convolution, where sg.nn.conv2d, like the
  libraries after Theano, correlates), so weights trained in Theano give Theano's outputs;
- relu takes Theano's leak `alpha`;
- ultra_fast_sigmoid and hard_sigmoid are Theano's approximations' names: ultra_fast_sigmoid
  is the exact sigmoid here (Theano's was a speed trick for its C code; ours is vectorized).
"""
from .activations import leaky_relu, selu, softsign
from .ops.base import as_variable
from .ops.conv import _pair, conv2d as _correlate
from .ops.elemwise import hard_sigmoid, relu as _relu, sigmoid, softplus
from .ops.nn import binary_crossentropy, categorical_crossentropy, elu, log_softmax, softmax

ultra_fast_sigmoid = sigmoid
logsoftmax = log_softmax  # (Theano's spelling)

__all__ = ["sigmoid", "ultra_fast_sigmoid", "hard_sigmoid", "softplus", "softsign", "selu", "relu", "elu", "softmax",
           "log_softmax", "logsoftmax", "categorical_crossentropy", "binary_crossentropy", "conv2d"]


def relu(x, alpha=0):
    """max(x, 0), or with a leak `alpha` (a number or a variable) x where x > 0, else alpha * x."""
    if not hasattr(alpha, "owner") and alpha == 0:
        return _relu(x)
    return leaky_relu(as_variable(x), alpha)


def conv2d(input, filters, input_shape=None, filter_shape=None, border_mode="valid", subsample=(1, 1),
           filter_flip=True, image_shape=None, filter_dilation=(1, 1), num_groups=1):
    """Theano's conv2d: NCHW images, OIHW filters, flipped unless filter_flip=False.
    border_mode 'valid', 'full' (every overlap: (k - 1) * dilation each side), 'half'
    (((k - 1) * dilation + 1) // 2 each side), an int or a pair; 'full' and 'half' need the
    filters' size when the graph is built (a shared variable's, or filter_shape).
    input_shape / filter_shape (image_shape: its old name) are checked against the variables'
    static shapes where both are known, as hints in Theano."""
    x, w = as_variable(input), as_variable(filters)
    _check_hint(x, image_shape if input_shape is None else input_shape, "input_shape")
    _check_hint(w, filter_shape, "filter_shape")
    if filter_flip:
        w = w[:, :, ::-1, ::-1]
    size = _filter_size(w, filter_shape)
    padding = _padding(border_mode, size, _pair(filter_dilation, "conv2d: filter_dilation"))
    return _correlate(x, w, stride=subsample, padding=padding, dilation=filter_dilation, groups=num_groups)


def _check_hint(var, hint, what):
    if hint is None:
        return
    hint = tuple(hint)
    if len(hint) != var.ndim:
        raise ValueError(f"conv2d: {what} {hint} has {len(hint)} entries, {var.describe()} {var.ndim} axes")
    for axis, (given, known) in enumerate(zip(hint, var.type.shape)):
        if given is not None and known is not None and int(given) != known:
            raise ValueError(f"conv2d: {what} {hint} says axis {axis} has length {given}, "
                             f"but {var.describe()} has {known}")


def _filter_size(w, filter_shape):
    size = w.type.shape[2:]
    if filter_shape is not None:
        size = tuple(k if k is not None else h for k, h in zip(size, tuple(filter_shape)[2:]))
    return size


def _padding(border_mode, size, dilation):
    if not isinstance(border_mode, str):
        return border_mode  # an int, a pair or pairs: sg.nn.conv2d's padding
    mode = border_mode.lower()
    if mode == "valid":
        return 0
    if mode not in ("full", "half"):
        raise ValueError(f"conv2d: border_mode must be 'valid', 'full', 'half', an int or a pair, got {border_mode!r}")
    if None in size:
        raise ValueError(f"conv2d: border_mode={border_mode!r} pads by the filters' size, unknown when the graph is "
                         f"built: pass filter_shape=(out, in, rows, cols), or filters with a static shape")
    spans = [(k - 1) * d for k, d in zip(size, dilation)]
    return tuple(s if mode == "full" else (s + 1) // 2 for s in spans)
