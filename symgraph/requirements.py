"""The NumPy and numba symgraph needs: NumPy's checked when symgraph is imported, numba's when
the numba backend is (numba_target), each an ImportError that says what to do.

symgraph's dtype rules are NumPy 2's (NEP 50: a Python scalar does not widen an array, an out-of-range
Python int is an error) and its reshapes ask NumPy for a view with `copy=False` (NumPy 2.1). Under
NumPy 1.26 ten tests failed (a BatchNorm's float32 moving mean updated in float64 and refused, kernels
of bools naming `np.bool`, reshapes with copy=False refused, float32 gelu off by 2^-23 relative);
NumPy 2.1.3 and newer pass the suite.
"""
OLDEST_NUMPY = (2, 1)
OLDEST_NUMBA = (0, 62)


def release(version):
    """(major, minor) of a version string: "2.1.3" and "2.1.0rc1" -> (2, 1)."""
    return tuple(int(part) for part in version.split(".")[:2] if part.isdigit())


def unsupported_numpy(version):
    """Why NumPy `version` cannot run symgraph, or None."""
    if release(version) >= OLDEST_NUMPY:
        return None
    return (f"symgraph needs NumPy {'.'.join(map(str, OLDEST_NUMPY))} or newer; this is NumPy {version}, "
            f"whose dtype promotion differs (pip install -U numpy)")


def unsupported_numba(numba_version, llvm_version):
    """Why numba `numba_version` (its llvmlite built on LLVM `llvm_version`) cannot run the
    numba backend, or None. Numba 0.61 and older come with LLVM 14-15, which cannot compile
    the NaN-propagating max/min of the reduction folds (numba_vecmath.fold_max) on x86: the
    process aborted ("LLVM ERROR: Cannot select ... fmaximum"), so the backend refuses to start
    instead. The suite passes on numba 0.62.1 (LLVM 20), 0.65.1 and 0.68.1 (LLVM 22)."""
    if release(numba_version) >= OLDEST_NUMBA and llvm_version[0] >= 20:
        return None
    return (f"symgraph's numba backend needs numba {'.'.join(map(str, OLDEST_NUMBA))} or newer (LLVM 20+); "
            f"this is numba {numba_version} with LLVM {'.'.join(map(str, llvm_version))}, whose compiler "
            f"aborts on the kernels' max/min folds. Upgrade it (pip install -U numba) or use backend='numpy'.")


def check_numpy():
    import numpy
    _refuse(unsupported_numpy(numpy.__version__))


def check_numba():
    import numba
    from llvmlite.binding import llvm_version_info
    _refuse(unsupported_numba(numba.__version__, llvm_version_info))


def _refuse(problem):
    if problem is not None:
        raise ImportError(problem)
