"""The base of every frame source: :class:`Frame` and :class:`Source` (its options are
:class:`~edgeseg.runtime.options.SourceOptions`).

A subclass fills in ``_open``, ``_read`` -> (image, pts, gt) and ``_close``; the base class
prints the effective options on open, and for a ``live`` source runs the grabber thread that
keeps only the newest frame (or queues every one, for policy ``all``). A recording played as a
camera (``paced``: ``?live=1`` or ``SourceOptions(realtime=True)``) is live too, its grabber
holding each frame until its time comes: the first frame at once, then each at its ``pts``
after it on the monotonic clock.

>>> class Black(Source):
...     def _read(self):
...         return np.zeros((2, 2, 3), np.uint8), None, None
>>> with Black("black://", SourceOptions(log=None)).open() as src:
...     [f.index for f in (src.capture(), src.capture())]
[0, 1]
"""

from __future__ import annotations

import collections
import os
import queue
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl

import numpy as np

from ..errors import ConfigError, DataError, EdgesegError
from ..uri import did_you_mean
from .options import SourceOptions

_FLAGS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def flag(params: dict, name: str, uri: str) -> bool | None:
    """A ``?name=1|0`` (true/false, yes/no, on/off) URI option as a bool; None when absent.

    >>> flag({"live": "1"}, "live", "file://a.mp4?live=1"), flag({}, "live", "file://a.mp4")
    (True, None)
    """
    if name not in params:
        return None
    value = _FLAGS.get(str(params[name]).strip().lower())
    if value is None:
        raise ConfigError(f"cannot read {name}= in the source URI", path=uri, expected="1 or 0 (true / false)",
                          got=repr(params[name]), fix=f"{name}=1 or {name}=0")
    return value


def path_and_query(rest: str, known: tuple[str, ...], uri: str) -> tuple[str, dict]:
    """A path URI's rest (``clip.mp4?live=1``) -> (path, its ``?key=value`` options); a path that
    exists as written keeps its ``?``. Options not in ``known`` are a ConfigError with a did-you-mean.

    >>> path_and_query("clip.mp4?live=1", ("live",), "file://clip.mp4?live=1")
    ('clip.mp4', {'live': '1'})
    """
    path, sep, query = rest.partition("?")
    if not sep or os.path.exists(rest):
        return rest, {}
    params = dict(parse_qsl(query, keep_blank_values=True))
    for key in params:
        if key not in known:
            raise ConfigError("unknown option in the source URI", path=uri, got=key,
                              expected=" | ".join(f"{k}=" for k in known),
                              fix=did_you_mean(key, known) or f"drop ?{key}= (a path with a '?' in its name: "
                                                              "rename the file)")
    return path, params


class EndOfStream(EdgesegError):
    """The source has no more frames (end of file or folder); not an error."""


class SourceError(DataError):
    """The source failed (camera unplugged, stream lost, cannot open); a stream may reconnect."""


@dataclass
class Frame:
    """One captured frame: ``timestamp`` is ``time.monotonic()`` at capture, ``pts`` the
    source's own presentation time in seconds (None if it has none), ``gt`` a mask if known."""

    image: np.ndarray
    index: int
    timestamp: float
    pts: float | None = None
    gt: np.ndarray | None = None


