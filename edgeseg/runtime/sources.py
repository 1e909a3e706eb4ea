"""Frame sources named by URI, from ONE table: files, image folders, V4L2, CSI, RTSP, GStreamer, synthetic.

``open_source(uri)`` normalises shorthand the way jetson-utils does (``0`` and ``/dev/video0``
-> ``v4l2:///dev/video0``, a bare folder -> ``images://``, a bare file -> ``file://``), opens it
and prints the effective options. ``capture(timeout)`` returns a :class:`Frame`, ``None`` on a
timeout, and raises :class:`EndOfStream` at the end or :class:`SourceError` on failure, so a
loop needs no special cases. Live sources keep only the newest frame: a grabber thread
overwrites one slot, because OpenCV's own capture queue otherwise hands out stale frames.

>>> normalize_source("0"), normalize_source("/dev/video1"), normalize_source("csi://0")
('v4l2:///dev/video0', 'v4l2:///dev/video1', 'csi://0')
>>> with open_source("synthetic://?size=48x64&fps=10&frames=2&live=0", log=None) as src:
...     f = src.capture()
...     (f.index, f.image.shape, f.gt.shape, f.pts)
(0, (48, 64, 3), (48, 64), 0.0)
"""

from __future__ import annotations

import glob
import os
import time

import cv2

from ..errors import ConfigError
from ..uri import IMAGE_SUFFIXES, normalize_source, parse_size, query_params, split_uri, unknown_scheme
from .capture import CsiSource, FileSource, GStreamerSource, RtspSource, V4L2Source, has_gstreamer
from .options import SourceOptions, check_names
from .source_base import EndOfStream, Frame, Source, SourceError


class ImageFolderSource(Source):
    scheme = "images"
    SUFFIXES = IMAGE_SUFFIXES

    def check(self) -> None:
        self._open()  # a listing is cheap: a missing or empty folder fails before the model loads

    def _open(self) -> None:
        folder = split_uri(self.uri)[1]
        if not os.path.isdir(folder):
            raise SourceError("image folder not found", path=folder, fix="check the path")
        self.files = sorted(p for p in glob.glob(os.path.join(folder, "*")) if p.lower().endswith(self.SUFFIXES))
        if not self.files:
            raise SourceError("no images in the folder", path=folder, expected=" ".join(self.SUFFIXES))
        self.total = len(self.files)

    def _read(self):
        # an unreadable file is passed over under its own name (the stream counts it as bad)
        while self._index < len(self.files):
            path = self.files[self._index]
            image = cv2.imread(path, cv2.IMREAD_COLOR)
            if image is not None:
                return image, self._index / self.fps, None
            self._skip(self._index, why=f"{os.path.basename(path)}: not a readable image")
            self._index += 1
        raise EndOfStream("end of image folder", path=self.uri)

    def effective(self) -> dict:
        return {"images": len(self.files), **super().effective()}


class SyntheticSource(Source):
    """:class:`~edgeseg.data.video.SyntheticVideo` as a camera, ground truth on each frame.

    ``synthetic://?size=480x640&fps=30&seed=0&frames=N&live=1&loop=K``: live paces frames at
    ``fps`` in real time (the newest kept); ``live=0`` renders frame i at t = i/fps on demand,
    like a file. ``loop=K`` renders K frames once and replays them: a real camera costs the host
    almost nothing per frame, while rendering a 720p street takes a CPU core at 25 fps.
    """

    scheme = "synthetic"

    def __init__(self, uri: str, options: SourceOptions | None = None):
        super().__init__(uri, options)
        q = query_params(uri)
        unknown = set(q) - {"size", "fps", "seed", "frames", "live", "loop"}
        if unknown:
            raise ConfigError("unknown synthetic:// parameter", got=", ".join(sorted(unknown)),
                              expected="size=HxW fps=F seed=S frames=N live=0|1 loop=K")
        self.size = parse_size(q.get("size", "480x640"), what="synthetic:// size", example="480x640")
        self.fps = float(q.get("fps", self.options.fps or 30))
        self.seed, self.frames = int(q.get("seed", 0)), int(q["frames"]) if "frames" in q else None
        self.total = self.frames
        self.live = q.get("live", "1") not in ("0", "false", "no")
        self.loop = int(q.get("loop", 0))

    def _open(self) -> None:
        from ..data.video import SyntheticVideo
        self.video = SyntheticVideo(self.seed, self.size)
        self._cache = [self.video.frame(i / self.fps) for i in range(self.loop)]
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
        image, mask = self._cache[i % self.loop] if self._cache else self.video.frame(i / self.fps)
        return image, i / self.fps, mask

    def effective(self) -> dict:
        return {"size": f"{self.size[0]}x{self.size[1]}", **super().effective(), "seed": self.seed,
                "frames": self.frames if self.frames is not None else "unlimited",
                **({"loop": self.loop} if self.loop else {})}


# scheme -> class: the ONE place a URI picks an implementation.
SOURCES = {cls.scheme: cls for cls in (FileSource, ImageFolderSource, V4L2Source, CsiSource, RtspSource,
                                       GStreamerSource, SyntheticSource)}


# Kept for code written against edgeseg 0.1: the grammar lives in edgeseg.uri.
normalize_uri = normalize_source


def source_class(uri: str) -> type[Source]:
    """The class serving ``uri`` (after normalising); a did-you-mean error for unknown schemes."""
    scheme = split_uri(normalize_source(uri))[0]
    if scheme not in SOURCES:
        raise unknown_scheme("sources", scheme, SOURCES)
    return SOURCES[scheme]


def make_source(uri: str | int | Source, options: SourceOptions | None = None, **fields) -> Source:
    """A Source for ``uri``, not yet opened (a Source object is returned as it is).

    Its options: ``options`` (a :class:`SourceOptions`) or the same fields as keywords, not both.

    >>> make_source("synthetic://?size=8x8&live=0", fps=5, log=None).fps
    5.0
    """
    if isinstance(uri, Source):
        return uri
    full = normalize_source(uri)
    return source_class(full)(full, _options(options, fields))


def open_source(uri: str | int | Source, keep: str | None = None, options: SourceOptions | None = None,
                **fields) -> Source:
    """Open a source by URI (or a Source object): ``open_source("csi://0", fps=30)``.

    ``keep``: ``"latest"`` (live sources keep the newest frame) or ``"all"`` (they queue);
    ``options`` or keywords as for :func:`make_source`.
    """
    return make_source(uri, options, **fields).open(keep)


def _options(options: SourceOptions | None, fields: dict) -> SourceOptions:
    if options is None:
        check_names(SourceOptions, fields)
        return SourceOptions(**fields)
    if not isinstance(options, SourceOptions):
        raise ConfigError("source options must be a SourceOptions", got=type(options).__name__,
                          fix="open_source(uri, options=SourceOptions(fps=30)) or open_source(uri, fps=30)")
    if fields:
        raise ConfigError("options= conflicts with the source option keywords", expected="one of the two",
                          got=f"options=SourceOptions(...) and {', '.join(f'{k}=' for k in sorted(fields))}",
                          fix="put every field into the SourceOptions")
    return options


__all__ = ["SOURCES", "CsiSource", "EndOfStream", "FileSource", "Frame", "GStreamerSource", "RtspSource", "Source",
           "SourceError", "SourceOptions", "V4L2Source", "has_gstreamer", "make_source", "normalize_uri", "open_source",
           "source_class"]
