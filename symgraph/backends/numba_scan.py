"""Scan on the numba backend: the step, rewritten and lowered as any graph (its loops fused,
its small steps compiled whole once hot: numba_program), called once a step by ops.scan's loop.
"""
from ..ops.scan import run_steps
from ..rewrite import optimize_graph
from ..rewrite.fgraph import FunctionGraph


class ScanThunk:
    def __init__(self, op, node, compile_graph):
        self.op, self.node, self.compile_graph = op, node, compile_graph
        self.step = None

    def __call__(self, inputs):
        if self.step is None:  # (compiled at the first call, as the node kernels are)
            fgraph = FunctionGraph(self.op.inner_inputs, self.op.inner_outputs)
            optimize_graph(fgraph, True)
            self.step = self.compile_graph(fgraph, self.op.inner_inputs, fgraph.outputs)
        return run_steps(self.op, self.step, inputs)
