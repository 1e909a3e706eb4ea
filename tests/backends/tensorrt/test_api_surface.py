"""Every TensorRT name edgeseg touches exists in the TensorRT versions its code path supports, and
the fake TensorRT of these tests (fake_tensorrt.py) offers no name the real one lacks.

The fixtures are the API surfaces of TensorRT 10.16 and 11.4 dumped from NVIDIA's bindings wheels
(tests/fixtures/tensorrt_api/README.md says how); trt_surface.py explains what is checked and the
``# trt: 10`` / ``# trt: 11`` / ``# trt: optional`` tags for version-specific lines.
"""

import glob
import os

import pytest

from edgeseg.backends.tensorrt.plan import PRECISIONS, precision_plan
from edgeseg.errors import ConfigError

from .fake_tensorrt import FAKE_ONLY, make_fake_trt
from .trt_surface import load_surfaces, problems, scan_source, unknown_owners

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir))
SOURCES = sorted(os.path.relpath(p, ROOT) for p in glob.glob(
    os.path.join(ROOT, "edgeseg", "backends", "tensorrt", "**", "*.py"), recursive=True))
SURFACES = load_surfaces()
CLASSES = set().union(*(set(api["classes"]) for api in SURFACES.values()))

# (class, member) pairs called by edgeseg/backends/tensorrt/builder.py and progress.py (see
# docs/tensorrt_api.md): progress.py subclasses IProgressMonitor, which no static scan types.
USED = [("Builder", "create_network"), ("Builder", "create_builder_config"),
        ("Builder", "create_optimization_profile"), ("Builder", "build_serialized_network"),
        ("Builder", "num_DLA_cores"), ("OnnxParser", "parse"), ("OnnxParser", "parse_from_file"),
        ("OnnxParser", "num_errors"), ("OnnxParser", "get_error"), ("ParserError", "desc"),
        ("ParserError", "node"), ("ParserError", "node_name"), ("ParserError", "node_operator"),
        ("IBuilderConfig", "set_flag"), ("IBuilderConfig", "set_memory_pool_limit"),
        ("IBuilderConfig", "add_optimization_profile"), ("IBuilderConfig", "create_timing_cache"),
        ("IBuilderConfig", "set_timing_cache"), ("IBuilderConfig", "get_timing_cache"),
        ("IBuilderConfig", "progress_monitor"), ("IBuilderConfig", "default_device_type"),
        ("IBuilderConfig", "DLA_core"), ("IOptimizationProfile", "set_shape"), ("ITimingCache", "serialize"),
        ("IProgressMonitor", "phase_start"), ("IProgressMonitor", "step_complete"),
        ("IProgressMonitor", "phase_finish"), ("INetworkDefinition", "get_input"),
        ("INetworkDefinition", "num_inputs"), ("ITensor", "name"), ("ITensor", "shape"),
        ("Runtime", "deserialize_cuda_engine"), ("Runtime", "engine_host_code_allowed"),
        ("Logger", "WARNING"), ("Logger", "VERBOSE"),
        # DLA builds: where the layers run (before the build per layer, after it from the engine)
        ("IBuilderConfig", "can_run_on_DLA"), ("IBuilderConfig", "profiling_verbosity"),
        ("INetworkDefinition", "num_layers"), ("INetworkDefinition", "get_layer"), ("Runtime", "DLA_core"),
        ("ICudaEngine", "create_engine_inspector"), ("EngineInspector", "get_engine_information")]
ENUMS = [("MemoryPoolType", "WORKSPACE"), ("DeviceType", "DLA"), ("BuilderFlag", "GPU_FALLBACK"),
         ("BuilderFlag", "VERSION_COMPATIBLE"), ("NetworkDefinitionCreationFlag", "STRONGLY_TYPED"),
         ("ProfilingVerbosity", "DETAILED"), ("LayerInformationFormat", "JSON")]
FAKE_ENUMS = ["BuilderFlag", "NetworkDefinitionCreationFlag", "MemoryPoolType", "DeviceType", "TensorIOMode",
              "DataType", "ILogger.Severity", "Logger.Severity", "ProfilingVerbosity", "LayerInformationFormat"]


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
    seen = {f"{r.owner}.{r.attr}" for r in _refs("edgeseg/backends/tensorrt/builder.py")}
    assert {"module.Builder", "Builder.create_network", "Builder.build_serialized_network", "module.OnnxParser",
            "OnnxParser.parse_from_file", "IBuilderConfig.set_flag", "IBuilderConfig.set_timing_cache",
            "IOptimizationProfile.set_shape", "INetworkDefinition.get_input", "Logger.WARNING",
            "IBuilderConfig.can_run_on_DLA", "INetworkDefinition.get_layer", "IBuilderConfig.profiling_verbosity",
            "ICudaEngine.create_engine_inspector", "EngineInspector.get_engine_information",
            "ProfilingVerbosity.DETAILED", "LayerInformationFormat.JSON", "Runtime.DLA_core"} <= seen
    assert any(p.startswith(os.path.join("edgeseg", "backends", "tensorrt", "cuda", "")) for p in SOURCES)


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


