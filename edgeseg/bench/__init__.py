"""Latency benchmarks and device reports (deploy side: numpy only)."""

from .latency import LatencyStats, measure_latency

__all__ = ["LatencyStats", "measure_latency"]
