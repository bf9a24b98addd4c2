"""Looking at graphs: debugprint (text), Theano's pp (one expression) and pydotprint (a
picture, by sg.render).

    >>> sg.debugprint(f)              # prints
    >>> text = sg.debugprint(y, file="str")
    >>> sg.pp(sg.grad((x ** 2).sum(), x))
    >>> sg.printing.pydotprint(f, outfile="f.png")
"""
import io
import sys

from .graph import Constant, SharedVariable


def _ident(n):
    letters = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def debugprint(obj, file=None, print_type=True):
    """Indented text of a variable's graph or of a compiled function's optimized graph."""
    from .function import Function
    out = io.StringIO()
    ids = {}
    if isinstance(obj, Function):
        roots = [("", v) for v in obj.fgraph.outputs]
        roots += [(f"update {s.name or 'shared'} <- ", v) for s, v in zip(obj.updated, obj.fgraph.update_outputs)]
    else:
        roots = [("", v) for v in (obj if isinstance(obj, (list, tuple)) else [obj])]
    for prefix, var in roots:
        _print_var(var, out, "", prefix, ids, set(), print_type)
    text = out.getvalue()
    if file == "str":
        return text
    (file or sys.stdout).write(text)
    return file


def _label(var, ids, print_type):
    node = var.owner
    if node is None:
        head = repr(var) if not var.name else var.name
        if isinstance(var, SharedVariable):
            head = f"shared {head}"
        elif isinstance(var, Constant) and not var.name:
            head = f"Constant{{{repr(var)}}}"
    else:
        head = str(node.op) + (f".{var.index}" if len(node.outputs) > 1 else "")
    key = node if node is not None else var
    if key not in ids:
        ids[key] = _ident(len(ids))
    name = f" '{var.name}'" if var.name and node is not None else ""
    typ = f" <{var.type}>" if print_type else ""
    return f"{head} [id {ids[key]}]{name}{typ}", key


def _print_var(var, out, indent, prefix, ids, done, print_type):
    label, key = _label(var, ids, print_type)
    repeated = key in done and var.owner is not None
    out.write(f"{indent}{prefix}{label}{' (see above)' if repeated else ''}\n")
    if var.owner is None or repeated:
        return
    done.add(key)
    for inp in var.owner.inputs:
        _print_var(inp, out, indent + " |", "", ids, done, print_type)


_INFIX = {"add": "+", "sub": "-", "mul": "*", "true_div": "/", "int_div": "//", "mod": "%", "pow": "**",
          "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "neq": "!=", "bitwise_and": "&",
          "bitwise_or": "|", "bitwise_xor": "^"}


def pp(obj):
    """Theano's pp: a variable's graph written as one expression, ((x * 2.0) + exp((-x))),
    inputs by name (or type), constants by value; a compiled function's outputs one a line."""
    from .function import Function
    if isinstance(obj, Function):
        return "\n".join(pp(v) for v in obj.fgraph.outputs)
    from .ops.base import as_variable
    return _expression(as_variable(obj), {})


def _expression(var, memo):
    if var in memo:
        return memo[var]
    node = var.owner
    if node is None:
        if isinstance(var, Constant) and not var.name:
            text = str(var.data.item()) if var.data.size == 1 else f"Constant{{shape={var.data.shape}}}"
        else:
            text = var.name or f"<{var.type}>"
    else:
        args = [_expression(v, memo) for v in node.inputs]
        scalar = getattr(node.op, "scalar_op", None)
        name = scalar.name if scalar is not None else str(node.op)
        if name in _INFIX and len(args) == 2:
            text = f"({args[0]} {_INFIX[name]} {args[1]})"
        elif name == "neg" and len(args) == 1:
            text = f"(-{args[0]})"
        else:
            text = f"{name}({', '.join(args)})" + (f"[{var.index}]" if len(node.outputs) > 1 else "")
    memo[var] = text
    return text


def pydotprint(fct, outfile=None, format=None, print_output_file=True, return_image=False, **styling):
    """Theano's theano.printing.pydotprint: a picture of a function's or a variable's graph
    (sg.render's), written to `outfile` (default symgraph.pydotprint.<format> here) or, with
    return_image, returned as bytes; the format is `format`, else outfile's suffix, else png. Theano's styling options (compact, with_ids,
    high_contrast, colorCodes, max_label_size, ...) are accepted and left to sg.to_dot's style."""
    from .drawing import image, render, to_dot
    if return_image:
        return image(to_dot(fct), format or "png")
    path = render(fct, outfile or f"symgraph.pydotprint.{format or 'png'}", format=format)
    if print_output_file:
        print("The output file is available at", path)
    return path
