"""Graph rewriting: the FunctionGraph a compiled function runs."""
from .fgraph import FunctionGraph
