"""``edgeseg meta``: writes the meta of a foreign graph (or prints it), says what it wrote and what
it took as default, refuses bad values at parse time (exit 2, one line) and contradictions with the
graph when it runs (exit 2, no traceback); the shared meta options of quantize, bench and compare."""

import argparse
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgeseg.cli import EXIT_USAGE, main
from edgeseg.meta import ModelMeta
from edgeseg.presets import preset

onnx = pytest.importorskip("onnx", reason='needs onnx: pip install "edgeseg[onnx]"')

from ..backends.tensorrt.fake_tensorrt import fake_plan
from ..test_meta_author import MMSEG_MEAN, MMSEG_STD, dynamic_hw, mmdeploy_labels, quarter_logits, torchvision_out_aux


def _main(argv, capsys):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:   # argparse refuses at parse time
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_meta_writes_an_mmdeploy_model_and_says_what(tmp_path, capsys):
    path = mmdeploy_labels(tmp_path)
    code, out, err = _main(["meta", path, "--classes", "ade20k", "--mean", MMSEG_MEAN, "--std", MMSEG_STD], capsys)
    assert code == 0, err
    assert f"wrote the meta into {path} (metadata_props 'edgeseg.meta'), meta_version 3" in out
    assert "classes  150 (preset ade20k): wall, building, sky, floor, ... flag" in out
    assert "input    32x32 (1x3x32x32 float32 NCHW RGB); mean 0.485, 0.456, 0.406 std 0.229, 0.224, 0.225" in out
    assert "output   the graph's first: labels int64" in out
    meta = ModelMeta.from_json({p.key: p.value for p in onnx.load(path).metadata_props}["edgeseg.meta"])
    assert meta.classes == preset("ade20k").classes and meta.label_dtype == "int64"
    code, out, _ = _main(["inspect", path], capsys)   # inspect now reads it
    assert code == 0 and "meta: model end2end, 150 classes, input 32x32, NCHW, float32, labels" in out


def test_print_writes_nothing_and_notes_go_to_stderr(tmp_path, capsys):
    path = dynamic_hw(tmp_path)
    before = Path(path).read_bytes()
    code, out, err = _main(["meta", path, "--input-size", "frame", "--stride", "16", "--print"], capsys)
    assert code == 0, err
    meta = ModelMeta.from_json(out)
    assert (meta.run_size, meta.size_multiple, meta.num_classes) == ("frame", 16, 6)
    assert "note: 6 classes from the output's channels" in err and "ImageNet's" in err
    assert Path(path).read_bytes() == before and not os.path.exists(path + ".meta.json")


def test_sidecar_leaves_the_onnx_as_it_is(tmp_path, capsys):
    path = torchvision_out_aux(tmp_path)
    before = Path(path).read_bytes()
    code, out, err = _main(["meta", path, "--classes", "voc", "--output", "out", "--sidecar"], capsys)
    assert code == 0, err
    assert f"wrote the meta to {path}.meta.json" in out and "output   'out': logits" in out
    assert Path(path).read_bytes() == before
    assert ModelMeta.read_sidecar(path).output_name == "out"


def test_quarter_size_logits_summary(tmp_path, capsys):
    code, out, err = _main(["meta", quarter_logits(tmp_path), "--classes", "cityscapes"], capsys)
    assert code == 0, err
    assert "output   the graph's first: logits at 1/4 size (resized before argmax)" in out


def test_a_trtexec_plan_gets_its_sidecar(tmp_path, capsys):
    path = tmp_path / "model.plan"
    path.write_bytes(fake_plan())
    labels, colors = tmp_path / "labels.txt", tmp_path / "colors.txt"
    labels.write_text("road\ncar\nsky\n")
    colors.write_text("128 64 128\n0 0 142\n70 130 180\n")
    code, out, err = _main(["meta", path, "--classes", labels, "--colors", colors, "--input-size", "8x8"], capsys)
    assert code == 0, err
    assert f"wrote the meta to {path}.meta.json, meta_version 1" in out
    assert "NCHW assumed" in out and "a meta-only sidecar" in out
    side = ModelMeta.read_sidecar(path)
    assert side.classes == ("road", "car", "sky") and side.palette[1] == (0, 0, 142)


def test_the_run_command_runs_a_foreign_model_after_meta(tmp_path, capsys):
    path = torchvision_out_aux(tmp_path)
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):
        cv2.imwrite(str(frames / f"{i}.png"), np.full((24, 40, 3), 40 * i, np.uint8))
    assert _main(["meta", path, "--classes", "voc"], capsys)[0] == 0
    code, _, err = _main(["run", f"images://{frames}", "--model", path, "--sink", f"masks://{tmp_path}/masks",
                          "--device", "cpu", "--report-every", "0"], capsys)
    assert code == 0, err
    masks = sorted(os.listdir(tmp_path / "masks"))
    assert len(masks) == 3 and cv2.imread(str(tmp_path / "masks" / masks[0]), cv2.IMREAD_UNCHANGED).shape == (24, 40)


