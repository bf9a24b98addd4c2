"""sg.signal: theano.tensor.signal's pooling, for code written against Theano (`pool.pool_2d`)."""
from . import pool

__all__ = ["pool"]
