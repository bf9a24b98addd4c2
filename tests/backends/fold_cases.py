"""What the tests of whole families of reductions share: every fold kind with NumPy's
reference, the dtypes and keepdims they run with, and values that exercise them (NaN and
infinities among floats, products that neither overflow nor underflow)."""
import numpy as np
import pytest

FOLDS = {"sum": np.sum, "prod": np.prod, "mean": np.mean, "max": np.max, "min": np.min, "any": np.any, "all": np.all}
# (a sum, product or mean of truth values is an integer's: the other dtypes' cases)
CASES = [(kind, dtype, keepdims) for dtype in ("float32", "float64", "int32", "bool") for kind in FOLDS
         for keepdims in (False, True) if not (dtype == "bool" and kind in ("sum", "prod", "mean"))]


def every_fold(test):
    """test(kind, dtype, keepdims, ...) parametrized by CASES, the sets after its first in the
    slow tier (exhaustive)."""
    return pytest.mark.exhaustive(pytest.mark.parametrize("kind, dtype, keepdims", CASES)(test))


def fold_values(rng, dtype, kind, shape, specials, integers=3):
    """Values of `dtype` for a `kind` fold: floats with NaN, inf and -inf at the flat positions
    `specials`; integers in [-integers, integers]; for a product, values near 1 (or +-1)."""
    if dtype == "bool":
        return rng.random(shape) > 0.001
    if kind == "prod":  # (products of many values, neither overflowing nor underflowing)
        if dtype == "int32":
            return np.where(rng.random(shape) < 0.5, -1, 1).astype(dtype)
        return (1 + rng.normal(size=shape) * 0.003).astype(dtype)
    if dtype == "int32":
        return rng.integers(-integers, integers + 1, shape).astype(dtype)
    a = rng.normal(size=shape).astype(dtype)
    a.flat[list(specials)] = [np.nan, np.inf, -np.inf][:len(specials)]
    return a
