"""benchmarks/int8_cpu.py --quick on one tiny model: the JSON holds every field the README table and
the issue's targets are read from (ratios as numbers; no timing thresholds)."""

import importlib.util
import json
import numbers
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _module():
    spec = importlib.util.spec_from_file_location("int8_cpu", os.path.join(ROOT, "benchmarks", "int8_cpu.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


int8_cpu = _module()


def test_zoo_selection_is_every_lraspp_and_deeplab():
    models = int8_cpu.zoo_models()
    assert {"lraspp_mobilenet_v3_small", "deeplabv3_mobilenet_v3_large", "deeplabv3plus_mobilenet_v2"} <= set(models)
    assert len(models) == 9 and not any(m.startswith(("fcn", "unet")) for m in models)
    assert set(int8_cpu.TARGETS_512) <= set(models)


def test_verdicts_follow_the_issue_targets():
    assert int8_cpu.verdict("deeplabv3_mobilenet_v3_large", (512, 512), 1.5) == \
        {"target": 1.8, "met": False, "recommended": "int8"}
    assert int8_cpu.verdict("lraspp_mobilenet_v3_small", (256, 256), 0.9) == \
        {"target": 1.0, "met": "fp32 picked", "recommended": "fp32"}
    assert int8_cpu.verdict("deeplabv3_mobilenet_v2", (512, 512), 1.2)["target"] is None


@pytest.mark.slow
def test_quick_run_writes_every_field(tmp_path, capsys):
    out = tmp_path / "int8.json"
    assert int8_cpu.main(["--quick", "--out", str(out), "--workdir", str(tmp_path / "work")]) == 0
    doc = json.loads(out.read_text())
    assert doc["benchmark"] == "int8_cpu" and doc["accuracy"] is None
    dev = doc["device"]
    assert dev["cpu_model"] and dev["int8_isa"] and doc["cpu"].startswith(f"{dev['cpu_model']} ({dev['int8_isa']})")
    assert doc["settings"]["rounds"] == 2 and doc["settings"]["threads"] == 2
    [row] = doc["results"]
    assert row["model"] == "lraspp_mobilenet_v3_small" and row["size"] == [64, 64]
    for key in ("fp32_ms", "int8_ms", "plain_ms", "speedup", "plain_speedup"):
        assert isinstance(row[key], numbers.Real) and row[key] > 0, key
    for v in ("fp32", "plain", "int8"):
        lat = row["latency"][v]
        assert len(lat["round_speedups"]) == 2 and all(isinstance(x, numbers.Real) for x in lat["round_speedups"])
        top = row["profile"][v]["top_ops"]
        assert top and all({"op", "ms", "nodes", "share"} <= set(t) for t in top)
    assert any(t["op"].startswith("QLinearConv") for t in row["profile"]["int8"]["top_ops"])
    assert not any(t["op"].startswith("QLinear") for t in row["profile"]["fp32"]["top_ops"])
    assert set(row["depthwise_ms"]) >= {"fp32", "int8", "int8_over_fp32"}
    assert row["recommended"] in ("fp32", "int8") and row["target"] == 1.0
    assert row["graph"]["float_resizes"] and row["model_bytes"]["int8"] < row["model_bytes"]["fp32"]
    assert "lraspp_mobilenet_v3_small" in capsys.readouterr().out
