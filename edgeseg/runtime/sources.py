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
import math
import os
import time

import cv2
import numpy as np

from ..errors import ConfigError
from ..uri import IMAGE_SUFFIXES, did_you_mean, normalize_source, parse_size, query_params, split_uri, unknown_scheme
from ..utils.progress import STDERR, Progress
from .capture import CsiSource, FileSource, GStreamerSource, RtspSource, V4L2Source, has_gstreamer
from .options import SourceOptions, check_names
from .source_base import EndOfStream, Frame, Source, SourceError, flag, path_and_query


class ImageFolderSource(Source):
    """A folder of images in name order, at ``SourceOptions.fps`` (30); ``images://DIR?live=1``
    (or ``realtime``) plays them as a camera at that rate."""

    scheme = "images"
    SUFFIXES = IMAGE_SUFFIXES

    def __init__(self, uri: str, options: SourceOptions | None = None):
        super().__init__(uri, options)
        self.folder, params = path_and_query(split_uri(uri)[1], ("live",), uri)
        self._play_live(flag(params, "live", uri))

    def check(self) -> None:
        self._open()  # a listing is cheap: a missing or empty folder fails before the model loads

    def _open(self) -> None:
        folder = self.folder
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


def _number(q: dict, name: str, default, convert, ok, expected: str, uri: str):
    """A ``synthetic://`` option converted and checked, or a ConfigError naming it."""
    if name not in q:
        return default
    try:
        value = convert(q[name])
        good = ok(value)
    except (TypeError, ValueError):
        good = False
    if not good:
        raise ConfigError(f"cannot read {name}= in the synthetic:// URI", path=uri, expected=expected,
                          got=repr(q[name]), fix=f"e.g. {SyntheticSource.EXAMPLE}")
    return value


