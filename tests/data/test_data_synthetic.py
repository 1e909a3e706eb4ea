"""Synthetic street scenes: deterministic, every class present, realistic sizes, not a colour toy."""

import cv2
import numpy as np
import pytest

from edgeseg.data import SYNTHETIC_CLASSES, SyntheticScenes, render_scene, synthetic_split
from edgeseg.data.synthetic import SEED_STRIDE, Street
from edgeseg.errors import ConfigError

PERSON, CAR = SYNTHETIC_CLASSES.index("person"), SYNTHETIC_CLASSES.index("car")


@pytest.fixture(scope="module")
def scenes():
    """40 scenes at 256x256: seeds 500.. (disjoint from the doc figure's 0..7)."""
    return [render_scene(500 + i) for i in range(40)]


def test_classes_are_fixed():
    assert SYNTHETIC_CLASSES == ("sky", "road", "vegetation", "building", "car", "person")
    assert len(SyntheticScenes(1).palette) == 6


def test_deterministic_by_seed():
    a, b = render_scene(11, (96, 128)), render_scene(11, (96, 128))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    c = render_scene(12, (96, 128))
    assert not np.array_equal(a[1], c[1])
    assert a[0].shape == (96, 128, 3) and a[0].dtype == np.uint8 and a[1].dtype == np.uint8


@pytest.mark.parametrize("size", [(16, 16), (64, 64), (120, 200), (360, 240)])
def test_any_size(size):
    image, mask = render_scene(3, size)
    assert image.shape == size + (3,) and mask.shape == size and mask.max() < 6


def test_too_small_raises():
    with pytest.raises(ConfigError):
        render_scene(0, (8, 8))


def test_every_class_appears_across_a_few_scenes(scenes):
    seen = set()
    for _, mask in scenes[:8]:
        seen |= set(np.unique(mask).tolist())
    assert seen == set(range(6))
    # and no class is a rarity: each is in most scenes
    share = np.mean([[(m == k).any() for k in range(6)] for _, m in scenes], axis=0)
    assert share.min() >= 0.6, dict(zip(SYNTHETIC_CLASSES, share))


def _components(mask, cls):
    _, _, stats, _ = cv2.connectedComponentsWithStats((mask == cls).astype(np.uint8), connectivity=8)
    return stats[1:]


def test_people_from_about_15_px_tall(scenes):
    heights = np.array([s[cv2.CC_STAT_HEIGHT] for _, m in scenes for s in _components(m, PERSON)
                        if s[cv2.CC_STAT_AREA] > 12])
    assert len(heights) >= 60
    assert ((heights >= 13) & (heights <= 20)).sum() >= 10, "small, distant people"
    assert (heights >= 50).sum() >= 3, "near people"
    assert heights.max() <= 140
    counts = [len(Street(500 + i).people) for i in range(40)]
    assert max(counts) <= 6 and np.mean(counts) >= 2


def test_people_heights_follow_perspective():
    """Drawn height = (feet row - horizon) * body height / camera height, for every person."""
    for seed in range(20):
        street = Street(seed)
        cam = street.cam
        for p in street.people:
            foot = cam.yh + cam.f * cam.hc / p.z0
            assert cam.f * p.H / p.z0 == pytest.approx((foot - cam.yh) * p.H / cam.hc)
            assert 14 <= cam.f * p.H / p.z0 <= 95 or p.H < 1.45    # children are shorter


def test_cars_are_wider_than_tall(scenes):
    boxes = [s for _, m in scenes for s in _components(m, CAR) if s[cv2.CC_STAT_AREA] > 150]
    assert len(boxes) >= 15
    ratio = np.array([s[cv2.CC_STAT_WIDTH] / s[cv2.CC_STAT_HEIGHT] for s in boxes])
    assert np.median(ratio) > 1.1
    counts = [len(Street(500 + i).cars) for i in range(40)]
    assert max(counts) <= 5 and np.mean(counts) >= 1.5


def test_colour_alone_cannot_segment(scenes):
    """The best per-pixel colour classifier (a 32^3 colour histogram, fit on 20 scenes) does
    little better than always answering "road" on 20 others; a nearest-mean one does worse."""
    images = np.stack([s[0] for s in scenes]).reshape(2, -1, 3).astype(np.int32)
    masks = np.stack([s[1] for s in scenes]).reshape(2, -1)
    (x_fit, x_test), (y_fit, y_test) = images, masks

    def q(x):
        return (x[:, 0] // 8) * 1024 + (x[:, 1] // 8) * 32 + x[:, 2] // 8

    hist = np.zeros((32768, 6))
    np.add.at(hist, (q(x_fit), y_fit), 1)
    bayes = (hist.argmax(1)[q(x_test)] == y_test).mean()
    means = np.stack([x_fit[y_fit == k].mean(0) for k in range(6)]).astype(np.float32)
    d = ((x_test[:, None, :].astype(np.float32) - means[None]) ** 2).sum(-1)
    nearest = (d.argmin(1) == y_test).mean()
    majority = np.bincount(y_test).max() / y_test.size
    assert bayes < 0.75 and nearest < 0.5, (bayes, nearest)
    assert bayes - majority < 0.3


def test_dataset_items_and_splits():
    ds = SyntheticScenes(4, size=(48, 64), seed=2)
    s = ds[3]
    assert s.name == f"synthetic-{2 * SEED_STRIDE + 3}"
    assert np.array_equal(s.mask, render_scene(2 * SEED_STRIDE + 3, (48, 64))[1])
    assert np.array_equal(ds[-1].image, s.image)
    with pytest.raises(IndexError):
        ds[4]
    assert ds.check() == 4 and ds.num_classes == 6
    train, val = synthetic_split("train", 3, (32, 32)), synthetic_split("val", 3, (32, 32))
    assert {x.name for x in train}.isdisjoint({x.name for x in val})
    assert len(synthetic_split("train", size=(32, 32))) == 2000
    with pytest.raises(ConfigError):
        synthetic_split("holdout")
