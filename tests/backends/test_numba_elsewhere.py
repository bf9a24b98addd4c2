"""numba_elsewhere: a kernel compiled by a child process into numba's disk cache, loaded here
(the whole-step programs' use of it: test_numba_program.py)."""
import numpy as np

from symgraph.backends import numba_elsewhere


def test_what_a_child_cannot_rebuild_or_compile_is_left_to_this_process():
    x = np.zeros((3, 4), "float32")
    assert [d[2] for d in numba_elsewhere.describe([x, x.T, x[:, ::2]])] == [(16, 4), (4, 16), (16, 8)]
    assert numba_elsewhere.describe([x[::-1]]) is None  # (a negative stride)
    assert numba_elsewhere.describe([np.zeros(3, complex)]) is None
    assert numba_elsewhere.compile_in_child("not a kernel", [], [x]) is False

