"""A graph-final Softmax stays float in INT8 models, also when the graph's nodes have no names
(onnx.helper graphs): ONNX Runtime excludes nodes by name, and excluding "" would keep every
unnamed node float."""

import numpy as np
import pytest

from edgeseg.meta import ModelMeta
from edgeseg.quantize.calibration import CalibrationSet
from edgeseg.quantize.final_softmax import final_softmax_nodes

onnx = pytest.importorskip("onnx", reason='needs onnx: pip install "edgeseg[onnx]"')
pytest.importorskip("onnxruntime", reason='needs onnxruntime: pip install "edgeseg[onnx]"')
from onnx import TensorProto, helper, numpy_helper

META = ModelMeta(model="probs", classes=("a", "b", "c", "d"), input_size=(16, 16), output_kind="probs")


def _unnamed_probs_graph(path) -> str:
    rng = np.random.default_rng(0)
    w1 = numpy_helper.from_array(rng.normal(size=(8, 3, 3, 3)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(rng.normal(size=(4, 8, 1, 1)).astype(np.float32), "w2")
    nodes = [helper.make_node("Conv", ["input", "w1"], ["a"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["a"], ["b"]),
             helper.make_node("Conv", ["b", "w2"], ["scores"]),
             helper.make_node("Softmax", ["scores"], ["probs"], axis=1)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 16, 16])],
                              [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 4, 16, 16])], [w1, w2])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return str(path)


def test_final_softmax_is_found_behind_shape_ops_and_named():
    g = helper.make_graph([helper.make_node("Softmax", ["x"], ["p"], axis=1, name="sm"),
                           helper.make_node("Transpose", ["p"], ["t"], perm=[0, 2, 3, 1]),
                           helper.make_node("Softmax", ["x"], ["q"], axis=1)], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
                          [helper.make_tensor_value_info("t", TensorProto.FLOAT, [1, 4, 4, 2]),
                           helper.make_tensor_value_info("q", TensorProto.FLOAT, [1, 2, 4, 4])])
    model = helper.make_model(g)
    assert sorted(final_softmax_nodes(model)) == ["edgeseg_final_softmax_0", "sm"]
    assert [n.name for n in model.graph.node] == ["sm", "", "edgeseg_final_softmax_0"]


@pytest.mark.parametrize("target", ["cpu", "tensorrt"])
def test_unnamed_final_softmax_stays_float_and_the_rest_is_int8(tmp_path, target):
    from edgeseg.quantize.api import quantize_model
    path = _unnamed_probs_graph(tmp_path / "probs.onnx")
    frames = np.random.default_rng(1).integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)
    r = quantize_model(path, CalibrationSet(frames, (16, 16), source="noise"), str(tmp_path / f"{target}.onnx"),
                       target=target, method="minmax", meta=META, bench_runs=0, write_reports=False,
                       log=lambda *a: None, file=None)
    model = onnx.load(r.path)
    producer = {o: n for n in model.graph.node for o in n.output}
    softmax = producer[model.graph.output[0].name]
    assert softmax.op_type == "Softmax" and producer[softmax.input[0]].op_type == "Conv"   # float in, float out
    # The unnamed classifier conv is INT8 (the cpu target may keep the 3-channel first conv float for speed).
    classifier = producer[softmax.input[0]]
    assert producer[classifier.input[0]].op_type == "DequantizeLinear"
    assert r.meta.precision == "int8" and r.meta.output_kind == "probs"


def test_scores_behind_a_final_softmax_keep_their_full_range(tmp_path):
    # The no-clip rule for class scores walks back from the outputs; a final Softmax must not stop
    # it, or the scores the kept-float Softmax reads would be percentile-clipped.
    from edgeseg.quantize.ort_quantizer import logit_tensors
    logits = logit_tensors(_unnamed_probs_graph(tmp_path / "p.onnx"))
    assert {"probs", "scores"} <= logits
    assert "b" not in logits
