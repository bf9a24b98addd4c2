"""Theano's ifelse: ifelse(condition, then, else) is `then` where the scalar condition holds,
else `else` (a list of each for several outputs). Unlike switch (where), which picks element
by element from arrays of one shape, it picks whole values, which may differ in shape. Lazy, as
Theano's: the nodes that only the branch not taken needs are not run (the executor guards them:
backends/lazy_branches.py), so an expensive branch costs nothing when not chosen. The
gradient goes to the chosen branch."""
import numpy as np

from .base import Op, Apply, TensorType, Variable, as_variable


class IfElse(Op):
    """(condition, *thens, *elses) -> one output per then/else pair."""
    __props__ = ("n_outs",)

    def __init__(self, n_outs):
        self.n_outs = n_outs

    def make_node(self, condition, *branches):
        condition = as_variable(condition)
        if condition.ndim != 0:
            raise TypeError(f"ifelse: the condition must be a scalar, got {condition.describe()}")
        branches = [as_variable(b) for b in branches]
        thens, elses = branches[:self.n_outs], branches[self.n_outs:]
        outs = []
        for then, other in zip(thens, elses):
            if then.ndim != other.ndim:
                raise TypeError(f"ifelse: the branches must have as many dimensions: {then.describe()} and "
                                f"{other.describe()}")
            dtype = np.result_type(then.dtype, other.dtype).name
            shape = tuple(a if a == b else None for a, b in zip(then.type.shape, other.type.shape))
            outs.append(Variable(TensorType(dtype, shape)))
        return Apply(self, [condition, *branches], outs)

    def branch_slots(self):
        """The input slots of the then-values and of the else-values (input 0: the condition)."""
        return range(1, 1 + self.n_outs), range(1 + self.n_outs, 1 + 2 * self.n_outs)

    def perform(self, node, inputs):
        chosen = inputs[1:1 + self.n_outs] if inputs[0] else inputs[1 + self.n_outs:]
        return [np.asarray(v, dtype=o.dtype) for v, o in zip(chosen, node.outputs)]

    def grad(self, inputs, outputs, output_grads):
        from .shape import zeros_like
        condition, thens, elses = inputs[0], inputs[1:1 + self.n_outs], inputs[1 + self.n_outs:]
        then_grads, else_grads = [], []
        for then, other, g in zip(thens, elses, output_grads):
            floats = g is not None and then.dtype[0] == "f"
            then_grads.append(IfElse(1)(condition, g, zeros_like(then)) if floats else None)
            floats = g is not None and other.dtype[0] == "f"
            else_grads.append(IfElse(1)(condition, zeros_like(other), g) if floats else None)
        return [None] + then_grads + else_grads


def ifelse(condition, then_branch, else_branch, name=None):
    """then_branch where the scalar condition is true, else else_branch (each a variable or a
    list of them); Theano's `from theano.ifelse import ifelse`."""
    several = isinstance(then_branch, (list, tuple))
    thens = list(then_branch) if several else [then_branch]
    elses = list(else_branch) if isinstance(else_branch, (list, tuple)) else [else_branch]
    if len(thens) != len(elses):
        raise ValueError(f"ifelse: {len(thens)} then-values but {len(elses)} else-values")
    outs = IfElse(len(thens))(condition, *thens, *elses)
    outs = outs if isinstance(outs, list) else [outs]
    if name:
        for o in outs:
            o.name = name
    return outs if several else outs[0]
