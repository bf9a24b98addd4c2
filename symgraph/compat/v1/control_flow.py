"""TensorFlow 1's control flow over symgraph's: tf.cond and tf.case (symgraph's lazy ifelse: only
the branch taken runs), tf.while_loop (a scan stopped by its condition), tf.map_fn, tf.scan,
tf.foldl and tf.foldr (scans over the first axis). Gradients go through all of them.

What differs: a while_loop has a bound, maximum_iterations or 65536 steps without one (symgraph's
loops keep every step's values for their gradients); a branch or a loop body returning an
operation (an assign) is refused in loops and merged by the condition in tf.cond."""
import numpy as np

from ...ops import elemwise as E
from ...ops.base import as_variable
from ...ops.ifelse import ifelse
from ...ops.scan import scan as _scan, until
from ...ops.shape import concatenate, expand_dims
from .nest import flatten_with_packer
from .session import Operation

DEFAULT_MAXIMUM_ITERATIONS = 65536


def _predicate(pred):
    """A Python bool as it is; a tensor as a boolean scalar."""
    if isinstance(pred, (bool, np.bool_)):
        return bool(pred)
    pred = as_variable(pred)
    if pred.ndim != 0:
        raise ValueError(f"cond: the predicate must be a scalar, got {pred.describe()}")
    return pred if pred.dtype == "bool" else E.neq(pred, 0)


def cond(pred, true_fn=None, false_fn=None, strict=False, name=None, fn1=None, fn2=None):
    """true_fn()'s tensors where pred is true, false_fn()'s otherwise (both return the same
    structure); only the branch taken is computed. A Python bool calls its branch alone.
    Operations the branches return (assigns) become one operation applying the branch's."""
    true_fn, false_fn = true_fn or fn1, false_fn or fn2
    if not callable(true_fn) or not callable(false_fn):
        raise TypeError("cond: true_fn and false_fn must be callables")
    pred = _predicate(pred)
    if isinstance(pred, bool):
        return true_fn() if pred else false_fn()
    then_leaves, rebuild = flatten_with_packer(true_fn())
    else_leaves, _ = flatten_with_packer(false_fn())
    if len(then_leaves) != len(else_leaves):
        raise ValueError(f"cond: true_fn returned {len(then_leaves)} values and false_fn {len(else_leaves)}: the "
                         f"branches must return the same structure")
    return rebuild([_choose(pred, a, b) for a, b in zip(then_leaves, else_leaves)])


def _choose(pred, a, b):
    if isinstance(a, Operation) or isinstance(b, Operation):
        if not (isinstance(a, Operation) and isinstance(b, Operation)):
            raise ValueError("cond: an operation in one branch needs an operation in the other (tf.no_op())")
        updates = {}
        for var in list(a.updates) + [v for v in b.updates if v not in a.updates]:
            updates[var] = ifelse(pred, a.updates.get(var, var), b.updates.get(var, var))
        return Operation(updates)
    a, b = as_variable(a), as_variable(b)
    if a.ndim != b.ndim:
        raise ValueError(f"cond: the branches give {a.describe()} and {b.describe()}: they must have the same rank")
    if a.dtype != b.dtype:
        raise TypeError(f"cond: the branches give {a.dtype} and {b.dtype} values; TensorFlow asks for one dtype")
    return ifelse(pred, a, b)


def case(pred_fn_pairs, default=None, exclusive=False, strict=False, name=None):
    """The function of the first true predicate (pairs: a list of (pred, fn), or a dict),
    default's where none is."""
    pairs = list(pred_fn_pairs.items()) if isinstance(pred_fn_pairs, dict) else list(pred_fn_pairs)
    if not pairs:
        return default()
    if default is None:  # (TensorFlow: the last pair's function is then the default)
        pairs, default = pairs[:-1], pairs[-1][1]
    result = default
    for pred, fn in reversed(pairs):
        result = (lambda p, f, otherwise: lambda: cond(p, f, otherwise))(pred, fn, result)
    return result()


