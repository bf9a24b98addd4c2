"""A helper process compiles a call's later kernels while this process compiles the first ones.

numba compiles one function at a time (one compiler lock, and most of a compile is Python), so
a function's first call compiled its kernels one after another on one core: the MLP training
step of benchmarks/compile_time.py, six kernels of 0.1-0.8 s each, 2.2-3.0 s of its 2.4-3.6 s
cold start on this project's 2-core machine, its second core idle.

When a run of a compiled program (the executor's `<symgraph program>`) meets a kernel of
symgraph's to compile that numba's disk cache does not hold, with MIN_STEPS_LEFT nodes or more
still to run, the process forks (`sg.config.compile_helper`; Linux, where a CPU of the process's
runs nothing at that moment: two test workers compiling on two CPUs leave none):
- The helper (the child) runs the rest of the program without running any numba function: each
  call returns 0, so values are garbage and whatever fails ends the run early. It notes every
  function it meets whose argument types have no machine code yet. When the program's run
  returns or raises, it compiles the noted functions into numba's disk cache, the last first,
  and exits (os._exit: it never returns into the caller's code). Its output goes to /dev/null.
- This process compiles the kernel it met and goes on. A function the helper has taken it waits
  for, then loads from the disk cache, as numba does for a function compiled by an earlier
  process.
Which of the two compiles a function is settled by a claim file created with O_EXCL in a folder
both see: one process writes a function's disk cache entries, never both at once (numba's index
of a function's entries is rewritten whole by each writer).

The MLP step's first call: 2.3-3.4 s -> 1.6-2.2 (fresh processes alternating on this machine).

Nothing here decides a result: what the helper compiled is what this process would have
compiled (same source, same argument types, numba's cache keyed by both). If the helper dies
(a parallel loop after fork, a library's lock held by a thread the fork did not copy) or hangs
(its alarm's default action ends it), this process compiles what is left. Kernels whose disk
cache is off (an unwritable cache_dir) are never handed over.
"""
import atexit
import os
import select
import shutil
import signal
import sys
import tempfile
import threading
import time
import warnings
import weakref

from ..config import config

_PROGRAM_FILE = "<symgraph program>"  # the code name of executor.compile_program's run
DRY_RUN_SECONDS = 60  # the helper's alarm while it runs the program, then for each compile
COMPILE_SECONDS = 300
WAIT_SECONDS = 300  # the longest this process waits for one function the helper took
HELPER_SPARE_BYTES = 4 << 30  # the helper's memory beyond what the fork gave it
MIN_STEPS_LEFT = 3  # fewer nodes left to run: no helper (the fork would cost more than it saves)

_helper = None  # this process's running Helper
_notes = None  # in the helper: what it has met
_failed = False  # a helper died or hung in this process: no more are forked
_fork_lock = threading.Lock()
# Every numba function made since install(): the helper clears their dispatch tables. (Finding
# them with gc.get_objects() took seconds in a test worker's heap: the helper began when this
# process had compiled everything.)
_dispatchers = weakref.WeakSet()


def _zero(*args, **kws):
    return 0


def can_fork():
    """Whether a helper can be forked and would have a CPU to itself: Linux, and a CPU of this
    process's that no other process runs on now. (Two test workers compiling on two CPUs ran
    18% slower with helpers forked whenever they could be; a load average, a minute's, still
    counts the benchmark that just ended.)"""
    if not (sys.platform.startswith("linux") and hasattr(os, "fork") and hasattr(os, "sched_getaffinity")):
        return False
    try:
        # (the fewer of two looks: a shell's short command is not a busy machine; one CPU is
        # this thread's)
        return len(os.sched_getaffinity(0)) - min(_running_elsewhere(), _running_elsewhere()) >= 2
    except (OSError, ValueError, IndexError):
        return False


def _running_elsewhere():
    """Other processes running now: those whose main thread is running or runnable, kernel
    threads left out. (The kernel's count of runnable threads, /proc/loadavg's, did not do:
    this process's BLAS threads, spinning then sleeping after a product, changed state
    between its read and the read of this process's own.)"""
    me, count = os.getpid(), 0
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                state, parent = fh.read().rsplit(b")", 1)[1].split()[:2]
        except (OSError, ValueError):  # (a process that just ended)
            continue
        count += state == b"R" and parent != b"2" and name != "2"  # (kthreadd and its children)
    return count


