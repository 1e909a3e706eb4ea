import math

import numpy as np
import pytest

from edgeseg.errors import ConfigError, DataError
from edgeseg.metrics import ConfusionMatrix, miou, stride_ceiling


def test_hand_computed_three_classes():
    # gt:   0 0 1 1 2 2 255      pred: 0 1 1 1 2 0 2
    gt = np.array([0, 0, 1, 1, 2, 2, 255])
    pred = np.array([0, 1, 1, 1, 2, 0, 2])
    cm = ConfusionMatrix(3)
    cm.update(pred, gt)
    # rows gt, cols pred: [[1,1,0],[0,2,0],[1,0,1]]; the ignore pixel is dropped.
    assert cm.matrix.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    r = cm.report(("a", "b", "c"))
    # IoU: a 1/(2+2-1)=1/3, b 2/(2+3-2)=2/3, c 1/(2+1-1)=1/2
    assert r.iou == pytest.approx((1 / 3, 2 / 3, 1 / 2))
    assert r.miou == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)
    assert r.pixel_acc == pytest.approx(4 / 6)
    assert r.acc == pytest.approx((1 / 2, 1.0, 1 / 2))
    # Dice: 2tp/(gt+pred): a 2/4, b 4/5, c 2/3
    assert r.dice == pytest.approx((0.5, 0.8, 2 / 3))
    assert r.pixels == 6


def test_absent_class_is_nan_and_left_out_of_mean():
    cm = ConfusionMatrix(3)
    cm.update(np.array([0, 1]), np.array([0, 1]))
    r = cm.report()
    assert math.isnan(r.iou[2]) and r.miou == 1.0
    d = r.to_dict()
    assert d["per_class"]["class2"]["iou"] is None  # JSON-safe


def test_merge_equals_single_pass():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 4, (2, 50, 50)), rng.integers(0, 4, (2, 50, 50))
    one = ConfusionMatrix(4)
    one.update(a, b)
    halves = ConfusionMatrix(4)
    halves.update(a[0], b[0])
    other = ConfusionMatrix(4)
    other.update(a[1], b[1])
    assert (halves.merge(other).matrix == one.matrix).all()


def test_bad_inputs():
    cm = ConfusionMatrix(2)
    with pytest.raises(ConfigError, match="differ in shape"):
        cm.update(np.zeros((2, 2)), np.zeros((3, 3)))
    with pytest.raises(DataError, match="outside") as e:
        cm.update(np.zeros(3), np.array([0, 5, 1]))
    assert "id(s) 5" in str(e.value)
    assert miou(np.zeros((4, 4)), np.zeros((4, 4)), 3) == 1.0
    assert "mean" in cm.report(("x", "y")).table()


def test_out_of_range_ground_truth_names_its_mask_file():
    cm = ConfusionMatrix(3)
    target = np.array([[0, 1], [7, 255]], np.uint8)
    with pytest.raises(DataError, match="outside") as e:
        cm.update(np.zeros((2, 2)), target, where="masks/street_01.png")
    assert "masks/street_01.png" in str(e.value) and "id(s) 7" in str(e.value) and "0..2" in str(e.value)
    assert cm.matrix.sum() == 0                                     # nothing half-counted


@pytest.mark.parametrize("classes", [129, 150, 171, 256])
def test_stride_ceiling_beyond_opencvs_channel_limit(classes):
    mask = np.kron(np.arange(64, dtype=np.int64).reshape(8, 8) % classes, np.ones((8, 8), np.int64))
    mask[mask == 5] = min(classes - 1, 254)                        # a class past 128 is present (255: ignore)
    r = stride_ceiling([mask.astype(np.uint8)], 4, classes)
    assert len(r.iou) == classes and r.pixels == 64 * 64
    assert r.miou > 0.5                                             # 8x8 blocks survive 1/4 resolution