@pytest.mark.parametrize("version", sorted(SURFACES))
def test_every_used_name_exists(version):
    api = SURFACES[version]
    for module_name in ("Builder", "OnnxParser", "Runtime", "Logger", "IProgressMonitor"):
        assert module_name in api["module"], (api["tensorrt"], module_name)
    missing = [(c, m) for c, m in USED if m not in api["classes"].get(c, {})]
    assert not missing, (api["tensorrt"], missing)
    missing = [(e, m) for e, m in ENUMS if m not in api["enums"].get(e, [])]
    assert not missing, (api["tensorrt"], missing)


def test_build_precision_plans_name_real_flags():
    """edgeseg.backends.tensorrt picks flags by name from its precision plan (``getattr(trt.BuilderFlag, name)``),
    which no static scan can see: run the plan for every fixture version and check the names."""
    checked = 0
    for api in SURFACES.values():
        for precision in PRECISIONS:
            for qdq in (False, True):
                for dla in (None, 0):
                    try:
                        plan = precision_plan(api["tensorrt"], precision, qdq=qdq, dla_core=dla)
                    except ConfigError:
                        continue  # a refused combination never reaches TensorRT
                    where = f"TensorRT {api['tensorrt']} {precision} qdq={qdq} dla={dla}"
                    assert set(plan.builder_flags) <= set(api["enums"]["BuilderFlag"]), (where, plan.builder_flags)
                    assert set(plan.network_flags) <= set(api["enums"]["NetworkDefinitionCreationFlag"]), \
                        (where, plan.network_flags)
                    checked += 1
    assert checked >= 8


def _public(names) -> set:
    return {n for n in names if not n.startswith("_")}


@pytest.mark.parametrize("version", sorted(SURFACES))
def test_fake_module_names_and_enum_members_are_real(version):
    """The fake of this version (builder and runtime side) has no module name or enum member the
    real one lacks, and none of those TensorRT 11 removed."""
    api = SURFACES[version]
    fake = make_fake_trt(api["tensorrt"])
    names = _public(vars(fake))
    assert FAKE_ONLY["module"] <= names
    assert not names - FAKE_ONLY["module"] - set(api["module"]), (version, names - set(api["module"]))
    for enum in FAKE_ENUMS:
        owner, _, nested = enum.partition(".")
        members = getattr(getattr(fake, owner), nested) if nested else getattr(fake, owner)
        extra = set(members.__members__) - set(api["enums"][enum])
        assert not extra, (api["tensorrt"], enum, extra)
    if api["tensorrt"].startswith("11."):
        assert "FP16" not in api["enums"]["BuilderFlag"] and "INT8" not in api["enums"]["BuilderFlag"]
        assert not any("Calibrator" in n for n in api["module"])
        assert not hasattr(fake.BuilderFlag, "FP16") and not any("Calibrator" in n for n in names)


def _fake_objects(version: str, onnx_path: str) -> dict:
    """One fake object of each TensorRT class edgeseg touches, made as edgeseg makes them."""
    trt = make_fake_trt(version)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    assert parser.parse_from_file(onnx_path)
    config = builder.create_builder_config()
    assert config.set_timing_cache(config.create_timing_cache(b""), False)
    runtime = trt.Runtime(logger)
    engine = runtime.deserialize_cuda_engine(builder.build_serialized_network(network, config))
    dla = make_fake_trt(version, num_dla=1)   # a DLA build records its layers, which the inspector reads
    dla_builder = dla.Builder(logger)
    dla_network = dla_builder.create_network(0)
    assert dla.OnnxParser(dla_network, logger).parse_from_file(onnx_path)
    dla_config = dla_builder.create_builder_config()
    dla_config.default_device_type = dla.DeviceType.DLA
    dla_engine = dla.Runtime(logger).deserialize_cuda_engine(dla_builder.build_serialized_network(dla_network,
                                                                                                  dla_config))
    assert dla_engine.create_engine_inspector().get_engine_information(dla.LayerInformationFormat.JSON)
    rejecting = make_fake_trt(version, unsupported_ops=("Identity",))
    refused = rejecting.OnnxParser(rejecting.Builder(logger).create_network(0), logger)
    assert not refused.parse_from_file(onnx_path)
    return {"ILogger": trt.ILogger(), "Logger": logger, "Builder": builder, "INetworkDefinition": network,
            "ITensor": network.get_input(0), "OnnxParser": parser, "ParserError": refused.get_error(0),
            "IBuilderConfig": config, "IOptimizationProfile": builder.create_optimization_profile(),
            "ITimingCache": config.get_timing_cache(), "IProgressMonitor": trt.IProgressMonitor(),
            "Runtime": runtime, "ICudaEngine": engine, "IExecutionContext": engine.create_execution_context(),
            "EngineInspector": dla_engine.create_engine_inspector()}


@pytest.mark.parametrize("version", sorted(SURFACES))
def test_fake_objects_have_only_real_members(version, tiny_onnx_no_meta):
    """The fake must not invent API the real one lacks: a test passing on it would fail on a GPU.
    FAKE_ONLY names what tests peek at, and must not go stale."""
    api = SURFACES[version]
    for cls, obj in _fake_objects(api["tensorrt"], tiny_onnx_no_meta).items():
        names = _public(dir(obj))
        assert FAKE_ONLY.get(cls, set()) <= names, (cls, FAKE_ONLY[cls] - names)
        missing = names - FAKE_ONLY.get(cls, set()) - set(api["classes"][cls])
        assert not missing, (version, cls, missing)
