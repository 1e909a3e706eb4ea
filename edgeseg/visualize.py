"""Palettes, colourised masks, overlays and legends (numpy + OpenCV).

Palettes in ModelMeta are RGB; frames are BGR, so colours are flipped once into a lookup table.

>>> import numpy as np
>>> labels = np.array([[0, 1], [1, 0]], np.uint8)
>>> colorize(labels, ((255, 0, 0), (0, 255, 0)))[0, 0].tolist()  # BGR of red
[0, 0, 255]
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np


def palette_lut(palette) -> np.ndarray:
    """RGB palette -> 256x3 uint8 BGR lookup; ids past the palette (and 255 = ignore) are black."""
    return _lut(_palette_key(palette)).reshape(256, 3).copy()


def _palette_key(palette) -> tuple:
    """A hashable copy of the first 255 colours (255 is the ignore id), lists and arrays alike."""
    return tuple(tuple(int(v) for v in rgb) for rgb in list(palette)[:255])


@lru_cache(maxsize=16)
def _lut(palette: tuple) -> np.ndarray:
    lut = np.zeros((256, 1, 3), np.uint8)  # the shape cv2.LUT takes for three channels
    for i, (r, g, b) in enumerate(palette):
        lut[i, 0] = (b, g, r)
    lut.flags.writeable = False
    return lut


def colorize(labels: np.ndarray, palette) -> np.ndarray:
    """HxW class ids -> HxWx3 BGR colours."""
    lut = _lut(_palette_key(palette))
    ids = labels.astype(np.uint8, copy=False)
    # cv2.LUT on three copies of the ids: 0.7 ms at 1280x720 against 7.5 ms for lut[ids]
    return cv2.LUT(cv2.merge((ids, ids, ids)), lut)


def overlay(frame: np.ndarray, labels: np.ndarray, palette, alpha: float = 0.5) -> np.ndarray:
    """Blend the colourised labels over a BGR frame of the same size."""
    colors = colorize(labels, palette)
    if colors.shape[:2] != frame.shape[:2]:
        colors = cv2.resize(colors, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_NEAREST)
    return cv2.addWeighted(frame, 1.0 - alpha, colors, alpha, 0.0)


def legend(classes, palette, width: int = 200, row: int = 22) -> np.ndarray:
    """A BGR image listing each class with its colour swatch."""
    img = np.full((row * len(classes) + 6, width, 3), 255, np.uint8)
    for i, (name, (r, g, b)) in enumerate(zip(classes, palette)):
        y = 3 + i * row
        cv2.rectangle(img, (4, y + 2), (4 + row - 6, y + row - 4), (b, g, r), -1)
        cv2.putText(img, str(name), (row + 4, y + row - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (0, 0, 0), 1, cv2.LINE_AA)
    return img


def side_by_side(*images: np.ndarray, height: int | None = None) -> np.ndarray:
    """Concatenate BGR images horizontally at one height (for snapshots and docs)."""
    height = height or images[0].shape[0]
    resized = [cv2.resize(im, (max(1, round(im.shape[1] * height / im.shape[0])), height),
                          interpolation=cv2.INTER_NEAREST) for im in images]
    return np.concatenate(resized, axis=1)
