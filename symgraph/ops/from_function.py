"""as_op: Theano's decorator (theano.compile.ops.as_op) making an op of a Python function on
NumPy arrays, for a step a graph cannot spell (a SciPy routine, a simulator):

    @sg.as_op(itypes=[sg.dmatrix], otypes=[sg.dvector])
    def row_norms(m):
        return np.sqrt((m ** 2).sum(axis=1))

    y = row_norms(x)          # a node of the graph, drawn and printed by the function's name

The function is the op's perform, on every backend (numba's runs it as any op without a kernel,
with the one-time warning). Inputs are checked against itypes when the graph is built, outputs
against otypes at each call. It has no gradient, as Theano's; an op with one is a subclass of
sg.Op (perform, grad), Theano's way too. infer_shape(fgraph, node, input_shapes), if given,
lets x.shape be known without running the function.
"""
from .base import Op, TensorType, Variable, as_variable, stored_output


class FromFunctionOp(Op):
    __props__ = ("fn", "itypes", "otypes")

    def __init__(self, fn, itypes, otypes, infer_shape=None):
        self.fn = fn
        self.itypes, self.otypes = tuple(itypes), tuple(otypes)
        self._infer_shape = infer_shape
        self.__name__ = getattr(fn, "__name__", "as_op")
        self.__doc__ = getattr(fn, "__doc__", None)

    def __str__(self):
        return f"FromFunctionOp{{{self.__name__}}}"

    def make_node(self, *inputs):
        if len(inputs) != len(self.itypes):
            raise TypeError(f"{self.__name__} takes {len(self.itypes)} inputs (its itypes), got {len(inputs)}")
        inputs = [as_variable(x) for x in inputs]
        for k, (x, want) in enumerate(zip(inputs, self.itypes)):
            if x.dtype != want.dtype or not x.type.is_compatible(want):
                raise TypeError(f"{self.__name__}: input {k} must be {want} (its itypes), got {x.describe()}")
        from .base import Apply
        return Apply(self, inputs, [t() for t in self.otypes])

    def perform(self, node, inputs):
        results = self.fn(*inputs)
        if len(self.otypes) == 1:
            results = [results]
        elif not isinstance(results, (list, tuple)) or len(results) != len(self.otypes):
            raise ValueError(f"{self.__name__} returned {type(results).__name__}, where its otypes say "
                             f"{len(self.otypes)} outputs (a list of them)")
        return [stored_output(self, k, value, var) for k, (value, var) in enumerate(zip(results, node.outputs))]

    def infer_shape(self, node, shapes):
        return None if self._infer_shape is None else self._infer_shape(None, node, shapes)


def as_op(itypes, otypes, infer_shape=None):
    """Decorator: the function as an op (see the module). itypes, otypes: lists of types
    (sg.dmatrix, sg.TensorType("float32", (None, 3)), or a variable whose type to take)."""
    itypes, otypes = [_as_type(t, "itypes") for t in _listed(itypes)], [_as_type(t, "otypes") for t in _listed(otypes)]

    def make(fn):
        return FromFunctionOp(fn, itypes, otypes, infer_shape)
    return make


def _listed(types):
    return list(types) if isinstance(types, (list, tuple)) else [types]


def _as_type(t, what):
    if isinstance(t, TensorType):
        return t
    if isinstance(t, Variable):
        return t.type
    if callable(t):  # (sg.dmatrix is a constructor of variables: its variable's type)
        made = t()
        if isinstance(made, Variable):
            return made.type
    raise TypeError(f"as_op: {what} must be types (sg.dmatrix, sg.TensorType(...)), got {t!r}")
