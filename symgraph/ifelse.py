"""sg.ifelse: Theano's theano.ifelse module (`from theano.ifelse import ifelse`)."""
from .ops.ifelse import IfElse, ifelse

__all__ = ["ifelse", "IfElse"]
