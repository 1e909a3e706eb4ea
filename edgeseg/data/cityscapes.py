"""Cityscapes fine annotations, mapped to the 19 official training classes (others -> 255).

``root/leftImg8bit/{split}/{city}/*_leftImg8bit.png`` pairs with
``root/gtFine/{split}/{city}/*_gtFine_labelTrainIds.png`` when that file exists (made by
cityscapesscripts), else ``*_gtFine_labelIds.png`` mapped through a 256-entry lookup table.

>>> int(LABEL_TO_TRAIN[7]), int(LABEL_TO_TRAIN[26]), int(LABEL_TO_TRAIN[0])   # road, car, unlabeled
(0, 13, 255)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DataError
from .base import IGNORE_INDEX, SegDataset, read_mask

CITYSCAPES_CLASSES = ("road", "sidewalk", "building", "wall", "fence", "pole", "traffic light",
                      "traffic sign", "vegetation", "terrain", "sky", "person", "rider", "car", "truck",
                      "bus", "train", "motorcycle", "bicycle")
CITYSCAPES_PALETTE = ((128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153),
                      (153, 153, 153), (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152),
                      (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100),
                      (0, 80, 100), (0, 0, 230), (119, 11, 32))
# labelId -> trainId from cityscapesscripts' labels.py; ids not listed (unlabeled, ego vehicle,
# parking, rail track, guard rail, bridge, tunnel, polegroup, caravan, trailer, ...) are ignored.
_TRAIN_IDS = {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11,
              25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18}
LABEL_TO_TRAIN = np.full(256, IGNORE_INDEX, np.uint8)
LABEL_TO_TRAIN[list(_TRAIN_IDS)] = list(_TRAIN_IDS.values())

IMAGE_TAIL = "_leftImg8bit.png"


class CityscapesDataset(SegDataset):
    """Cityscapes ``split`` (train / val / test) with trainIds as mask values.

    ``annotations="gtCoarse"`` reads the coarse labels instead of the fine ones.

    >>> CityscapesDataset.classes[13], CityscapesDataset.palette[13]
    ('car', (0, 0, 142))
    """

    classes = CITYSCAPES_CLASSES
    palette = CITYSCAPES_PALETTE

    def __init__(self, root: str | os.PathLike, split: str = "train", annotations: str = "gtFine"):
        self.root, self.split = Path(root), split
        images_dir = self.root / "leftImg8bit" / split
        if not images_dir.is_dir():
            have = sorted(os.listdir(self.root / "leftImg8bit")) if (self.root / "leftImg8bit").is_dir() else []
            raise DataError("Cityscapes image folder not found", path=str(images_dir),
                            expected=f"leftImg8bit/{split}/<city>/*{IMAGE_TAIL}"
                                     + (f" (splits here: {', '.join(have)})" if have else ""),
                            got="no such folder", fix="point at the folder holding leftImg8bit/ and gtFine/")
        images = sorted(images_dir.glob(f"*/*{IMAGE_TAIL}"))
        if not images:
            raise DataError("no Cityscapes images found", path=str(images_dir),
                            expected=f"<city>/*{IMAGE_TAIL}", got="none", fix="check the download and split")
        items, self._needs_map = [], {}
        for img in images:
            stem = img.name[:-len(IMAGE_TAIL)]
            gt = self.root / annotations / split / img.parent.name
            train_ids = gt / f"{stem}_{annotations}_labelTrainIds.png"
            label_ids = gt / f"{stem}_{annotations}_labelIds.png"
            if train_ids.is_file():
                mask = train_ids
            elif label_ids.is_file():
                mask = label_ids
                self._needs_map[str(mask)] = True
            else:
                raise DataError("image has no annotation", path=str(img),
                                expected=f"{label_ids} (or {train_ids.name})", got="no such file",
                                fix=f"download {annotations}_trainvaltest.zip and unpack it next to leftImg8bit/")
            items.append((str(img), str(mask), f"{img.parent.name}/{stem}"))
        super().__init__(items)

    def load_mask(self, path: str) -> np.ndarray:
        mask = read_mask(path)
        return LABEL_TO_TRAIN[mask] if self._needs_map.get(path) else mask
