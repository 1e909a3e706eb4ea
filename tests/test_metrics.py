import math

import numpy as np
import pytest

from edgeseg.errors import ConfigError
from edgeseg.metrics import ConfusionMatrix, miou


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
    with pytest.raises(ConfigError, match="outside"):
        cm.update(np.zeros(3), np.array([0, 5, 1]))
    assert miou(np.zeros((4, 4)), np.zeros((4, 4)), 3) == 1.0
    assert "mean" in cm.report(("x", "y")).table()
