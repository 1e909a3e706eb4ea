"""An in-memory CUDA on a fake Orin, for TensorRTBackend's logic on a CPU.

Device memory is :data:`MEMORY` (address -> bytes), shared with the fake engines of
fake_tensorrt.py, which read their input from it and write their output into it.
"""

from __future__ import annotations

import itertools

import numpy as np

from edgeseg.backends.tensorrt.cuda.base import CudaApi, DeviceBuffer, Event, HostBuffer, Stream, check_copy
from edgeseg.backends.tensorrt.cuda.device import GpuInfo

# The one fake GPU: what gpu_info() reports to the builder and FakeCuda to the runtime, so an
# engine the fake builder wrote loads on the fake runtime without a "built on another GPU" warning.
ORIN = GpuInfo("Orin", "8.7")
MEMORY: dict[int, np.ndarray] = {}
_addresses = itertools.count(0x10000, 0x10000)


class _Stream(Stream):
    def __init__(self):
        self._h = next(_addresses)

    @property
    def handle(self):
        return self._h

    def synchronize(self):
        pass


class _DeviceBuffer(DeviceBuffer):
    def __init__(self, nbytes):
        self.nbytes, self._ptr = int(nbytes), next(_addresses)
        MEMORY[self._ptr] = np.zeros(self.nbytes, np.uint8)

    @property
    def ptr(self):
        return self._ptr

    def free(self):
        MEMORY.pop(self._ptr, None)


class _HostBuffer(HostBuffer):
    def __init__(self, shape, dtype):
        self.array = np.zeros(shape, dtype)

    def free(self):
        self.array = None


class _Event(Event):
    def record(self, stream):
        pass

    def synchronize(self):
        pass

    def elapsed_ms(self, start):
        return 0.0


class FakeCuda(CudaApi):
    name = "fake"

    def __init__(self, device=0, gpu=(ORIN.name, (8, 7))):
        super().__init__(device)
        self.gpu, self.closed = gpu, False

    def device_info(self):
        return self.gpu

    def stream(self):
        return _Stream()

    def device_buffer(self, nbytes):
        return _DeviceBuffer(nbytes)

    def host_buffer(self, shape, dtype):
        return _HostBuffer(shape, dtype)

    def htod_async(self, dst, src, stream):
        check_copy(dst.nbytes, src.nbytes, "host-to-device")
        MEMORY[dst.ptr][:src.nbytes] = src.array.reshape(-1).view(np.uint8)

    def dtoh_async(self, dst, src, stream):
        check_copy(src.nbytes, dst.nbytes, "device-to-host")
        dst.array.reshape(-1).view(np.uint8)[:] = MEMORY[src.ptr][:dst.nbytes]

    def event(self):
        return _Event()

    def close(self):
        self.closed = True


class OtherFakeCuda(FakeCuda):
    """A second implementation, to see which one the table picks."""

    name = "other-fake"
