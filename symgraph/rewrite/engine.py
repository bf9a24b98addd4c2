"""The rewrite engine: rules are plain functions over one node, grouped into named stages,
each stage run over the graph until nothing fires (a fixed point).

A rule is `rule(fgraph, node) -> None | Variable | list of Variables` (the replacement of the
node's outputs), or a dict {old variable: replacement} where it also replaces another node's
outputs (two nodes merged into one). `@rule(OpClass, ...)` registers it for nodes of those op classes only, so a
pass over the graph tries only the rules that can match (tinygrad's rules-as-data habit).
"""
import time
from collections import defaultdict

from ..graph import Variable


class Stage:
    def __init__(self, name):
        self.name = name
        self.by_op = defaultdict(list)  # op class -> rules
        self.rules = []

    def register(self, *op_classes):
        """@stage.register(OpClass, ...) adds a rule for those ops; register(None) for every op."""
        def decorate(fn):
            for cls in op_classes:
                self.by_op[cls].append(fn)
            self.rules.append(fn)
            return fn
        return decorate

    def __repr__(self):
        return f"Stage({self.name}, {len(self.rules)} rules)"


def run_stage(fgraph, stage, log, max_passes=50):
    """Apply the stage's rules until none fires. Returns how many times rules fired."""
    fired = 0
    for _ in range(max_passes):
        changed = False
        for node in list(fgraph.apply_nodes):
            for rule in stage.by_op.get(type(node.op), []) + stage.by_op.get(None, []):
                if not _alive(fgraph, node):
                    break
                result = rule(fgraph, node)
                if result is None:
                    continue
                if isinstance(result, dict):
                    pairs = [(o, n) for o, n in result.items() if n is not o]
                else:
                    new = [result] if isinstance(result, Variable) else list(result)
                    pairs = [(o, n) for o, n in zip(node.outputs, new) if n is not None and n is not o]
                if not pairs:
                    continue
                for old, replacement in pairs:  # new nodes stay in the cluster they replace
                    _adopt_scope(fgraph, replacement, old.scope)
                fgraph.replace_all(pairs, reason=rule.__name__)
                log.append((stage.name, rule.__name__, str(node.op)))
                fired += 1
                changed = True
                break
        if not changed:
            break
    return fired


def _adopt_scope(fgraph, replacement, scope):
    """Give `scope` to every variable the rule made (those not yet in the graph) that has none."""
    stack, seen = [replacement], set()
    while stack:
        var = stack.pop()
        if var in seen or var.owner is None or fgraph.contains(var.owner):
            continue
        seen.add(var)
        if not var.scope:
            var.scope = scope
        stack.extend(var.owner.inputs)


def _alive(fgraph, node):
    return fgraph.contains(node)


class RewriteLog(list):
    """(stage, rule, op) for every rewrite that fired, plus the time each stage took."""

    def __init__(self):
        super().__init__()
        self.seconds = {}

    def summary(self):
        counts = defaultdict(int)
        for stage, rule, _ in self:
            counts[(stage, rule)] += 1
        return "\n".join(f"{stage:12s} {rule:32s} {n}" for (stage, rule), n in sorted(counts.items()))


def rewrite(fgraph, stages):
    """Run `stages` (a list of (Stage or callable(fgraph, log))) in order; returns the log."""
    log = RewriteLog()
    for stage in stages:
        start = time.perf_counter()
        if isinstance(stage, Stage):
            run_stage(fgraph, stage, log)
            name = stage.name
        else:
            stage(fgraph, log)
            name = stage.__name__
        log.seconds[name] = log.seconds.get(name, 0.0) + time.perf_counter() - start
    return log
