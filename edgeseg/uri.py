"""The one grammar for every name a user types: source and sink URIs, data specs, ``HxW`` sizes,
file-kind suffixes, and the did-you-mean that follows a typo.

Every name is ``scheme://rest?key=value`` (jetson-utils' spelling for videoSource/videoOutput),
with shorthand normalised once, here: a camera index or ``/dev/videoN`` is ``v4l2://``, a folder
``images://`` (sources) or ``masks://`` (sinks, with a trailing slash), any other path ``file://``.
Data specs use the same grammar (``synthetic://?num=200&size=256x256``, ``folder:///data/x``,
``voc:///data/VOCdevkit``), and the short spellings ``synthetic``, ``synthetic:N`` and
``folder:PATH`` keep working. What each scheme *opens* is decided by the table of its kind
(``runtime.sources.SOURCES``, ``runtime.sinks.SINKS``, ``data.spec.OPENERS``), not here.

>>> split_uri("rtsp://cam.local:554/live")
('rtsp', 'cam.local:554/live')
>>> split_uri("clip.mp4")
('', 'clip.mp4')
>>> query_params("synthetic://?size=48x64&fps=30")
{'size': '48x64', 'fps': '30'}
>>> normalize_source("0"), normalize_sink("out.mp4")
('v4l2:///dev/video0', 'file://out.mp4')
>>> parse_data_spec("synthetic:200"), parse_data_spec("voc:///data/VOC?mask_dir=SegAug")
(DataSpec(scheme='synthetic', arg='200', params={}), DataSpec(scheme='voc', arg='/data/VOC', params={'mask_dir': 'SegAug'}))
>>> parse_size("480x640"), parse_size("256"), parse_size((64, 96))
((480, 640), (256, 256), (64, 96))
>>> did_you_mean("rtps", ["rtsp", "file"])
"did you mean 'rtsp'?"
>>> is_image("a/B.PNG"), is_video("drive.mkv"), model_kind("m.plan")
(True, True, 'engine')
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote

from .errors import ConfigError

# -- file kinds, by suffix (lower case) -------------------------------------------------------
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg")
# model file suffix -> what the file is; edgeseg.backends maps each kind to the backend that runs it
MODEL_SUFFIXES = {".onnx": "onnx", ".engine": "engine", ".plan": "engine", ".pt": "checkpoint",
                  ".pth": "checkpoint"}


def suffix(path) -> str:
    """The file's suffix, lower-cased (``""`` when it has none)."""
    return os.path.splitext(os.fspath(path))[1].lower()


def is_image(path) -> bool:
    return suffix(path) in IMAGE_SUFFIXES


def is_video(path) -> bool:
    return suffix(path) in VIDEO_SUFFIXES


def model_kind(path) -> str | None:
    """``onnx`` | ``engine`` | ``checkpoint`` from the suffix, or None."""
    return MODEL_SUFFIXES.get(suffix(path))


# -- did you mean ------------------------------------------------------------------------------
def did_you_mean(name: str, known, *, cutoff: float = 0.5, template: str = "'{}'") -> str | None:
    """``"did you mean 'x'?"`` for the closest of ``known``, or None when nothing is close."""
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1, cutoff=cutoff)
    return f"did you mean {template.format(close[0])}?" if close else None


def close_matches(name: str, known, n: int = 3, cutoff: float = 0.5) -> list[str]:
    """Up to ``n`` of ``known`` that look like ``name`` (for messages listing several)."""
    return difflib.get_close_matches(str(name), [str(k) for k in known], n=n, cutoff=cutoff)


# -- URIs --------------------------------------------------------------------------------------
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", re.DOTALL)


def split_uri(uri: str) -> tuple[str, str]:
    """``scheme://rest`` -> (scheme lower-cased, rest); anything else -> ("", uri)."""
    m = _SCHEME.match(uri.strip())
    return (m.group(1).lower(), m.group(2)) if m else ("", uri.strip())


def query_params(uri: str) -> dict:
    """The ``?a=1&b=2`` part of a URI as a dict of strings."""
    _, _, query = uri.partition("?")
    return dict(parse_qsl(query, keep_blank_values=True))


def unknown_scheme(kind: str, scheme: str, known) -> ConfigError:
    """A ConfigError listing the known schemes, with a did-you-mean where one is close.

    >>> unknown_scheme("sources", "rtps", ["rtsp", "file"]).fix
    "did you mean 'rtsp://'?"
    """
    known = sorted(known)
    return ConfigError(f"unknown scheme for {kind}", expected=" | ".join(f"{k}://" for k in known),
                       got=f"{scheme}://", fix=did_you_mean(scheme, known, template="'{}://'")
                       or f"use one of the {kind} schemes above")


