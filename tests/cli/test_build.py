"""``edgeseg build`` arguments and runner (wired into edgeseg.cli by the lead), and import weight."""

import argparse
import subprocess
import sys

import pytest

from edgeseg.backends.tensorrt.header import read_engine, read_header
from edgeseg.cli import build as command
from edgeseg.errors import ConfigError

from ..backends.tensorrt.engine_files import write_legacy_engine
from ..backends.tensorrt.fake_tensorrt import FAKE_MAGIC, fake_plan


def _parse(*argv):
    p = argparse.ArgumentParser(prog="edgeseg build")
    command.add_args(p)
    return p.parse_args(list(argv))


def test_run_builds(fake_trt, tiny_dynamic, tmp_path, capsys):
    out = tmp_path / "cli.engine"
    a = _parse(tiny_dynamic, "--precision", "fp16", "--workspace", "512M", "--dynamic",
               "1x3x32x32:1x3x64x64:2x3x64x64", "--timing-cache", str(tmp_path / "t.cache"),
               "--out", str(out), "--no-progress")
    assert command.run(a) == 0
    printed = capsys.readouterr().out
    assert "TensorRT 10.3.0 on Orin" in printed and str(out) in printed
    h = read_header(out)
    assert h.shapes["input"]["max"] == [2, 3, 64, 64] and (tmp_path / "t.cache").exists()
    # model.engine is what TensorRT serialised, byte for byte; the facts sit in the sidecar
    assert out.read_bytes().startswith(FAKE_MAGIC) and (tmp_path / "cli.engine.meta.json").is_file()
    assert h.plan_size == out.stat().st_size and "trtexec --loadEngine=" + str(out) in printed


def test_unwrap_converts_a_headered_engine(tmp_path, capsys, monkeypatch):
    """Pure Python (no TensorRT, no onnx): the robots that hold old files may have neither."""
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    monkeypatch.setitem(sys.modules, "onnx", None)
    plan = fake_plan()
    old = write_legacy_engine(tmp_path / "old.engine", plan)
    assert command.run(_parse("--unwrap", old)) == 0
    with open(old, "rb") as f:
        assert f.read() == plan
    assert read_engine(old)[0].gpu == "Orin" and "trtexec --loadEngine=" + old in capsys.readouterr().out
    assert command.run(_parse("--unwrap", old)) == 0          # again: already a pair, nothing to do
    assert "already" in capsys.readouterr().out
    new = tmp_path / "new.engine"
    assert command.run(_parse("--unwrap", old, "--out", str(new))) == 0
    assert new.read_bytes() == plan and (tmp_path / "new.engine.meta.json").is_file()


@pytest.mark.parametrize("argv,match", [(["m.onnx", "--unwrap", "old.engine"], "either an ONNX"),
                                        ([], "needs an ONNX"),
                                        (["--unwrap", "old.engine", "--dla", "0"], "only apply when building")])
def test_unwrap_argument_errors(argv, match, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(ConfigError, match=match):
        command.run(_parse(*argv))


def test_default_output_name(fake_trt, tiny_static):
    assert command.run(_parse(tiny_static, "--no-progress")) == 0
    assert read_header(tiny_static[:-5] + ".engine").onnx == "tiny.onnx"


@pytest.mark.parametrize("argv,match", [(["--workspace", "2 gigs"], "workspace"),
                                        (["--shape", "1x3xAx4"], "cannot read the shape"),
                                        (["--dynamic", "1x3x8x8:1x3x4x4:1x3x8x8"], "min <= opt"),
                                        (["--dla", "-1"], "DLA core")])
def test_bad_options_fail_before_any_import(argv, match, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ConfigError, match=match):
        command.run(_parse("model.onnx", *argv))


def test_shape_and_dynamic_conflict(capsys):
    with pytest.raises(SystemExit):
        _parse("m.onnx", "--shape", "1x3x8x8", "--dynamic", "1x3x8x8:1x3x8x8:1x3x8x8")
    assert "not allowed with argument" in capsys.readouterr().err


def test_imports_stay_light():
    """The CLI imports command.py for --help; the deploy side imports header.py: neither pulls
    tensorrt, onnx or torch."""
    code = ("import sys\nfor m in ('tensorrt', 'onnx', 'torch', 'onnxruntime'): sys.modules[m] = None\n"
            "import edgeseg.backends.tensorrt, edgeseg.cli.build, edgeseg.backends.tensorrt.header, edgeseg.backends.tensorrt.cache\n"
            "import edgeseg.backends.tensorrt.plan, edgeseg.backends.tensorrt.shapes, edgeseg.backends.tensorrt.cuda.device, edgeseg.backends.tensorrt.progress\n"
            "import edgeseg.backends.tensorrt.builder, edgeseg.backends.tensorrt.fp16, edgeseg.backends.tensorrt.source\n"
            "print(edgeseg.backends.tensorrt.precision_plan('11.4.0', 'fp16', qdq=False).convert_fp16)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "True", proc.stderr


def test_deepstream_files_are_written_beside_the_engine(fake_trt, tiny_static, tmp_path, capsys):
    out = tmp_path / "seg.engine"
    assert command.run(_parse(tiny_static, "--out", str(out), "--deepstream", "--no-progress")) == 0
    printed = capsys.readouterr().out
    config = (tmp_path / "config_infer_seg.txt").read_text()
    assert "network-type=2" in config and "model-engine-file=seg.engine" in config
    assert (tmp_path / "seg.labels.txt").is_file() and (tmp_path / "seg.colors.txt").is_file()
    assert "DeepStream:" in printed and "config_infer_seg.txt" in printed


def test_deepstream_refuses_a_labels_model_before_building(fake_trt, zoo_labels_onnx, tmp_path):
    out = tmp_path / "labels.engine"
    with pytest.raises(ConfigError, match="does not fit DeepStream") as err:
        command.run(_parse(str(zoo_labels_onnx), "--out", str(out), "--deepstream", "--no-progress"))
    assert "--output logits" in str(err.value) and not out.exists()  # nothing was built
