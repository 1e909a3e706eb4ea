"""PASCAL VOC: palette indices (not colours) become ids, 255 border kept, root found either way."""

import cv2
import numpy as np
import pytest
from .data_fixtures import blocks_mask

from edgeseg.data import VOC_CLASSES, VOC_PALETTE, VOCDataset
from edgeseg.data.png import write_index_png
from edgeseg.data.voc import voc_colormap
from edgeseg.errors import DataError


def expected_mask(i):
    mask = blocks_mask(20, 30, 21, seed=i, block=5)
    mask[[0, -1], :] = 255
    mask[:, [0, -1]] = 255
    return mask


@pytest.mark.parametrize("level", ["VOC2012", "VOCdevkit", "parent"])
def test_reads_palette_indices_with_ignore_border(voc_tree, level):
    root = {"VOC2012": voc_tree, "VOCdevkit": voc_tree.parent, "parent": voc_tree.parent.parent}[level]
    ds = VOCDataset(root, split="train")
    assert len(ds) == 2 and ds.num_classes == 21 and ds.classes == VOC_CLASSES
    s = ds[1]
    assert s.name == "2007_000039" and s.image.shape == (20, 30, 3)
    assert np.array_equal(s.mask, expected_mask(1))
    assert (s.mask[0] == 255).all() and s.mask.max() == 255
    # OpenCV alone would have returned colours, which is why the reader parses the PNG itself.
    assert cv2.imread(str(voc_tree / "SegmentationClass" / "2007_000039.png")).ndim == 3


def test_splits_and_palette(voc_tree):
    assert [s.name for s in VOCDataset(voc_tree, "val")] == ["2007_000063"]
    assert len(VOCDataset(voc_tree, "trainval")) == 3
    assert VOC_PALETTE[:3] == ((0, 0, 0), (128, 0, 0), (0, 128, 0)) and VOC_PALETTE[20] == (0, 64, 128)
    with pytest.raises(DataError, match="split list not found") as e:
        VOCDataset(voc_tree, "test")
    assert "train, trainval, val" in str(e.value)


def test_not_a_voc_folder(tmp_path):
    with pytest.raises(DataError, match="not a PASCAL VOC folder") as e:
        VOCDataset(tmp_path)
    assert str(tmp_path) in str(e.value)


def test_missing_mask(voc_tree):
    (voc_tree / "SegmentationClass" / "2007_000063.png").unlink()
    with pytest.raises(DataError, match="image has no mask") as e:
        VOCDataset(voc_tree, "val")
    assert "2007_000063.jpg" in str(e.value) and "SegmentationClass" in str(e.value)


def test_out_of_range_index_names_the_mask(voc_tree):
    mask = expected_mask(2)
    mask[3, 3] = 40
    write_index_png(voc_tree / "SegmentationClass" / "2007_000063.png", mask, palette=voc_colormap(256))
    with pytest.raises(DataError, match="outside") as e:
        VOCDataset(voc_tree, "val")[0]
    assert "2007_000063.png" in str(e.value) and "40" in str(e.value)


def test_unreadable_jpeg_names_the_image(voc_tree):
    (voc_tree / "JPEGImages" / "2007_000063.jpg").write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(DataError, match="cannot be decoded") as e:
        VOCDataset(voc_tree, "val").check()
    assert "2007_000063.jpg" in str(e.value)


def test_size_mismatch(voc_tree):
    write_index_png(voc_tree / "SegmentationClass" / "2007_000063.png", np.zeros((10, 30), np.uint8),
                    palette=voc_colormap(256))
    with pytest.raises(DataError, match="mask size differs") as e:
        VOCDataset(voc_tree, "val")[0]
    assert "2007_000063.png" in str(e.value)
