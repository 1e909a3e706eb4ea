"""Everything in edgeseg that knows TensorRT, in one package (like Polygraphy's ``backend/trt``).

Deploy side (needs TensorRT and CUDA bindings only when an engine runs):

- ``runner``: :class:`TensorRTBackend`, an engine (or an ONNX built once through the cache) behind
  the backend interface; ``cuda/``: CUDA memory, streams and the GPU query (pycuda | cuda-python);
- ``header``: the engine file pair (the raw plan + its ``.meta.json`` sidecar; older headered files
  are read too), in pure Python.

Build side (``edgeseg build``; needs onnx, and TensorRT to build):

- ``builder`` (ONNX -> serialized engine), ``plan`` (precision per TensorRT major), ``shapes``
  (optimisation profiles), ``source`` (the ONNX a build starts from), ``fp16`` (float16 conversion),
  ``cache`` (engines built once per model, precision, shapes, TensorRT and GPU), ``progress``
  (build progress with an ETA), ``onnx_ops`` (the ONNX ops each TensorRT's parser takes).

Importing the package is light: no tensorrt, no onnx. The names below load their module on first
use, and TensorRT only when an engine is built or run.

>>> import edgeseg.backends.tensorrt as trt_pkg
>>> trt_pkg.precision_plan("10.3.0", "fp16", qdq=False).builder_flags
('FP16',)
>>> "TensorRTBackend" in trt_pkg.__all__ and "cached_engine" in trt_pkg.__all__
True

Typical use (on a Jetson or a GPU machine with TensorRT)::

    from edgeseg.backends.tensorrt import TensorRTBackend, build_engine, cached_engine
    build_engine("model.onnx", "model.engine", precision="fp16", timing_cache="timing.cache")
    path = cached_engine("model.onnx", precision="fp16")   # built once, then reused
    with TensorRTBackend(path) as b:
        logits = b(batch)
"""

from __future__ import annotations

import importlib.util

from ...lazy import lazy_exports

# public name -> module that defines it; imported on first attribute access (PEP 562).
_LAZY = {
    "TensorRTBackend": "runner", "Ticket": "runner", "parse_device": "runner",
    "SUPPORTED_MAJORS": "runner",
    "precision_plan": "plan", "PrecisionPlan": "plan", "TrtCapabilities": "plan", "PRECISIONS": "plan",
    "parse_trt_version": "plan",
    "EngineHeader": "header", "write_engine": "header", "read_header": "header", "read_engine": "header",
    "check_compatible": "header", "rebuild_command": "header", "MAGIC": "header",
    "EngineCompatibilityWarning": "header", "EngineFile": "header", "open_engine": "header",
    "unwrap_engine": "header", "sidecar_path": "header", "version_compatible_loads": "header",
    "cached_engine": "cache", "cache_key": "cache", "cache_dir": "cache",
    "parse_shape": "shapes", "parse_dynamic": "shapes", "parse_workspace": "shapes",
    "resolve_profile": "shapes", "ProfileShape": "shapes",
    "to_float16": "fp16", "convert_for_build": "fp16", "fp16_range_check": "fp16", "calibration_tensors": "fp16",
    "DlaPlacement": "builder", "check_dla_profiles": "shapes", "write_deepstream": "deepstream",
    "check_fits_nvinfer": "deepstream",
    "gpu_info": "cuda.device", "GpuInfo": "cuda.device", "GpuUnavailableError": "cuda.device",
    "load_cuda": "cuda", "CudaApi": "cuda", "CudaError": "cuda",
    "build_engine": "builder", "wrap_plan": "builder", "BuildResult": "builder",
    "network_from_onnx": "builder", "build_config": "builder", "serialize_network": "builder",
    "save_timing_cache": "builder", "import_tensorrt": "builder", "default_engine_path": "builder",
    "load_source": "source", "resolve_profiles": "source",
    "check_tensorrt_ops": "onnx_ops", "require_tensorrt_ops": "onnx_ops", "TrtOpsReport": "onnx_ops",
    "TARGETS": "onnx_ops",
}

__all__ = sorted([*_LAZY, "tensorrt_installed"])


def tensorrt_installed() -> bool:
    """Whether the ``tensorrt`` package can be found (without importing it, which takes seconds).

    >>> isinstance(tensorrt_installed(), bool)
    True
    """
    return importlib.util.find_spec("tensorrt") is not None


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
