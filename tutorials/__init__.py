"""Runnable tutorials; each has a main(fast=False) the test suite runs in fast mode."""
