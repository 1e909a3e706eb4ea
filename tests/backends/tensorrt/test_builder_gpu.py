"""A real engine from a real TensorRT on a real GPU: skipped (with the reason) where either is absent."""

import pytest

pytestmark = [pytest.mark.gpu, pytest.mark.tensorrt]


@pytest.fixture
def real_trt():
    trt = pytest.importorskip("tensorrt", reason="TensorRT is not installed (JetPack on a Jetson, "
                                                 "pip install tensorrt on a GPU desktop)")
    from edgeseg.backends.tensorrt.cuda.device import gpu_info
    from edgeseg.errors import EdgesegError
    try:
        gpu = gpu_info()
    except EdgesegError as exc:
        pytest.skip(f"no usable CUDA GPU: {str(exc).splitlines()[0]}")
    return trt, gpu


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_build_and_deserialize(real_trt, tiny_dynamic, tmp_path, precision):
    trt, gpu = real_trt
    from edgeseg.backends.tensorrt import build_engine, check_compatible, read_engine
    r = build_engine(tiny_dynamic, tmp_path / f"{precision}.engine", precision=precision,
                     shapes="1x3x32x32:1x3x64x64:2x3x64x64", timing_cache=str(tmp_path / "t.cache"),
                     workspace="256M", progress=None, log=None)
    header, plan = read_engine(r.path)
    check_compatible(header, trt.__version__, gpu.name, gpu.compute_capability)
    runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
    engine = runtime.deserialize_cuda_engine(plan)
    assert engine is not None and engine.num_io_tensors == 2
    assert (tmp_path / "t.cache").stat().st_size > 0


def test_cached_engine_builds_once(real_trt, tiny_static, tmp_path, monkeypatch):
    monkeypatch.setenv("EDGESEG_CACHE", str(tmp_path))
    from edgeseg.backends.tensorrt import cached_engine
    a = cached_engine(tiny_static, precision="fp16", log=None)
    mtime = (tmp_path / "engines" / a.split("/")[-1]).stat().st_mtime_ns
    assert cached_engine(tiny_static, precision="fp16", log=None) == a
    assert (tmp_path / "engines" / a.split("/")[-1]).stat().st_mtime_ns == mtime
