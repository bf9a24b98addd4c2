"""sg.nn: activations, softmax family and losses."""
from .ops.elemwise import relu, sigmoid, hard_sigmoid, softplus, gelu
from .ops.nn import (softmax, log_softmax, categorical_crossentropy, binary_crossentropy, one_hot,
                     elu, Softmax, LogSoftmax, CategoricalCrossentropy, CrossentropySoftmax)

__all__ = ["relu", "sigmoid", "hard_sigmoid", "softplus", "elu", "gelu", "softmax", "log_softmax",
           "categorical_crossentropy", "binary_crossentropy", "one_hot"]
