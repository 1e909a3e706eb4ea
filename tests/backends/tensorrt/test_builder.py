"""The builder's steps against the fake TensorRT (10.x and 11.x API surfaces) and a fake GPU."""

import io
import json
import sys

import onnx
import pytest
from onnx import TensorProto as T

from edgeseg.backends.tensorrt import builder as B
from edgeseg.backends.tensorrt.header import read_engine, read_header
from edgeseg.backends.tensorrt.plan import precision_plan
from edgeseg.errors import ConfigError, EdgesegError, MissingDependencyError, ModelError

from .build_helpers import qdq_model, save
from .engine_files import write_legacy_engine
from .fake_cuda import ORIN
from .fake_tensorrt import FAKE_MAGIC, fake_plan


def _plan_summary(path):
    """What the fake builder was asked (flags, network flags, device, DLA core), from the plan."""
    _, plan = read_engine(path)
    assert plan.startswith(FAKE_MAGIC)
    return json.loads(plan[len(FAKE_MAGIC):])["build"]


def test_fp16_on_tensorrt_10(fake_trt, tiny_static, tmp_path):
    lines = []
    r = B.build_engine(tiny_static, tmp_path / "m.engine", precision="fp16", workspace="1G",
                       progress=None, log=lines.append)
    assert fake_trt.calls("create_network") == [("create_network", 0)]
    assert fake_trt.calls("parse_from_file") == [("parse_from_file", tiny_static)]
    assert fake_trt.calls("set_flag") == [("set_flag", "FP16")]
    assert fake_trt.calls("set_memory_pool_limit") == [("set_memory_pool_limit", "WORKSPACE", 1 << 30)]
    assert not fake_trt.calls("set_shape")          # a static network needs no profile
    assert _plan_summary(r.path) == {"flags": ["FP16"], "net_flags": 0, "device": 0, "dla": -1}
    h = read_header(r.path)
    assert (h.tensorrt, h.gpu, h.compute_capability, h.precision) == ("10.3.0", "Orin", "8.7", "fp16")
    assert h.meta.precision == "fp16" and h.meta.classes == ("bg", "fg") and h.onnx == "tiny.onnx"
    assert h.shapes == {"input": {"min": [1, 3, 32, 32], "opt": [1, 3, 32, 32], "max": [1, 3, 32, 32]}}
    assert h.meta.provenance["build"]["tensorrt"] == "10.3.0"
    assert "TensorRT 10.3.0 on Orin" in lines[0] and lines[-1].startswith("wrote ")


def test_fp16_on_tensorrt_11_converts_the_onnx(fake_trt, tiny_static, tmp_path):
    trt = fake_trt("11.4.0")
    assert not hasattr(trt.BuilderFlag, "FP16")       # the 11.x surface, as in the 11.4 bindings
    r = B.build_engine(tiny_static, tmp_path / "m.engine", precision="fp16", progress=None, log=None)
    strongly = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    assert fake_trt.calls("create_network") == [("create_network", strongly)]
    assert not fake_trt.calls("set_flag") and not fake_trt.calls("parse_from_file")
    (_, size, path), = fake_trt.calls("parse")
    assert path == tiny_static and size > 0
    net = trt.state["last"]["network"]
    assert net.input_types == {"input": T.FLOAT} and set(net.output_types.values()) == {T.FLOAT}
    assert T.FLOAT16 in net.initializer_types.values() and net.ops[0] == "Cast"
    assert read_header(r.path).meta.precision == "fp16"


@pytest.mark.parametrize("version,precision,flags", [("10.3.0", "int8", ["INT8"]),
                                                     ("10.3.0", "best", ["FP16", "INT8"]),
                                                     ("11.4.0", "int8", []), ("11.4.0", "best", [])])
def test_qdq_models(fake_trt, qdq_onnx, tmp_path, version, precision, flags):
    fake_trt(version)
    r = B.build_engine(qdq_onnx, tmp_path / "q.engine", precision=precision, progress=None, log=None)
    assert _plan_summary(r.path)["flags"] == flags
    assert fake_trt.calls("parse_from_file")             # the Q/DQ graph goes to TensorRT as it is
    assert r.header.meta.precision == {"int8": "int8", "best": "mixed" if version < "11" else "int8"}[precision]


def test_int8_without_qdq_is_refused_before_tensorrt(fake_trt, tiny_static, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)   # not even needed to say no
    with pytest.raises(ConfigError, match="needs a Q/DQ model") as e:
        B.build_engine(tiny_static, tmp_path / "m.engine", precision="int8", progress=None, log=None)
    assert "edgeseg quantize" in str(e.value)


