"""Theano's function profiling: `f = sg.function(..., profile=True)`, some calls, then
`f.profile.summary()` prints where the time went: the calls' total, the time in the nodes,
and the nodes' time by op class, by op and by node (Theano's Class, Ops and Apply tables),
beside the compile's (rewrites, backend). The first call, which compiles the kernels it
runs, is counted apart. sg.config.profile = True (or SYMGRAPH_PROFILE=1)
profiles every function.

A profiled function runs its nodes one by one, each timed (the numba backend's whole-step
program, which runs a small graph as one compiled function, is off), so the tables show the
nodes' own times; the call's total includes the arguments' checks and the updates' swap.
On the cuda backend a node's time is its launch's: kernels run on after it returns."""
import sys
import time
from collections import defaultdict


class ProfileStats:
    def __init__(self, name=None):
        self.name = name
        self.nodes, self.node_seconds = [], []
        self.calls, self.call_seconds = 0, 0.0
        self.rewrite_seconds, self.compile_seconds = 0.0, 0.0
        self.first_call_seconds = None  # (it compiles the kernels it runs: kept apart)

    def watch(self, nodes):
        """Time these nodes (the executor's order): node_seconds[k] adds up nodes[k]'s runs."""
        self.nodes, self.node_seconds = list(nodes), [0.0] * len(nodes)
        return self.node_seconds

    def timed(self, call):
        """call, wrapped to count its calls and their time."""
        clock = time.perf_counter

        def profiled(*args, **kwargs):
            start = clock()
            try:
                return call(*args, **kwargs)
            finally:
                if self.first_call_seconds is None:
                    self.first_call_seconds = clock() - start
                    self.node_seconds[:] = [0.0] * len(self.node_seconds)
                else:
                    self.calls += 1
                    self.call_seconds += clock() - start
        return profiled

    def by_class(self):
        return self._grouped(lambda node: type(node.op).__name__)

    def by_op(self):
        return self._grouped(lambda node: str(node.op))

    def _grouped(self, key):
        """[(seconds, number of nodes, key)] from the most time to the least."""
        seconds, count = defaultdict(float), defaultdict(int)
        for node, t in zip(self.nodes, self.node_seconds):
            seconds[key(node)] += t
            count[key(node)] += 1
        return sorted(((seconds[k], count[k], k) for k in seconds), key=lambda row: -row[0])

    def summary(self, file=None, n_ops_to_print=20, n_apply_to_print=20):
        """Print the tables (to sys.stdout, or file)."""
        out = file or sys.stdout
        in_nodes = sum(self.node_seconds)
        calls = max(self.calls, 1)
        print(f"Function profiling\n==================\n  Message: {self.name or 'a function'}", file=out)
        if self.first_call_seconds is not None:
            print(f"  First call: {self.first_call_seconds:.6e}s (with the compiles of the kernels it ran; "
                  f"left out below)", file=out)
        print(f"  Time in {self.calls} later calls to Function.__call__: {self.call_seconds:.6e}s", file=out)
        if self.calls:
            print(f"  Time in nodes: {in_nodes:.6e}s ({100 * in_nodes / max(self.call_seconds, 1e-12):.1f}% of "
                  f"the calls; the rest: argument checks, updates, the executor)", file=out)
        print(f"  {len(self.nodes)} nodes; compile: rewrites {self.rewrite_seconds:.3f}s, backend "
              f"{self.compile_seconds:.3f}s\n", file=out)
        for title, rows in (("Class", self.by_class()), ("Ops", self.by_op())):
            print(f"{title}\n---\n  <% time> <sum %> <time> <time per call> <nodes> <{title.lower()}>", file=out)
            self._rows(out, rows[:n_ops_to_print], in_nodes, calls)
            print(file=out)
        print("Apply\n------\n  <% time> <sum %> <time> <time per call> <node index> <node>", file=out)
        ranked = sorted(range(len(self.nodes)), key=lambda k: -self.node_seconds[k])[:n_apply_to_print]
        self._rows(out, [(self.node_seconds[k], k, _describe(self.nodes[k])) for k in ranked], in_nodes, calls)

    @staticmethod
    def _rows(out, rows, total, calls):
        running = 0.0
        for seconds, count, what in rows:
            share = 100 * seconds / total if total else 0.0
            running += share
            print(f"  {share:5.1f}%  {running:5.1f}%  {seconds:.3e}s  {seconds / calls:.3e}s  {count:5d}  {what}",
                  file=out)


def _describe(node):
    outs = ", ".join(str(o.type) for o in node.outputs)
    return f"{node.op}({', '.join(str(i.type) for i in node.inputs)}) -> {outs}"
