"""Lazy import of optional dependencies, in one place.

The deploy side must run with only numpy and OpenCV installed, so heavy packages are
imported on first use and a missing one raises :class:`MissingDependencyError` naming
the extra that brings it. Nothing is ever installed at run time.

>>> from edgeseg._optional import require
>>> np = require("numpy")
>>> np.zeros(2).shape
(2,)
"""

from __future__ import annotations

import importlib
import sys
import types

from .errors import MissingDependencyError

# module -> how a user gets it; TensorRT and CUDA bindings are not ordinary pip extras on Jetson.
_HOW_TO_GET = {
    "torch": 'pip install "edgeseg[train]" (on a CPU-only machine: pip install torch first, from the CPU index)',
    "onnx": 'pip install "edgeseg[onnx]"',
    "onnxsim": 'pip install "edgeseg[onnx]"',
    "onnxruntime": 'pip install "edgeseg[onnx]" (or onnxruntime-gpu for the CUDA execution provider)',
    "onnxscript": 'pip install onnxscript',
    "tensorrt": "TensorRT comes with JetPack on a Jetson; on a desktop: pip install tensorrt (NVIDIA's wheels)",
    "pycuda": "pycuda comes with JetPack images or: pip install pycuda; or install cuda-python instead",
    "cuda": "pip install cuda-python",
    "matplotlib": "pip install matplotlib",
}


def require(name: str, purpose: str | None = None) -> types.ModuleType:
    """Import ``name`` or raise MissingDependencyError saying how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        top = name.split(".")[0]
        # A module set to None in sys.modules (how tests block torch) also lands here.
        blocked = top in sys.modules and sys.modules[top] is None
        raise MissingDependencyError(
            f"{name} is needed{' for ' + purpose if purpose else ''} but is not importable",
            expected=f"the '{top}' package",
            got="blocked in sys.modules" if blocked else str(exc),
            fix=_HOW_TO_GET.get(top, f"pip install {top}"),
        ) from exc


def available(name: str) -> bool:
    """True if ``name`` imports; never raises."""
    try:
        importlib.import_module(name)
        return True
    except Exception:
        return False
