"""A stand-in ``tensorrt`` module and an in-memory CUDA, to run TensorRTBackend's logic on a CPU.

The fake engine's "plan" is JSON (after ``FAKE_MAGIC``) naming its input shape, optimisation
profile and output kind; ``execute_async_v3`` reads the input from fake device memory and writes
``logits[c] = (c + 1) * x[c % 3]`` (or their argmax as int32 labels). Every name the fake exposes
also exists in the real TensorRT 10.16 and 11.4 APIs: ``test_fakes_only_use_real_names`` checks it.
"""

from __future__ import annotations

import enum
import itertools
import json
import types

import numpy as np

from edgeseg.backends.tensorrt.cuda.base import CudaApi, DeviceBuffer, Event, HostBuffer, Stream, check_copy

FAKE_MAGIC = b"FAKEPLAN"
MEMORY: dict[int, np.ndarray] = {}  # fake device memory: address -> bytes
CALLS: list[str] = []               # what happened, in order
_addresses = itertools.count(0x10000, 0x10000)


def fake_plan(input_shape=(1, 3, 8, 8), classes=3, labels=False, profile=None) -> bytes:
    spec = {"input": list(input_shape), "classes": classes, "labels": labels,
            "profile": profile or [list(input_shape)] * 3}
    return FAKE_MAGIC + json.dumps(spec).encode()


def reference(x: np.ndarray, classes: int, labels: bool) -> np.ndarray:
    logits = np.stack([(c + 1) * x[:, c % 3] for c in range(classes)], 1).astype(np.float32)
    return logits.argmax(1).astype(np.int32) if labels else logits


# -- the fake tensorrt module ----------------------------------------------------------------------
class _Severity(enum.IntEnum):
    INTERNAL_ERROR = 0
    ERROR = 1
    WARNING = 2
    INFO = 3
    VERBOSE = 4


class ILogger:
    Severity = _Severity

    def __init__(self):
        pass

    def log(self, severity, msg):
        pass


class TensorIOMode(enum.Enum):
    NONE = 0
    INPUT = 1
    OUTPUT = 2


class DataType(enum.Enum):
    FLOAT = np.float32
    INT32 = np.int32


def nptype(dtype):
    return dtype.value


class IExecutionContext:
    def __init__(self, engine):
        self.engine, self._shape, self._addr = engine, None, {}

    def set_input_shape(self, name, shape):
        lo, _, hi = self.engine.get_tensor_profile_shape(name, 0)
        ok = len(shape) == len(lo) and all(a <= s <= b for a, s, b in zip(lo, shape, hi))
        if ok:
            self._shape = tuple(shape)
        return ok

    def get_tensor_shape(self, name):
        n, _, h, w = self._shape
        if name == "input":
            return self._shape
        return (n, h, w) if self.engine.spec["labels"] else (n, self.engine.spec["classes"], h, w)

    def set_tensor_address(self, name, ptr):
        self._addr[name] = ptr
        return True

    def execute_async_v3(self, stream_handle):
        CALLS.append(f"execute on stream {stream_handle}")
        spec = self.engine.spec
        x = MEMORY[self._addr["input"]].view(np.float32).reshape(self._shape)
        out = reference(x, spec["classes"], spec["labels"])
        MEMORY[self._addr["output"]][:] = out.reshape(-1).view(np.uint8)
        return True


class ICudaEngine:
    def __init__(self, spec):
        self.spec = spec
        self.num_io_tensors = 2

    def get_tensor_name(self, i):
        return ("input", "output")[i]

    def get_tensor_mode(self, name):
        return TensorIOMode.INPUT if name == "input" else TensorIOMode.OUTPUT

    def get_tensor_shape(self, name):
        shape = self.spec["input"]
        if name == "input":
            return tuple(shape)
        return (shape[0], shape[2], shape[3]) if self.spec["labels"] else (shape[0], self.spec["classes"], *shape[2:])

    def get_tensor_dtype(self, name):
        return DataType.INT32 if name == "output" and self.spec["labels"] else DataType.FLOAT

    def get_tensor_profile_shape(self, name, index):
        return [tuple(s) for s in self.spec["profile"]]

    def create_execution_context(self):
        return IExecutionContext(self)


class Runtime:
    def __init__(self, logger):
        self.logger = logger
        self.engine_host_code_allowed = False
        self.DLA_core = -1

    def deserialize_cuda_engine(self, plan):
        CALLS.append("deserialize")
        if not bytes(plan).startswith(FAKE_MAGIC):
            self.logger.log(ILogger.Severity.ERROR, "IRuntime::deserializeCudaEngine: magic tag does not match")
            return None
        return ICudaEngine(json.loads(bytes(plan)[len(FAKE_MAGIC):]))


def fake_tensorrt(version: str = "10.16.1.11") -> types.ModuleType:
    mod = types.ModuleType("tensorrt")
    mod.__version__ = version
    for obj in (ILogger, TensorIOMode, DataType, nptype, IExecutionContext, ICudaEngine, Runtime):
        setattr(mod, obj.__name__, obj)
    return mod


# -- an in-memory CUDA -----------------------------------------------------------------------------
class _Stream(Stream):
    def __init__(self):
        self._h = next(_addresses)

    @property
    def handle(self):
        return self._h

    def synchronize(self):
        CALLS.append(f"sync stream {self._h}")


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

    def __init__(self, device=0, gpu=("Orin (fake)", (8, 7))):
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
