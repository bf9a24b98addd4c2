"""numba_vecmath's inline functions written out as statements in a generated kernel's source.

A call of an `inline="always"` function makes numba copy the function's IR (copy.deepcopy) into
the caller and run its untyped passes again, for each call and each nested helper: exp32 is
six such inlines, 0.09-0.10 s of the 0.63-0.80 s numba took for the softmax crossentropy's
blocked loop, the first call's longest compile in a classifier's training step. Written out,
the same statements are typed and lowered once with the kernel (0.55-0.60 s), the same
machine code (the same bits).

`inline_source(function, arguments, prefix)` gives the statements and the expression of the
result: the function's own statements with its local names prefixed, module constants and
intrinsics read from the kernel header's `inlined` (numba_vecmath), and the calls of other
inline functions written out before the statement using them (each value is computed anyway:
pure functions, no exceptions under error_model="numpy"). The function must return once, as
its last statement.
"""
import ast
import builtins
import copy
import functools
import inspect
import linecache
import textwrap

from . import numba_vecmath

MODULE = "inlined"  # the kernel header's name for numba_vecmath
_KERNEL_NAMES = {"np", "math"}  # imported by every kernel's header as numba_vecmath imports them


def _inline_definition(value):
    """The Python function of an inline="always" numba function, or None."""
    options = getattr(value, "targetoptions", None)
    return value.py_func if options and options.get("inline") == "always" else None


def _function_source(py_func):
    """py_func's source: its decorators, its def and the lines indented under it. (What
    inspect.getsource finds, without its tokenizer: writing exp32 out, six functions, took 7.8 ms
    with it and 4.3 without in a fresh process, the first row kernel of a warm start.)"""
    lines = linecache.getlines(py_func.__code__.co_filename)
    first = py_func.__code__.co_firstlineno - 1  # (its first decorator's line)
    start = next(i for i in range(first, len(lines)) if lines[i].lstrip().startswith("def "))
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1
    return textwrap.dedent("".join(lines[first:end]))


@functools.lru_cache(maxsize=None)
def _definition(py_func):
    """(parameter names, body statements without the docstring, the returned expression)."""
    try:
        tree = ast.parse(_function_source(py_func))
    except SyntaxError:  # (a line of it at the def's indentation: a string, a continuation)
        tree = ast.parse(textwrap.dedent(inspect.getsource(py_func)))
    definition = tree.body[0]
    body = definition.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    *statements, last = body
    if not isinstance(last, ast.Return) or any(isinstance(n, ast.Return) for s in statements for n in ast.walk(s)):
        raise ValueError(f"{py_func.__name__} does not return once, at its end")
    return [a.arg for a in definition.args.args], statements, last.value


def inline_source(function, arguments, prefix):
    """(lines, result): statements computing `function` (an inline numba_vecmath function) of
    the argument expressions, and the name holding its value."""
    lines, result = _written_out(function.py_func, tuple(arguments), prefix)
    return list(lines), result


@functools.lru_cache(maxsize=None)
def _written_out(py_func, arguments, prefix):
    writer = _Writer(prefix)
    result = writer.call(py_func, arguments)
    return tuple(writer.lines), result


class _Writer:
    def __init__(self, prefix):
        self.prefix, self.lines, self.calls = prefix, [], 0

    def call(self, py_func, arguments):
        """Append the statements of py_func(*arguments); return the name of its result."""
        if py_func.__globals__ is not vars(numba_vecmath):
            raise ValueError(f"{py_func.__name__} is not numba_vecmath's")
        parameters, statements, returned = _definition(py_func)
        scope = f"{self.prefix}{self.calls}_"
        self.calls += 1
        local = set(parameters) | {n.id for s in statements for n in ast.walk(s)
                                   if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        for name, argument in zip(parameters, arguments, strict=True):
            self.lines.append(f"{scope}{name} = {argument}")
        for statement in statements:
            self.lines.extend(self._statement(statement, local, scope))
        self.lines.append(f"{scope}result = {self._source(returned, local, scope)}")
        return f"{scope}result"

    def _statement(self, statement, local, scope):
        if isinstance(statement, ast.For):  # (a loop over a constant tuple: _horner's)
            if statement.orelse:
                raise ValueError("a for loop with an else clause")
            head = f"for {self._source(statement.target, local, scope)} in {self._source(statement.iter, local, scope)}:"
            written, inner = len(self.lines), []
            for s in statement.body:
                inner += self._statement(s, local, scope)
            if len(self.lines) != written:  # (its statements went before the loop, not into it)
                raise ValueError("an inline call inside a loop")
            return [head] + ["    " + line for line in inner]
        if not isinstance(statement, (ast.Assign, ast.AugAssign)):
            raise ValueError(f"cannot write out a {type(statement).__name__} statement")
        return [self._source(statement, local, scope)]

    def _source(self, node, local, scope):
        """node's source with local names scoped, numba_vecmath's names read from MODULE, and
        inline calls written out first (their statements appended to self.lines)."""
        writer = self

        class Rewrite(ast.NodeTransformer):
            def visit_Call(self, call):
                name = call.func.id if isinstance(call.func, ast.Name) and call.func.id not in local else None
                definition = _inline_definition(getattr(numba_vecmath, name, None)) if name else None
                if definition is None:
                    return self.generic_visit(call)
                if call.keywords:
                    raise ValueError(f"keyword arguments to {name}")
                arguments = [ast.unparse(self.visit(a)) for a in call.args]
                return ast.copy_location(ast.Name(id=writer.call(definition, arguments), ctx=ast.Load()), call)

            def visit_Name(self, node):
                if node.id in local:
                    return ast.copy_location(ast.Name(id=scope + node.id, ctx=node.ctx), node)
                if node.id in _KERNEL_NAMES or hasattr(builtins, node.id):
                    return node
                if not hasattr(numba_vecmath, node.id):
                    raise ValueError(f"unknown name {node.id}")
                return ast.copy_location(ast.Attribute(value=ast.Name(id=MODULE, ctx=ast.Load()), attr=node.id,
                                                       ctx=node.ctx), node)

        return ast.unparse(Rewrite().visit(copy.deepcopy(node)))  # (the cached definition stays as it is)
