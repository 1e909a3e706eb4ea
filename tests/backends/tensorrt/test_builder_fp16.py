"""TensorRT 11 fp16 builds (strongly typed: the ONNX is converted to float16 first): calibration
frames decide which nodes stay float32, without them the build says no range check was made, and
ModelOpt AutoCast is used where it imports."""

import contextlib
import sys

import cv2
import numpy as np
import pytest
from onnx import TensorProto as T

from edgeseg.backends.tensorrt import builder as B
from edgeseg.errors import ConfigError, DataError

from .build_helpers import frames, overflow_model, save


@pytest.fixture
def overflow_onnx(tmp_path):
    return save(overflow_model(), tmp_path / "overflow.onnx")


def _build(fake_trt, path, tmp_path, version="11.4.0", **kw):
    fake_trt(version)
    lines = []
    r = B.build_engine(path, tmp_path / "m.engine", precision="fp16", progress=None, log=lines.append, **kw)
    return r, "\n".join(lines)


def test_calibration_frames_keep_overflowing_nodes_float32(fake_trt, overflow_onnx, tmp_path):
    r, text = _build(fake_trt, overflow_onnx, tmp_path, calib=frames(6, size=(40, 30)), fp16_converter="edgeseg")
    assert r.fp16.converter == "edgeseg" and r.fp16.kept_fp32 == ("scale_up", "scale_down") and r.fp16.frames == 6
    assert "kept 2 of 4 nodes in float32 (scale_up, scale_down)" in text and "6 calibration frames" in text
    net = fake_trt.module.state["last"]["network"]
    assert net.initializer_types["big"] == T.FLOAT and net.initializer_types["w1__fp16"] == T.FLOAT16
    assert net.input_types == {"x": T.FLOAT}


def test_without_frames_the_build_says_no_range_check_was_made(fake_trt, overflow_onnx, tmp_path):
    r, text = _build(fake_trt, overflow_onnx, tmp_path, fp16_converter="edgeseg")
    assert r.fp16.kept_fp32 == () and "no range check was made (no --calib)" in text
    assert T.FLOAT not in fake_trt.module.state["last"]["network"].initializer_types.values()


@pytest.mark.parametrize("kind", ["npz", "folder", "frame list"])
def test_calibration_sources(fake_trt, overflow_onnx, tmp_path, kind):
    from edgeseg.quantize.calibration import CalibrationSet
    imgs = frames(3, size=(16, 16))
    if kind == "npz":
        calib = CalibrationSet(imgs, (16, 16), source="test").save(str(tmp_path / "calib.npz"))
    elif kind == "folder":
        (tmp_path / "imgs").mkdir()
        for i, im in enumerate(imgs):
            cv2.imwrite(str(tmp_path / "imgs" / f"{i}.png"), im)
        calib = str(tmp_path / "imgs")
    else:
        calib = list(imgs)
    few = pytest.warns(UserWarning, match="calibration frames") if kind == "folder" else contextlib.nullcontext()
    with few:   # building a set from a folder warns below 64 frames
        r, _ = _build(fake_trt, overflow_onnx, tmp_path, calib=calib, fp16_converter="edgeseg")
    assert r.fp16.frames == 3 and r.fp16.kept_fp32 == ("scale_up", "scale_down")


def test_bad_calibration_is_refused_before_tensorrt(overflow_onnx, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(DataError, match="calibration file not found"):
        B.build_engine(overflow_onnx, tmp_path / "m.engine", calib=str(tmp_path / "none.npz"), progress=None, log=None)
    with pytest.raises(DataError, match="calibration source not found"):
        B.build_engine(overflow_onnx, tmp_path / "m.engine", calib="no/such/folder", progress=None, log=None)
    with pytest.raises(ConfigError, match="cannot use this as calibration frames"):
        B.build_engine(overflow_onnx, tmp_path / "m.engine", calib=42, progress=None, log=None)
    with pytest.raises(ConfigError, match="unknown fp16 converter"):
        B.build_engine(overflow_onnx, tmp_path / "m.engine", fp16_converter="fast", progress=None, log=None)


def test_tensorrt_10_does_not_use_the_frames(fake_trt, overflow_onnx, tmp_path):
    r, text = _build(fake_trt, overflow_onnx, tmp_path, version="10.3.0", calib=frames(2))
    assert r.fp16 is None and "calibration frames are not used" in text
    assert fake_trt.calls("parse_from_file")           # the float32 ONNX, FP16 by the builder flag


@pytest.mark.slow
def test_auto_uses_modelopt_autocast_where_it_imports(fake_trt, overflow_onnx, tmp_path):
    pytest.importorskip("modelopt.onnx.autocast")
    r, text = _build(fake_trt, overflow_onnx, tmp_path, calib=frames(4))
    assert r.fp16.converter == "autocast" and "ModelOpt AutoCast" in text
    assert set(r.fp16.kept_fp32) == {"scale_up", "scale_down"}
    net = fake_trt.module.state["last"]["network"]
    assert net.input_types == {"x": T.FLOAT} and T.FLOAT16 in net.initializer_types.values()
    assert r.header.meta.precision == "fp16"


def test_a_frame_of_another_size_is_preprocessed_as_the_runtime_does():
    from edgeseg.backends.onnx_meta import get_onnx_meta
    from edgeseg.backends.tensorrt.fp16 import calibration_tensors
    from edgeseg.preprocess import preprocess
    meta = get_onnx_meta(overflow_model())
    one = frames(1, size=(48, 64))[0]
    x = calibration_tensors(one, meta)
    assert x.shape == (1, 3, 16, 16) and x.dtype == np.float32
    np.testing.assert_array_equal(x, preprocess(one, meta))
