"""Sources read through OpenCV's VideoCapture: video files, V4L2 cameras, CSI (Jetson), RTSP, GStreamer.

>>> CsiSource("csi://0", SourceOptions(log=None)).target().split(" ! ")[0]
'nvarguscamerasrc sensor-id=0'
>>> RtspSource("rtsp://cam/live", SourceOptions(latency_ms=50, log=None)).ffmpeg_options()
'rtsp_transport;tcp|max_delay;50000|fflags;nobuffer|flags;low_delay'
"""

from __future__ import annotations

import contextlib
import os

import cv2

from ..uri import split_uri
from .options import SourceOptions
from .source_base import EndOfStream, Source, SourceError

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
