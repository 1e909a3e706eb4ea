"""Image/mask folder pairs: ``root/images/**`` + ``root/masks/**``, matched by relative path and stem.

Optional split folders (``root/images/train``, ``root/images/val``) are used when present.
Masks are single-channel PNGs of class ids (255 = ignore). Class names come from
``root/classes.txt`` (one per line), else from ``num_classes``, else from the largest id found.

>>> import tempfile, cv2
>>> root = tempfile.mkdtemp()
>>> for d in ("images", "masks"): os.makedirs(os.path.join(root, d))
>>> _ = cv2.imwrite(os.path.join(root, "images", "a.jpg"), np.zeros((4, 6, 3), np.uint8))
>>> _ = cv2.imwrite(os.path.join(root, "masks", "a.png"), np.full((4, 6), 2, np.uint8))
>>> ds = FolderDataset(root)
>>> len(ds), ds.classes, ds[0].mask.shape
(1, ('class0', 'class1', 'class2'), (4, 6))
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DataError
from .base import IGNORE_INDEX, IMAGE_SUFFIXES, SegDataset, read_mask

MASK_SUFFIX = ".png"
# Subfolder names that mark a split layout; other subfolders are just part of the file tree.
SPLIT_NAMES = {"train", "val", "test", "trainval"}


def _files(folder: Path, suffixes) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)


def _read_classes(path: Path) -> tuple[str, ...]:
    names = tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    if not names:
        raise DataError("classes.txt is empty", path=str(path), expected="one class name per line",
                        got="no names", fix="write the class names, one per line, in id order")
    return names


def _infer_num_classes(masks_dir: Path) -> int:
    """Largest id + 1 over every mask of every split, so train and val agree on the classes."""
    seen = np.zeros(256, bool)
    for p in _files(masks_dir, (MASK_SUFFIX,)):
        seen |= np.bincount(read_mask(p).ravel(), minlength=256) > 0
    seen[IGNORE_INDEX] = False
    ids = np.flatnonzero(seen)
    return int(ids.max()) + 1 if ids.size else 1


class FolderDataset(SegDataset):
    """Pairs ``images/<rel>/<stem>.<any of uri.IMAGE_SUFFIXES>`` with ``masks/<rel>/<stem>.png``.

    ``split`` picks ``images/<split>`` when the images folder has split subfolders; a flat
    folder serves every split. ``masks=False`` reads images only (e.g. calibration).

    >>> FolderDataset("/nonexistent")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    edgeseg.errors.DataError: image folder not found: /nonexistent/images
    ...
    """

    def __init__(self, root: str | os.PathLike, split: str | None = "train", num_classes: int | None = None,
                 classes=None, palette=None, masks: bool = True):
        self.root = Path(root)
        images_dir, masks_dir = self.root / "images", self.root / "masks"
        if not images_dir.is_dir():
            found = sorted(os.listdir(self.root)) if self.root.is_dir() else "no such folder"
            raise DataError("image folder not found", path=str(images_dir),
                            expected="root/images/* and root/masks/* (optionally split into train/ val/)",
                            got=f"contents of {self.root}: {found}",
                            fix="point at the folder that holds images/ and masks/")
        splits = sorted(d.name for d in images_dir.iterdir() if d.is_dir())
        if split is not None and split in splits:
            images_dir, masks_dir = images_dir / split, masks_dir / split
        elif split is not None and set(splits) & SPLIT_NAMES:
            raise DataError("split folder not found", path=str(images_dir / split),
                            expected=f"one of: {', '.join(splits)}", got=split,
                            fix=f"pass split= one of {splits}, or add images/{split}/")
        self.split = split
        images = _files(images_dir, IMAGE_SUFFIXES)
        if not images:
            raise DataError("no images found", path=str(images_dir),
                            expected=f"files ending in {' '.join(IMAGE_SUFFIXES)}", got="none",
                            fix="check the folder, or the split name")
        items, stems = [], {}
        for img in images:
            rel = img.relative_to(images_dir).with_suffix("")
            if rel in stems:
                raise DataError("two images share one stem, so one mask cannot tell them apart",
                                path=str(img), got=f"also {stems[rel]}", fix="rename or remove one of them")
            stems[rel] = img
            mask = masks_dir / rel.with_suffix(MASK_SUFFIX)
            if masks and not mask.is_file():
                raise DataError("image has no mask", path=str(img), expected=f"mask file {mask}",
                                got="no such file", fix="add the mask, or remove the image from the data set")
            items.append((str(img), str(mask) if masks else None, rel.as_posix()))
        if classes is None and (self.root / "classes.txt").is_file():
            classes = _read_classes(self.root / "classes.txt")
        if classes is None:
            n = num_classes if num_classes is not None else _infer_num_classes(self.root / "masks")
            classes = tuple(f"class{i}" for i in range(n))
        elif num_classes is not None and num_classes != len(classes):
            raise DataError("num_classes conflicts with the class names", path=str(self.root / "classes.txt"),
                            expected=f"{len(classes)} (names given)", got=num_classes,
                            fix="drop num_classes, or fix classes.txt")
        super().__init__(items, classes, palette)
