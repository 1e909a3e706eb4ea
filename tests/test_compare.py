"""edgeseg compare on real ONNX Runtime (and torch for checkpoints): one small checkpoint, its
ONNX export, an INT8 version and a model with other classes, all built once per module."""

import argparse
import json

import cv2
import numpy as np
import pytest
import torch

from edgeseg.cli import compare as compare_command
from edgeseg.compare import compare_models, open_inputs
from edgeseg.errors import ConfigError, DataError

from .export.export_helpers import MODEL, SIZE, TinyNet, calibrated, frames  # noqa: E402

QUIET = {"log": None}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """checkpoint (.pt), its FP32 ONNX, an INT8 Q/DQ ONNX of it, and a 2-class ONNX."""
    from edgeseg.export import export_onnx
    from edgeseg.meta import ModelMeta
    from edgeseg.quantize.api import quantize_model
    from edgeseg.quantize.calibration import CalibrationSet
    d = tmp_path_factory.mktemp("compare")
    ckpt = d / "best.pt"
    meta = _synthetic_checkpoint(ckpt)
    fp32 = export_onnx(ckpt, d / "model.onnx", **QUIET).path
    calib = CalibrationSet(np.stack([cv2.resize(f, meta.input_size[::-1]) for f in frames(8, seed=3)]),
                           meta.input_size, source="test frames")
    int8 = quantize_model(fp32, calib, str(d / "model.int8.onnx"), method="minmax", target="cpu",
                          bench_runs=0, write_reports=False, log=lambda *a: None, file=None).path
    two = ModelMeta(model="tiny", classes=("a", "b"), input_size=meta.input_size)
    other = export_onnx(TinyNet(classes=2).eval(), d / "two.onnx", meta=two, simplify=False, parity=False,
                        **QUIET).path
    # one TinyNet three ways: logits, in-graph ArgMax labels, and logits at a smaller input size
    torch.manual_seed(0)
    net, tiny = TinyNet(classes=len(meta.classes)).eval(), meta.replace(model="tiny")
    fast = {"simplify": False, "parity": False, **QUIET}
    tiny_paths = {"tiny_logits": export_onnx(net, d / "tl.onnx", meta=tiny, **fast).path,
                  "tiny_labels": export_onnx(net, d / "tb.onnx", meta=tiny, output_kind="labels", **fast).path,
                  "tiny_small": export_onnx(net, d / "ts.onnx", meta=tiny.replace(input_size=(32, 32)), **fast).path}
    return {"pt": str(ckpt), "fp32": fp32, "int8": int8, "two": other, **tiny_paths}


def _synthetic_checkpoint(path):
    """Like export_helpers.make_checkpoint, with the synthetic scenes' six classes (for mIoU)."""
    from edgeseg.data import SYNTHETIC_CLASSES
    from edgeseg.meta import ModelMeta
    from edgeseg.train.checkpoint import save_checkpoint
    meta = ModelMeta(model=MODEL, classes=SYNTHETIC_CLASSES, input_size=SIZE)
    save_checkpoint(path, {"model": calibrated(MODEL, len(SYNTHETIC_CLASSES)).state_dict(),
                           "meta": meta.to_dict(), "model_args": {}, "epoch": 1})
    return meta


def _cli(*argv):
    p = argparse.ArgumentParser()
    compare_command.add_args(p)
    return compare_command.run(p.parse_args([str(a) for a in argv]))


def test_onnx_against_itself_agrees_fully(models, capsys):
    r = compare_models(models["fp32"], models["fp32"], "synthetic", num=4, device="cpu")
    assert r.agreement == 1.0 and r.max_abs_diff == 0.0 and r.mean_abs_diff == 0.0
    assert r.a.miou is not None and r.a.miou == r.b.miou
    assert r.images == 4 and r.compared_at == "network 64x64"
    assert _cli(models["fp32"], models["fp32"], "--num", 2, "--device", "cpu") == 0
    out = capsys.readouterr().out
    assert "argmax agreement     100.00 %" in out and "mIoU A / B" in out


def test_int8_agrees_highly_but_not_fully(models, capsys, tmp_path):
    r = compare_models(models["fp32"], models["int8"], "synthetic", num=6, device="cpu")
    assert 0.8 < r.agreement < 1.0, r.table()
    assert r.max_abs_diff > 0 and r.mean_abs_diff < r.max_abs_diff
    assert r.b.precision == "int8" and r.worst_agreement <= r.agreement
    out_json = tmp_path / "r.json"
    assert _cli(models["fp32"], models["int8"], "--num", 6, "--device", "cpu", "--min-agreement", 1.0,
                "--json", out_json) == 1
    assert "below --min-agreement 100.00 %" in capsys.readouterr().err
    saved = json.loads(out_json.read_text())
    assert saved["passed"] is False and saved["agreement"] == pytest.approx(r.agreement)


