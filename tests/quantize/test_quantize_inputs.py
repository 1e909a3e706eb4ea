"""Bad inputs to calibrate and quantize get a clear EdgesegError or argparse error, before the work.

A tiny three-layer conv graph with edgeseg meta stands in for an exported model: real ONNX
Runtime sessions and real quantization, in a fraction of a second.
"""

import argparse
import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgeseg.backends.onnx_meta import set_onnx_meta
from edgeseg.cli import calibrate as calibrate_cli
from edgeseg.cli import main
from edgeseg.cli import quantize as quantize_cli
from edgeseg.errors import ConfigError, DataError, ModelError
from edgeseg.export import read_onnx_meta
from edgeseg.meta import ModelMeta
from edgeseg.quantize.api import quantize_model
from edgeseg.quantize.calibration import CalibrationSet, build_calibration_set, load_or_build
from edgeseg.quantize.ort_quantizer import compute_ranges
from edgeseg.quantize.targets import get_target

SIZE = 32
META = ModelMeta(model="tiny", classes=("a", "b", "c"), input_size=(SIZE, SIZE))
QUIET = {"bench_runs": 0, "write_reports": False, "log": lambda *a: None, "file": None}


def _model(path, poison=None) -> str:
    """Conv-Relu-Conv-Relu-Conv logits; ``poison``: a value put into the last conv's weights."""
    rng = np.random.default_rng(0)
    ws = {"w1": rng.normal(0, 1, (8, 3, 1, 1)), "w2": rng.normal(0, 0.5, (8, 8, 1, 1)),
          "w3": rng.normal(0, 0.5, (3, 8, 1, 1))}
    ws = {k: v.astype(np.float32) for k, v in ws.items()}
    if poison is not None:
        ws["w3"][0, 0] = poison
    nodes = [helper.make_node("Conv", ["input", "w1"], ["t1"], name="/a/Conv"),
             helper.make_node("Relu", ["t1"], ["t2"], name="/a/Relu"),
             helper.make_node("Conv", ["t2", "w2"], ["t3"], name="/b/Conv"),
             helper.make_node("Relu", ["t3"], ["t4"], name="/b/Relu"),
             helper.make_node("Conv", ["t4", "w3"], ["logits"], name="/c/Conv")]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        [numpy_helper.from_array(v, k) for k, v in ws.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    model.producer_name = "edgeseg"
    set_onnx_meta(model, META)
    onnx.save(model, str(path))
    return str(path)


def _calib(n=4, seed=0) -> CalibrationSet:
    frames = np.random.default_rng(seed).integers(0, 256, (n, SIZE, SIZE, 3), dtype=np.uint8)
    return CalibrationSet(frames, (SIZE, SIZE), "random")


@pytest.fixture
def model(tmp_path):
    return _model(tmp_path / "model.onnx")


@pytest.fixture
def truncated(model, tmp_path):
    data = Path(model).read_bytes()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[:len(data) // 2])
    return str(path)


@pytest.fixture
def calib_npz(tmp_path):
    return _calib().save(str(tmp_path / "calib.npz"))


def _parse(module, prog, argv, capsys):
    p = argparse.ArgumentParser(prog=prog)
    module.add_args(p)
    with pytest.raises(SystemExit) as exit_:
        p.parse_args(argv)
    assert exit_.value.code == 2
    return capsys.readouterr().err


# -- a truncated ONNX file -------------------------------------------------------------------
def test_quantize_names_a_truncated_onnx(truncated):
    with pytest.raises(ModelError, match="not a readable ONNX file") as err:
        quantize_model(truncated, _calib(), **QUIET)
    text = str(err.value)
    assert "truncated" in text and "cut.onnx" in text and f"{os.path.getsize(truncated)} bytes" in text
    assert "fix:" in text


@pytest.mark.parametrize("cut", ["empty", "graph only"])
def test_an_empty_file_or_one_cut_before_the_meta_is_named_too(model, tmp_path, cut):
    path = tmp_path / "cut.onnx"
    if cut == "empty":
        path.write_bytes(b"")
    else:  # a cut at a field boundary parses: the graph is there, the meta written after it is not
        proto = onnx.load(model)
        del proto.metadata_props[:]
        onnx.save(proto, str(path))
    with pytest.raises(ModelError, match="not a readable ONNX file"):
        quantize_model(str(path), _calib(), **QUIET)
    with pytest.raises(ModelError, match="not a readable ONNX file"):
        read_onnx_meta(path)


def test_read_onnx_meta_names_a_truncated_onnx(truncated):
    with pytest.raises(ModelError, match="not a readable ONNX file") as err:
        read_onnx_meta(truncated)
    assert f"{os.path.getsize(truncated)} bytes" in str(err.value)


@pytest.mark.parametrize("command", ["calibrate", "quantize"])
def test_cli_names_a_truncated_onnx_without_a_traceback(truncated, calib_npz, tmp_path, capsys, command):
    argv = (["calibrate", "synthetic", "--model", truncated, "--num", "2", "--out", str(tmp_path / "c.npz")]
            if command == "calibrate" else ["quantize", truncated, "--calib", calib_npz])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "not a readable ONNX file" in err and "internal error" not in err and "Traceback" not in err
    assert not (tmp_path / "c.npz").exists()


# -- an --out that is a folder ----------------------------------------------------------------
def test_quantize_refuses_an_out_folder_before_any_work(model, tmp_path):
    folder = tmp_path / "q.onnx"
    folder.mkdir()
    lines = []
    with pytest.raises(ConfigError, match="is a folder") as err:
        quantize_model(model, _calib(), str(folder), **{**QUIET, "log": lines.append})
    assert "q.onnx" in str(err.value) and lines == [] and os.listdir(folder) == []


def test_calibration_save_refuses_a_folder(tmp_path):
    with pytest.raises(ConfigError, match="is a folder"):
        _calib().save(str(tmp_path))


@pytest.mark.parametrize("module, prog, argv", [
    (quantize_cli, "edgeseg quantize", ["m.onnx", "--calib", "c.npz", "--out", "{dir}"]),
    (calibrate_cli, "edgeseg calibrate", ["synthetic", "--model", "m.onnx", "--out", "{dir}"]),
])
def test_cli_refuses_an_out_folder_at_parse_time(module, prog, argv, tmp_path, capsys):
    err = _parse(module, prog, [a.format(dir=tmp_path) for a in argv], capsys)
    assert "is a folder" in err


# -- a foreign, truncated or corrupt .npz -----------------------------------------------------
def test_a_foreign_npz_is_not_a_calibration_set_and_says_how_to_make_one(tmp_path):
    path = str(tmp_path / "scores.npz")
    np.savez(path, logits=np.zeros(3), labels=np.ones(2))
    with pytest.raises(DataError, match="not an edgeseg calibration set") as err:
        load_or_build(path, META)
    text = str(err.value)
    assert "frames, input_size, info" in text and "logits, labels" in text
    assert "edgeseg calibrate" in text and "allow_pickle" not in text


def test_an_npz_of_python_objects_never_suggests_allow_pickle(tmp_path):
    path = str(tmp_path / "objects.npz")
    np.savez(path, frames=np.array([{"x": 1}], dtype=object), input_size=np.array([SIZE, SIZE]),
             info=np.array("{}"))
    with pytest.raises(DataError, match="not an edgeseg calibration set") as err:
        load_or_build(path, META)
    assert "Python objects" in str(err.value) and "allow_pickle" not in str(err.value)


def test_a_text_file_named_npz_is_not_an_npz(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("frames: see folder x/\n")
    with pytest.raises(DataError, match="not an edgeseg calibration set") as err:
        load_or_build(str(path), META)
    assert "not an .npz archive" in str(err.value) and "allow_pickle" not in str(err.value)


@pytest.mark.parametrize("damage", ["truncated", "empty"])
def test_a_truncated_npz_is_named_with_its_size(calib_npz, tmp_path, damage):
    data = Path(calib_npz).read_bytes()
    path = tmp_path / "cut.npz"
    path.write_bytes(data[:len(data) // 2] if damage == "truncated" else b"")
    with pytest.raises(DataError, match="truncated or corrupt") as err:
        load_or_build(str(path), META)
    assert f"{os.path.getsize(path)} bytes" in str(err.value) and "edgeseg calibrate" in str(err.value)


def test_cli_explains_a_foreign_calib_without_a_traceback(model, tmp_path, capsys):
    path = str(tmp_path / "scores.npz")
    np.savez(path, logits=np.zeros(3))
    assert main(["quantize", model, "--calib", path, "--bench-runs", "0"]) == 2
    err = capsys.readouterr().err
    assert "not an edgeseg calibration set" in err and "allow_pickle" not in err and "internal error" not in err


# -- non-finite numbers ------------------------------------------------------------------------
@pytest.mark.parametrize("poison", [np.nan, np.inf])
def test_quantize_refuses_a_model_whose_outputs_are_not_finite_before_calibrating(tmp_path, poison):
    path = _model(tmp_path / "nan.onnx", poison=poison)
    lines = []
    with pytest.raises(ModelError, match="not finite") as err:
        quantize_model(path, _calib(), str(tmp_path / "q.onnx"), **{**QUIET, "log": lines.append})
    assert "nan.onnx" in str(err.value) and lines == []
    assert not (tmp_path / "q.onnx").exists()


def test_calibrate_cli_refuses_a_nan_model_and_writes_no_set(tmp_path, capsys):
    path = _model(tmp_path / "nan.onnx", poison=np.nan)
    out = tmp_path / "calib.npz"
    with pytest.warns(UserWarning, match="calibration frames"):
        rc = main(["calibrate", "synthetic", "--model", path, "--num", "2", "--out", str(out)])
    assert rc == 2 and "not finite" in capsys.readouterr().err and not out.exists()


def test_a_calibration_set_with_non_finite_values_is_refused(tmp_path):
    frames = np.full((2, SIZE, SIZE, 3), 128.0, np.float32)
    frames[1, 0, 0, 0] = np.nan
    with pytest.raises(DataError, match="non-finite") as err:
        CalibrationSet(frames, (SIZE, SIZE), "floats")
    assert "1 of" in str(err.value)
    # the same frames in a file that looks like ours
    path = str(tmp_path / "nan.npz")
    np.savez(path, frames=frames, input_size=np.array([SIZE, SIZE]), info=np.array('{"source": "x"}'))
    with pytest.raises(DataError, match="non-finite"):
        load_or_build(path, META)


def test_a_calibration_set_of_the_wrong_form_is_refused():
    with pytest.raises(DataError, match="wrong form"):
        CalibrationSet(np.zeros((2, SIZE, SIZE), np.uint8), (SIZE, SIZE), "grey")
    with pytest.raises(DataError, match="input size"):
        CalibrationSet(np.zeros((2, SIZE, SIZE, 3), np.uint8), (SIZE, 2 * SIZE), "mismatch")


# -- numeric options -----------------------------------------------------------------------------
@pytest.mark.parametrize("kw, name, valid", [
    ({"num": 0}, "num", ">= 1"), ({"num": -5}, "num", ">= 1"), ({"num": 2.5}, "num", ">= 1"),
    ({"val_num": 0}, "val_num", ">= 1"), ({"threads": 0}, "threads", ">= 1"), ({"threads": -2}, "threads", ">= 1"),
    ({"bench_runs": -1}, "bench_runs", ">= 0"), ({"sensitivity_images": 0}, "sensitivity_images", ">= 1"),
    ({"max_miou_drop": float("nan"), "val": "synthetic"}, "max_miou_drop", "<= 100"),
    ({"max_miou_drop": -1.0, "val": "synthetic"}, "max_miou_drop", ">= 0"),
    ({"max_miou_drop": 101.0, "val": "synthetic"}, "max_miou_drop", "<= 100"),
])
def test_quantize_api_refuses_nonsense_numbers_naming_the_range(model, kw, name, valid):
    with pytest.raises(ConfigError, match=name) as err:
        quantize_model(model, _calib(), **{**QUIET, **kw})
    assert valid in str(err.value)


@pytest.mark.parametrize("num", [0, -1, 2.0])
def test_calibration_api_refuses_a_count_below_one(tmp_path, num):
    import cv2
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ConfigError, match=r"num \(--num\) out of range") as err:
        build_calibration_set(str(tmp_path), META, num, file=None)
    assert ">= 1" in str(err.value)


@pytest.mark.parametrize("percentile", [0.0, -1.0, 100.5, float("nan")])
def test_compute_ranges_refuses_a_percentile_outside_0_100(model, percentile):
    with pytest.raises(ConfigError, match="percentile") as err:
        compute_ranges(model, _calib(), META, "percentile", get_target("tensorrt"), percentile=percentile,
                       file=None)
    assert "<= 100" in str(err.value)


@pytest.mark.parametrize("module, prog, argv, what", [
    (quantize_cli, "edgeseg quantize", ["--num", "0"], "integer >= 1"),
    (quantize_cli, "edgeseg quantize", ["--num", "-3"], "integer >= 1"),
    (quantize_cli, "edgeseg quantize", ["--val-num", "0"], "integer >= 1"),
    (quantize_cli, "edgeseg quantize", ["--threads", "0"], "integer >= 1"),
    (quantize_cli, "edgeseg quantize", ["--threads", "nan"], "integer >= 1"),
    (quantize_cli, "edgeseg quantize", ["--bench-runs", "-1"], "integer >= 0"),
    (quantize_cli, "edgeseg quantize", ["--max-miou-drop", "nan"], "from 0 to 100"),
    (quantize_cli, "edgeseg quantize", ["--max-miou-drop", "-1"], "from 0 to 100"),
    (quantize_cli, "edgeseg quantize", ["--max-miou-drop", "inf"], "from 0 to 100"),
    (calibrate_cli, "edgeseg calibrate", ["--num", "0"], "integer >= 1"),
    (calibrate_cli, "edgeseg calibrate", ["--num", "nan"], "integer >= 1"),
    (calibrate_cli, "edgeseg calibrate", ["--seed", "-1"], "integer >= 0"),
])
def test_cli_refuses_nonsense_numbers_at_parse_time(module, prog, argv, what, capsys):
    base = ["m.onnx", "--calib", "c.npz"] if module is quantize_cli else ["synthetic", "--model", "m.onnx"]
    err = _parse(module, prog, base + argv, capsys)
    assert argv[0] in err and what in err


def test_cli_takes_the_edges_of_the_valid_ranges():
    p = argparse.ArgumentParser()
    quantize_cli.add_args(p)
    a = p.parse_args(["m.onnx", "--calib", "c.npz", "--num", "1", "--max-miou-drop", "0", "--bench-runs", "0"])
    assert (a.num, a.max_miou_drop, a.bench_runs) == (1, 0.0, 0)
    assert p.parse_args(["m.onnx", "--calib", "c.npz", "--max-miou-drop", "100"]).max_miou_drop == 100.0
