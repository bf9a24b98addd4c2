"""Map: evaluate an inner graph for i = 0..n-1 and stack the results (a small Theano scan).

jacobian and hessian use it when the number of rows is not known at build time.
"""
import numpy as np

from .base import InnerGraphOp, Apply, TensorType, Variable, as_int_scalar
from ..graph import graph_inputs, Constant


class Map(InnerGraphOp):
    """outputs[k][i] = inner_outputs[k] evaluated with index = i and the free inputs."""

    def __init__(self, index, free_inputs, inner_outputs):
        self.index, self.free_inputs, self.inner_outputs = index, list(free_inputs), list(inner_outputs)
        self._run = None

    def __str__(self):
        return f"Map{{{len(self.inner_outputs)} outputs}}"

    def make_node(self, n, *free):
        outs = [Variable(TensorType(o.dtype, (None,) + o.type.shape)) for o in self.inner_outputs]
        return Apply(self, [as_int_scalar(n, "Map length"), *free], outs)

    def perform(self, node, inputs):
        if self._run is None:
            from ..backends.numpy_backend import compile_graph
            from ..rewrite.fgraph import FunctionGraph
            fg = FunctionGraph([self.index] + self.free_inputs, self.inner_outputs)
            self._run = compile_graph(fg, [self.index] + self.free_inputs, fg.outputs)
        n, free = int(inputs[0]), list(inputs[1:])
        rows = [self._run([np.int64(i)] + free) for i in range(n)]
        return [np.stack([np.asarray(r[k]) for r in rows]) if n else
                np.zeros((0,) + tuple(s or 0 for s in o.type.shape), o.dtype)
                for k, o in enumerate(self.inner_outputs)]

    def grad(self, inputs, outputs, output_grads):
        from ..grad import grad
        from .shape import zeros_like
        wrt = [v for v in self.free_inputs if v.dtype[0] in "fc"]
        if not wrt:
            return [None] * len(inputs)
        gs = [g if g is not None else zeros_like(o) for g, o in zip(output_grads, outputs)]
        # d/d(free) of sum_i <inner_i, g[i]>: one more Map over the per-row contributions,
        # with fresh inner placeholders standing for the outer gradients g.
        g_inner = [Variable(g.type, name="g") for g in gs]
        cost = None
        for o, g in zip(self.inner_outputs, g_inner):
            term = (o * g[self.index]).sum()
            cost = term if cost is None else cost + term
        row_grads = grad(cost, wrt, disconnected_inputs="ignore")
        stacked = Map(self.index, self.free_inputs + g_inner, row_grads)(inputs[0], *inputs[1:], *gs)
        stacked = stacked if isinstance(stacked, list) else [stacked]
        by_var = dict(zip(wrt, (s.sum(axis=0) for s in stacked)))
        outer = dict(zip(self.free_inputs, inputs[1:]))
        return [None] + [by_var.get(v) if v in by_var and outer[v].dtype[0] in "fc" else None
                         for v in self.free_inputs]


def map_index(n, body):
    """Stack body(i) for i in range(n): `map_index(y.shape[0], lambda i: grad(y[i], x))`."""
    from .base import as_variable
    index = Variable(TensorType("int64", ()), name="i")
    result = body(index)
    single = not isinstance(result, (list, tuple))
    outs = [as_variable(r) for r in ([result] if single else result)]
    free = [v for v in graph_inputs(outs) if v is not index and not isinstance(v, Constant)]
    stacked = Map(index, free, outs)(n, *free)
    return stacked if single else list(stacked if isinstance(stacked, list) else [stacked])
