"""``edgeseg build`` arguments and runner (wired into edgeseg.cli by the lead), and import weight."""

import argparse
import subprocess
import sys

import pytest

from edgeseg.backends.tensorrt.header import read_header
from edgeseg.cli import build as command
from edgeseg.errors import ConfigError

from ..backends.tensorrt.fake_tensorrt import fake_plan


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


def test_run_wraps(fake_trt, tiny_static, tmp_path):
    raw = tmp_path / "raw.plan"
    raw.write_bytes(fake_plan())
    assert command.run(_parse(tiny_static, "--wrap", str(raw), "--out", str(tmp_path / "w.engine"))) == 0
    assert read_header(tmp_path / "w.engine").precision == "fp16"


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
