"""A contact sheet of synthetic scenes, each image above its colourised mask (docs, eyeballing).

``python -m edgeseg.data.preview docs/synthetic_examples.png`` writes the docs figure.

>>> sheet = example_sheet(num=2, cols=2, size=(32, 32))
>>> sheet.shape
(64, 68, 3)
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from ..utils.atomic import atomic_path
from ..visualize import colorize
from .synthetic import SYNTHETIC_PALETTE, render_scene


def example_sheet(num: int = 8, cols: int = 4, size=(256, 256), seed: int = 0, gap: int = 4) -> np.ndarray:
    """A BGR grid of ``num`` scenes (seeds ``seed..seed+num-1``), image above mask, ``cols`` per row."""
    h, w = size
    rows = -(-num // cols)
    sheet = np.full((rows * (2 * h + gap) - gap, cols * (w + gap) - gap, 3), 255, np.uint8)
    for i in range(num):
        image, mask = render_scene(seed + i, size)
        y, x = (i // cols) * (2 * h + gap), (i % cols) * (w + gap)
        sheet[y:y + h, x:x + w] = image
        # ignore (255) in white: unlabelled pixels stand out from every class colour
        sheet[y + h:y + 2 * h, x:x + w] = colorize(mask, SYNTHETIC_PALETTE, ignore_color=(255, 255, 255))
    return sheet


def write_example_sheet(path: str, **kw) -> None:
    """Write :func:`example_sheet` as a PNG, atomically.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "sheet.png")
    >>> write_example_sheet(path, num=2, cols=2, size=(32, 32))
    >>> cv2.imread(path).shape
    (64, 68, 3)
    """
    with atomic_path(path, suffix=".png") as tmp:
        if not cv2.imwrite(tmp, example_sheet(**kw), [cv2.IMWRITE_PNG_COMPRESSION, 9]):
            raise OSError(f"OpenCV could not write {path}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path")
    ap.add_argument("--num", type=int, default=8)
    ap.add_argument("--cols", type=int, default=4)
    ap.add_argument("--size", type=int, nargs=2, default=(256, 256), metavar=("H", "W"))
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    write_example_sheet(a.path, num=a.num, cols=a.cols, size=tuple(a.size), seed=a.seed)


if __name__ == "__main__":
    main()
