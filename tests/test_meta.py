import json

import pytest

from edgeseg.errors import ConfigError, ModelError
from edgeseg.meta import ModelMeta


def test_round_trip_json_and_sidecar(tmp_path):
    m = ModelMeta(model="lraspp_mobilenet_v3_small", classes=("a", "b", "c"), input_size=(256, 512),
                  output_kind="labels", provenance={"epochs": 3})
    assert ModelMeta.from_json(m.to_json()) == m
    path = m.write_sidecar(tmp_path / "model.onnx")
    assert path.endswith("model.onnx.meta.json")
    assert ModelMeta.read_sidecar(tmp_path / "model.onnx") == m
    assert ModelMeta.read_sidecar(tmp_path / "other.onnx") is None
    assert len(m.palette) == 3


def test_invalid_values_are_named():
    with pytest.raises(ConfigError, match="unknown layout"):
        ModelMeta(model="m", classes=("a",), input_size=(8, 8), layout="CHWN")
    with pytest.raises(ConfigError, match="palette and classes"):
        ModelMeta(model="m", classes=("a", "b"), input_size=(8, 8), palette=((1, 2, 3),))


def test_newer_or_incomplete_meta_is_refused():
    d = ModelMeta(model="m", classes=("a",), input_size=(8, 8)).to_dict()
    d["meta_version"] = 99
    with pytest.raises(ModelError, match="newer edgeseg"):
        ModelMeta.from_dict(d)
    with pytest.raises(ModelError, match="incomplete"):
        ModelMeta.from_dict({"model": "m"})
    with pytest.raises(ModelError, match="not valid JSON"):
        ModelMeta.from_json("{oops")
    # Unknown keys from a later minor version are ignored, not fatal.
    d["meta_version"] = 1
    d["future_field"] = 1
    assert ModelMeta.from_json(json.dumps(d)).model == "m"
