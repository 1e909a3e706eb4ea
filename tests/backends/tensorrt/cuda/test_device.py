"""gpu_info through cuda-python, then pycuda, with stand-ins for both (no GPU here)."""

import enum
import sys
import types

import pytest

from edgeseg.backends.tensorrt.cuda.device import GpuInfo, GpuUnavailableError, gpu_info
from edgeseg.errors import MissingDependencyError

_BLOCK = ("cuda", "cuda.bindings", "cuda.bindings.runtime", "cuda.cudart", "pycuda", "pycuda.driver")


@pytest.fixture
def no_cuda(monkeypatch):
    for name in _BLOCK:
        monkeypatch.setitem(sys.modules, name, None)
    return monkeypatch


def _cuda_runtime(count=1, name=b"Orin\x00\x00junk", major=8, minor=7, err=0):
    rt = types.ModuleType("cuda.bindings.runtime")
    rt.cudaError_t = enum.IntEnum("cudaError_t", {"cudaSuccess": 0, "cudaErrorNoDevice": 100,
                                                  "cudaErrorInsufficientDriver": 35})
    rt.cudaGetDeviceCount = lambda: (rt.cudaError_t(err), count)
    rt.cudaGetDeviceProperties = lambda dev: (rt.cudaError_t(0),
                                              types.SimpleNamespace(name=name, major=major, minor=minor))
    return rt


def test_cuda_python(no_cuda):
    no_cuda.setitem(sys.modules, "cuda.bindings.runtime", _cuda_runtime())
    assert gpu_info() == GpuInfo("Orin", "8.7")


def test_old_cuda_python_module_name(no_cuda):
    no_cuda.setitem(sys.modules, "cuda.cudart", _cuda_runtime(name=b"NVIDIA GeForce RTX 4090", major=8, minor=9))
    assert gpu_info() == GpuInfo("NVIDIA GeForce RTX 4090", "8.9")


@pytest.mark.parametrize("kw", [{"count": 0}, {"err": 100}, {"err": 35}])
def test_cuda_python_without_a_gpu(no_cuda, kw):
    no_cuda.setitem(sys.modules, "cuda.bindings.runtime", _cuda_runtime(**kw))
    with pytest.raises(GpuUnavailableError, match="no CUDA GPU") as e:
        gpu_info()
    assert "ONNX Runtime" in str(e.value)


def test_pycuda(no_cuda):
    drv = types.ModuleType("pycuda.driver")

    class Device:
        @staticmethod
        def count():
            return 1

        def __init__(self, i):
            pass

        def name(self):
            return "Xavier"

        def compute_capability(self):
            return (7, 2)
    drv.init, drv.Device = (lambda: None), Device
    no_cuda.setitem(sys.modules, "pycuda.driver", drv)
    assert gpu_info() == GpuInfo("Xavier", "7.2")

    def broken():
        raise RuntimeError("cuInit failed: no CUDA-capable device is detected")
    drv.init = broken
    with pytest.raises(GpuUnavailableError, match="no CUDA-capable device"):
        gpu_info()


def test_neither_package(no_cuda):
    with pytest.raises(MissingDependencyError, match="cuda-python or pycuda") as e:
        gpu_info()
    assert "pip install cuda-python" in str(e.value)
