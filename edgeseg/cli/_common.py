"""Argument types the command modules share.

Each checks one value where argparse parses it, so a bad value fails before any data is rendered
or any model loaded, as ``edgeseg train: error: argument --lr: expected a finite number > 0, got
'nan'`` (exit 2, no traceback).

>>> floats("0.75,1, 1.25")
(0.75, 1.0, 1.25)
>>> int_at_least(1)("3"), int_at_least(0)("0")
(3, 0)
>>> positive_float("2e-3")
0.002
>>> positive_floats("0.5,1")
(0.5, 1.0)
"""

from __future__ import annotations

import argparse
import math
import os


def floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def int_at_least(low: int):
    """An argparse type: an integer >= ``low``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
        return value
    parse.__name__ = f"int>={low}"
    return parse


def _finite(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def finite_float(text: str) -> float:
    """An argparse type: any finite number (no nan, no inf)."""
    return _finite(text, "a finite number")


def nonnegative_float(text: str) -> float:
    """An argparse type: a finite number >= 0."""
    value = _finite(text, "a finite number >= 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0."""
    value = _finite(text, "a finite number > 0")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def unit_interval(text: str) -> float:
    """An argparse type: a fraction in [0, 1] (an agreement, a share)."""
    value = _finite(text, "a number from 0 to 1")
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    return value


def positive_floats(text: str) -> tuple[float, ...]:
    """An argparse type: comma-separated finite numbers, each > 0 (eval's ``--scales``)."""
    values = tuple(positive_float(x.strip()) for x in text.split(",") if x.strip())
    if not values:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers > 0, got {text!r}")
    return values


def output_file(text: str) -> str:
    """An argparse type: a path to write a file at: not an existing folder, and in a folder this
    process can write (created if missing), so a report is not lost after an hour of work."""
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text!r} is a folder; expected a file path to write, "
                                         f"e.g. {os.path.join(text, 'out')!r}")
    # The nearest folder that exists must be a writable folder (the rest is created when writing);
    # nothing is created here, so a command refused later leaves no empty folders behind.
    folder = os.path.dirname(os.path.abspath(text))
    while not os.path.exists(folder) and os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: {folder!r} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: the folder {folder!r} is not writable")
    return text


def output_dir(text: str) -> str:
    """An argparse type: a folder to write into (not an existing file)."""
    if os.path.exists(text) and not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text!r} is an existing file; expected a folder to write into")
    return text


def data_spec(text: str) -> str:
    """An argparse type: a data spec whose scheme, options and count read (nothing is opened yet)."""
    from ..data.spec import check_data_spec
    from ..errors import EdgesegError
    try:
        check_data_spec(text)
    except EdgesegError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text
