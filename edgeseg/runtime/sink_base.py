"""The base of every sink: :class:`Sink` and :class:`SinkError`.

Its own module so that the sinks of :mod:`~edgeseg.runtime.sinks` and the HTTP preview of
:mod:`~edgeseg.runtime.preview` both build on it without importing each other.

>>> class Count(Sink):
...     scheme = "count"
...     def write(self, result):
...         self.n = getattr(self, "n", 0) + 1
>>> s = Count("count://", log=None)
>>> s.start(25); s.write("r"); s.write("r"); (s.kind, s.fps, s.n, s.options.jpeg_quality)
('count', 25.0, 2, 80)
"""

from __future__ import annotations

from ..errors import ConfigError, EdgesegError
from .options import SinkOptions


class SinkError(EdgesegError):
    """A sink cannot be opened or written (no display, port in use, disk full)."""


class Sink:
    """Base of all sinks; ``kind`` names it in logs and error counts, ``options`` holds what it
    was asked for (:class:`~edgeseg.runtime.options.SinkOptions`)."""

    scheme = ""

    def __init__(self, uri: str = "", log=print, options: SinkOptions | None = None):
        self.uri, self.log = uri, log
        self.options = check_sink_options(options)
        self.fps = 30.0
        self.stats = dict

    @property
    def kind(self) -> str:
        return self.scheme or type(self).__name__

    def start(self, fps: float, stats=None) -> None:
        self.fps = float(fps or 30.0)
        if stats is not None:
            self.stats = stats

    def write(self, result) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


def check_sink_options(options) -> SinkOptions:
    """``options``, or the defaults for None; a clear error for anything else (such as a log
    function passed where ``open_sink(target, log)`` used to take it).

    >>> check_sink_options(None).jpeg_quality
    80
    """
    if options is None:
        return SinkOptions()
    if not isinstance(options, SinkOptions):
        raise ConfigError("sink options must be a SinkOptions", got=repr(options),
                          fix="open_sink(target, SinkOptions(jpeg_quality=70), log=print): pass log by keyword")
    return options
