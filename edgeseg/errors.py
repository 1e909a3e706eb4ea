"""The one small error hierarchy of edgeseg.

Every user-facing failure is an :class:`EdgesegError` whose message says what was
expected, what was found and what to do, so the CLI can print it without a traceback.

>>> from edgeseg.errors import DataError
>>> print(DataError("mask size differs from its image", expected="480x640", got="240x320",
...                 fix="re-export the mask at the image's size", path="masks/a.png"))
mask size differs from its image: masks/a.png
  expected: 480x640
  got:      240x320
  fix:      re-export the mask at the image's size
"""

from __future__ import annotations


class EdgesegError(Exception):
    """Base of all edgeseg errors; carries expected / got / fix for a readable message."""

    def __init__(self, what: str, *, expected=None, got=None, fix=None, path=None):
        self.what, self.expected, self.got, self.fix, self.path = what, expected, got, fix, path
        super().__init__(self._format())

    def _format(self) -> str:
        head = f"{self.what}: {self.path}" if self.path is not None else self.what
        lines = [head]
        for label, value in (("expected", self.expected), ("got", self.got), ("fix", self.fix)):
            if value is not None:
                lines.append(f"  {label + ':':<9} {value}")
        return "\n".join(lines)


class ConfigError(EdgesegError, ValueError):
    """An option or a combination of options is invalid."""


class DataError(EdgesegError):
    """A data set, image, mask or video could not be used; names the file."""


class ModelError(EdgesegError):
    """A model file or checkpoint is unreadable, foreign or inconsistent."""


class MissingDependencyError(EdgesegError, ImportError):
    """An optional dependency is not installed; says which extra brings it."""
