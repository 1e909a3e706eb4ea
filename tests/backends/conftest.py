"""Fixtures shared by every backend's tests."""

import pytest


@pytest.fixture(scope="session")
def tiny_onnx_no_meta(tmp_path_factory):
    """A valid one-node ONNX (Identity, 1x3x8x8) that carries no edgeseg meta."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, 8, 8])
    graph = helper.make_graph([helper.make_node("Identity", ["input"], ["out"])], "g", [x], [y])
    path = tmp_path_factory.mktemp("nometa") / "nometa.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return str(path)
