"""Frame sources named by URI, from ONE table: files, image folders, V4L2, CSI, RTSP, GStreamer, synthetic.

``open_source(uri)`` normalises shorthand the way jetson-utils does (``0`` and ``/dev/video0``
-> ``v4l2:///dev/video0``, a bare folder -> ``images://``, a bare file -> ``file://``), opens it
and prints the effective options. ``capture(timeout)`` returns a :class:`Frame`, ``None`` on a
timeout, and raises :class:`EndOfStream` at the end or :class:`SourceError` on failure, so a
loop needs no special cases. Live sources keep only the newest frame: a grabber thread
overwrites one slot, because OpenCV's own capture queue otherwise hands out stale frames.

>>> normalize_uri("0"), normalize_uri("/dev/video1"), normalize_uri("csi://0")
('v4l2:///dev/video0', 'v4l2:///dev/video1', 'csi://0')
>>> with open_source("synthetic://?size=48x64&fps=10&frames=2&live=0", log=None) as src:
...     f = src.capture()
...     (f.index, f.image.shape, f.gt.shape, f.pts)
(0, (48, 64, 3), (48, 64), 0.0)
"""

from __future__ import annotations

import collections
import glob
import os
import queue
import threading
import time
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import ConfigError, DataError, EdgesegError
from .uri import parse_size, query_params, split_uri, unknown_scheme


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


@dataclass(frozen=True)
class SourceOptions:
    """What a source may be asked for; ``None`` keeps the device's own setting.

    ``latency_ms``: RTSP jitter buffer; ``transport``: RTSP over tcp or udp; ``timeout_s``: how
    long ``capture`` waits on a live source; ``queue``: frames a live source buffers when every
    frame must be kept (policy ``all``); ``log``: a print-like callable or None.
    """

    width: int | None = None
    height: int | None = None
    fps: float | None = None
    latency_ms: int = 200
    transport: str = "tcp"
    timeout_s: float = 1.0
    queue: int = 8
    log: object = print

    def __post_init__(self):
        if self.transport not in ("tcp", "udp"):
            raise ConfigError("unknown RTSP transport", expected="tcp | udp", got=self.transport)
        if self.latency_ms < 0 or self.timeout_s <= 0 or self.queue < 1:
            raise ConfigError("source options out of range",
                              got=f"latency_ms={self.latency_ms}, timeout_s={self.timeout_s}, queue={self.queue}",
                              expected="latency_ms >= 0, timeout_s > 0, queue >= 1")


def has_gstreamer() -> bool:
    """Whether this OpenCV build can open GStreamer pipelines."""
    info = cv2.getBuildInformation()
    return any("GStreamer" in line and "YES" in line for line in info.splitlines())


class Source:
    """Base of all sources: subclasses fill in ``_open``, ``_read`` -> (image, pts, gt), ``_close``.

    A ``live`` source runs a grabber thread from ``open`` to ``close``; ``keep`` says whether it
    keeps only the newest frame (``"latest"``, the default) or queues them (``"all"``).
    """

    scheme = ""
    live = False

    def __init__(self, uri: str, options: SourceOptions = SourceOptions()):
        self.uri, self.options = uri, options
        self.fps = float(options.fps or 30.0)
        self.keep = "latest"
        self.dropped = 0  # frames a live source overwrote before anyone took them
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

    def effective(self) -> dict:
        """The options in force after opening (printed by ``open``)."""
        return {"fps": round(self.fps, 3), "live": self.live}

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

    def capture(self, timeout: float | None = None) -> Frame | None:
        """The next frame (the newest one for a live source); None on timeout."""
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
        with self._cond:
            self._cond.wait_for(lambda: self._slot or self._error is not None, timeout)
            if self._slot:
                return self._slot.pop()
        return self._raise_error()

    def close(self) -> None:
        self._is_open = False
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
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
        return f

    def _raise_error(self):
        if self._error is not None:
            raise self._error
        return None

    def _grab(self) -> None:
        """Grabber thread: read as fast as the device delivers; keep the newest (or queue all)."""
        while not self._stop.is_set():
            try:
                frame = self._frame(*self._read())
            except BaseException as exc:  # handed to the consumer, who decides (reconnect or end)
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


    def _enqueue(self, item) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue


