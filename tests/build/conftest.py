"""Fixtures for the build tests: small exported ONNX files, a fake TensorRT, a fake GPU."""

import sys

import pytest

from .build_helpers import ORIN, export_tiny, make_checkpoint, qdq_model, save
from .fake_tensorrt import make_fake_trt


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
def fake_trt(monkeypatch):
    """Install a fake TensorRT 10.3 and a fake Orin GPU; returns a function to swap the version."""
    import edgeseg.build.gpu as gpu

    def install(version="10.3.0", **kw):
        trt = make_fake_trt(version, **kw)
        monkeypatch.setitem(sys.modules, "tensorrt", trt)
        return trt

    monkeypatch.setattr(gpu, "gpu_info", lambda device=0: ORIN)
    install.default = install()
    return install
