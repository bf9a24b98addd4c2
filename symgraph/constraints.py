"""Weight constraints, as Keras's: Dense(64, kernel_constraint=sg.constraints.max_norm(3)) puts
each training step's new kernel back inside the constraint (here: every unit's incoming weight
vector scaled down to norm 3 at most), the dropout paper's max-norm regularization.

The optimizer applies a weight's constraint to the value its step computes (Keras's
`p.constraint(new_p)`), in the same compiled update, so fit, train_on_batch and an
`opt.updates(cost, params)` of one's own all keep it.

`axis` counts the axes of Keras's layout of the weight, so code written for Keras constrains the
same vectors: a Conv2D kernel is (kh, kw, in, out) in Keras and (out, in, kh, kw) here, and
max_norm(3, axis=[0, 1, 2]) bounds each filter's norm on both (the layer says how its layout
maps Keras's axes; Dense, Embedding and recurrent kernels have Keras's layout).
"""
from .construction import Recorded
from .naming import lookup
from .ops import elemwise as E

EPSILON = 1e-7  # (Keras's K.epsilon(), which its constraints add to the norms they divide by)


class Constraint(Recorded):
    """Base class: constraint(w) -> the symbolic weight put back inside the constraint."""

    def __call__(self, w, keras_axes=None):
        """keras_axes: the weight's axis for each of Keras's (None: the same layout)."""
        raise NotImplementedError

    def get_config(self):
        """The constructor's arguments (a saved model builds the constraint again from them)."""
        return self.named_arguments()

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


def _norms(w, axis, keras_axes):
    """The L2 norms of w over Keras's `axis` (an int or a list), kept for broadcasting."""
    axes = [axis] if isinstance(axis, int) else list(axis)
    axes = [a % w.ndim for a in axes]
    if keras_axes is not None:
        axes = [keras_axes[a] for a in axes]
    return E.sqrt((w * w).sum(axis=tuple(sorted(axes)), keepdims=True))


class MaxNorm(Constraint):
    """Each vector along `axis` scaled down to norm max_value when it is longer."""

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w, keras_axes=None):
        norms = _norms(w, self.axis, keras_axes)
        desired = E.clip(norms, 0, self.max_value)
        return w * (desired / (EPSILON + norms))


class NonNeg(Constraint):
    """Negative entries set to zero."""

    def __call__(self, w, keras_axes=None):
        return w * E.cast(w >= 0, w.dtype)


class UnitNorm(Constraint):
    """Each vector along `axis` scaled to norm 1."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w, keras_axes=None):
        return w / (EPSILON + _norms(w, self.axis, keras_axes))


class MinMaxNorm(Constraint):
    """Each vector along `axis` moved towards a norm between min_value and max_value, by `rate`
    (1: all the way at each step)."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w, keras_axes=None):
        norms = _norms(w, self.axis, keras_axes)
        desired = self.rate * E.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (EPSILON + norms))


max_norm = MaxNorm
non_neg = NonNeg
unit_norm = UnitNorm
min_max_norm = MinMaxNorm
_BY_NAME = {"max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm, "min_max_norm": MinMaxNorm}


def get(identifier):
    """None, a constraint (a Constraint or any function of the weight), or a name ("max_norm",
    "non_neg", "unit_norm", "min_max_norm") with Keras's defaults."""
    if identifier is None or callable(identifier):
        return identifier
    return lookup(_BY_NAME, identifier, "constraint")()


def apply(weight, new_value):
    """new_value put inside weight's constraint, if it has one (add_weight(constraint=...))."""
    constraint = getattr(weight, "constraint", None)
    if constraint is None:
        return new_value
    if isinstance(constraint, Constraint):
        return constraint(new_value, getattr(weight, "keras_axes", None))
    return constraint(new_value)
