"""sg.gradient: Theano's theano.gradient names (`theano.gradient.disconnected_grad(x)`)."""
from .grad import (grad, jacobian, hessian, Lop, Rop, verify_grad, GradientError, DisconnectedInputError,
                   grad_undefined, grad_not_implemented, DisconnectedType, NullTypeGradError)
from .ops.shape import grad_clip, zero_grad, stop_gradient

disconnected_grad = consider_constant = stop_gradient  # (the value, no gradient through it)

__all__ = ["grad", "jacobian", "hessian", "Lop", "Rop", "verify_grad", "GradientError", "DisconnectedInputError",
           "grad_clip", "zero_grad", "disconnected_grad", "consider_constant"]
