"""Transposed copies, their small blocks transposed in vector registers.

`transpose_block(src, row, column, dst, dst_row, dst_column)` inside a numba function is
dst[dst_row + i, dst_column + j] = src[row + j, column + i] for i, j < BLOCK: BLOCK vector
loads of src's rows, log2(BLOCK) rounds of shuffles (each swaps the off-diagonal halves of
ever smaller blocks: [[P, Q], [R, S]] -> [[P, R], [Q, S]], then within each), BLOCK vector
stores into dst's rows. Any element type: the lanes are integers of its width, so the bits
move as they are (NaN payloads, -0.0).

Written as a loop of scalar loads and stores over a tile (dst[i, j] = src[j, i], the loop
these replace), LLVM kept it scalar: ~3 cycles an element even with the tile in L1 (0.79 ns a
float32 of 128x128 on the AMD Zen 4 machine), and a transposed copy of 2000x2000 float32 on
two cores took 2.6-4.9 ms there (NumPy's 3.9-4.7; the plain copy 0.65).

The loops live here beside the intrinsic: numba's disk cache checks a function's own file,
so a change to the intrinsic must change the file of every cached loop that calls it.
"""
from llvmlite import ir
from numba import prange
from numba.core import cgutils, types
from numba.extending import intrinsic

from .numba_kernels import serial_and_parallel

BLOCK = 8  # rows and columns of a block: 8 float32 fill a 256-bit register, 8 float64 a 512-bit one


def _halves_swapped(builder, rows):
    """The rows (BLOCK vectors) of the transposed block."""
    lanes, half = BLOCK, BLOCK // 2
    indices = ir.VectorType(ir.IntType(32), lanes)
    while half >= 1:
        low = ir.Constant(indices, [k if (k // half) % 2 == 0 else lanes + k - half for k in range(lanes)])
        high = ir.Constant(indices, [k + half if (k // half) % 2 == 0 else lanes + k for k in range(lanes)])
        swapped = list(rows)
        for r in range(lanes):
            if (r // half) % 2 == 0:
                swapped[r] = builder.shuffle_vector(rows[r], rows[r + half], low)
                swapped[r + half] = builder.shuffle_vector(rows[r], rows[r + half], high)
        rows, half = swapped, half // 2
    return rows


@intrinsic
def transpose_block(typingctx, src, row, column, dst, dst_row, dst_column):
    """dst[dst_row + i, dst_column + j] = src[row + j, column + i] for i, j < BLOCK; src and
    dst 2-d arrays of one dtype whose rows are contiguous (the caller checks the block fits)."""
    if not (isinstance(src, types.Array) and isinstance(dst, types.Array) and src.ndim == dst.ndim == 2
            and src.dtype == dst.dtype and all(isinstance(i, types.Integer) for i in (row, column, dst_row, dst_column))):
        return None

    def codegen(context, builder, signature, args):
        intp = context.get_value_type(types.intp)
        itemsize = context.get_abi_sizeof(context.get_data_type(src.dtype))
        vector = ir.VectorType(ir.IntType(8 * itemsize), BLOCK)
        byte = ir.IntType(8).as_pointer()

        def row_pointers(array_type, array, first_row, first_column, index_types):
            array = context.make_array(array_type)(context, builder, array)
            first_row, first_column = [context.cast(builder, v, t, types.intp)
                                       for v, t in zip((first_row, first_column), index_types)]
            stride = cgutils.unpack_tuple(builder, array.strides, 2)[0]
            start = builder.add(builder.mul(first_row, stride), builder.mul(first_column, ir.Constant(intp, itemsize)))
            base = builder.gep(builder.bitcast(array.data, byte), [start])
            return [builder.bitcast(builder.gep(base, [builder.mul(ir.Constant(intp, k), stride)]), vector.as_pointer())
                    for k in range(BLOCK)]
        sources = row_pointers(signature.args[0], args[0], args[1], args[2], signature.args[1:3])
        targets = row_pointers(signature.args[3], args[3], args[4], args[5], signature.args[4:6])
        rows = _halves_swapped(builder, [builder.load(p, align=itemsize) for p in sources])
        for pointer, value in zip(targets, rows):
            builder.store(value, pointer, align=itemsize)
        return context.get_dummy_value()
    return types.none(src, row, column, dst, dst_row, dst_column), codegen


_TILE = 64  # a tile's rows split between cores; its 8x8 blocks transposed in registers


def _transpose(src, dst):
    """dst[b, i, j] = src[b, j, i] for C-ordered src (nb, m, n) and dst (nb, n, m), tile by
    tile (the tiles' rows split between cores where parallel), each tile's 8x8 blocks
    transposed in vector registers (transpose_block), the edges value by value. NumPy's copy of
    a transposed array walks one of them a whole row's stride per element. Measured on the
    AMD Zen 4 machine (ms, NumPy's copy -> this loop on two cores; 2026-12-06): 2000x2000
    float32 4.1 -> 1.1, float64 7.5 -> 3.0, 1000x1000 float32 0.66 -> 0.07; on one core,
    100x100 float32 3.4 -> 2.0 us, 500x500 83 -> 34 (the loop of scalar copies it replaces ran
    2000x2000 float32 in 5.5 ms on two cores, 500x500 in 164 us)."""
    nb, n, m = dst.shape
    tiles = (n + _TILE - 1) // _TILE
    for t in prange(nb * tiles):
        b = t // tiles
        i0 = (t - b * tiles) * _TILE
        i1 = min(n, i0 + _TILE)
        whole_i = i0 + (i1 - i0) // BLOCK * BLOCK
        source, target = src[b], dst[b]
        for j0 in range(0, m, _TILE):
            j1 = min(m, j0 + _TILE)
            whole_j = j0 + (j1 - j0) // BLOCK * BLOCK
            for i in range(i0, whole_i, BLOCK):
                for j in range(j0, whole_j, BLOCK):
                    transpose_block(source, j, i, target, i, j)
            for i in range(i0, whole_i):  # (the columns past the last whole block)
                for j in range(whole_j, j1):
                    target[i, j] = source[j, i]
            for i in range(whole_i, i1):  # (the rows past it)
                for j in range(j0, j1):
                    target[i, j] = source[j, i]


transpose_serial, transpose_parallel = serial_and_parallel(_transpose)
