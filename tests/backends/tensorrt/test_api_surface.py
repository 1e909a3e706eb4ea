"""Every TensorRT name edgeseg touches exists in the TensorRT versions its code path supports.

The fixtures are the API surfaces of TensorRT 10.16 and 11.4 dumped from NVIDIA's bindings wheels
(tests/fixtures/tensorrt_api/README.md says how); trt_surface.py explains what is checked and the
``# trt: 10`` / ``# trt: 11`` / ``# trt: optional`` tags for version-specific lines.
"""

import glob
import os

import pytest

from . import trt_fakes
from .trt_surface import load_surfaces, problems, scan_source, unknown_owners

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir))
SOURCES = sorted(os.path.relpath(p, ROOT) for p in glob.glob(
    os.path.join(ROOT, "edgeseg", "backends", "tensorrt", "**", "*.py"), recursive=True))
SURFACES = load_surfaces()
CLASSES = set().union(*(set(api["classes"]) for api in SURFACES.values()))


def _refs(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return scan_source(f.read(), path, CLASSES)


def test_fixtures_cover_both_majors():
    assert {v.split(".")[0] for v in SURFACES} == {"10", "11"}
    for version, api in SURFACES.items():
        assert api["tensorrt"].startswith(version + ".")
        assert {"Runtime", "ICudaEngine", "IExecutionContext", "Builder", "IBuilderConfig"} <= set(api["classes"])


@pytest.mark.parametrize("path", SOURCES)
def test_tensorrt_names_exist_in_supported_versions(path):
    refs = _refs(path)
    found = problems(refs, SURFACES)
    assert not found, "TensorRT API mismatches:\n  " + "\n  ".join(found)
    assert not unknown_owners(refs, SURFACES), \
        "add these to dump_api.py and regenerate the fixtures: " + ", ".join(sorted(unknown_owners(refs, SURFACES)))


def test_the_backend_is_really_scanned():
    """Guards the checker itself: the backend's key calls must be among the references it typed."""
    seen = {f"{r.owner}.{r.attr}" for r in _refs("edgeseg/backends/tensorrt/runner.py")}
    assert {"module.Runtime", "Runtime.deserialize_cuda_engine", "Runtime.engine_host_code_allowed",
            "ICudaEngine.num_io_tensors", "ICudaEngine.get_tensor_name", "ICudaEngine.get_tensor_mode",
            "TensorIOMode.INPUT", "module.nptype", "ICudaEngine.create_execution_context",
            "IExecutionContext.set_input_shape", "IExecutionContext.set_tensor_address",
            "IExecutionContext.execute_async_v3", "module.__version__"} <= seen


def test_checker_catches_missing_misused_and_respects_tags():
    src = '''
import tensorrt as trt

def build(logger, onnx_bytes):
    builder = trt.Builder(logger)
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.FP16)
    config.set_flag(trt.BuilderFlag.INT8)  # trt: 10
    network = builder.create_network(0)
    network.num_inputs()
    if hasattr(trt, "Nope"):  # trt: optional
        trt.Nope.x
    flags = {10: trt.BuilderFlag.FP16, 11: trt.BuilderFlag.TF32}
    engine = trt.Runtime(logger).deserialize_cuda_engine(b"")
    engine.no_such_method()

def tune(config: "trt.IBuilderConfig"):
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 1 << 30)
    config.set_timing_cache_missing()
'''
    found = problems(scan_source(src, "snippet.py", CLASSES), SURFACES)
    text = "\n".join(found)
    assert len(found) == 4, text
    assert ("snippet.py:7 trt.BuilderFlag.FP16: BuilderFlag.FP16 is missing in TensorRT 11.4.0.106; "
            "if this is a 10-only path, tag the line '# trt: 10'") in text
    assert ":8 " not in text  # INT8 is tagged 10-only
    assert "network.num_inputs: INetworkDefinition.num_inputs is a property in TensorRT 10.16.1.11, 11.4.0.106" in text
    assert "Nope" not in text and ":13 " not in text  # guarded, and the per-major table
    assert "engine.no_such_method: ICudaEngine.no_such_method is missing in TensorRT 10.16.1.11, 11.4.0.106" in text
    assert "config.set_timing_cache_missing" in text and "set_memory_pool_limit" not in text


def test_checker_follows_returns_calls_and_dataclass_fields():
    src = '''
import tensorrt as trt
from dataclasses import dataclass

@dataclass
class Handles:
    config: object

def make(logger):
    builder = trt.Builder(logger)
    return builder, builder.create_builder_config()

def use(logger):
    builder, config = make(logger)
    tune(config)
    return Handles(config)

def tune(cfg):
    cfg.set_flag_wrongly()

def later(handles):
    handles.config.also_wrong

def other(config):  # an unrelated "config": called with something else below, so left unchecked
    config.whatever

other({})
'''
    found = "\n".join(problems(scan_source(src, "s.py", CLASSES), SURFACES))
    assert "cfg.set_flag_wrongly: IBuilderConfig.set_flag_wrongly is missing" in found
    assert "handles.config.also_wrong: IBuilderConfig.also_wrong is missing" in found
    assert "whatever" not in found


def test_fakes_only_use_real_names():
    """The fake TensorRT of the backend tests must not invent API the real one lacks."""
    mod = trt_fakes.fake_tensorrt()
    runtime = mod.Runtime(mod.ILogger())
    engine = runtime.deserialize_cuda_engine(trt_fakes.fake_plan())
    instances = {"Runtime": runtime, "ICudaEngine": engine, "IExecutionContext": engine.create_execution_context(),
                 "ILogger": mod.ILogger()}
    for version, api in SURFACES.items():
        for name in (n for n in vars(mod) if not n.startswith("_")):
            assert name in api["module"], (version, name)
        for cls, obj in instances.items():
            names = {n for n in [*vars(type(obj)), *vars(obj)] if not n.startswith("_")} - {"spec"}
            missing = names - set(api["classes"][cls])
            assert not missing, (version, cls, missing)
        assert set(mod.TensorIOMode.__members__) <= set(api["enums"]["TensorIOMode"])
        assert set(mod.DataType.__members__) <= set(api["enums"]["DataType"])


def test_build_precision_plans_name_real_flags():
    """edgeseg.backends.tensorrt picks flags by name from its precision plan (``getattr(trt.BuilderFlag, name)``),
    which no static scan can see: run the plan for every fixture version and check the names."""
    plan_mod = pytest.importorskip("edgeseg.backends.tensorrt.plan", reason="edgeseg.backends.tensorrt is not there yet")
    from edgeseg.errors import ConfigError
    checked = 0
    for version, api in SURFACES.items():
        for precision in plan_mod.PRECISIONS:
            for qdq in (False, True):
                for dla in (None, 0):
                    try:
                        plan = plan_mod.precision_plan(api["tensorrt"], precision, qdq=qdq, dla_core=dla)
                    except ConfigError:
                        continue  # a refused combination never reaches TensorRT
                    where = f"TensorRT {api['tensorrt']} {precision} qdq={qdq} dla={dla}"
                    assert set(plan.builder_flags) <= set(api["enums"]["BuilderFlag"]), (where, plan.builder_flags)
                    assert set(plan.network_flags) <= set(api["enums"]["NetworkDefinitionCreationFlag"]), \
                        (where, plan.network_flags)
                    checked += 1
    assert checked >= 8
