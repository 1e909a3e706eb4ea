"""Cityscapes: labelIds -> trainIds through the official table; labelTrainIds files preferred."""

import numpy as np
import pytest
from .data_fixtures import CITY_LABEL_IDS, CITY_TRAIN_IDS, write

from edgeseg.data import CITYSCAPES_CLASSES, CITYSCAPES_PALETTE, CityscapesDataset
from edgeseg.data.cityscapes import LABEL_TO_TRAIN
from edgeseg.errors import DataError


def test_label_ids_map_to_train_ids(cityscapes_tree):
    ds = CityscapesDataset(cityscapes_tree, split="val")
    assert len(ds) == 2 and ds.num_classes == 19
    s = ds[0]
    assert s.name == "aachen/aachen_000000_000019" and s.image.shape == (16, 48, 3)
    assert np.array_equal(s.mask[0, ::4], CITY_TRAIN_IDS)      # unlabeled, ego vehicle, caravan... -> 255


def test_train_ids_file_is_preferred(cityscapes_tree):
    s = CityscapesDataset(cityscapes_tree, split="val")[1]
    assert s.name.startswith("bremen/") and (s.mask == 0).all()


def test_official_table():
    assert len(CITYSCAPES_CLASSES) == 19 == len(CITYSCAPES_PALETTE)
    assert CITYSCAPES_CLASSES[0] == "road" and CITYSCAPES_CLASSES[-1] == "bicycle"
    valid = np.flatnonzero(LABEL_TO_TRAIN != 255)
    assert valid.tolist() == [7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33]
    assert LABEL_TO_TRAIN[valid].tolist() == list(range(19))
    assert LABEL_TO_TRAIN[CITY_LABEL_IDS].tolist() == CITY_TRAIN_IDS.tolist()


def test_missing_annotation(cityscapes_tree):
    (cityscapes_tree / "gtFine" / "val" / "aachen" / "aachen_000000_000019_gtFine_labelIds.png").unlink()
    with pytest.raises(DataError, match="no annotation") as e:
        CityscapesDataset(cityscapes_tree, split="val")
    assert "aachen_000000_000019_leftImg8bit.png" in str(e.value)
    assert "aachen_000000_000019_gtFine_labelIds.png" in str(e.value)


def test_missing_split_lists_what_is_there(cityscapes_tree):
    with pytest.raises(DataError, match="image folder not found") as e:
        CityscapesDataset(cityscapes_tree, split="train")
    assert "splits here: val" in str(e.value)


def test_bad_train_ids_and_size_mismatch(cityscapes_tree):
    gt = cityscapes_tree / "gtFine" / "val" / "bremen" / "bremen_000001_000019_gtFine_labelTrainIds.png"
    write(gt, np.full((16, 48), 19, np.uint8))
    with pytest.raises(DataError, match="outside") as e:
        CityscapesDataset(cityscapes_tree, split="val")[1]
    assert gt.name in str(e.value)
    write(gt, np.zeros((8, 48), np.uint8))
    with pytest.raises(DataError, match="mask size differs") as e:
        CityscapesDataset(cityscapes_tree, split="val").check()
    assert gt.name in str(e.value)
