"""DLA builds that would silently run on the GPU: dynamic profiles are refused, INT8 gets FP16
beside it on TensorRT 10, and every DLA build says how many layers run on DLA and on the GPU
(the network's ``config.can_run_on_DLA`` before the build, the engine inspector after it).

The fake TensorRT's DLA takes a layer when its op is one DLA runs, its precision is fp16 or int8
and the shapes are static (fake_tensorrt.py, ``can_run_on_DLA``), as TensorRT's DLA restrictions say.
"""

import sys

import pytest

from edgeseg.backends.tensorrt import builder as B
from edgeseg.errors import ConfigError

TINY_LAYERS = 4      # Conv, Relu, Conv, Resize: the fake DLA runs all but Resize


def _build(path, tmp_path, **kw):
    lines = []
    r = B.build_engine(path, tmp_path / "dla.engine", progress=None, log=lines.append, **kw)
    return r, "\n".join(lines)


def test_dynamic_profile_is_refused_before_tensorrt(fake_trt, tiny_dynamic, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)   # refused before TensorRT is even needed
    with pytest.raises(ConfigError, match="DLA needs a static shape") as e:
        B.build_engine(tiny_dynamic, tmp_path / "d.engine", precision="fp16", dla_core=0,
                       shapes="1x3x32x32:1x3x64x64:1x3x64x64", progress=None, log=None)
    msg = str(e.value)
    assert "input 'input'" in msg and "dimension 2 (height)" in msg and "--shape 1x3x64x64 --dla 0" in msg
    assert e.value.path == tiny_dynamic
    assert not (tmp_path / "d.engine").exists()


def test_a_static_shape_of_a_dynamic_model_runs_on_dla(fake_trt, tiny_dynamic, tmp_path):
    fake_trt("10.3.0", num_dla=1)
    r, _ = _build(tiny_dynamic, tmp_path, precision="fp16", dla_core=0, shapes="1x3x64x64")
    assert r.dla.network_on_dla > 0 and r.dla.engine_on_dla == r.dla.network_on_dla


def test_dla_build_reports_layers_on_dla_and_gpu(fake_trt, tiny_static, tmp_path):
    trt = fake_trt("10.3.0", num_dla=2)
    r, text = _build(tiny_static, tmp_path, precision="fp16", dla_core=1)
    d = r.dla
    assert (d.core, d.network_layers, d.network_on_dla) == (1, TINY_LAYERS, TINY_LAYERS - 1)
    assert d.gpu_layers == ("/network/Resize (RESIZE)",)
    assert (d.engine_layers, d.engine_on_dla) == (TINY_LAYERS, TINY_LAYERS - 1)
    assert "DLA core 1: 3 of 4 network layers can run on DLA; 1 falls back to the GPU: /network/Resize" in text
    assert "DLA core 1: the engine runs 3 of 4 layers on DLA, 1 on the GPU (engine inspector)" in text
    # the inspector only says which device when the engine was built with detailed layer info
    assert trt.state["last"]["config"].profiling_verbosity == trt.ProfilingVerbosity.DETAILED


def test_gpu_builds_are_not_inspected(fake_trt, tiny_static, tmp_path):
    r, text = _build(tiny_static, tmp_path, precision="fp16")
    assert r.dla is None and "DLA" not in text
    assert fake_trt.module.state["last"]["config"].profiling_verbosity == fake_trt.module.ProfilingVerbosity.LAYER_NAMES_ONLY
    assert not fake_trt.calls("deserialize_cuda_engine")


def test_int8_on_dla_sets_fp16_on_tensorrt_10(fake_trt, qdq_onnx, tmp_path):
    """INT8 alone leaves the Relu between the Q/DQ pairs in fp32, which DLA cannot run."""
    fake_trt("10.3.0", num_dla=1)
    r, text = _build(qdq_onnx, tmp_path, precision="int8", dla_core=0)
    assert set(r.plan.builder_flags) == {"FP16", "INT8", "GPU_FALLBACK"}
    assert r.dla.network_on_dla == r.dla.network_layers == r.dla.engine_on_dla == 7
    assert r.header.meta.precision == "mixed" and "FP16 beside INT8" in text


def test_int8_on_dla_on_tensorrt_11_says_what_falls_back(fake_trt, qdq_onnx, tmp_path):
    fake_trt("11.4.1", num_dla=1)
    r, text = _build(qdq_onnx, tmp_path, precision="int8", dla_core=0)
    assert r.dla.gpu_layers == ("relu (RELU)",) and r.dla.engine_on_dla == 6
    assert "float32 layers outside the Q/DQ pairs cannot run on DLA" in text


def test_fp16_on_dla_on_tensorrt_11_converts_first(fake_trt, tiny_static, tmp_path):
    fake_trt("11.4.1", num_dla=1)
    r, _ = _build(tiny_static, tmp_path, precision="fp16", dla_core=0, fp16_converter="edgeseg")
    d = r.dla   # the float16 graph: Cast in, Conv, Relu, Conv on DLA; Resize and the Casts on the GPU
    assert d.network_on_dla == 3 and d.engine_on_dla == 3 and d.network_layers > 4


def test_nothing_on_dla_is_a_warning(fake_trt, tmp_path):
    from onnx import TensorProto as T
    from onnx import helper as h

    from .build_helpers import _meta_model, save
    g = h.make_graph([h.make_node("Resize", ["x", "", "s"], ["y"], name="up", mode="nearest")], "g",
                     [h.make_tensor_value_info("x", T.FLOAT, [1, 4, 16, 16])],
                     [h.make_tensor_value_info("y", T.FLOAT, [1, 4, 32, 32])],
                     [h.make_tensor("s", T.FLOAT, [4], [1, 1, 2, 2])])
    path = save(_meta_model(g), tmp_path / "resize.onnx")
    fake_trt("10.3.0", num_dla=1)
    r, text = _build(path, tmp_path, precision="fp16", dla_core=0)
    assert r.dla.network_on_dla == 0 and r.dla.engine_on_dla == 0
    assert "warning: no layer can run on DLA core 0: the whole engine runs on the GPU" in text


def test_inspector_without_device_information(fake_trt, tiny_static, tmp_path, monkeypatch):
    """Names only (an engine built without detailed layer info): the engine count is not guessed."""
    trt = fake_trt("10.3.0", num_dla=1)
    monkeypatch.setattr(trt.EngineInspector, "_rows", lambda self: ["a", "b"])
    r, text = _build(tiny_static, tmp_path, precision="fp16", dla_core=0)
    assert r.dla.engine_layers == 2 and r.dla.engine_on_dla is None
    assert "the engine inspector does not say which device runs each layer" in text
