"""Benchmarks: each module measures a target against named baselines in the same run and prints ratios."""
