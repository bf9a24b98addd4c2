"""The NumPy symgraph needs, checked when it is imported.

symgraph's dtype rules are NumPy 2's (NEP 50: a Python scalar does not widen an array, an out-of-range
Python int is an error) and its reshapes ask NumPy for a view with `copy=False` (NumPy 2.1). Under
NumPy 1.26 ten tests failed (a BatchNorm's float32 moving mean updated in float64 and refused, kernels
of bools naming `np.bool`, reshapes with copy=False refused, float32 gelu off by 2^-23 relative);
NumPy 2.1.3 and newer pass the suite.
"""
OLDEST_NUMPY = (2, 1)


def release(version):
    """(major, minor) of a version string: "2.1.3" and "2.1.0rc1" -> (2, 1)."""
    return tuple(int(part) for part in version.split(".")[:2] if part.isdigit())


def unsupported_numpy(version):
    """Why NumPy `version` cannot run symgraph, or None."""
    if release(version) >= OLDEST_NUMPY:
        return None
    return (f"symgraph needs NumPy {'.'.join(map(str, OLDEST_NUMPY))} or newer; this is NumPy {version}, "
            f"whose dtype promotion differs (pip install -U numpy)")


def check_numpy():
    import numpy
    problem = unsupported_numpy(numpy.__version__)
    if problem is not None:
        raise ImportError(problem)
