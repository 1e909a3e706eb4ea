import numpy as np
import pytest

from edgeseg.errors import DataError
from edgeseg.meta import ModelMeta
from edgeseg.preprocess import _affine, normalize, preprocess


def meta(**kw):
    return ModelMeta(model="m", classes=("a", "b"), input_size=(4, 6), **kw)


def test_float_preprocess_matches_the_formula():
    frame = np.random.default_rng(0).integers(0, 256, (8, 12, 3), dtype=np.uint8)
    m = meta()
    x = preprocess(frame, m)
    assert x.shape == (1, 3, 4, 6) and x.dtype == np.float32
    import cv2
    small = cv2.resize(frame, (6, 4), interpolation=cv2.INTER_AREA)
    rgb = small[..., ::-1].astype(np.float64) / 255
    want = ((rgb - np.array(m.mean)) / np.array(m.std)).transpose(2, 0, 1)
    np.testing.assert_allclose(x[0], want, atol=1e-5)


def test_bgr_model_keeps_channel_order_and_nhwc_layout():
    frame = np.zeros((4, 6, 3), np.uint8)
    frame[..., 0] = 255  # blue
    x = preprocess(frame, meta(color_order="BGR", mean=(0, 0, 0), std=(1, 1, 1)))
    assert x[0, 0].min() == pytest.approx(1.0) and x[0, 2].max() == 0
    x = preprocess(frame, meta(layout="NHWC", mean=(0, 0, 0), std=(1, 1, 1)))
    assert x.shape == (1, 4, 6, 3) and x[0, ..., 2].min() == pytest.approx(1.0)  # RGB: blue last


def test_uint8_graph_gets_raw_pixels_only_resized():
    frame = np.full((8, 12, 3), (10, 20, 30), np.uint8)
    x = preprocess(frame, meta(input_dtype="uint8", layout="NHWC"))
    assert x.dtype == np.uint8 and x.shape == (1, 4, 6, 3)
    assert x[0, 0, 0].tolist() == [30, 20, 10]


def test_training_normalize_is_the_same_function():
    img = np.random.default_rng(1).integers(0, 256, (4, 6, 3), dtype=np.uint8)
    np.testing.assert_array_equal(normalize(img, meta()), preprocess(img, meta())[0])


@pytest.mark.parametrize("order", ["RGB", "BGR"])
def test_plane_wise_normalize_is_bit_identical_to_the_interleaved_formula(order):
    img = np.random.default_rng(2).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    m = meta(color_order=order)
    scale, bias = _affine(m.mean, m.std, order)
    x = img.astype(np.float32)
    x *= scale
    x += bias
    want = (x[..., ::-1] if order == "RGB" else x).transpose(2, 0, 1)
    assert np.array_equal(normalize(img, m), want)


def test_bad_frames_are_named():
    with pytest.raises(DataError, match="uint8"):
        preprocess(np.zeros((4, 6, 3), np.float32), meta())
    with pytest.raises(DataError, match="numpy array"):
        preprocess([[1, 2]], meta())
    assert preprocess(np.zeros((4, 6), np.uint8), meta()).shape == (1, 3, 4, 6)  # grey accepted
