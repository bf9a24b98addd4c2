"""Keras's EinsumDense: a dense layer whose product is an einsum ("ab,bc->ac" is Dense;
"abc,cde->abde" a projection of each step into heads), its kernel's shape read off the equation,
the input's shape and output_shape, as Keras's _analyze_einsum_string reads them."""
import re

from .. import activations
from ..ops.einsum import einsum
from .base import Layer


def analyze(equation, input_shape, output_shape, bias_axes):
    """(kernel shape, bias shape or None, the full output shape) of an EinsumDense."""
    found = re.fullmatch(r"(\.\.\.)?([a-zA-Z]+),([a-zA-Z]+)->(\.\.\.)?([a-zA-Z]+)", equation.replace(" ", ""))
    if found is None:
        raise ValueError(f"EinsumDense: the equation must be 'ab,bc->ac' with an optional leading '...', got "
                         f"{equation!r}")
    left, input_spec, weight_spec, _, output_spec = found.groups()
    output_shape = [output_shape] if isinstance(output_shape, int) or output_shape is None else list(output_shape)
    input_shape = list(input_shape)
    if left:  # (the elided leading axes kept as they are)
        elided = input_shape[:len(input_shape) - len(input_spec)]
        input_shape = input_shape[len(elided):]
    else:
        elided = []
        if len(output_shape) == len(output_spec) - 1:
            output_shape = [input_shape[0]] + output_shape  # (the batch)
    if len(output_shape) != len(output_spec) or len(input_shape) != len(input_spec):
        raise ValueError(f"EinsumDense {equation!r}: input shape {tuple(elided + input_shape)} and output_shape "
                         f"{tuple(output_shape)} do not fit the equation's letters")
    sizes = {}
    for char, size in zip(output_spec, output_shape):
        sizes[char] = size
    for char, size in zip(input_spec, input_shape):
        sizes[char] = size  # (an output letter of the input takes the input's length)
    missing = [c for c in weight_spec if sizes.get(c) is None]
    if missing:
        raise ValueError(f"EinsumDense {equation!r}: the kernel's axis {missing[0]!r} has no known length "
                         f"(give it in output_shape)")
    kernel_shape = tuple(sizes[c] for c in weight_spec)
    bias_shape = None
    if bias_axes:
        if any(c not in output_spec for c in bias_axes):
            raise ValueError(f"EinsumDense: bias_axes {bias_axes!r} must be letters of the output {output_spec!r}")
        first = min(output_spec.index(c) for c in bias_axes)
        bias_shape = tuple(sizes[c] if c in bias_axes else 1 for c in output_spec[first:])
    return kernel_shape, bias_shape, tuple(elided + [sizes[c] for c in output_spec])


class EinsumDense(Layer):
    """EinsumDense(equation, output_shape, activation=None, bias_axes=None): activation(
    einsum(equation, x, kernel) + bias), bias along bias_axes (letters of the output)."""

    def __init__(self, equation, output_shape, activation=None, bias_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kw):
        super().__init__(**kw)
        self.equation, self.partial_output_shape, self.bias_axes = equation, output_shape, bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint

    def build(self, input_shape):
        kernel_shape, bias_shape, self.full_output_shape = analyze(self.equation, input_shape,
                                                                   self.partial_output_shape, self.bias_axes)
        self.kernel = self.add_weight("kernel", kernel_shape, self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = None if bias_shape is None else self.add_weight(
            "bias", bias_shape, self.bias_initializer, regularizer=self.bias_regularizer,
            constraint=self.bias_constraint)

    def call(self, x, context):
        out = einsum(self.equation, x, self.kernel)
        if self.bias is not None:
            out = out + self.bias
        return self.activation(out)
