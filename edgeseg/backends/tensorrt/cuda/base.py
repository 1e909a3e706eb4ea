"""The narrow CUDA interface the TensorRT backend needs: a device, streams, device and page-locked
host buffers, asynchronous copies and timing events. Nothing else of CUDA leaks past it.

Implementations subclass :class:`CudaApi` and the four handle types; ``load_cuda`` picks one.

>>> issubclass(CudaError, EdgesegError)
True
>>> print(no_gpu_error("cudaErrorNoDevice", "no CUDA-capable device is detected", "cuda-python"))
CUDA is not usable here: cudaErrorNoDevice (no CUDA-capable device is detected): no NVIDIA driver / GPU was found
  expected: an NVIDIA GPU with its driver (JetPack on a Jetson)
  got:      cuda-python: cudaErrorNoDevice
  fix:      run on a machine with an NVIDIA GPU and driver, or use ONNX Runtime: --backend onnxruntime --device cpu
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod

import numpy as np

from ....errors import EdgesegError


class CudaError(EdgesegError, RuntimeError):
    """A CUDA call failed, or CUDA cannot run here (no driver, no GPU); names the CUDA error."""


def no_gpu_error(name: str, text: str, impl: str) -> CudaError:
    """The one message for 'this machine has no usable NVIDIA driver or GPU'."""
    # With a driver present, "insufficient driver" means it is older than the bindings' CUDA.
    old = " (if a driver is installed: update it to one as new as the CUDA of the bindings)"
    return CudaError(f"CUDA is not usable here: {name} ({text}): no NVIDIA driver / GPU was found",
                     expected="an NVIDIA GPU with its driver (JetPack on a Jetson)",
                     got=f"{impl}: {name}",
                     fix="run on a machine with an NVIDIA GPU and driver, or use ONNX Runtime: "
                         "--backend onnxruntime --device cpu" + (old if "Insufficient" in name else ""))


class Stream(ABC):
    """A CUDA stream; ``handle`` is the raw ``cudaStream_t`` as an int (what TensorRT takes)."""

    @property
    @abstractmethod
    def handle(self) -> int: ...

    @abstractmethod
    def synchronize(self) -> None: ...

    def close(self) -> None:
        """Release the stream now (implementations that rely on garbage collection do nothing)."""


class DeviceBuffer(ABC):
    """``nbytes`` of device memory at ``ptr`` (an int address)."""

    nbytes: int

    @property
    @abstractmethod
    def ptr(self) -> int: ...

    @abstractmethod
    def free(self) -> None: ...


class HostBuffer(ABC):
    """A page-locked host allocation seen as the numpy array ``array`` (shape, dtype as asked).

    Page-locked memory is what lets a copy run asynchronously on a stream; a pageable array
    would make the copy synchronous and serialise the two streams of the backend.
    """

    array: np.ndarray

    @property
    def nbytes(self) -> int:
        return int(self.array.nbytes)

    @property
    def ptr(self) -> int:
        return int(self.array.ctypes.data)

    @abstractmethod
    def free(self) -> None: ...


class Event(ABC):
    """A point in a stream; ``end.elapsed_ms(start)`` is the GPU time between two records."""

    @abstractmethod
    def record(self, stream: Stream) -> None: ...

    @abstractmethod
    def synchronize(self) -> None: ...

    @abstractmethod
    def elapsed_ms(self, start: "Event") -> float: ...

    def close(self) -> None:
        """Release the event now (implementations that rely on garbage collection do nothing)."""


class CudaApi(ABC):
    """One CUDA implementation bound to one device. Use every other method inside ``activate()``
    on the thread that calls it: CUDA contexts are per thread, and TensorRT runs in the same one."""

    name = "cuda"

    def __init__(self, device: int = 0):
        self.device = int(device)

    @abstractmethod
    def device_info(self) -> tuple[str, tuple[int, int]]:
        """``(name, (major, minor))``, e.g. ``("Orin", (8, 7))``."""

    def activate(self):
        """Context manager making this device current on the calling thread (default: nothing)."""
        return contextlib.nullcontext(self)

    @abstractmethod
    def stream(self) -> Stream: ...

    @abstractmethod
    def device_buffer(self, nbytes: int) -> DeviceBuffer: ...

    @abstractmethod
    def host_buffer(self, shape, dtype) -> HostBuffer: ...

    @abstractmethod
    def htod_async(self, dst: DeviceBuffer, src: HostBuffer, stream: Stream) -> None:
        """Copy all of ``src`` to the start of ``dst``, queued on ``stream``."""

    @abstractmethod
    def dtoh_async(self, dst: HostBuffer, src: DeviceBuffer, stream: Stream) -> None:
        """Copy ``dst.nbytes`` from the start of ``src`` into ``dst``, queued on ``stream``."""

    @abstractmethod
    def event(self) -> Event: ...

    def close(self) -> None:
        """Give the device back (implementations holding a context release it)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} device {self.device}>"


def check_copy(dst_nbytes: int, src_nbytes: int, what: str) -> None:
    """Refuse a copy that would run past the end of its destination (CUDA would not)."""
    if src_nbytes > dst_nbytes:
        raise CudaError(f"{what} copy larger than its destination", expected=f"<= {dst_nbytes} bytes",
                        got=f"{src_nbytes} bytes", fix="allocate the buffer for the largest shape")
