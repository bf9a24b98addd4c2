"""sg.random: seeded random streams (see ops/random.py). RandomStreams and MRG_RandomStreams
are Theano's names for the same factory (its two generators' methods, uniform, normal and
binomial, are this one's)."""
from .ops.random import RandomStream

RandomStreams = MRG_RandomStreams = RandomStream

__all__ = ["RandomStream", "RandomStreams", "MRG_RandomStreams"]
