"""in_tasks(body, args, n): body(*args, task) for each task in range(n) on numba's threads,
called from a serial function; returns the sum of what body returns (an int64).

numba lowers each prange loop through its parfor passes into a gufunc of its own: about 1.1 s
of compiling a loop, however small its body (a column max's kernel with two prange loops, each
body a call: 2.8 s; the same kernel with range loops 0.7; AMD EPYC). Here one parallel
function, run_tasks, is compiled once (and kept in numba's disk cache); it takes the address
of a task function and of its arguments. A kernel calling in_tasks is compiled serially: the
intrinsic stores the arguments in the kernel's frame and writes a small LLVM function, the
task function, that loads them and calls body with the task number. The kernel's parfor-free
compile is then its own code's and body's.

body returns an int64 count (the range checks' nbig; 0 where there is none). A body that
fails makes in_tasks raise, after all tasks ran, the exception the first failing task raised
(int_power's ValueError for a negative exponent, numba's for an array it cannot allocate), as
the serial call would; MemoryError where the task's status is not such a user exception (a
Python error set by object-mode code). Only the first failure's exception info is kept: a
second's, where numba allocated it (arguments known at run time), is not freed. This leans on
numba's call convention (callconv.Status, return_status_propagate): the numba-floor stage of
CI runs its tests on the oldest numba symgraph supports.
"""
from llvmlite import ir
from numba import njit, prange, types
from numba.core import callconv, cgutils
from numba.core.extending import intrinsic

from .numba_target import load_kernels_without_refresh

_INT64, _INT32 = ir.IntType(64), ir.IntType(32)
_TASK = ir.FunctionType(ir.VoidType(), [ir.IntType(8).as_pointer(), _INT64])
_FAILED = -(1 << 40)  # a failed task's count (a count is never negative; 64 tasks' sum stays negative)


@intrinsic
def _call_task(typingctx, function, arguments, task):
    def codegen(context, builder, signature, llargs):
        function_pointer = builder.inttoptr(llargs[0], _TASK.as_pointer())
        builder.call(function_pointer, [builder.inttoptr(llargs[1], ir.IntType(8).as_pointer()), llargs[2]])
        return context.get_dummy_value()
    return types.none(types.int64, types.int64, types.int64), codegen


@njit(parallel=True, cache=True, nogil=True)
def run_tasks(function, arguments, n):
    """The tasks on numba's threads (a prange splits range(n) into one run a thread). (No
    reduction here: a parfor's reduction allocates through numba.np.arrayobj, whose module a
    kernel loaded from the disk cache would then import, 80 ms; the tasks add their counts
    into the arguments' slot instead.)"""
    for task in prange(n):
        _call_task(function, arguments, task)


def start_threads():
    """numba's threading layer, started (what numba runs when it loads a cached parfor); once
    a process."""
    global _started
    if not _started:
        from numba.np.ufunc.parallel import _launch_threads
        _launch_threads()
        _started = True


_started = False


def _frame_type(context, args_type):
    """What in_tasks stores in the kernel's frame: the arguments, the tasks' count, whether a
    task's failure was kept, and that failure's status code and exception (numba's call
    convention: see _keep_failure)."""
    return ir.LiteralStructType([context.get_value_type(args_type), _INT64, _INT32, _INT32, callconv.excinfo_ptr_t])


def _task_function(context, module, body_type, body_signature, args_type):
    """The LLVM function (i8* frame, i64 task) calling body(*arguments, task) and adding what it
    returns (or _FAILED) into the frame's count."""
    compiled = body_type.dispatcher.overloads[body_signature.args]
    name = f"symgraph_task.{compiled.fndesc.mangled_name}"
    existing = module.globals.get(name)
    if existing is not None:
        return existing
    function = ir.Function(module, _TASK, name=name)
    function.linkage = "internal"
    builder = ir.IRBuilder(function.append_basic_block())
    frame = builder.bitcast(function.args[0], _frame_type(context, args_type).as_pointer())
    packed = builder.load(cgutils.gep_inbounds(builder, frame, 0, 0))
    values = [builder.extract_value(packed, k) for k in range(len(args_type))] + [function.args[1]]
    callee = context.declare_function(module, compiled.fndesc)
    status, result = context.call_conv.call_function(builder, callee, compiled.fndesc.restype,
                                                     compiled.fndesc.argtypes, values)
    context.add_linking_libs([compiled.library])
    count = builder.select(status.is_error, ir.Constant(_INT64, _FAILED), result)
    builder.atomic_rmw("add", cgutils.gep_inbounds(builder, frame, 0, 1), count, "monotonic")
    with builder.if_then(status.is_error, likely=False):
        _keep_failure(builder, frame, status)
    builder.ret_void()
    return function


