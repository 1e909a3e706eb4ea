"""Backends behind one table keyed by file kind: ``load_backend(path, device=...)``.

Deploy side: nothing here imports torch, TensorRT or ONNX Runtime until a backend of that
kind is loaded (the torch backend is the train side's reference and imports torch itself).

>>> backend_kind("model.onnx"), backend_kind("model.engine"), backend_kind("best.pt")
('onnxruntime', 'tensorrt', 'torch')
>>> SUFFIXES  # from uri.MODEL_SUFFIXES: the suffixes every name-reader knows as models
{'.onnx': 'onnxruntime', '.engine': 'tensorrt', '.plan': 'tensorrt', '.pt': 'torch', '.pth': 'torch'}
>>> backend_kind("m.onnx", "tensorrtt")  # doctest: +ELLIPSIS
Traceback (most recent call last):
edgeseg.errors.ConfigError: unknown backend
  expected: onnxruntime | tensorrt | torch
  got:      tensorrtt
  fix:      did you mean 'tensorrt'?
"""

from __future__ import annotations

import os

from .. import uri
from ..errors import ConfigError
from ..lazy import load_object
from .base import Backend, TensorSpec

# file kind (uri.MODEL_SUFFIXES names the kind of each suffix) -> the backend that runs it;
# backend -> "module:Class" imported on first use.
KINDS = {"onnx": "onnxruntime", "engine": "tensorrt", "checkpoint": "torch"}
SUFFIXES = {suffix: KINDS[kind] for suffix, kind in uri.MODEL_SUFFIXES.items()}
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
            raise ConfigError("unknown backend", expected=" | ".join(BACKENDS), got=backend,
                              fix=uri.did_you_mean(name, list(BACKENDS) + list(ALIASES), cutoff=0.6))
        return name
    suffix = uri.suffix(path)
    if suffix not in SUFFIXES:
        raise ConfigError("cannot tell the model kind from its file name", path=os.fspath(path),
                          expected=" | ".join(SUFFIXES), got=suffix or "(no suffix)",
                          fix="rename the file or pass backend=")
    return SUFFIXES[suffix]


def load_backend(path: str | os.PathLike, backend: str = "auto", **options) -> Backend:
    """Open a model file with the backend its kind calls for: ``load_backend("m.onnx", device="cpu")``."""
    return load_object(BACKENDS[backend_kind(path, backend)])(os.fspath(path), **options)


__all__ = ["Backend", "TensorSpec", "load_backend", "backend_kind", "SUFFIXES", "BACKENDS"]
