"""A dependency-free progress bar with rate and ETA, for every long step.

On a terminal it redraws one line; in a log (CI, a file) it prints a line every
``log_every`` seconds so progress is visible without flooding.

>>> with Progress(3, "demo", file=None) as bar:
...     for _ in range(3):
...         bar.update(1, loss=0.5)
>>> bar.n
3
"""

from __future__ import annotations

import sys
import time


# Default for every ``file=`` of a long step: the process's stderr *at the time of the call*.
# A default of ``sys.stderr`` would bind the stream object at import time, and a stream that a
# test harness or a daemon later replaces (and closes) would then raise on every progress line.
STDERR = "stderr"


def resolve_stream(file):
    """``STDERR`` -> the current ``sys.stderr``; a stream or None as given."""
    return sys.stderr if file == STDERR else file


def format_seconds(s: float) -> str:
    if s != s or s == float("inf"):
        return "?"
    s = int(round(s))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"


class Progress:
    """``Progress(total, desc)``; ``update(n, **stats)``; ``close()``. ``file=None`` is silent."""

    def __init__(self, total: int | None, desc: str = "", file=STDERR, unit: str = "it",
                 log_every: float = 10.0, width: int = 24, initial: int = 0):
        file = resolve_stream(file)
        self.total, self.desc, self.file, self.unit = total, desc, file, unit
        self.width, self.log_every = width, log_every
        # ``initial``: work already done (a resumed run) that must not inflate the rate.
        self.n = self.initial = initial
        self.stats: dict = {}
        self.start = time.perf_counter()
        self._last_draw = 0.0
        self._tty = bool(file is not None and getattr(file, "isatty", lambda: False)())

    def update(self, n: int = 1, **stats) -> None:
        self.n += n
        self.stats.update(stats)
        now = time.perf_counter()
        interval = 0.2 if self._tty else self.log_every
        if now - self._last_draw >= interval or (self.total and self.n >= self.total):
            self._last_draw = now
            self._draw(final=False)

    def set_stats(self, **stats) -> None:
        self.stats.update(stats)

    def line(self) -> str:
        elapsed = time.perf_counter() - self.start
        rate = (self.n - self.initial) / elapsed if elapsed > 0 else 0.0
        stats = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                         for k, v in self.stats.items())
        if self.total:
            frac = min(1.0, self.n / self.total)
            filled = int(frac * self.width)
            bar = "#" * filled + "-" * (self.width - filled)
            eta = (self.total - self.n) / rate if rate > 0 else float("inf")
            return (f"{self.desc} [{bar}] {self.n}/{self.total} {100 * frac:3.0f}% "
                    f"{rate:.2f}{self.unit}/s elapsed {format_seconds(elapsed)} "
                    f"eta {format_seconds(eta)} {stats}").rstrip()
        return f"{self.desc} {self.n}{self.unit} {rate:.2f}{self.unit}/s {format_seconds(elapsed)} {stats}".rstrip()

    def _draw(self, final: bool) -> None:
        if self.file is None:
            return
        text = self.line()
        if self._tty:
            self.file.write("\r\x1b[2K" + text + ("\n" if final else ""))
        else:
            self.file.write(text + "\n")
        self.file.flush()

    def close(self) -> None:
        if self.file is not None and (self._tty or self.n != getattr(self, "_closed_at", -1)):
            self._draw(final=True)
        self._closed_at = self.n
        self.file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