def test_cpu_target_qdq_is_refused(fake_trt, tmp_path):
    import numpy as np
    path = save(qdq_model(zero_point_dtype=np.uint8), tmp_path / "cpu.int8.onnx")
    with pytest.raises(ConfigError, match="not the kind TensorRT takes") as e:
        B.build_engine(path, tmp_path / "m.engine", precision="int8", progress=None, log=None)
    assert "--target tensorrt" in str(e.value)


def test_dynamic_profile(fake_trt, tiny_dynamic, tmp_path):
    r = B.build_engine(tiny_dynamic, tmp_path / "d.engine", precision="fp16",
                       shapes="1x3x32x32:2x3x64x64:4x3x128x128", progress=None, log=None)
    assert fake_trt.calls("set_shape") == [("set_shape", "input", (1, 3, 32, 32), (2, 3, 64, 64), (4, 3, 128, 128))]
    assert fake_trt.calls("add_optimization_profile")
    assert r.header.shapes["input"]["max"] == [4, 3, 128, 128]
    # no spec: batch 1 at the meta's size, still through a profile (the network is dynamic)
    B.build_engine(tiny_dynamic, tmp_path / "d2.engine", progress=None, log=None)
    assert fake_trt.calls("set_shape")[-1] == ("set_shape", "input", (1, 3, 32, 32), (1, 3, 32, 32), (1, 3, 32, 32))


def test_bad_shapes_are_refused(fake_trt, tiny_static, tiny_dynamic, tmp_path):
    with pytest.raises(ConfigError, match="static in its dimension 2") as e:
        B.build_engine(tiny_static, tmp_path / "m.engine", shapes="1x3x64x64", progress=None, log=None)
    assert e.value.path == tiny_static
    with pytest.raises(ConfigError, match="wrong rank"):
        B.build_engine(tiny_dynamic, tmp_path / "m.engine", shapes="1x3x64:1x3x64:1x3x64", progress=None, log=None)
    with pytest.raises(ConfigError, match="min <= opt <= max"):
        B.build_engine(tiny_dynamic, tmp_path / "m.engine", shapes="1x3x64x64:1x3x32x32:1x3x64x64",
                       progress=None, log=None)
    with pytest.raises(ConfigError, match="workspace"):
        B.build_engine(tiny_static, tmp_path / "m.engine", workspace="lots", progress=None, log=None)
    with pytest.raises(ConfigError, match="overwrite the ONNX"):
        B.build_engine(tiny_static, tiny_static, progress=None, log=None)


def test_dla(fake_trt, tiny_static, tmp_path):
    trt = fake_trt("10.3.0", num_dla=2)
    r = B.build_engine(tiny_static, tmp_path / "dla.engine", precision="fp16", dla_core=1, progress=None, log=None)
    asked = _plan_summary(r.path)
    assert {k: asked[k] for k in ("flags", "net_flags", "device", "dla")} == {
        "flags": ["FP16", "GPU_FALLBACK"], "net_flags": 0, "device": int(trt.DeviceType.DLA), "dla": 1}
    assert r.header.dla_core == 1
    with pytest.raises(ConfigError, match="no such DLA core"):
        B.build_engine(tiny_static, tmp_path / "x.engine", dla_core=2, progress=None, log=None)
    with pytest.raises(ConfigError, match="DLA runs fp16 or int8 only"):
        B.build_engine(tiny_static, tmp_path / "x.engine", precision="fp32", dla_core=0, progress=None, log=None)


def test_dla_on_a_desktop_gpu(fake_trt, tiny_static, tmp_path):
    fake_trt("10.3.0", num_dla=0)
    with pytest.raises(ConfigError, match="no DLA cores") as e:
        B.build_engine(tiny_static, tmp_path / "x.engine", dla_core=0, progress=None, log=None)
    assert "Orin: 0 DLA cores" in str(e.value) and "drop --dla" in str(e.value)
    fake_trt("11.2.0", num_dla=2)
    with pytest.raises(ConfigError, match="cannot build for DLA"):
        B.build_engine(tiny_static, tmp_path / "x.engine", dla_core=0, progress=None, log=None)


