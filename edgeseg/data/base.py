"""What every data set reader shares: :class:`Sample`, :class:`SegDataset`, image/mask reading.

Images are HxWx3 uint8 BGR (OpenCV order); masks are HxW uint8 class ids with 255 = ignore.
A reader validates each sample as it is read, so a bad file fails with its name, not later
inside a training step; :meth:`SegDataset.check` runs the same validation over a whole set.

>>> ds = ListDataset([Sample(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8), "a")],
...                  classes=("bg", "fg"))
>>> len(ds), ds.num_classes, ds[0].name, ds.palette[1]
(1, 2, 'a', (0, 0, 142))
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import DataError
from ..meta import default_palette
from ..uri import IMAGE_SUFFIXES
from ..utils.progress import Progress
from .png import PNG_GRAY, PNG_PALETTE, decode_index_png, png_header

IGNORE_INDEX = 255


@dataclass
class Sample:
    """One image (HxWx3 uint8 BGR), its mask (HxW uint8 ids, 255 = ignore, or None) and a name;
    readers of files also say which file the mask came from, for errors found later (scoring).

    >>> s = Sample(np.zeros((2, 3, 3), np.uint8), None, "frame0")
    >>> s.image.shape, s.mask
    ((2, 3, 3), None)
    """

    image: np.ndarray
    mask: np.ndarray | None
    name: str
    mask_path: str | None = None


def _decode(data: np.ndarray, flags: int) -> np.ndarray | None:
    """cv2.imdecode, or None for anything it cannot decode: it returns None for most bad files
    but raises for some (a header claiming more than CV_IO_MAX_IMAGE_PIXELS)."""
    if not data.size:
        return None
    try:
        return cv2.imdecode(data, flags)
    except cv2.error:
        return None


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as HxWx3 uint8 BGR; an unreadable file raises DataError naming it.

    >>> import tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "a.png")
    >>> _ = cv2.imwrite(p, np.full((2, 3), 9, np.uint8))
    >>> read_image(p).shape
    (2, 3, 3)
    """
    path = os.fspath(path)
    # imdecode over np.fromfile: cv2.imread cannot open non-ASCII paths on Windows.
    try:
        data = np.fromfile(path, np.uint8)
    except OSError as exc:
        raise DataError("cannot read image file", path=path, got=str(exc),
                        fix="check the path and its permissions") from exc
    image = _decode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise DataError("image file cannot be decoded", path=path,
                        expected=f"a readable {'/'.join(IMAGE_SUFFIXES)} image",
                        got=f"{data.size} bytes that OpenCV cannot decode",
                        fix="re-export or re-download the file, or remove it from the data set")
    return image


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """Read a mask PNG of class ids as HxW uint8.

    A palette PNG (CVAT, labelme, PIL "P" mode, VOC) gives its palette *indices*, not the colours
    OpenCV would decode. Grey saved as colour or with alpha (channels equal) and 16-bit grey
    with ids up to 255 are accepted; a colour mask is rejected, because its colours are not ids.

    >>> import tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "m.png")
    >>> _ = cv2.imwrite(p, np.array([[0, 1], [255, 2]], np.uint8))
    >>> read_mask(p).tolist()
    [[0, 1], [255, 2]]
    """
    path = os.fspath(path)
    try:
        data = np.fromfile(path, np.uint8)
    except OSError as exc:
        raise DataError("cannot read mask file", path=path, got=str(exc),
                        fix="check the path and its permissions") from exc
    header = png_header(data[:29].tobytes())
    if header is not None and header[3] == PNG_PALETTE:
        return decode_index_png(data.tobytes(), path)
    if header is not None and header[2] == 16 and header[3] != PNG_GRAY:
        # OpenCV swaps the bytes of 16-bit samples with more than one channel (id 1 reads as 256).
        raise DataError("mask is a 16-bit colour or grayscale+alpha PNG", path=path,
                        expected="an 8-bit grayscale or palette PNG (or 16-bit grayscale) of class ids",
                        got=f"16-bit, colour type {header[3]}",
                        fix="save the mask as 8-bit grayscale PNG, e.g. cv2.imwrite(path, ids.astype(np.uint8))")
    mask = _decode(data, cv2.IMREAD_UNCHANGED)
    if mask is None:
        raise DataError("mask file cannot be decoded", path=path, expected="a single-channel PNG of class ids",
                        got=f"{data.size} bytes that OpenCV cannot decode", fix="re-export the mask")
    if mask.ndim == 3:
        if mask.shape[2] >= 3 and np.array_equal(mask[..., 0], mask[..., 1]) \
                and np.array_equal(mask[..., 0], mask[..., 2]):
            mask = mask[..., 0]
        else:
            raise _colour_mask_error(mask, path)
    if mask.dtype != np.uint8:
        if mask.size and int(mask.max()) > 255:
            raise DataError("mask holds values above 255", path=path, expected="uint8 class ids",
                            got=f"{mask.dtype}, max {int(mask.max())}", fix="save the mask as 8-bit PNG")
        mask = mask.astype(np.uint8)
    return mask