def install():
    """Route numba's compiles through `_before_compile` (a numba function compiles when it is
    called with argument types it has no machine code for: Dispatcher._compile_for_args)."""
    from numba.core.dispatcher import Dispatcher
    original = Dispatcher._compile_for_args
    if getattr(original, "symgraph_helper", False):
        return
    made = Dispatcher.__init__

    def __init__(self, *args, **kws):
        made(self, *args, **kws)
        _dispatchers.add(self)
    Dispatcher.__init__ = __init__

    def _compile_for_args(self, *args, **kws):
        if _notes is not None:  # in the helper: nothing runs, nothing compiles yet
            return _notes.met(self, args)
        if _helper is not None or config.compile_helper:
            try:
                _before_compile(self, args)
            except Exception:  # noqa: BLE001 - never in the way of the compile itself
                pass
            if _notes is not None:  # the helper, just forked: this kernel is the parent's
                return _zero
        return original(self, *args, **kws)
    _compile_for_args.symgraph_helper = True
    Dispatcher._compile_for_args = _compile_for_args


def _before_compile(dispatcher, args):
    global _helper, _failed
    helper = _helper
    if helper is not None and helper.finished():
        with _fork_lock:
            if _helper is helper:
                helper.close()
                _helper = None
                _failed = _failed or not helper.completed
        helper = None
    if helper is not None:
        helper.before_compiling(dispatcher)
    elif config.compile_helper:
        frame = _run_worth_a_helper(dispatcher, args)
        if frame is not None:
            with _fork_lock:
                if _helper is None:
                    _helper = _start(dispatcher, frame)


@atexit.register
def _stop_helper():
    """A helper still compiling when this process ends is stopped."""
    if _helper is not None and _notes is None:
        _helper.close()


def _run_worth_a_helper(dispatcher, args):
    """The program run's frame if a helper could take work off this compile's call (a symgraph
    kernel to compile, not in the disk cache, in a program's run with MIN_STEPS_LEFT nodes or
    more to go, and a free CPU), else None."""
    if _failed or not _disk_cached(dispatcher) or not dispatcher.py_func.__module__.startswith("symgraph"):
        return None
    frame = _program_frame()
    if frame is None or _steps_left(frame) < MIN_STEPS_LEFT:
        return None
    try:  # (before can_fork, which reads every process's state: a warm start loads every kernel)
        sig = tuple(dispatcher.typeof_pyval(a) for a in args)
        cache = dispatcher._cache
        if cache._index_key(sig, dispatcher.targetctx.codegen()) in cache._cache_file._load_index():
            return None
    except Exception:  # noqa: BLE001 - another numba's cache, an argument numba cannot type
        return None
    return frame if can_fork() else None


def _steps_left(frame):
    """How many of the program's nodes are still to run after the one running (a thunk makes
    its kernels at its first call: which of them will compile is not known before)."""
    step, nodes = frame.f_locals.get("step"), frame.f_globals.get("nodes")
    return len(nodes) - step - 1 if isinstance(step, int) and isinstance(nodes, list) else 0


def _disk_cached(dispatcher):
    from numba.core.caching import NullCache
    from numba.core.registry import CPUDispatcher
    cache = getattr(dispatcher, "_cache", None)
    return isinstance(dispatcher, CPUDispatcher) and cache is not None and not isinstance(cache, NullCache)


def _program_frame():
    """The outermost frame of a program's run on this thread's stack, or None."""
    found, frame = None, sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename == _PROGRAM_FILE:
            found = frame
        frame = frame.f_back
    return found


def _name(dispatcher):
    """What both processes call a function (a kernel made after the fork is a different object
    in each; its module, named by its source's hash, is the same)."""
    return f"{dispatcher.py_func.__module__}.{dispatcher.py_func.__qualname__}"


