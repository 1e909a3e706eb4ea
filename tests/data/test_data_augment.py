"""Paired augmentations keep image and mask aligned: the image encodes its mask, so we can check."""

import dataclasses

import numpy as np
import pytest
from .data_fixtures import blocks_mask, image_for

from edgeseg.data import ColorJitter, Compose, HorizontalFlip, RandomCrop, RandomScale, train_augment
from edgeseg.errors import ConfigError


def assert_aligned(image, mask):
    """Wherever a 3x3 neighbourhood of the mask is one class, the image shows that class's colour."""
    assert image.shape[:2] == mask.shape
    h, w = mask.shape
    m = mask.astype(np.int16)
    core = m[1:-1, 1:-1]
    uniform = np.ones_like(core, bool)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            uniform &= m[dy:dy + h - 2, dx:dx + w - 2] == core
    uniform &= core != 255
    assert uniform.sum() > 0.2 * (core != 255).sum(), "too few interior pixels to judge alignment"
    want = image_for(mask)[1:-1, 1:-1][uniform].astype(int)
    got = image[1:-1, 1:-1][uniform].astype(int)
    assert np.abs(want - got).max() <= 1


@pytest.fixture
def pair():
    mask = blocks_mask(60, 84, 5, seed=3, block=10)
    return image_for(mask), mask


@pytest.mark.parametrize("scale", [0.5, 0.73, 1.0, 1.37, 2.0])
def test_random_scale_keeps_alignment(pair, scale):
    image, mask = RandomScale(scale, scale)(*pair, np.random.default_rng(0))
    assert mask.shape == (round(60 * scale), round(84 * scale)) and mask.dtype == np.uint8
    assert set(np.unique(mask)) <= set(np.unique(pair[1]))     # nearest: no invented ids
    assert_aligned(image, mask)


def test_random_crop_keeps_alignment_and_pads_with_ignore(pair):
    rng = np.random.default_rng(1)
    for _ in range(5):
        image, mask = RandomCrop(32, 40)(*pair, rng)
        assert image.shape == (32, 40, 3)
        assert_aligned(image, mask)
    image, mask = RandomCrop(80, 100)(*pair, rng)
    assert image.shape == (80, 100, 3) and mask.shape == (80, 100)
    assert (mask[60:] == 255).all() and (mask[:, 84:] == 255).all() and (image[60:] == 0).all()
    assert np.array_equal(mask[:60, :84], pair[1]) and np.array_equal(image[:60, :84], pair[0])


def test_flip_keeps_alignment(pair):
    image, mask = HorizontalFlip(1.0)(*pair, np.random.default_rng(0))
    assert np.array_equal(mask, pair[1][:, ::-1]) and np.array_equal(image, image_for(mask))
    assert HorizontalFlip(0.0)(*pair, np.random.default_rng(0))[1] is pair[1]


def test_composed_geometry_keeps_alignment(pair):
    t = Compose([RandomScale(0.5, 2.0), RandomCrop(48, 48), HorizontalFlip(0.5)])
    rng = np.random.default_rng(7)
    for _ in range(10):
        image, mask = t(*pair, rng)
        assert image.shape == (48, 48, 3) and mask.shape == (48, 48)
        valid = mask != 255
        if valid.mean() > 0.5:
            assert_aligned(image, mask)


def test_color_jitter_changes_image_only(pair):
    image, mask = ColorJitter(0.4, 0.4, 0.4, 0.1)(*pair, np.random.default_rng(2))
    assert mask is pair[1] and image.shape == pair[0].shape and image.dtype == np.uint8
    assert np.abs(image.astype(int) - pair[0]).mean() > 2
    same, _ = ColorJitter()(*pair, np.random.default_rng(2))
    assert np.array_equal(same, pair[0])


def test_train_augment_is_deterministic_per_rng(pair):
    t = train_augment((40, 48))
    a = t(*pair, np.random.default_rng(11))
    b = t(*pair, np.random.default_rng(11))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert a[0].shape == (40, 48, 3) and a[1].shape == (40, 48)


def test_mask_none_passes_through(pair):
    image, mask = train_augment((32, 32))(pair[0], None, np.random.default_rng(0))
    assert mask is None and image.shape == (32, 32, 3)


@pytest.mark.parametrize("make", [lambda: RandomScale(2.0, 1.0), lambda: RandomScale(0, 1),
                                  lambda: RandomCrop(0, 4), lambda: HorizontalFlip(1.5),
                                  lambda: ColorJitter(hue=0.7), lambda: ColorJitter(brightness=-1),
                                  lambda: Compose([42])])
def test_bad_configs_raise(make):
    with pytest.raises(ConfigError):
        make()


def test_transforms_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        RandomCrop(4, 4).height = 5
