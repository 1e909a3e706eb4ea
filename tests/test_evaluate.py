"""Evaluation: test-time augmentation at any class count, and every bad setting refused up front."""

import argparse
import math

import cv2
import numpy as np
import pytest

from edgeseg.cli import eval as eval_cli
from edgeseg.data import FolderDataset, ListDataset, Sample, open_dataset
from edgeseg.errors import ConfigError, DataError
from edgeseg.evaluate import confusion, evaluate, predict_scores
from edgeseg.meta import ModelMeta


def _halves(classes: int, left: int, right: int):
    """Data whose left half is ``left`` and right half ``right``, and a predictor that reads the
    halves off the input's brightness, at half the input's resolution like a real head."""
    image = np.zeros((24, 32, 3), np.uint8)
    image[:, 16:] = 255
    mask = np.full((24, 32), left, np.uint8)
    mask[:, 16:] = right
    names = tuple(f"c{i}" for i in range(classes))
    meta = ModelMeta(model="halves", classes=names, input_size=(16, 16))

    def predict(x):
        bright = x[:, 0, ::2, ::2]                             # normalised: dark < 0 < bright
        out = np.zeros((len(x), classes) + bright.shape[1:], np.float32)
        out[:, left], out[:, right] = -bright, bright
        return out
    return ListDataset([Sample(image, mask, "halves")], names), meta, predict


@pytest.mark.parametrize("classes", [129, 150, 171, 256])
@pytest.mark.parametrize("scales, flip", [((1.0,), False), ((0.5, 1.0, 1.5), False), ((1.0,), True),
                                          ((0.75, 1.25), True)])
def test_many_classes_with_test_time_augmentation(classes, scales, flip):
    # ADE20K (150) and COCO-Stuff (171) are over OpenCV 5's 128 channels a resize call.
    ds, meta, predict = _halves(classes, left=3, right=min(classes - 1, 254))
    r = evaluate(predict, ds, meta, scales=scales, flip=flip)
    assert len(r.iou) == classes
    assert r.iou[3] > 0.9 and r.iou[min(classes - 1, 254)] > 0.9
    scores = predict_scores(predict, [ds[0].image], meta, scales=scales, flip=flip)[0]
    assert scores.shape == (classes, 24, 32) and np.isfinite(scores).all()


@pytest.mark.parametrize("scales", [(0.0,), (-1.0,), (1.0, 0.0), (math.nan,), (math.inf,), ()])
def test_bad_scales_are_refused_before_any_work(scales):
    ds, meta, predict = _halves(3, 0, 2)
    calls = []

    def counting(x):
        calls.append(1)
        return predict(x)
    for fn in (lambda: evaluate(counting, ds, meta, scales=scales),
               lambda: predict_scores(counting, [ds[0].image], meta, scales=scales)):
        with pytest.raises(ConfigError, match="scales") as e:
            fn()
        assert "> 0" in str(e.value)
    assert calls == []


def test_a_scale_that_shrinks_the_input_below_8_pixels_is_refused_not_clamped():
    ds, meta, predict = _halves(3, 0, 2)                          # input 16x16
    with pytest.raises(ConfigError, match="too small") as e:
        evaluate(predict, ds, meta, scales=(1.0, 0.25))
    assert "scales >= 0.5" in str(e.value) and "scale 0.25: 4x4" in str(e.value)
    assert evaluate(predict, ds, meta, scales=(0.5, 1.0)).iou[2] > 0.9   # 8x8 is allowed


@pytest.mark.parametrize("batch", [0, -1, 2.5, True])
def test_bad_batch_is_refused(batch):
    ds, meta, predict = _halves(3, 0, 2)
    with pytest.raises(ConfigError, match="batch") as e:
        confusion(predict, ds, meta, batch=batch, progress_file=None)
    assert ">= 1" in str(e.value)


