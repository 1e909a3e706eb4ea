"""The nn.Module that is exported: the network plus, optionally, in-graph pre- and post-processing.

``--input uint8``: the graph takes the frame as OpenCV gives it (N,H,W,3 uint8, in the meta's
colour order) and does Cast -> x*scale+bias -> (channel swap) -> Transpose itself, with exactly
the float32 constants and operation order of :func:`edgeseg.preprocess.normalize`, so a device
only resizes and the host never touches a float.

``--output labels``: the logits (already at input size: every zoo model upsamples bilinearly)
end in ArgMax over classes, then Cast to **int32** (N,H,W). Why int32 and not uint8: TensorRT
computes ArgMax as TopK whose indices are INT32; its Cast layer converts INT32 only to
FLOAT/HALF/INT32/BOOL (UINT8 only from FLOAT/HALF), and onnx-tensorrt's operator table for
TensorRT 8.5 (JetPack 5.1) lists Cast for FP32, FP16, INT32, INT8, BOOL only
(onnx/onnx-tensorrt docs/operators.md, release 8.5). int32 parses on 8.5, 8.6 and 10.x and still
copies back 4*H*W bytes instead of 4*C*H*W; the host narrows ids to uint8 for free
(:func:`edgeseg.preprocess.labels_dtype`). ONNX ArgMax itself yields int64, which TensorRT 8.x
would narrow to INT32 anyway and 10.x would copy back at 8 bytes a pixel.

>>> import torch
>>> from edgeseg.meta import ModelMeta
>>> net = torch.nn.Conv2d(3, 2, 1)
>>> m = ModelMeta(model="m", classes=("a", "b"), input_size=(4, 4))
>>> w = ExportWrapper(net, m, m.replace(input_dtype="uint8", layout="NHWC", output_kind="labels"))
>>> w(torch.zeros(1, 4, 4, 3, dtype=torch.uint8)).dtype, w(torch.zeros(1, 4, 4, 3, dtype=torch.uint8)).shape
(torch.int32, torch.Size([1, 4, 4]))
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..meta import ModelMeta

LABELS_DTYPE = torch.int32  # see the module docstring for why not uint8


class ExportWrapper(nn.Module):
    """Wrap ``network`` (NCHW float in ``net_meta``'s order -> logits or {"out": logits}) so the
    graph takes and returns what ``graph_meta`` says."""

    def __init__(self, network: nn.Module, net_meta: ModelMeta, graph_meta: ModelMeta):
        super().__init__()
        self.network = network
        self.uint8_input = graph_meta.input_dtype == "uint8"
        self.labels_output = graph_meta.output_kind == "labels"
        # Graph input channel i feeds network channel perm[i]: only a reversal (RGB <-> BGR) exists.
        self.swap = graph_meta.color_order != net_meta.color_order
        # The same float32 scale/bias as preprocess.normalize, in the graph input's channel order
        # (graph_meta.mean/std already are), so x*scale+bias rounds identically.
        mean, std = np.asarray(graph_meta.mean, np.float32), np.asarray(graph_meta.std, np.float32)
        self.register_buffer("scale", torch.from_numpy(1.0 / (255.0 * std)), persistent=False)
        self.register_buffer("bias", torch.from_numpy(-mean / std), persistent=False)
        self.register_buffer("reverse", torch.tensor([2, 1, 0]), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.uint8_input:
            x = x.float() * self.scale + self.bias  # NHWC: broadcasts over the channel axis
            if self.swap:
                x = x.index_select(3, self.reverse)  # Gather: TensorRT-parsable, unlike a -1 step
            x = x.permute(0, 3, 1, 2)
        elif self.swap:
            x = x.index_select(1, self.reverse)
        out = self.network(x)
        logits = out["out"] if isinstance(out, dict) else out  # an aux head is left out of the graph
        if self.labels_output:
            return logits.argmax(1).to(LABELS_DTYPE)
        return logits
