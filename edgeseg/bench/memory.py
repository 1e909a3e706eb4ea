"""Host memory of this process from /proc/self/status (VmRSS, VmHWM), no psutil.

Linux lets a process reset its own high-water mark (``echo 5 > /proc/self/clear_refs``), so the
peak can be taken per benchmark variant; where that fails the peak is the process's since start
and ``peak_reset`` says so.

>>> parse_status("VmHWM:\\t  2048 kB\\nVmRSS:\\t  1024 kB\\n")
{'VmHWM': 2.0, 'VmRSS': 1.0}
>>> m = MemoryProbe(); _ = bytearray(1 << 20); r = m.read()
>>> sorted(r)
['gpu_mb', 'host_delta_mb', 'host_peak_mb', 'peak_reset']
"""

from __future__ import annotations

import re
import resource


def parse_status(text: str) -> dict:
    """``/proc/<pid>/status`` text -> {"VmHWM": MB, "VmRSS": MB} (the fields present)."""
    out = {}
    for key in ("VmHWM", "VmRSS"):
        m = re.search(rf"^{key}:\s*(\d+)\s*kB", text, re.MULTILINE)
        if m:
            out[key] = int(m.group(1)) / 1024.0
    return out


def read_status(path: str = "/proc/self/status") -> dict:
    try:
        with open(path) as f:
            return parse_status(f.read())
    except OSError:
        return {}


def reset_peak(path: str = "/proc/self/clear_refs") -> bool:
    """Reset VmHWM to the current RSS; False where the kernel does not allow it."""
    try:
        with open(path, "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class MemoryProbe:
    """Start it before loading a model; ``read()`` after the timed runs."""

    def __init__(self):
        self.peak_reset = reset_peak()
        self.start_mb = read_status().get("VmRSS")

    def read(self, gpu_mb: float | None = None) -> dict:
        status = read_status()
        # ru_maxrss is kB on Linux: the fallback when /proc is not there (not resettable).
        peak = status.get("VmHWM", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
        delta = peak - self.start_mb if self.start_mb is not None else None
        return {"host_peak_mb": round(peak, 1), "host_delta_mb": None if delta is None else round(delta, 1),
                "peak_reset": self.peak_reset, "gpu_mb": gpu_mb}
