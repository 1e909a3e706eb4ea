"""Build: ONNX -> TensorRT engine (precision plan per TensorRT major, optimisation profiles,
timing cache, DLA, version-compatible flag), the engine header and the engine cache.

Importing ``edgeseg.build`` is light: no tensorrt, no onnx. The names below load their module on
first use, and TensorRT only when an engine is built. ``edgeseg.build.header`` is pure Python and
is what the deploy side reads.

>>> import edgeseg.build as b
>>> b.precision_plan("10.3.0", "fp16", qdq=False).builder_flags
('FP16',)
>>> "cached_engine" in b.__all__
True

Typical use (on a Jetson or a GPU machine with TensorRT)::

    from edgeseg.build import build_engine, cached_engine
    build_engine("model.onnx", "model.engine", precision="fp16", timing_cache="timing.cache")
    path = cached_engine("model.onnx", precision="fp16")   # built once, then reused
"""

from __future__ import annotations

from ..utils.lazy import lazy_exports

# public name -> module that defines it; imported on first attribute access (PEP 562).
_LAZY = {
    "precision_plan": "plan", "PrecisionPlan": "plan", "TrtCapabilities": "plan", "PRECISIONS": "plan",
    "parse_trt_version": "plan",
    "EngineHeader": "header", "write_engine": "header", "read_header": "header", "read_engine": "header",
    "check_compatible": "header", "rebuild_command": "header", "MAGIC": "header",
    "EngineCompatibilityWarning": "header",
    "cached_engine": "cache", "cache_key": "cache", "cache_dir": "cache",
    "parse_shape": "shapes", "parse_dynamic": "shapes", "parse_workspace": "shapes",
    "resolve_profile": "shapes", "ProfileShape": "shapes",
    "to_float16": "fp16",
    "gpu_info": "gpu", "GpuInfo": "gpu", "GpuUnavailableError": "gpu",
    "build_engine": "builder", "wrap_plan": "builder", "BuildResult": "builder",
    "network_from_onnx": "builder", "build_config": "builder", "serialize_network": "builder",
    "save_timing_cache": "builder", "import_tensorrt": "builder",
    "load_source": "source", "resolve_profiles": "source",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
