"""Scan on the numba backend: the step, rewritten and lowered as any graph, called once a step
by ops.scan's loop; once hot, the whole loop compiled as one function.

A step of a small RNN is a few microseconds of arithmetic and as many of Python around it (the
loop, the step's call, its nodes' calls). So, as numba_program does for a small graph called in
a loop, after HOT_SECONDS of scans with one set of step shapes the step is written as a
program's body (shapes as literals) inside a compiled loop over the steps: each step's slices
of the sequences are views, its outputs are copied into the stacked results, and the new
states are the next step's inputs. Until then, and where the step has something the program
writer does not spell, ops.scan's Python loop runs it.
"""
import contextlib

import numpy as np

from ..ops.scan import run_steps, split_inputs
from ..rewrite import optimize_graph
from ..rewrite.fgraph import FunctionGraph
from . import numba_blas, numba_program as P
from ..config import config


class ScanThunk:
    def __init__(self, op, node, compile_graph):
        self.op, self.node, self.compile_graph = op, node, compile_graph
        self.run = None
        self.why_not = None  # why the loop is never compiled whole (for tests and debugging)

    def __call__(self, inputs):
        if self.run is None:  # (compiled at the first call, as the node kernels are)
            op = self.op
            fgraph = FunctionGraph(op.inner_inputs, op.inner_outputs)
            optimize_graph(fgraph, True)
            # (why the loop is never compiled whole: the first op the program writer cannot spell)
            self.why_not = ("config.whole_programs is off" if not config.whole_programs
                            else P.unsupported(fgraph, min_nodes=1))
            loop = self.why_not is None
            # (with the loop compiled whole, the step alone is not worth a program of its own)
            step = self.compile_graph(fgraph, op.inner_inputs, fgraph.outputs, whole_program=not loop)
            self.run = LoopRunner(op, fgraph, step) if loop else lambda values: run_steps(op, step, values)
        return self.run(inputs)


class LoopRunner(P.TieredRunner):
    """The Python loop over steps, replaced by a compiled loop for hot step shapes."""

    def __init__(self, op, fgraph, step):
        super().__init__(fgraph, op.inner_inputs, fgraph.outputs, lambda values: run_steps(op, step, values))
        self.op = op
        self.written = []  # (a step writes into none of its inputs)

    def signature(self, values):
        op = self.op
        return tuple([v.shape[1:] for v in values[1:1 + op.n_seqs]] + [v.shape for v in values[1 + op.n_seqs:]])

    def __call__(self, values):
        if int(values[0]) < 1:  # (nothing to trace a step from)
            return self.run(values)
        return super().__call__(values)

    def build(self, values):
        op = self.op
        _, seqs, states, constants = split_inputs(op, values)
        first = [seq[-1] if op.go_backwards else seq[0] for seq in seqs] + states + constants
        P._small_enough(dict(zip(self.input_vars, first)))
        known = P.trace(self.fgraph, self.input_vars, first)
        P._small_enough(known)
        for k, var in enumerate(self.output_vars[:op.n_states]):
            if known[var].shape != np.shape(states[k]):
                raise P.Unsupported(f"state {k} changes shape in the step")
        return _LoopWriter(self.fgraph, self.input_vars, self.output_vars, known).loop(op)


