"""Result sinks named by URI, from one table: video file, display, HTTP preview, mask PNGs, callback, null.

A sink gets ``start(fps, stats)`` once, ``write(result)`` per frame (``result.image`` is the
rendered BGR overlay, ``result.labels`` the class ids, ``result.frame`` the captured
:class:`~edgeseg.runtime.sources.Frame`) and ``close()``. :class:`SinkSet` drives several at
once: a sink that raises is counted and logged once per kind, and the others keep going (until
every one keeps failing: then it raises, and the stream stops). What
a sink may be asked for (JPEG quality, video codec and frame rate) is one
:class:`~edgeseg.runtime.options.SinkOptions`, handed to every sink opened by URI.

>>> normalize_sink("out.mp4"), normalize_sink("masks/"), sink_class("null://").__name__
('file://out.mp4', 'masks://masks/', 'NullSink')
>>> got = []
>>> sinks = SinkSet([got.append, "null://"], log=None)
>>> sinks.start(30.0); sinks.write("r"); sinks.close(); got
['r']
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile

import cv2

from ..errors import ConfigError, DataError, EdgesegError
from ..uri import normalize_sink, parse_host_port, split_uri, unknown_scheme
from ..utils.atomic import atomic_path
from .options import DEFAULT_CODECS, SinkOptions
from .sink_base import Sink, SinkError, check_sink_options


class NullSink(Sink):
    scheme = "null"

    def write(self, result) -> None:
        pass


class CallbackSink(Sink):
    """Calls a Python function with each result: ``Stream(src, seg, sink=my_fn)``."""

    scheme = "callback"

    def __init__(self, fn, log=print):
        super().__init__(getattr(fn, "__name__", repr(fn)), log)
        self.fn = fn

    def write(self, result) -> None:
        self.fn(result)


class FileSink(Sink):
    """A video file, written to a temp file and renamed on close, so an interrupted run never
    leaves a truncated video under the final name. Its codec and frame rate come from the
    options; unset, the container's default codec (``FOURCC``) and the source's frame rate.
    Its folder is made and tried when the sink is built, not at the first frame."""

    scheme = "file"
    FOURCC = DEFAULT_CODECS

    def __init__(self, uri: str, log=print, options: SinkOptions | None = None):
        super().__init__(uri, log, options)
        self.path = split_uri(uri)[1]
        self.suffix = os.path.splitext(self.path)[1].lower()
        if self.suffix not in self.FOURCC:
            raise ConfigError("unsupported video file type for a sink", path=self.path,
                              expected=" | ".join(self.FOURCC), got=self.suffix or "(no suffix)")
        self.codec = self.options.codec_for(self.suffix)
        self._writer = None
        self._atomic = contextlib.ExitStack()
        self.frames = 0
        self._check_writable()

    def _check_writable(self) -> None:
        """Make the folder and write a probe file in it now: the writer opens at the first frame,
        and a folder it cannot write would otherwise fail every frame after the model is loaded."""
        if os.path.isdir(self.path):
            raise SinkError("cannot write the video file: a folder has its name", path=self.path,
                            fix="name a file inside it, e.g. file://" + os.path.join(self.path, "out" + self.suffix))
        folder = os.path.dirname(os.path.abspath(self.path))
        base = os.path.basename(self.path)
        try:
            os.makedirs(folder, exist_ok=True)
            # named like atomic_path's temp files, so a run killed right here leaves nothing for good
            fd, probe = tempfile.mkstemp(prefix=f".{base}.pid{os.getpid()}.", suffix=".tmp.probe", dir=folder)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise SinkError("cannot write the video file in its folder", path=self.path,
                            got=f"{type(exc).__name__}: {exc.strerror or exc} ({folder})",
                            fix="write the video into a folder you can create files in") from None

    def start(self, fps: float, stats=None) -> None:
        super().start(self.options.fps or fps, stats)

    def _open(self, image) -> None:
        try:
            tmp = self._atomic.enter_context(atomic_path(self.path, suffix=self.suffix))
        except OSError as exc:  # the folder went away or filled up since the sink was opened
            raise SinkError("cannot create the video file", path=self.path,
                            got=f"{type(exc).__name__}: {exc.strerror or exc}",
                            fix="check the folder still exists and has free space") from None
        h, w = image.shape[:2]
        self.size = (w, h)
        self._writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*self.codec), self.fps, self.size)
        if not self._writer.isOpened():
            self._writer = None
            err = self._open_error()
            self._atomic.__exit__(type(err), err, None)  # no empty file left under the final name
            raise err
        if self.log:
            self.log(f"sink file: {self.path} ({h}x{w} at {self.fps:g} fps, {self.codec})")

    def _open_error(self) -> SinkError:
        if self.options.codec is None:
            return SinkError("OpenCV cannot open a video writer", path=self.path,
                             fix="pip install opencv-python (its wheels include FFmpeg)")
        return SinkError("the codec option conflicts with the file's container", path=self.path,
                         expected=f"a codec OpenCV's FFmpeg writes into {self.suffix} "
                                  f"(its default: {self.FOURCC[self.suffix]})",
                         got=f"codec={self.codec!r} for a {self.suffix} file",
                         fix=f"drop the codec (--codec) for {self.FOURCC[self.suffix]}, or write another "
                             f"container ({', '.join(f'{k}: {v}' for k, v in self.FOURCC.items())})")

    def write(self, result) -> None:
        image = result.image
        if self._writer is None:
            self._open(image)
        if (image.shape[1], image.shape[0]) != self.size:  # a writer takes one size only
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        self._writer.write(image)
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        self._atomic.close()  # fsync + rename the temp file into place


class MasksSink(Sink):
    """One PNG of class ids per frame, ``DIR/000042.png`` by frame index."""

    scheme = "masks"

    def __init__(self, uri: str, log=print, options: SinkOptions | None = None):
        super().__init__(uri, log, options)
        self.folder = split_uri(uri)[1]
        os.makedirs(self.folder, exist_ok=True)

    def write(self, result) -> None:
        path = os.path.join(self.folder, f"{result.frame.index:06d}.png")
        with atomic_path(path, suffix=".png") as tmp:
            if not cv2.imwrite(tmp, result.labels):
                raise DataError("cannot write mask PNG", path=path, fix="check the folder and free space")


class DisplaySink(Sink):
    """An OpenCV window (``display://``); a clear error on a machine without a display."""

    scheme = "display"

    def start(self, fps: float, stats=None) -> None:
        super().start(fps, stats)
        if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise SinkError("display:// needs a display, and none is set", got="DISPLAY and WAYLAND_DISPLAY unset",
                            fix="run on the desktop (or ssh -X), or preview in a browser with "
                                "--sink http://127.0.0.1:8080")
        self.window = split_uri(self.uri)[1] or "edgeseg"

    def write(self, result) -> None:
        try:
            cv2.imshow(self.window, result.image)
            cv2.waitKey(1)
        except cv2.error as exc:
            raise SinkError("OpenCV cannot open a window", got=str(exc).strip()[-200:],
                            fix="opencv-python-headless has no GUI: install opencv-python, or use "
                                "--sink http://127.0.0.1:8080") from None

    def close(self) -> None:
        with contextlib.suppress(cv2.error):
            cv2.destroyWindow(self.window)


def _http_sink(uri: str, log=print, options: SinkOptions | None = None):
    parse_host_port(uri, default_port=8080, what="http:// preview sink")  # before urllib's bare ValueError
    from .preview import PreviewSink  # the HTTP server only when asked for
    return PreviewSink(uri, log=log, options=options)


# scheme -> factory(uri, log=, options=): the ONE place a sink URI picks an implementation.
SINKS = {"file": FileSink, "null": NullSink, "display": DisplaySink, "masks": MasksSink, "http": _http_sink}


def sink_class(uri: str):
    scheme = split_uri(normalize_sink(uri))[0]
    if scheme not in SINKS:
        raise unknown_scheme("sinks", scheme, SINKS)
    return SINKS[scheme]


def open_sink(target, options: SinkOptions | None = None, log=print) -> Sink:
    """A Sink from a URI (given ``options``, default :class:`SinkOptions`), a callable, or a Sink
    (returned as it is: it keeps the options it was built with).

    >>> open_sink("out.avi", SinkOptions(codec="XVID", fps=10), log=None).codec
    'XVID'
    """
    options = check_sink_options(options)
    if isinstance(target, Sink):
        return target
    if callable(target):
        return CallbackSink(target, log)
    uri = normalize_sink(str(target))
    return sink_class(uri)(uri, log=log, options=options)


class SinkSet:
    """Several sinks as one; failures are counted per kind and logged once per kind. ``options``
    reach every sink opened here by URI.

    A sink that fails is tried again with the next frame (a client may come back, a disk may be
    freed); once every sink has failed ``FAIL_AFTER`` writes in a row, nothing the stream makes
    can reach anyone, and ``write`` raises a SinkError naming each sink and its last error.
    """

    FAIL_AFTER = 10  # a few frames of a hiccup are not an outage

    def __init__(self, targets, log=print, on_error=None, options: SinkOptions | None = None):
        if targets is None or isinstance(targets, (str, Sink)) or callable(targets):
            targets = [targets] if targets is not None else ["null://"]
        self.log, self.on_error = log, on_error
        self.options = check_sink_options(options)
        self.sinks = [open_sink(t, self.options, log=log) for t in targets]
        self.errors: dict[str, int] = {}
        self._in_a_row = [0] * len(self.sinks)
        self._last_error: list[Exception | None] = [None] * len(self.sinks)

    def start(self, fps: float, stats=None) -> None:
        for s in self.sinks:
            s.start(fps, stats)

    def write(self, result) -> None:
        for i, s in enumerate(self.sinks):
            try:
                s.write(result)
                self._in_a_row[i] = 0
            except Exception as exc:  # noqa: BLE001  a sink must never stop capture
                self._in_a_row[i] += 1
                self._last_error[i] = exc
                self._failed(s, exc)
        if self.sinks and min(self._in_a_row) >= self.FAIL_AFTER:
            raise SinkError("every sink has failed", expected=f"at least one sink that takes frames (a sink counts "
                            f"as failed after {self.FAIL_AFTER} failed writes in a row)",
                            got="; ".join(f"{s.kind}: {_describe(e)}" for s, e in zip(self.sinks, self._last_error)),
                            fix="fix the sink named above (path, folder, codec, network), or add one that works")

    def _failed(self, sink: Sink, exc: Exception) -> None:
        first = sink.kind not in self.errors
        self.errors[sink.kind] = self.errors.get(sink.kind, 0) + 1
        if self.on_error:
            self.on_error(sink, exc)
        if first and self.log:
            others = "; the stream goes on with the other sinks" if len(self.sinks) > 1 else ""
            self.log(f"sink {sink.kind} failed ({_describe(exc)}); further errors of this sink are only "
                     f"counted{others}")

    def close(self) -> None:
        """Close every sink; one that cannot (a video that cannot be renamed into place) is an
        error after the others are closed, since its output is lost."""
        lost = []
        for s in self.sinks:
            try:
                s.close()
            except Exception as exc:  # noqa: BLE001  close the others regardless
                self._failed(s, exc)
                lost.append(f"{s.kind}: {_describe(exc)}")
        if lost:
            raise SinkError("a sink could not be closed: its output is lost", got="; ".join(lost),
                            fix="check the folder and free space")

    def __iter__(self):
        return iter(self.sinks)


def _describe(exc: BaseException) -> str:
    """One line for an error: an EdgesegError's first line, else its type and message."""
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return text if isinstance(exc, EdgesegError) else f"{type(exc).__name__}: {text}"