def while_loop(cond, body, loop_vars, shape_invariants=None, parallel_iterations=10, back_prop=True,
               swap_memory=False, maximum_iterations=None, return_same_structure=False, name=None):
    """loop_vars after `while cond(*vars): vars = body(*vars)` (the same structure; each value
    keeps its dtype and rank). At most maximum_iterations steps (65536 without it)."""
    test = cond
    single = isinstance(loop_vars, (list, tuple)) and len(loop_vars) == 1 and not return_same_structure
    leaves, rebuild = flatten_with_packer(list(loop_vars) if isinstance(loop_vars, (list, tuple)) else loop_vars)
    inits = [as_variable(v) for v in leaves]
    if not inits:
        raise ValueError("while_loop: loop_vars must not be empty")

    def arguments(values):
        structure = rebuild(list(values))
        return structure if isinstance(loop_vars, (list, tuple)) else [structure]

    def step(*values):
        go = _predicate(test(*arguments(values)))
        if isinstance(go, bool):
            raise ValueError("while_loop: cond must give a boolean tensor (a Python bool never changes)")
        new, _ = flatten_with_packer(body(*arguments(values)))
        new = list(new) if isinstance(loop_vars, (list, tuple)) or len(new) != 1 else new
        if len(new) != len(values):
            raise ValueError(f"while_loop: body returned {len(new)} values for {len(values)} loop variables")
        new = [_kept(v, old) for v, old in zip(new, values)]
        new = [E.where(go, v, old) for v, old in zip(new, values)]
        stop = E.logical_or(E.logical_not(go), E.logical_not(_predicate(test(*arguments(new)))))
        return new, until(stop)

    steps = DEFAULT_MAXIMUM_ITERATIONS if maximum_iterations is None else maximum_iterations
    results, _ = _scan(step, outputs_info=inits, n_steps=steps, return_list=True)
    out = rebuild([r[-1] for r in results])  # (the first step always runs: cond false keeps the values)
    return out[0] if single else out


def _kept(value, old):
    """The body's value as the loop variable's dtype, with its rank (TensorFlow's invariants)."""
    if isinstance(value, Operation):
        raise ValueError("while_loop: the body returned an operation; loops carry tensors only")
    value = as_variable(value)
    if value.ndim != old.ndim:
        raise ValueError(f"while_loop: the body changed a loop variable's rank: {old.describe()} became "
                         f"{value.describe()}")
    return value if value.dtype == old.dtype else E.cast(value, old.dtype)


def map_fn(fn, elems, dtype=None, parallel_iterations=None, back_prop=True, swap_memory=False, infer_shape=True,
           name=None):
    """fn applied to each slice of elems along its first axis (elems a tensor, or a structure
    of them sliced together), the results stacked."""
    leaves, rebuild = flatten_with_packer(elems)
    structure = []  # (how fn's results nest: seen when the step is traced)

    def step(*slices):
        out, rebuild_out = flatten_with_packer(fn(rebuild(list(slices))))
        structure.append(rebuild_out)
        return [as_variable(o) for o in out]
    results, _ = _scan(step, sequences=[as_variable(e) for e in leaves], return_list=True)
    return structure[0](results)


def scan(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False, infer_shape=True,
         reverse=False, name=None):
    """The accumulator after each element: acc = fn(acc, x) along elems' first axis (from the
    end where reverse); without an initializer the first element starts it and is the first
    result, as TensorFlow's."""
    leaves, rebuild_elems = flatten_with_packer(elems)
    seqs = [as_variable(e) for e in leaves]
    if reverse:
        seqs = [s[::-1] for s in seqs]
    if initializer is None:
        init_leaves, rebuild_acc = [s[0] for s in seqs], rebuild_elems
        seqs = [s[1:] for s in seqs]
    else:
        init_leaves, rebuild_acc = flatten_with_packer(initializer)
        init_leaves = [as_variable(v) for v in init_leaves]
    n_seq = len(seqs)

    def step(*values):
        xs, accs = values[:n_seq], values[n_seq:]
        out, _ = flatten_with_packer(fn(rebuild_acc(list(accs)), rebuild_elems(list(xs))))
        return [_kept(v, old) for v, old in zip(out, accs)]
    results, _ = _scan(step, sequences=seqs, outputs_info=init_leaves, return_list=True)
    if initializer is None:
        results = [concatenate([expand_dims(i, 0), r], 0) for i, r in zip(init_leaves, results)]
    if reverse:
        results = [r[::-1] for r in results]
    return rebuild_acc(results)


def foldl(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False, name=None):
    """The accumulator after the last element: acc = fn(acc, x) from the first element."""
    return _last(scan(fn, elems, initializer))


def foldr(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False, name=None):
    """The accumulator after the first element: acc = fn(acc, x) from the last element."""
    return _first(scan(fn, elems, initializer, reverse=True))


def _last(structure):
    leaves, rebuild = flatten_with_packer(structure)
    return rebuild([leaf[-1] for leaf in leaves])


def _first(structure):
    leaves, rebuild = flatten_with_packer(structure)
    return rebuild([leaf[0] for leaf in leaves])
