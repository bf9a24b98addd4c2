"""The names generated CUDA kernels call, as the simulator sees them.

On a GPU, kernels use numba's `math` and `libdevice`. The simulator runs the same source in
Python, where `math.exp(1000.0)` raises and numba's simulated libdevice functions do
nothing, so there these names are bound to NumPy's functions, which give inf and NaN.
"""
import math
import types

import numpy as np


# What the simulator finds behind `math` and `libdevice` in generated kernels: NumPy's
# functions, which return inf and NaN where Python's math would raise.
sim_math = types.SimpleNamespace(
    exp=np.exp, expm1=np.expm1, log=np.log, log2=np.log2, log10=np.log10, log1p=np.log1p, sqrt=np.sqrt,
    sin=np.sin, cos=np.cos, tan=np.tan, tanh=np.tanh, sinh=np.sinh, cosh=np.cosh, asin=np.arcsin,
    acos=np.arccos, atan=np.arctan, atanh=np.arctanh, isnan=np.isnan, isinf=np.isinf, erf=math.erf,
    asinh=np.arcsinh, acosh=np.arccosh, atan2=np.arctan2, hypot=np.hypot, isfinite=np.isfinite,
    fmod=np.fmod, copysign=np.copysign, pi=math.pi, inf=math.inf, nan=math.nan)
sim_libdevice = types.SimpleNamespace(
    floor=np.floor, floorf=np.floor, ceil=np.ceil, ceilf=np.ceil, rint=np.rint, rintf=np.rint,
    exp2=np.exp2, exp2f=np.exp2, trunc=np.trunc, truncf=np.trunc, cbrt=np.cbrt, cbrtf=np.cbrt)
