"""Fixtures for the TensorRT tests: the fake TensorRT with an in-memory CUDA, engine files, small
exported ONNX files and a fake GPU."""

import sys

import pytest

from . import engine_files
from .build_helpers import export_tiny, make_checkpoint, qdq_model, save
from .fake_cuda import MEMORY, ORIN
from .fake_tensorrt import DEFAULT_VERSION, fake_plan, make_fake_trt


class FakeTensorRT:
    """What ``fake_trt`` gives a test: ``module`` is the fake ``tensorrt`` in sys.modules
    (DEFAULT_VERSION to start); ``fake_trt("11.4.0", num_dla=2)`` installs another and returns it;
    ``calls(name)`` lists what the installed one recorded under ``name``, in order."""

    def __init__(self, monkeypatch):
        self._monkeypatch = monkeypatch
        self()

    def __call__(self, version=DEFAULT_VERSION, **options):
        self.module = make_fake_trt(version, **options)
        self._monkeypatch.setitem(sys.modules, "tensorrt", self.module)
        return self.module

    def calls(self, name):
        return [c for c in self.module.calls if c[0] == name]


@pytest.fixture
def fake_trt(monkeypatch):
    """``tensorrt`` replaced by the fake (fake_tensorrt.py), gpu_info() answering the fake Orin of
    FakeCuda (fake_cuda.py): a FakeTensorRT."""
    import edgeseg.backends.tensorrt.cuda.device as gpu
    MEMORY.clear()
    monkeypatch.setattr(gpu, "gpu_info", lambda device=0: ORIN)
    return FakeTensorRT(monkeypatch)


@pytest.fixture
def engine_path(tmp_path):
    """A write_engine(name, plan, **header_changes) helper writing into tmp_path."""
    def write(name="model.engine", plan=None, **changes):
        return engine_files.write_engine(tmp_path / name, plan or fake_plan(), **changes)
    return write


def cuda_gpu_present() -> bool:
    """True where cuda-python finds a GPU (then the no-GPU tests do not apply)."""
    try:
        from cuda.bindings import runtime as cudart
        err, count = cudart.cudaGetDeviceCount()
        return int(err) == 0 and count > 0
    except Exception:  # noqa: BLE001 - whatever stops the probe, there is no GPU to use
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
