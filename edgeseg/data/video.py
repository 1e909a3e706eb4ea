"""Synthetic street video with exact per-frame masks: cars drive, people walk, the camera pans
(and, asked to, drives forward and turns).

:class:`SyntheticVideo` is a seeded street whose ``frame(t)`` draws time ``t`` (seconds) in a
few milliseconds, so it can back a live ``synthetic://`` source; :func:`write_video` renders an
mp4 (and optionally the ground-truth masks) for runtime and benchmark tests;
:class:`SyntheticDrive` is the frames of one drive as a data set (``synthetic://?speed=4``).

>>> v = SyntheticVideo(seed=1, size=(64, 96))
>>> a, m = v.frame(0.0)
>>> b, _ = v.frame(0.5)
>>> a.shape, m.shape, bool((a != b).any())
((64, 96, 3), (64, 96), True)
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from ..errors import ConfigError, DataError
from ..utils.atomic import atomic_path
from .base import Sample, SegDataset
from .synthetic import SYNTHETIC_CLASSES, SYNTHETIC_PALETTE, Street


class SyntheticVideo:
    """A street that evolves with time: ``frame(t) -> (image BGR, mask)``, deterministic in (seed, t).

    Cars drive along their lanes (oncoming ones approach, others pull away) and reappear at
    the far end or from behind the camera; walkers move along the pavement or cross and turn at
    the kerbs; the camera pans and bobs a little; the light and clouds drift.

    Ego-motion (off by default): ``speed`` drives the camera forward, in pixels per frame at 720
    rows (the median optical flow of the ground below the horizon; ``speed * H / 720`` px at
    height H, so a drive looks the same at any size); ``turn`` is its yaw rate in degrees per
    frame (> 0 right, needs a speed: the road bends round, radius speed / turn); ``fps`` turns
    those per-frame rates into the seconds ``frame`` takes. ``speed=0`` gives exactly the frames
    of a camera that never drives. The mask of every frame is exactly what is drawn in it.

    >>> v = SyntheticVideo(seed=3, size=(48, 48))
    >>> np.array_equal(v.frame(1.25)[1], SyntheticVideo(seed=3, size=(48, 48)).frame(1.25)[1])
    True
    >>> drive = SyntheticVideo(seed=3, size=(48, 48), speed=4, turn=0.1, fps=30)
    >>> drive.frame_at(10)[1].shape, round(drive.metres_per_second, 2) > 0
    ((48, 48), True)
    """

    classes = SYNTHETIC_CLASSES
    palette = SYNTHETIC_PALETTE

    def __init__(self, seed: int = 0, size=(256, 256), speed: float = 0.0, turn: float = 0.0, fps: float = 30.0):
        self.seed, self.size = int(seed), tuple(int(s) for s in size)
        self.speed, self.turn, self.fps = speed, turn, fps
        self._street = Street(self.seed, self.size, motion=True, speed=speed, turn=turn, fps=fps)

    @property
    def metres_per_second(self) -> float:
        """How fast the camera drives (0 when it does not)."""
        return self._street.speed_mps

    def frame(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """The image (HxWx3 uint8 BGR) and mask (HxW uint8 ids) at ``t`` seconds."""
        return self._street.render(float(t))

    def frame_at(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``index`` at ``fps``: ``frame(index / fps)``."""
        return self.frame(index / self.fps)

    def __repr__(self) -> str:
        drive = f", speed={self.speed:g}, turn={self.turn:g}, fps={self.fps:g}" if self.speed else ""
        return f"SyntheticVideo(seed={self.seed}, size={self.size}{drive})"


class SyntheticDrive(SegDataset):
    """The first ``num`` frames of one drive (:class:`SyntheticVideo` with ``speed``, ``turn``,
    ``fps``) as a data set: item i is frame i with its exact mask, the frames a live
    ``synthetic://?seed=S&size=HxW&fps=F&speed=V&turn=T`` source delivers, to score offline.

    >>> ds = SyntheticDrive(3, size=(48, 64), seed=2, speed=4, fps=30)
    >>> len(ds), ds[1].name, np.array_equal(ds[1].mask, ds.video.frame_at(1)[1])
    (3, 'drive-2-000001', True)
    """

    classes = SYNTHETIC_CLASSES
    palette = SYNTHETIC_PALETTE

    def __init__(self, num: int, size=(256, 256), seed: int = 0, speed: float = 0.0, turn: float = 0.0,
                 fps: float = 30.0):
        super().__init__()
        if num < 0:
            raise ConfigError("a data set cannot have a negative size", got=num)
        self.num, self.size, self.seed = int(num), tuple(int(s) for s in size), int(seed)
        self.video = SyntheticVideo(self.seed, self.size, speed, turn, fps)

    def __len__(self) -> int:
        return self.num

    def __getitem__(self, i: int) -> Sample:
        i = self._index(i)
        image, mask = self.video.frame_at(i)
        return Sample(image, mask, f"drive-{self.seed}-{i:06d}")

    def __repr__(self) -> str:
        v = self.video
        return f"SyntheticDrive({self.num}, size={self.size}, seed={self.seed}, speed={v.speed:g}, " \
               f"turn={v.turn:g}, fps={v.fps:g})"


def write_video(path: str | os.PathLike, num_frames: int = 60, fps: float = 15.0, size=(256, 256),
                seed: int = 0, masks_dir: str | os.PathLike | None = None, speed: float = 0.0,
                turn: float = 0.0) -> list[np.ndarray]:
    """Write an mp4 ('mp4v') of a :class:`SyntheticVideo`, atomically; return the per-frame masks.

    With ``masks_dir``, each frame's mask is also saved there as ``000000.png``, ... (class ids);
    ``speed`` and ``turn`` drive the camera (:class:`SyntheticVideo`, at ``fps``).

    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> masks = write_video(os.path.join(d, "street.mp4"), num_frames=3, fps=10, size=(48, 64))
    >>> len(masks), masks[0].shape, cv2.VideoCapture(os.path.join(d, "street.mp4")).get(cv2.CAP_PROP_FRAME_COUNT)
    (3, (48, 64), 3.0)
    """
    if num_frames < 1 or fps <= 0:
        raise ConfigError("a video needs at least one frame and a positive frame rate",
                          got=f"num_frames={num_frames}, fps={fps}")
    h, w = (int(s) for s in size)
    if h % 2 or w % 2:
        raise ConfigError("video frame size must be even (codecs subsample colour by 2)",
                          got=f"{h}x{w}", fix=f"use size=({h + h % 2}, {w + w % 2})")
    video = SyntheticVideo(seed, (h, w), speed, turn, fps)
    if masks_dir is not None:
        os.makedirs(masks_dir, exist_ok=True)
    masks = []
    with atomic_path(path, suffix=".mp4") as tmp:
        writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (w, h))
        if not writer.isOpened():
            raise DataError("OpenCV cannot open a video writer", path=os.fspath(path),
                            expected="an OpenCV build with FFmpeg (mp4v codec)", got="VideoWriter not opened",
                            fix="pip install opencv-python (the wheels include FFmpeg)")
        try:
            for i in range(num_frames):
                image, mask = video.frame(i / fps)
                writer.write(image)
                masks.append(mask)
                if masks_dir is not None:
                    mask_path = os.path.join(os.fspath(masks_dir), f"{i:06d}.png")
                    if not cv2.imwrite(mask_path, mask):
                        raise DataError("cannot write mask file", path=mask_path, fix="check the folder")
        finally:
            writer.release()
    return masks
