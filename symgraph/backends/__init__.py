"""Backends turn a FunctionGraph into a callable: numpy (the reference interpreter)."""
