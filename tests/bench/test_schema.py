"""The dependency-free validator on the bench schema."""

from edgeseg.bench.schema import load_schema, validate


def _doc():
    return {"schema": "edgeseg-bench/1", "created": "2026-11-21T10:00:00",
            "device": {k: "n/a" for k in ("host", "cpu_model", "gpu_name", "driver", "cuda", "tensorrt",
                                          "onnxruntime", "torch")} | {"cpu_cores": 2},
            "settings": {"runs": 3, "warmup": 1},
            "variants": [{"model": "m.onnx", "backend": "tensorrt", "precision": "fp32", "size": [],
                          "batch": 1, "status": "skipped", "reason": "tensorrt: not installed",
                          "notes": [], "latency": None}]}


def test_valid_document():
    assert validate(_doc()) == []


def test_broken_documents_are_rejected():
    doc = _doc()
    del doc["device"]["cuda"]
    doc["settings"]["runs"] = 0
    doc["variants"][0]["backend"] = "openvino"
    doc["variants"][0]["batch"] = True  # a bool is not an integer in JSON Schema
    errors = validate(doc)
    assert any("missing required property cuda" in e for e in errors)
    assert any("$.settings.runs" in e and "minimum" in e for e in errors)
    assert any("openvino" in e for e in errors)
    assert any("$.variants[0].batch" in e for e in errors)
    assert validate([]) == ["$: expected object, got list"]


def test_fastest_is_a_boolean_or_null():
    doc = _doc()
    for ok in (True, False, None):
        doc["variants"][0]["fastest"] = ok
        assert validate(doc) == []
    doc["variants"][0]["fastest"] = "yes"
    assert any("$.variants[0].fastest" in e for e in validate(doc))


def test_schema_is_json_schema_shaped():
    s = load_schema()
    assert s["$id"] == "edgeseg-bench/1" and "variants" in s["required"]
