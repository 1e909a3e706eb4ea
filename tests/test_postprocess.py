import cv2
import numpy as np
import pytest

from edgeseg.postprocess import (
    argmax_classes,
    labels_to_frame,
    logits_to_labels,
    max_resize_channels,
    resize_channels,
    resize_scores,
)


@pytest.mark.parametrize("classes", [2, 6, 21, 300])
def test_argmax_classes_equals_numpy_argmax_ties_included(classes):
    rng = np.random.default_rng(classes)
    scores = rng.integers(-3, 4, (classes, 40, 50)).astype(np.float32)  # few values: many ties
    got = argmax_classes(scores)
    assert np.array_equal(got, scores.argmax(0))  # numpy also takes the first of tied maxima
    assert got.dtype == (np.uint8 if classes <= 256 else np.uint16)


def test_labels_back_to_frame_size():
    logits = np.zeros((3, 4, 6), np.float32)
    logits[2, :, 3:] = 1
    lab = logits_to_labels(logits, (8, 12))
    assert lab.dtype == np.uint8 and lab.shape == (8, 12)
    assert (lab[:, :5] == 0).all() and (lab[:, 7:] == 2).all()
    assert labels_to_frame(np.ones((4, 6), np.uint8), (8, 12)).shape == (8, 12)


def _per_channel_reference(scores, size, interpolation=cv2.INTER_LINEAR):
    return np.stack([cv2.resize(np.ascontiguousarray(p), (size[1], size[0]), interpolation=interpolation)
                     for p in scores.astype(np.float32)])


@pytest.mark.parametrize("classes", [1, 3, 128, 129, 150, 171, 256, 700])
@pytest.mark.parametrize("size", [(37, 53), (9, 12)])
def test_resize_scores_equals_a_per_channel_resize_at_any_class_count(classes, size):
    # ADE20K has 150 classes and COCO-Stuff 171; OpenCV 5 refuses more than 128 channels a call.
    scores = np.random.default_rng(classes).normal(size=(classes, 18, 25)).astype(np.float32)
    got = resize_scores(scores, size)
    assert got.shape == (classes,) + size and got.dtype == np.float32
    ref = _per_channel_reference(scores, size)
    if classes > max_resize_channels():      # resized plane by plane: exactly the reference
        assert np.array_equal(got, ref)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5)   # interleaved: other rounding, same values
    labels = logits_to_labels(scores, size)
    assert np.array_equal(labels, got.argmax(0))


def test_channel_limit_is_the_installed_opencvs():
    limit = max_resize_channels(cv2.INTER_LINEAR)
    assert limit >= 4 and max_resize_channels(cv2.INTER_LINEAR) == limit      # probed once, cached
    cv2.resize(np.zeros((3, 3, limit), np.float32), (2, 2))                    # takes the limit itself
    with pytest.raises(cv2.error):
        cv2.resize(np.zeros((3, 3, limit + 1), np.float32), (2, 2))            # and not one more


@pytest.mark.parametrize("interpolation", [cv2.INTER_LINEAR, cv2.INTER_AREA, cv2.INTER_NEAREST])
def test_resize_channels_chunks_for_every_interpolation(interpolation):
    hwc = np.random.default_rng(1).random((20, 30, 171)).astype(np.float32)
    got = resize_channels(hwc, (10, 15), interpolation)
    ref = _per_channel_reference(hwc.transpose(2, 0, 1), (10, 15), interpolation).transpose(1, 2, 0)
    assert got.shape == (10, 15, 171)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6)
