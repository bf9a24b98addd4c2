"""Reverse-mode autodiff. Gradients are graphs, so they compile, rewrite and differentiate again.

The whole idea: walk the nodes from the cost back to the inputs; at each node hand the op
the gradient of its outputs and get the gradients of its inputs; where a variable feeds
several nodes, add up what comes back.

    >>> x = sg.dvector("x"); gx = sg.grad((x ** 2).sum(), x)   # 2 * x
"""
import warnings

import numpy as np

from .config import dtype_or_floatx
from .graph import Variable, Constant, toposort, clone_replace, in_scope
from .ops.base import as_variable
from .ops.shape import zeros_like, reshape, stack, concatenate, shape as shape_of
from .ops.elemwise import cast
from .ops.reduce import written_logsumexp
from .ops.nn import written_softmax
from .ops.loop import map_index


class DisconnectedInputError(ValueError):
    pass


class NullTypeGradError(TypeError):
    """Theano's: grad needed a gradient a user op says is undefined or not implemented."""


class GradientError(ValueError):
    """verify_grad's failure: the worst element, where it is, and both values."""

    def __init__(self, message, input_index, element, analytic, numeric):
        super().__init__(message)
        self.input_index, self.element, self.analytic, self.numeric = input_index, element, analytic, numeric


def _is_float(v):
    return v.dtype[0] in "fc"


def grad(cost, wrt, consider_constant=None, disconnected_inputs="raise", known_grads=None,
         return_disconnected="zero"):
    """d cost / d wrt, as a graph. `wrt` may be one variable or a list (same structure back)."""
    if disconnected_inputs not in ("raise", "warn", "ignore"):
        raise ValueError("disconnected_inputs must be 'raise', 'warn' or 'ignore'")
    single = not isinstance(wrt, (list, tuple))
    wrt_list = [wrt] if single else list(wrt)
    for v in wrt_list:
        if not isinstance(v, Variable) or isinstance(v, Constant):
            raise TypeError(f"grad: can only differentiate with respect to variables, got {v!r}")
    seeds = {}
    for var, g in (known_grads or {}).items():
        g = as_variable(g)
        seeds[var] = [g if g.dtype == var.dtype or not _is_float(var) else cast(g, var.dtype)]
    if cost is not None:
        cost = as_variable(cost)
        if cost.ndim != 0:
            raise TypeError(f"grad: the cost must be a scalar, got {cost.describe()}; "
                            f"sum it, or use sg.jacobian")
        if not _is_float(cost):
            raise TypeError(f"grad: the cost must be a float, got {cost.describe()}")
        seeds.setdefault(cost, []).append(Constant(np.ones((), cost.dtype)))
    if not seeds:
        raise ValueError("grad needs a cost or known_grads")

    blockers = set(consider_constant or ())
    nodes = toposort(list(seeds))
    depends = set(wrt_list)  # variables whose value depends on some wrt
    for node in nodes:
        if any(i in depends and (i not in blockers or i in wrt_list) for i in node.inputs):
            depends.update(node.outputs)
    terms = {v: list(gs) for v, gs in seeds.items()}

    for node in reversed(nodes):
        if not any(i in depends for i in node.inputs) or any(o in blockers for o in node.outputs):
            continue
        outs = [_total(terms.get(o)) for o in node.outputs]
        if all(g is None for g in outs):
            continue
        inputs = node.inputs
        with in_scope(node.outputs[0].scope):
            outs = [g if g is not None else zeros_like(o) for g, o in zip(outs, node.outputs)]
            written = written_logsumexp(node) or written_softmax(node)
            if written is not None:
                # log(sum(exp(x - m))) + m or e / e.sum() of e = exp(x - m), m = max(x): the
                # op's gradient (logsumexp's, softmax's), straight to x (through m as written,
                # its terms cancel: a written-out log_softmax's gradient had 22 nodes and ten
                # passes); m's other readers give theirs.
                inputs = [written[0]]
                in_grads = written[1].grad(inputs, node.outputs, outs)
            else:
                in_grads = node.op.grad(inputs, node.outputs, outs)
        if len(in_grads) != len(inputs):
            raise ValueError(f"grad: {node.op}'s grad gave {len(in_grads)} gradients for its {len(inputs)} "
                             f"inputs (one each, None for an input with none)")
        for inp, g in zip(inputs, in_grads):
            if g is None or inp not in depends or not _is_float(inp):
                continue
            if isinstance(g, UndefinedGradient):  # (a user op's: an error only where it is needed)
                raise NullTypeGradError(g.message)
            g = as_variable(g)
            terms.setdefault(inp, []).append(g if g.dtype == inp.dtype else cast(g, inp.dtype))

    results = []
    for v in wrt_list:
        g = _total(terms.get(v))
        if g is None:
            if _is_float(v):
                _disconnected(v, disconnected_inputs)
            if return_disconnected == "None":
                results.append(None)
                continue
            g = zeros_like(v, dtype=v.dtype if _is_float(v) else dtype_or_floatx())
        results.append(g)
    return results[0] if single else results


