"""Sources read through OpenCV's VideoCapture: video files, V4L2 cameras, CSI (Jetson), RTSP, GStreamer.

>>> CsiSource("csi://0", SourceOptions(log=None)).target().split(" ! ")[0]
'nvarguscamerasrc sensor-id=0'
>>> RtspSource("rtsp://cam/live", SourceOptions(latency_ms=50, log=None)).ffmpeg_options()
'rtsp_transport;tcp|max_delay;50000|fflags;nobuffer|flags;low_delay'
"""

from __future__ import annotations

import collections
import contextlib
import os

import cv2

from ..uri import split_uri
from .options import SourceOptions
from .source_base import EndOfStream, Source, SourceError, flag, path_and_query

FFMPEG_ENV = "OPENCV_FFMPEG_CAPTURE_OPTIONS"
__all__ = ["CaptureSource", "CsiSource", "FileSource", "GStreamerSource", "RtspSource", "SourceOptions", "V4L2Source",
           "has_gstreamer"]


def has_gstreamer() -> bool:
    """Whether this OpenCV build can open GStreamer pipelines."""
    info = cv2.getBuildInformation()
    return any("GStreamer" in line and "YES" in line for line in info.splitlines())


@contextlib.contextmanager
def ffmpeg_capture_options(options: str):
    """Set OPENCV_FFMPEG_CAPTURE_OPTIONS while one capture opens (OpenCV reads it then), and put
    the old value back: left set, RTSP low-delay flags would reach every later file capture."""
    old = os.environ.get(FFMPEG_ENV)
    os.environ[FFMPEG_ENV] = options
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(FFMPEG_ENV, None)
        else:
            os.environ[FFMPEG_ENV] = old


class CaptureSource(Source):
    """An OpenCV VideoCapture: files, V4L2 cameras, RTSP, GStreamer pipelines."""

    api = cv2.CAP_ANY

    def target(self):
        raise NotImplementedError

    def _open(self) -> None:
        self.cap = cv2.VideoCapture(self.target(), self.api)
        if not self.cap.isOpened():
            self._close()
            raise self.open_error()
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

    def open_error(self) -> SourceError:
        """The error for a capture OpenCV would not open."""
        return SourceError("cannot open the source", path=self.uri, got="VideoCapture not opened",
                           fix=self.open_hint())

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


def fourcc(cap) -> str:
    """The codec of an open capture as its four characters ("AV01", "FMP4"), or "unknown"."""
    code = int(cap.get(cv2.CAP_PROP_FOURCC)) & 0xFFFFFFFF
    text = code.to_bytes(4, "little").decode("latin-1")
    return text if code and text.isprintable() and code != 0xFFFFFFFF else "unknown"


