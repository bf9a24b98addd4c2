"""All public op constructors, gathered (graph.py's operators and symgraph/__init__ use these)."""
from .base import Op, as_variable
from .elemwise import *  # noqa: F401,F403  the generated elementwise functions
from .elemwise import true_divide, floor_divide, power, negative, absolute, bitwise_not
from .reduce import (sum, mean, prod, max, min, all, any, argmax, argmin, var, std,
                     logsumexp, cumsum, unbroadcast)
from .shape import (shape, reshape, flatten, transpose, swapaxes, dimshuffle, expand_dims, squeeze,
                    concatenate, stack, broadcast_to, zeros, ones, full, zeros_like, ones_like,
                    full_like, arange, eye, shape_padleft, shape_padright, repeat, tile,
                    stop_gradient)
from .index import getitem, set_subtensor, inc_subtensor
from .linalg import dot, matmul, tensordot, outer, batched_dot
from .extra_ops import (cumprod, diff, bincount, to_one_hot, fill_diagonal, fill_diagonal_offset, searchsorted,
                        unravel_index, ravel_multi_index, unique, specify_shape)
from .selection import nonzero, flatnonzero, nonzero_values, argwhere, take, compress
from .statistics import quantile, percentile, median, ptp, nan_to_num, nansum, nanmean, nanmax, nanmin
from .einsum import einsum
from .padding import pad

from .elemwise import __all__ as _elemwise_names

__all__ = [n for n in _elemwise_names if n not in ("Elemwise", "ScalarOp", "TABLE")] + [
    "sum", "mean", "prod", "max", "min", "all", "any", "argmax", "argmin", "var", "std",
    "logsumexp", "cumsum", "shape", "reshape", "flatten", "transpose", "swapaxes", "dimshuffle",
    "expand_dims", "squeeze", "concatenate", "stack", "broadcast_to", "zeros", "ones", "full",
    "zeros_like", "ones_like", "full_like", "arange", "eye", "shape_padleft", "shape_padright",
    "repeat", "tile", "stop_gradient", "set_subtensor", "inc_subtensor", "dot", "matmul",
    "tensordot", "outer", "batched_dot", "as_variable",
    "cumprod", "diff", "bincount", "to_one_hot", "fill_diagonal", "fill_diagonal_offset", "searchsorted",
    "unravel_index", "ravel_multi_index", "unique", "specify_shape", "nonzero", "flatnonzero",
    "nonzero_values", "argwhere", "take", "compress", "quantile", "percentile", "median", "ptp",
    "nan_to_num", "nansum", "nanmean", "nanmax", "nanmin", "einsum", "pad"]
