"""INT8 quantization (build side): calibration sets, Q/DQ ONNX per target, accuracy budgets.

Imports onnx and onnxruntime on use; never torch. The names below load their module on first
access, so ``import edgeseg.quantize`` stays light.

>>> import edgeseg.quantize as q
>>> sorted(q.TARGETS), "quantize_model" in q.__all__
(['cpu', 'tensorrt'], True)
"""

from __future__ import annotations

from ..lazy import lazy_exports

# public name -> module that defines it; imported on first attribute access (PEP 562).
_LAZY = {
    "quantize_model": "api", "QuantizeResult": "api", "default_output": "api",
    "CalibrationSet": "calibration", "build_calibration_set": "calibration", "load_or_build": "calibration",
    "class_histogram": "calibration",
    "METHODS": "targets", "TARGETS": "targets",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
