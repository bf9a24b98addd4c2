"""symgraph: symbolic expressions, rewritten, differentiated and compiled.

    >>> import symgraph as sg
    >>> x = sg.vector("x")
    >>> f = sg.function([x], sg.grad((x ** 2).sum(), x))
"""
import sys as _sys

from . import gc_pause as _gc_pause

with _gc_pause.held():  # importing makes much that lives: see gc_pause
    from .requirements import check_numpy as _check_numpy
    _check_numpy()  # (a NumPy older than 2.1: an ImportError that says so)
    from .config import config
    from .graph import Variable, Constant, SharedVariable, Apply, TensorType
    from .variables import tensor, shared, constant, CONSTRUCTORS as _CONSTRUCTORS
    from .ops import *  # noqa: F401,F403  every op constructor (add, exp, sum, reshape, dot, ...)
    from .ops import getitem, sum, max, min, all, any, abs, pow, round_half_to_even
    from .function import function, Function, UnusedInputError
    from .function_io import In, Out  # (Theano's theano.In, theano.Out)
    from .ops.scan import scan, until, map, reduce, foldl, foldr  # (Theano's theano.map, theano.reduce, ...)
    from .ops.shape import (grad_clip, zero_grad, alloc, fill, second, shape_padaxis, join, horizontal_stack,
                            vertical_stack, stacklists, roll, addbroadcast, unbroadcast, patternbroadcast)
    from .ops.linalg import diag, diagonal, trace, triu, tril
    from .ops.reduce import max_and_argmax, largest, smallest, isclose, allclose
    from .ops import extra_ops  # (Theano's T.extra_ops)
    from .ops import nlinalg  # (Theano's T.nlinalg and T.slinalg names, PyTensor's pytensor.tensor.linalg)
    from .ops.nlinalg import matrix_inverse, det, solve
    from .ops.sorting import sort, argsort, topk, argtopk, topk_and_argtopk
    from .ops.special import gammaln, gamma, psi, digamma, polygamma, tri_gamma, erfc, erfcx, erfinv, erfcinv, i0, i1
    slinalg = linalg = nlinalg
    from .backends.executor import NonFiniteError
    from .grad import grad, jacobian, hessian, Lop, Rop, verify_grad, GradientError, DisconnectedInputError
    from .printing import debugprint, pp
    from .drawing import to_dot, render, GraphvizNotInstalled
    from .graph import name_scope, clone
    clone_replace = clone  # (PyTensor's name)
    from .ops.base import as_tensor_variable, Op
    from .ops.from_function import as_op  # (Theano's theano.compile.ops.as_op)
    as_tensor = as_tensor_variable
    disconnected_grad = stop_gradient  # noqa: F405  (Theano's theano.gradient.disconnected_grad)
    from . import random, datasets, nn, nnet, signal, utils, activations, optimizers, losses, metrics, callbacks, layers
    from . import gradient, ifelse, scan_module  # (Theano's theano.gradient, theano.ifelse, theano.scan_module)
    from . import constraints, initializers, regularizers, keras_backend as backend  # `from symgraph import backend as K`, as Keras's
    _sys.modules[__name__ + ".backend"] = backend  # (and `import symgraph.backend as K`)

globals().update(_CONSTRUCTORS)

__version__ = "0.1.0"
