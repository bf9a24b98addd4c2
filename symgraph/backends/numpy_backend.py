"""The reference backend: each node runs its op's NumPy `perform`. It defines what every op
means; every other backend is tested against it."""
import functools

from .executor import compile_program


def make_thunk(node):
    return functools.partial(node.op.perform, node)


def compile_graph(fgraph, input_vars, output_vars, nan_guard=False, profile=None):
    return compile_program(fgraph, input_vars, output_vars, make_thunk, quiet=True, nan_guard=nan_guard,
                           profile=profile)
