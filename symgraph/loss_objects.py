"""Keras's loss objects: `loss=sg.losses.SparseCategoricalCrossentropy(from_logits=True)`, as
tf.keras's tutorials write them. Each is a loss function of losses.py with its settings;
called, it gives the batch's loss reduced as `reduction` says (the mean over the batch by
default, weighted by sample_weight); compile takes its per-example values (`call`), which fit
means over the batch as it does a loss given by name."""
from . import losses as F
from .ops import elemwise as E
from .ops.base import as_variable

REDUCTIONS = ("auto", "sum_over_batch_size", "sum", "none")


class Loss:
    """A loss function with settings: call(y_true, y_pred) per example; the object called
    reduces them."""
    fn = None

    def __init__(self, reduction="auto", name=None, **settings):
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction is one of {REDUCTIONS}, not {reduction!r}")
        self.reduction, self.settings = reduction, settings
        self.name = name or type(self).fn.__name__
        self.__name__ = self.name  # (what logs and saving call it)

    def call(self, y_true, y_pred):
        return type(self).fn(y_true, y_pred, **self.settings)

    def __call__(self, y_true, y_pred, sample_weight=None):
        values = self.call(as_variable(y_true), as_variable(y_pred))
        if sample_weight is not None:
            values = values * E.cast(as_variable(sample_weight), values.dtype)
        if self.reduction == "none":
            return values
        return values.sum() if self.reduction == "sum" else values.mean()

    def get_config(self):
        return {"reduction": self.reduction, "name": self.name, **self.settings}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


def _loss_class(name, fn, doc, **defaults):
    """A Loss subclass for fn whose constructor takes fn's settings (defaults: Keras's)."""
    def __init__(self, *args, reduction="auto", name=None, **settings):
        unknown = set(settings) - set(defaults)
        if unknown or len(args) > len(defaults):
            raise TypeError(f"{type(self).__name__} takes {sorted(defaults)} (and reduction, name), "
                            f"got {sorted(unknown) or args}")
        given = {**defaults, **dict(zip(defaults, args)), **settings}
        Loss.__init__(self, reduction, name, **given)
    return type(name, (Loss,), {"fn": staticmethod(fn), "__init__": __init__, "__doc__": doc})


BinaryCrossentropy = _loss_class("BinaryCrossentropy", F.binary_crossentropy, "Keras's binary crossentropy.",
                                 from_logits=False, label_smoothing=0.0)
CategoricalCrossentropy = _loss_class("CategoricalCrossentropy", F.categorical_crossentropy,
                                      "Crossentropy of one-hot (or probability) targets.",
                                      from_logits=False, label_smoothing=0.0)
SparseCategoricalCrossentropy = _loss_class("SparseCategoricalCrossentropy", F.sparse_categorical_crossentropy,
                                            "Crossentropy of integer class targets.", from_logits=False)
MeanSquaredError = _loss_class("MeanSquaredError", F.mean_squared_error, "mean((y_pred - y_true) ** 2).")
MeanAbsoluteError = _loss_class("MeanAbsoluteError", F.mean_absolute_error, "mean(|y_pred - y_true|).")
MeanAbsolutePercentageError = _loss_class("MeanAbsolutePercentageError", F.mean_absolute_percentage_error,
                                          "100 mean(|y_true - y_pred| / |y_true|).")
MeanSquaredLogarithmicError = _loss_class("MeanSquaredLogarithmicError", F.mean_squared_logarithmic_error,
                                          "mean((log(1 + y_pred) - log(1 + y_true)) ** 2).")
Hinge = _loss_class("Hinge", F.hinge, "mean(max(1 - y_true y_pred, 0)).")
SquaredHinge = _loss_class("SquaredHinge", F.squared_hinge, "mean(max(1 - y_true y_pred, 0) ** 2).")
CategoricalHinge = _loss_class("CategoricalHinge", F.categorical_hinge, "The multi-class hinge.")
Huber = _loss_class("Huber", F.huber, "Quadratic within delta, linear beyond.", delta=1.0)
LogCosh = _loss_class("LogCosh", F.log_cosh, "mean(log(cosh(y_pred - y_true))).")
Poisson = _loss_class("Poisson", F.poisson, "mean(y_pred - y_true log(y_pred)).")
KLDivergence = _loss_class("KLDivergence", F.kl_divergence, "sum(y_true log(y_true / y_pred)).")
CosineSimilarity = _loss_class("CosineSimilarity", F.cosine_similarity, "-cos(y_true, y_pred) along axis.",
                               axis=-1)

CLASSES = {cls.__name__: cls for cls in (
    BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, MeanSquaredError,
    MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError, Hinge, SquaredHinge,
    CategoricalHinge, Huber, LogCosh, Poisson, KLDivergence, CosineSimilarity)}
