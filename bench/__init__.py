"""Benchmarks: each prints a table of figures; ratios are compared within one run, never asserted."""
