"""``inspect_model``: right about the graphs other exporters write, about edgeseg's own exports,
and about engines (read from their sidecar, without TensorRT). The graphs are real ONNX files,
checked by onnx and run once by ONNX Runtime, so the shapes they declare are the shapes they give."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from edgeseg.errors import ModelError
from edgeseg.inspect import inspect_model
from edgeseg.meta import ModelMeta

onnx = pytest.importorskip("onnx", reason='needs onnx: pip install "edgeseg[onnx]"')
ort = pytest.importorskip("onnxruntime", reason='needs onnxruntime: pip install "edgeseg[onnx]"')
from onnx import TensorProto, helper, numpy_helper

from .backends.tensorrt.engine_files import META, write_engine, write_legacy_engine
from .backends.tensorrt.fake_tensorrt import fake_plan

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
F, U8, I64 = TensorProto.FLOAT, TensorProto.UINT8, TensorProto.INT64


def _conv(name, x, y, cin, cout, k=1, stride=1):
    w = numpy_helper.from_array(np.random.default_rng(0).normal(size=(cout, cin, k, k)).astype(np.float32), name)
    return helper.make_node("Conv", [x, name], [y], kernel_shape=[k, k], strides=[stride, stride]), w


def _save(tmp_path, name, nodes, inits, inputs, outputs, feed_shape, feed_dtype=np.float32):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    path = str(tmp_path / f"{name}.onnx")
    onnx.save(model, path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = sess.run(None, {inputs[0].name: np.zeros(feed_shape, feed_dtype)})
    for out, value in zip(outputs, got):  # the declared shapes are what it gives
        dims = [d.dim_value or None for d in out.type.tensor_type.shape.dim]
        assert all(d is None or d == g for d, g in zip(dims, value.shape)), (out.name, dims, value.shape)
    return path


def _vi(name, dtype, shape):
    return helper.make_tensor_value_info(name, dtype, shape)


def _sentences(report) -> str:
    return "\n".join(report.assumptions)


def test_mmdeploy_style_int64_label_output(tmp_path):
    conv, w = _conv("w", "input", "scores", 3, 5)
    argmax = helper.make_node("ArgMax", ["scores"], ["output"], axis=1, keepdims=1)
    path = _save(tmp_path, "mmdeploy", [conv, argmax], [w], [_vi("input", F, [1, 3, 32, 32])],
                 [_vi("output", I64, [1, 1, 32, 32])], (1, 3, 32, 32))
    r = inspect_model(path)
    assert r.meta is None and r.layout == "NCHW" and r.output == "output"
    assert (r.inputs[0].shape, r.inputs[0].dtype) == ([1, 3, 32, 32], "float32")
    assert (r.outputs[0].shape, r.outputs[0].dtype, r.outputs[0].producer) == ([1, 1, 32, 32], "int64", "ArgMax")
    text = _sentences(r)
    assert "4-D float32 input 1x3x32x32: NCHW" in text
    assert "output 'output' 1x1x32x32 int64: label ids at input size" in text
    assert "logits" not in text


def test_nhwc_uint8_input_with_transpose_and_cast(tmp_path):
    cast = helper.make_node("Cast", ["input"], ["f"], to=F)
    tr = helper.make_node("Transpose", ["f"], ["nchw"], perm=[0, 3, 1, 2])
    conv, w = _conv("w", "nchw", "output", 3, 4)
    path = _save(tmp_path, "nhwc", [cast, tr, conv], [w], [_vi("input", U8, [1, 24, 32, 3])],
                 [_vi("output", F, [1, 4, 24, 32])], (1, 24, 32, 3), np.uint8)
    r = inspect_model(path)
    assert r.layout == "NHWC" and r.inputs[0].dtype == "uint8"
    text = _sentences(r)
    assert "input 1x24x32x3: NHWC" in text
    assert "takes uint8 frames (normalisation in the graph)" in text
    assert "logits for 4 classes at input size" in text  # H, W read from the NHWC positions


def test_quarter_resolution_logits_via_strided_conv(tmp_path):
    conv, w = _conv("w", "input", "output", 3, 19, k=4, stride=4)
    path = _save(tmp_path, "quarter", [conv], [w], [_vi("input", F, [1, 3, 64, 96])],
                 [_vi("output", F, [1, 19, 16, 24])], (1, 3, 64, 96))
    text = _sentences(inspect_model(path))
    assert "output 'output' 1x19x16x24 float32: logits for 19 classes at 1/4 size, will be resized" in text
    assert "at input size" not in text


def test_softmax_output_is_probabilities(tmp_path):
    conv, w = _conv("w", "input", "scores", 3, 4)
    sm = helper.make_node("Softmax", ["scores"], ["output"], axis=1)
    path = _save(tmp_path, "probs", [conv, sm], [w], [_vi("input", F, [1, 3, 16, 16])],
                 [_vi("output", F, [1, 4, 16, 16])], (1, 3, 16, 16))
    r = inspect_model(path)
    assert r.outputs[0].producer == "Softmax"
    assert "probabilities (Softmax in the graph) for 4 classes at input size" in _sentences(r)
    assert "logits" not in _sentences(r)


def test_two_outputs_out_and_aux(tmp_path):
    c1, w1 = _conv("w1", "input", "out", 3, 21)
    c2, w2 = _conv("w2", "input", "aux", 3, 21)
    path = _save(tmp_path, "tv", [c1, c2], [w1, w2], [_vi("input", F, [1, 3, 16, 16])],
                 [_vi("out", F, [1, 21, 16, 16]), _vi("aux", F, [1, 21, 16, 16])], (1, 3, 16, 16))
    r = inspect_model(path)
    assert [o.name for o in r.outputs] == ["out", "aux"] and r.output == "out"
    text = _sentences(r)
    assert "2 outputs ('out', 'aux'): edgeseg runs the first, 'out' (torchvision's main head" in text
    assert "--output NAME" in text


def test_out_not_first_is_named_and_not_claimed(tmp_path):
    c1, w1 = _conv("w1", "input", "aux", 3, 21)
    c2, w2 = _conv("w2", "input", "out", 3, 21)
    path = _save(tmp_path, "tv2", [c1, c2], [w1, w2], [_vi("input", F, [1, 3, 16, 16])],
                 [_vi("aux", F, [1, 21, 16, 16]), _vi("out", F, [1, 21, 16, 16])], (1, 3, 16, 16))
    r = inspect_model(path)
    assert r.output == "aux"
    assert "'out' looks like the main head: name it with edgeseg meta --output out" in _sentences(r)


def test_dynamic_height_and_width(tmp_path):
    conv, w = _conv("w", "input", "output", 3, 6)
    path = _save(tmp_path, "dyn", [conv], [w], [_vi("input", F, [1, 3, "height", "width"])],
                 [_vi("output", F, [1, 6, "height", "width"])], (1, 3, 20, 28))
    r = inspect_model(path)
    assert r.inputs[0].shape == [1, 3, "height", "width"] and r.layout == "NCHW"
    text = _sentences(r)
    assert "H and W are dynamic (height, width)" in text and "--input-size" in text
    assert "logits for 6 classes at input size" in text  # same dim names as the input
    assert json.loads(json.dumps(r.to_dict()))["inputs"][0]["shape"] == [1, 3, "height", "width"]


def test_unnamed_dynamic_output_size_is_not_guessed(tmp_path):
    conv, w = _conv("w", "input", "output", 3, 6, k=2, stride=2)
    path = _save(tmp_path, "dyn2", [conv], [w], [_vi("input", F, [1, 3, "h", "w"])],
                 [_vi("output", F, [1, 6, "oh", "ow"])], (1, 3, 20, 28))
    text = _sentences(inspect_model(path))
    assert "cannot tell its size against the input's" in text and "at input size" not in text


def test_without_onnx_the_onnxruntime_session_is_read(tmp_path):
    conv, w = _conv("w", "input", "scores", 3, 5)
    argmax = helper.make_node("ArgMax", ["scores"], ["output"], axis=1, keepdims=1)
    path = _save(tmp_path, "ort", [conv, argmax], [w], [_vi("input", F, [1, 3, 32, 32])],
                 [_vi("output", I64, [1, 1, 32, 32])], (1, 3, 32, 32))
    code = ("import sys, json; sys.modules['onnx'] = None; sys.modules['torch'] = None\n"
            "from edgeseg.inspect import inspect_model\n"
            f"r = inspect_model({path!r})\nprint(json.dumps(r.to_dict()))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout.strip().splitlines()[-1])
    assert d["outputs"][0]["shape"] == [1, 1, 32, 32] and d["outputs"][0]["dtype"] == "int64"
    assert any("label ids at input size" in s for s in d["assumptions"])


def test_edgesegs_own_export(tiny_onnx):
    r = inspect_model(tiny_onnx)
    meta = ModelMeta.from_dict(r.meta)
    assert r.layout == "NCHW" == meta.layout
    n, (h, w) = meta.num_classes, meta.input_size
    text = _sentences(r)
    assert text.startswith("the meta in the file decides how edgeseg runs it")
    assert f"logits for {n} classes at input size" in text
    assert "check the meta" not in text  # graph and meta agree
    assert r.inputs[0].shape[1:] == [3, h, w]


def test_a_meta_that_disagrees_with_the_graph_is_named(tmp_path):
    conv, w = _conv("w", "input", "output", 3, 4)
    path = _save(tmp_path, "bad", [conv], [w], [_vi("input", F, [1, 3, 16, 16])],
                 [_vi("output", F, [1, 4, 16, 16])], (1, 3, 16, 16))
    ModelMeta(model="x", classes=("a", "b"), input_size=(32, 32)).write_sidecar(path)
    text = _sentences(inspect_model(path))
    assert "the meta names 2 classes but 'output' has 4 channels" in text
    assert "the meta's input size 32x32 differs from the graph's 16x16" in text


def test_engine_pair_without_tensorrt(tmp_path):
    path = write_engine(tmp_path / "model.engine", fake_plan())
    r = inspect_model(path)
    assert r.kind == "engine" and r.meta["classes"] == list(META.classes) and r.layout == "NCHW"
    assert r.engine["precision"] == "fp16" and r.engine["tensorrt"]
    assert [(t.name, t.shape) for t in r.inputs] == [("input", [1, 3, 8, 8])]
    assert "needs TensorRT" in _sentences(r) and "tensorrt" not in sys.modules


def test_legacy_engine_and_dynamic_profile(tmp_path):
    shapes = {"input": {"min": [1, 3, 8, 8], "opt": [1, 3, 16, 16], "max": [1, 3, 32, 32]}}
    path = write_legacy_engine(tmp_path / "old.engine", fake_plan(), shapes=shapes)
    r = inspect_model(path)
    assert r.inputs[0].shape == [1, 3, "8..32", "8..32"]
    assert "edgeseg build --unwrap" in _sentences(r)


def test_plan_without_sidecar_says_what_is_missing(tmp_path):
    path = tmp_path / "trtexec.engine"
    path.write_bytes(fake_plan())
    r = inspect_model(path)
    assert r.meta is None and not r.inputs and "cannot tell its classes" in _sentences(r)


def test_errors_are_clear(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        inspect_model(tmp_path / "missing.onnx")
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(b"\x08\x08\x12\x07edge")
    with pytest.raises(ModelError, match="truncated"):
        inspect_model(cut)
    with pytest.raises(ModelError, match="cannot inspect"):
        inspect_model(tmp_path / "x.txt")
