"""Masks as other tools write them: palette PNGs (CVAT, labelme, PIL "P"), grey saved as colour or with
alpha, 16-bit grey, true colour, and binary 0/255 masks; each is read as ids or refused with the way out."""

import struct
import zlib

import cv2
import numpy as np
import pytest

from edgeseg.data import CityscapesDataset, FolderDataset, read_mask, write_index_png
from edgeseg.data.voc import voc_colormap
from edgeseg.errors import DataError

from .data_fixtures import blocks_mask, image_for, write

IDS = np.array([[0, 1, 2, 2], [1, 0, 255, 2], [2, 2, 1, 0]], np.uint8)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(samples: np.ndarray, depth: int, ctype: int, extra: bytes = b"", interlace: int = 0) -> bytes:
    """A PNG built by hand from HxWxC samples (big-endian when 16-bit), every row filter 0."""
    h, w = samples.shape[:2]
    rows = samples.astype(">u2" if depth == 16 else np.uint8).reshape(h, -1)
    raw = b"".join(b"\0" + row.tobytes() for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, interlace))
            + extra + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b""))


def _palette_png(ids: np.ndarray, transparency: bool = False, interlace: int = 0) -> bytes:
    """What PIL writes for a "P" image: PLTE, and often a tRNS chunk making index 0 transparent."""
    plte = _chunk(b"PLTE", np.asarray(voc_colormap(256), np.uint8).tobytes())
    trns = _chunk(b"tRNS", b"\0") if transparency else b""
    return _png(ids[..., None], 8, 3, plte + trns, interlace)


def _folder(tmp_path, masks: dict[str, bytes | np.ndarray]):
    root = tmp_path / "set"
    for name, mask in masks.items():
        shape = IDS.shape if isinstance(mask, bytes) else mask.shape[:2]
        write(root / "images" / f"{name}.png", np.full((*shape, 3), 90, np.uint8))
        path = root / "masks" / f"{name}.png"
        if isinstance(mask, bytes):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(mask)
        else:
            write(path, mask)
    return root


# --- palette PNGs: their indices are the ids, whatever the palette's colours -------------------------

@pytest.mark.parametrize("how", ["write_index_png", "by hand, with tRNS"])
def test_a_palette_png_mask_is_read_as_its_indices_in_a_folder_set(tmp_path, how):
    root = tmp_path / "set"
    write(root / "images" / "a.png", np.zeros((*IDS.shape, 3), np.uint8))
    mask = root / "masks" / "a.png"
    mask.parent.mkdir(parents=True)
    if how == "write_index_png":
        write_index_png(mask, IDS, palette=[(0, 0, 0), (250, 50, 83), (36, 179, 83)])   # CVAT-like colours
    else:
        mask.write_bytes(_palette_png(IDS, transparency=True))
    assert cv2.imread(str(mask), cv2.IMREAD_UNCHANGED).ndim == 3        # OpenCV sees colours
    assert np.array_equal(read_mask(mask), IDS)
    ds = FolderDataset(root)
    assert ds.classes == ("class0", "class1", "class2")
    assert np.array_equal(ds[0].mask, IDS)


def test_a_2_bit_palette_png_mask(tmp_path):
    ids = np.array([[0, 1, 2, 3, 1], [3, 2, 1, 0, 0]], np.uint8)
    padded = np.pad(ids, ((0, 0), (0, 3)))
    packed = (padded[:, 0::4] << 6) | (padded[:, 1::4] << 4) | (padded[:, 2::4] << 2) | padded[:, 3::4]
    raw = b"".join(b"\0" + row.tobytes() for row in packed)
    plte = _chunk(b"PLTE", np.asarray(voc_colormap(4), np.uint8).tobytes())
    data = (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 5, 2, 2, 3, 0, 0, 0)) + plte
            + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b""))
    (tmp_path / "m.png").write_bytes(data)
    assert np.array_equal(read_mask(tmp_path / "m.png"), ids)


def test_a_palette_png_annotation_in_cityscapes_is_read_as_indices(cityscapes_tree):
    train_ids = cityscapes_tree / "gtFine" / "val" / "bremen" / "bremen_000001_000019_gtFine_labelTrainIds.png"
    ids = np.tile(np.arange(12, dtype=np.uint8), (16, 4))      # 16 x 48, trainIds 0..11
    write_index_png(train_ids, ids, palette=voc_colormap(256))
    sample = CityscapesDataset(cityscapes_tree, "val")[1]
    assert sample.name.startswith("bremen") and np.array_equal(sample.mask, ids)


def test_an_interlaced_palette_png_is_refused_saying_how_to_save_it(tmp_path):
    path = tmp_path / "m.png"
    path.write_bytes(_palette_png(IDS, interlace=1))
    with pytest.raises(DataError, match="interlaced") as e:
        read_mask(path)
    assert str(path) in str(e.value) and "without interlacing" in str(e.value)


def test_a_palette_png_that_claims_too_many_pixels_is_refused_before_inflating(tmp_path):
    path = tmp_path / "m.png"
    plte = _chunk(b"PLTE", bytes(6))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 70000, 70000, 8, 3, 0, 0, 0))
                     + plte + _chunk(b"IDAT", zlib.compress(bytes(100))) + _chunk(b"IEND", b""))
    with pytest.raises(DataError, match="too large") as e:
        read_mask(path)
    assert "70000x70000" in str(e.value) and str(path) in str(e.value)


