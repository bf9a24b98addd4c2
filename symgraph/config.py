"""Global settings, read once from environment variables and changeable at run time.

    >>> import symgraph as sg
    >>> sg.config.floatX
    'float32'
"""
import os

import numpy as np

_BACKENDS = ("numba", "numpy", "cuda")
_BLAS = ("auto", "numpy", "mkl")


class Config:
    def __init__(self):
        self.floatX = os.environ.get("SYMGRAPH_FLOATX", "float32")
        self.backend = os.environ.get("SYMGRAPH_BACKEND", "numba")
        # Stop at the first node that makes a NaN or Inf, naming it (slower; for debugging).
        self.nan_guard = os.environ.get("SYMGRAPH_NAN_GUARD", "0").lower() in ("1", "true", "yes")
        # Time each node of every function (f.profile.summary(): profiling.py); slower.
        self.profile = os.environ.get("SYMGRAPH_PROFILE", "0").lower() in ("1", "true", "yes")
        # The numba backend compiles a small graph called in a loop into one function
        # (backends/numba_program.py); off: always node by node.
        self.whole_programs = os.environ.get("SYMGRAPH_WHOLE_PROGRAMS", "1").lower() not in ("0", "false", "no")
        # Matrix products: "numpy" (np.dot: NumPy's BLAS, shared with the user's own
        # products), "auto" (Intel MKL where the mkl package is installed, else np.dot) or
        # "mkl" (MKL or an error). MKL is faster alone but its threads and NumPy's contend when
        # both run in one process (backends/blas.py), so it is asked for, not the default.
        self.blas = os.environ.get("SYMGRAPH_BLAS", "numpy")
        # A first call that compiles several kernels forks a helper process that compiles the
        # later ones meanwhile (Linux, 2+ CPUs: backends/numba_compile_helper.py); off: one
        # process compiles them all.
        self.compile_helper = os.environ.get("SYMGRAPH_COMPILE_HELPER", "1").lower() not in ("0", "false", "no")
        self.cache_dir = os.environ.get(
            "SYMGRAPH_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "symgraph"))

    def __setattr__(self, key, value):
        if key == "floatX" and value not in ("float16", "float32", "float64"):
            raise ValueError(f"config.floatX must be float16, float32 or float64, not {value!r}")
        if key == "backend" and value not in _BACKENDS:
            raise ValueError(f"config.backend must be one of {_BACKENDS}, not {value!r}")
        if key == "blas" and value not in _BLAS:
            raise ValueError(f"config.blas must be one of {_BLAS}, not {value!r}")
        object.__setattr__(self, key, value)

    def __repr__(self):
        return f"Config(floatX={self.floatX!r}, backend={self.backend!r}, cache_dir={self.cache_dir!r})"


config = Config()


def dtype_or_floatx(dtype=None):
    """A dtype name, where None and "floatX" mean config.floatX (the one place that decides)."""
    return config.floatX if dtype is None or dtype == "floatX" else np.dtype(dtype).name
