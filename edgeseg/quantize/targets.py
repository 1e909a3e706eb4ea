"""Quantization targets: what each runtime runs fast and correctly, as one table.

>>> TARGETS["tensorrt"].activation, TARGETS["cpu"].activation
('int8', 'uint8')
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import uri
from ..errors import ConfigError


@dataclass(frozen=True)
class QuantTarget:
    name: str
    activation: str          # int8 (symmetric, zero point 0) or uint8 (asymmetric)
    weight: str              # int8, symmetric
    per_channel: bool
    symmetric_activations: bool
    quantize_bias: bool
    float_weights_with_qdq: bool
    why: str
    op_types: tuple[str, ...] | None = None  # None: every op type ONNX Runtime can quantize
    passes: tuple[str, ...] = ()  # graph passes for the target's kernels (see .cpu_graph)


TARGETS = {
    # TensorRT explicit quantization: symmetric int8 everywhere, zero point 0, per-channel weights.
    # Calibrators are deprecated in TensorRT 10.1 and gone in 11.0, so this Q/DQ graph is the one
    # INT8 artefact for both (Jetson Orin on JetPack 6 stays on 10.x). Biases stay float:
    # TensorRT's parser is reported to reject int32 bias behind DequantizeLinear
    # (onnx-tensorrt#850, onnxruntime#17738). Weights stay float behind Q/DQ pairs, the form
    # pytorch-quantization and TensorRT's own samples produce, which TensorRT folds at build.
    "tensorrt": QuantTarget("tensorrt", "int8", "int8", True, True, False, True,
                            "TensorRT explicit quantization (10.x and 11.x)"),
    # ONNX Runtime CPU: uint8 activations / int8 weights (U8S8). Measured with ORT 1.31 on 2
    # cores at 512x512: symmetric S8S8 Q/DQ ran 2.4x slower than FP32, U8S8 1.36x faster.
    # The passes keep FP32 where ORT's float kernels win and run hard-swish in int8 (.cpu_graph).
    "cpu": QuantTarget("cpu", "uint8", "int8", True, False, True, False,
                       "ONNX Runtime CPU kernels (QLinearConv, U8S8); FP32 stem and output tail, "
                       "int8 hard-swish, padding-only dilated taps trimmed",
                       passes=("trim_padding_taps", "float_stem", "float_tail", "int8_hardswish")),
}

METHODS = ("minmax", "entropy", "percentile")


def get_target(name: str) -> QuantTarget:
    if name not in TARGETS:
        raise ConfigError("unknown quantization target", expected=" | ".join(TARGETS), got=name,
                          fix=uri.did_you_mean(name, TARGETS, cutoff=0.6))
    return TARGETS[name]


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ConfigError("unknown calibration method", expected=" | ".join(METHODS), got=method,
                          fix=uri.did_you_mean(method, METHODS, cutoff=0.6))
    return method
