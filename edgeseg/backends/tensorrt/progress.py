"""Progress while TensorRT builds (minutes on a Jetson).

TensorRT >= 10 reports phases through ``trt.IProgressMonitor`` (``phase_start``,
``step_complete``, ``phase_finish``; set on ``config.progress_monitor``). :class:`PhaseTracker`
holds the logic without TensorRT and feeds :class:`edgeseg.utils.progress.Progress`: one bar per
top-level phase, the innermost nested phase shown as its stats. Without a monitor,
:class:`ElapsedTicker` prints an elapsed-time line now and then.

>>> import io
>>> out = io.StringIO()
>>> t = PhaseTracker(file=out, log_every=0)
>>> t.phase_start("Building engine", None, 2)
>>> t.phase_start("Timing tactics", "Building engine", 3)
>>> t.step_complete("Timing tactics", 0)
True
>>> t.phase_finish("Timing tactics"); t.step_complete("Building engine", 0)
True
>>> t.phase_finish("Building engine")
>>> "Building engine" in out.getvalue(), t.active
(True, {})
"""

from __future__ import annotations

import threading
import time

from ...utils.progress import STDERR, Progress, format_seconds, resolve_stream


class PhaseTracker:
    """Thread-safe phase bookkeeping (TensorRT may call from its own threads)."""

    def __init__(self, file=STDERR, log_every: float = 10.0):
        self.file, self.log_every = resolve_stream(file), log_every
        self.active: dict = {}          # phase -> {"parent", "steps", "num", "bar"}
        self.cancelled = False
        self._lock = threading.Lock()

    def _root(self, phase):
        while phase in self.active and self.active[phase]["parent"] in self.active:
            phase = self.active[phase]["parent"]
        return phase

    def phase_start(self, phase_name, parent_phase, num_steps) -> None:
        with self._lock:
            entry = {"parent": parent_phase, "steps": 0, "num": int(num_steps), "bar": None}
            self.active[phase_name] = entry
            if parent_phase is None or parent_phase not in self.active:
                entry["bar"] = Progress(max(1, int(num_steps)), phase_name, file=self.file,
                                        unit=" steps", log_every=self.log_every)
            else:
                self._show_sub(phase_name)

    def _show_sub(self, phase_name) -> None:
        root = self.active.get(self._root(phase_name))
        e = self.active[phase_name]
        if root is not None and root["bar"] is not None:
            root["bar"].set_stats(phase=f"{phase_name} {e['steps']}/{e['num']}")
            root["bar"].update(0)

    def step_complete(self, phase_name, step) -> bool:
        with self._lock:
            e = self.active.get(phase_name)
            if e is not None:
                e["steps"] = int(step) + 1
                if e["bar"] is not None:
                    e["bar"].update(e["steps"] - e["bar"].n)
                else:
                    self._show_sub(phase_name)
            return not self.cancelled

    def phase_finish(self, phase_name) -> None:
        with self._lock:
            e = self.active.pop(phase_name, None)
            if e is not None and e["bar"] is not None:
                e["bar"].close()

    def cancel(self) -> None:
        """Ask TensorRT to stop at its next step (step_complete answers False)."""
        self.cancelled = True


def make_progress_monitor(trt, file=STDERR, log_every: float = 10.0):
    """A ``trt.IProgressMonitor`` delegating to a :class:`PhaseTracker`, or None where this
    TensorRT has no progress monitor. Keep it alive until the build ends (TensorRT holds a pointer)."""
    base = getattr(trt, "IProgressMonitor", None)
    if base is None:
        return None

    class _Monitor(base):
        def __init__(self):
            base.__init__(self)   # pybind11 trampolines need the base initialised explicitly
            self.tracker = PhaseTracker(file=file, log_every=log_every)

        def phase_start(self, phase_name, parent_phase, num_steps):
            try:
                self.tracker.phase_start(phase_name, parent_phase, num_steps)
            except KeyboardInterrupt:
                self.tracker.cancel()

        def step_complete(self, phase_name, step):
            try:
                return self.tracker.step_complete(phase_name, step)
            except KeyboardInterrupt:
                self.tracker.cancel()
                return False

        def phase_finish(self, phase_name):
            try:
                self.tracker.phase_finish(phase_name)
            except KeyboardInterrupt:
                self.tracker.cancel()

    return _Monitor()


class ElapsedTicker:
    """``with ElapsedTicker("building", file):`` prints "building... 01:20 elapsed" every ``every`` s."""

    def __init__(self, desc: str, file=STDERR, every: float = 15.0):
        self.desc, self.file, self.every = desc, resolve_stream(file), every
        self._stop = threading.Event()
        self._thread = None
        self.start = 0.0

    def _run(self):
        while not self._stop.wait(self.every):
            self._line()

    def _line(self):
        if self.file is not None:
            self.file.write(f"{self.desc}... {format_seconds(time.perf_counter() - self.start)} elapsed\n")
            self.file.flush()

    def __enter__(self):
        self.start = time.perf_counter()
        if self.file is not None:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
