"""outline_pranges(source): a generated kernel's prange loops as tasks, the kernel serial.

numba lowers each prange loop through its parfor passes into a gufunc of its own: about 1.1 s
of compiling a loop (numba_tasks). Here each `for v in prange(n):` of `kernel` becomes a call
in_tasks(bodyJ, (names..., task_n, task_per), tasks), up to TASKS tasks, each running
bodyJ(names..., task_n, task_per, task_id), a serial function of its own whose loop is
`for v in range(task_id * task_per, min(task_n, (task_id + 1) * task_per)):` with the prange's
body; the kernel itself is then compiled without numba's parallel passes. (In a function of
its own a body's vector loop is the outermost, its constants kept in registers, as the
elementwise loops' parts: numba_codegen._kernel_lines.)

The body reads the kernel's arguments and the locals set before the loop; those it reads are
passed to it. A name the body assigns is its own (as a prange's private variables are);
an integer counted with `name += ...` (the range checks' nbig) is the one reduction a body may
make: the function counts from 0 and returns it, and in_tasks adds up the tasks' counts.
"""
import ast
import textwrap

TASKS = 64  # a prange's iterations fall in up to this many tasks (numba spreads them over its threads)
_OWN = ["task_n", "task_per", "task_id"]  # the outlined functions' own parameters


def outline_pranges(source):
    """source: a module's text with a function `kernel`; where it is decorated `@njit(...
    parallel=True ...)`, returns the text with each of its prange loops (none nested) a call
    of in_tasks, each loop's body a function of its own defined before `kernel`, and kernel
    serial."""
    lines = source.rstrip("\n").split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("def kernel("))
    decorator = lines[start - 1]
    if "parallel=True" not in decorator:
        return source
    serial = decorator.replace("parallel=True", "parallel=False")
    names, loops, counts = _walk(ast.parse("\n".join(lines[start:])).body[0])
    bound_names = {name for _, name, role in names if role}  # (the kernel's parameters and locals)
    kernel, bodies, done = [serial] + lines[start:start + 1], [], start + 1
    for j, loop in enumerate(loops):  # (ast's line numbers count from the kernel's `def` line, 1)
        first, last = start + loop.lineno, start + loop.end_lineno  # the body: lines[first:last]
        kernel += lines[done:first - 1]
        indent = lines[first - 1][:len(lines[first - 1]) - len(lines[first - 1].lstrip())]
        inside = [(name, role) for line, name, role in names if first < line + start <= last]
        own = {name for name, role in inside if role is True}
        counted = sorted({name for name, role in inside if role == "count"} - own)
        assert len(counted) <= 1 and all(counts[name] for name in counted), \
            "a prange body's only reduction is a count (+=)"
        assert not set(_OWN) & ({name for name, _ in inside} | {loop.target.id}), "the task's own names are taken"
        # (sorted: the module's text is the same every time, as numba's disk cache wants it)
        passed = sorted(({name for name, _ in inside} & bound_names) - own - set(counted) - {loop.target.id})
        bodies += _function(f"body{j}", loop.target.id, lines[first:last], passed, counted, serial)
        call = (f"in_tasks(body{j}, ({', '.join(passed + [f'n_t{j}', f'per_t{j}'])}),"
                f" (n_t{j} + per_t{j} - 1) // per_t{j})")
        kernel += [f"{indent}n_t{j} = {ast.unparse(loop.iter.args[0])}",
                   f"{indent}per_t{j} = (n_t{j} + {TASKS - 1}) // {TASKS}",
                   f"{indent}{f'{counted[0]} += ' if counted else ''}{call}"]
        done = last
    if not loops:
        return source
    return "\n".join(lines[:start - 1] + bodies + kernel + lines[done:]) + "\n"


def _walk(tree):
    """(line, name, role) of every name and parameter, role True where it is bound there,
    "count" where it is the target of a `+=`-like statement, else False; the prange loops;
    whether each such target was added to (+=) every time."""
    names, loops, counts, targets = [], [], {}, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            targets.add(id(node.target))
            counts[node.target.id] = counts.get(node.target.id, True) and isinstance(node.op, ast.Add)
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            names.append((node.lineno, node.arg, True))
        elif isinstance(node, ast.Name):
            names.append((node.lineno, node.id, "count" if id(node) in targets else isinstance(node.ctx, ast.Store)))
        elif (isinstance(node, ast.For) and isinstance(node.iter, ast.Call)
              and getattr(node.iter.func, "id", None) == "prange"):
            loops.append(node)
    return names, sorted(loops, key=lambda node: node.lineno), counts


def _function(name, var, body_lines, passed, counted, decorator):
    """The lines of the serial function running body_lines for var in its task's share of
    range(task_n), returning the count (counted: none or one name) or 0."""
    lines = [decorator, f"def {name}({', '.join(passed + _OWN)}):"]
    lines += [f"    {count} = 0" for count in counted]
    lines += [f"    for {var} in range(task_id * task_per, min(task_n, (task_id + 1) * task_per)):"]
    lines += textwrap.indent(textwrap.dedent("\n".join(body_lines)), "        ").split("\n")
    return lines + [f"    return np.int64({counted[0] if counted else 0})", "", ""]