def _keep_failure(builder, frame, status):
    """The first failing task's status code and exception info, in the frame: the one task
    that turns its flag from 0 to 1 writes them (run_tasks' end orders them before the kernel
    reads them)."""
    flag = cgutils.gep_inbounds(builder, frame, 0, 2)
    first = builder.extract_value(builder.cmpxchg(flag, ir.Constant(_INT32, 0), ir.Constant(_INT32, 1),
                                                  "monotonic", "monotonic"), 1)
    with builder.if_then(first):
        builder.store(status.code, cgutils.gep_inbounds(builder, frame, 0, 3))
        builder.store(status.excinfoptr, cgutils.gep_inbounds(builder, frame, 0, 4))


def _raise_failure(context, builder, frame):
    """Raise in the kernel what the first failing task raised: its status handed on as numba's
    own calls hand on a callee's, where it is a user exception (a raise in the task's code);
    MemoryError otherwise."""
    code = builder.load(cgutils.gep_inbounds(builder, frame, 0, 3))
    excinfo = builder.load(cgutils.gep_inbounds(builder, frame, 0, 4))
    user = builder.icmp_signed(">=", code, callconv.RETCODE_USEREXC)
    with builder.if_else(user) as (raised, other):
        with raised:
            false, true = cgutils.false_bit, cgutils.true_bit
            status = callconv.Status(code=code, is_ok=false, is_none=false, is_error=true, is_stop_iteration=false,
                                     is_python_exc=false, is_user_exc=true, excinfoptr=excinfo)
            context.call_conv.return_status_propagate(builder, status)
        with other:
            context.call_conv.return_user_exc(builder, MemoryError, ("a parallel task of a symgraph kernel failed",))


@intrinsic
def in_tasks(typingctx, body, args, n):
    if not (isinstance(body, types.Dispatcher) and isinstance(args, types.BaseTuple)
            and isinstance(n, types.Integer)):
        return None
    body_signature = typingctx.resolve_function_type(body, tuple(args.types) + (types.int64,), {})
    if body_signature is None or body_signature.return_type != types.int64:
        return None
    runner_type = typingctx.resolve_value_type(run_tasks)
    runner_signature = typingctx.resolve_function_type(runner_type, (types.int64,) * 3, {})

    def codegen(context, builder, signature, llargs):
        # A function loaded from numba's disk cache holds run_tasks' code without its
        # dispatcher, which would have started numba's threads: its library starts them (as a
        # parfor's does) before its first run, where numba has such hooks (0.63 on; before,
        # numba_codegen starts them for the kernels it loads).
        hooks = getattr(context.active_code_library, "_reload_init", None)
        if hooks is not None:
            hooks.add(start_threads)
        function = _task_function(context, builder.module, body, body_signature, args)
        frame = cgutils.alloca_once(builder, _frame_type(context, args))
        builder.store(llargs[1], cgutils.gep_inbounds(builder, frame, 0, 0))
        total = cgutils.gep_inbounds(builder, frame, 0, 1)
        builder.store(ir.Constant(_INT64, 0), total)
        builder.store(ir.Constant(_INT32, 0), cgutils.gep_inbounds(builder, frame, 0, 2))
        context.get_function(runner_type, runner_signature)(
            builder, [builder.ptrtoint(function, _INT64), builder.ptrtoint(frame, _INT64),
                      context.cast(builder, llargs[2], n, types.int64)])
        count = builder.load(total)
        with cgutils.if_unlikely(builder, builder.icmp_signed("<", count, ir.Constant(_INT64, 0))):
            _raise_failure(context, builder, frame)
        return count
    return types.int64(body, args, n), codegen


load_kernels_without_refresh(globals())
