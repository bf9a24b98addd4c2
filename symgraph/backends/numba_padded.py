"""Rows apart in memory read as a C-ordered array: `padded_rows(a)` inside a numba function.

A view of a C-ordered array's sub-box (x[::2], x[:, :k], x[:, 1:], an image crop
x[:, :, 1:-1, 1:-1]) has unit-stride rows that do not touch: NumPy calls it not contiguous,
numba types it layout A, and an A array's element address is computed from its runtime strides,
which LLVM's vectorizer cannot step through: a loop over it ran scalar (x[::2].max(axis=0) of
2000x4000 float32 1.08 ms, NumPy 0.49; x[::2] + y of 100x100 6.0 us, NumPy 3.5).

Such a view is the C-ordered array of its rows padded to their stride: axis d long
strides[d - 1] // strides[d] (the first its own length). padded_rows returns that array, typed
C over the same memory, and a C array's element address comes from its shape (numba's
get_item_pointer2), a step of one element along a row. The loops that read it index only its
own extents (a kernel's loops run over the output's shape or the reduction's extents, never
the inputs'), so the padding past the last row's end, which may lie outside the buffer, is
never read. Call it only on arrays that `has_padded_rows` accepts.
"""
from numba.core import types
from numba.extending import intrinsic


def has_padded_rows(a):
    """Whether `a` is a not C-contiguous view whose strides nest as a C-ordered array's sub-box:
    unit-stride last axis, every stride a multiple of the next and at least that axis' span."""
    strides, shape = a.strides, a.shape
    if a.ndim < 2 or a.size == 0 or a.flags.c_contiguous or not a.flags.aligned or strides[-1] != a.itemsize:
        return False
    return all(strides[d] > 0 and strides[d - 1] % strides[d] == 0 and strides[d - 1] // strides[d] >= shape[d]
               for d in range(1, a.ndim))


@intrinsic
def padded_rows(typingctx, a):
    """`a` (see has_padded_rows) as the C-ordered array of its rows padded to their stride."""
    if not isinstance(a, types.Array) or a.ndim < 2:
        return None
    padded_type = a.copy(layout="C")

    def codegen(context, builder, signature, args):
        from numba.core import cgutils  # (imported here, as numba_stack's: a warm start never lowers this)
        from numba.core.imputils import impl_ret_borrowed
        from numba.np.arrayobj import make_array, populate_array
        array = make_array(a)(context, builder, args[0])
        shape = cgutils.unpack_tuple(builder, array.shape)
        strides = cgutils.unpack_tuple(builder, array.strides)
        padded = [shape[0]]
        for d in range(1, a.ndim):  # (a zero stride, never passed, would keep the axis' own length)
            zero = builder.icmp_signed("==", strides[d], strides[d].type(0))
            step = builder.select(zero, strides[d].type(1), strides[d])
            padded.append(builder.select(zero, shape[d], builder.sdiv(strides[d - 1], step)))
        out = make_array(padded_type)(context, builder)
        populate_array(out, data=array.data, shape=padded, strides=strides, itemsize=array.itemsize,
                       meminfo=array.meminfo, parent=array.parent)
        return impl_ret_borrowed(context, builder, padded_type, out._getvalue())  # (a view: a's memory kept alive)
    return padded_type(a), codegen