def partial_grads(build, inputs, output_grads):
    """An op's gradients of its inputs through a graph that computes the op (its grad's way):
    those of build(stand_ins)'s outputs, given output_grads, with respect to each input on its
    own. Stand-ins, not the inputs themselves: grad differentiates totally, and where one input is
    computed from another (lstsq(m, sin(m))) it went back through that one too, a path the outer
    gradient then counted again. None for an input that is not a float or that nothing reaches."""
    stand_ins = [Variable(v.type, name=v.name) for v in inputs]
    known = {o: g for o, g in zip(build(stand_ins), output_grads) if g is not None}
    floats = [s for s in stand_ins if _is_float(s)]
    if not known or not floats:
        return [None] * len(inputs)
    found = dict(zip(floats, grad(None, floats, known_grads=known, disconnected_inputs="ignore",
                                  return_disconnected="None")))
    reached = [s for s in floats if found[s] is not None]
    back, _ = clone_replace([found[s] for s in reached], dict(zip(stand_ins, inputs)))
    found.update(zip(reached, back))
    return [found.get(s) for s in stand_ins]


class UndefinedGradient:
    """What a user op's grad returns for an input with no gradient (Theano's grad_undefined
    and grad_not_implemented): grad raises NullTypeGradError, saying so, only if the cost's
    gradient needs it."""

    def __init__(self, message):
        self.message = message


def grad_undefined(op, x_pos, x, comment=""):
    """Theano's: the gradient of op's input x_pos is mathematically undefined."""
    return UndefinedGradient(f"grad: the gradient of {op}'s input {x_pos} ({x.describe()}) is undefined"
                             + (f": {comment}" if comment else ""))


def grad_not_implemented(op, x_pos, x, comment=""):
    """Theano's: the gradient of op's input x_pos exists but op does not give it."""
    return UndefinedGradient(f"grad: {op} does not implement the gradient of its input {x_pos} ({x.describe()})"
                             + (f": {comment}" if comment else ""))


class DisconnectedType:
    """Theano's DisconnectedType()(): a user op's gradient for an input its outputs do not depend on."""

    def __call__(self):
        return None


def _total(gs):
    if not gs:
        return None
    total = gs[0]
    for g in gs[1:]:
        total = total + g
    return total


def _disconnected(v, policy):
    message = (f"grad: the cost does not depend on {v.describe()} (it is disconnected); pass "
               f"disconnected_inputs='warn' or 'ignore' to get zeros")
    if policy == "raise":
        raise DisconnectedInputError(message)
    if policy == "warn":
        warnings.warn(message, stacklevel=3)


def jacobian(expression, wrt, consider_constant=None, disconnected_inputs="raise"):
    """d expression[i] / d wrt: shape expression.shape + wrt.shape (a list for a list of wrt)."""
    expression = as_variable(expression)
    single = not isinstance(wrt, (list, tuple))
    wrt_list = [wrt] if single else list(wrt)
    kw = dict(consider_constant=consider_constant, disconnected_inputs=disconnected_inputs)
    if expression.ndim == 0:
        out = grad(expression, wrt_list, **kw)
        return out[0] if single else out
    flat = reshape(expression, [-1])
    n = flat.type.shape[0]
    if n is not None and n <= 32:  # small and known: unroll, so higher derivatives stay plain graph
        rows = [grad(flat[i], wrt_list, **kw) for i in range(n)]
        stacked = [stack([r[k] for r in rows]) for k in range(len(wrt_list))]
    else:
        stacked = map_index(flat.shape[0], lambda i: grad(flat[i], wrt_list, **kw))
        stacked = stacked if isinstance(stacked, list) else [stacked]
    out = [reshape(j, concatenate([shape_of(expression), shape_of(w)]) if w.ndim else shape_of(expression),
                     ndim=expression.ndim + w.ndim) for j, w in zip(stacked, wrt_list)]
    return out[0] if single else out


def hessian(cost, wrt, consider_constant=None, disconnected_inputs="raise"):
    """Second derivatives of a scalar cost: one (n, n) matrix per vector in wrt."""
    single = not isinstance(wrt, (list, tuple))
    wrt_list = [wrt] if single else list(wrt)
    out = [jacobian(grad(cost, w, consider_constant, disconnected_inputs), w,
                    consider_constant, disconnected_inputs) for w in wrt_list]
    return out[0] if single else out


