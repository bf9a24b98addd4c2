"""not_inlined(fn, args): fn(*args) from jitted code, a call LLVM keeps (noinline at the call).

A parallel elementwise kernel runs its loop as `part(arrays, lo, hi)`, a serial function of its
own, called once per chunk from a prange (numba_codegen._kernel_lines): numba lowers a prange
body into a function whose own loop, over a thread's share of the chunks, encloses the body,
and a vector loop inlined there is an inner loop whose constants LLVM loads and broadcasts
again in every iteration (13 of exp32's, a third of its loop's instructions); in a function of
its own the vector loop is the outermost and they stay in registers. LLVM's inliner took a
small part (one exp, one log) back into the prange's loop: exp over 10^6 float32 on 2 threads
0.47 -> 0.33 ns a value with the call kept (AMD EPYC, AVX2); the fused chain's larger part
gained 0-5%. One call per chunk of thousands of values costs nothing measurable. (The prange
is now a task function's loop over its chunks, numba_outline's, where the same holds.)
"""
from numba import types
from numba.core.extending import intrinsic
from llvmlite import ir


def _not_inlined(typingctx, fn, args):
    if not isinstance(fn, types.Dispatcher) or not isinstance(args, types.BaseTuple):
        return None
    inner = typingctx.resolve_function_type(fn, tuple(args.types), {})
    if inner is None:
        return None

    def codegen(context, builder, signature, llargs):
        values = [builder.extract_value(llargs[1], k) for k in range(len(args.types))]
        seen = {id(instr) for block in builder.function.blocks for instr in block.instructions}
        result = context.get_function(fn, inner)(builder, values)
        name = fn.dispatcher.overloads[inner.args].fndesc.mangled_name
        calls = [instr for block in builder.function.blocks for instr in block.instructions
                 if id(instr) not in seen and isinstance(instr, ir.CallInstr)
                 and getattr(instr.callee, "name", None) == name]
        assert len(calls) == 1, "numba lowered the call to fn otherwise than as one call"
        calls[0].attributes.add("noinline")
        return result
    return inner.return_type(fn, args), codegen


_not_inlined.__name__ = _not_inlined.__qualname__ = "not_inlined"  # numba names (and caches) an intrinsic by it
not_inlined = intrinsic(_not_inlined)
