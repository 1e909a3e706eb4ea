import numpy as np
import pytest

from edgeseg.postprocess import argmax_classes, labels_to_frame, logits_to_labels


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
