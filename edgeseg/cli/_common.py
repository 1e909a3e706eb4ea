"""Argument types the command modules share.

>>> floats("0.75,1, 1.25")
(0.75, 1.0, 1.25)
"""

from __future__ import annotations


def floats(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split(",") if x.strip())