class _LoopWriter(P._Writer):
    def loop(self, op):
        """kernel(sequences, states, constants, extra, outputs): the step's body in a loop."""
        # Loops over a step's arrays with literal trip counts were unrolled whole and ran slower
        # (an LSTM's backward loop 442 -> 392 us for 20 steps with the counts hidden). The
        # whole-step programs keep theirs: hidden, small_steps.py's steps ran 4-10% slower.
        self.hidden_trips = True
        self.body()
        values = [self.name(v) for v in self.output_vars]  # (before the parameters: constants join them)
        seqs = [f"s{k}" for k in range(op.n_seqs)]
        outs = [f"o{k}" for k in range(len(values))]
        params = seqs + self.params[op.n_seqs:] + outs
        finals = op.final_states  # (outputs: these states' last values only)
        lines = ["opaque = steps[()] >> 62", "for step in range(steps[()]):"]
        for k, seq in enumerate(seqs):
            at = f"{seq}.shape[0] - 1 - step" if op.go_backwards else "step"
            # (a vector's element is a number in numba: the step reads a 0-d view of it)
            lines.append(f"    a{k} = {seq}[{at}:{at} + 1].reshape(())" if not self.input_vars[k].ndim
                         else f"    a{k} = {seq}[{at}]")
        lines += [f"    {line}" for line in self.lines]
        # (arrays are written by copy_into: numba's slice assignment compiles 3.5 s of error message)
        self.helpers["copy_into"] = "from symgraph.backends.numba_kernels import copy_into\n"
        lines += [f"    copy_into({out}[step], {value})" if var.ndim else f"    {out}[step] = {value}[()]"
                  for out, value, var in list(zip(outs, values, self.output_vars))[finals:]]
        if op.condition is not None:  # (Theano's until: this step is the last; its outputs are kept)
            lines += [f"    if {values[op.condition]}[()]:"]
            lines += [f"        copy_into({outs[k]}, {value})" if var.ndim else f"        {outs[k]}[()] = {value}[()]"
                      for k, (value, var) in enumerate(list(zip(values, self.output_vars))[:finals])]
            lines += ["        return step + 1"]
        # The new states: the step's own arrays, the next step's inputs (its outputs were copied);
        # a 0-d one copied (np.ascontiguousarray gives at least one dimension, as NumPy's does).
        states = list(zip(values, self.output_vars))[:op.n_states]
        lines += [f"    a{op.n_seqs + k} = {value}.copy()" if not var.ndim else
                  f"    a{op.n_seqs + k} = np.ascontiguousarray({value})" for k, (value, var) in enumerate(states)]
        lines += [f"copy_into({outs[k]}, a{op.n_seqs + k})" if var.ndim else f"{outs[k]}[()] = a{op.n_seqs + k}[()]"
                  for k, (_, var) in enumerate(states[:finals])]
        source = "".join(self.helpers.values()) + (
            "@njit(cache=True, error_model='numpy', nogil=True)\n"
            f"def kernel(steps, {', '.join(params)}):\n" + "".join(f"    {line}\n" for line in lines)
            + "    return steps[()]\n")  # (the number of steps taken)
        shapes = [(self.known[v].shape, v.dtype, k >= finals) for k, v in enumerate(self.output_vars)]
        return LoopPlan(source, tuple(self.extra), shapes, self.nodes(), tuple(self.rows), op)


class LoopPlan(P.Plan):
    def __init__(self, source, extra, shapes, nodes, rows, op):
        super().__init__(source, None, extra, None, nodes, rows)
        self.shapes, self.op = shapes, op

    def arguments(self, values):
        n, seqs, states, constants = split_inputs(self.op, values)
        outs = [np.empty((n,) + shape if stacked else shape, dtype) for shape, dtype, stacked in self.shapes]
        return [np.array(n)] + [_plain(v) for v in seqs + states + constants] + list(self.extra) + outs

    def compile(self, values):
        for kind, dtype, short in self.rows:
            P.row_kernel(kind, dtype, False, short)
        program = LoopProgram(P.compile_source(self.source).dispatcher, self)
        program.compile(values)
        return program


class LoopProgram(P.Program):
    """program(scan's inputs) -> its outputs, from one call of the compiled loop (compiled for
    one signature as Program.compile does)."""

    def __init__(self, kernel, plan):
        self.kernel, self.plan = kernel, plan
        # SciPy's OpenBLAS at one thread where the loop's products call it (NumPy's OpenBLAS
        # not found: numba_numpy_gemm), its threads beside NumPy's slowed the step 4x.
        from .numba_numpy_gemm import DOT
        self.one_thread = numba_blas.scipy_one_thread() if DOT is None else None

    def __call__(self, values):
        arguments = self.plan.arguments(values)
        with self.one_thread or contextlib.nullcontext():
            taken = self.kernel(*arguments)
        outputs = arguments[-len(self.plan.shapes):]
        # (a loop its condition stopped: the rows of the steps taken)
        return outputs if self.plan.op.condition is None else [out[:taken] for out in outputs]


def _plain(value):
    """The array as the loop is compiled for: C-ordered and writeable (a copy if not)."""
    value = np.asarray(value)
    flags = value.flags
    return value if flags.c_contiguous and flags.writeable else np.array(value, order="C")
