"""Layers of several inputs (a functional model's skip connections): Add, Subtract, Multiply,
Average, Maximum, Minimum, Concatenate, Dot, and Keras's lowercase functions of them.

    h = sg.layers.Conv2D(8, 3, padding="same")(inputs)
    out = sg.layers.Add()([inputs8, h])              # or sg.layers.add([inputs8, h])
"""
import functools

from ..graph import Variable, name_scope
from ..ops import elemwise as E
from ..ops.shape import concatenate as join, ones, shape
from .base import Layer


class Merge(Layer):
    """A layer called on a list of variables of one shape (its call: `combine`)."""

    minimum_inputs = 2

    def called_on(self, inputs):
        if not isinstance(inputs, (list, tuple)) or not all(isinstance(x, Variable) for x in inputs):
            raise TypeError(f"layer {self.name} must be called on a list of symbolic variables, got {inputs!r}")
        if len(inputs) < self.minimum_inputs:
            raise ValueError(f"layer {self.name} merges at least {self.minimum_inputs} inputs, got {len(inputs)}")
        return list(inputs)

    def trace(self, inputs, context):
        shapes = [tuple(x.type.shape) for x in inputs]
        self._check(shapes)
        if not self.built:
            self.built = True
            self.input_shape = shapes
        with name_scope(self.name):
            out = self.call(inputs, context)
            masks = [getattr(x, "keras_mask", None) for x in inputs]
            if any(m is not None for m in masks):
                out.keras_mask = self.compute_mask(inputs, masks)
        if self.output_shape is None:
            self.output_shape = tuple(out.type.shape)
        return out

    def compute_mask(self, inputs, masks):
        """A step is real where it is in every input (Keras's: the masks ANDed; an input
        without one counts as all real)."""
        given = [m for m in masks if m is not None]
        return functools.reduce(E.and_, given) if len(given) > 1 else given[0]

    def _check(self, shapes):
        ndims = {len(s) for s in shapes}
        if len(ndims) > 1:
            raise ValueError(f"{self.name}: its inputs have different numbers of axes: {shapes}")
        for axis in range(1, ndims.pop()):
            if axis in self._free_axes(len(shapes[0])):
                continue
            known = {s[axis] for s in shapes if s[axis] is not None}
            if len(known) > 1:
                raise ValueError(f"{self.name}: its inputs' shapes {shapes} differ along axis {axis}")

    def _free_axes(self, ndim):
        return ()

    def call(self, inputs, context):
        return functools.reduce(self.combine, inputs)


class Add(Merge):
    combine = staticmethod(E.add)


class Subtract(Merge):
    """inputs[0] - inputs[1]."""

    def call(self, inputs, context):
        if len(inputs) != 2:
            raise ValueError(f"{self.name} subtracts exactly two inputs, got {len(inputs)}")
        return inputs[0] - inputs[1]


class Multiply(Merge):
    combine = staticmethod(E.mul)


class Maximum(Merge):
    combine = staticmethod(E.maximum)


class Minimum(Merge):
    combine = staticmethod(E.minimum)


class Average(Merge):
    def call(self, inputs, context):
        return functools.reduce(E.add, inputs) * (1.0 / len(inputs))


class Concatenate(Merge):
    """Joined along `axis` (Keras's default -1; NCHW feature maps join channels with axis=1)."""

    def __init__(self, axis=-1, **kw):
        super().__init__(**kw)
        self.axis = int(axis)

    def _free_axes(self, ndim):
        return (self.axis % ndim,)

    def call(self, inputs, context):
        return join(inputs, axis=self.axis % inputs[0].ndim)

    def compute_mask(self, inputs, masks):
        """Sequences joined along their steps (axis 1) join their masks, an input without one
        counting as all real; joined along another axis, the masks are ANDed."""
        if self.axis % inputs[0].ndim != 1:
            return super().compute_mask(inputs, masks)
        return join([m if m is not None else ones([shape(x)[0], shape(x)[1]], dtype="bool")
                     for x, m in zip(inputs, masks)], axis=1)


class Dot(Merge):
    """The dot products of two inputs' matching examples along `axes` (an int for both, or one
    each; Keras's batch_dot): two (batch, n) inputs -> (batch, 1); normalize=True takes cosine
    similarities (each input l2-normalized along its axis first), a siamese network's score."""
    minimum_inputs = 2

    def __init__(self, axes, normalize=False, **kw):
        super().__init__(**kw)
        self.axes, self.normalize = axes, bool(normalize)

    def _check(self, shapes):
        if len(shapes) != 2:
            raise ValueError(f"{self.name} takes two inputs, got {len(shapes)}")

    def call(self, inputs, context):
        from .. import keras_backend as K
        x, y = inputs
        ax, ay = (self.axes, self.axes) if isinstance(self.axes, int) else self.axes
        if self.normalize:
            x, y = K.l2_normalize(x, ax), K.l2_normalize(y, ay)
        return K.batch_dot(x, y, (ax, ay))

    def compute_mask(self, inputs, masks):
        return None  # (a product over the steps has none)


def _functional(cls):
    def merge(inputs, **kw):
        return cls(**kw)(inputs)
    merge.__name__ = merge.__qualname__ = cls.__name__.lower()
    merge.__doc__ = f"Keras's {cls.__name__.lower()}(inputs): {cls.__name__}()(inputs)."
    return merge


add, subtract, multiply, average, maximum, minimum, concatenate = (
    _functional(c) for c in (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate))


def dot(inputs, axes, normalize=False, **kw):
    """Keras's dot(inputs, axes): Dot(axes)(inputs)."""
    return Dot(axes, normalize, **kw)(inputs)
