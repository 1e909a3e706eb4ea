"""TensorRT and CUDA on a real GPU: skipped with the reason where TensorRT or a GPU is absent.

A small conv model is written with onnx.helper (no torch), built through the engine cache, and
compared with ONNX Runtime on the same inputs.
"""

import numpy as np
import pytest

from edgeseg.backends import load_backend
from edgeseg.backends.tensorrt.cuda import CudaError, load_cuda
from edgeseg.errors import MissingDependencyError
from edgeseg.meta import ModelMeta

META = ModelMeta(model="conv1x1", classes=("a", "b", "c", "d"), input_size=(32, 48))


def _cuda_or_skip():
    try:
        return load_cuda()
    except (CudaError, MissingDependencyError) as exc:
        pytest.skip(f"no usable CUDA: {str(exc).splitlines()[0]}")


def _tensorrt_or_skip():
    pytest.importorskip("tensorrt", reason="TensorRT is not installed (JetPack, or NVIDIA's tensorrt wheels)")
    _cuda_or_skip().close()


@pytest.fixture(scope="module")
def conv_onnx(tmp_path_factory):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    from edgeseg.backends.onnx_meta import set_onnx_meta
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.normal(size=(4, 3, 3, 3)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.normal(size=(4,)).astype(np.float32), "b")
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 32, 48])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 4, 32, 48])
    node = helper.make_node("Conv", ["input", "w", "b"], ["logits"], pads=[1, 1, 1, 1])
    model = helper.make_model(helper.make_graph([node], "conv", [x], [y], [w, b]),
                              opset_imports=[helper.make_opsetid("", 17)])
    set_onnx_meta(model, META)
    path = tmp_path_factory.mktemp("gpu") / "conv.onnx"
    onnx.save(model, str(path))
    return str(path)


@pytest.mark.gpu
def test_cuda_round_trip_on_every_installed_implementation():
    from edgeseg.backends.tensorrt.cuda import installed_implementations
    _cuda_or_skip().close()
    for impl in installed_implementations():
        cuda = load_cuda(impl)
        with cuda.activate():
            stream = cuda.stream()
            src, dst = cuda.host_buffer((2, 3, 5), np.float32), cuda.host_buffer((2, 3, 5), np.float32)
            src.array[:] = np.arange(30, dtype=np.float32).reshape(2, 3, 5)
            dev = cuda.device_buffer(src.nbytes)
            start, end = cuda.event(), cuda.event()
            start.record(stream)
            cuda.htod_async(dev, src, stream)
            cuda.dtoh_async(dst, dev, stream)
            end.record(stream)
            stream.synchronize()
            end.synchronize()
            np.testing.assert_array_equal(dst.array, src.array)
            assert end.elapsed_ms(start) >= 0 and stream.handle != 0
            for buf in (src, dst, dev):
                buf.free()
            stream.close()
        cuda.close()


@pytest.mark.gpu
@pytest.mark.tensorrt
@pytest.mark.parametrize("precision,min_agree", [("fp32", 0.999), ("fp16", 0.98)])
def test_engine_matches_onnx_runtime(conv_onnx, tmp_path, monkeypatch, precision, min_agree):
    _tensorrt_or_skip()
    monkeypatch.setenv("EDGESEG_CACHE", str(tmp_path))
    x = np.random.default_rng(1).normal(size=(1, 3, 32, 48)).astype(np.float32)
    with load_backend(conv_onnx, device="cpu") as ort, \
            load_backend(conv_onnx, backend="tensorrt", precision=precision, log=None) as trt_b:
        ref, out = ort(x), trt_b(x)
        assert out.shape == ref.shape and out.dtype == np.float32
        assert (out.argmax(1) == ref.argmax(1)).mean() >= min_agree
        if precision == "fp32":
            assert np.abs(out - ref).max() < 1e-3
        # two frames in flight on two streams give the same answers as one at a time
        x2 = x[..., ::-1].copy()
        t1, t2 = trt_b.submit(x), trt_b.submit(x2)
        np.testing.assert_allclose(trt_b.collect(t2), trt_b(x2), rtol=0, atol=1e-5)
        np.testing.assert_allclose(trt_b.collect(t1), out, rtol=0, atol=1e-5)


@pytest.mark.gpu
@pytest.mark.tensorrt
def test_engine_is_built_once_and_reused(conv_onnx, tmp_path, monkeypatch):
    _tensorrt_or_skip()
    monkeypatch.setenv("EDGESEG_CACHE", str(tmp_path))
    lines = []
    load_backend(conv_onnx, backend="tensorrt", log=lines.append).close()
    load_backend(conv_onnx, backend="tensorrt", log=lines.append).close()
    assert sum("building" in line for line in lines) == 1, lines
