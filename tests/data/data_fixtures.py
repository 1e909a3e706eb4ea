"""Helpers for the data tests: images that encode their masks, block masks, file writers."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def image_for(mask: np.ndarray) -> np.ndarray:
    """A BGR image whose colour encodes the class id, so tests can see what went where."""
    lut = np.zeros((256, 3), np.uint8)
    lut[:, 0] = (np.arange(256) * 37) % 256
    lut[:, 1] = (np.arange(256) * 11 + 40) % 256
    lut[:, 2] = 200
    return lut[mask]


def blocks_mask(h: int, w: int, num_classes: int, seed: int = 0, block: int = 8) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, num_classes, (-(-h // block), -(-w // block)), dtype=np.uint8)
    return np.kron(small, np.ones((block, block), np.uint8))[:h, :w]


def write(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), array), path
    return path


# Cityscapes labelIds in the fixture and the trainIds they must become.
CITY_LABEL_IDS = np.array([7, 8, 26, 24, 0, 1, 4, 33, 23, 29, 21, 9], np.uint8)
CITY_TRAIN_IDS = np.array([0, 1, 13, 11, 255, 255, 255, 18, 10, 255, 8, 255], np.uint8)
