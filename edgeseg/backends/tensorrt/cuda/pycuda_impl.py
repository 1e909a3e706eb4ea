"""CUDA through pycuda, which JetPack images usually carry.

pycuda works on the driver API, where a context must be current on the calling thread. TensorRT
runs on the runtime API, which uses the device's *primary* context; so this retains that one
(``Device.retain_primary_context``, as ``pycuda.autoprimaryctx`` does) and pushes/pops it around
each use instead of creating a private context (``pycuda.autoinit``), which would leave the
engine and the buffers in two different contexts.

>>> # cuda = PyCudaApi(0)
>>> # with cuda.activate(): buf = cuda.host_buffer((1, 3, 64, 64), "float32")
"""

from __future__ import annotations

import contextlib

import numpy as np

from .base import CudaApi, CudaError, DeviceBuffer, Event, HostBuffer, Stream, check_copy, no_gpu_error

# pycuda messages that mean "no usable driver or GPU" rather than a bad call.
_NO_GPU_HINTS = ("no CUDA-capable device", "insufficient", "libcuda", "CUDA driver", "cuInit failed")


def _wrap(exc: Exception, what: str) -> CudaError:
    text = str(exc)
    if any(h.lower() in text.lower() for h in _NO_GPU_HINTS):
        return no_gpu_error(type(exc).__name__, text, "pycuda")
    return CudaError(f"pycuda {what} failed: {text}",
                     fix="check GPU memory (tegrastats / nvidia-smi) and that the engine was built "
                         "for this device")


class _Stream(Stream):
    def __init__(self, drv):
        self._s = drv.Stream()

    @property
    def handle(self) -> int:
        return int(self._s.handle)

    def synchronize(self) -> None:
        self._s.synchronize()

    def close(self) -> None:
        self._s = None  # pycuda destroys the stream with the object, inside its context


class _DeviceBuffer(DeviceBuffer):
    def __init__(self, drv, nbytes: int):
        self.nbytes = int(nbytes)
        self._mem = drv.mem_alloc(max(self.nbytes, 1))

    @property
    def ptr(self) -> int:
        return int(self._mem)

    def free(self) -> None:
        if self._mem is not None:
            self._mem.free()
            self._mem = None


class _HostBuffer(HostBuffer):
    def __init__(self, drv, shape, dtype):
        self.array = drv.pagelocked_empty(tuple(shape), np.dtype(dtype))

    def free(self) -> None:
        if self.array is not None:
            base, self.array = self.array.base, None
            if hasattr(base, "free"):
                base.free()


class _Event(Event):
    def __init__(self, drv):
        self._e = drv.Event()

    def record(self, stream: Stream) -> None:
        self._e.record(stream._s)

    def synchronize(self) -> None:
        self._e.synchronize()

    def elapsed_ms(self, start: "_Event") -> float:
        return float(self._e.time_since(start._e))


class PyCudaApi(CudaApi):
    name = "pycuda"

    def __init__(self, device: int = 0):
        super().__init__(device)
        try:
            import pycuda.driver as drv
        except ImportError as exc:  # installed, but libcuda.so is missing: a machine without driver
            raise _wrap(exc, "import") from exc
        self._drv = drv
        try:
            drv.init()
            count = drv.Device.count()
            if self.device >= count:
                raise CudaError("no such CUDA device", expected=f"device 0..{count - 1}", got=self.device,
                                fix="pick an existing device, e.g. --device cuda:0")
            self._dev = drv.Device(self.device)
            self._ctx = self._dev.retain_primary_context()
        except drv.Error as exc:
            raise _wrap(exc, "initialisation") from exc

    def device_info(self) -> tuple[str, tuple[int, int]]:
        major, minor = self._dev.compute_capability()
        return str(self._dev.name()), (int(major), int(minor))

    @contextlib.contextmanager
    def activate(self):
        self._ctx.push()
        try:
            yield self
        except self._drv.Error as exc:
            raise _wrap(exc, "call") from exc
        finally:
            self._drv.Context.pop()

    def stream(self) -> Stream:
        return _Stream(self._drv)

    def device_buffer(self, nbytes: int) -> DeviceBuffer:
        return _DeviceBuffer(self._drv, nbytes)

    def host_buffer(self, shape, dtype) -> HostBuffer:
        return _HostBuffer(self._drv, shape, dtype)

    def htod_async(self, dst: DeviceBuffer, src: HostBuffer, stream: Stream) -> None:
        check_copy(dst.nbytes, src.nbytes, "host-to-device")
        self._drv.memcpy_htod_async(dst.ptr, src.array, stream._s)

    def dtoh_async(self, dst: HostBuffer, src: DeviceBuffer, stream: Stream) -> None:
        check_copy(src.nbytes, dst.nbytes, "device-to-host")
        self._drv.memcpy_dtoh_async(dst.array, src.ptr, stream._s)

    def event(self) -> Event:
        return _Event(self._drv)

    def close(self) -> None:
        # Release the retain taken in __init__ (pycuda's Context.detach); the context lives on
        # while TensorRT or another library still holds it.
        ctx, self._ctx = getattr(self, "_ctx", None), None
        if ctx is not None:
            with contextlib.suppress(Exception):
                ctx.detach()