def test_compare_takes_meta_options_for_a_and_a_meta_file_for_b(tmp_path, capsys):
    a = torchvision_out_aux(tmp_path)
    folder_b = tmp_path / "b"
    folder_b.mkdir()
    b = torchvision_out_aux(folder_b)           # the same graph, its meta only in a JSON file
    images = tmp_path / "images"
    images.mkdir()
    for i in range(2):
        cv2.imwrite(str(images / f"{i}.png"), np.random.default_rng(i).integers(0, 255, (16, 16, 3), np.uint8))
    code, out, err = _main(["meta", b, "--classes", "voc", "--print"], capsys)
    meta_b = tmp_path / "b.meta.json"
    meta_b.write_text(out)
    code, out, err = _main(["compare", a, b, "--images", images, "--classes", "voc", "--meta-b", meta_b,
                            "--device", "cpu"], capsys)
    assert code == 0, err
    assert "100.00 %" in out
    code, _, err = _main(["compare", a, b, "--images", images, "--classes", "voc", "--device", "cpu"], capsys)
    assert code == EXIT_USAGE and "carries no edgeseg meta" in err   # the options describe A only


def test_quantize_and_bench_take_a_foreign_model_with_the_meta_options(tmp_path, capsys):
    """No meta in the file: the options supply it for the run (the file itself stays as it was)."""
    path = quarter_logits(tmp_path)
    before = Path(path).read_bytes()
    out_q = tmp_path / "quarter.cpu.int8.onnx"
    code, _, err = _main(["quantize", path, "--calib", "synthetic", "--num", "2", "--target", "cpu",
                          "--bench-runs", "0", "--out", out_q, "--classes", "cityscapes", "--mean", MMSEG_MEAN,
                          "--std", MMSEG_STD], capsys)
    assert code == 0, err
    qmeta = ModelMeta.from_json({p.key: p.value for p in onnx.load(str(out_q)).metadata_props}["edgeseg.meta"])
    assert qmeta.classes == preset("cityscapes").classes and qmeta.output_stride == 4 and qmeta.precision == "int8"
    assert qmeta.mean == (0.485, 0.456, 0.406)
    report = tmp_path / "bench.json"
    code, _, err = _main(["bench", path, "--backends", "ort", "--runs", "2", "--warmup", "0", "--out", report,
                          "--classes", "cityscapes"], capsys)
    assert code == 0, err
    (variant,) = json.loads(report.read_text())["variants"]
    assert variant["status"] == "ok" and variant["latency"]["runs"] == 2
    assert Path(path).read_bytes() == before
    _main(["bench", path, "--backends", "ort", "--runs", "2", "--out", report], capsys)   # without the options
    (variant,) = json.loads(report.read_text())["variants"]
    assert variant["status"] == "failed" and "carries no edgeseg meta" in variant["reason"]


@pytest.mark.parametrize("command, extra", [("quantize", ["--calib", "calib.npz", "--out", "x.onnx"]),
                                            ("bench", ["--sizes", "16x16", "--out", "r.json"]),
                                            ("compare", ["B.onnx", "--data", "synthetic", "--json", "r.json"])])
def test_the_shared_options_parse_beside_each_commands_own(tmp_path, command, extra):
    """Every meta option with the command's own (--out stays --out, not --output); the meta is built
    from them against the model's graph."""
    from edgeseg.cli import command_module
    from edgeseg.cli._meta_args import meta_from_args
    path = torchvision_out_aux(tmp_path)
    p = argparse.ArgumentParser(prog=f"edgeseg {command}")
    command_module(command).add_args(p)
    a = p.parse_args([path, *extra, "--classes", "voc", "--mean", "0.5,0.5,0.5", "--std", "0.5,0.5,0.5",
                      "--scale", "1", "--color", "bgr", "--layout", "nchw", "--input-size", "16x16",
                      "--output", "out", "--output-kind", "logits", "--model-name", "dl3"])
    model = a.a if command == "compare" else a.models[0] if command == "bench" else a.model
    meta = meta_from_args(a, model)
    assert (meta.model, meta.output_name, meta.color_order, meta.mean) == ("dl3", "out", "BGR", (0.5,) * 3)
    own = {"quantize": ("out", "x.onnx"), "bench": ("out", "r.json"), "compare": ("json", "r.json")}[command]
    assert getattr(a, own[0]) == own[1]
    assert meta_from_args(p.parse_args([path, *extra]), model) is None   # nothing said: the file's own meta


