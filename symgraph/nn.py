"""sg.nn: activations, softmax family, losses, convolution, pooling, batch norm, dropout."""
from .ops.elemwise import relu, sigmoid, hard_sigmoid, softplus, gelu
from .ops.nn import (softmax, log_softmax, categorical_crossentropy, binary_crossentropy, one_hot,
                     elu, batch_norm, dropout, Softmax, LogSoftmax, CategoricalCrossentropy,
                     CrossentropySoftmax)
from .ops.conv import conv2d, conv2d_transpose, max_pool2d, avg_pool2d

__all__ = ["relu", "sigmoid", "hard_sigmoid", "softplus", "elu", "gelu", "softmax", "log_softmax",
           "categorical_crossentropy", "binary_crossentropy", "one_hot", "conv2d", "conv2d_transpose",
           "max_pool2d", "avg_pool2d", "batch_norm", "dropout"]
