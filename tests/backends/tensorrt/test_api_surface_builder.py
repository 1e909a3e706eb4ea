"""Every TensorRT name edgeseg.backends.tensorrt uses exists in the real 10.x and 11.x bindings, and the fake
TensorRT of these tests offers no enum member that the real one lacks.

The surfaces are dumps of the real Python bindings kept in tests/fixtures/tensorrt_api (one JSON per
version, written by that folder's dump_api.py); the test skips where they are absent.
"""

import json
import pathlib

import pytest

from .fake_tensorrt import make_fake_trt

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "tensorrt_api"
SURFACES = sorted(FIXTURES.glob("*.json"))

# (class, member) pairs called by edgeseg/backends/tensorrt/builder.py and progress.py (see docs/tensorrt_api.md)
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
        ("Logger", "WARNING"), ("Logger", "VERBOSE")]
ENUMS = [("MemoryPoolType", "WORKSPACE"), ("DeviceType", "DLA"), ("BuilderFlag", "GPU_FALLBACK"),
         ("BuilderFlag", "VERSION_COMPATIBLE"), ("NetworkDefinitionCreationFlag", "STRONGLY_TYPED")]


@pytest.fixture(params=SURFACES, ids=lambda p: p.stem)
def surface(request):
    return json.loads(request.param.read_text())


def test_every_used_name_exists(surface):
    for module_name in ("Builder", "OnnxParser", "Runtime", "Logger", "IProgressMonitor"):
        assert module_name in surface["module"], (surface["tensorrt"], module_name)
    missing = [(c, m) for c, m in USED if m not in surface["classes"].get(c, {})]
    assert not missing, (surface["tensorrt"], missing)
    missing = [(e, m) for e, m in ENUMS if m not in surface["enums"].get(e, [])]
    assert not missing, (surface["tensorrt"], missing)


def test_fake_enums_are_real(surface):
    fake = make_fake_trt(surface["tensorrt"])
    for enum in ("BuilderFlag", "NetworkDefinitionCreationFlag", "MemoryPoolType", "DeviceType"):
        extra = set(getattr(fake, enum).__members__) - set(surface["enums"][enum])
        assert not extra, (surface["tensorrt"], enum, extra)
    if surface["tensorrt"].startswith("11."):
        assert "FP16" not in surface["enums"]["BuilderFlag"] and "INT8" not in surface["enums"]["BuilderFlag"]
        assert not any("Calibrator" in n for n in surface["module"])
