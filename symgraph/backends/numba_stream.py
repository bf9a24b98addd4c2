"""Non-temporal ("streaming") stores for the large outputs of elementwise loops, and prefetches
for their inputs.

A normal store into memory not in the cache first reads the line it writes (the core must own
it), so a loop writing one output array moves its bytes twice: the triad out = a * b + c over
10^7 float32 moves 5 x 40 MB, not 4. A non-temporal store (x86 `vmovntps`) writes whole
lines past the cache: measured on 2 cores of a Sapphire Rapids VM, that triad 4.0 -> 2.7 ms.
Outputs that fit in the caches lose by it (their next reader finds them in memory, not in
the cache): equal at 2.5M float32 (10 MB out), 1.11x faster at 5M, 1.45x at 10M, 1.24x at 30M.

`stream_store(array, i, value)` is `array[i] = value` marked `!nontemporal`, with an alignment
of 64 bytes claimed, which LLVM's vectorizer needs to turn it into vector streaming stores.
The claim must hold for every vector store the loop makes, so a loop calling it must start
at an element on a 64-byte boundary (STREAM_ALIGN) and run a multiple of STREAM_BLOCK
elements: then its vector loop does all the work and its scalar remainder (where the claim
is false) never runs. A vector streaming store to an address off its width's boundary
faults (SIGSEGV): the kernels (numba_codegen._kernel_lines) find where to begin from the
output's address, and only outputs symgraph made (aligned to their element size) stream.

A loop that streams its output and has much to compute on each element also prefetches its
inputs (`prefetch`; numba_codegen.prefetches and PREFETCH_AHEAD): the CPU's own prefetcher
left it waiting on memory between bouts of arithmetic.

Only on x86-64 (STREAMS): elsewhere LLVM may not vectorize the loop, and its scalar form
is slow.
"""
import platform

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

STREAMS = platform.machine().lower() in ("x86_64", "amd64")
STREAM_ALIGN = 64  # bytes: a cache line, the widest vector (AVX-512)
STREAM_BLOCK = 1024  # elements: a multiple of any vector loop's step (lanes x unroll)


@intrinsic
def stream_store(typingctx, array, index, value):
    """array[index] = value (a C-ordered 1-d array, an unsigned or non-negative index, no bounds
    check) as a non-temporal store claiming 64-byte alignment: see the module's docstring."""
    if not (isinstance(array, types.Array) and array.ndim == 1 and array.layout == "C"
            and isinstance(index, types.Integer) and value == array.dtype):
        return None

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        data = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(context, builder, array_type, data, [args[1]],
                                           wraparound=False, boundscheck=False)
        value_ = context.get_value_as_data(builder, array_type.dtype, args[2])
        store = builder.store(value_, pointer, align=STREAM_ALIGN)
        store.set_metadata("nontemporal", builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)]))
        return context.get_dummy_value()
    return types.none(array, index, value), codegen


@intrinsic
def prefetch(typingctx, array, index):
    """A hint that array[index] will be read soon: LLVM's prefetch (x86 `prefetcht0`), which
    fetches its cache line into every level and never faults, so an index past the end is
    harmless (see PREFETCH_AHEAD)."""
    if not (isinstance(array, types.Array) and array.ndim == 1 and array.layout == "C"
            and isinstance(index, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0])
        address = builder.bitcast(builder.gep(data.data, [args[1]]), ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        hint = builder.module.declare_intrinsic("llvm.prefetch", [address.type],
                                                ir.FunctionType(ir.VoidType(), [address.type, i32, i32, i32]))
        # (read, the highest locality: keep it in every cache level, data not instructions)
        builder.call(hint, [address, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()
    return types.none(array, index), codegen