def test_timing_cache_is_reused_across_builds(fake_trt, tiny_static, tmp_path):
    cache = tmp_path / "timing.cache"
    lines = []
    B.build_engine(tiny_static, tmp_path / "a.engine", timing_cache=str(cache), progress=None, log=lines.append)
    assert fake_trt.calls("create_timing_cache") == [("create_timing_cache", b"")]
    assert fake_trt.calls("set_timing_cache") == [("set_timing_cache", False)]
    assert cache.read_bytes() == b"+timed" and any("(new)" in ln for ln in lines)
    B.build_engine(tiny_static, tmp_path / "b.engine", timing_cache=str(cache), progress=None, log=lines.append)
    assert fake_trt.calls("create_timing_cache")[-1] == ("create_timing_cache", b"+timed")
    assert cache.read_bytes() == b"+timed+timed" and any("(reused)" in ln for ln in lines)


@pytest.mark.parametrize("content", [b"OTHER-DEVICE", b"DAMAGED"])
def test_timing_cache_from_another_device_is_set_aside(fake_trt, tiny_static, tmp_path, content):
    cache = tmp_path / "timing.cache"
    cache.write_bytes(content)
    lines = []
    B.build_engine(tiny_static, tmp_path / "a.engine", timing_cache=str(cache), progress=None, log=lines.append)
    assert [c[1] for c in fake_trt.calls("create_timing_cache")] == [content, b""]
    assert any("another TensorRT or GPU" in ln for ln in lines) and cache.read_bytes() == b"+timed"


def test_version_compatible_flag(fake_trt, tiny_static, tmp_path):
    lines = []
    r = B.build_engine(tiny_static, tmp_path / "vc.engine", version_compatible=True, progress=None,
                       log=lines.append)
    assert "VERSION_COMPATIBLE" in _plan_summary(r.path)["flags"] and r.header.version_compatible
    assert "engine_host_code_allowed" in lines[-1]


def test_parser_errors_name_the_node(fake_trt, tiny_static, tmp_path):
    fake_trt("10.3.0", unsupported_ops=("Resize",))
    with pytest.raises(ModelError, match="ONNX parser rejected") as e:
        B.build_engine(tiny_static, tmp_path / "x.engine", progress=None, log=None)
    msg = str(e.value)
    assert "op Resize" in msg and "No importer registered for op: Resize" in msg and "node " in msg
    assert not (tmp_path / "x.engine").exists()


def test_build_failure_is_a_clear_error(fake_trt, tiny_static, tmp_path):
    fake_trt("10.3.0", build_fails=True)
    with pytest.raises(ModelError, match="could not build the engine") as e:
        B.build_engine(tiny_static, tmp_path / "x.engine", progress=None, log=None)
    assert "--workspace" in str(e.value)
    assert not (tmp_path / "x.engine").exists()


def test_progress_monitor_is_fed(fake_trt, tiny_static, tmp_path):
    out = io.StringIO()
    B.build_engine(tiny_static, tmp_path / "p.engine", progress=out, log=None)
    text = out.getvalue()
    assert "Building engine" in text and "2/2" in text
    assert fake_trt.module.state["last"]["config"].progress_monitor is not None


def test_missing_inputs_are_clear(fake_trt, tmp_path):
    with pytest.raises(ModelError, match="ONNX file not found"):
        B.build_engine(tmp_path / "none.onnx", progress=None, log=None)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not onnx")
    with pytest.raises(ModelError, match="not a readable ONNX file"):   # edgeseg.backends.onnx_file's words
        B.build_engine(junk, progress=None, log=None)
    plain = onnx.load(save(qdq_model(), tmp_path / "q.onnx"))
    del plain.metadata_props[:]
    with pytest.raises(ModelError, match="carries no edgeseg meta") as e:
        B.build_engine(save(plain, tmp_path / "nometa.onnx"), precision="int8", progress=None, log=None)
    assert "edgeseg export" in str(e.value)