# (argv after "meta MODEL", words the one-line error must contain); refused when parsed
PARSE_ROWS = [
    (["--mean", "1,2"], ["argument --mean", "three finite numbers", "'1,2'"]),
    (["--mean", "1,2,nan"], ["argument --mean"]),
    (["--std", "1,0,1"], ["argument --std", "> 0"]),
    (["--scale", "100"], ["argument --scale", "1 (mean/std for pixels 0..1) or 255"]),
    (["--color", "rgba"], ["argument --color", "rgb or bgr"]),
    (["--layout", "chw"], ["argument --layout", "nchw or nhwc"]),
    (["--input-size", "0x64"], ["argument --input-size", "HxW"]),
    (["--input-size", "frames"], ["argument --input-size"]),
    (["--stride", "0"], ["argument --stride", "integer >= 1"]),
    (["--output-kind", "scores"], ["argument --output-kind", "logits or probs or labels"]),
    (["--output", ""], ["argument --output", "non-empty"]),
    (["--classes", "vocc"], ["argument --classes", "did you mean 'voc'?"]),
    (["--classes", "{dir}/missing.txt"], ["argument --classes", "labels file not found", "missing.txt"]),
    (["--classes", "{blank_labels}"], ["argument --classes", "blank line 2", "line 2"]),
    (["--colors", "{bad_colors}"], ["argument --colors", "not r g b", "line 2", "'128,64,128'"]),
    (["--meta", "{dir}/missing.json"], ["argument --meta", "meta file not found"]),
]
# refused when the command runs, against the graph (the model is a 19-class 1/4-size logits graph)
RUN_ROWS = [
    (["--classes", "voc"], ["names 21 classes, but output 'output' scores 19"]),
    (["--output", "logits"], ["--output names no output", "'output' 1x19x16x24 float32"]),
    (["--output-kind", "labels"], ["labels, but output 'output' holds float32"]),
    (["--input-size", "32x32"], ["differs from the graph's fixed input", "--input-size 64x96"]),
    (["--input-size", "frame"], ["cannot run at the frame's size"]),
    (["--input-size", "64x96", "--stride", "16"], ["stride rounds the frame"]),
    (["--scale", "255"], ["neither is given"]),
    (["--scale", "1", "--mean", MMSEG_MEAN], ["with scale 1", "--scale 255"]),
    (["--layout", "nhwc"], ["says NHWC, but the graph's input is NCHW"]),
]


@pytest.fixture
def bad(tmp_path):
    (tmp_path / "blank.txt").write_text("road\n\ncar\n")
    (tmp_path / "colors.txt").write_text("0 0 0\n128,64,128\n")
    return {"dir": str(tmp_path), "blank_labels": str(tmp_path / "blank.txt"), "bad_colors": str(tmp_path / "colors.txt"),
            "model": quarter_logits(tmp_path)}


@pytest.mark.parametrize("argv, words", PARSE_ROWS + RUN_ROWS, ids=[" ".join(r[0])[:40] for r in PARSE_ROWS + RUN_ROWS])
def test_bad_values_exit_2_without_a_traceback(bad, capsys, argv, words):
    before = Path(bad["model"]).read_bytes()
    code, out, err = _main(["meta", bad["model"], *(a.format(**bad) for a in argv)], capsys)
    assert code == EXIT_USAGE, (code, out, err)
    assert "Traceback" not in err and "internal error" not in err
    error_lines = [ln for ln in err.splitlines() if ln.startswith("edgeseg meta: error:")]
    assert len(error_lines) == 1, err
    if (argv, words) in PARSE_ROWS:   # argparse's: the whole message on that one line
        text = error_lines[0]
    else:                             # an EdgesegError: what, then expected / got / fix lines
        text = err
    for word in words:
        assert word.format(**bad) in text, (word, err)
    assert Path(bad["model"]).read_bytes() == before


def test_help_has_the_examples(capsys):
    code, out, _ = _main(["meta", "--help"], capsys)
    assert code == 0
    for words in ("--classes voc --output out", "end2end.onnx --classes ade20k --mean 123.675", "segformer.onnx",
                  "model.plan", "--print", "--sidecar"):
        assert words in out
    code, out, _ = _main(["compare", "--help"], capsys)
    out = " ".join(out.split())   # argparse wraps the help
    assert "--meta-b FILE" in out and "the options above apply to A only" in out and "model meta of A" in out