class SyntheticSource(Source):
    """:class:`~edgeseg.data.video.SyntheticVideo` as a camera, ground truth on each frame.

    ``synthetic://?size=480x640&fps=30&seed=0&frames=N&live=1&loop=K&speed=V&turn=T``: live
    delivers frame i at start + i/fps in real time (the newest kept; when rendering falls a
    period behind, keeping the newest, it skips to the frame due now, the ones passed over
    counted in ``dropped``, as a camera's are); ``live=0`` renders frame i at t = i/fps on
    demand, like a file. ``loop=K`` renders K frames once and replays them (frame i is frame
    i % K): a real camera costs the host almost nothing per frame, while rendering a 720p street
    takes a CPU core at ~15 fps. ``speed`` drives the camera forward (pixels per frame at 720
    rows: the median flow of the ground below the horizon) and ``turn`` turns it (degrees per
    frame, > 0 right; needs a speed): :class:`~edgeseg.data.video.SyntheticVideo`.

    Ground truth: each frame's ``gt`` is its own exact mask (computed with the image, no extra
    cost); :meth:`ground_truth` gives frame i's, delivered or not (the data spec with the same
    options, ``synthetic://?num=N&size=..&seed=..&fps=..&speed=..&turn=..``, gives the frames).

    >>> with open_source("synthetic://?size=32x48&fps=30&speed=4&turn=0.05&live=0&frames=3", log=None) as src:
    ...     frames = list(src)
    >>> [f.index for f in frames], np.array_equal(frames[2].gt, src.ground_truth(2))
    ([0, 1, 2], True)
    """

    scheme = "synthetic"
    EXAMPLE = "synthetic://?size=720x1280&fps=60&speed=4&turn=0.05&loop=600"
    PARAMS = ("size", "fps", "seed", "frames", "live", "loop", "speed", "turn")

    def __init__(self, uri: str, options: SourceOptions | None = None):
        super().__init__(uri, options)
        q = query_params(uri)
        unknown = sorted(set(q) - set(self.PARAMS))
        if unknown:
            raise ConfigError("unknown synthetic:// parameter", got=", ".join(unknown), path=uri,
                              expected="size=HxW fps=F seed=S frames=N live=0|1 loop=K speed=V turn=T",
                              fix=did_you_mean(unknown[0], self.PARAMS) or f"e.g. {self.EXAMPLE}")
        self.size = parse_size(q.get("size", "480x640"), what="synthetic:// size", example="480x640")

        def whole(text):
            return int(text) if str(text).strip().lstrip("-").isdigit() else float("nan")

        self.fps = _number(q, "fps", float(self.options.fps or 30), float, lambda v: math.isfinite(v) and v > 0,
                           "frames per second > 0", uri)
        self.seed = _number(q, "seed", 0, whole, lambda v: v >= 0, "a whole number >= 0", uri)
        self.frames = _number(q, "frames", None, whole, lambda v: v >= 1, "a whole number of frames >= 1", uri)
        self.loop = _number(q, "loop", 0, whole, lambda v: v >= 0, "a whole number of frames >= 0 (0: off)", uri)
        self.speed = _number(q, "speed", 0.0, float, lambda v: math.isfinite(v) and v >= 0,
                             "pixels per frame >= 0 at 720 rows (the ground's median flow)", uri)
        self.turn = _number(q, "turn", 0.0, float, math.isfinite, "degrees per frame, > 0 right, < 0 left", uri)
        from ..data.synthetic import check_drive  # the renderer is imported only by a synthetic source
        check_drive(self.speed, self.turn, self.fps)
        self.total = self.frames
        live = flag(q, "live", uri)
        self._play_live(live)
        self.live = live is not False  # live unless live=0; paced by its own clock, not the base's
        self.paced = False
        self.video, self._cache = None, []

    def check(self) -> None:
        self._video()  # a turn too sharp for this street fails before the model loads

    def _video(self):
        if self.video is None:
            from ..data.video import SyntheticVideo
            self.video = SyntheticVideo(self.seed, self.size, self.speed, self.turn, self.fps)
        return self.video

    def _open(self) -> None:
        video = self._video()
        if len(self._cache) != self.loop:  # rendered once: a reconnect replays the same frames
            self._cache = _render_loop(video, self.loop, self.options.log)
        self._start = time.monotonic()
        self._index = 0

    def ground_truth(self, index: int) -> np.ndarray:
        """Frame ``index``'s mask (class ids): the same ``gt`` the frame carries when delivered."""
        if self.loop:
            if self._cache:
                return self._cache[index % self.loop][1]
            index %= self.loop
        return self._video().frame_at(index)[1]

    def _read(self):
        i = self._index
        if self.frames is not None and i >= self.frames:
            raise EndOfStream("end of synthetic video", path=self.uri)
        if self.live:  # a camera delivers frame i at start + i/fps, not sooner
            now = time.monotonic()
            due = int((now - self._start) * self.fps)
            if self.keep == "latest" and due > i:  # fallen behind: the frames passed over are a camera's drops
                due = due if self.frames is None else min(due, self.frames - 1)
                with self._cond:
                    self.dropped += due - i
                self.frames_read += due - i
                self._index = i = due
            wait = self._start + i / self.fps - now
            if wait > 0 and self._stop.wait(wait):
                raise EndOfStream("source closed", path=self.uri)
        image, mask = self._cache[i % self.loop] if self._cache else self.video.frame_at(i)
        return image, i / self.fps, mask

    def effective(self) -> dict:
        drive = {"speed": self.speed, "turn": self.turn} if self.speed else {}
        return {"size": f"{self.size[0]}x{self.size[1]}", **super().effective(), "seed": self.seed,
                "frames": self.frames if self.frames is not None else "unlimited",
                **({"loop": self.loop} if self.loop else {}), **drive}


def _render_loop(video, count: int, log) -> list:
    """The frames a ``loop=K`` source replays, with progress and an ETA on stderr when the source
    logs. One thread: the drawing holds the GIL, and two threads measured 0.8x on two busy cores."""
    frames = []
    if count:
        with Progress(count, "synthetic loop", file=STDERR if log else None, unit="frame") as bar:
            for i in range(count):
                frames.append(video.frame_at(i))
                bar.update(1)
    return frames


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