def test_tensorrt_not_installed(tiny_static, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(MissingDependencyError) as e:
        B.build_engine(tiny_static, tmp_path / "x.engine", progress=None, log=None)
    assert "JetPack" in str(e.value) and "pip install tensorrt" in str(e.value)


def test_tensorrt_8_is_explained(fake_trt, tiny_static, tmp_path):
    fake_trt("8.6.1")
    with pytest.raises(ConfigError, match="too old") as e:
        B.build_engine(tiny_static, tmp_path / "x.engine", progress=None, log=None)
    assert "JetPack 6" in str(e.value)


def test_no_gpu(fake_trt, tiny_static, tmp_path, monkeypatch):
    import edgeseg.backends.tensorrt.cuda.device as gpu
    monkeypatch.undo()            # the real gpu_info, with no CUDA package importable
    monkeypatch.setitem(sys.modules, "tensorrt", fake_trt.module)
    for name in ("cuda", "cuda.bindings", "cuda.bindings.runtime", "cuda.cudart", "pycuda", "pycuda.driver"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(EdgesegError, match="cuda-python or pycuda"):
        B.build_engine(tiny_static, tmp_path / "x.engine", progress=None, log=None)
    assert gpu.gpu_info is not None


def test_steps_compose(fake_trt, tiny_dynamic):
    trt = fake_trt("11.4.1", num_dla=1)
    from edgeseg.backends.tensorrt.source import load_source, resolve_profiles
    plan = precision_plan(trt.__version__, "fp16", qdq=False, dla_core=0)
    builder, network, _parser = B.network_from_onnx(tiny_dynamic, B.network_flags(trt, plan), trt=trt)
    dynamic = resolve_profiles(load_source(tiny_dynamic), "1x3x32x32:1x3x64x64:1x3x64x64")
    with pytest.raises(ConfigError, match="DLA needs a static shape"):   # DLA: the composed steps check too
        B.build_config(trt, builder, network, plan, dynamic, workspace=1 << 20)
    profiles = resolve_profiles(load_source(tiny_dynamic), "1x3x64x64")
    handles = B.build_config(trt, builder, network, plan, profiles, workspace=1 << 20)
    cfg = handles.config
    assert cfg.flags == {"GPU_FALLBACK"} and cfg.DLA_core == 0 and cfg.default_device_type == trt.DeviceType.DLA
    assert handles.timing_cache is not None and cfg.pools == {"WORKSPACE": 1 << 20}
    assert B.serialize_network(builder, network, cfg).startswith(FAKE_MAGIC)
    with pytest.raises(ConfigError, match="do not name the network's inputs"):
        B.build_config(trt, builder, network, plan, {"other": profiles["input"]})


def test_wrap_plan(fake_trt, tiny_static, tmp_path):
    raw_plan, yolo_plan = fake_plan(), fake_plan(classes=5)
    raw = tmp_path / "trtexec.plan"
    raw.write_bytes(raw_plan)
    h = B.wrap_plan(raw, tiny_static, tmp_path / "w.engine", precision="fp16", log=None)
    hh, plan = read_engine(tmp_path / "w.engine")
    assert hh == h and plan == raw_plan and h.meta.classes == ("bg", "fg") and h.gpu == ORIN.name
    ultra = tmp_path / "yolo.engine"
    ultra.write_bytes((7).to_bytes(4, "little") + b'{"a":1}' + yolo_plan)
    B.wrap_plan(ultra, tiny_static, tmp_path / "u.engine", precision="fp16", log=None)
    assert read_engine(tmp_path / "u.engine")[1] == yolo_plan
    other = tmp_path / "other.plan"  # TensorRT's magic, but not a plan this TensorRT loads
    other.write_bytes(b"ftrt raw plan")
    with pytest.raises(ModelError, match="this TensorRT cannot load the plan"):
        B.wrap_plan(other, tiny_static, tmp_path / "o.engine", precision="fp16", log=None)
    assert not (tmp_path / "o.engine").exists()
    assert (tmp_path / "w.engine.meta.json").is_file() and (tmp_path / "w.engine").read_bytes() == raw_plan
    with pytest.raises(ConfigError, match="already has edgeseg's sidecar"):
        B.wrap_plan(tmp_path / "w.engine", tiny_static, tmp_path / "z.engine", precision="fp16", log=None)
    legacy = write_legacy_engine(tmp_path / "legacy.engine", raw_plan)
    with pytest.raises(ConfigError, match="already has edgeseg's header"):
        B.wrap_plan(legacy, tiny_static, tmp_path / "z.engine", precision="fp16", log=None)
    bad = tmp_path / "bad.plan"
    bad.write_bytes(b"GIF89a....")
    with pytest.raises(ModelError, match="not a TensorRT plan"):
        B.wrap_plan(bad, tiny_static, tmp_path / "z.engine", precision="fp16", log=None)


def test_ctrl_c_cancels_the_build(fake_trt, tiny_static, tmp_path):
    class Interrupting(io.StringIO):
        def write(self, text):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        B.build_engine(tiny_static, tmp_path / "x.engine", progress=Interrupting(), log=None)
    assert not (tmp_path / "x.engine").exists()
