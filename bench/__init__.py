"""Benchmarks (`desk bench`): timer lateness at scale, intake throughput, the engine floor, cost, memory.

Separate commands, not tests: each measurement starts its own Temporal dev server (WAL mode) and embedded
PostgreSQL on free ports with temporary data, prints figures, writes `bench/results/*.json` and
`docs/benchmarks.md`.
"""
