"""The CLI as a user meets it: help without heavy imports, clean errors, no tracebacks."""

import subprocess
import sys

from edgeseg.cli import main


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "edgeseg", *args], capture_output=True, text=True,
                          timeout=300)


def test_help_lists_every_stage_and_needs_no_torch():
    proc = subprocess.run([sys.executable, "-c",
                           "import sys; sys.modules['torch'] = None; sys.modules['onnx'] = None\n"
                           "from edgeseg.cli import main; main(['--help'])"],
                          capture_output=True, text=True)
    for cmd in ("train", "eval", "export", "calibrate", "quantize", "models"):
        assert cmd in proc.stdout


def test_user_errors_print_a_message_not_a_traceback(tmp_path):
    proc = _cli("eval", str(tmp_path / "missing.pt"))
    assert proc.returncode == 2
    assert "checkpoint not found" in proc.stderr and "Traceback" not in proc.stderr
    proc = _cli("train", "--model", "lraspp_mobilenet_v3_smal", "--epochs", "1")
    assert proc.returncode == 2 and "did you mean" in proc.stderr and "Traceback" not in proc.stderr
    proc = _cli("train", "--model", "lraspp_mobilenet_v3_small", "--data", "vocc:/x")
    assert proc.returncode == 2 and "voc" in proc.stderr and "Traceback" not in proc.stderr
    proc = _cli("quantize", str(tmp_path / "none.onnx"), "--calib", "x.npz")
    assert proc.returncode == 2 and "not found" in proc.stderr


def test_foreign_onnx_without_meta_is_explained(tmp_path):
    import onnx
    from onnx import TensorProto, helper
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])])
    path = tmp_path / "foreign.onnx"
    onnx.save(helper.make_model(g, ir_version=8, opset_imports=[helper.make_opsetid("", 17)]), path)
    proc = _cli("calibrate", "synthetic", "--model", str(path), "--num", "2")
    assert proc.returncode == 2 and "carries no edgeseg meta" in proc.stderr and "write_sidecar" in proc.stderr


def test_models_table(capsys):
    assert main(["models", "--size", "256x256", "--classes", "6"]) == 0
    out = capsys.readouterr().out
    assert "lraspp_mobilenet_v3_small" in out and "GFLOPs@256x256" in out


def test_train_eval_round_trip_from_the_cli(tmp_path, capsys):
    assert main(["train", "--model", "lraspp_mobilenet_v3_small", "--size", "64x64", "--epochs", "1",
                 "--batch", "4", "--num-train", "8", "--num-val", "4", "--out", str(tmp_path)]) == 0
    assert "best val mIoU" in capsys.readouterr().out
    assert main(["eval", str(tmp_path / "last.pt"), "--num", "4", "--json", str(tmp_path / "e.json"),
                 "--scales", "0.75,1", "--flip"]) == 0
    out = capsys.readouterr().out
    assert "person" in out and "pixel acc" in out
    import json
    rep = json.loads((tmp_path / "e.json").read_text())
    assert 0 <= rep["miou"] <= 1 and set(rep["per_class"]) >= {"sky", "person"}


def test_eval_scores_an_onnx_through_the_backend_table(tiny_onnx, capsys):
    assert main(["eval", tiny_onnx, "--num", "4", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "(fp32, onnxruntime)" in out and "pixel acc" in out


def test_help_shows_both_data_spec_spellings(capsys):
    import argparse

    import pytest

    from edgeseg.cli import EPILOG, command_module
    spec_line = EPILOG[EPILOG.index("data specs:"):]
    assert "synthetic:N" in spec_line and "folder:PATH" in spec_line
    assert "synthetic://?num=N" in spec_line and "folder:///PATH" in spec_line
    for cmd, option in (("eval", "--data"), ("compare", "--data"), ("bench", "--data"),
                        ("calibrate", "SOURCE"), ("quantize", "--val")):
        p = argparse.ArgumentParser(prog=f"edgeseg {cmd}")
        command_module(cmd).add_args(p)
        action = next(a for a in p._actions if option in a.option_strings or a.metavar == option)
        assert "synthetic" in action.help and "://" in action.help, (cmd, action.help)
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "synthetic://?num=N" in capsys.readouterr().out
