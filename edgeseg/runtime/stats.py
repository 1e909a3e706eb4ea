"""Stream statistics: per-stage latency percentiles, end-to-end latency, FPS and fault counters.

Stages record milliseconds into bounded windows (recent frames), counters only grow; one lock
keeps the snapshot consistent while the preview page reads it from another thread.

>>> s = StreamStats()
>>> for ms in (10, 20, 30):
...     s.record("infer", ms)
>>> s.count("frames_out")
>>> snap = s.snapshot()
>>> snap["stages"]["infer"]["p50_ms"], snap["frames_out"]
(20.0, 1)
"""

from __future__ import annotations

import collections
import threading
import time

import numpy as np

# frames_read: what the source delivered; frames_skipped: what it could not decode (also counted
# in bad_frames, with the frames preprocessing refused); frames_in: what entered the pipeline
COUNTERS = ("frames_read", "frames_skipped", "frames_in", "frames_out", "dropped", "bad_frames", "reconnects",
            "sink_errors")


class StreamStats:
    """Thread-safe counters and latency windows of one stream."""

    def __init__(self, window: int = 600):
        self._lock = threading.Lock()
        self._lat: dict[str, collections.deque] = {}
        self._counts = dict.fromkeys(COUNTERS, 0)
        self._done: collections.deque = collections.deque(maxlen=window)  # sink times, for recent FPS
        self.window = window
        self.start = time.monotonic()
        self.end: float | None = None
        self.info: dict = {}

    def record(self, stage: str, ms: float) -> None:
        with self._lock:
            if stage not in self._lat:
                self._lat[stage] = collections.deque(maxlen=self.window)
            self._lat[stage].append(float(ms))

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + n
            if name == "frames_out":
                self._done.append(time.monotonic())

    def set(self, name: str, value: int) -> None:
        with self._lock:
            self._counts[name] = value

    def get(self, name: str) -> int:
        with self._lock:
            return self._counts.get(name, 0)

    def latencies(self, stage: str) -> list[float]:
        with self._lock:
            return list(self._lat.get(stage, ()))

    def snapshot(self) -> dict:
        """A JSON-ready dict: counters, fps (overall and recent), per-stage p50/p99/mean in ms."""
        with self._lock:
            now = self.end or time.monotonic()
            elapsed = max(now - self.start, 1e-9)
            done = list(self._done)
            stages = {}
            for name, values in self._lat.items():
                if values:
                    a = np.fromiter(values, float)
                    stages[name] = {"p50_ms": round(float(np.percentile(a, 50)), 3),
                                    "p99_ms": round(float(np.percentile(a, 99)), 3),
                                    "mean_ms": round(float(a.mean()), 3), "n": len(a)}
            recent = (len(done) - 1) / (done[-1] - done[0]) if len(done) > 1 and done[-1] > done[0] else 0.0
            return {**self._counts, "elapsed_s": round(elapsed, 3),
                    "fps": round(self._counts["frames_out"] / elapsed, 3), "fps_recent": round(recent, 3),
                    "stages": stages, **self.info}

    def line(self) -> str:
        """One log line: fps, end-to-end and inference latency, faults."""
        s = self.snapshot()
        e2e, inf = s["stages"].get("e2e", {}), s["stages"].get("infer", {})
        return (f"stream: {s['frames_out']} frames {s['fps']:.1f} fps | e2e p50 {e2e.get('p50_ms', 0):.1f} "
                f"p99 {e2e.get('p99_ms', 0):.1f} ms | infer p50 {inf.get('p50_ms', 0):.1f} ms | dropped "
                f"{s['dropped']} bad {s['bad_frames']} reconnects {s['reconnects']} sink errors {s['sink_errors']}")

    def source_line(self) -> str | None:
        """What came in against what the source holds: read, skipped (with where), written;
        None for a source that states no length and skipped nothing. Where read and skipped do
        not add up to the stated length (a container's estimated count, a stream stopped early),
        the stated and decoded counts are given side by side, not as lost frames."""
        s = self.snapshot()
        total, skipped, got = s.get("frames_total"), s["frames_skipped"], s["frames_read"]
        if total is None and not skipped:
            return None
        if total is None:
            read = f"{got} frames read"
        elif got + skipped == total:
            read = f"{got} of {total} frames read"
        else:
            read = f"the container states {total} frames, {got} decoded"
        where = s.get("skipped_at") or []
        detail = f" (could not be decoded: {', '.join(where[:5])}{', ...' if len(where) > 5 else ''})" \
            if skipped else ""
        errors = s["sink_errors"]
        out = f"{s['frames_out']} written" if not errors else f"{s['frames_out']} sent to the sinks ({errors} sink errors)"
        return f"source: {read}, {skipped} skipped{detail}; {out}"

    def table(self) -> str:
        """The final report: the stats line, the source's account of its frames, one row per stage."""
        s = self.snapshot()
        rows = [self.line(), *filter(None, [self.source_line()]),
                f"{'stage':<12} {'p50 ms':>9} {'p99 ms':>9} {'mean ms':>9} {'n':>7}"]
        for name, v in s["stages"].items():
            rows.append(f"{name:<12} {v['p50_ms']:>9.2f} {v['p99_ms']:>9.2f} {v['mean_ms']:>9.2f} {v['n']:>7}")
        return "\n".join(rows)
