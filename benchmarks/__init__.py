"""Benchmarks of classicdeblur (EVALUATION.md protocol); each script prints its table."""
