"""Fixtures for the backend tests: a fake TensorRT + in-memory CUDA, and engine files."""

import sys

import pytest

from . import engine_files
from . import trt_fakes


@pytest.fixture
def fake_trt(monkeypatch):
    """``tensorrt`` replaced by trt_fakes: returns the fakes module; its CALLS list records what
    the backend did, in order."""
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


@pytest.fixture(scope="session")
def tiny_onnx_no_meta(tmp_path_factory):
    """A valid one-node ONNX (Identity, 1x3x8x8) that carries no edgeseg meta."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, 8, 8])
    graph = helper.make_graph([helper.make_node("Identity", ["input"], ["out"])], "g", [x], [y])
    path = tmp_path_factory.mktemp("nometa") / "nometa.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return str(path)


def cuda_gpu_present() -> bool:
    """True where cuda-python finds a GPU (then the no-GPU tests do not apply)."""
    try:
        from cuda.bindings import runtime as cudart
        err, count = cudart.cudaGetDeviceCount()
        return int(err) == 0 and count > 0
    except Exception:
        return False