class CaptureSource(Source):
    """An OpenCV VideoCapture: files, V4L2 cameras, RTSP, GStreamer pipelines."""

    api = cv2.CAP_ANY

    def target(self):
        raise NotImplementedError

    def _open(self) -> None:
        self.cap = cv2.VideoCapture(self.target(), self.api)
        if not self.cap.isOpened():
            raise SourceError("cannot open the source", path=self.uri, got="VideoCapture not opened",
                              fix=self.open_hint())
        o = self.options
        if o.width:
            self.cap.set(cv2.CAP_PROP_FRAME_WIDTH, o.width)
        if o.height:
            self.cap.set(cv2.CAP_PROP_FRAME_HEIGHT, o.height)
        if o.fps:
            self.cap.set(cv2.CAP_PROP_FPS, o.fps)
        fps = self.cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and fps > 0 and fps < 1000 else float(o.fps or 30.0)

    def open_hint(self) -> str:
        return "check the path or device"

    def _read(self):
        ok, image = self.cap.read()
        if not ok:
            raise SourceError("the source stopped delivering frames", path=self.uri,
                              fix="check the cable / network; the stream reconnects by itself")
        pos = self.cap.get(cv2.CAP_PROP_POS_MSEC)
        return image, (pos / 1e3 if pos and pos > 0 else None), None

    def _close(self) -> None:
        if getattr(self, "cap", None) is not None:
            self.cap.release()
            self.cap = None

    def effective(self) -> dict:
        cap = getattr(self, "cap", None)
        size = f"{int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))}x{int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))}" if cap else "?"
        return {"size": size, **super().effective(), "backend": cap.getBackendName() if cap else "?"}


class FileSource(CaptureSource):
    scheme, api = "file", cv2.CAP_FFMPEG

    def target(self):
        path = split_uri(self.uri)[1]
        if not os.path.isfile(path):
            raise SourceError("video file not found", path=path, fix="check the path")
        return path

    def _open(self) -> None:
        super()._open()
        self.num_frames = int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT))

    def _read(self):
        ok, image = self.cap.read()
        if not ok:  # a file that ends is not a failure
            raise EndOfStream("end of video", path=self.uri)
        return image, self._index / self.fps, None


class V4L2Source(CaptureSource):
    scheme, api, live = "v4l2", cv2.CAP_V4L2, True

    def target(self):
        dev = split_uri(self.uri)[1]
        return int(dev[len("/dev/video"):]) if dev.startswith("/dev/video") else dev

    def _open(self) -> None:
        super()._open()
        self.cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the driver's queue is what makes frames stale

    def open_hint(self) -> str:
        return "is the camera plugged in (ls /dev/video*) and not used by another program?"


class GStreamerSource(CaptureSource):
    scheme, api, live = "gst", cv2.CAP_GSTREAMER, True

    def target(self):
        return split_uri(self.uri)[1]

    def _open(self) -> None:
        if not has_gstreamer():
            raise SourceError("this OpenCV build has no GStreamer support", path=self.uri,
                              expected="cv2.getBuildInformation() with 'GStreamer: YES'", got="GStreamer: NO",
                              fix="on a Jetson use the system OpenCV (JetPack, built with GStreamer) "
                                  "instead of the pip wheel, or build OpenCV with -DWITH_GSTREAMER=ON")
        super()._open()

    def open_hint(self) -> str:
        return "test the pipeline with gst-launch-1.0 (ending in fakesink) first"

    def effective(self) -> dict:
        return {**super().effective(), "pipeline": self.target()}


class CsiSource(GStreamerSource):
    """A Jetson MIPI CSI camera through nvarguscamerasrc."""

    scheme = "csi"

    def target(self):
        sensor = split_uri(self.uri)[1].split("?")[0] or "0"
        o = self.options
        w, h, fps = o.width or 1280, o.height or 720, int(o.fps or 30)
        return (f"nvarguscamerasrc sensor-id={int(sensor)} ! video/x-raw(memory:NVMM),width={w},height={h},"
                f"framerate={fps}/1 ! nvvidconv ! video/x-raw,format=BGRx ! videoconvert ! "
                f"video/x-raw,format=BGR ! appsink drop=1 max-buffers=1")


class RtspSource(CaptureSource):
    """RTSP through FFmpeg (options in OPENCV_FFMPEG_CAPTURE_OPTIONS) or GStreamer when built in."""

    scheme, live = "rtsp", True

    def target(self):
        o = self.options
        if has_gstreamer():
            self.api = cv2.CAP_GSTREAMER
            proto = "tcp" if o.transport == "tcp" else "udp"
            return (f"rtspsrc location={self.uri} latency={o.latency_ms} protocols={proto} ! decodebin ! "
                    f"videoconvert ! video/x-raw,format=BGR ! appsink drop=1 max-buffers=1")
        self.api = cv2.CAP_FFMPEG
        # read by OpenCV's FFmpeg backend when the capture opens; max_delay is in microseconds.
        os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = self.ffmpeg_options()
        return self.uri

    def ffmpeg_options(self) -> str:
        o = self.options
        return f"rtsp_transport;{o.transport}|max_delay;{o.latency_ms * 1000}|fflags;nobuffer|flags;low_delay"

    def effective(self) -> dict:
        extra = {"latency_ms": self.options.latency_ms, "transport": self.options.transport}
        if self.api == cv2.CAP_FFMPEG:
            extra["ffmpeg"] = self.ffmpeg_options()
        return {**super().effective(), **extra}


