"""An image or mask that cannot be decoded is a DataError naming the file, in every reader,
whatever is wrong with it: empty, garbage, cut short, or a header that lies about its size."""

import struct
import zlib

import cv2
import numpy as np
import pytest

from edgeseg.data import CityscapesDataset, FolderDataset, VOCDataset, read_image, read_index_png, read_mask
from edgeseg.errors import DataError


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(ihdr: bytes, idat: bytes = zlib.compress(b"\0" * 64)) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _huge_jpeg() -> bytes:
    """A real JPEG whose frame header (SOF0) claims 65500x65500 pixels."""
    data = bytearray(cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 65500, 65500)
    return bytes(data)


def _variants(valid: bytes, kind: str) -> dict[str, bytes]:
    out = {"empty": b"", "garbage": bytes(np.random.default_rng(0).integers(0, 256, 300, np.uint8)),
           "text": b"not an image\n" * 20, "cut in half": valid[:len(valid) // 2], "cut at the end": valid[:-12]}
    if kind == ".png":
        out["header claims 200000x200000"] = _png(struct.pack(">IIBBBBB", 200000, 200000, 8, 0, 0, 0, 0))
        out["IHDR of 4 bytes"] = _png(b"\0\0\0\1")
        out["PNG signature, then garbage"] = valid[:8] + bytes(range(256))
    else:
        out["header claims 65500x65500"] = _huge_jpeg()
    return out


_MASK = np.arange(16 * 24, dtype=np.uint8).reshape(16, 24) // 8 % 3        # ids 0, 1, 2
_IMAGE = _MASK[..., None].repeat(3, 2) * 60
_PNG = cv2.imencode(".png", _IMAGE)[1].tobytes()
_JPG = cv2.imencode(".jpg", _IMAGE)[1].tobytes()
_MASK_PNG = cv2.imencode(".png", _MASK)[1].tobytes()
PNG_CASES = sorted(_variants(_PNG, ".png"))
JPG_CASES = sorted(_variants(_JPG, ".jpg"))


def _assert_names(err, path):
    assert str(path) in str(err.value), str(err.value)


@pytest.mark.parametrize("case", PNG_CASES)
def test_read_image_and_read_mask_png(tmp_path, case):
    p = tmp_path / "x.png"
    p.write_bytes(_variants(_PNG, ".png")[case])
    for read in (read_image, read_mask, read_index_png):
        with pytest.raises(DataError) as e:
            read(p)
        _assert_names(e, p)


@pytest.mark.parametrize("case", JPG_CASES)
def test_read_image_jpeg(tmp_path, case):
    p = tmp_path / "x.jpg"
    p.write_bytes(_variants(_JPG, ".jpg")[case])
    with pytest.raises(DataError, match="cannot be decoded") as e:
        read_image(p)
    _assert_names(e, p)


def _folder(tmp_path):
    root = tmp_path / "set"
    for sub in ("images", "masks"):
        (root / sub).mkdir(parents=True)
    for name in ("a", "b"):
        (root / "images" / f"{name}.png").write_bytes(_PNG)
        (root / "masks" / f"{name}.png").write_bytes(_MASK_PNG)
    return root


@pytest.mark.parametrize("case", PNG_CASES)
def test_folder_bad_image_and_bad_mask(tmp_path, case):
    root = _folder(tmp_path)
    image, mask = root / "images" / "b.png", root / "masks" / "b.png"
    image.write_bytes(_variants(_PNG, ".png")[case])
    ds = FolderDataset(root)
    ds[0]
    with pytest.raises(DataError) as e:
        ds[1]
    _assert_names(e, image)
    image.write_bytes(_PNG)
    mask.write_bytes(_variants(_MASK_PNG, ".png")[case])
    with pytest.raises(DataError) as e:               # read while the classes are inferred
        FolderDataset(root)
    _assert_names(e, mask)
    with pytest.raises(DataError) as e:               # read on access when they are declared
        FolderDataset(root, num_classes=3).check()
    _assert_names(e, mask)


@pytest.mark.parametrize("case", JPG_CASES)
def test_folder_bad_jpeg(tmp_path, case):
    root = _folder(tmp_path)
    (root / "images" / "b.png").unlink()
    bad = root / "images" / "b.jpg"
    bad.write_bytes(_variants(_JPG, ".jpg")[case])
    with pytest.raises(DataError) as e:
        FolderDataset(root).check()
    _assert_names(e, bad)


@pytest.mark.parametrize("case", JPG_CASES)
def test_voc_bad_jpeg(voc_tree, case):
    bad = voc_tree / "JPEGImages" / "2007_000063.jpg"
    bad.write_bytes(_variants(_JPG, ".jpg")[case])
    with pytest.raises(DataError) as e:
        VOCDataset(voc_tree, "val")[0]
    _assert_names(e, bad)


@pytest.mark.parametrize("case", PNG_CASES)
def test_voc_bad_mask(voc_tree, case):
    bad = voc_tree / "SegmentationClass" / "2007_000063.png"
    bad.write_bytes(_variants(bad.read_bytes(), ".png")[case])
    with pytest.raises(DataError) as e:
        VOCDataset(voc_tree, "val")[0]
    _assert_names(e, bad)


@pytest.mark.parametrize("case", PNG_CASES)
def test_cityscapes_bad_image_and_bad_annotation(cityscapes_tree, case):
    image = cityscapes_tree / "leftImg8bit" / "val" / "aachen" / "aachen_000000_000019_leftImg8bit.png"
    labels = cityscapes_tree / "gtFine" / "val" / "aachen" / "aachen_000000_000019_gtFine_labelIds.png"
    good_image, good_labels = image.read_bytes(), labels.read_bytes()
    image.write_bytes(_variants(good_image, ".png")[case])
    with pytest.raises(DataError) as e:
        CityscapesDataset(cityscapes_tree, "val")[0]
    _assert_names(e, image)
    image.write_bytes(good_image)
    labels.write_bytes(_variants(good_labels, ".png")[case])
    with pytest.raises(DataError) as e:
        CityscapesDataset(cityscapes_tree, "val").check()
    _assert_names(e, labels)


def test_an_index_png_that_inflates_past_its_header_is_refused_without_inflating_it(tmp_path):
    import tracemalloc
    p = tmp_path / "bomb.png"
    p.write_bytes(_png(struct.pack(">IIBBBBB", 4, 4, 8, 0, 0, 0, 0), zlib.compress(b"\0" * (64 << 20), 9)))
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="wrong size") as e:
            read_index_png(p)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    _assert_names(e, p)
    assert peak < 4 << 20                             # a 4x4 mask needs 20 bytes, not 64 MB


@pytest.mark.parametrize("damage", ["stream cut short", "checksum wrong", "bytes flipped"])
def test_an_index_png_with_damaged_image_data_is_refused(tmp_path, damage):
    rows = np.zeros((4, 5), np.uint8)
    rows[:, 1:] = np.arange(16, dtype=np.uint8).reshape(4, 4)   # filter 0, then 4 pixels a row
    stream = bytearray(zlib.compress(rows.tobytes()))
    if damage == "stream cut short":
        stream = stream[:-6]
    elif damage == "checksum wrong":
        stream[-1] ^= 0xFF
    else:
        stream[4] ^= 0x55
    p = tmp_path / "m.png"
    p.write_bytes(_png(struct.pack(">IIBBBBB", 4, 4, 8, 0, 0, 0, 0), bytes(stream)))
    with pytest.raises(DataError) as e:
        read_index_png(p)
    _assert_names(e, p)
