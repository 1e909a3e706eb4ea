"""Latency benchmarks and device reports (deploy side: numpy only)."""

from .latency import LatencyStats, measure_latency, stats_from_times

__all__ = ["LatencyStats", "measure_latency", "stats_from_times"]
