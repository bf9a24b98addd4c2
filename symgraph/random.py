"""sg.random: seeded random streams (see ops/random.py)."""
from .ops.random import RandomStream

__all__ = ["RandomStream"]
