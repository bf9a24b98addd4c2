"""numba_blocks: an 8x8 block of a 2-d array transposed in vector registers, for every element
width, at any offset, the bits moved as they are, in vector code; the transposed copies made of
such blocks."""
import re

import numpy as np
import pytest
from numba import njit

from symgraph.backends import numba_blocks
from symgraph.backends.numba_blocks import BLOCK, transpose_block

from ..conftest import own_asm


@njit(cache=False)
def _blocks(src, dst, row, column, dst_row, dst_column):
    transpose_block(src, row, column, dst, dst_row, dst_column)


@pytest.mark.parametrize("dtype", ["uint8", "int16", "float32", "float64", "int64", "bool"])
def test_a_block_lands_transposed_and_nothing_else_moves(dtype, rng):
    src = (rng.normal(size=(19, 23)) * 1000).astype(dtype)
    if dtype.startswith("float"):  # (bits as they are: -0.0, a NaN with a payload, infinities)
        src[3, 5], src[4, 6], src[5, 7] = -0.0, np.inf, -np.inf
        src.view(f"uint{8 * src.itemsize}")[6, 8] = np.array(np.nan, dtype).view(f"uint{8 * src.itemsize}") | 1
    for row, column, dst_row, dst_column in [(0, 0, 0, 0), (3, 5, 1, 9), (11, 15, 15, 2)]:
        dst = np.zeros((24, 19), dtype)
        _blocks(src, dst, row, column, dst_row, dst_column)
        want = np.zeros_like(dst)
        want[dst_row:dst_row + BLOCK, dst_column:dst_column + BLOCK] = src[row:row + BLOCK, column:column + BLOCK].T
        assert np.array_equal(dst.view(f"uint{8 * dst.itemsize}"), want.view(f"uint{8 * want.itemsize}")), \
            (row, column, dst_row, dst_column)


def test_a_block_moves_vectors_not_values():
    """Eight vector loads and eight vector stores of float32, no scalar move (LLVM kept the
    plain loop dst[i, j] = src[j, i] scalar: ~3 cycles a value)."""
    @njit(cache=False)
    def block(src, dst):
        transpose_block(src, 0, 0, dst, 0, 0)
    block(np.ones((16, 16), np.float32), np.zeros((16, 16), np.float32))
    own = own_asm(block)
    assert len(re.findall(r"\bvmov(?:u?p[sd]|dq[au]\w*)\s+[^\n]*%[yz]mm", own)) >= 2 * BLOCK, own
    assert not re.search(r"\bvmovs[sd]\b|\bmovl\b", own), own


@pytest.mark.parametrize("dtype", ["uint8", "int16", "float32", "float64"])
@pytest.mark.parametrize("shape", [(1, 8, 8), (2, 37, 41), (3, 64, 130), (1, 130, 7)])
def test_the_transposed_copy_on_one_core_and_on_all(dtype, shape, rng):
    """numba_blocks._transpose: whole blocks, the columns and rows past them, tiles of 64
    and what is left of one, batches."""
    src = (rng.normal(size=shape) * 100).astype(dtype)
    for transpose in (numba_blocks.transpose_serial, numba_blocks.transpose_parallel):
        dst = np.zeros((shape[0], shape[2], shape[1]), dtype)
        transpose(src, dst)
        np.testing.assert_array_equal(dst, src.transpose(0, 2, 1))
