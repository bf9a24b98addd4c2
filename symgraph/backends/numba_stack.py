"""Small scratch arrays on a kernel's stack, for loops that stage a tile of data in cache.

`stack_array(rows, columns, like)` inside a numba function (rows and columns literal integers)
is a C-ordered rows x columns array of like's dtype, uninitialized, made by one `alloca` in
the function's entry block: a parallel loop's body, which numba outlines into a function of
its own, gets one array per task it runs, and nothing is allocated per iteration. Three other
ways lost:
- `np.empty` in the kernel: every fresh process then compiles numba's own np.empty and its
  allocator first (0.15-0.19 s, the fifteenth session), and each call allocates;
- numba's `carray` over a stack pointer: numba compiles its overload once a process (and a
  signature) too;
- scratch from the caller, one row per thread (numba_conv's way): LLVM cannot tell that it
  does not overlap the output, checks that at run time and kept a transposed product's tile
  loop 1.3-2x slower than either stack or np.empty (x * y.T of 1000x1000 float32 0.67 against
  0.33-0.39 ms; 2026-12-04, AMD EPYC).
A stack address overlaps no argument, and its alignment (64 bytes: a cache line, the widest
vector) is known. Keep arrays small: worker threads' stacks are a few MB.
"""
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

STACK_ALIGN = 64


@intrinsic
def stack_array(typingctx, rows, columns, like):
    """A rows x columns C-ordered array of like's dtype (like: an array) on the calling
    function's stack; rows and columns literal positive integers."""
    if not (isinstance(rows, types.IntegerLiteral) and isinstance(columns, types.IntegerLiteral)
            and rows.literal_value > 0 and columns.literal_value > 0 and isinstance(like, types.Array)):
        return None
    shape, dtype = (rows.literal_value, columns.literal_value), like.dtype
    array_type = types.Array(dtype, 2, "C")

    def codegen(context, builder, signature, args):
        # (imported here: numba.np.arrayobj takes 50 ms to import, and a warm start, loading
        # every kernel from the disk cache, never lowers this)
        from numba.np.arrayobj import populate_array
        element = context.get_data_type(dtype)
        with builder.goto_entry_block():  # once per function call, not per loop iteration
            slot = builder.alloca(ir.ArrayType(element, shape[0] * shape[1]))
            slot.align = STACK_ALIGN
        intp = context.get_value_type(types.intp)
        itemsize = context.get_abi_sizeof(element)
        array = context.make_array(array_type)(context, builder)
        populate_array(array, data=builder.bitcast(slot, element.as_pointer()),
                       shape=[ir.Constant(intp, n) for n in shape],
                       strides=[ir.Constant(intp, shape[1] * itemsize), ir.Constant(intp, itemsize)],
                       itemsize=ir.Constant(intp, itemsize), meminfo=None)
        return array._getvalue()
    return array_type(rows, columns, like), codegen
