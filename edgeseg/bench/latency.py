"""Latency of one backend on one input: warm-up, timed runs, percentiles, a noise flag.

>>> import numpy as np
>>> s = measure_latency(lambda x: x * 2, np.ones(4), runs=20, warmup=2)
>>> s.runs, s.p50_ms >= 0
(20, True)
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from ..utils.progress import Progress

NOISY_P99_OVER_P50 = 1.5  # wider than this and the median is not to be trusted alone


@dataclass(frozen=True)
class LatencyStats:
    runs: int
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    min_ms: float
    fps: float
    noisy: bool

    def to_dict(self) -> dict:
        return asdict(self)


def measure_latency(fn, x, runs: int = 50, warmup: int = 5, min_seconds: float = 0.0,
                    desc: str | None = None, file=None) -> LatencyStats:
    """Time ``fn(x)``: ``warmup`` untimed calls, then ``runs`` timed ones (more if
    ``min_seconds`` is not yet reached). The median is the figure to quote."""
    return stats_from_times(time_calls(fn, x, runs, warmup, min_seconds, desc, file))


def time_calls(fn, x, runs: int = 50, warmup: int = 5, min_seconds: float = 0.0,
               desc: str | None = None, file=None) -> list[float]:
    """The per-call times (ms) behind :func:`measure_latency`, for histograms and reports.

    >>> len(time_calls(lambda x: x, 0, runs=3, warmup=1))
    3
    """
    for _ in range(warmup):
        fn(x)
    times = []
    start = time.perf_counter()
    with Progress(runs, desc or "latency", file=file, unit="run") as bar:
        while len(times) < runs or time.perf_counter() - start < min_seconds:
            t0 = time.perf_counter()
            fn(x)
            times.append((time.perf_counter() - t0) * 1e3)
            bar.update(1)
    return times


def stats_from_times(times_ms) -> LatencyStats:
    """Percentiles of per-call times already measured (e.g. interleaved with other variants).

    >>> stats_from_times([1.0, 2.0, 3.0]).p50_ms
    2.0
    """
    t = np.asarray(times_ms, dtype=np.float64)
    p50 = float(np.percentile(t, 50))
    p99 = float(np.percentile(t, 99))
    return LatencyStats(runs=len(t), mean_ms=float(t.mean()), p50_ms=p50,
                        p90_ms=float(np.percentile(t, 90)), p99_ms=p99, min_ms=float(t.min()),
                        fps=1e3 / p50 if p50 > 0 else float("inf"),
                        noisy=bool(p99 > NOISY_P99_OVER_P50 * p50))