class ImageFolderSource(Source):
    scheme = "images"
    SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

    def _open(self) -> None:
        folder = split_uri(self.uri)[1]
        if not os.path.isdir(folder):
            raise SourceError("image folder not found", path=folder, fix="check the path")
        self.files = sorted(p for p in glob.glob(os.path.join(folder, "*")) if p.lower().endswith(self.SUFFIXES))
        if not self.files:
            raise SourceError("no images in the folder", path=folder, expected=" ".join(self.SUFFIXES))

    def _read(self):
        if self._index >= len(self.files):
            raise EndOfStream("end of image folder", path=self.uri)
        # an unreadable file comes back as None: the stream counts it as a bad frame and goes on
        return cv2.imread(self.files[self._index], cv2.IMREAD_COLOR), self._index / self.fps, None

    def effective(self) -> dict:
        return {"images": len(self.files), **super().effective()}


class SyntheticSource(Source):
    """:class:`~edgeseg.data.video.SyntheticVideo` as a camera, ground truth on each frame.

    ``synthetic://?size=480x640&fps=30&seed=0&frames=N&live=1``: live paces frames at ``fps`` in
    real time (the newest kept); ``live=0`` renders frame i at t = i/fps on demand, like a file.
    """

    scheme = "synthetic"

    def __init__(self, uri: str, options: SourceOptions = SourceOptions()):
        super().__init__(uri, options)
        q = query_params(uri)
        unknown = set(q) - {"size", "fps", "seed", "frames", "live"}
        if unknown:
            raise ConfigError("unknown synthetic:// parameter", got=", ".join(sorted(unknown)),
                              expected="size=HxW fps=F seed=S frames=N live=0|1")
        self.size = parse_size(q.get("size", "480x640"))
        self.fps = float(q.get("fps", options.fps or 30))
        self.seed, self.frames = int(q.get("seed", 0)), int(q["frames"]) if "frames" in q else None
        self.live = q.get("live", "1") not in ("0", "false", "no")

    def _open(self) -> None:
        from ..data.video import SyntheticVideo
        self.video = SyntheticVideo(self.seed, self.size)
        self._start = time.monotonic()
        self._index = 0

    def _read(self):
        i = self._index
        if self.frames is not None and i >= self.frames:
            raise EndOfStream("end of synthetic video", path=self.uri)
        if self.live:  # a camera delivers frame i at start + i/fps, not sooner
            wait = self._start + i / self.fps - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                raise EndOfStream("source closed", path=self.uri)
        image, mask = self.video.frame(i / self.fps)
        return image, i / self.fps, mask

    def effective(self) -> dict:
        return {"size": f"{self.size[0]}x{self.size[1]}", **super().effective(), "seed": self.seed,
                "frames": self.frames if self.frames is not None else "unlimited"}


# scheme -> class: the ONE place a URI picks an implementation.
SOURCES = {cls.scheme: cls for cls in (FileSource, ImageFolderSource, V4L2Source, CsiSource, RtspSource,
                                       GStreamerSource, SyntheticSource)}


def normalize_uri(uri: str | int) -> str:
    """Shorthand -> a full URI: ``0`` / ``/dev/video0`` / ``v4l2://0`` -> ``v4l2:///dev/video0``,
    a folder -> ``images://``, any other bare path -> ``file://``."""
    uri = str(uri).strip()
    scheme, rest = split_uri(uri)
    if scheme == "" and uri.isdigit():
        return f"v4l2:///dev/video{int(uri)}"
    if scheme == "" and uri.startswith("/dev/video"):
        return f"v4l2://{uri}"
    if scheme == "v4l2" and rest.isdigit():
        return f"v4l2:///dev/video{int(rest)}"
    if scheme == "":
        return f"images://{uri}" if os.path.isdir(uri) else f"file://{uri}"
    if scheme == "rtspt":  # FFmpeg's spelling of RTSP over TCP
        return "rtsp://" + rest
    return uri


def source_class(uri: str) -> type[Source]:
    """The class serving ``uri`` (after normalising); a did-you-mean error for unknown schemes."""
    scheme = split_uri(normalize_uri(uri))[0]
    if scheme not in SOURCES:
        raise unknown_scheme("sources", scheme, SOURCES)
    return SOURCES[scheme]


def make_source(uri: str | int | Source, **options) -> Source:
    """A Source for ``uri``, not yet opened (a Source object is returned as it is)."""
    if isinstance(uri, Source):
        return uri
    full = normalize_uri(uri)
    return source_class(full)(full, SourceOptions(**options))


def open_source(uri: str | int | Source, keep: str | None = None, **options) -> Source:
    """Open a source by URI (or a Source object): ``open_source("csi://0", fps=30)``.

    ``keep``: ``"latest"`` (live sources keep the newest frame) or ``"all"`` (they queue).
    """
    return make_source(uri, **options).open(keep)


__all__ = ["Frame", "Source", "SourceOptions", "SourceError", "EndOfStream", "SOURCES", "open_source", "make_source",
           "normalize_uri", "source_class", "has_gstreamer"]