def Lop(f, wrt, eval_points, consider_constant=None, disconnected_inputs="raise"):
    """Vector-Jacobian product: eval_points · d f / d wrt."""
    fs = f if isinstance(f, (list, tuple)) else [f]
    vs = eval_points if isinstance(eval_points, (list, tuple)) else [eval_points]
    return grad(None, wrt, consider_constant, disconnected_inputs, known_grads=dict(zip(fs, vs)))


def Rop(f, wrt, eval_points):
    """Jacobian-vector product d f / d wrt · eval_points, by transposing Lop (linear in u)."""
    single_f = not isinstance(f, (list, tuple))
    fs = [f] if single_f else list(f)
    wrt_list = wrt if isinstance(wrt, (list, tuple)) else [wrt]
    vs = eval_points if isinstance(eval_points, (list, tuple)) else [eval_points]
    us = [Variable(v.type, name="u") for v in fs]
    lops = Lop(fs, wrt_list, us, disconnected_inputs="ignore")
    inner = None
    for lop, v in zip(lops, vs):
        term = (lop * as_variable(v)).sum()
        inner = term if inner is None else inner + term
    out = grad(inner, us, disconnected_inputs="ignore")
    # The result is linear in u, so u no longer appears; guard anyway by setting it to zero.
    out, _ = clone_replace(out, {u: zeros_like(fu) for u, fu in zip(us, fs)})
    return out[0] if single_f else out


def verify_grad(fn, pt, n_tests=2, rng=None, eps=None, abs_tol=None, rel_tol=None, backend="numpy"):
    """Compare symbolic gradients of fn with central finite differences at the points `pt`.

    fn takes symbolic inputs (one per array in pt) and returns a symbolic output; the output
    is projected on a random direction so every element matters. Raises GradientError
    naming the worst element when they disagree."""
    from .function import function
    from .graph import TensorType
    pt = [np.array(p, dtype=p.dtype if isinstance(p, np.ndarray) and p.dtype.kind == "f" else "float64") for p in pt]
    rng = rng if rng is not None else np.random.default_rng(0)
    draw = rng.uniform if hasattr(rng, "uniform") else rng.random
    inputs = [Variable(TensorType(p.dtype, (None,) * p.ndim), name=f"input{i}") for i, p in enumerate(pt)]
    out = as_variable(fn(*inputs))
    single64 = all(p.dtype == np.float64 for p in pt)
    eps = eps or (1e-6 if single64 else 3e-3)
    abs_tol = abs_tol if abs_tol is not None else (1e-4 if single64 else 3e-2)
    rel_tol = rel_tol if rel_tol is not None else (1e-4 if single64 else 3e-2)
    shape = np.shape(function(inputs, out, backend=backend, on_unused_input="ignore")(*pt))
    direction = Variable(TensorType(out.dtype, (None,) * out.ndim), name="direction")
    cost = (out * direction).sum()
    f_cost = function(inputs + [direction], cost, backend=backend, on_unused_input="ignore")
    f_grad = function(inputs + [direction], grad(cost, inputs, disconnected_inputs="ignore"),
                      backend=backend, on_unused_input="ignore")
    for _ in range(n_tests):
        d = np.asarray(draw(0.5, 1.5, size=shape) if shape else draw(0.5, 1.5), dtype=out.dtype)
        analytic = f_grad(*pt, d)
        for k, p in enumerate(pt):
            numeric = np.zeros_like(p, dtype=np.float64)
            for idx in np.ndindex(p.shape):
                plus, minus = [q.copy() for q in pt], [q.copy() for q in pt]
                plus[k][idx] += eps
                minus[k][idx] -= eps
                numeric[idx] = (float(f_cost(*plus, d)) - float(f_cost(*minus, d))) / (2 * eps)
            _compare(k, np.asarray(analytic[k], dtype=np.float64), numeric, abs_tol, rel_tol)


def _compare(k, analytic, numeric, abs_tol, rel_tol):
    abs_err = np.abs(analytic - numeric)
    rel_err = abs_err / np.maximum(np.abs(analytic) + np.abs(numeric), 1e-12)
    bad = (abs_err > abs_tol) & (rel_err > rel_tol)
    bad |= np.isnan(analytic) != np.isnan(numeric)
    if bad.any():
        worst = np.unravel_index(np.argmax(np.where(bad, abs_err, -1)), analytic.shape) if analytic.ndim else ()
        raise GradientError(
            f"verify_grad: input {k} element {worst}: symbolic gradient {analytic[worst]!r} but finite "
            f"differences give {numeric[worst]!r} (abs err {abs_err[worst]:.3g}, rel err "
            f"{rel_err[worst]:.3g}; {int(bad.sum())} of {bad.size} elements disagree)",
            k, worst, analytic[worst], numeric[worst])
