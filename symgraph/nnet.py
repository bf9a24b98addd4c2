"""sg.nnet: theano.tensor.nnet's names, for code written against Theano (`T.nnet.softmax`).

They are sg.nn's functions, with Theano's signatures and meanings where those differ:
- conv2d takes border_mode / subsample / filter_dilation / num_groups and flips its filters
  (filter_flip=True, Theano's default: a true convolution, where sg.nn.conv2d, like the
  libraries after Theano, correlates), so weights trained in Theano give Theano's outputs;
- relu takes Theano's leak `alpha`;
- ultra_fast_sigmoid and hard_sigmoid are Theano's approximations' names: ultra_fast_sigmoid
  is the exact sigmoid here (Theano's was a speed trick for its C code; ours is vectorized).
"""
import types

from .ops import neighbours
from .ops.neighbours import images2neibs, neibs2images

from .activations import leaky_relu, selu, softsign
from .ops.base import as_variable
from .ops.conv import _pair, conv2d as _correlate
from .ops.elemwise import cast, hard_sigmoid, maximum, relu as _relu, sigmoid, softplus
from .ops.nn import binary_crossentropy, categorical_crossentropy, elu, log_softmax, softmax

ultra_fast_sigmoid = sigmoid
logsoftmax = log_softmax  # (Theano's spelling)

__all__ = ["sigmoid", "ultra_fast_sigmoid", "hard_sigmoid", "softplus", "softsign", "selu", "relu", "elu", "softmax",
           "log_softmax", "logsoftmax", "categorical_crossentropy", "binary_crossentropy",
           "sigmoid_binary_crossentropy", "conv2d", "conv2d_grad_wrt_inputs", "conv2d_grad_wrt_weights",
           "abstract_conv", "bn", "batch_normalization", "neighbours", "images2neibs", "neibs2images"]


def sigmoid_binary_crossentropy(output, target):
    """binary_crossentropy(sigmoid(output), target) computed from the logits `output` (Theano's
    and PyTensor's name): finite where the sigmoid saturates."""
    return binary_crossentropy(output, target, from_logits=True)


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


def conv2d_grad_wrt_inputs(output_grad, filters, input_shape, filter_shape=None, border_mode="valid",
                           subsample=(1, 1), filter_flip=True, filter_dilation=(1, 1), num_groups=1):
    """Theano's abstract_conv.conv2d_grad_wrt_inputs: the transpose of conv2d(input, filters,
    border_mode, subsample, ...) applied to output_grad, of shape input_shape (a "deconvolution",
    Lasagne's TransposedConv2DLayer); filters in conv2d's (out, in, rows, cols) layout. An entry
    None in input_shape is taken from output_grad's batch, the filters' channels, or the
    smallest input the convolution maps to output_grad's size."""
    from .ops.conv import Conv2DGradInput, ConvParams
    from .ops.shape import shape
    g, w = as_variable(output_grad), as_variable(filters)
    if filter_flip:
        w = w[:, :, ::-1, ::-1]
    padding = _padding(border_mode, _filter_size(w, filter_shape), _pair(filter_dilation, "filter_dilation"))
    params = ConvParams(subsample, padding, filter_dilation, num_groups)
    (pt, pb), (pl, pr) = params.padding
    given = list(input_shape) if input_shape is not None else [None] * 4
    if len(given) != 4:
        raise ValueError(f"conv2d_grad_wrt_inputs: input_shape has 4 entries (batch, channels, rows, cols), got "
                         f"{input_shape}")
    gs, ws = shape(g), shape(w)
    fill = [gs[0], ws[1] * params.groups] + [(gs[2 + a] - 1) * params.stride[a] - pads + params.dilation[a]
                                             * (ws[2 + a] - 1) + 1 for a, pads in ((0, pt + pb), (1, pl + pr))]
    return Conv2DGradInput(params)(g, w, [f if n is None else n for n, f in zip(given, fill)])


