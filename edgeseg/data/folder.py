"""Image/mask folder pairs: ``root/images/**`` + ``root/masks/**``, matched by relative path and stem.

Optional split folders (``root/images/train``, ``root/images/val``) are used when present.
Masks are PNGs of class ids (255 = ignore): grayscale (8 or 16-bit), or palette PNGs (CVAT, labelme,
PIL "P") whose palette *indices* are the ids. Class names come from ``root/classes.txt`` (one per line),
else from ``num_classes``, else from the ids found when they run 0..K-1 (a gap, such as one stray pixel
value, is reported with the files that hold it; binary masks written 0/255 are refused, as 255 is ignore).

>>> import tempfile, cv2
>>> root = tempfile.mkdtemp()
>>> for d in ("images", "masks"): os.makedirs(os.path.join(root, d))
>>> _ = cv2.imwrite(os.path.join(root, "images", "a.jpg"), np.zeros((4, 6, 3), np.uint8))
>>> _ = cv2.imwrite(os.path.join(root, "masks", "a.png"), np.arange(24, dtype=np.uint8).reshape(4, 6) % 3)
>>> ds = FolderDataset(root)
>>> len(ds), ds.classes, ds[0].mask.shape
(1, ('class0', 'class1', 'class2'), (4, 6))
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError
from .base import IGNORE_INDEX, IMAGE_SUFFIXES, SegDataset, read_mask

MASK_SUFFIX = ".png"
# Subfolder names that mark a split layout; other subfolders are just part of the file tree.
SPLIT_NAMES = {"train", "val", "test", "trainval"}
# Above this share of ignored pixels, a set of only id 0 is taken for 0/255 binary masks; a thin
# void border (VOC-style) stays below it.
BINARY_IGNORE_SHARE = 0.01


def _files(folder: Path, suffixes) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)


def _read_classes(path: Path) -> tuple[str, ...]:
    names = tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    if not names:
        raise DataError("classes.txt is empty", path=str(path), expected="one class name per line",
                        got="no names", fix="write the class names, one per line, in id order")
    return names


def _spans(ids) -> str:
    """[0, 1, 2, 5, 200] -> '0-2, 5, 200'."""
    ids, out, i = [int(x) for x in ids], [], 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        out.append(str(ids[i]) if i == j else f"{ids[i]}-{ids[j]}")
        i = j + 1
    return ", ".join(out)


def _infer_num_classes(masks_dir: Path, root: Path) -> int:
    """Largest id + 1 over every mask of every split, so train and val agree on the classes.

    Only when the ids run 0..K-1 without a gap: a stray pixel value (200 in a 3-class set) would
    otherwise make 201 classes silently, and training fail an epoch later in validation.
    """
    total = np.zeros(256, np.int64)
    holders: dict[int, list[tuple[str, int]]] = {}   # id -> (file, pixels), the first few files
    files = 0
    for p in _files(masks_dir, (MASK_SUFFIX,)):
        counts = np.bincount(read_mask(p).ravel(), minlength=256)
        total += counts
        files += 1
        for i in np.flatnonzero(counts):
            holders.setdefault(int(i), []).append((str(p), int(counts[i])))
    _refuse_binary_0_255(total, holders, files, masks_dir, root)
    total[IGNORE_INDEX] = 0
    ids = np.flatnonzero(total)
    if not ids.size:
        return 1
    n = int(ids.max()) + 1
    if ids.size == n:
        return n
    gap = int(np.flatnonzero(total[:n] == 0)[0])
    stray = []
    for i in ids[ids > gap][:8]:
        where = holders[int(i)]
        listed = ", ".join(f"{f} ({c} pixel{'s' if c > 1 else ''})" for f, c in where[:3])
        more = f" and {len(where) - 3} more" if len(where) > 3 else ""
        stray.append(f"{int(i)} in {len(where)} files: {listed}{more}" if len(where) > 1 else f"{int(i)} in {listed}")
    raise DataError("mask ids are not contiguous from 0, so the number of classes cannot be inferred",
                    path=str(masks_dir), expected=f"ids 0..K-1 (and {IGNORE_INDEX} = ignore), or the classes declared",
                    got=f"ids found: {_spans(ids)} (missing: {_spans(np.flatnonzero(total[:n] == 0))}) "
                        f"over {files} masks; " + "; ".join(stray),
                    fix=f"declare the classes in {root / 'classes.txt'} (one name per line, in id order) or give "
                        f"their count (folder://{root.as_posix()}?num_classes=N); if an id is a stray "
                        f"value, fix the masks listed")


def _refuse_binary_0_255(total: np.ndarray, holders: dict, files: int, masks_dir: Path, root: Path) -> None:
    """Masks of only 0 and a good share of 255 are binary masks written 0/255: inferring the classes
    would make one class, "0", and ignore every foreground pixel, silently."""
    pixels, ignored = int(total.sum()), int(total[IGNORE_INDEX])
    if not pixels or np.flatnonzero(total[:IGNORE_INDEX]).tolist() not in ([], [0]) \
            or ignored <= BINARY_IGNORE_SHARE * pixels:
        return
    where = holders[IGNORE_INDEX]
    listed = ", ".join(f for f, _ in where[:3]) + (f" and {len(where) - 3} more" if len(where) > 3 else "")
    raise DataError(f"masks hold only ids 0 and {IGNORE_INDEX}, and {IGNORE_INDEX} is the ignore index: this looks "
                    f"like binary masks written 0/{IGNORE_INDEX}, whose foreground would be ignored",
                    path=str(masks_dir), expected=f"class ids 0..K-1, {IGNORE_INDEX} only for pixels not to learn "
                                                  "from, or the classes declared",
                    got=f"id 0 in {100 * (pixels - ignored) / pixels:.1f} % and {IGNORE_INDEX} in "
                        f"{100 * ignored / pixels:.1f} % of the pixels of {files} masks ({IGNORE_INDEX} in {listed})",
                    fix=f"for a binary set, re-write the masks with {IGNORE_INDEX} -> 1 (mask[mask == {IGNORE_INDEX}] "
                        f"= 1, so they hold 0/1) and list 2 names in {root / 'classes.txt'} (e.g. background, "
                        f"foreground); if {IGNORE_INDEX} really marks pixels to ignore, declare the classes "
                        f"(classes.txt or folder://{root.as_posix()}?num_classes=N)")


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
        if num_classes is not None and (isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer))
                                        or num_classes < 1):
            raise ConfigError("bad num_classes for a folder data set", expected="a whole number of classes >= 1",
                              got=repr(num_classes), fix="pass the number of classes, e.g. num_classes=4")
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
            n = num_classes if num_classes is not None else _infer_num_classes(self.root / "masks", self.root)
            classes = tuple(f"class{i}" for i in range(n))
        elif num_classes is not None and num_classes != len(classes):
            raise DataError("num_classes conflicts with the class names", path=str(self.root / "classes.txt"),
                            expected=f"{len(classes)} (names given)", got=num_classes,
                            fix="drop num_classes, or fix classes.txt")
        super().__init__(items, classes, palette)
