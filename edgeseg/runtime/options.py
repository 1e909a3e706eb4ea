"""What a stream, a source and a sink may be asked for: three frozen dataclasses, validated when built.

Each option is checked by one row of its class's table (what it must be, and how to fix it), then
the pairs that cannot go together by one row of a conflict table, whose message names both. An
options object is a value: build it once, share it between streams, ``dataclasses.replace`` it.

>>> StreamOptions(policy="all", smooth=3).smooth
3
>>> SinkOptions(codec="MJPG").codec_for(".avi"), SinkOptions().codec_for(".mp4")
('MJPG', 'mp4v')
>>> try:
...     SourceOptions(transport="quic")
... except ConfigError as exc:
...     print(exc.what, "|", exc.expected)
invalid SourceOptions.transport | tcp | udp
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from ..errors import ConfigError
from ..uri import did_you_mean

POLICIES = ("auto", "latest", "all")
RENDERS = ("overlay", "color", "none")
TRANSPORTS = ("tcp", "udp")
# video file suffix -> the FourCC a file sink writes unless told otherwise; the ones the FFmpeg
# inside the opencv-python wheels muxes into that container without a warning
DEFAULT_CODECS = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "mp4v", ".mov": "mp4v"}


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _integer(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _fourcc(v) -> bool:
    return isinstance(v, str) and len(v) == 4 and all(" " <= c <= "~" for c in v)


def _validate(obj, checks: dict, conflicts: tuple = ()) -> None:
    """Raise the ConfigError of the first field that fails its row, then of the first conflict.

    ``checks``: field -> (ok(value), expected, fix or None); ``conflicts``: rows of
    (first field, second field, clash(obj), expected, fix).
    """
    owner = type(obj).__name__
    for name, (ok, expected, fix) in checks.items():
        value = getattr(obj, name)
        if not ok(value):
            raise ConfigError(f"invalid {owner}.{name}", expected=expected, got=repr(value), fix=fix)
    for first, second, clash, expected, fix in conflicts:
        if clash(obj):
            raise ConfigError(f"{owner}.{first} conflicts with {owner}.{second}", expected=expected,
                              got=f"{first}={_get(obj, first)!r}, {second}={_get(obj, second)!r}", fix=fix)


def _get(obj, name: str):
    """A field, or one item of a tuple field spelled ``backoff[0]``."""
    base, _, index = name.partition("[")
    value = getattr(obj, base)
    return value[int(index.rstrip("]"))] if index else value


@dataclass(frozen=True)
class SourceOptions:
    """What a source may be asked for; ``None`` keeps the device's own setting.

    ``width``, ``height``, ``fps``: asked of a camera (a file keeps its own); ``latency_ms``: RTSP
    jitter buffer; ``transport``: RTSP over tcp or udp; ``timeout_s``: how long ``capture`` waits
    on a live source; ``queue``: frames a live source buffers when every frame must be kept
    (policy ``all``); ``log``: a print-like callable or None (a Stream sets its own log here);
    ``realtime``: play a recording (a video file, an image folder) as a live camera, frames
    delivered at its own rate from the first one, the newest kept and the ones a slow reader
    misses dropped and counted (the URI's ``?live=1``; with ``?live=0`` it is a conflict);
    cameras and ``synthetic://`` are live anyway.

    >>> SourceOptions(latency_ms=100).transport
    'tcp'
    >>> SourceOptions(realtime=True).realtime
    True
    >>> SourceOptions(queue=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    edgeseg.errors.ConfigError: invalid SourceOptions.queue...
    """

    width: int | None = None
    height: int | None = None
    fps: float | None = None
    latency_ms: int = 200
    transport: str = "tcp"
    timeout_s: float = 1.0
    queue: int = 8
    log: object = print
    realtime: bool = False

    CHECKS: ClassVar[dict] = {
        "width": (lambda v: v is None or (_integer(v) and v > 0), "None or pixels > 0", None),
        "height": (lambda v: v is None or (_integer(v) and v > 0), "None or pixels > 0", None),
        "fps": (lambda v: v is None or (_number(v) and v > 0), "None or frames per second > 0", None),
        "latency_ms": (lambda v: _integer(v) and v >= 0, "whole milliseconds >= 0", "e.g. latency_ms=100"),
        "transport": (lambda v: v in TRANSPORTS, " | ".join(TRANSPORTS),
                      "udp for a camera that only streams over UDP, else tcp"),
        "timeout_s": (lambda v: _number(v) and v > 0, "seconds > 0", None),
        "queue": (lambda v: _integer(v) and v >= 1, "frames >= 1", None),
        "log": (lambda v: v is None or callable(v), "a print-like callable or None", None),
        "realtime": (lambda v: isinstance(v, bool), "True | False",
                     "realtime=True plays a file at its own rate, as a camera"),
    }

    def __post_init__(self):
        _validate(self, self.CHECKS)


@dataclass(frozen=True)
class SinkOptions:
    """What the sinks opened by URI may be asked for.

    ``jpeg_quality``: 1-100, the JPEG quality the ``http://`` preview serves (lower: less
    bandwidth, blockier picture); ``codec``: the FourCC ``file://`` videos are written with,
    ``None`` for the container's default (:data:`DEFAULT_CODECS`: mp4v in .mp4/.mkv/.mov, MJPG in
    .avi); ``fps``: the frame rate written into ``file://`` videos, ``None`` for the source's.

    >>> SinkOptions(jpeg_quality=60, fps=15).fps
    15
    >>> SinkOptions(codec="H.264")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    edgeseg.errors.ConfigError: invalid SinkOptions.codec...
    """

    jpeg_quality: int = 80
    codec: str | None = None
    fps: float | None = None

    CHECKS: ClassVar[dict] = {
        "jpeg_quality": (lambda v: _integer(v) and 1 <= v <= 100, "an int from 1 to 100", "e.g. jpeg_quality=80"),
        "codec": (lambda v: v is None or _fourcc(v), "None (the container's default) or a 4-character FourCC",
                  "e.g. codec='mp4v' (.mp4) or 'MJPG' (.avi); H.264 is 'avc1' where OpenCV's FFmpeg has it"),
        "fps": (lambda v: v is None or (_number(v) and v > 0), "None (the source's rate) or frames per second > 0",
                None),
    }

    def __post_init__(self):
        _validate(self, self.CHECKS)

    def codec_for(self, suffix: str) -> str:
        """The FourCC a video file with this suffix (``".mp4"``) is written with."""
        return self.codec or DEFAULT_CODECS[suffix]


def _backoff(v) -> bool:
    return isinstance(v, tuple) and len(v) == 2 and all(_number(x) and x > 0 for x in v)


@dataclass(frozen=True)
class StreamOptions:
    """How a :class:`~edgeseg.runtime.stream.Stream` runs (what it reads, segments and writes
    are its arguments).

    ``policy``: ``latest`` (newest frame only, the live default) | ``all`` (every frame, the file
    default) | ``auto``; ``smooth``: temporal smoothing over ~N frames (0: off); ``render``:
    ``overlay`` | ``color`` | ``none`` (the frame as is); ``alpha``: the overlay's opacity;
    ``max_frames``: stop after that many; ``reconnect``: reopen a source that fails, waiting
    ``backoff`` = (first, longest) seconds, doubling; ``stall_s``: a live source silent that long
    counts as dropped out; ``queue_size``: frames between two stages; ``report_every``: seconds
    between stats lines (None or 0: never); ``cv_threads``: OpenCV's worker threads while the
    stream runs, restored at close: ``"auto"`` sets 1 when the model runs on the CPU (the stages
    already run side by side, and OpenCV splitting a resize over every core only preempts the
    inference thread), ``None`` leaves OpenCV alone.

    ``motion``: motion-compensated output, off (None) by default: ``"flow"`` or
    ``"flow:PROVIDER[-PRESET]"`` (``flow:dis-fast``, ``flow:nvof``; :mod:`~edgeseg.runtime.flow`).
    The network still runs on the newest frame, while every captured frame is output with the
    latest result warped onto it along optical flow (policy ``latest``; ``auto`` becomes it).
    ``flow_size``: the long side, in pixels, the flow works at; ``motion_warp``: ``labels``
    (class ids, nearest) | ``scores`` (class scores, bilinear, then argmax: ~1 ms per class at
    512x512 on a CPU core); see :mod:`~edgeseg.runtime.motion`.

    >>> StreamOptions().policy, StreamOptions(max_frames=10).max_frames
    ('auto', 10)
    >>> StreamOptions(motion="flow:dis-ultrafast", flow_size=160).motion
    'flow:dis-ultrafast'
    >>> try:
    ...     StreamOptions(render="color", alpha=0.3)
    ... except ConfigError as exc:
    ...     print(exc.what)
    StreamOptions.render conflicts with StreamOptions.alpha
    """

    policy: str = "auto"
    smooth: int = 0
    render: str = "overlay"
    alpha: float = 0.5
    max_frames: int | None = None
    reconnect: bool = True
    backoff: tuple = (0.1, 5.0)
    stall_s: float = 10.0
    queue_size: int = 2
    report_every: float | None = 5.0
    cv_threads: int | str | None = "auto"
    motion: str | None = None
    flow_size: int = 256
    motion_warp: str = "labels"

    CHECKS: ClassVar[dict] = {
        "policy": (lambda v: v in POLICIES, " | ".join(POLICIES), "latest for a camera, all for a file"),
        "smooth": (lambda v: _integer(v) and v >= 0, "frames >= 0 (0 or 1: off)", None),
        "render": (lambda v: v in RENDERS, " | ".join(RENDERS), None),
        "alpha": (lambda v: _number(v) and 0 <= v <= 1, "an opacity from 0 to 1", None),
        "max_frames": (lambda v: v is None or (_integer(v) and v >= 1), "None or frames >= 1", None),
        "reconnect": (lambda v: isinstance(v, bool), "True | False", None),
        "backoff": (_backoff, "(first, longest) delay in seconds, both > 0", "e.g. backoff=(0.1, 5.0)"),
        "stall_s": (lambda v: _number(v) and v > 0, "seconds > 0", None),
        "queue_size": (lambda v: _integer(v) and v >= 1, "frames >= 1", None),
        "report_every": (lambda v: v is None or (_number(v) and v >= 0), "None or seconds >= 0 (0: never)", None),
        "cv_threads": (lambda v: v in ("auto", None) or (_integer(v) and v >= 0),
                       "'auto', None or an int >= 0", "cv_threads=1 keeps OpenCV on one thread"),
        "motion": (lambda v: v is None or isinstance(v, str), "None (off) | 'flow' | 'flow:PROVIDER[-PRESET]'",
                   "motion='flow'"),
        "flow_size": (lambda v: _integer(v) and v >= 16, "the flow's long side in pixels, an int >= 16",
                      "e.g. flow_size=256"),
        "motion_warp": (lambda v: v in ("labels", "scores"), "labels | scores", None),
    }
    CONFLICTS: ClassVar[tuple] = (
        ("render", "alpha", lambda o: o.render != "overlay" and o.alpha != 0.5,
         "alpha (the overlay's opacity) only with render='overlay'",
         "drop alpha, or render='overlay'"),
        ("backoff[0]", "backoff[1]", lambda o: o.backoff[0] > o.backoff[1],
         "the first reconnect delay <= the longest",
         "e.g. backoff=(0.1, 5.0): 0.1 s, then doubling up to 5 s"),
        ("motion", "policy", lambda o: o.motion is not None and o.policy == "all",
         "motion with policy latest (or auto): under all, the network sees every frame and nothing is warped",
         "policy='latest', or motion=None"),
        ("flow_size", "motion", lambda o: o.motion is None and o.flow_size != 256,
         "flow_size only with motion on", "drop flow_size, or motion='flow'"),
        ("motion_warp", "motion", lambda o: o.motion is None and o.motion_warp != "labels",
         "motion_warp only with motion on", "drop motion_warp, or motion='flow'"),
    )

    def __post_init__(self):
        if isinstance(self.backoff, list):  # a list reads as well as a tuple, and the dataclass stays hashable
            object.__setattr__(self, "backoff", tuple(self.backoff))
        _validate(self, self.CHECKS, self.CONFLICTS)
        if self.motion is not None:
            from .motion import parse_motion  # the flow table: its provider names, with did-you-mean
            parse_motion(self.motion)


def option_names(cls) -> tuple[str, ...]:
    """The option names of an options class, in order.

    >>> option_names(SinkOptions)
    ('jpeg_quality', 'codec', 'fps')
    """
    return tuple(f.name for f in dataclasses.fields(cls))


def check_names(cls, names) -> None:
    """A did-you-mean ConfigError for the first of ``names`` that ``cls`` has no field for.

    >>> check_names(SinkOptions, ["jpeg_quality", "fps"])  # all known: nothing happens
    """
    known = option_names(cls)
    for name in names:
        if name not in known:
            raise ConfigError(f"unknown {cls.__name__} field", got=name, expected=" | ".join(known),
                              fix=did_you_mean(name, known))


__all__ = ["DEFAULT_CODECS", "POLICIES", "RENDERS", "TRANSPORTS", "SinkOptions", "SourceOptions", "StreamOptions",
           "check_names", "option_names"]
