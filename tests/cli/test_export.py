"""``edgeseg export`` as the CLI will call it: add_args(parser) + run(args)."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgeseg.backends import load_backend
from edgeseg.cli import export as command
from edgeseg.errors import ConfigError
from edgeseg.preprocess import preprocess


def _args(*argv):
    p = argparse.ArgumentParser(prog="edgeseg export")
    command.add_args(p)
    return p.parse_args([str(a) for a in argv])


def test_cli_exports_a_uint8_labels_graph(checkpoint, tmp_path, capsys):
    out = tmp_path / "seg.onnx"
    assert command.run(_args(checkpoint, "--input", "uint8", "--output", "labels", "--out", out)) == 0
    text = capsys.readouterr().out
    assert "parity: argmax agreement" in text and f"{out}: lraspp_mobilenet_v3_small" in text
    with load_backend(out, device="cpu") as b:
        m = b.meta
        assert (m.input_dtype, m.layout, m.color_order, m.output_kind) == ("uint8", "NHWC", "BGR", "labels")
        assert m.input_size == (64, 64)  # --size defaults to the checkpoint's
        frame = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
        labels = b.infer(preprocess(frame, m))
    assert labels.shape == (1, 64, 64) and labels.dtype == np.int32 and labels.max() < 3


@pytest.mark.parametrize("argv, what", [
    (["--batch", "1", "--dynamic"], "--batch and --dynamic conflict"),
    (["--input", "float16"], "unknown input dtype"),
    (["--output", "argmax"], "unknown output kind"),
    (["--color", "grb"], "did you mean 'rgb'"),
    (["--size", "big"], "cannot read the export size"),
    (["--tensorrt", "9"], "unknown --tensorrt"),
])
def test_cli_rejects_bad_options_before_exporting(argv, what, tmp_path):
    with pytest.raises(ConfigError, match=what):
        command.run(_args(tmp_path / "missing.pt", *argv))


def test_help_and_option_parsing_import_neither_torch_nor_onnx():
    code = ("import sys, json; sys.modules['torch'] = None; sys.modules['onnx'] = None\n"
            "import argparse, edgeseg.cli.export as c\n"
            "p = argparse.ArgumentParser(); c.add_args(p)\n"
            "o = c.options_from_args(p.parse_args(['x.pt', '--dynamic', '--output', 'labels']))\n"
            "h = p.format_help()\n"
            "print(json.dumps([o.dynamic, o.output_kind, '--dynamic' in h,"
            " any(m.split('.')[0] in ('torch', 'onnx', 'onnxruntime', 'onnxsim')"
            " for m, v in sys.modules.items() if v is not None)]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert json.loads(out.stdout) == [True, "labels", True, False]
