import numpy as np
import pytest

from edgeseg.data import open_dataset
from edgeseg.errors import DataError
from edgeseg.metrics import ConfusionMatrix
from edgeseg.runtime import Segmenter


def test_segmenter_on_real_onnx_runtime(tiny_onnx):
    with Segmenter(tiny_onnx, device="cpu", scores=True) as seg:
        assert seg.backend.kind == "onnxruntime" and seg.meta.input_size == (64, 64)
        frame = open_dataset("synthetic", split="val", size=(96, 128), num=1)[0].image
        r = seg(frame)
        assert r.labels.shape == (96, 128) and r.labels.dtype == np.uint8
        assert r.scores.shape == (6, 64, 64) and np.allclose(r.scores.sum(0), 1, atol=1e-4)
        assert set(r.timings) >= {"preprocess_ms", "infer_ms", "postprocess_ms", "total_ms"}
        assert seg.overlay(frame, r).shape == frame.shape
        assert seg.colorize(r).shape == (96, 128, 3)
        assert seg.legend().shape[0] > 6 * 15


def test_segmenter_beats_chance_on_held_out_scenes(tiny_onnx):
    data = open_dataset("synthetic", split="test", size=(64, 64), num=8)
    cm = ConfusionMatrix(6)
    with Segmenter(tiny_onnx, device="cpu") as seg:
        for s in data:
            cm.update(seg(s.image).labels, s.mask)
    assert cm.report().pixel_acc > 0.6  # the tiny model has learnt road/sky/building at least


def test_bad_frames_get_clear_errors(tiny_onnx):
    with Segmenter(tiny_onnx, device="cpu") as seg:
        with pytest.raises(DataError, match="HxWx3 uint8"):
            seg(np.zeros((10, 10, 3), np.float64))
        with pytest.raises(DataError, match="wrong shape"):
            seg.backend.infer(np.zeros((1, 3, 32, 32), np.float32))
