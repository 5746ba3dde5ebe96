"""Benchmarks behind ``gencor bench``: they print measured numbers and write tables and plots."""
