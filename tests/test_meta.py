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


def test_meta_version_2_describes_engines_and_an_older_reader_refuses_it(monkeypatch, tmp_path):
    """An engine's sidecar is meta_version 2: a reader of version 1 (simulated by lowering the
    constant it compares with) refuses it with the upgrade command. A plain meta stays version 1,
    so robots on an older edgeseg keep reading newly exported ONNX files."""
    import edgeseg.meta as M
    m = ModelMeta(model="m", classes=("a",), input_size=(8, 8))
    assert M.META_VERSION >= 2 and m.to_dict()["meta_version"] == 1
    side = tmp_path / "model.engine.meta.json"
    side.write_text(json.dumps({**m.to_dict(), "meta_version": 2, "engine": {"tensorrt": "10.3.0"}}))
    assert ModelMeta.read_sidecar(tmp_path / "model.engine") == m
    monkeypatch.setattr(M, "META_VERSION", 1)
    with pytest.raises(ModelError, match="newer edgeseg") as e:
        ModelMeta.read_sidecar(tmp_path / "model.engine")
    assert str(side) in str(e.value) and "meta_version <= 1" in str(e.value)
    assert "pip install -U edgeseg" in str(e.value)
    m.write_sidecar(tmp_path / "model.onnx")
    assert ModelMeta.read_sidecar(tmp_path / "model.onnx") == m   # the version-1 reader still reads plain metas


def test_version_1_files_still_read(tmp_path):
    d = ModelMeta(model="m", classes=("a",), input_size=(8, 8)).to_dict()
    d["meta_version"] = 1
    (tmp_path / "model.onnx.meta.json").write_text(json.dumps(d))
    assert ModelMeta.read_sidecar(tmp_path / "model.onnx").model == "m"


def test_sidecar_problems_name_the_file(tmp_path):
    side = tmp_path / "model.onnx.meta.json"
    for text, match in (("{oops", "not valid JSON"), ("[1]", "not a JSON object"),
                        ('{"model": "m", "meta_version": "2"}', "meta_version")):
        side.write_text(text)
        with pytest.raises(ModelError, match=match) as e:
            ModelMeta.read_sidecar(tmp_path / "model.onnx")
        assert str(side) in str(e.value)
    side.unlink()
    side.mkdir()
    with pytest.raises(ModelError, match="folder"):
        ModelMeta.read_sidecar(tmp_path / "model.onnx")


def test_load_meta(tmp_path):
    from edgeseg.meta import load_meta
    m = ModelMeta(model="m", classes=("a", "b"), input_size=(8, 8))
    assert load_meta(None) is None and load_meta(m) is m
    path = tmp_path / "m.json"
    path.write_text(m.to_json())
    assert load_meta(path) == m == load_meta(str(path))
    with pytest.raises(ModelError, match="not found"):
        load_meta(tmp_path / "none.json")
    with pytest.raises(ConfigError, match="ModelMeta or the path"):
        load_meta(3)


def test_meta_version_3_fields_round_trip_and_an_older_reader_refuses_them(monkeypatch, tmp_path):
    """A meta using a foreign graph's fields (probabilities, a named output at 1/4 size, a graph
    run at the frame's size) is stamped 3: a version-2 reader refuses it with the upgrade command
    instead of running a probabilities graph as logits or the wrong output. A meta using none of
    them is still version 1, with exactly the keys version-1 writers wrote."""
    import edgeseg.meta as M
    plain = ModelMeta(model="m", classes=("a", "b"), input_size=(8, 8))
    assert plain.to_dict()["meta_version"] == 1 and "output_name" not in plain.to_dict()
    for change in ({"output_kind": "probs"}, {"output_name": "out"}, {"output_stride": 4},
                   {"run_size": "frame", "size_multiple": 32}, {"input_dtype": "float16"},
                   {"output_kind": "labels", "label_dtype": "int64"}):
        m = plain.replace(**change)
        assert m.to_dict()["meta_version"] == 3, change
        assert ModelMeta.from_json(m.to_json()) == m
    m = plain.replace(output_kind="probs", output_name="out", output_stride=4)
    m.write_sidecar(tmp_path / "model.onnx")
    assert ModelMeta.read_sidecar(tmp_path / "model.onnx") == m
    monkeypatch.setattr(M, "META_VERSION", 2)
    with pytest.raises(ModelError, match="newer edgeseg") as e:
        ModelMeta.read_sidecar(tmp_path / "model.onnx")
    assert "meta_version <= 2" in str(e.value) and "pip install -U edgeseg" in str(e.value)


@pytest.mark.parametrize("change, match", [({"output_kind": "softmax"}, "unknown output_kind"),
                                           ({"label_dtype": "float32"}, "unknown label_dtype"),
                                           ({"output_stride": 0}, "output_stride"),
                                           ({"size_multiple": 0}, "size_multiple"),
                                           ({"run_size": "dynamic"}, "unknown run_size"),
                                           ({"output_name": ""}, "output_name")])
def test_version_3_values_are_checked(change, match):
    with pytest.raises(ConfigError, match=match):
        ModelMeta(model="m", classes=("a",), input_size=(8, 8), **change)