def test_an_empty_data_set_is_refused_not_scored_as_n_a():
    _, meta, predict = _halves(3, 0, 2)
    with pytest.raises(ConfigError, match="no images") as e:
        evaluate(predict, ListDataset([], meta.classes), meta)
    assert ">= 1" in str(e.value)
    # one process's share of a small val set may be empty: its confusion matrix is just zero
    assert confusion(predict, ListDataset([], meta.classes), meta, indices=[], progress_file=None).matrix.sum() == 0


def test_mask_id_beyond_the_models_classes_names_the_mask_file(tmp_path):
    root = tmp_path / "set"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    mask = np.zeros((16, 16), np.uint8)
    mask[4:8, 4:8] = 2
    mask[8:, 8:] = 1
    cv2.imwrite(str(root / "images" / "a.png"), np.zeros((16, 16, 3), np.uint8))
    cv2.imwrite(str(root / "masks" / "a.png"), mask)
    ds = FolderDataset(root)                                    # three classes ...
    meta = ModelMeta(model="m", classes=("bg", "fg"), input_size=(16, 16))   # ... a model of two
    with pytest.raises(DataError, match="outside") as e:
        evaluate(lambda x: np.zeros((len(x), 2, 16, 16), np.float32), ds, meta)
    assert str(root / "masks" / "a.png") in str(e.value) and "id(s) 2" in str(e.value)


# -- the CLI refuses the same values at parse time (exit 2, no traceback) ----------------------
def _parse(argv):
    p = argparse.ArgumentParser(prog="edgeseg eval")
    eval_cli.add_args(p)
    return p.parse_args(argv)


@pytest.mark.parametrize("argv, message", [
    (["--scales", "0"], "--scales: expected a finite number > 0, got '0'"),
    (["--scales", "-1"], "--scales: expected a finite number > 0, got '-1'"),
    (["--scales", "0.75,nan"], "--scales: expected a finite number > 0, got 'nan'"),
    (["--scales", ","], "--scales: expected comma-separated numbers > 0"),
    (["--batch", "0"], "--batch: expected an integer >= 1, got '0'"),
    (["--num", "0"], "--num: expected an integer >= 1, got '0'"),
    (["--data", "synthetic:0"], "--data: "),
    (["--data", "synthetic://?num=0"], "--data: "),
    (["--data", "synthetic://?nmu=3"], "did you mean 'num'"),
])
def test_cli_refuses_bad_values_at_parse_time(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        _parse(["model.onnx", *argv])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cli_data_spec_error_says_the_valid_range(capsys):
    with pytest.raises(SystemExit):
        _parse(["model.onnx", "--data", "synthetic:0"])
    assert ">= 1" in capsys.readouterr().err


def test_cli_json_that_is_a_folder_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        _parse(["model.onnx", "--json", str(tmp_path)])
    assert e.value.code == 2 and "is a folder" in capsys.readouterr().err


def test_cli_good_values_still_parse(tmp_path):
    a = _parse(["model.onnx", "--scales", "0.5,1", "--batch", "1", "--num", "3", "--data", "synthetic:4",
                "--json", str(tmp_path / "e.json")])
    assert (a.scales, a.batch, a.num, a.data) == ((0.5, 1.0), 1, 3, "synthetic:4")


def test_api_refuses_a_zero_synthetic_count_too():
    for spec, kw in (("synthetic:0", {}), ("synthetic://?num=0", {}), ("synthetic", {"num": 0})):
        with pytest.raises(ConfigError, match=">= 1"):
            open_dataset(spec, split="val", size=(16, 16), **kw)


@pytest.mark.parametrize("argv, message", [
    (["--data", "synthetic:5", "--num", "6"], "conflicts with num="),
    (["--num", "3", "--data", "folder:/nowhere"], "--num applies to synthetic data only"),
])
def test_cli_options_that_do_not_fit_the_data_fail_before_the_model_loads(tmp_path, argv, message):
    # the model file does not exist: the error must come before anyone tries to load it
    with pytest.raises(ConfigError, match=message):
        eval_cli.run(_parse([str(tmp_path / "missing.onnx"), *argv]))
