"""Calibration sets from real files: a video written by OpenCV, an image folder, a data spec."""

import cv2
import numpy as np
import pytest

from edgeseg.errors import DataError
from edgeseg.meta import ModelMeta
from edgeseg.preprocess import preprocess
from edgeseg.quantize.calibration import (CalibrationSet, build_calibration_set, class_histogram,
                                          frames_from_video, load_or_build)

META = ModelMeta(model="m", classes=("a", "b", "c"), input_size=(48, 64))


def _video(path, n=40, static_from=20):
    """n frames; from ``static_from`` on the picture stops changing (a parked robot)."""
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (96, 72))
    assert w.isOpened()
    for i in range(n):
        f = np.full((72, 96, 3), 30, np.uint8)
        k = min(i, static_from)
        cv2.rectangle(f, (4 * k % 80, 10), (4 * k % 80 + 16, 40), (0, 200, 255), -1)
        cv2.putText(f, str(k), (5, 65), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2)
        w.write(f)
    w.release()
    return str(path)


def test_video_uniform_and_diverse_sampling(tmp_path):
    video = _video(tmp_path / "drive.mp4")
    uniform = frames_from_video(video, 10, "uniform")
    assert len(uniform) == 10 and uniform[0].shape == (72, 96, 3)
    diverse = frames_from_video(video, 40, "diverse")
    # The 20 static frames count once (codec noise is far below the distance threshold).
    assert 15 <= len(diverse) <= 23


def test_build_save_load_round_trip(tmp_path):
    video = _video(tmp_path / "drive.mp4")
    with pytest.warns(UserWarning, match="only 8 calibration frames"):
        calib = build_calibration_set([video], META, 8, file=None)
    assert calib.frames.shape == (8, 48, 64, 3) and calib.frames.dtype == np.uint8
    path = calib.save(str(tmp_path / "calib.npz"))
    again = load_or_build(path, META)
    assert (again.frames == calib.frames).all() and again.source == video
    assert again.fingerprint() == calib.fingerprint()
    # The tensors are exactly what the runtime's preprocessing gives for those frames.
    np.testing.assert_array_equal(again.tensors(META, 0, 1), preprocess(again.frames[0], META))


def test_folder_and_dataset_sources(tmp_path):
    (tmp_path / "imgs" / "sub").mkdir(parents=True)
    for i in range(5):
        cv2.imwrite(str(tmp_path / "imgs" / "sub" / f"{i}.png"), np.full((20, 30, 3), i * 40, np.uint8))
    with pytest.warns(UserWarning):
        calib = build_calibration_set(str(tmp_path / "imgs"), META, 4, file=None)
    assert len(calib) == 4
    with pytest.warns(UserWarning):
        synth = build_calibration_set("synthetic", META, 3, file=None)
    assert synth.frames.shape == (3, 48, 64, 3)


def test_class_histogram_reports_coverage():
    calib = CalibrationSet(np.zeros((2, 48, 64, 3), np.uint8), (48, 64), "zeros")
    def predict(x):  # left half class 0, right half class 2
        out = np.zeros((len(x), 3, 48, 64), np.float32)
        out[:, 0, :, :32] = 1
        out[:, 2, :, 32:] = 1
        return out
    np.testing.assert_allclose(class_histogram(predict, calib, META), [0.5, 0, 0.5])


def test_bad_sources_are_named(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images") as e:
        build_calibration_set(str(tmp_path / "empty"), META, 4, file=None)
    assert "empty" in str(e.value)
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(DataError, match="video") as e:
        build_calibration_set(str(bad), META, 4, file=None)
    assert "broken.mp4" in str(e.value)
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "x.jpg").write_bytes(b"\xff\xd8 truncated")
    with pytest.raises(DataError, match="cannot read image") as e:
        build_calibration_set(str(tmp_path / "imgs"), META, 4, file=None)
    assert "x.jpg" in str(e.value)
    with pytest.raises(DataError, match="not found"):
        build_calibration_set(str(tmp_path / "nowhere"), META, 4, file=None)
    with pytest.raises(DataError, match="another input size"):
        CalibrationSet(np.zeros((1, 8, 8, 3), np.uint8), (8, 8), "x").tensors(META)
    with pytest.raises(DataError, match="calibration file not found"):
        load_or_build(str(tmp_path / "missing.npz"), META)
