"""URI helpers shared by the source and sink tables: split a scheme, suggest a close one.

>>> split_uri("rtsp://cam.local:554/live")
('rtsp', 'cam.local:554/live')
>>> split_uri("clip.mp4")
('', 'clip.mp4')
>>> query_params("synthetic://?size=48x64&fps=30")
{'size': '48x64', 'fps': '30'}
>>> unknown_scheme("sources", "rtps", ["rtsp", "file"]).fix
"did you mean 'rtsp://'?"
"""

from __future__ import annotations

import difflib
import re
from urllib.parse import parse_qsl

from .errors import ConfigError

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", re.S)


def split_uri(uri: str) -> tuple[str, str]:
    """``scheme://rest`` -> (scheme lower-cased, rest); anything else -> ("", uri)."""
    m = _SCHEME.match(uri.strip())
    return (m.group(1).lower(), m.group(2)) if m else ("", uri.strip())


def query_params(uri: str) -> dict:
    """The ``?a=1&b=2`` part of a URI as a dict of strings."""
    _, _, query = uri.partition("?")
    return dict(parse_qsl(query, keep_blank_values=True))


def parse_size(text: str) -> tuple[int, int]:
    """'480x640' -> (480, 640): height first, as everywhere in edgeseg.

    >>> parse_size("480x640")
    (480, 640)
    """
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ConfigError("bad size", expected="HxW, e.g. 480x640", got=text) from None
    if h <= 0 or w <= 0:
        raise ConfigError("size must be positive", expected="HxW, e.g. 480x640", got=text)
    return h, w


def unknown_scheme(kind: str, scheme: str, known) -> ConfigError:
    """A ConfigError listing the known schemes, with a did-you-mean where one is close."""
    known = sorted(known)
    close = difflib.get_close_matches(scheme, known, n=1, cutoff=0.5)
    return ConfigError(f"unknown scheme for {kind}", expected=" | ".join(f"{k}://" for k in known),
                       got=f"{scheme}://", fix=f"did you mean '{close[0]}://'?" if close else
                       f"use one of the {kind} schemes above")
