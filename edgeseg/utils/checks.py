"""Checks of the Python API's numeric arguments and output paths, run before any model is read.

The CLI refuses the same values at parse time (:mod:`edgeseg.cli._common` types); these catch a
Python caller, with the argument's name and its valid range.

>>> check_int("num", 0, 1)
Traceback (most recent call last):
...
edgeseg.errors.ConfigError: num (--num) out of range
  expected: an integer >= 1
  got:      0
>>> check_float("max_miou_drop", 1.5, 0, 100)
"""

from __future__ import annotations

import math
import numbers
import os

from ..errors import ConfigError


def _flag(name: str) -> str:
    return f"{name} (--{name.replace('_', '-')})"


def check_int(name: str, value, low: int, *, optional: bool = False) -> None:
    """``value`` is an integer >= ``low`` (or None when ``optional``)."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ConfigError(f"{_flag(name)} out of range", expected=f"an integer >= {low}", got=repr(value))


def check_float(name: str, value, low: float, high: float, *, optional: bool = False,
                low_open: bool = False) -> None:
    """``value`` is a finite number in [low, high] ((low, high] with ``low_open``)."""
    if value is None and optional:
        return
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not (value > low if low_open else value >= low) or value > high:
        raise ConfigError(f"{_flag(name)} out of range",
                          expected=f"a finite number {'>' if low_open else '>='} {low:g} and <= {high:g}",
                          got=repr(value))


def check_output_file(path, what: str = "--out", example: str = "out") -> str:
    """A path a file can be written at: an existing folder there would fail only at the final rename,
    after all the work."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ConfigError(f"{what} is a folder", path=path, expected="a file path to write",
                          got="an existing folder", fix=f"name a file in it, e.g. {os.path.join(path, example)}")
    return path
