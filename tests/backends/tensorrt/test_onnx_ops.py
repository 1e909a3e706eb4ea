"""The TensorRT op allowlist: unit cases, and every zoo model's exported graph at opset 17."""

import numpy as np
import pytest
import torch
from onnx import TensorProto, helper

from edgeseg.backends.tensorrt.onnx_ops import check_tensorrt_ops, require_tensorrt_ops
from edgeseg.errors import ModelError
from edgeseg.export.onnx_export import dynamic_axes, torch_to_onnx
from edgeseg.export.options import ExportOptions, export_meta
from edgeseg.export.simplify import simplify_model
from edgeseg.export.wrapper import ExportWrapper
from edgeseg.meta import ModelMeta
from edgeseg.models import build_model, list_models


def _model(nodes, opset=17, inits=()):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    return helper.make_model(helper.make_graph(nodes, "g", [x], [y], initializer=list(inits)),
                             opset_imports=[helper.make_opsetid("", opset)])


def test_supported_graph_passes():
    r = check_tensorrt_ops(_model([helper.make_node("HardSwish", ["x"], ["y"])]))
    assert r.ok and r.ops == {"HardSwish": 1} and "parse on TensorRT 8.5" in r.summary()


def test_unsupported_ops_and_foreign_domains_are_named():
    nodes = [helper.make_node("Unique", ["x"], ["u"]),
             helper.make_node("FusedConv", ["u"], ["y"], domain="com.microsoft")]
    r = check_tensorrt_ops(_model(nodes))
    assert not r.ok and r.unsupported == {"Unique": 1, "com.microsoft::FusedConv": 1}
    with pytest.raises(ModelError, match="TensorRT cannot parse") as err:
        require_tensorrt_ops(_model(nodes), path="m.onnx")
    assert "Unique x1" in str(err.value) and "operators.md" in str(err.value)


def test_opset_above_17_fails_for_tensorrt_8_5_only():
    m = _model([helper.make_node("Relu", ["x"], ["y"])], opset=18)
    assert "opset 18 > 17" in check_tensorrt_ops(m, "8.5").summary()
    assert check_tensorrt_ops(m, "10").ok


def test_resize_restrictions():
    roi = helper.make_tensor("scales", TensorProto.FLOAT, [4], [1, 1, 2, 2])
    cubic = helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="cubic")
    assert "mode=cubic" in check_tensorrt_ops(_model([cubic], inits=[roi])).summary()
    linear = helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="linear",
                              coordinate_transformation_mode="pytorch_half_pixel")
    assert check_tensorrt_ops(_model([linear], inits=[roi])).ok


def test_conv_weights_must_be_initializers():
    w = helper.make_tensor("w", TensorProto.FLOAT, [2, 3, 1, 1], np.ones(6).tolist())
    ok = helper.make_node("Conv", ["x", "w"], ["y"])
    assert check_tensorrt_ops(_model([ok], inits=[w])).ok
    computed = [helper.make_node("Relu", ["w"], ["w2"]), helper.make_node("Conv", ["x", "w2"], ["y"])]
    assert "input 1 is computed" in check_tensorrt_ops(_model(computed, inits=[w])).summary()


# Run at a size and batch they were not traced at: one per head family with distinct shape logic
# (ReLU6/Clip backbone + decoder concat, a U-Net's skips, LR-ASPP's gate), to keep the test short.
RUN_AT_OTHER_SIZE = {"deeplabv3plus_mobilenet_v2", "unet_mobilenet_v3_small", "lraspp_mobilenet_v3_large"}


@pytest.mark.slow
@pytest.mark.parametrize("name", list_models())
def test_every_zoo_model_parses_on_tensorrt_at_opset_17(name):
    """The richest graph (uint8 BGR input, dynamic batch and size) of every zoo model: its ops pass
    the TensorRT 8.5 allowlist and opset 17 is written; representative ones also run at a size and
    batch the trace never saw (adaptive pooling and Resize must follow the input)."""
    opts = ExportOptions(size=(64, 64), input_dtype="uint8", dynamic=True)
    torch.manual_seed(0)
    net = build_model(name, num_classes=3).eval()
    net_meta = ModelMeta(model=name, classes=("a", "b", "c"), input_size=(64, 64))
    wrapper = ExportWrapper(net, net_meta, export_meta(net_meta, opts)).eval()
    proto = torch_to_onnx(wrapper, torch.zeros(1, 64, 64, 3, dtype=torch.uint8), opset=17,
                          axes=dynamic_axes("NHWC", "logits", "input", "logits"))
    proto, simplified, why = simplify_model(proto)
    assert simplified, why
    report = check_tensorrt_ops(proto)
    assert report.ok and report.opset == 17, report.summary()
    assert {"Resize", "Conv", "Cast", "Gather", "Transpose"} <= set(report.ops)
    if "mobilenet_v3" in name:
        assert {"HardSwish", "HardSigmoid", "GlobalAveragePool"} <= set(report.ops)
    if name not in RUN_AT_OTHER_SIZE:
        return
    import onnxruntime as ort
    frames = np.random.default_rng(0).integers(0, 256, (2, 96, 128, 3), dtype=np.uint8)
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": frames})[0]
    with torch.no_grad():
        ref = wrapper(torch.from_numpy(frames)).numpy()
    assert got.shape == (2, 3, 96, 128)
    # untrained nets have tiny logits: judge the difference relative to their scale
    assert np.abs(got - ref).max() <= 1e-4 * np.abs(ref).max() + 1e-12