def test_checkpoint_against_its_export(models):
    r = compare_models(models["pt"], models["fp32"], "synthetic", num=3, device="cpu")
    assert r.a.backend == "torch" and r.b.backend == "onnxruntime"
    assert r.agreement > 0.999 and r.max_abs_diff < 1e-3, r.table()


def test_mismatched_classes_is_a_clear_error(models):
    with pytest.raises(ConfigError, match="different numbers of classes") as err:
        compare_models(models["fp32"], models["two"], "synthetic", num=1, device="cpu")
    assert "6 classes" in str(err.value) and "2 classes" in str(err.value)


def test_labels_model_and_other_input_size(models):
    r = compare_models(models["tiny_logits"], models["tiny_labels"], "synthetic", num=3, device="cpu")
    assert r.b.output_kind == "labels" and r.compared_at == "network 64x64"
    assert r.agreement > 0.999 and r.max_abs_diff is None and "class ids" in " ".join(r.notes)
    assert r.a.miou == pytest.approx(r.b.miou, abs=1e-3)
    r = compare_models(models["tiny_logits"], models["tiny_small"], "synthetic", num=3, device="cpu")
    assert r.compared_at == "frame" and "input sizes differ" in " ".join(r.notes)
    assert 0.3 < r.agreement < 1.0  # same weights, other resolution: similar, not equal


def test_image_folder_without_masks(models, tmp_path, capsys):
    for i, f in enumerate(frames(3, size=(48, 80))):
        cv2.imwrite(str(tmp_path / f"f{i}.png"), f)
    (tmp_path / "notes.txt").write_text("not an image")
    assert _cli(models["fp32"], models["fp32"], "--images", tmp_path, "--device", "cpu") == 0
    out = capsys.readouterr().out
    assert "images               4 from" in out and "(no masks)" in out and "mIoU" not in out
    r = compare_models(models["fp32"], models["fp32"], images=tmp_path, device="cpu")
    assert r.a.miou is None and r.to_dict()["b"]["miou"] is None


def test_input_errors(tmp_path):
    with pytest.raises(ConfigError, match="exactly one source"):
        open_inputs("synthetic", images=tmp_path)
    with pytest.raises(DataError, match="no images"):
        open_inputs(images=tmp_path)
    items, _, classes = open_inputs([np.zeros((8, 8, 3), np.uint8)] * 3, num=2)
    assert classes == ()
    assert [n for n, _, m in items] == ["image_0", "image_1"] and items[0][2] is None


@pytest.mark.gpu
@pytest.mark.tensorrt
def test_onnx_runtime_against_tensorrt(models, tmp_path, monkeypatch):
    pytest.importorskip("tensorrt", reason="TensorRT is not installed (JetPack, or NVIDIA's tensorrt wheels)")
    from edgeseg.backends.tensorrt.cuda import CudaError, load_cuda
    try:
        load_cuda().close()
    except CudaError as exc:
        pytest.skip(f"no usable GPU: {str(exc).splitlines()[0]}")
    monkeypatch.setenv("EDGESEG_CACHE", str(tmp_path))
    r = compare_models(models["fp32"], models["fp32"], "synthetic", num=4, backend_b="tensorrt")
    assert r.b.backend == "tensorrt" and r.agreement > 0.98, r.table()


def test_synthetic_uri_inputs_are_the_short_spellings_inputs():
    def images(data, **kw):
        items, _, classes = open_inputs(data, size=(32, 32), **kw)
        return [n for n, _, _ in items], np.stack([im for _, im, _ in items]), classes

    # no count named: the short default (32 scenes) for the URI too
    for a, b in (("synthetic://", "synthetic"), ("synthetic://?seed=1", "synthetic"),
                 ("synthetic://?num=3", "synthetic:3"), ("SYNTHETIC://?num=3&size=32x32", "synthetic:3")):
        names_a, images_a, classes_a = images(a)
        names_b, images_b, classes_b = images(b)
        assert names_a == names_b and classes_a == classes_b and np.array_equal(images_a, images_b)
    assert len(images("synthetic://")[0]) == 32 and len(images("synthetic://?num=3", num=2)[0]) == 2
    with pytest.raises(ConfigError, match="size is given twice"):
        open_inputs("synthetic://?size=16x16", size=(32, 32))
