"""The CUDA layer's GPU query: name and compute capability, for the engine header, the cache key
and the builder, without opening a context or allocating anything.

Tries cuda-python (the same modules :mod:`.cuda_python` binds: ``cuda.bindings.runtime``, or
``cuda.cudart`` before cuda-python 12.6), then pycuda. No GPU, or neither package, is a clear
error; :class:`GpuUnavailableError` is a :class:`~.base.CudaError`, like every failure of this layer.
A running backend asks its open :class:`~.base.CudaApi` instead (``device_info()``).

>>> GpuInfo("Orin", "8.7").compute_capability
'8.7'
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from ....errors import MissingDependencyError
from .base import CudaError
from .cuda_python import import_cudart


class GpuUnavailableError(CudaError):
    """No CUDA GPU could be reached (no device, no driver, or the driver refused)."""


@dataclass(frozen=True)
class GpuInfo:
    name: str
    compute_capability: str   # "major.minor", e.g. "8.7" (Orin), "8.9" (RTX 4090)


def _no_gpu(got: str) -> GpuUnavailableError:
    return GpuUnavailableError("no CUDA GPU is available to build a TensorRT engine", got=got,
                               expected="an NVIDIA GPU with its driver (a Jetson, or a desktop GPU)",
                               fix="build on the device that will run the engine; on this machine use "
                                   "the .onnx with ONNX Runtime")


def _cuda_runtime():
    try:
        return import_cudart()
    except ImportError:
        return None


def _from_cuda_python(rt, device: int) -> GpuInfo:
    ok = rt.cudaError_t.cudaSuccess
    err, count = rt.cudaGetDeviceCount()
    if err != ok or count == 0:
        raise _no_gpu(f"cuda-python: cudaGetDeviceCount -> {err}, {count if err == ok else 0} devices")
    if device >= count:
        raise _no_gpu(f"cuda-python: device {device} asked for, {count} present")
    err, prop = rt.cudaGetDeviceProperties(device)
    if err != ok:
        raise _no_gpu(f"cuda-python: cudaGetDeviceProperties -> {err}")
    name = prop.name
    if isinstance(name, (bytes, bytearray)):
        name = bytes(name).split(b"\0", 1)[0].decode("utf-8", "replace")
    return GpuInfo(str(name).strip(), f"{prop.major}.{prop.minor}")


def _from_pycuda(drv, device: int) -> GpuInfo:
    try:
        drv.init()
        count = drv.Device.count()
        if device >= count:
            raise _no_gpu(f"pycuda: {count} devices")
        dev = drv.Device(device)
        major, minor = dev.compute_capability()
        return GpuInfo(str(dev.name()).strip(), f"{major}.{minor}")
    except GpuUnavailableError:
        raise
    except Exception as exc:  # pycuda.driver.Error / LogicError: no driver or no device
        raise _no_gpu(f"pycuda: {type(exc).__name__}: {exc}") from exc


def gpu_info(device: int = 0) -> GpuInfo:
    """Name and compute capability of CUDA device ``device``."""
    rt = _cuda_runtime()
    if rt is not None:
        return _from_cuda_python(rt, device)
    try:
        drv = importlib.import_module("pycuda.driver")
    except ImportError:
        drv = None
    if drv is not None:
        return _from_pycuda(drv, device)
    raise MissingDependencyError("reading the GPU's name needs cuda-python or pycuda",
                                 expected="the 'cuda-python' or 'pycuda' package",
                                 got="neither is importable",
                                 fix="pip install cuda-python (pycuda comes with most JetPack images)")
