"""Small scratch arrays on a kernel's stack, for loops that stage a tile of data in cache.

`carray(stack_buffer(n, like), shape)` inside a numba function is an array of n values of
like's dtype, made by one `alloca` in the function's entry block: a parallel loop's body,
which numba outlines into a function of its own, gets one buffer per task it runs, and
nothing is allocated per iteration. Two other ways lost:
- `np.empty` in the kernel: every fresh process then compiles numba's own np.empty and its
  allocator first (0.15-0.19 s, the fifteenth session), and each call allocates;
- scratch from the caller, one row per thread (numba_conv's way): LLVM cannot tell that it
  does not overlap the output, checks that at run time and kept a transposed product's tile
  loop 1.3-2x slower than either stack or np.empty (x * y.T of 1000x1000 float32 0.67 against
  0.33-0.39 ms; 2026-12-04, AMD EPYC).
A stack address overlaps no argument, and its alignment (64 bytes: a cache line, the widest
vector) is known. Keep n small: worker threads' stacks are a few MB.
"""
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

STACK_ALIGN = 64


@intrinsic
def stack_buffer(typingctx, size, like):
    """A pointer to `size` (a literal integer) uninitialized values of like's dtype (like: an
    array) on the calling function's stack."""
    if not (isinstance(size, types.IntegerLiteral) and size.literal_value > 0 and isinstance(like, types.Array)):
        return None
    count, dtype = size.literal_value, like.dtype

    def codegen(context, builder, signature, args):
        element = context.get_data_type(dtype)
        with builder.goto_entry_block():  # once per function call, not per loop iteration
            slot = builder.alloca(ir.ArrayType(element, count))
            slot.align = STACK_ALIGN
        return builder.bitcast(slot, element.as_pointer())
    return types.CPointer(dtype)(size, like), codegen