def _colour_mask_error(mask: np.ndarray, path: str) -> DataError:
    """Name the colours found, so converting them to ids is one lookup the user can write."""
    bgr = mask[..., :3].reshape(-1, 3).astype(np.int64)
    packed = np.unique((bgr[:, 2] << 32) | (bgr[:, 1] << 16) | bgr[:, 0])
    rgb = [(int(c >> 32), int(c >> 16 & 0xFFFF), int(c & 0xFFFF)) for c in packed[:8]]
    listed = ", ".join(str(c) for c in rgb) + (f" and {packed.size - 8} more" if packed.size > 8 else "")
    return DataError("mask is a colour image, not class ids", path=path,
                     expected="a single-channel PNG whose pixel values are class ids (255 = ignore), "
                              "or a palette PNG whose indices are",
                     got=f"{mask.shape[2]} channels, {packed.size} colours (RGB): {listed}",
                     fix="convert each class colour to its id: rgb = cv2.imread(path)[..., ::-1]; ids = np.full(mask.shape[:2], 255, np.uint8); "
                         "ids[(rgb == colour).all(-1)] = id for each class; save ids as an 8-bit grayscale PNG "
                         "(cv2.imwrite) or as a palette PNG (edgeseg.data.png.write_index_png(path, ids, palette)); "
                         "list the class names in id order in classes.txt")


def validate_sample(image: np.ndarray, mask: np.ndarray | None, num_classes: int,
                    image_path=None, mask_path=None) -> None:
    """Raise DataError unless ``mask`` matches ``image`` in size and holds ids < num_classes or 255.

    >>> validate_sample(np.zeros((2, 2, 3), np.uint8), np.array([[0, 1], [255, 3]], np.uint8), 3,
    ...                 "a.jpg", "a.png")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    edgeseg.errors.DataError: mask holds class ids outside the data set's classes: a.png
    ...
    """
    if mask is None:
        return
    if mask.shape[:2] != image.shape[:2]:
        raise DataError("mask size differs from its image", path=mask_path,
                        expected=f"{image.shape[0]}x{image.shape[1]} (HxW of {image_path})",
                        got=f"{mask.shape[0]}x{mask.shape[1]}",
                        fix="re-export the mask at the image's size, or pair it with the right image")
    counts = np.bincount(mask.ravel(), minlength=256)
    bad = np.flatnonzero(counts[num_classes:IGNORE_INDEX])
    if bad.size:
        ids = ", ".join(str(int(i) + num_classes) for i in bad[:8])
        raise DataError("mask holds class ids outside the data set's classes", path=mask_path,
                        expected=f"ids 0..{num_classes - 1} or {IGNORE_INDEX} (ignore)",
                        got=f"id(s) {ids}", fix="fix the mask, or declare more classes (classes.txt / num_classes)")


class SegDataset:
    """Base of every reader: ``len(ds)``, ``ds[i] -> Sample``, ``classes``, ``palette`` (RGB).

    Subclasses either fill ``self.items`` with ``(image_path, mask_path, name)`` and override
    :meth:`load_mask` when masks need decoding, or override ``__getitem__`` entirely.

    >>> class Two(SegDataset):
    ...     classes = ("a", "b")
    ...     def __len__(self): return 1
    ...     def __getitem__(self, i): return Sample(np.zeros((1, 1, 3), np.uint8), None, "x")
    >>> Two().check(), Two().num_classes
    (1, 2)
    """

    classes: tuple[str, ...] = ()
    palette: tuple[tuple[int, int, int], ...] = ()
    ignore_index: int = IGNORE_INDEX

    def __init__(self, items: Sequence[tuple[str, str | None, str]] = (), classes: Sequence[str] = (),
                 palette: Sequence[tuple[int, int, int]] | None = None):
        self.items = list(items)
        if classes:
            self.classes = tuple(classes)
        if palette is not None:
            self.palette = tuple(tuple(int(c) for c in rgb) for rgb in palette)
        if not self.palette and self.classes:
            self.palette = default_palette(len(self.classes))

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return len(self.items)

    def _index(self, i: int) -> int:
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"sample {i} out of range for a data set of {n}")
        return i % n

    def __getitem__(self, i: int) -> Sample:
        image_path, mask_path, name = self.items[self._index(i)]
        image = read_image(image_path)
        mask = None if mask_path is None else self.load_mask(mask_path)
        validate_sample(image, mask, self.num_classes, image_path, mask_path)
        return Sample(image, mask, name, mask_path)

    def __iter__(self) -> Iterator[Sample]:
        for i in range(len(self)):
            yield self[i]

    def load_mask(self, path: str) -> np.ndarray:
        """Read one mask as HxW uint8 ids; readers whose files need decoding override this."""
        return read_mask(path)

    def check(self, progress: bool = False) -> int:
        """Read and validate every sample; raise DataError on the first bad file, else return the count."""
        with Progress(len(self), f"check {type(self).__name__}", file=sys.stderr if progress else None,
                      unit="img") as bar:
            for i in range(len(self)):
                self[i]
                bar.update(1)
        return len(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} samples, {self.num_classes} classes)"


class ListDataset(SegDataset):
    """Samples held in memory, e.g. for tests or a handful of calibration images.

    >>> ListDataset([], classes=("a",)).num_classes
    1
    """

    def __init__(self, samples: Sequence[Sample], classes: Sequence[str], palette=None):
        super().__init__((), classes, palette)
        self.samples = list(samples)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> Sample:
        s = self.samples[self._index(i)]
        validate_sample(s.image, s.mask, self.num_classes, s.name, s.name)
        return s
