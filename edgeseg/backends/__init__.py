"""Backends behind one table keyed by file kind: ``load_backend(path, device=...)``.

Deploy side: nothing here imports torch, TensorRT or ONNX Runtime until a backend of that
kind is loaded (the torch backend is the train side's reference and imports torch itself).

>>> backend_kind("model.onnx"), backend_kind("model.engine"), backend_kind("best.pt")
('onnxruntime', 'tensorrt', 'torch')
"""

from __future__ import annotations

import difflib
import os

from ..errors import ConfigError
from ..lazy import load_object
from .base import Backend, TensorSpec

# file suffix -> backend kind; backend kind -> "module:Class" imported on first use.
SUFFIXES = {".onnx": "onnxruntime", ".engine": "tensorrt", ".plan": "tensorrt",
            ".pt": "torch", ".pth": "torch"}
BACKENDS = {
    "onnxruntime": "edgeseg.backends.onnxruntime:OnnxRuntimeBackend",
    "tensorrt": "edgeseg.backends.tensorrt.runner:TensorRTBackend",
    "torch": "edgeseg.backends.torch:TorchBackend",
}
ALIASES = {"ort": "onnxruntime", "trt": "tensorrt", "pytorch": "torch"}


def backend_kind(path: str | os.PathLike, backend: str = "auto") -> str:
    """The backend that serves ``path``: from ``backend`` if named, else from the suffix."""
    if backend != "auto":
        name = ALIASES.get(backend, backend)
        if name not in BACKENDS:
            close = difflib.get_close_matches(name, list(BACKENDS) + list(ALIASES), n=1)
            raise ConfigError("unknown backend", expected=" | ".join(BACKENDS), got=backend,
                              fix=f"did you mean '{close[0]}'?" if close else None)
        return name
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix not in SUFFIXES:
        raise ConfigError("cannot tell the model kind from its file name", path=os.fspath(path),
                          expected=" | ".join(SUFFIXES), got=suffix or "(no suffix)",
                          fix="rename the file or pass backend=")
    return SUFFIXES[suffix]


def load_backend(path: str | os.PathLike, backend: str = "auto", **options) -> Backend:
    """Open a model file with the backend its kind calls for: ``load_backend("m.onnx", device="cpu")``."""
    return load_object(BACKENDS[backend_kind(path, backend)])(os.fspath(path), **options)


__all__ = ["Backend", "TensorSpec", "load_backend", "backend_kind", "SUFFIXES", "BACKENDS"]
