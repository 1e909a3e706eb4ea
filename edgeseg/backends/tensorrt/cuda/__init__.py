"""CUDA memory, streams, events and the GPU query for TensorRT, behind one narrow interface.

Two implementations sit in one table: pycuda (what JetPack images carry) first, then NVIDIA's
cuda-python. ``load_cuda()`` takes the first one installed; with neither, the error names both.
Without a GPU, cuda-python still imports and every call answers a CUDA error, which becomes a
:class:`CudaError` saying no NVIDIA driver / GPU was found.

>>> list(IMPLEMENTATIONS)
['pycuda', 'cuda-python']
>>> load_cuda("cupy")  # doctest: +ELLIPSIS
Traceback (most recent call last):
edgeseg.errors.ConfigError: unknown CUDA implementation
  expected: auto | pycuda | cuda-python
  got:      cupy
>>> # cuda = load_cuda(); name, (major, minor) = cuda.device_info()
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

from ....errors import ConfigError, MissingDependencyError
from .base import CudaApi, CudaError, DeviceBuffer, Event, HostBuffer, Stream, no_gpu_error
from .device import GpuInfo, GpuUnavailableError, gpu_info

# name -> (top-level package that marks it installed, "module:Class" of the implementation).
IMPLEMENTATIONS = {
    "pycuda": ("pycuda", "edgeseg.backends.tensorrt.cuda.pycuda_impl:PyCudaApi"),
    "cuda-python": ("cuda.bindings", "edgeseg.backends.tensorrt.cuda.cuda_python:CudaPythonApi"),
}
# Older cuda-python (< 12.6) has no cuda.bindings but a cuda.cudart module.
_ALSO_MARKS = {"cuda-python": ("cuda.cudart",)}
ENV = "EDGESEG_CUDA"  # pick an implementation without code: EDGESEG_CUDA=cuda-python

HOW_TO_GET = ("pycuda: comes with JetPack images, or pip install pycuda (builds against the CUDA "
              "toolkit); cuda-python: pip install cuda-python (NVIDIA's bindings, a wheel)")


def _installed(module: str) -> bool:
    """True if ``module`` can be found, without importing it (a blocked module counts as absent)."""
    top = module.split(".")[0]
    if top in sys.modules and sys.modules[top] is None:
        return False
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def installed_implementations() -> list[str]:
    """Names from :data:`IMPLEMENTATIONS` whose package is installed, in preference order."""
    return [name for name, (mark, _) in IMPLEMENTATIONS.items()
            if _installed(mark) or any(_installed(m) for m in _ALSO_MARKS.get(name, ()))]


def load_cuda(impl: str = "auto", device: int = 0) -> CudaApi:
    """A :class:`CudaApi` for ``device``: ``impl`` "auto" (or ``$EDGESEG_CUDA``), "pycuda",
    "cuda-python". Raises MissingDependencyError when none is installed and CudaError when CUDA
    itself cannot run (no driver, no GPU)."""
    impl = os.environ.get(ENV, "auto") if impl == "auto" else impl
    if impl != "auto" and impl not in IMPLEMENTATIONS:
        raise ConfigError("unknown CUDA implementation", expected=" | ".join(["auto", *IMPLEMENTATIONS]),
                          got=impl)
    found = installed_implementations()
    if impl == "auto":
        if not found:
            raise MissingDependencyError("the TensorRT backend needs CUDA bindings, and none is installed",
                                         expected="pycuda or cuda-python", got="neither importable",
                                         fix=HOW_TO_GET)
        impl = found[0]
    elif impl not in found:
        raise MissingDependencyError(f"CUDA implementation {impl} is not installed",
                                     expected=impl, got=f"installed: {', '.join(found) or 'none'}",
                                     fix=HOW_TO_GET)
    module, cls = IMPLEMENTATIONS[impl][1].split(":")
    return getattr(importlib.import_module(module), cls)(device)


__all__ = ["CudaApi", "CudaError", "DeviceBuffer", "Event", "HostBuffer", "Stream", "IMPLEMENTATIONS",
           "installed_implementations", "load_cuda", "no_gpu_error", "GpuInfo", "GpuUnavailableError",
           "gpu_info"]