class Source:
    """Base of all sources: subclasses fill in ``_open``, ``_read`` -> (image, pts, gt), ``_close``.

    A ``live`` source runs a grabber thread from ``open`` to ``close``; ``keep`` says whether it
    keeps only the newest frame (``"latest"``, the default) or queues them (``"all"``).
    """

    scheme = ""
    live = False
    paced = False  # a recording played as a camera: its grabber holds each frame until its time
    SKIPS_KEPT = 20

    def __init__(self, uri: str, options: SourceOptions | None = None):
        options = options or SourceOptions()
        self.uri, self.options = uri, options
        self.fps = float(options.fps or 30.0)
        self.keep = "latest"
        self.dropped = 0  # frames a live source overwrote before anyone took them
        self.frames_read = 0  # frames the source delivered (a live one's dropped ones included)
        self.skipped = 0  # frames it could not decode and passed over (their indices are left out)
        self.skipped_at: list[str] = []  # the first SKIPS_KEPT of them: "28", "31-33", "2 (1b.png: ...)"
        self.total: int | None = None  # the frames a file or folder says it holds, where it says
        self.period: float | None = None  # a live source's measured seconds between frames
        self._index = 0
        self._thread = None
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._slot: collections.deque = collections.deque(maxlen=1)
        self._queue: queue.Queue | None = None
        self._error: BaseException | None = None
        self._is_open = False

    # -- subclass hooks ---------------------------------------------------------------------
    def _open(self) -> None:
        pass

    def _read(self):
        raise NotImplementedError

    def _close(self) -> None:
        pass

    def check(self) -> None:
        """Cheap checks a stream runs before it loads the model (a file that is not there, is
        empty or will not open); ``open`` runs them again."""

    def effective(self) -> dict:
        """The options in force after opening (printed by ``open``)."""
        return {"fps": round(self.fps, 3), "live": self.live, **({"realtime": True} if self.paced else {})}

    def _play_live(self, live: bool | None) -> None:
        """Play this recording as a camera when the URI says ``live=1`` or the options ``realtime``."""
        if live is False and self.options.realtime:
            raise ConfigError("the URI's live=0 conflicts with SourceOptions.realtime=True", path=self.uri,
                              expected="one of the two", got="live=0 and realtime=True",
                              fix="drop live=0 to play it as a camera, or realtime to read it as a file")
        if live or self.options.realtime:
            self.live = self.paced = True

    # -- public -----------------------------------------------------------------------------
    def open(self, keep: str | None = None) -> Source:
        if keep is not None:
            if keep not in ("latest", "all"):
                raise ConfigError("unknown keep policy", expected="latest | all", got=keep)
            self.keep = keep
        self._open()
        self._is_open = True
        if self.options.log:
            opts = ", ".join(f"{k}={v}" for k, v in self.effective().items())
            self.options.log(f"source {self.scheme}: {self.uri} ({opts})")
        if self.live:
            self._stop.clear()
            self._error = None
            self._slot.clear()
            self._queue = queue.Queue(self.options.queue) if self.keep == "all" else None
            self._thread = threading.Thread(target=self._grab, name=f"grab-{self.scheme}", daemon=True)
            self._thread.start()
        return self

    def capture(self, timeout: float | None = None, after: int | None = None) -> Frame | None:
        """The next frame (the newest one for a live source); None on timeout.

        ``after``: a live source waits for a frame newer than that index (the stream's way of
        passing over a frame that is about to be replaced).
        """
        if not self._is_open:
            raise SourceError("the source is closed", path=self.uri, fix="open() it first")
        if not self.live:
            return self._frame(*self._read())
        timeout = self.options.timeout_s if timeout is None else timeout
        if self._queue is not None:
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                return self._raise_error()
            if isinstance(item, BaseException):  # the grabber's end or failure, after its frames
                raise item
            return item

        def fresh():
            return bool(self._slot) and (after is None or self._slot[0].index > after)

        with self._cond:
            self._cond.wait_for(lambda: fresh() or self._error is not None, timeout)
            if fresh():
                return self._slot.pop()
        return self._raise_error()

    def newest(self) -> Frame | None:
        """A live source's newest frame, left in place (None if none is waiting)."""
        with self._cond:
            return self._slot[0] if self._slot else None

    def close(self) -> None:
        self._is_open = False
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._cond:  # a frame left in the slot was delivered by the camera and taken by no one
            self.dropped += len(self._slot)
            self._slot.clear()
        self._close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __iter__(self):
        """Frames until the end (timeouts skipped): ``for f in open_source(uri): ...``."""
        while True:
            try:
                f = self.capture()
            except EndOfStream:
                return
            if f is not None:
                yield f

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.uri}>"

    # -- internals --------------------------------------------------------------------------
    def _frame(self, image, pts, gt=None) -> Frame:
        f = Frame(image, self._index, time.monotonic(), pts, gt)
        self._index += 1
        self.frames_read += 1
        return f

    def _skip(self, first: int, count: int = 1, why: str = "", say: bool = True) -> None:
        """Count frames ``first`` .. ``first + count - 1`` as undecodable; the first time, say so
        (unless ``say`` is False: the caller says it its own way)."""
        self.skipped += count
        label = str(first) if count == 1 else f"{first}-{first + count - 1}"
        label += f" ({why})" if why else ""
        if len(self.skipped_at) < self.SKIPS_KEPT:
            self.skipped_at.append(label)
        if say and self.skipped == count and self.options.log:
            frames = "frame" if count == 1 else "frames"
            self.options.log(f"source {self.scheme}: {frames} {label} could not be decoded; reading on "
                             "(further ones are counted)")

    def _raise_error(self):
        if self._error is not None:
            raise self._error

    def _grab(self) -> None:
        """Grabber thread: read as fast as the device delivers; keep the newest (or queue all)."""
        last = clock = None
        while not self._stop.is_set():
            try:
                frame = self._frame(*self._read())
                if self.paced:
                    clock, on_time = self._hold(frame, clock)
                    if self._stop.is_set():
                        return
                    if not on_time:
                        with self._cond:
                            self.dropped += 1
                        continue
                if last is not None:  # cameras drift from their nominal rate: measure it
                    # per frame: a source that fell behind and passed frames over made them all the same
                    gap = (frame.timestamp - last[0]) / max(1, frame.index - last[1])
                    self.period = gap if self.period is None else self.period + 0.1 * (gap - self.period)
                last = frame.timestamp, frame.index
            except BaseException as exc:  # noqa: BLE001  handed to the consumer, who decides (reconnect or end)
                with self._cond:
                    self._error = exc
                    self._cond.notify_all()
                if self._queue is not None:
                    self._enqueue(exc)
                return
            if self._queue is not None:
                self._enqueue(frame)
                continue
            with self._cond:
                self.dropped += len(self._slot)
                self._slot.append(frame)
                self._cond.notify_all()

    def _hold(self, frame: Frame, clock: tuple | None) -> tuple[tuple, bool]:
        """A paced source: wait until the frame is due (its pts after the first frame's, on the
        monotonic clock from when that one was read), stamp it then. False: it is more than a
        period late, so (keeping the newest) it is dropped as a camera's would be, the next being due."""
        pts = frame.pts if frame.pts is not None else frame.index / self.fps
        now = time.monotonic()
        if clock is None:
            clock = (now, pts)
        due = clock[0] + pts - clock[1]
        if due > now:
            self._stop.wait(due - now)
        elif self.keep == "latest" and now - due > 1.0 / self.fps:
            return clock, False
        frame.timestamp = time.monotonic()
        return clock, True

    def _enqueue(self, item) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
