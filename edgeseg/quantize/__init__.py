"""INT8 quantization (build side): calibration sets, Q/DQ ONNX per target, accuracy budgets.

Imports onnx and onnxruntime on use; never torch.
"""

from .calibration import CalibrationSet, build_calibration_set, load_or_build
from .targets import METHODS, TARGETS


def quantize_model(*args, **kwargs):
    """See :func:`edgeseg.quantize.api.quantize_model` (imported on first call)."""
    from .api import quantize_model as _q
    return _q(*args, **kwargs)


__all__ = ["quantize_model", "CalibrationSet", "build_calibration_set", "load_or_build", "METHODS", "TARGETS"]
