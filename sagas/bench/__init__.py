"""Benchmarks: the saga throughput run, the bulk fill and the admin page timings."""
