"""ONNX Runtime backend: the embedded default wherever TensorRT is not installed.

CPU by default; the CUDA and TensorRT execution providers when installed and asked for. The
meta (the file's, or ``meta=``) is checked against the graph when the session opens, and only
its chosen output (``meta.output_name``, else the first) is fetched.

>>> # b = OnnxRuntimeBackend("model.onnx", device="cpu", threads=2); b(batch)
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import ConfigError, ModelError
from ..lazy import require
from ..meta import load_meta
from ..utils.files import existing_file
from .base import Backend, TensorSpec
from .graph_check import check_graph
from .onnx_meta import meta_from_props

_ORT_TYPES = {"tensor(float)": "float32", "tensor(uint8)": "uint8", "tensor(int64)": "int64",
              "tensor(int32)": "int32", "tensor(float16)": "float16", "tensor(int8)": "int8"}

# device -> execution providers to ask for, best first.
_PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
    "auto": ["CUDAExecutionProvider", "CPUExecutionProvider"],
}


def _spec(arg) -> TensorSpec:
    shape = tuple(d if isinstance(d, int) else None for d in arg.shape)
    return TensorSpec(arg.name, shape, _ORT_TYPES.get(arg.type, arg.type))


class OnnxRuntimeBackend(Backend):
    kind = "onnxruntime"

    def __init__(self, path: str, device: str = "auto", threads: int | None = None,
                 meta=None, providers=None, graph_optimization: str = "all"):
        ort = require("onnxruntime", "the ONNX Runtime backend")
        path = os.fspath(path)
        existing_file(path)
        if device.split(":")[0] not in _PROVIDERS:
            raise ConfigError("unknown device for ONNX Runtime", expected=" | ".join(_PROVIDERS),
                              got=device)
        available = set(ort.get_available_providers())
        wanted = providers or _PROVIDERS[device.split(":")[0]]
        chosen = [p for p in wanted if p in available]
        if device in ("cuda", "tensorrt") and wanted[0] not in available:
            raise ConfigError(f"device {device} asked for, but ONNX Runtime has no {wanted[0]}",
                              got=f"available: {sorted(available)}",
                              fix="pip install onnxruntime-gpu (with a matching CUDA), or use --device cpu")
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = int(threads)
        opts.graph_optimization_level = {
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL}[graph_optimization]
        try:
            self.session = ort.InferenceSession(path, sess_options=opts, providers=chosen)
        except Exception as exc:
            raise ModelError("ONNX Runtime cannot load the model", path=path,
                             got=f"{type(exc).__name__}: {str(exc)[-400:]}",
                             fix="re-export it with `edgeseg export`; check the file is complete") from exc
        props = self.session.get_modelmeta().custom_metadata_map
        meta = load_meta(meta) or meta_from_props(dict(props), path)
        super().__init__(meta, [_spec(a) for a in self.session.get_inputs()],
                         [_spec(a) for a in self.session.get_outputs()], path)
        self.providers = self.session.get_providers()
        self.on_cpu = self.providers[0] == "CPUExecutionProvider"
        try:
            self.output = check_graph(meta, self.inputs, self.outputs, path)
        except BaseException:
            self.session = None
            raise
        self._in_name, self._out_name = self.inputs[0].name, self.output.name

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run([self._out_name], {self._in_name: batch})[0]

    def close(self) -> None:
        self.session = None
        super().close()
