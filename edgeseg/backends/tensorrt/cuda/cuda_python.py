"""CUDA through NVIDIA's cuda-python (``cuda.bindings.runtime``): the runtime API TensorRT itself
uses, so the engine and these buffers share the device's primary context without any push/pop.

Every call returns ``(error, *results)``; :func:`cuda_call` turns a non-zero error into a
:class:`CudaError` naming it, the way TensorRT's ``samples/python/common_runtime.py`` does.
cuda-python imports without a driver, so the no-GPU path runs (and is tested) on any machine.

>>> # cuda = CudaPythonApi(0); cuda.device_info()   # ('NVIDIA H100 ...', (9, 0)) on a GPU
"""

from __future__ import annotations

import ctypes
import importlib

import numpy as np

from .base import CudaApi, CudaError, DeviceBuffer, Event, HostBuffer, Stream, check_copy, no_gpu_error

# cuda-python >= 12.6 names the module cuda.bindings.runtime; older releases cuda.cudart.
MODULES = ("cuda.bindings.runtime", "cuda.cudart")

# Errors that mean "there is no usable driver or GPU", not "this call was wrong".
NO_GPU = {"cudaErrorInsufficientDriver", "cudaErrorNoDevice", "cudaErrorInitializationError",
          "cudaErrorCompatNotSupportedOnDevice", "cudaErrorSystemDriverMismatch",
          "cudaErrorDevicesUnavailable"}


def import_cudart():
    """The runtime bindings module, or ImportError from the last candidate."""
    error = None
    for name in MODULES:
        try:
            return importlib.import_module(name)
        except ImportError as exc:
            error = exc
    raise error


def _error_name(cudart, err) -> tuple[str, str]:
    name = getattr(err, "name", str(err))
    try:
        text = cudart.cudaGetErrorString(err)[1]
        text = text.decode() if isinstance(text, bytes) else str(text)
    except Exception:  # describing an error must never raise a second one
        text = "no description"
    return name, text


def cuda_call(cudart, result, what: str):
    """Unpack ``(error, *results)``: raise on error, else return the result(s)."""
    err, rest = result[0], result[1:]
    if int(err) != 0:
        name, text = _error_name(cudart, err)
        if name in NO_GPU:
            raise no_gpu_error(name, text, "cuda-python")
        raise CudaError(f"CUDA call {what} failed: {name} ({int(err)}): {text}",
                        fix="check GPU memory (nvidia-smi / tegrastats) and that the engine "
                            "was built for this device")
    if not rest:
        return None
    return rest[0] if len(rest) == 1 else rest


class _Stream(Stream):
    def __init__(self, cudart):
        self._rt = cudart
        self._s = cuda_call(cudart, cudart.cudaStreamCreate(), "cudaStreamCreate")

    @property
    def handle(self) -> int:
        return int(self._s)

    def synchronize(self) -> None:
        cuda_call(self._rt, self._rt.cudaStreamSynchronize(self._s), "cudaStreamSynchronize")

    def close(self) -> None:
        if self._s is not None:
            cuda_call(self._rt, self._rt.cudaStreamDestroy(self._s), "cudaStreamDestroy")
            self._s = None


class _DeviceBuffer(DeviceBuffer):
    def __init__(self, cudart, nbytes: int):
        self._rt, self.nbytes = cudart, int(nbytes)
        self._ptr = cuda_call(cudart, cudart.cudaMalloc(self.nbytes), "cudaMalloc")

    @property
    def ptr(self) -> int:
        return int(self._ptr)

    def free(self) -> None:
        if self._ptr is not None:
            cuda_call(self._rt, self._rt.cudaFree(self._ptr), "cudaFree")
            self._ptr = None


