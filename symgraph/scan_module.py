"""sg.scan_module: Theano's theano.scan_module names (`from theano.scan_module import until`)."""
from .ops.scan import Scan, scan, until, map, reduce, foldl, foldr

__all__ = ["scan", "until", "map", "reduce", "foldl", "foldr", "Scan"]