class FileSource(CaptureSource):
    """A video file. A frame that does not decode is passed over and counted (``skipped``), and
    reading goes on to the container's real end: a failed read in the middle of a damaged file
    looks like the end of a healthy one. The end is reached once the frames the container
    states (``total``) are all accounted for, or after ``MAX_BAD_RUN`` failed reads in a row
    where it states none (or the file already ran past it).

    Frames missing at the end count as skipped only in a file already seen damaged mid-way: OpenCV
    estimates the count from the duration where the container states none (MKV, WebM, TS) and
    overstates it when the audio runs longer or the frame rate varies, so a healthy file often
    ends "early"; ``total`` against ``frames_read`` keeps that shortfall on record.

    ``file://clip.mp4?live=1`` (or ``SourceOptions(realtime=True)``) plays the file as a live
    camera: frames come at the file's own rate from the first one, the newest kept, the ones a
    slow reader misses dropped and counted, and the file's end ends the stream; so a recording
    replays like the drive it was.

    >>> FileSource("file://clip.mp4?live=1", SourceOptions(log=None)).live, FileSource("clip.mp4").live
    (True, False)
    """

    scheme, api = "file", cv2.CAP_FFMPEG
    # a failed read at the real end costs ~20 us, so the bound costs nothing on healthy files
    # while a damaged stretch of half a minute (at 30 fps) is still read past
    MAX_BAD_RUN = 1000
    SLACK = 8  # failed reads beyond the stated frames that a decoder may need to drain
    STEPS_KEPT = 5  # recent frame intervals whose median sizes a gap (variable frame rate)
    _pending = None  # the first frame, read when the file opens
    _last_ms = None  # the container's time stamp of the last frame decoded
    damaged = False  # a read failed and a later one decoded: frames were lost mid-file

    def __init__(self, uri: str, options: SourceOptions | None = None):
        super().__init__(uri, options)
        self.path, params = path_and_query(split_uri(uri)[1], ("live",), uri)
        self._play_live(flag(params, "live", uri))

    def target(self):
        if not os.path.isfile(self.path):
            raise SourceError("video file not found", path=self.path, fix="check the path")
        return self.path

    def check(self) -> None:
        cap = cv2.VideoCapture(self.target(), self.api)
        try:
            if not cap.isOpened():
                raise self.open_error()
            stated = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            tries = min(stated + self.SLACK, self.MAX_BAD_RUN) if stated > 0 else self.MAX_BAD_RUN
            # one frame decoded (grab() skips the colour conversion) or the stream fails before the model loads
            if not any(cap.grab() for _ in range(tries)):
                raise self.undecodable_error(fourcc(cap), stated if stated > 0 else None)
        finally:
            cap.release()

    def undecodable_error(self, codec: str, stated: int | None) -> SourceError:
        """The error for a file that opens but decodes no frame."""
        got = f"{stated} frames stated, none decodable" if stated else "no decodable frame"
        return SourceError(f"no frame could be decoded: the video file looks truncated or damaged, or its codec "
                           f"({codec}) is not supported by this OpenCV build", path=self.target(),
                           got=f"{got} (codec {codec})",
                           fix="check it plays (ffplay or VLC): if it does, convert it to a codec OpenCV decodes "
                               "(ffmpeg -i IN -c:v libx264 OUT.mp4); if not, copy or record it again")

    def open_error(self) -> SourceError:
        path = self.target()
        if os.path.getsize(path) == 0:
            return SourceError("the video file is empty", path=path, got="0 bytes",
                               fix="the recording or copy that made it failed: make it again")
        return SourceError("the video file looks truncated or damaged", path=path,
                           got=f"{os.path.getsize(path)} bytes that OpenCV (FFmpeg) cannot open as a video",
                           expected="a complete video file; an MP4 cut short (a copy or recording that was "
                                    "interrupted) has no index (moov atom) and cannot be opened",
                           fix="copy or record it again; an interrupted MP4 can sometimes be recovered with "
                               "untrunc and a healthy file from the same camera")

    def _open(self) -> None:
        super()._open()
        self.num_frames = int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.total = self.num_frames if self.num_frames > 0 else None
        self._pending = None
        self._steps = collections.deque(maxlen=self.STEPS_KEPT)
        if self._index == 0:
            # the first frame now: a file that opens but decodes nothing is damaged (or in a codec
            # this build lacks), and saying so here beats an empty stream that "succeeds"
            try:
                self._pending = self._read_on()
            except EndOfStream:
                codec = fourcc(self.cap)
                self._close()
                raise self.undecodable_error(codec, self.total) from None

    def _read(self):
        if self._pending is not None:
            item, self._pending = self._pending, None
            return item
        return self._read_on()

    def _read_on(self):
        failures = 0
        while True:
            ok, image = self.cap.read()
            if ok:
                break
            failures += 1
            if failures >= self._give_up_after():
                self._end()
        ms, last = self.cap.get(cv2.CAP_PROP_POS_MSEC), self._last_ms
        if failures:
            self.damaged = True
            self._skip_gap(failures, ms, last)
        elif last is not None and ms > last:
            self._steps.append(ms - last)
        if last is None or ms > last:
            self._last_ms = ms
        return image, self._index / self.fps, None

    def _skip_gap(self, failures: int, ms: float, last: float | None) -> None:
        """Count the frames lost before the one just decoded (at ``ms``; the one before at ``last``,
        None at the start). A failed read may consume several packets, so the time stamps say how
        many, over the measured frame interval: OpenCV's POS_FRAMES counts decoded frames only, and
        a variable-rate file's nominal rate overcounts where it runs slower."""
        steps = sorted(self._steps)
        step = steps[len(steps) // 2] if steps else 1e3 / self.fps
        slots = round((ms if last is None else ms - last) / step) - (last is not None)
        lost = max(failures, slots)
        if self.total and self._index < self.total:
            lost = max(failures, min(lost, self.total - self._index))
        self._skip(self._index, lost)
        self._index += lost

    def _give_up_after(self) -> int:
        """Failed reads in a row that end the file, from where it is against what it states."""
        remaining = self.total - self._index if self.total else -1
        if remaining < 0:  # no count, or the file already ran past it
            return self.MAX_BAD_RUN
        if remaining == 0:
            return 1
        return min(remaining + self.SLACK, self.MAX_BAD_RUN)

    def _end(self):
        if self.damaged and self.total and self._index < self.total:
            lost = self.total - self._index
            self._skip(self._index, lost, "the file ends before the frames it states", say=False)
            if self.options.log:
                self.options.log(f"source file: the video ends at frame {self._index} of the {self.total} it "
                                 f"states: the last {lost} could not be decoded (damaged at the end too)")
            self._index = self.total
        raise EndOfStream("end of video", path=self.uri)

    def effective(self) -> dict:
        return {**super().effective(), "frames": self.total or "unknown"}


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
        return self.uri

    def _open(self) -> None:
        self.target()  # picks the API
        if self.api != cv2.CAP_FFMPEG:
            return super()._open()
        with ffmpeg_capture_options(self.ffmpeg_options()):
            super()._open()

    def ffmpeg_options(self) -> str:
        o = self.options
        return f"rtsp_transport;{o.transport}|max_delay;{o.latency_ms * 1000}|fflags;nobuffer|flags;low_delay"

    def open_hint(self) -> str:
        # the usual causes, in the order people hit them; ffplay shares FFmpeg's RTSP client
        return ("check the URL, path and credentials (rtsp://user:pass@host:554/path) and that the camera "
                f"answers (ffplay -rtsp_transport {self.options.transport} URL); "
                + ("a camera that only streams over UDP needs --transport udp" if self.options.transport == "tcp"
                   else "UDP rarely passes NAT or a firewall: try --transport tcp"))

    def effective(self) -> dict:
        extra = {"latency_ms": self.options.latency_ms, "transport": self.options.transport}
        if self.api == cv2.CAP_FFMPEG:
            extra["ffmpeg"] = self.ffmpeg_options()
        return {**super().effective(), **extra}
