"""Benchmarks of common_tools: each module has run() -> dict of measured figures (python -m common_tools.benchmarks)."""
