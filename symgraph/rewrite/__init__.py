"""Graph rewriting: the FunctionGraph a compiled function runs, and the stages that improve it.

    canonicalize -> stabilize -> specialize -> fuse -> plan memory

`optimize_graph(fgraph, level)`: level False runs nothing (the graph as written),
"fast_compile" only merges and canonicalizes, True runs every stage.
"""
from .fgraph import FunctionGraph
from .engine import Stage, rewrite, RewriteLog
from .canonicalize import canonicalize, merge
from .stabilize import stabilize
from .specialize import specialize
from .fusion import fuse
from .memory import plan_inplace

LEVELS = {
    False: [],
    None: [],
    "fast_compile": [merge, canonicalize, merge],
    # merge after stabilize too: its rules build the same subgraphs (a crossentropy's targets
    # broadcast to the logits' shape by the loss's rule and by its gradient's), which
    # specialize then finds as one variable.
    True: [merge, canonicalize, merge, stabilize, merge, specialize, merge, canonicalize, merge, fuse, plan_inplace],
    "fast_run": [merge, canonicalize, merge, stabilize, merge, specialize, merge, canonicalize, merge, fuse, plan_inplace],
}


def optimize_graph(fgraph, level=True):
    """Rewrite fgraph in place; returns the log of the rules that fired."""
    if level not in LEVELS:
        raise ValueError(f"optimize must be True, False or 'fast_compile', not {level!r}")
    return rewrite(fgraph, LEVELS[level])
