"""Write ``docs/ego_motion_strip.png``: frames of a synthetic drive round a bend, each above its mask.

The live ``synthetic://`` source with ``speed`` and ``turn`` shows this street; every mask is
exactly what its frame draws. Frames are rendered at twice the strip's size and shrunk, which
also keeps the PNG small (the sensor noise of a full-size frame does not compress).

    python docs/ego_motion_strip.py                       # the figure in the docs
    python docs/ego_motion_strip.py --seed 3 --turn -0.1 --out /tmp/strip.png
"""

from __future__ import annotations

import argparse
import os
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from edgeseg.data.synthetic import SYNTHETIC_PALETTE
from edgeseg.data.video import SyntheticVideo
from edgeseg.utils.atomic import atomic_path
from edgeseg.visualize import colorize


def strip(seed: int, size=(126, 224), frames: int = 6, every: int = 24, speed: float = 8.0, turn: float = 0.2,
          fps: float = 30.0, gap: int = 4) -> np.ndarray:
    """A BGR strip: ``frames`` frames ``every`` frames apart (image above mask), labelled with their index."""
    h, w = size
    video = SyntheticVideo(seed, (2 * h, 2 * w), speed=speed, turn=turn, fps=fps)
    out = np.full((2 * h + gap, frames * (w + gap) - gap, 3), 255, np.uint8)
    for k in range(frames):
        index = k * every
        image, mask = video.frame_at(index)
        x = k * (w + gap)
        out[:h, x:x + w] = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        out[h + gap:, x:x + w] = colorize(cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST),
                                          SYNTHETIC_PALETTE)
        label = f"frame {index}"
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.38, 1)
        cv2.rectangle(out, (x, h - th - 8), (x + tw + 8, h), (32, 32, 32), -1)
        cv2.putText(out, label, (x + 4, h - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "ego_motion_strip.png"))
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--speed", type=float, default=8.0, help="pixels per frame at 720 rows (default 8)")
    ap.add_argument("--turn", type=float, default=0.2, help="degrees per frame, > 0 right (default 0.2)")
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--every", type=int, default=24, help="frames between the strip's frames (default 24)")
    a = ap.parse_args(argv)
    image = strip(a.seed, speed=a.speed, turn=a.turn, fps=a.fps, every=a.every)
    with atomic_path(a.out, suffix=".png") as tmp:
        if not cv2.imwrite(tmp, image, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
            raise OSError(f"OpenCV could not write {a.out}")
    print(f"{a.out}: {image.shape[1]}x{image.shape[0]}, {os.path.getsize(a.out) / 1024:.0f} KB "
          f"(seed {a.seed}, speed {a.speed:g} px/frame at 720 rows, turn {a.turn:g} deg/frame, every {a.every} frames)")


if __name__ == "__main__":
    main()
