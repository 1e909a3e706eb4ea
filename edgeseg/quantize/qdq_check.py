"""Checks that a Q/DQ model is what TensorRT's explicit quantization accepts.

Every QuantizeLinear must be int8 with zero point 0 (TensorRT supports symmetric quantization
only), and every weight (a Conv/ConvTranspose/Gemm/MatMul initializer input) must be quantized
per output channel. The result lists each violation by node name.

>>> # check_tensorrt_qdq("model.int8.onnx").ok
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ..lazy import require
from ..backends.onnx_file import load_onnx

_WEIGHT_OPS = {"Conv": 1, "ConvTranspose": 1, "Gemm": 1, "MatMul": 1}


@dataclass
class QDQReport:
    quantize_nodes: int = 0
    dequantize_nodes: int = 0
    per_channel_weights: int = 0
    float_weights: list = field(default_factory=list)      # weight ops left unquantized
    problems: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.quantize_nodes > 0

    def to_dict(self) -> dict:
        return {"ok": self.ok, "quantize_nodes": self.quantize_nodes,
                "dequantize_nodes": self.dequantize_nodes,
                "per_channel_weights": self.per_channel_weights,
                "float_weight_nodes": self.float_weights, "problems": self.problems}


def check_tensorrt_qdq(model_or_path) -> QDQReport:
    onnx = require("onnx")
    numpy_helper = onnx.numpy_helper
    model = load_onnx(model_or_path) if isinstance(model_or_path, (str, os.PathLike)) else model_or_path
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    consts = {n.output[0]: n.attribute[0].t for n in g.node
              if n.op_type == "Constant" and n.attribute and n.attribute[0].type == onnx.AttributeProto.TENSOR}
    producers = {o: n for n in g.node for o in n.output}

    def value(name):
        t = inits.get(name) or consts.get(name)
        return None if t is None else numpy_helper.to_array(t)

    r = QDQReport()
    for n in g.node:
        if n.op_type == "QuantizeLinear":
            r.quantize_nodes += 1
            zp = value(n.input[2]) if len(n.input) > 2 and n.input[2] else None
            if zp is None:
                # No zero point means uint8 by the ONNX spec: not what TensorRT takes.
                r.problems.append(f"{n.name}: no zero point (defaults to uint8)")
            elif zp.dtype != np.int8:
                r.problems.append(f"{n.name}: zero point is {zp.dtype}, TensorRT needs int8")
            elif np.any(zp != 0):
                r.problems.append(f"{n.name}: zero point {zp.ravel()[:4].tolist()} is not 0")
        elif n.op_type == "DequantizeLinear":
            r.dequantize_nodes += 1
    for n in g.node:
        if n.op_type not in _WEIGHT_OPS or len(n.input) <= _WEIGHT_OPS[n.op_type]:
            continue
        w_in = n.input[_WEIGHT_OPS[n.op_type]]
        dq = producers.get(w_in)
        if dq is None or dq.op_type != "DequantizeLinear":
            if w_in in inits:
                r.float_weights.append(n.name)  # left float on purpose (mixed precision) or by ORT
            continue
        scale = value(dq.input[1])
        if scale is None or scale.ndim == 0 or scale.size <= 1:
            w = value(dq.input[0])
            src = producers.get(dq.input[0])
            if w is None and src is not None and src.op_type == "QuantizeLinear":
                w = value(src.input[0])
            if w is not None and w.ndim >= 2 and w.shape[0] > 1:
                r.problems.append(f"{n.name}: weight quantized per tensor, expected per channel")
                continue
        r.per_channel_weights += 1
    return r
