"""Tiny data set trees in their real on-disk formats, written with OpenCV and real PNG files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from .data_fixtures import CITY_LABEL_IDS, blocks_mask, image_for, write

from edgeseg.data.png import write_index_png
from edgeseg.data.voc import voc_colormap


@pytest.fixture
def folder_tree(tmp_path) -> Path:
    """root/images/{a.jpg,b.png} + root/masks/{a,b}.png, ids 0..2."""
    root = tmp_path / "set"
    for name, ext, seed in (("a", ".png", 0), ("b", ".bmp", 1)):
        mask = blocks_mask(24, 32, 3, seed)
        write(root / "images" / f"{name}{ext}", image_for(mask))
        write(root / "masks" / f"{name}.png", mask)
    return root


@pytest.fixture
def voc_tree(tmp_path) -> Path:
    """VOCdevkit/VOC2012 with palette-PNG masks that have a 255 border, like the real ones."""
    root = tmp_path / "VOCdevkit" / "VOC2012"
    names = ["2007_000032", "2007_000039", "2007_000063"]
    for i, name in enumerate(names):
        mask = blocks_mask(20, 30, 21, seed=i, block=5)
        mask[[0, -1], :] = 255
        mask[:, [0, -1]] = 255
        write(root / "JPEGImages" / f"{name}.jpg", image_for(mask))
        (root / "SegmentationClass").mkdir(parents=True, exist_ok=True)
        write_index_png(root / "SegmentationClass" / f"{name}.png", mask, palette=voc_colormap(256),
                        filter_type=[0, 1, 2, 3, 4])
    sets = root / "ImageSets" / "Segmentation"
    sets.mkdir(parents=True)
    (sets / "train.txt").write_text("\n".join(names[:2]) + "\n")
    (sets / "val.txt").write_text(names[2] + "\n")
    (sets / "trainval.txt").write_text("\n".join(names) + "\n")
    return root


@pytest.fixture
def cityscapes_tree(tmp_path) -> Path:
    """leftImg8bit/gtFine for two cities in val; one frame also has a labelTrainIds file."""
    root = tmp_path / "cityscapes"
    ids = np.tile(np.repeat(CITY_LABEL_IDS, 4), (16, 1))          # 16 x 48
    for city, frame in (("aachen", "aachen_000000_000019"), ("bremen", "bremen_000001_000019")):
        write(root / "leftImg8bit" / "val" / city / f"{frame}_leftImg8bit.png", image_for(ids))
        write(root / "gtFine" / "val" / city / f"{frame}_gtFine_labelIds.png", ids)
    # bremen's trainIds file must win over its labelIds (here: all "road")
    write(root / "gtFine" / "val" / "bremen" / "bremen_000001_000019_gtFine_labelTrainIds.png",
          np.zeros_like(ids))
    return root
