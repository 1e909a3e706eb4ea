"""Fixtures for the TensorRT tests: fake TensorRTs with an in-memory CUDA, engine files, small
exported ONNX files and a fake GPU."""

import sys

import pytest

from . import engine_files, trt_fakes
from .build_helpers import ORIN, export_tiny, make_checkpoint, qdq_model, save
from .fake_tensorrt import make_fake_trt


@pytest.fixture
def fake_trt(monkeypatch):
    """``tensorrt`` replaced by trt_fakes (the runtime side): returns the fakes module; its CALLS
    list records what the backend did, in order."""
    trt_fakes.CALLS.clear()
    trt_fakes.MEMORY.clear()
    monkeypatch.setitem(sys.modules, "tensorrt", trt_fakes.fake_tensorrt())
    return trt_fakes


@pytest.fixture
def engine_path(tmp_path):
    """A write_engine(name, plan, **header_changes) helper writing into tmp_path."""
    def write(name="model.engine", plan=None, **changes):
        return engine_files.write_engine(tmp_path / name, plan or trt_fakes.fake_plan(), **changes)
    return write


def cuda_gpu_present() -> bool:
    """True where cuda-python finds a GPU (then the no-GPU tests do not apply)."""
    try:
        from cuda.bindings import runtime as cudart
        err, count = cudart.cudaGetDeviceCount()
        return int(err) == 0 and count > 0
    except Exception:
        return False


@pytest.fixture(scope="session")
def tiny_static(tmp_path_factory):
    return export_tiny(tmp_path_factory.mktemp("tiny") / "tiny.onnx")


@pytest.fixture(scope="session")
def tiny_dynamic(tmp_path_factory):
    return export_tiny(tmp_path_factory.mktemp("tinydyn") / "tiny_dyn.onnx", dynamic=True)


@pytest.fixture(scope="session")
def qdq_onnx(tmp_path_factory):
    return save(qdq_model(), tmp_path_factory.mktemp("qdq") / "model.tensorrt.int8.onnx")


@pytest.fixture(scope="session")
def zoo_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("zoo") / "best.pt"
    make_checkpoint(path)
    return path


@pytest.fixture(scope="session")
def zoo_onnx(zoo_checkpoint):
    """A real zoo model (LR-ASPP MobileNetV3-small, 64x64) exported from an edgeseg checkpoint."""
    from edgeseg.export import export_onnx
    out = zoo_checkpoint.parent / "model.onnx"
    return export_onnx(zoo_checkpoint, str(out), parity=False, log=None).path


@pytest.fixture(scope="session")
def zoo_labels_onnx(zoo_checkpoint):
    """The same model taking uint8 BGR frames (NHWC) and returning int32 labels (ArgMax in graph)."""
    from edgeseg.export import export_onnx
    out = zoo_checkpoint.parent / "labels.onnx"
    return export_onnx(zoo_checkpoint, str(out), input_dtype="uint8", output_kind="labels", parity=False,
                       log=None).path


@pytest.fixture
def fake_builder_trt(monkeypatch):
    """Install a fake TensorRT 10.3 and a fake Orin GPU; returns a function to swap the version."""
    import edgeseg.backends.tensorrt.cuda.device as gpu

    def install(version="10.3.0", **kw):
        trt = make_fake_trt(version, **kw)
        monkeypatch.setitem(sys.modules, "tensorrt", trt)
        return trt

    monkeypatch.setattr(gpu, "gpu_info", lambda device=0: ORIN)
    install.default = install()
    return install
