"""PASCAL VOC 2012 segmentation: ``JPEGImages/*.jpg`` + palette PNGs in ``SegmentationClass/``.

The masks' palette *indices* are the class ids (255 = the "void" border), read with
:func:`edgeseg.data.png.read_index_png` because OpenCV would return their colours.

>>> VOC_CLASSES[15], VOC_PALETTE[15], len(VOC_CLASSES)
('person', (192, 128, 128), 21)
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import DataError
from .base import SegDataset
from .png import read_index_png

VOC_CLASSES = ("background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
               "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant",
               "sheep", "sofa", "train", "tvmonitor")


def voc_colormap(n: int = 256) -> tuple[tuple[int, int, int], ...]:
    """The VOC devkit's bit-interleaved RGB colour map (index 255 is the border colour).

    >>> voc_colormap()[1], voc_colormap()[255]
    ((128, 0, 0), (224, 224, 192))
    """
    out = []
    for i in range(n):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        out.append((r, g, b))
    return tuple(out)


VOC_PALETTE = voc_colormap(len(VOC_CLASSES))


def find_voc_root(root: str | os.PathLike) -> Path:
    """Accept ``.../VOC2012``, its parent ``VOCdevkit``, or the folder holding ``VOCdevkit``.

    >>> find_voc_root("/nonexistent")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    edgeseg.errors.DataError: not a PASCAL VOC folder: /nonexistent
    ...
    """
    root = Path(root)
    for cand in (root, root / "VOC2012", root / "VOCdevkit" / "VOC2012"):
        if (cand / "JPEGImages").is_dir():
            return cand
    raise DataError("not a PASCAL VOC folder", path=str(root),
                    expected="JPEGImages/, SegmentationClass/, ImageSets/Segmentation/ (in VOC2012/ or here)",
                    got=f"contents: {sorted(os.listdir(root))[:10] if root.is_dir() else 'no such folder'}",
                    fix="point at VOCdevkit/VOC2012 (or VOCdevkit)")


class VOCDataset(SegDataset):
    """VOC 2012 segmentation for ``split`` in train / val / trainval (any list in ImageSets/Segmentation).

    ``mask_dir`` may name another folder of index PNGs, e.g. ``SegmentationClassAug`` (grayscale).

    >>> VOCDataset.classes[0], VOCDataset.ignore_index
    ('background', 255)
    """

    classes = VOC_CLASSES
    palette = VOC_PALETTE

    def __init__(self, root: str | os.PathLike, split: str = "train", mask_dir: str = "SegmentationClass"):
        self.root = find_voc_root(root)
        self.split = split
        sets = self.root / "ImageSets" / "Segmentation"
        listing = sets / f"{split}.txt"
        if not listing.is_file():
            have = sorted(p.stem for p in sets.glob("*.txt")) if sets.is_dir() else []
            raise DataError("VOC split list not found", path=str(listing),
                            expected=f"one of: {', '.join(have) or 'train, val, trainval'}", got=split,
                            fix="pass an existing split, or restore ImageSets/Segmentation/")
        names = [line.split()[0] for line in listing.read_text().splitlines() if line.strip()]
        if not names:
            raise DataError("VOC split list is empty", path=str(listing), expected="one image id per line",
                            got="no ids", fix="restore the list from the VOC devkit")
        masks = self.root / mask_dir
        items = [(str(self.root / "JPEGImages" / f"{n}.jpg"), str(masks / f"{n}.png"), n) for n in names]
        for image, mask, _ in items:
            if not os.path.isfile(mask):
                raise DataError("image has no mask", path=image, expected=f"mask file {mask}",
                                got="no such file", fix=f"restore {mask_dir}/, or drop the id from {listing.name}")
        super().__init__(items)

    def load_mask(self, path: str):
        return read_index_png(path)
