"""torch -> ONNX with the TorchScript exporter (``dynamo=False``), into memory, as one file.

Why not torch 2.13's default (dynamo) exporter: asked for opset 17 it silently writes opset 18
(its down-conversion fails inside on the Resize/ReduceMean ``axes`` inputs), it puts the weights
in a separate ``model.onnx.data`` unless told otherwise, and it needs onnxscript. TensorRT 8.5 and
8.6 (JetPack 5.1 and 6.0) parse ONNX up to opset 17 only, so an opset-18 graph would not build
there. The TorchScript exporter writes exactly the requested opset, keeps weights inside the
model, and handles every zoo model (hardswish -> HardSwish, hardsigmoid -> HardSigmoid,
AdaptiveAvgPool2d(1) -> GlobalAveragePool, bilinear interpolate -> Resize linear
pytorch_half_pixel) both static and with dynamic batch and spatial axes.

>>> import torch
>>> proto = torch_to_onnx(torch.nn.Conv2d(3, 2, 1).eval(), torch.zeros(1, 3, 8, 8), opset=17)
>>> proto.opset_import[0].version, [n.op_type for n in proto.graph.node]
(17, ['Conv'])
"""

from __future__ import annotations

import io
import warnings

import torch

from ..errors import ModelError
from ..lazy import require

INPUT_NAME = "input"
EXPORTER = "torch.onnx TorchScript exporter (dynamo=False)"


def dynamic_axes(layout: str, output_kind: str, input_name: str, output_name: str) -> dict:
    """Batch, height and width of input and output are named symbolic dims."""
    hw_first = {0: "batch", 1: "height", 2: "width"}   # NHWC input, N,H,W labels
    channels_first = {0: "batch", 2: "height", 3: "width"}  # NCHW input, N,C,H,W logits
    return {input_name: hw_first if layout == "NHWC" else channels_first,
            output_name: hw_first if output_kind == "labels" else channels_first}


def torch_to_onnx(module: torch.nn.Module, example: torch.Tensor, *, opset: int = 17,
                  input_name: str = INPUT_NAME, output_name: str = "logits",
                  axes: dict | None = None):
    """Trace ``module`` on ``example`` and return the ``onnx.ModelProto`` (weights inside it)."""
    onnx = require("onnx", "ONNX export")
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of dynamo, which cannot yet write the
        # opset 17 that TensorRT 8.x needs (see the module docstring); we chose it on purpose, so
        # its deprecation notices are noise to the user. Silenced here only, not process-wide.
        warnings.filterwarnings("ignore", message=r".*legacy TorchScript-based ONNX export",
                                category=DeprecationWarning)
        warnings.filterwarnings("ignore", message="The feature will be removed",
                                category=DeprecationWarning, module=r"torch\.onnx")
        try:
            with torch.no_grad():
                torch.onnx.export(module, (example,), buf, dynamo=False, opset_version=opset,
                                  input_names=[input_name], output_names=[output_name],
                                  dynamic_axes=axes, do_constant_folding=True)
        except Exception as exc:  # an op the exporter cannot write at this opset, a bad trace
            raise ModelError("torch.onnx could not export the model",
                             got=f"{type(exc).__name__}: {str(exc)[:400]}",
                             fix="try another --opset (17 is the TensorRT-safe default); "
                                 "report the model name and this message") from exc
    return onnx.load_from_string(buf.getvalue())
