"""The CUDA layer: the implementation table, the real cuda-python no-GPU path (in a subprocess,
so even a crash would only fail this test), and both implementations' calls against stand-ins."""

import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest

from edgeseg.backends.tensorrt import cuda as cuda_pkg
from edgeseg.backends.tensorrt.cuda import IMPLEMENTATIONS, CudaError, load_cuda
from edgeseg.backends.tensorrt.cuda.cuda_python import cuda_call
from edgeseg.errors import ConfigError, MissingDependencyError

from ..conftest import cuda_gpu_present


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=120, check=False)


def test_pycuda_comes_first_in_the_table(monkeypatch):
    assert list(IMPLEMENTATIONS) == ["pycuda", "cuda-python"]
    monkeypatch.setattr(cuda_pkg, "_installed", lambda module: True)  # both installed
    monkeypatch.setitem(IMPLEMENTATIONS, "pycuda", ("pycuda", "tests.backends.tensorrt.fake_cuda:FakeCuda"))
    monkeypatch.setitem(IMPLEMENTATIONS, "cuda-python", ("cuda.bindings", "tests.backends.tensorrt.fake_cuda:OtherFakeCuda"))
    assert load_cuda().name == "fake"
    assert load_cuda("cuda-python").name == "other-fake"
    monkeypatch.setenv("EDGESEG_CUDA", "cuda-python")
    assert load_cuda().name == "other-fake"


def test_unknown_and_missing_implementations(monkeypatch):
    with pytest.raises(ConfigError, match="unknown CUDA implementation"):
        load_cuda("cupy")
    monkeypatch.setattr(cuda_pkg, "_installed", lambda module: False)
    with pytest.raises(MissingDependencyError) as err:
        load_cuda()
    assert "pip install pycuda" in str(err.value) and "pip install cuda-python" in str(err.value)
    with pytest.raises(MissingDependencyError, match="pycuda is not installed"):
        load_cuda("pycuda")


def test_neither_installed_for_real():
    proc = _run("""
        import sys
        sys.modules["pycuda"] = None
        sys.modules["cuda"] = None
        from edgeseg.backends.tensorrt.cuda import load_cuda
        try:
            load_cuda()
        except ImportError as e:
            print(type(e).__name__, "|", e)
    """)
    assert proc.returncode == 0, proc.stderr
    assert "MissingDependencyError" in proc.stdout and "cuda-python" in proc.stdout and "pycuda" in proc.stdout


def test_cuda_python_without_gpu_is_a_clear_error_not_a_crash():
    pytest.importorskip("cuda.bindings", reason="cuda-python is not installed")
    if cuda_gpu_present():
        pytest.skip("a GPU is present: the no-GPU path does not apply")
    proc = _run("""
        from edgeseg.backends.tensorrt.cuda import load_cuda, CudaError
        try:
            load_cuda("cuda-python")
        except CudaError as e:
            print(e)
    """)
    assert proc.returncode == 0, proc.stderr  # a segfault would be -11
    first = proc.stdout.splitlines()[0]
    assert "no NVIDIA driver / GPU was found" in first
    assert "cudaErrorInsufficientDriver" in first or "cudaErrorNoDevice" in first
    assert "--backend onnxruntime" in proc.stdout


def test_cuda_call_unpacks_and_names_errors():
    class Err(int):
        def __new__(cls, value, name):
            obj = int.__new__(cls, value)
            obj.name = name
            return obj

    rt = types.SimpleNamespace(cudaGetErrorString=lambda e: (Err(0, "cudaSuccess"), b"out of memory"))
    assert cuda_call(rt, (Err(0, "cudaSuccess"), 42), "x") == 42
    assert cuda_call(rt, (Err(0, "cudaSuccess"),), "x") is None
    with pytest.raises(CudaError, match=r"cudaMalloc failed: cudaErrorMemoryAllocation \(2\): out of memory"):
        cuda_call(rt, (Err(2, "cudaErrorMemoryAllocation"), None), "cudaMalloc")
    with pytest.raises(CudaError, match="no NVIDIA driver / GPU was found"):
        cuda_call(rt, (Err(100, "cudaErrorNoDevice"), None), "cudaGetDeviceCount")


class _FakeDriver(types.ModuleType):
    """Just enough of pycuda.driver to check that every call happens with the context pushed."""

    class Error(Exception):
        pass

    def __init__(self, devices=1):
        super().__init__("pycuda.driver")
        drv, self.pushed, self.log = self, [0], []

        def needs_context(name):
            if not drv.pushed[0]:
                raise AssertionError(f"{name} called without a current context")
            drv.log.append(name)

        class Device:
            @staticmethod
            def count():
                return devices

            def __init__(self, i):
                self.i = i

            def name(self):
                return "Orin"

            def compute_capability(self):
                return (8, 7)

            def retain_primary_context(self):
                return Ctx()

        class Ctx:
            def push(self):
                drv.pushed[0] += 1

            @staticmethod
            def pop():
                drv.pushed[0] -= 1

            def detach(self):
                drv.log.append("detach")

        class Stream:
            handle = 1234

            def synchronize(self):
                needs_context("sync")

        class Alloc:
            def __init__(self, n):
                needs_context("mem_alloc")

            def __int__(self):
                return 0xBEEF

            def free(self):
                needs_context("free")

        self.Device, self.Context, self.Stream = Device, Ctx, Stream
        self.init = lambda: None
        self.mem_alloc = Alloc
        self.pagelocked_empty = lambda shape, dtype: (needs_context("pagelocked"), np.zeros(shape, dtype))[1]
        self.memcpy_htod_async = lambda dst, src, stream: needs_context(f"htod {dst:#x} {src.nbytes}")
        self.memcpy_dtoh_async = lambda dst, src, stream: needs_context(f"dtoh {src:#x} {dst.nbytes}")
        self.pushed[0] = 0


def test_pycuda_implementation_pushes_the_primary_context(monkeypatch):
    drv = _FakeDriver()
    monkeypatch.setitem(sys.modules, "pycuda", types.ModuleType("pycuda"))
    monkeypatch.setitem(sys.modules, "pycuda.driver", drv)
    sys.modules["pycuda"].driver = drv
    from edgeseg.backends.tensorrt.cuda.pycuda_impl import PyCudaApi
    api = PyCudaApi(0)
    assert api.device_info() == ("Orin", (8, 7))
    with api.activate():
        stream, host = api.stream(), api.host_buffer((1, 3, 4, 4), np.float32)
        dev = api.device_buffer(host.nbytes)
        api.htod_async(dev, host, stream)
        api.dtoh_async(host, dev, stream)
        stream.synchronize()
        assert stream.handle == 1234 and dev.ptr == 0xBEEF
        with pytest.raises(CudaError, match="larger than its destination"):
            api.htod_async(api.device_buffer(8), host, stream)
        dev.free()
    assert drv.pushed[0] == 0  # popped again
    assert drv.log[:3] == ["pagelocked", "mem_alloc", f"htod {0xBEEF:#x} 192"]
    api.close()
    assert drv.log[-1] == "detach"
    with pytest.raises(CudaError, match="no such CUDA device"):
        PyCudaApi(3)
