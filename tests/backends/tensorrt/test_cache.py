"""The engine cache: keys, the folder, build-once-then-reuse, and one build under concurrency."""

import os
import threading

import pytest

from edgeseg.backends.tensorrt import cache as C
from edgeseg.backends.tensorrt.header import read_engine, read_header

from .fake_tensorrt import FAKE_MAGIC

BASE = {"onnx_sha256": "ab" * 32, "precision": "fp16", "shapes": {"input": "1x3x64x64"}, "tensorrt": "10.3.0",
        "gpu": "Orin", "compute_capability": "8.7", "dla_core": None}


def test_key_is_stable_short_hex():
    k = C.cache_key(**BASE)
    assert k == C.cache_key(**BASE) and len(k) == 16 and int(k, 16) >= 0


@pytest.mark.parametrize("field,value", [("onnx_sha256", "cd" * 32), ("precision", "int8"),
                                         ("shapes", {"input": "1x3x128x128"}),
                                         ("shapes", {"input": "1x3x64x64:1x3x64x64:2x3x64x64"}),
                                         ("shapes", {"image": "1x3x64x64"}), ("tensorrt", "10.3.1"),
                                         ("gpu", "Orin Nano"), ("compute_capability", "8.6"), ("dla_core", 0)])
def test_every_field_changes_the_key(field, value):
    assert C.cache_key(**{**BASE, field: value}) != C.cache_key(**BASE)


def test_key_ignores_dict_order_and_spec_spelling():
    two = {"a": "1x3x8x8", "b": "1x3x16x16:1x3x32x32:1x3x64x64"}
    swapped = {"b": {"opt": [1, 3, 32, 32], "max": [1, 3, 64, 64], "min": [1, 3, 16, 16]},
               "a": ((1, 3, 8, 8),) * 3}
    assert C.cache_key(**{**BASE, "shapes": two}) == C.cache_key(**{**BASE, "shapes": swapped})


def test_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("EDGESEG_CACHE", str(tmp_path))
    assert C.cache_dir() == os.path.join(str(tmp_path), "engines")
    monkeypatch.delenv("EDGESEG_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert C.cache_dir() == os.path.join(str(tmp_path / "home"), ".cache", "edgeseg", "engines")


@pytest.fixture
def cache_env(monkeypatch, tmp_path):
    monkeypatch.setenv("EDGESEG_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "engines"


def test_builds_once_then_reuses(fake_trt, tiny_static, cache_env):
    trt = fake_trt.module
    lines = []
    p1 = C.cached_engine(tiny_static, precision="fp16", log=lines.append)
    assert trt.state["builds"] == 1 and os.path.dirname(p1) == str(cache_env) and p1.endswith(".engine")
    assert any("once" in ln for ln in lines)
    p2 = C.cached_engine(tiny_static, precision="fp16", log=lines.append)
    assert p2 == p1 and trt.state["builds"] == 1
    h = read_header(p1)
    assert h.precision == "fp16" and h.tensorrt == "10.3.0"
    with open(p1, "rb") as f:      # the pair: the raw plan, its sidecar beside it
        assert f.read().startswith(FAKE_MAGIC) and os.path.isfile(p1 + ".meta.json")
    # the timing cache lives beside the engines and is reused by the next build
    assert any(f.startswith("timing-Orin-sm8.7-trt10.3.0") for f in os.listdir(cache_env))
    p3 = C.cached_engine(tiny_static, precision="fp32", log=None)
    assert p3 != p1 and trt.state["builds"] == 2


def test_another_tensorrt_gets_its_own_engine(fake_trt, tiny_static, cache_env):
    p10 = C.cached_engine(tiny_static, log=None)
    trt = fake_trt("11.4.0")
    p11 = C.cached_engine(tiny_static, log=None)
    assert p10 != p11 and trt.state["builds"] == 1


def test_damaged_cached_engine_is_rebuilt(fake_trt, tiny_static, cache_env):
    trt = fake_trt.module
    path = C.cached_engine(tiny_static, log=None)
    with open(path, "r+b") as f:
        f.write(b"garbage!")
    lines = []
    assert C.cached_engine(tiny_static, log=lines.append) == path
    assert trt.state["builds"] == 2 and any("rebuilding" in ln for ln in lines)
    read_header(path)


def test_two_threads_build_once(fake_trt, tiny_static, cache_env):
    trt = fake_trt.module
    original = trt.Builder.build_serialized_network
    started = threading.Event()

    def slow(self, network, config):
        started.set()
        threading.Event().wait(0.3)
        return original(self, network, config)
    trt.Builder.build_serialized_network = slow
    paths, errors = [], []

    def worker():
        try:
            paths.append(C.cached_engine(tiny_static, log=None))
        except Exception as exc:  # noqa: BLE001  # pragma: no cover - any failure is reported below
            errors.append(exc)
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors and len(paths) == 2 and paths[0] == paths[1]
    assert trt.state["builds"] == 1


def test_refusals_come_before_tensorrt(tiny_static, cache_env, monkeypatch):
    import sys

    from edgeseg.errors import ConfigError, MissingDependencyError
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(ConfigError, match="needs a Q/DQ model"):
        C.cached_engine(tiny_static, precision="int8", log=None)
    with pytest.raises(MissingDependencyError, match="JetPack"):
        C.cached_engine(tiny_static, log=None)


def test_a_lost_or_foreign_sidecar_is_rebuilt(fake_trt, tiny_static, cache_env):
    trt = fake_trt.module
    path = C.cached_engine(tiny_static, log=None)
    os.remove(path + ".meta.json")
    lines = []
    assert C.cached_engine(tiny_static, log=lines.append) == path
    assert trt.state["builds"] == 2 and any("sidecar" in ln for ln in lines)
    other = C.cached_engine(tiny_static, precision="fp32", log=None)
    os.replace(other + ".meta.json", path + ".meta.json")   # a sidecar of another plan
    assert C.cached_engine(tiny_static, log=None) == path and trt.state["builds"] == 4
    header, plan = read_engine(path)
    assert header.precision == "fp16" and plan.startswith(FAKE_MAGIC)
