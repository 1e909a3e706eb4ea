"""``edgeseg inspect``: prints the inputs, outputs and guesses; ``--json`` prints the report as
JSON; a missing file is a clear error with exit 2."""

import json

import numpy as np
import pytest

from edgeseg.cli import main

onnx = pytest.importorskip("onnx", reason='needs onnx: pip install "edgeseg[onnx]"')
from onnx import TensorProto, helper, numpy_helper


def _quarter_logits(tmp_path) -> str:
    w = numpy_helper.from_array(np.ones((19, 3, 4, 4), np.float32), "w")
    conv = helper.make_node("Conv", ["input", "w"], ["output"], kernel_shape=[4, 4], strides=[4, 4])
    graph = helper.make_graph([conv], "quarter", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                                                [1, 3, 64, 64])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 19, 16, 16])],
                              initializer=[w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = str(tmp_path / "foreign.onnx")
    onnx.save(model, path)
    return path


def test_inspect_prints_inputs_outputs_and_guesses(tmp_path, capsys):
    path = _quarter_logits(tmp_path)
    assert main(["inspect", path]) == 0
    out = capsys.readouterr().out
    assert "input: 1x3x64x64 float32" in out and "output: 1x19x16x16 float32" in out
    assert "layout: NCHW" in out and "meta: none" in out
    assert "logits for 19 classes at 1/4 size, will be resized" in out


def test_inspect_json(tmp_path, capsys):
    path = _quarter_logits(tmp_path)
    assert main(["inspect", path, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["inputs"][0] == {"name": "input", "shape": [1, 3, 64, 64], "dtype": "float32", "producer": None}
    assert d["outputs"][0]["producer"] == "Conv" and d["meta"] is None and d["output"] == "output"


def test_inspect_missing_file_exits_2(tmp_path, capsys):
    missing = str(tmp_path / "nope.onnx")
    assert main(["inspect", missing]) == 2
    err = capsys.readouterr().err
    assert "edgeseg inspect: error: ONNX file not found" in err and missing in err
    assert "Traceback" not in err