class _HostBuffer(HostBuffer):
    def __init__(self, cudart, shape, dtype):
        self._rt = cudart
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        self._ptr = cuda_call(cudart, cudart.cudaMallocHost(max(nbytes, 1)), "cudaMallocHost")
        raw = (ctypes.c_ubyte * max(nbytes, 1)).from_address(int(self._ptr))
        self.array = np.frombuffer(raw, np.uint8, count=nbytes).view(dtype).reshape(shape)

    @property
    def ptr(self) -> int:
        return int(self._ptr)

    def free(self) -> None:
        if self._ptr is not None:
            self.array = None  # no view may outlive the memory
            cuda_call(self._rt, self._rt.cudaFreeHost(self._ptr), "cudaFreeHost")
            self._ptr = None


class _Event(Event):
    def __init__(self, cudart):
        self._rt = cudart
        self._e = cuda_call(cudart, cudart.cudaEventCreate(), "cudaEventCreate")

    def record(self, stream: Stream) -> None:
        cuda_call(self._rt, self._rt.cudaEventRecord(self._e, stream._s), "cudaEventRecord")

    def synchronize(self) -> None:
        cuda_call(self._rt, self._rt.cudaEventSynchronize(self._e), "cudaEventSynchronize")

    def elapsed_ms(self, start: "_Event") -> float:
        return float(cuda_call(self._rt, self._rt.cudaEventElapsedTime(start._e, self._e),
                               "cudaEventElapsedTime"))

    def close(self) -> None:
        if self._e is not None:
            cuda_call(self._rt, self._rt.cudaEventDestroy(self._e), "cudaEventDestroy")
            self._e = None


class CudaPythonApi(CudaApi):
    name = "cuda-python"

    def __init__(self, device: int = 0):
        super().__init__(device)
        self._rt = rt = import_cudart()
        # The first runtime call initialises CUDA: without a driver it answers
        # cudaErrorInsufficientDriver / cudaErrorNoDevice, which cuda_call turns into CudaError.
        count = cuda_call(rt, rt.cudaGetDeviceCount(), "cudaGetDeviceCount")
        if self.device >= int(count):
            raise CudaError("no such CUDA device", expected=f"device 0..{int(count) - 1}",
                            got=self.device, fix="pick an existing device, e.g. --device cuda:0")
        cuda_call(rt, rt.cudaSetDevice(self.device), "cudaSetDevice")

    def device_info(self) -> tuple[str, tuple[int, int]]:
        prop = cuda_call(self._rt, self._rt.cudaGetDeviceProperties(self.device), "cudaGetDeviceProperties")
        name = prop.name.split(b"\0")[0].decode(errors="replace") if isinstance(prop.name, bytes) else str(prop.name)
        return name, (int(prop.major), int(prop.minor))

    def activate(self):
        # The runtime API binds the device's primary context to each thread on first use;
        # naming the device keeps a second thread from landing on device 0.
        cuda_call(self._rt, self._rt.cudaSetDevice(self.device), "cudaSetDevice")
        return super().activate()

    def stream(self) -> Stream:
        return _Stream(self._rt)

    def device_buffer(self, nbytes: int) -> DeviceBuffer:
        return _DeviceBuffer(self._rt, nbytes)

    def host_buffer(self, shape, dtype) -> HostBuffer:
        return _HostBuffer(self._rt, tuple(int(s) for s in shape), dtype)

    def htod_async(self, dst: DeviceBuffer, src: HostBuffer, stream: Stream) -> None:
        check_copy(dst.nbytes, src.nbytes, "host-to-device")
        kind = self._rt.cudaMemcpyKind.cudaMemcpyHostToDevice
        cuda_call(self._rt, self._rt.cudaMemcpyAsync(dst.ptr, src.ptr, src.nbytes, kind, stream._s),
                  "cudaMemcpyAsync(HtoD)")

    def dtoh_async(self, dst: HostBuffer, src: DeviceBuffer, stream: Stream) -> None:
        check_copy(src.nbytes, dst.nbytes, "device-to-host")
        kind = self._rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
        cuda_call(self._rt, self._rt.cudaMemcpyAsync(dst.ptr, src.ptr, dst.nbytes, kind, stream._s),
                  "cudaMemcpyAsync(DtoH)")

    def event(self) -> Event:
        return _Event(self._rt)