def conv2d_grad_wrt_weights(input, output_grad, filter_shape, input_shape=None, border_mode="valid",
                            subsample=(1, 1), filter_flip=True, filter_dilation=(1, 1), num_groups=1):
    """Theano's abstract_conv.conv2d_grad_wrt_weights: the gradient of conv2d(input, filters, ...)
    with respect to filters of filter_shape, given output_grad (conv2d's flip undone)."""
    from .ops.conv import Conv2DGradFilters, ConvParams
    x, g = as_variable(input), as_variable(output_grad)
    if filter_shape is None or None in tuple(filter_shape):
        raise ValueError(f"conv2d_grad_wrt_weights needs the whole filter_shape, got {filter_shape}")
    padding = _padding(border_mode, tuple(filter_shape)[2:], _pair(filter_dilation, "filter_dilation"))
    w_grad = Conv2DGradFilters(ConvParams(subsample, padding, filter_dilation, num_groups))(x, g, list(filter_shape))
    return w_grad[:, :, ::-1, ::-1] if filter_flip else w_grad


def batch_normalization(inputs, gamma, beta, mean, std, mode="low_mem"):
    """Theano's nnet.batch_normalization (bn.batch_normalization): (inputs - mean) * (gamma / std)
    + beta, all broadcast as given (mode, Theano's memory trade-off, changes nothing here)."""
    if mode not in ("low_mem", "high_mem"):
        raise ValueError(f"batch_normalization: mode is 'low_mem' or 'high_mem', got {mode!r}")
    return (as_variable(inputs) - mean) * (gamma / std) + beta


def _bn_axes(axes, ndim):
    """Theano's axes: 'per-activation' (the batch), 'spatial' (the batch and every axis after the
    channels'), or a tuple."""
    if axes == "per-activation":
        return (0,)
    if axes == "spatial":
        return (0,) + tuple(range(2, ndim))
    if isinstance(axes, str) or not all(0 <= int(a) < ndim for a in axes):
        raise ValueError(f"batch normalization: axes is 'per-activation', 'spatial' or a tuple of axes of the "
                         f"{ndim}-d input, got {axes!r}")
    return tuple(sorted(int(a) for a in axes))


def batch_normalization_train(inputs, gamma, beta, axes="per-activation", epsilon=1e-4,
                              running_average_factor=0.1, running_mean=None, running_var=None):
    """Theano's bn.batch_normalization_train: the inputs normalized by their batch's mean and
    variance over `axes`, scaled by gamma and shifted by beta (each of the inputs' number of
    dimensions, 1 along axes); returns (out, mean, invstd), and with running_mean and running_var
    also their new values: running * (1 - factor) + batch * factor, the batch's variance unbiased."""
    x = as_variable(inputs)
    axes = _bn_axes(axes, x.ndim)
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    invstd = 1.0 / (var + epsilon) ** 0.5
    out = (x - mean) * (gamma * invstd) + beta
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_normalization_train takes running_mean and running_var together")
    if running_mean is None:
        return out, mean, invstd
    count = 1
    for a in axes:
        count = count * x.shape[a]
    count = cast(count, var.dtype)
    unbiased = var * count / maximum(count - 1, 1)
    factor = running_average_factor
    return (out, mean, invstd, running_mean * (1 - factor) + mean * factor,
            running_var * (1 - factor) + unbiased * factor)


def batch_normalization_test(inputs, gamma, beta, mean, var, axes="per-activation", epsilon=1e-4):
    """Theano's bn.batch_normalization_test: normalized by the given (running) mean and variance."""
    x = as_variable(inputs)
    _bn_axes(axes, x.ndim)  # (checked as Theano does; mean and var broadcast as given)
    return (x - mean) * (gamma / (as_variable(var) + epsilon) ** 0.5) + beta


bn = types.SimpleNamespace(batch_normalization=batch_normalization, batch_normalization_train=batch_normalization_train,
                           batch_normalization_test=batch_normalization_test)

abstract_conv = types.SimpleNamespace(conv2d=conv2d, conv2d_grad_wrt_inputs=conv2d_grad_wrt_inputs,
                                      conv2d_grad_wrt_weights=conv2d_grad_wrt_weights)