# --- grey written as colour, with alpha, or in 16 bits -----------------------------------------------

@pytest.mark.parametrize("kind", ["grey+alpha", "RGB, channels equal", "RGBA, channels equal"])
def test_grey_saved_with_alpha_or_as_equal_colour_channels_is_ids(tmp_path, kind):
    alpha = np.full(IDS.shape, 255, np.uint8)
    data = {"grey+alpha": lambda: _png(np.stack([IDS, alpha], -1), 8, 4),
            "RGB, channels equal": lambda: _png(np.stack([IDS] * 3, -1), 8, 2),
            "RGBA, channels equal": lambda: _png(np.stack([IDS] * 3 + [alpha], -1), 8, 6)}[kind]()
    root = _folder(tmp_path, {"a": data})
    assert np.array_equal(read_mask(root / "masks" / "a.png"), IDS)
    assert FolderDataset(root).num_classes == 3


def test_a_16_bit_grey_mask_is_taken_as_is_and_values_above_255_refused(tmp_path):
    root = _folder(tmp_path, {"a": IDS.astype(np.uint16)})
    assert cv2.imread(str(root / "masks" / "a.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    ds = FolderDataset(root)
    assert ds.num_classes == 3 and np.array_equal(ds[0].mask, IDS) and ds[0].mask.dtype == np.uint8
    big = IDS.astype(np.uint16)
    big[0, 0] = 300
    write(root / "masks" / "a.png", big)
    with pytest.raises(DataError, match="above 255") as e:
        FolderDataset(root)
    assert str(root / "masks" / "a.png") in str(e.value) and "max 300" in str(e.value)


@pytest.mark.parametrize("ctype, channels", [(4, 2), (2, 3), (6, 4)])
def test_a_16_bit_colour_or_grey_alpha_mask_is_refused_not_misread(tmp_path, ctype, channels):
    # OpenCV decodes these with their bytes swapped (id 1 becomes 256), so they are refused by name.
    samples = np.stack([IDS.astype(np.uint16)] * channels, -1)
    if channels in (2, 4):
        samples[..., -1] = 65535
    root = _folder(tmp_path, {"a": _png(samples, 16, ctype)})
    with pytest.raises(DataError, match="16-bit") as e:
        FolderDataset(root)
    assert str(root / "masks" / "a.png") in str(e.value) and "8-bit grayscale" in str(e.value)


def test_a_true_colour_mask_is_refused_listing_its_colours_and_how_to_convert(tmp_path):
    colour = np.zeros((*IDS.shape, 3), np.uint8)
    colour[IDS == 1] = (0, 0, 128)                                          # BGR of RGB (128, 0, 0)
    colour[IDS == 2] = (0, 128, 0)
    root = _folder(tmp_path, {"a": colour})
    with pytest.raises(DataError, match="colour image, not class ids") as e:
        FolderDataset(root)
    msg = str(e.value)
    assert str(root / "masks" / "a.png") in msg
    assert "3 colours" in msg and "(128, 0, 0)" in msg and "(0, 128, 0)" in msg     # listed as RGB
    assert "write_index_png" in msg and "classes.txt" in msg


# --- binary masks written 0/255 -----------------------------------------------------------------------

def _binary(tmp_path, n=3, border_only=False):
    masks = {}
    for i in range(n):
        m = blocks_mask(20, 20, 2, seed=i, block=5) * 255
        if border_only:
            m[:] = 0
            m[0, :3] = 255                                                  # 3 of 400 pixels: < 1 %
        masks[f"m{i}"] = m
    root = tmp_path / "set"
    for name, m in masks.items():
        write(root / "images" / f"{name}.png", image_for(m))
        write(root / "masks" / f"{name}.png", m)
    return root


def test_binary_0_255_masks_are_refused_not_made_one_class_with_the_foreground_ignored(tmp_path):
    root = _binary(tmp_path)
    with pytest.raises(DataError, match="ignore index") as e:
        FolderDataset(root)
    msg = str(e.value)
    assert str(root / "masks") in msg and "m0.png" in msg
    assert "255 -> 1" in msg and "classes.txt" in msg and "0/1" in msg
    # declaring the classes says 255 really is "ignore": the set opens
    assert FolderDataset(root, num_classes=2).num_classes == 2
    (root / "classes.txt").write_text("background\nforeground\n")
    assert FolderDataset(root).classes == ("background", "foreground")


def test_masks_of_only_255_are_refused_too(tmp_path):
    root = _folder(tmp_path, {"a": np.full(IDS.shape, 255, np.uint8)})
    with pytest.raises(DataError, match="ignore index"):
        FolderDataset(root)


def test_a_few_ignored_pixels_in_an_all_0_set_are_not_taken_for_a_binary_set(tmp_path):
    assert FolderDataset(_binary(tmp_path, border_only=True)).num_classes == 1


def test_0_1_masks_with_a_wide_ignore_border_still_infer_two_classes(tmp_path):
    m = blocks_mask(20, 20, 2, seed=0, block=5)
    m[:5] = 255
    assert FolderDataset(_folder(tmp_path, {"a": m})).num_classes == 2
