"""Small models for the build tests: zoo checkpoints exported as in tests/export, a two-conv net
and hand-made Q/DQ graphs."""

from __future__ import annotations

import numpy as np
import onnx
import torch
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

from edgeseg.backends.onnx_meta import set_onnx_meta
from edgeseg.meta import ModelMeta

# The same tiny calibrated checkpoint the export tests use.
from ...export.export_helpers import CLASSES, MODEL, SIZE, calibrated, make_checkpoint  # noqa: F401


class TinyNet(torch.nn.Module):
    """Two convs and an upsample: exports in a fraction of a second."""

    def __init__(self, classes=2):
        super().__init__()
        torch.manual_seed(0)
        self.body = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, 2, 1), torch.nn.ReLU(),
                                        torch.nn.Conv2d(8, classes, 1))

    def forward(self, x):
        return {"out": torch.nn.functional.interpolate(self.body(x), size=x.shape[-2:],
                                                       mode="bilinear", align_corners=False)}


def export_tiny(path, *, dynamic: bool = False, size=(32, 32)) -> str:
    from edgeseg.export import export_onnx
    meta = ModelMeta(model="tiny", classes=("bg", "fg"), input_size=size)
    export_onnx(TinyNet().eval(), str(path), meta=meta, dynamic=dynamic, parity=False, log=None)
    return str(path)


def _meta_model(graph, opset=17) -> onnx.ModelProto:
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", opset)], ir_version=8)
    set_onnx_meta(model, ModelMeta(model="qdq", classes=("a", "b", "c", "d"), input_size=(16, 16)))
    return model


def qdq_model(*, zero_point_dtype=np.int8, opset: int = 17) -> onnx.ModelProto:
    """x -> Q/DQ -> Conv(DQ(int8 per-channel weights)) -> Relu -> Q/DQ -> y, TensorRT style."""
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 3, 3, 3)).astype(np.float32)
    w_scale = (np.abs(w).reshape(4, -1).max(1) / 127).astype(np.float32)
    w_q = np.round(w / w_scale[:, None, None, None]).clip(-127, 127).astype(np.int8)
    zp = np.zeros((), zero_point_dtype)
    inits = [nh.from_array(w_q, "w_q"), nh.from_array(w_scale, "w_scale"),
             nh.from_array(np.zeros(4, np.int8), "w_zp"), nh.from_array(np.float32(0.02), "x_scale"),
             nh.from_array(zp, "x_zp"), nh.from_array(np.float32(0.05), "y_scale"),
             nh.from_array(zp.copy(), "y_zp"), nh.from_array(rng.normal(size=4).astype(np.float32), "b")]
    inits[6].name = "y_zp"
    nodes = [h.make_node("QuantizeLinear", ["x", "x_scale", "x_zp"], ["xq"], name="q_in"),
             h.make_node("DequantizeLinear", ["xq", "x_scale", "x_zp"], ["xd"], name="dq_in"),
             h.make_node("DequantizeLinear", ["w_q", "w_scale", "w_zp"], ["wd"], name="dq_w", axis=0),
             h.make_node("Conv", ["xd", "wd", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             h.make_node("Relu", ["c"], ["r"], name="relu"),
             h.make_node("QuantizeLinear", ["r", "y_scale", "y_zp"], ["rq"], name="q_out"),
             h.make_node("DequantizeLinear", ["rq", "y_scale", "y_zp"], ["y"], name="dq_out")]
    g = h.make_graph(nodes, "qdq", [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 16, 16])],
                     [h.make_tensor_value_info("y", T.FLOAT, [1, 4, 16, 16])], inits)
    return _meta_model(g, opset)


def save(model: onnx.ModelProto, path) -> str:
    onnx.save(model, str(path))
    return str(path)


def overflow_model(scale: float = 3e4) -> onnx.ModelProto:
    """x -> Conv -> Relu -> Mul(scale) -> Div(scale) -> y (16x16, 4 classes): between the Mul and
    the Div the activations pass float16's 65504 on real frames; the Conv's and Relu's do not."""
    rng = np.random.default_rng(0)
    inits = [nh.from_array(rng.normal(size=(4, 3, 3, 3)).astype(np.float32), "w1"),
             nh.from_array(np.float32(scale), "big")]
    nodes = [h.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
             h.make_node("Relu", ["c1"], ["r1"], name="relu1"),
             h.make_node("Mul", ["r1", "big"], ["m"], name="scale_up"),
             h.make_node("Div", ["m", "big"], ["y"], name="scale_down")]
    g = h.make_graph(nodes, "overflow", [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 16, 16])],
                     [h.make_tensor_value_info("y", T.FLOAT, [1, 4, 16, 16])], inits)
    return _meta_model(g)


def frames(n: int = 4, size=(16, 16), seed: int = 0) -> np.ndarray:
    """``n`` BGR uint8 frames (what a camera gives, before preprocessing)."""
    return np.random.default_rng(seed).integers(0, 256, (n, *size, 3), dtype=np.uint8)