def normalize_source(uri: str | int) -> str:
    """Shorthand -> a full source URI: ``0`` / ``/dev/video0`` / ``v4l2://0`` ->
    ``v4l2:///dev/video0``, a folder -> ``images://``, any other bare path -> ``file://``,
    FFmpeg's ``rtspt://`` -> ``rtsp://``."""
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


def parse_host_port(uri: str, default_port: int, what: str = "address") -> tuple[str, int]:
    """``scheme://[user@]host:port/...`` -> (host, port): no port (or an empty one) is
    ``default_port``, 0 asks the system for a free one; a port that is not a whole number from 1
    to 65535 is a ConfigError, where urllib would raise a bare ValueError at the first use.

    >>> parse_host_port("http://0.0.0.0:8081", 8080), parse_host_port("http://[::1]", 8080)
    (('0.0.0.0', 8081), ('::1', 8080))
    >>> parse_host_port("http://127.0.0.1:99999", 8080, what="http:// sink")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    edgeseg.errors.ConfigError: invalid port in the http:// sink: http://127.0.0.1:99999
      expected: a whole number from 1 to 65535 (or 0: any free port)
      got:      '99999'...
    """
    netloc = split_uri(uri)[1].partition("/")[0].partition("?")[0].rpartition("@")[2]
    if netloc.startswith("["):  # an IPv6 literal: its colons are not the port's
        host, bracket, port = netloc[1:].partition("]")
        if not bracket or (port and not port.startswith(":")):
            port = netloc  # unreadable: reported whole
        port = port.removeprefix(":")
    else:
        host, _, port = netloc.rpartition(":") if ":" in netloc else (netloc, "", "")
    if port == "":
        return host, int(default_port)
    if not (port.isascii() and port.isdigit()) or int(port) > 65535:
        raise ConfigError(f"invalid port in the {what}", path=uri, got=repr(port),
                          expected="a whole number from 1 to 65535 (or 0: any free port)",
                          fix=f"e.g. {split_uri(uri)[0] or 'http'}://127.0.0.1:{default_port}")
    return host, int(port)


def normalize_sink(uri: str) -> str:
    """A bare video path -> ``file://``, a bare folder path (ending in /) -> ``masks://``."""
    scheme, _ = split_uri(uri)
    if scheme:
        return uri
    return f"masks://{uri}" if uri.endswith(os.sep) else f"file://{uri}"


# -- data specs --------------------------------------------------------------------------------
@dataclass(frozen=True)
class DataSpec:
    """A data spec split into its scheme, its argument (a path, or synthetic's count) and the
    ``?key=value`` options of the URI form (strings; the opener converts them)."""

    scheme: str
    arg: str = ""
    params: dict = field(default_factory=dict)


def parse_data_spec(spec: str) -> DataSpec:
    """``synthetic`` | ``synthetic:N`` | ``SCHEME:PATH`` | ``SCHEME://PATH?key=value...``.

    >>> parse_data_spec("synthetic://?num=50&size=64x64")
    DataSpec(scheme='synthetic', arg='', params={'num': '50', 'size': '64x64'})
    >>> parse_data_spec("folder:/data/set")
    DataSpec(scheme='folder', arg='/data/set', params={})
    """
    spec = str(spec).strip()
    scheme, rest = split_uri(spec)
    if scheme:
        path, _, _ = rest.partition("?")
        return DataSpec(scheme, unquote(path), query_params(rest))
    scheme, _, arg = spec.partition(":")
    return DataSpec(scheme.lower(), arg)


# -- sizes -------------------------------------------------------------------------------------
def parse_size(text, what: str = "size", example: str = "512x512") -> tuple[int, int]:
    """``"HxW"`` (height first, as everywhere in edgeseg), one number for a square, or an (h, w)
    pair -> (h, w); anything else, or a size that is not positive, is a ConfigError naming
    ``what`` was being read.

    >>> parse_size("64x0", what="--size")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    edgeseg.errors.ConfigError: cannot read the --size
      expected: HxW such as 512x512 (height x width), or one number for a square
      got:      '64x0'
    """
    if isinstance(text, (tuple, list)):
        parts = list(text)
    else:
        parts = str(text).strip().lower().replace(",", "x").split("x")
    try:
        nums = [int(p) for p in parts]
    except (TypeError, ValueError):
        nums = []
    if len(nums) == 1:
        nums = nums * 2
    if len(nums) != 2 or min(nums) <= 0:
        raise ConfigError(f"cannot read the {what}",
                          expected=f"HxW such as {example} (height x width), or one number for a square",
                          got=repr(text))
    return nums[0], nums[1]


def format_size(size) -> str:
    """(h, w) -> ``"HxW"``.

    >>> format_size((256, 320))
    '256x320'
    """
    return f"{int(size[0])}x{int(size[1])}"
