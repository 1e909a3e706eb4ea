"""Paired augmentations: each is a frozen dataclass ``(image, mask, rng) -> (image, mask)``.

Geometry is applied to image and mask alike (image bilinear, mask nearest, padding ignore),
colour to the image only. ``mask`` may be None (unlabelled images). Normalisation to float
belongs to :mod:`edgeseg.preprocess`, not here.

>>> rng = np.random.default_rng(0)
>>> image, mask = np.zeros((64, 80, 3), np.uint8), np.zeros((64, 80), np.uint8)
>>> a, m = train_augment((32, 32))(image, mask, rng)
>>> a.shape, m.shape, a.dtype, m.dtype
((32, 32, 3), (32, 32), dtype('uint8'), dtype('uint8'))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import ConfigError
from .base import IGNORE_INDEX

Transform = Callable[[np.ndarray, "np.ndarray | None", np.random.Generator], tuple]


@dataclass(frozen=True)
class RandomScale:
    """Resize by a factor drawn uniformly from [min_scale, max_scale].

    >>> img, m = RandomScale(2.0, 2.0)(np.zeros((3, 5, 3), np.uint8), np.zeros((3, 5), np.uint8),
    ...                                np.random.default_rng(0))
    >>> img.shape, m.shape
    ((6, 10, 3), (6, 10))
    """

    min_scale: float = 0.5
    max_scale: float = 2.0

    def __post_init__(self):
        if not 0 < self.min_scale <= self.max_scale:
            raise ConfigError("RandomScale needs 0 < min_scale <= max_scale",
                              got=(self.min_scale, self.max_scale), fix="e.g. RandomScale(0.5, 2.0)")

    def __call__(self, image, mask, rng):
        s = float(rng.uniform(self.min_scale, self.max_scale))
        h, w = image.shape[:2]
        size = (max(1, round(w * s)), max(1, round(h * s)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
        if mask is not None:
            # NEAREST_EXACT samples pixel centres as INTER_LINEAR does; plain NEAREST is half a pixel off.
            mask = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST_EXACT)
        return image, mask


@dataclass(frozen=True)
class RandomCrop:
    """A random ``height`` x ``width`` window; smaller inputs are padded (image 0, mask 255).

    >>> img, m = RandomCrop(4, 4)(np.ones((2, 2, 3), np.uint8), np.zeros((2, 2), np.uint8),
    ...                          np.random.default_rng(0))
    >>> img.shape, int((m == 255).sum())
    ((4, 4, 3), 12)
    """

    height: int
    width: int

    def __post_init__(self):
        if self.height <= 0 or self.width <= 0:
            raise ConfigError("RandomCrop needs a positive size", got=(self.height, self.width))

    def __call__(self, image, mask, rng):
        h, w = image.shape[:2]
        ph, pw = max(0, self.height - h), max(0, self.width - w)
        if ph or pw:
            image = cv2.copyMakeBorder(image, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=(0, 0, 0))
            if mask is not None:
                mask = cv2.copyMakeBorder(mask, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=IGNORE_INDEX)
            h, w = image.shape[:2]
        y = int(rng.integers(0, h - self.height + 1))
        x = int(rng.integers(0, w - self.width + 1))
        window = (slice(y, y + self.height), slice(x, x + self.width))
        return image[window].copy(), None if mask is None else mask[window].copy()


@dataclass(frozen=True)
class HorizontalFlip:
    """Mirror left-right with probability ``p``.

    >>> img, m = HorizontalFlip(1.0)(np.arange(6, dtype=np.uint8).reshape(1, 2, 3), np.array([[1, 2]], np.uint8),
    ...                              np.random.default_rng(0))
    >>> m.tolist(), img[0, 0].tolist()
    ([[2, 1]], [3, 4, 5])
    """

    p: float = 0.5

    def __post_init__(self):
        if not 0 <= self.p <= 1:
            raise ConfigError("HorizontalFlip probability must lie in [0, 1]", got=self.p)

    def __call__(self, image, mask, rng):
        if rng.random() >= self.p:
            return image, mask
        return image[:, ::-1].copy(), None if mask is None else mask[:, ::-1].copy()


@dataclass(frozen=True)
class ColorJitter:
    """Random brightness, contrast, saturation (factors in [1-x, 1+x]) and hue (shift in [-x, x]
    of a full turn), on the image only, in BGR.

    >>> img = np.full((2, 2, 3), 100, np.uint8)
    >>> out, m = ColorJitter(0.5, 0.5, 0.5, 0.1)(img, None, np.random.default_rng(0))
    >>> out.shape, out.dtype, m
    ((2, 2, 3), dtype('uint8'), None)
    """

    brightness: float = 0.0
    contrast: float = 0.0
    saturation: float = 0.0
    hue: float = 0.0

    def __post_init__(self):
        if min(self.brightness, self.contrast, self.saturation) < 0 or not 0 <= self.hue <= 0.5:
            raise ConfigError("ColorJitter needs brightness/contrast/saturation >= 0 and hue in [0, 0.5]",
                              got=(self.brightness, self.contrast, self.saturation, self.hue))

    def __call__(self, image, mask, rng):
        b, c, s = (float(rng.uniform(1 - x, 1 + x)) for x in (self.brightness, self.contrast, self.saturation))
        h = float(rng.uniform(-self.hue, self.hue))
        out = image.astype(np.float32) * b
        if c != 1:
            gray_mean = cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY).mean()
            out = (out - gray_mean) * c + gray_mean
        if s != 1:
            gray = cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY).astype(np.float32)
            out = (out - gray[..., None]) * s + gray[..., None]
        out = np.clip(out, 0, 255).astype(np.uint8)
        if h:
            hsv = cv2.cvtColor(out, cv2.COLOR_BGR2HSV)
            # OpenCV keeps 8-bit hue in 0..179 (degrees / 2).
            hsv[..., 0] = ((hsv[..., 0].astype(np.int16) + round(h * 180)) % 180).astype(np.uint8)
            out = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
        return out, mask


@dataclass(frozen=True)
class Compose:
    """Apply transforms in order, all drawing from the same ``rng``.

    >>> t = Compose([HorizontalFlip(1.0), HorizontalFlip(1.0)])
    >>> t(np.zeros((1, 2, 3), np.uint8), np.array([[0, 1]], np.uint8), np.random.default_rng(0))[1].tolist()
    [[0, 1]]
    """

    transforms: Sequence[Transform] = ()

    def __post_init__(self):
        object.__setattr__(self, "transforms", tuple(self.transforms))
        for t in self.transforms:
            if not callable(t):
                raise ConfigError("Compose takes callables (image, mask, rng) -> (image, mask)", got=repr(t))

    def __call__(self, image, mask, rng):
        for t in self.transforms:
            image, mask = t(image, mask, rng)
        return image, mask


def train_augment(size: tuple[int, int]) -> Compose:
    """The default training recipe for an (H, W) crop: scale 0.5-2, crop, flip, mild colour jitter.

    >>> [type(t).__name__ for t in train_augment((256, 256)).transforms]
    ['RandomScale', 'RandomCrop', 'HorizontalFlip', 'ColorJitter']
    """
    h, w = size
    return Compose([RandomScale(0.5, 2.0), RandomCrop(int(h), int(w)), HorizontalFlip(0.5),
                    ColorJitter(0.25, 0.25, 0.25, 0.02)])
