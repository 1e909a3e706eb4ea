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


# -- decoding one batch item of a model's output, whatever graph wrote it -----------------------
def _meta(kind="logits", classes=3, **kw):
    from edgeseg.meta import ModelMeta
    return ModelMeta(model="m", classes=tuple(f"c{i}" for i in range(classes)), input_size=(16, 24),
                     output_kind=kind, **kw)


def test_quarter_size_scores_are_resized_bilinearly_to_the_network_size():
    from edgeseg.postprocess import decode_labels, decode_output
    out = np.random.default_rng(0).normal(size=(3, 4, 6)).astype(np.float32)
    got = decode_output(out, _meta(), (16, 24))
    assert got.shape == (3, 16, 24) and got.dtype == np.float32
    np.testing.assert_array_equal(got, resize_scores(out, (16, 24)))
    np.testing.assert_array_equal(decode_labels(out, _meta(), (16, 24)), argmax_classes(got))
    half = decode_output(out.astype(np.float16), _meta(), (16, 24))   # fp16 engines' scores
    assert half.dtype == np.float32 and np.abs(half - got).max() < 1e-2


def test_probabilities_are_not_softmaxed_again_logits_are():
    from edgeseg.postprocess import class_probs, softmax
    logits = np.random.default_rng(1).normal(size=(3, 4, 6)).astype(np.float32)
    probs = softmax(logits)
    np.testing.assert_array_equal(class_probs(probs, _meta("probs")), probs)
    np.testing.assert_allclose(class_probs(logits, _meta("logits")), probs, rtol=1e-6)
    from edgeseg.errors import DataError
    with pytest.raises(DataError, match="no class scores"):
        class_probs(np.zeros((4, 6), np.uint8), _meta("labels"))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
@pytest.mark.parametrize("channel_dim", [True, False])
def test_label_outputs_of_any_integer_type_with_or_without_a_channel_dim(dtype, channel_dim):
    from edgeseg.postprocess import decode_labels, decode_output
    lab = np.random.default_rng(2).integers(0, 3, (4, 6)).astype(dtype)
    item = lab[None] if channel_dim else lab
    got = decode_output(item, _meta("labels"), (4, 6))
    assert got.dtype == np.uint8 and got.shape == (4, 6) and np.array_equal(got, lab)
    big = decode_labels(item, _meta("labels"), (8, 12))   # a 1/2-size label map: nearest, ids never blend
    assert np.array_equal(big, np.repeat(np.repeat(lab, 2, 0), 2, 1))


def test_outputs_that_do_not_fit_the_meta_are_named():
    from edgeseg.errors import DataError
    from edgeseg.postprocess import decode_output
    with pytest.raises(DataError, match="5 channels") as err:
        decode_output(np.zeros((5, 4, 6), np.float32), _meta(), (16, 24))
    assert "3 classes" in str(err.value) and "edgeseg meta" in str(err.value)
    with pytest.raises(DataError, match="label"):
        decode_output(np.zeros((2, 4, 6), np.int64), _meta("labels"), (4, 6))
    with pytest.raises(DataError, match="float"):
        decode_output(np.zeros((3, 4, 6), np.int64), _meta("logits"), (4, 6))


@pytest.mark.parametrize("factor", [4, 8])
def test_score_upsampling_equals_torch_interpolate_bilinear_align_corners_false(factor):
    """The heads of SegFormer, torchvision and MMSeg upsample with this call; cv2 must match it."""
    torch = pytest.importorskip("torch")
    out = np.random.default_rng(factor).normal(size=(5, 7, 9)).astype(np.float32)
    size = (7 * factor, 9 * factor)
    want = torch.nn.functional.interpolate(torch.from_numpy(out)[None], size=size, mode="bilinear",
                                           align_corners=False)[0].numpy()
    assert np.abs(resize_scores(out, size) - want).max() < 1e-5
