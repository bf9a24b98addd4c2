"""symgraph refuses a NumPy older than 2.1 at import, and its numba backend a numba older than
0.62 (or one on an LLVM before 20), each with an ImportError saying what to do; the numpy
backend still runs with an old numba."""
import subprocess
import sys

import llvmlite.binding as llvm
import numba
import numpy as np

from symgraph.requirements import unsupported_numba, unsupported_numpy


def test_numpy_older_than_2_1_is_refused_with_a_clear_message():
    assert unsupported_numpy(np.__version__) is None  # the one that runs the suite
    assert unsupported_numpy("2.1.3") is None and unsupported_numpy("2.4.0rc1") is None
    message = unsupported_numpy("1.26.4")
    assert "NumPy 2.1 or newer" in message and "1.26.4" in message and "pip install -U numpy" in message
    assert unsupported_numpy("2.0.2") is not None


def test_numba_older_than_0_62_is_refused_with_a_clear_message():
    assert unsupported_numba(numba.__version__, llvm.llvm_version_info) is None  # this one runs the suite
    assert unsupported_numba("0.62.1", (20, 1, 8)) is None and unsupported_numba("0.68.1rc1", (22, 1, 0)) is None
    message = unsupported_numba("0.61.2", (15, 0, 7))
    assert "numba 0.62 or newer" in message and "0.61.2" in message and "backend='numpy'" in message
    assert unsupported_numba("0.62.0", (15, 0, 7)) is not None  # (a numba built against an old LLVM)


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_the_checks_run_when_symgraph_and_its_numba_backend_are_imported():
    """(each installed version presented as an old one before the import)"""
    old_numpy = _run("import numpy; numpy.__version__ = '1.26.4'\nimport symgraph")
    assert old_numpy.returncode != 0 and "ImportError: symgraph needs NumPy 2.1 or newer" in old_numpy.stderr
    old_numba = _run("import numba, numpy as np; numba.__version__ = '0.61.2'\n"
                     "import symgraph as sg\n"
                     "x = sg.vector('x')\n"
                     "print(sg.function([x], x * 2, backend='numpy')(np.ones(2, 'float32')))\n"
                     "try:\n"
                     "    sg.function([x], x * 2, backend='numba')\n"
                     "except ImportError as e:\n"
                     "    print('refused:', e)\n")
    assert old_numba.returncode == 0, old_numba.stderr
    lines = old_numba.stdout.splitlines()
    assert lines[0] == "[2. 2.]" and lines[1].startswith("refused: symgraph's numba backend needs numba 0.62")
