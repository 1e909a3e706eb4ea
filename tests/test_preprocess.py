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


# -- foreign graphs: float16 inputs, and graphs run at the frame's own size --------------------
def test_float16_graph_gets_the_float32_values_in_half_precision():
    frame = np.random.default_rng(3).integers(0, 256, (8, 12, 3), dtype=np.uint8)
    for layout in ("NCHW", "NHWC"):
        x16 = preprocess(frame, meta(input_dtype="float16", layout=layout))
        x32 = preprocess(frame, meta(layout=layout))
        assert x16.dtype == np.float16 and x16.shape == x32.shape
        np.testing.assert_array_equal(x16, x32.astype(np.float16))


def test_uint8_nchw_graph_gets_planes_in_the_recorded_order():
    frame = np.full((8, 12, 3), (10, 20, 30), np.uint8)
    x = preprocess(frame, meta(input_dtype="uint8", layout="NCHW"))
    assert x.dtype == np.uint8 and x.shape == (1, 3, 4, 6) and x.flags.c_contiguous
    assert x[0, :, 0, 0].tolist() == [30, 20, 10]
    x = preprocess(frame, meta(input_dtype="uint8", layout="NCHW", color_order="BGR"))
    assert x[0, :, 0, 0].tolist() == [10, 20, 30]


def test_network_size_is_the_meta_size_or_the_frame_size_rounded_to_the_multiple():
    from edgeseg.preprocess import network_size
    assert network_size((480, 640, 3), meta()) == (4, 6)
    frame_run = meta(run_size="frame", size_multiple=32)
    assert network_size((480, 640, 3), frame_run) == (480, 640)
    assert network_size((500, 650), frame_run) == (512, 640)      # nearest multiple
    assert network_size((10, 20, 3), frame_run) == (32, 32)       # never below one multiple
    assert network_size((7, 9), meta(run_size="frame")) == (7, 9)
    frame = np.zeros((500, 650, 3), np.uint8)
    assert preprocess(frame, frame_run).shape == (1, 3, 512, 640)
    assert preprocess(frame, frame_run.replace(layout="NHWC", input_dtype="uint8")).shape == (1, 512, 640, 3)