def _claim(folder, dispatcher):
    """True for the first process to claim `dispatcher`, False for the other."""
    try:
        os.close(os.open(os.path.join(folder, _name(dispatcher)), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        return False


def _prepare_numba():
    """What numba does before its first compile in a process (0.2-0.3 s), done once before the
    fork so that the helper does not do it again."""
    from numba.core import entrypoints
    from numba.core.registry import cpu_target
    from .. import gc_pause
    from .numba_target import defer_scipy_import
    with gc_pause.held():
        defer_scipy_import()
        entrypoints.init_all()
        cpu_target.target_context.refresh()
        cpu_target.typing_context.refresh()


def _start(dispatcher, frame):
    """Fork the helper, to run on from the program run's `frame`; returns this process's
    Helper (None if the fork failed). In the helper, returns None too, its notes begun: the
    caller's compile is skipped there."""
    global _notes
    from numba.core.compiler_lock import global_compiler_lock
    _prepare_numba()
    folder = tempfile.mkdtemp(prefix="symgraph-compile-")
    _claim(folder, dispatcher)  # the kernel met: this process's
    read_end, write_end = os.pipe()
    try:
        with global_compiler_lock, warnings.catch_warnings():  # no other thread is inside a compile
            warnings.simplefilter("ignore", DeprecationWarning)  # (Python 3.12+: "multi-threaded")
            # (JAX's at-fork hook warns of a deadlock in a child using JAX; the helper runs no
            # JAX, nor any numba function: it compiles)
            warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
            pid = os.fork()
    except OSError:
        os.close(read_end), os.close(write_end)
        shutil.rmtree(folder, ignore_errors=True)
        return None
    if pid == 0:
        try:
            os.close(read_end)
            _notes = _Notes(frame, folder, write_end)
        except BaseException:  # (never into the caller's code)
            os._exit(0)
        return None
    os.close(write_end)
    return Helper(pid, read_end, folder, dispatcher)


class Helper:
    """This process's side: the helper's pid, the claims and what the helper has finished."""

    def __init__(self, pid, read_end, folder, first):
        self.pid, self.read_end, self.folder = pid, read_end, folder
        self.mine = {_name(first)}  # functions this process claimed
        self.done = set()  # functions the helper compiled
        self.eof, self.exited, self.killed, self.unread = False, False, False, b""
        self.completed = False  # the helper got to its end (an empty line)
        self.lock = threading.Lock()  # (threads of this process may wait at once)
        threading.Thread(target=self._reap, daemon=True).start()

    def _reap(self):
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        self.exited = True

    def finished(self):
        return self.eof or self.exited or self.killed

    def before_compiling(self, dispatcher):
        """Claim `dispatcher`, or wait until the helper, which claimed it, has compiled it."""
        key = _name(dispatcher)
        if key in self.mine or key in self.done or self.finished():
            return
        try:
            if _claim(self.folder, dispatcher):
                self.mine.add(key)
                return
        except OSError:  # the folder is gone: no helper to wait for
            return
        with self.lock:
            self._wait_for(key)

    def _wait_for(self, key):
        deadline = time.monotonic() + WAIT_SECONDS
        while key not in self.done and not self.finished() and self.read_end is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                return
            if select.select([self.read_end], [], [], min(left, 1.0))[0]:
                self._read()
            elif self.exited:
                self._read()  # (what it wrote before it exited, then EOF)

    def _read(self):
        data = os.read(self.read_end, 4096)
        if not data:
            self.eof = True
            return
        *lines, self.unread = (self.unread + data).split(b"\n")
        self.done.update(line.decode() for line in lines if line)
        self.completed = self.completed or b"" in lines

    def kill(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.killed = True

    def close(self):
        with self.lock:  # (not while another thread reads)
            if self.read_end is None:
                return
            if not self.exited:
                self.kill()
            while not self.eof:  # (what it finished, for the record: EOF comes as it exits)
                self._read()
            os.close(self.read_end)
            self.read_end = None
            shutil.rmtree(self.folder, ignore_errors=True)


def _limit_memory():
    """Cap the helper's address space a few GiB above what it has: a shape computed from a
    garbage value (an arange's length) fails there instead of taking the machine's memory."""
    try:
        import resource
        with open("/proc/self/statm") as fh:
            size = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (size + HELPER_SPARE_BYTES, resource.getrlimit(resource.RLIMIT_AS)[1]))
    except (OSError, ValueError, ImportError):
        pass


class _Notes:
    """The helper's side: it runs the program on, noting what would compile, then compiles."""

    def __init__(self, frame, folder, write_end):
        self.frame, self.folder, self.write_end = frame, folder, write_end
        self.noted = {}  # name -> (dispatcher, [argument types, ...]) in the order met
        config.compile_helper = False  # (no helper of its own)
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):
            signal.signal(number, signal.SIG_DFL)  # (SIGALRM's default ends the process)
        signal.alarm(DRY_RUN_SECONDS)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1), os.dup2(null, 2)
        _limit_memory()
        # Nothing compiled runs here either: a parallel loop's threads did not survive the fork.
        for dispatcher in list(_dispatchers):
            dispatcher._clear()  # (its dispatch table only: calls fall to _compile_for_args)
        sys.setprofile(self._on_event)

    def met(self, dispatcher, args):
        """A numba function called: noted if its machine code for these types is to be compiled."""
        try:
            sig = tuple(dispatcher.typeof_pyval(a) for a in args)
        except Exception:  # noqa: BLE001
            return _zero
        if sig not in dispatcher.overloads and _disk_cached(dispatcher):
            sigs = self.noted.setdefault(_name(dispatcher), (dispatcher, []))[1]
            if sig not in sigs:
                sigs.append(sig)
        return _zero

    def _on_event(self, frame, event, arg):
        if event == "return" and frame is self.frame:
            sys.setprofile(None)
            self.compile_and_exit()

    def compile_and_exit(self):
        global _notes
        _notes = None  # compiles go through numba's own path again
        try:
            for key, (dispatcher, sigs) in reversed(list(self.noted.items())):
                if not _claim(self.folder, dispatcher):
                    continue
                signal.alarm(COMPILE_SECONDS)
                for sig in sigs:
                    try:
                        dispatcher.compile(sig)
                    except Exception:  # noqa: BLE001 - this process will meet the error itself
                        pass
                os.write(self.write_end, key.encode() + b"\n")
            os.write(self.write_end, b"\n")  # (the end: this helper did not fail)
        finally:
            os._exit(0)
