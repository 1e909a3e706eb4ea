"""Stream statistics: per-stage latency percentiles, end-to-end latency, FPS and fault counters.

Stages record milliseconds into bounded windows (recent frames), counters only grow; one lock
keeps the snapshot consistent while the preview page reads it from another thread. Per-frame
values that are not times (with motion: frames carried, fraction warped) are ``observe``d into
windows of their own. ``fps`` is the output's rate, ``network_fps`` the network's (the same
without motion; with it, output follows the camera while the network runs at its own pace).

>>> s = StreamStats()
>>> for ms in (10, 20, 30):
...     s.record("infer", ms)
>>> s.count("frames_out")
>>> snap = s.snapshot()
>>> snap["stages"]["infer"]["p50_ms"], snap["frames_out"]
(20.0, 1)
>>> s.observe("carried", 2); s.observe("carried", 4); s.snapshot()["values"]["carried"]["max"]
4.0
"""

from __future__ import annotations

import collections
import threading
import time

import numpy as np

# frames_read: what the source delivered; frames_skipped: what it could not decode (also counted
# in bad_frames, with the frames preprocessing refused); frames_in: what entered the pipeline
# frames_inferred: what the network ran on; flow_errors: output frames whose flow failed (shown unwarped)
COUNTERS = ("frames_read", "frames_skipped", "frames_in", "frames_out", "dropped", "bad_frames", "reconnects",
            "sink_errors", "frames_inferred", "flow_errors")
RATES = {"frames_out": "fps", "frames_inferred": "network_fps"}  # counter -> the rate the snapshot gives


class StreamStats:
    """Thread-safe counters and latency windows of one stream."""

    def __init__(self, window: int = 600):
        self._lock = threading.Lock()
        self._lat: dict[str, collections.deque] = {}
        self._val: dict[str, collections.deque] = {}
        self._counts = dict.fromkeys(COUNTERS, 0)
        # when each output / network frame was done, for the recent rates
        self._done = {name: collections.deque(maxlen=window) for name in RATES}
        self.window = window
        self.start = time.monotonic()
        self.end: float | None = None
        self.info: dict = {}

    def record(self, stage: str, ms: float) -> None:
        with self._lock:
            if stage not in self._lat:
                self._lat[stage] = collections.deque(maxlen=self.window)
            self._lat[stage].append(float(ms))

    def observe(self, name: str, value: float) -> None:
        """A per-frame value that is not a time (frames carried, fraction warped)."""
        with self._lock:
            if name not in self._val:
                self._val[name] = collections.deque(maxlen=self.window)
            self._val[name].append(float(value))

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + n
            if name in self._done:
                self._done[name].append(time.monotonic())

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
        """A JSON-ready dict: counters, output and network fps (overall and recent), per-stage
        p50/p99/mean in ms, and the observed per-frame values (p50/mean/max)."""
        with self._lock:
            now = self.end or time.monotonic()
            elapsed = max(now - self.start, 1e-9)
            rates = {}
            for counter, key in RATES.items():
                done = self._done[counter]
                recent = (len(done) - 1) / (done[-1] - done[0]) if len(done) > 1 and done[-1] > done[0] else 0.0
                rates[key], rates[key + "_recent"] = round(self._counts[counter] / elapsed, 3), round(recent, 3)
            per_frame = {name: {"p50": round(float(np.percentile(a, 50)), 4), "mean": round(float(a.mean()), 4),
                             "max": round(float(a.max()), 4), "n": len(a)}
                      for name, a in ((n, np.fromiter(v, float)) for n, v in self._val.items() if v)}
            stages = {}
            for name, values in self._lat.items():
                if values:
                    a = np.fromiter(values, float)
                    stages[name] = {"p50_ms": round(float(np.percentile(a, 50)), 3),
                                    "p99_ms": round(float(np.percentile(a, 99)), 3),
                                    "mean_ms": round(float(a.mean()), 3), "n": len(a)}
            return {**self._counts, "elapsed_s": round(elapsed, 3), **rates, "stages": stages,
                    **({"values": per_frame} if per_frame else {}), **self.info}

    def line(self) -> str:
        """One log line: fps (with motion: output and network), end-to-end and inference
        latency, faults."""
        s = self.snapshot()
        e2e, inf = s["stages"].get("e2e", {}), s["stages"].get("infer", {})
        motion = ""
        if "motion" in s:
            carried, warped = s.get("values", {}).get("carried", {}), s.get("values", {}).get("warped", {})
            motion = (f" (network {s['network_fps']:.1f} fps, carried p50 {carried.get('p50', 0):g} frames, "
                      f"{100 * warped.get('mean', 0):.0f}% warped, flow errors {s['flow_errors']})")
        return (f"stream: {s['frames_out']} frames {s['fps']:.1f} fps{motion} | e2e p50 {e2e.get('p50_ms', 0):.1f} "
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
